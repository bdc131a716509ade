-- 为职工办十件实事 — the lines of the "ten things" report (README: "The
-- activity register, union building and the ten-things report").
-- Each line names the programs it counts (an id, or its prefix before '-YEAR',
-- or a list of them)
-- and their kinds; `says` is the sentence the report prints, its figures
-- filled in from the records: {sessions} 场次, {enterprises} 企业, {person_times}
-- 人次, {persons} 人, {yuan} 金额, {qty} 数量, {entries} 条, {stations} 驿站;
-- {measure:kind} counts one kind of the line only. No figure is typed in.
return {
  title = '为职工办十件实事',
  lines = {
    { title = '班前十分钟安全宣讲', program = 'activity', kinds = { 'talk' },
      says = '在{enterprises}家企业开展“班前十分钟”宣讲{sessions}场，职工参与{person_times}人次' },
    { title = '职工公益课堂', program = 'activity', kinds = { 'class' },
      says = '举办公益课堂{sessions}场，职工参与{person_times}人次' },
    { title = '职工文体活动', program = 'activity', kinds = { 'match', 'performance' },
      says = '举办体育比赛{sessions:match}场、文艺演出{sessions:performance}场，职工参与{person_times}人次' },
    { title = '法律服务', program = 'activity', kinds = { 'legal_advice', 'mediation' },
      says = '为职工提供法律咨询{person_times:legal_advice}人次，调解劳动争议{sessions:mediation}件' },
    { title = '就业服务', program = 'activity', kinds = { 'job_fair', 'job_post' },
      says = '举办招聘会{sessions}场，{enterprises:job_post}家企业提供岗位{qty:job_post}个，求职{person_times}人次' },
    { title = '户外劳动者驿站服务', program = 'activity', kinds = { 'station_service' },
      says = '{stations}个驿站开展义诊、理发等服务{sessions}场，服务户外劳动者{person_times}人次' },
    { title = '新建工会组织', program = 'unionbuild', kinds = { 'enterprise_union', 'joint_union', 'joint_covers' },
      says = '新建企业工会{entries:enterprise_union}家、联合工会{entries:joint_union}家，联合工会覆盖企业{enterprises:joint_covers}家' },
    { title = '发展工会会员', program = 'unionbuild', kinds = { 'join', 'join_new_form' },
      says = '发展会员{persons}人，其中新就业形态劳动者{persons:join_new_form}人' },
    { title = '新就业形态劳动者之星', program = 'unionbuild', kinds = { 'star' },
      says = '评选“新就业形态劳动者之星”{persons}名，奖励{yuan}元' },
    { title = '职工疗休养与健康体检', program = { 'sanatorium', 'checkup' }, optional = true,
      says = '组织职工疗休养和健康体检{person_times}人次，服务职工{persons}人' },
  },
}
