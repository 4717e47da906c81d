/**
 * 64-bit string hash as two independent 32-bit halves (FNV-1a and a murmur-style mix).
 * 32 bits alone gave about 100 false duplicates per million live ids; 64 bits make a
 * collision practically absent, and the index still confirms every hit against the string.
 * Returns the high half as an int32; the low half is left in `hashLo` to avoid allocating a pair.
 */
export let hashLo = 0;

export function hashId(s: string): number {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x9747b28c | 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  // final avalanche on both halves so nearby ids spread over the buckets
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  // int32, not uint32: a value >= 2^31 would be boxed on every call (measured 16 B per order)
  hashLo = h2 | 0;
  return h1 | 0;
}

export type IdHasher = (s: string) => number;
