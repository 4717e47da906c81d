import { describe, expect, it } from 'vitest';
import type { PlaceOrderRequest } from '../src/brokers/adapter.js';
import { Prng } from '../src/brokers/sim/prng.js';
import { createEngine } from '../src/engine.js';
import type { OrderRequest } from '../src/domain/order.js';
import { INSTRUMENTS, NATIVE, StubBroker, quiet } from './helpers.js';

/** Acks and fills whatever was placed, when the test says so. */
class FillAllBroker extends StubBroker {
  override readonly name = 'fill-all';
  pending: PlaceOrderRequest[] = [];
  placedCount = 0;
  private n = 0;
  override placeOrder(req: PlaceOrderRequest) {
    this.placedCount++;
    this.pending.push({ ...req }); // the request is the engine's, valid during the call only
  }
  /** Ack and fill the pending orders; returns how many reports went out. */
  answer(): number {
    const batch = this.pending;
    this.pending = [];
    for (const req of batch) {
      const bid = `B${++this.n}`;
      this.sink!.onReport({ kind: 'new', execId: 'A', brokerOrderId: bid, clientOrderId: req.clientOrderId });
      this.sink!.onReport({ kind: 'trade', execId: 'F', brokerOrderId: bid, clientOrderId: req.clientOrderId, lastQty: req.qty, lastPx: req.price });
    }
    return batch.length * 2;
  }
}

describe.each(NATIVE.addon ? (['ts', 'native'] as const) : (['ts'] as const))('stress on the %s gate', (backend) => {
  it('1,000,000 submits with 5% duplicate ids and interleaved reports: every duplicate caught, nothing lost, callbacks exact', async () => {
    const broker = new FillAllBroker();
    const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: quiet(), capacity: 1 << 20, retentionMs: 86_400_000, backend });
    const calls = { order: 0, trade: 0, report: 0 };
    engine.setStrategy({ onOrder: () => calls.order++, onTrade: () => calls.trade++, onExecutionReport: () => calls.report++ });
    await engine.start();
    const rng = new Prng(99);
    // the test's own model of every id: open until its reports are answered, then finished
    const state = new Map<string, 'open' | 'finished'>();
    const recent: string[] = [];
    const expected = { accepted: 0, duplicate: 0, finishedReuse: 0 };
    const got = { accepted: 0, duplicate: 0, finishedReuse: 0, other: 0 };
    let reports = 0;
    let next = 0;
    const TOTAL = 1_000_000;
    while (next < TOTAL) {
      const orders: OrderRequest[] = [];
      const size = Math.min(rng.int(1, 1000), TOTAL - next);
      for (let i = 0; i < size; i++, next++) {
        const reuse = recent.length > 0 && rng.chance(0.05);
        const id = reuse ? rng.pick(recent) : `s${next}`;
        const known = state.get(id);
        // within one batch, a second use of a new id is a duplicate of the first
        if (known === 'open') expected.duplicate++;
        else if (known === 'finished') expected.finishedReuse++;
        else {
          expected.accepted++;
          state.set(id, 'open');
          if (recent.length < 5000) recent.push(id);
          else recent[rng.int(0, 4999)] = id;
        }
        orders.push({ clientOrderId: id, symbol: 'ACME', side: rng.chance(0.5) ? 'buy' : 'sell', qty: 1, price: 10 });
      }
      for (const r of engine.submitMany(orders)) {
        if (r.status === 'accepted') got.accepted++;
        else if (r.status === 'duplicate') got.duplicate++;
        else if (r.reason === 'DUPLICATE_ORDER_ID') got.finishedReuse++;
        else got.other++;
      }
      if (rng.chance(0.7)) {
        for (const req of broker.pending) state.set(req.clientOrderId, 'finished');
        reports += broker.answer();
      }
    }
    for (const req of broker.pending) state.set(req.clientOrderId, 'finished');
    reports += broker.answer();

    expect(got).toEqual({ ...expected, other: 0 });
    expect(expected.duplicate + expected.finishedReuse).toBeGreaterThan(45_000);
    expect(broker.placedCount).toBe(expected.accepted);
    expect(engine.openOrders()).toEqual([]);
    expect(engine.stats()).toMatchObject({ accepted: expected.accepted, fills: expected.accepted, anomalies: 0, duplicateSubmits: expected.duplicate });
    expect(calls).toEqual({ order: 2 * expected.accepted, trade: expected.accepted, report: reports });
  }, 300_000);
});
