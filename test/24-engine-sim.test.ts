import { describe, expect, it } from 'vitest';
import type { ReportSink } from '../src/brokers/adapter.js';
import { Prng } from '../src/brokers/sim/prng.js';
import { SimBroker, type SimFaults } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import { compareWithBroker } from '../src/recon/compare.js';
import { INSTRUMENTS, NO_HEARTBEAT, quiet } from './helpers.js';

/** A seeded random order flow against the simulated broker on a manual clock. */
async function session(seed: number, faults: SimFaults, orders = 1500) {
  const clock = new ManualClock(0);
  const broker = new SimBroker({
    instruments: INSTRUMENTS, clock, seed, ackLatencyMs: 1, fillLatencyMs: 2, marketStepMs: 5, startPrices: { ACME: 10, LOTS: 20 }, faults,
  });
  const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT });
  await engine.start();
  const rng = new Prng(seed);
  let callbacks = 0;
  engine.setStrategy({ onOrder: () => callbacks++ });
  for (let i = 0; i < orders; i++) {
    const symbol = rng.chance(0.5) ? 'ACME' : 'LOTS';
    const lot = symbol === 'LOTS' ? 100 : 1;
    const tick = symbol === 'LOTS' ? 0.05 : 0.01;
    const side = rng.chance(0.5) ? 'buy' : 'sell';
    const q = broker.quote(symbol);
    const px = side === 'buy' ? q.bid + tick * rng.int(-2, 3) : q.ask - tick * rng.int(-2, 3);
    const r = rng.chance(0.1)
      ? engine.submit({ clientOrderId: `o${i}`, symbol, side, type: 'market', qty: lot * rng.int(1, 5) })
      : engine.submit({ clientOrderId: `o${i}`, symbol, side, qty: lot * rng.int(1, 5), price: Number(px.toFixed(2)), tif: rng.chance(0.1) ? 'ioc' : 'day' });
    expect(r.status).toBe('accepted');
    if (rng.chance(0.3)) {
      const open = engine.openOrders();
      if (open.length > 0) engine.cancel(rng.pick(open).clientOrderId);
    }
    clock.advance(rng.int(0, 3));
  }
  broker.setMarketRunning(false);
  clock.advance(100);
  return { engine, broker, callbacks };
}

describe('engine with the simulated broker', () => {
  it('matches the broker exactly after a clean seeded session', async () => {
    const { engine, broker } = await session(1, {});
    const cmp = await compareWithBroker(engine, broker);
    expect(cmp.problems).toEqual([]);
    expect(cmp.checked.trades).toBeGreaterThan(500);
    expect(engine.stats()).toMatchObject({ invalidTransitions: 0, duplicateReports: 0, unknownOrders: 0, overfills: 0 });
  });

  it.each([2, 3, 4])('matches the broker under duplicated, reordered and delayed reports (seed %i)', async (seed) => {
    const { engine, broker } = await session(seed, { duplicateReports: 0.2, reorderReports: 0.3, delayReportsMs: 1 });
    const cmp = await compareWithBroker(engine, broker);
    expect(cmp.problems).toEqual([]);
    const s = engine.stats();
    expect(s.duplicateReports).toBeGreaterThan(100);
    expect(s).toMatchObject({ invalidTransitions: 0, overfills: 0, unknownOrders: 0 });
    // positions equal the sum of the engine's own fills, order by order
    const fromOrders = new Map<string, number>();
    for (const o of engine.orders()) fromOrders.set(o.symbol, (fromOrders.get(o.symbol) ?? 0) + (o.side === 'buy' ? o.cumQty : -o.cumQty));
    for (const p of engine.positions()) expect(p.qty).toBeCloseTo(fromOrders.get(p.symbol) ?? 0, 9);
  });

  it('with dropped acks, fills still resolve orders; only never-filled ones differ, as PendingNew', async () => {
    const { engine, broker } = await session(5, { dropAck: 0.2 });
    const cmp = await compareWithBroker(engine, broker);
    for (const p of cmp.problems) expect(p).toMatch(/engine=PendingNew/);
    expect(engine.stats()).toMatchObject({ invalidTransitions: 0, overfills: 0 });
    const acks = engine.latency().ack.count;
    expect(acks).toBeLessThan(engine.stats().accepted); // some acks really were dropped
  });

  it('an order whose ack was lost and that never filled stays PendingNew, never resent', async () => {
    const clock = new ManualClock(0);
    const broker = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 1, marketStepMs: 0, startPrices: { ACME: 10 }, faults: { dropAck: 1 } });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT });
    await engine.start();
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 5, price: 9.5 });
    clock.advance(1000);
    expect(engine.getOrder('a')?.status).toBe('PendingNew');
    expect(engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 5, price: 9.5 }).status).toBe('duplicate');
    expect((await compareWithBroker(engine, broker)).problems).toEqual([
      'status: clientOrderId=a brokerOrderId=SIM-1 engine=PendingNew broker=Submitted',
    ]);
  });

  it('runs on the embedded simulated broker by default, zero latency included', async () => {
    const clock = new ManualClock(0);
    const engine: Engine = createEngine({ instruments: INSTRUMENTS, clock, logger: quiet(), connection: NO_HEARTBEAT, sim: { seed: 9, marketStepMs: 0, startPrices: { ACME: 10 } } });
    expect(engine.broker.name).toBe('sim');
    await engine.start();
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', type: 'market', qty: 5 });
    clock.advance(0);
    expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 5 });
    await engine.stop();
    expect(engine.state).toBe('stopped');
  });

  it('the comparison finds a fill the engine never saw', async () => {
    const clock = new ManualClock(0);
    const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 1, marketStepMs: 0, startPrices: { ACME: 10 } });
    let dropped = false;
    // an adapter that loses the first fill report on the way to the engine
    const lossy = Object.assign(Object.create(sim) as SimBroker, {
      connect: (sink: ReportSink) =>
        sim.connect({
          onDisconnect: sink.onDisconnect,
          onReport: (r) => {
            if (r.kind === 'trade' && !dropped) dropped = true;
            else sink.onReport(r);
          },
        }),
    });
    const engine = createEngine({ instruments: INSTRUMENTS, broker: lossy, clock, logger: quiet(), connection: NO_HEARTBEAT });
    await engine.start();
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', type: 'market', qty: 5 });
    clock.advance(0);
    const cmp = await compareWithBroker(engine, sim);
    expect(cmp.consistent).toBe(false);
    expect(cmp.problems).toEqual([
      'open in engine, not open at broker: clientOrderId=a brokerOrderId=SIM-1 engine=Submitted',
      'status: clientOrderId=a brokerOrderId=SIM-1 engine=Submitted broker=Filled',
      'filled qty: clientOrderId=a brokerOrderId=SIM-1 engine=0 broker trades=5',
      'position: symbol=ACME engine=0 broker=5',
      'position vs fills: symbol=ACME engine=0 sum of broker fills=5',
    ]);
  });
});
