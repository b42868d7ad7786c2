-- Reviewing a run before it lands: :Treelane diff (changed files in the quickfix list,
-- each opening a diff split of base vs result), :Treelane show (the patch in a scratch
-- buffer) and :Treelane resolve (a conflicting merge's files in the quickfix list).
--
-- The quickfix items of a diff name `treelane://diff/<run>/<task>/<path>` buffers: going
-- to one (<CR>, :cnext, :cc) loads the result's blob there (BufReadCmd) and puts the
-- base's blob beside it in diff mode (BufWinEnter). Blobs are read with `git show`.

local status = require("treelane.status")
local util = require("treelane.util")

local M = {}

M.config = { open_quickfix = true }

local entries = {} -- "treelane://diff/..." -> { root, path, old_path, old_blob, new_blob, binary, label }
local DIFF_PREFIX = "treelane://diff/"
local BASE_PREFIX = "treelane://base/"

local STATUS = { A = "added", M = "modified", D = "deleted", R = "renamed", T = "type changed" }

--- The quickfix text of a changed file: "modified +3 −1", "renamed from old.txt +0 −0", "added binary".
function M.file_text(f)
  local words = STATUS[f.status] or f.status
  if f.status == "R" and util.value(f.old_path) then
    words = words .. " from " .. f.old_path
  end
  if f.binary then
    return words .. " binary"
  end
  return string.format("%s +%d −%d", words, f.additions or 0, f.deletions or 0)
end

--- The lines of a blob (empty for none; a note for a binary file).
local function blob_lines(root, blob, binary)
  blob = util.value(blob)
  if blob == nil then
    return {}
  end
  if binary then
    return { "(binary file " .. blob .. ")" }
  end
  local lines = vim.fn.systemlist({ "git", "-C", root, "show", blob })
  if vim.v.shell_error ~= 0 then
    return { "(could not read blob " .. blob .. ": " .. table.concat(lines, " ") .. ")" }
  end
  return lines
end

local function set_filetype(buf, path)
  local ok, ft = pcall(vim.filetype.match, { filename = path, buf = buf }) -- 0.8+
  if not ok then
    ok, ft = pcall(vim.filetype.match, path, buf) -- 0.7
  end
  if ok and type(ft) == "string" and ft ~= "" then
    vim.bo[buf].filetype = ft
  end
end

local function fill(buf, lines, path)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  util.set_lines(buf, lines)
  set_filetype(buf, path)
end

--- BufReadCmd of treelane://diff/...: the result side of one changed file.
local function read_result(args)
  local name = vim.api.nvim_buf_get_name(args.buf)
  local e = entries[name]
  if e == nil then
    fill(args.buf, { "(treelane: no diff is known for this buffer; run :Treelane diff again)" }, "")
    return
  end
  fill(args.buf, blob_lines(e.root, e.new_blob, e.binary), e.path)
end

--- BufWinEnter of treelane://diff/...: the base side beside it, both in diff mode.
local function open_split(args)
  local name = vim.api.nvim_buf_get_name(args.buf)
  local e = entries[name]
  if e == nil then
    return
  end
  local win = vim.fn.bufwinid(args.buf)
  if win == -1 then
    return
  end
  local base_name = BASE_PREFIX .. name:sub(#DIFF_PREFIX + 1)
  local base = vim.fn.bufnr(base_name)
  if base == -1 then
    base = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(base, base_name)
  end
  fill(base, blob_lines(e.root, e.old_blob, e.binary), e.old_path or e.path)
  vim.api.nvim_win_call(win, function()
    vim.cmd("diffoff!")
  end)
  -- Reuse the window showing a base buffer in this tab, else split to the left.
  local base_win = nil
  for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if w ~= win and vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(w)):sub(1, #BASE_PREFIX) == BASE_PREFIX then
      base_win = w
    end
  end
  if base_win == nil then
    vim.api.nvim_win_call(win, function()
      vim.cmd("leftabove vsplit")
      base_win = vim.api.nvim_get_current_win()
    end)
  end
  vim.api.nvim_win_set_buf(base_win, base)
  for _, w in ipairs({ base_win, win }) do
    vim.api.nvim_win_call(w, function()
      vim.cmd("diffthis")
    end)
  end
end

local augroup = vim.api.nvim_create_augroup("treelane_review", { clear = true })
vim.api.nvim_create_autocmd("BufReadCmd", {
  group = augroup,
  pattern = DIFF_PREFIX .. "*",
  callback = read_result,
  desc = "treelane: the result side of a changed file",
})
vim.api.nvim_create_autocmd("BufWinEnter", {
  group = augroup,
  pattern = DIFF_PREFIX .. "*",
  callback = function(args)
    vim.schedule(function()
      if vim.api.nvim_buf_is_valid(args.buf) then
        open_split(args)
      end
    end)
  end,
  desc = "treelane: diff the result of a changed file with its base",
})

local function label(run, task)
  return run .. (task and ("/" .. task) or "")
end

local function open_quickfix()
  if M.config.open_quickfix then
    vim.cmd("botright copen")
  end
end

--- Fill the quickfix list with the files a treelane.diff result lists.
function M.diff_quickfix(root, run, task, result)
  local items = {}
  for _, f in ipairs(result.files or {}) do
    local name = DIFF_PREFIX .. run .. "/" .. (task or "-") .. "/" .. f.path
    entries[name] = {
      root = root,
      path = f.path,
      old_path = util.value(f.old_path),
      old_blob = util.value(f.old_blob),
      new_blob = util.value(f.new_blob),
      binary = f.binary == true,
    }
    local buf = vim.fn.bufnr(name)
    if buf ~= -1 and vim.api.nvim_buf_is_loaded(buf) then -- an earlier diff of the same name
      read_result({ buf = buf })
    end
    items[#items + 1] = { filename = name, lnum = 1, col = 1, text = M.file_text(f), module = f.path }
  end
  local title = string.format("treelane diff %s: %s", label(run, task), result.summary or "")
  vim.fn.setqflist({}, " ", { title = title, items = items })
  return #items
end

function M.diff(ctx, exec, run, task)
  exec(ctx.cid, "treelane.diff", { run = run, task = task }, function(result)
    local n = M.diff_quickfix(ctx.root, run, task, result)
    if n == 0 then
      util.notify(string.format("%s changed nothing", label(run, task)))
      return
    end
    open_quickfix()
    util.notify(string.format("%s: %s", label(run, task), result.summary or (n .. " files")))
  end)
end

function M.show(ctx, exec, run, task)
  exec(ctx.cid, "treelane.diff", { run = run, task = task, patch = true }, function(result)
    local patch = util.value(result.patch) or ""
    local lines = vim.split(patch, "\n", { plain = true })
    if lines[#lines] == "" then
      lines[#lines] = nil
    end
    if #lines == 0 then
      lines = { string.format("(%s changed nothing)", label(run, task)) }
    end
    util.scratch("treelane://patch/" .. label(run, task), lines, { filetype = "diff", window = "split" })
  end)
end

--- The first line holding a conflict marker in `path` (1 if none or unreadable).
local function marker_line(path)
  local ok, lines = pcall(vim.fn.readfile, path)
  if ok then
    for i, line in ipairs(lines) do
      if line:sub(1, 8) == "<<<<<<< " then
        return i
      end
    end
  end
  return 1
end

function M.resolve(ctx, exec, run, task)
  exec(ctx.cid, "treelane.resolve", { run = run, task = task }, function(result)
    local items = {}
    local by_path = {}
    for _, c in ipairs(result.conflicts or {}) do
      by_path[c.path] = by_path[c.path] or c
    end
    for _, file in ipairs(result.files or {}) do
      local path = util.join(result.path, file)
      local c = by_path[file]
      local text = "conflict"
      if c then
        text = c.kind .. " conflict"
        if c.tasks and #c.tasks > 0 then
          text = text .. " between " .. table.concat(c.tasks, " and ")
        end
      end
      items[#items + 1] = { filename = path, lnum = marker_line(path), col = 1, text = text, type = "E" }
    end
    vim.fn.setqflist({}, " ", { title = "treelane resolve " .. label(run, task), items = items })
    open_quickfix()
    util.warn(string.format(
      "%d conflicted file(s) of %s in %s: resolve them (or commit there), then :Treelane resume %s",
      #items,
      label(run, task),
      result.path,
      run
    ))
  end)
end

local function has_result(r)
  return util.value(r.result) ~= nil
end

--- Add diff, show and resolve to the :Treelane subcommands `sub`; `h` gives the helpers
--- of commands.lua: exec(cid, command, args, on_result), run_or_default(ctx, pred, what, fn).
function M.register(sub, h)
  local function with_run(pred, what, fn)
    return function(ctx)
      h.run_or_default(ctx, pred, what, function(run)
        fn(ctx, h.exec, run, ctx.args[2])
      end)
    end
  end
  sub.diff = with_run(has_result, "finished (with a result)", M.diff)
  sub.show = with_run(has_result, "finished (with a result)", M.show)
  -- Without a task: the task whose inputs conflict, else the run's final tasks.
  sub.resolve = with_run(function(r)
    return r.state == "failed"
  end, "failed", function(ctx, exec, run, task)
    if task then
      M.resolve(ctx, exec, run, task)
      return
    end
    exec(ctx.cid, "treelane.status", { run = run }, function(result)
      status.snapshot(ctx.cid, result)
      M.resolve(ctx, exec, run, status.conflicted_task(status.run(ctx.cid, run)))
    end)
  end)
end

return M
