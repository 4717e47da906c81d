/**
 * The ops page: one self-contained HTML document the ops endpoint serves at `GET /`. No CDN, no
 * build step, no external file: its style and script are inline, allowed by a content security
 * policy that names their hashes and lets the page talk only to the endpoint that served it.
 *
 * It polls `/status`, `/orders?open=1`, `/diffs`, `/alerts` and `/history` every second and
 * draws connection and trading state, the mode (live, paper, safe-stop), the rollout stage, alerts (with acknowledge), positions, cash and P&L, open
 * orders, open diffs and the latency percentiles with a chart of the last minutes. Its controls
 * (halt, reduce, resume, safe-stop, fallback to paper, back to live, promote the rollout,
 * acknowledge) send the bearer token the operator typed; the
 * token lives in one script variable and nowhere else (no storage, no cookie, no URL).
 * Every value from the engine is set as text, never as markup.
 */
import { createHash } from 'node:crypto';

/** The pages' style sheet (the engine's ops page and central's firm page share it). */
export const STYLE = `
:root { color-scheme: light dark; --bg:#f6f7f9; --card:#fff; --fg:#1b1f24; --mute:#5b6570; --line:#d8dde3; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --accent:#0969da; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --card:#161b22; --fg:#e6edf3; --mute:#8b949e; --line:#30363d; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --accent:#58a6ff; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:10px 16px; border-bottom:1px solid var(--line); background:var(--card); }
header h1 { font-size:16px; margin:0 12px 0 0; }
.pill { padding:2px 10px; border-radius:999px; border:1px solid var(--line); font-weight:600; }
.pill.ok { color:var(--ok); border-color:var(--ok); } .pill.warn { color:var(--warn); border-color:var(--warn); } .pill.bad { color:var(--bad); border-color:var(--bad); }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:12px; padding:12px 16px; }
section { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px; min-width:0; }
section h2.sub { margin-top:10px; }
section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--mute); margin:0 0 8px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:220px; }
th { color:var(--mute); font-weight:500; } td.n, th.n { text-align:right; } td.w { white-space:normal; overflow-wrap:anywhere; max-width:none; min-width:14em; }
.empty { color:var(--mute); font-style:italic; }
.controls { display:flex; flex-wrap:wrap; gap:6px; align-items:center; }
input { font:inherit; padding:4px 6px; border:1px solid var(--line); border-radius:4px; background:var(--bg); color:var(--fg); }
button { font:inherit; padding:4px 10px; border-radius:4px; border:1px solid var(--line); background:var(--bg); color:var(--fg); cursor:pointer; }
button.danger { border-color:var(--bad); color:var(--bad); } button:disabled { opacity:.5; cursor:default; }
#message { color:var(--mute); } #message.bad { color:var(--bad); }
svg { width:100%; height:140px; display:block; } .grid { stroke:var(--line); } .p50 { stroke:var(--accent); fill:none; stroke-width:1.5; } .p99 { stroke:var(--warn); fill:none; stroke-width:1.5; }
.legend { color:var(--mute); font-size:12px; } .legend b.p50 { color:var(--accent); } .legend b.p99 { color:var(--warn); }
dl { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; margin:0; } dt { color:var(--mute); } dd { margin:0; font-variant-numeric:tabular-nums; }
`;

const SCRIPT = `
'use strict';
let token = '';
const $ = (id) => document.getElementById(id);
const fmt = (v, d) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d ?? 2 }) : (v === null || v === undefined ? '' : String(v)));
const cls = { Ready: 'ok', Degraded: 'warn', Active: 'ok', Reducing: 'warn', Halted: 'bad', running: 'ok', live: 'ok', paper: 'warn' };
function pill(id, text) { const el = $(id); el.textContent = text; el.className = 'pill ' + (cls[text] || 'bad'); }
function cell(row, v, numeric, wrap) { const td = document.createElement('td'); td.textContent = v; td.title = v; if (numeric) td.className = 'n'; else if (wrap) td.className = 'w'; row.appendChild(td); return td; }
function fill(tbodyId, rows, cols, empty) {
  const body = $(tbodyId); body.textContent = '';
  if (rows.length === 0) { const tr = document.createElement('tr'); const td = cell(tr, empty); td.colSpan = cols.length; td.className = 'empty'; body.appendChild(tr); return; }
  for (const r of rows) { const tr = document.createElement('tr'); for (const c of cols) { const v = c.get(r); if (v instanceof Node) { const td = document.createElement('td'); td.appendChild(v); tr.appendChild(td); } else cell(tr, v, c.n, c.w); } body.appendChild(tr); }
}
function say(text, bad) { const m = $('message'); m.textContent = text; m.className = bad ? 'bad' : ''; }
async function get(path) { const r = await fetch(path, { cache: 'no-store' }); if (!r.ok) throw new Error(path + ': HTTP ' + r.status); return r.json(); }
async function post(path, body) {
  if (token === '') { say('type the ops token first (it stays in this page only)', true); return undefined; }
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) { say(path + ': ' + (j.error || ('HTTP ' + r.status)), true); return undefined; }
  return j;
}
function chart(points) {
  const svg = $('chart'); svg.textContent = '';
  const NS = 'http://www.w3.org/2000/svg'; const W = 600, H = 140;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const vals = points.flatMap((p) => [p.ackP50Us, p.ackP99Us]).filter((v) => typeof v === 'number' && v > 0);
  const top = vals.length > 0 ? Math.max(...vals) * 1.1 : 1;
  for (let k = 1; k < 4; k++) { const l = document.createElementNS(NS, 'line'); l.setAttribute('x1', '0'); l.setAttribute('x2', String(W)); l.setAttribute('y1', String((H * k) / 4)); l.setAttribute('y2', String((H * k) / 4)); l.setAttribute('class', 'grid'); svg.appendChild(l); }
  const t0 = points.length > 0 ? points[0].t : 0; const span = points.length > 1 ? points[points.length - 1].t - t0 : 1;
  for (const [key, c] of [['ackP50Us', 'p50'], ['ackP99Us', 'p99']]) {
    const d = points.filter((p) => typeof p[key] === 'number').map((p) => ((p.t - t0) / span * W).toFixed(1) + ',' + (H - (p[key] / top) * H).toFixed(1)).join(' ');
    const pl = document.createElementNS(NS, 'polyline'); pl.setAttribute('points', d); pl.setAttribute('class', c); svg.appendChild(pl);
  }
  $('chartTop').textContent = fmt(top, 0) + ' µs';
  $('chartSpan').textContent = points.length > 1 ? Math.round(span / 60000 * 10) / 10 + ' min' : 'collecting';
}
async function refresh() {
  try {
    const [s, orders, diffs, alerts, history] = await Promise.all([get('/status'), get('/orders?open=1&limit=200'), get('/diffs'), get('/alerts'), get('/history')]);
    pill('engine', s.engine); pill('connection', s.connection); pill('tradingState', s.tradingState); pill('mode', s.mode);
    const ro = s.rollout;
    $('rolloutStage').textContent = ro ? ro.stage + ' (' + ro.stages.join(' → ') + ')' : 'none configured';
    $('rolloutDay').textContent = ro ? 'P&L ' + fmt(ro.dayPnl, 2) + ', traded ' + fmt(ro.dayTraded, 2) + (ro.lossCapHit ? ', LOSS CAP HIT' : '') + (ro.todayDirty.length > 0 ? ', not clean: ' + ro.todayDirty.join(', ') : '') : '';
    $('rolloutClean').textContent = ro ? String(ro.cleanDays) : '';
    $('rolloutNext').textContent = !ro ? '' : ro.next === undefined ? 'last stage' : ro.promotion.allowed ? 'allowed to ' + ro.next : 'to ' + ro.next + ' refused: ' + ro.promotion.missing.join('; ');
    $('rolloutLast').textContent = ro && ro.history.length > 0 ? (() => { const h = ro.history[ro.history.length - 1]; return new Date(h.time).toISOString() + ' ' + h.from + ' → ' + h.to + ' by ' + h.who + ': ' + h.note; })() : '';
    $('do-promote').disabled = !ro || !ro.promotion.allowed;
    $('paperLine').textContent = s.paper ? 'paper period: ' + fmt(s.paper.openOrders, 0) + ' open, ' + fmt(s.paper.stats.fills, 0) + ' fills; ' + s.paper.positions.filter((p) => p.qty !== 0).map((p) => p.symbol + ' ' + fmt(p.qty, 4)).join(', ') : '';
    $('environment').textContent = s.environment; $('ready').textContent = s.ready ? 'ready' : 'not ready: ' + s.reasons.join('; ');
    $('openOrders').textContent = fmt(s.openOrders, 0); $('fills').textContent = fmt(s.stats.fills, 0);
    $('accepted').textContent = fmt(s.stats.accepted, 0); $('denied').textContent = fmt(s.stats.denied, 0);
    $('openDiffs').textContent = fmt(s.openDiffs, 0); $('readOnly').textContent = s.readOnly ? 'read-only: the endpoint has no token, every control is refused' : '';
    fill('positions', s.positions, [{ get: (p) => p.symbol }, { get: (p) => fmt(p.qty, 4), n: true }, { get: (p) => fmt(p.avgPx, 6), n: true }, { get: (p) => fmt(p.realizedPnl, 2), n: true }, { get: (p) => p.currency }], 'no positions');
    const ccys = Object.keys(s.account.cash).sort();
    fill('cash', ccys.map((c) => ({ c, cash: s.account.cash[c], pnl: s.account.realizedPnl[c] })), [{ get: (r) => r.c }, { get: (r) => fmt(r.cash, 2), n: true }, { get: (r) => fmt(r.pnl ?? 0, 2), n: true }], 'no cash');
    fill('orders', orders.orders, [{ get: (o) => o.clientOrderId }, { get: (o) => o.brokerOrderId }, { get: (o) => o.symbol }, { get: (o) => o.side }, { get: (o) => fmt(o.qty, 4), n: true }, { get: (o) => fmt(o.price, 6), n: true }, { get: (o) => fmt(o.cumQty, 4), n: true }, { get: (o) => o.status }], 'no open orders');
    $('ordersMore').textContent = orders.total > orders.orders.length ? 'showing ' + orders.orders.length + ' of ' + orders.total : '';
    fill('diffs', diffs.diffs, [{ get: (d) => d.id }, { get: (d) => d.kind }, { get: (d) => d.severity }, { get: (d) => d.state }, { get: (d) => d.detail, w: true }], 'no open diffs');
    fill('alerts', alerts.open, [{ get: (a) => a.level }, { get: (a) => a.code }, { get: (a) => a.message, w: true }, { get: (a) => fmt(a.count, 0), n: true }, { get: (a) => {
      const b = document.createElement('button'); b.textContent = 'acknowledge'; b.dataset.alert = a.id;
      b.onclick = async () => { const r = await post('/alerts/' + encodeURIComponent(a.id) + '/ack', { who: 'ops page', note: $('reason').value || 'acknowledged on the ops page' }); if (r) say('acknowledged ' + a.id); refresh(); };
      return b; } }], 'no open alerts');
    const w = s.latency.window;
    fill('latency', [['submit → ack', w.ack], ['submit → first fill', w.firstFill], ['report handling', w.report], ['callbacks', w.callback]], [{ get: (r) => r[0] }, { get: (r) => fmt(r[1].count, 0), n: true }, { get: (r) => fmt(r[1].p50, 1), n: true }, { get: (r) => fmt(r[1].p99, 1), n: true }, { get: (r) => fmt(r[1].max, 1), n: true }], '');
    chart(history.points);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (err) {
    $('updated').textContent = 'update failed: ' + err.message;
  }
}
for (const action of ['halt', 'reduce', 'resume', 'safe-stop']) {
  $('do-' + action).onclick = async () => {
    const reason = $('reason').value.trim();
    if (reason === '') { say('say why in the reason box first', true); return; }
    const r = await post('/trading-state', { action, reason });
    if (r) say(action + ': trading state ' + r.tradingState);
    refresh();
  };
}
for (const mode of ['paper', 'live']) {
  $('do-' + mode).onclick = async () => {
    const note = $('reason').value.trim();
    if (note === '') { say('say why in the reason box first', true); return; }
    const r = await post('/fallback', { mode, note, who: 'ops page' });
    if (r) say('mode ' + r.mode + (r.changed ? ' (was ' + r.from + ')' : ' (unchanged)') + '; live cancels sent ' + r.liveOrders.cancelsSent + ', kept ' + r.liveOrders.kept);
    refresh();
  };
}
$('do-promote').onclick = async () => {
  const note = $('reason').value.trim();
  if (note === '') { say('say why in the reason box first', true); return; }
  const r = await post('/rollout/promote', { note, who: 'ops page' });
  if (r) say('rollout promoted ' + r.from + ' → ' + r.to);
  refresh();
};
$('token').oninput = (e) => { token = e.target.value; };
refresh();
setInterval(refresh, 1000);
`;

const BODY = `<header>
<h1>tradecore</h1>
<span>engine <span id="engine" class="pill">…</span></span>
<span>connection <span id="connection" class="pill">…</span></span>
<span>trading <span id="tradingState" class="pill">…</span></span>
<span>mode <span id="mode" class="pill">…</span></span>
<span id="environment"></span>
<span id="ready"></span>
<span id="updated" class="legend"></span>
</header>
<main>
<section><h2>Controls</h2>
<div class="controls">
<input id="token" type="password" autocomplete="off" placeholder="ops token" aria-label="ops token">
<input id="reason" type="text" placeholder="reason (required)" aria-label="reason">
<button id="do-halt" class="danger">Halt</button><button id="do-reduce">Reduce</button><button id="do-resume">Resume</button><button id="do-safe-stop" class="danger">Safe stop</button>
<button id="do-paper" class="danger">Fallback to paper</button><button id="do-live">Back to live</button><button id="do-promote">Promote rollout</button>
</div>
<p id="paperLine" class="legend"></p>
<p id="message"></p><p id="readOnly" class="legend"></p>
<dl><dt>open orders</dt><dd id="openOrders"></dd><dt>accepted</dt><dd id="accepted"></dd><dt>denied</dt><dd id="denied"></dd><dt>fills</dt><dd id="fills"></dd><dt>open diffs</dt><dd id="openDiffs"></dd></dl>
</section>
<section><h2>Rollout</h2><dl><dt>stage</dt><dd id="rolloutStage"></dd><dt>today</dt><dd id="rolloutDay"></dd><dt>clean days</dt><dd id="rolloutClean"></dd><dt>promotion</dt><dd id="rolloutNext"></dd><dt>last promotion</dt><dd id="rolloutLast"></dd></dl></section>
<section><h2>Alerts</h2><table><thead><tr><th>level</th><th>code</th><th>message</th><th class="n">count</th><th></th></tr></thead><tbody id="alerts"></tbody></table></section>
<section><h2>Positions</h2><table><thead><tr><th>symbol</th><th class="n">qty</th><th class="n">avg px</th><th class="n">realized P&amp;L</th><th>ccy</th></tr></thead><tbody id="positions"></tbody></table>
<h2 class="sub">Cash and P&amp;L</h2><table><thead><tr><th>ccy</th><th class="n">cash</th><th class="n">realized P&amp;L</th></tr></thead><tbody id="cash"></tbody></table></section>
<section><h2>Latency, microseconds, last minute</h2><table><thead><tr><th></th><th class="n">count</th><th class="n">p50</th><th class="n">p99</th><th class="n">max</th></tr></thead><tbody id="latency"></tbody></table>
<svg id="chart" role="img" aria-label="submit to ack latency, last minutes"></svg>
<div class="legend"><b class="p50">p50</b> and <b class="p99">p99</b> submit → ack; top <span id="chartTop"></span>, span <span id="chartSpan"></span></div></section>
<section><h2>Open orders</h2><table><thead><tr><th>client id</th><th>broker id</th><th>symbol</th><th>side</th><th class="n">qty</th><th class="n">price</th><th class="n">filled</th><th>status</th></tr></thead><tbody id="orders"></tbody></table><p id="ordersMore" class="legend"></p></section>
<section><h2>Open diffs</h2><table><thead><tr><th>id</th><th>kind</th><th>severity</th><th>state</th><th>detail</th></tr></thead><tbody id="diffs"></tbody></table></section>
</main>`;

/** A CSP source for one inline script or style. */
export const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The page, and the content security policy to send with it. */
export const OPS_PAGE = {
  html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tradecore ops</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head><body>
${BODY}
<script>${SCRIPT}</script>
</body></html>
`,
  csp: `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
};
