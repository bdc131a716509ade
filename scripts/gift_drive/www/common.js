// common.js — what the counter page and the report page share: calls to
// gonghui serve (JSON, the session cookie), Chinese texts for refusal codes,
// the login state.
'use strict';

const API = '/api/gift_drive';

// Refusal codes of the gift drive and the server, in the clerk's words.
const REFUSALS = {
  bad_id: '身份证号码有误（应为18位，末位校验码不符）',
  not_found: '查无此会员（或不属于本账号所辖工会）',
  not_eligible: '不符合领取条件',
  already: '已经领取过，不能重复领取',
  out_of_stock: '本驿站该物品已发完',
  no_stock: '本驿站没有该物品的配额',
  limit: '超出领取限额',
  duplicate: '重复登记',
  closed: '不在活动时间内',
  closed_station: '驿站暂停服务',
  no_station: '不是本账号所辖的驿站',
  outside_scope: '超出本账号所辖范围',
  role: '本账号的角色不能进行此操作',
  login: '账号或密码错误',
  locked: '密码错误次数过多，账号已暂时锁定',
  disabled: '账号已停用',
  timeout: '服务器处理超时，请重试',
  bad_request: '请求不完整',
  bad_json: '请求格式有误',
};

const ROLES = { admin: '总工会管理员', clerk: '工会干事', operator: '驿站操作员', auditor: '审计' };

function refusalText(js) {
  const code = js && (js.code || js.error);
  return REFUSALS[code] || ('操作未完成（' + (code || '未知原因') + '）');
}

async function call(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    return { status: 0, js: { ok: false, error: 'network', message: String(e) } };
  }
  let js = null;
  try { js = await res.json(); } catch (e) { js = { ok: false, error: 'bad_answer' }; }
  return { status: res.status, js };
}

function $(id) { return document.getElementById(id); }

function setText(el, text, cls) {
  el.textContent = text;
  el.className = 'msg' + (cls ? ' ' + cls : '');
}

function yuan(fen) { return (fen / 100).toFixed(2); }
