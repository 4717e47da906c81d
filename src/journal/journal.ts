/**
 * The journal: an append-only record of every command and event, in segment files, with
 * snapshots of the engine's state beside it (format in ./format.ts, docs in docs/journal.md).
 *
 * Storage: with the native addon, the active segment is a shared memory mapping of a
 * preallocated file, so an append is a copy with no system call and is safe from the moment it
 * is copied against the process dying. Without it, appends go to a staging buffer that is
 * written (one write(2)) before anything leaves the process (`barrier`) and on every group
 * commit.
 *
 * Durability against power loss: `fsync` syncs every append before it returns; `group` (the
 * default) syncs every `groupCommitMs` off the main thread (fdatasync on the libuv pool).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../ops/logger.js';
import type { NativeAddon } from '../native/loader.js';
import {
  FRAME_HEADER, JournalCorruptError, JournalFormatError, MAX_RECORD, SEGMENT_PREFIX, SEGMENT_SUFFIX, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX,
  journalPackr, scanSegment, segmentName, seqOf, snapshotName, writeFrame, type JournalRecord,
} from './format.js';
import type { Compactor } from './compaction.js';
import { checkDataFormat, writeDataFormat } from './data-format.js';
import { encodeSnapshot, readSnapshotFile, verifySnapshotFile, type SnapshotFile } from './snapshot-file.js';
import { readWatermark, Watermark } from './watermark.js';

export { readSnapshotFile };

export type Durability = 'group' | 'fsync';

/** What failed, for the alarm: `sync` (records may not reach the disk), `snapshot` (written or read back). */
export type JournalAlarm = 'sync' | 'snapshot';

/** Journal settings (engine config `journal`). Only `dir` is required. */
export interface JournalOptions {
  /** Directory of the journal's segments and snapshots; created when missing. */
  dir: string;
  /** `group` (default): synced every `groupCommitMs`; `fsync`: every append synced before it returns. */
  durability?: Durability;
  /** Group commit interval, ms. Default 5. */
  groupCommitMs?: number;
  /** Segment size; a new segment starts when the next record does not fit. Default 64 MiB. */
  segmentBytes?: number;
  /** `auto` (default): a memory-mapped segment when the native addon is loaded, the file writer otherwise. */
  storage?: 'auto' | 'mapped' | 'file';
  /** Snapshot after this many records. Default 100000; 0 turns the count off. */
  snapshotEveryRecords?: number;
  /** Snapshot after this many ms with new records. Default 60000; 0 turns the timer off. */
  snapshotEveryMs?: number;
  /** Snapshots kept (older ones are removed). Default 2. */
  keepSnapshots?: number;
  /**
   * Segments wholly before the oldest kept snapshot: `archive` (default) gzips them into
   * `archive-*.tcj.gz` in a worker thread; `delete` removes them; `off` keeps them as they are.
   */
  compaction?: 'archive' | 'delete' | 'off';
  /** Open a journal with corruption in the middle by skipping the damaged bytes (logged). Default false: refuse. */
  salvage?: boolean;
}

export const JOURNAL_DEFAULTS = {
  durability: 'group' as Durability,
  groupCommitMs: 5,
  segmentBytes: 64 * 1024 * 1024,
  storage: 'auto' as 'auto' | 'mapped' | 'file',
  snapshotEveryRecords: 100_000,
  snapshotEveryMs: 60_000,
  keepSnapshots: 2,
  compaction: 'archive' as 'archive' | 'delete' | 'off',
  salvage: false,
};

const MIN_SEGMENT = 64 * 1024;

/** Every problem of a `journal` config section, each naming its path. */
export function journalProblems(j: unknown, at = 'journal'): string[] {
  if (typeof j !== 'object' || j === null) return [`${at}: must be an object with at least dir`];
  const o = j as Record<string, unknown>;
  const out: string[] = [];
  const known = new Set(['dir', ...Object.keys(JOURNAL_DEFAULTS)]);
  for (const k of Object.keys(o)) if (!known.has(k)) out.push(`${at}.${k}: unknown option (known: ${[...known].join(', ')})`);
  if (typeof o.dir !== 'string' || o.dir.length === 0) out.push(`${at}.dir: must be a non-empty path`);
  if (o.durability !== undefined && o.durability !== 'group' && o.durability !== 'fsync') out.push(`${at}.durability: must be group or fsync`);
  if (o.storage !== undefined && !['auto', 'mapped', 'file'].includes(o.storage as string)) out.push(`${at}.storage: must be auto, mapped or file`);
  if (o.compaction !== undefined && !['archive', 'delete', 'off'].includes(o.compaction as string)) out.push(`${at}.compaction: must be archive, delete or off`);
  const int = (k: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) out.push(`${at}.${k}: must be an integer from ${min} to ${max}`);
  };
  int('groupCommitMs', 1, 60_000);
  int('segmentBytes', MIN_SEGMENT, 2 ** 32);
  int('snapshotEveryRecords', 0);
  int('snapshotEveryMs', 0);
  int('keepSnapshots', 1, 1000);
  if (o.salvage !== undefined && typeof o.salvage !== 'boolean') out.push(`${at}.salvage: must be true or false`);
  return out;
}

/** What opening found. */
export interface JournalOpenInfo {
  /** Sequence number the latest usable snapshot covers up to (exclusive), -1 without one. */
  snapshotSeq: number;
  /** Records replayed after the snapshot. */
  replayed: number;
  /** Seq of the next record. */
  nextSeq: number;
  /** Torn tails truncated, corruption salvaged, snapshots skipped. */
  warnings: string[];
  /** Where the active segment lives. */
  storage: 'mapped' | 'file';
}

export interface JournalStats {
  appends: number;
  bytes: number;
  syncs: number;
  snapshots: number;
  /** The last snapshot's seq (-1: none yet). */
  lastSnapshotSeq: number;
  segmentsCompacted: number;
  /** The last failed sync, snapshot or compaction (empty when none). */
  lastError: string;
}

interface Segment {
  name: string;
  first: number;
}

function listDir(dir: string): { segments: Segment[]; snapshots: Array<{ name: string; seq: number }> } {
  const segments: Segment[] = [];
  const snapshots: Array<{ name: string; seq: number }> = [];
  for (const name of fs.readdirSync(dir)) {
    const s = seqOf(name, SEGMENT_PREFIX, SEGMENT_SUFFIX);
    if (s >= 0) segments.push({ name, first: s });
    const p = seqOf(name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX);
    if (p >= 0) snapshots.push({ name, seq: p });
  }
  segments.sort((a, b) => a.first - b.first);
  snapshots.sort((a, b) => a.seq - b.seq);
  return { segments, snapshots };
}

/** A segment file that holds no record: no bytes, or an end marker first (preallocated, never written). */
function isEmptyFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(FRAME_HEADER);
    return fs.readSync(fd, head, 0, FRAME_HEADER, 0) < FRAME_HEADER || head.readUInt32LE(0) === 0;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Journal directories open in this process. */
const openHere = new Set<string>();

/**
 * One writer per journal: `LOCK` holds the writer's pid, and this process keeps its own open
 * directories. A lock left by a process that is gone (killed) is taken over.
 */
function takeLock(dir: string): string {
  const file = path.join(dir, 'LOCK');
  if (openHere.has(dir)) throw new Error(`journal ${dir} is already open in this process (one engine per journal)`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      openHere.add(dir);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`journal ${dir} is in use by process ${pid} (remove ${file} only if that process is not a tradecore engine)`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`journal ${dir}: could not take ${file}`);
}

/**
 * Where appends go: a mapped segment or a file with a staging buffer. The file descriptor's
 * life is kept here for both: asynchronous syncs in flight are counted, and the descriptor is
 * closed only once none is (a queued fdatasync must never run on a closed or reused fd).
 */
abstract class SegmentStore {
  protected readonly fd: number;
  /** The file did not exist before this store: a store that fails to start removes it again. */
  private readonly created: boolean;
  protected closed = false;
  private inflight = 0;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly file: string,
    readonly name: string,
    readonly capacity: number,
    public pos: number,
  ) {
    this.created = !fs.existsSync(file);
    this.fd = fs.openSync(file, this.created ? 'w+' : 'r+');
  }

  /**
   * Undo the constructor after a subclass failed to set the store up (a mapping refused on a
   * full disk): the descriptor is closed and a file this store created is removed, so a failed
   * rotation leaks no descriptor and leaves no empty segment for the next open to trip on.
   */
  protected abandonSetup(): void {
    fs.closeSync(this.fd);
    if (this.created) fs.rmSync(this.file, { force: true });
  }

  /** Room for `n` more bytes. */
  fits(n: number): boolean {
    return this.pos + n <= this.capacity;
  }

  abstract write(payload: Uint8Array): void;
  /** Written to the OS (survives the process dying). */
  abstract barrier(): void;
  /** Synchronous durable sync (fsync mode). */
  abstract syncNow(): void;
  /** Let go of the bytes in memory: unmap, or write the staging buffer out. */
  protected abstract detach(): void;
  /** An asynchronous sync covering everything up to `upTo` succeeded. */
  protected synced(_upTo: number): void {}

  /** Asynchronous durable sync (group commit); calls back once done or failed. */
  syncAsync(done: (err: Error | null) => void): void {
    this.barrier();
    const upTo = this.pos;
    this.inflight++;
    fs.fdatasync(this.fd, (err) => {
      this.inflight--;
      if (err === null) this.synced(upTo);
      done(err);
      if (this.inflight === 0) this.onIdle?.();
    });
  }

  private whenIdle(fn: () => void): void {
    if (this.inflight === 0) fn();
    else this.onIdle = fn;
  }

  /** Sync, trim the file to what was written (`trim`), and let go of it. */
  close(trim: boolean): void {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fd;
    try {
      this.detach();
      if (trim) {
        fs.ftruncateSync(fd, this.pos);
        fs.fdatasyncSync(fd);
      }
    } finally {
      // a write that failed (disk full) still lets the descriptor go
      this.whenIdle(() => fs.closeSync(fd));
    }
  }

  /** Rotation: trim to what was written, sync and close off the main thread. */
  retire(onDone: (err: Error | null) => void): void {
    this.closed = true;
    this.detach();
    const fd = this.fd;
    fs.ftruncate(fd, this.pos, (e1) => fs.fdatasync(fd, (e2) => this.whenIdle(() => fs.close(fd, () => onDone(e1 ?? e2 ?? null)))));
  }
}

class MappedStore extends SegmentStore {
  private readonly ab: ArrayBuffer;
  private readonly buf: Buffer;
  private syncedTo: number;

  constructor(
    private readonly native: NativeAddon,
    file: string,
    name: string,
    size: number,
    pos: number,
  ) {
    super(file, name, Math.max(size, fs.existsSync(file) ? fs.statSync(file).size : 0), pos);
    // pages from 64 KiB past the end of the data on are pretouched by a native thread
    try {
      this.ab = native.mapFile(file, this.capacity, pos + 64 * 1024);
    } catch (err) {
      this.abandonSetup();
      throw err;
    }
    this.buf = Buffer.from(this.ab);
    this.syncedTo = pos;
  }

  write(payload: Uint8Array): void {
    this.pos += writeFrame(this.buf, this.pos, payload);
  }

  barrier(): void {}

  syncNow(): void {
    const rc = this.native.syncRange(this.ab, this.syncedTo, this.pos - this.syncedTo);
    if (rc !== 0) throw new Error(`msync ${this.file}: errno ${rc}`);
    this.syncedTo = this.pos;
  }

  protected override synced(upTo: number): void {
    this.syncedTo = Math.max(this.syncedTo, upTo);
  }

  protected detach(): void {
    this.native.unmapFile(this.ab);
  }
}

class FileStore extends SegmentStore {
  private readonly stage = Buffer.allocUnsafe(256 * 1024);
  private staged = 0;
  /** Bytes written to the file (pos = written + staged). */
  private written: number;

  constructor(file: string, name: string, size: number, pos: number) {
    super(file, name, size, pos);
    this.written = pos;
  }

  write(payload: Uint8Array): void {
    const n = FRAME_HEADER + payload.length;
    if (this.staged + n > this.stage.length) this.barrier();
    if (n > this.stage.length) {
      const big = Buffer.allocUnsafe(n);
      writeFrame(big, 0, payload);
      fs.writeSync(this.fd, big, 0, n, this.written);
      this.written += n;
    } else {
      writeFrame(this.stage, this.staged, payload);
      this.staged += n;
    }
    this.pos += n;
  }

  barrier(): void {
    if (this.staged === 0) return;
    let off = 0;
    while (off < this.staged) off += fs.writeSync(this.fd, this.stage, off, this.staged - off, this.written + off);
    this.written += this.staged;
    this.staged = 0;
  }

  syncNow(): void {
    this.barrier();
    fs.fdatasyncSync(this.fd);
  }

  protected detach(): void {
    this.barrier();
  }
}

/** A callback per record replayed at open: the engine's restore. */
export interface RecoverySink {
  snapshot(state: unknown, seq: number, time: number): void;
  record(rec: JournalRecord, seq: number): void;
}

/**
 * The journal of one engine. Open it with {@link Journal.open}: that reads the latest snapshot
 * and the records after it (into a RecoverySink), truncates a torn tail, and leaves the
 * journal ready to append after the last good record.
 */
export class Journal {
  readonly dir: string;
  readonly options: Required<Omit<JournalOptions, 'dir'>>;
  private readonly packr = journalPackr();
  private store: SegmentStore;
  private readonly storage: 'mapped' | 'file';
  private _seq: number;
  private readonly lockFile: string;
  /** `abandon` was called: anything still under way stops short of writing. */
  private abandoned = false;
  private timer: NodeJS.Timeout | undefined;
  private snapTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private syncing = false;
  private closed = false;
  private nextSnapshotAt: number;
  private snapshotting: Promise<void> | undefined;
  private provider: (() => unknown) | undefined;
  private snapshotClock: () => number = Date.now;
  private compactor: Compactor | undefined;
  private lastSnapshotSeqWritten = -1;
  private compactionHold: (() => number) | undefined;
  private appendedSinceSnapshot = false;
  /** Records known synced, kept in `SYNCED` (see watermark.ts). */
  private readonly watermark: Watermark;
  /** Told of a failure that needs a person (see `attach`), once per failing stretch of each kind. */
  private alarm: ((what: JournalAlarm, message: string) => void) | undefined;
  private readonly failing = new Set<JournalAlarm>();
  /** Segments rotated out whose trim, sync and close are still under way (close waits for them). */
  private readonly retiring = new Set<Promise<void>>();
  readonly stats: JournalStats = { appends: 0, bytes: 0, syncs: 0, snapshots: 0, lastSnapshotSeq: -1, segmentsCompacted: 0, lastError: '' };
  /** What open found and did. */
  readonly openInfo: JournalOpenInfo;

  private constructor(
    options: JournalOptions,
    private readonly logger: Logger,
    private readonly native: NativeAddon | undefined,
    sink: RecoverySink,
  ) {
    this.dir = path.resolve(options.dir);
    const o = { ...JOURNAL_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<JournalOptions>;
    const { dir: _dir, ...rest } = o;
    this.options = rest;
    if (o.storage === 'mapped' && native === undefined) throw new Error('journal.storage: mapped needs the native addon, which is not loaded');
    this.storage = o.storage === 'file' || native === undefined ? 'file' : 'mapped';
    fs.mkdirSync(this.dir, { recursive: true });
    this.lockFile = takeLock(this.dir);
    let mark: Watermark | undefined;
    try {
      const found = this.recover(sink);
      this._seq = found.nextSeq;
      mark = new Watermark(this.dir, found.watermark);
      // salvage may have dropped synced records: the mark comes down to what is there (never up: what is there may not be synced yet)
      if (found.present < mark.seq) mark.set(found.present, true);
      this.watermark = mark;
      this.store = this.openStore(found.lastSegment, found.lastEnd);
      // from here this build writes the directory: its formats
      writeDataFormat(this.dir);
      this.openInfo = { snapshotSeq: found.snapshotSeq, replayed: found.replayed, nextSeq: this._seq, warnings: found.warnings, storage: this.storage };
      this.lastSnapshotSeqWritten = found.snapshotSeq;
      this.stats.lastSnapshotSeq = found.snapshotSeq;
    } catch (err) {
      mark?.close();
      this.releaseLock();
      throw err;
    }
    this.nextSnapshotAt = o.snapshotEveryRecords > 0 ? this._seq + o.snapshotEveryRecords : Infinity;
    if (o.durability === 'group') {
      this.timer = setInterval(() => this.groupCommit(), o.groupCommitMs);
      this.timer.unref();
    }
  }

  /**
   * Open (or create) the journal in `options.dir`: the latest good snapshot goes to
   * `sink.snapshot`, every record after it to `sink.record`, in order. Throws
   * JournalCorruptError (file and offset) on corruption before the tail unless `salvage`.
   */
  static open(options: JournalOptions, logger: Logger, native: NativeAddon | undefined, sink: RecoverySink): Journal {
    return new Journal(options, logger, native, sink);
  }

  /** Seq of the next record (= records ever appended, counting from 0). */
  get seq(): number {
    return this._seq;
  }

  /** Where the active segment lives: a memory mapping or a file behind a staging buffer. */
  get storageKind(): 'mapped' | 'file' {
    return this.storage;
  }

  /** Records before this seq are known to be on disk (synced): what a drop-copy may export (0 before the first sync). */
  get syncedSeq(): number {
    return Math.max(0, Math.min(this.watermark.seq, this._seq));
  }

  /**
   * Keep every segment holding a record at or after `from()` out of compaction (a drop-copy
   * that has not exported them yet); undefined lifts the hold.
   */
  holdCompaction(from: (() => number) | undefined): void {
    this.compactionHold = from;
  }

  private recover(sink: RecoverySink): { snapshotSeq: number; replayed: number; nextSeq: number; warnings: string[]; lastSegment: Segment | undefined; lastEnd: number; present: number; watermark: number } {
    const warnings: string[] = [];
    const warn = (msg: string) => {
      warnings.push(msg);
      this.logger.warn({ journal: this.dir }, msg);
    };
    // a directory a newer release wrote is refused before anything in it is read or changed
    checkDataFormat(this.dir);
    const { segments, snapshots } = listDir(this.dir);
    // temporary files of a snapshot or archive that a crash cut short
    for (const name of fs.readdirSync(this.dir)) if (name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
    const mark = readWatermark(this.dir);
    if (mark.problem !== undefined) warn(mark.problem);
    // An empty newest segment that does not follow on from the one before is what a rotation
    // cut short by a full disk left (before this build removed it itself): it holds nothing.
    const newest = segments[segments.length - 1];
    const before = segments[segments.length - 2];
    if (newest !== undefined && before !== undefined && isEmptyFile(path.join(this.dir, newest.name))) {
      const beforeEnd = before.first + scanSegment(fs.readFileSync(path.join(this.dir, before.name))).payloads.length;
      if (newest.first !== beforeEnd) {
        warn(`removed ${newest.name}: an empty segment that does not follow ${before.name} (records end at ${beforeEnd}), left by a rotation that failed`);
        fs.rmSync(path.join(this.dir, newest.name), { force: true });
        segments.pop();
      }
    }
    // the latest snapshot that reads back whole
    let snapSeq = -1;
    for (let i = snapshots.length - 1; i >= 0; i--) {
      const file = path.join(this.dir, snapshots[i]!.name);
      let snap: SnapshotFile;
      try {
        snap = readSnapshotFile(file);
      } catch (err) {
        if (err instanceof JournalFormatError) throw err;
        warn(`skipping snapshot ${snapshots[i]!.name}: ${(err as Error).message}`);
        continue;
      }
      // the sink's own errors (a snapshot for another engine) stop the open
      sink.snapshot(snap.state, snap.seq, snap.t);
      snapSeq = snap.seq;
      break;
    }
    const salvage = this.options.salvage;
    let expected = -1;
    let replayed = 0;
    let lastEnd = 0;
    const packr = journalPackr();
    for (let s = 0; s < segments.length; s++) {
      const seg = segments[s]!;
      const file = path.join(this.dir, seg.name);
      const isLast = s === segments.length - 1;
      if (expected >= 0 && seg.first !== expected) {
        const gap = `records ${Math.min(expected, seg.first)} to ${Math.max(expected, seg.first) - 1} are missing between segments`;
        if (seg.first > expected && seg.first <= snapSeq) warn(`${gap}, covered by the snapshot at ${snapSeq}`);
        else if (!salvage) throw new JournalCorruptError(file, 0, gap);
        else warn(`salvage: ${gap}`);
      } else if (expected < 0 && snapSeq >= 0 && seg.first > snapSeq) {
        const gap = `records ${snapSeq} to ${seg.first - 1} are missing (the snapshot ends at ${snapSeq})`;
        if (!salvage) throw new JournalCorruptError(file, 0, gap);
        warn(`salvage: ${gap}`);
      } else if (expected < 0 && snapSeq < 0 && seg.first > 0) {
        const gap = `the journal starts at record ${seg.first} and there is no snapshot for the records before it`;
        if (!salvage) throw new JournalCorruptError(file, 0, gap);
        warn(`salvage: ${gap}`);
      }
      // wholly covered by the snapshot (the next segment starts at or before it): not read
      const next = segments[s + 1];
      if (next !== undefined && next.first <= snapSeq && seg.first <= snapSeq) {
        expected = next.first;
        continue;
      }
      const buf = fs.readFileSync(file);
      const scan = scanSegment(buf, salvage, snapSeq > seg.first ? snapSeq - seg.first : 0);
      for (const range of scan.skipped) warn(`salvage: skipped damaged bytes ${range.from} to ${range.to} of ${seg.name}`);
      if (scan.damage !== undefined) {
        if (scan.damage.kind === 'torn' && isLast) {
          warn(`truncated a torn last record in ${seg.name} at offset ${scan.damage.offset} (${scan.damage.reason}); everything before it is kept`);
          this.truncate(file, scan.damage.offset);
        } else if (!salvage) {
          throw new JournalCorruptError(file, scan.damage.offset, scan.damage.reason);
        } else {
          warn(`salvage: dropped ${buf.length - scan.damage.offset} bytes of ${seg.name} from offset ${scan.damage.offset} (${scan.damage.reason})`);
          this.truncate(file, scan.damage.offset);
        }
      }
      let seq = seg.first + scan.walked;
      for (const payload of scan.payloads) {
        if (seq >= snapSeq) {
          let rec: JournalRecord;
          try {
            rec = packr.unpack(payload) as JournalRecord;
          } catch (err) {
            const msg = `record ${seq} does not decode: ${(err as Error).message}`;
            if (!salvage) throw new JournalCorruptError(file, payload.byteOffset - buf.byteOffset - FRAME_HEADER, msg);
            warn(`salvage: ${msg}`);
            seq++;
            continue;
          }
          sink.record(rec, seq);
          replayed++;
        }
        seq++;
      }
      expected = seq;
      if (isLast) lastEnd = scan.end;
    }
    const last = segments[segments.length - 1];
    // Records that had been synced are gone: not a torn tail, which only the last unsynced
    // write can leave, but a truncated or deleted segment.
    const present = Math.max(expected, snapSeq, 0);
    if (mark.seq > present) {
      const file = last !== undefined ? path.join(this.dir, last.name) : this.dir;
      const msg = `records ${present} to ${mark.seq - 1} were synced (${'SYNCED'}) but the journal ends at record ${present}: truncated or deleted after it was written`;
      if (!salvage) throw new JournalCorruptError(file, lastEnd, msg);
      warn(`salvage: ${msg}`);
    }
    let nextSeq = Math.max(expected, snapSeq, 0);
    // A snapshot ahead of the journal's end (records lost to a power cut after it): start a
    // new segment at the snapshot so no seq is used twice.
    const reuseLast = last !== undefined && nextSeq === expected;
    if (!reuseLast && last !== undefined) warn(`the journal ends at record ${expected} but the snapshot covers up to ${snapSeq}: new records start a segment at ${nextSeq}`);
    nextSeq = Math.max(nextSeq, 0);
    return { snapshotSeq: snapSeq, replayed, nextSeq, warnings, lastSegment: reuseLast ? last : undefined, lastEnd: reuseLast ? lastEnd : 0, present, watermark: mark.seq };
  }

  /** Cut a segment at `at` (a mapped writer grows it again, and new bytes read as zero). */
  private truncate(file: string, at: number): void {
    const fd = fs.openSync(file, 'r+');
    try {
      fs.ftruncateSync(fd, at);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private openStore(segment: Segment | undefined, end: number): SegmentStore {
    const seg = segment ?? { name: segmentName(this._seq), first: this._seq };
    const file = path.join(this.dir, seg.name);
    const size = this.options.segmentBytes;
    const store = this.storage === 'mapped' ? new MappedStore(this.native!, file, seg.name, size, end) : new FileStore(file, seg.name, Math.max(size, end), end);
    if (segment === undefined) this.fsyncDir();
    return store;
  }

  private fsyncDir(): void {
    try {
      const fd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // not every filesystem allows syncing a directory; the files themselves are synced
    }
  }

  /**
   * Append one record. Returns its seq. With `fsync` durability it is on disk when this
   * returns; with `group`, within `groupCommitMs`. Throws when the journal is closed or the
   * record is larger than the maximum.
   */
  append(rec: JournalRecord): number {
    if (this.closed) throw new Error(`journal ${this.dir} is closed`);
    const payload = this.packr.pack(rec);
    const n = FRAME_HEADER + payload.length;
    if (payload.length > MAX_RECORD) throw new RangeError(`journal record of ${payload.length} bytes exceeds the maximum ${MAX_RECORD}`);
    if (!this.store.fits(n)) this.rotate(n);
    this.store.write(payload);
    this.stats.appends++;
    this.stats.bytes += n;
    this.dirty = true;
    this.appendedSinceSnapshot = true;
    const seq = this._seq++;
    if (this.options.durability === 'fsync') {
      this.store.syncNow();
      this.watermark.set(this._seq);
    }
    if (this._seq >= this.nextSnapshotAt) {
      this.nextSnapshotAt = Infinity;
      setImmediate(() => void this.snapshot());
    }
    return seq;
  }

  /** Make every appended record survive the process dying (a no-op for a mapped segment). Called before an order or cancel leaves. */
  barrier(): void {
    this.store.barrier();
  }

  private rotate(need: number): void {
    const old = this.store;
    const size = Math.max(this.options.segmentBytes, need);
    const file = path.join(this.dir, segmentName(this._seq));
    // The old segment's staged records reach its file first: when they cannot (disk full) this
    // append fails and nothing moves. Written by the retirement below instead, a failure there
    // came after the switch and lost them.
    old.barrier();
    // the new segment next: when it cannot be made (disk full) the old one stays in use
    this.store = this.storage === 'mapped' ? new MappedStore(this.native!, file, segmentName(this._seq), size, 0) : new FileStore(file, segmentName(this._seq), size, 0);
    const retired = new Promise<void>((resolve) => {
      old.retire((err) => {
        if (err !== null) this.fail('sync', `closing segment ${old.name}`, err);
        this.retiring.delete(retired);
        resolve();
      });
    });
    this.retiring.add(retired);
    this.fsyncDir();
  }

  private groupCommit(): void {
    if (!this.dirty || this.syncing || this.closed) return;
    this.dirty = false;
    this.syncing = true;
    const upTo = this._seq;
    const done = (err: Error | null) => {
      this.syncing = false;
      if (err !== null) {
        this.dirty = true;
        this.fail('sync', 'group commit', err);
      } else this.synced(upTo);
    };
    try {
      // the file writer writes its staged records first: that may fail (disk full) right here
      this.store.syncAsync(done);
    } catch (err) {
      done(err as Error);
    }
  }

  /** Records before `upTo` are on disk: count the sync, move the watermark, end a failing stretch. */
  private synced(upTo: number): void {
    this.stats.syncs++;
    this.failing.delete('sync');
    const err = this.watermark.set(upTo);
    if (err !== undefined) this.logger.warn({ journal: this.dir, err: err.message }, 'journal watermark not written (the truncation check lags)');
  }

  /**
   * A failure kept in `stats.lastError` and logged; the first of a failing stretch of its kind
   * also goes to the alarm (the engine raises it as an anomaly), so a full disk pages once, not
   * every group commit.
   */
  private fail(kind: JournalAlarm, what: string, err: Error): void {
    this.stats.lastError = `${what}: ${err.message}`;
    this.logger.error({ journal: this.dir, err: err.message }, `journal ${what} failed`);
    if (this.failing.has(kind)) return;
    this.failing.add(kind);
    this.alarm?.(kind, `journal ${this.dir}: ${what} failed: ${err.message}`);
  }

  /** Everything appended so far on disk (flush and fdatasync off the main thread). */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const upTo = this._seq;
    return new Promise((resolve, reject) => {
      const done = (err: Error | null) => {
        if (err === null) {
          this.synced(upTo);
          resolve();
        } else reject(err);
      };
      try {
        this.store.syncAsync(done);
      } catch (err) {
        done(err as Error);
      }
    });
  }

  /**
   * Where snapshots come from (the engine's state, encodable by msgpack) and the clock that
   * times them; starts the snapshot timer. A compactor, when given, runs after each snapshot.
   * `alarm` hears failures that need a person: syncs that fail (disk full, I/O error) and
   * snapshots that cannot be written or read back; once per failing stretch of each kind.
   */
  attach(provider: () => unknown, now: () => number, compactor?: Compactor, alarm?: (what: JournalAlarm, message: string) => void): void {
    this.provider = provider;
    this.snapshotClock = now;
    this.compactor = compactor;
    this.alarm = alarm;
    const every = this.options.snapshotEveryMs;
    if (every > 0) {
      this.snapTimer = setInterval(() => {
        if (this.appendedSinceSnapshot) void this.snapshot();
      }, every);
      this.snapTimer.unref();
    }
  }

  /**
   * Write a snapshot of the state now, covering every record appended so far: the journal is
   * synced first, the snapshot written to a temporary file, synced and renamed into place.
   * Then snapshots beyond `keepSnapshots` are removed and compaction runs. Resolves with the
   * snapshot's seq (or the running snapshot's, when one is under way). Never rejects: a failure
   * is logged, kept in `stats.lastError` and raised to the alarm.
   *
   * The state is written in chunks (snapshot-file.ts), so a snapshot of any size restores, and
   * each snapshot is read back and decoded whole (in the compactor's worker when there is one)
   * before anything it covers is compacted: one that does not read back is removed at once and
   * alarmed, and the segments it would have made unnecessary stay.
   */
  snapshot(): Promise<void> {
    if (this.snapshotting !== undefined) return this.snapshotting;
    if (this.provider === undefined || this.closed) return Promise.resolve();
    const seq = this._seq;
    if (seq === this.lastSnapshotSeqWritten) return Promise.resolve();
    let buf: Buffer;
    try {
      buf = encodeSnapshot(seq, this.snapshotClock(), this.provider());
    } catch (err) {
      this.fail('snapshot', 'snapshot', err as Error);
      return Promise.resolve();
    }
    this.appendedSinceSnapshot = false;
    const run = async () => {
      try {
        await this.sync();
        // a killed process writes nothing more (abandon: drills in one process)
        if (this.abandoned) return;
        const final = path.join(this.dir, snapshotName(seq));
        const tmp = `${final}.tmp`;
        const fh = await fs.promises.open(tmp, 'w');
        try {
          await fh.writeFile(buf);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        if (this.abandoned) {
          await fs.promises.rm(tmp, { force: true });
          return;
        }
        await fs.promises.rename(tmp, final);
        this.fsyncDir();
        try {
          const read = this.compactor?.verifySnapshot !== undefined ? await this.compactor.verifySnapshot(final) : await verifySnapshotFile(final);
          if (read !== buf.length) throw new Error(`read back ${read} of ${buf.length} bytes`);
        } catch (err) {
          await fs.promises.rm(final, { force: true });
          throw new Error(`snapshot ${snapshotName(seq)} (${buf.length} bytes) does not read back, removed; nothing it covers was compacted: ${(err as Error).message}`);
        }
        this.failing.delete('snapshot');
        this.lastSnapshotSeqWritten = seq;
        this.stats.snapshots++;
        this.stats.lastSnapshotSeq = seq;
        this.logger.info({ journal: this.dir, seq, bytes: buf.length }, 'journal snapshot written');
        if (!this.abandoned) await this.prune();
      } catch (err) {
        this.fail('snapshot', 'snapshot', err as Error);
      } finally {
        this.snapshotting = undefined;
        if (this.options.snapshotEveryRecords > 0) this.nextSnapshotAt = this._seq + this.options.snapshotEveryRecords;
      }
    };
    this.snapshotting = run();
    return this.snapshotting;
  }

  /** Remove snapshots beyond the newest `keepSnapshots`, then compact segments before the oldest kept. */
  private async prune(): Promise<void> {
    const { segments, snapshots } = listDir(this.dir);
    const keep = this.options.keepSnapshots;
    for (const old of snapshots.slice(0, Math.max(0, snapshots.length - keep))) await fs.promises.rm(path.join(this.dir, old.name), { force: true });
    const kept = snapshots.slice(-keep);
    if (this.options.compaction === 'off' || this.compactor === undefined || kept.length === 0) return;
    // a drop-copy's hold: segments with records it has not exported yet stay
    const floor = Math.min(kept[0]!.seq, this.compactionHold?.() ?? Infinity);
    // a segment is wholly before `floor` when the next one starts at or before it; never the active one
    const done: Segment[] = [];
    for (let i = 0; i + 1 < segments.length; i++) {
      if (segments[i + 1]!.first <= floor && segments[i]!.name !== this.store.name) done.push(segments[i]!);
    }
    if (done.length === 0) return;
    const end = segments[done.length]!.first;
    const result = await this.compactor.compact({ dir: this.dir, segments: done.map((s) => s.name), end, mode: this.options.compaction });
    this.stats.segmentsCompacted += result.segments;
    this.logger.info({ journal: this.dir, ...result }, 'journal segments compacted');
  }

  /** Sync and close: the active segment is trimmed to its records and the lock released. Waits for a running snapshot. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.snapTimer !== undefined) clearInterval(this.snapTimer);
    if (this.snapshotting !== undefined) await this.snapshotting;
    await Promise.all([...this.retiring]);
    this.closed = true;
    const upTo = this._seq;
    try {
      this.store.close(true);
      this.watermark.set(upTo);
    } catch (err) {
      // the descriptor and the lock go all the same; what could not be written is said
      throw new Error(`journal ${this.dir}: closing failed, records from the last sync on may not be on disk: ${(err as Error).message}`, { cause: err });
    } finally {
      this.watermark.close();
      this.releaseLock();
    }
  }

  private releaseLock(): void {
    fs.rmSync(this.lockFile, { force: true });
    openHere.delete(this.dir);
  }

  /** For tests of crash handling: stop timers and drop the lock without syncing or trimming, as a killed process would leave it. */
  abandon(): void {
    this.abandoned = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.snapTimer !== undefined) clearInterval(this.snapTimer);
    this.closed = true;
    this.store.close(false);
    this.watermark.close();
    this.releaseLock();
  }
}

