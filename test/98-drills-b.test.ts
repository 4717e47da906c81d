/**
 * Seeded randomized fault drills on the embedded simulated broker, seeds 501 to 1000 (the other
 * half is test/98-drills-a.test.ts: 1,000 per CI run). Each drill draws report faults and 6 to
 * 24 steps of orders, cancels, cuts, sends that throw or go silent, engine restarts and kills,
 * broker restarts and market moves, then checks every invariant (docs/certify.md). A failing
 * drill's seed and its replay command are in the failure.
 */
import { it } from 'vitest';
import { drillHalf } from './drill-results.js';

it('500 seeded drills: none lost, duplicated or double-counted, every invariant holds', () => drillHalf('b', 501), 600_000);
