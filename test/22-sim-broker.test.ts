import { describe, expect, it } from 'vitest';
import type { ReportSink } from '../src/brokers/adapter.js';
import { SyntheticBook } from '../src/brokers/sim/market.js';
import { matchAgainstBook, priceTimeOrder, type SimOrder } from '../src/brokers/sim/matching.js';
import { Prng } from '../src/brokers/sim/prng.js';
import { SimBroker, type SimBrokerOptions } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { makeInstrument } from '../src/domain/instrument.js';
import { copyReport, type BrokerReport } from '../src/domain/report.js';
import { INSTRUMENTS } from './helpers.js';

async function sim(opts: Partial<SimBrokerOptions> = {}) {
  const clock = new ManualClock(0);
  const reports: BrokerReport[] = [];
  // a copy: the broker refills its report structures once the sink returns
  const sink: ReportSink = { onReport: (r) => reports.push(copyReport(r)), onDisconnect: () => {} };
  const broker = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 3, marketStepMs: 0, startPrices: { ACME: 10, LOTS: 20 }, ...opts });
  await broker.connect(sink);
  return { broker, clock, reports };
}

const place = (broker: SimBroker, id: string, extra: object = {}) =>
  broker.placeOrder({ clientOrderId: id, symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 10, price: 9.5, ...extra });

describe('simulated broker', () => {
  it('acks and rests a passive limit order', async () => {
    const { broker, clock, reports } = await sim();
    place(broker, 'a');
    clock.advance(0);
    expect(reports).toMatchObject([{ kind: 'new', clientOrderId: 'a', brokerOrderId: 'SIM-1', seq: 1 }]);
    expect(await broker.syncOpenOrders()).toMatchObject([{ clientOrderId: 'a', status: 'Submitted', cumQty: 0, price: 9.5 }]);
  });

  it('delivers every report in a reused report structure: no report object per report once warm', async () => {
    const clock = new ManualClock(0);
    const seen: BrokerReport[] = [];
    const copies: BrokerReport[] = [];
    const broker = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 3, marketStepMs: 0, startPrices: { ACME: 10, LOTS: 20 } });
    await broker.connect({ onReport: (r) => void (seen.push(r), copies.push(copyReport(r))), onDisconnect: () => {} });
    for (const id of ['a', 'b', 'c']) {
      place(broker, id);
      clock.advance(0);
    }
    // one structure, refilled for each ack; what it said is what a copy taken during the call says
    expect(new Set(seen).size).toBe(1);
    expect(copies).toMatchObject([{ kind: 'new', clientOrderId: 'a' }, { kind: 'new', clientOrderId: 'b' }, { kind: 'new', clientOrderId: 'c' }]);
    expect(seen[0]!.clientOrderId).toBeUndefined(); // cleared once its call returned
  });

  it('fills a marketable market order across levels with partial fills at each level price', async () => {
    const { broker, clock, reports } = await sim({ market: { minLevelLots: 10, maxLevelLots: 10, levels: 3, halfSpreadTicks: 1 } });
    const { ask } = broker.quote('ACME');
    broker.placeOrder({ clientOrderId: 'm', symbol: 'ACME', side: 'buy', type: 'market', tif: 'day', qty: 25, price: Number.NaN });
    clock.advance(0);
    const fills = reports.filter((r) => r.kind === 'trade');
    expect(fills.map((f) => [f.lastQty, f.lastPx])).toEqual([[10, ask], [10, ask + 0.01], [5, ask + 0.02]]);
    expect(fills.map((f) => f.cumQty)).toEqual([10, 20, 25]);
    expect(await broker.queryPositions()).toContainEqual({ symbol: 'ACME', qty: 25 });
  });

  it('cancels the unfilled remainder of an IOC order (and of a market order beyond the book)', async () => {
    const { broker, clock, reports } = await sim({ market: { minLevelLots: 10, maxLevelLots: 10, levels: 2 } });
    const { ask } = broker.quote('ACME');
    place(broker, 'ioc', { tif: 'ioc', qty: 15, price: ask });
    broker.placeOrder({ clientOrderId: 'm', symbol: 'ACME', side: 'sell', type: 'market', tif: 'day', qty: 500, price: Number.NaN });
    clock.advance(0);
    expect(reports.filter((r) => r.clientOrderId === 'ioc').map((r) => r.kind)).toEqual(['new', 'trade', 'canceled']);
    expect(reports.filter((r) => r.clientOrderId === 'm').map((r) => r.kind)).toEqual(['new', 'trade', 'trade', 'canceled']);
  });

  it('fills resting orders as the market moves through them', async () => {
    const { broker, clock, reports } = await sim();
    const { bid } = broker.quote('ACME');
    place(broker, 'a', { price: bid });
    let steps = 0;
    while (reports.every((r) => r.kind !== 'trade') && steps++ < 500) {
      broker.step();
      clock.advance(0);
    }
    expect(reports.some((r) => r.kind === 'trade' && r.clientOrderId === 'a')).toBe(true);
  });

  it('gives liquidity in price-time priority', () => {
    const inst = makeInstrument({ symbol: 'X', tickSize: 1, pricePrecision: 0 }, 0);
    const book = new SyntheticBook(inst, 100, { halfSpreadTicks: 1, levels: 1, minLevelLots: 10, maxLevelLots: 10, maxMoveTicks: 0 }, new Prng(1));
    const mk = (id: string, price: number, arrival: number): SimOrder => ({
      brokerOrderId: id, clientOrderId: id, inst, side: 1, type: 'limit', tif: 'day', qty: 8, price, protection: Number.NaN, arrival, cumQty: 0, fillValue: 0, status: 'Submitted', seq: 0,
    });
    const orders = [mk('late', 101, 3), mk('early', 101, 1), mk('better', 102, 2)].sort(priceTimeOrder);
    expect(orders.map((o) => o.clientOrderId)).toEqual(['better', 'early', 'late']);
    const fills: Array<[string, number]> = [];
    for (const o of orders) {
      matchAgainstBook(o, book, (q) => {
        o.cumQty += q;
        fills.push([o.clientOrderId, q]);
      });
    }
    expect(fills).toEqual([['better', 8], ['early', 2]]); // 10 lots at the ask (101): 'late' gets nothing
  });

  it.each([
    ['UNKNOWN_SYMBOL', { symbol: 'NOPE' }],
    ['LOT_SIZE', { symbol: 'LOTS', qty: 150, price: 20 }],
    ['TICK_SIZE', { price: 9.505 }],
    ['PRICE_BAND', { price: 12 }],
    ['MAX_ORDER_QTY', { qty: 1001 }],
  ])('rejects with %s and its own text', async (reason, extra) => {
    const { broker, clock, reports } = await sim({ maxOrderQty: 1000 });
    place(broker, 'r', extra);
    clock.advance(0);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'rejected', clientOrderId: 'r', reason });
    expect(reports[0]?.text).toMatch(/^SIM: /);
  });

  it('cancels an open order, refuses a finished one as too late, and an unknown one', async () => {
    const { broker, clock, reports } = await sim({ market: { minLevelLots: 100, maxLevelLots: 100 } });
    place(broker, 'open');
    place(broker, 'done', { price: broker.quote('ACME').ask });
    broker.cancelOrder({ clientOrderId: 'open', brokerOrderId: 'SIM-1' });
    broker.cancelOrder({ clientOrderId: 'done', brokerOrderId: '' });
    broker.cancelOrder({ clientOrderId: 'ghost', brokerOrderId: 'SIM-99' });
    clock.advance(0);
    const last = (id: string) => reports.filter((r) => r.clientOrderId === id).at(-1);
    expect(last('open')).toMatchObject({ kind: 'canceled' });
    expect(last('done')).toMatchObject({ kind: 'cancel_rejected', reason: 'TOO_LATE_TO_CANCEL' });
    expect(last('ghost')).toMatchObject({ kind: 'cancel_rejected', reason: 'UNKNOWN_ORDER' });
  });

  it('delivers acks and fills after their configured latency', async () => {
    const { broker, clock, reports } = await sim({ ackLatencyMs: 5, fillLatencyMs: 8 });
    place(broker, 'a', { price: broker.quote('ACME').ask });
    clock.advance(4);
    expect(reports).toHaveLength(0);
    clock.advance(1);
    expect(reports.map((r) => r.kind)).toEqual(['new']);
    clock.advance(3);
    expect(reports.map((r) => r.kind)).toEqual(['new', 'trade']);
  });

  it('with manual delivery, reports wait for flush()', async () => {
    const { broker, clock, reports } = await sim({ delivery: 'manual' });
    place(broker, 'a');
    clock.advance(100);
    expect(reports).toHaveLength(0);
    expect(broker.flush()).toBe(1);
    expect(reports).toHaveLength(1);
  });

  it('is deterministic under a seed', async () => {
    const run = async (seed: number) => {
      const { broker, clock, reports } = await sim({ seed, faults: { duplicateReports: 0.3, reorderReports: 0.3 } });
      for (let i = 0; i < 30; i++) {
        place(broker, `o${i}`, { price: broker.quote('ACME').bid + 0.01 * (i % 3), side: i % 2 ? 'buy' : 'sell' });
        broker.step();
        clock.advance(3);
      }
      return JSON.stringify(reports);
    };
    expect(await run(11)).toBe(await run(11));
    expect(await run(11)).not.toBe(await run(12));
  });

  describe('fault knobs', () => {
    it('duplicates reports with the same execId', async () => {
      const { broker, clock, reports } = await sim({ faults: { duplicateReports: 1 } });
      place(broker, 'a');
      clock.advance(5);
      expect(reports).toHaveLength(2);
      expect(reports[0]).toEqual(reports[1]);
    });

    it('reorders: a held-back report is overtaken by the next one', async () => {
      const { broker, clock, reports } = await sim({ faults: { reorderReports: 1 }, reorderHoldMs: 3, ackLatencyMs: 0, fillLatencyMs: 1 });
      place(broker, 'a', { price: broker.quote('ACME').ask });
      broker.setFaults({});
      place(broker, 'b');
      clock.advance(10);
      expect(reports.map((r) => `${r.clientOrderId}:${r.kind}`)).toEqual(['b:new', 'a:new', 'a:trade']);
    });

    it('delays every report by the configured time', async () => {
      const { broker, clock, reports } = await sim({ faults: { delayReportsMs: 50 } });
      place(broker, 'a');
      clock.advance(49);
      expect(reports).toHaveLength(0);
      clock.advance(1);
      expect(reports).toHaveLength(1);
    });

    it('drops the ack but sends the fill', async () => {
      const { broker, clock, reports } = await sim({ faults: { dropAck: 1 } });
      place(broker, 'a', { price: broker.quote('ACME').ask });
      clock.advance(0);
      expect(reports.map((r) => [r.kind, r.seq])).toEqual([['trade', 2]]);
    });

    it('refuses an unknown fault by name', async () => {
      const { broker } = await sim();
      expect(() => broker.setFaults({ dupes: 1 } as never)).toThrow('faults.dupes: unknown fault');
    });
  });

  it('refuses to send while disconnected (certainly not sent)', async () => {
    const { broker } = await sim();
    await broker.disconnect();
    expect(() => place(broker, 'a')).toThrow('not connected');
  });
});
