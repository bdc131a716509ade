-- program/migrate.lua — databases made before the framework, moved onto its
-- ledger once, so that every report reads one thing: program_entries and
-- their program.entry events. Called by the year report before it counts.
--
--   require('program.migrate').all()         -- each of these, once
--   require('program.migrate').campaigns()   --> programs made, entries made
--
-- Aid's payments are moved by aid.lua (aid.migrate(); aid.open does it
-- too), which knows its plan.
--
-- Campaigns (scripts/lib/campaign.lua, gone): each campaign of `campaigns`
-- with awards becomes program 'campaign.<id>', titled as the year report
-- titled it ('春节送温暖 (spring-2025)'), one kind per item, counting 人,
-- 人次, 户次, 场次 and fen, and each award an entry (its day, member,
-- household, quantity, value, station) with its standard event, through
-- P:backfill. The old award.issued events stay in the log and count
-- nowhere. Idempotent: a campaign whose program exists is left alone; each
-- campaign is one transaction.
local M = {}

local function have(name)
  for _i, n in ipairs(db.collections()) do if n == name then return true end end
  return false
end

function M.campaigns()
  if not have('campaign_awards') then return 0, 0 end
  local program = require 'program'
  program.define_collections()
  local list, by = {}, {}
  for a in db.campaign_awards:scan() do
    local x = a:totable()
    if not by[x.campaign] then by[x.campaign] = {}; list[#list + 1] = x.campaign end
    table.insert(by[x.campaign], x)
  end
  local made, entries = 0, 0
  for _i, id in ipairs(list) do
    local pid = 'campaign.' .. id:gsub('[^%w_%-%.]', '_')
    if not db.programs:get(pid) then
      local c = have('campaigns') and db.campaigns:get(id)
      local awards = by[id]
      local items, kinds, from, to = {}, {}, nil, nil
      for _j, x in ipairs(awards) do
        local day = x.at:sub(1, 10)
        from = (not from or day < from) and day or from
        to = (not to or day > to) and day or to
        if not items[x.item] then
          items[x.item] = true
          local st = have('campaign_stock') and db.campaign_stock:find('campaign,item,pool', { id, x.item, '' })
          kinds[#kinds + 1] = { kind = x.item, title = st and st.title or x.item }
        end
      end
      db.atomic(function()
        local P = program.define({
          id = pid, title = c and (c.title .. ' (' .. id .. ')') or id, union = c and c.union_id,
          window = { from = c and c.starts < from and c.starts or from, to = c and c.ends > to and c.ends or to },
          kinds = kinds, units = { '人', '人次', '户次', '场次', 'fen' },
          note = 'moved from campaign_awards (before the framework)',
        }, { file = 'campaign_awards' })
        local rows = {}
        for j, x in ipairs(awards) do
          rows[j] = { kind = x.item, member_id = x.member_id, household = x.household, qty = x.qty,
                      fen = x.value_fen, day = x.at:sub(1, 10), at = x.at, run = x.run, note = x.note,
                      place = x.pool ~= '' and x.pool or nil, key = 'award:' .. x.award_id }
        end
        P:backfill(rows)
      end)
      made, entries = made + 1, entries + #awards
    end
  end
  return made, entries
end

-- ---- the ledger's format (program_entries), versioned -----------------------------
--
-- Format 1 (sessions 4-7): at and run as text ('2025-01-20 10:00:00', the
-- run's 16-hex-digit uid), the household of one stored as 'm' .. member_id.
-- Format 2 (session 8): the same fields, and two more, at_sec and run_n, the
-- time and the run as integers; a new entry stores those instead of the
-- text, and no household of one (program.lua's "the ledger's entry format":
-- program.entry_at, entry_run, household_of_entry and entry read both). The
-- move from 1 to 2 is a change of the definition only (at made optional,
-- at_sec and run_n added: one transaction, no entry rewritten), so a ledger
-- of format 1 reads exactly as before, and its old entries and the new ones
-- count together (a limit per household sees 'm5' stored and 'm5' left out
-- as the same household).
--
--   migrate.ledger_format()   --> 0 (no ledger yet), 1 or 2
--   migrate.ledger()          --> the format before, the format after
--                                 (program.define runs it: every program that writes)
M.LEDGER_FORMAT = 2

local LEDGER_FIELDS = {
  entry_id = 'int', program = 'string', kind = 'string', member_id = 'int?',
  household = 'string?', qty = 'int', fen = 'fen', place = 'string?', day = 'date',
  at = 'string', key = 'string?', run = 'string?', reverses = 'int?',
  town = 'string?', enterprise_id = 'int?', tier = 'int?', session = 'string?',
  capped = 'bool?', note = 'string?', extra = 'any?',
  -- since v1.4: a head count where names are not taken (人次 without 人), the
  -- entry's organiser union (absent: the plan's union; a limit per union fills in
  -- the member's)
  heads = 'int?', union_id = 'int?',
}

-- The definition of the ledger in format f (1 or 2).
function M.ledger_spec(f)
  local fields = {}
  for k, v in pairs(LEDGER_FIELDS) do fields[k] = v end
  if f >= 2 then
    fields.at = 'string?'                        -- only when not of the form at_sec holds
    fields.at_sec, fields.run_n = 'int?', 'int?' -- the time in seconds, the run's uid as an integer
  end
  return { key = 'entry_id', auto = true, fields = fields,
           unique = { { 'program', 'key' }, 'reverses' },
           index = { { 'program', 'kind' }, { 'program', 'member_id' } } }
end

function M.ledger_format()
  if not have('program_entries') then return 0 end
  return db.program_entries:schema().fields.at_sec and 2 or 1
end

function M.ledger()
  local before = M.ledger_format()
  if before ~= 1 then
    return before, before == 0 and 0 or before
  end
  db.define('program_entries', M.ledger_spec(M.LEDGER_FORMAT))
  require('program').define_collections()   -- (which then writes format 2)
  return before, M.ledger_format()
end

-- Every move, once: the old campaigns and the old aid payments.
function M.all()
  local made, entries = M.campaigns()
  local paid = have('aid_totals') or have('aid_refs')
  return made, entries, paid and require('aid').migrate() or 0
end

return M
