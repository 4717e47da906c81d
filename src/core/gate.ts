import { R } from '../domain/reject-reason.js';
import type { Instrument } from '../domain/instrument.js';
import type { NativeAddon } from '../native/loader.js';
import type { PreTradeRisk } from '../risk/pretrade.js';
import type { IdIndex } from './id-index.js';

/** outReason: a candidate duplicate (confirm by string) / not checked at all (bad id). */
export const GATE_DUP = 250;
export const GATE_SKIP = 251;

/** Reason ids in the order native/gate.cc's `Code` enum expects them. */
export const GATE_CODES = Uint8Array.from([
  R.INVALID_QUANTITY, R.LOT_SIZE, R.INVALID_PRICE, R.TICK_SIZE, R.PRICE_LIMIT, R.PRICE_BAND,
  R.MAX_ORDER_QTY, R.NO_REFERENCE_PRICE, R.MAX_ORDER_NOTIONAL, R.MAX_POSITION, GATE_DUP, GATE_SKIP,
]);

/**
 * One batch of orders as the gate sees it: inputs written by the engine's pre-pass, outputs
 * written by the gate. Shared memory: the native gate reads and writes these arrays directly.
 */
export class BatchBuffers {
  readonly hashHi: Int32Array;
  readonly hashLo: Int32Array;
  readonly inst: Int32Array;
  readonly side: Int8Array;
  readonly market: Uint8Array;
  readonly qty: Float64Array;
  readonly price: Float64Array;
  /** In: 0 = check, GATE_SKIP = bad id, else a reason the pre-pass found. Out: 0 pass, reason, or GATE_DUP. */
  readonly reason: Uint8Array;
  /** Out: candidate slot of a duplicate; -2 - k for the k-th order of this batch; -1 none. */
  readonly dup: Int32Array;
  /** Out: the order's price in units (NaN for market orders). */
  readonly units: Float64Array;
  /** Out: exposure the gate added for a passing order, quantity units. */
  readonly exposure: Float64Array;
  /** Out: the open exposure the position check saw (for the MAX_POSITION detail). */
  readonly aux: Float64Array;

  constructor(readonly capacity: number) {
    this.hashHi = new Int32Array(capacity);
    this.hashLo = new Int32Array(capacity);
    this.inst = new Int32Array(capacity);
    this.side = new Int8Array(capacity);
    this.market = new Uint8Array(capacity);
    this.qty = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.reason = new Uint8Array(capacity);
    this.dup = new Int32Array(capacity);
    this.units = new Float64Array(capacity);
    this.exposure = new Float64Array(capacity);
    this.aux = new Float64Array(capacity);
  }
}

/**
 * Checks a batch: for each order, the dedup probe (candidates, against the table and against
 * orders accepted earlier in the batch), then the per-order checks in PreTradeRisk's order;
 * a passing order's quantity is added to the open exposure, so later orders see it.
 */
export interface Gate {
  readonly backend: 'native' | 'ts';
  run(n: number): void;
}

/** The TypeScript gate: the same algorithm as native/gate.cc, over the same arrays. */
export class TsGate implements Gate {
  readonly backend = 'ts';
  private readonly setHi: Int32Array;
  private readonly setLo: Int32Array;
  private readonly setIdx: Int32Array;
  private readonly setStamp: Uint32Array;
  private readonly setMask: number;
  private stamp = 0;

  constructor(
    private readonly b: BatchBuffers,
    private readonly index: IdIndex,
    private readonly risk: PreTradeRisk,
    private readonly instruments: readonly Instrument[],
    private readonly position: Float64Array,
  ) {
    let size = 16;
    while (size < b.capacity * 2) size *= 2;
    this.setMask = size - 1;
    this.setHi = new Int32Array(size);
    this.setLo = new Int32Array(size);
    this.setIdx = new Int32Array(size);
    this.setStamp = new Uint32Array(size);
  }

  run(n: number): void {
    const b = this.b;
    const { slots, mask } = this.index;
    // Pass 1: touch each order's first bucket; independent loads overlap their cache misses.
    let touch = 0;
    for (let k = 0; k < n; k++) touch |= slots[(b.hashHi[k]! ^ b.hashLo[k]!) & mask]!;
    this.touched = touch;
    if (++this.stamp > 0xffffffff) {
      this.setStamp.fill(0);
      this.stamp = 1;
    }
    const stamp = this.stamp;
    const { setHi, setLo, setIdx, setStamp, setMask } = this;
    for (let k = 0; k < n; k++) {
      const pre = b.reason[k]!;
      if (pre === GATE_SKIP) continue;
      const h = b.hashHi[k]!;
      const l = b.hashLo[k]!;
      let cand = this.index.probe(h, l);
      if (cand < 0) {
        for (let s = (h ^ l) & setMask; setStamp[s] === stamp; s = (s + 1) & setMask) {
          if (setHi[s] === h && setLo[s] === l) {
            cand = -2 - setIdx[s]!;
            break;
          }
        }
      }
      if (cand !== -1) {
        b.dup[k] = cand;
        b.reason[k] = GATE_DUP;
        continue;
      }
      b.dup[k] = -1;
      if (pre !== 0) continue;
      const i = b.inst[k]!;
      const side = b.side[k]!;
      const qty = b.qty[k]!;
      const reason = this.risk.check(this.instruments[i]!, side, b.market[k] === 1, qty, b.price[k]!, this.position[i]!);
      b.units[k] = this.risk.priceUnits;
      if (reason !== 0) {
        b.reason[k] = reason;
        b.exposure[k] = 0;
        b.aux[k] = side > 0 ? this.risk.openBuy[i]! : this.risk.openSell[i]!;
        continue;
      }
      b.reason[k] = 0;
      const qu = this.risk.qtyUnits;
      b.exposure[k] = qu;
      if (side > 0) this.risk.openBuy[i] = this.risk.openBuy[i]! + qu;
      else this.risk.openSell[i] = this.risk.openSell[i]! + qu;
      let s = (h ^ l) & setMask;
      while (setStamp[s] === stamp) s = (s + 1) & setMask;
      setStamp[s] = stamp;
      setHi[s] = h;
      setLo[s] = l;
      setIdx[s] = k;
    }
  }

  /** Keeps the touch pass from being optimised away. */
  touched = 0;
}

/** Thrown when the addon refuses its arrays or a batch (a bug, never expected in use). */
export class NativeGateError extends Error {
  readonly code = 'NATIVE_GATE';
  constructor(readonly status: number, what: string) {
    super(`native gate ${what} failed with status ${status}`);
  }
}

/** The C++ gate over the same shared arrays. */
export class NativeGate implements Gate {
  readonly backend = 'native';
  private readonly handle: unknown;

  constructor(
    private readonly addon: NativeAddon,
    b: BatchBuffers,
    index: IdIndex,
    risk: PreTradeRisk,
    position: Float64Array,
    slotCount: number,
  ) {
    const L = risk.limits;
    const handle = addon.createGate({
      idxHi: index.hi, idxLo: index.lo, idxSlots: index.slots, slotCount,
      scale: L.scale, tickUnits: L.tickUnits, qtyScale: L.qtyScale, lotUnits: L.lotUnits, orderFactor: L.orderFactor,
      maxQty: L.maxQtyUnits, maxNotional: L.maxNotionalUnits, maxPos: L.maxPosUnits, bandPct: L.priceBandPct,
      limitUp: L.limitUpUnits, limitDown: L.limitDownUnits, refUnits: risk.refUnits, bandLo: risk.bandLo, bandHi: risk.bandHi,
      bandAbs: L.priceBandAbsUnits, noRefRefuse: L.noRefRefuse, ladderStart: L.ladderStart, ladderCount: L.ladderCount,
      ladderFrom: L.ladderFrom, ladderTick: L.ladderTick,
      openBuy: risk.openBuy, openSell: risk.openSell, position,
      bHi: b.hashHi, bLo: b.hashLo, bInst: b.inst, bSide: b.side, bMarket: b.market, bQty: b.qty, bPrice: b.price,
      outReason: b.reason, outDup: b.dup, outUnits: b.units, outExposure: b.exposure, outAux: b.aux,
      codes: GATE_CODES,
    });
    if (typeof handle === 'number') throw new NativeGateError(handle, 'createGate');
    this.handle = handle;
  }

  run(n: number): void {
    const status = this.addon.runGate(this.handle, n);
    if (status !== 0) throw new NativeGateError(status, 'runGate');
  }
}
