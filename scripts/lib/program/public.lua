-- program/public.lua — public lists (公示): who received what, with names
-- masked (张*明), ID numbers (330481********1234) and phones (138****5678).
--
--   local rows = P:public_list{ kind = 'ticket' }    -- { { 序号, 姓名, 身份证号, 手机, 项目, 金额(元), 日期, 地点 }, ... }
--   P:write_public_list('gongshi.csv' [, opts])     -- into the output folder (a dry run's: throw-away)
--   program.public_text(rows)                        -- as a text table
--
-- Only entries still standing are listed (reversed ones and their reversals
-- are not). Names in full never leave through here: the masking is done
-- before the rows exist. opts.kind: one kind; opts.fields: the columns
-- (default all of the above).
-- The masking is core/pii.c's (pii.mask, through program.mask_*).
local _ = gettext
local money = require 'program.money'

local M = {}

M.COLUMNS = { '序号', '姓名', '身份证号', '手机', '项目', '金额(元)', '日期', '地点' }

function M.attach(program, P)
  function P:public_list(opts)
    opts = opts or {}
    local reversed, list = {}, {}
    for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id, opts.kind } } do
      if e.reverses then reversed[e.reverses] = true; reversed[e.entry_id] = true end
      list[#list + 1] = e:totable()
    end
    local rows = {}
    for _i, e in ipairs(list) do
      if not reversed[e.entry_id] and e.member_id then
        local m = db.members:get(e.member_id) or {}
        local k = self.plan.kind[e.kind]
        rows[#rows + 1] = {
          ['序号'] = #rows + 1, ['姓名'] = program.mask_name(m.name or ''),
          ['身份证号'] = program.mask_id(m.id_number or ''), ['手机'] = program.mask_phone(m.phone or ''),
          ['项目'] = k and k.title or e.kind, ['金额(元)'] = money.yuan(e.fen), ['日期'] = e.day,
          ['地点'] = e.place or '',
        }
      end
    end
    return rows
  end

  function P:write_public_list(name, opts)
    opts = opts or {}
    local rows = self:public_list(opts)
    local fields = opts.fields or M.COLUMNS
    local fmt_ = name:match('%.(%w+)$') or 'csv'
    local n, path = export[fmt_](rows, name, { fields = fields, unmask = true })
    return n, path
  end

  function program.public_text(rows, fields)
    local fmt = require 'fmt'
    fields = fields or M.COLUMNS
    local out = {}
    for i, r in ipairs(rows) do
      out[i] = {}
      for j, f in ipairs(fields) do out[i][j] = r[f] end
    end
    return fmt.table(fields, out, { right = { 1, 6 } })
  end
end

return M
