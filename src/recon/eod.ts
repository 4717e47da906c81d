/**
 * The end-of-day reconciliation report: every order, trade, position and cash line of the day
 * with a marker, totals, and the diffs first. One model, three forms: JSON, Markdown and a
 * self-contained HTML page (inline style, no script, no network). Built in a piscina worker
 * (`generateEodReport`), off the engine's thread.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { workerFile } from '../journal/worker-file.js';
import { DIFF_KINDS, OPEN_STATUSES, type Diff, type DiffKind, type DiffValue } from './diff.js';
import type { EodInput } from './reconciler.js';

/**
 * - `matched`: both sides agree and no diff touched the line;
 * - `auto-fixed`: a diff on it was corrected by the policy;
 * - `open-diff`: a diff on it is still open;
 * - `manually-resolved`: a person resolved a diff on it;
 * - `pending`: the sides differ but the difference is still inside its grace period (or a
 *   report was in flight during the last run): not yet a diff.
 */
export type Marker = 'matched' | 'auto-fixed' | 'open-diff' | 'manually-resolved' | 'pending';

export const MARKERS: readonly Marker[] = ['open-diff', 'pending', 'manually-resolved', 'auto-fixed', 'matched'];

export interface EodOrderLine {
  marker: Marker;
  diffs: string[];
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: string;
  qty: number;
  price: number | null;
  local: { status: string; cumQty: number; avgPx: number | null; external: boolean } | null;
  broker: { status: string; cumQty: number } | null;
}

export interface EodTradeLine {
  marker: Marker;
  diffs: string[];
  execId: string;
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: string;
  qty: number;
  price: number;
  time: string;
  /** The engine applied this fill. */
  applied: boolean;
}

export interface EodValueLine {
  marker: Marker;
  diffs: string[];
  /** A symbol (positions) or a currency (cash). */
  name: string;
  local: number;
  broker: number | null;
}

export type Totals = Record<Marker | 'total', number>;

export interface EodReport {
  version: 1;
  date: string;
  broker: string;
  /** Engine clock, ISO 8601. */
  generatedAt: string;
  totals: {
    diffs: { total: number; open: number; openCritical: number; fixed: number; resolved: number; cleared: number; byKind: Record<DiffKind, number> };
    orders: Totals;
    trades: Totals;
    positions: Totals;
    cash: Totals;
  };
  diffs: Array<Omit<Diff, 'firstSeen' | 'raisedAt' | 'lastSeen' | 'actions'> & { firstSeen: string; raisedAt: string; actions: Array<{ action: string; who: string; time: string; note: string; side?: string }> }>;
  orders: EodOrderLine[];
  trades: EodTradeLine[];
  positions: EodValueLine[];
  cash: EodValueLine[];
}

const RANK: Record<Marker, number> = { 'open-diff': 0, pending: 1, 'manually-resolved': 2, 'auto-fixed': 3, matched: 4 };
const iso = (t: number) => new Date(t).toISOString();
const QTY_EPS = 1e-9;

function markerOf(diffs: readonly Diff[]): Marker | undefined {
  let best: Marker | undefined;
  for (const d of diffs) {
    const m: Marker | undefined = d.state === 'open' ? 'open-diff' : d.state === 'resolved' ? 'manually-resolved' : d.state === 'fixed' ? 'auto-fixed' : undefined;
    if (m !== undefined && (best === undefined || RANK[m] < RANK[best])) best = m;
  }
  return best;
}

/**
 * A line's marker: an open diff on it; else, when the sides differ now, pending (a difference
 * not yet raised); else the closed diffs on it (manually resolved before auto-fixed); else matched.
 */
function mark(diffs: readonly Diff[], agree: boolean): Marker {
  const m = markerOf(diffs);
  if (m === 'open-diff') return m;
  if (!agree) return 'pending';
  return m ?? 'matched';
}

function totals<T extends { marker: Marker }>(lines: readonly T[]): Totals {
  const t = { total: lines.length } as Totals;
  for (const m of MARKERS) t[m] = 0;
  for (const l of lines) t[l.marker]++;
  return t;
}

/** Lines needing attention first, then in their own order. */
function attentionFirst<T extends { marker: Marker }>(lines: T[]): T[] {
  return lines.map((l, i) => ({ l, i })).sort((a, b) => RANK[a.l.marker] - RANK[b.l.marker] || a.i - b.i).map((x) => x.l);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Broker ids like SIM-12 in numeric order, anything else as text. */
function idOrder(a: string, b: string): number {
  const na = /^(.*?)(\d+)$/.exec(a);
  const nb = /^(.*?)(\d+)$/.exec(b);
  if (na !== null && nb !== null && na[1] === nb[1]) return Number(na[2]) - Number(nb[2]);
  return cmp(a, b);
}

/** The report model from the inputs the engine gathered (`engine.recon.endOfDay()`). Deterministic. */
export function buildEodReport(input: EodInput): EodReport {
  const byOrder = new Map<string, Diff[]>();
  const push = (k: string, d: Diff) => {
    const list = byOrder.get(k);
    if (list === undefined) byOrder.set(k, [d]);
    else list.push(d);
  };
  const bySymbol = new Map<string, Diff[]>();
  const byCurrency = new Map<string, Diff[]>();
  for (const d of input.diffs) {
    if (d.kind === 'POSITION_MISMATCH') bySymbol.set(d.symbol, [...(bySymbol.get(d.symbol) ?? []), d]);
    else if (d.kind === 'CASH_MISMATCH') byCurrency.set(d.currency, [...(byCurrency.get(d.currency) ?? []), d]);
    else push(d.brokerOrderId !== '' ? `b:${d.brokerOrderId}` : `c:${d.clientOrderId}`, d);
  }
  const diffsOfOrder = (brokerOrderId: string, clientOrderId: string) => [...(brokerOrderId !== '' ? (byOrder.get(`b:${brokerOrderId}`) ?? []) : []), ...(byOrder.get(`c:${clientOrderId}`) ?? [])];

  // orders: the engine's, matched to the broker's by broker id (else client id), then the broker's alone
  const brokerById = new Map(input.brokerOrders.map((b) => [b.brokerOrderId, b]));
  const brokerByClient = new Map(input.brokerOrders.map((b) => [b.clientOrderId, b]));
  const used = new Set<string>();
  const orders: EodOrderLine[] = [];
  for (const l of input.orders) {
    const b = l.brokerOrderId !== '' ? brokerById.get(l.brokerOrderId) : brokerByClient.get(l.clientOrderId);
    if (b !== undefined) used.add(b.brokerOrderId);
    const brokerOrderId = l.brokerOrderId || b?.brokerOrderId || '';
    const diffs = diffsOfOrder(brokerOrderId, l.clientOrderId);
    const agree = b !== undefined ? b.status === l.status || (OPEN_STATUSES.has(b.status) && OPEN_STATUSES.has(l.status)) : !OPEN_STATUSES.has(l.status) && l.cumQty <= QTY_EPS;
    orders.push({
      marker: mark(diffs, agree && (b === undefined || Math.abs(b.cumQty - l.cumQty) <= QTY_EPS)),
      diffs: diffs.map((d) => d.id),
      clientOrderId: l.clientOrderId, brokerOrderId, symbol: l.symbol, side: l.side, qty: l.qty, price: Number.isFinite(l.price) ? l.price : null,
      local: { status: l.status, cumQty: l.cumQty, avgPx: Number.isFinite(l.avgPx) ? round(l.avgPx) : null, external: l.external },
      broker: b === undefined ? null : { status: b.status, cumQty: b.cumQty },
    });
  }
  for (const b of input.brokerOrders) {
    if (used.has(b.brokerOrderId)) continue;
    const diffs = diffsOfOrder(b.brokerOrderId, b.clientOrderId);
    orders.push({
      marker: mark(diffs, !OPEN_STATUSES.has(b.status) && b.cumQty <= QTY_EPS),
      diffs: diffs.map((d) => d.id),
      clientOrderId: b.clientOrderId, brokerOrderId: b.brokerOrderId, symbol: b.symbol, side: b.side, qty: b.qty, price: Number.isFinite(b.price) ? b.price : null,
      local: null, broker: { status: b.status, cumQty: b.cumQty },
    });
  }
  orders.sort((a, b) => idOrder(a.brokerOrderId, b.brokerOrderId) || cmp(a.clientOrderId, b.clientOrderId));

  const FILL_KINDS = new Set<DiffKind>(['FILLED_QTY_MISMATCH', 'MISSING_LOCAL', 'PRICE_MISMATCH']);
  const trades: EodTradeLine[] = [...input.trades]
    .sort((a, b) => a.time - b.time || idOrder(a.execId, b.execId))
    .map((t) => {
      const diffs = diffsOfOrder(t.brokerOrderId, t.clientOrderId).filter((d) => FILL_KINDS.has(d.kind));
      return {
        marker: mark(diffs, t.applied), diffs: diffs.map((d) => d.id),
        execId: t.execId, clientOrderId: t.clientOrderId, brokerOrderId: t.brokerOrderId, symbol: t.symbol, side: t.side, qty: t.qty, price: t.price, time: iso(t.time), applied: t.applied,
      };
    });

  const positions: EodValueLine[] = [...input.positions]
    .sort((a, b) => cmp(a.symbol, b.symbol))
    .map((p) => {
      const diffs = bySymbol.get(p.symbol) ?? [];
      return { marker: mark(diffs, Math.abs(p.local - p.broker) <= QTY_EPS), diffs: diffs.map((d) => d.id), name: p.symbol, local: p.local, broker: p.broker };
    });
  const cash: EodValueLine[] = [...input.cash]
    .sort((a, b) => cmp(a.currency, b.currency))
    .map((c) => {
      const diffs = byCurrency.get(c.currency) ?? [];
      return { marker: mark(diffs, c.broker === null || Math.abs(c.local - c.broker) < 0.005), diffs: diffs.map((d) => d.id), name: c.currency, local: c.local, broker: c.broker };
    });

  const byKind = Object.fromEntries(DIFF_KINDS.map((k) => [k, 0])) as Record<DiffKind, number>;
  for (const d of input.diffs) byKind[d.kind]++;
  const stateRank = (d: Diff) => (d.state === 'open' ? (d.severity === 'critical' ? 0 : 1) : 2);
  const diffs = [...input.diffs]
    .sort((a, b) => stateRank(a) - stateRank(b) || Number(a.id.slice(1)) - Number(b.id.slice(1)))
    .map(({ lastSeen: _seen, firstSeen, raisedAt, actions, ...d }) => ({
      ...d,
      firstSeen: iso(firstSeen),
      raisedAt: iso(raisedAt),
      actions: actions.map((a) => ({ action: a.action, who: a.who, time: iso(a.time), note: a.note, ...(a.side !== undefined ? { side: a.side } : {}) })),
    }));
  const count = (state: Diff['state']) => input.diffs.filter((d) => d.state === state).length;
  return {
    version: 1,
    date: input.date,
    broker: input.broker,
    generatedAt: iso(input.generatedAt),
    totals: {
      diffs: {
        total: input.diffs.length, open: count('open'), openCritical: input.diffs.filter((d) => d.state === 'open' && d.severity === 'critical').length,
        fixed: count('fixed'), resolved: count('resolved'), cleared: count('cleared'), byKind,
      },
      orders: totals(orders),
      trades: totals(trades),
      positions: totals(positions),
      cash: totals(cash),
    },
    diffs,
    orders: attentionFirst(orders),
    trades: attentionFirst(trades),
    positions: attentionFirst(positions),
    cash: attentionFirst(cash),
  };
}

function round(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

const show = (v: DiffValue | boolean | undefined) => (v === null || v === undefined ? '—' : String(v));

/** Markdown: a table cell with pipes and newlines escaped. */
function md(v: DiffValue | boolean | undefined): string {
  return show(v).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function mdTable(head: string[], rows: Array<Array<DiffValue | boolean | undefined>>): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(md).join(' | ')} |`)].join('\n') + '\n';
}

function totalsRow(name: string, t: Totals): Array<string | number> {
  return [name, t.total, ...MARKERS.map((m) => t[m])];
}

export function renderMarkdown(r: EodReport): string {
  const out: string[] = [];
  out.push(`# Reconciliation report ${r.date}\n`);
  out.push(`Broker \`${r.broker}\`, generated ${r.generatedAt}.\n`);
  const d = r.totals.diffs;
  out.push(`**Diffs: ${d.total}** (open ${d.open}, of them critical ${d.openCritical}; auto-fixed ${d.fixed}; manually resolved ${d.resolved}; cleared ${d.cleared})\n`);
  out.push('## Diffs\n');
  out.push(mdTable(['id', 'kind', 'severity', 'state', 'ack', 'clientOrderId', 'brokerOrderId', 'symbol/ccy', 'engine', 'broker', 'detail', 'last action'], r.diffs.map((x) => {
    const last = x.actions[x.actions.length - 1]!;
    return [x.id, x.kind, x.severity, x.state, x.acknowledged ? 'yes' : 'no', x.clientOrderId, x.brokerOrderId, x.symbol || x.currency, x.local, x.broker, x.detail, `${last.action} by ${last.who} at ${last.time}${last.note !== '' ? `: ${last.note}` : ''}`];
  })));
  out.push('\n## Totals\n');
  out.push(mdTable(['section', 'lines', ...MARKERS], [totalsRow('orders', r.totals.orders), totalsRow('trades', r.totals.trades), totalsRow('positions', r.totals.positions), totalsRow('cash', r.totals.cash)]));
  out.push('\n## Orders\n');
  out.push(mdTable(['marker', 'diffs', 'clientOrderId', 'brokerOrderId', 'symbol', 'side', 'qty', 'price', 'engine status', 'engine filled', 'broker status', 'broker filled'], r.orders.map((o) => [
    o.marker, o.diffs.join(' '), o.clientOrderId, o.brokerOrderId, o.symbol, o.side, o.qty, o.price, o.local?.status ?? null, o.local?.cumQty ?? null, o.broker?.status ?? null, o.broker?.cumQty ?? null,
  ])));
  out.push('\n## Trades\n');
  out.push(mdTable(['marker', 'diffs', 'execId', 'clientOrderId', 'brokerOrderId', 'symbol', 'side', 'qty', 'price', 'time', 'applied'], r.trades.map((t) => [
    t.marker, t.diffs.join(' '), t.execId, t.clientOrderId, t.brokerOrderId, t.symbol, t.side, t.qty, t.price, t.time, t.applied ? 'yes' : 'no',
  ])));
  out.push('\n## Positions\n');
  out.push(mdTable(['marker', 'diffs', 'symbol', 'engine', 'broker'], r.positions.map((p) => [p.marker, p.diffs.join(' '), p.name, p.local, p.broker])));
  out.push('\n## Cash\n');
  out.push(mdTable(['marker', 'diffs', 'currency', 'engine', 'broker'], r.cash.map((c) => [c.marker, c.diffs.join(' '), c.name, c.local, c.broker])));
  return out.join('\n');
}

/** HTML-escaped text of a value. */
export function esc(v: DiffValue | boolean | undefined): string {
  return show(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table of escaped cells (`markerCol`: that column shown as a marker pill); shared by the certify and gate pages. */
export function htmlTable(head: string[], rows: Array<Array<DiffValue | boolean | undefined>>, markerCol = -1): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  const cell = (v: DiffValue | boolean | undefined, i: number) => (i === markerCol ? `<td><span class="m m-${esc(v)}">${esc(v)}</span></td>` : `<td>${esc(v)}</td>`);
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The reports' style sheet (the certify and gate pages add theirs). */
export const REPORT_STYLE = `body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1d2330}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #d5d8e0;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f2f6}tr:nth-child(even) td{background:#fafbfc}.none{color:#778}
.m{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:12px}
.m-matched{background:#e3f5e6;color:#1c6b2c}.m-auto-fixed{background:#e4eefc;color:#1f4f99}
.m-open-diff{background:#fde4e4;color:#9b1c1c}.m-manually-resolved{background:#f3e8fd;color:#5b2a8c}.m-pending{background:#fff4d6;color:#7a5a00}
.sum{font-size:15px}`;

export function renderHtml(r: EodReport): string {
  const d = r.totals.diffs;
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reconciliation report ${esc(r.date)}</title><style>${REPORT_STYLE}</style></head><body>`);
  parts.push(`<h1>Reconciliation report ${esc(r.date)}</h1><p>Broker <code>${esc(r.broker)}</code>, generated ${esc(r.generatedAt)}.</p>`);
  parts.push(`<p class="sum"><b>Diffs: ${d.total}</b> (open ${d.open}, of them critical ${d.openCritical}; auto-fixed ${d.fixed}; manually resolved ${d.resolved}; cleared ${d.cleared})</p>`);
  parts.push('<h2>Diffs</h2>');
  parts.push(htmlTable(['id', 'kind', 'severity', 'state', 'ack', 'clientOrderId', 'brokerOrderId', 'symbol/ccy', 'engine', 'broker', 'detail', 'actions'], r.diffs.map((x) => [
    x.id, x.kind, x.severity, x.state, x.acknowledged ? 'yes' : 'no', x.clientOrderId, x.brokerOrderId, x.symbol || x.currency, x.local, x.broker, x.detail,
    x.actions.map((a) => `${a.time} ${a.action} by ${a.who}${a.side !== undefined ? ` (${a.side})` : ''}${a.note !== '' ? `: ${a.note}` : ''}`).join(' / '),
  ])));
  parts.push('<h2>Totals</h2>');
  parts.push(htmlTable(['section', 'lines', ...MARKERS], [totalsRow('orders', r.totals.orders), totalsRow('trades', r.totals.trades), totalsRow('positions', r.totals.positions), totalsRow('cash', r.totals.cash)]));
  parts.push('<h2>Orders</h2>');
  parts.push(htmlTable(['marker', 'diffs', 'clientOrderId', 'brokerOrderId', 'symbol', 'side', 'qty', 'price', 'engine status', 'engine filled', 'broker status', 'broker filled'], r.orders.map((o) => [
    o.marker, o.diffs.join(' '), o.clientOrderId, o.brokerOrderId, o.symbol, o.side, o.qty, o.price, o.local?.status ?? null, o.local?.cumQty ?? null, o.broker?.status ?? null, o.broker?.cumQty ?? null,
  ]), 0));
  parts.push('<h2>Trades</h2>');
  parts.push(htmlTable(['marker', 'diffs', 'execId', 'clientOrderId', 'brokerOrderId', 'symbol', 'side', 'qty', 'price', 'time', 'applied'], r.trades.map((t) => [
    t.marker, t.diffs.join(' '), t.execId, t.clientOrderId, t.brokerOrderId, t.symbol, t.side, t.qty, t.price, t.time, t.applied ? 'yes' : 'no',
  ]), 0));
  parts.push('<h2>Positions</h2>');
  parts.push(htmlTable(['marker', 'diffs', 'symbol', 'engine', 'broker'], r.positions.map((p) => [p.marker, p.diffs.join(' '), p.name, p.local, p.broker]), 0));
  parts.push('<h2>Cash</h2>');
  parts.push(htmlTable(['marker', 'diffs', 'currency', 'engine', 'broker'], r.cash.map((c) => [c.marker, c.diffs.join(' '), c.name, c.local, c.broker]), 0));
  parts.push('</body></html>\n');
  return parts.join('\n');
}

export interface EodOutput {
  report: EodReport;
  json: string;
  markdown: string;
  html: string;
}

/** The three forms, in the calling thread (the worker runs this). */
export function renderEod(input: EodInput): EodOutput {
  const report = buildEodReport(input);
  return { report, json: `${JSON.stringify(report, null, 2)}\n`, markdown: renderMarkdown(report), html: renderHtml(report) };
}

/**
 * Build the report and its three forms in a piscina worker (the default) or, with
 * `worker: false`, in this thread.
 */
export async function generateEodReport(input: EodInput, options: { worker?: boolean } = {}): Promise<EodOutput> {
  if (options.worker === false) return renderEod(input);
  const pool = new Piscina({ filename: workerFile('eod-worker.js', 'recon'), maxThreads: 1, minThreads: 0 });
  try {
    return (await pool.run(input)) as EodOutput;
  } finally {
    await pool.destroy();
  }
}

/** Write `recon-<date>.json`, `.md` and `.html` into `dir` (created when missing); returns the paths. */
export function writeEodReport(out: EodOutput, dir: string): { json: string; markdown: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `recon-${out.report.date}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
  writeFileSync(files.json, out.json);
  writeFileSync(files.markdown, out.markdown);
  writeFileSync(files.html, out.html);
  return files;
}
