// Allocation per order in steady state: 1M orders through submit (or submitMany) and a
// preallocated reject report that frees the slot (retention 0: every order goes on to the day's
// store), or (`echo`) each order acked and filled by the echo broker through one reused report
// structure; only the engine's own allocations count. Prints one JSON row: GC counts and heap growth over the run, then bytes allocated
// per order and where, from V8's sampling heap profiler (garbage included).
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createEngine } from '../src/engine.js';
import { nativeNs, systemClock, type Clock } from '../src/core/clock.js';
import { loadNative } from '../src/native/loader.js';
import type { OrderRequest } from '../src/domain/order.js';
import type { BrokerReport } from '../src/domain/report.js';
import { EchoBroker } from './echo-broker.js';

async function main(): Promise<void> {
  const mode = process.argv[2] as 'submit' | 'echo' | 'submitMany-native' | 'submitMany-ts';
  const M = 1 << 16;
  // whole days only: a short day would shrink the day's store and the next one grow it again
  const N = Math.ceil(Number(process.argv[3] ?? 1_000_000) / M) * M;
  // a broker that keeps nothing: the echo broker's pending list would be the only growth
  const broker = new EchoBroker();
  if (mode !== 'echo') broker.placeOrder = () => {};
  // a client order id is unique within its trading day: the ids come round every M orders, so
  // every M orders the clock moves a day on and the engine rolls its day (the day's store of
  // the M orders let go is emptied: its allocation is part of what is measured)
  const shift = { ms: 0 };
  const anomalies: string[] = [];
  const origin = performance.timeOrigin;
  // the engine's own clock reading, shifted: the native one (no boxed double) when the addon is built
  const addon = loadNative().addon;
  const ns = addon !== undefined ? nativeNs(addon) : () => Math.round(performance.now() * 1e6);
  const clock: Clock = { ...systemClock, now: () => origin + performance.now() + shift.ms, nowNs: () => ns() + shift.ms * 1e6, originMs: origin };
  const engine = createEngine({
    instruments: [{ symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 }],
    broker, capacity: mode === 'echo' ? 1 << 17 : 1 << 12, retentionMs: mode === 'echo' ? 3_600_000 : 0, logger: pino({ level: 'silent' }), clock, connection: { heartbeatMs: 0 }, onAnomaly: (a) => void anomalies.push(`${a.kind} ${a.reason}`),
    backend: mode === 'submitMany-native' ? 'native' : 'ts',
  });
  await engine.start();
  const orders: OrderRequest[] = Array.from({ length: M }, (_, i) => ({ clientOrderId: `c${i}`, symbol: 'AAA', side: i & 1 ? 'buy' : 'sell', qty: 1, price: 42.5 }));
  const rejects: BrokerReport[] = orders.map((o) => ({ kind: 'rejected', execId: 'R', brokerOrderId: `B${o.clientOrderId}`, clientOrderId: o.clientOrderId }));
  const B = 256;
  const batches = Array.from({ length: M / B }, (_, k) => orders.slice(k * B, (k + 1) * B));
  let steps = 0;
  const step = (k: number) => {
    // the warm-up and the measured runs each start again from k = 0: a new day each time k comes round
    if ((k & (M - 1)) === 0 && steps++ > 0) {
      shift.ms += 86_400_000;
      engine.tradingDayNow();
    }
    if (mode === 'submit') {
      const i = k & (M - 1);
      engine.submit(orders[i]!);
      engine.onReport(rejects[i]!);
    } else if (mode === 'echo') {
      engine.submit(orders[k & (M - 1)]!);
      broker.flush();
    } else {
      const j = (k / B) & (M / B - 1);
      engine.submitMany(batches[j]!);
      for (let i = j * B; i < (j + 1) * B; i++) engine.onReport(rejects[i]!);
    }
  };
  const stride = mode === 'submit' || mode === 'echo' ? 1 : B;
  for (let k = 0; k < 3 * M; k += stride) step(k); // warm up
  (globalThis as { gc?: () => void }).gc?.();
  const gcs = { minor: 0, major: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
      else gcs.major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < N; k += stride) step(k);
  const took = Number(process.hrtime.bigint() - t0);
  await new Promise((r) => setTimeout(r, 50)); // let the observer deliver
  obs.disconnect();
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  // where the bytes go: sample every allocation site over 200k more orders
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  const SAMPLED = 3 * M;
  for (let k = 0; k < SAMPLED; k += stride) step(k);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const sites = new Map<string, number>();
  const walk = (node: typeof profile.head): void => {
    if (node.selfSize > 0) {
      const site = `${node.callFrame.functionName || '(anonymous)'}@${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    }
    node.children.forEach(walk);
  };
  walk(profile.head);
  const perOrder = (b: number) => Math.round((b / SAMPLED) * 10) / 10;
  const total = [...sites.values()].reduce((a, b) => a + b, 0);
  const top = Object.fromEntries([...sites].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => [k, perOrder(v)]));
  const s = engine.stats();
  if (s.accepted < N || s.anomalies > 0) throw new Error(`correctness check failed: accepted ${s.accepted} of ${N}, anomalies ${s.anomalies}: ${anomalies.slice(0, 3).join("; ")}`);
  process.stdout.write(`${JSON.stringify({
    suite: 'alloc', case: `engine-${mode}`, backend: mode === 'submitMany-native' ? 'native' : 'ts',
    workload: mode === 'echo'
      ? `${N} orders: submit, ack and fill through one reused report structure, steady state (the day rolls every ${M} orders; clock ${addon !== undefined ? 'native' : 'performance.now'})`
      : `${N} orders: submit + reject report, steady state (slots recycled; the day rolls every ${M} orders, its store emptied; clock ${addon !== undefined ? 'native' : 'performance.now'})`,
    ops_per_sec: Math.round(N / (took / 1e9)), ns_per_op_p50: Math.round((took / N) * 10) / 10, ns_per_op_p99: null, samples: 1,
    orders: N, minor_gcs: gcs.minor, major_gcs: gcs.major, heap_growth_bytes: heapAfter - heapBefore,
    bytes_per_order_sampled: perOrder(total), allocation_sites: top,
  })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
