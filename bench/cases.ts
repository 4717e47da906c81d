import { pino } from 'pino';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { createEngine, type Engine } from '../src/engine.js';
import { systemClock, type Clock } from '../src/core/clock.js';
import { loadNative } from '../src/native/loader.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { OrderRequest } from '../src/domain/order.js';
import { FloorEngine } from './floor.js';
import { NaiveMapEngine } from './naive.js';
import { SameWorkEngine } from './same-work.js';
import type { StrategyCallbacks } from '../src/strategy.js';
import { EchoBroker } from './echo-broker.js';
import { makeGateCases } from './gate-cases.js';
import { makeLedgerCases } from './ledger-cases.js';
import { makeClockCases } from './clock-cases.js';
import { makeWireCases } from './wire-cases.js';
import { makeFixCases } from './fix-cases.js';

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
const benchClock: Clock = {
  ...systemClock,
  now: () => origin + performance.now() + dayShift.ms,
  nowNs: () => Math.round((performance.now() + dayShift.ms) * 1e6),
  originMs: origin,
};
/** The baselines' and the floor's clock: the engine's reading, without the day shift. */
const wallMs = (): number => origin + performance.now();
function nextDay(engine: Engine): void {
  dayShift.ms += 86_400_000;
  engine.tradingDayNow();
}

function engineOn(broker: EchoBroker | SimBroker, capacity: number, latencyHistograms = true, callbackArgs: 'views' | 'objects' = 'views'): Engine {
  return createEngine({ instruments: INSTRUMENTS, broker, capacity, retentionMs: 0, risk: { default: LIMITS }, logger: pino({ level: 'silent' }), latencyHistograms, clock: benchClock, connection: { heartbeatMs: 0 }, callbackArgs });
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
  // submit alone on the fair baseline, the naive one and the floor
  for (const name of ['same-work-map', 'naive-map', 'floor'] as const) {
    const broker = new EchoBroker();
    let same!: SameWorkEngine;
    let naive!: NaiveMapEngine;
    let floor!: FloorEngine;
    let i = 0;
    let denied = 0;
    cases.push({
      suite: 'submit', name, backend: name === 'floor' ? 'js-floor' : 'js-map',
      workload: name === 'same-work-map' ? 'Map-of-objects submit doing the engine\'s work (fair baseline)'
        : name === 'naive-map' ? 'Map-of-objects submit with only the basic checks (NAIVE baseline: less work than the engine)'
          : 'the least JS that submits: typed arrays, open addressing, one clock read (the floor)',
      init: async () => {
        needPool();
        if (name === 'same-work-map') same = new SameWorkEngine(INSTRUMENTS, broker, LIMITS, wallMs);
        else if (name === 'naive-map') naive = new NaiveMapEngine(INSTRUMENTS, broker, LIMITS);
        else floor = new FloorEngine(INSTRUMENTS, broker, LIMITS, wallMs, POOL, POOL);
        await broker.connect(same?.sink ?? naive?.sink ?? floor.sink);
      },
      prepare: (count) => {
        if (count > POOL) throw new Error(`cycle of ${count} ops exceeds the pool of ${POOL} orders`);
        broker.rejectAll();
        same?.rollDay();
        floor?.rollDay();
        i = 0;
      },
      op: () => {
        const o = pool[i++]!;
        if (name === 'same-work-map') {
          if (same.submit(o).status !== 'accepted') denied++;
        } else if (name === 'naive-map') {
          if (naive.submit(o).status !== 'accepted') denied++;
        } else if (floor.submit(o) !== 0) denied++;
      },
      check: () => (denied > 0 ? `${name} denied ${denied}` : undefined),
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

  // the whole loop on the echo broker: submit → ack → fill, zero latency; with and without a
  // registered strategy (three callbacks that read what they are given)
  type LoopName = 'engine' | 'engine-no-latency' | 'engine-strategy' | 'engine-strategy-objects' | 'same-work-map' | 'same-work-map-strategy' | 'naive-map' | 'floor' | 'floor-strategy' | 'harness';
  const loop = (name: LoopName): BenchCase => {
    const broker = new EchoBroker();
    const expected = new Map<string, number>();
    const isEngine = name.startsWith('engine');
    const withStrategy = name.includes('-strategy');
    let engine!: Engine;
    let same!: SameWorkEngine;
    let naive!: NaiveMapEngine;
    let floor!: FloorEngine;
    let i = 0;
    let seen = 0;
    const strategy: StrategyCallbacks = {
      onExecutionReport: (r) => void (seen += r.cumQty > 0 ? 1 : 0),
      onTrade: (t) => void (seen += t.clientOrderId.length > 0 && t.brokerOrderId.length > 0 ? 1 : 0),
      onOrder: (o) => void (seen += o.status === 'Filled' ? 1 : 0),
    };
    return {
      suite: 'loop-echo', name, backend: isEngine ? 'ts' : name.startsWith('floor') ? 'js-floor' : name === 'harness' ? 'js' : 'js-map',
      workload: `submit, then ack + full fill report applied (echo broker, zero latency; the day rolls every 65536 orders, as the ids come round again)${name === 'engine-no-latency' ? '; latency histograms off' : ''}${withStrategy ? '; a strategy with three callbacks registered' : ''}${name === 'engine-strategy-objects' ? " (callbackArgs: 'objects', a fresh object per callback)" : ''}${name.startsWith('same-work') ? '; the fair baseline' : name === 'naive-map' ? '; the NAIVE baseline (less work than the engine)' : name.startsWith('floor') ? '; the floor' : name === 'harness' ? '; NO ENGINE: the echo broker and this loop alone, their own cost in every row above' : ''}`,
      init: async () => {
        needPool();
        if (isEngine) {
          engine = engineOn(broker, 1 << 12, name !== 'engine-no-latency', name === 'engine-strategy-objects' ? 'objects' : 'views');
          if (withStrategy) engine.setStrategy(strategy);
          await engine.start();
        } else if (name.startsWith('same-work')) {
          same = new SameWorkEngine(INSTRUMENTS, broker, LIMITS, wallMs);
          if (withStrategy) same.strategy = strategy;
          await broker.connect(same.sink);
        } else if (name === 'naive-map') {
          naive = new NaiveMapEngine(INSTRUMENTS, broker, LIMITS);
          await broker.connect(naive.sink);
        } else if (name === 'harness') {
          await broker.connect({ onReport: (r) => void (seen += r.kind === 'trade' ? 1 : 0), onDisconnect: () => {} });
        } else {
          floor = new FloorEngine(INSTRUMENTS, broker, LIMITS, wallMs, 1 << 12, 1 << 16);
          if (withStrategy) {
            floor.callbacks = {
              report: (_c, _b, cum) => void (seen += cum > 0 ? 1 : 0),
              trade: (c, b) => void (seen += c.length > 0 && b.length > 0 ? 1 : 0),
              order: (_c, _b, st) => void (seen += st === 3 ? 1 : 0),
            };
          }
          await broker.connect(floor.sink);
        }
      },
      prepare: () => {},
      op: () => {
        if ((i & 0xffff) === 0 && i > 0) {
          if (isEngine) nextDay(engine);
          same?.rollDay();
          floor?.rollDay();
        }
        const o = pool[i++ & 0xffff]!;
        if (isEngine) engine.submit(o);
        else if (same !== undefined) same.submit(o);
        else if (naive !== undefined) naive.submit(o);
        else if (floor !== undefined) floor.submit(o);
        else broker.placeOrder({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, type: 'limit', tif: 'day', qty: o.qty, price: o.price!, protectionPrice: undefined });
        broker.flush();
        expected.set(o.symbol, (expected.get(o.symbol) ?? 0) + (o.side === 'buy' ? o.qty : -o.qty));
      },
      check: () => {
        if (withStrategy && seen < i * 3) return `the strategy saw ${seen} callbacks for ${i} orders`;
        if (isEngine) return engineCheck(engine, true) ?? positionsCheck((s) => engine.positions().find((p) => p.symbol === s)!.qty, expected);
        if (same !== undefined) return positionsCheck((s) => same.position(s), expected) ?? (same.size !== 0 ? `same-work kept ${same.size} open orders` : same.denied + same.invalid > 0 ? `same-work denied ${same.denied}, invalid ${same.invalid}` : undefined);
        if (naive !== undefined) return positionsCheck((s) => naive.positions.get(s)!, expected) ?? (naive.size !== 0 ? `naive kept ${naive.size} orders` : undefined);
        if (floor === undefined) return seen === i ? undefined : `the harness saw ${seen} fills for ${i} orders`;
        return positionsCheck((s) => floor.position[INSTRUMENTS.findIndex((x) => x.symbol === s)]!, expected) ?? (floor.fills !== i ? `floor fills ${floor.fills} != ${i}` : undefined);
      },
    };
  };
  cases.push(...(['engine', 'engine-no-latency', 'engine-strategy', 'engine-strategy-objects', 'same-work-map', 'same-work-map-strategy', 'naive-map', 'floor', 'floor-strategy', 'harness'] as const).map(loop));

  // the whole loop on the embedded simulated broker (matching, reports, records)
  const simLoop = (name: 'engine' | 'same-work-map' | 'naive-map'): BenchCase => {
    const sim = new SimBroker({
      instruments: INSTRUMENTS, seed: 1, marketStepMs: 0, delivery: 'manual', startPrices: PRICES,
      market: { minLevelLots: 1e9, maxLevelLots: 1e9, maxMoveTicks: 0 },
    });
    const marketable = new Map(INSTRUMENTS.map((inst) => [inst.symbol, sim.quote(inst.symbol)]));
    let engine!: Engine;
    let same!: SameWorkEngine;
    let naive!: NaiveMapEngine;
    let n = 0;
    return {
      suite: 'loop-sim', name, backend: name === 'engine' ? 'ts' : 'js-map',
      workload: 'submit a marketable limit order, sim matches it, ack + fill applied (zero latency; the engine\'s day rolls every 65536 orders)',
      init: async () => {
        if (name === 'engine') {
          engine = engineOn(sim, 1 << 12);
          await engine.start();
        } else if (name === 'same-work-map') {
          same = new SameWorkEngine(INSTRUMENTS, sim, LIMITS, wallMs);
          await sim.connect(same.sink);
        } else {
          naive = new NaiveMapEngine(INSTRUMENTS, sim, LIMITS);
          await sim.connect(naive.sink);
        }
      },
      prepare: () => {},
      op: () => {
        if ((n & 0xffff) === 0 && n > 0) {
          if (name === 'engine') nextDay(engine);
          same?.rollDay();
        }
        const inst = INSTRUMENTS[n & 3]!;
        const buy = (n & 4) === 0;
        const q = marketable.get(inst.symbol)!;
        const o: OrderRequest = { clientOrderId: `s${n++}`, symbol: inst.symbol, side: buy ? 'buy' : 'sell', qty: inst.lotSize ?? 1, price: buy ? q.ask : q.bid };
        if (name === 'engine') engine.submit(o);
        else if (same !== undefined) same.submit(o);
        else naive.submit(o);
        sim.flush();
      },
      check: () => {
        if (name === 'engine') return engineCheck(engine, true);
        const fills = same?.fills ?? naive.fills;
        return fills === n ? undefined : `${name} fills ${fills} != orders ${n}`;
      },
    };
  };
  cases.push(simLoop('engine'), simLoop('same-work-map'), simLoop('naive-map'));
  return [...cases, ...makeGateCases(), ...makeLedgerCases(), ...makeClockCases(), ...makeWireCases(), ...makeFixCases()];
}
