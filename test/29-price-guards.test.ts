import { describe, expect, it } from 'vitest';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import { INSTRUMENTS, PATHS, harness as baseHarness, problemsOf, quiet, type SubmitPath } from './helpers.js';

const LADDER = [{ from: 0, tick: 0.01 }, { from: 10, tick: 0.05 }, { from: 50, tick: 0.1 }];

describe.each(PATHS)('price guards on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);
  const buy = (id: string, price: number) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 1, price });

  it.each([
    [9.99, 'accepted'], // last price of the first rung, 0.01 tick
    [10.0, 'accepted'], // first price of the second rung
    [10.01, 'TICK_SIZE'], // 0.01 off a 0.05 tick
    [10.05, 'accepted'],
    [49.95, 'accepted'],
    [50.05, 'TICK_SIZE'], // 0.05 off a 0.1 tick
    [50.1, 'accepted'],
  ])('a tick ladder at each band edge: %s → %s', async (price, want) => {
    const { engine } = await harness({ risk: { perSymbol: { ACME: { tickLadder: LADDER } } } });
    const r = engine.submit(buy('a', price));
    expect(r.status === 'accepted' ? 'accepted' : (r as { reason: string }).reason).toBe(want);
    if (want === 'TICK_SIZE') expect((r as { detail: string }).detail).toContain(`tickSize=${price < 50 ? 0.05 : 0.1}`);
  });

  it('static price limits: at limit-up and limit-down pass, one unit beyond is refused', async () => {
    const { engine } = await harness({ risk: { perSymbol: { ACME: { limitUp: 10.5, limitDown: 9.5 } } } });
    expect(engine.submit(buy('a', 10.5)).status).toBe('accepted');
    expect(engine.submit(buy('b', 10.49)).status).toBe('accepted');
    expect(engine.submit(buy('c', 10.51))).toMatchObject({ reason: 'PRICE_LIMIT', detail: 'symbol=ACME price=10.51 limitDown=9.5 limitUp=10.5' });
    expect(engine.submit(buy('d', 9.5)).status).toBe('accepted');
    expect(engine.submit(buy('e', 9.49))).toMatchObject({ reason: 'PRICE_LIMIT' });
  });

  it('a percentage band: at the edge passes, one unit beyond is refused', async () => {
    const { engine } = await harness({ risk: { default: { priceBandPct: 5 } } });
    engine.updateReference('ACME', 20);
    expect(engine.submit(buy('a', 21)).status).toBe('accepted'); // exactly +5%
    expect(engine.submit(buy('b', 20.99)).status).toBe('accepted');
    expect(engine.submit(buy('c', 21.01))).toMatchObject({ reason: 'PRICE_BAND' });
    expect(engine.submit(buy('d', 19)).status).toBe('accepted'); // exactly -5%
    expect(engine.submit(buy('e', 18.99))).toMatchObject({ reason: 'PRICE_BAND' });
  });

  it('an absolute band: at the edge passes, one unit beyond is refused', async () => {
    const { engine } = await harness({ risk: { default: { priceBandAbs: 0.5 } } });
    engine.updateReference('ACME', 10);
    expect(engine.submit(buy('a', 10.5)).status).toBe('accepted');
    expect(engine.submit(buy('b', 9.5)).status).toBe('accepted');
    expect(engine.submit(buy('c', 10.51))).toMatchObject({ reason: 'PRICE_BAND', detail: 'symbol=ACME price=10.51 reference=10 bandPct=Infinity bandAbs=0.5 allowed=9.5..10.5' });
    expect(engine.submit(buy('d', 9.49))).toMatchObject({ reason: 'PRICE_BAND' });
  });

  it('no reference yet: static-only by default, refused under the refuse policy', async () => {
    const lenient = await harness({ risk: { default: { priceBandPct: 1 } } });
    expect(lenient.engine.submit(buy('a', 99)).status).toBe('accepted');
    const strict = await harness({ risk: { default: { priceBandPct: 1, noReferencePolicy: 'refuse' } } });
    expect(strict.engine.submit(buy('a', 99))).toMatchObject({ reason: 'NO_REFERENCE_PRICE', detail: 'symbol=ACME price=99 needs=reference policy=refuse' });
    strict.engine.updateReference('ACME', 99);
    expect(strict.engine.submit(buy('a', 99)).status).toBe('accepted');
    // a market order under a protection band needs the reference too
    const market = await harness({ risk: { default: { marketBandPct: 1, noReferencePolicy: 'refuse' } } });
    expect(market.engine.submit({ clientOrderId: 'm', symbol: 'ACME', side: 'buy', type: 'market', qty: 1 })).toMatchObject({ reason: 'NO_REFERENCE_PRICE' });
  });

  it('a market order carries its protection price, on the tick toward the reference', async () => {
    const { engine, broker } = await harness({ risk: { default: { marketBandPct: 1 } } });
    engine.updateReference('ACME', 10.03);
    engine.submit({ clientOrderId: 'b', symbol: 'ACME', side: 'buy', type: 'market', qty: 1 });
    engine.submit({ clientOrderId: 's', symbol: 'ACME', side: 'sell', type: 'market', qty: 1 });
    expect(broker.placed.map((p) => p.protectionPrice)).toEqual([10.13, 9.93]); // 10.1303 down, 9.9297 up
  });
});

describe('market protection at the simulated broker', () => {
  it('a protected market order fills no worse than its protection price; the rest is cancelled', async () => {
    const clock = new ManualClock(0);
    const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 2, marketStepMs: 0, startPrices: { ACME: 10 }, market: { levels: 5, minLevelLots: 10, maxLevelLots: 10, halfSpreadTicks: 1 } });
    const engine = createEngine({ instruments: INSTRUMENTS, broker: sim, clock, logger: quiet(), risk: { default: { marketBandPct: 0.25 } } });
    await engine.start();
    engine.updateReference('ACME', 10);
    engine.submit({ clientOrderId: 'm', symbol: 'ACME', side: 'buy', type: 'market', qty: 50 });
    clock.advance(1);
    const trades = await sim.syncTodayTrades();
    expect(trades.map((t) => t.price)).toEqual([10.01, 10.02]); // asks 10.01..10.05; protection 10.025 → 10.02
    expect(engine.getOrder('m')).toMatchObject({ status: 'Cancelled', cumQty: 20 });
  });
});

describe('price guard config', () => {
  it('reports ladder and policy problems at once', () => {
    expect(problemsOf(() =>
      createEngine({
      instruments: INSTRUMENTS, logger: quiet(),
      risk: { default: { noReferencePolicy: 'maybe' as never, tickLadder: [{ from: 1, tick: 0.01 }, { from: 0.5, tick: 0 }] } },
    }),
    )).toEqual([
      'risk.default.noReferencePolicy: must be refuse or static-only',
      'risk.default.tickLadder[0].from: the first rung must start at 0',
      'risk.default.tickLadder[1].tick: must be a positive number',
      "risk.default.tickLadder[1].from: must be above the previous rung's",
    ]);
    expect(() => createEngine({ instruments: INSTRUMENTS, logger: quiet(), risk: { perSymbol: { ACME: { tickLadder: [{ from: 0, tick: 0.001 }] } } } }))
      .toThrow('risk.perSymbol.ACME.tickLadder[0].tick: 0.001 is not a whole number of price units of ACME (precision 2)');
  });
});
