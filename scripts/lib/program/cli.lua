-- program/cli.lua — the commands every program gets without writing them:
-- a program's folder holds its plan.lua and a one-line script
--
--   require('program').main('plan')          -- e.g. scripts/ticket/ticket.lua
--
-- run as `gonghui run scripts/ticket/ticket.lua COMMAND=... [name=value ...]`:
--
--   setup=1                         store the plan (checked; versioned) and show it
--   enter=FILE.csv [kind= place=]   enter a sheet (columns by the plan's field labels);
--                                   refusals in FILE.refusals.csv; exit 1 if a row was refused
--   claim=1 FIELD=value ...         one entry from parameters named as the plan's fields
--                                   (id_number=..., key=..., fare=350.00, day=2026-02-10)
--   reverse=ENTRY reason=TEXT       a correction: the entry reversed by a new one
--   report=1 [by=town|enterprise|station|kind]
--   list=1 [csv=FILE.csv|xlsx=FILE.xlsx] [kind=]   the public list (公示), names masked
--   check=1                         the totals recomputed from the ledger (exit 1 if they differ)
--   entries=FILE.csv|FILE.xlsx [kind=]  the program's ledger, every entry as entered: its time,
--                                   run and household as text, whatever format stored them
--   close=KIND public=TEXT after='YYYY-MM-DD HH:MM' [record=FILE]
--                                   a draw's entrants fixed and committed, the public value named
--                                   (known only after the list closes: a lottery's result of a date)
--   draw=KIND public=VALUE [seed=TEXT] [k=N] [record=FILE]
--                                   the draw within the priority tiers, from that value (once known)
--   verify=KIND [record=FILE] [public=VALUE]   recomputes it (from a published record; against the
--                                   value the world saw)
-- A dry run (--dry-run) stores nothing and writes its files into a throw-away
-- folder it names. Exit codes: 0 done; 1 refused, a problem found, or bad input (the message says
-- which, where and why; nothing is stored); 2 no command.
local _ = gettext
local money = require 'program.money'
local cells = require 'program.cells'

local M = {}

local COMMANDS = { 'setup', 'enter', 'claim', 'reverse', 'report', 'list', 'check', 'entries', 'close', 'draw',
                   'verify' }

-- the columns of entries= (program.entry's fields)
M.ENTRY_COLUMNS = { 'entry_id', 'kind', 'member_id', 'household', 'qty', 'fen', 'day', 'at', 'place', 'key',
                    'reverses', 'town', 'enterprise_id', 'union_id', 'tier', 'session', 'heads', 'capped', 'note',
                    'run' }

function M.attach(program)
  local function show_plan(P)
    local p = P.plan
    print(string.format(_('%s (%s), version %d'), p.title, p.id, p.version))
    print(string.format(_('window: %s .. %s (%s .. %s)'), p.window.from, p.window.to, p.window.from_text,
                        p.window.to_text))
    if p.budget_fen then print(string.format(_('budget: %s yuan'), money.yuan(p.budget_fen))) end
    for _i, l in ipairs(p.limits) do
      local per = #l.per == 0 and 'program' or table.concat(l.per, '+')
      local max = l.max_fen and (money.yuan(l.max_fen) .. ' yuan') or l.max_count and (l.max_count .. ' times')
                  or l.max_qty and tostring(l.max_qty) or 'quotas'
      print(string.format(_('limit %-22s per %-14s at most %s%s'), l.name, per, max, l.clip and ' (pays what is left)' or ''))
    end
  end

  local function cmd_of()
    for _i, c in ipairs(COMMANDS) do if params[c] ~= nil then return c end end
  end

  function program.main(planfile, cmd)
    cmd = cmd or cmd_of()
    if not cmd then
      run.fail(string.format(_('give a command: %s=... (see the top of scripts/lib/program/cli.lua)'),
                           table.concat(COMMANDS, '=..., ')))
    end
    program.cli(function()
      local P = program.load(planfile)
      if cmd == 'setup' then
        show_plan(P)
      elseif cmd == 'enter' then
        local s = P:enter_sheet(program.param('enter'), { kind = params.kind, place = params.place })
        print(program.sheet_summary(s))
        program.finish(s)
      elseif cmd == 'claim' then
        local e = { kind = params.kind, place = params.place }
        for _i, f in ipairs(P.plan.fields) do
          local v = params[f.name]
          if v ~= nil then
            local x, why = cells.parse(f.type, tostring(v))
            if x == nil then run.fail(string.format(_('parameter %s=%s (%s): %s'), f.name, tostring(v), f.label, why)) end
            e[f.name] = x
          elseif not f.optional then
            run.fail(string.format(_('parameter %s= (%s) is missing'), f.name, f.label))
          end
        end
        if not e.kind then e.kind = P.plan.kinds[1].kind end
        local r = program.must(P:enter(e))
        print(string.format(_('entered: entry %d, %s %s yuan%s'), r.entry_id, P.plan.kind[r.kind].title,
                            money.yuan(r.fen), r.capped and ' (capped by a limit)' or ''))
      elseif cmd == 'reverse' then
        local r = program.must(P:reverse(program.param('reverse', 'int'), program.param('reason')))
        print(string.format(_('entry %d reverses entry %d (%s yuan)'), r.entry_id, r.reverses, money.yuan(r.fen)))
      elseif cmd == 'report' then
        local rep = P:report{ by = params.by }
        print(program.format(rep))
        if not rep.ok then run.fail(gettext('the totals and the ledger disagree (see PROBLEMS)')) end
      elseif cmd == 'list' then
        local rows = P:public_list{ kind = params.kind }
        print(program.public_text(rows))
        local name = params.csv or params.xlsx
        if name then
          P:write_public_list(name)
          print(_('written:') .. ' ' .. name)
        end
      elseif cmd == 'check' then
        local ok, problems = P:check()
        if not ok then run.fail(string.format(_('the totals and the ledger disagree:\n  %s'), table.concat(problems, '\n  '))) end
        print(_('the totals agree with the ledger'))
      elseif cmd == 'entries' then
        local name = program.param('entries')
        local rows = P:entries(params.kind)
        local n = export[name:match('%.(%w+)$') == 'xlsx' and 'xlsx' or 'csv'](rows, name, { fields = M.ENTRY_COLUMNS })
        print(string.format(_('written: %s (%d entries)'), name, n))
      elseif cmd == 'close' then
        local kind = program.param('close')
        local d = P:close_draw(kind, { public = program.param('public'), after = program.param('after') })
        for i, t in ipairs(d.tiers) do
          print(string.format(_('tier %d (%s): %d entrants, list commitment %s'), i, t.name, t.n, t.list_commitment or '-'))
        end
        print(string.format(_('closed %s (host clock, UTC); the seed comes from: %s, known from %s'), d.closed_at,
                            d.public_source, d.public_after))
        local rec = params.record or (kind .. '-record.txt')
        P:write_draw_record(kind, rec)
        print(_('draw record (publish it now):') .. ' ' .. rec)
      elseif cmd == 'draw' then
        local kind = program.param('draw')
        local d = P:draw(kind, { public = program.param('public'), seed = params.seed and tostring(params.seed),
                                 k = params.k and program.param('k', 'int') })
        for i, t in ipairs(d.tiers) do
          print(string.format(_('tier %d (%s): %d entrants, %d drawn: %s'), i, t.name, t.n, t.k,
                              (t.winners or ''):gsub('\n', ' ')))
        end
        local rec = params.record or (kind .. '-record.txt')
        P:write_draw_record(kind, rec)
        print(_('draw record:') .. ' ' .. rec)
      elseif cmd == 'verify' then
        local pub = params.record and program.read_draw_record(tostring(params.record)) or {}
        if params.public then pub.public_value = tostring(params.public) end
        local ok, why = P:verify_draw(program.param('verify'), pub)
        if not ok then run.fail(string.format(_('the draw does not verify: %s'), why)) end
        print(_('the draw verifies'))
      end
    end)
  end
end

return M
