// Runs one benchmark case in this (fresh) process and prints one JSON line: a result row.
import Benchmark from 'benchmark';
import { makeCases } from './cases.js';

export interface BenchRow {
  suite: string;
  case: string;
  backend: string;
  workload: string;
  ops_per_sec: number;
  ns_per_op_p50: number;
  ns_per_op_p99: number;
  samples: number;
  rme_pct: number;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function main(): Promise<void> {
  const [suite, name, mode] = process.argv.slice(2);
  const c = makeCases().find((x) => x.suite === suite && x.name === name);
  if (c === undefined) throw new Error(`no benchmark case ${suite}/${name}`);
  await c.init();
  // benchmark.js inlines setup and fn source into its timing loop, so they may reach the case
  // only through a global, not a closure.
  (globalThis as Record<string, unknown>).__tc = c;
  const quick = mode === 'quick';
  const bench = new Benchmark(`${suite}/${name}`, {
    setup: function (this: Benchmark) {
      (globalThis as unknown as { __tc: { prepare(n: number): void } }).__tc.prepare(this.count);
    },
    fn: function () {
      (globalThis as unknown as { __tc: { op(): void } }).__tc.op();
    },
    minTime: 0.02,
    maxTime: quick ? 0.3 : 2,
    minSamples: quick ? 5 : 30,
    initCount: 1000,
  });
  bench.run();
  const err = (bench as unknown as { error?: Error }).error;
  if (err) throw err;
  const problem = c.check();
  if (problem !== undefined) throw new Error(`correctness check failed: ${problem}`);
  const per = c.perOp ?? 1;
  const sample = bench.stats.sample.map((x) => x / per).sort((a, b) => a - b);
  const row: BenchRow = {
    suite, case: name, backend: c.backend, workload: c.workload,
    ops_per_sec: Math.round(bench.hz * per),
    ns_per_op_p50: Math.round(percentile(sample, 50) * 1e9 * 10) / 10,
    ns_per_op_p99: Math.round(percentile(sample, 99) * 1e9 * 10) / 10,
    samples: sample.length,
    rme_pct: Math.round(bench.stats.rme * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
