import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBroker, type SimBrokerOptions } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import { copyReport, type BrokerReport } from '../src/domain/report.js';
import type { Correction, ReconConfig } from '../src/recon/diff.js';
import type { DiffEvent, ReconRun, ReconTarget } from '../src/recon/reconciler.js';
import { Monitor } from '../src/ops/monitor.js';
import { OpsServer } from '../src/ops/server.js';
import { INSTRUMENTS, NO_HEARTBEAT, problemsOf, quiet } from './helpers.js';

const START = Date.UTC(2026, 10, 25, 14, 30);
const CASH = { USD: 1_000_000 };
const GRACE = 1000;

interface Session {
  engine: Engine;
  broker: SimBroker;
  clock: ManualClock;
  events: DiffEvent[];
  corrections: Correction[];
  anomalies: Anomaly[];
}

const open: Engine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The embedded simulated broker the tests here trade against, on the test's clock. */
function simBroker(clock: ManualClock, options: Partial<SimBrokerOptions> = {}): SimBroker {
  return new SimBroker({ instruments: INSTRUMENTS, clock, seed: 5, marketStepMs: 0, initialCash: CASH, startPrices: { ACME: 100, LOTS: 50 }, ...options });
}

/** A started engine on the embedded simulated broker, on a manual clock; reports are delivered by `clock.advance`. */
async function session(
  recon: ReconConfig = { graceMs: GRACE },
  extra: { journal?: string; broker?: SimBroker; clock?: ManualClock; brokerOptions?: Partial<SimBrokerOptions>; capacity?: number; retentionMs?: number } = {},
): Promise<Session> {
  const clock = extra.clock ?? new ManualClock(START);
  const broker = extra.broker ?? simBroker(clock, extra.brokerOptions);
  const events: DiffEvent[] = [];
  const corrections: Correction[] = [];
  const anomalies: Anomaly[] = [];
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: CASH, recon,
    strategy: { onCorrection: (c) => corrections.push(c) },
    onAnomaly: (a) => anomalies.push(a),
    ...(extra.journal !== undefined ? { journal: { dir: extra.journal } } : {}),
    ...(extra.capacity !== undefined ? { capacity: extra.capacity } : {}),
    ...(extra.retentionMs !== undefined ? { retentionMs: extra.retentionMs } : {}),
  });
  engine.observe({ onDiff: (e) => events.push(e) });
  await engine.start();
  open.push(engine);
  return { engine, broker, clock, events, corrections, anomalies };
}

/** Deliver every report due now. */
const deliver = (s: Session) => s.clock.advance(0);

/** Two runs across the grace period: the second raises or fixes what persisted. */
async function reconcileTwice(s: Session): Promise<[ReconRun, ReconRun]> {
  const first = await s.engine.reconcile();
  s.clock.advance(GRACE);
  const second = await s.engine.reconcile();
  return [first, second];
}

function buy(s: Session, id: string, qty: number, price: number, symbol = 'ACME') {
  const r = s.engine.submit({ clientOrderId: id, symbol, side: 'buy', qty, price });
  expect(r.status).toBe('accepted');
  deliver(s);
}

/** Turn the event loop until `done()` holds (a run started by a timer finishes on its own). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`never happened: ${what}`);
}

/** A price that fills at once (through the ask) and one that rests (below the bid). */
const through = (s: Session, symbol = 'ACME') => Math.round((s.broker.quote(symbol).ask + 0.05) * 100) / 100;
const below = (s: Session, symbol = 'ACME') => Math.round((s.broker.quote(symbol).bid - 1) * 100) / 100;

describe('reconciliation finds nothing when both sides agree', () => {
  it('a session of fills, rests and cancels reconciles clean', async () => {
    const s = await session({ graceMs: 0 });
    buy(s, 'a1', 10, through(s));
    buy(s, 'a2', 20, below(s));
    buy(s, 'a3', 5, below(s));
    s.engine.cancel('a3');
    deliver(s);
    const run = await s.engine.reconcile();
    expect(run.raised).toEqual([]);
    expect(run.fixed).toEqual([]);
    expect(run.pending).toBe(0);
    expect(run.checked).toMatchObject({ orders: 3, brokerOrders: 3, trades: 1 });
    expect(s.engine.recon.list({ state: 'all' })).toEqual([]);
  });
});

describe('each diff kind against the simulated broker, default policy (broker wins for fills, positions, cash)', () => {
  it('a fill the engine never saw: FILLED_QTY_MISMATCH, applied once with the broker execId; the late report is a duplicate', async () => {
    const s = await session();
    const lost: BrokerReport[] = [];
    s.broker.dropReports((r) => {
      if (r.kind === 'trade' && r.clientOrderId === 'f1') lost.push(copyReport(r)); // the filter sees the report during its call only
      return r.kind === 'trade' && r.clientOrderId === 'f1';
    });
    buy(s, 'f1', 10, through(s));
    expect(s.engine.getOrder('f1')).toMatchObject({ status: 'Submitted', cumQty: 0 });
    expect(lost.length).toBeGreaterThan(0);
    const [first, second] = await reconcileTwice(s);
    expect(first.raised).toEqual([]);
    expect(first.fixed).toEqual([]);
    expect(first.pending).toBeGreaterThan(0);
    expect(second.fixed.map((d) => d.kind)).toEqual(['FILLED_QTY_MISMATCH']);
    expect(second.raised).toEqual([]);
    const d = second.fixed[0]!;
    expect(d).toMatchObject({ clientOrderId: 'f1', brokerOrderId: s.engine.getOrder('f1')!.brokerOrderId, local: 0, broker: 10, state: 'fixed', severity: 'warning' });
    expect(d.actions.map((a) => a.action)).toEqual(['raised', 'auto-fix']);
    expect(s.engine.getOrder('f1')).toMatchObject({ status: 'Filled', cumQty: 10 });
    expect(s.engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(10);
    expect(s.corrections).toEqual([expect.objectContaining({ diffId: d.id, kind: 'FILLED_QTY_MISMATCH', source: 'auto', change: 'fills', clientOrderId: 'f1', before: 0, after: 10 })]);
    // the live report turns up late: a duplicate, nothing changes
    const dups = s.engine.stats().duplicateReports;
    for (const r of lost) s.engine.onReport(r);
    expect(s.engine.stats().duplicateReports).toBe(dups + lost.length);
    expect(s.engine.getOrder('f1')!.cumQty).toBe(10);
    // and nothing is left to find: no position or cash diff followed from the fill
    const third = await s.engine.reconcile();
    expect([third.raised, third.fixed, third.pending]).toEqual([[], [], 0]);
    expect(s.events.map((e) => `${e.type}:${e.diff.kind}`)).toEqual(['fixed:FILLED_QTY_MISMATCH']);
  });

  it('an order cancelled at the broker by hand: STATUS_MISMATCH, the engine takes Cancelled', async () => {
    const s = await session();
    buy(s, 'c1', 20, below(s));
    const o = s.engine.getOrder('c1')!;
    expect(o.status).toBe('Submitted');
    s.broker.cancelByHand(o.brokerOrderId);
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => [d.kind, d.local, d.broker])).toEqual([['STATUS_MISMATCH', 'Submitted', 'Cancelled']]);
    expect(s.engine.getOrder('c1')!.status).toBe('Cancelled');
    expect(s.engine.openOrderCount()).toBe(0);
    expect(s.corrections).toEqual([expect.objectContaining({ change: 'status', before: 'Submitted', after: 'Cancelled', clientOrderId: 'c1' })]);
  });

  it('a manual trade at the broker: MISSING_LOCAL, adopted as an external order with its fill; no position diff on top', async () => {
    const s = await session();
    const m = s.broker.manualTrade({ symbol: 'ACME', side: 'sell', qty: 7, price: 101.5 });
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => [d.kind, d.brokerOrderId, d.local, d.broker])).toEqual([['MISSING_LOCAL', m.brokerOrderId, null, 'Filled']]);
    const adopted = s.engine.getOrder(m.brokerOrderId)!;
    expect(adopted).toMatchObject({ external: true, status: 'Filled', cumQty: 7, side: 'sell' });
    expect(s.engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(-7);
    expect(s.engine.account().cash.USD).toBeCloseTo(CASH.USD + 7 * 101.5, 6);
    expect(s.anomalies.map((a) => a.kind)).toContain('UNKNOWN_ORDER');
    expect(s.corrections).toEqual([expect.objectContaining({ change: 'adopted', before: null, after: 'Filled' })]);
  });

  it('a position adjustment at the broker: POSITION_MISMATCH, the engine takes the broker position', async () => {
    const s = await session();
    buy(s, 'p1', 10, through(s));
    s.broker.adjustPosition('ACME', 5);
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => [d.kind, d.symbol, d.local, d.broker])).toEqual([['POSITION_MISMATCH', 'ACME', 10, 15]]);
    expect(s.engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(15);
    expect(s.corrections).toEqual([expect.objectContaining({ change: 'position', symbol: 'ACME', before: 10, after: 15 })]);
  });

  it('a cash correction at the broker: CASH_MISMATCH, the engine takes the broker cash', async () => {
    const s = await session();
    s.broker.adjustCash('USD', -12.5);
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => [d.kind, d.currency, d.local, d.broker])).toEqual([['CASH_MISMATCH', 'USD', 1_000_000, 999_987.5]]);
    expect(s.engine.account().cash.USD).toBe(999_987.5);
  });

  it('a trade price corrected at the broker: PRICE_MISMATCH, fills re-priced, cash follows', async () => {
    const s = await session();
    buy(s, 'x1', 10, through(s));
    const before = s.engine.getOrder('x1')!;
    const [trade] = await s.broker.syncTodayTrades();
    s.broker.correctTradePrice(trade!.execId, trade!.price - 0.25);
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => d.kind)).toEqual(['PRICE_MISMATCH']);
    expect(s.engine.getOrder('x1')!.avgPx).toBeCloseTo(before.avgPx - 0.25, 9);
    const [cash] = await s.broker.queryAccount();
    expect(s.engine.account().cash.USD).toBeCloseTo(cash!.cash, 6);
    expect((await s.engine.reconcile()).pending).toBe(0);
  });

  it('an order the broker lost: MISSING_AT_BROKER stays open (a person decides), critical', async () => {
    const s = await session();
    buy(s, 'l1', 20, below(s));
    s.broker.forgetOrder(s.engine.getOrder('l1')!.brokerOrderId);
    const [, second] = await reconcileTwice(s);
    expect(second.raised.map((d) => [d.kind, d.state, d.severity, d.clientOrderId])).toEqual([['MISSING_AT_BROKER', 'open', 'critical', 'l1']]);
    expect(s.engine.getOrder('l1')!.status).toBe('Submitted');
    expect(second.openCritical).toBe(1);
    expect(s.corrections).toEqual([]);
  });
});

describe('policy: critical diffs are not fixed; they alert, block readiness, may move the trading state', () => {
  it('FILLED_QTY manual + reduce: open diff, P1 alert, Reducing, readiness says so; positions not double counted', async () => {
    const s = await session({ graceMs: GRACE, policy: { FILLED_QTY_MISMATCH: { winner: 'manual', onCritical: 'reduce' }, STATUS_MISMATCH: { winner: 'manual' } } });
    const monitor = new Monitor(s.engine, { lagSource: () => 0 });
    const ops = new OpsServer(s.engine, monitor);
    try {
      s.broker.dropReports((r) => r.kind === 'trade');
      buy(s, 'm1', 10, through(s));
      const [, second] = await reconcileTwice(s);
      expect(second.raised.map((d) => d.kind).sort()).toEqual(['FILLED_QTY_MISMATCH', 'STATUS_MISMATCH']);
      expect(second.fixed).toEqual([]);
      expect(s.engine.getOrder('m1')!.cumQty).toBe(0);
      expect(s.engine.tradingState).toBe('Reducing');
      expect(s.engine.tradingStateHistory().at(-1)!.reason).toMatch(/^reconciliation: D\d FILLED_QTY_MISMATCH/);
      const alerts = monitor.alerts.open();
      expect(alerts.map((a) => [a.code, a.level]).sort()).toEqual([['RECON_FILLED_QTY_MISMATCH', 'P1'], ['RECON_STATUS_MISMATCH', 'P1']]);
      expect(ops.readiness()).toEqual([expect.stringMatching(/^2 critical reconciliation diffs open: D\d, D\d$/)]);
      expect(s.corrections).toEqual([]);
    } finally {
      monitor.stop();
    }
  });

  it('onCritical halt: a critical diff halts trading; new orders are refused, cancels still pass', async () => {
    const s = await session({ graceMs: GRACE, policy: { MISSING_AT_BROKER: { onCritical: 'halt' } } });
    buy(s, 'h1', 20, below(s));
    buy(s, 'h2', 20, below(s));
    s.broker.forgetOrder(s.engine.getOrder('h1')!.brokerOrderId);
    const [first, second] = await reconcileTwice(s);
    expect(first.raised).toEqual([]);
    expect(s.engine.tradingState).toBe('Halted');
    expect(second.raised.map((d) => [d.kind, d.severity, d.clientOrderId])).toEqual([['MISSING_AT_BROKER', 'critical', 'h1']]);
    expect(s.engine.tradingStateHistory().at(-1)!.reason).toMatch(/^reconciliation: D1 MISSING_AT_BROKER the engine has order clientOrderId=h1/);
    expect(s.engine.submit({ clientOrderId: 'h3', symbol: 'ACME', side: 'buy', qty: 1, price: below(s) })).toMatchObject({ status: 'denied', reason: 'TRADING_HALTED' });
    expect(s.engine.cancel('h2').status).toBe('sent');
    deliver(s);
    expect(s.engine.getOrder('h2')!.status).toBe('Cancelled');
  });

  it('local wins: recorded as resolved, nothing changes, not raised again', async () => {
    const s = await session({ graceMs: GRACE, policy: { CASH_MISMATCH: { winner: 'local' } } });
    s.broker.adjustCash('USD', 40);
    const [, second] = await reconcileTwice(s);
    expect(second.raised.map((d) => [d.kind, d.state])).toEqual([['CASH_MISMATCH', 'resolved']]);
    expect(s.engine.account().cash.USD).toBe(CASH.USD);
    s.clock.advance(GRACE);
    const third = await s.engine.reconcile();
    expect([third.raised, third.pending]).toEqual([[], 0]);
  });

  it('rejects a bad policy with every problem named', () => {
    expect(problemsOf(() => createEngine({ instruments: INSTRUMENTS, recon: { graceMs: -1, intervalMs: 5, policy: { NOPE: {}, CASH_MISMATCH: { winner: 'both', onCritical: 'panic' } } } as never }))).toEqual([
      'recon.graceMs: must be a number >= 0',
      'recon.intervalMs: must be 0 (on demand only) or at least 100',
      'recon.policy.NOPE: unknown diff kind (known: MISSING_LOCAL, MISSING_AT_BROKER, STATUS_MISMATCH, FILLED_QTY_MISMATCH, PRICE_MISMATCH, POSITION_MISMATCH, CASH_MISMATCH, UNKNOWN_SYMBOL)',
      'recon.policy.CASH_MISMATCH.winner: must be broker, local or manual',
      'recon.policy.CASH_MISMATCH.onCritical: must be none, reduce or halt',
    ]);
  });
});

describe('periodic runs', () => {
  it('runs every intervalMs on its own: a lost fill is fixed with no call, and the timer stops with the engine', async () => {
    const s = await session({ graceMs: GRACE, intervalMs: 1000 });
    s.broker.dropReports((r) => r.kind === 'trade' && r.clientOrderId === 't1');
    buy(s, 't1', 10, through(s));
    expect(s.engine.recon.lastRun).toBeUndefined();
    s.clock.advance(1000);
    await until(() => s.engine.recon.lastRun?.run === 1, 'the first periodic run');
    expect(s.engine.recon.lastRun).toMatchObject({ trigger: 'interval', fixed: [], raised: [] });
    expect(s.engine.recon.lastRun!.pending).toBeGreaterThan(0);
    s.clock.advance(1000);
    await until(() => s.engine.recon.lastRun?.run === 2, 'the second periodic run');
    expect(s.engine.recon.lastRun!.fixed.map((d) => [d.kind, d.clientOrderId])).toEqual([['FILLED_QTY_MISMATCH', 't1']]);
    expect(s.engine.getOrder('t1')).toMatchObject({ status: 'Filled', cumQty: 10 });
    expect(s.corrections.map((c) => c.change)).toEqual(['fills']);
    await s.engine.stop();
    open.splice(open.indexOf(s.engine), 1);
    s.clock.advance(5000);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(s.engine.recon.lastRun!.run).toBe(2);
  });
});

describe('a consistent cut: reports in flight produce no false diff', () => {
  it('reports still queued at the broker during a run are pending, then gone once delivered', async () => {
    const s = await session({ graceMs: GRACE }, { brokerOptions: { ackLatencyMs: 20, fillLatencyMs: 50 } });
    for (let i = 0; i < 6; i++) s.engine.submit({ clientOrderId: `r${i}`, symbol: 'ACME', side: 'buy', qty: 5, price: i % 2 === 0 ? through(s) : below(s) });
    s.clock.advance(30); // acks delivered, fills still on the wire
    expect(s.broker.pendingReports).toBeGreaterThan(0);
    const during = await s.engine.reconcile();
    expect(during.raised).toEqual([]);
    expect(during.fixed).toEqual([]);
    expect(during.pending).toBeGreaterThan(0);
    s.clock.advance(GRACE); // the fills arrive before the grace period ends
    const after = await s.engine.reconcile();
    expect([after.raised, after.fixed, after.pending]).toEqual([[], [], 0]);
    expect(s.engine.recon.list({ state: 'all' })).toEqual([]);
  });

  it('a report that arrives while the broker records are fetched leaves that order (and its symbol) out of the run, even with no grace', async () => {
    const clock = new ManualClock(START);
    const broker = simBroker(clock, { fillLatencyMs: 10 });
    // the open orders are read before the fill's report is delivered, the trades after it
    const trades = broker.syncTodayTrades.bind(broker);
    let flushDuringFetch = false;
    broker.syncTodayTrades = async () => {
      if (flushDuringFetch) {
        await new Promise((r) => setImmediate(r));
        clock.advance(10);
      }
      return trades();
    };
    const s = await session({ graceMs: 0 }, { broker, clock });
    buy(s, 'w1', 10, through(s));
    expect(s.engine.getOrder('w1')!.cumQty).toBe(0);
    flushDuringFetch = true;
    const run = await s.engine.reconcile();
    expect(s.engine.getOrder('w1')!.cumQty).toBe(10);
    expect([run.raised, run.fixed]).toEqual([[], []]);
    expect(run.inFlight).toBeGreaterThan(0);
    flushDuringFetch = false;
    const next = await s.engine.reconcile();
    expect([next.raised, next.fixed, next.inFlight]).toEqual([[], [], 0]);
  });
});

describe('a consistent cut: orders that change while a run reads them', () => {
  it('a submit and a cancel made while the broker records are fetched raise nothing, even with no grace', async () => {
    const clock = new ManualClock(START);
    const broker = simBroker(clock);
    const trades = broker.syncTodayTrades.bind(broker);
    let during: (() => void) | undefined;
    broker.syncTodayTrades = async () => {
      await new Promise((r) => setImmediate(r));
      during?.();
      return trades();
    };
    const s = await session({ graceMs: 0 }, { broker, clock });
    buy(s, 'c0', 5, below(s));
    during = () => {
      expect(s.engine.submit({ clientOrderId: 'n1', symbol: 'ACME', side: 'buy', qty: 5, price: below(s) }).status).toBe('accepted');
      expect(s.engine.cancel('c0').status).toBe('sent');
    };
    const run = await s.engine.reconcile();
    expect(s.engine.getOrder('n1')!.status).toBe('PendingNew');
    expect([run.raised, run.fixed, run.pending]).toEqual([[], [], 0]);
    // the two orders, and the position of their symbol and the cash of its currency
    expect(run.inFlight).toBe(4);
    during = undefined;
    deliver(s);
    const next = await s.engine.reconcile();
    expect([next.raised, next.fixed, next.inFlight]).toEqual([[], [], 0]);
    expect(s.engine.recon.list({ state: 'all' })).toEqual([]);
  });

  it('orders the table lets go while a run reads it page by page are still compared', async () => {
    const s = await session({ graceMs: 0 }, { capacity: 1024, retentionMs: 60_000 });
    for (let i = 0; i < 600; i++) {
      expect(s.engine.submit({ clientOrderId: `f${i}`, symbol: 'ACME', side: i % 2 === 0 ? 'buy' : 'sell', qty: 1, price: i % 2 === 0 ? through(s) : Math.round((s.broker.quote('ACME').bid - 0.05) * 100) / 100 }).status).toBe('accepted');
      deliver(s);
    }
    expect(s.engine.orders().filter((o) => o.status === 'Filled')).toHaveLength(600);
    s.clock.advance(61_000); // past retention: the next slot taken releases every one of them
    // white box: a submit lands after the run read its first page, so the rest are released mid-read
    const target = (s.engine.recon as unknown as { target: ReconTarget }).target;
    const page = target.ordersPage.bind(target);
    let pages = 0;
    target.ordersPage = (from, max) => {
      const p = page(from, max);
      if (++pages === 1) expect(s.engine.submit({ clientOrderId: 'late', symbol: 'LOTS', side: 'buy', qty: 100, price: below(s, 'LOTS') }).status).toBe('accepted');
      return p;
    };
    const run = await s.engine.reconcile();
    expect(s.engine.openOrderCount()).toBe(1);
    expect(s.engine.orders().map((o) => o.clientOrderId)).toEqual(['late']);
    expect([run.raised, run.fixed, run.pending]).toEqual([[], [], 0]);
    expect(run.checked.orders).toBe(601);
  });
});

describe('finished orders the order table let go', () => {
  it('are still compared, come back after a restart, and are listed in the end-of-day report', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-recon-archive-'));
    dirs.push(dir);
    const clock = new ManualClock(START);
    const broker = simBroker(clock);
    const s = await session({ graceMs: 0 }, { journal: dir, broker, clock, retentionMs: 0 });
    for (let i = 0; i < 20; i++) buy(s, `g${i}`, 1, through(s));
    // each submit released the finished orders before it: only the last one is still held
    expect(s.engine.orders().map((o) => o.clientOrderId)).toEqual(['g19']);
    expect(s.engine.recon.archive.size).toBe(19);
    const run = await s.engine.reconcile();
    expect([run.raised, run.fixed, run.pending]).toEqual([[], [], 0]);
    expect(run.checked.orders).toBe(20);
    await s.engine.writeSnapshot();
    buy(s, 'g20', 1, through(s));
    await s.engine.stop();
    open.splice(open.indexOf(s.engine), 1);

    const again = await session({ graceMs: 0 }, { journal: dir, broker, clock, retentionMs: 0 });
    // g0..g19 come back from the snapshot, and the recovery sync leaves them alone (it adopted them again before)
    expect(again.engine.lastSync).toMatchObject({ external: 0, fillsApplied: 0, retired: 20 });
    expect(again.engine.recon.archive.toArray().map((o) => `${o.clientOrderId}:${o.status}:${o.cumQty}`)).toEqual(Array.from({ length: 20 }, (_, i) => `g${i}:Filled:1`));
    const after = await again.engine.reconcile();
    expect([after.raised, after.fixed, after.pending]).toEqual([[], [], 0]);
    expect(after.checked.orders).toBe(21);
    const eod = await again.engine.recon.endOfDay();
    expect(eod.orders.map((o) => o.clientOrderId).sort()).toEqual(Array.from({ length: 21 }, (_, i) => `g${i}`).sort());
    expect(eod.trades.every((t) => t.applied)).toBe(true);
  });
});

describe('a fill price corrected at the broker after the order was let go', () => {
  it('is an open diff saying why it cannot be re-priced; nothing is changed or reported as fixed', async () => {
    const s = await session({ graceMs: 0 }, { retentionMs: 0 });
    buy(s, 'q1', 10, through(s));
    buy(s, 'q2', 10, below(s)); // its slot took q1's: q1 is let go
    expect(s.engine.getOrder('q1')).toBeUndefined();
    const [trade] = (await s.broker.syncTodayTrades()).filter((t) => t.clientOrderId === 'q1');
    s.broker.correctTradePrice(trade!.execId, trade!.price - 0.25);
    const cash = s.engine.account().cash.USD;
    const run = await s.engine.reconcile();
    expect(run.fixed.filter((d) => d.kind === 'PRICE_MISMATCH')).toEqual([]);
    const d = run.raised.find((x) => x.kind === 'PRICE_MISMATCH')!;
    expect(d).toMatchObject({ clientOrderId: 'q1', state: 'open', severity: 'critical' });
    expect(d.detail).toContain('auto-fix failed: order q1 is no longer held by the engine (finished and let go after its retention)');
    expect(s.engine.account().cash.USD).toBe(cash);
    expect(s.corrections.filter((c) => c.change === 'fill-price')).toEqual([]);
  });
});

describe('a person resolving while a run is under way', () => {
  it('resolve --accept broker waits for the run, then adopts once; no second diff for the same order', async () => {
    const clock = new ManualClock(START);
    const broker = simBroker(clock);
    const trades = broker.syncTodayTrades.bind(broker);
    let hold: Promise<void> | undefined;
    broker.syncTodayTrades = async () => {
      if (hold !== undefined) await hold;
      return trades();
    };
    const s = await session({ graceMs: 0, policy: { MISSING_LOCAL: { winner: 'manual' } } }, { broker, clock });
    const m = s.broker.manualTrade({ symbol: 'ACME', side: 'buy', qty: 4, price: 99.5 });
    const first = await s.engine.reconcile();
    expect(first.raised.map((d) => [d.id, d.kind, d.state])).toEqual([['D1', 'MISSING_LOCAL', 'open']]);
    // a run blocked in its fetch, and a person resolving meanwhile
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const running = s.engine.reconcile();
    const resolving = s.engine.recon.resolve('D1', 'broker', 'ana', 'booked by the desk');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(s.engine.getOrder(m.brokerOrderId)).toBeUndefined();
    hold = undefined;
    release();
    const run = await running;
    expect([run.raised, run.fixed, run.cleared]).toEqual([[], [], []]);
    expect(await resolving).toMatchObject({ id: 'D1', state: 'resolved' });
    expect(s.engine.getOrder(m.brokerOrderId)).toMatchObject({ external: true, status: 'Filled', cumQty: 4 });
    const after = await s.engine.reconcile();
    expect([after.raised, after.fixed, after.open]).toEqual([[], [], 0]);
    expect(s.engine.recon.list({ state: 'all' }).map((d) => [d.id, d.state])).toEqual([['D1', 'resolved']]);
    expect(s.corrections.map((c) => [c.diffId, c.source, c.change])).toEqual([['D1', 'manual', 'adopted']]);
  });
});

describe('the diffs survive a restart through the journal', () => {
  it('fixed, resolved and acknowledged diffs and their corrections come back; nothing is applied twice', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-recon-'));
    dirs.push(dir);
    const clock = new ManualClock(START);
    const broker = simBroker(clock);
    const s = await session({ graceMs: GRACE, policy: { MISSING_AT_BROKER: { winner: 'manual' } } }, { journal: dir, broker, clock });
    s.broker.dropReports((r) => r.kind === 'trade' && r.clientOrderId === 'j1');
    buy(s, 'j1', 10, through(s));
    buy(s, 'j2', 10, below(s));
    s.broker.forgetOrder(s.engine.getOrder('j2')!.brokerOrderId);
    s.broker.adjustCash('USD', 3);
    const [, second] = await reconcileTwice(s);
    expect(second.fixed.map((d) => d.kind).sort()).toEqual(['CASH_MISMATCH', 'FILLED_QTY_MISMATCH']);
    const lostId = second.raised.find((d) => d.kind === 'MISSING_AT_BROKER')!.id;
    s.engine.recon.acknowledge(lostId, 'ana', 'looking at it with the broker');
    const before = { diffs: s.engine.recon.list({ state: 'all' }), positions: s.engine.positions(), account: s.engine.account(), j1: s.engine.getOrder('j1') };
    await s.engine.stop();
    open.splice(open.indexOf(s.engine), 1);

    const again = await session({ graceMs: GRACE }, { journal: dir, broker, clock });
    expect(again.engine.recon.list({ state: 'all' })).toEqual(before.diffs);
    expect(again.engine.positions()).toEqual(before.positions);
    expect(again.engine.account()).toEqual(before.account);
    expect(again.engine.getOrder('j1')).toMatchObject({ cumQty: 10, status: 'Filled' });
    const run = await again.engine.reconcile();
    expect([run.raised, run.fixed]).toEqual([[], []]);
    expect(run.open).toBe(1);
    expect(again.engine.recon.get(lostId)).toMatchObject({ state: 'open', acknowledged: true });
    const resolved = await again.engine.recon.resolve(lostId, 'broker', 'ana', 'broker confirmed it never had the order');
    expect(resolved).toMatchObject({ state: 'resolved' });
    expect(again.engine.getOrder('j2')!.status).toBe('Cancelled');
    expect(again.corrections).toEqual([expect.objectContaining({ diffId: lostId, source: 'manual', change: 'status', before: 'Submitted', after: 'Cancelled' })]);
    await again.engine.stop();
    open.splice(open.indexOf(again.engine), 1);

    const third = await session({ graceMs: GRACE }, { journal: dir, broker, clock });
    expect(third.engine.recon.get(lostId)!.actions.map((a) => [a.action, a.who])).toEqual([['raised', 'reconciliation'], ['ack', 'ana'], ['resolve', 'ana']]);
    expect(third.engine.recon.list()).toEqual([]);
  });
});
