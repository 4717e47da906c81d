/**
 * Time as the engine and the simulated broker see it. Injected, so tests run at any
 * instant and advance time by hand.
 */
import { performance } from 'node:perf_hooks';
import type { NativeAddon } from '../native/loader.js';

export interface Clock {
  /** Wall-clock time, epoch milliseconds (may be fractional). */
  now(): number;
  /**
   * Monotonic time in integer nanoseconds since `originMs`, so that `now()` equals
   * `originMs + nowNs() / 1e6`. The engine reads this, once per event, when the clock has it
   * (both built-in clocks do): latencies then resolve below a microsecond, where epoch ms in a
   * double resolves only 244 ns. A clock without it, or whose `nowNs` disagrees with `now()`
   * by a millisecond or more when the engine is made (`{ ...systemClock, now: shifted }`), is
   * read through `now()`.
   */
  nowNs?(): number;
  /** Epoch ms at `nowNs() === 0`; given together with `nowNs`. */
  readonly originMs?: number;
  /**
   * Run `fn` after `ms` milliseconds (0: as soon as possible, never synchronously).
   * `keepAlive`: the timer keeps the process alive (a reconnect pending); others do not.
   */
  setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>;

const origin = performance.timeOrigin;

/**
 * The process clock: monotonic (timeOrigin + performance.now(), so it never steps back with an
 * NTP correction), as epoch ms and as integer ns since the time origin, and real timers
 * (unref'd unless `keepAlive`: a heartbeat never keeps a process alive, a pending reconnect
 * does). One reading serves both the order timestamps and the latency histograms.
 * performance.now was the cheapest integer-ns source measured on Node 20 (bench suite
 * `clock`: ~56 ns, resolving 40 ns, beside process.hrtime.bigint ~70 ns), but every reading
 * boxes its double (16 B). An engine on this clock with the native addon loaded reads the same
 * monotonic clock through `nativeNs` instead: about as fast, and no allocation.
 */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  nowNs: () => Math.round(performance.now() * 1e6),
  originMs: origin,
  setTimer(fn, ms, keepAlive) {
    const t = setTimeout(fn, ms);
    if (keepAlive !== true) t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. Timers run in due order (ties in creation order)
 * inside `advance`, each seeing `now()` equal to its due time.
 *
 * @example
 * const clock = new ManualClock(Date.UTC(2026, 0, 5, 14, 30));
 * clock.setTimer(() => console.log('later'), 10);
 * clock.advance(10); // prints "later"
 */
export class ManualClock implements Clock {
  /** Nanoseconds since `originMs`, an integer: fractional-ms steps stay exact (for the first 104 days; 2^53 ns). */
  private ns = 0;
  private nextId = 1;
  private timers: ManualTimer[] = [];
  readonly originMs: number;

  constructor(start = 0) {
    this.originMs = start;
  }

  now(): number {
    return this.originMs + this.ns / 1e6;
  }

  nowNs(): number {
    return this.ns;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.ns + Math.round(Math.max(0, ms) * 1e6), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    const id = (handle as { id: number }).id;
    const i = this.timers.findIndex((t) => t.id === id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Number of timers not yet run. */
  get pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms` (to the nanosecond), running every timer that falls due, including ones they add. */
  advance(ms: number): void {
    const end = this.ns + Math.round(ms * 1e6);
    for (;;) {
      let best: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.due <= end && (best === undefined || timer.due < best.due || (timer.due === best.due && timer.id < best.id))) best = timer;
      }
      if (best === undefined) break;
      this.timers.splice(this.timers.indexOf(best), 1);
      this.ns = Math.max(this.ns, best.due);
      best.fn();
    }
    this.ns = end;
  }
}

/**
 * `systemClock.nowNs` read through the native addon (native/clock.cc): CLOCK_MONOTONIC written
 * into a Float64Array, so a reading allocates nothing (performance.now() boxes each one, 16 B:
 * 311 scavenges per 20M readings against none, at ~55 ns each either way). It is the clock
 * performance.now reads, offset once to agree with it (to within the ~50 ns of one reading).
 */
export function nativeNs(addon: Pick<NativeAddon, 'clockBind'>): () => number {
  const out = new Float64Array(1);
  const read = addon.clockBind(out);
  const before = performance.now();
  read();
  const after = performance.now();
  const offset = out[0]! - Math.round((before + after) * 5e5);
  return () => {
    read();
    return out[0]! - offset;
  };
}

/**
 * A clock `factor` times faster than the wall clock, starting at `startMs` (`tradecore run
 * --clock accelerated=60`: a simulated hour a minute). Timers are scaled alike: a 60 s timer runs
 * after a second of wall time at 60x (the wall clock cannot resolve below 1 ms, so timers shorter
 * than `factor` ms run a little late). Monotonic, like the system clock.
 */
export function acceleratedClock(factor: number, startMs: number): Clock {
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`clock acceleration must be a finite factor >= 1, got ${factor}`);
  if (!Number.isFinite(startMs)) throw new RangeError(`clock start must be a finite epoch ms, got ${startMs}`);
  const p0 = performance.now();
  return {
    now: () => startMs + (performance.now() - p0) * factor,
    setTimer(fn, ms, keepAlive) {
      const t = setTimeout(fn, Math.max(0, ms) / factor);
      if (keepAlive !== true) t.unref();
      return t;
    },
    clearTimer(handle) {
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
}

/** `system`, or `accelerated=N[,start=ISO]` (start default: now), as `tradecore run --clock` takes it. */
export function parseClockSpec(spec: string, now = Date.now()): Clock {
  if (spec === 'system') return systemClock;
  const m = /^accelerated=([0-9]+(?:\.[0-9]+)?)(?:,start=(.+))?$/.exec(spec);
  if (m === null) throw new RangeError(`--clock must be system or accelerated=N[,start=ISO-8601], got "${spec}"`);
  const factor = Number(m[1]);
  if (!(factor >= 1 && factor <= 100_000)) throw new RangeError(`--clock accelerated=N: N must be from 1 to 100000, got ${m[1]}`);
  let start = now;
  if (m[2] !== undefined) {
    start = Date.parse(m[2]);
    if (!Number.isFinite(start)) throw new RangeError(`--clock ...,start=${m[2]}: not an ISO 8601 time (e.g. 2026-12-01T19:55:00Z)`);
  }
  return acceleratedClock(factor, start);
}
