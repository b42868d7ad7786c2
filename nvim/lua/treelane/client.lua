-- The treelane language server clients: one per git repository, started and
-- attached on demand, with `workspace/executeCommand` requests queued until the
-- server has been initialized.

local util = require("treelane.util")

local M = {}

local by_root = {} -- root -> client_id
local roots = {} -- client_id -> root
local ready = {} -- client_id -> true once initialized
local queued = {} -- client_id -> { fn, ... } waiting for initialization
local last_used = nil -- the client of the last command (for special buffers)

M.config = nil -- set by setup()
M.handlers = {} -- set by init.lua: the custom notification handlers
M.on_exit_hooks = {} -- fn(client_id) run when a client exits

local function get(client_id)
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  if client == nil or util.client_call(client, "is_stopped") then
    return nil
  end
  return client
end

local function forget(client_id)
  local root = roots[client_id]
  if root and by_root[root] == client_id then
    by_root[root] = nil
  end
  roots[client_id], ready[client_id], queued[client_id] = nil, nil, nil
  if last_used == client_id then
    last_used = nil
  end
  for _, hook in ipairs(M.on_exit_hooks) do
    hook(client_id)
  end
end

local function client_config(root)
  local cfg = M.config
  local handlers = vim.tbl_extend("force", {}, cfg.handlers or {}, M.handlers)
  return {
    name = "treelane",
    cmd = cfg.cmd,
    cmd_env = cfg.cmd_env,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = vim.tbl_extend("keep", cfg.init_options or {}, { batchTaskState = true }),
    capabilities = cfg.capabilities or vim.lsp.protocol.make_client_capabilities(),
    handlers = handlers,
    on_attach = cfg.on_attach,
    on_init = function(client)
      vim.schedule(function()
        ready[client.id] = true
        local waiting = queued[client.id] or {}
        queued[client.id] = nil
        for _, fn in ipairs(waiting) do
          fn()
        end
      end)
    end,
    on_exit = function(code, signal, client_id)
      vim.schedule(function()
        local waiting = queued[client_id] or {}
        forget(client_id)
        if code ~= 0 or (signal and signal ~= 0) then
          util.error(string.format(
            "the server for %s exited (code %s, signal %s); its stderr is in %s",
            root,
            tostring(code),
            tostring(signal),
            vim.lsp.get_log_path()
          ))
        end
        for _, fn in ipairs(waiting) do
          fn("the treelane server exited before it was ready")
        end
      end)
    end,
  }
end

--- The client for `root`, started (and attached to `bufnr` when given) if needed.
function M.start(root, bufnr)
  local id = by_root[root] -- cleared when the client exits
  if id == nil then
    local config = client_config(root)
    if vim.lsp.start then -- 0.8+: reuses a client with the same name and root_dir
      id = vim.lsp.start(config, { bufnr = bufnr or vim.api.nvim_get_current_buf() })
      bufnr = nil -- attached by vim.lsp.start
    else
      id = vim.lsp.start_client(config)
    end
    if id == nil then
      util.error("could not start the server: " .. table.concat(M.config.cmd, " "))
      return nil
    end
    by_root[root], roots[id] = id, root
  end
  if bufnr and vim.api.nvim_buf_is_loaded(bufnr) and not vim.lsp.buf_is_attached(bufnr, id) then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Set by commands.lua: the client whose managed worktrees (as last listed)
--- contain a path, for worktrees kept outside the repository (`worktrees_dir`).
M.worktree_owner = function(_)
  return nil
end

--- The repository root whose client serves `path` (nil outside git repositories).
function M.root_of(path)
  if path == nil then
    return nil
  end
  local owner = M.worktree_owner(path)
  if owner and roots[owner] then
    return roots[owner]
  end
  return util.find_root(path)
end

--- Attach a buffer to the client of its repository (autocmd callback).
function M.attach(bufnr)
  local root = M.root_of(util.buf_path(bufnr))
  if root == nil then
    return nil
  end
  return M.start(root, bufnr)
end

--- The root a client was started for.
function M.root(client_id)
  return roots[client_id]
end

--- The client for commands given in `bufnr`: that of its repository (started if
--- needed), else the last one used, else the one of the current directory, else
--- the only one running.
function M.for_buffer(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local id = M.attach(bufnr)
  if id == nil and get(last_used) then
    id = last_used
  end
  if id == nil then
    local root = util.find_root(vim.fn.getcwd())
    id = root and M.start(root)
  end
  if id == nil then
    local only = nil
    for cid in pairs(roots) do
      if only ~= nil then
        return nil
      end
      only = cid
    end
    id = only
  end
  return id
end

--- The client of `bufnr` without starting one (for the statusline).
function M.current(bufnr)
  local root = M.root_of(util.buf_path(bufnr or 0))
  local id = root and by_root[root]
  if id == nil then
    id = last_used
  end
  return get(id) and id or nil
end

local function when_ready(client_id, fn)
  if ready[client_id] then
    fn()
  else
    queued[client_id] = queued[client_id] or {}
    table.insert(queued[client_id], fn)
  end
end

--- Run `workspace/executeCommand` for `command` with the one JSON object `args`.
--- `callback(err, result)`: err is the server's message (a string) or nil.
function M.execute(client_id, command, args, callback)
  callback = callback or function() end
  last_used = client_id
  when_ready(client_id, function(early_error)
    if early_error then
      callback(early_error)
      return
    end
    local client = get(client_id)
    if client == nil then
      callback("the treelane server is not running")
      return
    end
    local params = { command = command, arguments = { util.object(args) } }
    local on_answer = util.safe(function(err, result)
      if err then
        callback(type(err) == "table" and (err.message or vim.inspect(err)) or tostring(err))
      else
        callback(nil, util.value(result))
      end
    end)
    local ok = util.client_call(client, "request", "workspace/executeCommand", params, on_answer, 0)
    if not ok then
      callback("the treelane server is not running")
    end
  end)
end

--- `execute`, waiting for the answer (at most `timeout_ms`); returns err, result.
function M.execute_sync(client_id, command, args, timeout_ms)
  local done, err, result = false, nil, nil
  M.execute(client_id, command, args, function(e, r)
    done, err, result = true, e, r
  end)
  if not vim.wait(timeout_ms or 1000, function()
    return done
  end, 10) then
    return "timed out waiting for " .. command
  end
  return err, result
end

return M
