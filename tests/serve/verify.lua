-- verify.lua — the ledger of the serve tests' gift drive as lines a test
-- reads: "award MEMBER_ID AWARD_ID POOL ITEM" and "stock POOL ITEM ISSUED STOCK".
for a in db.campaign_awards:scan() do
  print(string.format('award %d %d %s %s', a.member_id, a.award_id, a.pool, a.item))
end
for s in db.campaign_stock:scan() do
  print(string.format('stock %s %s %d %d', s.pool == '' and '-' or s.pool, s.item, s.issued, s.stock))
end
