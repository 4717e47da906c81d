import { toLots, toPriceUnits, type Instrument } from '../domain/instrument.js';
import { R, reasonCode } from '../domain/reject-reason.js';
import { LimitTable } from './limits.js';

/**
 * The per-order checks on submit, in a fixed order (the first failing check names the
 * reason): quantity, lot, price, tick, max quantity, max notional, position with open
 * exposure. Returns a reason id, 0 when the order passes; allocates nothing on a pass.
 * Prices are compared as integer units: tick = units % tickUnits, never float modulo.
 */
export class PreTradeRisk {
  /** Open quantity of live buy / sell orders per instrument (exposure that may still fill). */
  readonly openBuy: Float64Array;
  readonly openSell: Float64Array;
  /** Reference price per instrument (decimal); NaN when none is known. */
  readonly reference: Float64Array;
  /** Price units of the order last checked (NaN for market orders). */
  priceUnits = Number.NaN;

  constructor(
    readonly limits: LimitTable,
    instrumentCount: number,
  ) {
    this.openBuy = new Float64Array(instrumentCount);
    this.openSell = new Float64Array(instrumentCount);
    this.reference = new Float64Array(instrumentCount).fill(Number.NaN);
  }

  /**
   * @param side +1 buy, -1 sell
   * @param price decimal limit price; ignored for market orders
   * @param position current signed position of the instrument
   */
  check(inst: Instrument, side: number, market: boolean, qty: number, price: number, position: number): number {
    const i = inst.index;
    if (typeof qty !== 'number' || !(qty > 0) || qty === Infinity) return R.INVALID_QUANTITY;
    if (Number.isNaN(toLots(qty, inst.lotSize))) return R.LOT_SIZE;
    let units = Number.NaN;
    if (!market) {
      if (typeof price !== 'number' || !(price > 0)) return R.INVALID_PRICE;
      units = toPriceUnits(price, inst.scale);
      if (Number.isNaN(units)) return R.INVALID_PRICE;
      if (units % this.tickAt(i, units, inst.tickUnits) !== 0) return R.TICK_SIZE;
      const L = this.limits;
      if (units > L.limitUpUnits[i]! || units < L.limitDownUnits[i]!) return R.PRICE_LIMIT;
      const band = L.priceBandPct[i]!;
      const abs = L.priceBandAbsUnits[i]!;
      if (band !== Infinity || abs !== Infinity) {
        const ref = this.reference[i]!;
        if (Number.isNaN(ref)) {
          if (L.noRefRefuse[i] === 1) return R.NO_REFERENCE_PRICE;
        } else {
          const refUnits = ref * inst.scale;
          const diff = Math.abs(units - refUnits);
          // |price - ref| / ref > band%, multiplied out: no division, same arithmetic in C++
          if (band !== Infinity && diff * 100 > refUnits * band) return R.PRICE_BAND;
          if (abs !== Infinity && diff > abs) return R.PRICE_BAND;
        }
      }
    }
    this.priceUnits = units;
    if (qty > this.limits.maxOrderQty[i]!) return R.MAX_ORDER_QTY;
    const maxNotional = this.limits.maxOrderNotional[i]!;
    if (maxNotional !== Infinity) {
      // In price units: qty x units is exact for whole quantities, where 100 x 10.05 in
      // decimals is 1005.0000000000001 and would deny an order sitting exactly at the limit.
      const pxUnits = market ? this.reference[i]! * inst.scale : units;
      if (Number.isNaN(pxUnits)) return R.NO_REFERENCE_PRICE;
      const limitUnits = maxNotional * inst.scale;
      if (qty * pxUnits * inst.multiplier > limitUnits * (1 + 1e-12)) return R.MAX_ORDER_NOTIONAL;
    }
    const maxPos = this.limits.maxPosition[i]!;
    if (maxPos !== Infinity) {
      const worst = side > 0 ? position + this.openBuy[i]! + qty : -(position - this.openSell[i]! - qty);
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
        return `${base} qty=${String(qty)}`;
      case 'LOT_SIZE':
        return `${base} qty=${qty} lotSize=${inst.lotSize}`;
      case 'INVALID_PRICE':
        return `${base} price=${String(price)} pricePrecision=${inst.pricePrecision}`;
      case 'TICK_SIZE':
        return `${base} price=${price} tickSize=${this.tickAt(i, toPriceUnits(price, inst.scale), inst.tickUnits) / inst.scale}`;
      case 'PRICE_LIMIT':
        return `${base} price=${price} limitDown=${this.limits.limitDownUnits[i]! / inst.scale} limitUp=${this.limits.limitUpUnits[i]! / inst.scale}`;
      case 'PRICE_BAND':
        return `${base} price=${price} reference=${this.reference[i]} bandPct=${this.limits.priceBandPct[i]} bandAbs=${this.limits.priceBandAbsUnits[i]! / inst.scale}`;
      case 'MAX_ORDER_QTY':
        return `${base} qty=${qty} limit=${this.limits.maxOrderQty[i]}`;
      case 'NO_REFERENCE_PRICE':
        return market ? `${base} type=market limit=${this.limits.maxOrderNotional[i]}` : `${base} price=${price} needs=reference policy=refuse`;
      case 'MAX_ORDER_NOTIONAL': {
        const px = market ? this.reference[i]! : price;
        return `${base} notional=${qty * px * inst.multiplier} limit=${this.limits.maxOrderNotional[i]}`;
      }
      case 'MAX_POSITION': {
        const seen = open ?? (side > 0 ? this.openBuy[i]! : this.openSell[i]!);
        return `${base} side=${side > 0 ? 'buy' : 'sell'} position=${position} open=${seen} qty=${qty} limit=${this.limits.maxPosition[i]}`;
      }
      default:
        return base;
    }
  }
}
