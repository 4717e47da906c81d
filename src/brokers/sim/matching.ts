import type { OrderStatusName } from '../../domain/order-status.js';
import type { OrderType, TimeInForce } from '../../domain/order.js';
import type { Instrument } from '../../domain/instrument.js';
import type { SyntheticBook } from './market.js';

/** An order as the simulated broker holds it. */
export interface SimOrder {
  readonly brokerOrderId: string;
  readonly clientOrderId: string;
  readonly inst: Instrument;
  /** +1 buy, -1 sell. */
  readonly side: number;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly qty: number;
  /** Price units; NaN for market orders. */
  readonly price: number;
  /** Market orders: the protection price in units (fill no worse); NaN for none. */
  readonly protection: number;
  /** Arrival sequence: time priority among resting orders. */
  readonly arrival: number;
  cumQty: number;
  fillValue: number;
  status: OrderStatusName;
  /** Reports sent for this order (the per-order report sequence). */
  seq: number;
}

/**
 * Take liquidity for `order` from the book, best level first, up to its limit price.
 * Calls `onFill(qty, priceUnits)` per level touched and consumes the book's liquidity.
 */
export function matchAgainstBook(order: SimOrder, book: SyntheticBook, onFill: (qty: number, priceUnits: number) => void): void {
  const sizes = order.side > 0 ? book.askSize : book.bidSize;
  // a market order goes as far as its protection price, if it has one
  const limit = order.type === 'market' ? order.protection : order.price;
  for (let k = 0; k < sizes.length; k++) {
    const left = order.qty - order.cumQty;
    if (left <= 0) return;
    const px = order.side > 0 ? book.ask(k) : book.bid(k);
    if (!Number.isNaN(limit) && (order.side > 0 ? px > limit : px < limit)) return;
    const q = Math.min(left, sizes[k]!);
    if (q <= 0) continue;
    sizes[k] = sizes[k]! - q;
    onFill(q, px);
  }
}

/**
 * Price-time priority among resting orders of one side: best price first (highest bid,
 * lowest offer), then earliest arrival.
 */
export function priceTimeOrder(a: SimOrder, b: SimOrder): number {
  if (a.price !== b.price) return a.side > 0 ? b.price - a.price : a.price - b.price;
  return a.arrival - b.arrival;
}
