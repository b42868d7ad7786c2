-- What the plugin knows about runs and their tasks, per client: the last
-- `treelane.status` snapshot, kept current by `treelane/taskState` and
-- `treelane/runFinished` notifications; and the status view that shows it.

local tree = require("treelane.tree")
local util = require("treelane.util")

local M = {}

-- client_id -> { runs = { [id] = run }, order = { id, ... }, concurrency = {...}, pool = {...} }
local stores = {}

local function store(client_id)
  local s = stores[client_id]
  if s == nil then
    s = { runs = {}, order = {} }
    stores[client_id] = s
  end
  return s
end

function M.forget(client_id)
  stores[client_id] = nil
end

local seq = 0

local function get_run(client_id, id, workflow)
  local s = store(client_id)
  local run = s.runs[id]
  if run == nil then
    seq = seq + 1
    -- `started` (epoch seconds) orders the runs; the server's snapshot corrects it.
    run = {
      run = id,
      workflow = workflow,
      state = "running",
      tasks = {},
      index = {},
      groups = {}, -- group name -> true: matrix tasks and best-of-N tasks
      started = os.time(),
      seq = seq,
    }
    s.runs[id] = run
    s.order[#s.order + 1] = id
  end
  if workflow and not run.workflow then
    run.workflow = workflow
  end
  return run
end

local function get_task(run, name)
  local t = run.index[name]
  if t == nil then
    t = { name = name, state = "queued", attempt = 0 }
    run.tasks[#run.tasks + 1] = t
    run.index[name] = t
  end
  return t
end

-- What a `treelane/taskState` notification says of a task (each change replaces them),
-- and what only it says when present: a task's place never changes.
local FIELDS = { "state", "attempt", "worktree", "exit_code", "duration_ms", "error" }
local PLACE = { "group", "parent" }
-- What a `treelane.status` snapshot adds: agent-workflow fields (scores, the pick, a retry's wait).
local SNAPSHOT = { "result", "kind", "score", "picked", "candidates", "reason", "retry_in_ms" }

local function copy_task(t, src, snapshot)
  for _, k in ipairs(FIELDS) do
    t[k] = util.value(src[k])
  end
  for _, k in ipairs(PLACE) do
    if snapshot or util.value(src[k]) ~= nil then
      t[k] = util.value(src[k])
    end
  end
  if snapshot then
    for _, k in ipairs(SNAPSHOT) do
      t[k] = util.value(src[k])
    end
  elseif src.state ~= "queued" then
    t.reason, t.retry_in_ms = nil, nil -- a retry's wait is over
  end
end

--- A run the server has just started (the result of treelane.start).
function M.started(client_id, result)
  local run = get_run(client_id, result.run, result.workflow)
  run.state, run.finished = "running", nil
  for _, name in ipairs(result.tasks or {}) do
    get_task(run, name)
  end
  run.tree = nil
  return run
end

--- A `treelane/taskState` notification.
function M.task_state(client_id, p)
  local run = get_run(client_id, p.run)
  local known = run.index[p.task] ~= nil
  local t = get_task(run, p.task)
  local group, parent = t.group, t.parent
  copy_task(t, p)
  if t.group then
    run.groups[t.group] = true
  end
  if not known or t.group ~= group or t.parent ~= parent then
    run.tree = nil -- the nesting changed (see task_lines)
  end
  if p.state == "queued" or p.state == "running" then
    run.state, run.finished = "running", nil
  end
  return run
end

--- A `treelane/runFinished` notification.
function M.run_finished(client_id, p)
  local run = get_run(client_id, p.run, p.workflow)
  run.state = p.state
  run.duration_ms = util.value(p.duration_ms)
  run.counts = util.value(p.counts)
  run.reason = util.value(p.reason)
  run.conflicts = util.value(p.conflicts)
  run.finished = run.finished or os.time()
  return run
end

--- A `treelane.status` result: the server's snapshot replaces what we had for those runs.
function M.snapshot(client_id, result)
  local s = store(client_id)
  for _, r in ipairs(result.runs or {}) do
    local run = get_run(client_id, r.run, r.workflow)
    run.state = r.state
    run.reason, run.conflicts = util.value(r.reason), util.value(r.conflicts)
    run.started = util.epoch(r.started) or run.started
    run.finished = util.epoch(r.finished)
    local before = run.index
    run.tasks, run.index, run.groups, run.tree = {}, {}, {}, nil
    for _, t in ipairs(r.tasks or {}) do
      local task = get_task(run, t.name)
      copy_task(task, t, true)
      if task.group then
        run.groups[task.group] = true
      end
      local old = before[t.name]
      if task.error == nil and old and old.state == task.state then
        task.error = old.error -- status has no task errors: keep the notification's
      end
    end
  end
  s.pool = util.value(result.pool)
  s.concurrency = util.value(result.concurrency)
end

--- The runs we know of, oldest first.
function M.runs(client_id)
  local s = store(client_id)
  local out = {}
  for _, id in ipairs(s.order) do
    out[#out + 1] = s.runs[id]
  end
  table.sort(out, function(a, b)
    if a.started ~= b.started then
      return a.started < b.started
    end
    return a.seq < b.seq
  end)
  return out
end

function M.run(client_id, id)
  return store(client_id).runs[id]
end

--- The task of a failed run whose inputs conflict (nil: none, or the run's final tasks do).
function M.conflicted_task(run)
  if run == nil then
    return nil
  end
  for _, t in ipairs(run.tasks) do
    if t.state == "failed" and type(t.error) == "string" and t.error:find(" conflict in ", 1, true) then
      return t.name
    end
  end
  local named = type(run.reason) == "string" and run.reason:match("^task (.-) failed: inputs .* conflict in ")
  return named and run.index[named] and named or nil
end

--- How many tasks of unfinished runs are running right now.
function M.running_tasks(client_id)
  local n, active = 0, false
  for _, run in ipairs(M.runs(client_id)) do
    if run.state == "running" then
      active = true
      for _, t in ipairs(run.tasks) do
        if t.state == "running" then
          n = n + 1
        end
      end
    end
  end
  return n, active
end

function M.concurrency(client_id)
  return store(client_id).concurrency
end

-- The status view -------------------------------------------------------------------

local STATUS_BUFFER = "treelane://status"

local function run_header(run)
  local parts = { run.run, run.workflow or "?", run.state or "?" }
  local started = util.clock(run.started)
  if started then
    parts[#parts + 1] = "started " .. started
  end
  local ms = run.duration_ms
  if ms == nil and run.state ~= "running" and run.started and run.finished then
    ms = math.floor((run.finished - run.started) * 1000 + 0.5)
  end
  if ms then
    parts[#parts + 1] = util.duration(ms)
  end
  if run.counts then
    local counts = {}
    for state, n in pairs(run.counts) do
      counts[#counts + 1] = n .. " " .. state
    end
    table.sort(counts)
    parts[#parts + 1] = "(" .. table.concat(counts, ", ") .. ")"
  end
  return table.concat(parts, "  ")
end

--- What a task's line says after its duration: a candidate's score, and the winner.
local function task_extra(t, picked)
  local extra = {}
  if t.score then
    extra[#extra + 1] = "score " .. tree.score(t.score)
  end
  if picked and picked == t.name then
    extra[#extra + 1] = "winner"
  end
  if (t.attempt or 0) > 1 then
    extra[#extra + 1] = "attempt " .. t.attempt
  end
  if t.exit_code and t.exit_code ~= 0 then
    extra[#extra + 1] = "exit " .. t.exit_code
  end
  if t.state == "queued" and t.reason then
    extra[#extra + 1] = t.reason
  end
  if t.worktree then
    extra[#extra + 1] = t.worktree
  end
  return extra
end

--- The lines of a run's tasks, nested (see treelane.tree): a matrix task's line sums up its
--- expansions; a best-of-N task's names its winner and sums up its candidates; a spawner's
--- sums up the tasks it added.
local function task_lines(run, lines, about)
  -- The nesting is kept until tasks join the run or move; states are read as they are now.
  if run.tree == nil then
    local roots, width = tree.build(run.tasks), 4
    tree.walk(roots, function(node, depth)
      node.label = string.rep("  ", depth) .. node.name
      width = math.max(width, #node.label)
    end)
    run.tree = { roots = roots, width = width }
  end
  local width = run.tree.width
  tree.walk(run.tree.roots, function(node, _, parent)
    local name = node.label
    local t = node.task
    local line
    if t == nil then -- a matrix task: its expansions follow
      line = string.format("  %-" .. width .. "s  %s", name, tree.summary(node))
    else
      local picked = parent and parent.task and parent.task.picked
      local extra = task_extra(t, picked)
      if #node.children > 0 then
        local what = t.kind == "pick" and "candidates " or "children "
        if t.picked then
          table.insert(extra, 1, "picked " .. t.picked)
        end
        table.insert(extra, t.picked and 2 or 1, what .. tree.summary(node))
      end
      line = string.format(
        "  %-" .. width .. "s  %-11s  %8s  %s",
        name,
        t.state or "?",
        util.duration(t.duration_ms),
        table.concat(extra, "  ")
      )
    end
    lines[#lines + 1] = (line:gsub("%s+$", ""))
    about[#lines] = { run = run.run, task = t and t.name, group = t == nil and node.name or nil }
  end)
end

--- The lines of the status view, and what each line is about ({ run, task }).
--- `only`: show that run alone.
function M.render(client_id, root, only)
  local s = store(client_id)
  local lines, about = {}, {}
  local head = "treelane  " .. (root or "")
  if s.concurrency then
    head = head .. string.format("  ·  running %d/%d", s.concurrency.running or 0, s.concurrency.limit or 0)
  end
  if s.pool then
    head = head .. string.format("  ·  pool %d busy / %d", s.pool.busy or 0, s.pool.size or 0)
  end
  lines[1] = head
  lines[2] = ""
  about[1], about[2] = {}, {}
  local runs = M.runs(client_id)
  if only then
    runs = vim.tbl_filter(function(r)
      return r.run == only
    end, runs)
  end
  if #runs == 0 then
    lines[#lines + 1] = "No runs yet: :Treelane start {workflow}"
  end
  for i = #runs, 1, -1 do -- newest first
    local run = runs[i]
    lines[#lines + 1] = run_header(run)
    about[#lines] = { run = run.run }
    if run.reason and run.state ~= "running" then
      lines[#lines + 1] = "  reason: " .. run.reason
      about[#lines] = { run = run.run }
    end
    task_lines(run, lines, about)
    lines[#lines + 1] = ""
    about[#lines] = {}
  end
  lines[#lines + 1] = "<CR> task output   r refresh   q close"
  return lines, about
end

local views = {} -- bufnr -> { client_id, root, about }

--- Show (or refresh) the status view of a client.
function M.show(client_id, root, opts)
  opts = opts or {}
  local lines, about = M.render(client_id, root, opts.only)
  local buf = util.scratch(STATUS_BUFFER, lines, {
    filetype = "treelane",
    window = opts.window,
    focus = opts.focus,
    keymaps = {
      ["<CR>"] = function()
        local view = views[vim.api.nvim_get_current_buf()]
        local item = view and view.about[vim.api.nvim_win_get_cursor(0)[1]]
        if item and item.task then
          vim.cmd(string.format("Treelane log %s %s", item.run, item.task))
        end
      end,
      r = function()
        vim.cmd("Treelane status")
      end,
    },
  })
  views[buf] = { client_id = client_id, root = root, about = about, only = opts.only }
  return buf
end

local pending_redraw = false

--- Re-render the status view from the cache if it is on screen (at most every 100 ms).
function M.refresh_view(client_id)
  local buf = util.scratch_buffer(STATUS_BUFFER)
  if buf == nil or pending_redraw or vim.fn.bufwinid(buf) == -1 then
    return
  end
  local view = views[buf]
  if view == nil or view.client_id ~= client_id then
    return
  end
  pending_redraw = true
  vim.defer_fn(function()
    pending_redraw = false
    if vim.api.nvim_buf_is_valid(buf) then
      local lines, about = M.render(view.client_id, view.root, view.only)
      util.set_lines(buf, lines)
      view.about = about
    end
  end, 100)
end

return M
