/**
 * The journal's on-disk format.
 *
 * A journal is a directory of segment files `journal-<first seq, 16 digits>.tcj`. A segment is
 * a run of frames, each `[length u32 LE][crc32 u32 LE][payload]`, where the payload is one
 * msgpack record of `length` bytes and the CRC-32 is over the payload. Records are numbered
 * from 0 across the journal: a record's sequence number is its segment's first seq plus its
 * index in the segment. A frame whose length field is 0 ends a segment (segments written
 * through a memory mapping are preallocated and zero past their end).
 *
 * Records are msgpack maps with a kind `k` and the engine time `t` (ms). The fixed shapes
 * below are shared msgpackr structures: each encodes as a one-byte structure id and its
 * values, without keys. Their order is part of the format: append, never reorder.
 */
import { Packr } from 'msgpackr';
import { crc32 } from './crc32.js';
import type { ReconEvent } from '../recon/reconciler.js';
import type { CoreRecord } from '../core/records.js';

export {
  reportOf, reportRecord, type AdoptRecord, type AnomalyRecord, type CancelRecord, type CancelUnsentRecord, type ConfigRecord, type ConnectionRecord, type CoreRecord, type DayRecord,
  type IntentRecord, type OpenRecord, type ReportRecord, type TradingStateRecord, type UnsentRecord,
} from '../core/records.js';

export const FORMAT_VERSION = 1;
export const FRAME_HEADER = 8;
/** A record larger than this is refused on write and treated as corruption on read. */
export const MAX_RECORD = 16 * 1024 * 1024;
export const SEGMENT_PREFIX = 'journal-';
export const SEGMENT_SUFFIX = '.tcj';
export const SNAPSHOT_PREFIX = 'snapshot-';
export const SNAPSHOT_SUFFIX = '.tcs';
export const ARCHIVE_SUFFIX = '.tcj.gz';

/** A reconciliation event: a diff raised, fixed, resolved, acknowledged or cleared, an operator action (see recon/reconciler.ts). */
export interface ReconRecord {
  k: 'recon';
  t: number;
  ev: ReconEvent;
}

/**
 * A firm-wide control message the engine received from central (docs/scale-out.md): `cmd`
 * halt, reduce, resume, share (the firm's gross-exposure share), or `lost` (central not heard
 * for the configured time: local limits only); `ok` false when it was refused, with why. Replay
 * does not act on it: the trading-state change it made has its own `state` record.
 */
export interface CentralRecord {
  k: 'central';
  t: number;
  cmd: string;
  id: string;
  from: string;
  ok: boolean;
  detail: string;
}

/** Every record of the journal: the core's, reconciliation's, and central's control messages. */
export type JournalRecord = CoreRecord | ReconRecord | CentralRecord;

export type RecordKind = JournalRecord['k'];
export const RECORD_KINDS: readonly RecordKind[] = ['open', 'intent', 'unsent', 'cancel', 'cancel-unsent', 'report', 'state', 'config', 'conn', 'anomaly', 'recon', 'day', 'adopt', 'rollout', 'mode', 'central'];

/** Shared structures (key order as the objects are built in the engine). Append only. */
const STRUCTURES: readonly string[][] = [
  ['k', 't', 'id', 'i', 'side', 'type', 'tif', 'qty', 'px'],
  ['k', 't', 'kind', 'e', 'b', 'c', 'q', 'p', 'cq', 's', 'x'],
  ['k', 't', 'id'],
  ['k', 't', 'id', 'st'],
  ['k', 't', 'to', 'reason'],
];

/** A msgpack encoder/decoder with the journal's structures. One per reader or writer. */
export function journalPackr(): Packr {
  return new Packr({ structures: STRUCTURES.map((s) => s.slice()), maxSharedStructures: STRUCTURES.length });
}

export function segmentName(firstSeq: number): string {
  return `${SEGMENT_PREFIX}${String(firstSeq).padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

export function snapshotName(seq: number): string {
  return `${SNAPSHOT_PREFIX}${String(seq).padStart(16, '0')}${SNAPSHOT_SUFFIX}`;
}

/** The first seq of a segment file name (or snapshot seq), or -1 when the name is not one. */
export function seqOf(name: string, prefix: string, suffix: string): number {
  if (!name.startsWith(prefix) || !name.endsWith(suffix)) return -1;
  const digits = name.slice(prefix.length, name.length - suffix.length);
  return /^\d{16}$/.test(digits) ? Number(digits) : -1;
}

/** Write one frame (header and payload) into `target` at `at`; returns the bytes written. */
export function writeFrame(target: Buffer, at: number, payload: Uint8Array): number {
  target.writeUInt32LE(payload.length, at);
  target.writeUInt32LE(crc32(payload), at + 4);
  target.set(payload, at + FRAME_HEADER);
  return FRAME_HEADER + payload.length;
}

/** Why a scan stopped before the end of the bytes. */
export interface ScanDamage {
  /** Offset of the bad frame in the segment. */
  offset: number;
  reason: string;
  /**
   * `torn`: nothing valid follows (an append cut short, the last frame of the journal): safe to
   * truncate. `corrupt`: data follows the bad frame: something damaged the middle.
   */
  kind: 'torn' | 'corrupt';
}

export interface ScanResult {
  /** Payloads of the valid frames after the first `walked`, in order. */
  payloads: Buffer[];
  /** Frames at the start stepped over by their length only (see `walk`). */
  walked: number;
  /** Offset just past the last valid frame (where the next append goes). */
  end: number;
  damage?: ScanDamage;
  /** With salvage: byte ranges skipped to get past corruption. */
  skipped: Array<{ from: number; to: number }>;
}

function frameAt(buf: Buffer, at: number, limit: number): { len: number; bad?: string } {
  if (at + FRAME_HEADER > limit) return { len: -1, bad: `frame header cut short (${limit - at} of ${FRAME_HEADER} bytes)` };
  const len = buf.readUInt32LE(at);
  if (len === 0) return { len: 0 };
  if (len > MAX_RECORD) return { len, bad: `frame length ${len} exceeds the maximum ${MAX_RECORD}` };
  if (at + FRAME_HEADER + len > limit) return { len, bad: `frame of ${len} bytes runs past the end of the data (${limit - at - FRAME_HEADER} bytes left)` };
  const want = buf.readUInt32LE(at + 4);
  const got = crc32(buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len));
  if (got !== want) return { len, bad: `CRC mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})` };
  return { len };
}

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Scan a segment's bytes. Valid frames are collected until the end marker (length 0), the end
 * of the bytes, or a bad frame (bad length or CRC). A bad frame followed only by zeros (or by
 * nothing) is `torn`; one followed by other bytes is `corrupt`. With `salvage`, a corrupt
 * stretch is skipped: the scan looks for the next offset holding a valid frame and goes on.
 * `walk`: step over that many frames at the start by length only (records a snapshot covers).
 */
export function scanSegment(buf: Buffer, salvage = false, walk = 0): ScanResult {
  const payloads: Buffer[] = [];
  const skipped: Array<{ from: number; to: number }> = [];
  const limit = buf.length;
  let at = 0;
  let damage: ScanDamage | undefined;
  // The first `walk` frames (covered by a snapshot) are stepped over by their lengths: no CRC,
  // no payload. A damaged length there shows up as a bad frame further on.
  let walked = 0;
  while (walked < walk && at + FRAME_HEADER <= limit) {
    const len = buf.readUInt32LE(at);
    if (len === 0 || len > MAX_RECORD || at + FRAME_HEADER + len > limit) break;
    at += FRAME_HEADER + len;
    walked++;
  }
  while (at < limit) {
    // fewer bytes than a header, all zero: the unused end of a preallocated segment (one the
    // rotation had not trimmed yet when the process stopped), not a frame
    if (at + FRAME_HEADER > limit && allZero(buf, at, limit)) break;
    const f = frameAt(buf, at, limit);
    if (f.bad === undefined) {
      if (f.len === 0) {
        // the end marker, if everything after it is zero too
        if (allZero(buf, at, limit)) break;
        damage = { offset: at, reason: 'zero length frame followed by data', kind: 'corrupt' };
      } else {
        payloads.push(buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + f.len));
        at += FRAME_HEADER + f.len;
        continue;
      }
    } else {
      // Torn: the bad frame's claimed extent (or the rest) is followed by zeros only.
      const claimedEnd = f.len > 0 ? Math.min(limit, at + FRAME_HEADER + f.len) : at;
      const torn = f.len > MAX_RECORD ? allZero(buf, at + FRAME_HEADER, limit) : allZero(buf, claimedEnd, limit);
      damage = { offset: at, reason: f.bad, kind: torn ? 'torn' : 'corrupt' };
    }
    if (damage.kind === 'torn' || !salvage) break;
    // salvage: find the next offset where a valid frame starts
    let next = at + 1;
    while (next + FRAME_HEADER <= limit) {
      const g = frameAt(buf, next, limit);
      if (g.bad === undefined && g.len > 0) break;
      if (g.bad === undefined && g.len === 0 && allZero(buf, next, limit)) break;
      next++;
    }
    if (next + FRAME_HEADER > limit) next = limit;
    skipped.push({ from: at, to: next });
    damage = undefined;
    at = next;
  }
  return { payloads, walked, end: damage !== undefined ? damage.offset : at, ...(damage !== undefined ? { damage } : {}), skipped };
}

/** Thrown when a journal cannot be opened: names the file and the offset. */
export class JournalCorruptError extends Error {
  readonly code = 'JOURNAL_CORRUPT';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`journal corrupt: ${file} at offset ${offset}: ${reason}. Records after it would be lost; to keep what can be read, open with salvage (--salvage on the CLI, journal.salvage in config)`);
  }
}

/** A directory this build cannot read: written in a newer format, or with a marker it cannot parse. */
export class JournalFormatError extends Error {
  readonly code = 'JOURNAL_FORMAT';
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(message);
  }
}
