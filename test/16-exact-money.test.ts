// Issue 15: exact money, exact edges, input discipline, report checks.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import { Ledger } from '../src/core/ledger.js';
import { makeInstrument } from '../src/domain/instrument.js';
import type { ExecutionReport } from '../src/domain/report.js';
import { AlertManager, logSink } from '../src/ops/alerts.js';
import { LatencyHistogram } from '../src/ops/latency.js';
import { INSTRUMENTS, NO_HEARTBEAT, PATHS, harness as baseHarness, quiet, type SubmitPath } from './helpers.js';

const order = (id: string, price: number, qty = 100, symbol = 'ACME', side: 'buy' | 'sell' = 'buy') => ({ clientOrderId: id, symbol, side, qty, price });

describe('money is exact', () => {
  it('cash and realized P&L carry no floating-point noise', async () => {
    const h = await baseHarness({ initialCash: { USD: 100_000 } });
    const fills: Array<[string, 'buy' | 'sell', number, number]> = [['a', 'buy', 3, 10.07], ['b', 'buy', 7, 10.11], ['c', 'sell', 10, 10.03], ['d', 'buy', 4, 106.99]];
    let naive = 100_000;
    fills.forEach(([id, side, qty, px], k) => {
      expect(h.engine.submit(order(id, px, qty, 'ACME', side)).status).toBe('accepted');
      h.broker.ack(id, `B${k}`);
      h.broker.fill(id, `B${k}`, qty, px);
      naive += (side === 'buy' ? -1 : 1) * qty * px;
    });
    expect(naive).not.toBe(99_571.36); // what floating-point sums give: the test bites
    expect(h.engine.account().cash.USD).toBe(99_571.36);
    expect(h.engine.account().realizedPnl.USD).toBe(-0.68);
    expect(h.engine.positions()[0]).toMatchObject({ qty: 4, avgPx: 106.99, realizedPnl: -0.68 });
  });

  it('flat is flat: 0.1 + 0.2 bought, 0.3 sold leaves qty 0 and avgPx 0', async () => {
    const h = await baseHarness({ instruments: [...INSTRUMENTS, { symbol: 'FRAC', tickSize: 0.01, pricePrecision: 2, lotSize: 0.1 }] });
    const steps: Array<[string, 'buy' | 'sell', number, number]> = [['a', 'buy', 0.1, 10.5], ['b', 'buy', 0.2, 10.75], ['c', 'sell', 0.3, 11]];
    steps.forEach(([id, side, qty, px], k) => {
      expect(h.engine.submit(order(id, px, qty, 'FRAC', side)).status).toBe('accepted');
      h.broker.ack(id, `F${k}`);
      h.broker.fill(id, `F${k}`, qty, px);
    });
    const p = h.engine.positions().find((x) => x.symbol === 'FRAC')!;

    expect(p).toEqual({ symbol: 'FRAC', qty: 0, avgPx: 0, realizedPnl: 0.1, currency: 'USD' });
    // an order filled 0.1 then 0.2 has filled 0.3, on the quantity grid
    expect(h.engine.submit(order('d', 11, 0.3, 'FRAC')).status).toBe('accepted');
    h.broker.ack('d', 'F9');
    h.broker.fill('d', 'F9', 0.1, 11);
    h.broker.fill('d', 'F9', 0.2, 11);
    expect(h.engine.getOrder('d')).toMatchObject({ cumQty: 0.3, leavesQty: 0, status: 'Filled' });
    expect(h.anomalies).toEqual([]);
  });

  it('a fill price finer than a fill unit is booked at the nearest unit, with an anomaly; a fill quantity off the quantity grid is refused', async () => {
    const h = await baseHarness();
    h.engine.submit(order('a', 10));
    h.broker.ack('a', 'B1');
    h.broker.fill('a', 'B1', 10, 9.99999);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['FILL_PRICE_ROUNDED']);
    expect(h.engine.positions()[0]).toMatchObject({ qty: 10, avgPx: 10 });
    h.broker.fill('a', 'B1', 0.5, 10);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['FILL_PRICE_ROUNDED', 'MALFORMED_REPORT']);
    expect(h.anomalies[1]!.reason).toContain('lastQty=0.5 is not a whole number');
    expect(h.engine.getOrder('a')!.cumQty).toBe(10);
  });
});

describe.each(PATHS)('edges and input on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  it('a percent band edge holds for references that are not exact in binary', async () => {
    const { engine } = await harness({ risk: { default: { priceBandPct: 5 } } });
    const cases: Array<[number, number, number, number]> = [
      // reference, highest accepted, lowest accepted (5% exactly), and one unit outside each
      [10.2, 10.71, 9.69, 0.01],
      [2.2, 2.31, 2.09, 0.01],
      [0.3, 0.31, 0.29, 0.01], // 5% of 0.30 is 0.015: the edges round inward to whole units
      [1.1, 1.15, 1.05, 0.01],
    ];
    let n = 0;
    for (const [ref, hi, lo, unit] of cases) {
      engine.updateReference('ACME', ref);
      expect(engine.submit(order(`h${n}`, hi)).status, `${hi} on ${ref}`).toBe('accepted');
      expect(engine.submit(order(`l${n}`, lo)).status, `${lo} on ${ref}`).toBe('accepted');
      expect(engine.submit(order(`H${n}`, Math.round((hi + unit) * 100) / 100))).toMatchObject({ reason: 'PRICE_BAND' });
      expect(engine.submit(order(`L${n}`, Math.round((lo - unit) * 100) / 100))).toMatchObject({ reason: 'PRICE_BAND' });
      n++;
    }
  });

  it('an absolute band is symmetric around a reference that is not exact in binary', async () => {
    const { engine } = await harness({ risk: { default: { priceBandAbs: 0.05 } } });
    engine.updateReference('ACME', 1.1);
    expect(engine.submit(order('a', 1.15)).status).toBe('accepted');
    expect(engine.submit(order('b', 1.05)).status).toBe('accepted');
    expect(engine.submit(order('c', 1.16))).toMatchObject({ reason: 'PRICE_BAND' });
    expect(engine.submit(order('d', 1.04))).toMatchObject({ reason: 'PRICE_BAND' });
  });

  it('a quantity below one lot is INVALID_QUANTITY', async () => {
    const { engine } = await harness();
    expect(engine.submit(order('a', 10, 1e-10))).toMatchObject({ status: 'denied', reason: 'INVALID_QUANTITY' });
    expect(engine.submit(order('b', 10, 1e-7, 'LOTS'))).toMatchObject({ status: 'denied', reason: 'INVALID_QUANTITY' });
    expect(engine.submit(order('c', 10, 50, 'LOTS'))).toMatchObject({ status: 'denied', reason: 'INVALID_QUANTITY', detail: 'symbol=LOTS qty=50 below one lot lotSize=100' });
    expect(engine.submit(order('d', 10, 150, 'LOTS'))).toMatchObject({ status: 'denied', reason: 'LOT_SIZE' });
    expect(engine.submit(order('e', 10, 200, 'LOTS')).status).toBe('accepted');
  });

  it('a client order id is printable ASCII: the refusal names the character and where it is', async () => {
    const { engine, broker } = await harness();
    const bad: Array<[string, string]> = [['a\x01b', 'character 2 is U+0001 (a control character)'], ['x\n', 'character 2 is U+000A (a control character)'], ['\0', 'character 1 is U+0000 (a control character)'], ['t\tt', 'character 2 is U+0009 (a control character)'], ['sp ace', 'character 3 is U+0020 (space)'], ['café', 'character 4 is U+00E9'], ['del\x7f', 'character 4 is U+007F (a control character)']];
    for (const [id, where] of bad) {
      const r = engine.submit(order(id, 10));
      expect(r, JSON.stringify(id)).toMatchObject({ status: 'denied', reason: 'INVALID_ORDER' });
      expect((r as { detail: string }).detail).toContain(where);
    }
    expect(broker.placed).toHaveLength(0);
    expect(engine.submit(order('!~ok-ID_09', 10)).status).toBe('accepted');
  });

  it('open orders count toward gross notional at their limit price before a reference exists', async () => {
    const { engine } = await harness({ risk: { account: { maxGrossNotional: 10_000 } } });
    const results = Array.from({ length: 20 }, (_, k) => engine.submit(order(`g${k}`, 10)).status);
    expect(results.filter((s) => s === 'accepted')).toHaveLength(10);
    expect(engine.submit(order('g20', 10))).toMatchObject({ reason: 'MAX_GROSS_NOTIONAL', detail: 'symbol=ACME gross=10000 order=1000 limit=10000' });
  });
});

describe('report checks', () => {
  it("a cancel reject's reason reaches the strategy", async () => {
    const h = await baseHarness();
    const seen: ExecutionReport[] = [];
    h.engine.setStrategy({ onExecutionReport: (r) => seen.push(r.toObject()) });
    h.engine.submit(order('a', 10));
    h.broker.ack('a', 'B1');
    h.engine.cancel('a');
    h.broker.send({ kind: 'cancel_rejected', brokerOrderId: 'B1', clientOrderId: 'a', reason: 'TOO_LATE_TO_CANCEL', text: 'filled' });
    expect(seen.at(-1)).toMatchObject({ kind: 'cancel_rejected', reason: 'TOO_LATE_TO_CANCEL', text: 'filled' });
  });

  it("a broker cumQty that disagrees with the engine's sum is an anomaly; reordering by seq is not", async () => {
    const h = await baseHarness();
    h.engine.submit(order('a', 10));
    h.broker.ack('a', 'B1', 1);
    h.broker.fill('a', 'B1', 40, 10, { cumQty: 30, seq: 2 }); // the engine booked more than the broker counts
    expect(h.anomalies.map((a) => a.kind)).toEqual(['CUM_QTY_MISMATCH']);
    expect(h.anomalies[0]!.reason).toContain('broker cumQty=30 engine cumQty=40');
    h.broker.fill('a', 'B1', 10, 10, { cumQty: 60, seq: 3 }); // the next seq, and the broker counts a fill never seen
    expect(h.anomalies.map((a) => a.kind)).toEqual(['CUM_QTY_MISMATCH', 'CUM_QTY_MISMATCH']);
    expect(h.engine.stats().cumQtyMismatches).toBe(2);
    // reordered: seq 3 before seq 2, each cumQty right for its place
    const r = await baseHarness();
    r.engine.submit(order('b', 10));
    r.broker.ack('b', 'B2', 1);
    r.broker.fill('b', 'B2', 20, 10, { cumQty: 50, seq: 3 });
    r.broker.fill('b', 'B2', 30, 10, { cumQty: 30, seq: 2 });
    expect(r.anomalies).toEqual([]);
    expect(r.engine.getOrder('b')!.cumQty).toBe(50);
  });

  it("a fill through the order's limit is an anomaly, booked as reported", async () => {
    const h = await baseHarness();
    h.engine.submit(order('a', 10));
    h.broker.ack('a', 'B1');
    h.broker.fill('a', 'B1', 10, 10); // at the limit: fine
    h.broker.fill('a', 'B1', 10, 10.05);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['FILL_THROUGH_LIMIT']);
    expect(h.anomalies[0]!.reason).toContain('buy filled at lastPx=10.05 through its limit price=10');
    h.engine.submit(order('s', 10, 10, 'ACME', 'sell'));
    h.broker.ack('s', 'B2');
    h.broker.fill('s', 'B2', 10, 9.99);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['FILL_THROUGH_LIMIT', 'FILL_THROUGH_LIMIT']);
    expect(h.engine.stats().fillsThroughLimit).toBe(2);
    expect(h.engine.positions()[0]!.qty).toBe(10);
  });

  it('a full table books an external fill once when it is delivered twice', async () => {
    const h = await baseHarness({ capacity: 8, limits: { maxExternalOrders: 1 } });
    h.broker.send({ kind: 'trade', brokerOrderId: 'X0', execId: 'E0', symbol: 'ACME', side: 'buy', lastQty: 1, lastPx: 10 }); // takes the one external slot
    h.clock.advance(5001); // a report naming only a broker id waits limits.parkMs for an ack
    const ext = { kind: 'trade' as const, brokerOrderId: 'X1', execId: 'E1', symbol: 'ACME', side: 'buy' as const, lastQty: 5, lastPx: 10 };
    h.broker.send(ext);
    h.clock.advance(5001);
    h.broker.send(ext);
    h.clock.advance(5001);
    expect(h.engine.positions()[0]!.qty).toBe(6);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['UNKNOWN_ORDER', 'TABLE_FULL_EXTERNAL']);
    expect(h.engine.stats().duplicateReports).toBe(1);
  });
});

describe('reconciliation compares every symbol the broker reports', () => {
  it('a symbol the engine does not configure is a critical UNKNOWN_SYMBOL diff, and its cash is not fixed silently', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const broker = new SimBroker({ instruments: [...INSTRUMENTS, { symbol: 'ZZZ', tickSize: 0.01, pricePrecision: 2 }], clock, seed: 5, marketStepMs: 0, initialCash: { USD: 1_000_000 }, startPrices: { ACME: 100, LOTS: 50, ZZZ: 20 } });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 1_000_000 }, recon: { graceMs: 1000 } });
    await engine.start();
    try {
      broker.manualTrade({ symbol: 'ZZZ', side: 'buy', qty: 10, price: 20 });
      await engine.reconcile();
      clock.advance(1000);
      const run = await engine.reconcile();
      const kinds = run.raised.map((d) => d.kind).sort();
      expect(kinds).toEqual(['CASH_MISMATCH', 'UNKNOWN_SYMBOL']);
      expect(run.fixed).toEqual([]);
      const u = run.raised.find((d) => d.kind === 'UNKNOWN_SYMBOL')!;
      expect(u).toMatchObject({ severity: 'critical', symbol: 'ZZZ', broker: 10, state: 'open' });
      expect(run.raised.find((d) => d.kind === 'CASH_MISMATCH')!.detail).toContain('symbols this engine does not know (ZZZ)');
      expect(engine.account().cash.USD).toBe(1_000_000);
      // the broker's side cannot be taken (nothing to apply it to); the engine's can
      await expect(engine.recon.resolve(u.id, 'broker', 'ops', 'take it')).rejects.toThrow(/cannot take the broker's side/);
      expect((await engine.recon.resolve(u.id, 'local', 'ops', 'not ours: the desk trades ZZZ')).state).toBe('resolved');
    } finally {
      await engine.stop();
    }
  });
});

describe('percentiles and log lines', () => {
  it('a percentile is never above the maximum', () => {
    const h = new LatencyHistogram();
    let seed = 7;
    for (let k = 0; k < 2000; k++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      h.recordSince(1000, 1000 + 0.5 + (seed % 100000) / 37); // spread in ms
    }
    h.recordSince(0, 2.73242); // a lone largest value at the top of an HDR bucket
    for (const s of [h.summary(), h.window(1001)]) {
      expect(s.p99).toBeLessThanOrEqual(s.max);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
    }
    const one = new LatencyHistogram();
    one.recordSince(0, 2.73242);
    expect(one.summary()).toMatchObject({ p50: 2732.42, p99: 2732.42, max: 2732.42 });
  });

  it('an alert log line has one level key: the alert level is alertLevel', () => {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } });
    const alerts = new AlertManager({ now: () => 0 }, [logSink(pino({ level: 'info' }, out))]);
    alerts.raise('UNKNOWN_ORDER', 'P1', 'an order this engine did not submit');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.match(/"level"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, code: 'UNKNOWN_ORDER', alertLevel: 'P1' });
  });
});

/** An exact rational: n / d with bigints, d > 0. */
class Q {
  constructor(readonly n: bigint, readonly d: bigint = 1n) {}
  static of(decimal: string): Q {
    const [i, f = ''] = decimal.split('.');
    return new Q(BigInt(i! + f), 10n ** BigInt(f.length)).norm();
  }
  norm(): Q {
    const g = gcd(this.n < 0n ? -this.n : this.n, this.d);
    return g > 1n ? new Q(this.n / g, this.d / g) : this;
  }
  add(o: Q): Q { return new Q(this.n * o.d + o.n * this.d, this.d * o.d).norm(); }
  sub(o: Q): Q { return this.add(new Q(-o.n, o.d)); }
  mul(o: Q): Q { return new Q(this.n * o.n, this.d * o.d).norm(); }
  div(o: Q): Q { return o.n < 0n ? new Q(-this.n * o.d, this.d * -o.n).norm() : new Q(this.n * o.d, this.d * o.n).norm(); }
  get zero(): boolean { return this.n === 0n; }
  get sign(): number { return this.n > 0n ? 1 : this.n < 0n ? -1 : 0; }
  abs(): Q { return this.n < 0n ? new Q(-this.n, this.d) : this; }
  /** Rounded to `places` decimals, halves away from zero, as a number. */
  round(places: number): number {
    const s = 10n ** BigInt(places);
    const m = (this.n < 0n ? -this.n : this.n) * s;
    let q = m / this.d;
    if (2n * (m - q * this.d) >= this.d) q++;
    return Number(this.n < 0n ? -q : q) / 10 ** places + 0;
  }
}
function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

describe('the ledger against exact rationals', () => {
  const specs = [
    { symbol: 'A', tickSize: 0.0001, pricePrecision: 4, lotSize: 0.1 },
    { symbol: 'B', tickSize: 0.0001, pricePrecision: 4, lotSize: 0.001 },
    { symbol: 'C', tickSize: 0.01, pricePrecision: 2, lotSize: 1, multiplier: 50 },
    { symbol: 'D', tickSize: 0.0001, pricePrecision: 4, lotSize: 0.001, currency: 'BTC', multiplier: 1000000 },
  ];
  it.each(specs)('random fill sequences on $symbol: cash and position exact; P&L exact when flat, within the rounding of the basis otherwise', (spec) => {
    const inst = makeInstrument(spec, 0);
    let seed = 12345 + spec.symbol.charCodeAt(0);
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const lotDigits = spec.lotSize === 1 ? 0 : String(spec.lotSize).split('.')[1]!.length;
    const mult = Q.of(String(spec.multiplier ?? 1));
    for (let run = 0; run < 40; run++) {
      const l = new Ledger([inst], { [inst.currency]: 1000 });
      const money = l.money;
      let pos = new Q(0n);
      let basis = new Q(0n); // cost of the open quantity, in currency
      let realized = new Q(0n);
      let cash = Q.of('1000');
      let closes = 0;
      for (let k = 0; k < 200; k++) {
        const lots = 1 + rnd(spec.lotSize < 0.01 ? 5000 : 50);
        const qtyStr = (lots * spec.lotSize).toFixed(lotDigits);
        const pxStr = (1 + rnd(2_000_000) / 10_000).toFixed(4);
        const q = Q.of(qtyStr);
        const px = Q.of(pxStr);
        // flatten now and then so "flat" is checked often
        const flatten = rnd(7) === 0 && !pos.zero;
        const side = flatten ? -pos.sign : rnd(2) === 0 ? 1 : -1;
        const qq = flatten ? pos.abs() : q;
        const qNum = flatten ? Number(pos.abs().round(lotDigits)) : Number(qtyStr);
        expect(l.applyFill(0, side, money.qtyUnits(0, qNum), money.fillUnits(0, Number(pxStr)))).toBe(true);
        const cost = qq.mul(px).mul(mult);
        cash = side > 0 ? cash.sub(cost) : cash.add(cost);
        if (pos.zero || pos.sign === side) basis = basis.add(cost);
        else if (qq.sub(pos.abs()).sign <= 0) {
          const share = basis.mul(qq).div(pos.abs());
          realized = realized.add(new Q(BigInt(pos.sign)).mul(cost.sub(share)));
          basis = basis.sub(share);
          if (qq.sub(pos.abs()).sign < 0) closes++;
        } else {
          const closeCost = pos.abs().mul(px).mul(mult);
          realized = realized.add(new Q(BigInt(pos.sign)).mul(closeCost.sub(basis)));
          basis = qq.sub(pos.abs()).mul(px).mul(mult);
        }
        pos = pos.add(new Q(BigInt(side)).mul(qq));
        const p = l.position(0);
        const prec = money.precision[0]!;
        expect(p.qty).toBe(pos.round(lotDigits));
        expect(l.account().cash[inst.currency]).toBe(cash.round(prec));
        if (pos.zero) {
          expect(p.avgPx).toBe(0);
          expect(p.realizedPnl).toBe(realized.round(prec));
          closes = 0;
          // the integers themselves: realized is exactly the rational
          expect(new Q(l.realizedUnits(0), 10n ** BigInt(money.exp[0]!)).sub(realized).zero).toBe(true);
        } else {
          // each partial close rounds the basis share to a money unit (half a unit at most)
          const err = new Q(l.realizedUnits(0), 10n ** BigInt(money.exp[0]!)).sub(realized).abs();
          expect(err.sub(new Q(BigInt(closes), 2n * 10n ** BigInt(money.exp[0]!))).sign <= 0).toBe(true);
          expect(p.avgPx).toBe(basis.div(pos.abs()).div(mult).round(inst.pricePrecision + 2));
        }
      }
    }
  });

  it('values past 2^53 move to bigint without losing a unit', () => {
    const inst = makeInstrument({ symbol: 'BIG', tickSize: 0.0001, pricePrecision: 4, lotSize: 0.00000001 }, 0);
    const l = new Ledger([inst], { USD: 1e9 });
    const m = l.money;
    // 5000 BTC-like units at 65,432.1234: cost 327,160,617 USD, far past 2^53 money units
    l.applyFill(0, 1, m.qtyUnits(0, 5000), m.fillUnits(0, 65432.1234));
    l.applyFill(0, -1, m.qtyUnits(0, 1234.56789012), m.fillUnits(0, 70000.0001));
    l.applyFill(0, -1, m.qtyUnits(0, 3765.43210988), m.fillUnits(0, 60000));
    const p = l.position(0);
    expect(p.qty).toBe(0);
    expect(p.avgPx).toBe(0);
    const expected = Q.of('1234.56789012').mul(Q.of('70000.0001')).add(Q.of('3765.43210988').mul(Q.of('60000'))).sub(Q.of('5000').mul(Q.of('65432.1234')));
    expect(p.realizedPnl).toBe(expected.round(2));
    expect(l.account().cash.USD).toBe(Q.of('1000000000').add(expected).round(2));
  });
});
