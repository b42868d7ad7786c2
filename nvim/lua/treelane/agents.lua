-- Agent workflows in Neovim: :Treelane pick {run} {task} {n} (another candidate of a
-- best-of-N task becomes its result), its completion, and keeping candidates' scores and
-- the winner current in the status view.
--
-- `treelane/taskState` says where a task belongs (`group`, `parent`) but not its score or
-- which candidate won: those come from `treelane.status`, fetched again (once per run,
-- debounced) when a candidate or a pick node reaches a final state, and when a run finishes.

local client = require("treelane.client")
local status = require("treelane.status")
local tree = require("treelane.tree")
local util = require("treelane.util")

local M = {}

local FINAL = { succeeded = true, cached = true, failed = true, skipped = true, cancelled = true, interrupted = true }

local pending = {} -- "cid\0run" -> true while a refetch is scheduled

--- Fetch `treelane.status` of one run into the cache, then refresh the status view.
function M.refetch(cid, run, delay)
  local key = cid .. "\0" .. run
  if pending[key] then
    return
  end
  pending[key] = true
  vim.defer_fn(function()
    client.execute(cid, "treelane.status", { run = run }, function(err, result)
      pending[key] = nil
      if err == nil and result then
        status.snapshot(cid, result)
        status.refresh_view(cid)
      end
    end)
  end, delay or 150)
end

--- After a `treelane/taskState` change `p` was applied: refetch the run when it settles a
--- candidate (its score) or a pick node (the winner).
function M.task_state(cid, p)
  if not FINAL[p.state] then
    return
  end
  local run = status.run(cid, p.run)
  if run == nil then
    return
  end
  local group = util.value(p.group)
  local is_candidate = group ~= nil and run.index[group] ~= nil
  local t = run.index[p.task]
  local is_pick = t ~= nil and (t.kind == "pick" or run.groups[p.task] == true)
  if is_candidate or is_pick then
    M.refetch(cid, p.run)
  end
end

--- After `treelane/runFinished`: the server's snapshot of the run puts its tasks in the
--- run's order (tasks added at run time show up live in the order they first changed).
function M.run_finished(cid, p)
  M.refetch(cid, p.run, 0)
end

local function pick(ctx, exec)
  local run, task, n = ctx.args[1], ctx.args[2], ctx.args[3]
  if run == nil or task == nil or n == nil or ctx.args[4] ~= nil then
    util.error("usage: :Treelane pick {run} {task} {n}  (n: the candidate, 1 to N)")
    return
  end
  local candidate = tonumber(n)
  if candidate == nil or candidate < 1 or candidate ~= math.floor(candidate) then
    util.error(string.format("pick: the candidate is a number from 1 to N, not %q", n))
    return
  end
  exec(ctx.cid, "treelane.pick", { run = run, task = task, candidate = candidate }, function(result)
    local rerun = result.rerun or {}
    local msg = string.format("run %s: %s is now %s", run, result.task or task, result.picked or "?")
    if #rerun > 0 then
      msg = msg .. "; re-running: " .. table.concat(rerun, ", ")
    end
    util.notify(msg)
    M.refetch(ctx.cid, run, 0)
  end)
end

--- Add `pick` to the :Treelane subcommands and its completion: `h` gives exec (as in
--- commands.lua) and run_ids(cid) (run ids, newest first).
function M.register(sub, completers, h)
  sub.pick = function(ctx)
    pick(ctx, h.exec)
  end
  completers.pick = function(i, words, cid)
    if i == 1 then
      return h.run_ids(cid)
    end
    local run = status.run(cid, words[3])
    if run == nil then
      return {}
    end
    if i == 2 then
      return tree.pick_nodes(run.tasks)
    elseif i == 3 then
      local out = {}
      for n = 1, #tree.candidates(run.tasks, words[4]) do
        out[#out + 1] = tostring(n)
      end
      return out
    end
    return {}
  end
end

return M
