-- The :Treelane command: subcommands, their defaults, completion and views.

local agents = require("treelane.agents")
local client = require("treelane.client")
local review = require("treelane.review")
local status = require("treelane.status")
local tree = require("treelane.tree")
local util = require("treelane.util")
local workflows = require("treelane.workflows")

local M = {}

M.config = { status_window = "split", open_quickfix = true }

-- Helpers ----------------------------------------------------------------------------

--- Run a server command; `on_result(result)` only on success (errors are notified).
local function exec(cid, command, args, on_result)
  client.execute(cid, command, args, function(err, result)
    if err then
      util.error(err)
    elseif on_result then
      on_result(result or {})
    end
  end)
end

--- Fetch treelane.status, update the cache, then `fn(runs)` (server order: oldest first).
local function with_runs(cid, fn)
  exec(cid, "treelane.status", {}, function(result)
    status.snapshot(cid, result)
    fn(result.runs or {})
  end)
end

local function latest(runs, pred)
  for i = #runs, 1, -1 do
    if pred(runs[i]) then
      return runs[i]
    end
  end
  return nil
end

--- `args[1]` if given, else the newest run satisfying `pred` (or a warning).
local function run_or_default(ctx, pred, what, fn)
  if ctx.args[1] then
    fn(ctx.args[1])
    return
  end
  with_runs(ctx.cid, function(runs)
    local run = latest(runs, pred)
    if run then
      fn(run.run)
    else
      util.warn("no " .. what .. " run: name one")
    end
  end)
end

local function checktime()
  pcall(vim.cmd, "checktime")
end

local known_worktrees = {} -- client_id -> rows of the last treelane.worktrees

client.on_exit_hooks[#client.on_exit_hooks + 1] = function(cid)
  known_worktrees[cid] = nil
end

local function fetch_worktrees(cid, fn)
  exec(cid, "treelane.worktrees", {}, function(result)
    local rows = result.worktrees or {}
    for _, row in ipairs(rows) do
      row.path = util.value(row.path)
      row.real = row.path and util.realpath(row.path) -- resolved once, matched often
    end
    known_worktrees[cid] = rows
    fn(rows)
  end)
end

--- The worktree (id) containing `path`: longest matching path prefix wins, else "main".
local function worktree_of(rows, path)
  if path == nil then
    return "main"
  end
  local real = util.realpath(path)
  local best, best_len = "main", -1
  for _, row in ipairs(rows) do
    local wt = row.real or (util.value(row.path) and util.realpath(row.path))
    if wt then
      if util.is_inside(real, wt) and #wt > best_len then
        best, best_len = row.id, #wt
      end
    end
  end
  return best
end

M.worktree_of = worktree_of

--- The worktree of the current buffer, asked of the server.
local function with_buffer_worktree(ctx, fn)
  local path = util.buf_path(ctx.bufnr)
  if path == nil then
    fn("main")
    return
  end
  fetch_worktrees(ctx.cid, function(rows)
    fn(worktree_of(rows, path))
  end)
end

--- The client whose managed worktrees (as last listed) contain `path`.
function client.worktree_owner(path)
  if next(known_worktrees) == nil then
    return nil
  end
  local real = util.realpath(path)
  for cid, rows in pairs(known_worktrees) do
    for _, row in ipairs(rows) do
      if row.id ~= "main" and row.real and util.is_inside(real, row.real) then
        return cid
      end
    end
  end
  return nil
end

-- Subcommands --------------------------------------------------------------------------

local sub = {}

local function start(ctx, workflow, base)
  exec(ctx.cid, "treelane.start", { workflow = workflow, base = base }, function(result)
    status.started(ctx.cid, result)
    status.refresh_view(ctx.cid)
    util.notify(string.format(
      "started %s as run %s (%s)",
      result.workflow,
      result.run,
      table.concat(result.tasks or {}, ", ")
    ))
  end)
end

--- :Treelane start {workflow} [base]; without a workflow, pick one (vim.ui.select).
function sub.start(ctx)
  if ctx.args[1] then
    start(ctx, ctx.args[1], ctx.args[2])
  else
    workflows.pick(ctx.cid, exec, function(name)
      start(ctx, name)
    end)
  end
end

function sub.status(ctx)
  local function show()
    status.show(ctx.cid, ctx.root, { window = M.config.status_window, only = ctx.args[1] })
  end
  if ctx.args[1] then
    exec(ctx.cid, "treelane.status", { run = ctx.args[1] }, function(result)
      status.snapshot(ctx.cid, result)
      show()
    end)
  else
    with_runs(ctx.cid, show)
  end
end

function sub.cancel(ctx)
  local task = ctx.args[2]
  run_or_default(ctx, function(r)
    return r.state == "running"
  end, "running", function(run)
    exec(ctx.cid, "treelane.cancel", { run = run, task = task }, function(result)
      local names = result.cancelled or {}
      if type(names) == "table" and #names > 0 then
        util.notify(string.format("cancelled %s of run %s", table.concat(names, ", "), run))
      else
        util.notify(string.format("nothing left to cancel in run %s", run))
      end
    end)
  end)
end

local RESUMABLE = { failed = true, cancelled = true, interrupted = true }

function sub.resume(ctx)
  run_or_default(ctx, function(r)
    return RESUMABLE[r.state] == true
  end, "failed, cancelled or interrupted", function(run)
    exec(ctx.cid, "treelane.resume", { run = run }, function(result)
      local names = result.requeued or {}
      util.notify(string.format("resumed run %s: %s", run, table.concat(names, ", ")))
    end)
  end)
end

function sub.checkpoint(ctx)
  local message = ctx.rest ~= "" and ctx.rest or nil
  with_buffer_worktree(ctx, function(wt)
    exec(ctx.cid, "treelane.checkpoint", { worktree = wt, message = message }, function(result)
      util.notify(string.format("checkpoint %s of %s (%s)", result.checkpoint, wt, util.short(result.commit)))
    end)
  end)
end

local function step(direction)
  return function(ctx)
    with_buffer_worktree(ctx, function(wt)
      exec(ctx.cid, "treelane." .. direction, { worktree = wt }, function(result)
        checktime()
        util.notify(string.format(
          "%s: %s is at checkpoint %s (%s)",
          direction,
          wt,
          result.checkpoint,
          util.short(result.commit)
        ))
      end)
    end)
  end
end

sub.undo = step("undo")
sub.redo = step("redo")

local function fill_quickfix(ctx, run, conflicts)
  local items = {}
  for _, c in ipairs(conflicts) do
    items[#items + 1] = {
      filename = util.join(ctx.root, c.path),
      lnum = 1,
      col = 1,
      text = c.kind,
      type = "E",
    }
  end
  vim.fn.setqflist({}, " ", { title = "treelane merge " .. run, items = items })
  if M.config.open_quickfix then
    vim.cmd("botright copen")
  end
end

function sub.merge(ctx)
  local run, preview, into = nil, false, nil
  for _, a in ipairs(ctx.args) do
    if a == "preview" then
      preview = true
    elseif a:match("^into=") then
      into = a:sub(6)
    else
      run = a
    end
  end
  local function merge(id)
    local args = { run = id, into = into, preview = preview }
    client.execute(ctx.cid, "treelane.merge", args, function(err, result)
      if err then
        util.error(err)
        if not preview and err:find("conflict", 1, true) then
          -- The server refuses a conflicting merge: list the conflicts all the same.
          exec(ctx.cid, "treelane.merge", { run = id, into = into, preview = true }, function(p)
            if #(p.conflicts or {}) > 0 then
              fill_quickfix(ctx, id, p.conflicts)
            end
          end)
        end
        return
      end
      result = result or {}
      local conflicts = result.conflicts or {}
      if #conflicts > 0 then
        fill_quickfix(ctx, id, conflicts)
        util.warn(string.format("merging run %s would conflict in %d file(s)", id, #conflicts))
      elseif preview then
        util.notify(string.format("run %s merges cleanly", id))
      else
        checktime()
        util.notify(string.format("merged run %s (%s)", id, util.short(result.commit)))
      end
    end)
  end
  if run == nil then
    ctx.args = {}
    run_or_default(ctx, function(r)
      return util.value(r.finished) ~= nil and r.state == "succeeded"
    end, "finished (succeeded)", merge)
  else
    merge(run)
  end
end

local function worktree_lines(rows)
  local lines, about = {}, {}
  local width = 4
  for _, row in ipairs(rows) do
    width = math.max(width, #row.id)
  end
  for _, row in ipairs(rows) do
    local owner = ""
    if util.value(row.run) then
      owner = row.run .. (util.value(row.task) and ("/" .. row.task) or "")
    elseif util.value(row.branch) then
      owner = "on " .. row.branch
    end
    lines[#lines + 1] = string.format(
      "%-" .. width .. "s  %-6s  %-5s  %-8s  %-16s  %s",
      row.id,
      row.state or "?",
      row.dirty and "dirty" or "clean",
      util.short(row.commit),
      owner,
      row.path or ""
    )
    about[#lines] = row
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "<CR> open the worktree's folder   r refresh   q close"
  return lines, about
end

function sub.worktrees(ctx)
  fetch_worktrees(ctx.cid, function(rows)
    local lines, about = worktree_lines(rows)
    util.scratch("treelane://worktrees", lines, {
      filetype = "treelane",
      window = M.config.status_window,
      keymaps = {
        ["<CR>"] = function()
          local row = about[vim.api.nvim_win_get_cursor(0)[1]]
          if row and row.path then
            vim.cmd("wincmd p | edit " .. vim.fn.fnameescape(row.path))
          end
        end,
        r = function()
          vim.cmd("Treelane worktrees")
        end,
      },
    })
  end)
end

local following = {} -- "run\0task" -> { cid, buf, pending }

local function show_log(cid, run, task, opts)
  exec(cid, "treelane.output", { run = run, task = task }, function(result)
    local lines = result.lines or {}
    if #lines == 0 then
      lines = { string.format("(no output from %s of run %s yet)", task, run) }
    end
    local name = string.format("treelane://log/%s/%s", run, task)
    local buf
    if opts.refresh then
      buf = util.scratch_buffer(name)
      if buf == nil then
        return
      end
      util.set_lines(buf, lines)
    else
      buf = util.scratch(name, lines, {
        filetype = "treelanelog",
        window = M.config.status_window,
        keymaps = {
          r = function()
            show_log(cid, run, task, { refresh = true })
          end,
        },
      })
    end
    local win = vim.fn.bufwinid(buf)
    if win ~= -1 then
      vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
    end
    following[run .. "\0" .. task] = { cid = cid, buf = buf }
  end)
end

function sub.log(ctx)
  local run, task = ctx.args[1], ctx.args[2]
  if run == nil or task == nil then
    util.error("usage: :Treelane log {run} {task}")
    return
  end
  show_log(ctx.cid, run, task, {})
end

--- A `treelane/output` notification: refresh an open log of that task (debounced).
function M.on_output(cid, p)
  local f = following[p.run .. "\0" .. p.task]
  if f == nil or f.cid ~= cid or f.pending then
    return
  end
  if not vim.api.nvim_buf_is_valid(f.buf) then
    following[p.run .. "\0" .. p.task] = nil
    return
  end
  f.pending = true
  vim.defer_fn(function()
    f.pending = false
    show_log(cid, p.run, p.task, { refresh = true })
  end, 200)
end

review.register(sub, { exec = exec, run_or_default = run_or_default })

-- Dispatch and completion ------------------------------------------------------------------

M.subcommands = {
  "start",
  "status",
  "cancel",
  "resume",
  "checkpoint",
  "undo",
  "redo",
  "merge",
  "worktrees",
  "log",
  "diff",
  "show",
  "resolve",
  "pick",
}

--- The :Treelane command (`opts` as given to an nvim_create_user_command callback).
function M.run(opts)
  local args = vim.deepcopy(opts.fargs or {})
  local name = table.remove(args, 1) or "status"
  local fn = sub[name]
  if fn == nil then
    util.error(string.format("unknown subcommand %q (one of: %s)", name, table.concat(M.subcommands, ", ")))
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local cid = client.for_buffer(bufnr)
  if cid == nil then
    util.error("no treelane server: open a file inside a git repository first")
    return
  end
  fn({
    cid = cid,
    root = client.root(cid),
    bufnr = bufnr,
    args = args,
    rest = (opts.args or ""):match("^%s*%S+%s*(.-)%s*$") or "",
  })
end

local function run_ids(cid)
  local runs = status.runs(cid)
  if #runs == 0 then
    local err, result = client.execute_sync(cid, "treelane.status", {}, 1000)
    if err == nil and result then
      status.snapshot(cid, result)
      runs = status.runs(cid)
    end
  end
  local ids = {}
  for i = #runs, 1, -1 do
    ids[#ids + 1] = runs[i].run
  end
  return ids
end

local function task_names(cid, run_id)
  local run = status.run(cid, run_id)
  local names = {}
  for _, t in ipairs(run and run.tasks or {}) do
    names[#names + 1] = t.name
  end
  return names
end

-- `{run} {task}` arguments (cancel, log).
local function run_then_task(i, words, cid)
  if i == 1 then
    return run_ids(cid)
  elseif i == 2 then
    return task_names(cid, words[3])
  end
  return {}
end

local completers = {
  start = function(i, _, cid)
    return i == 1 and workflows.names(cid) or {}
  end,
  -- A matrix task's own name cancels every expansion of it.
  cancel = function(i, words, cid)
    local names = run_then_task(i, words, cid)
    local run = i == 2 and status.run(cid, words[3])
    if run then
      names = vim.list_extend(tree.matrix_names(run.tasks), names)
    end
    return names
  end,
  resume = function(i, _, cid)
    return i == 1 and run_ids(cid) or {}
  end,
  merge = function(i, _, cid)
    local items = { "preview" }
    if i == 1 then
      vim.list_extend(items, run_ids(cid))
    end
    return items
  end,
  log = run_then_task,
  diff = run_then_task,
  show = run_then_task,
  resolve = run_then_task,
}

agents.register(sub, completers, { exec = exec, run_ids = run_ids })

--- Completion for :Treelane (a `complete` function of nvim_create_user_command).
function M.complete(arglead, cmdline, cursorpos)
  local before = cmdline:sub(1, cursorpos)
  local words = vim.split(vim.trim(before), "%s+")
  if before:match("%s$") then
    words[#words + 1] = ""
  end
  if #words <= 2 then
    return util.filter_prefix(M.subcommands, arglead)
  end
  local complete = completers[words[2]]
  if complete == nil then
    return {}
  end
  local cid = client.current(0)
  if cid == nil and words[2] == "start" then
    cid = client.for_buffer(0) -- workflow names come from the server: start it
  end
  if cid == nil then
    return {}
  end
  return util.filter_prefix(complete(#words - 2, words, cid), arglead)
end

return M
