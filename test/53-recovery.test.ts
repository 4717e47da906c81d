import { describe, expect, it } from 'vitest';
import { NotSentError, type BrokerAdapter, type CancelOrderRequest, type PlaceOrderRequest, type ReportSink } from '../src/brokers/adapter.js';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import { copyReport, type BrokerOrder, type BrokerReport } from '../src/domain/report.js';
import { compareWithBroker } from '../src/recon/compare.js';
import { INSTRUMENTS, drive, harness, quiet } from './helpers.js';

/**
 * The in-process simulated broker behind a link the test can cut. While the link is down the
 * broker keeps trading (resting orders fill, cancels happen) and its reports are held, as on a
 * dead socket; `late()` delivers them after all, to prove they count once.
 */
class Link implements BrokerAdapter {
  readonly name = 'link';
  sink: ReportSink | undefined;
  up = false;
  /** Sends vanish with an error: the outcome is unknown to the engine. */
  blackhole = false;
  readonly held: BrokerReport[] = [];
  placedAtBroker = new Map<string, number>();
  /** Runs inside syncOpenOrders, before it answers (live reports during the sync). */
  duringSync: (() => void) | undefined;
  syncDayOrders: (() => Promise<BrokerOrder[]>) | undefined = () => this.sim.syncDayOrders();

  constructor(readonly sim: SimBroker, readonly clock: ManualClock) {
    void sim.connect({ onReport: (r) => (this.up ? this.sink!.onReport(r) : this.held.push(copyReport(r))), onDisconnect: () => {} });
  }
  async connect(sink: ReportSink) {
    this.sink = sink;
    this.up = true;
  }
  async disconnect() {
    this.up = false;
  }
  cut() {
    this.up = false;
    this.sink!.onDisconnect('link cut');
  }
  late() {
    for (const r of this.held.splice(0)) this.sink!.onReport(r);
  }
  async heartbeat() {
    return { brokerTime: this.clock.now() };
  }
  placeOrder(req: PlaceOrderRequest) {
    if (!this.up) throw new NotSentError('link down');
    if (this.blackhole) throw new Error('write EPIPE');
    this.placedAtBroker.set(req.clientOrderId, (this.placedAtBroker.get(req.clientOrderId) ?? 0) + 1);
    this.sim.placeOrder(req);
  }
  cancelOrder(req: CancelOrderRequest) {
    if (!this.up) throw new NotSentError('link down');
    if (this.blackhole) throw new Error('write EPIPE');
    this.sim.cancelOrder(req);
  }
  async syncOpenOrders() {
    const open = await this.sim.syncOpenOrders();
    this.duringSync?.();
    return open;
  }
  syncTodayTrades() {
    return this.sim.syncTodayTrades();
  }
  queryPositions() {
    return this.sim.queryPositions();
  }
  queryAccount() {
    return this.sim.queryAccount();
  }
}

async function setup(opts: { dayOrders?: boolean; retentionMs?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
  const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 11, delivery: 'manual', marketStepMs: 0, startPrices: { ACME: 10, LOTS: 20 } });
  const link = new Link(sim, clock);
  if (opts.dayOrders === false) link.syncDayOrders = undefined;
  const anomalies: Anomaly[] = [];
  const engine: Engine = createEngine({
    instruments: INSTRUMENTS, broker: link, clock, logger: quiet(), onAnomaly: (a) => anomalies.push(a), connection: { heartbeatMs: 0, reconnectBaseMs: 10 },
    ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}),
  });
  await engine.start();
  return { clock, sim, link, engine, anomalies };
}

const limit = (id: string, price: number, qty = 100, side: 'buy' | 'sell' = 'buy') => ({ clientOrderId: id, symbol: 'ACME', side, qty, price, tif: 'day' as const });

async function consistent(engine: Engine, broker: BrokerAdapter) {
  const c = await compareWithBroker(engine, broker);
  expect(c.problems).toEqual([]);
}

describe('recovery sync', () => {
  it('resolves unknown outcomes, applies missed fills once, finishes what the broker finished and adopts external orders', async () => {
    const { clock, sim, link, engine, anomalies } = await setup();
    const { ask } = sim.quote('ACME');
    // A crosses the book for more than it holds: part fills now, the rest rests and fills on later steps
    expect(engine.submit(limit('A', ask + 0.02, 5000)).status).toBe('accepted');
    expect(engine.submit(limit('B', 9.5)).status).toBe('accepted');
    sim.flush();
    expect(engine.getOrder('A')!.status).toBe('PartiallyFilled');
    sim.setFaults({ dropAck: 1 });
    engine.submit(limit('C', 9.6)); // at the broker, its ack lost
    sim.setFaults({});
    sim.flush();
    link.blackhole = true;
    engine.submit(limit('D', 9.7)); // never reached the broker; the engine cannot know
    link.blackhole = false;
    expect(engine.getOrder('C')!.status).toBe('PendingNew');
    expect(engine.getOrder('D')!.status).toBe('PendingNew');
    expect(anomalies.map((a) => a.kind)).toEqual(['SEND_FAILED']);

    link.cut();
    expect(engine.connectionState).toBe('Disconnected');
    expect(engine.submit(limit('during', 9.5))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });
    // meanwhile at the broker: A fills more, B is cancelled, someone else places an order
    const filledBefore = engine.getOrder('A')!.cumQty;
    for (let i = 0; i < 4; i++) sim.step();
    sim.cancelOrder({ clientOrderId: 'B', brokerOrderId: engine.getOrder('B')!.brokerOrderId });
    sim.placeOrder({ clientOrderId: 'manual-1', symbol: 'ACME', side: 'sell', type: 'limit', tif: 'gtc', qty: 300, price: 10.4 });
    sim.flush();
    const missed = (await sim.syncTodayTrades()).filter((t) => t.clientOrderId === 'A').reduce((q, t) => q + t.qty, 0) - filledBefore;
    expect(missed).toBeGreaterThan(0);
    expect(link.held.length).toBeGreaterThan(0);

    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    const fills = engine.stats().fills;
    expect(engine.lastSync).toMatchObject({ resolved: 1, notAtBroker: 1, external: 1, finished: 1, inferred: 0, cancelsResent: 0 });
    expect(engine.getOrder('A')!.cumQty).toBe(filledBefore + missed);
    expect(engine.getOrder('B')!.status).toBe('Cancelled');
    expect(engine.getOrder('C')).toMatchObject({ status: 'Submitted', brokerOrderId: expect.stringMatching(/^SIM-/) });
    expect(engine.getOrder('D')).toMatchObject({ status: 'Rejected', rejectReason: 'RECOVERY_NOT_FOUND' });
    expect(link.placedAtBroker.get('D')).toBeUndefined(); // never resent
    expect(engine.getOrder('manual-1')).toMatchObject({ external: true, status: 'Submitted' });
    expect(anomalies.map((a) => a.kind)).toEqual(['SEND_FAILED', 'UNKNOWN_ORDER', 'SYNC_NOT_AT_BROKER']);
    await consistent(engine, link);

    // the reports lost on the dead link turn up after all: nothing counts twice
    const dupBefore = engine.stats().duplicateReports;
    link.late();
    expect(engine.stats().fills).toBe(fills);
    expect(engine.stats().duplicateReports).toBeGreaterThan(dupBefore);
    await consistent(engine, link);
    expect([...link.placedAtBroker.values()].every((n) => n === 1)).toBe(true);
  });

  it('applies reports that arrive while the sync runs exactly once', async () => {
    const { clock, sim, link, engine } = await setup();
    const { ask } = sim.quote('ACME');
    engine.submit(limit('P', ask + 0.02, 6000));
    sim.flush();
    link.cut();
    sim.step();
    sim.step();
    // while the sync is running the link is up again and live reports flow, some also in the snapshot
    link.duringSync = () => {
      link.late();
      sim.step();
      sim.flush();
    };
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    link.duringSync = undefined;
    sim.flush();
    const trades = (await sim.syncTodayTrades()).filter((t) => t.clientOrderId === 'P');
    expect(engine.getOrder('P')!.cumQty).toBe(trades.reduce((q, t) => q + t.qty, 0));
    expect(engine.stats().fills).toBe(trades.length);
    expect(engine.lastSync!.leftToLive).toBe(1);
    await consistent(engine, link);
  });

  it('sends a lost cancel again when the broker still has the order open', async () => {
    const { clock, sim, link, engine } = await setup();
    engine.submit(limit('F', 9.5));
    sim.flush();
    link.blackhole = true;
    expect(engine.cancel('F').status).toBe('sent'); // the send failed after leaving: outcome unknown
    link.blackhole = false;
    expect(engine.getOrder('F')!.status).toBe('PendingCancel');
    link.cut();
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    expect(engine.lastSync!.cancelsResent).toBe(1);
    sim.flush();
    expect(engine.getOrder('F')!.status).toBe('Cancelled');
    await consistent(engine, link);
  });

  it('finishes an order by inference, flagged, when the adapter cannot list the day\'s orders', async () => {
    const { clock, sim, link, engine, anomalies } = await setup({ dayOrders: false });
    engine.submit(limit('G', 9.5));
    sim.flush();
    link.cut();
    sim.expireDayOrders();
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    expect(engine.getOrder('G')).toMatchObject({ status: 'Cancelled' });
    expect(engine.lastSync).toMatchObject({ finished: 1, inferred: 1, brokerDayOrders: -1 });
    expect(anomalies.at(-1)).toMatchObject({ kind: 'SYNC_INFERRED', clientOrderId: 'G', severity: 'P1' });
  });

  it('takes the broker\'s own final status when it can list the day\'s orders', async () => {
    const { clock, sim, link, engine } = await setup();
    engine.submit(limit('H', 9.5));
    sim.flush();
    link.cut();
    sim.expireDayOrders();
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    expect(engine.getOrder('H')!.status).toBe('Expired');
    await consistent(engine, link);
  });

  it('orders the table let go after their retention are not adopted again on reconnect: their fills count once', async () => {
    const { clock, sim, link, engine, anomalies } = await setup({ retentionMs: 0 });
    for (let i = 0; i < 5; i++) {
      expect(engine.submit(limit(`R${i}`, sim.quote('ACME').ask + 0.02, 100)).status).toBe('accepted');
      sim.flush();
      expect(engine.getOrder(`R${i}`)!.status).toBe('Filled');
    }
    // each submit let the filled orders before it go: only R4 is still held
    expect(engine.orders().map((o) => o.clientOrderId)).toEqual(['R4']);
    const position = () => engine.positions().find((p) => p.symbol === 'ACME')!.qty;
    expect(position()).toBe(500);
    const fills = engine.stats().fills;
    link.cut();
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect');
    const trades = await sim.syncTodayTrades();
    expect(new Set(trades.map((t) => t.clientOrderId))).toEqual(new Set(['R0', 'R1', 'R2', 'R3', 'R4']));
    expect(engine.lastSync).toMatchObject({ brokerTrades: trades.length, external: 0, fillsApplied: 0, retired: 4 });
    expect(position()).toBe(500);
    expect(engine.stats().fills).toBe(fills);
    expect(anomalies.map((a) => a.kind)).not.toContain('UNKNOWN_ORDER');
    expect((await sim.queryPositions()).find((p) => p.symbol === 'ACME')!.qty).toBe(500);
    expect(engine.orders().map((o) => o.clientOrderId)).toEqual(['R4']);
  });

  it('resync() on a live connection leaves PendingNew orders younger than the grace to their acks', async () => {
    const { clock, link, engine } = await setup();
    link.blackhole = true;
    engine.submit(limit('old', 9.5));
    clock.advance(10_000);
    engine.submit(limit('young', 9.5));
    link.blackhole = false;
    expect(await engine.resync({ graceMs: 5000 })).toMatchObject({ notAtBroker: 1, leftToLive: 1 });
    expect(engine.getOrder('old')).toMatchObject({ status: 'Rejected', rejectReason: 'RECOVERY_NOT_FOUND' });
    expect(engine.getOrder('young')!.status).toBe('PendingNew');
    link.cut();
    await expect(engine.resync()).rejects.toThrow('cannot resync: engine=running connection=Disconnected');
  });
  it('an order never acknowledged, with a cancel asked for, that the broker does not list is marked Rejected, not left PendingCancel (found by the certify drills)', async () => {
    const { engine, broker, anomalies } = await harness();
    // the broker lists the day's orders, and this one is not among them
    Object.assign(broker, { syncDayOrders: async (): Promise<BrokerOrder[]> => [] });
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 10, price: 10 });
    expect(engine.cancel('a').status).toBe('sent');
    expect(engine.getOrder('a')!.status).toBe('PendingCancel');
    await engine.resync({ graceMs: 0 });
    expect(engine.getOrder('a')).toMatchObject({ status: 'Rejected', rejectReason: 'RECOVERY_NOT_FOUND' });
    expect(anomalies.map((a) => a.kind)).toEqual(['SYNC_NOT_AT_BROKER']);
  });
});
