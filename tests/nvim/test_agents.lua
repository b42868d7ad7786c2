-- Agent workflows in the Neovim plugin, against the real server: the status view nests a
-- matrix's expansions, a spawner's tasks (by depth) and best-of-N candidates (scores, the
-- winner) under their task with a summary, live from treelane/taskState; :Treelane pick
-- (with completion); and the conflict flow of a spawner whose children conflict
-- (:Treelane resolve {run} {task} -> quickfix -> :Treelane resume).
--
-- Run by tests/nvim/nvim_agents_test.py in a repository whose treelane.toml it wrote;
-- $TREELANE_TEST_GATE is a file the matrix's expansions wait for.

local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/harness.lua")
local treelane = require("treelane")

local STATUS = "treelane://status"
local batched = vim.env.TREELANE_TEST_BATCH ~= "0"

--- The task lines of run `run` in the status view (after its header and reason, to the
--- blank line), its header and its reason line.
local function run_block(run)
  local lines = h.buffer_lines(STATUS) or {}
  local i = h.find_line(lines, "^" .. run .. "  ")
  if i == nil then
    return nil
  end
  local out, reason = {}, nil
  if (lines[i + 1] or ""):match("^  reason: ") then
    i, reason = i + 1, lines[i + 1]
  end
  for j = i + 1, #lines do
    if lines[j] == "" then
      break
    end
    out[#out + 1] = lines[j]
  end
  return out, lines[i - (reason and 1 or 0)], reason
end

--- Wait until the status view's lines of `run` satisfy `pred(block, header)`; the block.
local function wait_view(what, run, pred)
  local block, header, reason
  local ok = vim.wait(30000, function()
    block, header, reason = run_block(run)
    return block ~= nil and pred(block, header, reason)
  end, 20)
  if not ok then
    error(string.format("timed out waiting for the status view to show %s; it shows:\n%s\nnotifications:\n%s",
      what, table.concat(h.buffer_lines(STATUS) or { "(no status buffer)" }, "\n"), h.dump_notes()), 2)
  end
  return block
end

local function has(block, pattern)
  return h.find_line(block, pattern) ~= nil
end

--- The outline of a block: { "  plan", "    plan.a", ... } (indentation and name).
local function outline(block)
  local out = {}
  for _, line in ipairs(block) do
    out[#out + 1] = line:match("^(%s+%S+)")
  end
  return out
end

--- The status view, open in a split while the editing window keeps the focus.
local function show_status(run)
  vim.cmd("Treelane status" .. (run and (" " .. run) or ""))
  h.wait_for("the status buffer", function()
    return vim.fn.bufwinid(vim.fn.bufnr(STATUS)) ~= -1
  end)
  vim.cmd("wincmd p")
end

local function run_result(run)
  local got
  treelane.execute("treelane.status", { run = run }, function(err, result)
    got = err and { err = err } or result.runs[1]
  end)
  h.wait_for("treelane.status of " .. run, function()
    return got ~= nil
  end)
  return got.result
end

local function main()
  local client_id = h.attach()
  h.check("client attached", client_id ~= nil)
  local c = vim.lsp.get_client_by_id(client_id)
  h.check("batchTaskState as configured", (c.config.init_options or {}).batchTaskState == batched,
    vim.inspect(c.config.init_options))
  -- Count the two forms of treelane/taskState as they reach the plugin.
  local forms = { batch = 0, single = 0, changes = 0, events = 0, with_data = 0 }
  local handle = c.handlers["treelane/taskState"]
  c.handlers["treelane/taskState"] = function(err, params, ctx, config)
    if params.changes then
      forms.batch = forms.batch + 1
      forms.changes = forms.changes + #params.changes
    else
      forms.single = forms.single + 1
      forms.changes = forms.changes + 1
    end
    return handle(err, params, ctx, config)
  end
  vim.api.nvim_create_autocmd("User", {
    pattern = "TreelaneTaskState",
    callback = function(args)
      forms.events = forms.events + 1
      if args.data and args.data.task and args.data.changes == nil then
        forms.with_data = forms.with_data + 1
      end
    end,
  })

  -- A matrix of 4, one expansion failing, watched live in the status view.
  local m = h.start("matrix")
  show_status()
  local block = wait_view("the four expansions running under test", m, function(b)
    return b[1] and b[1]:match("^  test%s+0/4 succeeded, 4 running$") ~= nil
  end)
  h.check("matrix group line sums up its running expansions", #block == 5, table.concat(block, "\n"))
  for n = 1, 4 do
    h.check("expansion " .. n .. " is nested under test", block[n + 1]:match("^    test%[shard=" .. n .. "%]%s+running") ~= nil,
      table.concat(block, "\n"))
  end
  local run = nil
  for _, r in ipairs(treelane.runs()) do
    if r.run == m then
      run = r
    end
  end
  h.check("expansions keep their group", run and #run.tasks == 4 and run.tasks[1].group == "test",
    vim.inspect(run and run.tasks))
  local cancellable = vim.fn.getcompletion("Treelane cancel " .. m .. " ", "cmdline")
  h.check("cancel completes the matrix task and its expansions",
    cancellable[1] == "test" and vim.tbl_contains(cancellable, "test[shard=4]"), vim.inspect(cancellable))
  h.write_file(vim.env.TREELANE_TEST_GATE, "go\n")
  block = wait_view("test 3/4 succeeded, 1 failed", m, function(b, header)
    return b[1]:match("^  test%s+3/4 succeeded, 1 failed$") ~= nil and header:match("^" .. m .. "  matrix  failed") ~= nil
  end)
  h.check("matrix of 4 with one failing expansion: grouped with the summary",
    vim.deep_equal(outline(block), { "  test", "    test[shard=1]", "    test[shard=2]", "    test[shard=3]", "    test[shard=4]" })
      and block[4]:match("^    test%[shard=3%]%s+failed%s+.-exit 1") ~= nil
      and block[2]:match("^    test%[shard=1%]%s+succeeded") ~= nil
      and block[5]:match("^    test%[shard=4%]%s+succeeded") ~= nil,
    table.concat(block, "\n"))
  h.check("matrix run failed", h.finished(m) == "failed")
  h.check("task states arrived " .. (batched and "batched" or "one by one"),
    batched and forms.batch > 0 and forms.single == 0 or (not batched and forms.single > 0 and forms.batch == 0),
    vim.inspect(forms))
  h.check("one TreelaneTaskState per change", forms.events == forms.changes
    and (vim.fn.has("nvim-0.8") == 0 or forms.with_data == forms.events), vim.inspect(forms))

  -- A spawner whose tasks spawn again: nested by depth, live (no status request), then the
  -- same from the server's snapshot.
  -- plan.a.x waits for $TREELANE_TEST_GATE.spawn: the view is looked at while it runs.
  local s = h.start("skills")
  block = wait_view("plan.a.x running under plan.a", s, function(b)
    return vim.deep_equal(outline(b), { "  plan", "    plan.a", "      plan.a.x", "  done" })
      and b[3]:match("^      plan%.a%.x%s+running") ~= nil
  end)
  h.check("spawned tasks nest under their spawner (live)",
    block[1]:match("^  plan%s+succeeded%s.-children 1/1 succeeded") ~= nil
      and block[2]:match("^    plan%.a%s+succeeded%s.-children 0/1 succeeded, 1 running") ~= nil
      and block[4]:match("^  done%s+queued") ~= nil,
    table.concat(block, "\n"))
  h.write_file(vim.env.TREELANE_TEST_GATE .. ".spawn", "go\n")
  h.check("skills run succeeded", h.finished(s) == "succeeded")
  local expected = { "  plan", "    plan.a", "      plan.a.x", "    plan.b", "  done" }
  block = wait_view("the spawned tasks nested", s, function(b, header)
    return vim.deep_equal(outline(b), expected) and header:match("^" .. s .. "  skills  succeeded") ~= nil
  end)
  h.check("spawned tasks nest under their spawner (finished)",
    block[1]:match("^  plan%s+succeeded%s.-children 2/2 succeeded") ~= nil
      and block[2]:match("^    plan%.a%s+succeeded%s.-children 1/1 succeeded") ~= nil
      and block[3]:match("^      plan%.a%.x%s+succeeded") ~= nil
      and block[5]:match("^  done%s+succeeded") ~= nil,
    table.concat(block, "\n"))
  show_status(s)
  block = wait_view("the spawned tasks of the snapshot", s, function(b)
    return #(h.buffer_lines(STATUS) or {}) < 12 and vim.deep_equal(outline(b), expected)
  end)
  h.check("spawned tasks nest under their spawner (snapshot)", h.find_line(h.buffer_lines(STATUS), "^" .. m) == nil,
    table.concat(h.buffer_lines(STATUS), "\n"))

  -- Best of 3 scored 0, 2, 1: the second wins; scores and the winner come live.
  show_status()
  local b = h.start("best")
  h.check("best run succeeded", h.finished(b) == "succeeded")
  local function best_view(winner)
    return wait_view("candidate " .. winner .. " as the winner", b, function(bl)
      return bl[1]:match("picked impl%[candidate=" .. winner .. "%]") ~= nil and has(bl, "winner")
        and (winner == 2 or has(bl, "^  ship%s+succeeded"))
    end)
  end
  block = best_view(2)
  h.check("best-of-3 lists its candidates with scores and the winner",
    vim.deep_equal(outline(block), { "  impl", "    impl[candidate=1]", "    impl[candidate=2]", "    impl[candidate=3]", "  ship" })
      and block[1]:match("^  impl%s+succeeded%s.-picked impl%[candidate=2%]  candidates 3/3 succeeded") ~= nil
      and block[2]:match("^    impl%[candidate=1%]%s+succeeded%s.-  score 0  wt") ~= nil
      and block[3]:match("^    impl%[candidate=2%]%s+succeeded%s.-  score 2  winner  wt") ~= nil
      and block[4]:match("^    impl%[candidate=3%]%s+succeeded%s.-  score 1  wt") ~= nil,
    table.concat(block, "\n"))
  h.check("the winner's result flows on", h.git("show", run_result(b) .. ":shipped.txt") == "impl 2\n")

  -- :Treelane pick: completion, bad input, then candidate 3 re-runs ship.
  h.check("pick is a subcommand", vim.tbl_contains(vim.fn.getcompletion("Treelane ", "cmdline"), "pick"))
  local runs = vim.fn.getcompletion("Treelane pick ", "cmdline")
  h.check("pick completes run ids", runs[1] == b and vim.tbl_contains(runs, m), vim.inspect(runs))
  local tasks = vim.fn.getcompletion("Treelane pick " .. b .. " ", "cmdline")
  h.check("pick completes best-of-N tasks", vim.deep_equal(tasks, { "impl" }), vim.inspect(tasks))
  local ns = vim.fn.getcompletion("Treelane pick " .. b .. " impl ", "cmdline")
  h.check("pick completes candidate numbers", vim.deep_equal(ns, { "1", "2", "3" }), vim.inspect(ns))
  h.check("pick of a number out of range is the server's error",
    h.expect_error("Treelane pick " .. b .. " impl 9", "candidates 1 to 3, not 9") ~= nil)
  h.check("pick of a word is refused", h.expect_error("Treelane pick " .. b .. " impl two", 'not "two"') ~= nil)
  h.check("pick without a candidate shows its usage",
    h.expect_error("Treelane pick " .. b .. " impl", "usage: :Treelane pick {run} {task} {n}") ~= nil)
  local from = #h.notes + 1
  vim.cmd("Treelane pick " .. b .. " impl 3")
  h.wait_note("run " .. b .. ": impl is now impl%[candidate=3%]; re%-running: ship", from)
  h.check("picked run succeeds again", h.finished(b, 2) == "succeeded")
  block = best_view(3)
  h.check("the view moves the winner to the picked candidate",
    block[4]:match("score 1  winner") ~= nil and block[3]:match("winner") == nil, table.concat(block, "\n"))
  h.check("dependents re-ran from the picked candidate", h.git("show", run_result(b) .. ":shipped.txt") == "impl 3\n")

  -- A spawner whose children conflict: resolve the dependent's inputs, then resume.
  from = #h.notes + 1
  local k = h.start("clashing")
  h.check("clashing run failed", h.finished(k) == "failed")
  local said = h.wait_note("(clashing run " .. k .. " failed in .*)", from)
  h.check("the failure says why and how to resolve it",
    said:find(": task done failed: inputs plan.left and plan.right conflict in notes.txt (add/add); "
      .. "resolve with :Treelane resolve " .. k .. " done", 1, true) ~= nil, said)
  block = wait_view("the run's reason", k, function(_, header, reason)
    return header:match("  failed  ") ~= nil
      and reason == "  reason: task done failed: inputs plan.left and plan.right conflict in notes.txt (add/add)"
  end)
  h.check("the status view shows why the run failed", true)
  local completed = vim.fn.getcompletion("Treelane resolve " .. k .. " ", "cmdline")
  h.check("resolve completes the run's tasks", vim.tbl_contains(completed, "done"), vim.inspect(completed))
  local qf
  local function resolve(cmd)
    vim.fn.setqflist({}, "r")
    vim.cmd(cmd)
    h.wait_for("the resolve quickfix list of " .. cmd, function()
      qf = vim.fn.getqflist()
      return #qf > 0
    end)
    return vim.fn.fnamemodify(vim.fn.bufname(qf[1].bufnr), ":p")
  end
  -- Without a task: the task whose inputs conflict (done); named: the same worktree again.
  local conflicted = resolve("Treelane resolve " .. k)
  h.check("resolve lists the children's conflict", #qf == 1 and conflicted:match("/notes%.txt$") ~= nil
    and conflicted ~= h.repo .. "/notes.txt"
    and qf[1].text == "add/add conflict between plan.left and plan.right"
    and h.read_file(conflicted):find("<<<<<<< ", 1, true) ~= nil
    and qf[1].lnum == 1
    and vim.fn.getqflist({ title = 0 }).title == "treelane resolve " .. k .. "/done", vim.inspect(qf) .. " " .. conflicted)
  h.check("resolve of the task by name opens the same", resolve("Treelane resolve " .. k .. " done") == conflicted
    and #qf == 1)
  h.write_file(conflicted, "left and right\n")
  from = #h.notes + 1
  vim.cmd("Treelane resume " .. k)
  h.wait_note("resumed run " .. k, from)
  h.check("resolved run succeeds on resume", h.finished(k, 2) == "succeeded")
  h.check("the resolution is the dependent's input", h.git("show", run_result(k) .. ":done.txt") == "left and right\n")
  block = wait_view("the resolved run", k, function(bl)
    return has(bl, "^  done%s+succeeded")
  end)
  h.check("the resolved run's children stay nested",
    vim.deep_equal(outline(block), { "  plan", "    plan.left", "    plan.right", "  done" }), table.concat(block, "\n"))
end

h.finish(xpcall(main, debug.traceback))
