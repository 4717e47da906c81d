// piscina worker: the end-of-day reconciliation report (see eod.ts).
import { renderEod } from './eod.js';
import type { EodInput } from './reconciler.js';

export default function run(input: EodInput) {
  return renderEod(input);
}
