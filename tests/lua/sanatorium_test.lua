-- sanatorium_test.lua — scripts/lib/sanatorium.lua on the fixed registry
-- (program_fixtures.lua): groups and tiers, applications refused with their
-- reasons, the allocation by tier (draw v2) with beds, enterprise caps and
-- union quotas (placements worked out by hand from the draw's ranking),
-- re-drawn and re-run by verify (and tampering named), the waiting list
-- moving up, no second stay within the exclusion period across years, the
-- public list masked, attendance and scores, the van with no results stored,
-- and every figure of the report and of the year report counted by hand.
local t = require 'testlib'
local fx = require 'program_fixtures'
local sanatorium = require 'sanatorium'
local program = require 'program'
local yr = require 'year_report'

fx.load()
local registry = require 'registry'
registry.define_titles()
-- member 8 (driver, union 12, enterprise 3) is a provincial model worker; member 9 joined in 2023
db.member_titles:insert{ member_id = 8, kind = 'model_worker', title = '浙江省劳动模范', level = 'provincial',
                         awarded = '2020-04-28' }
db.members:update(9, { join_date = '2023-06-01' })

local function plan(year)
  return {
    id = 'san-' .. year, title = year .. '年疗休养', year = year,
    apply = { from = year .. '-01-01', to = year .. '-02-28' },
    choices = 3, exclusion_years = 3, enterprise_cap = 2, union_places = { [21] = 2, ['*'] = 4 },
    tiers = { { name = '劳模', levels = { 'national', 'provincial', 'city' } },
              { name = '会龄满5年', groups = { 'front_line', 'new_form', 'skilled' }, member_years = 5 },
              { name = '其他' } },
    batches = {
      { batch = 'A', title = 'A期', from = year .. '-04-01', to = year .. '-04-05', beds = 3, cost_fen = 100000 },
      { batch = 'B', title = 'B期', from = year .. '-06-01', to = year .. '-06-05', beds = 2, cost_fen = 150000 },
      { batch = 'C', title = '新就业形态专场', from = year .. '-08-01', to = year .. '-08-05', beds = 2,
        cost_fen = 100000, groups = { 'new_form' } },
    },
    checkup = { id = 'chk-' .. year, title = year .. '年体检车' },
  }
end

local S = sanatorium.define(plan(2025))
local AT = '2025-01-15 10:00:00'
local SEED = 'fixed-test-seed-for-the-sanatorium'

t.case('a plan mistake names the key', function()
  local p = plan(2025)
  p.batches[2].from = '2026-06-01'
  t.raises(function() sanatorium.define(p) end, "batches%[2%]%.from")
  p = plan(2025)
  p.tiers[2].groups = { 'cadres' }
  t.raises(function() sanatorium.define(p) end, "tiers%[2%]%.groups%[1%]")
  p = plan(2025)
  p.beds = 3
  t.raises(function() sanatorium.define(p) end, "key 'beds': is not a plan key")
  -- the framework's plan checker checks the sanatorium's keys too: a whole number is an integer
  p = plan(2025)
  p.batches[1].beds = 2.5
  t.raises(function() sanatorium.define(p) end, "key 'batches%[1%]%.beds': expected a whole number, got float 2%.5")
end)

t.case('groups and tiers from the registry', function()
  local g = {}
  for i = 1, 11 do g[i] = S:group(db.members:get(i)) or '-' end
  t.eq(g, { 'front_line', 'front_line', 'new_form', 'new_form', 'new_form', 'front_line', '-', 'model',
            'front_line', 'front_line', 'new_form' })
  t.eq(S.P:tier(db.members:get(8)), 1)
  t.eq(S.P:tier(db.members:get(1)), 2)
  t.eq(S.P:tier(db.members:get(9)), 3)      -- joined 2023: under five years
end)

t.case('applications: up to three batches, refusals with reasons', function()
  local apps = { { 8, 'A' }, { 1, 'A,B' }, { 2, 'A' }, { 10, 'A,B' }, { 3, 'C,A' }, { 4, 'C' }, { 5, 'C,B' },
                 { 9, 'A,B' }, { 11, 'B' } }
  local r, code, why = S:apply{ member = 2, choices = 'C', at = AT }
  t.eq(code, 'not_eligible'); t.ok(why:find('新就业形态劳动者', 1, true), why)
  r, code = S:apply{ member = 11, choices = 'A,B,C,A', at = AT }
  t.eq(code, 'bad_input')
  r, code = S:apply{ member = 11, choices = 'A,X', at = AT }
  t.eq(code, 'bad_input')
  for _, a in ipairs(apps) do t.ok(S:apply{ member = a[1], choices = a[2], at = AT }, 'member ' .. a[1]) end
  r, code, why = S:apply{ member = 7, choices = 'A', at = AT }
  t.eq(code, 'not_eligible'); t.ok(why:find('not in a group', 1, true), why)
  r, code = S:apply{ member = 6, choices = 'A', at = AT }
  t.eq(code, 'not_eligible')
  r, code = S:apply{ member = 1, choices = 'B', at = AT }
  t.eq(code, 'already')
  r, code = S:apply{ member = 12, choices = 'A', at = '2025-03-01 10:00:00' }
  t.eq(code, 'closed')
  t.eq(r, nil)
  t.eq(db.sanatorium_applications:count(), 9)
end)

-- The draw (gonghui-draw-v2): the committee's sealed seed, the applications
-- closed naming a public value due two seconds on by the host's clock, the
-- value. (VALUE was picked for this test, knowing the lists, so that the
-- ranking is the one the placements below were worked out by hand from: in
-- real life nobody knows the value when the lists close.)
local SOURCE = '中国福利彩票双色球 2025年第20期开奖号码'
local VALUE = '01 37 97'

t.case('the allocation: by tier, a drawn ranking, beds, enterprise caps and union quotas', function()
  S:commit(SEED, { at = '2025-01-02 09:00:00' })
  t.raises(function() S:allocate{ public = VALUE, seed = SEED } end, 'close the applications first')
  t.raises(function() S:allocate(SEED) end, 'allocate takes { public = VALUE')
  local after = t.host_after(2)
  local c = S:close{ public = SOURCE, after = after }
  t.eq(c.public_source, SOURCE)
  t.eq(#c.tiers, 3)
  t.wait_host(after)
  local d = S:allocate{ public = VALUE, seed = SEED, at = '2025-03-03 10:00:00' }
  t.eq(d.public_value, VALUE)
  local rank = {}
  for i, tier in ipairs(d.tiers) do rank[i] = tier.winners:gsub('\n', ' ') end
  -- the ranking the lottery gives for these lists, this value and this seed
  t.eq(rank, { '8 ', '4 2 10 5 11 3 1 ', '9 ' })
  -- by hand, in that order (A: 3 beds, B: 2, C: 2 new_form only; 2 per enterprise and batch;
  -- union 21 (members 3, 4, 5, 9, 11) 2 places, the others 4):
  --   tier 1: 8 -> A
  --   tier 2: 4 -> C (union 21: 1); 2 -> A; 10 -> A (enterprise 1: its 2nd in A; A full);
  --           5 -> C (union 21: 2; C full); 11 -> waits (union 21 full); 3 -> waits (C and A
  --           full, union 21 full); 1 -> A full, B
  --   tier 3: 9 -> A full; B: union 21 full: waits
  local placed = {}
  for _, e in ipairs(S.P:entries('stay')) do placed[e.member_id] = e.place end
  t.eq(placed, { [8] = 'A', [4] = 'C', [2] = 'A', [10] = 'A', [5] = 'C', [1] = 'B' })
  local wl = {}
  for _, w in ipairs(S:waiting()) do wl[#wl + 1] = w['顺位'] end
  t.eq(wl, { '会龄满5年 #5', '会龄满5年 #6', '其他 #1' })
  local ok, problems = S:verify()
  t.ok(ok, table.concat(problems or {}, '; '))
  -- drawing again gives the same; another seed or value is refused
  t.eq(S:allocate{ public = VALUE, seed = SEED }.tiers[2].winners, d.tiers[2].winners)
  t.raises(function() S:allocate{ public = VALUE, seed = 'another-seed-sixteen-chars' } end, 'another seed')
  t.raises(function() S:allocate{ public = '01 37 98', seed = SEED } end, 'was drawn with the public value')
  -- the record alone recomputes it
  local rec = S.P:draw_record('stay')
  t.ok(program.verify_draw_record(rec))
end)

t.case('verify re-draws a published copy and names tampering', function()
  S:write_allocation('allocation.csv')
  t.ok(S:verify{ file = 'allocation.csv' })
  -- a batch changed in the published file: member 5 placed in B
  local rows = { { 'tier', 'rank', 'member_id', 'enterprise_id', 'union_id', 'choices', 'eligible', 'batch' } }
  for _, r in ipairs(S:allocation_rows()) do
    rows[#rows + 1] = { r.tier, r.rank, r.member_id, r.enterprise_id, r.union_id, table.concat(r.choices, ' '),
                        1, r.member_id == 11 and 'B' or r.batch }
  end
  local f = run.open('forged.csv', 'w')
  run.write_csv(f, rows)
  f:close()
  local ok, problems = S:verify{ file = 'forged.csv' }
  t.ok(not ok)
  t.ok(table.concat(problems, '\n'):find('member 11 (tier 2, rank 5): the rules place them in -, the allocation says B', 1, true),
       table.concat(problems, '\n'))
  -- a wrong seed
  ok, problems = S:verify{ seed = 'not-the-seed-at-all-16' }
  t.ok(not ok); t.ok(problems[1]:find('seed', 1, true))
end)

t.case('a withdrawn place goes to the next on the waiting list who fits', function()
  -- 5 gives C back: 11 (first waiting) chose only B; 3 chose C and fits (union 21 back to 1): moves up
  local r = assert(S:withdraw(5, '家中有事', { at = '2025-03-10 09:00:00' }))
  t.eq(r.reversed.place, 'C')
  t.eq(r.moved_up.member_id, 3)
  t.eq(r.moved_up.place, 'C')
  -- 4 gives C back: nobody waiting chose C (11: B; 9: A, B): the place stays free
  r = assert(S:withdraw(4, '工作调动', { at = '2025-03-11 09:00:00' }))
  t.eq(r.reversed.place, 'C'); t.eq(r.moved_up, nil)
  -- 1 gives B back: 11, first on the list, fits now (union 21: 3 only)
  r = assert(S:withdraw(1, '身体原因', { at = '2025-03-12 09:00:00' }))
  t.eq(r.moved_up.member_id, 11); t.eq(r.moved_up.place, 'B')
  local _, code = S:withdraw(1, 'again', { at = '2025-03-12 10:00:00' })
  t.eq(code, 'already')
  -- after the batch began, a withdrawal is refused: attendance says it
  _, code = S:withdraw(2, 'late', { at = '2025-04-02 09:00:00' })
  t.eq(code, 'closed')
  t.ok(S:verify())
  t.ok(S.P:check())
  local names = {}
  for _, row in ipairs(S:public_list()) do names[#names + 1] = row['期次']:sub(1, 1) .. ' ' .. row['姓名'] end
  t.eq(names, { 'A 黄*', 'A 李*英', 'A 吴*', 'B 丁*', 'C 张*' })
  local text = table.concat(names)
  t.ok(not text:find('李秀英', 1, true))
end)

t.case('no second stay within the exclusion period: another year, and two clerks', function()
  local S26 = sanatorium.define(plan(2026))
  local AT26 = '2026-01-10 10:00:00'
  local r, code, why = S26:apply{ member = 2, choices = 'A', at = AT26 }
  t.eq(code, 'not_eligible'); t.ok(why:find('had a stay in 2025-04-01', 1, true), why)
  t.ok(S26:apply{ member = 4, choices = 'C', at = AT26 })        -- withdrew in 2025: may apply
  t.ok(S26:apply{ member = 1, choices = 'A', at = AT26 })
  -- a clerk's direct placement is held to the same rule, in the entry's transaction
  r, code = S26:assign{ member = 8, batch = 'A', at = AT26 }
  t.eq(code, 'not_eligible')
  t.eq(db.sanatorium_applications:count{ program = 'san-2026' }, 2)   -- the refused assign left nothing
  t.ok(S26:assign{ member = 9, batch = 'B', at = AT26 })
  -- 9 now has a 2026 stay: the 2025 waiting list (9 is on it, for A and B) cannot move them into 2025's
  -- free place in B, nor can a clerk enter them there directly
  local e, c2 = S.P:move_up('stay', { place = 'B' })
  t.eq(e, nil); t.eq(c2, 'none')
  local _, c3, w3 = S.P:enter{ member = 9, kind = 'stay', place = 'B', day = '2025-06-01' }
  t.eq(c3, 'not_eligible'); t.ok(w3:find('had a stay in 2026-06-01', 1, true), w3)
end)

t.case('attendance and satisfaction', function()
  local at = '2025-04-05 16:00:00'
  t.ok(S:attend{ member = 2, batch = 'A', present = true, score = 5, at = at })
  t.ok(S:attend{ member = 8, batch = 'A', present = true, score = 3, at = at })
  t.ok(S:attend{ member = 10, batch = 'A', present = false, at = at })
  local _, code = S:attend{ member = 10, batch = 'A', present = true, at = at }
  t.eq(code, 'already')
  _, code = S:attend{ member = 11, batch = 'B', present = true, at = at }      -- B begins in June
  t.eq(code, 'closed')
  _, code = S:attend{ member = 2, batch = 'A', present = true, score = 7, at = at }
  t.eq(code, 'bad_input')
  _, code = S:attend{ member = 4, batch = 'C', present = true, at = '2025-08-05 16:00:00' }   -- withdrew
  t.eq(code, 'not_found')
  t.ok(S:attend{ member = 11, batch = 'B', present = true, score = 4, at = '2025-06-05 16:00:00' })
  t.ok(S:attend{ member = 3, batch = 'C', present = true, at = '2025-08-05 16:00:00' })
end)

t.case('the check-up van: visits and workers checked, nothing medical', function()
  t.ok(S:visit{ visit = 'V1', enterprise = 1, day = '2025-03-03' })
  t.ok(S:visit{ visit = 'V2', enterprise = 2, day = '2025-05-12', place = '恒达物流' })
  local _, code = S:visit{ visit = 'V1', enterprise = 1, day = '2025-03-03' }
  t.eq(code, 'already')
  for _, c in ipairs{ { 1, 'V1' }, { 2, 'V1' }, { 10, 'V1' }, { 3, 'V2' }, { 4, 'V2' } } do
    t.ok(S:checked{ member = c[1], visit = c[2] })
  end
  local f = run.open('V2.csv', 'w')
  run.write_csv(f, { { '身份证号', '血压', '结论' }, { fx.id(1), '120/80', '正常' }, { fx.id(3), '130/90', '复查' } })
  f:close()
  local s = S:checked_sheet('V2.csv', 'V2')
  t.eq({ s.entered, s.already, s.refused }, { 1, 1, 0 })
  t.eq(s.ignored, { '血压', '结论' })
  -- a sheet lacking a column: named by its label; it is the program's own sheet, no key of the plan
  f = run.open('V3.csv', 'w')
  run.write_csv(f, { { '姓名' }, { '张三' } })
  f:close()
  local err = t.raises_all(function() S:checked_sheet('V3.csv', 'V2') end, { 'V3.csv:1:', '身份证号 (id_number)' })
  t.ok(not err:find('key fields', 1, true), err)
  _, code = S:checked{ member = 1, visit = 'V9' }
  t.eq(code, 'not_found')
  -- nothing of the results is anywhere in the database
  for _, name in ipairs(db.collections()) do
    for r in db[name]:scan() do
      for _k, v in pairs(r:totable()) do
        if type(v) == 'string' then t.ok(not v:find('120/80', 1, true) and not v:find('复查', 1, true), name) end
      end
    end
  end
end)

t.case('the report: by batch, union and group, counted by hand', function()
  local rep = S:report()
  t.ok(rep.ok)
  local function c(x) return { x.placed, x.attended, x.absent, x.scored, x.satisfied } end
  -- standing: A 8, 2 (10 reversed as absent), B 11, C 3 (5, 4, 1 withdrew); 2026's 9 is another program
  t.eq(c(rep.batch.A), { 2, 2, 1, 2, 1 })
  t.eq(c(rep.batch.B), { 1, 1, 0, 1, 1 })
  t.eq(c(rep.batch.C), { 1, 1, 0, 0, 0 })
  t.eq(c(rep.total), { 4, 4, 1, 3, 2 })
  t.eq(rep.total.fen, 100000 * 2 + 150000 + 100000)
  t.eq(c(rep.union['11']), { 1, 1, 1, 1, 1 })       -- 2 present (5), 10 absent
  t.eq(c(rep.union['12']), { 1, 1, 0, 1, 0 })       -- 8 scored 3: not satisfied
  t.eq(c(rep.union['21']), { 2, 2, 0, 1, 1 })       -- 11 (4), 3 (no score)
  t.eq(c(rep.group.front_line), { 1, 1, 1, 1, 1 })
  t.eq(c(rep.group.model), { 1, 1, 0, 1, 0 })
  t.eq(c(rep.group.new_form), { 2, 2, 0, 1, 1 })
  t.eq(sanatorium.rate(rep.total), '66.7%')
  t.eq(rep.waiting, 1)                              -- 9 (3 and 11 moved up)
  t.eq({ rep.checkup.visits, rep.checkup.enterprises, rep.checkup.checked, rep.checkup.persons }, { 2, 2, 6, 5 })
  local text = sanatorium.format(rep)
  t.ok(text:find('satisfaction 66.7% of 3 scored', 1, true), text)
end)

t.case('the year report counts both through the standard events', function()
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  local P = rep.log.program
  local function cell(x) return { x.sessions, x.persons, x.person_times, x.money_fen } end
  t.eq(cell(P['2025年疗休养']), { 3, 4, 4, 450000 })   -- 3 batches (场次), members 8, 2, 11, 3
  t.eq(cell(P['2025年体检车']), { 2, 5, 6, 0 })        -- 2 visits, members 1, 2, 10, 3, 4; 1 twice
  t.eq(cell(yr.build(2026).log.program['2026年疗休养']), { 1, 1, 1, 150000 })
end)

t.case('a check-up reversed leaves the report (the ledger read a field at a time)', function()
  local before = S:report().checkup
  local first = S.C:entries('check')[1]          -- member 1 at V1; member 1 was checked at V2 too
  t.eq(first.member_id, 1)
  assert(S.C:reverse(first.entry_id, 'entered by mistake'))
  local c = S:report().checkup
  t.eq({ c.visits, c.enterprises, c.checked, c.persons },
       { before.visits, before.enterprises, before.checked - 1, before.persons })
end)

t.done()
