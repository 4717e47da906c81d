import { hashId, hashLo } from './id-hash.js';

/**
 * Id string → position, for a store that only appends and is cleared whole (the trading day's
 * finished orders): open addressing over typed arrays, 12 bytes a bucket at a load of at most
 * one half, doubled when it fills. A `Map` of strings cost about 80 bytes an entry; this costs
 * 24. Each hit is confirmed against the id string at the position (`keyOf`), so a 64-bit hash
 * collision can never alias two orders. Setting an id that is present points it at the newer
 * position.
 */
export class AppendIndex {
  private hi: Int32Array;
  private lo: Int32Array;
  /** position + 1; 0 marks an empty bucket. */
  private pos: Int32Array;
  private mask: number;
  private count = 0;

  private readonly initial: number;

  constructor(
    private readonly keyOf: (position: number) => string,
    initialBuckets = 1024,
  ) {
    let n = 16;
    while (n < initialBuckets) n *= 2;
    this.initial = n;
    this.hi = new Int32Array(n);
    this.lo = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.mask = n - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the buckets. */
  get bytes(): number {
    return this.pos.length * 12;
  }

  /** The position of `id`, or -1. */
  get(id: string): number {
    const h = hashId(id);
    const l = hashLo;
    const { mask, hi, lo, pos } = this;
    for (let b = (h ^ l) & mask; ; b = (b + 1) & mask) {
      const p = pos[b]!;
      if (p === 0) return -1;
      if (hi[b] === h && lo[b] === l && this.keyOf(p - 1) === id) return p - 1;
    }
  }

  /** Point `id` at `position` (replacing an earlier position of the same id). */
  set(id: string, position: number): void {
    if ((this.count + 1) * 2 > this.pos.length) this.grow();
    const h = hashId(id);
    const l = hashLo;
    const { mask, hi, lo, pos } = this;
    let b = (h ^ l) & mask;
    for (; pos[b] !== 0; b = (b + 1) & mask) {
      if (hi[b] === h && lo[b] === l && this.keyOf(pos[b]! - 1) === id) {
        pos[b] = position + 1;
        return;
      }
    }
    hi[b] = h;
    lo[b] = l;
    pos[b] = position + 1;
    this.count++;
  }

  /**
   * Empty. The buckets keep the size that `keepFor` entries need (the day that ended), no more:
   * a day as busy reuses them, a quieter one after a busy one gets smaller ones.
   */
  clear(keepFor = 0): void {
    let n = this.initial;
    while (n < keepFor * 2) n *= 2;
    if (n === this.pos.length) {
      this.pos.fill(0);
    } else {
      this.hi = new Int32Array(n);
      this.lo = new Int32Array(n);
      this.pos = new Int32Array(n);
      this.mask = n - 1;
    }
    this.count = 0;
  }

  private grow(): void {
    const { hi, lo, pos } = this;
    const n = pos.length * 2;
    this.hi = new Int32Array(n);
    this.lo = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.mask = n - 1;
    for (let b = 0; b < pos.length; b++) {
      if (pos[b] === 0) continue;
      let j = (hi[b]! ^ lo[b]!) & this.mask;
      while (this.pos[j] !== 0) j = (j + 1) & this.mask;
      this.hi[j] = hi[b]!;
      this.lo[j] = lo[b]!;
      this.pos[j] = pos[b]!;
    }
  }
}
