-- The workflows of treelane.toml, as the server's parser reads them (treelane.workflows):
-- names for completion and the :Treelane start picker. The plugin reads no TOML itself.

local client = require("treelane.client")
local util = require("treelane.util")

local M = {}

--- One line of the picker: "name — description (3 tasks, 1 problem)".
function M.item(w)
  local about = {}
  local tasks = #(w.tasks or {})
  about[#about + 1] = tasks == 1 and "1 task" or (tasks .. " tasks")
  local problems = #(w.problems or {})
  if problems > 0 then
    about[#about + 1] = problems == 1 and "1 problem" or (problems .. " problems")
  end
  local description = util.value(w.description) or ""
  return string.format("%s%s (%s)", w.name, description ~= "" and (" — " .. description) or "",
    table.concat(about, ", "))
end

--- Workflow names (for completion: waits for the server at most `timeout_ms`).
function M.names(cid, timeout_ms)
  local err, result = client.execute_sync(cid, "treelane.workflows", {}, timeout_ms or 3000)
  local names = {}
  for _, w in ipairs(err == nil and result and result.workflows or {}) do
    names[#names + 1] = w.name
  end
  return names
end

--- Let the user pick a workflow with vim.ui.select; `on_pick(name)` with the choice.
--- `exec(cid, command, args, on_result)` runs a server command, notifying its errors.
function M.pick(cid, exec, on_pick)
  exec(cid, "treelane.workflows", {}, function(result)
    local items = result.workflows or {}
    if #items == 0 then
      local problems = result.problems or {}
      util.error(#problems > 0 and ("treelane.toml: " .. problems[1].message)
        or 'no workflows: define one in treelane.toml ([workflows.NAME.tasks.TASK] run = "...")')
      return
    end
    vim.ui.select(items, { prompt = "Start workflow", format_item = M.item, kind = "treelane.workflow" },
      function(choice)
        if choice then
          on_pick(choice.name)
        end
      end)
  end)
end

return M
