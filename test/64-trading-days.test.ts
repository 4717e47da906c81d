/**
 * Two full trading days on the manual clock, through the embedded simulated broker with its day
 * rollover (both roll at 17:00 America/New_York), with a journal and reconciliation on its
 * interval during each 6.5-hour session. The driver is bench/trading-days.ts (the benchmark runs
 * it at 2M and 500k orders); here it runs in a fresh process with --expose-gc, so the heap figures
 * are after a full collection.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TradingDaysResult } from '../bench/trading-days.js';

const driver = fileURLToPath(new URL('../dist/bench/trading-days.js', import.meta.url));
const ORDERS = 150_000;
/** Reconciliation every 5 simulated minutes: 78 intervals a session. */
const RECON_MS = 300_000;

function run(): Promise<TradingDaysResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', driver, '--orders', `${ORDERS},${ORDERS}`, '--recon-ms', String(RECON_MS)], { maxBuffer: 1 << 24, timeout: 170_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as TradingDaysResult);
      } catch {
        reject(new Error(`trading-days driver failed: ${err?.message ?? ''} ${stderr.slice(-2000)}`));
      }
    });
  });
}

describe('two full trading days, then the next', () => {
  it(`runs two days of ${ORDERS} orders each with no diff and no anomaly, bounded heap, reconciliation on schedule, and restarts from the journal at the end of each day equal to the live state`, async () => {
    const r = await run();
    expect(r.problems).toEqual([]);
    expect(r.anomalies).toBe(0);
    expect(r.diffs).toBe(0);
    expect(r.days).toHaveLength(2);
    for (const d of r.days) {
      expect(d.orders).toBe(ORDERS);
      expect(d.fills).toBeGreaterThan(ORDERS * 0.8);
      // heap of the whole process (engine, simulated broker and driver) after a full GC: a day's
      // finished orders are held until the roll, then let go
      expect(d.heap_after_session_mb).toBeLessThan(220);
      expect(d.heap_after_roll_mb).toBeLessThan(40);
      // every scheduled run of the session ran (the closing run is extra)
      expect(d.recon_runs).toBeGreaterThanOrEqual(Math.ceil(d.recon_intervals * 0.95));
      expect(d.recon_intervals).toBe((6.5 * 3_600_000) / RECON_MS);
      expect(d.restart_equal).toBe(true);
      expect(d.restart_replayed).toBeGreaterThan(0);
      // the roll let the whole day go; day 2 compared day 2 only (the driver checks every run)
      // orders carried over each roll: two GTC orders of the day, and (after the first day) the
      // GTC orders of the days before; the part-filled day orders expire at the broker's roll
      expect(d.carried_over).toBeGreaterThanOrEqual(2);
      expect(d.released_at_roll).toBeGreaterThanOrEqual(ORDERS);
      expect(d.recon_checked_max).toBeLessThanOrEqual(ORDERS + d.carried_over);
    }
    // the second day's heap is the first day's, not twice it
    expect(r.days[1]!.heap_after_session_mb).toBeLessThan(r.days[0]!.heap_after_session_mb * 1.25);
  }, 180_000);
});
