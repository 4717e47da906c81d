import { describe, expect, it } from 'vitest';
import type { PlaceOrderRequest } from '../src/brokers/adapter.js';
import { Prng } from '../src/brokers/sim/prng.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { OrderRequest, SubmitResult } from '../src/domain/order.js';
import { NATIVE, NO_HEARTBEAT, StubBroker, quiet } from './helpers.js';

const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
  { symbol: 'CCC', tickSize: 0.5, pricePrecision: 1, multiplier: 50 },
  { symbol: 'DDD', tickSize: 0.001, pricePrecision: 3, lotSize: 0.001 },
  // references that are not exact in binary (10.2, 2.2, 1.10, 0.3): band edges in integers
  { symbol: 'EEE', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'FFF', tickSize: 0.01, pricePrecision: 2, lotSize: 0.1 },
  { symbol: 'GGG', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'HHH', tickSize: 0.01, pricePrecision: 2 },
];
const REFS: Record<string, number> = { AAA: 42.5, BBB: 17.35, DDD: 3.125, EEE: 10.2, FFF: 1.1, GGG: 2.2, HHH: 0.3 };
const BASE = {
  default: { maxOrderQty: 5000, maxOrderNotional: 400_000, maxPosition: 20_000, priceBandPct: 8, minOrderQty: 0.002, marketBandPct: 2 },
  perSymbol: {
    // a ladder whose rungs fall inside the prices the flow uses (42.1 to 42.9)
    AAA: { tickLadder: [{ from: 0, tick: 0.01 }, { from: 42.5, tick: 0.05 }, { from: 42.8, tick: 0.1 }] },
    BBB: { priceBandAbs: 1.5 },
    CCC: { limitUp: 270, limitDown: 230.25, maxOrderNotional: 2_000_000, maxOpenOrders: 40, minOrderNotional: 100_000 },
    DDD: { maxPosition: 50, ordersPerSecond: 12_000 },
    EEE: { priceBandPct: 5 },
    FFF: { priceBandAbs: 0.05, priceBandPct: 50 },
    GGG: { priceBandPct: 5 },
    HHH: { priceBandPct: 5 },
  },
};
// Two settings, so that every limit binds in one of them: one tight on exposure and table
// capacity, one on rates. The manual clock moves 1 ms per batch of ~200 orders.
const SETTINGS = {
  exposure: { capacity: 1 << 10, risk: { ...BASE, account: { maxOpenOrders: 170, maxGrossNotional: 45_000_000 } } },
  rates: {
    capacity: 1 << 13,
    risk: {
      ...BASE,
      // CCC has no reference price: refused outright in this setting
      perSymbol: { ...BASE.perSymbol, CCC: { ...BASE.perSymbol.CCC, noReferencePolicy: 'refuse' as const } },
      account: { maxOpenOrders: 600, ordersPerSecond: 60_000, ordersPerMinute: 3_000_000 },
    },
  },
};
type Setting = (typeof SETTINGS)[keyof typeof SETTINGS];

/** Counts what was placed; the test sends reports itself. */
class NullBroker extends StubBroker {
  override readonly name = 'null';
  placedCount = 0;
  override placeOrder(_req: PlaceOrderRequest) {
    this.placedCount++;
  }
}

const QTYS: unknown[] = [0, -1, -0, Number.NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 1e-12, 0.001, 0.0015, '5', null, undefined, 5001, 5000, 4999];
const PRICE_EDGES: unknown[] = [0, -1, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER, 1e300, '10', null, undefined, 10.001, 10.005];

function randomOrder(rng: Prng, n: number, idPool: number): OrderRequest {
  const inst = rng.pick(INSTRUMENTS);
  const ref = { ...REFS, CCC: 250 }[inst.symbol]!;
  const lot = inst.lotSize ?? 1;
  const r = rng.next();
  const qty = r < 0.08 ? rng.pick(QTYS) : lot * rng.int(1, r < 0.5 ? 20 : 600);
  const u = 10 ** inst.pricePrecision;
  const tick = Math.round(inst.tickSize * u);
  // on the tick around the reference, sometimes one price unit off the tick, sometimes wild
  const spread = ref < 11 && inst.symbol !== 'DDD' ? 60 : 40; // the new references: past both band edges
  const units = Math.round(ref * u) + tick * rng.int(-spread, spread) + (rng.chance(0.05) ? 1 : 0);
  const price = rng.chance(0.04) ? rng.pick(PRICE_EDGES) : units / u;
  const id = rng.chance(0.05) ? `dup-${rng.int(0, idPool)}` : rng.chance(0.002) ? rng.pick(['', 7, 'x'.repeat(65)]) : `o-${n}`;
  const order: Record<string, unknown> = {
    clientOrderId: id,
    symbol: rng.chance(0.01) ? 'ZZZ' : inst.symbol,
    side: rng.chance(0.01) ? 'hold' : rng.chance(0.5) ? 'buy' : 'sell',
    qty,
  };
  if (rng.chance(0.1)) order.type = 'market';
  else order.price = price;
  if (rng.chance(0.005)) order.type = 'stop';
  if (rng.chance(0.05)) order.tif = rng.pick(['ioc', 'gtc', 'day', 'fok']);
  if (rng.chance(0.04)) order.reduceOnly = rng.chance(0.9) ? true : 'yes';
  return order as unknown as OrderRequest;
}

async function engineFor(backend: 'ts' | 'native', setting: Setting, weakHash?: (id: string) => number): Promise<{ engine: Engine; broker: NullBroker; clock: ManualClock }> {
  const broker = new NullBroker();
  const clock = new ManualClock(0);
  broker.clock = clock;
  // a small table with retention: finished ids are refused for a while, and the table fills up
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, clock, logger: quiet(), capacity: setting.capacity, retentionMs: 20, risk: setting.risk, backend, connection: NO_HEARTBEAT,
    ...(weakHash ? { testHooks: { weakHash } } : {}),
  });
  await engine.start();
  for (const [s, p] of Object.entries(REFS)) engine.updateReference(s, p);
  return { engine, broker, clock };
}

const sig = (r: SubmitResult) => JSON.stringify(r);

/**
 * The same seeded order flow through three engines: one order at a time (`submit`), and in
 * batches on the TypeScript gate and on the native gate. Between batches the same reports
 * (fills, rejects, cancels) reach all three, so positions, exposure and finished ids evolve.
 * Every result, reason and detail must be identical.
 */
async function differential(total: number, seed: number, setting: Setting, weakHash?: (id: string) => number) {
  const rng = new Prng(seed);
  const single = await engineFor('ts', setting, weakHash);
  const batched = await engineFor('ts', setting, weakHash);
  const native = NATIVE.addon ? await engineFor('native', setting, weakHash) : undefined;
  const engines = [single, batched, ...(native ? [native] : [])];
  let mismatches = 0;
  const first: string[] = [];
  let n = 0;
  let exec = 0;
  const counts = { accepted: 0, duplicate: 0, denied: 0, duplicateId: 0, tableFull: 0, byReason: {} as Record<string, number> };
  while (n < total) {
    const size = rng.chance(0.3) ? rng.int(1, 16) : rng.int(17, 600);
    const orders = Array.from({ length: Math.min(size, total - n) }, () => randomOrder(rng, n++, 2000));
    const a = orders.map((o) => single.engine.submit(o));
    const b = batched.engine.submitMany(orders);
    const c = native?.engine.submitMany(orders);
    for (let i = 0; i < orders.length; i++) {
      counts[a[i]!.status]++;
      const reason = a[i]!.status === 'denied' ? (a[i] as { reason: string }).reason : '';
      if (reason === 'DUPLICATE_ORDER_ID') counts.duplicateId++;
      if (reason === 'ORDER_TABLE_FULL') counts.tableFull++;
      if (reason) counts.byReason[reason] = (counts.byReason[reason] ?? 0) + 1;
      const sa = sig(a[i]!);
      if (sa !== sig(b[i]!) || (c && sa !== sig(c[i]!))) {
        mismatches++;
        if (first.length < 5) first.push(`${JSON.stringify(orders[i])}: single=${sa} ts-batch=${sig(b[i]!)} native=${c ? sig(c[i]!) : '-'}`);
      }
    }
    // the same reports to every engine: fill, part-fill, reject or cancel some open orders
    const open = single.engine.openOrders();
    for (const o of open) {
      const roll = rng.next();
      if (roll > 0.6) continue;
      const bid = `B-${o.clientOrderId}`;
      const report =
        roll < 0.3 ? { kind: 'trade' as const, lastQty: o.qty, lastPx: Number.isNaN(o.price) ? 40 : o.price }
        : roll < 0.4 ? { kind: 'trade' as const, lastQty: o.qty / 2, lastPx: Number.isNaN(o.price) ? 40 : o.price }
        : roll < 0.5 ? { kind: 'rejected' as const }
        : { kind: 'canceled' as const };
      exec++;
      for (const e of engines) e.engine.onReport({ ...report, execId: `X${exec}`, brokerOrderId: bid, clientOrderId: o.clientOrderId });
    }
    for (const e of engines) e.clock.advance(1);
  }
  for (const e of engines.slice(1)) {
    expect(e.engine.positions()).toEqual(single.engine.positions());
    expect(e.engine.openOrders()).toEqual(single.engine.openOrders());
    expect(e.broker.placedCount).toBe(single.broker.placedCount);
    expect(Array.from(e.engine.risk.openBuy)).toEqual(Array.from(single.engine.risk.openBuy));
    expect(Array.from(e.engine.risk.openSell)).toEqual(Array.from(single.engine.risk.openSell));
  }
  return { mismatches, first, counts, native: native !== undefined };
}

describe('backend sameness', () => {
  it('gives identical results for 1,000,000 seeded random orders, edge values included', async () => {
    const runs = [await differential(500_000, 20261124, SETTINGS.exposure), await differential(500_000, 20261125, SETTINGS.rates)];
    const reasons: Record<string, number> = {};
    for (const r of runs) {
      expect(r.first).toEqual([]);
      expect(r.mismatches).toBe(0);
      // the flow really exercises every outcome
      expect(r.counts.accepted).toBeGreaterThan(20_000);
      // active ids submitted again (a finished id is refused until the trading day rolls: DUPLICATE_ORDER_ID, below)
      expect(r.counts.duplicate).toBeGreaterThan(5);
      for (const [k, v] of Object.entries(r.counts.byReason)) reasons[k] = (reasons[k] ?? 0) + v;
    }
    // every check of the gate and of the account refused orders, in one setting or the other
    for (const reason of ['INVALID_ORDER', 'UNKNOWN_SYMBOL', 'INVALID_QUANTITY', 'INVALID_PRICE', 'LOT_SIZE', 'TICK_SIZE', 'PRICE_LIMIT', 'PRICE_BAND',
      'MAX_ORDER_QTY', 'MAX_ORDER_NOTIONAL', 'MAX_POSITION', 'MIN_ORDER_QTY', 'MIN_ORDER_NOTIONAL', 'REDUCE_ONLY', 'MAX_OPEN_ORDERS',
      'MAX_GROSS_NOTIONAL', 'RATE_LIMIT', 'NO_REFERENCE_PRICE', 'DUPLICATE_ORDER_ID', 'ORDER_TABLE_FULL']) {
      expect(reasons[reason] ?? 0, reason).toBeGreaterThan(50);
    }
  }, 300_000);

  it('confirms every hash hit against the id string: ids colliding on all 64 bits are not duplicates', async () => {
    // 64 hash values for every id in the run: a hash hit is usually a different id
    const r = await differential(50_000, 7, SETTINGS.rates, (id) => (id.length * 2654435761 + id.charCodeAt(id.length - 1)) & 63);
    expect(r.first).toEqual([]);
    expect(r.mismatches).toBe(0);
    expect(r.counts.accepted).toBeGreaterThan(10_000);
  }, 120_000);
});
