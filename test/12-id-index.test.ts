import { describe, expect, it } from 'vitest';
import { hashId, hashLo } from '../src/core/id-hash.js';
import { IdIndex } from '../src/core/id-index.js';
import { Prng } from '../src/brokers/sim/prng.js';

function indexWith(capacity: number, weakHash?: (s: string) => number) {
  const keys: string[] = [];
  const index = new IdIndex(capacity, (slot) => keys[slot]!, weakHash);
  const put = (id: string, slot: number) => {
    keys[slot] = id;
    index.set(id, slot);
  };
  return { index, keys, put };
}

describe('id index (typed open addressing)', () => {
  it('finds, misses and deletes', () => {
    const { index, put } = indexWith(8);
    put('a', 0);
    put('b', 1);
    expect(index.get('a')).toBe(0);
    expect(index.get('b')).toBe(1);
    expect(index.get('c')).toBe(-1);
    expect(index.delete('a')).toBe(true);
    expect(index.delete('a')).toBe(false);
    expect(index.deleteSlot(0)).toBe(false);
    expect(index.get('a')).toBe(-1);
    expect(index.size).toBe(1);
  });

  it('confirms a hash hit against the stored id: ids colliding on all 64 bits stay apart', () => {
    const { index, put } = indexWith(64, () => 0xdeadbeef);
    const ids = Array.from({ length: 40 }, (_, i) => `order-${i}`);
    ids.forEach((id, i) => put(id, i));
    ids.forEach((id, i) => expect(index.get(id)).toBe(i));
    expect(index.get('order-40')).toBe(-1);
    // delete from the middle of the collision chain; the rest stay reachable
    for (let i = 0; i < 40; i += 3) expect(index.delete(ids[i]!)).toBe(true);
    ids.forEach((id, i) => expect(index.get(id)).toBe(i % 3 === 0 ? -1 : i));
  });

  it('agrees with a Map under seeded random churn (backward-shift deletion, by id and by slot)', () => {
    const rng = new Prng(7);
    const capacity = 256;
    const { index, keys, put } = indexWith(capacity, (s) => s.length * 31); // heavy clustering
    const model = new Map<string, number>();
    const freeSlots = Array.from({ length: capacity }, (_, i) => i);
    for (let step = 0; step < 20_000; step++) {
      const id = `id${rng.int(0, 400)}`;
      if (model.has(id)) {
        const slot = model.get(id)!;
        // both removal paths: by id (rehash + string compare) and by slot (stored hash)
        expect(step % 2 === 0 ? index.delete(id) : index.deleteSlot(slot)).toBe(true);
        model.delete(id);
        keys[slot] = '';
        freeSlots.push(slot);
      } else if (freeSlots.length > 0) {
        const slot = freeSlots.pop()!;
        put(id, slot);
        model.set(id, slot);
      }
      if (step % 97 === 0) for (const [k, v] of model) expect(index.get(k)).toBe(v);
    }
    expect(index.size).toBe(model.size);
  });

  it('hashes to 64 bits with no collision across 200k sequential ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const hi = hashId(`cl-${i}`);
      seen.add(`${hi}:${hashLo}`);
    }
    expect(seen.size).toBe(200_000);
  });
});
