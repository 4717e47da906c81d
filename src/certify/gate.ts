/**
 * The go-live gate (docs/go-live.md): section 9 of the production checklist answered line by
 * line from files on disk, never from a flag:
 *
 *   9.1 100% pass on the critical-path suite: DIR/certify/summary.json and its case records;
 *   9.2 a full trading day without unresolved state diffs: a `tradecore run` data directory
 *       (DIR/day, or --journal): its journal, the day's end-of-day report, the recon runs;
 *   9.3 no unresolved critical alerts: that data directory's alert journal (alerts.jsonl);
 *   9.4 the rollback plan tested: DIR/rollback-drill.json (`tradecore release drill`).
 *
 * The decision is written as DIR/gate.json and DIR/gate.html with the sha256 of every file read.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TradingDay, type TradingDaySpec } from '../domain/trading-day.js';
import { TradingCalendar, type MarketCalendarSpec } from '../risk/calendar.js';
import { parseJournal } from '../journal/replay.js';
import { openInAlertJournal } from '../ops/alerts.js';
import { REPORT_STYLE, esc, htmlTable } from '../recon/eod.js';
import { tradecoreVersion } from '../version.js';
import { SUITE, SUITE_VERSION } from './suite.js';
import type { CaseRecord, CertifySummary } from './run.js';

/** What the configuration says the gate needs (config file section `gate`). */
export interface GatePolicy {
  /** 9.1: the newest certify run may be this old at most, hours. Default 168 (a week). */
  maxCertifyAgeHours?: number;
  /** 9.1: cases that must have run: a skip of one fails the gate. Default none. */
  requiredCases?: string[];
  /** The adapter the evidence is about: certify's `--adapter` and the day's broker. Default: the certify summary's. */
  adapter?: string;
}

export interface GateOptions extends GatePolicy {
  /** The evidence directory. */
  evidence: string;
  /** The day's `tradecore run` data directory (or its journal directory). Default DIR/day. */
  journal?: string;
  /** The release the evidence must be of. Default this build's version. */
  release?: string;
  /** The trading day and markets of the config the day ran with (the day's open; default: the day's start). */
  tradingDay?: TradingDaySpec;
  markets?: Record<string, MarketCalendarSpec>;
  /** The recon interval the day ran with, ms (runs on schedule: no gap over twice it). Default: inferred from the runs. */
  reconIntervalMs?: number;
  /** Now, epoch ms (tests). */
  now?: number;
}

export interface GateLine {
  readonly line: '9.1' | '9.2' | '9.3' | '9.4';
  readonly title: string;
  pass: boolean;
  /** What was read and found. */
  readonly evidence: string[];
  /** Why it does not pass (empty when it does). */
  readonly reasons: string[];
}

export interface GateDecision {
  readonly gate: 1;
  readonly release: string;
  readonly adapter: string;
  readonly decidedAt: string;
  pass: boolean;
  readonly lines: GateLine[];
  /** Every file read, with its hash. */
  readonly files: Array<{ path: string; sha256: string; bytes: number }>;
}

const DAY_MS = 86_400_000;

/** Evaluate the gate (reads only); `writeDecision` puts it beside the evidence. */
export function evaluateGate(o: GateOptions): GateDecision {
  const dir = path.resolve(o.evidence);
  const release = o.release ?? tradecoreVersion();
  const now = o.now ?? Date.now();
  const files = new Map<string, { sha256: string; bytes: number }>();
  const read = (file: string): Buffer | undefined => {
    try {
      const buf = fs.readFileSync(file);
      files.set(path.relative(dir, file) || file, { sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length });
      return buf;
    } catch {
      return undefined;
    }
  };
  const json = <T>(file: string, line: GateLine, what: string): T | undefined => {
    const buf = read(file);
    if (buf === undefined) {
      line.reasons.push(`${what} ${file} is missing`);
      return undefined;
    }
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch (err) {
      line.reasons.push(`${what} ${file} is not JSON: ${(err as Error).message}`);
      return undefined;
    }
  };
  const mk = (line: GateLine['line'], title: string): GateLine => ({ line, title, pass: false, evidence: [], reasons: [] });

  // 9.1 the critical-path suite
  const l1 = mk('9.1', '100% pass on the critical-path suite');
  const summary = json<CertifySummary>(path.join(dir, 'certify', 'summary.json'), l1, 'the certify summary');
  let adapter = o.adapter ?? summary?.adapter ?? '(unknown)';
  if (summary !== undefined) {
    if (summary.certify !== 1) l1.reasons.push(`the certify summary is not one this build reads (certify ${String(summary.certify)})`);
    l1.evidence.push(`certify of ${summary.adapter}, suite ${summary.suite}, tradecore ${summary.tradecore}, finished ${summary.finishedAt}: cases ${summary.cases?.passed} passed, ${summary.cases?.failed} failed, ${summary.cases?.skipped} skipped; drills ${summary.drills?.run} run, ${summary.drills?.failed} failed`);
    if (o.adapter !== undefined && summary.adapter !== o.adapter) l1.reasons.push(`the certify run is of adapter ${summary.adapter}, the gate is for ${o.adapter}`);
    adapter = o.adapter ?? summary.adapter;
    if (summary.tradecore !== release) l1.reasons.push(`the certify run is of release ${summary.tradecore}, not ${release}`);
    if (summary.suite !== SUITE_VERSION) l1.reasons.push(`the certify run is of suite ${summary.suite}; this release's is ${SUITE_VERSION}`);
    const age = now - Date.parse(summary.finishedAt);
    const maxH = o.maxCertifyAgeHours ?? 168;
    if (!Number.isFinite(age)) l1.reasons.push(`the certify summary's finishedAt ${JSON.stringify(summary.finishedAt)} is not a time`);
    else if (age > maxH * 3_600_000) l1.reasons.push(`the certify run finished ${(age / 3_600_000).toFixed(1)} h ago, more than the ${maxH} h allowed (gate.maxCertifyAgeHours)`);
    if (summary.cases?.failed !== 0 || summary.drills?.failed !== 0 || summary.ok !== true) l1.reasons.push(`failed: cases ${(summary.cases?.failedIds ?? []).join(', ') || '(none)'}, drills ${(summary.drills?.failedSeeds ?? []).join(', ') || '(none)'}`);
    // the summary agrees with the case records it stands for, and they cover the whole suite
    const verdicts = new Map<string, string>();
    for (const c of SUITE) {
      const rec = json<CaseRecord>(path.join(dir, 'certify', 'cases', `${c.id}.json`), l1, `case record ${c.id}`);
      if (rec === undefined) continue;
      verdicts.set(c.id, rec.verdict);
      if (rec.id !== c.id) l1.reasons.push(`case record ${c.id}.json is of case ${rec.id}`);
      if (rec.verdict === 'failed') l1.reasons.push(`case ${c.id} failed: ${rec.reason}`);
    }
    const count = (v: string) => [...verdicts.values()].filter((x) => x === v).length;
    if (verdicts.size === SUITE.length && (count('passed') !== summary.cases?.passed || count('skipped') !== summary.cases?.skipped)) {
      l1.reasons.push(`the case records (${count('passed')} passed, ${count('skipped')} skipped) do not match the summary (${summary.cases?.passed} passed, ${summary.cases?.skipped} skipped)`);
    }
    for (const id of o.requiredCases ?? []) {
      if (!SUITE.some((c) => c.id === id)) l1.reasons.push(`gate.requiredCases names ${id}, which suite ${SUITE_VERSION} does not have`);
      else if (verdicts.get(id) === 'skipped') l1.reasons.push(`required case ${id} was skipped (gate.requiredCases)`);
    }
    const skipped = [...verdicts].filter(([, v]) => v === 'skipped').map(([id]) => id);
    if (skipped.length > 0) l1.evidence.push(`skipped (the adapter cannot): ${skipped.join(', ')}`);
  }
  l1.pass = l1.reasons.length === 0;

  // 9.2 a full trading day
  const l2 = mk('9.2', 'at least one full trading day without unresolved state diffs');
  let data = path.resolve(o.journal ?? path.join(dir, 'day'));
  let journalDir = path.join(data, 'journal');
  if (!fs.existsSync(journalDir) && fs.existsSync(path.join(data, 'FORMAT'))) {
    journalDir = data;
    data = path.dirname(data);
  }
  if (!fs.existsSync(journalDir)) l2.reasons.push(`no journal at ${journalDir} (a tradecore run data directory: --journal, or DIR/day)`);
  else dayLine(l2, journalDir, data, adapter, release, o, read);
  l2.pass = l2.reasons.length === 0;

  // 9.3 no unresolved critical alerts
  const l3 = mk('9.3', 'no unresolved critical alerts');
  const alertsFile = path.join(data, 'alerts.jsonl');
  const alerts = read(alertsFile);
  if (alerts === undefined) l3.reasons.push(`the alert journal ${alertsFile} is missing`);
  else {
    const a = openInAlertJournal(alerts.toString('utf8'));
    l3.evidence.push(`${alertsFile}: ${a.events} alert events, ${a.open.length} P0/P1 alert(s) open at its end`);
    for (const x of a.open) l3.reasons.push(`open ${x.level} alert ${x.id}: ${x.message}`);
    if (a.bad.length > 0) l3.reasons.push(`the alert journal has lines that are not alert events: ${a.bad.slice(0, 5).join(', ')}`);
  }
  l3.pass = l3.reasons.length === 0;

  // 9.4 the rollback plan, tested
  const l4 = mk('9.4', 'the rollback plan tested and executable');
  const drill = json<{ drill?: string; tradecore?: string; ok?: boolean; finishedAt?: string; releases?: Record<string, string>; root?: string; problems?: string[] }>(path.join(dir, 'rollback-drill.json'), l4, 'the rollback drill record');
  if (drill !== undefined) {
    l4.evidence.push(`rollback drill of tradecore ${drill.tradecore}, finished ${drill.finishedAt}: ${drill.ok === true ? 'passed' : 'FAILED'}, releases ${Object.keys(drill.releases ?? {}).join(', ')}`);
    if (drill.drill !== 'release-rollback') l4.reasons.push(`rollback-drill.json is not a rollback drill record (drill ${JSON.stringify(drill.drill)})`);
    if (drill.ok !== true) l4.reasons.push(`the rollback drill failed: ${(drill.problems ?? []).join('; ') || 'ok is not true'}`);
    if (drill.tradecore !== release) l4.reasons.push(`the rollback drill is of release ${drill.tradecore}, not ${release}`);
    const rel = drill.releases ?? {};
    if (Object.keys(rel).length === 0) l4.reasons.push('the rollback drill names no release directory');
    for (const [role, name] of Object.entries(rel)) {
      const d = path.isAbsolute(name) ? name : drill.root !== undefined ? path.join(drill.root, 'releases', name) : undefined;
      if (d === undefined) l4.reasons.push(`the rollback drill record names release ${name} (${role}) but no release root`);
      else if (read(path.join(d, 'manifest.json')) === undefined) l4.reasons.push(`release ${name} (${role}) of the drill is gone: ${d} has no manifest.json`);
      else l4.evidence.push(`release ${role}: ${d} present`);
    }
  }
  l4.pass = l4.reasons.length === 0;

  const lines = [l1, l2, l3, l4];
  return {
    gate: 1, release, adapter, decidedAt: new Date(now).toISOString(), pass: lines.every((l) => l.pass), lines,
    files: [...files].map(([p, f]) => ({ path: p, ...f })).sort((a, b) => a.path.localeCompare(b.path)),
  };
}

/** 9.2 from the journal: a day covered from its open to its roll, on this release and adapter, its report clean, recon on schedule. */
function dayLine(l: GateLine, journalDir: string, data: string, adapter: string, release: string, o: GateOptions, read: (f: string) => Buffer | undefined): void {
  const parsed = parseJournal(journalDir);
  for (const f of fs.readdirSync(journalDir)) if (/\.tcj(\.gz)?$/.test(f)) read(path.join(journalDir, f));
  for (const p of parsed.problems.slice(0, 5)) l.reasons.push(`the journal is damaged: ${p.file} record ${p.index}: ${p.reason}`);
  const recs = parsed.records.map((r) => r.rec);
  const opens = recs.filter((r): r is Extract<typeof r, { k: 'open' }> => r.k === 'open');
  const rolls = recs.filter((r): r is Extract<typeof r, { k: 'day' }> => r.k === 'day');
  l.evidence.push(`${journalDir}: ${recs.length} records, ${opens.length} session(s), day rolls: ${rolls.map((r) => r.day).join(', ') || 'none'}`);
  for (const s of opens) {
    if (s.tc !== release) l.reasons.push(`a session of the journal ran on release ${s.tc ?? '(unrecorded: older than this gate)'}, not ${release} (at ${new Date(s.t).toISOString()})`);
    if (s.broker !== adapter && !s.broker.startsWith(`${adapter}:`)) l.reasons.push(`a session of the journal ran on broker ${s.broker}, not adapter ${adapter} (at ${new Date(s.t).toISOString()})`);
  }
  if (opens.length === 0) l.reasons.push('the journal has no session (no open record)');
  const tday = new TradingDay(o.tradingDay ?? {});
  // the complete days: rolled out of, and covered from their open
  let complete: { day: string; open: number; roll: number } | undefined;
  const why: string[] = [];
  for (const r of rolls) {
    // the roll record is written just after the boundary it rolled at
    const end = tday.lastRoll(r.t);
    const start = tday.lastRoll(end - 1);
    let open = start;
    const inst = opens[0]?.instruments ?? [];
    if (o.markets !== undefined) {
      const opensAt = inst.map((i) => (i.market !== undefined && o.markets![i.market] !== undefined ? new TradingCalendar(o.markets![i.market]!).nextOpenAt(start) : start)).filter((t) => t < r.t);
      if (opensAt.length > 0) open = Math.min(...opensAt);
    }
    const first = recs.find((x) => typeof x.t === 'number')?.t ?? Infinity;
    if (first > open) {
      why.push(`day ${r.day}: the journal begins at ${new Date(first).toISOString()}, after the day's open ${new Date(open).toISOString()}`);
      continue;
    }
    complete = { day: r.day, open, roll: end };
  }
  if (complete === undefined) {
    l.reasons.push(rolls.length === 0 ? 'no trading day rolled in this journal: none is complete' : `no complete trading day: ${why.join('; ')}`);
    return;
  }
  l.evidence.push(`day ${complete.day}: covered from its open ${new Date(complete.open).toISOString()} to its roll ${new Date(complete.roll).toISOString()}`);
  // the day's end-of-day report: every diff resolved
  const reportFile = path.join(data, 'reports', `recon-${complete.day}.json`);
  const buf = read(reportFile);
  if (buf === undefined) l.reasons.push(`the end-of-day report of ${complete.day} (${reportFile}) is missing`);
  else {
    try {
      const rep = JSON.parse(buf.toString('utf8')) as { date?: string; totals?: { diffs?: { total?: number; open?: number } }; orders?: unknown[] };
      if (rep.date !== complete.day) l.reasons.push(`the end-of-day report ${reportFile} is of ${rep.date}, not ${complete.day}`);
      const open = rep.totals?.diffs?.open;
      if (typeof open !== 'number') l.reasons.push(`the end-of-day report ${reportFile} has no diff totals`);
      else if (open > 0) l.reasons.push(`the end-of-day report of ${complete.day}: ${open} diff(s) unresolved`);
      l.evidence.push(`end-of-day report ${complete.day}: ${rep.orders?.length ?? 0} orders, diffs ${rep.totals?.diffs?.total ?? '?'} (open ${open ?? '?'})`);
    } catch (err) {
      l.reasons.push(`the end-of-day report ${reportFile} is not JSON: ${(err as Error).message}`);
    }
  }
  // recon runs on schedule through the day
  const runs = recs.filter((x) => x.k === 'recon' && (x as { ev?: { op?: string } }).ev?.op === 'run' && x.t >= complete!.open && x.t <= complete!.roll).map((x) => x.t);
  if (runs.length === 0) {
    l.reasons.push(`no reconciliation ran during ${complete.day} (recon.intervalMs: runs on a schedule)`);
    return;
  }
  const gaps = [runs[0]! - complete.open, ...runs.slice(1).map((t, i) => t - runs[i]!), complete.roll - runs[runs.length - 1]!];
  const between = gaps.slice(1, -1).sort((a, b) => a - b);
  const interval = o.reconIntervalMs ?? (between.length > 0 ? between[Math.floor(between.length / 2)]! : DAY_MS);
  const worst = Math.max(...gaps);
  l.evidence.push(`reconciliation: ${runs.length} runs during ${complete.day}, interval ${Math.round(interval / 1000)} s${o.reconIntervalMs === undefined ? ' (the median gap)' : ''}, longest gap ${Math.round(worst / 1000)} s`);
  if (worst > 2 * interval + 1000) l.reasons.push(`reconciliation was not on schedule: a gap of ${Math.round(worst / 1000)} s, more than twice the ${Math.round(interval / 1000)} s interval`);
}

/** Write DIR/gate.json and DIR/gate.html. */
export function writeDecision(d: GateDecision, evidence: string): { json: string; html: string } {
  const out = { json: path.join(evidence, 'gate.json'), html: path.join(evidence, 'gate.html') };
  fs.writeFileSync(out.json, `${JSON.stringify(d, null, 2)}\n`);
  fs.writeFileSync(out.html, gateHtml(d));
  return out;
}

const EXTRA = '.m-pass{background:#e3f5e6;color:#1c6b2c}.m-fail{background:#fde4e4;color:#9b1c1c}';

export function gateHtml(d: GateDecision): string {
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Go-live gate ${esc(d.release)}</title><style>${REPORT_STYLE}${EXTRA}</style></head><body>`);
  parts.push(`<h1>Go-live gate ${esc(d.release)}</h1><p>Adapter <code>${esc(d.adapter)}</code>, decided ${esc(d.decidedAt)}.</p>`);
  parts.push(`<p class="sum"><b><span class="m m-${d.pass ? 'pass' : 'fail'}">${d.pass ? 'pass' : 'fail'}</span></b></p>`);
  parts.push('<h2>Lines</h2>');
  parts.push(htmlTable(['verdict', 'line', 'requirement', 'evidence', 'reasons'], d.lines.map((l) => [l.pass ? 'pass' : 'fail', l.line, l.title, l.evidence.join(' / '), l.reasons.join(' / ')]), 0));
  parts.push('<h2>Files read</h2>');
  parts.push(htmlTable(['file', 'bytes', 'sha256'], d.files.map((f) => [f.path, f.bytes, f.sha256])));
  parts.push('</body></html>\n');
  return parts.join('\n');
}
