-- Minimal init for the headless Neovim tests: no user config, no other
-- plugins; the runtimepath is the repository's nvim/ plus Neovim's own runtime.
-- TREELANE_PYTHON names the Python that runs the server (the project's venv).

local this = debug.getinfo(1, "S").source:sub(2)
local repo = vim.fn.fnamemodify(this, ":p:h:h:h")

vim.opt.runtimepath = { repo .. "/nvim", vim.env.VIMRUNTIME }
vim.opt.packpath = { vim.env.VIMRUNTIME }
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.more = false

local python = vim.env.TREELANE_PYTHON
if python == nil or python == "" then
  io.stderr:write("TREELANE_PYTHON is not set: the Python that runs `-m treelane serve`\n")
  vim.cmd("cquit 2")
end

-- TREELANE_TEST_BATCH=0: task states one notification each (the plugin asks for batches).
require("treelane").setup({
  cmd = { python, "-m", "treelane", "serve" },
  status_window = "split",
  init_options = vim.env.TREELANE_TEST_BATCH == "0" and { batchTaskState = false } or nil,
})
