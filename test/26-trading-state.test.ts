import { describe, expect, it } from 'vitest';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import type { TradingStateChange } from '../src/risk/trading-state.js';
import { compareWithBroker } from '../src/recon/compare.js';
import { INSTRUMENTS, NO_HEARTBEAT, PATHS, harness as baseHarness, onPath, quiet, type SubmitPath } from './helpers.js';

const buy = (id: string, extra: object = {}) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 10, price: 10, ...extra });

describe.each(PATHS)('trading states on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  it('Halted refuses new orders, cancels still pass; every change is recorded and reported', async () => {
    const changes: TradingStateChange[] = [];
    const { engine, broker, clock } = await harness({ onTradingState: (c) => changes.push(c) });
    expect(engine.tradingState).toBe('Active');
    engine.submit(buy('a'));
    clock.advance(5);
    const change = engine.setTradingState('Halted', 'broker incident');
    expect(change).toEqual({ from: 'Active', to: 'Halted', reason: 'broker incident', time: clock.now() });
    expect(engine.submit(buy('b'))).toEqual({ status: 'denied', clientOrderId: 'b', reason: 'TRADING_HALTED', detail: 'state=Halted reason=broker incident' });
    expect(engine.cancel('a').status).toBe('sent');
    expect(engine.setTradingState('Halted', 'again')).toBeUndefined(); // no change, nothing recorded
    engine.setTradingState('Active', 'incident over');
    expect(engine.submit(buy('b')).status).toBe('accepted');
    expect(engine.tradingStateHistory().map((c) => [c.from, c.to, c.reason])).toEqual([
      ['Active', 'Halted', 'broker incident'],
      ['Halted', 'Active', 'incident over'],
    ]);
    expect(changes).toEqual(engine.tradingStateHistory());
    expect(broker.placed.map((p) => p.clientOrderId)).toEqual(['a', 'b']);
  });

  it('Reducing accepts only orders that shrink the position', async () => {
    const { engine, broker } = await harness();
    engine.submit(buy('a', { qty: 100 }));
    broker.fill('a', 'A', 100, 10);
    engine.setTradingState('Reducing', 'loss limit');
    expect(engine.submit(buy('b'))).toMatchObject({ reason: 'REDUCE_ONLY', detail: 'symbol=ACME side=buy position=100 open=0 qty=10' });
    expect(engine.submit(buy('s1', { side: 'sell', qty: 60 })).status).toBe('accepted');
    expect(engine.submit(buy('s2', { side: 'sell', qty: 50 }))).toMatchObject({ reason: 'REDUCE_ONLY' });
    expect(engine.submit(buy('s3', { side: 'sell', qty: 40 })).status).toBe('accepted');
  });

  it('refuses a bad state or a missing reason with a clear error', async () => {
    const { engine } = await harness();
    expect(() => engine.setTradingState('Paused' as never, 'x')).toThrow('trading state must be one of Active, Reducing, Halted, got Paused');
    expect(() => engine.setTradingState('Halted', '')).toThrow('needs a reason');
    expect(engine.tradingState).toBe('Active');
  });
});

describe('safeStop (the kill switch) against the simulated broker', () => {
  it('cancels every open order, moves to Halted, and is idempotent', async () => {
    const clock = new ManualClock(0);
    const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 4, marketStepMs: 0, ackLatencyMs: 2, startPrices: { ACME: 10 } });
    const engine = onPath(createEngine({ instruments: INSTRUMENTS, broker: sim, clock, logger: quiet(), connection: NO_HEARTBEAT, risk: { account: { cancelsPerSecond: 1 } } }), 'submit');
    await engine.start();
    for (let i = 0; i < 6; i++) engine.submit(buy(`r${i}`, { price: 9.5 - i * 0.01 })); // resting below the market
    clock.advance(5);
    expect(engine.openOrders()).toHaveLength(6);
    engine.cancel('r0'); // uses the only cancel token: safeStop must not need one
    const first = engine.safeStop('desk says stop');
    expect(first).toEqual({ state: 'Halted', cancelsSent: 5, alreadyPending: 1, failed: [] });
    expect(engine.tradingState).toBe('Halted');
    const again = engine.safeStop('second press');
    expect(again).toEqual({ state: 'Halted', cancelsSent: 0, alreadyPending: 6, failed: [] });
    clock.advance(5);
    expect(engine.openOrders()).toEqual([]);
    expect(engine.orders().map((o) => o.status)).toEqual(new Array(6).fill('Cancelled'));
    expect(engine.submit(buy('late')).status).toBe('denied');
    expect(engine.tradingStateHistory()).toHaveLength(1); // the second press changed nothing
    expect((await compareWithBroker(engine, sim)).problems).toEqual([]);
  });

  it('reports the orders it could not cancel when the broker is gone', async () => {
    const { engine, broker } = await baseHarness();
    engine.submit(buy('a'));
    broker.sink!.onDisconnect('socket closed');
    expect(engine.safeStop('disconnected')).toEqual({
      state: 'Halted', cancelsSent: 0, alreadyPending: 0,
      failed: [{ clientOrderId: 'a', reason: 'BROKER_NOT_READY', detail: 'engine=running connection=Disconnected' }],
    });
  });
});
