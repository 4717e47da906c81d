/**
 * The seeded drills' counts, kept where .ci/run prints them (test-results-drills/<part>.json):
 * CI's log shows how many drills ran and the invariant totals, not only that the tests passed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CertifySummary } from '../src/certify/index.js';

const DIR = fileURLToPath(new URL('../test-results-drills/', import.meta.url));

export function recordDrills(part: string, s: CertifySummary): void {
  fs.mkdirSync(DIR, { recursive: true });
  const line = { part, adapter: s.adapter, run: s.drills.run, passed: s.drills.passed, failed: s.drills.failed, failedSeeds: s.drills.failedSeeds, firstSeed: s.drills.firstSeed, invariants: s.invariants };
  fs.writeFileSync(path.join(DIR, `${part}.json`), `${JSON.stringify(line)}\n`);
  process.stdout.write(`certify drills ${part}: ${s.drills.run} run on ${s.adapter} (seeds ${s.drills.firstSeed}-${s.drills.firstSeed + s.drills.run - 1}), ${s.drills.failed} failed; lost ${s.invariants.lost}, duplicated ${s.invariants.duplicated}, double-counted ${s.invariants.doubleCounted}\n`);
}
