// Gate and dedup cases: the hot checks of submit on each backend, per order and batched, at
// 10k and 1M live ids. Hashes are computed before timing for the gate cases (both backends
// get the same precomputed hashes; submit computes them once per order either way).
import { BatchBuffers, NativeGate, TsGate, type Gate } from '../src/core/gate.js';
import { OrderTable } from '../src/core/order-table.js';
import { makeInstrument, type Instrument } from '../src/domain/instrument.js';
import { R } from '../src/domain/reject-reason.js';
import { loadNative } from '../src/native/loader.js';
import { LimitTable } from '../src/risk/limits.js';
import { PreTradeRisk } from '../src/risk/pretrade.js';
import type { BenchCase } from './cases.js';

const INST: Instrument[] = [
  makeInstrument({ symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 }, 0),
  makeInstrument({ symbol: 'BBB', tickSize: 0.05, pricePrecision: 2, lotSize: 10 }, 1),
];
const LIMITS = { default: { maxOrderQty: 1e6, maxOrderNotional: 1e12, maxPosition: 1e18, priceBandPct: 50 } };
/** Distinct orders the cases cycle through (not in the table: every probe misses, as for new orders). */
const INPUTS = 1 << 16;

interface World {
  table: OrderTable;
  risk: PreTradeRisk;
  position: Float64Array;
  hi: Int32Array;
  lo: Int32Array;
  inst: Int32Array;
  side: Int8Array;
  qty: Float64Array;
  price: Float64Array;
}

function world(live: number): World {
  let cap = 2;
  while (cap < live + INPUTS) cap *= 2;
  const table = new OrderTable({ capacity: cap, retentionMs: 1e12 });
  for (let i = 0; i < live; i++) {
    const slot = table.allocate(0);
    const id = `live-${i}`;
    table.clientId[slot] = id;
    table.byClientId.set(id, slot);
  }
  const risk = new PreTradeRisk(new LimitTable(INST, LIMITS), INST.length);
  risk.reference.set([42.5, 17.35]);
  const w: World = {
    table, risk, position: new Float64Array(INST.length),
    hi: new Int32Array(INPUTS), lo: new Int32Array(INPUTS), inst: new Int32Array(INPUTS), side: new Int8Array(INPUTS),
    qty: new Float64Array(INPUTS), price: new Float64Array(INPUTS),
  };
  for (let i = 0; i < INPUTS; i++) {
    table.byClientId.hashInto(`new-${i}`, w.hi, w.lo, i);
    const k = i & 1;
    w.inst[i] = k;
    w.side[i] = i & 2 ? 1 : -1;
    w.qty[i] = k === 1 ? 10 * (1 + (i % 7)) : 1 + (i % 7);
    w.price[i] = k === 1 ? 17.35 + 0.05 * ((i % 11) - 5) : 42.5 + 0.01 * ((i % 11) - 5);
  }
  return w;
}

/**
 * Copy inputs [from, from + n) into the batch buffers, as submitMany's pre-pass would. For
 * the dedup cases (probeOnly) the id is built fresh and hashed here, inside the timing, as
 * the per-order dedup cases do.
 */
function load(w: World, b: BatchBuffers, from: number, n: number, probeOnly: boolean): void {
  for (let k = 0; k < n; k++) {
    const j = (from + k) & (INPUTS - 1);
    if (probeOnly) w.table.byClientId.hashInto(`new-${j}`, b.hashHi, b.hashLo, k);
    else {
      b.hashHi[k] = w.hi[j]!;
      b.hashLo[k] = w.lo[j]!;
    }
    b.reason[k] = probeOnly ? R.UNKNOWN_SYMBOL : 0;
    b.inst[k] = w.inst[j]!;
    b.side[k] = w.side[j]!;
    b.market[k] = 0;
    b.qty[k] = w.qty[j]!;
    b.price[k] = w.price[j]!;
  }
}

export function makeGateCases(): BenchCase[] {
  const native = loadNative();
  const cases: BenchCase[] = [];
  for (const [label, live] of [['10k', 10_000], ['1M', 1_000_000]] as const) {
    let w: World | undefined;
    const get = () => (w ??= world(live));
    // gate = dedup probe + per-order checks
    const perOrderTs = (): BenchCase => {
      let i = 0;
      return {
        suite: `gate-${label}`, name: 'ts-per-order', backend: 'ts', perOp: 1,
        workload: `dedup probe + per-order checks, one order at a time, ${label} live ids`,
        init: async () => void get(),
        prepare: () => {},
        op: () => {
          const x = w!;
          const j = i++ & (INPUTS - 1);
          if (x.table.byClientId.probe(x.hi[j]!, x.lo[j]!) < 0) {
            const k = x.inst[j]!;
            x.risk.check(INST[k]!, x.side[j]!, false, x.qty[j]!, x.price[j]!, x.position[k]!);
          }
        },
        check: () => undefined,
      };
    };
    cases.push(perOrderTs());
    const batched = (backend: 'ts' | 'native', size: number, probeOnly: boolean): BenchCase | undefined => {
      if (backend === 'native' && native.addon === undefined) return undefined;
      const b = new BatchBuffers(256);
      let gate: Gate;
      let i = 0;
      let denied = 0;
      return {
        suite: `${probeOnly ? 'dedup' : 'gate'}-${label}`, name: `${backend}-batch-${size}`, backend, perOp: size,
        workload: probeOnly
          ? `fresh id string, hash, dedup probe; batches of ${size}, ${label} live ids`
          : `dedup probe + per-order checks (hashes precomputed), batches of ${size}, ${label} live ids`,
        init: async () => {
          const x = get();
          gate = backend === 'native'
            ? new NativeGate(native.addon!, b, x.table.byClientId, x.risk, x.position, x.table.capacity)
            : new TsGate(b, x.table.byClientId, x.risk, INST, x.position);
        },
        prepare: () => {},
        op: () => {
          load(w!, b, i, size, probeOnly);
          i += size;
          gate.run(size);
          if (!probeOnly && b.reason[size - 1] !== 0) denied++;
        },
        check: () => (denied > 0 ? `gate denied ${denied} orders that pass` : undefined),
      };
    };
    for (const size of [1, 16, 256]) for (const backend of ['ts', 'native'] as const) {
      const c = batched(backend, size, false);
      if (c) cases.push(c);
    }
    for (const backend of ['ts', 'native'] as const) {
      const c = batched(backend, 256, true);
      if (c) cases.push(c);
    }
    // dedup by id string, per order: the engine's index (hash + probe + confirm) against a Map.
    // Each lookup builds a fresh id string, as a new order brings one: V8 caches a string's
    // hash on the string, so looking up the same string objects again would let the Map skip
    // hashing, which no new order allows.
    {
      let i = 0;
      let hits = 0;
      cases.push({
        suite: `dedup-${label}`, name: 'ts-index-get', backend: 'ts', perOp: 1,
        workload: `IdIndex.get of a fresh id string (build, hash, probe, miss), ${label} live ids`,
        init: async () => void get(),
        prepare: () => {},
        op: () => {
          if (w!.table.byClientId.get(`new-${i++ & (INPUTS - 1)}`) >= 0) hits++;
        },
        check: () => (hits > 0 ? `index found ${hits} ids that are not in it` : undefined),
      });
    }
    {
      const map = new Map<string, number>();
      let i = 0;
      let hits = 0;
      cases.push({
        suite: `dedup-${label}`, name: 'baseline-map-get', backend: 'js-map', perOp: 1,
        workload: `Map<string, slot>.get of a fresh id string (build, hash, miss), ${label} live ids`,
        init: async () => {
          for (let k = 0; k < live; k++) map.set(`live-${k}`, k);
        },
        prepare: () => {},
        op: () => {
          if (map.get(`new-${i++ & (INPUTS - 1)}`) !== undefined) hits++;
        },
        check: () => (hits > 0 ? `map found ${hits} ids that are not in it` : undefined),
      });
    }
  }
  if (native.addon !== undefined) {
    const addon = native.addon;
    cases.push({
      suite: 'napi', name: 'empty-call', backend: 'native', perOp: 1, workload: 'one empty N-API call',
      init: async () => {}, prepare: () => {}, op: () => addon.noop(), check: () => undefined,
    });
  }
  return cases;
}

