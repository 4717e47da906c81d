import type { BrokerAdapter, ReportSink } from '../src/brokers/adapter.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { OrderRequest } from '../src/domain/order.js';
import type { BrokerReport } from '../src/domain/report.js';

const OPEN = 1;
const ACKED = 2;
const DONE = 3;

/** FNV-1a over the id's UTF-16 units, then murmur3's finalizer (FNV's low bits, which index the table, mix poorly). */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * An open-addressing string → int table with linear probing: 32-bit hashes in a typed array
 * (0 marks an empty bucket), the key string compared only on a hash match; deletion by
 * backward shift (no tombstones).
 */
class Index {
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly keys: string[];
  private readonly vals: Int32Array;
  private h = 0;

  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.mask = n - 1;
    this.hashes = new Int32Array(n);
    this.keys = Array.from({ length: n }, () => '');
    this.vals = new Int32Array(n);
  }

  /** Bucket of `k`, or the empty bucket where it would go (its hash kept for `put`). */
  find(k: string): number {
    const h = hashOf(k) | 1;
    this.h = h;
    const { mask, hashes, keys } = this;
    for (let b = (h >>> 1) & mask; ; b = (b + 1) & mask) {
      const x = hashes[b]!;
      if (x === 0 || (x === h && keys[b] === k)) return b;
    }
  }

  has(b: number): boolean {
    return this.hashes[b] !== 0;
  }

  value(b: number): number {
    return this.vals[b]!;
  }

  /** Store at bucket `b` from the last `find`, which must have been for `k`. */
  put(b: number, k: string, v: number): void {
    this.hashes[b] = this.h;
    this.keys[b] = k;
    this.vals[b] = v;
  }

  /** Empty bucket `b`, moving later entries of its probe run back so every one stays reachable. */
  remove(b: number): void {
    const { mask, hashes, keys, vals } = this;
    let i = b;
    for (let j = (i + 1) & mask; hashes[j] !== 0; j = (j + 1) & mask) {
      const home = (hashes[j]! >>> 1) & mask;
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      hashes[i] = hashes[j]!;
      keys[i] = keys[j]!;
      vals[i] = vals[j]!;
      i = j;
    }
    hashes[i] = 0;
    keys[i] = '';
  }

  clear(): void {
    this.hashes.fill(0);
  }
}

/**
 * The floor: the least JavaScript that does the engine's job for this workload, to measure the
 * engine against. Typed-array order slots, integer prices (tick units) and positions, an
 * open-addressing index of the open orders and one of the ids finished today (refused until
 * the day rolls), three clock reads per order (submit, ack, fill), the price, tick, quantity
 * and position checks, exec-id and sequence checks, and, with a strategy, three callbacks
 * given both ids and the figures as arguments (no object). Reports are matched by client order
 * id, which the echo broker always sends. It records no latency, keeps no average cost and
 * validates nothing the workload cannot send it: it is a floor, not an engine.
 */
export class FloorEngine {
  private readonly status: Uint8Array;
  private readonly inst: Uint8Array;
  private readonly buy: Uint8Array;
  private readonly qty: Float64Array;
  private readonly cum: Float64Array;
  private readonly seq: Int32Array;
  private readonly created: Float64Array;
  private readonly cid: string[];
  private readonly bid: string[];
  private readonly lastExec: string[];
  private readonly free: Int32Array;
  private freeTop: number;
  /** Open orders: client id → slot. */
  private readonly open: Index;
  /** Client ids finished today (cleared by `rollDay`). */
  private readonly done: Index;
  private readonly symbols = new Map<string, number>();
  private readonly scale: Float64Array;
  private readonly tick: Float64Array;
  readonly position: Float64Array;
  private readonly openBuy: Float64Array;
  private readonly openSell: Float64Array;
  readonly sink: ReportSink;
  latencySum = 0;
  fills = 0;
  /** With a strategy: the three callbacks, both ids and the figures as arguments. */
  callbacks: { report(cid: string, bid: string, cum: number): void; trade(cid: string, bid: string, q: number, px: number): void; order(cid: string, bid: string, status: number): void } | undefined;

  constructor(
    instruments: InstrumentSpec[],
    private readonly broker: BrokerAdapter,
    private readonly limits: { maxOrderQty: number; maxPosition: number },
    private readonly clock: () => number,
    capacity: number,
    perDay: number,
  ) {
    this.status = new Uint8Array(capacity);
    this.inst = new Uint8Array(capacity);
    this.buy = new Uint8Array(capacity);
    this.qty = new Float64Array(capacity);
    this.cum = new Float64Array(capacity);
    this.seq = new Int32Array(capacity);
    this.created = new Float64Array(capacity);
    this.cid = Array.from({ length: capacity }, () => '');
    this.bid = Array.from({ length: capacity }, () => '');
    this.lastExec = Array.from({ length: capacity }, () => '');
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.open = new Index(capacity);
    this.done = new Index(perDay);
    const n = instruments.length;
    this.scale = new Float64Array(n);
    this.tick = new Float64Array(n);
    this.position = new Float64Array(n);
    this.openBuy = new Float64Array(n);
    this.openSell = new Float64Array(n);
    instruments.forEach((s, i) => {
      this.symbols.set(s.symbol, i);
      this.scale[i] = 10 ** s.pricePrecision;
      this.tick[i] = Math.round(s.tickSize * 10 ** s.pricePrecision);
    });
    this.sink = { onReport: (r) => this.onReport(r), onDisconnect: () => {} };
  }

  rollDay(): void {
    this.done.clear();
  }

  /** 0 accepted, 1 duplicate, 2 refused. */
  submit(o: OrderRequest): number {
    const now = this.clock();
    const id = o.clientOrderId;
    if (this.done.has(this.done.find(id))) return 2;
    const b = this.open.find(id);
    if (this.open.has(b)) return 1;
    const i = this.symbols.get(o.symbol);
    if (i === undefined) return 2;
    const units = Math.round(o.price! * this.scale[i]!);
    if (units % this.tick[i]! !== 0 || !(o.qty > 0) || o.qty > this.limits.maxOrderQty) return 2;
    const buy = o.side === 'buy';
    if (Math.abs(buy ? this.position[i]! + this.openBuy[i]! + o.qty : this.position[i]! - this.openSell[i]! - o.qty) > this.limits.maxPosition) return 2;
    if (this.freeTop === 0) return 2;
    const s = this.free[--this.freeTop]!;
    this.status[s] = OPEN;
    this.inst[s] = i;
    this.buy[s] = buy ? 1 : 0;
    this.qty[s] = o.qty;
    this.cum[s] = 0;
    this.seq[s] = 0;
    this.created[s] = now;
    this.cid[s] = id;
    this.bid[s] = '';
    this.lastExec[s] = '';
    this.open.put(b, id, s);
    if (buy) this.openBuy[i] = this.openBuy[i]! + o.qty;
    else this.openSell[i] = this.openSell[i]! + o.qty;
    this.broker.placeOrder({ clientOrderId: id, symbol: o.symbol, side: o.side, type: 'limit', tif: 'day', qty: o.qty, price: units / this.scale[i]!, protectionPrice: undefined });
    return 0;
  }

  onReport(r: BrokerReport): void {
    const now = this.clock();
    const b = this.open.find(r.clientOrderId!);
    if (!this.open.has(b)) return; // unknown, or finished today
    const s = this.open.value(b);
    if (r.execId === this.lastExec[s] || (r.seq !== undefined && r.seq <= this.seq[s]!)) return;
    this.lastExec[s] = r.execId;
    if (r.seq !== undefined) this.seq[s] = r.seq;
    if (this.bid[s] === '') this.bid[s] = r.brokerOrderId;
    const i = this.inst[s]!;
    if (r.kind === 'new') this.status[s] = ACKED;
    else if (r.kind === 'trade') {
      const q = r.lastQty!;
      this.cum[s] = this.cum[s]! + q;
      if (this.buy[s] === 1) {
        this.position[i] = this.position[i]! + q;
        this.openBuy[i] = this.openBuy[i]! - q;
      } else {
        this.position[i] = this.position[i]! - q;
        this.openSell[i] = this.openSell[i]! - q;
      }
      this.fills++;
      this.latencySum += now - this.created[s]!;
      if (this.cum[s]! >= this.qty[s]!) this.status[s] = DONE;
      if (this.callbacks !== undefined) this.callbacks.trade(this.cid[s]!, this.bid[s]!, q, r.lastPx!);
    } else {
      // rejected, canceled or expired: what was left open leaves the exposure
      const left = this.qty[s]! - this.cum[s]!;
      if (this.buy[s] === 1) this.openBuy[i] = this.openBuy[i]! - left;
      else this.openSell[i] = this.openSell[i]! - left;
      this.status[s] = DONE;
    }
    const cbs = this.callbacks;
    if (cbs !== undefined) {
      cbs.report(this.cid[s]!, this.bid[s]!, this.cum[s]!);
      cbs.order(this.cid[s]!, this.bid[s]!, this.status[s]!);
    }
    if (this.status[s] === DONE) {
      this.open.remove(b);
      const id = this.cid[s]!;
      this.done.put(this.done.find(id), id, 0);
      this.free[this.freeTop++] = s;
    }
  }
}
