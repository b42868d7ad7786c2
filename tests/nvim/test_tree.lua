-- treelane.tree on its own (no server): how a run's tasks nest and what a parent line
-- says, for the shapes the end-to-end tests do not make (cached groups, a matrix under a
-- spawner, a group still running with a failure, a loop of parents).
--
-- Run by tests/nvim/nvim_agents_test.py.

local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h") .. "/harness.lua")
local tree = require("treelane.tree")

local function outline(tasks)
  local out = {}
  tree.walk(tree.build(tasks), function(node, depth)
    out[#out + 1] = string.rep("  ", depth) .. node.name
  end)
  return out
end

local function group(tasks, name)
  local found
  tree.walk(tree.build(tasks), function(node)
    if node.name == name then
      found = node
    end
  end)
  return found
end

local function main()
  local cached = {
    { name = "t[k=1]", group = "t", state = "cached" },
    { name = "t[k=2]", group = "t", state = "succeeded" },
  }
  h.check("a group of cached and succeeded expansions", tree.summary(group(cached, "t")) == "2/2 succeeded (1 cached)"
    and tree.state(group(cached, "t")) == "succeeded", tree.summary(group(cached, "t")))

  local all_cached = { { name = "t[k=1]", group = "t", state = "cached" } }
  h.check("an all-cached group is cached", tree.state(group(all_cached, "t")) == "cached")

  local mixed = {
    { name = "t[k=1]", group = "t", state = "failed" },
    { name = "t[k=2]", group = "t", state = "running" },
    { name = "t[k=3]", group = "t", state = "queued" },
  }
  h.check("a group with a failure still running is running",
    tree.state(group(mixed, "t")) == "running"
      and tree.summary(group(mixed, "t")) == "0/3 succeeded, 1 failed, 1 running, 1 queued",
    tree.summary(group(mixed, "t")))

  local queued = { { name = "t[k=1]", group = "t", state = "queued" }, { name = "t[k=2]", group = "t", state = "queued" } }
  h.check("a group not started is queued", tree.state(group(queued, "t")) == "queued")

  local skipped = { { name = "t[k=1]", group = "t", state = "skipped" } }
  h.check("a skipped group is skipped", tree.state(group(skipped, "t")) == "skipped"
    and tree.summary(group(skipped, "t")) == "0/1 succeeded, 1 skipped")

  -- A spawner that added a matrix task: the group line sits under the spawner.
  local spawned = {
    { name = "plan", state = "succeeded" },
    { name = "ship", state = "queued" },
    { name = "plan.check[n=1]", group = "plan.check", parent = "plan", state = "succeeded" },
    { name = "plan.check[n=2]", group = "plan.check", parent = "plan", state = "failed" },
    { name = "plan.doc", parent = "plan", state = "succeeded" },
  }
  local got = outline(spawned)
  h.check("a spawned matrix nests under its spawner", vim.deep_equal(got,
    { "plan", "  plan.check", "    plan.check[n=1]", "    plan.check[n=2]", "  plan.doc", "ship" }), vim.inspect(got))
  h.check("a spawner sums up a spawned group by its state",
    tree.summary(group(spawned, "plan")) == "1/2 succeeded, 1 failed", tree.summary(group(spawned, "plan")))

  -- Candidates before their pick node (the server's order): under it, in candidate order.
  local best = {
    { name = "impl[candidate=1]", group = "impl", state = "succeeded", score = 0.5 },
    { name = "impl[candidate=2]", group = "impl", state = "failed" },
    { name = "impl", kind = "pick", state = "succeeded" },
  }
  got = outline(best)
  h.check("candidates follow their pick node", vim.deep_equal(got,
    { "impl", "  impl[candidate=1]", "  impl[candidate=2]" }), vim.inspect(got))
  h.check("pick nodes are found", vim.deep_equal(tree.pick_nodes(best), { "impl" })
    and #tree.candidates(best, "impl") == 2 and tree.score(0.5) == "0.5" and tree.score(2.0) == "2")
  h.check("matrix names are the groups with no task of their own",
    vim.deep_equal(tree.matrix_names(spawned), { "plan.check" }) and #tree.matrix_names(best) == 0)

  -- A loop of parents, and a parent that is not in the run: every task still has a line.
  got = outline({ { name = "a", parent = "b" }, { name = "b", parent = "a" }, { name = "c", parent = "gone" } })
  h.check("no task is lost to a loop of parents", #got == 3 and vim.tbl_contains(got, "c"), vim.inspect(got))
end

h.finish(xpcall(main, debug.traceback))
