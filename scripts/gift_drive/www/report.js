// report.js — the union's lists and reports: issued and remaining per
// station (only the stations of the account's unions), per worker category,
// and today's list.
'use strict';

function fill(tbody, rows) {
  tbody.textContent = '';
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const v of row) {
      const td = document.createElement('td');
      td.textContent = v === undefined || v === null ? '' : String(v);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

async function load() {
  const r = await call('GET', API + '/report');
  if (r.status === 401) { location.href = './'; return; }
  if (r.status !== 200) { setText($('msg'), refusalText(r.js), 'refused'); return; }
  $('title').textContent = r.js.title + ' · 报表（' + r.js.starts + ' 至 ' + r.js.ends + '）';
  if (!r.js.ok) { setText($('msg'), '账目核对有问题，请联系管理员', 'refused'); }
  fill(document.querySelector('#stations tbody'),
    r.js.stations.map((s) => [s.station, s.name, s.title || s.item, s.quota, s.issued, s.remaining]));
  fill(document.querySelector('#categories tbody'),
    r.js.categories.map((c) => [c.station, c.item, c.category, c.issued]));
  const t = await call('GET', API + '/today');
  if (t.status === 200) {
    fill(document.querySelector('#today tbody'),
      t.js.claims.map((c) => [c.at, c.station, c.member.name, c.member.id_number, c.title || c.item]));
  }
}

load();
