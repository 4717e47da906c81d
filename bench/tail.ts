// Tail latency of the order loop: each op (submit → ack → fill on the echo broker) timed on
// its own with integer-ns readings, 1M ops after a warm-up, into an HDR histogram. Prints one
// JSON row for the case named on the command line (a loop-echo case of bench/cases.ts).
// Usage: node dist/bench/tail.js CASE [ops]
import * as hdr from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { makeCases } from './cases.js';

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'engine';
  const n = Number(process.argv[3] ?? 1_000_000);
  const c = makeCases().find((x) => x.suite === 'loop-echo' && x.name === name);
  if (c === undefined) throw new Error(`no loop-echo case ${name}`);
  await c.init();
  c.prepare(n);
  for (let i = 0; i < 200_000; i++) c.op(); // warm-up
  hdr.initWebAssemblySync();
  const h = hdr.build({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });
  const ns = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    c.op();
    ns[i] = (performance.now() - t0) * 1e6;
  }
  for (let i = 0; i < n; i++) h.recordValue(Math.max(1, Math.round(ns[i]!)));
  const problem = c.check();
  if (problem !== undefined) throw new Error(`correctness check failed: ${problem}`);
  const at = (p: number) => Math.min(h.getValueAtPercentile(p), h.maxValue);
  process.stdout.write(`${JSON.stringify({
    suite: 'loop-tail', case: name, backend: c.backend, workload: `${c.workload}; each of ${n} ops timed alone (two readings around it, their cost included)`,
    ops_per_sec: 0, ns_per_op_p50: at(50), ns_per_op_p99: at(99), ns_per_op_p999: at(99.9), ns_per_op_max: h.maxValue, samples: n, rme_pct: 0,
  })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
