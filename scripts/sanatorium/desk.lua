-- desk.lua — the workers' sanatorium and the check-up van, one command
-- per run (README: "Workers' sanatorium"; the library: scripts/lib/sanatorium.lua):
--
--   setup=1                                  store the plan (checked) and show the batches and rules
--   apply=FILE.csv | apply=1 id=ID choices=B01,B03,B02     applications (up to three batches)
--   commit=1 seed_file=FILE [party=committee]   (optional) a party's sealed seed, before the list closes
--   close=1 public='SOURCE' after='YYYY-MM-DD HH:MM' [record=draw-record.txt]
--                                            the applications closed at the host's clock, the public
--                                            value the draw will come from named; the record written
--   allocate=1 public='VALUE' [seed_file=FILE] [csv=allocation.csv] [record=draw-record.txt]
--                                            the draw (gonghui-draw-v2, nobody can bias it) and the
--                                            placement; the allocation and the record written
--   withdraw=1 id=ID reason=TEXT             a place given back: the waiting list moves up
--   assign=1 id=ID batch=B01 | assign=FILE.csv (身份证号, 期次)   a clerk's placement, under every rule
--   list=1 [csv=公示.csv] [waiting=1]         the public list (公示) or the waiting list, names masked
--   attend=B01 file=FILE.csv | attend=B01 id=ID present=1|0 [score=1..5]   attendance and satisfaction
--   report=1                                 by batch, union and group; the van's figures
--   verify=1 [file=allocation.csv] [record=draw-record.txt] [public=VALUE]
--                                            the draw re-drawn and the placement re-run
--   visit=V001 enterprise=N day=YYYY-MM-DD [place=TEXT]     a visit of the check-up van (场次)
--   checked=FILE.csv visit=V001 | checked=1 visit=V001 id=ID   workers checked (人次), no results
--
-- plan=FILE (default plan.lua beside this script) names another year's plan.
-- A member is id=ID_NUMBER or member=N. Exit codes: 0 done; 1 refused, a
-- problem found or bad input (the message says which and why; nothing is
-- stored); 2 no command.
local _ = gettext
local program = require 'program'
local sanatorium = require 'sanatorium'
local money = require 'program.money'
local fmt = require 'fmt'

local COMMANDS = { 'setup', 'apply', 'commit', 'close', 'allocate', 'withdraw', 'assign', 'list', 'attend', 'report',
                   'verify', 'checked', 'visit' }   -- checked before visit: checked=FILE takes visit=V001
local cmd
for _i, c in ipairs(COMMANDS) do if params[c] ~= nil and cmd == nil then cmd = c end end
if not cmd then
  run.fail(_('give a command: ') .. table.concat(COMMANDS, '=..., ') .. '=... ' .. _('(see the top of scripts/sanatorium/desk.lua)'))
end

local function member()
  if params.id ~= nil then return program.param('id', 'id') end
  if params.member ~= nil then return program.param('member', 'int') end
  run.fail(_('give the member: id=ID_NUMBER or member=N'))
end

local function seed()
  if params.seed ~= nil then run.fail(_('give the seed as seed_file=FILE: parameters are kept in the run record')) end
  local file = params.seed_file or run.fail(_('give the seed: seed_file=FILE (a file holding it; never kept in the run record)'))
  return program.read_seed(file)
end

local function record_name() return params.record and tostring(params.record) or 'draw-record.txt' end

-- The draw's errors are a clerk's refusals: one line, no traceback.
local refusing, done = program.try, program.must

local function summary(s)
  for _i, x in ipairs(s.refusals) do print(string.format('%s:%d: %s (%s)', x.file, x.line, x.reason, x.code)) end
  print(string.format(_('%s: %d rows: %d entered, %d already entered, %d refused'), s.file, s.rows, s.entered,
                      s.already, s.refused))
  if s.refusals_file then print(_('refusals written to') .. ' ' .. s.refusals_file) end
  if s.ignored and #s.ignored > 0 then
    print(string.format(_('columns not read, nothing of them stored: %s'), table.concat(s.ignored, ', ')))
  end
  program.finish(s)
end

program.cli(function()
  local S = sanatorium.load(params.plan and tostring(params.plan) or 'plan')
  local sp = S.plan
  if cmd == 'setup' then
    print(string.format(_('%s (%s), version %d'), sp.title, sp.id, S.P.plan.version))
    print(string.format(_('applications %s .. %s, up to %d batches each; no second stay within %d years'),
                        sp.apply.from, sp.apply.to, sp.choices, sp.exclusion_years))
    local rows = {}
    for _i, b in ipairs(sp.batches) do
      local g = {}
      for _j, x in ipairs(b.groups or {}) do g[#g + 1] = sanatorium.GROUPS[x] end
      rows[#rows + 1] = { b.batch, b.title, b.from .. '..' .. b.to, b.beds, money.yuan(b.cost_fen or 0),
                          #g > 0 and table.concat(g, '、') or '', b.programme or '' }
    end
    print(fmt.table({ '期次', '名称', '日期', '床位', '费用(元)', '限', '内容' }, rows, { right = { 4, 5 } }))
    for i, t in ipairs(sp.tiers) do print(string.format(_('tier %d: %s'), i, t.name)) end
    for _i, l in ipairs(S.P.plan.limits) do
      local q = {}
      if l.quotas then for k, v in pairs(l.quotas) do q[#q + 1] = tostring(k) .. '=' .. v end end
      table.sort(q)
      print(string.format(_('limit %-22s per %-18s at most %s'), l.name, table.concat(l.per, '+'),
                          l.quotas and table.concat(q, ' ') or l.places and _("the batch's beds")
                          or tostring(l.max_qty or l.max_count or l.max_fen)))
    end
  elseif cmd == 'apply' then
    if params.apply == 1 or params.apply == '1' then
      local a = done(S:apply{ member = member(), choices = program.param('choices') })
      print(string.format(_('application %d: member %d, %s, batches %s'), a.app_id, a.member_id,
                          sanatorium.GROUPS[a.group], table.concat(a.choices, ',')))
    else
      summary(S:apply_sheet(program.param('apply')))
    end
  elseif cmd == 'commit' then
    local r = refusing(S.commit, S, seed(), { party = params.party and tostring(params.party) })
    local c = r.commitments[#r.commitments]
    for _i, x in ipairs(r.commitments) do if x.party == (params.party or 'committee') then c = x end end
    print(string.format(_('draw %s: %s sealed a seed, commitment %s'), r.draw_id, c.party, c.commitment))
    print(_('publish this commitment now; keep the seed secret until the draw'))
  elseif cmd == 'close' then
    if not params.public or not params.after then
      run.fail(_("give close=1 public='WHAT THE VALUE IS (a lottery result of a later date)' after='YYYY-MM-DD HH:MM'"))
    end
    local r = refusing(S.close, S, { public = tostring(params.public), after = tostring(params.after) })
    for i, t in ipairs(r.tiers) do
      print(string.format(_('tier %d (%s): %d applicants, list commitment %s'), i, t.name, t.n, t.list_commitment or '-'))
    end
    print(string.format(_('the draw will come from: %s'), r.public_source))
    S.P:write_draw_record('stay', record_name())
    print(string.format(_('written: %s (the draw record: publish it now, before the public value is known)'), record_name()))
  elseif cmd == 'allocate' then
    if not params.public then run.fail(_("give allocate=1 public='THE VALUE AS ANNOUNCED'")) end
    local row = S.P:draw_row('stay')
    local committed = row.commitments and #row.commitments > 0 and not row.drawn_at
    local d = refusing(S.allocate, S, { public = tostring(params.public),
                                        seed = (committed or params.seed_file) and seed() or nil })
    for i, t in ipairs(d.tiers) do
      print(string.format(_('tier %d (%s): %d applicants ranked, list commitment %s'), i, t.name, t.n,
                          t.list_commitment or '-'))
    end
    print(string.format(_('seed %s (from the lists, the public value %s and the sealed seeds)'), d.seed,
                        d.public_value or '-'))
    local rep = S:report()
    local rows = {}
    for _i, b in ipairs(sp.batches) do
      local c = rep.batch[b.batch]
      rows[#rows + 1] = { b.batch, b.title, b.beds, c.placed }
    end
    print(fmt.table({ '期次', '名称', '床位', '入选' }, rows, { right = { 3, 4 } }))
    print(string.format(_('%d placed, %d on the waiting list'), rep.total.placed, rep.waiting))
    local name = params.csv and tostring(params.csv) or 'allocation.csv'
    local n = S:write_allocation(name)
    print(string.format(_('written: %s (%d applicants in draw order; publish it with the draw record)'), name, n))
    if d.closed_at then S.P:write_draw_record('stay', record_name()) end
    -- the same checks without gonghui (independent programs: Python and hashlib)
    local beds, q = {}, {}
    for _i, b in ipairs(sp.batches) do beds[#beds + 1] = b.batch .. '=' .. b.beds end
    for k, v in pairs(sp.union_places or {}) do q[#q + 1] = tostring(k) .. '=' .. v end
    table.sort(q)
    print(_('anyone can check it without gonghui:'))
    if d.closed_at then
      print(string.format("  python3 plugins/lottery/lottery_check.py verify-record %s '%s'", record_name(), -- i18n: ok (a command)
                          d.public_value:gsub("'", "'\\''")))
    end
    print(string.format("  python3 scripts/sanatorium/check_allocation.py %s %s %s --beds %s%s%s", name, -- i18n: ok (a command)
                        d.seed, sp.id, table.concat(beds, ','),
                        sp.enterprise_cap and (' --enterprise-cap ' .. sp.enterprise_cap) or '',
                        #q > 0 and (" --union-places '" .. table.concat(q, ',') .. "'") or ''))
  elseif cmd == 'withdraw' then
    local r = done(S:withdraw(member(), params.reason and tostring(params.reason) or ''))
    if r.reversed then
      print(string.format(_('the place in %s is given back (a reversing entry)'), r.reversed.place))
      if r.moved_up then
        local m = db.members:get(r.moved_up.member_id)
        print(string.format(_('moved up from the waiting list: %s (member %d) into %s'), m.name, m.member_id,
                            r.moved_up.place))
      else
        print(_('nobody on the waiting list can take it: the place stays free (assign=1 gives it)'))
      end
    else
      print(_('the application is withdrawn (no place was given)'))
    end
  elseif cmd == 'assign' then
    if params.assign == 1 or params.assign == '1' then
      local e = done(S:assign{ member = member(), batch = program.param('batch') })
      print(string.format(_('entered: entry %d, member %d in %s'), e.entry_id, e.member_id, e.place))
    else
      summary(S:assign_sheet(tostring(params.assign)))
    end
  elseif cmd == 'list' then
    local rows, cols = S:public_list(), sanatorium.PUBLIC
    if params.waiting then rows, cols = S:waiting(), sanatorium.WAITING end
    local out = {}
    for i, r in ipairs(rows) do
      out[i] = {}
      for j, c in ipairs(cols) do out[i][j] = r[c] end
    end
    print(fmt.table(cols, out, { right = { 1 } }))
    local name = params.csv or params.xlsx
    if name then
      export[tostring(name):match('%.(%w+)$') or 'csv'](rows, tostring(name), { fields = cols, unmask = true })
      print(_('written:') .. ' ' .. tostring(name))
    end
  elseif cmd == 'attend' then
    local batch = tostring(params.attend)
    if params.file then
      summary(S:attend_sheet(tostring(params.file), batch))
    else
      local present = params.present == nil or params.present == 1 or params.present == '1'
      local r = done(S:attend{ member = member(), batch = batch, present = present,
                               score = params.score ~= nil and program.param('score', 'int') or nil })
      print(r.attended and _('marked present') or _('marked absent: the place is reversed'))
    end
  elseif cmd == 'report' then
    local rep = S:report()
    print(sanatorium.format(rep))
    if not rep.ok then run.fail(_('the totals and the ledger disagree (see PROBLEMS)')) end
  elseif cmd == 'verify' then
    local rec = params.record and program.read_draw_record(tostring(params.record))
    local ok, problems = S:verify{ record = rec, public = params.public and tostring(params.public),
                                   seed = params.seed and tostring(params.seed),
                                   file = params.file and tostring(params.file) }
    if not ok then run.fail(_('the allocation does not verify:') .. '\n  ' .. table.concat(problems, '\n  ')) end
    print(_('the allocation verifies: every tier re-drawn from the lists and the public value, every place re-run from the rules'))
  elseif cmd == 'visit' then
    local v = done(S:visit{ visit = tostring(params.visit), enterprise = program.param('enterprise', 'int'),
                            day = program.param('day', 'date'), place = params.place and tostring(params.place) })
    print(string.format(_('visit %s: enterprise %d on %s'), params.visit, v.enterprise_id, v.day))
  elseif cmd == 'checked' then
    local visit = program.param('visit')
    if params.checked == 1 or params.checked == '1' then
      local e = done(S:checked{ member = member(), visit = visit })
      print(string.format(_('entered: entry %d, member %d checked at %s'), e.entry_id, e.member_id, visit))
    else
      summary(S:checked_sheet(tostring(params.checked), visit))
    end
  end
end)
