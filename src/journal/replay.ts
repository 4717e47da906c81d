/**
 * Replay: run a recorded stream through a fresh engine and report the orders, trades and
 * positions it ends with. Two inputs:
 * - a journal (its directory, one segment `.tcj`, or an archive `.tcj.gz`): the records are
 *   applied as crash recovery applies them;
 * - the event format (JSON Lines, docs/journal.md): submits, cancels and broker reports with
 *   times, run through the engine's public API against a broker that records and never answers.
 *
 * Parsing checks every record and collects a problem per bad one (file, record index, reason);
 * the good records are all replayed. Files above a size threshold are parsed in a piscina worker.
 */
import { JournalFormatError, checkDataFormat } from './data-format.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Piscina } from 'piscina';
import { RecordingBroker } from '../brokers/recording-broker.js';
import { ManualClock } from '../core/clock.js';
import { createEngine, type Engine, type EngineStats } from '../engine.js';
import { instrumentProblems, type InstrumentSpec } from '../domain/instrument.js';
import type { Order, OrderRequest } from '../domain/order.js';
import type { BrokerReport, Trade } from '../domain/report.js';
import type { Position } from '../core/ledger.js';
import { validateReport } from '../core/report-validation.js';
import type { StrategyCallbacks } from '../strategy.js';
import type { EngineConfig } from '../config.js';
import type { Logger } from '../ops/logger.js';
import { pino } from 'pino';
import { archiveRange } from './compaction.js';
import { RECORD_KINDS, SEGMENT_PREFIX, SEGMENT_SUFFIX, journalPackr, reportOf, scanSegment, seqOf, type JournalRecord, type ReportRecord } from './format.js';
import { workerFile } from './worker-file.js';

export const EVENTS_FORMAT = 'tradecore-events/1';

/** One event of the JSON Lines format, checked. */
export type ReplayEvent =
  | { event: 'submit'; t: number; order: OrderRequest; index: number }
  | { event: 'cancel'; t: number; clientOrderId: string; index: number }
  | { event: 'report'; t: number; report: BrokerReport; index: number };

/** A record that could not be used: which file, which record (line for JSON Lines, seq for a journal), why. */
export interface ReplayProblem {
  file: string;
  index: number;
  reason: string;
}

export interface ParsedReplay {
  file: string;
  format: 'events' | 'journal';
  instruments: InstrumentSpec[] | undefined;
  events: ReplayEvent[];
  records: Array<{ seq: number; rec: JournalRecord }>;
  problems: ReplayProblem[];
}

export interface ReplayResult {
  file: string;
  format: 'events' | 'journal';
  /** Events (or journal records) applied. */
  events: number;
  problems: ReplayProblem[];
  orders: Order[];
  trades: Trade[];
  positions: Position[];
  stats: Pick<EngineStats, 'reports' | 'duplicateReports' | 'staleReports' | 'invalidTransitions' | 'malformedReports' | 'unknownOrders' | 'overfills' | 'fills' | 'rejects' | 'denied' | 'deniedByReason'>;
}

const SUBMIT_KEYS = new Set(['t', 'event', 'clientOrderId', 'symbol', 'side', 'qty', 'price', 'type', 'tif', 'reduceOnly']);

function time(v: unknown): number | string {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms;
  }
  return `t must be epoch ms or an ISO 8601 time, got ${JSON.stringify(v)}`;
}

/** Check one parsed line of the event format; the event, or why not. */
export function checkEvent(o: unknown, index: number): ReplayEvent | string {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'an event must be a JSON object';
  const e = o as Record<string, unknown>;
  const t = time(e.t);
  if (typeof t === 'string') return t;
  switch (e.event) {
    case 'submit': {
      for (const k of Object.keys(e)) if (!SUBMIT_KEYS.has(k)) return `submit: unknown field ${k}`;
      if (typeof e.clientOrderId !== 'string' || e.clientOrderId === '') return 'submit: clientOrderId must be a non-empty string';
      if (typeof e.symbol !== 'string') return 'submit: symbol must be a string';
      if (e.side !== 'buy' && e.side !== 'sell') return `submit: side must be buy or sell, got ${JSON.stringify(e.side)}`;
      if (typeof e.qty !== 'number') return `submit: qty must be a number, got ${JSON.stringify(e.qty)}`;
      if (e.price !== undefined && typeof e.price !== 'number') return `submit: price must be a number, got ${JSON.stringify(e.price)}`;
      const { t: _t, event: _e, ...order } = e;
      return { event: 'submit', t, order: order as unknown as OrderRequest, index };
    }
    case 'cancel':
      if (typeof e.clientOrderId !== 'string' || e.clientOrderId === '') return 'cancel: clientOrderId must be a non-empty string';
      return { event: 'cancel', t, clientOrderId: e.clientOrderId, index };
    case 'report': {
      const { t: _t, event: _e, ...report } = e;
      const bad = validateReport(report as unknown as BrokerReport);
      if (bad !== undefined) return `report: ${bad}`;
      return { event: 'report', t, report: report as unknown as BrokerReport, index };
    }
    default:
      return `unknown event kind ${JSON.stringify(e.event)} (expected submit, cancel or report)`;
  }
}

/** Parse the event format (JSON Lines). */
export function parseEvents(file: string, text: string): ParsedReplay {
  const out: ParsedReplay = { file, format: 'events', instruments: undefined, events: [], records: [], problems: [] };
  const lines = text.split('\n');
  // a file that does not end in a newline was cut short mid-line, unless its last line parses
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const index = i + 1;
    if (line === '' || line.startsWith('#')) continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (err) {
      const last = i === lines.length - 1;
      out.problems.push({ file, index, reason: last ? `truncated: the last line is not complete JSON (${(err as Error).message})` : `not JSON: ${(err as Error).message}` });
      continue;
    }
    const header = o as Record<string, unknown> | null;
    if (header !== null && typeof header === 'object' && 'format' in header) {
      if (out.events.length > 0 || out.instruments !== undefined) {
        out.problems.push({ file, index, reason: 'a header line may only come first' });
        continue;
      }
      if (header.format !== EVENTS_FORMAT) {
        out.problems.push({ file, index, reason: `unknown format ${JSON.stringify(header.format)} (expected ${EVENTS_FORMAT})` });
        continue;
      }
      const inst = header.instruments;
      const problems = Array.isArray(inst) ? inst.flatMap((s, k) => instrumentProblems(s, `instruments[${k}]`)) : ['instruments: must be an array'];
      if (problems.length > 0) out.problems.push({ file, index, reason: `header: ${problems.join('; ')}` });
      else out.instruments = inst as InstrumentSpec[];
      continue;
    }
    const ev = checkEvent(o, index);
    if (typeof ev === 'string') out.problems.push({ file, index, reason: ev });
    else out.events.push(ev);
  }
  return out;
}

/** Why a decoded journal record cannot be applied, or undefined. */
function recordProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return 'not a record';
  const rec = r as Record<string, unknown>;
  if (!RECORD_KINDS.includes(rec.k as JournalRecord['k'])) return `unknown record kind ${JSON.stringify(rec.k)}`;
  if (typeof rec.t !== 'number') return `${String(rec.k)}: t must be a number`;
  const str = (k: string) => (typeof rec[k] === 'string' && rec[k] !== '' ? undefined : `${String(rec.k)}: ${k} must be a non-empty string`);
  const num = (k: string) => (typeof rec[k] === 'number' ? undefined : `${String(rec.k)}: ${k} must be a number, got ${JSON.stringify(rec[k])}`);
  switch (rec.k) {
    case 'intent':
      return str('id') ?? num('i') ?? num('side') ?? num('type') ?? num('tif') ?? num('qty') ?? num('px');
    case 'unsent':
    case 'cancel':
      return str('id');
    case 'cancel-unsent':
      return str('id') ?? num('st');
    case 'report': {
      const bad = validateReport(reportOf(rec as unknown as ReportRecord));
      return bad === undefined ? undefined : `report: ${bad}`;
    }
    case 'state':
      return rec.to === 'Active' || rec.to === 'Reducing' || rec.to === 'Halted' ? undefined : `state: unknown trading state ${JSON.stringify(rec.to)}`;
    case 'open':
      return Array.isArray(rec.instruments) ? undefined : 'open: instruments must be an array';
    case 'day':
      return str('day') ?? str('next');
    case 'adopt':
      return str('b');
    case 'central':
      return str('cmd') ?? (typeof rec.ok === 'boolean' ? undefined : 'central: ok must be true or false');
    case 'recon': {
      const ev = rec.ev as Record<string, unknown> | null;
      if (typeof ev !== 'object' || ev === null || !['raise', 'fix', 'resolve', 'ack', 'clear', 'action', 'run'].includes(ev.op as string)) return `recon: unknown event ${JSON.stringify(ev)}`;
      if (ev.op === 'raise') return typeof (ev.diff as { id?: unknown } | null)?.id === 'string' ? undefined : 'recon: raise without a diff id';
      if (ev.op === 'fix' && !Array.isArray(ev.adjust)) return 'recon: fix without its adjustments';
      return ev.op === 'action' || ev.op === 'run' || typeof ev.id === 'string' ? undefined : `recon: ${String(ev.op)} without a diff id`;
    }
    default:
      return undefined;
  }
}

/** The journal files of a path (a directory, a segment or an archive), in seq order. */
function journalFiles(file: string): Array<{ path: string; first: number; gz: boolean }> {
  const st = fs.statSync(file);
  const one = (p: string) => {
    const name = path.basename(p);
    const a = archiveRange(name);
    if (a !== undefined) return { path: p, first: a.first, gz: true };
    const s = seqOf(name, SEGMENT_PREFIX, SEGMENT_SUFFIX);
    return s >= 0 ? { path: p, first: s, gz: false } : undefined;
  };
  if (!st.isDirectory()) return [one(file) ?? { path: file, first: 0, gz: file.endsWith('.gz') }];
  return fs
    .readdirSync(file)
    .map((n) => one(path.join(file, n)))
    .filter((x): x is { path: string; first: number; gz: boolean } => x !== undefined)
    .sort((a, b) => a.first - b.first);
}

/** Parse a journal: every readable record, a problem for every damaged stretch or bad record. */
export function parseJournal(file: string): ParsedReplay {
  const out: ParsedReplay = { file, format: 'journal', instruments: undefined, events: [], records: [], problems: [] };
  // a journal a newer release wrote is not read at all (its records may mean what this build does not know)
  if (fs.statSync(file).isDirectory()) {
    try {
      checkDataFormat(file);
    } catch (err) {
      if (!(err instanceof JournalFormatError)) throw err;
      out.problems.push({ file, index: 0, reason: err.message });
      return out;
    }
  }
  const files = journalFiles(file);
  if (files.length === 0) out.problems.push({ file, index: 0, reason: 'no journal segments (journal-*.tcj) or archives (archive-*.tcj.gz) here' });
  const packr = journalPackr();
  let expected = 0;
  for (const f of files) {
    if (f.first > expected) out.problems.push({ file: f.path, index: expected, reason: `records ${expected} to ${f.first - 1} are not in this journal (compacted with compaction: delete?); replay goes on from record ${f.first}` });
    let buf: Buffer;
    try {
      buf = fs.readFileSync(f.path);
      if (f.gz) buf = zlib.gunzipSync(buf);
    } catch (err) {
      out.problems.push({ file: f.path, index: f.first, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const scan = scanSegment(buf, true);
    for (const range of scan.skipped) out.problems.push({ file: f.path, index: f.first, reason: `damaged bytes ${range.from} to ${range.to} skipped (a record or more lost there)` });
    if (scan.damage !== undefined) out.problems.push({ file: f.path, index: f.first + scan.payloads.length, reason: `truncated: ${scan.damage.reason} at offset ${scan.damage.offset}` });
    let seq = f.first;
    for (const p of scan.payloads) {
      // an archive and a segment may overlap (a compaction cut short): each record once
      if (seq < expected) {
        seq++;
        continue;
      }
      let rec: unknown;
      try {
        rec = packr.unpack(p);
      } catch (err) {
        out.problems.push({ file: f.path, index: seq++, reason: `does not decode: ${(err as Error).message}` });
        continue;
      }
      const bad = recordProblem(rec);
      if (bad !== undefined) out.problems.push({ file: f.path, index: seq, reason: bad });
      else {
        const r = rec as JournalRecord;
        if (r.k === 'open' && out.instruments === undefined) out.instruments = r.instruments;
        out.records.push({ seq, rec: r });
      }
      seq++;
    }
    expected = Math.max(expected, seq);
  }
  return out;
}

/** Parse any replay input by its kind: a directory or `.tcj` / `.tcj.gz` is a journal, anything else the event format. */
export function parseReplayFile(file: string): ParsedReplay {
  const st = fs.statSync(file);
  if (st.isDirectory() || file.endsWith('.tcj') || file.endsWith('.tcj.gz')) return parseJournal(file);
  return parseEvents(file, fs.readFileSync(file, 'utf8'));
}

/** Bytes of input (a directory: its journal files) above which parsing goes to a worker thread. */
export const WORKER_THRESHOLD = 1024 * 1024;

function inputBytes(file: string): number {
  const st = fs.statSync(file);
  if (!st.isDirectory()) return st.size;
  return journalFiles(file).reduce((n, f) => n + fs.statSync(f.path).size, 0);
}

/** Parse, in a piscina worker when the input is larger than `threshold` bytes. */
export async function parseReplay(file: string, threshold = WORKER_THRESHOLD): Promise<ParsedReplay & { parsedIn: 'worker' | 'main' }> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file or directory`);
  if (inputBytes(file) <= threshold) return { ...parseReplayFile(file), parsedIn: 'main' };
  const pool = new Piscina({ filename: workerFile('replay-worker.js'), maxThreads: 1, minThreads: 0 });
  try {
    return { ...((await pool.run(file)) as ParsedReplay), parsedIn: 'worker' };
  } finally {
    await pool.destroy();
  }
}

export interface ReplayOptions {
  /** Instruments when the input names none (no header, no journal open record). */
  instruments?: InstrumentSpec[];
  /**
   * The rest of an engine config for the replaying engine (`replay --config`): risk, markets,
   * the trading day, limits, cash. Its instruments count only when the input names none.
   */
  engineConfig?: Omit<Partial<EngineConfig>, 'instruments'>;
  /** Called every `progressEvery` events and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
  logger?: Logger;
}

/** Run parsed input through a fresh engine. Deterministic: the same input gives the same result. */
export async function runReplay(parsed: ParsedReplay, options: ReplayOptions = {}): Promise<ReplayResult> {
  const instruments = parsed.instruments ?? options.instruments;
  if (instruments === undefined || instruments.length === 0) {
    throw new Error(`${parsed.file}: no instruments: start the file with a header line {"format":"${EVENTS_FORMAT}","instruments":[...]} or pass --config`);
  }
  const first = parsed.format === 'events' ? parsed.events[0]?.t : parsed.records[0]?.rec.t;
  const total = parsed.format === 'events' ? parsed.events.length : parsed.records.length;
  const trades: Trade[] = [];
  const { engine, moveTo } = replayEngine(instruments, total, first ?? 0, { onTrade: (t) => void trades.push(t.toObject()) }, options.logger, options.engineConfig);
  const every = options.progressEvery ?? 4096;
  const problems = [...parsed.problems];
  if (parsed.format === 'journal') {
    for (let i = 0; i < parsed.records.length; i++) {
      const { seq, rec } = parsed.records[i]!;
      moveTo(rec.t);
      try {
        engine.replayJournalRecord(rec);
      } catch (err) {
        problems.push({ file: parsed.file, index: seq, reason: (err as Error).message });
      }
      if ((i + 1) % every === 0) options.onProgress?.(i + 1, total);
    }
  } else {
    await engine.start();
    for (let i = 0; i < parsed.events.length; i++) {
      const ev = parsed.events[i]!;
      moveTo(ev.t);
      if (ev.event === 'submit') {
        const r = engine.submit(ev.order);
        if (r.status === 'denied') problems.push({ file: parsed.file, index: ev.index, reason: `submit ${r.clientOrderId} denied: ${r.reason} ${r.detail}` });
      } else if (ev.event === 'cancel') {
        const r = engine.cancel(ev.clientOrderId);
        if (r.status === 'denied') problems.push({ file: parsed.file, index: ev.index, reason: `cancel ${r.clientOrderId} denied: ${r.reason} ${r.detail}` });
      } else engine.onReport(ev.report);
      if ((i + 1) % every === 0) options.onProgress?.(i + 1, total);
    }
    // reports still waiting for an ack settle as a running engine would settle them
    moveTo(engine.clock.now() + engine.limits.parkMs);
    await engine.stop();
  }
  if (parsed.format === 'journal') moveTo(engine.clock.now() + engine.limits.parkMs);
  options.onProgress?.(total, total);
  const s = engine.stats();
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.index - b.index));
  return {
    file: parsed.file,
    format: parsed.format,
    events: total,
    problems,
    orders: engine.orders(),
    trades,
    positions: engine.positions(),
    stats: {
      reports: s.reports, duplicateReports: s.duplicateReports, staleReports: s.staleReports, invalidTransitions: s.invalidTransitions, malformedReports: s.malformedReports,
      unknownOrders: s.unknownOrders, overfills: s.overfills, fills: s.fills, rejects: s.rejects, denied: s.denied, deniedByReason: s.deniedByReason,
    },
  };
}

/**
 * A fresh engine to replay `events` events into: a broker that records and never answers, a
 * manual clock from `start` that `moveTo` moves forward (never back), every order kept.
 */
export function replayEngine(instruments: InstrumentSpec[], events: number, start: number, strategy?: StrategyCallbacks, logger?: Logger, base: Omit<Partial<EngineConfig>, 'instruments'> = {}): { engine: Engine; moveTo: (t: number) => void } {
  const clock = new ManualClock(start);
  // what would make a replay talk to the world or keep less than it saw stays the replay's own
  const { journal: _j, recon: _r, connection: _c, capacity: _cap, retentionMs: _ret, broker: _b, clock: _clk, ...rest } = base;
  const engine = createEngine({
    ...rest,
    instruments,
    broker: new RecordingBroker('replay', clock),
    clock,
    logger: logger ?? pino({ level: 'silent' }),
    connection: { heartbeatMs: 0 },
    // a replay keeps every order it saw, however long the stream
    retentionMs: Number.MAX_SAFE_INTEGER,
    // at least the config's own (its limits are sized to it)
    capacity: Math.max(capacityFor(events), base.capacity ?? 0),
    ...(strategy !== undefined ? { strategy } : {}),
  });
  const moveTo = (t: number) => {
    if (t > clock.now()) clock.advance(t - clock.now());
  };
  return { engine, moveTo };
}

/** Slots for `n` events: every event could be a new order. */
function capacityFor(n: number): number {
  let c = 1024;
  while (c < n && c < 1 << 24) c *= 2;
  return c;
}
