-- treelane defines nothing until require("treelane").setup() is called: no
-- command, no autocmd, no server. This file only guards against Neovim versions
-- the plugin does not support.
if vim.g.loaded_treelane then
  return
end
vim.g.loaded_treelane = true

if vim.fn.has("nvim-0.7") == 0 then
  vim.api.nvim_echo({ { "treelane needs Neovim 0.7 or newer", "WarningMsg" } }, true, {})
end
