-- 职工活动登记 — the activity register behind the "ten things" report
-- (README: "The activity register, union building and the ten-things
-- report"). One program a year (activity-2024, ...): the file returns the
-- plan of a year. Each session is an
-- entry (场次) with its date, place, organiser union and enterprise; people
-- come in by name (签到, 人次 and 人) or by head count (人数, 人次 only).
return function(year) return {
  id = 'activity-' .. tostring(year), title = tostring(year) .. '年职工活动', year = year,
  window = { from = year .. '-01-01', to = year .. '-12-31' },
  units = { '人', '人次', '场次', 'fen' },            -- what the year report counts
  kinds = {
    { kind = 'talk', title = '班前十分钟' },            -- pre-shift talks in enterprises
    { kind = 'class', title = '公益课堂' },
    { kind = 'match', title = '体育比赛' },
    { kind = 'performance', title = '文艺演出' },
    { kind = 'legal_advice', title = '法律咨询' },
    { kind = 'mediation', title = '劳动争议调解' },     -- one session per dispute
    { kind = 'job_fair', title = '招聘会' },
    { kind = 'job_post', title = '招聘岗位' },          -- an enterprise's posts at a job fair
    { kind = 'station_service', title = '驿站服务' },   -- free clinic, haircut ... at a rest station
  },
  fields = {                                           -- the sign-in sheet (签到表)
    { 'session', '活动编号' },
    { 'id_number', '身份证号', 'id' },
  },
} end
