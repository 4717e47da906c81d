// The journal drop-copy to NATS JetStream (docs/scale-out.md) under the journal-loop benchmark's
// load, one case per fresh process; prints one JSON line.
//   loop <journal|journal-export> N [RATE]   N orders through submit → ack → fill on the echo broker,
//       journal on (3 records per order), as bench/journal.ts `loop`; with `journal-export` the
//       engine also exports its journal (ScaleOut, the config's defaults: control link on) to a
//       nats-server -js this process starts on 127.0.0.1. Each order is timed on its own (the
//       hot path); orders/s is over the wall time, so the exporter's share of the one thread
//       shows there. With export: the lag (records and seconds behind the journal) sampled
//       every 10 ms, the records exported per second during the run and from the first record
//       to the stream holding the last, and the drain after the last order.
//       With RATE (orders/s) the orders come at that pace, in 1 ms slices, instead of as fast as
//       the loop goes: the saturated loop leaves the exporter one step per 16k-order slice, so it
//       catches up only after the last order; paced below its ceiling it keeps up, and the lag
//       figures are those of a steady flow.
//       Correctness check: the stream holds exactly the journal's records, none twice.
//   floor N [BYTES] [pipelined|js-publish]   the least the export could do: N records of BYTES
//       (the journal-loop's mean size), already in memory, published with the same pipelined
//       publishes and batch size, nothing read from the journal (JetStream's ceiling on this
//       machine, through this client); js-publish: the same through the official client's
//       js.publish, a batch of concurrent requests at a time (what the exporter did before:
//       named naive, the client's per-request timer and Error objects included).
// Without nats-server the export cases print {"skipped": ...} (TRADECORE_REQUIRE_NATS=1: it fails).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { createEngine } from '../src/engine.js';
import { loadNative } from '../src/native/loader.js';
import { ScaleOut } from '../src/scale/attach.js';
import { jetstream } from '@nats-io/jetstream';
import { PipelinedPublisher, ensureStream, jetstreamManager, natsConnect } from '../src/scale/nats.js';
import { EXPORT_DEFAULTS } from '../src/scale/options.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import { EchoBroker, echoOrderLoop } from './echo-broker.js';
import { NatsServer, freePort, natsAvailable } from './nats-server.js';

const INSTRUMENTS: InstrumentSpec[] = [{ symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 }];
const silent = pino({ level: 'silent' });
const pct = (sorted: Float64Array | number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loop(mode: 'journal' | 'journal-export', n: number, rate: number | undefined) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-export-'));
  const storage = loadNative().addon !== undefined ? ('mapped' as const) : ('file' as const);
  let nats: NatsServer | undefined;
  if (mode === 'journal-export') {
    nats = new NatsServer(await freePort(), path.join(dir, 'nats'));
    await nats.start();
  }
  const broker = new EchoBroker();
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, capacity: 1 << 14, retentionMs: 0, logger: silent,
    risk: { default: { maxOrderQty: 1e9, maxPosition: 1e15 } }, connection: { heartbeatMs: 0 },
    journal: { dir: path.join(dir, 'journal'), snapshotEveryRecords: 0, snapshotEveryMs: 0, storage },
  });
  await engine.start();
  const scale = nats === undefined ? undefined : new ScaleOut(engine, { engineId: 'bench', nats: { servers: nats.url } }, { logger: silent });
  if (scale !== undefined) {
    // connected and the stream made before the clock starts
    const until = Date.now() + 10_000;
    while (!scale.exporter.status().connected && Date.now() < until) await sleep(10);
    if (!scale.exporter.status().connected) throw new Error(`export did not connect: ${scale.exporter.status().lastError}`);
  }
  const firstSeq = engine.journalStatus()!.seq;
  const run = echoOrderLoop(engine, broker, n);
  const warm = Math.min(20_000, n >> 2);
  run(0, warm, undefined);
  // the warm-up's records exported before the clock starts: the figures are of the measured flow
  if (scale !== undefined) {
    const end = engine.journalStatus()!.seq;
    const until = Date.now() + 120_000;
    while (scale.exporter.status().next < end && Date.now() < until) await sleep(5);
  }
  const lagRecords: number[] = [];
  const lagSeconds: number[] = [];
  const sampler = scale === undefined ? undefined : setInterval(() => {
    const s = scale.exporter.status();
    lagRecords.push(s.lagRecords);
    lagSeconds.push(s.lagSeconds);
  }, 10);
  const publishedBefore = scale?.exporter.status().published ?? 0;
  const measuredFrom = engine.journalStatus()!.seq;
  const lat = new Float64Array(n - warm);
  const t0 = process.hrtime.bigint();
  if (rate === undefined) {
    for (let at = warm; at < n; at += 0x3fff) {
      run(at, Math.min(n, at + 0x3fff), lat.subarray(at - warm));
      await new Promise((r) => setImmediate(r));
    }
  } else {
    // as many orders as the pace says are due, then back to the event loop for a millisecond
    for (let at = warm; at < n; ) {
      const due = Math.min(n, warm + Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * rate));
      if (due > at) {
        run(at, due, lat.subarray(at - warm));
        at = due;
      }
      await sleep(1);
    }
  }
  const total = Number(process.hrtime.bigint() - t0);
  const s = engine.stats();
  const journaled = engine.journalStatus()!.seq - firstSeq;
  const recordBytes = Math.round(engine.journalStatus()!.stats.bytes / engine.journalStatus()!.seq);
  let exported: Record<string, number> = {};
  if (scale !== undefined) {
    const during = scale.exporter.status().published - publishedBefore;
    // the drain: until the stream has acknowledged every record journaled so far
    const t1 = process.hrtime.bigint();
    const end = engine.journalStatus()!.seq;
    const until = Date.now() + 300_000;
    while (scale.exporter.status().next < end && Date.now() < until) await sleep(2);
    const drainNs = Number(process.hrtime.bigint() - t1);
    clearInterval(sampler);
    if (scale.exporter.status().next < end) throw new Error(`correctness check failed: export stopped at record ${scale.exporter.status().next} of ${end}: ${scale.exporter.status().lastError}`);
    lagRecords.sort((a, b) => a - b);
    lagSeconds.sort((a, b) => a - b);
    exported = {
      exported_per_sec_during_run: Math.round((during * 1e9) / total),
      exported_per_sec_to_caught_up: Math.round(((end - measuredFrom) * 1e9) / (total + drainNs)),
      // the drain alone: what the exporter does once the loop leaves it the thread (against the floor)
      exported_per_sec_after_run: drainNs < 1e8 ? 0 : Math.round(((end - measuredFrom - during) * 1e9) / drainNs),
      drain_ms_after_last_order: Math.round(drainNs / 1e5) / 10,
      lag_records_p50: pct(lagRecords, 50), lag_records_p99: pct(lagRecords, 99), lag_records_max: lagRecords.at(-1) ?? 0,
      lag_seconds_p50: Math.round(pct(lagSeconds, 50) * 1000) / 1000, lag_seconds_max: Math.round((lagSeconds.at(-1) ?? 0) * 1000) / 1000,
      lag_samples: lagRecords.length,
    };
  }
  await engine.stop();
  if (scale !== undefined) {
    await scale.stop(10_000);
    const st = scale.exporter.status();
    // the stream, asked directly: every record of the journal, once
    const nc = await natsConnect({ servers: nats!.url }, 'bench-check');
    const info = await (await jetstreamManager(nc)).streams.info('TRADECORE');
    await nc.close();
    const closedAt = engine.journalClosedAt ?? st.seq;
    if (info.state.messages !== closedAt || st.next !== closedAt || st.duplicates !== 0) {
      throw new Error(`correctness check failed: stream holds ${info.state.messages} messages, journal ${closedAt} records, exporter at ${st.next}, ${st.duplicates} duplicates`);
    }
    exported.stream_messages = info.state.messages;
    await nats!.kill();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  if (s.fills !== n || s.denied > 0) throw new Error(`correctness check failed: fills ${s.fills} of ${n}, denied ${s.denied}`);
  if (journaled !== 3 * n) throw new Error(`correctness check failed: journaled ${journaled} records, expected ${3 * n}`);
  lat.sort();
  const m = n - warm;
  return {
    suite: rate === undefined ? 'export-loop' : 'export-paced', case: mode, backend: `ts+${storage === 'mapped' ? 'mmap' : 'file'}${mode === 'journal-export' ? '+nats' : ''}`,
    workload: `submit, then ack + full fill applied (echo broker), per order, ${rate === undefined ? 'as fast as the loop goes' : `${rate} orders/s`}, journal on (3 records per order)${mode === 'journal-export' ? ', exported to nats-server -js on 127.0.0.1' : ', no export'}`,
    ops_per_sec: Math.round((m * 1e9) / total), ns_per_op_p50: Math.round(pct(lat, 50)), ns_per_op_p99: Math.round(pct(lat, 99)), samples: m,
    orders: n, records: journaled, record_bytes_mean: recordBytes, ...(rate === undefined ? {} : { rate_orders_per_sec: rate }), ...exported,
  };
}

async function floor(n: number, recordBytes: number, how: 'pipelined' | 'js-publish') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-export-floor-'));
  const nats = new NatsServer(await freePort(), dir);
  await nats.start();
  const nc = await natsConnect({ servers: nats.url }, 'bench-floor');
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, { servers: nats.url });
  const publisher = new PipelinedPublisher(nc);
  const js = jetstream(nc, { timeout: 5000 });
  const payload = new Uint8Array(recordBytes).fill(0x5a);
  const batch = EXPORT_DEFAULTS.batch;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const items = Array.from({ length: Math.min(batch, n - i) }, (_, k) => ({ msgId: `floor:${i + k}`, payload }));
    const out = how === 'pipelined'
      ? await publisher.publish('tradecore.journal.floor', items, 5000)
      : (await Promise.all(items.map((it) => js.publish('tradecore.journal.floor', it.payload, { msgID: it.msgId, timeout: 5000 })))).map((a) => ({ duplicate: a.duplicate }));
    if (out.some((r) => r === undefined || 'error' in r || r.duplicate)) throw new Error(`correctness check failed: a publish of batch ${i / batch} was not stored once`);
  }
  const total = Number(process.hrtime.bigint() - t0);
  const messages = (await jsm.streams.info('TRADECORE')).state.messages;
  publisher.close();
  await nc.close();
  await nats.kill();
  fs.rmSync(dir, { recursive: true, force: true });
  if (messages !== n) throw new Error(`correctness check failed: stream holds ${messages} of ${n}`);
  return {
    suite: 'export-floor', case: how === 'pipelined' ? 'publish-from-memory' : 'naive-js-publish-from-memory', backend: 'nats',
    workload: `${n} records of ${recordBytes} B from memory, ${how === 'pipelined' ? 'pipelined publishes' : "the client's js.publish"} in batches of ${batch}, each acknowledged (${how === 'pipelined' ? 'floor of the export' : 'naive: one request per record'})`,
    ops_per_sec: Math.round((n * 1e9) / total), ns_per_op_p50: Math.round(total / n), ns_per_op_p99: 0, samples: n, records: n, exported_per_sec: Math.round((n * 1e9) / total),
  };
}

async function main() {
  const [what, mode, count, pace] = process.argv.slice(2);
  if (what === 'floor') {
    if (!natsAvailable) return skip();
    process.stdout.write(`${JSON.stringify(await floor(Number(mode), Number(count ?? 54), pace === 'js-publish' ? 'js-publish' : 'pipelined'))}\n`);
    return;
  }
  if (what !== 'loop' || (mode !== 'journal' && mode !== 'journal-export')) throw new Error('usage: export.js loop journal|journal-export N [orders per second] | floor N [record bytes] [pipelined|js-publish]');
  if (mode === 'journal-export' && !natsAvailable) return skip();
  process.stdout.write(`${JSON.stringify(await loop(mode, Number(count), pace === undefined ? undefined : Number(pace)))}\n`);
}

function skip(): void {
  if (process.env.TRADECORE_REQUIRE_NATS === '1') throw new Error('nats-server is not installed and TRADECORE_REQUIRE_NATS=1');
  process.stdout.write(`${JSON.stringify({ skipped: 'nats-server is not installed (apt-get install nats-server)' })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
