import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { EngineConfig } from '../src/config.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { BrokerOrder } from '../src/domain/report.js';
import { crc32, tableCrc32 } from '../src/journal/crc32.js';
import { FRAME_HEADER, JournalCorruptError, journalPackr, scanSegment, segmentName, writeFrame, type JournalRecord } from '../src/journal/format.js';
import { Journal, journalProblems, readSnapshotFile, type JournalOptions, type RecoverySink } from '../src/journal/journal.js';
import { archiveRange, compactSegments, workerCompactor } from '../src/journal/compaction.js';
import { Watermark, readWatermark } from '../src/journal/watermark.js';
import { NATIVE, INSTRUMENTS, asBrokerOrder, NO_HEARTBEAT, ScriptedBroker, problemsOf, quiet, thrownBy, until } from './helpers.js';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-journal-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Collects what a journal replays at open. */
function collector(): RecoverySink & { records: Array<{ rec: JournalRecord; seq: number }>; snap: { state: unknown; seq: number } | undefined } {
  const c = {
    records: [] as Array<{ rec: JournalRecord; seq: number }>,
    snap: undefined as { state: unknown; seq: number } | undefined,
    snapshot(state: unknown, seq: number) {
      c.snap = { state, seq };
    },
    record(rec: JournalRecord, seq: number) {
      c.records.push({ rec, seq });
    },
  };
  return c;
}

const STORAGES: Array<'mapped' | 'file'> = NATIVE.addon ? ['mapped', 'file'] : ['file'];
const rec = (i: number): JournalRecord => ({ k: 'intent', t: 1000 + i, id: `o-${i}`, i: 0, side: 1, type: 0, tif: 0, qty: 100, px: 1005 });
const open = (o: JournalOptions, sink: RecoverySink = collector()) => Journal.open(o, quiet(), NATIVE.addon, sink);
const segments = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tcj')).sort();

describe('frames', () => {
  it('CRC-32 of the table implementation equals zlib', () => {
    for (const s of ['', 'a', '123456789', 'tradecore journal frame'.repeat(50)]) expect(tableCrc32(Buffer.from(s))).toBe(crc32(Buffer.from(s)));
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  function frames(n: number, extra = 0): Buffer {
    const p = journalPackr();
    const buf = Buffer.alloc(n * 64 + extra);
    let at = 0;
    for (let i = 0; i < n; i++) at += writeFrame(buf, at, p.pack(rec(i)));
    return buf.subarray(0, at + extra);
  }

  it('reads valid frames to the zero end marker', () => {
    const buf = frames(5, 100);
    const scan = scanSegment(buf);
    expect(scan.payloads).toHaveLength(5);
    expect(scan.damage).toBeUndefined();
    expect(journalPackr().unpack(scan.payloads[4]!)).toEqual(rec(4));
  });

  it('fewer zero bytes than a header at the end are the unused end of a segment, not a torn frame', () => {
    const p = journalPackr();
    const one = p.pack(rec(0));
    const buf = Buffer.alloc(FRAME_HEADER + one.length + 6);
    writeFrame(buf, 0, one);
    const scan = scanSegment(buf);
    expect(scan.payloads).toHaveLength(1);
    expect(scan.damage).toBeUndefined();
    buf[buf.length - 1] = 1; // not zeros: a header cut short
    expect(scanSegment(buf).damage?.reason).toMatch(/frame header cut short \(6 of 8 bytes\)/);
  });

  it('a frame cut short at the end is torn; a damaged frame with data after it is corrupt', () => {
    const whole = frames(5);
    const cut = whole.subarray(0, whole.length - 3);
    const torn = scanSegment(cut);
    expect(torn.payloads).toHaveLength(4);
    expect(torn.damage?.kind).toBe('torn');
    expect(torn.end).toBe(torn.damage!.offset);

    const mid = Buffer.from(whole);
    const second = FRAME_HEADER + mid.readUInt32LE(0);
    mid[second + FRAME_HEADER + 2]! ^= 0xff; // a payload byte of record 1
    const bad = scanSegment(mid);
    expect(bad.payloads).toHaveLength(1);
    expect(bad.damage).toMatchObject({ kind: 'corrupt', offset: second });
    expect(bad.damage!.reason).toMatch(/CRC mismatch/);

    const salvaged = scanSegment(mid, true);
    expect(salvaged.payloads).toHaveLength(4);
    expect(salvaged.skipped).toEqual([{ from: second, to: second + FRAME_HEADER + mid.readUInt32LE(second) }]);
  });
});

describe.each(STORAGES)('journal on %s storage', (storage) => {
  it('appends, reopens at the end, and rotates segments by size', async () => {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0 };
    const j = open(opts);
    expect(j.storageKind).toBe(storage);
    for (let i = 0; i < 3000; i++) expect(j.append(rec(i))).toBe(i);
    await j.close();
    expect(segments(dir).length).toBeGreaterThan(1);
    expect(segments(dir)[1]).toBe(segmentName(Number(segments(dir)[1]!.slice(8, 24))));

    const c = collector();
    const j2 = open(opts, c);
    expect(c.records.map((r) => r.seq)).toEqual([...Array(3000).keys()]);
    expect(c.records[2999]!.rec).toEqual(rec(2999));
    expect(j2.seq).toBe(3000);
    j2.append(rec(3000));
    await j2.close();
    const c3 = collector();
    await open(opts, c3).close();
    expect(c3.records).toHaveLength(3001);
  });

  /** A closed journal of `n` records in one segment. */
  async function written(n: number) {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, snapshotEveryRecords: 0, snapshotEveryMs: 0 };
    const j = open(opts);
    for (let i = 0; i < n; i++) j.append(rec(i));
    await j.close();
    return { opts, file: path.join(dir, segments(dir)[0]!) };
  }

  it('a torn last frame is truncated with a warning; everything before it is kept', async () => {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, snapshotEveryRecords: 0, snapshotEveryMs: 0, groupCommitMs: 60_000 };
    const j = open(opts);
    for (let i = 0; i < 9; i++) j.append(rec(i));
    await j.sync();
    j.append(rec(9)); // not synced when the process dies
    j.abandon();
    const file = path.join(dir, segments(dir)[0]!);
    const cut = storage === 'mapped' ? scanSegment(fs.readFileSync(file)).end : fs.statSync(file).size;
    fs.truncateSync(file, cut - 5); // the last append cut short
    const c = collector();
    const j2 = open(opts, c);
    expect(c.records).toHaveLength(9);
    expect(j2.openInfo.warnings.join()).toMatch(/truncated a torn last record .* at offset \d+/);
    expect(j2.seq).toBe(9);
    j2.append(rec(99));
    await j2.close();
    const c3 = collector();
    await open(opts, c3).close();
    expect(c3.records.map((r) => (r.rec as { id: string }).id).slice(-2)).toEqual(['o-8', 'o-99']);
  });

  it('a synced record cut short is refused with the file and offset (not taken for a torn tail)', async () => {
    const { opts, file } = await written(10);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 5);
    const err = thrownBy(() => open(opts), JournalCorruptError);
    expect(err.file).toBe(file);
    expect(err.offset).toBe(scanSegment(fs.readFileSync(file)).end);
    expect(err.message).toMatch(/records 9 to 9 were synced .* but the journal ends at record 9/);
    expect(fs.existsSync(path.join(opts.dir, 'LOCK'))).toBe(false);
    // salvage keeps what is there, says so, and lowers the mark so the next open is clean
    const j = open({ ...opts, salvage: true });
    expect(j.seq).toBe(9);
    expect(j.openInfo.warnings.join('\n')).toMatch(/salvage: records 9 to 9 were synced/);
    await j.close();
    const again = open(opts);
    expect(again.openInfo.warnings).toEqual([]);
    await again.close();
  });

  it('whole synced records cut off at a frame boundary are refused too', async () => {
    const { opts, file } = await written(300);
    const buf = fs.readFileSync(file);
    // keep the first 82 frames exactly: a clean end, no torn bytes
    let at = 0;
    for (let i = 0; i < 82; i++) at += FRAME_HEADER + buf.readUInt32LE(at);
    fs.truncateSync(file, at);
    const err = thrownBy(() => open(opts), JournalCorruptError);
    expect(err.offset).toBe(at);
    expect(err.message).toMatch(/records 82 to 299 were synced/);
  });

  it('a deleted newest segment is refused', async () => {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0 };
    const j = open(opts);
    for (let i = 0; i < 3000; i++) j.append(rec(i));
    await j.close();
    const segs = segments(dir);
    expect(segs.length).toBeGreaterThan(1);
    fs.rmSync(path.join(dir, segs[segs.length - 1]!));
    expect(() => open(opts)).toThrow(/were synced .* truncated or deleted/);
  });

  it('corruption in the middle stops the open, naming file and offset, unless salvage', async () => {
    const { opts, file } = await written(10);
    const buf = fs.readFileSync(file);
    const len0 = buf.readUInt32LE(0);
    const off = FRAME_HEADER + len0; // record 1
    buf[off + FRAME_HEADER + 1]! ^= 0x55;
    fs.writeFileSync(file, buf);
    const err = thrownBy(() => open(opts), JournalCorruptError);
    expect(err.file).toBe(file);
    expect(err.offset).toBe(off);
    expect(err.message).toContain(`${file} at offset ${off}`);
    expect(fs.existsSync(path.join(opts.dir, 'LOCK'))).toBe(false);

    const c = collector();
    const j2 = open({ ...opts, salvage: true }, c);
    expect(c.records.map((r) => (r.rec as { id: string }).id)).toEqual(['o-0', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6', 'o-7', 'o-8', 'o-9']);
    expect(j2.openInfo.warnings.join()).toMatch(/salvage: skipped damaged bytes/);
    await j2.close();
  });

  it('snapshots cover the records before them: open replays only the tail', async () => {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' };
    const j = open(opts);
    let state = 0;
    j.attach(() => ({ upTo: state }), () => 5);
    for (let i = 0; i < 20; i++) {
      j.append(rec(i));
      state = i + 1;
    }
    await j.snapshot();
    for (let i = 20; i < 25; i++) j.append(rec(i));
    await j.close();
    const c = collector();
    const j2 = open(opts, c);
    expect(c.snap).toEqual({ state: { upTo: 20 }, seq: 20 });
    expect(c.records.map((r) => r.seq)).toEqual([20, 21, 22, 23, 24]);
    await j2.close();
  });

  it('a damaged newest snapshot falls back to the one before', async () => {
    const dir = tmpDir();
    const opts: JournalOptions = { dir, storage, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' };
    const j = open(opts);
    j.attach(() => ({ n: j.seq }), () => 0);
    for (let i = 0; i < 5; i++) j.append(rec(i));
    await j.snapshot();
    for (let i = 5; i < 8; i++) j.append(rec(i));
    await j.snapshot();
    await j.close();
    const snaps = fs.readdirSync(dir).filter((n) => n.endsWith('.tcs')).sort();
    expect(snaps).toHaveLength(2);
    expect(readSnapshotFile(path.join(dir, snaps[1]!)).seq).toBe(8);
    fs.truncateSync(path.join(dir, snaps[1]!), 10);
    const c = collector();
    const j2 = open(opts, c);
    expect(c.snap?.seq).toBe(5);
    expect(c.records.map((r) => r.seq)).toEqual([5, 6, 7]);
    expect(j2.openInfo.warnings.join()).toMatch(/skipping snapshot/);
    await j2.close();
  });
});

describe('journal housekeeping', () => {
  it('refuses a journal another live process holds, and takes over a dead one’s lock', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'LOCK'), String(process.ppid));
    expect(() => open({ dir })).toThrow(new RegExp(`in use by process ${process.ppid}`));
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999999');
    const j = open({ dir });
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await j.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('fsync durability syncs every append; group commits in the background', async () => {
    const dir = tmpDir();
    const j = open({ dir: path.join(dir, 'f'), durability: 'fsync', storage: 'file' });
    j.append(rec(1));
    // on disk already: another reader sees it before any close
    expect(scanSegment(fs.readFileSync(path.join(dir, 'f', segments(path.join(dir, 'f'))[0]!))).payloads).toHaveLength(1);
    await j.close();
    const g = open({ dir: path.join(dir, 'g'), groupCommitMs: 2 });
    g.append(rec(1));
    // the timer syncs without being asked (however long a loaded machine takes to get there)
    await until(() => g.stats.syncs > 0, 20_000, 'a group commit');
    expect(g.stats.lastError).toBe('');
    await g.close();
  });

  it('compaction archives segments every kept snapshot covers, in a worker thread; replay reads the archive', async () => {
    const dir = tmpDir();
    const compactor = workerCompactor();
    const j = open({ dir, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0, keepSnapshots: 1 });
    j.attach(() => ({}), () => 0, compactor);
    for (let i = 0; i < 8000; i++) j.append(rec(i));
    const before = segments(dir);
    expect(before.length).toBeGreaterThan(2);
    await j.snapshot();
    await j.close();
    await compactor.close();
    const after = segments(dir);
    expect(after).toEqual(before.slice(-1)); // only the active segment is left
    const archives = fs.readdirSync(dir).filter((n) => n.endsWith('.tcj.gz'));
    expect(archives).toHaveLength(1);
    const range = archiveRange(archives[0]!)!;
    expect(range.first).toBe(0);
    expect(range.end).toBe(Number(after[0]!.slice(8, 24)));
    expect(j.stats.segmentsCompacted).toBe(before.length - 1);
    // the journal still opens: the snapshot covers what was archived
    const c = collector();
    await open({ dir }, c).close();
    expect(c.snap?.seq).toBe(8000);
  });

  it('compaction refuses a damaged segment and removes nothing', async () => {
    const dir = tmpDir();
    const p = journalPackr();
    const buf = Buffer.alloc(200);
    const n = writeFrame(buf, 0, p.pack(rec(0)));
    buf[n - 1]! ^= 1;
    fs.writeFileSync(path.join(dir, segmentName(0)), buf.subarray(0, n + 20).fill(7, n));
    await expect(compactSegments({ dir, segments: [segmentName(0)], end: 1, mode: 'archive' })).rejects.toThrow(/damaged at offset 0/);
    expect(segments(dir)).toEqual([segmentName(0)]);
  });

  it('config problems name the field', () => {
    expect(journalProblems({ dir: '', durability: 'sometimes', groupCommitMs: 0, bogus: 1 })).toEqual([
      'journal.bogus: unknown option (known: dir, durability, groupCommitMs, segmentBytes, storage, snapshotEveryRecords, snapshotEveryMs, keepSnapshots, compaction, salvage)',
      'journal.dir: must be a non-empty path',
      'journal.durability: must be group or fsync',
      'journal.groupCommitMs: must be an integer from 1 to 60000',
    ]);
    expect(problemsOf(() => createEngine({ instruments: INSTRUMENTS, journal: { dir: 5 } as unknown as JournalOptions }))).toContain('journal.dir: must be a non-empty path');
  });
});

/** A scripted broker whose records are what another engine saw (so a sync confirms the restore). */
class MirrorBroker extends ScriptedBroker {
  view: Engine | undefined;
  syncDayOrders: (() => Promise<BrokerOrder[]>) | undefined;
  override async syncOpenOrders(): Promise<BrokerOrder[]> {
    return (this.view?.openOrders() ?? [])
      .filter((o) => o.brokerOrderId !== '')
      .map((o) => asBrokerOrder(o));
  }
}

function engineOn(dir: string, broker: ScriptedBroker, clock: ManualClock, extra: Partial<EngineConfig> = {}, anomalies: Anomaly[] = []): Engine {
  return createEngine({
    instruments: INSTRUMENTS,
    broker,
    clock,
    logger: quiet(),
    connection: NO_HEARTBEAT,
    journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0 },
    onAnomaly: (a) => anomalies.push(a),
    ...extra,
  });
}

/** The engine's process dies: its journal is left unsynced and untrimmed, the lock free. */
function crash(e: Engine): void {
  (e as unknown as { journal: Journal }).journal.abandon();
}

/** Everything a restore must bring back. */
function stateOf(e: Engine) {
  const s = e.stats();
  return {
    orders: e.orders(),
    positions: e.positions(),
    account: e.account(),
    tradingState: e.tradingState,
    history: e.tradingStateHistory(),
    counts: { accepted: s.accepted, fills: s.fills, reports: s.reports, duplicateReports: s.duplicateReports, rejects: s.rejects, unknownOrders: s.unknownOrders, overfills: s.overfills },
  };
}

describe('engine restore from the journal', () => {
  /** A session with every kind of record: acks, partial and full fills, a reject, a cancel, a duplicate, an external order, a state change. */
  async function session(dir: string, extra: Partial<EngineConfig> = {}) {
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const broker = new MirrorBroker();
    broker.clock = clock;
    const e = engineOn(dir, broker, clock, extra);
    await e.start();
    const sub = (id: string, side: 'buy' | 'sell', qty: number, price: number) => expect(e.submit({ clientOrderId: id, symbol: 'ACME', side, qty, price }).status).toBe('accepted');
    sub('a', 'buy', 100, 10);
    sub('b', 'buy', 50, 10.01);
    sub('c', 'sell', 30, 10.05);
    sub('d', 'buy', 10, 9.99);
    clock.advance(5);
    broker.ack('a', 'A');
    broker.ack('b', 'B');
    broker.ack('c', 'C');
    broker.fill('a', 'A', 40, 10);
    broker.send({ kind: 'trade', clientOrderId: 'a', brokerOrderId: 'A', lastQty: 60, lastPx: 9.99, execId: 'fa2' });
    broker.send({ kind: 'trade', clientOrderId: 'a', brokerOrderId: 'A', lastQty: 60, lastPx: 9.99, execId: 'fa2' }); // duplicate
    broker.fill('b', 'B', 20, 10.01);
    broker.send({ kind: 'rejected', clientOrderId: 'd', brokerOrderId: 'D', reason: 'INSUFFICIENT_FUNDS', text: 'no money' });
    expect(e.cancel('c').status).toBe('sent');
    broker.send({ kind: 'trade', clientOrderId: '', brokerOrderId: 'X1', symbol: 'ACME', side: 'sell', qty: 5, lastQty: 5, lastPx: 10.2 });
    clock.advance(5000); // only a broker id: it waits limits.parkMs for an ack, then is an external order's
    // the batch path journals its intents too
    expect(e.submitMany([{ clientOrderId: 'm1', symbol: 'LOTS', side: 'buy', qty: 100, price: 20 }, { clientOrderId: 'm2', symbol: 'LOTS', side: 'sell', qty: 200, price: 20.5 }]).map((r) => r.status)).toEqual(['accepted', 'accepted']);
    broker.ack('m1', 'M1');
    broker.ack('m2', 'M2');
    broker.fill('m1', 'M1', 100, 20);
    e.setTradingState('Reducing', 'test');
    sub('e', 'sell', 10, 10.5); // reduces the long position
    broker.ack('e', 'E');
    return { e, broker, clock };
  }

  it('a new engine on the same journal has the same orders, positions, cash, counts and trading state', async () => {
    const dir = tmpDir();
    const { e: a, broker } = await session(dir);
    const before = stateOf(a);
    // one engine per journal: a second one in this process is refused while the first has it
    const twin = engineOn(dir, new MirrorBroker(), new ManualClock(0));
    await expect(twin.start()).rejects.toThrow(/is already open in this process/);
    // a crash: the first engine is never stopped; its journal is left as a killed process leaves it
    crash(a);
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
    const b2 = new MirrorBroker();
    b2.clock = clock;
    b2.view = a;
    const anomalies: Anomaly[] = [];
    const b = engineOn(dir, b2, clock, {}, anomalies);
    await b.start();
    expect(stateOf(b)).toEqual(before);
    expect(b.journalStatus()!.opened.replayed).toBeGreaterThan(10);
    // replayed anomalies are not raised again
    expect(anomalies.filter((x) => x.kind === 'UNKNOWN_ORDER')).toEqual([]);
    // idempotency survives: the id of an open order is a duplicate, a finished one refused; nothing sent
    expect(b.submit({ clientOrderId: 'b', symbol: 'ACME', side: 'buy', qty: 50, price: 10.01 })).toMatchObject({ status: 'duplicate', brokerOrderId: 'B' });
    expect(b.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 100, price: 10 })).toMatchObject({ status: 'denied', reason: 'DUPLICATE_ORDER_ID' });
    expect(b2.placed).toEqual([]);
    // a report for a restored order applies on top; a replayed duplicate stays a duplicate
    b2.send({ kind: 'trade', clientOrderId: 'a', brokerOrderId: 'A', lastQty: 60, lastPx: 9.99, execId: 'fa2' });
    expect(b.stats().duplicateReports).toBe(before.counts.duplicateReports + 1);
    b2.fill('b', 'B', 30, 10.01, { execId: 'fb-after-restart' });
    expect(b.getOrder('b')).toMatchObject({ status: 'Filled', cumQty: 50 });
    expect(b.positions()[0]!.qty).toBe(100 + 50 - 5);
    await b.stop();
    void broker;
  });

  it('restores from a snapshot plus the tail, and a stop leaves a snapshot that covers everything', async () => {
    const dir = tmpDir();
    const { e: a } = await session(dir);
    await a.writeSnapshot();
    a.setTradingState('Halted', 'after the snapshot');
    const before = stateOf(a);
    await a.stop();
    const opened = readSnapshotFile(path.join(dir, fs.readdirSync(dir).filter((n) => n.endsWith('.tcs')).sort().pop()!));

    const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
    const b2 = new MirrorBroker();
    b2.clock = clock;
    b2.view = a;
    const b = engineOn(dir, b2, clock);
    await b.start();
    expect(stateOf(b)).toEqual(before);
    expect(b.journalStatus()!.opened).toMatchObject({ replayed: 0 });
    expect(b.journalStatus()!.opened.snapshotSeq).toBe(opened.seq);
    await b.stop();
  });

  it('a stop and a start of the same engine keep its state as it is (nothing restored twice)', async () => {
    const dir = tmpDir();
    const { e } = await session(dir);
    const before = stateOf(e);
    await e.stop();
    (e.broker as MirrorBroker).view = e;
    await e.start();
    expect(stateOf(e)).toEqual(before);
    expect(e.journalStatus()!.opened.replayed).toBe(0);
    await e.stop();
  });

  it('recovery sync after the restore resolves what the broker did meanwhile', async () => {
    const dir = tmpDir();
    const { e: a } = await session(dir);
    expect(a.submit({ clientOrderId: 'f', symbol: 'ACME', side: 'sell', qty: 5, price: 10.5 }).status).toBe('accepted');
    crash(a);
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
    const b2 = new MirrorBroker();
    b2.clock = clock;
    // the broker filled b while we were down, and never got f
    b2.syncOpenOrders = async () => [];
    b2.syncTodayTrades = async () => [{ execId: 'late', clientOrderId: 'b', brokerOrderId: 'B', symbol: 'ACME', side: 'buy', qty: 30, price: 10.02, time: clock.now() }];
    b2.syncDayOrders = async () => [
      ...a.orders().filter((o) => o.brokerOrderId !== '' && o.clientOrderId !== 'b').map((o) => asBrokerOrder(o, o.status === 'PendingCancel' ? 'Cancelled' : o.status)),
      { clientOrderId: 'b', brokerOrderId: 'B', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 50, price: 10.01, cumQty: 50, status: 'Filled' },
    ];
    const b = engineOn(dir, b2, clock);
    await b.start();
    expect(b.getOrder('b')).toMatchObject({ status: 'Filled', cumQty: 50 });
    expect(b.getOrder('c')!.status).toBe('Cancelled');
    expect(b.getOrder('f')).toMatchObject({ status: 'Rejected', rejectReason: 'RECOVERY_NOT_FOUND' });
    expect(b.positions()[0]!.qty).toBe(100 + 50 - 5);
    expect(b2.placed).toEqual([]);
    await b.stop();
  });

  it('a reload of the risk limits survives a restart from the same config; a changed config wins', async () => {
    const dir = tmpDir();
    const risk = { default: { maxOrderQty: 1000 } };
    const { e: a } = await session(dir, { risk });
    expect(a.reloadRisk({ default: { maxOrderQty: 20 } }).ok).toBe(true);
    await a.stop();
    const again = async (r: typeof risk) => {
      const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
      const br = new MirrorBroker();
      br.clock = clock;
      br.view = a;
      const e = engineOn(dir, br, clock, { risk: r });
      await e.start();
      e.setTradingState('Active', 'test');
      const res = e.submit({ clientOrderId: `q-${Math.random()}`, symbol: 'ACME', side: 'buy', qty: 50, price: 10 });
      await e.stop();
      return res;
    };
    expect(await again(risk)).toMatchObject({ status: 'denied', reason: 'MAX_ORDER_QTY' });
    expect(await again({ default: { maxOrderQty: 500 } })).toMatchObject({ status: 'accepted' });
  });

  it('refuses a journal written for other instruments', async () => {
    const dir = tmpDir();
    const { e: a } = await session(dir);
    await a.stop();
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
    const br = new MirrorBroker();
    br.clock = clock;
    const e = createEngine({ instruments: [INSTRUMENTS[1]!], broker: br, clock, logger: quiet(), connection: NO_HEARTBEAT, journal: { dir } });
    await expect(e.start()).rejects.toThrow(/snapshot is for instruments \[ACME, LOTS\] but this engine has \[LOTS\]/);
    expect(e.state).toBe('created');
  });

  it('an order the journal cannot take is refused and never sent', async () => {
    const dir = tmpDir();
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const br = new MirrorBroker();
    br.clock = clock;
    const anomalies: Anomaly[] = [];
    const e = engineOn(dir, br, clock, {}, anomalies);
    await e.start();
    expect(e.submit({ clientOrderId: 'y', symbol: 'ACME', side: 'buy', qty: 1, price: 10 }).status).toBe('accepted');
    br.ack('y', 'Y');
    // break the journal under the engine: appends now throw
    const j = (e as unknown as { journal: Journal }).journal;
    j.append = () => {
      throw new Error('ENOSPC: no space left on device');
    };
    expect(e.submit({ clientOrderId: 'x', symbol: 'ACME', side: 'buy', qty: 1, price: 10 })).toMatchObject({ status: 'denied', reason: 'JOURNAL_FAILED', detail: `journal=${j.dir} error=ENOSPC: no space left on device` });
    expect(br.placed.map((p) => p.clientOrderId)).toEqual(['y']);
    expect(e.getOrder('x')).toBeUndefined();
    // a cancel the journal cannot take is not sent either, and the order stays as it was
    expect(e.cancel('y')).toMatchObject({ status: 'denied', reason: 'JOURNAL_FAILED' });
    expect(br.cancels).toEqual([]);
    expect(e.getOrder('y')!.status).toBe('Submitted');
    expect(anomalies.map((x) => [x.kind, x.severity])).toContainEqual(['JOURNAL_FAILED', 'P0']);
    await (e as unknown as { connection: { stop(): Promise<void> } }).connection.stop();
    j.abandon();
  });
});

describe('the synced watermark', () => {
  it('a sync that completes after close writes nothing, not even into the file that took its descriptor number (found by the certify drills)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-watermark-'));
    try {
      const mark = new Watermark(dir, -1);
      mark.set(5);
      const fd = (mark as unknown as { fd: number }).fd;
      mark.close();
      // the lowest free descriptor is the one just closed: another file gets it
      const other = path.join(dir, 'other');
      fs.writeFileSync(other, 'x'.repeat(64));
      const otherFd = fs.openSync(other, 'r+');
      try {
        expect(otherFd).toBe(fd);
        // a group commit's completion after the close
        expect(mark.set(9)).toBeUndefined();
        expect(fs.readFileSync(other, 'utf8')).toBe('x'.repeat(64));
      } finally {
        fs.closeSync(otherFd);
      }
      expect(readWatermark(dir).seq).toBe(5);
      mark.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
