// Journal benchmarks, one mode per fresh process; prints one JSON line.
//   append <group-mapped|group-file|fsync-file> N   N appends of a typical report record, each
//       timed on its own (hrtime, ~25 ns of it is the timer): throughput, p50/p99/p99.9/max per
//       append, then the whole journal read back (correctness check: every record, in order)
//   loop <none|group-mapped|group-file> N   the engine's submit → ack → fill loop with and without a journal
//   recovery N   an engine journals N events; a new engine restores them at start (no snapshot),
//       then again from a snapshot; checks that the restored state equals the original
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { createEngine, type Engine } from '../src/engine.js';
import { Journal, type JournalOptions } from '../src/journal/journal.js';
import { reportRecord, type JournalRecord } from '../src/journal/format.js';
import { loadNative } from '../src/native/loader.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import { EchoBroker, echoOrderLoop } from './echo-broker.js';

const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
];
const silent = pino({ level: 'silent' });

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const report = (i: number): JournalRecord =>
  reportRecord(1_795_617_000_000 + i, { kind: 'trade', execId: `F${i}`, brokerOrderId: `B${i}`, clientOrderId: `c${i}`, lastQty: 100, lastPx: 42.5, cumQty: 100, seq: 2 });

async function append(mode: string, n: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-journal-'));
  const native = loadNative().addon;
  const opts: JournalOptions = {
    dir,
    durability: mode.startsWith('fsync') ? 'fsync' : 'group',
    storage: mode.endsWith('mapped') ? 'mapped' : 'file',
    snapshotEveryRecords: 0,
    snapshotEveryMs: 0,
    // several rotations inside the run
    segmentBytes: 16 * 1024 * 1024,
  };
  const recs = Array.from({ length: Math.min(n, 65536) }, (_, i) => report(i));
  const j = Journal.open(opts, silent, native, { snapshot() {}, record() {} });
  // warm-up, untimed
  for (let i = 0; i < Math.min(1000, n); i++) j.append(recs[i & 0xffff]!);
  const lat = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    j.append(recs[i & 0xffff]!);
    // an order leaving the process right after (the file writer writes its buffer out here)
    if ((i & 3) === 0) j.barrier();
    lat[i] = Number(process.hrtime.bigint() - a);
    // let the group commit timer run now and then, as it would between events
    if ((i & 0x3fff) === 0) await new Promise((r) => setImmediate(r));
  }
  const total = Number(process.hrtime.bigint() - t0);
  const bytes = j.stats.bytes;
  await j.close();
  // read back: every record there, in order
  let seen = 0;
  let bad = '';
  const j2 = Journal.open({ ...opts }, silent, native, {
    snapshot() {},
    record(rec, seq) {
      if (seq >= 1000 && bad === '' && (rec as { e: string }).e !== `F${(seq - 1000) & 0xffff}`) bad = `record ${seq} is not the one appended`;
      seen++;
    },
  });
  await j2.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const want = n + Math.min(1000, n);
  if (seen !== want) throw new Error(`correctness check failed: read back ${seen} records, appended ${want}`);
  if (bad !== '') throw new Error(`correctness check failed: ${bad}`);
  lat.sort();
  return {
    suite: 'journal-append', case: mode, backend: opts.storage === 'mapped' ? 'native-mmap' : 'ts-file', workload: `journal.append of a ~${Math.round(bytes / (n + Math.min(1000, n)))} B report record (${opts.durability}), each timed; barrier every 4th`,
    appends: n, appends_per_sec: Math.round((n * 1e9) / total),
    ns_per_op_p50: Math.round(pct(lat, 50)), ns_per_op_p99: Math.round(pct(lat, 99)), ns_per_op_p999: Math.round(pct(lat, 99.9)), ns_max: Math.round(lat[n - 1]!),
    ops_per_sec: Math.round((n * 1e9) / total), samples: n,
  };
}

/** submit → ack → fill on the echo broker, with or without a journal: the cost per order. */
async function loop(mode: string, n: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-loop-'));
  const broker = new EchoBroker();
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, capacity: 1 << 14, retentionMs: 0, logger: silent,
    risk: { default: { maxOrderQty: 1e9, maxPosition: 1e15 } }, connection: { heartbeatMs: 0 },
    ...(mode === 'none' ? {} : { journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0, storage: mode === 'group-file' ? ('file' as const) : ('mapped' as const) } }),
  });
  await engine.start();
  const before = engine.journalStatus()?.stats.appends ?? 0;
  const run = echoOrderLoop(engine, broker, n);
  const warm = Math.min(20_000, n >> 2);
  run(0, warm, undefined);
  const lat = new Float64Array(n - warm);
  const t0 = process.hrtime.bigint();
  for (let at = warm; at < n; at += 0x3fff) {
    run(at, Math.min(n, at + 0x3fff), lat.subarray(at - warm));
    await new Promise((r) => setImmediate(r));
  }
  const total = Number(process.hrtime.bigint() - t0);
  const s = engine.stats();
  const journaled = (engine.journalStatus()?.stats.appends ?? 0) - before;
  await engine.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  if (s.fills !== n || s.denied > 0) throw new Error(`correctness check failed: fills ${s.fills} of ${n}, denied ${s.denied}`);
  // each order: intent, ack, fill
  if (mode !== 'none' && journaled !== 3 * n) throw new Error(`correctness check failed: journaled ${journaled} records, expected ${3 * n}`);
  lat.sort();
  const m = n - warm;
  return {
    suite: 'journal-loop', case: mode === 'none' ? 'engine' : `engine-journal-${mode}`, backend: mode === 'none' ? 'ts' : mode === 'group-file' ? 'ts+file' : 'ts+mmap',
    workload: 'submit, then ack + full fill applied (echo broker), per order; with the journal: 3 records per order',
    ops_per_sec: Math.round((m * 1e9) / total), ns_per_op_p50: Math.round(pct(lat, 50)), ns_per_op_p99: Math.round(pct(lat, 99)), samples: m,
  };
}

function journalEngine(dir: string, broker: EchoBroker): Engine {
  return createEngine({
    instruments: INSTRUMENTS, broker, capacity: 1 << 16, retentionMs: 0, logger: silent,
    risk: { default: { maxOrderQty: 1e9, maxPosition: 1e15 } }, connection: { heartbeatMs: 0 },
    journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' },
  });
}

/** Recovery time for `n` journaled events: open + replay at start, and from a snapshot. */
async function recovery(n: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-recovery-'));
  const broker = new EchoBroker();
  const a = journalEngine(dir, broker);
  await a.start();
  const orders = Math.floor((n - 1) / 3);
  for (let i = 0; i < orders; i++) {
    a.submit({ clientOrderId: `o${i}`, symbol: i & 2 ? 'BBB' : 'AAA', side: i & 1 ? 'sell' : 'buy', qty: i & 2 ? 10 : 100, price: i & 2 ? 17.35 : 42.5 });
    broker.flush();
  }
  const want = { positions: a.positions(), account: a.account(), orders: a.orders().length };
  const records = a.journalStatus()!.seq;
  // stop without the closing snapshot: the whole journal must be replayed
  const j = (a as unknown as { journal: Journal }).journal;
  await j.close();
  (a as unknown as { journal: undefined }).journal = undefined;
  (a as unknown as { core: { journal: undefined } }).core.journal = undefined;
  const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);

  const b = journalEngine(dir, new EchoBroker());
  const t0 = process.hrtime.bigint();
  await b.start();
  const replayMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const got = { positions: b.positions(), account: b.account(), orders: b.orders().length };
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`correctness check failed: restored ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  const replayed = b.journalStatus()!.opened.replayed;
  await b.writeSnapshot();
  await b.stop();

  const c = journalEngine(dir, new EchoBroker());
  const t1 = process.hrtime.bigint();
  await c.start();
  const snapMs = Number(process.hrtime.bigint() - t1) / 1e6;
  if (JSON.stringify(c.positions()) !== JSON.stringify(want.positions)) throw new Error('correctness check failed: restore from the snapshot differs');
  await c.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    suite: 'journal-recovery', case: `replay-${records}`, backend: 'ts', workload: `engine.start() on a journal of ${records} records (${(bytes / 1048576).toFixed(1)} MiB), no snapshot; then from a snapshot`,
    records, replayed, recovery_ms: Math.round(replayMs), events_per_sec: Math.round((records * 1000) / replayMs), snapshot_recovery_ms: Math.round(snapMs),
    ops_per_sec: Math.round((records * 1000) / replayMs), ns_per_op_p50: Math.round((replayMs * 1e6) / records), ns_per_op_p99: 0, samples: 1,
  };
}

async function main() {
  const [what, a, b] = process.argv.slice(2);
  let row;
  if (what === 'append') row = await append(a!, Number(b));
  else if (what === 'loop') row = await loop(a!, Number(b));
  else if (what === 'recovery') row = await recovery(Number(a));
  else throw new Error(`usage: journal.js append|loop|recovery ...`);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
