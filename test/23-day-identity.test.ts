/**
 * Order identity within the trading day, and reports that must land on the right order in
 * every path: live, recovery sync, reconciliation, journal replay. Also the bounds on what
 * reports from outside can grow, and reports that must never reach the ledger.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { BrokerOrder, BrokerReport, BrokerTrade } from '../src/domain/report.js';
import { Journal } from '../src/journal/journal.js';
import { INSTRUMENTS, NATIVE, NO_HEARTBEAT, PATHS, ScriptedBroker, harness, quiet } from './helpers.js';

const buy = (id: string, qty = 10, price = 10) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty, price });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe.each(PATHS)('on the %s path', (p) => {
  it('a finished order id stays refused all day (submitMany too), so a resent fill of the old order cannot reach a new one', async () => {
    const { engine, broker, clock, anomalies } = await harness({ retentionMs: 1000 }, p);
    expect(engine.submit(buy('a')).status).toBe('accepted');
    broker.ack('a', 'A1');
    broker.fill('a', 'A1', 10, 10, { execId: 'F1' });
    clock.advance(2000); // past retention: the order leaves the table for the day's store
    expect(engine.submit(buy('a'))).toMatchObject({ status: 'denied', reason: 'DUPLICATE_ORDER_ID' });
    // a FIX-style resend of the old order's fill, both ids on it
    broker.send({ kind: 'trade', execId: 'F1', clientOrderId: 'a', brokerOrderId: 'A1', lastQty: 10, lastPx: 10 });
    expect(engine.positions()[0]!.qty).toBe(10);
    expect(engine.stats().lateReports).toBe(1);
    expect(anomalies.map((a) => a.kind)).toEqual(['LATE_REPORT']);
    expect(engine.getOrder('A1')).toBeUndefined();
  });
});

describe('reports by broker id alone', () => {
  it('a fill before the ack that names only the broker id waits for the ack, then lands on our order', async () => {
    const { engine, broker, anomalies } = await harness();
    engine.submit(buy('a', 10));
    broker.send({ kind: 'trade', execId: 'F1', brokerOrderId: 'A1', symbol: 'ACME', side: 'buy', qty: 10, lastQty: 4, lastPx: 10 });
    expect(engine.getOrder('a')).toMatchObject({ status: 'PendingNew', cumQty: 0 });
    expect(engine.positions()[0]!.qty).toBe(0);
    broker.ack('a', 'A1');
    expect(engine.getOrder('a')).toMatchObject({ status: 'PartiallyFilled', cumQty: 4, brokerOrderId: 'A1' });
    expect(engine.positions()[0]!.qty).toBe(4);
    expect(engine.orders()).toHaveLength(1); // no phantom external order
    expect(engine.risk.openBuy[0]).toBe(6);
    expect(anomalies).toEqual([]);
  });

  it('one that waited longer than parkMs became external; the ack then claims it for our order, booked once', async () => {
    const { engine, broker, clock, anomalies } = await harness({ limits: { parkMs: 100 } });
    engine.submit(buy('a', 10));
    broker.send({ kind: 'trade', execId: 'F1', brokerOrderId: 'A1', symbol: 'ACME', side: 'buy', qty: 10, lastQty: 10, lastPx: 10 });
    clock.advance(150);
    expect(engine.getOrder('A1')).toMatchObject({ external: true, cumQty: 10 });
    expect(anomalies.map((a) => a.kind)).toEqual(['UNKNOWN_ORDER']);
    broker.ack('a', 'A1');
    expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 10, brokerOrderId: 'A1', external: false });
    expect(engine.getOrder('A1')!.clientOrderId).toBe('a');
    expect(engine.orders()).toHaveLength(1);
    expect(engine.positions()[0]!.qty).toBe(10);
    expect(engine.openOrders()).toEqual([]);
    expect(engine.risk.openBuy[0]).toBe(0);
  });

  it('a fill resent by broker id alone after the order left the table is not booked again as an external order', async () => {
    const { engine, broker, clock } = await harness({ retentionMs: 1000 });
    engine.submit(buy('a', 10));
    broker.ack('a', 'A1');
    broker.fill('a', 'A1', 10, 10, { execId: 'F1' });
    clock.advance(2000);
    engine.submit(buy('b')); // the table recycles on submit
    broker.send({ kind: 'trade', execId: 'F1', brokerOrderId: 'A1', symbol: 'ACME', side: 'buy', qty: 10, lastQty: 10, lastPx: 10 });
    clock.advance(10_000);
    expect(engine.positions()[0]!.qty).toBe(10);
    expect(engine.orders().filter((o) => o.external)).toEqual([]);
    expect(engine.stats().lateReports).toBe(1);
  });
});

/** A scripted broker whose sync lists the test sets. */
class ListedBroker extends ScriptedBroker {
  open: BrokerOrder[] = [];
  day: BrokerOrder[] = [];
  trades: BrokerTrade[] = [];
  override async syncOpenOrders() {
    return this.open;
  }
  override async syncTodayTrades() {
    return this.trades;
  }
  async syncDayOrders() {
    return this.day;
  }
}

describe('recovery sync and reconciliation against orders let go from the table', () => {
  async function dayWithRelease() {
    const broker = new ListedBroker();
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
    broker.clock = clock;
    const anomalies: Anomaly[] = [];
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, retentionMs: 1000, onAnomaly: (a) => anomalies.push(a), recon: { graceMs: 0 } });
    await engine.start();
    engine.submit(buy('a', 10));
    broker.ack('a', 'A1');
    broker.fill('a', 'A1', 10, 10, { execId: 'F1' });
    clock.advance(2000);
    engine.submit(buy('b', 5)); // 'a' leaves the table; 'b' waits for its ack
    const done: BrokerOrder = { clientOrderId: 'a', brokerOrderId: 'A1', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 10, price: 10, cumQty: 10, status: 'Filled' };
    const trade: BrokerTrade = { execId: 'F1', clientOrderId: 'a', brokerOrderId: 'A1', symbol: 'ACME', side: 'buy', qty: 10, price: 10, time: clock.now() };
    broker.day = [done, { ...done, clientOrderId: 'b', brokerOrderId: 'B1', qty: 5, cumQty: 0, status: 'Submitted' }];
    broker.open = [broker.day[1]!];
    broker.trades = [trade];
    return { engine, broker, clock, anomalies };
  }

  it('recovery sync leaves the let-go order alone (retired) and binds nothing of it to the order waiting for its ack', async () => {
    const { engine, anomalies } = await dayWithRelease();
    const sync = await engine.resync({ graceMs: 0 });
    expect(sync).toMatchObject({ retired: 1, resolved: 1, fillsApplied: 0, external: 0 });
    expect(engine.getOrder('b')).toMatchObject({ brokerOrderId: 'B1', status: 'Submitted', cumQty: 0 });
    expect(engine.positions()[0]!.qty).toBe(10);
    expect(anomalies).toEqual([]);
  });

  it('reconciliation matches the let-go order by its broker id: no diff, nothing booked again', async () => {
    const { engine, broker } = await dayWithRelease();
    broker.ack('b', 'B1');
    broker.queryPositions = async () => [{ symbol: 'ACME', qty: 10 }];
    broker.queryAccount = async () => [{ currency: 'USD', cash: -100 }];
    const run = await engine.reconcile();
    expect(run.raised).toEqual([]);
    expect(run.fixed).toEqual([]);
    expect(engine.positions()[0]!.qty).toBe(10);
  });
});

describe('journal replay recycles as the live submit did', () => {
  it('a journal in which an id was used again after its retention (as older builds allowed) restores both orders', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-reuse-'));
    dirs.push(dir);
    const t0 = Date.UTC(2026, 10, 24, 14, 30);
    const j = Journal.open({ dir, snapshotEveryRecords: 0, snapshotEveryMs: 0 }, quiet(), NATIVE.addon, { snapshot() {}, record() {} });
    j.append({ k: 'open', t: t0, v: 1, instruments: INSTRUMENTS, initialCash: {}, risk: undefined, environment: 'paper', broker: 'scripted' });
    j.append({ k: 'intent', t: t0, id: 'a', i: 0, side: 1, type: 0, tif: 0, qty: 10, px: 1000 });
    j.append({ k: 'report', t: t0 + 1, kind: 'new', e: 'N1', b: 'A1', c: 'a', q: undefined, p: undefined, cq: undefined, s: undefined, x: undefined });
    j.append({ k: 'report', t: t0 + 2, kind: 'trade', e: 'F1', b: 'A1', c: 'a', q: 10, p: 10, cq: undefined, s: undefined, x: undefined });
    j.append({ k: 'intent', t: t0 + 2000, id: 'a', i: 0, side: 1, type: 0, tif: 0, qty: 5, px: 1000 });
    await j.close();
    const broker = new ScriptedBroker();
    const clock = new ManualClock(t0 + 3000);
    broker.clock = clock;
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, retentionMs: 1000, journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0 } });
    await engine.start();
    // recovery sync found the second 'a' nowhere at the broker: it was sent, so it is Rejected, never lost
    expect(engine.getOrder('a')).toMatchObject({ qty: 5, status: 'Rejected', rejectReason: 'RECOVERY_NOT_FOUND' });
    expect(engine.archive.get('a')).toMatchObject({ brokerOrderId: 'A1', status: 'Filled', cumQty: 10 });
    expect(engine.positions()[0]!.qty).toBe(10);
    await engine.stop();
  });
});

describe('reports that must never reach the ledger', () => {
  it('non-finite or absurd quantities and prices are malformed: flagged, never booked', async () => {
    const { engine, broker, anomalies } = await harness();
    engine.submit(buy('a', 10));
    broker.ack('a', 'A1');
    const bad: Array<Partial<BrokerReport>> = [
      { lastQty: 5, lastPx: 1e308 },
      { lastQty: 1e300, lastPx: 10 },
      { lastQty: 5, lastPx: Infinity },
      { lastQty: Number.NaN, lastPx: 10 },
      { lastQty: 1e11, lastPx: 1e5 }, // each under its bound, the value over
    ];
    for (const [i, f] of bad.entries()) broker.send({ kind: 'trade', execId: `B${i}`, clientOrderId: 'a', brokerOrderId: 'A1', ...f });
    expect(anomalies.map((a) => a.kind)).toEqual(bad.map(() => 'MALFORMED_REPORT'));
    expect(engine.positions()[0]).toMatchObject({ qty: 0, realizedPnl: 0 });
    expect(Number.isFinite(engine.account().cash.USD ?? 0)).toBe(true);
    expect(engine.getOrder('a')).toMatchObject({ cumQty: 0, status: 'Submitted' });
  });

  it.each([false, true])('onReport never throws (journal: %s), and the reports queued behind a bad one still apply', async (withJournal) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-null-'));
    dirs.push(dir);
    const { engine, broker } = await harness(withJournal ? { journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0 } } : {});
    engine.submit(buy('a', 10));
    for (const junk of [null, undefined, 42, 'x', [], {}]) expect(() => engine.onReport(junk as unknown as BrokerReport)).not.toThrow();
    // a callback delivers a bad report and a good one re-entrantly: both queue, both are handled
    let once = true;
    engine.setStrategy({
      onExecutionReport: () => {
        if (!once) return;
        once = false;
        engine.onReport(null as unknown as BrokerReport);
        engine.onReport({ kind: 'trade', execId: 'F1', clientOrderId: 'a', brokerOrderId: 'A1', lastQty: 10, lastPx: 10 });
      },
    });
    broker.ack('a', 'A1');
    expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 10 });
    expect(engine.stats().malformedReports).toBe(7);
    await engine.stop();
  });
});

describe('bounds on what reports can grow', () => {
  it('reports for unknown orders cannot fill the order table: external orders have a quota, and an unkept fill is booked once', async () => {
    const { engine, broker, anomalies } = await harness({ capacity: 64 });
    for (let i = 0; i < 1000; i++) broker.send({ kind: 'new', execId: `N${i}`, clientOrderId: `x-${i}`, brokerOrderId: `X${i}`, symbol: 'ACME', side: 'sell', qty: 1 });
    expect(engine.orders().filter((o) => o.external)).toHaveLength(8); // capacity / 8
    for (let i = 0; i < 56; i++) expect(engine.submit(buy(`own-${i}`, 1)).status).toBe('accepted');
    expect(engine.submit(buy('one-more', 1))).toMatchObject({ status: 'denied', reason: 'ORDER_TABLE_FULL' });
    // a fill of an external order that could not be kept: booked, and once only when it comes twice
    const f = { kind: 'trade' as const, execId: 'XF', clientOrderId: 'x-999', brokerOrderId: 'X999', symbol: 'ACME', side: 'sell' as const, lastQty: 3, lastPx: 10 };
    broker.send(f);
    broker.send(f);
    expect(engine.positions()[0]!.qty).toBe(-3);
    expect(engine.stats().duplicateReports).toBe(1);
    expect(anomalies.filter((a) => a.kind === 'TABLE_FULL_EXTERNAL').length).toBeGreaterThan(0);
  });

  it('a rejected report leaves nothing on the order; exec ids per order are bounded and refused past the bound', async () => {
    const { engine, broker, anomalies } = await harness({ limits: { maxExecIdsPerOrder: 50 } });
    engine.submit(buy('a', 1000));
    for (let i = 0; i < 20_000; i++) broker.send({ kind: 'rejected', execId: `R${i}`, clientOrderId: 'a', brokerOrderId: 'A1' });
    // the first reject finished the order; the others changed nothing and left nothing behind
    const slot = engine.table.byClientId.get('a');
    expect(engine.getOrder('a')!.status).toBe('Rejected');
    expect(engine.table.execIdCount(slot)).toBe(1);
    // the same end again changes nothing: no transition, no anomaly
    expect(engine.stats()).toMatchObject({ invalidTransitions: 0, noopReports: 19_999 });
    expect(anomalies.filter((a) => a.kind === 'INVALID_TRANSITION')).toEqual([]);
    engine.submit(buy('b', 1000));
    broker.ack('b', 'B1');
    for (let i = 0; i < 60; i++) broker.fill('b', 'B1', 1, 10, { execId: `BF${i}` });
    expect(engine.getOrder('b')!.cumQty).toBe(49); // the ack and 49 fills: 50 ids
    expect(engine.stats().boundRefusals).toBe(11);
    expect(anomalies.filter((a) => a.kind === 'BOUND_REACHED')).toHaveLength(1);
  });
});

describe('the day roll', () => {
  it('rolls at 17:00 New York: journaled, the day report written, daily counts reset, open orders carried, and a restart rolls the same way', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-roll-'));
    dirs.push(dir);
    const reportDir = path.join(dir, 'reports');
    // Monday 2026-11-30 15:00 New York (20:00 UTC): an evening roll names the day by the date it
    // ends, so Sunday 17:00 to Monday 17:00 is 2026-11-30
    const clock = new ManualClock(Date.UTC(2026, 10, 30, 20, 0));
    const rolls: unknown[] = [];
    const make = () =>
      createEngine({
        instruments: INSTRUMENTS, clock, logger: quiet(), connection: NO_HEARTBEAT, onDayRoll: (r) => rolls.push(r),
        tradingDay: { rollAt: '17:00', timeZone: 'America/New_York', reportDir },
        sim: { seed: 2, marketStepMs: 0, startPrices: { ACME: 10, LOTS: 20 } },
        risk: { account: { maxOrdersPerDay: 2 } },
        journal: { dir: path.join(dir, 'j'), snapshotEveryRecords: 0, snapshotEveryMs: 0 },
      });
    const e = make();
    await e.start();
    expect(e.currentDay).toMatchObject({ day: '2026-11-30', rollsAt: Date.UTC(2026, 10, 30, 22, 0), boundary: '17:00 America/New_York' });
    expect(e.submit({ clientOrderId: 'gtc', symbol: 'ACME', side: 'buy', qty: 1, price: 9.5, tif: 'gtc' }).status).toBe('accepted');
    expect(e.submit({ clientOrderId: 'ioc', symbol: 'ACME', side: 'buy', qty: 1, price: 10.5, tif: 'ioc' }).status).toBe('accepted');
    expect(e.submit({ clientOrderId: 'third', symbol: 'ACME', side: 'buy', qty: 1, price: 9.5 })).toMatchObject({ status: 'denied', reason: 'RATE_LIMIT' });
    clock.advance(10);
    expect(e.getOrder('ioc')!.status).toBe('Filled');
    clock.advance(Date.UTC(2026, 10, 30, 22, 0) - clock.now()); // the boundary: the timer rolls
    expect(e.currentDay.day).toBe('2026-12-01');
    expect(rolls).toEqual([{ day: '2026-11-30', next: '2026-12-01', time: Date.UTC(2026, 10, 30, 22, 0), released: 1, carriedOver: 1, diffsCarried: 0 }]);
    expect(e.orders().map((o) => [o.clientOrderId, o.status])).toEqual([['gtc', 'Submitted']]);
    expect(e.submit({ clientOrderId: 'ioc', symbol: 'ACME', side: 'buy', qty: 1, price: 10.5, tif: 'ioc' }).status).toBe('accepted'); // a new day, the id again
    expect(e.submit({ clientOrderId: 'next', symbol: 'ACME', side: 'buy', qty: 1, price: 9.5 }).status).toBe('accepted'); // the day's count started again
    const files = await e.lastDayReport;
    expect(files!.json).toBe(path.join(reportDir, 'recon-2026-11-30.json'));
    const report = JSON.parse(fs.readFileSync(files!.json, 'utf8')) as { date: string; orders: Array<{ clientOrderId: string }> };
    expect(report.date).toBe('2026-11-30');
    expect(report.orders.map((o) => o.clientOrderId).sort()).toEqual(['gtc', 'ioc']);
    clock.advance(10);
    const live = { orders: e.orders(), positions: e.positions(), day: e.currentDay.day };
    await e.stop();
    // the restart replays the day record: the same day, the same orders, nothing of Monday's back
    const again = make();
    await again.start();
    expect({ orders: again.orders(), positions: again.positions(), day: again.currentDay.day }).toEqual(live);
    expect(again.archive.size).toBe(0);
    await again.stop();
  });
});
