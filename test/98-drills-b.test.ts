/**
 * Seeded randomized fault drills on the embedded simulated broker, seeds 501 to 1000 (the other
 * half is test/98-drills-a.test.ts: 1,000 per CI run). Each drill draws report faults and 6 to
 * 24 steps of orders, cancels, cuts, sends that throw or go silent, engine restarts and kills,
 * broker restarts and market moves, then checks every invariant (docs/certify.md). A failing
 * drill's seed and its replay command are in the failure.
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { certify, SIM_TARGET } from '../src/certify/index.js';
import { recordDrills } from './drill-results.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-drills-b-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

it('500 seeded drills: none lost, duplicated or double-counted, every invariant holds', async () => {
  const s = await certify({ target: SIM_TARGET, out, only: [], drills: 500, seed: 501 });
  recordDrills('sim-b', s);
  const failed = s.drills.failedSeeds.map((seed) => {
    const r = JSON.parse(fs.readFileSync(path.join(out, 'drills', `${seed}.json`), 'utf8')) as { reason: string; replay: string };
    return `seed ${seed}: ${r.reason} (replay: ${r.replay})`;
  });
  expect(failed).toEqual([]);
  expect(s.drills.run).toBe(500);
  expect(s.invariants).toEqual({ lost: 0, duplicated: 0, doubleCounted: 0, cumQtyDiffers: 0, positionsDiffer: 0, cashDiffers: 0, reconDiffs: 0, unaccountedAlerts: 0 });
}, 600_000);
