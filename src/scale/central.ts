/**
 * Central: the firm-wide view across engines (docs/scale-out.md). It consumes the journal
 * stream with a durable consumer and keeps, per engine and in total, orders, fills, positions,
 * cash and P&L, trading and connection states, alerts and diffs; it sends the firm's control
 * messages (halt, reduce, resume) and every engine's gross-exposure share.
 *
 * Its view is derived, never authoritative. Each engine's records run through a replayed
 * engine (the same code as crash recovery and `tradecore replay`), so its positions and cash
 * are the engine's own, exactly. The view is kept in `<dataDir>/central.tcs` with the stream
 * sequence it covers; at a restart central loads it, reads what its durable consumer had
 * delivered past it straight from the stream, then goes on with the durable consumer. It can
 * be rebuilt from the stream at any time (`rebuild`), which a test compares with the live view.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pino } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { RecordingBroker } from '../brokers/recording-broker.js';
import { ManualClock } from '../core/clock.js';
import { createEngine, type Engine } from '../engine.js';
import { decimalsOf } from '../domain/money.js';
import type { Position } from '../core/ledger.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import { journalPackr, type JournalRecord, type OpenRecord } from '../journal/format.js';
import { encodeSnapshot, readSnapshotFile } from '../journal/snapshot-file.js';
import type { Logger } from '../ops/logger.js';
import { signControl, type ControlCommand, type ControlMessage } from './control.js';
import { controlSubject, ensureStream, isToken, natsConnect, natsProblems, natsWithDefaults, parseMsgId, type NatsOptions } from './nats.js';

/** `tradecore central --config F`: the file's sections. Only `nats` is required. */
export interface CentralOptions {
  nats: NatsOptions;
  /** Where central keeps its view (default `./tradecore-central`; `--data-dir`). */
  dataDir?: string;
  /** The durable consumer's name. Default `tradecore-central`. */
  consumer?: string;
  /** The firm-wide gross-exposure limit and its split. */
  firm?: {
    /** The firm's gross notional limit; each engine is told its share. Without it no shares are sent. */
    maxGrossNotional?: number;
    /** Weights per engine id (default: equal among the engines seen); an engine not named gets weight 0 when any is named. */
    shares?: Record<string, number>;
    /** How often shares (central's heartbeat) go out, ms. Default 1000. */
    shareEveryMs?: number;
  };
  /** Control messages signed with the ops token (`token`, default) or left to NATS's permissions (`nats`). */
  auth?: 'token' | 'nats';
  /** The view is saved this often while it changes, ms. Default 1000. */
  snapshotEveryMs?: number;
  /** Order slots of each engine's replayed table. Default 131072. */
  capacity?: number;
  /** The ops endpoint: host (default 127.0.0.1), port (default 8790), token file (or TRADECORE_OPS_TOKEN). */
  ops?: { host?: string; port?: number; tokenFile?: string };
}

export function centralProblems(c: unknown): string[] {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return ['the central config must be an object with at least nats'];
  const o = c as Record<string, unknown>;
  const out: string[] = [];
  const known = ['nats', 'dataDir', 'consumer', 'firm', 'auth', 'snapshotEveryMs', 'capacity', 'ops'];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${k}: unknown section (known: ${known.join(', ')})`);
  out.push(...natsProblems(o.nats, 'nats'));
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir === '')) out.push('dataDir: must be a path');
  if (o.consumer !== undefined && !isToken(o.consumer)) out.push('consumer: letters, digits, - and _ only');
  if (o.auth !== undefined && o.auth !== 'token' && o.auth !== 'nats') out.push('auth: must be token or nats');
  if (o.snapshotEveryMs !== undefined && !(Number.isInteger(o.snapshotEveryMs) && (o.snapshotEveryMs as number) >= 10)) out.push('snapshotEveryMs: must be an integer >= 10');
  if (o.capacity !== undefined && !(Number.isInteger(o.capacity) && (o.capacity as number) >= 2 && ((o.capacity as number) & ((o.capacity as number) - 1)) === 0)) out.push('capacity: must be a power of two');
  const f = o.firm as Record<string, unknown> | undefined;
  if (f !== undefined) {
    if (typeof f !== 'object' || f === null) out.push('firm: must be an object');
    else {
      for (const k of Object.keys(f)) if (!['maxGrossNotional', 'shares', 'shareEveryMs'].includes(k)) out.push(`firm.${k}: unknown option (known: maxGrossNotional, shares, shareEveryMs)`);
      if (f.maxGrossNotional !== undefined && !(typeof f.maxGrossNotional === 'number' && f.maxGrossNotional >= 0 && Number.isFinite(f.maxGrossNotional))) out.push('firm.maxGrossNotional: must be a number >= 0');
      if (f.shareEveryMs !== undefined && !(Number.isInteger(f.shareEveryMs) && (f.shareEveryMs as number) >= 50)) out.push('firm.shareEveryMs: must be an integer >= 50 (ms)');
      if (f.shares !== undefined) {
        if (typeof f.shares !== 'object' || f.shares === null) out.push('firm.shares: must map engine ids to weights');
        else for (const [k, v] of Object.entries(f.shares)) if (!isToken(k) || !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) out.push(`firm.shares.${k}: an engine id and a weight >= 0`);
      }
    }
  }
  const ops = o.ops as Record<string, unknown> | undefined;
  if (ops !== undefined) {
    if (typeof ops !== 'object' || ops === null) out.push('ops: must be an object');
    else {
      for (const k of Object.keys(ops)) if (!['host', 'port', 'tokenFile'].includes(k)) out.push(`ops.${k}: unknown option (known: host, port, tokenFile)`);
      if (ops.port !== undefined && !(Number.isInteger(ops.port) && (ops.port as number) >= 0 && (ops.port as number) <= 65535)) out.push('ops.port: must be a port number');
    }
  }
  return out;
}

/** One engine as central sees it. */
export interface EngineView {
  engineId: string;
  /** The next record seq central expects (records before it are applied). */
  seq: number;
  records: number;
  /** Engine time of the last record, epoch ms (NaN: none). */
  lastT: number;
  environment: string;
  broker: string;
  version: string;
  day: string;
  tradingState: string;
  connection: string;
  mode: string;
  orders: { accepted: number; open: number; fills: number; rejects: number };
  positions: Position[];
  cash: Record<string, number>;
  realizedPnl: Record<string, number>;
  /** Gross notional of the positions at the last fill price central saw for each symbol (any engine), else their average cost. */
  gross: number;
  /** Anomalies the engine raised (its alerts), by level, and the last few. */
  alerts: { P0: number; P1: number; P2: number; recent: Array<{ t: number; kind: string; severity: string; reason: string }> };
  /** Reconciliation differences open now. */
  diffs: number;
  /** Records missing in the stream ([from, to) each), duplicates skipped, records the replay refused. */
  gaps: Array<[number, number]>;
  duplicates: number;
  problems: number;
  lastProblem: string;
  /** The last control messages the engine journaled (central records). */
  control: Array<{ t: number; cmd: string; ok: boolean; detail: string }>;
  /** The share central sends it (undefined: none). */
  share: number | undefined;
}

export interface FirmView {
  /** The stream sequence the view covers. */
  streamSeq: number;
  engines: EngineView[];
  totals: {
    engines: number;
    positions: Array<{ symbol: string; qty: number }>;
    cash: Record<string, number>;
    realizedPnl: Record<string, number>;
    fills: number;
    openOrders: number;
    gross: number;
    states: Record<string, number>;
    alerts: { P0: number; P1: number; P2: number };
    diffs: number;
  };
  firm: { maxGrossNotional: number | undefined; standing: StandingCommand | undefined };
}

/** A firm-wide halt or reduce that stands until central resumes (re-sent to an engine trading more freely). */
export interface StandingCommand {
  cmd: ControlCommand;
  from: string;
  reason: string;
  t: number;
  /** Engines central itself resumed since: the command is not re-sent to them. */
  exempt?: string[];
}

/** Exact sum of decimals (each exact to its own digits): as scaled integers. */
export function sumExact(values: readonly number[]): number {
  let d = 0;
  for (const v of values) d = Math.max(d, decimalsOf(v));
  const f = 10 ** d;
  let total = 0n;
  for (const v of values) total += BigInt(Math.round(v * f));
  return Number(total) / f;
}

const RECENT = 20;

/** One engine's records applied in order to a replayed engine. */
class EngineBook {
  next = 0;
  records = 0;
  lastT = Number.NaN;
  open: OpenRecord | undefined;
  engine: Engine | undefined;
  clock: ManualClock | undefined;
  connection = 'unknown';
  mode = 'live';
  alerts = { P0: 0, P1: 0, P2: 0 };
  recentAlerts: EngineView['alerts']['recent'] = [];
  control: EngineView['control'] = [];
  gaps: Array<[number, number]> = [];
  duplicates = 0;
  problems = 0;
  lastProblem = '';
  /** Records before the first open (no instruments yet to apply them to). */
  skipped = 0;

  constructor(
    readonly id: string,
    private readonly capacity: number,
  ) {}

  apply(seq: number, rec: JournalRecord): void {
    if (seq < this.next) {
      this.duplicates++;
      return;
    }
    if (seq > this.next) this.gaps.push([this.next, seq]);
    this.next = seq + 1;
    this.records++;
    if (typeof rec.t === 'number') this.lastT = rec.t;
    switch (rec.k) {
      case 'open':
        this.opened(rec);
        break;
      case 'conn':
        this.connection = rec.to;
        break;
      case 'mode':
        this.mode = rec.to;
        break;
      case 'anomaly': {
        const lvl = rec.severity as 'P0' | 'P1' | 'P2';
        if (lvl in this.alerts) this.alerts[lvl]++;
        this.recentAlerts.push({ t: rec.t, kind: rec.kind, severity: rec.severity, reason: rec.reason });
        if (this.recentAlerts.length > RECENT) this.recentAlerts.shift();
        break;
      }
      case 'central':
        this.control.push({ t: rec.t, cmd: rec.cmd, ok: rec.ok, detail: rec.detail });
        if (this.control.length > RECENT) this.control.shift();
        break;
    }
    const e = this.engine;
    if (e === undefined) {
      this.skipped++;
      return;
    }
    if (rec.t > this.clock!.now()) this.clock!.advance(rec.t - this.clock!.now());
    try {
      e.replayJournalRecord(rec);
    } catch (err) {
      this.problems++;
      this.lastProblem = `record ${seq}: ${(err as Error).message}`;
    }
  }

  /** A session began: the first one makes the replayed engine; one with instruments added moves the state to a new one. */
  private opened(rec: OpenRecord): void {
    if (this.engine === undefined) {
      this.open = rec;
      this.make(rec, undefined, rec.t);
      return;
    }
    const mine = this.open!.instruments.map((i) => i.symbol).join('\u0000');
    const theirs = rec.instruments.map((i) => i.symbol).join('\u0000');
    if (theirs === mine || !theirs.startsWith(mine)) {
      this.open = { ...rec, instruments: this.open!.instruments };
      return;
    }
    const state = this.engine.exportReplayState();
    this.open = rec;
    this.make(rec, state, rec.t);
  }

  make(open: OpenRecord, state: unknown, t: number): void {
    const clock = new ManualClock(t);
    this.clock = clock;
    this.engine = createEngine({
      instruments: open.instruments as InstrumentSpec[],
      broker: new RecordingBroker('central', clock),
      clock,
      logger: pino({ level: 'silent' }),
      connection: { heartbeatMs: 0 },
      capacity: this.capacity,
      initialCash: open.initialCash,
      ...(open.cp !== undefined ? { currencyPrecision: open.cp } : {}),
    });
    if (state !== undefined) this.engine.importReplayState(state, t);
  }

  view(lastPx: Map<string, number>, share: number | undefined): EngineView {
    const e = this.engine;
    const account = e?.account();
    const s = e?.stats();
    const positions = e?.positions() ?? [];
    const specs = new Map((this.open?.instruments ?? []).map((i) => [i.symbol, i]));
    const gross = sumExact(positions.map((p) => Math.abs(p.qty) * (lastPx.get(p.symbol) ?? p.avgPx) * ((specs.get(p.symbol) as { multiplier?: number } | undefined)?.multiplier ?? 1)));
    return {
      engineId: this.id, seq: this.next, records: this.records, lastT: this.lastT,
      environment: this.open?.environment ?? '', broker: this.open?.broker ?? '', version: this.open?.tc ?? '',
      day: e?.currentDay.day ?? '', tradingState: e?.tradingState ?? 'unknown', connection: this.connection, mode: this.mode,
      orders: { accepted: s?.accepted ?? 0, open: e?.openOrderCount() ?? 0, fills: account?.fills ?? 0, rejects: s?.rejects ?? 0 },
      positions, cash: { ...(account?.cash ?? {}) }, realizedPnl: { ...(account?.realizedPnl ?? {}) }, gross,
      alerts: { ...this.alerts, recent: [...this.recentAlerts] },
      diffs: e?.recon.list({ state: 'open' }).length ?? 0,
      gaps: this.gaps.map((g) => [g[0], g[1]]), duplicates: this.duplicates, problems: this.problems, lastProblem: this.lastProblem,
      control: [...this.control], share,
    };
  }

  exportState(): unknown {
    return {
      id: this.id, next: this.next, records: this.records, lastT: this.lastT, open: this.open ?? null, t: this.clock?.now() ?? null,
      state: this.engine?.exportReplayState() ?? null, connection: this.connection, mode: this.mode, alerts: this.alerts, recentAlerts: this.recentAlerts,
      control: this.control, gaps: this.gaps, duplicates: this.duplicates, problems: this.problems, lastProblem: this.lastProblem, skipped: this.skipped,
    };
  }

  static importState(s: Record<string, unknown>, capacity: number): EngineBook {
    const b = new EngineBook(s.id as string, capacity);
    Object.assign(b, {
      next: s.next, records: s.records, lastT: s.lastT, connection: s.connection, mode: s.mode, alerts: s.alerts, recentAlerts: s.recentAlerts,
      control: s.control, gaps: s.gaps, duplicates: s.duplicates, problems: s.problems, lastProblem: s.lastProblem, skipped: s.skipped,
    });
    if (s.open !== null && s.open !== undefined) {
      b.open = s.open as OpenRecord;
      b.make(b.open, s.state ?? undefined, typeof s.t === 'number' ? s.t : b.open.t);
    }
    return b;
  }
}

/** The view itself: books per engine, fed stream messages in order. */
export class FirmState {
  streamSeq = 0;
  readonly books = new Map<string, EngineBook>();
  readonly lastPx = new Map<string, number>();
  private readonly packr = journalPackr();

  constructor(private readonly capacity: number) {}

  /** Apply one stream message (stream sequence, subject's engine, record seq, bytes). Returns false when it was already in the view. */
  apply(streamSeq: number, engineId: string, seq: number, data: Uint8Array): boolean {
    if (streamSeq <= this.streamSeq) return false;
    this.streamSeq = streamSeq;
    let book = this.books.get(engineId);
    if (book === undefined) {
      book = new EngineBook(engineId, this.capacity);
      this.books.set(engineId, book);
    }
    let rec: JournalRecord;
    try {
      rec = this.packr.unpack(data) as JournalRecord;
    } catch (err) {
      book.problems++;
      book.lastProblem = `record ${seq} does not decode: ${(err as Error).message}`;
      book.next = Math.max(book.next, seq + 1);
      return true;
    }
    if (rec.k === 'report' && typeof rec.p === 'number' && typeof rec.q === 'number' && rec.q > 0) {
      const sym = rec.x?.symbol ?? book.engine?.getOrder(rec.c ?? rec.b)?.symbol;
      if (sym !== undefined) this.lastPx.set(sym, rec.p);
    }
    book.apply(seq, rec);
    return true;
  }

  view(shares: Map<string, number>, firm: FirmView['firm']): FirmView {
    const engines = [...this.books.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((b) => b.view(this.lastPx, shares.get(b.id)));
    const bySymbol = new Map<string, number[]>();
    const cash = new Map<string, number[]>();
    const pnl = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number) => {
      const a = m.get(k);
      if (a === undefined) m.set(k, [v]);
      else a.push(v);
    };
    const states: Record<string, number> = {};
    const alerts = { P0: 0, P1: 0, P2: 0 };
    for (const e of engines) {
      for (const p of e.positions) push(bySymbol, p.symbol, p.qty);
      for (const [c, v] of Object.entries(e.cash)) push(cash, c, v);
      for (const [c, v] of Object.entries(e.realizedPnl)) push(pnl, c, v);
      states[e.tradingState] = (states[e.tradingState] ?? 0) + 1;
      alerts.P0 += e.alerts.P0;
      alerts.P1 += e.alerts.P1;
      alerts.P2 += e.alerts.P2;
    }
    const total = (m: Map<string, number[]>) => Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, sumExact(v)]));
    return {
      streamSeq: this.streamSeq,
      engines,
      totals: {
        engines: engines.length,
        positions: [...bySymbol].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([symbol, q]) => ({ symbol, qty: sumExact(q) })),
        cash: total(cash), realizedPnl: total(pnl),
        fills: engines.reduce((n, e) => n + e.orders.fills, 0),
        openOrders: engines.reduce((n, e) => n + e.orders.open, 0),
        gross: sumExact(engines.map((e) => e.gross)),
        states, alerts, diffs: engines.reduce((n, e) => n + e.diffs, 0),
      },
      firm,
    };
  }

  exportState(): unknown {
    return { v: 1, streamSeq: this.streamSeq, lastPx: [...this.lastPx], books: [...this.books.values()].map((b) => b.exportState()) };
  }

  static importState(s: Record<string, unknown>, capacity: number): FirmState {
    if (s.v !== 1) throw new Error(`central state version ${String(s.v)} is not one this build reads`);
    const f = new FirmState(capacity);
    f.streamSeq = s.streamSeq as number;
    for (const [k, v] of s.lastPx as Array<[string, number]>) f.lastPx.set(k, v);
    for (const b of s.books as Array<Record<string, unknown>>) f.books.set(b.id as string, EngineBook.importState(b, capacity));
    return f;
  }
}

export const CENTRAL_DEFAULTS = { consumer: 'tradecore-central', auth: 'token' as 'token' | 'nats', snapshotEveryMs: 1000, capacity: 131072, shareEveryMs: 1000, dataDir: 'tradecore-central' };

const STATE_FILE = 'central.tcs';

/** What `Central.status()` says (and `/status` of central's ops endpoint, under `central`). */
export interface CentralStatus {
  connected: boolean;
  /** Caught up with what the durable consumer had delivered before this start. */
  caughtUp: boolean;
  stream: string;
  consumer: string;
  /** The stream sequence the view covers, and the one of the view saved on disk. */
  streamSeq: number;
  savedSeq: number;
  consumed: number;
  skipped: number;
  /** Control messages sent by command, and standing ones re-sent. */
  sent: number;
  resent: number;
  auth: 'token' | 'nats';
  /** Whether engines with the same auth accept its messages (auth nats, or a token to sign with). */
  signing: boolean;
  dataDir: string;
  lastError: string;
  standing: StandingCommand | null;
}

/** A running central. */
export class Central {
  private state: FirmState;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private stopConsume: (() => void) | undefined;
  private shareTimer: ReturnType<typeof setInterval> | undefined;
  private snapTimer: ReturnType<typeof setInterval> | undefined;
  private savedSeq = 0;
  private readonly nats: ReturnType<typeof natsWithDefaults>;
  private readonly dataDir: string;
  private readonly epoch = `${Date.now().toString(36)}-${process.pid}`;
  private n = 0;
  private standing: StandingCommand | undefined;
  /** Caught up with what the durable consumer had delivered before this start (see start). */
  caughtUp = false;
  lastError = '';
  readonly counters = { consumed: 0, skipped: 0, sent: 0, resent: 0 };
  /** When the standing command was last re-sent to each engine (wall ms). */
  private readonly resentAt = new Map<string, number>();

  constructor(
    readonly options: CentralOptions,
    private readonly logger: Logger,
    private readonly token?: string,
  ) {
    const problems = centralProblems(options);
    if (problems.length > 0) throw new RangeError(`invalid central config:\n  - ${problems.join('\n  - ')}`);
    if ((options.auth ?? 'token') === 'token' && token === undefined) logger.warn('central: no ops token: control messages cannot be signed, and engines with auth token refuse them');
    this.nats = natsWithDefaults(options.nats);
    this.dataDir = path.resolve(options.dataDir ?? CENTRAL_DEFAULTS.dataDir);
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.state = this.load();
  }

  private get capacity(): number {
    return this.options.capacity ?? CENTRAL_DEFAULTS.capacity;
  }

  private load(): FirmState {
    const file = path.join(this.dataDir, STATE_FILE);
    if (!fs.existsSync(file)) return new FirmState(this.capacity);
    const snap = readSnapshotFile(file);
    const s = FirmState.importState(snap.state as Record<string, unknown>, this.capacity);
    this.savedSeq = s.streamSeq;
    const st = (snap.state as { standing?: StandingCommand | null }).standing;
    if (st !== undefined && st !== null) this.standing = st;
    this.logger.info({ streamSeq: s.streamSeq, engines: s.books.size }, 'central: view loaded');
    return s;
  }

  /** Save the view with the stream sequence it covers (temporary file, synced, renamed). */
  save(): void {
    if (this.state.streamSeq === this.savedSeq) return;
    const file = path.join(this.dataDir, STATE_FILE);
    const buf = encodeSnapshot(this.state.streamSeq, Date.now(), { ...(this.state.exportState() as object), standing: this.standing ?? null });
    const fd = fs.openSync(`${file}.tmp`, 'w');
    try {
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(`${file}.tmp`, file);
    this.savedSeq = this.state.streamSeq;
  }

  get streamSeq(): number {
    return this.state.streamSeq;
  }

  /** Start consuming (NATS need not be up yet: it connects in the background). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    this.snapTimer = setInterval(() => {
      try {
        this.save();
      } catch (err) {
        this.lastError = `save: ${(err as Error).message}`;
        this.logger.error({ err: this.lastError }, 'central: view not saved');
      }
    }, this.options.snapshotEveryMs ?? CENTRAL_DEFAULTS.snapshotEveryMs);
    this.snapTimer.unref();
    this.shareTimer = setInterval(() => void this.heartbeat(), this.options.firm?.shareEveryMs ?? CENTRAL_DEFAULTS.shareEveryMs);
    this.shareTimer.unref();
  }

  /** Stop: the consumer, the timers, the connection; then the view saved. */
  async stop(): Promise<void> {
    await this.kill();
    this.save();
  }

  /** Everything stops at once and nothing more is saved (what a crash leaves; tests use it). */
  async kill(): Promise<void> {
    this.running = false;
    if (this.snapTimer !== undefined) clearInterval(this.snapTimer);
    if (this.shareTimer !== undefined) clearInterval(this.shareTimer);
    this.stopConsume?.();
    await this.nc?.close().catch(() => undefined);
    this.nc = undefined;
    await this.loop?.catch(() => undefined);
  }

  /** Central's own state: its connection, where it is in the stream, what it consumed and sent. */
  status(): CentralStatus {
    return {
      connected: this.nc !== undefined && !this.nc.isClosed(), caughtUp: this.caughtUp, stream: this.nats.stream, consumer: this.options.consumer ?? CENTRAL_DEFAULTS.consumer,
      streamSeq: this.state.streamSeq, savedSeq: this.savedSeq, consumed: this.counters.consumed, skipped: this.counters.skipped, sent: this.counters.sent,
      resent: this.counters.resent, auth: this.options.auth ?? CENTRAL_DEFAULTS.auth, signing: (this.options.auth ?? 'token') === 'nats' || this.token !== undefined,
      dataDir: this.dataDir, lastError: this.lastError, standing: this.standing ?? null,
    };
  }

  private async connect(): Promise<void> {
    const nc = await natsConnect(this.nats, 'tradecore-central');
    this.nc = nc;
    this.js = jetstream(nc, { timeout: 5000 });
    this.jsm = await jetstreamManager(nc, { timeout: 5000 });
    await ensureStream(this.jsm, this.nats);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.nc === undefined) await this.connect();
        await this.consume();
      } catch (err) {
        if (!this.running) break;
        this.lastError = (err as Error).message;
        this.logger.warn({ err: this.lastError }, 'central: consuming failed; retrying');
        if (this.nc?.isClosed() ?? true) this.nc = undefined;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async consume(): Promise<void> {
    const jsm = this.jsm!;
    const js = this.js!;
    const durable = this.options.consumer ?? CENTRAL_DEFAULTS.consumer;
    let info;
    try {
      info = await jsm.consumers.info(this.nats.stream, durable);
    } catch (err) {
      if (!/consumer not found/i.test((err as Error).message)) throw err;
      info = await jsm.consumers.add(this.nats.stream, {
        durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: this.state.streamSeq > 0 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
        ...(this.state.streamSeq > 0 ? { opt_start_seq: this.state.streamSeq + 1 } : {}),
        filter_subject: `${this.nats.subjectPrefix}.journal.>`, max_ack_pending: 20_000, ack_wait: 30e9,
      });
    }
    // what the durable consumer had delivered past the saved view (central stopped before saving): read straight from the stream
    const delivered = info.delivered.stream_seq;
    if (delivered > this.state.streamSeq) await this.readRange(this.state.streamSeq + 1, delivered, this.state);
    this.caughtUp = true;
    const c = await js.consumers.get(this.nats.stream, durable);
    const messages = await c.consume({ max_messages: 1000 });
    this.stopConsume = () => messages.stop();
    for await (const m of messages) {
      this.take(m, this.state);
      m.ack();
      if (!this.running) break;
    }
  }

  private take(m: JsMsg, into: FirmState): void {
    const id = parseMsgId(m.headers?.get('Nats-Msg-Id'));
    const engineId = id?.engineId ?? m.subject.slice(m.subject.lastIndexOf('.') + 1);
    if (id === undefined) {
      this.counters.skipped++;
      return;
    }
    if (into.apply(m.seq, engineId, id.seq, m.data)) {
      if (into === this.state) this.counters.consumed++;
    } else if (into === this.state) this.counters.skipped++;
  }

  /** Stream messages `from`..`to` (inclusive) into `into`, with an ordered consumer. */
  private async readRange(from: number, to: number, into: FirmState): Promise<void> {
    if (to < from) return;
    const oc = await this.js!.consumers.get(this.nats.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from, filter_subjects: `${this.nats.subjectPrefix}.journal.>` });
    const it = await oc.consume({ max_messages: 1000 });
    try {
      for await (const m of it) {
        if (m.seq > to) break;
        this.take(m, into);
        if (m.seq >= to) break;
      }
    } finally {
      it.stop();
    }
  }

  /**
   * A view rebuilt from the stream's first message up to `upTo` (default: what the live view
   * covers now), separately from the live one (which goes on). Equal to `view()` when the live
   * view is right.
   */
  async rebuild(upTo = this.state.streamSeq): Promise<FirmView> {
    if (this.js === undefined) throw new Error('central is not connected to NATS');
    const fresh = new FirmState(this.capacity);
    await this.readRange(1, upTo, fresh);
    return fresh.view(this.shares(), this.firm());
  }

  private firm(): FirmView['firm'] {
    return { maxGrossNotional: this.options.firm?.maxGrossNotional, standing: this.standing };
  }

  view(): FirmView {
    return this.state.view(this.shares(), this.firm());
  }

  /** Each engine's gross-exposure share: the firm limit split by weight. */
  shares(): Map<string, number> {
    const out = new Map<string, number>();
    const limit = this.options.firm?.maxGrossNotional;
    if (limit === undefined) return out;
    const named = this.options.firm?.shares;
    const ids = new Set([...this.state.books.keys(), ...Object.keys(named ?? {})]);
    const weight = (id: string) => (named === undefined ? 1 : (named[id] ?? 0));
    const sum = [...ids].reduce((n, id) => n + weight(id), 0);
    for (const id of ids) out.set(id, sum > 0 ? Math.floor((limit * weight(id)) / sum * 100) / 100 : 0);
    return out;
  }

  private message(cmd: ControlCommand, target: string, from: string, reason: string, share?: number | null): ControlMessage {
    const m: Omit<ControlMessage, 'sig'> = { v: 1, id: `${this.epoch}-${++this.n}`, t: Date.now(), cmd, target, from, reason, ...(share !== undefined ? { share } : {}) };
    return (this.options.auth ?? 'token') === 'token' && this.token !== undefined ? signControl(m, this.token) : (m as ControlMessage);
  }

  /** Every `shareEveryMs`: the shares (central's heartbeat), and the standing firm command re-sent where it does not hold. */
  private async heartbeat(): Promise<void> {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) return;
    if (this.options.firm?.maxGrossNotional !== undefined) {
      for (const [id, share] of this.shares()) {
        nc.publish(controlSubject(this.nats.subjectPrefix, id), JSON.stringify(this.message('share', id, 'central', 'firm gross-exposure share', share)));
      }
    }
    this.resendStanding(nc);
  }

  /**
   * A firm-wide halt or reduce stands until central resumes: an engine whose records, newer than
   * the command, show it trading more freely (it restarted, or was resumed locally) gets the
   * command again, at most once every 5 s; not one central itself resumed since.
   */
  private resendStanding(nc: NatsConnection): void {
    const st = this.standing;
    if (st === undefined || !this.caughtUp) return;
    const holds = (state: string) => state === 'Halted' || (st.cmd === 'reduce' && state === 'Reducing');
    const now = Date.now();
    for (const e of this.state.view(new Map(), this.firm()).engines) {
      if (holds(e.tradingState) || !(e.lastT > st.t) || st.exempt?.includes(e.engineId)) continue;
      if (now - (this.resentAt.get(e.engineId) ?? 0) < 5000) continue;
      this.resentAt.set(e.engineId, now);
      nc.publish(controlSubject(this.nats.subjectPrefix, e.engineId), JSON.stringify(this.message(st.cmd, e.engineId, st.from, `${st.reason} (standing firm ${st.cmd}, re-sent: the engine is ${e.tradingState})`)));
      this.counters.resent++;
      this.logger.warn({ engineId: e.engineId, cmd: st.cmd, state: e.tradingState }, 'central: standing command re-sent');
    }
  }

  /** Send halt, reduce or resume to every engine (`all`) or one. Resolves once NATS has it. */
  async command(cmd: 'halt' | 'reduce' | 'resume', target: string, from: string, reason: string): Promise<ControlMessage> {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) throw new Error('central is not connected to NATS: nothing was sent');
    if (target !== 'all' && !isToken(target)) throw new RangeError(`target must be all or an engine id, got ${JSON.stringify(target)}`);
    if (reason.trim() === '') throw new RangeError('reason: say why');
    const m = this.message(cmd, target, from, reason);
    nc.publish(controlSubject(this.nats.subjectPrefix, target), JSON.stringify(m));
    await nc.flush();
    this.counters.sent++;
    if (target === 'all') this.standing = cmd === 'resume' ? undefined : { cmd, from, reason, t: m.t };
    // central's own resume of one engine frees it from the standing command; a halt or reduce of it takes it back
    else if (this.standing !== undefined) {
      const exempt = (this.standing.exempt ?? []).filter((x) => x !== target);
      this.standing = { ...this.standing, exempt: cmd === 'resume' ? [...exempt, target] : exempt };
    }
    this.logger.warn({ cmd, target, from, reason }, 'central: control message sent');
    return m;
  }
}
