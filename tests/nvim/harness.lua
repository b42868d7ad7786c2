-- Helpers for the headless Neovim tests that drive the plugin against the real server:
-- named checks, waiting on conditions (never on the clock), notifications, buffers, and
-- the JSON report at $TREELANE_TEST_RESULT.
--
--   local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/harness.lua")
--   h.finish(xpcall(main, debug.traceback))

local H = {}

H.repo = vim.loop.fs_realpath(vim.fn.getcwd())
H.passed = {} -- names of the checks that passed
H.notes = {} -- every vim.notify: { msg, level }
local t0 = vim.loop.hrtime()
local unexpected_from = 1 -- error notifications from this note on fail the test

vim.notify = function(msg, level)
  H.notes[#H.notes + 1] = { msg = tostring(msg), level = level or vim.log.levels.INFO }
end

function H.dump_notes()
  local out = {}
  for _, n in ipairs(H.notes) do
    out[#out + 1] = string.format("  [%s] %s", n.level, n.msg)
  end
  return table.concat(out, "\n")
end

function H.check(name, cond, detail)
  if not cond then
    error(string.format("%s: %s", name, detail or "failed"), 2)
  end
  H.passed[#H.passed + 1] = string.format("%s (%.1f s)", name, (vim.loop.hrtime() - t0) / 1e9)
end

local allowed = {} -- patterns of :messages lines that are no deprecation warning of the plugin

--- Let a deprecation message matching `pattern` through (one the test itself caused).
function H.allow_message(pattern)
  allowed[#allowed + 1] = pattern
end

local function fail_on_error_notes()
  for i = unexpected_from, #H.notes do
    if H.notes[i].level == vim.log.levels.ERROR then
      error("unexpected error notification: " .. H.notes[i].msg, 3)
    end
  end
  for _, n in ipairs(H.notes) do -- newer Neovims warn about deprecated APIs
    if n.msg:lower():find("deprecat", 1, true) then
      error("deprecation warning: " .. n.msg, 3)
    end
  end
  -- 0.11's vim.deprecate echoes into the message history instead of vim.notify.
  for _, line in ipairs(vim.split(vim.fn.execute("messages"), "\n", { plain = true })) do
    local ok = false
    for _, pattern in ipairs(allowed) do
      ok = ok or line:find(pattern) ~= nil
    end
    if line:lower():find("deprecat", 1, true) and not ok then
      error("deprecation warning in :messages: " .. line, 3)
    end
  end
end

function H.wait_for(what, fn, timeout)
  local ok = vim.wait(timeout or 30000, function()
    fail_on_error_notes()
    return fn()
  end, 20)
  if not ok then
    error(string.format("timed out waiting for %s\nnotifications so far:\n%s", what, H.dump_notes()), 2)
  end
end

--- Wait for a notification matching the Lua pattern, from note `from` on; its captures.
function H.wait_note(pattern, from, level)
  local captures
  H.wait_for("a notification matching " .. pattern, function()
    for i = from, #H.notes do
      if level == nil or H.notes[i].level == level then
        local c = { H.notes[i].msg:match(pattern) }
        if #c > 0 then
          captures = c
          return true
        end
      end
    end
    return false
  end)
  return unpack(captures)
end

--- Run an ex command expected to make the plugin notify an error matching `pattern`.
function H.expect_error(cmd, pattern)
  local from = #H.notes + 1
  unexpected_from = math.huge
  vim.cmd(cmd)
  local msg = H.wait_note("(.*" .. pattern .. ".*)", from, vim.log.levels.ERROR)
  unexpected_from = #H.notes + 1
  return msg
end

function H.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function H.read_file(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

function H.git(...)
  local out = vim.fn.system(vim.list_extend({ "git", "-C", H.repo }, { ... }))
  if vim.v.shell_error ~= 0 then
    error("git " .. table.concat({ ... }, " ") .. " failed: " .. out)
  end
  return out
end

function H.buffer_lines(name)
  local buf = vim.fn.bufnr(name)
  if buf == -1 or not vim.api.nvim_buf_is_loaded(buf) then
    return nil
  end
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

--- The index of the first line matching `pattern` (from line `from`), or nil.
function H.find_line(lines, pattern, from)
  for i = from or 1, #(lines or {}) do
    if lines[i]:match(pattern) then
      return i, lines[i]
    end
  end
  return nil
end

--- Open README.md of the repository in the only window.
function H.home()
  vim.cmd("silent! diffoff!")
  vim.cmd("silent! cclose")
  vim.cmd("silent! only")
  vim.cmd("silent edit " .. vim.fn.fnameescape(H.repo .. "/README.md"))
end

--- Open README.md and wait for the server to attach it; the client id.
function H.attach()
  H.home()
  local buf = vim.api.nvim_get_current_buf()
  local id
  H.wait_for("the client to attach README.md", function()
    local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf }) or vim.lsp.buf_get_clients(buf)
    for _, c in pairs(attached) do
      if c.name == "treelane" then
        id = c.id
        return true
      end
    end
    return false
  end, 60000)
  return id
end

--- Start a workflow through :Treelane start; the run id.
function H.start(workflow)
  local from = #H.notes + 1
  vim.cmd("Treelane start " .. workflow)
  return H.wait_note("started " .. workflow .. " as run (r%x+)", from)
end

--- Wait for the `nth` run-finished notification of `run` (resumes finish again); its state.
function H.finished(run, nth)
  nth = nth or 1
  local state
  H.wait_for("run " .. run .. " to finish", function()
    local seen = 0
    for _, n in ipairs(H.notes) do
      local s = n.msg:match("run " .. run .. " (%a+) in ")
      if s then
        seen = seen + 1
        if seen == nth then
          state = s
          return true
        end
      end
    end
    return false
  end, 60000)
  return state
end

--- Write the report and leave Neovim (:cquit 1 on failure), given xpcall's results.
function H.finish(ok, err)
  local result_path = vim.env.TREELANE_TEST_RESULT
  if result_path and result_path ~= "" then
    H.write_file(result_path, vim.json.encode({
      ok = ok,
      error = ok and vim.NIL or tostring(err),
      passed = H.passed,
      nvim = tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch,
    }))
  end
  if ok then
    io.stdout:write(string.format("nvim plugin: all %d checks passed\n", #H.passed))
    vim.cmd("qall!")
  else
    io.stderr:write("FAILED: " .. tostring(err) .. "\nnotifications:\n" .. H.dump_notes() .. "\n")
    vim.cmd("cquit 1")
  end
end

return H
