/**
 * The journal directory's format marker, `FORMAT`: which journal and snapshot formats the
 * directory holds, and which release wrote it last.
 *
 *   {"journal":1,"snapshot":2,"writtenBy":"tradecore 0.1.0"}
 *
 * A build opens a directory only when it reads both formats: one written by a newer release
 * (a higher number) is refused before anything in it is read or changed, with the release that
 * wrote it named, never half-read. A directory without the marker was written before markers
 * were kept (journal format 1, snapshots 1 or 2: both readable). After a successful open the
 * marker says this build's formats, which it writes from then on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FORMAT_VERSION, JournalFormatError } from './format.js';

export { JournalFormatError };
import { SNAPSHOT_VERSION } from './snapshot-file.js';

export const FORMAT_FILE = 'FORMAT';

export interface DataFormat {
  readonly journal: number;
  readonly snapshot: number;
  readonly writtenBy: string;
}

let release: string | undefined;
/** `tradecore <version>` of this build (package.json). */
export function thisRelease(): string {
  if (release === undefined) {
    release = 'tradecore (version unknown)';
    // the package's own package.json: up from this file (src/journal in the source, dist/src/journal built)
    for (const up of ['../../package.json', '../../../package.json']) {
      try {
        const pkg = JSON.parse(fs.readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
        if (pkg.name !== 'tradecore' || typeof pkg.version !== 'string') continue;
        release = `tradecore ${pkg.version}`;
        break;
      } catch {
        // not there: the next one up
      }
    }
  }
  return release;
}

/** The marker of `dir`, or undefined when it has none. Throws JournalFormatError when it cannot be read. */
export function readDataFormat(dir: string): DataFormat | undefined {
  const file = path.join(dir, FORMAT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JournalFormatError(dir, `journal ${dir}: cannot read ${FORMAT_FILE}: ${(err as Error).message}`);
  }
  let f: Partial<DataFormat>;
  try {
    f = JSON.parse(text) as Partial<DataFormat>;
  } catch {
    throw new JournalFormatError(dir, `journal ${dir}: ${FORMAT_FILE} is not JSON ("${text.slice(0, 60)}"); it says which formats the directory holds, so nothing was read`);
  }
  if (!Number.isInteger(f.journal) || !Number.isInteger(f.snapshot)) throw new JournalFormatError(dir, `journal ${dir}: ${FORMAT_FILE} has no journal and snapshot format numbers; nothing was read`);
  return { journal: f.journal!, snapshot: f.snapshot!, writtenBy: typeof f.writtenBy === 'string' ? f.writtenBy : 'an unknown release' };
}

/** Refuse a directory written in formats newer than this build's, before anything in it is touched. */
export function checkDataFormat(dir: string): DataFormat | undefined {
  const f = readDataFormat(dir);
  if (f === undefined) return undefined;
  const newer: string[] = [];
  if (f.journal > FORMAT_VERSION) newer.push(`journal format ${f.journal} (this build reads up to ${FORMAT_VERSION})`);
  if (f.snapshot > SNAPSHOT_VERSION) newer.push(`snapshot format ${f.snapshot} (this build reads up to ${SNAPSHOT_VERSION})`);
  if (newer.length > 0) {
    throw new JournalFormatError(dir, `journal ${dir} was written by ${f.writtenBy} in ${newer.join(' and ')}; ${thisRelease()} cannot read it and changed nothing. Run ${f.writtenBy} or newer on it (a rollback to an older release needs a data directory that release wrote)`);
  }
  return f;
}

/** Say this build's formats in `dir` (after it opened the directory). */
export function writeDataFormat(dir: string): void {
  const file = path.join(dir, FORMAT_FILE);
  const text = `${JSON.stringify({ journal: FORMAT_VERSION, snapshot: SNAPSHOT_VERSION, writtenBy: thisRelease() })}\n`;
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch {
    // absent: written below
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
