-- treelane for Neovim: run workflows in parallel git worktrees from the editor.
--
--   require("treelane").setup({ cmd = { "python3", "-m", "treelane", "serve" } })
--
-- See :help treelane.

local agents = require("treelane.agents")
local client = require("treelane.client")
local commands = require("treelane.commands")
local progress = require("treelane.progress")
local status = require("treelane.status")
local util = require("treelane.util")

local M = {}

local defaults = {
  -- How to start the language server.
  cmd = { "python3", "-m", "treelane", "serve" },
  -- Extra environment for the server process.
  cmd_env = nil,
  -- Start the server and attach buffers of git repositories automatically.
  autostart = true,
  -- "split" or "float": where :Treelane status, worktrees and log open.
  status_window = "split",
  -- :copen after a merge preview found conflicts.
  open_quickfix = true,
  -- vim.notify when a run finishes.
  notify_run_finished = true,
  -- initializationOptions for the server: { trusted = false } makes it refuse
  -- every command that runs or changes something (status, worktrees, log remain).
  -- The plugin asks for batchTaskState (task states in batches) unless this sets it false.
  init_options = nil,
  -- Passed to the client as is.
  capabilities = nil,
  on_attach = nil,
  handlers = nil,
}

M.config = vim.deepcopy(defaults)

local has_autocmd_data = util.has("0.8")

local function user_event(pattern, data)
  if has_autocmd_data then
    vim.api.nvim_exec_autocmds("User", { pattern = pattern, modeline = false, data = data })
  else
    vim.api.nvim_exec_autocmds("User", { pattern = pattern, modeline = false })
  end
end

local redraw_pending = false

local function redraw_statusline()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.defer_fn(function()
    redraw_pending = false
    pcall(vim.cmd, "redrawstatus")
  end, 200)
end

-- Custom notifications: `handlers` of the client config (0.7 drops unknown ones).
local handlers = {
  -- One change, or with initializationOptions.batchTaskState { changes = { ... } } in order.
  ["treelane/taskState"] = function(_, params, ctx)
    local changes = util.value(params.changes) or { params }
    for _, p in ipairs(changes) do
      status.task_state(ctx.client_id, p)
      agents.task_state(ctx.client_id, p)
    end
    status.refresh_view(ctx.client_id)
    redraw_statusline()
    for _, p in ipairs(changes) do
      user_event("TreelaneTaskState", p)
    end
  end,
  ["treelane/output"] = function(_, params, ctx)
    commands.on_output(ctx.client_id, params)
  end,
  ["treelane/resources"] = function(_, params, ctx)
    progress.resources(ctx.client_id, params)
    redraw_statusline()
  end,
  ["treelane/runFinished"] = function(_, params, ctx)
    local run = status.run_finished(ctx.client_id, params)
    status.refresh_view(ctx.client_id)
    agents.run_finished(ctx.client_id, params)
    redraw_statusline()
    if M.config.notify_run_finished then
      local counts = {}
      for state, n in pairs(util.value(params.counts) or {}) do
        counts[#counts + 1] = n .. " " .. state
      end
      table.sort(counts)
      local level = params.state == "succeeded" and vim.log.levels.INFO or vim.log.levels.WARN
      local msg = string.format(
        "%s run %s %s in %s (%s)",
        params.workflow or run.workflow or "?",
        params.run,
        params.state,
        util.duration(params.duration_ms),
        table.concat(counts, ", ")
      )
      if run.reason then
        msg = msg .. ": " .. run.reason
      end
      if run.conflicts and #run.conflicts > 0 then
        local task = status.conflicted_task(run)
        msg = msg .. string.format("; resolve with :Treelane resolve %s%s", params.run, task and (" " .. task) or "")
      end
      util.notify(msg, level)
    end
    user_event("TreelaneRunFinished", params)
  end,
}

for method, fn in pairs(handlers) do
  client.handlers[method] = util.safe(fn)
end

client.on_exit_hooks[#client.on_exit_hooks + 1] = function(cid)
  status.forget(cid)
  progress.forget(cid)
end

local augroup = nil

--- Configure the plugin, define :Treelane and start attaching buffers.
function M.setup(opts)
  opts = opts or {}
  if opts.cmd ~= nil and (type(opts.cmd) ~= "table" or type(opts.cmd[1]) ~= "string") then
    error('treelane.setup: cmd must be a list of strings, like { "python3", "-m", "treelane", "serve" }', 2)
  end
  if opts.status_window ~= nil and opts.status_window ~= "split" and opts.status_window ~= "float" then
    error("treelane.setup: status_window must be \"split\" or \"float\"", 2)
  end
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts)
  if opts.cmd then
    M.config.cmd = opts.cmd -- a list: replaced, not merged
  end
  client.config = M.config
  commands.config = M.config
  require("treelane.review").config = M.config

  vim.api.nvim_create_user_command("Treelane", commands.run, {
    nargs = "*",
    complete = commands.complete,
    desc = "treelane: start, status, cancel, resume, checkpoint, undo, redo, merge, worktrees, log, diff, show, resolve, pick",
  })

  augroup = vim.api.nvim_create_augroup("treelane", { clear = true })
  if M.config.autostart then
    vim.api.nvim_create_autocmd({ "BufEnter", "FileType", "BufReadPost" }, {
      group = augroup,
      callback = function(args)
        client.attach(args.buf)
      end,
      desc = "treelane: attach buffers of git repositories",
    })
    -- Buffers loaded before setup (lazy-loading plugin managers).
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) then
        client.attach(buf)
      end
    end
  end
  return M
end

--- A statusline component: "⟳ 3/4 · CPU 71% · 2.1 GB" while a run is going, else "".
function M.statusline()
  return progress.statusline(client.current(0))
end

--- The client id serving `bufnr` (default: the current buffer), starting it if needed.
function M.client_id(bufnr)
  return client.for_buffer(bufnr)
end

--- Run a treelane command: `callback(err, result)`, err being the server's message.
---   require("treelane").execute("treelane.status", {}, function(err, result) ... end)
function M.execute(command, args, callback, bufnr)
  local cid = client.for_buffer(bufnr)
  if cid == nil then
    local msg = "no treelane server: open a file inside a git repository first"
    if callback then
      callback(msg)
    else
      util.error(msg)
    end
    return
  end
  client.execute(cid, command, args or {}, callback)
end

--- The runs (with their tasks' latest states) known for the current buffer's client.
function M.runs(bufnr)
  local cid = client.current(bufnr or 0)
  return cid and status.runs(cid) or {}
end

--- The worktree id `path` belongs to among `rows` (treelane.worktrees rows).
M.worktree_of = commands.worktree_of

return M
