/**
 * The trading day's finished orders that the engine's order table has let go after their
 * retention: kept until the day rolls, for the id rule (a client order id is unique within its
 * trading day), for matching late reports by broker order id, for the day's comparisons and
 * for the end-of-day report. The table releases one order for every order submitted (an hour
 * later by default), so a release is on the hot path: a dozen stores into growable columns and
 * two index inserts, with no object made. Building a `LocalOrder` object per release and
 * keeping it in a Map measured ~700 ns per order in the echo loop (1440 → 2150 ns), most of it
 * the garbage collector moving the kept objects.
 *
 * Its columns keep, at a roll, the size the day that ended needed (see `clear`).
 *
 * Bounded: at most `maxOrders` (config `limits.maxDayOrders`); `add` refuses past it and the
 * table then keeps the order in its slot (see the engine).
 */
import { STATUS_NAMES } from '../domain/order-status.js';
import { AppendIndex } from './append-index.js';
import type { Order } from '../domain/order.js';

/** What the store keeps of a finished order (the fields reconciliation compares). */
export type LocalOrder = Pick<Order, 'clientOrderId' | 'brokerOrderId' | 'symbol' | 'side' | 'qty' | 'price' | 'status' | 'cumQty' | 'avgPx' | 'external' | 'createdAt' | 'updatedAt'>;

/** The archive in a snapshot: its columns as they are (a 2M-order day as objects was gigabytes). */
export interface ArchiveColumns {
  n: number;
  clientId: string[];
  brokerId: string[];
  symbol: string[];
  /** Float64 columns as bytes, and the bits column. */
  qty: Uint8Array;
  price: Uint8Array;
  cumQty: Uint8Array;
  avgPx: Uint8Array;
  createdAt: Uint8Array;
  updatedAt: Uint8Array;
  bits: Uint8Array;
}

const f64bytes = (a: Float64Array, n: number) => new Uint8Array(a.buffer, a.byteOffset, n * 8).slice();
/** A Float64Array of `n` values from bytes (msgpack gives them back as a Buffer at any offset). */
function f64of(b: Uint8Array, n: number, what: string): Float64Array {
  if (b.byteLength !== n * 8) throw new RangeError(`archive column ${what} has ${b.byteLength} bytes, expected ${n * 8}`);
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export class OrderArchive {
  private n = 0;
  private cap: number;
  private clientId!: string[];
  private brokerId!: string[];
  private symbol!: string[];
  private qty!: Float64Array;
  private price!: Float64Array;
  private cumQty!: Float64Array;
  private avgPx!: Float64Array;
  private createdAt!: Float64Array;
  private updatedAt!: Float64Array;
  /** Bits 0-3 the `OrderStatus` code, bit 4 sell, bit 5 external. */
  private bits!: Uint8Array;
  private readonly byClient = new AppendIndex((i) => this.clientId[i]!);
  /**
   * By broker id, brought up to date when asked (`positionOfBroker`): only a report for an order
   * the table no longer holds, recovery sync and reconciliation ask, so the release on the hot
   * path pays for one index insert, not two.
   */
  private readonly byBroker = new AppendIndex((i) => this.brokerId[i]!);
  private brokerIndexed = 0;
  private readonly initialCapacity: number;

  /** `maxOrders`: the bound (default 4,194,304). */
  constructor(initialCapacity = 1024, readonly maxOrders = 4_194_304) {
    this.initialCapacity = initialCapacity;
    this.cap = initialCapacity;
    this.resize(initialCapacity, false);
  }

  get size(): number {
    return this.n;
  }

  /** No room for another order until the day rolls. */
  get full(): boolean {
    return this.n >= this.maxOrders;
  }

  /** Keep one order; `status` is its `OrderStatus` code. False (nothing kept) when full. */
  add(clientOrderId: string, brokerOrderId: string, symbol: string, sell: boolean, qty: number, price: number, status: number, cumQty: number, avgPx: number, external: boolean, createdAt: number, updatedAt: number): boolean {
    if (this.n >= this.maxOrders) return false;
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.clientId[i] = clientOrderId;
    this.brokerId[i] = brokerOrderId;
    this.symbol[i] = symbol;
    this.qty[i] = qty;
    this.price[i] = price;
    this.cumQty[i] = cumQty;
    this.avgPx[i] = avgPx;
    this.createdAt[i] = createdAt;
    this.updatedAt[i] = updatedAt;
    this.bits[i] = status | (sell ? 16 : 0) | (external ? 32 : 0);
    this.byClient.set(clientOrderId, i);
    return true;
  }

  /** Keep one order given as an object (a snapshot's archive); an unknown status name is refused. */
  addOrder(o: LocalOrder): boolean {
    const status = STATUS_NAMES.indexOf(o.status);
    if (status < 0) throw new RangeError(`archived order ${o.clientOrderId}: unknown status ${o.status}`);
    return this.add(o.clientOrderId, o.brokerOrderId, o.symbol, o.side === 'sell', o.qty, o.price, status, o.cumQty, o.avgPx, o.external, o.createdAt, o.updatedAt);
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

  /** The filled quantity of the order at position `i`. */
  cumQtyAt(i: number): number {
    return this.cumQty[i]!;
  }

  /** The status code (`OrderStatus`) of the order at position `i`. */
  statusAt(i: number): number {
    return this.bits[i]! & 15;
  }

  /** Position of the newest kept order with this client id, or -1 (no allocation). */
  positionOf(clientOrderId: string): number {
    return this.n === 0 ? -1 : this.byClient.get(clientOrderId);
  }

  /** Position of the kept order with this broker id, or -1. */
  positionOfBroker(brokerOrderId: string): number {
    if (this.n === 0 || brokerOrderId === '') return -1;
    for (; this.brokerIndexed < this.n; this.brokerIndexed++) {
      const b = this.brokerId[this.brokerIndexed]!;
      if (b !== '') this.byBroker.set(b, this.brokerIndexed);
    }
    return this.byBroker.get(brokerOrderId);
  }

  /** The newest kept order with this client id. */
  get(clientOrderId: string): LocalOrder | undefined {
    const i = this.positionOf(clientOrderId);
    return i < 0 ? undefined : this.at(i);
  }

  /** The kept order with this broker id. */
  getByBroker(brokerOrderId: string): LocalOrder | undefined {
    const i = this.positionOfBroker(brokerOrderId);
    return i < 0 ? undefined : this.at(i);
  }

  has(clientOrderId: string): boolean {
    return this.positionOf(clientOrderId) >= 0;
  }

  /** Every kept order, oldest first (for snapshots; a run reads them with `at` in slices). */
  toArray(): LocalOrder[] {
    const out: LocalOrder[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.at(i));
    return out;
  }

  /** The columns, for a snapshot. */
  exportColumns(): ArchiveColumns {
    const n = this.n;
    return {
      n, clientId: this.clientId.slice(0, n), brokerId: this.brokerId.slice(0, n), symbol: this.symbol.slice(0, n),
      qty: f64bytes(this.qty, n), price: f64bytes(this.price, n), cumQty: f64bytes(this.cumQty, n), avgPx: f64bytes(this.avgPx, n),
      createdAt: f64bytes(this.createdAt, n), updatedAt: f64bytes(this.updatedAt, n), bits: this.bits.slice(0, n),
    };
  }

  /** Add the orders of a snapshot's columns; throws naming the column that does not fit. */
  importColumns(c: ArchiveColumns): void {
    const n = c.n;
    if (!Number.isInteger(n) || n < 0 || c.clientId.length !== n || c.brokerId.length !== n || c.symbol.length !== n || c.bits.byteLength !== n) {
      throw new RangeError(`archive columns do not agree on ${String(n)} orders`);
    }
    const qty = f64of(c.qty, n, 'qty');
    const price = f64of(c.price, n, 'price');
    const cumQty = f64of(c.cumQty, n, 'cumQty');
    const avgPx = f64of(c.avgPx, n, 'avgPx');
    const createdAt = f64of(c.createdAt, n, 'createdAt');
    const updatedAt = f64of(c.updatedAt, n, 'updatedAt');
    for (let i = 0; i < n; i++) {
      const b = c.bits[i]!;
      if ((b & 15) >= STATUS_NAMES.length) throw new RangeError(`archived order ${c.clientId[i]}: unknown status code ${b & 15}`);
      this.add(c.clientId[i]!, c.brokerId[i]!, c.symbol[i]!, (b & 16) !== 0, qty[i]!, price[i]!, b & 15, cumQty[i]!, avgPx[i]!, (b & 32) !== 0, createdAt[i]!, updatedAt[i]!);
    }
  }

  /**
   * Empty (the day rolled). The columns keep the size the day that ended needed, no more: a
   * day as busy as the last reuses them (growing them again every day measured ~80 B per order
   * in steady state), a quieter day after a busy one gives the rest back at its own roll.
   */
  clear(): void {
    const used = this.n;
    this.n = 0;
    this.byClient.clear(used);
    this.byBroker.clear(this.byBroker.size);
    this.brokerIndexed = 0;
    let fit = this.initialCapacity;
    while (fit < used) fit *= 2;
    if (this.cap > fit) this.resize(fit, false);
    else {
      // the strings of the day that ended are let go
      this.clientId.fill('', 0, used);
      this.brokerId.fill('', 0, used);
      this.symbol.fill('', 0, used);
    }
  }

  private grow(): void {
    this.resize(this.cap * 2, true);
  }

  /** New columns of `cap` rows, the current rows copied over when `keep`. */
  private resize(cap: number, keep: boolean): void {
    const f64 = (a: Float64Array | undefined) => {
      const b = new Float64Array(cap);
      if (keep && a !== undefined) b.set(a);
      return b;
    };
    this.qty = f64(this.qty);
    this.price = f64(this.price);
    this.cumQty = f64(this.cumQty);
    this.avgPx = f64(this.avgPx);
    this.createdAt = f64(this.createdAt);
    this.updatedAt = f64(this.updatedAt);
    const strings = (a: string[] | undefined) => {
      const b = Array.from({ length: cap }, () => '');
      if (keep && a !== undefined) for (let i = 0; i < this.n; i++) b[i] = a[i]!;
      return b;
    };
    this.clientId = strings(this.clientId);
    this.brokerId = strings(this.brokerId);
    this.symbol = strings(this.symbol);
    const bits = new Uint8Array(cap);
    if (keep && this.bits !== undefined) bits.set(this.bits);
    this.bits = bits;
    this.cap = cap;
  }
}
