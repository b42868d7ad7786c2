-- Small helpers shared by the treelane modules: version checks, paths, JSON
-- shapes, notifications and scratch buffers. Nothing here talks to the server
-- (treelane.toml is read by the server only: see treelane.workflows).

local M = {}

local uv = vim.uv or vim.loop

--- True when the running Neovim is at least `version` (e.g. "0.11").
function M.has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

-- Neovim 0.11 made client methods real methods (`client:request(...)`) and warns
-- about the dot-call that 0.7 to 0.10 require (`client.request(...)`).
local colon_methods = M.has("0.11")

--- Call method `name` of an LSP client object, whichever calling convention it wants.
function M.client_call(client, name, ...)
  if colon_methods then
    return client[name](client, ...)
  end
  return client[name](...)
end

--- Schedule `fn` unless we are already allowed to call the API directly.
function M.safe(fn)
  return function(...)
    if vim.in_fast_event() then
      local args = { n = select("#", ...), ... }
      vim.schedule(function()
        fn(unpack(args, 1, args.n))
      end)
    else
      fn(...)
    end
  end
end

--- `x`, or nil when it is JSON null (vim.NIL) or nil.
function M.value(x)
  if x == nil or x == vim.NIL then
    return nil
  end
  return x
end

--- A Lua table that JSON-encodes as an object even when it is empty.
function M.object(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

function M.notify(msg, level)
  vim.notify("treelane: " .. msg, level or vim.log.levels.INFO, { title = "treelane" })
end

function M.error(msg)
  M.notify(msg, vim.log.levels.ERROR)
end

function M.warn(msg)
  M.notify(msg, vim.log.levels.WARN)
end

-- Paths -----------------------------------------------------------------------

--- `path` without trailing separators (but "/" stays "/").
local function strip(path)
  if #path > 1 then
    path = path:gsub("/+$", "")
  end
  return path
end

function M.dirname(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil or dir == "" then
    return "/"
  end
  return dir
end

function M.join(...)
  return table.concat({ ... }, "/")
end

function M.is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "directory"
end

function M.exists(path)
  return uv.fs_stat(path) ~= nil
end

--- The canonical absolute form of `path` (symlinks resolved when it exists).
function M.realpath(path)
  return strip(uv.fs_realpath(path) or vim.fn.fnamemodify(path, ":p"))
end

--- True when `path` is `dir` or lies inside it.
function M.is_inside(path, dir)
  path, dir = strip(path), strip(dir)
  if path == dir then
    return true
  end
  local prefix = dir == "/" and "/" or dir .. "/"
  return path:sub(1, #prefix) == prefix
end

--- The file a buffer shows, as an absolute path; nil for special buffers.
function M.buf_path(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then -- fugitive://, treelane://, ...
    return nil
  end
  return vim.fn.fnamemodify(name, ":p")
end

--- The nearest directory, from `start` upward, holding a `.git` directory or file.
local function find_git_ancestor(start)
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(".git", { path = start, upward = true, limit = 1 })[1]
    return found and vim.fs.dirname(found) or nil
  end
  local dir = start
  while true do
    if M.exists(M.join(dir == "/" and "" or dir, ".git")) then
      return dir
    end
    local parent = M.dirname(dir)
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- The git repository `path` (a file or directory) belongs to, like lspconfig's
--- root detection: search upward for `.git`, a directory or a file (worktrees,
--- submodules). A worktree kept inside a `.git` directory (treelane keeps its
--- managed worktrees under `.git/treelane/worktrees/`) belongs to the repository
--- that owns that `.git`.
function M.find_root(path)
  if path == nil or path == "" then
    return nil
  end
  path = strip(vim.fn.fnamemodify(path, ":p"))
  local start = M.is_dir(path) and path or M.dirname(path)
  while not M.exists(start) do -- a new file in a new directory
    local parent = M.dirname(start)
    if parent == start then
      return nil
    end
    start = parent
  end
  local root = find_git_ancestor(strip(start))
  if root == nil then
    return nil
  end
  local owner = root:match("^(.-)/%.git/")
  return M.realpath(owner or root)
end

-- Formatting ----------------------------------------------------------------------

function M.duration(ms)
  ms = M.value(ms)
  if ms == nil then
    return "-"
  end
  if ms < 1000 then
    return string.format("%d ms", ms)
  end
  if ms < 60000 then
    return string.format("%.1f s", ms / 1000)
  end
  return string.format("%dm%02ds", math.floor(ms / 60000), math.floor(ms / 1000) % 60)
end

--- Seconds since the epoch of the server's ISO times ("2024-05-01T12:34:56.789+00:00", UTC).
function M.epoch(iso)
  iso = M.value(iso)
  if type(iso) ~= "string" then
    return nil
  end
  local y, mo, d, h, mi, sec, frac = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)")
  if y == nil then
    return nil
  end
  local fields = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
    min = tonumber(mi), sec = tonumber(sec), isdst = false }
  -- os.time() reads the fields as local time: add the local offset from UTC back.
  local now = os.time()
  local offset = os.difftime(now, os.time(os.date("!*t", now)))
  return os.time(fields) + offset + (frac ~= "" and tonumber("0." .. frac) or 0)
end

--- Local wall-clock time "12:34:56" of an epoch.
function M.clock(epoch)
  return epoch and os.date("%H:%M:%S", math.floor(epoch)) or nil
end

function M.short(commit)
  commit = M.value(commit)
  return type(commit) == "string" and commit:sub(1, 8) or "-"
end

function M.filter_prefix(items, prefix)
  local out = {}
  for _, item in ipairs(items) do
    if item:sub(1, #prefix) == prefix then
      out[#out + 1] = item
    end
  end
  return out
end

-- Scratch buffers --------------------------------------------------------------------

local scratch_buffers = {} -- name -> bufnr

--- Show `lines` in the scratch buffer `name` (created on first use), opening a
--- window for it unless one in the current tab shows it already.
--- opts: filetype, window ("split" | "float"), keymaps = { lhs = fn }, focus (default true).
function M.scratch(name, lines, opts)
  opts = opts or {}
  local buf = scratch_buffers[name]
  if buf == nil or not vim.api.nvim_buf_is_valid(buf) then
    buf = vim.api.nvim_create_buf(false, true)
    scratch_buffers[name] = buf
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
    if opts.filetype then
      vim.bo[buf].filetype = opts.filetype
    end
    vim.keymap.set("n", "q", M.close_window, { buffer = buf, nowait = true, desc = "Close" })
    for lhs, fn in pairs(opts.keymaps or {}) do
      vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true })
    end
  end
  M.set_lines(buf, lines)
  local win = M.window_of(buf)
  if win == nil then
    if opts.window == "float" then
      local width = math.min(math.max(60, math.floor(vim.o.columns * 0.7)), vim.o.columns - 4)
      local height = math.min(math.max(#lines, 5), math.floor(vim.o.lines * 0.7))
      win = vim.api.nvim_open_win(buf, true, {
        relative = "editor",
        width = width,
        height = height,
        row = math.floor((vim.o.lines - height) / 2) - 1,
        col = math.floor((vim.o.columns - width) / 2),
        style = "minimal",
        border = "rounded",
      })
    else
      vim.cmd("botright split")
      win = vim.api.nvim_get_current_win()
      vim.api.nvim_win_set_buf(win, buf)
      vim.api.nvim_win_set_height(win, math.min(math.max(#lines + 1, 5), math.floor(vim.o.lines / 2)))
    end
    vim.wo[win].wrap = false
    vim.wo[win].cursorline = true
  elseif opts.focus ~= false then
    vim.api.nvim_set_current_win(win)
  end
  return buf, win
end

--- Close the current window; in the last window, show the alternate buffer instead.
function M.close_window()
  if #vim.api.nvim_tabpage_list_wins(0) > 1 then
    vim.cmd("close")
  elseif not pcall(vim.cmd, "buffer #") then
    vim.cmd("enew")
  end
end

--- Replace the lines of a (nomodifiable) scratch buffer.
function M.set_lines(buf, lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

--- The scratch buffer called `name`, if it exists.
function M.scratch_buffer(name)
  local buf = scratch_buffers[name]
  if buf ~= nil and vim.api.nvim_buf_is_valid(buf) then
    return buf
  end
  return nil
end

--- A window of the current tab page showing `buf`, if any.
function M.window_of(buf)
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
  return nil
end

return M
