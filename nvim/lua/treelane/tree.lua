-- How the status view nests a run's tasks: matrix expansions and best-of-N candidates
-- under the task they expand (their `group`), tasks added at run time under the task
-- that spawned them (their `parent`, nested by depth), and what each parent line says
-- about its children ("3/4 succeeded, 1 failed").
--
-- A matrix task has no task of its own in a run (only its expansions `test[shard=1]` ...):
-- its line is a group line standing for them. A best-of-N task does: its pick node
-- (`kind = "pick"`, named like the task), which lists its candidates under it.

local M = {}

-- States other than success, in the order a summary names them.
local OTHERS = { "failed", "running", "queued", "cancelled", "interrupted", "skipped" }
local OK = { succeeded = true, cached = true }

--- The nodes of a run's tasks as a forest, in the run's order (a group or parent line
--- comes where its first member would, every child under its parent):
---   { name, task = t (nil for a matrix group line), children = { node, ... } }
function M.build(tasks)
  local nodes, roots = {}, {}
  for _, t in ipairs(tasks) do
    nodes[t.name] = { name = t.name, task = t, children = {} }
  end
  -- Where a node hangs: under `up` when that is another node, else at the top.
  local function hang(node, up)
    local holder = up and up ~= node.name and nodes[up] or nil
    if holder then
      holder.children[#holder.children + 1] = node
    else
      roots[#roots + 1] = node
    end
  end
  for _, t in ipairs(tasks) do
    local node = nodes[t.name]
    local group = t.group ~= t.name and t.group or nil
    if group then
      local g = nodes[group]
      if g == nil then -- a matrix task: a line standing for its expansions
        g = { name = group, children = {} }
        nodes[group] = g
        hang(g, t.parent)
      end
      g.children[#g.children + 1] = node
    else
      hang(node, t.parent)
    end
  end
  -- Whatever hangs in a loop of parents (no server sends one) still gets a line.
  local reached = {}
  M.walk(roots, function(node)
    reached[node.name] = true
  end)
  for _, t in ipairs(tasks) do
    if not reached[t.name] then
      roots[#roots + 1] = nodes[t.name]
      M.walk({ nodes[t.name] }, function(node)
        reached[node.name] = true
      end)
    end
  end
  return roots
end

--- The state of a node: its task's, or for a group line what its expansions add up to.
function M.state(node)
  if node.task then
    return node.task.state or "queued"
  end
  local n, seen = 0, {}
  for _, child in ipairs(node.children) do
    local s = M.state(child)
    seen[s] = (seen[s] or 0) + 1
    n = n + 1
  end
  if n == 0 then
    return "queued"
  end
  if seen.running or (seen.queued and seen.queued < n) then
    return "running"
  end
  for _, s in ipairs({ "queued", "failed", "interrupted", "cancelled" }) do
    if seen[s] then
      return s
    end
  end
  if (seen.succeeded or 0) + (seen.cached or 0) == 0 then
    return "skipped"
  end
  return seen.succeeded and "succeeded" or "cached"
end

--- "3/4 succeeded, 1 failed" of a node's children ("4/4 succeeded (2 cached)").
function M.summary(node)
  local counts, ok = {}, 0
  for _, child in ipairs(node.children) do
    local s = M.state(child)
    counts[s] = (counts[s] or 0) + 1
    if OK[s] then
      ok = ok + 1
    end
  end
  local text = string.format("%d/%d succeeded", ok, #node.children)
  if (counts.cached or 0) > 0 then
    text = text .. string.format(" (%d cached)", counts.cached)
  end
  for _, s in ipairs(OTHERS) do
    if (counts[s] or 0) > 0 then
      text = text .. string.format(", %d %s", counts[s], s)
    end
  end
  return text
end

--- A score as the pick command gave it: 2 for 2.0, 0.75 for 0.75.
function M.score(x)
  return string.format("%g", x)
end

--- Every node of the forest depth first, with its depth (0 at the top) and its parent node:
--- fn(node, depth, parent). A name met twice is not walked again.
function M.walk(roots, fn)
  local seen = {}
  local function go(node, depth, parent)
    if seen[node.name] then
      return
    end
    seen[node.name] = true
    fn(node, depth, parent)
    for _, child in ipairs(node.children) do
      go(child, depth + 1, node)
    end
  end
  for _, root in ipairs(roots) do
    go(root, 0, nil)
  end
end

--- The candidate tasks of best-of-N task `name` among `tasks`, in candidate order (1...N).
function M.candidates(tasks, name)
  local out = {}
  for _, t in ipairs(tasks) do
    if t.group == name and t.name ~= name then
      out[#out + 1] = t
    end
  end
  return out
end

--- The matrix tasks among `tasks`: groups that are no task of their own (their expansions are).
function M.matrix_names(tasks)
  local names, seen, own = {}, {}, {}
  for _, t in ipairs(tasks) do
    own[t.name] = true
  end
  for _, t in ipairs(tasks) do
    if t.group and not own[t.group] and not seen[t.group] then
      seen[t.group] = true
      names[#names + 1] = t.group
    end
  end
  return names
end

--- The names of the best-of-N tasks (pick nodes) among `tasks`: those of kind "pick", and
--- tasks that are the group of others (only candidates have a group that is a task).
function M.pick_nodes(tasks)
  local grouped = {}
  for _, t in ipairs(tasks) do
    if t.group and t.group ~= t.name then
      grouped[t.group] = true
    end
  end
  local names = {}
  for _, t in ipairs(tasks) do
    if t.kind == "pick" or grouped[t.name] then
      names[#names + 1] = t.name
    end
  end
  return names
end

return M
