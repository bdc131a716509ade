-- program/sheet.lua — entry from sheets, the one helper every program uses:
-- the columns found by the plan's field labels (or names), each cell parsed as
-- `gonghui import` parses it, each row in its own savepoint, a refusals file
-- naming file, line and reason, a summary, and the exit code.
--
--   local s = P:enter_sheet('ST01-0120.csv', { kind = 'ticket', place = 'ST01' })
--   print(program.sheet_summary(s))  -- '12 rows: 9 entered, 2 already entered, 1 refused; 1,234.50 yuan'
--   program.finish(s)                -- exit code 1 (run.fail) when a row was refused
--
-- opts: kind (default: the row's 'kind' field, else the plan's only kind),
-- place, at, refusals (the refusals file's name in the output folder; default
-- FILE.refusals.csv; false: none), each = function(e, row, line) that may
-- adjust the entry before it is entered (return nil, why to refuse the row);
-- since v1.4: fields (a second sheet of the program, in the plan's fields
-- dialect: { { 'session', '活动编号' }, { 'heads', '人数', 'int' } }) and
-- enter = function(e) -> entry | nil, code, why (instead of P:enter; the
-- row's kind is then its business), so a program's other sheets (sessions
-- beside attendance, the sanatorium's applications) go through the same
-- helper; sum.ignored lists the header's columns not read.
-- Re-entering a sheet pays nothing twice: rows whose key (or per-member
-- limit) was entered before are counted as `already`, not refused.
-- A dry run (gonghui run --dry-run) writes it into the run's throw-away folder.
local _ = gettext
local cells = require 'program.cells'
local money = require 'program.money'

local M = {}

local function basename(path) return (path:match('[^/]+$') or path) end

function M.attach(program, P)
  function P:enter_sheet(file, opts)
    opts = opts or {}
    local fields = self.plan.fields
    if opts.fields then
      fields = {}
      for i, f in ipairs(opts.fields) do
        fields[i] = { name = f[1] or f.name, label = f[2] or f.label, type = f[3] or f.type or 'text',
                      optional = f.optional, also = f.also }
      end
    end
    if #fields == 0 then
      error(string.format(_("plan %s: key 'fields': entering a sheet needs the entry's fields and their ")
                          .. "labels: fields = { { 'id_number', '身份证号', 'id' }, ... }", self.plan.file), 0)
    end
    local sum = { file = file, rows = 0, entered = 0, already = 0, refused = 0, fen = 0, codes = {},
                  refusals = {} }
    local cols                      -- field -> header text found
    local function refuse(line, code, why)
      sum.refused = sum.refused + 1
      sum.codes[code] = (sum.codes[code] or 0) + 1
      sum.refusals[#sum.refusals + 1] = { file = file, line = line, code = code, reason = why }
    end
    -- Rows are entered BATCH at a time, in one transaction, each row in its
    -- own savepoint (db.atomic nested): an error in a rule refuses that row
    -- only, and a sheet of 100,000 rows costs 100 commits, not 100,000. A
    -- kill loses at most the batch in hand; entering the sheet again pays
    -- nothing twice.
    local BATCH = opts.batch or 1000
    local pending = {}
    local function enter_one(p)
      local ok, r, code, why
      if opts.enter then
        ok, r, code, why = pcall(db.atomic, opts.enter, p.e)
      else
        -- P:enter is its own savepoint (db.atomic inside): a second one
        -- around it cost a nested LMDB transaction per row for nothing (its
        -- begin zeroes LMDB's state of every database handle, and every page
        -- the row touches is copied once more): W10 340k -> 274k instructions
        -- a row (callgrind, 2,000 rows)
        ok, r, code, why = pcall(self.enter, self, p.e)
      end
      if not ok then return refuse(p.line, 'error', tostring(r)) end
      if r then
        sum.entered = sum.entered + 1
        sum.fen = money.add(sum.fen, r.fen or 0)
      elseif code == 'already' then
        sum.already = sum.already + 1
      else
        refuse(p.line, code, why)
      end
    end
    local function flush()
      if #pending == 0 then return end
      local batch = pending
      pending = {}
      db.atomic(function() for _i, p in ipairs(batch) do enter_one(p) end end)
    end
    local n, err = run.read_csv(file, function(row, line)
      if not cols then                  -- the header row
        cols = {}
        local missing = {}
        for _i, f in ipairs(fields) do
          for i, h in ipairs(row) do
            local ht = tostring(h):gsub('^%s+', ''):gsub('%s+$', '')
            if ht == f.label or ht == f.name then cols[f.name] = i end
            for _i, a in ipairs(f.also or {}) do if ht == a then cols[f.name] = i end end
          end
          if not cols[f.name] and not f.optional then missing[#missing + 1] = f.label .. ' (' .. f.name .. ')' end
        end
        if #missing > 0 and opts.fields then       -- (a program's own sheet: its columns are not the plan's)
          error(string.format(ngettext('%s:%d: the header row lacks the column %s',
                                       '%s:%d: the header row lacks the columns %s', #missing),
                              file, line, table.concat(missing, ', ')), 0)
        elseif #missing > 0 then
          error(string.format(ngettext('%s:%d: the header row lacks the column %s (plan %s, key fields)',
                                       '%s:%d: the header row lacks the columns %s (plan %s, key fields)', #missing),
                              file, line, table.concat(missing, ', '), self.plan.file), 0)
        end
        local used = {}                  -- the columns not read (nothing of them is stored)
        for _i, i in pairs(cols) do used[i] = true end
        sum.ignored = {}
        for i, h in ipairs(row) do if not used[i] and h ~= '' then sum.ignored[#sum.ignored + 1] = tostring(h) end end
        return
      end
      local blank = true
      for _i, c in ipairs(row) do if c ~= '' then blank = false end end
      if blank then return end
      sum.rows = sum.rows + 1
      local e = { kind = opts.kind, place = opts.place, at = opts.at }
      for _i, f in ipairs(fields) do
        local raw = cols[f.name] and row[cols[f.name]]
        if raw == nil or raw == '' then
          if not f.optional then return refuse(line, 'bad_input', string.format(_('column %s is empty'), f.label)) end
        else
          local v, why = cells.parse(f.type, raw)
          if v == nil then
            return refuse(line, 'bad_input', string.format(_("column %s: '%s' %s"), f.label, tostring(raw), why))
          end
          e[f.name] = v
        end
      end
      if not opts.enter and e.kind == nil then
        if #self.plan.kinds ~= 1 then
          return refuse(line, 'bad_input', _('the row names no kind, and the program has several'))
        end
        e.kind = self.plan.kinds[1].kind
      end
      if not opts.enter and not self.plan.kind[e.kind] then
        return refuse(line, 'bad_input', string.format(_('no kind %s'), tostring(e.kind)))
      end
      if opts.each then
        local ok, why = opts.each(e, row, line)
        if ok == nil and why then return refuse(line, 'bad_input', why) end
      end
      pending[#pending + 1] = { e = e, line = line }
      if #pending >= BATCH then flush() end
    end)
    if n then flush() end
    if not n then error(err, 0) end
    -- (a row refused when read and one refused when entered: in line order)
    table.sort(sum.refusals, function(x, y) return x.line < y.line end)
    -- the refusals file
    if sum.refused > 0 and opts.refusals ~= false then
      local name = opts.refusals or (basename(file):gsub('%.[^.]*$', '') .. '.refusals.csv')
      sum.refusals_file = name
      -- (in a dry run the output folder is a throw-away one the run names)
      local f = run.open(name, 'w')
      local rows = { { 'file', 'line', 'code', 'reason' } }
      for _i, x in ipairs(sum.refusals) do rows[#rows + 1] = { x.file, x.line, x.code, x.reason } end
      run.write_csv(f, rows)
      f:close()
    end
    return sum
  end

  function program.sheet_summary(s)
    local out = {}
    for _i, x in ipairs(s.refusals) do
      out[#out + 1] = string.format('%s:%d: %s (%s)', x.file, x.line, x.reason, x.code)
    end
    out[#out + 1] = string.format(_('%s: %d rows: %d entered, %d already entered, %d refused; %s yuan'),
                                  s.file, s.rows, s.entered, s.already, s.refused, money.yuan(s.fen))
    if s.refusals_file then out[#out + 1] = _('refusals written to') .. ' ' .. s.refusals_file end
    return table.concat(out, '\n')
  end

  -- Ends the run with exit code 1 when a row was refused (0 otherwise).
  function program.finish(s)
    if s.refused > 0 then
      run.fail(string.format(_('%d of %d rows refused (see above)'), s.refused, s.rows))
    end
  end
end

return M
