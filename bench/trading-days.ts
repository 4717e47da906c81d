// Full trading days, then the next: an engine with a journal trades a session a day against the
// embedded simulated broker on a manual clock, both rolling their day at 17:00 America/New_York,
// with reconciliation on its interval during the session. Prints one JSON object.
//   node --expose-gc dist/bench/trading-days.js [--orders 150000,150000] [--recon-ms 60000] [--dir D] [--json]
//
// Per day it measures: heap after the session and after the roll (after a full GC), the
// reconciliation runs (how many of the session's intervals ran, wall time and longest slice),
// submit and report-handling p99, the journal snapshot size, and a restart from a copy of the
// journal taken at the end of the day (time, and whether it equals the live state).
//
// Correctness checks (a failure exits 1 and says which): no anomaly, no diff raised, fixed or
// pending; after the roll, no finished order of the old day is held, and every reconciliation run
// of the new day compared no more orders than the new day's plus those carried over; the restart
// equals the live engine (orders, positions, cash, counts) and its recovery sync changes nothing.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { build } from 'hdr-histogram-js';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { RecordingBroker } from '../src/brokers/recording-broker.js';
import { NotSentError } from '../src/brokers/adapter.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { BrokerAccount, BrokerOrder, BrokerPosition, BrokerTrade } from '../src/domain/report.js';
import type { TradingDaySpec } from '../src/domain/trading-day.js';

const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'CCC', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
];
const DAY: TradingDaySpec = { rollAt: '17:00', timeZone: 'America/New_York' };
/** Monday 2026-11-30: the session opens 09:30 New York (14:30 UTC), closes 16:00, the day rolls at 17:00. */
const FIRST_OPEN = Date.UTC(2026, 10, 30, 14, 30);
const SESSION_MS = 6.5 * 3_600_000;
const DAY_MS = 86_400_000;

export interface DayFigures {
  day: string;
  orders: number;
  fills: number;
  heap_after_session_mb: number;
  heap_after_roll_mb: number;
  recon_intervals: number;
  recon_runs: number;
  recon_run_ms_p50: number;
  recon_run_ms_max: number;
  recon_slice_ms_max: number;
  recon_checked_max: number;
  submit_ns_p99: number;
  report_ns_p99: number;
  submit_ns_p50: number;
  report_ns_p50: number;
  snapshot_bytes: number;
  /** Time the engine's thread spent taking the snapshot (encoding the state), and until it was written and read back, ms. */
  snapshot_encode_ms: number;
  snapshot_ms: number;
  restart_ms: number;
  restart_replayed: number;
  restart_equal: boolean;
  released_at_roll: number;
  carried_over: number;
}

export interface TradingDaysResult {
  days: DayFigures[];
  anomalies: number;
  diffs: number;
  problems: string[];
  wall_s: number;
}

/** A stand-in for the broker after a restart: the live simulated broker's records, nothing sent. */
class MirrorOf extends RecordingBroker {
  constructor(private readonly sim: SimBroker, clock: ManualClock) {
    super('sim', clock);
  }
  override placeOrder(): void {
    throw new NotSentError('restart check: nothing is sent');
  }
  override cancelOrder(): void {
    throw new NotSentError('restart check: nothing is sent');
  }
  override syncOpenOrders(): Promise<BrokerOrder[]> {
    return this.sim.syncOpenOrders();
  }
  override syncTodayTrades(): Promise<BrokerTrade[]> {
    return this.sim.syncTodayTrades();
  }
  syncDayOrders(): Promise<BrokerOrder[]> {
    return this.sim.syncDayOrders();
  }
  override queryPositions(): Promise<BrokerPosition[]> {
    return this.sim.queryPositions();
  }
  override queryAccount(): Promise<BrokerAccount[]> {
    return this.sim.queryAccount();
  }
}

const gcHeapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
};
const median = (xs: number[]) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[xs.length >> 1]!);
const r2 = (x: number) => Math.round(x * 100) / 100;

/** What a restart must bring back. */
function stateOf(e: Engine) {
  const s = e.stats();
  return JSON.stringify({
    orders: e.orders(), positions: e.positions(), account: e.account(), day: e.currentDay.day, archive: e.archive.size,
    // not the report counts: the restart's recovery sync delivers the broker's trades again (dropped as duplicates)
    counts: [s.accepted, s.fills, s.rejects, s.unknownOrders, s.overfills, s.lateReports],
  });
}

export async function tradingDays(perDay: number[], opts: { reconMs?: number; dir?: string; log?: (msg: string) => void } = {}): Promise<TradingDaysResult> {
  const t0 = performance.now();
  const reconMs = opts.reconMs ?? 60_000;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tc-days-'));
  const journalDir = path.join(dir, 'journal');
  const log = opts.log ?? (() => {});
  const clock = new ManualClock(FIRST_OPEN - 3_600_000);
  const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 7, ackLatencyMs: 1, fillLatencyMs: 2, marketStepMs: 1000, tradingDay: DAY, priceBand: 0.2 });
  const anomalies: Anomaly[] = [];
  let diffs = 0;
  const problems: string[] = [];
  // finished orders stay in the table for the retention (1 h): an hour of the busiest session must fit
  let capacity = 1 << 16;
  while (capacity < (Math.max(...perDay) / 6.5) * 1.5) capacity *= 2;
  const engine = createEngine({
    instruments: INSTRUMENTS, broker: sim, clock, logger: pino({ level: 'silent' }), tradingDay: DAY,
    connection: { heartbeatMs: 0 }, capacity, retentionMs: 3_600_000,
    journal: { dir: journalDir, snapshotEveryMs: 0 },
    recon: { intervalMs: reconMs, graceMs: 5000 },
    risk: { default: { maxPosition: 1e9, maxOrderQty: 1e6 } },
    onAnomaly: (a) => anomalies.push(a),
  });
  let lastRoll = { released: 0, carriedOver: 0 };
  engine.observe({
    onDiff: (ev) => {
      if (ev.type !== 'raised' && ev.type !== 'fixed') return;
      if (diffs++ < 5) problems.push(`diff ${ev.type} on ${engine.currentDay.day} at ${new Date(clock.now()).toISOString()}: ${ev.diff.kind} ${ev.diff.clientOrderId} ${ev.diff.brokerOrderId} ${ev.diff.detail}`);
    },
    onDayRoll: (r) => void (lastRoll = r),
  });
  // report handling in wall time (the engine's own histograms run on the manual clock)
  const reportHist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
  const onReport = engine.onReport.bind(engine);
  engine.onReport = (r) => {
    const s0 = performance.now();
    onReport(r);
    reportHist.recordValue(Math.max(1, Math.round((performance.now() - s0) * 1e6)));
  };
  await engine.start();
  const days: DayFigures[] = [];
  let seq = 0;
  for (let d = 0; d < perDay.length; d++) {
    const n = perDay[d]!;
    const open = FIRST_OPEN + d * DAY_MS;
    const roll = open + 7.5 * 3_600_000; // 17:00 New York
    if (clock.now() < open) clock.advance(open - clock.now());
    sim.setMarketRunning(true);
    const dayName = engine.currentDay.day;
    const submitHist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
    reportHist.reset();
    const runMs: number[] = [];
    let sliceMax = 0;
    let checkedMax = 0;
    let runs = 0;
    let lastRun = engine.recon.lastRun?.run ?? 0;
    const fills0 = engine.stats().fills;
    // what the day holds from before its session: orders carried over (open at the roll, or finished since)
    const carried = engine.table.size + engine.archive.size;
    const dayStart = clock.now();
    const perStep = 3;
    const steps = Math.ceil(n / perStep);
    const dt = SESSION_MS / steps;
    const resting: Array<{ id: string; at: number }> = [];
    let submitted = 0;
    for (let k = 0; k < steps; k++) {
      for (let j = 0; j < perStep && submitted < n; j++, submitted++) {
        const inst = INSTRUMENTS[(seq + j) % INSTRUMENTS.length]!;
        const q = sim.quote(inst.symbol);
        const pos = engine.ledger.pos[(seq + j) % INSTRUMENTS.length]!;
        const buy = pos < 0 || (pos === 0 && (seq & 1) === 0);
        const kind = seq % 10; // 0-6 take the touch, 7-8 rest one tick behind, 9 IOC
        const tick = inst.tickSize;
        const price = kind <= 6 || kind === 9 ? (buy ? q.ask : q.bid) : buy ? q.bid - tick : q.ask + tick;
        const id = `d${d}-${seq++}`;
        const order = { clientOrderId: id, symbol: inst.symbol, side: buy ? 'buy' : 'sell', qty: (inst.lotSize ?? 1) * (1 + (seq % 5)), price: Math.round(price / tick) * tick, tif: kind === 9 ? 'ioc' : 'day' } as const;
        const s0 = performance.now();
        const r = engine.submit(order);
        submitHist.recordValue(Math.max(1, Math.round((performance.now() - s0) * 1e6)));
        if (r.status !== 'accepted') problems.push(`day ${dayName}: order ${id} ${r.status} ${'reason' in r ? `${r.reason} ${r.detail}` : ''}`);
        if (kind === 7 || kind === 8) resting.push({ id, at: clock.now() });
      }
      // resting orders older than 30 s are cancelled
      while (resting.length > 0 && clock.now() - resting[0]!.at > 30_000) {
        const { id } = resting.shift()!;
        const o = engine.getOrder(id);
        if (o !== undefined && (o.status === 'Submitted' || o.status === 'PartiallyFilled')) engine.cancel(id);
      }
      clock.advance(dt);
      const p = engine.recon.inProgress;
      if (p !== undefined) await p;
      const run = engine.recon.lastRun;
      if (run !== undefined && run.run !== lastRun) {
        lastRun = run.run;
        runs++;
        runMs.push(run.durationMs);
        sliceMax = Math.max(sliceMax, run.maxSliceMs);
        checkedMax = Math.max(checkedMax, run.checked.orders);
        if (run.raised.length + run.fixed.length > 0) problems.push(`day ${dayName}: recon run ${run.run} raised ${run.raised.length} and fixed ${run.fixed.length} (${run.pending} pending)`);
        // the new day's runs see only the new day's orders and those carried over
        if (d > 0 && run.checked.orders > submitted + carried) problems.push(`day ${dayName}: recon run ${run.run} compared ${run.checked.orders} orders, the day has ${submitted} plus ${carried} carried over`);
      }
      if ((k & 8191) === 0) log(`day ${dayName}: ${submitted}/${n} orders`);
    }
    // orders that carry over into the next day: two GTC orders far from the touch, and two day
    // orders larger than the book's first levels (part filled, the rest resting until the broker
    // expires it at its roll)
    for (const [j, kind] of (['gtc', 'gtc', 'big', 'big'] as const).entries()) {
      const inst = INSTRUMENTS[j % 2]!;
      const q = sim.quote(inst.symbol);
      const id = `d${d}-carry-${j}`;
      const order = kind === 'gtc'
        ? { clientOrderId: id, symbol: inst.symbol, side: 'buy', qty: 1, price: Math.round((q.bid * 0.9) / inst.tickSize) * inst.tickSize, tif: 'gtc' } as const
        : { clientOrderId: id, symbol: inst.symbol, side: 'sell', qty: 5000, price: q.bid, tif: 'day' } as const;
      const r = engine.submit(order);
      if (r.status !== 'accepted') problems.push(`day ${dayName}: carry-over order ${id} ${r.status}`);
    }
    // the session is over: the market stops (resting orders fill no more), what rests is
    // cancelled, reports land, one last reconciliation
    clock.advance(100);
    sim.setMarketRunning(false);
    for (const { id } of resting) {
      const o = engine.getOrder(id);
      if (o !== undefined && (o.status === 'Submitted' || o.status === 'PartiallyFilled')) engine.cancel(id);
    }
    clock.advance(1000);
    const p = engine.recon.inProgress;
    if (p !== undefined) await p;
    const last = await engine.reconcile();
    if (last.raised.length + last.fixed.length + last.pending > 0 || last.open > 0) problems.push(`day ${dayName}: the closing reconciliation found ${last.raised.length} raised, ${last.fixed.length} fixed, ${last.pending} pending, ${last.open} open`);
    const intervals = Math.floor((clock.now() - dayStart) / reconMs);
    const heapSession = gcHeapMb();
    // the journal as it stands: the last periodic snapshot and the records after it (the
    // writer's group commit runs on real time)
    await new Promise((r) => setTimeout(r, 30));
    const restart = await restartCheck(engine, sim, clock, journalDir, path.join(dir, `restart-${d}`), capacity);
    if (!restart.equal) problems.push(`day ${dayName}: the restart from the journal differs from the live state: ${restart.why}`);
    // a snapshot of the day's state: its size, and how long the engine's thread spends taking it
    // (the state is encoded there, between two events; writing and the read-back are off it)
    const s0 = performance.now();
    const snap = engine.writeSnapshot();
    const snapEncodeMs = performance.now() - s0;
    await snap;
    const snapMs = performance.now() - s0;
    const snapBytes = newestSnapshotBytes(journalDir);
    // to the roll and past it
    clock.advance(roll + 60_000 - clock.now());
    const heapRoll = gcHeapMb();
    if (engine.currentDay.day === dayName) problems.push(`day ${dayName}: the day did not roll at 17:00 New York`);
    const isOpen = (o: { status: string }) => o.status === 'PendingNew' || o.status === 'Submitted' || o.status === 'PartiallyFilled' || o.status === 'PendingCancel';
    // finished before the boundary is the old day's; an order carried over may finish at it (a day order the broker expires)
    if (engine.archive.size > 0 || engine.orders().some((o) => !isOpen(o) && o.updatedAt < roll)) {
      problems.push(`day ${dayName}: finished orders of the old day are still held after the roll (${engine.archive.size} in the day's store)`);
    }
    days.push({
      day: dayName, orders: n, fills: engine.stats().fills - fills0, heap_after_session_mb: heapSession, heap_after_roll_mb: heapRoll,
      recon_intervals: intervals, recon_runs: runs, recon_run_ms_p50: r2(median(runMs)), recon_run_ms_max: r2(Math.max(0, ...runMs)), recon_slice_ms_max: r2(sliceMax),
      recon_checked_max: checkedMax, submit_ns_p50: submitHist.getValueAtPercentile(50), submit_ns_p99: submitHist.getValueAtPercentile(99), report_ns_p50: reportHist.getValueAtPercentile(50), report_ns_p99: reportHist.getValueAtPercentile(99),
      snapshot_bytes: snapBytes, snapshot_encode_ms: r2(snapEncodeMs), snapshot_ms: r2(snapMs), restart_ms: r2(restart.ms), restart_replayed: restart.replayed, restart_equal: restart.equal,
      released_at_roll: lastRoll.released, carried_over: lastRoll.carriedOver,
    });
    log(`day ${dayName} done: ${JSON.stringify(days[days.length - 1])}`);
  }
  await engine.stop();
  if (anomalies.length > 0) problems.push(`${anomalies.length} anomalies, first: ${anomalies[0]!.kind} ${anomalies[0]!.reason}`);
  if (diffs > 0) problems.push(`${diffs} reconciliation diffs raised or fixed`);
  if (opts.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
  return { days, anomalies: anomalies.length, diffs, problems, wall_s: r2((performance.now() - t0) / 1000) };
}

function newestSnapshotBytes(dir: string): number {
  const snaps = fs.readdirSync(dir).filter((f) => f.endsWith('.tcs')).sort();
  return snaps.length === 0 ? 0 : fs.statSync(path.join(dir, snaps[snaps.length - 1]!)).size;
}

/** Copy the journal as it stands, start a fresh engine on it against the live broker's records, compare. */
async function restartCheck(live: Engine, sim: SimBroker, clock: ManualClock, from: string, to: string, capacity: number): Promise<{ equal: boolean; why: string; ms: number; replayed: number }> {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) if (f !== 'LOCK') fs.copyFileSync(path.join(from, f), path.join(to, f));
  const t0 = performance.now();
  const again = createEngine({
    instruments: INSTRUMENTS, broker: new MirrorOf(sim, clock), clock, logger: pino({ level: 'silent' }), tradingDay: DAY,
    connection: { heartbeatMs: 0 }, capacity, retentionMs: 3_600_000, journal: { dir: to, snapshotEveryMs: 0, snapshotEveryRecords: 0, compaction: 'off' },
    risk: { default: { maxPosition: 1e9, maxOrderQty: 1e6 } },
  });
  await again.start();
  const ms = performance.now() - t0;
  const sync = again.lastSync!;
  const a = stateOf(live);
  const b = stateOf(again);
  const replayed = again.journalStatus()!.opened.replayed;
  let why = '';
  if (a !== b) why = firstDifference(a, b);
  else if (sync.resolved + sync.notAtBroker + sync.fillsApplied + sync.finished + sync.external > 0) why = `recovery sync changed things: ${JSON.stringify(sync)}`;
  await again.stop();
  fs.rmSync(to, { recursive: true, force: true });
  return { equal: why === '', why, ms, replayed };
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at char ${i}: live …${a.slice(Math.max(0, i - 80), i + 80)}… restarted …${b.slice(Math.max(0, i - 80), i + 80)}…`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const perDay = (arg('--orders') ?? '150000,150000').split(',').map(Number);
  if (perDay.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--orders takes whole numbers separated by commas, got ${arg('--orders')}`);
  const reconMs = Number(arg('--recon-ms') ?? 60_000);
  const verbose = args.includes('--verbose');
  const result = await tradingDays(perDay, { reconMs, ...(arg('--dir') !== undefined ? { dir: arg('--dir')! } : {}), ...(verbose ? { log: (m: string) => process.stderr.write(`${m}\n`) } : {}) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.problems.length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
