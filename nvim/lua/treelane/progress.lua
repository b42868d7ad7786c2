-- Resource samples (`treelane/resources`) and the statusline component.
--
-- Run progress itself needs nothing here: the server sends standard
-- `$/progress` and Neovim's built-in handler turns it into `User
-- LspProgressUpdate` (0.7 to 0.9) or `LspProgress` (0.10+) autocmds, which
-- fidget.nvim, lualine and friends already show.

local status = require("treelane.status")
local util = require("treelane.util")

local M = {}

local samples = {} -- client_id -> last treelane/resources params

function M.resources(client_id, sample)
  samples[client_id] = sample
end

function M.forget(client_id)
  samples[client_id] = nil
end

function M.sample(client_id)
  return samples[client_id]
end

--- "⟳ 3/4 · CPU 71% · 2.1 GB" for a client with an unfinished run, "" otherwise.
--- 3/4: tasks running / concurrency limit; CPU: the whole machine's; GB: memory available.
function M.statusline(client_id)
  if client_id == nil then
    return ""
  end
  local running, active = status.running_tasks(client_id)
  if not active then
    return ""
  end
  local sample = samples[client_id]
  local concurrency = (sample and util.value(sample.concurrency)) or status.concurrency(client_id)
  local parts = {}
  if concurrency and concurrency.limit then
    parts[1] = string.format("⟳ %d/%d", running, concurrency.limit)
  else
    parts[1] = string.format("⟳ %d", running)
  end
  local system = sample and util.value(sample.system)
  if system then
    if util.value(system.cpu_percent) then
      parts[#parts + 1] = string.format("CPU %d%%", math.floor(system.cpu_percent + 0.5))
    end
    if util.value(system.memory_available_mb) then
      parts[#parts + 1] = string.format("%.1f GB", system.memory_available_mb / 1024)
    end
  end
  return table.concat(parts, " · ")
end

return M
