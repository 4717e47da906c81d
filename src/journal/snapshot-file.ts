/**
 * Snapshot files (`snapshot-<seq>.tcs`): the engine's state at a journal seq.
 *
 * Format 2 (written now) is a run of journal frames: a header frame `{ seq, t, v: 2, chunks,
 * bytes }`, then `chunks` frames that are consecutive slices of one msgpack value (the state),
 * each at most SNAPSHOT_CHUNK bytes. A state of any size is written this way: the frame limit
 * (MAX_RECORD) bounds a chunk, never the snapshot. Format 1 (read only) was one frame holding
 * `{ seq, t, v: 1, state }`: it could not hold more than MAX_RECORD bytes, and a busy day's state
 * (about 285k orders) passed that and could not be read back.
 */
import * as fs from 'node:fs';
import { Packr } from 'msgpackr';
import { FRAME_HEADER, JournalFormatError, scanSegment, writeFrame } from './format.js';

/** Bytes of state per chunk frame. */
export const SNAPSHOT_CHUNK = 4 * 1024 * 1024;
export const SNAPSHOT_VERSION = 2;

export interface SnapshotFile {
  seq: number;
  t: number;
  v: number;
  state: unknown;
}

interface SnapshotHeader {
  seq: number;
  t: number;
  v: number;
  chunks: number;
  bytes: number;
}

/** The bytes of a snapshot file (format 2) holding `state` at `seq`. */
export function encodeSnapshot(seq: number, t: number, state: unknown): Buffer {
  const body = new Packr().pack(state);
  const chunks = Math.max(1, Math.ceil(body.length / SNAPSHOT_CHUNK));
  const header = new Packr().pack({ seq, t, v: SNAPSHOT_VERSION, chunks, bytes: body.length } satisfies SnapshotHeader);
  const out = Buffer.allocUnsafe(FRAME_HEADER * (chunks + 1) + header.length + body.length);
  let at = writeFrame(out, 0, header);
  for (let c = 0; c < chunks; c++) at += writeFrame(out, at, body.subarray(c * SNAPSHOT_CHUNK, Math.min(body.length, (c + 1) * SNAPSHOT_CHUNK)));
  return out;
}

/**
 * Check a snapshot file's bytes frame by frame (lengths, CRCs, the header's chunk count and
 * size) without decoding the state; returns the header and the state's bytes. Throws with the
 * reason when the file is damaged.
 */
export function checkSnapshot(buf: Buffer, name: string): { seq: number; t: number; v: number; body: Buffer | undefined; legacy: unknown } {
  const scan = scanSegment(buf);
  if (scan.damage !== undefined) throw new Error(`snapshot ${name} is damaged at offset ${scan.damage.offset}: ${scan.damage.reason}`);
  if (scan.payloads.length === 0) throw new Error(`snapshot ${name} is empty`);
  const head = new Packr().unpack(scan.payloads[0]!) as Partial<SnapshotHeader & SnapshotFile>;
  if (typeof head !== 'object' || head === null || typeof head.seq !== 'number') throw new Error(`snapshot ${name} has no seq`);
  if (head.v === 1) {
    if (scan.payloads.length !== 1) throw new Error(`snapshot ${name} (format 1) has ${scan.payloads.length} frames, expected 1`);
    return { seq: head.seq, t: head.t ?? 0, v: 1, body: undefined, legacy: head.state };
  }
  // a newer format is a newer release's: refused, never skipped for an older snapshot (that would half-read the journal)
  if (typeof head.v === 'number' && head.v > SNAPSHOT_VERSION) throw new JournalFormatError(name, `snapshot ${name} is format ${head.v}, written by a newer release; this build reads formats 1 and ${SNAPSHOT_VERSION} and changed nothing`);
  if (head.v !== SNAPSHOT_VERSION) throw new Error(`snapshot ${name} is format ${String(head.v)}; this build reads formats 1 and ${SNAPSHOT_VERSION}`);
  const chunks = scan.payloads.length - 1;
  if (head.chunks !== chunks) throw new Error(`snapshot ${name} has ${chunks} of its ${String(head.chunks)} chunks`);
  const body = chunks === 1 ? scan.payloads[1]! : Buffer.concat(scan.payloads.slice(1));
  if (body.length !== head.bytes) throw new Error(`snapshot ${name} holds ${body.length} of its ${String(head.bytes)} bytes`);
  return { seq: head.seq, t: head.t ?? 0, v: SNAPSHOT_VERSION, body, legacy: undefined };
}

/** Decode a snapshot file's bytes; throws with the reason when they are damaged. */
export function decodeSnapshot(buf: Buffer, name: string): SnapshotFile {
  const c = checkSnapshot(buf, name);
  if (c.body === undefined) return { seq: c.seq, t: c.t, v: c.v, state: c.legacy };
  let state: unknown;
  try {
    state = new Packr().unpack(c.body);
  } catch (err) {
    throw new Error(`snapshot ${name} does not decode: ${(err as Error).message}`);
  }
  return { seq: c.seq, t: c.t, v: c.v, state };
}

/** Read and decode a snapshot file; throws with the reason when it is damaged. */
export function readSnapshotFile(file: string): SnapshotFile {
  return decodeSnapshot(fs.readFileSync(file), file);
}

/**
 * Read a written snapshot back and decode it whole (what the next start will do), so that a
 * snapshot that cannot be restored is known when it is written. Returns its size in bytes.
 */
export async function verifySnapshotFile(file: string): Promise<number> {
  const buf = await fs.promises.readFile(file);
  decodeSnapshot(buf, file);
  return buf.length;
}
