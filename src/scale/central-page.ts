/**
 * Central's firm page (`GET /` of `tradecore central`): one self-contained document, the ops
 * page's style, a column per engine and one for the firm. It polls `/status` every second and
 * draws, per engine and in total: trading, connection and mode state, positions, cash and
 * realized P&L, fills, open orders, gross notional and share, alerts, open diffs, the journal
 * seq reached, gaps, and the last control messages each engine journaled. Its controls send
 * halt, reduce or resume to every engine or one, with the bearer token the operator typed (kept
 * in one script variable only). Every value is set as text, never as markup.
 */
import { STYLE, hash } from '../ops/page.js';

const SCRIPT = `
'use strict';
let token = '';
const $ = (id) => document.getElementById(id);
const fmt = (v, d) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d ?? 2 }) : (v === null || v === undefined ? '' : String(v)));
const cls = { Active: 'ok', Reducing: 'warn', Halted: 'bad', Connected: 'ok', live: 'ok', paper: 'warn' };
function say(text, bad) { const m = $('message'); m.textContent = text; m.className = bad ? 'bad' : ''; }
function td(tr, text, numeric, c) { const el = document.createElement(tr.parentNode && tr.parentNode.tagName === 'THEAD' ? 'th' : 'td'); el.textContent = text; el.title = text; if (numeric) el.className = 'n'; if (c) el.classList.add(c); tr.appendChild(el); return el; }
function table(id, cols, rows) {
  const t = $(id); t.textContent = '';
  const head = document.createElement('thead'); const hr = document.createElement('tr'); head.appendChild(hr); t.appendChild(head);
  td(hr, ''); for (const c of cols) td(hr, c, true);
  const body = document.createElement('tbody'); t.appendChild(body);
  for (const [label, values, c] of rows) { const tr = document.createElement('tr'); body.appendChild(tr); td(tr, label); values.forEach((v, i) => td(tr, v, true, c ? c(i) : undefined)); }
}
const joinMap = (m) => Object.entries(m || {}).map(([k, v]) => k + ' ' + fmt(v)).join(', ');
async function refresh() {
  let s;
  try { const r = await fetch('/status', { cache: 'no-store' }); if (!r.ok) throw new Error('HTTP ' + r.status); s = await r.json(); } catch (e) { say('central not reachable: ' + e.message, true); return; }
  const c = s.central, v = s.view, es = v.engines;
  const conn = $('connected'); conn.textContent = c.connected ? (c.caughtUp ? 'connected' : 'catching up') : 'not connected'; conn.className = 'pill ' + (c.connected && c.caughtUp ? 'ok' : 'bad');
  $('stream').textContent = c.stream + ' seq ' + fmt(v.streamSeq, 0) + ', ' + fmt(c.consumed, 0) + ' consumed';
  const st = v.firm.standing; $('standing').textContent = st ? 'standing firm ' + st.cmd + ' by ' + st.from + ': ' + st.reason : '';
  $('readOnly').textContent = s.readOnly ? 'read-only: central has no ops token, every control is refused' : (c.signing ? '' : 'no token to sign with: engines with auth token refuse central\\'s messages');
  $('updated').textContent = new Date().toLocaleTimeString();
  const cols = [...es.map((e) => e.engineId), 'firm'];
  const stateCls = (vals) => (i) => cls[vals[i]] || '';
  const states = [...es.map((e) => e.tradingState), Object.entries(v.totals.states).map(([k, n]) => k + ' ' + n).join(', ')];
  const conns = [...es.map((e) => e.connection), ''];
  const symbols = [...new Set([...v.totals.positions.map((p) => p.symbol)])].sort();
  const ccys = [...new Set(es.flatMap((e) => Object.keys(e.cash)))].sort();
  const rows = [
    ['trading', states, stateCls(states)],
    ['connection', conns, stateCls(conns)],
    ['mode', [...es.map((e) => e.mode), '']],
    ['environment', [...es.map((e) => e.environment), '']],
    ['trading day', [...es.map((e) => e.day), '']],
  ];
  for (const sym of symbols) rows.push(['position ' + sym, [...es.map((e) => fmt((e.positions.find((p) => p.symbol === sym) || { qty: 0 }).qty, 8)), fmt(v.totals.positions.find((p) => p.symbol === sym).qty, 8)]]);
  for (const ccy of ccys) {
    rows.push(['cash ' + ccy, [...es.map((e) => fmt(e.cash[ccy])), fmt(v.totals.cash[ccy])]]);
    rows.push(['realized P&L ' + ccy, [...es.map((e) => fmt(e.realizedPnl[ccy])), fmt(v.totals.realizedPnl[ccy])]]);
  }
  rows.push(['fills', [...es.map((e) => fmt(e.orders.fills, 0)), fmt(v.totals.fills, 0)]]);
  rows.push(['open orders', [...es.map((e) => fmt(e.orders.open, 0)), fmt(v.totals.openOrders, 0)]]);
  rows.push(['gross notional', [...es.map((e) => fmt(e.gross)), fmt(v.totals.gross)]]);
  rows.push(['gross share', [...es.map((e) => (e.share === undefined || e.share === null ? 'none' : fmt(e.share))), v.firm.maxGrossNotional === undefined || v.firm.maxGrossNotional === null ? 'no firm limit' : fmt(v.firm.maxGrossNotional)]]);
  const alerts = (a) => 'P0 ' + a.P0 + ' · P1 ' + a.P1 + ' · P2 ' + a.P2;
  const al = [...es.map((e) => alerts(e.alerts)), alerts(v.totals.alerts)];
  rows.push(['alerts', al, (i) => (/P0 [1-9]|P1 [1-9]/.test(al[i]) ? 'bad' : '')]);
  rows.push(['open diffs', [...es.map((e) => fmt(e.diffs, 0)), fmt(v.totals.diffs, 0)]]);
  rows.push(['journal seq', [...es.map((e) => fmt(e.seq, 0)), '']]);
  rows.push(['last record', [...es.map((e) => (Number.isFinite(e.lastT) ? new Date(e.lastT).toLocaleTimeString() : '')), '']]);
  const gaps = [...es.map((e) => (e.gaps.length === 0 ? 'none' : e.gaps.map((g) => g[0] + '-' + (g[1] - 1)).join(', '))), ''];
  rows.push(['gaps', gaps, (i) => (gaps[i] !== 'none' && gaps[i] !== '' ? 'bad' : '')]);
  rows.push(['problems', [...es.map((e) => (e.problems === 0 ? '0' : e.problems + ': ' + e.lastProblem)), '']]);
  table('firm', cols, rows);
  const sel = $('target'); const want = ['all', ...es.map((e) => e.engineId)];
  if ([...sel.options].map((o) => o.value).join() !== want.join()) { const keep = sel.value; sel.textContent = ''; for (const id of want) { const o = document.createElement('option'); o.value = id; o.textContent = id === 'all' ? 'every engine' : id; sel.appendChild(o); } if (want.includes(keep)) sel.value = keep; }
  const body = $('control'); body.textContent = '';
  const recent = es.flatMap((e) => e.control.map((x) => ({ ...x, engine: e.engineId }))).sort((a, b) => b.t - a.t).slice(0, 20);
  if (recent.length === 0) { const tr = document.createElement('tr'); const el = td(tr, 'no control message journaled yet'); el.colSpan = 5; el.className = 'empty'; body.appendChild(tr); }
  for (const x of recent) { const tr = document.createElement('tr'); body.appendChild(tr); td(tr, new Date(x.t).toLocaleTimeString()); td(tr, x.engine); td(tr, x.cmd); td(tr, x.ok ? 'applied' : 'refused', false, x.ok ? '' : 'bad'); td(tr, x.detail).className = 'w'; }
}
async function send(cmd) {
  if (token === '') { say('type the ops token first (it stays in this page only)', true); return; }
  const reason = $('reason').value.trim();
  if (reason === '') { say('say why in the reason box first', true); return; }
  const r = await fetch('/control', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify({ cmd, target: $('target').value, reason, who: 'firm page' }) });
  const b = await r.json().catch(() => ({}));
  if (!r.ok) { say(cmd + ' refused: ' + (b.error || 'HTTP ' + r.status), true); return; }
  say(cmd + ' sent to ' + (b.sent.target === 'all' ? 'every engine' : b.sent.target) + (b.warning ? ' (' + b.warning + ')' : ''));
  refresh();
}
$('do-halt').onclick = () => send('halt');
$('do-reduce').onclick = () => send('reduce');
$('do-resume').onclick = () => send('resume');
$('token').oninput = (e) => { token = e.target.value; };
refresh();
setInterval(refresh, 1000);
`;

const EXTRA = `
td.ok { color:var(--ok); } td.warn { color:var(--warn); } td.bad { color:var(--bad); }
main.firm { grid-template-columns:1fr; }
`;

const BODY = `<header>
<h1>tradecore central</h1>
<span>NATS <span id="connected" class="pill">…</span></span>
<span id="stream" class="legend"></span>
<span id="standing"></span>
<span id="updated" class="legend"></span>
</header>
<main class="firm">
<section><h2>Firm control</h2>
<div class="controls">
<input id="token" type="password" autocomplete="off" placeholder="ops token" aria-label="ops token">
<select id="target" aria-label="target"><option value="all">every engine</option></select>
<input id="reason" type="text" placeholder="reason (required)" aria-label="reason">
<button id="do-halt" class="danger">Halt</button><button id="do-reduce">Reduce</button><button id="do-resume">Resume</button>
</div>
<p id="message"></p><p id="readOnly" class="legend"></p>
</section>
<section><h2>Engines and firm</h2><table id="firm"></table></section>
<section><h2>Control messages the engines journaled</h2><table><thead><tr><th>time</th><th>engine</th><th>cmd</th><th>result</th><th>detail</th></tr></thead><tbody id="control"></tbody></table></section>
</main>`;

const CSS = STYLE + EXTRA;

export const CENTRAL_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tradecore central</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head><body>
${BODY}
<script>${SCRIPT}</script>
</body></html>
`;

export const CENTRAL_PAGE_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(CSS)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
