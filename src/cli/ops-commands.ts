/**
 * Commands that act on a running engine through its ops endpoint (src/ops/server.ts):
 * `recon` (reconcile now, or the end-of-day report), `diffs` (the manual workflow) and `sync`.
 * The endpoint's address comes from --url or TRADECORE_OPS_URL; its bearer token from
 * TRADECORE_OPS_TOKEN or --token-file (never from the command line, where `ps` shows it).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Diff } from '../recon/diff.js';
import type { EodInput, ReconRun } from '../recon/reconciler.js';
import { generateEodReport, writeEodReport } from '../recon/eod.js';
import type { SyncSummary } from '../connectivity/recovery.js';
import { UsageError } from './net-commands.js';
import type { Order } from '../domain/order.js';
import type { Account, Position } from '../core/ledger.js';
import type { Alert } from '../ops/alerts.js';
import type { SafeStopResult } from '../core/cancel-path.js';

/** Where `tradecore run` serves its ops endpoint by default. */
export const DEFAULT_OPS_URL = 'http://127.0.0.1:7400';

export const OPS_USAGE = `  recon [--eod] [--out DIR] [--json]
            reconcile the running engine with its broker now (orders, fills, positions,
            cash) and print what was found, fixed and left open
            --eod           also write the end-of-day report to DIR (default .):
                            recon-DATE.json, recon-DATE.md, recon-DATE.html
            exit status: 0 when no critical diff is open afterwards, 1 otherwise
  diffs [--all] [--json]           list the open reconciliation diffs (--all: every diff today)
  diffs show ID [--json]           one diff: both sides' values and every action on it
  diffs resolve ID --accept broker|local --note TEXT [--who NAME]
            close a diff: broker makes the engine take the broker's side (fills,
            status, position, cash, price); local keeps the engine's record
  diffs ack ID --note TEXT [--who NAME]
            acknowledge a diff (its alert closes; it stays open until resolved)
  sync [--force --note TEXT] [--who NAME]
            run recovery sync now; --force also resolves PendingNew orders sent less
            than 5 s ago (otherwise left to their acks) and needs --note saying why
  status [--json]                  connection, trading state, readiness, counts, alerts
  orders [--open] [--limit N] [--json]
                                   orders in the engine's table, newest first (default 50)
  positions [--json]               positions, cash and realized P&L
  alerts [--all] [--json]          open alerts (--all: recently closed ones too)
  config rollback HASH --note TEXT [--who NAME] [--json]
            make the running service take config snapshot HASH's risk limits (a
            prefix will do; tradecore config history lists them), checked as SIGHUP
            checks a file; other sections that differ are named: a restart applies them;
            it talks to the ops endpoint (--url, --token-file as below)
  rollout status [--json]          the rollout stage, its limits, the day's P&L and turnover,
                                   clean days, and whether promotion is allowed now
  rollout promote --note TEXT [--who NAME] [--json]
            promote the rollout to its next stage; refused (exit 1, nothing changed)
            while the stage's evidence is missing (clean days, open P0/P1 alerts)
  fallback paper|safe-stop|live --note TEXT [--who NAME] [--json]
            the fallback switch: paper sends new orders to the embedded simulated
            broker at the live prices (live orders cancelled or kept: fallback.liveOrders);
            safe-stop cancels everything and halts; live switches back
  halt|reduce|resume|safe-stop --note TEXT [--json]
            move the trading state (safe-stop: halt and cancel every open order);
            the note is the reason, journaled with the change
            these commands talk to the engine's ops endpoint:
            --url URL       default TRADECORE_OPS_URL, else ${DEFAULT_OPS_URL}
                            (where tradecore run listens by default)
            --token-file F  file holding the bearer token; default TRADECORE_OPS_TOKEN
            every action is journaled with who (default: your user name), when and why`;

const COMMON = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

interface Endpoint {
  url: string;
  token: string | undefined;
}

function endpoint(values: { url?: string | undefined; 'token-file'?: string | undefined }): Endpoint {
  const env = process.env.TRADECORE_OPS_URL;
  const url = values.url ?? (env !== undefined && env !== '' ? env : DEFAULT_OPS_URL);
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  let token = process.env.TRADECORE_OPS_TOKEN;
  const file = values['token-file'];
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new UsageError(`--token-file: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return { url: url.replace(/\/+$/, ''), token: token === '' ? undefined : token };
}

/** Thrown for an answer the command cannot use: the message is printed, exit 1. */
class OpsError extends Error {}

async function call<T>(ep: Endpoint, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${ep.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(method === 'POST' && ep.token !== undefined ? { authorization: `Bearer ${ep.token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new OpsError(`cannot reach the ops endpoint ${ep.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OpsError(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const msg = (json as { error?: string }).error ?? text;
    if (res.status === 401) throw new OpsError(`${method} ${path}: refused (401): ${msg}; set TRADECORE_OPS_TOKEN or give --token-file`);
    throw new OpsError(`${method} ${path}: ${msg} (HTTP ${res.status})`);
  }
  return json as T;
}

function who(values: { who?: string | undefined }): string {
  if (values.who !== undefined && values.who.trim() !== '') return values.who.trim();
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}

const show = (v: unknown) => (v === null || v === undefined ? '—' : String(v));

/** One line per diff. */
export function formatDiffLine(d: Diff): string {
  const ids = d.clientOrderId !== '' || d.brokerOrderId !== '' ? `${d.clientOrderId || '—'}/${d.brokerOrderId || '—'}` : d.symbol || d.currency;
  return `${d.id.padEnd(5)} ${d.severity.padEnd(8)} ${d.state.padEnd(8)} ${d.kind.padEnd(19)} ${ids.padEnd(24)} engine=${show(d.local)} broker=${show(d.broker)}${d.acknowledged ? '  (acknowledged)' : ''}`;
}

export function formatDiff(d: Diff): string {
  const out = [
    `${d.id} ${d.kind} (${d.severity}, ${d.state}${d.acknowledged ? ', acknowledged' : ''})`,
    `  clientOrderId  ${d.clientOrderId || '—'}`,
    `  brokerOrderId  ${d.brokerOrderId || '—'}`,
    ...(d.symbol !== '' ? [`  symbol         ${d.symbol}`] : []),
    ...(d.currency !== '' ? [`  currency       ${d.currency}`] : []),
    `  engine         ${show(d.local)}`,
    `  broker         ${show(d.broker)}`,
    `  detail         ${d.detail}`,
    `  first seen     ${new Date(d.firstSeen).toISOString()}`,
    `  raised         ${new Date(d.raisedAt).toISOString()}`,
    '  actions:',
    ...d.actions.map((a) => `    ${new Date(a.time).toISOString()}  ${a.action.padEnd(8)} by ${a.who}${a.side !== undefined ? ` (${a.side})` : ''}${a.note !== '' ? `: ${a.note}` : ''}`),
  ];
  return out.join('\n');
}

export function formatRun(r: ReconRun): string {
  const out = [
    `reconciliation run ${r.run}: ${r.checked.orders} engine orders, ${r.checked.brokerOrders} broker orders, ${r.checked.trades} trades, ${r.checked.symbols} symbols, ${r.checked.currencies} currencies in ${r.durationMs.toFixed(1)} ms`,
    `  raised ${r.raised.length}, auto-fixed ${r.fixed.length}, cleared ${r.cleared.length}, pending (in grace) ${r.pending}, in flight ${r.inFlight}`,
    `  open diffs ${r.open}, critical ${r.openCritical}`,
  ];
  for (const d of [...r.fixed, ...r.raised, ...r.cleared]) out.push(`  ${formatDiffLine(d)}`);
  return out.join('\n');
}

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function write(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function guarded(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OpsError) {
      process.stderr.write(`tradecore: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export function reconCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, eod: { type: 'boolean', default: false }, out: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`recon takes no arguments, got "${positionals.join(' ')}"`);
  if (values.out !== undefined && values.eod !== true) throw new UsageError('--out goes with --eod');
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    if (values.eod !== true) {
      const { run } = await call<{ run: ReconRun }>(ep, 'POST', '/recon', {});
      write(values.json === true ? JSON.stringify(run, null, 2) : formatRun(run));
      return run.openCritical > 0 ? 1 : 0;
    }
    const { run, eod } = await call<{ run: ReconRun; eod: EodInput }>(ep, 'POST', '/recon', { eod: true });
    const out = await generateEodReport(eod);
    const files = writeEodReport(out, (values.out as string | undefined) ?? '.');
    if (values.json === true) write(JSON.stringify({ run, files, totals: out.report.totals }, null, 2));
    else {
      write(formatRun(run));
      const t = out.report.totals;
      write(`end-of-day report ${out.report.date}: ${t.orders.total} orders, ${t.trades.total} trades, ${t.positions.total} positions, ${t.cash.total} cash lines; diffs ${t.diffs.total} (open ${t.diffs.open})`);
      for (const f of Object.values(files)) write(`  wrote ${f}`);
    }
    return run.openCritical > 0 ? 1 : 0;
  });
}

export function diffsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON, all: { type: 'boolean', default: false }, accept: { type: 'string' }, note: { type: 'string' }, who: { type: 'string' },
  });
  const [sub = 'list', id, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`diffs: unexpected "${extra.join(' ')}"`);
  const v = values as { url?: string; 'token-file'?: string; json: boolean; all: boolean; accept?: string; note?: string; who?: string };
  const needId = () => {
    if (id === undefined) throw new UsageError(`usage: tradecore diffs ${sub} ID ...`);
    return encodeURIComponent(id);
  };
  const needNote = () => {
    if (v.note === undefined || v.note.trim() === '') throw new UsageError(`diffs ${sub}: --note TEXT is required (say why)`);
    return v.note;
  };
  switch (sub) {
    case 'list': {
      if (id !== undefined) throw new UsageError(`diffs: unexpected "${id}"`);
      const ep = endpoint(v);
      return guarded(async () => {
        const { diffs } = await call<{ diffs: Diff[] }>(ep, 'GET', `/diffs?state=${v.all ? 'all' : 'open'}`);
        if (v.json) write(JSON.stringify(diffs, null, 2));
        else if (diffs.length === 0) write(v.all ? 'no diffs today' : 'no open diffs');
        else for (const d of diffs) write(formatDiffLine(d));
        return 0;
      });
    }
    case 'show': {
      const path = `/diffs/${needId()}`;
      const ep = endpoint(v);
      return guarded(async () => {
        const d = await call<Diff>(ep, 'GET', path);
        write(v.json ? JSON.stringify(d, null, 2) : formatDiff(d));
        return 0;
      });
    }
    case 'resolve': {
      const path = `/diffs/${needId()}/resolve`;
      if (v.accept !== 'broker' && v.accept !== 'local') throw new UsageError('diffs resolve: --accept broker|local is required');
      const body = { accept: v.accept, note: needNote(), who: who(v) };
      const ep = endpoint(v);
      return guarded(async () => {
        const d = await call<Diff>(ep, 'POST', path, body);
        write(v.json ? JSON.stringify(d, null, 2) : `${d.id} ${d.state}: ${v.accept} side accepted by ${body.who}\n${formatDiff(d)}`);
        return 0;
      });
    }
    case 'ack': {
      const path = `/diffs/${needId()}/ack`;
      const body = { note: needNote(), who: who(v) };
      const ep = endpoint(v);
      return guarded(async () => {
        const d = await call<Diff>(ep, 'POST', path, body);
        write(v.json ? JSON.stringify(d, null, 2) : `${d.id} acknowledged by ${body.who} (still ${d.state})`);
        return 0;
      });
    }
    default:
      throw new UsageError(`diffs: unknown subcommand "${sub}" (list, show, resolve, ack)`);
  }
}

export function syncCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, force: { type: 'boolean', default: false }, note: { type: 'string' }, who: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`sync takes no arguments, got "${positionals.join(' ')}"`);
  const v = values as { url?: string; 'token-file'?: string; json: boolean; force: boolean; note?: string; who?: string };
  if (v.force && (v.note === undefined || v.note.trim() === '')) throw new UsageError('sync --force: --note TEXT is required (say why)');
  const ep = endpoint(v);
  const body = { force: v.force, who: who(v), ...(v.note !== undefined ? { note: v.note } : {}) };
  return guarded(async () => {
    const { sync } = await call<{ sync: SyncSummary }>(ep, 'POST', '/sync', body);
    write(v.json ? JSON.stringify(sync, null, 2) : `recovery sync${v.force ? ' (forced)' : ''}: ${Object.entries(sync).map(([k, n]) => `${k}=${n}`).join(' ')}`);
    return 0;
  });
}

interface StatusBody {
  engine: string;
  ready: boolean;
  reasons: string[];
  readOnly: boolean;
  connection: string;
  tradingState: string;
  environment: string;
  openOrders: number;
  openDiffs: number;
  positions: Position[];
  account: Account;
  stats: { accepted: number; fills: number; denied: number; reports: number };
  alerts: Record<string, number>;
}

const num = (v: number, d = 2) => v.toLocaleString('en-US', { maximumFractionDigits: d });

/** `tradecore status`: exit 0 when the engine is ready to trade, 1 otherwise. */
export function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, COMMON);
  if (positionals.length > 0) throw new UsageError(`status takes no arguments, got "${positionals.join(' ')}"`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const s = await call<StatusBody>(ep, 'GET', '/status');
    if (values.json === true) write(JSON.stringify(s, null, 2));
    else {
      const alerts = Object.entries(s.alerts).filter(([, n]) => n > 0).map(([l, n]) => `${l} ${n}`).join(', ') || 'none';
      write([
        `engine ${s.engine}, connection ${s.connection}, trading ${s.tradingState} (${s.environment})${s.readOnly ? ', read-only endpoint' : ''}`,
        s.ready ? 'ready to trade' : `not ready: ${s.reasons.join('; ')}`,
        `orders: ${num(s.stats.accepted, 0)} accepted, ${num(s.stats.denied, 0)} denied, ${num(s.openOrders, 0)} open; ${num(s.stats.fills, 0)} fills`,
        `open diffs ${s.openDiffs}; open alerts: ${alerts}`,
      ].join('\n'));
    }
    return s.ready ? 0 : 1;
  });
}

export function ordersCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, open: { type: 'boolean', default: false }, limit: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`orders takes no arguments, got "${positionals.join(' ')}"`);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`--limit must be a whole number from 1 to 100000, got "${String(values.limit)}"`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ total: number; orders: Order[] }>(ep, 'GET', `/orders?open=${values.open === true ? 1 : 0}&limit=${limit}`);
    if (values.json === true) write(JSON.stringify(r, null, 2));
    else if (r.orders.length === 0) write(values.open === true ? 'no open orders' : 'no orders');
    else {
      const lines = r.orders.map((o) => `${o.clientOrderId.padEnd(24)} ${(o.brokerOrderId || '—').padEnd(14)} ${o.symbol.padEnd(8)} ${o.side.padEnd(4)} ${String(o.qty).padStart(10)} @ ${String(o.price).padEnd(10)} filled ${String(o.cumQty).padStart(10)}  ${o.status}`);
      if (r.total > r.orders.length) lines.push(`(${r.orders.length} of ${r.total}; --limit N for more)`);
      write(lines.join('\n'));
    }
    return 0;
  });
}

export function positionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, COMMON);
  if (positionals.length > 0) throw new UsageError(`positions takes no arguments, got "${positionals.join(' ')}"`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ positions: Position[]; account: Account }>(ep, 'GET', '/positions');
    if (values.json === true) write(JSON.stringify(r, null, 2));
    else {
      const lines = r.positions.map((p) => `${p.symbol.padEnd(10)} ${num(p.qty, 8).padStart(14)}  avg ${num(p.avgPx, 8).padStart(12)}  realized ${num(p.realizedPnl).padStart(14)} ${p.currency}`);
      for (const [ccy, cash] of Object.entries(r.account.cash)) lines.push(`cash ${ccy} ${num(cash)}, realized P&L ${num(r.account.realizedPnl[ccy] ?? 0)}`);
      write(lines.length > 0 ? lines.join('\n') : 'no positions and no cash');
    }
    return 0;
  });
}

export function alertsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, all: { type: 'boolean', default: false } });
  if (positionals.length > 0) throw new UsageError(`alerts takes no arguments, got "${positionals.join(' ')}"`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ open: Alert[]; recent: Alert[] }>(ep, 'GET', '/alerts');
    const list = values.all === true ? [...r.open, ...r.recent] : r.open;
    if (values.json === true) write(JSON.stringify(values.all === true ? r : { open: r.open }, null, 2));
    else if (list.length === 0) write(values.all === true ? 'no alerts' : 'no open alerts');
    else write(list.map((a) => `${a.id.padEnd(24)} ${a.level} ${a.state.padEnd(12)} x${a.count} ${new Date(a.lastSeen).toISOString()}  ${a.message}`).join('\n'));
    return 0;
  });
}

/** `tradecore halt|reduce|resume|safe-stop --note TEXT`. */
export function tradingStateCommand(action: 'halt' | 'reduce' | 'resume' | 'safe-stop', argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, note: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`${action} takes no arguments, got "${positionals.join(' ')}"`);
  const note = typeof values.note === 'string' ? values.note.trim() : '';
  if (note === '') throw new UsageError(`${action} needs --note TEXT: say why (it is journaled with the change)`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ tradingState: string; safeStop?: SafeStopResult }>(ep, 'POST', '/trading-state', { action, reason: note });
    const ss = r.safeStop;
    const extra = ss === undefined ? '' : `; ${ss.cancelsSent} cancel(s) sent, ${ss.alreadyPending} already pending, ${ss.failed.length} could not be sent${ss.failed.map((f) => `\n  ${f.clientOrderId}: ${f.reason} ${f.detail}`).join('')}`;
    write(values.json === true ? JSON.stringify(r, null, 2) : `trading state ${r.tradingState}${extra}`);
    return ss !== undefined && ss.failed.length > 0 ? 1 : 0;
  });
}

/** `tradecore config rollback HASH --note T`: POST /config/rollback on the running service. */
export function configRollbackCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, note: { type: 'string' }, who: { type: 'string' } });
  const [hash, ...extra] = positionals;
  if (hash === undefined || extra.length > 0) throw new UsageError('usage: tradecore config rollback HASH --note TEXT [--who NAME]');
  const note = typeof values.note === 'string' ? values.note.trim() : '';
  if (note === '') throw new UsageError('config rollback needs --note TEXT: say why (it is journaled with the change)');
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ rolledBackTo: string; config: string; restartNeeded: string[] }>(ep, 'POST', '/config/rollback', { hash, note, who: who(values as { who?: string }) });
    write(values.json === true ? JSON.stringify(r, null, 2) : `risk limits of ${r.rolledBackTo} in force (config ${r.config})${r.restartNeeded.length > 0 ? `; differ but only applied at a restart: ${r.restartNeeded.join(', ')}` : ''}`);
    return 0;
  });
}

interface RolloutView {
  stage: string;
  stages: string[];
  next?: string;
  limits: Record<string, unknown>;
  cleanDays: number;
  todayDirty: string[];
  lossCapHit: boolean;
  dayPnl: number;
  dayTraded: number;
  promotion: { allowed: boolean; missing: string[] };
  history: Array<{ from: string; to: string; who: string; note: string; time: number }>;
}

function formatRollout(r: RolloutView): string {
  const { name: _n, ...limits } = r.limits;
  return [
    `rollout stage ${r.stage} (${r.stages.map((s) => (s === r.stage ? `[${s}]` : s)).join(' → ')})`,
    `  limits        ${Object.keys(limits).length === 0 ? 'none (full)' : JSON.stringify(limits)}`,
    `  today         P&L ${r.dayPnl}, traded ${r.dayTraded}${r.lossCapHit ? ', LOSS CAP HIT' : ''}${r.todayDirty.length > 0 ? `, not clean: ${r.todayDirty.join(', ')}` : ''}`,
    `  clean days    ${r.cleanDays} in a row`,
    `  promotion     ${r.next === undefined ? 'none (last stage)' : r.promotion.allowed ? `allowed to ${r.next}` : `to ${r.next} refused: ${r.promotion.missing.join('; ')}`}`,
    ...r.history.map((h) => `  ${new Date(h.time).toISOString()}  ${h.from} → ${h.to} by ${h.who}: ${h.note}`),
  ].join('\n');
}

/** `tradecore rollout status|promote`: GET /rollout, POST /rollout/promote. */
export function rolloutCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, note: { type: 'string' }, who: { type: 'string' } });
  const [sub, ...extra] = positionals;
  if ((sub !== 'status' && sub !== 'promote') || extra.length > 0) throw new UsageError('usage: tradecore rollout status [--json] | rollout promote --note TEXT [--who NAME]');
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  if (sub === 'status') {
    return guarded(async () => {
      const r = await call<RolloutView>(ep, 'GET', '/rollout');
      write(values.json === true ? JSON.stringify(r, null, 2) : formatRollout(r));
      return 0;
    });
  }
  const note = typeof values.note === 'string' ? values.note.trim() : '';
  if (note === '') throw new UsageError('rollout promote needs --note TEXT: say why (it is journaled with the promotion)');
  return guarded(async () => {
    const r = await call<{ from: string; to: string; rollout: RolloutView }>(ep, 'POST', '/rollout/promote', { note, who: who(values as { who?: string }) });
    write(values.json === true ? JSON.stringify(r, null, 2) : `rollout promoted ${r.from} → ${r.to}\n${formatRollout(r.rollout)}`);
    return 0;
  });
}

/** `tradecore fallback paper|safe-stop|live --note T`: POST /fallback. */
export function fallbackCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, note: { type: 'string' }, who: { type: 'string' } });
  const [mode, ...extra] = positionals;
  if ((mode !== 'paper' && mode !== 'safe-stop' && mode !== 'live') || extra.length > 0) throw new UsageError('usage: tradecore fallback paper|safe-stop|live --note TEXT [--who NAME]');
  const note = typeof values.note === 'string' ? values.note.trim() : '';
  if (note === '') throw new UsageError(`fallback ${mode} needs --note TEXT: say why (it is journaled with the switch)`);
  const ep = endpoint(values as { url?: string; 'token-file'?: string });
  return guarded(async () => {
    const r = await call<{ from: string; mode: string; changed: boolean; tradingState: string; paperCancels: number; liveOrders: { cancelsSent: number; alreadyPending: number; kept: number; failed: Array<{ clientOrderId: string; reason: string; detail: string }> } }>(
      ep, 'POST', '/fallback', { mode, note, who: who(values as { who?: string }) });
    const lo = r.liveOrders;
    const text = `mode ${r.mode}${r.changed ? ` (was ${r.from})` : ' (unchanged)'}, trading state ${r.tradingState}; live orders: ${lo.cancelsSent} cancel(s) sent, ${lo.alreadyPending} already pending, ${lo.kept} kept, ${lo.failed.length} could not be sent${r.paperCancels > 0 ? `; ${r.paperCancels} paper order(s) cancelled` : ''}${lo.failed.map((f) => `\n  ${f.clientOrderId}: ${f.reason} ${f.detail}`).join('')}`;
    write(values.json === true ? JSON.stringify(r, null, 2) : text);
    return lo.failed.length > 0 ? 1 : 0;
  });
}
