-- End-to-end test of the Neovim plugin against the real server, driven through
-- the :Treelane user command in a headless Neovim (0.7 and newer).
--
-- Run by tests/nvim/nvim_plugin_test.py with the current directory a fresh git
-- repository holding the treelane.toml written there. Exits with :qall! when
-- every check passed, :cquit 1 (the error on stderr) otherwise; the checks made
-- are written as JSON to $TREELANE_TEST_RESULT.

local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/harness.lua")
local treelane = require("treelane")

local repo = h.repo
local notes = h.notes
local progress_events = 0
local check, wait_for, wait_note, expect_error = h.check, h.wait_for, h.wait_note, h.expect_error
local read_file, write_file, git, buffer_lines, find_line = h.read_file, h.write_file, h.git, h.buffer_lines, h.find_line
local start, finished, home, dump_notes = h.start, h.finished, h.home, h.dump_notes

--- What the plugin knows of a run (for failure messages).
local function run_detail(run)
  for _, r in ipairs(treelane.runs()) do
    if r.run == run then
      return vim.inspect({ state = r.state, tasks = r.tasks })
    end
  end
  return "run " .. run .. " unknown to the plugin"
end

local function main()
  if vim.fn.has("nvim-0.10") == 1 then
    vim.api.nvim_create_autocmd("LspProgress", {
      callback = function()
        progress_events = progress_events + 1
      end,
    })
  else
    vim.api.nvim_create_autocmd("User", {
      pattern = "LspProgressUpdate",
      callback = function()
        progress_events = progress_events + 1
      end,
    })
  end

  -- Opening a file of the repository starts the server and attaches the buffer.
  home()
  local readme = vim.api.nvim_get_current_buf()
  local client_id
  wait_for("the client to attach README.md", function()
    local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = readme })
      or vim.lsp.buf_get_clients(readme)
    for _, c in pairs(attached) do
      if c.name == "treelane" then
        client_id = c.id
        return true
      end
    end
    return false
  end, 60000)
  check("client attached", client_id ~= nil)

  -- A user's own Lua calling the server: an empty table `{}` goes out as `[]`.
  local answers = {}
  local default_handler = vim.lsp.handlers["workspace/executeCommand"]
  vim.lsp.handlers["workspace/executeCommand"] = function(err, result, ctx, config)
    answers[#answers + 1] = { err = err, result = result }
    if default_handler then
      return default_handler(err, result, ctx, config)
    end
  end
  if vim.fn.has("nvim-0.11") == 1 then
    h.allow_message("^execute_command is deprecated") -- the test's own call, not the plugin's
  end
  vim.lsp.buf.execute_command({ command = "treelane.status", arguments = { {} } })
  wait_for("the answer to vim.lsp.buf.execute_command", function()
    return #answers > 0
  end)
  vim.lsp.handlers["workspace/executeCommand"] = default_handler
  check("vim.lsp.buf.execute_command with an empty table", answers[1].err == nil
    and type(answers[1].result) == "table" and type(answers[1].result.runs) == "table", vim.inspect(answers[1]))
  if vim.fn.has("nvim-0.11") == 1 then
    -- 0.11 deprecates vim.lsp.buf.execute_command (the user's call, not the plugin's) in
    -- favour of client:exec_cmd: drop its warning, then use the new API the same way.
    local messages = vim.fn.execute("messages")
    check("0.11 says the user's execute_command is deprecated",
      messages:find("execute_command is deprecated", 1, true) ~= nil, messages)
    local got
    local c = vim.lsp.get_client_by_id(client_id)
    c:exec_cmd({ title = "status", command = "treelane.status", arguments = { {} } }, { bufnr = readme },
      function(err, result)
        got = { err = err, result = result }
      end)
    wait_for("the answer to client:exec_cmd", function()
      return got ~= nil
    end)
    check("client:exec_cmd with an empty table", got.err == nil and type(got.result.runs) == "table",
      vim.inspect(got))
  end

  -- Completion of subcommands and of workflow names from treelane.toml.
  local subs = vim.fn.getcompletion("Treelane ", "cmdline")
  check("subcommands complete", vim.tbl_contains(subs, "start") and vim.tbl_contains(subs, "merge")
    and vim.tbl_contains(subs, "log"), vim.inspect(subs))
  local st = vim.fn.getcompletion("Treelane st", "cmdline")
  check("subcommand prefix completes", vim.deep_equal(st, { "start", "status" }), vim.inspect(st))
  local wfs = vim.fn.getcompletion("Treelane start ", "cmdline")
  table.sort(wfs)
  check("workflow names complete", vim.deep_equal(wfs, { "broken", "clash", "conflict", "diamond", "slow" }),
    vim.inspect(wfs))
  local d = vim.fn.getcompletion("Treelane start dia", "cmdline")
  check("workflow prefix completes", vim.deep_equal(d, { "diamond" }), vim.inspect(d))

  -- A server error reaches vim.notify with the server's message.
  local msg = expect_error("Treelane start nosuch", "nosuch")
  check("server error is notified", msg:match("^treelane: ") ~= nil, msg)

  -- :Treelane start without a workflow offers the server's list in vim.ui.select (as a
  -- picker plugin would replace it): pick diamond.
  local offered, shown
  local ui_select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    offered, shown = items, {}
    for _, item in ipairs(items) do
      shown[#shown + 1] = opts.format_item(item)
    end
    for _, item in ipairs(items) do
      if item.name == "diamond" then
        on_choice(item)
      end
    end
  end
  local from = #notes + 1
  vim.cmd("Treelane start")
  local diamond = wait_note("started diamond as run (r%x+)", from)
  vim.ui.select = ui_select
  check("start without a workflow offers a picker", offered ~= nil and #offered == 5
    and shown[1] == "diamond (4 tasks)", vim.inspect(shown))

  -- The diamond workflow runs to completion; states and progress arrive.
  check("diamond succeeded", finished(diamond) == "succeeded", run_detail(diamond))
  wait_for("built-in $/progress autocmds", function()
    return progress_events > 0
  end, 5000)
  check("LSP progress reaches Neovim's autocmds", progress_events > 0)
  local cached
  for _, r in ipairs(treelane.runs()) do
    if r.run == diamond then
      cached = r
    end
  end
  check("taskState notifications are kept", cached ~= nil and #cached.tasks == 4, vim.inspect(cached))
  for _, t in ipairs(cached.tasks) do
    check("task " .. t.name .. " state kept", t.state == "succeeded", vim.inspect(t))
  end

  -- :Treelane status lists the run and its tasks.
  vim.cmd("Treelane status")
  local lines
  wait_for("the status buffer", function()
    lines = buffer_lines("treelane://status")
    return find_line(lines, "^" .. diamond) ~= nil
  end)
  check("status shows the run", find_line(lines, "^" .. diamond .. "%s+diamond%s+succeeded") ~= nil,
    table.concat(lines, "\n"))
  for _, task in ipairs({ "a", "b", "c", "d" }) do
    check("status shows task " .. task, find_line(lines, "^  " .. task .. "%s+succeeded%s") ~= nil,
      table.concat(lines, "\n"))
  end
  check("status buffer is a scratch buffer", vim.bo[vim.fn.bufnr("treelane://status")].buftype == "nofile")

  -- :Treelane log shows a task's output; run ids and task names complete.
  local runs = vim.fn.getcompletion("Treelane log ", "cmdline")
  check("run ids complete", vim.tbl_contains(runs, diamond), vim.inspect(runs))
  local tasks = vim.fn.getcompletion("Treelane log " .. diamond .. " ", "cmdline")
  check("task names complete", vim.deep_equal(tasks, { "a", "b", "c", "d" }), vim.inspect(tasks))
  vim.cmd("Treelane log " .. diamond .. " a")
  wait_for("the log buffer", function()
    return find_line(buffer_lines("treelane://log/" .. diamond .. "/a"), "made a") ~= nil
  end)
  check("log shows task output", true)

  -- :Treelane worktrees lists main first.
  vim.cmd("Treelane worktrees")
  wait_for("the worktrees buffer", function()
    lines = buffer_lines("treelane://worktrees")
    return lines ~= nil and #lines > 0 and lines[1]:match("^main%s") ~= nil
  end)
  check("worktrees lists main first", lines[1]:find(repo, 1, true) ~= nil, lines[1])

  -- A buffer in a managed worktree: same client, and checkpoint targets that worktree.
  local rows
  treelane.execute("treelane.worktrees", {}, function(err, result)
    rows = err and {} or result.worktrees
  end)
  wait_for("treelane.worktrees", function()
    return rows ~= nil
  end)
  local managed = rows[2]
  check("a managed worktree exists", managed ~= nil and managed.id ~= "main", vim.inspect(rows))
  vim.cmd("silent edit " .. vim.fn.fnameescape(managed.path .. "/README.md"))
  check("worktree buffer uses the repository's client", treelane.client_id() == client_id,
    tostring(treelane.client_id()) .. " vs " .. tostring(client_id))
  local from = #notes + 1
  vim.cmd("Treelane checkpoint in a worktree")
  local in_wt = wait_note("checkpoint %d+ of (%S+) %(", from)
  check("checkpoint targets the buffer's managed worktree", in_wt == managed.id, in_wt .. " vs " .. managed.id)

  -- :Treelane merge with no run merges the latest successful run into main.
  home()
  from = #notes + 1
  vim.cmd("Treelane merge")
  wait_note("merged run " .. diamond, from)
  check("merge defaults to the latest run", read_file(repo .. "/d.txt") == "A\nB\nC\n")

  -- checkpoint / undo / redo of the main worktree (the current buffer's).
  home()
  from = #notes + 1
  vim.cmd("Treelane checkpoint before the edit")
  local wt = wait_note("checkpoint %d+ of (%S+) %(", from)
  check("checkpoint of the buffer's worktree", wt == "main", wt)
  write_file(repo .. "/README.md", "edited on disk\n")
  vim.cmd("checktime")
  check("buffer sees the edit", vim.api.nvim_buf_get_lines(readme, 0, -1, false)[1] == "edited on disk")
  from = #notes + 1
  vim.cmd("Treelane undo")
  wait_note("undo: main is at checkpoint", from)
  check("undo restored the file", read_file(repo .. "/README.md") == "hello\n", read_file(repo .. "/README.md"))
  check("undo reloaded the buffer", vim.api.nvim_buf_get_lines(readme, 0, -1, false)[1] == "hello",
    vim.inspect(vim.api.nvim_buf_get_lines(readme, 0, -1, false)))
  from = #notes + 1
  vim.cmd("Treelane redo")
  wait_note("redo: main is at checkpoint", from)
  check("redo brought the edit back", read_file(repo .. "/README.md") == "edited on disk\n")
  check("redo reloaded the buffer", vim.api.nvim_buf_get_lines(readme, 0, -1, false)[1] == "edited on disk")
  expect_error("Treelane redo", "nothing to redo")
  check("redo past the end is an error", true)

  -- A conflicting merge preview fills the quickfix list.
  local conflict = start("conflict")
  check("conflict run succeeded", finished(conflict) == "succeeded", run_detail(conflict))

  -- :Treelane diff: the run's changed files in the quickfix list; going to one opens its
  -- base and its result side by side in diff mode.
  vim.fn.setqflist({}, "r")
  vim.cmd("Treelane diff " .. conflict)
  local dq
  wait_for("the diff quickfix list", function()
    dq = vim.fn.getqflist()
    return #dq > 0
  end)
  check("diff lists the changed file", #dq == 1 and dq[1].text == "modified +1 −1"
    and vim.fn.getqflist({ title = 0 }).title:find("treelane diff " .. conflict, 1, true) ~= nil, vim.inspect(dq))
  vim.cmd("cfirst")
  local result_buf = vim.api.nvim_get_current_buf()
  wait_for("the diff split", function()
    local n = 0
    for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
      n = n + (vim.wo[w].diff and 1 or 0)
    end
    return n == 2
  end)
  local base_buf = vim.fn.bufnr("treelane://base/" .. conflict .. "/-/README.md")
  check("diff split shows base and result",
    vim.deep_equal(vim.api.nvim_buf_get_lines(result_buf, 0, -1, false), { "left" })
      and base_buf ~= -1 and vim.deep_equal(vim.api.nvim_buf_get_lines(base_buf, 0, -1, false), { "hello" }),
    vim.inspect({ vim.api.nvim_buf_get_name(result_buf), vim.api.nvim_buf_get_lines(result_buf, 0, -1, false) }))

  -- :Treelane show: the patch in a scratch buffer.
  vim.cmd("Treelane show " .. conflict)
  wait_for("the patch buffer", function()
    return find_line(buffer_lines("treelane://patch/" .. conflict), "^%+left$") ~= nil
  end)
  local patch = buffer_lines("treelane://patch/" .. conflict)
  check("show opens the patch", find_line(patch, "^diff %-%-git a/README.md b/README.md$") ~= nil
    and vim.bo[vim.fn.bufnr("treelane://patch/" .. conflict)].filetype == "diff", table.concat(patch, "\n"))
  home()
  write_file(repo .. "/README.md", "right\n")
  git("commit", "-qam", "right")
  vim.fn.setqflist({}, "r")
  vim.cmd("Treelane merge " .. conflict .. " preview")
  local qf
  wait_for("the quickfix list", function()
    qf = vim.fn.getqflist()
    return #qf > 0
  end)
  check("one conflict", #qf == 1, vim.inspect(qf))
  local path = vim.fn.fnamemodify(vim.fn.bufname(qf[1].bufnr), ":p")
  check("quickfix names the conflicting path", path == repo .. "/README.md", path)
  check("quickfix text is the conflict kind", qf[1].text == "content", qf[1].text)
  check("quickfix window is open", vim.fn.getqflist({ winid = 0 }).winid ~= 0)
  check("main is untouched by a preview", read_file(repo .. "/README.md") == "right\n")
  vim.fn.setqflist({}, "r")
  expect_error("Treelane merge " .. conflict, "README.md")
  wait_for("the quickfix list after a refused merge", function()
    return #vim.fn.getqflist() == 1
  end)
  check("refused merge lists its conflicts", true)

  -- The statusline component while a run is going, and cancel of the latest run.
  home()
  check("statusline is empty when idle", treelane.statusline() == "", treelane.statusline())
  local slow = start("slow")
  local line
  wait_for("a statusline with resources", function()
    line = treelane.statusline()
    return line:match("^⟳ %d+/%d+ · CPU %d+%% · %d+%.%d GB$") ~= nil
  end, 15000)
  check("statusline while running", type(line) == "string", line)
  from = #notes + 1
  vim.cmd("Treelane cancel")
  wait_note("cancelled %S+ of run " .. slow, from)
  check("cancel defaults to the running run", finished(slow) == "cancelled", run_detail(slow))
  check("statusline is empty again", treelane.statusline() == "", treelane.statusline())

  -- A failing task: a diagnostic from the server, and resume of the failed run.
  local broken = start("broken")
  check("broken run failed", finished(broken) == "failed", run_detail(broken))
  local diag
  wait_for("a treelane diagnostic", function()
    for _, dg in ipairs(vim.diagnostic.get()) do
      if dg.source == "treelane" and dg.message:find("fails", 1, true) then
        diag = dg
        return true
      end
    end
    return false
  end)
  local diag_path = vim.api.nvim_buf_get_name(diag.bufnr)
  check("failure diagnostic is on treelane.toml", diag_path == repo .. "/treelane.toml", diag_path)
  check("failure diagnostic is an error", diag.severity == vim.diagnostic.severity.ERROR)
  from = #notes + 1
  vim.cmd("Treelane resume")
  wait_note("resumed run " .. broken, from)
  check("resumed run fails again", finished(broken, 2) == "failed", run_detail(broken))

  -- The status view of a failed run shows it.
  vim.cmd("Treelane status")
  wait_for("the status buffer to show the failed run", function()
    lines = buffer_lines("treelane://status")
    return find_line(lines, "^" .. broken .. "%s+broken%s+failed") ~= nil
  end)
  check("status shows the failed task", find_line(lines, "^  fails%s+failed%s") ~= nil, table.concat(lines, "\n"))

  -- Final tasks that conflict: :Treelane resolve lists the conflicted files (in the
  -- resolution worktree, at their first marker); once resolved, resume lands it.
  local clash = start("clash")
  check("clash run failed", finished(clash) == "failed", run_detail(clash))
  vim.fn.setqflist({}, "r")
  vim.cmd("Treelane resolve")
  local rq
  wait_for("the resolve quickfix list", function()
    rq = vim.fn.getqflist()
    return #rq > 0
  end)
  local conflicted = vim.fn.fnamemodify(vim.fn.bufname(rq[1].bufnr), ":p")
  check("resolve lists the conflicted file", #rq == 1 and conflicted:match("/README%.md$") ~= nil
    and conflicted ~= repo .. "/README.md" and rq[1].lnum == 1
    and rq[1].text == "content conflict between one and two"
    and read_file(conflicted):find("<<<<<<< ", 1, true) ~= nil, vim.inspect(rq) .. " " .. conflicted)
  write_file(conflicted, "one and two\n")
  from = #notes + 1
  vim.cmd("Treelane resume " .. clash)
  wait_note("resumed run " .. clash, from)
  check("resolved run succeeds on resume", finished(clash, 2) == "succeeded", run_detail(clash) .. dump_notes())
  home()

  -- Editing treelane.toml: the failure diagnostic follows its table, and a misspelt key
  -- gets a quick fix through vim.lsp.buf.code_action().
  home()
  vim.cmd("silent edit " .. vim.fn.fnameescape(repo .. "/treelane.toml"))
  local toml = vim.api.nvim_get_current_buf()
  wait_for("treelane.toml to attach", function()
    return vim.lsp.buf_is_attached(toml, client_id)
  end)
  local function failure_line()
    for _, dg in ipairs(vim.diagnostic.get(toml)) do
      if dg.message:find("task 'fails' failed", 1, true) then
        return dg.lnum
      end
    end
    return nil
  end
  local header = vim.fn.search("^\\[workflows\\.broken\\.tasks\\.fails\\]", "nw") - 1
  check("failure diagnostic is on the task's header", failure_line() == header,
    tostring(failure_line()) .. " vs " .. header)
  vim.api.nvim_buf_set_lines(toml, 0, 0, false, { "# two lines", "# added on top" })
  wait_for("the failure diagnostic to move down", function()
    return failure_line() == header + 2
  end)
  check("failure diagnostic moves with edits", true)

  local at = vim.fn.search("^max_parallel = 4$", "nw")
  vim.api.nvim_buf_set_lines(toml, at - 1, at, false, { "max_paralel = 4" })
  wait_for("the misspelt key's diagnostic", function()
    for _, dg in ipairs(vim.diagnostic.get(toml)) do
      if dg.message:find("did you mean 'max_parallel'", 1, true) then
        return true
      end
    end
    return false
  end)
  vim.api.nvim_win_set_cursor(0, { at, 2 })
  local titles = {}
  vim.ui.select = function(items, opts, on_choice)
    for _, item in ipairs(items) do
      titles[#titles + 1] = opts.format_item(item)
    end
    for i, item in ipairs(items) do
      if titles[i] == "Did you mean 'max_parallel'?" then
        on_choice(item, i)
        return
      end
    end
    on_choice(nil)
  end
  vim.lsp.buf.code_action()
  wait_for("the quick fix to apply", function()
    return vim.api.nvim_buf_get_lines(toml, at - 1, at, false)[1] == "max_parallel = 4"
  end)
  vim.ui.select = ui_select
  check("code action offers the fixes", vim.tbl_contains(titles, "Remove unknown key 'max_paralel'"),
    vim.inspect(titles))
  wait_for("the diagnostic to clear", function()
    for _, dg in ipairs(vim.diagnostic.get(toml)) do
      if dg.message:find("max_paralel", 1, true) then
        return false
      end
    end
    return true
  end)
  check("quick fix applied through vim.lsp.buf.code_action", true)
end

h.finish(xpcall(main, debug.traceback))
