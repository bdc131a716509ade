// app.js — the counter: log in, type or scan an ID number, see the member
// (masked by the server) and what they may claim, issue the claim, today's list.
'use strict';

let account = null;
let titles = {};

function show(loggedIn) {
  $('login').hidden = loggedIn;
  $('counter').hidden = !loggedIn;
  $('who').hidden = !loggedIn;
}

async function start() {
  const r = await call('GET', '/api/me');
  if (r.status === 200) {
    await enter(r.js.account);
  } else {
    show(false);
    $('login-name').focus();
  }
}

async function enter(acc) {
  account = acc;
  $('who-name').textContent = acc.name;
  $('who-role').textContent = ROLES[acc.role] || acc.role;
  $('who-union').textContent = acc.union_name || ('工会 ' + acc.union_id);
  show(true);
  const r = await call('GET', API + '/stations');
  const sel = $('station');
  sel.textContent = '';
  if (r.status === 200) {
    if (r.js.title) { $('title').textContent = r.js.title + ' · 驿站发放'; }
    for (const it of r.js.items || []) { titles[it.item] = it.title; }
    for (const s of r.js.stations) {
      if (acc.role === 'operator' && s.station_id !== acc.station) { continue; }
      const o = document.createElement('option');
      o.value = s.station_id;
      o.textContent = s.name + '（' + s.station_id + '）';
      sel.appendChild(o);
    }
  }
  sel.disabled = acc.role === 'operator';
  $('id-input').focus();
  await loadToday();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setText($('login-msg'), '正在登录……');
  const r = await call('POST', '/api/login', { name: $('login-name').value, password: $('login-password').value });
  $('login-password').value = '';
  if (r.status === 200) {
    setText($('login-msg'), '');
    await enter(r.js.account);
  } else {
    setText($('login-msg'), refusalText(r.js), 'refused');
  }
});

$('logout-btn').addEventListener('click', async () => {
  await call('POST', '/api/logout', {});
  account = null;
  $('member').hidden = true;
  show(false);
});

$('lookup-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await lookup();
});

async function lookup() {
  const id = $('id-input').value.trim().toUpperCase();
  $('member').hidden = true;
  if (!/^\d{17}[\dX]$/.test(id)) {
    setText($('msg'), REFUSALS.bad_id, 'refused');
    return;
  }
  setText($('msg'), '正在查询……');
  const q = '?id=' + encodeURIComponent(id) + '&station=' + encodeURIComponent($('station').value);
  const r = await call('GET', API + '/member' + q);
  if (r.status !== 200) {
    setText($('msg'), refusalText(r.js), 'refused');
    return;
  }
  setText($('msg'), '');
  const m = r.js.member;
  $('m-name').textContent = m.name;
  $('m-id').textContent = m.id_number;
  $('m-category').textContent = m.category;
  $('m-town').textContent = m.town;
  const ul = $('m-items');
  ul.textContent = '';
  for (const it of r.js.items) {
    const li = document.createElement('li');
    const label = (it.title || it.item) + '（' + yuan(it.value_fen || 0) + ' 元）';
    li.appendChild(document.createTextNode(label + '：'));
    if (it.status === 'may') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'claim-btn';
      b.dataset.item = it.item;
      b.textContent = '发放（本站余 ' + it.remaining + '）';
      b.addEventListener('click', () => claim(id, it.item));
      li.appendChild(b);
    } else {
      const s = document.createElement('span');
      s.className = 'status ' + it.status;
      s.textContent = it.status === 'already' ? '已领取（' + it.at + '，' + it.station + '）'
        : it.status === 'not_eligible' ? REFUSALS.not_eligible
          : REFUSALS.out_of_stock;
      li.appendChild(s);
    }
    ul.appendChild(li);
  }
  $('member').hidden = false;
}

async function claim(id, item) {
  for (const b of document.querySelectorAll('.claim-btn')) { b.disabled = true; }
  const r = await call('POST', API + '/claim', { id, item, station: $('station').value });
  if (r.status === 200) {
    const a = r.js.award;
    setText($('msg'), '已发放：' + (a.title || a.item) + ' → ' + a.member.name + '（' + a.station + '，' + a.at + '）', 'issued');
    $('member').hidden = true;
    $('id-input').value = '';
    $('id-input').focus();
  } else {
    setText($('msg'), '未发放：' + refusalText(r.js), 'refused');
    for (const b of document.querySelectorAll('.claim-btn')) { b.disabled = false; }
  }
  await loadToday();
}

async function loadToday() {
  const r = await call('GET', API + '/today');
  const tb = document.querySelector('#today tbody');
  tb.textContent = '';
  if (r.status !== 200) { return; }
  for (const c of r.js.claims) {
    const tr = document.createElement('tr');
    for (const v of [c.at.slice(11), c.station, c.member.name || '', c.member.id_number || '', c.title || titles[c.item] || c.item]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.appendChild(td);
    }
    tb.appendChild(tr);
  }
  $('today-count').textContent = '（' + r.js.claims.length + ' 人次）';
}

start();
