import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  readonly count: number;
  /** Microseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * One HDR histogram of durations recorded in nanoseconds (3 significant digits, auto-resizing,
 * so a pathological outlier is kept rather than clamped). Read out in microseconds.
 */
export class LatencyHistogram {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** Record a duration given as two performance.now() readings (ms). */
  recordSince(startMs: number, endMs: number): void {
    const ns = Math.round((endMs - startMs) * 1e6);
    this.h.recordValue(ns > 0 ? ns : 0);
  }

  get count(): number {
    return this.h.totalCount;
  }

  summary(): LatencySummary {
    const us = (ns: number) => Math.round(ns / 10) / 100;
    return {
      count: this.h.totalCount,
      p50: us(this.h.getValueAtPercentile(50)),
      p99: us(this.h.getValueAtPercentile(99)),
      max: us(this.h.maxValue),
    };
  }

  reset(): void {
    this.h.reset();
  }
}
