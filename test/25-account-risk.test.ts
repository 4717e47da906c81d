import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine.js';
import { INSTRUMENTS, PATHS, harness as baseHarness, problemsOf, quiet, type SubmitPath } from './helpers.js';

const buy = (id: string, extra: object = {}) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 10, price: 10, ...extra });

describe.each(PATHS)('account checks on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  it('min quantity and min notional: at the limit passes, one unit under is refused', async () => {
    const { engine } = await harness({ risk: { default: { minOrderQty: 10, minOrderNotional: 100 } } });
    expect(engine.submit(buy('a', { qty: 10, price: 10 })).status).toBe('accepted');
    expect(engine.submit(buy('b', { qty: 9 }))).toMatchObject({ reason: 'MIN_ORDER_QTY', detail: 'symbol=ACME qty=9 min=10' });
    expect(engine.submit(buy('c', { qty: 11, price: 9.09 }))).toMatchObject({ reason: 'MIN_ORDER_NOTIONAL' }); // 99.99
    expect(engine.submit(buy('d', { qty: 11, price: 9.1 })).status).toBe('accepted'); // 100.1
  });

  it('max open orders per symbol and per account; a finished order frees its place', async () => {
    const { engine, broker } = await harness({ risk: { perSymbol: { ACME: { maxOpenOrders: 2 } }, account: { maxOpenOrders: 3 } } });
    expect(engine.submit(buy('a')).status).toBe('accepted');
    expect(engine.submit(buy('b')).status).toBe('accepted');
    expect(engine.submit(buy('c'))).toMatchObject({ reason: 'MAX_OPEN_ORDERS', detail: 'symbol=ACME scope=symbol open=2 limit=2' });
    expect(engine.submit({ clientOrderId: 'l1', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 }).status).toBe('accepted');
    expect(engine.submit({ clientOrderId: 'l2', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 })).toMatchObject({ detail: 'symbol=LOTS scope=account open=3 limit=3' });
    broker.send({ kind: 'canceled', clientOrderId: 'a', brokerOrderId: 'A' });
    expect(engine.submit(buy('c')).status).toBe('accepted');
  });

  it('gross notional counts positions and open orders at the reference price', async () => {
    const { engine, broker } = await harness({ risk: { account: { maxGrossNotional: 1000 } } });
    engine.updateReference('ACME', 10);
    engine.submit(buy('a', { qty: 50 })); // 500 open
    broker.fill('a', 'A', 50, 10); // now a 50 position, nothing open
    expect(engine.submit(buy('b', { qty: 50 })).status).toBe('accepted'); // 500 + 500 = 1000
    expect(engine.submit(buy('c', { qty: 1 }))).toMatchObject({ reason: 'MAX_GROSS_NOTIONAL', detail: 'symbol=ACME gross=1000 order=10 limit=1000' });
    engine.updateReference('ACME', 5); // marks fall: room again
    expect(engine.submit(buy('d', { qty: 1, price: 10 })).status).toBe('accepted');
  });

  it('a reduce-only order must shrink the position, counting open orders on its side', async () => {
    const { engine, broker } = await harness();
    expect(engine.submit(buy('r0', { reduceOnly: true }))).toMatchObject({ reason: 'REDUCE_ONLY' }); // flat
    engine.submit(buy('a', { qty: 100 }));
    broker.fill('a', 'A', 100, 10);
    expect(engine.submit(buy('r1', { reduceOnly: true }))).toMatchObject({ reason: 'REDUCE_ONLY' }); // buy adds to a long
    expect(engine.submit(buy('r2', { side: 'sell', qty: 60, reduceOnly: true })).status).toBe('accepted');
    expect(engine.submit(buy('r3', { side: 'sell', qty: 50, reduceOnly: true }))).toMatchObject({ detail: 'symbol=ACME side=sell position=100 open=60 qty=50' });
    expect(engine.submit(buy('r4', { side: 'sell', qty: 40, reduceOnly: true })).status).toBe('accepted');
    expect(engine.submit(buy('r5', { reduceOnly: 'yes' }))).toMatchObject({ reason: 'INVALID_ORDER', detail: 'reduceOnly=yes expected=true|false' });
  });

  it('orders per second: a burst up to the limit passes, the next waits for a token', async () => {
    const { engine, clock } = await harness({ risk: { account: { ordersPerSecond: 5 } } });
    for (let i = 0; i < 5; i++) expect(engine.submit(buy(`a${i}`)).status).toBe('accepted');
    expect(engine.submit(buy('x'))).toMatchObject({ reason: 'RATE_LIMIT', detail: 'symbol=ACME limit=account-per-second' });
    clock.advance(199);
    expect(engine.submit(buy('y')).status).toBe('denied');
    clock.advance(1); // one token back
    expect(engine.submit(buy('z')).status).toBe('accepted');
  });

  it('a well-behaved flow at the limit is never refused, and refused orders use no rate', async () => {
    const { engine, clock } = await harness({ risk: { perSymbol: { ACME: { ordersPerSecond: 10, ordersPerMinute: 600 } } } });
    for (let i = 0; i < 300; i++) {
      expect(engine.submit(buy(`o${i}`)).status).toBe('accepted');
      expect(engine.submit(buy(`bad${i}`, { price: 10.001 })).status).toBe('denied'); // INVALID_PRICE, no token used
      clock.advance(100);
    }
  });

  it('orders per minute per symbol, and the daily cap resets at the UTC day', async () => {
    const { engine, clock } = await harness({ risk: { perSymbol: { ACME: { ordersPerMinute: 3 } }, account: { maxOrdersPerDay: 4 } } });
    for (let i = 0; i < 3; i++) engine.submit(buy(`a${i}`));
    expect(engine.submit(buy('b'))).toMatchObject({ detail: 'symbol=ACME limit=symbol-per-minute' });
    expect(engine.submit({ clientOrderId: 'l1', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 }).status).toBe('accepted');
    expect(engine.submit({ clientOrderId: 'l2', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 })).toMatchObject({ detail: 'symbol=LOTS limit=account-per-day' });
    clock.advance(Date.UTC(2026, 10, 25) - clock.now()); // next UTC midnight
    expect(engine.submit({ clientOrderId: 'l3', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 }).status).toBe('accepted');
  });

  it('cancels per second: over the limit a cancel is refused with the wait, nothing sent', async () => {
    const { engine, broker, clock } = await harness({ risk: { account: { cancelsPerSecond: 2 } } });
    for (const id of ['a', 'b', 'c']) engine.submit(buy(id));
    expect(engine.cancel('a').status).toBe('sent');
    expect(engine.cancel('b').status).toBe('sent');
    expect(engine.cancel('c')).toEqual({ status: 'denied', clientOrderId: 'c', reason: 'RATE_LIMIT', detail: 'limit=cancels-per-second retryInMs=500' });
    expect(broker.cancels).toHaveLength(2);
    clock.advance(500);
    expect(engine.cancel('c').status).toBe('sent');
  });
});

describe('account limits config', () => {
  it('reports every problem at once', () => {
    expect(problemsOf(() =>
      createEngine({ instruments: INSTRUMENTS, logger: quiet(), risk: { account: { ordersPerSecond: 0, maxOpenOrders: -1, burst: 3 } as never } }),
    )).toEqual([
      'risk.account.ordersPerSecond: must be a number > 0',
      'risk.account.maxOpenOrders: must be a number >= 0',
      'risk.account.burst: unknown field (expected maxOpenOrders, maxGrossNotional, ordersPerSecond, ordersPerMinute, cancelsPerSecond, maxOrdersPerDay)',
    ]);
  });
});
