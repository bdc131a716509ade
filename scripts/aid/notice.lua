-- notice.lua — the public notice (公示) of the files in notice, names
-- masked (王*国), to post or send to the union's group.
--
--   gonghui run scripts/aid/notice.lua [town=硖石街道]
local aid = require 'aid'
aid.cli(function()
  local p = aid.open(require 'caps')
  print(aid.format_notice(p:notice_list{ town = params.town }))
end)
