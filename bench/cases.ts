import { pino } from 'pino';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { createEngine, type Engine } from '../src/core/engine.js';
import { systemClock, type Clock } from '../src/core/clock.js';
import { loadNative } from '../src/native/loader.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { OrderRequest } from '../src/domain/order.js';
import { MapEngine } from './baseline.js';
import { EchoBroker } from './echo-broker.js';
import { makeGateCases } from './gate-cases.js';
import { makeLedgerCases } from './ledger-cases.js';

/** One benchmark case: `op` is timed; `prepare` runs untimed before each cycle of `count` ops. */
export interface BenchCase {
  readonly suite: string;
  readonly name: string;
  readonly backend: string;
  /** What one op does, for the result header. */
  readonly workload: string;
  /** Orders one op handles (a batch); results are reported per order. Default 1. */
  readonly perOp?: number;
  init(): Promise<void>;
  prepare(count: number): void;
  op(): void;
  /** The case's own correctness check after the run; a message when it failed. */
  check(): string | undefined;
}

const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
  { symbol: 'CCC', tickSize: 0.5, pricePrecision: 1 },
  { symbol: 'DDD', tickSize: 0.001, pricePrecision: 3 },
];
const PRICES: Record<string, number> = { AAA: 42.5, BBB: 17.35, CCC: 250, DDD: 3.125 };
const LIMITS = { maxOrderQty: 1e6, maxOrderNotional: 1e12, maxPosition: 1e15 };
/** Largest cycle the submit-only cases accept (their orders stay open within a cycle). */
const POOL = 1 << 20;

/** A fixed pool of distinct orders: buys and sells so positions stay bounded. */
function orderPool(n: number): OrderRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const inst = INSTRUMENTS[i & 3]!;
    return { clientOrderId: `c${i}`, symbol: inst.symbol, side: i & 4 ? 'sell' : 'buy', qty: (inst.lotSize ?? 1) * (1 + (i % 5)), price: PRICES[inst.symbol]! };
  });
}

/**
 * The engines' clock: the system clock, shifted a day on by `nextDay`. The pools of orders are
 * used again and again, and a client order id is unique within its trading day, so a pass over
 * a pool is one trading day: the clock moves to the next day and the engine rolls (outside the
 * timed ops where the case allows, else once per 65536 orders, which the workload says).
 * Heartbeats are off: the brokers answer with the unshifted time.
 */
const dayShift = { ms: 0 };
const origin = performance.timeOrigin;
const benchClock: Clock = { ...systemClock, now: () => origin + performance.now() + dayShift.ms };
function nextDay(engine: Engine): void {
  dayShift.ms += 86_400_000;
  engine.tradingDayNow();
}

function engineOn(broker: EchoBroker | SimBroker, capacity: number, latencyHistograms = true): Engine {
  return createEngine({ instruments: INSTRUMENTS, broker, capacity, retentionMs: 0, risk: { default: LIMITS }, logger: pino({ level: 'silent' }), latencyHistograms, clock: benchClock, connection: { heartbeatMs: 0 } });
}

function engineCheck(engine: Engine, expectFills: boolean): string | undefined {
  const s = engine.stats();
  if (s.denied > 0) return `engine denied ${s.denied}: ${JSON.stringify(s.deniedByReason)}`;
  if (s.anomalies > 0 || s.invalidTransitions > 0) return `engine raised ${s.anomalies} anomalies`;
  if (expectFills && s.fills !== s.accepted) return `fills ${s.fills} != accepted ${s.accepted}`;
  return undefined;
}

function positionsCheck(actual: (symbol: string) => number, expected: Map<string, number>): string | undefined {
  for (const [symbol, qty] of expected) if (Math.abs(actual(symbol) - qty) > 1e-6) return `position ${symbol}: ${actual(symbol)} != ${qty}`;
  return undefined;
}

export function makeCases(): BenchCase[] {
  // built in the init of the cases that use it: the others do not pay for a million orders
  let pool: OrderRequest[] = [];
  const needPool = () => {
    if (pool.length === 0) pool = orderPool(POOL);
  };
  const cases: BenchCase[] = [];

  // submit alone: dedup, gate, risk, order table, hand-off to the broker
  {
    const broker = new EchoBroker();
    let engine!: Engine;
    let i = 0;
    cases.push({
      suite: 'submit', name: 'engine', backend: 'ts', workload: 'engine.submit of a new limit order (dedup, risk, slot, adapter hand-off)',
      init: async () => {
        needPool();
        engine = engineOn(broker, POOL);
        await engine.start();
      },
      prepare: (count) => {
        if (count > POOL) throw new Error(`cycle of ${count} ops exceeds the pool of ${POOL} orders`);
        broker.rejectAll();
        nextDay(engine);
        engine.table.recycle(engine.clock.now());
        i = 0;
      },
      op: () => {
        engine.submit(pool[i++]!);
      },
      check: () => engineCheck(engine, false),
    });
  }
  {
    const broker = new EchoBroker();
    let base!: MapEngine;
    let i = 0;
    let denied = 0;
    cases.push({
      suite: 'submit', name: 'baseline-map', backend: 'js-map', workload: 'Map-of-objects submit with the same checks',
      init: async () => {
        needPool();
        base = new MapEngine(INSTRUMENTS, broker, LIMITS);
        await broker.connect(base.sink);
      },
      prepare: (count) => {
        if (count > POOL) throw new Error(`cycle of ${count} ops exceeds the pool of ${POOL} orders`);
        broker.rejectAll();
        i = 0;
      },
      op: () => {
        if (base.submit(pool[i++]!).status !== 'accepted') denied++;
      },
      check: () => (denied > 0 ? `baseline denied ${denied}` : undefined),
    });
  }

  // the whole submit path in batches: submitMany on each gate backend
  for (const backend of ['ts', 'native'] as const) {
    if (backend === 'native' && loadNative().addon === undefined) continue;
    const broker = new EchoBroker();
    let engine!: Engine;
    let i = 0;
    const B = 256;
    cases.push({
      suite: 'submit', name: `engine-submitMany-${backend}`, backend, perOp: B,
      workload: `engine.submitMany of ${B} new limit orders (gate on ${backend}), per order`,
      init: async () => {
        needPool();
        engine = createEngine({ instruments: INSTRUMENTS, broker, capacity: POOL, retentionMs: 0, risk: { default: LIMITS }, logger: pino({ level: 'silent' }), backend, clock: benchClock, connection: { heartbeatMs: 0 } });
        await engine.start();
      },
      prepare: (count) => {
        if (count * B > POOL) throw new Error(`cycle of ${count} batches exceeds the pool of ${POOL} orders`);
        broker.rejectAll();
        nextDay(engine);
        engine.table.recycle(engine.clock.now());
        i = 0;
      },
      op: () => {
        engine.submitMany(pool.slice(i, i + B));
        i += B;
      },
      check: () => engineCheck(engine, false),
    });
  }

  // the whole loop on the echo broker: submit → ack → fill, zero latency
  const loop = (name: 'engine' | 'engine-no-latency' | 'baseline-map'): BenchCase => {
    const broker = new EchoBroker();
    const expected = new Map<string, number>();
    let engine!: Engine;
    let base!: MapEngine;
    let i = 0;
    return {
      suite: 'loop-echo', name, backend: name === 'baseline-map' ? 'js-map' : 'ts',
      workload: `submit, then ack + full fill report applied (echo broker, zero latency; the engine's day rolls every 65536 orders, as its ids come round again)${name === 'engine-no-latency' ? '; latency histograms off' : ''}`,
      init: async () => {
        needPool();
        if (name !== 'baseline-map') {
          engine = engineOn(broker, 1 << 12, name === 'engine');
          await engine.start();
        } else {
          base = new MapEngine(INSTRUMENTS, broker, LIMITS);
          await broker.connect(base.sink);
        }
      },
      prepare: () => {},
      op: () => {
        if ((i & 0xffff) === 0 && i > 0 && name !== 'baseline-map') nextDay(engine);
        const o = pool[i++ & 0xffff]!;
        if (name !== 'baseline-map') engine.submit(o);
        else base.submit(o);
        broker.flush();
        expected.set(o.symbol, (expected.get(o.symbol) ?? 0) + (o.side === 'buy' ? o.qty : -o.qty));
      },
      check: () =>
        name !== 'baseline-map'
          ? (engineCheck(engine, true) ?? positionsCheck((s) => engine.positions().find((p) => p.symbol === s)!.qty, expected))
          : (positionsCheck((s) => base.positions.get(s)!, expected) ?? (base.size !== 0 ? `baseline kept ${base.size} orders` : undefined)),
    };
  };
  cases.push(loop('engine'), loop('engine-no-latency'), loop('baseline-map'));

  // the whole loop on the embedded simulated broker (matching, reports, records)
  const simLoop = (name: 'engine' | 'baseline-map'): BenchCase => {
    const sim = new SimBroker({
      instruments: INSTRUMENTS, seed: 1, marketStepMs: 0, delivery: 'manual', startPrices: PRICES,
      market: { minLevelLots: 1e9, maxLevelLots: 1e9, maxMoveTicks: 0 },
    });
    const marketable = new Map(INSTRUMENTS.map((inst) => [inst.symbol, sim.quote(inst.symbol)]));
    let engine!: Engine;
    let base!: MapEngine;
    let n = 0;
    return {
      suite: 'loop-sim', name, backend: name === 'engine' ? 'ts' : 'js-map',
      workload: 'submit a marketable limit order, sim matches it, ack + fill applied (zero latency; the engine\'s day rolls every 65536 orders)',
      init: async () => {
        if (name === 'engine') {
          engine = engineOn(sim, 1 << 12);
          await engine.start();
        } else {
          base = new MapEngine(INSTRUMENTS, sim, LIMITS);
          await sim.connect(base.sink);
        }
      },
      prepare: () => {},
      op: () => {
        if ((n & 0xffff) === 0 && n > 0 && name === 'engine') nextDay(engine);
        const inst = INSTRUMENTS[n & 3]!;
        const buy = (n & 4) === 0;
        const q = marketable.get(inst.symbol)!;
        const o: OrderRequest = { clientOrderId: `s${n++}`, symbol: inst.symbol, side: buy ? 'buy' : 'sell', qty: inst.lotSize ?? 1, price: buy ? q.ask : q.bid };
        if (name === 'engine') engine.submit(o);
        else base.submit(o);
        sim.flush();
      },
      check: () => {
        if (name === 'engine') return engineCheck(engine, true);
        return base.fills === n ? undefined : `baseline fills ${base.fills} != orders ${n}`;
      },
    };
  };
  cases.push(simLoop('engine'), simLoop('baseline-map'));
  return [...cases, ...makeGateCases(), ...makeLedgerCases()];
}
