// Reconciliation cost, one size per fresh process; prints one JSON line per case.
//   node dist/bench/recon.js N [runs]
// An engine holds N open orders (a quarter of them partly filled) at the embedded simulated broker;
// both sides agree. Measured over `runs` runs each:
//   engine: engine.reconcile() (fetch, compare in slices, positions and cash);
//   naive:  compareWithBroker (issue 5's one-pass comparison), the baseline.
// For each: the wall time of a run and the longest the event loop was held during it (a
// setImmediate probe: the gap between its turns), which is what the hot path waits behind.
// Correctness check: the engine's runs find nothing (no diff raised, fixed or pending), then a
// fill dropped on the way is found and fixed exactly once.
import { pino } from 'pino';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { createEngine } from '../src/engine.js';
import { compareWithBroker } from '../src/recon/compare.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';

const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.01, pricePrecision: 2 },
];

/** The longest gap between turns of a setImmediate chain while `fn` runs, ms. */
async function probe<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; maxBlockMs: number }> {
  let on = true;
  let last = performance.now();
  let max = 0;
  const tick = () => {
    const t = performance.now();
    max = Math.max(max, t - last);
    last = t;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  on = false;
  max = Math.max(max, performance.now() - last);
  return { result, ms, maxBlockMs: max };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 7);
  const broker = new SimBroker({ instruments: INSTRUMENTS, seed: 3, marketStepMs: 0, delivery: 'manual', startPrices: { AAA: 100, BBB: 100 } });
  const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: pino({ level: 'silent' }), capacity: 1 << 16, recon: { graceMs: 0 }, risk: { default: { maxPosition: 1e12 } } });
  await engine.start();
  // N resting orders, some crossing the book's first level a little (partly filled)
  for (let i = 0; i < n; i++) {
    const symbol = i % 2 === 0 ? 'AAA' : 'BBB';
    const { bid } = broker.quote(symbol);
    const price = i % 4 === 0 ? Math.round((broker.quote(symbol).ask) * 100) / 100 : Math.round((bid - 1 - (i % 50) * 0.01) * 100) / 100;
    const r = engine.submit({ clientOrderId: `o${i}`, symbol, side: 'buy', qty: i % 4 === 0 ? 100_000 : 10, price });
    if (r.status !== 'accepted') throw new Error(`order ${i}: ${JSON.stringify(r)}`);
    if ((i & 1023) === 1023) broker.flush();
  }
  broker.flush();
  if (engine.openOrderCount() !== n) throw new Error(`expected ${n} open orders, engine has ${engine.openOrderCount()}`);

  const rows = [];
  for (const which of ['engine', 'naive'] as const) {
    const ms: number[] = [];
    const block: number[] = [];
    /** The engine's own longest slice (its report: the comparison, not the broker's fetch). */
    const slices: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      let p: { ms: number; maxBlockMs: number };
      if (which === 'engine') {
        const r = await probe(() => engine.reconcile());
        const run = r.result;
        if (run.raised.length + run.fixed.length + run.pending > 0 || run.checked.orders !== n) throw new Error(`consistent state, yet the run found something: ${JSON.stringify({ ...run, raised: run.raised.length })}`);
        p = r;
        if (i > 0) slices.push(run.maxSliceMs);
      } else {
        const r = await probe(() => compareWithBroker(engine, broker));
        if (!r.result.consistent) throw new Error(`naive comparison found a difference in a consistent state: ${r.result.problems.slice(0, 3).join('; ')}`);
        p = r;
      }
      if (i === 0) continue; // warm-up
      ms.push(p.ms);
      block.push(p.maxBlockMs);
    }
    rows.push({
      suite: `recon-${n >= 1000 ? `${n / 1000}k` : n}`, case: which, backend: 'ts',
      workload: `${which === 'engine' ? 'engine.reconcile()' : 'compareWithBroker (one pass)'} with ${n} open orders, ${runs} runs`,
      ops_per_sec: Math.round(1000 / median(ms)), ns_per_op_p50: Math.round((median(ms) * 1e6) / n), ns_per_op_p99: Math.round((Math.max(...ms) * 1e6) / n), samples: runs, rme_pct: 0,
      run_ms_p50: r2(median(ms)), run_ms_max: r2(Math.max(...ms)), max_block_ms_p50: r2(median(block)), max_block_ms_max: r2(Math.max(...block)),
      ...(slices.length > 0 ? { recon_slice_ms_p50: r2(median(slices)), recon_slice_ms_max: r2(Math.max(...slices)) } : {}),
    });
  }
  // correctness: a fill lost on the way is found and applied once
  const stop = broker.dropReports((r) => r.kind === 'trade');
  engine.submit({ clientOrderId: 'lost', symbol: 'AAA', side: 'buy', qty: 10, price: Math.round((broker.quote('AAA').ask + 0.5) * 100) / 100 });
  broker.flush();
  stop();
  const fix = await engine.reconcile();
  if (fix.fixed.length !== 1 || fix.fixed[0]!.kind !== 'FILLED_QTY_MISMATCH' || engine.getOrder('lost')!.cumQty !== 10) throw new Error(`the lost fill was not fixed once: ${JSON.stringify(fix.fixed)}`);
  const after = await engine.reconcile();
  if (after.fixed.length + after.raised.length !== 0) throw new Error('the fix was applied twice');
  await engine.stop();
  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
