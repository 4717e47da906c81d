import { toPriceUnits, type Instrument } from '../domain/instrument.js';
import { MAX_SAFE, mulDivFloor } from '../domain/money.js';
import { R, reasonCode } from '../domain/reject-reason.js';
import { LimitTable } from './limits.js';

/**
 * The per-order checks on submit, in a fixed order (the first failing check names the
 * reason): quantity, lot, price, tick, max quantity, max notional, position with open
 * exposure. Returns a reason id, 0 when the order passes; allocates nothing on a pass.
 * Prices are compared as integer units: tick = units % tickUnits, never float modulo.
 */
export class PreTradeRisk {
  /** Open quantity of live buy / sell orders per instrument, in quantity units (exposure that may still fill). */
  readonly openBuy: Float64Array;
  readonly openSell: Float64Array;
  /** Reference price per instrument (decimal); NaN when none is known. Set with `setReference`. */
  readonly reference: Float64Array;
  /** The reference in price units, rounded to the nearest unit once; NaN when none. */
  readonly refUnits: Float64Array;
  /**
   * The band around the reference in price units, both edges inside (a price on an edge
   * passes, one unit beyond is refused): the tighter of the percent and absolute bands,
   * computed in integers when the reference or the limits change. -/+Infinity without a band.
   */
  readonly bandLo: Float64Array;
  readonly bandHi: Float64Array;
  /** Price units of the order last checked (NaN for market orders). */
  priceUnits = Number.NaN;
  /** Quantity units of the order last checked. */
  qtyUnits = 0;

  constructor(
    readonly limits: LimitTable,
    instrumentCount: number,
  ) {
    this.openBuy = new Float64Array(instrumentCount);
    this.openSell = new Float64Array(instrumentCount);
    this.reference = new Float64Array(instrumentCount).fill(Number.NaN);
    this.refUnits = new Float64Array(instrumentCount).fill(Number.NaN);
    this.bandLo = new Float64Array(instrumentCount).fill(-Infinity);
    this.bandHi = new Float64Array(instrumentCount).fill(Infinity);
  }

  /** Set instrument i's reference price (decimal; NaN clears it) and its band edges. */
  setReference(i: number, price: number, scale: number): void {
    this.reference[i] = price;
    this.refUnits[i] = Number.isFinite(price) ? Math.round(price * scale) : Number.NaN;
    this.band(i);
  }

  /** Recompute every band edge (after the limits changed). */
  refreshBands(): void {
    for (let i = 0; i < this.bandLo.length; i++) this.band(i);
  }

  private band(i: number): void {
    const L = this.limits;
    const r = this.refUnits[i]!;
    if (Number.isNaN(r)) {
      this.bandLo[i] = Number.NaN;
      this.bandHi[i] = Number.NaN;
      return;
    }
    // floor(ref × pct / 100) in integers: millionths of a percent, so / 10^8
    const micro = L.bandMicroPct[i]!;
    let w = micro === Infinity ? Infinity : mulDivFloor(r, micro, 1e8);
    const abs = L.priceBandAbsUnits[i]!;
    if (abs < w) w = abs;
    this.bandLo[i] = r - w;
    this.bandHi[i] = r + w;
  }

  /**
   * @param side +1 buy, -1 sell
   * @param price decimal limit price; ignored for market orders
   * @param position current signed position of the instrument, quantity units
   */
  check(inst: Instrument, side: number, market: boolean, qty: number, price: number, position: number): number {
    const i = inst.index;
    const L = this.limits;
    if (typeof qty !== 'number' || !(qty > 0) || qty === Infinity) return R.INVALID_QUANTITY;
    const x = qty * L.qtyScale[i]!;
    const qu = Math.round(x);
    // not a whole number of quantity units, so not of lots either
    if (!(Math.abs(x - qu) <= Math.max(1e-9, x * 1e-12)) || qu > MAX_SAFE) return qu === 0 ? R.INVALID_QUANTITY : R.LOT_SIZE;
    const lot = L.lotUnits[i]!;
    if (qu < lot) return R.INVALID_QUANTITY;
    if (lot !== 1 && qu % lot !== 0) return R.LOT_SIZE; // a double % is a libm call: skipped for lot 1
    this.qtyUnits = qu;
    let units = Number.NaN;
    if (!market) {
      if (typeof price !== 'number' || !(price > 0)) return R.INVALID_PRICE;
      units = toPriceUnits(price, inst.scale);
      if (Number.isNaN(units)) return R.INVALID_PRICE;
      if (units % this.tickAt(i, units, inst.tickUnits) !== 0) return R.TICK_SIZE;
      if (units > L.limitUpUnits[i]! || units < L.limitDownUnits[i]!) return R.PRICE_LIMIT;
      if (L.priceBandPct[i]! !== Infinity || L.priceBandAbsUnits[i]! !== Infinity) {
        if (Number.isNaN(this.refUnits[i]!)) {
          if (L.noRefRefuse[i] === 1) return R.NO_REFERENCE_PRICE;
        } else if (units > this.bandHi[i]! || units < this.bandLo[i]!) return R.PRICE_BAND;
      }
    }
    this.priceUnits = units;
    if (qu > L.maxQtyUnits[i]!) return R.MAX_ORDER_QTY;
    const maxNotional = L.maxNotionalUnits[i]!;
    if (maxNotional !== Infinity) {
      // money units: exact below 2^53, and a product beyond it is beyond any limit below it
      const pxUnits = market ? this.refUnits[i]! : units;
      if (Number.isNaN(pxUnits)) return R.NO_REFERENCE_PRICE;
      if (qu * pxUnits * L.orderFactor[i]! > maxNotional) return R.MAX_ORDER_NOTIONAL;
    }
    const maxPos = L.maxPosUnits[i]!;
    if (maxPos !== Infinity) {
      const worst = side > 0 ? position + this.openBuy[i]! + qu : -(position - this.openSell[i]! - qu);
      if (worst > maxPos) return R.MAX_POSITION;
    }
    return 0;
  }

  /** The tick (price units) at a price level: the ladder rung at or below it, else the instrument's tick. */
  tickAt(i: number, units: number, fixed: number): number {
    const L = this.limits;
    const count = L.ladderCount[i]!;
    if (count === 0) return fixed;
    const start = L.ladderStart[i]!;
    let tick = L.ladderTick[start]!;
    for (let k = 1; k < count && L.ladderFrom[start + k]! <= units; k++) tick = L.ladderTick[start + k]!;
    return tick;
  }

  /**
   * key=value detail for a refusal; built only when an order is denied. `open` overrides the
   * open exposure shown for MAX_POSITION (a batch reports what its check saw).
   */
  detail(reason: number, inst: Instrument, side: number, market: boolean, qty: number, price: number, position: number, open?: number): string {
    const i = inst.index;
    const base = `symbol=${inst.symbol}`;
    switch (reasonCode(reason)) {
      case 'INVALID_QUANTITY':
        return typeof qty === 'number' && qty > 0 && qty !== Infinity ? `${base} qty=${qty} below one lot lotSize=${inst.lotSize}` : `${base} qty=${String(qty)}`;
      case 'LOT_SIZE':
        return `${base} qty=${qty} lotSize=${inst.lotSize}`;
      case 'INVALID_PRICE':
        return `${base} price=${String(price)} pricePrecision=${inst.pricePrecision}`;
      case 'TICK_SIZE':
        return `${base} price=${price} tickSize=${this.tickAt(i, toPriceUnits(price, inst.scale), inst.tickUnits) / inst.scale}`;
      case 'PRICE_LIMIT':
        return `${base} price=${price} limitDown=${this.limits.limitDownUnits[i]! / inst.scale} limitUp=${this.limits.limitUpUnits[i]! / inst.scale}`;
      case 'PRICE_BAND':
        return `${base} price=${price} reference=${this.refUnits[i]! / inst.scale} bandPct=${this.limits.priceBandPct[i]} bandAbs=${this.limits.priceBandAbsUnits[i]! / inst.scale} allowed=${this.bandLo[i]! / inst.scale}..${this.bandHi[i]! / inst.scale}`;
      case 'MAX_ORDER_QTY':
        return `${base} qty=${qty} limit=${this.limits.maxOrderQty[i]}`;
      case 'NO_REFERENCE_PRICE':
        return market ? `${base} type=market limit=${this.limits.maxOrderNotional[i]}` : `${base} price=${price} needs=reference policy=refuse`;
      case 'MAX_ORDER_NOTIONAL': {
        const L = this.limits;
        const pxu = market ? this.refUnits[i]! : toPriceUnits(price, inst.scale);
        const notional = L.money.decimal(L.money.currencyOf[i]!, Math.round(qty * L.qtyScale[i]!) * pxu * L.orderFactor[i]!);
        return `${base} notional=${notional} limit=${L.maxOrderNotional[i]}`;
      }
      case 'MAX_POSITION': {
        const seen = open ?? (side > 0 ? this.openBuy[i]! : this.openSell[i]!);
        const q = this.limits.qtyScale[i]!;
        return `${base} side=${side > 0 ? 'buy' : 'sell'} position=${position / q} open=${seen / q} qty=${qty} limit=${this.limits.maxPosition[i]}`;
      }
      default:
        return base;
    }
  }
}
