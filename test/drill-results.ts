/**
 * The seeded drills' counts, kept where .ci/run prints them (test-results-drills/<part>.json):
 * CI's log shows how many drills ran and the invariant totals, not only that the tests passed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { certify, SIM_TARGET, type CertifySummary } from '../src/certify/index.js';

const DIR = fileURLToPath(new URL('../test-results-drills/', import.meta.url));

export function recordDrills(part: string, s: CertifySummary): void {
  fs.mkdirSync(DIR, { recursive: true });
  const line = { part, adapter: s.adapter, run: s.drills.run, passed: s.drills.passed, failed: s.drills.failed, failedSeeds: s.drills.failedSeeds, firstSeed: s.drills.firstSeed, invariants: s.invariants };
  fs.writeFileSync(path.join(DIR, `${part}.json`), `${JSON.stringify(line)}\n`);
  process.stdout.write(`certify drills ${part}: ${s.drills.run} run on ${s.adapter} (seeds ${s.drills.firstSeed}-${s.drills.firstSeed + s.drills.run - 1}), ${s.drills.failed} failed; lost ${s.invariants.lost}, duplicated ${s.invariants.duplicated}, double-counted ${s.invariants.doubleCounted}\n`);
}

/** One half of the CI's 1,000 embedded-broker drills (test/98-drills-a, -b): 500 from `firstSeed`, every invariant held. */
export async function drillHalf(part: string, firstSeed: number): Promise<void> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `tc-drills-${part}-`));
  try {
    const s = await certify({ target: SIM_TARGET, out, only: [], drills: 500, seed: firstSeed });
    recordDrills(`sim-${part}`, s);
    const failed = s.drills.failedSeeds.map((seed) => {
      const r = JSON.parse(fs.readFileSync(path.join(out, 'drills', `${seed}.json`), 'utf8')) as { reason: string; replay: string };
      return `seed ${seed}: ${r.reason} (replay: ${r.replay})`;
    });
    expect(failed).toEqual([]);
    expect(s.drills.run).toBe(500);
    expect(s.invariants).toEqual({ lost: 0, duplicated: 0, doubleCounted: 0, cumQtyDiffers: 0, positionsDiffer: 0, cashDiffers: 0, reconDiffs: 0, unaccountedAlerts: 0 });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
