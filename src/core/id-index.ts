import { hashId, hashLo } from './id-hash.js';

/** Test hook: a deliberately weak hash, to craft ids that collide on all 64 bits. */
export type WeakHash = (s: string) => number;

/**
 * Map from an id string to an order slot: open addressing with linear probing over typed
 * arrays (a `Map` of strings measured 2.7x slower on these machines). Each bucket stores the
 * 64-bit hash and the slot; a hash hit is confirmed against the id string the caller keeps per
 * slot (`keyOf`), so even a full 64-bit collision can never alias two orders.
 * Deletion shifts later entries back (no tombstones), so probes stay short under churn.
 */
export class IdIndex {
  readonly mask: number;
  /** Bucket arrays, shared with the native gate (read only there). */
  readonly hi: Int32Array;
  readonly lo: Int32Array;
  /** slot + 1; 0 marks an empty bucket. */
  readonly slots: Int32Array;
  /** Hash of each slot's key, so a slot can be removed without rehashing its id. */
  private readonly slotHi: Int32Array;
  private readonly slotLo: Int32Array;
  private count = 0;
  private h = 0;
  private l = 0;
  /** The key hashed last: `set` right after a missed `get` of the same id reuses its hash. */
  private lastKey: string | undefined;

  /**
   * @param capacity most entries ever held at once (the order table capacity)
   * @param keyOf the id string stored for a slot
   * @param weakHash test hook only: replaces both hash halves with this 32-bit value
   */
  constructor(
    capacity: number,
    private readonly keyOf: (slot: number) => string,
    private readonly weakHash?: WeakHash,
  ) {
    let buckets = 16; // load factor at most 1/2
    while (buckets < capacity * 2) buckets *= 2;
    this.mask = buckets - 1;
    this.hi = new Int32Array(buckets);
    this.lo = new Int32Array(buckets);
    this.slots = new Int32Array(buckets);
    this.slotHi = new Int32Array(capacity);
    this.slotLo = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  private hash(id: string): void {
    if (id === this.lastKey) return;
    this.lastKey = id;
    if (this.weakHash === undefined) {
      this.h = hashId(id);
      this.l = hashLo;
    } else {
      this.h = this.weakHash(id) | 0;
      this.l = this.h;
    }
  }

  /** Writes the hash of `id` into out[i] of the two arrays, without allocating. */
  hashInto(id: string, outHi: Int32Array, outLo: Int32Array, i: number): void {
    this.hash(id);
    outHi[i] = this.h;
    outLo[i] = this.l;
  }

  /** Slot of the first entry whose 64-bit hash is (h, l), or -1: a candidate the caller confirms by string. */
  probe(h: number, l: number): number {
    const { mask, hi, lo, slots } = this;
    for (let b = (h ^ l) & mask; ; b = (b + 1) & mask) {
      const s = slots[b]!;
      if (s === 0) return -1;
      if (hi[b] === h && lo[b] === l) return s - 1;
    }
  }

  /** Bucket holding `id`, or -1. Leaves the hash of `id` in this.h / this.l. */
  private find(id: string): number {
    this.hash(id);
    const { mask, hi, lo, slots, h, l } = this;
    for (let b = (h ^ l) & mask; ; b = (b + 1) & mask) {
      const s = slots[b]!;
      if (s === 0) return -1;
      if (hi[b] === h && lo[b] === l && this.keyOf(s - 1) === id) return b;
    }
  }

  /** Slot for `id`, or -1. */
  get(id: string): number {
    const b = this.find(id);
    return b < 0 ? -1 : this.slots[b]! - 1;
  }

  /** Insert `id → slot`. The caller guarantees `id` is absent (get returned -1). */
  set(id: string, slot: number): void {
    this.hash(id);
    const { mask, hi, lo, slots, h, l } = this;
    let b = (h ^ l) & mask;
    while (slots[b] !== 0) b = (b + 1) & mask;
    hi[b] = h;
    lo[b] = l;
    slots[b] = slot + 1;
    this.slotHi[slot] = h;
    this.slotLo[slot] = l;
    this.count++;
  }

  /** Remove `id` if present; returns whether it was. */
  delete(id: string): boolean {
    const b = this.find(id);
    if (b < 0) return false;
    this.removeBucket(b);
    return true;
  }

  /**
   * Remove the entry that maps to `slot` (set earlier), found by the hash stored for the slot:
   * no rehash and no string compare. Returns whether it was present.
   */
  deleteSlot(slot: number): boolean {
    const { mask, hi, lo, slots } = this;
    const h = this.slotHi[slot]!;
    const l = this.slotLo[slot]!;
    for (let b = (h ^ l) & mask; ; b = (b + 1) & mask) {
      const s = slots[b]!;
      if (s === 0) return false;
      if (s === slot + 1 && hi[b] === h && lo[b] === l) {
        this.removeBucket(b);
        return true;
      }
    }
  }

  private removeBucket(b: number): void {
    const { mask, hi, lo, slots } = this;
    // backward-shift deletion: pull later entries of the cluster into the hole when allowed
    let hole = b;
    for (let j = (b + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = (hi[j]! ^ lo[j]!) & mask;
      // the entry at j must stay if its home lies cyclically in (hole, j]
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        hi[hole] = hi[j]!;
        lo[hole] = lo[j]!;
        slots[hole] = slots[j]!;
        hole = j;
      }
    }
    slots[hole] = 0;
    this.count--;
  }
}
