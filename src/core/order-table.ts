import { IdIndex, type WeakHash } from './id-index.js';

/** Flag bits per slot. */
export const F_EXTERNAL = 1;
export const F_OVERFILLED = 2;
export const F_ACK_TIMED = 4;
export const F_FILL_TIMED = 8;
/** The broker took the order (an ack, or a fill first): counted once for the place success rate. */
export const F_ACKED = 16;
/** A report arrived with a seq past the next one: an earlier report may still be on its way, so cumQty gaps are not judged (reconciliation settles them). */
export const F_SEQ_GAP = 32;

export const TIF_DAY = 0;
export const TIF_GTC = 1;
export const TIF_IOC = 2;
export const TYPE_LIMIT = 0;
export const TYPE_MARKET = 1;

export interface OrderTableOptions {
  /** Number of slots; a power of two. */
  capacity: number;
  /** How long a finished order stays findable (and its id refused for reuse), ms. */
  retentionMs: number;
  /** Test hook for the id indexes: see IdIndex. */
  weakHash?: WeakHash;
  /** Most exec ids one order keeps; default 65536. */
  maxExecIdsPerOrder?: number;
}

/** Exec ids per order scanned linearly; more go to a Set (a scan beats hashing for a handful). */
const EXEC_SCAN = 8;

/**
 * Preallocated order slots, struct of arrays: numeric fields in typed arrays, strings in
 * parallel arrays by slot. Slots are taken from a free stack; a finished order is queued in
 * finish order and recycled once its retention has passed. A live (open) order is never
 * overwritten: when no slot is free or recyclable, `allocate` returns -1.
 */
export class OrderTable {
  readonly capacity: number;
  readonly retentionMs: number;

  readonly status: Uint8Array;
  /** Status before PendingCancel, restored by a cancel reject. */
  readonly prevStatus: Uint8Array;
  readonly live: Uint8Array;
  /** +1 buy, -1 sell. */
  readonly side: Int8Array;
  readonly type: Uint8Array;
  readonly tif: Uint8Array;
  readonly instrument: Int32Array;
  readonly flags: Uint8Array;
  readonly reason: Uint8Array;
  readonly qty: Float64Array;
  /** Limit price in price units; NaN for market orders. */
  readonly price: Float64Array;
  readonly cumQty: Float64Array;
  /** Sum of lastQty x lastPx over fills, for the average price. */
  readonly fillValue: Float64Array;
  /** Quantity still counted in the instrument's open exposure. */
  readonly exposure: Float64Array;
  /** Highest broker report sequence applied; -1 for none. */
  readonly lastSeq: Float64Array;
  readonly createdAt: Float64Array;
  /** The engine's monotonic reading at submit, integer ns (NaN for an order not submitted in this process: restored, external). */
  readonly createdNs: Float64Array;
  readonly updatedAt: Float64Array;
  readonly finishedAt: Float64Array;

  readonly clientId: string[];
  readonly brokerId: string[];
  readonly rejectText: (string | undefined)[];
  /** Exec ids applied to this order, for duplicate detection by (brokerOrderId, execId). */
  readonly execIds: string[][];
  /** How many of `execIds[slot]` are current (the arrays are reused, never truncated). */
  readonly execCount: Uint32Array;
  /**
   * Past EXEC_SCAN ids an order's ids move to a Set, so the check stays O(1) however many
   * reports one order gets (100k on one order made a linear scan take 352 µs per report).
   */
  readonly execSets: (Set<string> | undefined)[];
  /** Most exec ids one order keeps (config `maxExecIdsPerOrder`). */
  readonly maxExecIds: number;

  readonly byClientId: IdIndex;
  readonly byBrokerId: IdIndex;

  private readonly free: Int32Array;
  private freeTop: number;
  /** Ring of finished slots in finish order. */
  private readonly finished: Int32Array;
  private finHead = 0;
  private finCount = 0;
  private liveCount = 0;

  constructor(opts: OrderTableOptions) {
    const n = opts.capacity;
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > 1 << 24) {
      throw new RangeError(`order table capacity must be a power of two from 2 to 2^24, got ${n}`);
    }
    this.capacity = n;
    this.retentionMs = opts.retentionMs;
    this.status = new Uint8Array(n);
    this.prevStatus = new Uint8Array(n);
    this.live = new Uint8Array(n);
    this.side = new Int8Array(n);
    this.type = new Uint8Array(n);
    this.tif = new Uint8Array(n);
    this.instrument = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.reason = new Uint8Array(n);
    this.qty = new Float64Array(n);
    this.price = new Float64Array(n);
    this.cumQty = new Float64Array(n);
    this.fillValue = new Float64Array(n);
    this.exposure = new Float64Array(n);
    this.lastSeq = new Float64Array(n);
    this.createdAt = new Float64Array(n);
    this.createdNs = new Float64Array(n).fill(Number.NaN);
    this.updatedAt = new Float64Array(n);
    this.finishedAt = new Float64Array(n);
    this.clientId = new Array<string>(n).fill('');
    this.brokerId = new Array<string>(n).fill('');
    this.rejectText = new Array<string | undefined>(n).fill(undefined);
    this.execIds = Array.from({ length: n }, () => []);
    this.execCount = new Uint32Array(n);
    this.execSets = new Array<Set<string> | undefined>(n).fill(undefined);
    this.maxExecIds = opts.maxExecIdsPerOrder ?? 65536;
    this.byClientId = new IdIndex(n, (s) => this.clientId[s]!, opts.weakHash);
    this.byBrokerId = new IdIndex(n, (s) => this.brokerId[s]!, opts.weakHash);
    this.free = new Int32Array(n);
    // pop order 0, 1, 2, ... so a fresh table fills from slot 0
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeTop = n;
    this.finished = new Int32Array(n);
  }

  /** Slots holding an order (open, or finished within retention). */
  get size(): number {
    return this.liveCount;
  }

  /** Finished orders still retained. */
  get retained(): number {
    return this.finCount;
  }

  /**
   * Take a slot for a new order, first recycling every finished order whose retention has
   * passed. Returns -1 when every slot holds an open or retained order.
   */
  allocate(now: number): number {
    this.recycle(now);
    return this.take();
  }

  /** A free slot, reset, without recycling first (the caller just did, at the same time); -1 when full. */
  take(): number {
    if (this.freeTop === 0) return -1;
    const slot = this.free[--this.freeTop]!;
    this.live[slot] = 1;
    this.liveCount++;
    this.flags[slot] = 0;
    this.createdNs[slot] = Number.NaN;
    this.reason[slot] = 0;
    this.cumQty[slot] = 0;
    this.fillValue[slot] = 0;
    this.exposure[slot] = 0;
    this.lastSeq[slot] = -1;
    this.brokerId[slot] = '';
    this.rejectText[slot] = undefined;
    // Setting an array's length is slow in V8 (measured ~4% of the order loop): keep a count.
    this.execCount[slot] = 0;
    this.execSets[slot] = undefined;
    return slot;
  }

  /**
   * Release finished slots past retention into the free stack. `onRelease` may refuse a slot
   * (the day's store is full): it then stays, and so does every slot behind it, until the day rolls.
   */
  recycle(now: number): void {
    // the common case, nothing due yet, stays small enough to inline
    if (this.finCount > 0 && this.finishedAt[this.finished[this.finHead]!]! + this.retentionMs <= now) this.recycleDue(now);
  }

  private recycleDue(now: number): void {
    const mask = this.capacity - 1;
    while (this.finCount > 0) {
      const slot = this.finished[this.finHead]!;
      if (this.finishedAt[slot]! + this.retentionMs > now) break;
      if (this.onRelease !== undefined && !this.onRelease(slot)) break;
      this.finHead = (this.finHead + 1) & mask;
      this.finCount--;
      this.release(slot);
    }
  }

  /** Release every finished slot now, whatever its retention (the day rolled); `each` sees each first. Returns how many. */
  releaseFinished(each?: (slot: number) => void): number {
    const mask = this.capacity - 1;
    const n = this.finCount;
    while (this.finCount > 0) {
      const slot = this.finished[this.finHead]!;
      this.finHead = (this.finHead + 1) & mask;
      this.finCount--;
      each?.(slot);
      this.release(slot);
    }
    return n;
  }

  /** Record that a slot's order has finished; call once per order, at its first terminal status. */
  markFinished(slot: number, now: number): void {
    this.finishedAt[slot] = now;
    this.finished[(this.finHead + this.finCount) & (this.capacity - 1)] = slot;
    this.finCount++;
  }

  /** Give a slot back that never got an order in it (allocation undone). */
  unallocate(slot: number): void {
    this.release(slot);
  }

  private release(slot: number): void {
    this.byClientId.deleteSlot(slot);
    if (this.brokerId[slot] !== '') this.byBrokerId.deleteSlot(slot);
    this.clientId[slot] = '';
    this.brokerId[slot] = '';
    this.live[slot] = 0;
    this.liveCount--;
    this.free[this.freeTop++] = slot;
  }

  /** Attach the broker's id to a slot (once). */
  setBrokerId(slot: number, brokerOrderId: string): void {
    this.brokerId[slot] = brokerOrderId;
    this.byBrokerId.set(brokerOrderId, slot);
  }

  /** Called with a finished order's slot just before its retention ends and the slot is reused; false keeps the slot. */
  onRelease: ((slot: number) => boolean) | undefined;

  /** Whether `execId` was applied to the slot's order (read only). */
  hasExec(slot: number, execId: string): boolean {
    const set = this.execSets[slot];
    if (set !== undefined) return set.has(execId);
    const ids = this.execIds[slot]!;
    const n = this.execCount[slot]!;
    for (let i = 0; i < n; i++) if (ids[i] === execId) return true;
    return false;
  }

  /** Exec ids kept for the slot's order. */
  execIdCount(slot: number): number {
    return this.execCount[slot]!;
  }

  /**
   * Record that `execId` was applied to the slot's order (the caller checked `hasExec`).
   * False when the order already keeps `maxExecIds` ids: nothing is recorded.
   */
  addExec(slot: number, execId: string): boolean {
    const n = this.execCount[slot]!;
    if (n >= this.maxExecIds) return false;
    this.execCount[slot] = n + 1;
    const set = this.execSets[slot];
    if (set !== undefined) {
      set.add(execId);
      return true;
    }
    const ids = this.execIds[slot]!;
    ids[n] = execId;
    if (n + 1 > EXEC_SCAN) {
      const big = new Set<string>();
      for (let i = 0; i <= n; i++) big.add(ids[i]!);
      this.execSets[slot] = big;
    }
    return true;
  }

  /** The exec ids kept for the slot's order (snapshots). */
  execIdsOf(slot: number): string[] {
    const set = this.execSets[slot];
    return set !== undefined ? [...set] : this.execIds[slot]!.slice(0, this.execCount[slot]!);
  }
}
