/**
 * Time as the engine and the simulated broker see it. Injected, so tests run at any
 * instant and advance time by hand.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Wall-clock time, epoch milliseconds (may be fractional). */
  now(): number;
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
 * The process clock: epoch ms with sub-microsecond resolution, monotonic (timeOrigin +
 * performance.now(), so it never steps back with an NTP correction), and real timers
 * (unref'd unless `keepAlive`: a heartbeat never keeps a process alive, a pending reconnect
 * does). One reading serves both the order timestamps and the latency histograms.
 */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
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
  private t: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.t + Math.max(0, ms), fn };
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

  /** Move time forward by `ms`, running every timer that falls due, including ones they add. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let best: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.due <= end && (best === undefined || timer.due < best.due || (timer.due === best.due && timer.id < best.id))) best = timer;
      }
      if (best === undefined) break;
      this.timers.splice(this.timers.indexOf(best), 1);
      this.t = Math.max(this.t, best.due);
      best.fn();
    }
    this.t = end;
  }
}
