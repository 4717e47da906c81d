/**
 * Finished orders the engine's order table has let go after their retention, kept for the
 * day's comparisons and the end-of-day report. The table releases one order for every order
 * submitted (an hour later by default), so a release is on the hot path: it is a dozen stores
 * into growable columns, with no object made. Building a `LocalOrder` object per release and
 * keeping it in a Map measured ~700 ns per order in the echo loop (1440 → 2150 ns), most of
 * it the garbage collector moving the kept objects.
 *
 * The id index is built on demand, from where it last stopped, so adding stays cheap;
 * reconciliation brings it up to date a slice at a time (`indexUpTo`).
 */
import { STATUS_NAMES } from '../domain/order-status.js';
import type { LocalOrder } from './diff.js';

export class OrderArchive {
  private n = 0;
  private cap: number;
  private clientId: string[] = [];
  private brokerId: string[] = [];
  private symbol: string[] = [];
  private qty: Float64Array;
  private price: Float64Array;
  private cumQty: Float64Array;
  private avgPx: Float64Array;
  private createdAt: Float64Array;
  private updatedAt: Float64Array;
  /** Bits 0-3 the `OrderStatus` code, bit 4 sell, bit 5 external. */
  private bits: Uint8Array;
  /** Client id → the newest position holding it, for positions below `indexed`. */
  private readonly index = new Map<string, number>();
  private indexed = 0;

  constructor(initialCapacity = 1024) {
    this.cap = initialCapacity;
    this.qty = new Float64Array(this.cap);
    this.price = new Float64Array(this.cap);
    this.cumQty = new Float64Array(this.cap);
    this.avgPx = new Float64Array(this.cap);
    this.createdAt = new Float64Array(this.cap);
    this.updatedAt = new Float64Array(this.cap);
    this.bits = new Uint8Array(this.cap);
  }

  get size(): number {
    return this.n;
  }

  /** Keep one order; `status` is its `OrderStatus` code. */
  add(clientOrderId: string, brokerOrderId: string, symbol: string, sell: boolean, qty: number, price: number, status: number, cumQty: number, avgPx: number, external: boolean, createdAt: number, updatedAt: number): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.clientId.push(clientOrderId);
    this.brokerId.push(brokerOrderId);
    this.symbol.push(symbol);
    this.qty[i] = qty;
    this.price[i] = price;
    this.cumQty[i] = cumQty;
    this.avgPx[i] = avgPx;
    this.createdAt[i] = createdAt;
    this.updatedAt[i] = updatedAt;
    this.bits[i] = status | (sell ? 16 : 0) | (external ? 32 : 0);
  }

  /** Keep one order given as an object (a snapshot's archive); an unknown status name is refused. */
  addOrder(o: LocalOrder): void {
    const status = STATUS_NAMES.indexOf(o.status);
    if (status < 0) throw new RangeError(`archived order ${o.clientOrderId}: unknown status ${o.status}`);
    this.add(o.clientOrderId, o.brokerOrderId, o.symbol, o.side === 'sell', o.qty, o.price, status, o.cumQty, o.avgPx, o.external, o.createdAt, o.updatedAt);
  }

  /** The order at position `i` (0 ≤ i < size), as an object. */
  at(i: number): LocalOrder {
    const b = this.bits[i]!;
    return {
      clientOrderId: this.clientId[i]!, brokerOrderId: this.brokerId[i]!, symbol: this.symbol[i]!, side: (b & 16) !== 0 ? 'sell' : 'buy',
      qty: this.qty[i]!, price: this.price[i]!, status: STATUS_NAMES[b & 15]!, cumQty: this.cumQty[i]!, avgPx: this.avgPx[i]!,
      external: (b & 32) !== 0, createdAt: this.createdAt[i]!, updatedAt: this.updatedAt[i]!,
    };
  }

  clientIdAt(i: number): string {
    return this.clientId[i]!;
  }

  /** Index the client ids of positions below `end` (clamped to the size); returns where it stopped. */
  indexUpTo(end: number): number {
    const stop = Math.min(end, this.n);
    for (; this.indexed < stop; this.indexed++) this.index.set(this.clientId[this.indexed]!, this.indexed);
    return this.indexed;
  }

  /** The newest kept order with this client id. */
  get(clientOrderId: string): LocalOrder | undefined {
    this.indexUpTo(this.n);
    const i = this.index.get(clientOrderId);
    return i === undefined ? undefined : this.at(i);
  }

  has(clientOrderId: string): boolean {
    this.indexUpTo(this.n);
    return this.index.has(clientOrderId);
  }

  /** Every kept order, oldest first (for snapshots; a run reads them with `at` in slices). */
  toArray(): LocalOrder[] {
    const out: LocalOrder[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.at(i));
    return out;
  }

  clear(): void {
    this.n = 0;
    this.clientId = [];
    this.brokerId = [];
    this.symbol = [];
    this.index.clear();
    this.indexed = 0;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const wider = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.qty = wider(this.qty);
    this.price = wider(this.price);
    this.cumQty = wider(this.cumQty);
    this.avgPx = wider(this.avgPx);
    this.createdAt = wider(this.createdAt);
    this.updatedAt = wider(this.updatedAt);
    const bits = new Uint8Array(cap);
    bits.set(this.bits);
    this.bits = bits;
    this.cap = cap;
  }
}
