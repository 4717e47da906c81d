/**
 * The journal at its limits: snapshots larger than one frame, and a disk that fills up under
 * the writer (a real tmpfs of a few hundred KiB). Truncation is tested beside the torn tail in
 * 60-journal.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import { FRAME_HEADER, MAX_RECORD, snapshotName, writeFrame, type JournalRecord } from '../src/journal/format.js';
import { Journal, readSnapshotFile, type JournalOptions, type RecoverySink } from '../src/journal/journal.js';
import type { Compactor } from '../src/journal/compaction.js';
import type { BrokerOrder } from '../src/domain/report.js';
import { INSTRUMENTS, NATIVE, NO_HEARTBEAT, ScriptedBroker, asBrokerOrder, quiet } from './helpers.js';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-jlim-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const STORAGES: Array<'mapped' | 'file'> = NATIVE.addon ? ['mapped', 'file'] : ['file'];
const rec = (i: number): JournalRecord => ({ k: 'intent', t: 1000 + i, id: `o-${i}`, i: 0, side: 1, type: 0, tif: 0, qty: 100, px: 1005 });
const none: RecoverySink = { snapshot() {}, record() {} };
const open = (o: JournalOptions, sink: RecoverySink = none) => Journal.open(o, quiet(), NATIVE.addon, sink);
const segments = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tcj')).sort();
const fds = () => fs.readdirSync('/proc/self/fd').length;

describe('snapshots of any size', () => {
  it('a snapshot larger than the 16 MiB frame limit is written in chunks and restores', async () => {
    const dir = tmpDir();
    const j = open({ dir, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' });
    // ~24 MiB of distinct strings: msgpack cannot shrink them below the frame limit
    const big = Array.from({ length: 200_000 }, (_, i) => `order-${i}-${'x'.repeat(110)}`);
    j.attach(() => ({ big }), () => 7);
    j.append(rec(0));
    await j.snapshot();
    expect(j.stats.lastError).toBe('');
    await j.close();
    const file = path.join(dir, snapshotName(1));
    expect(fs.statSync(file).size).toBeGreaterThan(MAX_RECORD);
    let restored: unknown;
    const j2 = open({ dir }, { snapshot: (s) => (restored = s), record() {} });
    expect(j2.openInfo.snapshotSeq).toBe(1);
    expect(j2.openInfo.warnings).toEqual([]);
    expect((restored as { big: string[] }).big).toEqual(big);
    await j2.close();
  });

  it('still reads a format-1 snapshot (one frame)', async () => {
    const dir = tmpDir();
    const payload = new Packr().pack({ seq: 0, t: 3, v: 1, state: { old: true } });
    const buf = Buffer.alloc(FRAME_HEADER + payload.length);
    writeFrame(buf, 0, payload);
    fs.writeFileSync(path.join(dir, snapshotName(0)), buf);
    expect(readSnapshotFile(path.join(dir, snapshotName(0))).state).toEqual({ old: true });
    let restored: unknown;
    await open({ dir }, { snapshot: (s) => (restored = s), record() {} }).close();
    expect(restored).toEqual({ old: true });
  });

  it('a snapshot that does not read back is removed and alarmed when written, and nothing it covers is compacted', async () => {
    const dir = tmpDir();
    const j = open({ dir, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'delete' });
    const alarms: string[] = [];
    let compacted = 0;
    const broken: Compactor = {
      async compact() {
        compacted++;
        return { segments: 0, bytesIn: 0, bytesOut: 0 };
      },
      async verifySnapshot() {
        throw new Error('bad read');
      },
      async close() {},
    };
    j.attach(() => ({ n: j.seq }), () => 0, broken, (what, msg) => alarms.push(`${what}: ${msg}`));
    for (let i = 0; i < 3000; i++) j.append(rec(i));
    const before = segments(dir);
    await j.snapshot();
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatch(/^snapshot: .*snapshot-0000000000003000\.tcs .* does not read back, removed; nothing it covers was compacted: bad read/);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tcs'))).toEqual([]);
    expect(compacted).toBe(0);
    expect(segments(dir)).toEqual(before);
    expect(j.stats.snapshots).toBe(0);
    await j.close();
  });
});

// ---------------------------------------------------------------------------------------------
// A full disk: a real tmpfs (root can mount one; CI runs as root and must run these).

const mounts: string[] = [];
function tmpfs(kib: number): string | undefined {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', d], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(d);
    if (process.env.CI) throw new Error(`CI must be able to mount a tmpfs for the disk-full tests: ${(err as Error).message}`);
    return undefined;
  }
  mounts.push(d);
  return d;
}
afterAll(() => {
  for (const d of mounts.splice(0)) {
    execFileSync('umount', ['-l', d]);
    fs.rmdirSync(d);
  }
});
const CAN_MOUNT = (() => {
  const d = tmpfs(64);
  return d !== undefined;
})();

/** Fill the filesystem at `dir` until a write fails; returns the filler's path (remove it to free the space). */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'a');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** A scripted broker whose open orders are `open` (what the broker holds across the restart). */
class AckBroker extends ScriptedBroker {
  constructor(clock: ManualClock, private readonly open: BrokerOrder[] = []) {
    super();
    this.clock = clock;
  }
  override async syncOpenOrders(): Promise<BrokerOrder[]> {
    return this.open;
  }
}

describe.skipIf(!CAN_MOUNT).each(STORAGES)('disk full on %s storage', (storage) => {
  it('a rotation that fails leaks no descriptor and leaves no empty segment; the journal restarts', async () => {
    const mnt = tmpfs(512)!;
    const dir = path.join(mnt, 'j');
    const opts: JournalOptions = { dir, storage, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0, groupCommitMs: 60_000 };
    const j = open(opts);
    let n = 0;
    for (; n < 1000; n++) j.append(rec(n)); // fits the first segment
    await j.sync();
    const filler = fill(mnt);
    const fdsBefore = fds();
    let failures = 0;
    for (let k = 0; k < 5000 && failures < 50; k++) {
      try {
        j.append(rec(n));
        n++;
      } catch (err) {
        expect((err as Error).message).toMatch(/ENOSPC|no space/i);
        failures++;
      }
    }
    expect(failures).toBe(50);
    expect(fds()).toBe(fdsBefore);
    // every segment on disk follows on from the one before
    for (const name of segments(dir)) expect(fs.statSync(path.join(dir, name)).size).toBeGreaterThan(0);
    fs.rmSync(filler);
    for (let k = 0; k < 10; k++) j.append(rec(n++));
    await j.close();
    const seen: number[] = [];
    const j2 = open(opts, { snapshot() {}, record: (_r, seq) => seen.push(seq) });
    expect(seen).toEqual([...Array(n).keys()]);
    await j2.close();
  });

  it('an engine on a full disk refuses submits and cancels with JOURNAL_FAILED (never throws), sends nothing, and restarts whole', async () => {
    const mnt = tmpfs(768)!;
    const dir = path.join(mnt, 'j');
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const anomalies: Anomaly[] = [];
    const make = (broker: AckBroker): Engine =>
      createEngine({
        instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, onAnomaly: (a) => anomalies.push(a),
        journal: { dir, storage, segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' },
      });
    const broker = new AckBroker(clock);
    const e = make(broker);
    await e.start();
    expect(e.submit({ clientOrderId: 'keep', symbol: 'ACME', side: 'buy', qty: 1, price: 10 }).status).toBe('accepted');
    broker.ack('keep', 'K');
    const filler = fill(mnt);
    const sent = broker.placed.length;
    let denied = 0;
    for (let i = 0; i < 4000; i++) {
      const r = e.submit({ clientOrderId: `f-${i}`, symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
      if (r.status === 'denied') {
        expect(r.reason).toBe('JOURNAL_FAILED');
        denied++;
      } else {
        broker.ack(`f-${i}`, `F-${i}`);
      }
    }
    expect(denied).toBeGreaterThan(0);
    // every refused order is gone without trace; every accepted one was sent
    const accepted = broker.placed.length - sent;
    expect(accepted + denied).toBe(4000);
    const c = e.cancel('keep');
    if (c.status === 'denied') expect(c.reason).toBe('JOURNAL_FAILED');
    expect(anomalies.some((a) => a.kind === 'JOURNAL_FAILED' && a.severity === 'P0')).toBe(true);
    const liveOrders = e.orders().map((o) => [o.clientOrderId, o.status]);
    const atBroker = e.openOrders().map((o) => asBrokerOrder(o, o.status === 'PendingCancel' ? 'Submitted' : o.status));
    fs.rmSync(filler);
    await e.stop();

    const again = make(new AckBroker(clock, atBroker));
    await again.start();
    expect(again.orders().map((o) => [o.clientOrderId, o.status])).toEqual(liveOrders);
    expect(again.journalStatus()!.opened.warnings.filter((w) => !/torn last record/.test(w))).toEqual([]);
    await again.stop();
  });
});
