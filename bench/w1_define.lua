-- bench/w1_define.lua — defines `members` for W1 (`gonghui import`) and for
-- bench/load_members.lua (which requires it), as the C baseline lays it out: key
-- member_id, a unique index on id_number, indexes on enterprise_id and
-- category. Not measured: W1 times the import into the empty collection.
--
--   gonghui --db DIR run bench/w1_define.lua

db.define('members', {
  key    = 'member_id',
  fields = {
    member_id = 'int', name = 'string', id_number = 'string', phone = 'string',
    gender = 'string', birth_date = 'date', enterprise_id = 'int', town = 'string',
    category = 'string', join_date = 'date', status = 'string', retire_date = 'date?',
  },
  unique = { 'id_number' },
  index  = { 'enterprise_id', 'category' },
})
