/**
 * Compaction of journal segments a snapshot has made unnecessary for recovery. It runs in a
 * piscina worker thread: reading, checking and gzipping segments never runs on the engine's
 * thread. `archive` writes `archive-<first>-<end>.tcj.gz` (the segments' frames, concatenated
 * and gzipped; `tradecore replay` reads it) and then removes the segments; `delete` removes them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Piscina } from 'piscina';
import { scanSegment, seqOf, SEGMENT_PREFIX, SEGMENT_SUFFIX } from './format.js';
import { workerFile } from './worker-file.js';

export interface CompactTask {
  dir: string;
  /** Segment file names, consecutive, oldest first. */
  segments: string[];
  /** Seq just past the last record of the last segment. */
  end: number;
  mode: 'archive' | 'delete';
}

export interface CompactResult {
  /** Segments removed. */
  segments: number;
  /** The archive written (archive mode). */
  archive?: string;
  bytesIn: number;
  bytesOut: number;
}

/** Read a snapshot back and decode it whole, off the engine's thread. */
export interface VerifyTask {
  verify: string;
}

export interface Compactor {
  compact(task: CompactTask): Promise<CompactResult>;
  /** Read a written snapshot back and decode it; resolves with its size, rejects with why it does not read. */
  verifySnapshot?(file: string): Promise<number>;
  close(): Promise<void>;
}

export function archiveName(first: number, end: number): string {
  return `archive-${String(first).padStart(16, '0')}-${String(end).padStart(16, '0')}.tcj.gz`;
}

/** The first and end seq of an archive file name, or undefined. */
export function archiveRange(name: string): { first: number; end: number } | undefined {
  const m = /^archive-(\d{16})-(\d{16})\.tcj\.gz$/.exec(name);
  return m === null ? undefined : { first: Number(m[1]), end: Number(m[2]) };
}

/** The work itself (the worker's body; callable inline for tests). A damaged segment stops it with nothing removed. */
export async function compactSegments(task: CompactTask): Promise<CompactResult> {
  const parts: Buffer[] = [];
  let bytesIn = 0;
  for (const name of task.segments) {
    const file = path.join(task.dir, name);
    const buf = await fs.promises.readFile(file);
    bytesIn += buf.length;
    const scan = scanSegment(buf);
    if (scan.damage !== undefined) throw new Error(`compaction stopped: ${file} is damaged at offset ${scan.damage.offset}: ${scan.damage.reason}`);
    parts.push(buf.subarray(0, scan.end));
  }
  let archive: string | undefined;
  let bytesOut = 0;
  if (task.mode === 'archive' && task.segments.length > 0) {
    const first = seqOf(task.segments[0]!, SEGMENT_PREFIX, SEGMENT_SUFFIX);
    archive = archiveName(first, task.end);
    const gz = zlib.gzipSync(Buffer.concat(parts), { level: 6 });
    bytesOut = gz.length;
    const final = path.join(task.dir, archive);
    const fh = await fs.promises.open(`${final}.tmp`, 'w');
    try {
      await fh.writeFile(gz);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(`${final}.tmp`, final);
  }
  for (const name of task.segments) await fs.promises.rm(path.join(task.dir, name), { force: true });
  return { segments: task.segments.length, ...(archive !== undefined ? { archive } : {}), bytesIn, bytesOut };
}

/** A compactor on one piscina worker thread, started on first use; it also reads snapshots back. */
export function workerCompactor(): Compactor {
  let pool: Piscina | undefined;
  const run = (task: CompactTask | VerifyTask) => {
    pool ??= new Piscina({ filename: workerFile('compact-worker.js'), maxThreads: 1, minThreads: 0, idleTimeout: 5000 });
    return pool.run(task);
  };
  return {
    async compact(task) {
      return (await run(task)) as CompactResult;
    },
    async verifySnapshot(file) {
      return (await run({ verify: file })) as number;
    },
    async close() {
      if (pool !== undefined) await pool.destroy();
      pool = undefined;
    },
  };
}
