/**
 * The synced watermark (`SYNCED` in the journal directory): how many records were known to be
 * on disk. It is written after each sync completes (group commit, fsync, close), never before,
 * so it never claims more than the disk holds; it is itself not synced, so after a power cut it
 * may be older than the truth, which only makes the check below more lenient.
 *
 * At open, a journal that ends before the watermark lost records that had been synced: that is
 * not a torn tail (which only the last unsynced write can leave) but truncation or deletion,
 * and the open is refused with the file and offset where the journal ends.
 *
 * 16 bytes: magic `TCW1`, CRC-32 of the next 8 bytes, the record count as a float64 LE.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './crc32.js';

export const WATERMARK_FILE = 'SYNCED';
const MAGIC = 0x31574354; // "TCW1" little endian
const SIZE = 16;

/** The watermark in `dir`: records known synced, or -1 when there is none (or it is unreadable: `problem` says why). */
export function readWatermark(dir: string): { seq: number; problem?: string } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(dir, WATERMARK_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seq: -1 };
    return { seq: -1, problem: (err as Error).message };
  }
  if (buf.length !== SIZE || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== crc32(buf.subarray(8, 16))) {
    return { seq: -1, problem: `${WATERMARK_FILE} is damaged (${buf.length} bytes); the truncation check is off for this open` };
  }
  const seq = buf.readDoubleLE(8);
  return Number.isInteger(seq) && seq >= 0 ? { seq } : { seq: -1, problem: `${WATERMARK_FILE} holds ${seq}` };
}

/** Keeps the watermark file open and rewrites its 16 bytes in place (one pwrite, no sync). */
export class Watermark {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(SIZE);
  private value: number;
  private closed = false;

  /** `seq`: the mark the file holds now (readWatermark), -1 for none. */
  constructor(dir: string, seq: number) {
    this.value = seq;
    const file = path.join(dir, WATERMARK_FILE);
    this.fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
  }

  get seq(): number {
    return this.value;
  }

  /** Records up to `seq` (exclusive) are synced. Never lowers the mark unless `lower`. A failed write is reported, not thrown. */
  set(seq: number, lower = false): Error | undefined {
    // a sync that completes after close: its descriptor number may belong to another file by now
    if (this.closed) return undefined;
    if (seq === this.value || (!lower && seq < this.value)) return undefined;
    this.buf.writeUInt32LE(MAGIC, 0);
    this.buf.writeDoubleLE(seq, 8);
    this.buf.writeUInt32LE(crc32(this.buf.subarray(8, 16)), 4);
    try {
      fs.writeSync(this.fd, this.buf, 0, SIZE, 0);
    } catch (err) {
      return err as Error;
    }
    this.value = seq;
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
