// The clock candidates for the hot path: one reading per event, integer nanoseconds from a
// monotonic source. Each case is one reading; `check` also measures its resolution (the
// smallest step between two readings seen in 100k back-to-back pairs) and fails if the
// reading went backwards. Date.now is the floor: cheapest, but a whole millisecond.
import { performance } from 'node:perf_hooks';
import type { BenchCase } from './cases.js';
import { nativeNs } from '../src/core/clock.js';
import { loadNative } from '../src/native/loader.js';

const NATIVE = loadNative().addon;

/** Smallest positive step between back-to-back readings, and whether one went back. */
function resolution(read: () => number): { stepNs: number; backwards: boolean } {
  let step = Infinity;
  let back = false;
  let prev = read();
  for (let i = 0; i < 100_000; i++) {
    const x = read();
    if (x < prev) back = true;
    else if (x > prev && x - prev < step) step = x - prev;
    prev = x;
  }
  return { stepNs: step, backwards: back };
}

export const CLOCK_READERS: Record<string, { read: () => number; unitNs: number; workload: string }> = {
  'performance-now-ns': { read: () => Math.round(performance.now() * 1e6), unitNs: 1, workload: 'Math.round(performance.now() * 1e6): integer ns since the time origin (what the engine uses without the addon; 16 B boxed per reading)' },
  // the engine's reading on the system clock when the addon is built (src/core/clock.ts nativeNs)
  ...(NATIVE !== undefined ? { 'native-ns': { read: nativeNs(NATIVE), unitNs: 1, workload: 'CLOCK_MONOTONIC written into a Float64Array by the addon (what the engine uses when it is built): no box per reading' } } : {}),
  'hrtime-bigint': { read: () => Number(process.hrtime.bigint()), unitNs: 1, workload: 'Number(process.hrtime.bigint()): integer ns, a bigint per reading' },
  'hrtime-array': { read: () => { const t = process.hrtime(); return t[0] * 1e9 + t[1]; }, unitNs: 1, workload: 'process.hrtime(): [s, ns], an array per reading' },
  'epoch-ms-double': { read: () => performance.timeOrigin + performance.now(), unitNs: 1e6, workload: 'timeOrigin + performance.now(): epoch ms in a double (the old engine clock; resolves ~244 ns)' },
  'date-now': { read: () => Date.now(), unitNs: 1e6, workload: 'Date.now(): epoch ms, a whole millisecond (the floor: cheapest, useless for latency)' },
};

export function makeClockCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const [name, c] of Object.entries(CLOCK_READERS)) {
    let sink = 0;
    cases.push({
      suite: 'clock', name, backend: 'js', workload: c.workload,
      init: async () => {},
      prepare: () => {},
      op: () => {
        sink += c.read();
      },
      check: () => {
        const r = resolution(c.read);
        process.stderr.write(`clock/${name}: resolution ${(r.stepNs * c.unitNs).toFixed(1)} ns\n`);
        if (r.backwards) return `${name} went backwards`;
        return Number.isFinite(sink) ? undefined : 'no reading';
      },
    });
  }
  return cases;
}
