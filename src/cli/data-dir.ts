/**
 * The data directory of `tradecore run`: the journal, the embedded simulated broker's records,
 * the end-of-day reports, and a lock that keeps a second run off it.
 *
 *   <data>/LOCK               {"pid":…,"startedAt":…} while a run holds the directory
 *   <data>/journal/           the engine's journal
 *   <data>/sim-broker.state   the embedded simulated broker's records (msgpack)
 *   <data>/reports/           end-of-day reports
 *   <data>/alerts.jsonl       the alert journal: every alert opened, resolved, acknowledged
 *   <data>/fix/               a FIX broker's sequence numbers and session record
 *   <data>/config/            the config snapshots (config-store.ts)
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import type { SimBrokerState } from '../brokers/sim/sim-broker.js';
import { isAlive } from '../journal/journal.js';

/** Another process holds the data directory, or its contents cannot be used as they are. */
export class DataDirError extends Error {
  constructor(
    readonly code: 'LOCKED' | 'BROKER_STATE',
    message: string,
  ) {
    super(message);
  }
}

export interface DataDir {
  readonly root: string;
  readonly journal: string;
  readonly simState: string;
  readonly reports: string;
  /** The alert journal (`alertJournalSink`). */
  readonly alerts: string;
  /** Let the directory go (the lock file is removed). Idempotent. */
  release(): void;
}

/**
 * Take the data directory: create it, then its lock with O_EXCL. A lock left by a process that
 * is gone (kill -9, a crash) is taken over, and `onStale` says so; a live holder is refused.
 */
export function lockDataDir(root: string, onStale: (message: string) => void = () => {}): DataDir {
  const dir = path.resolve(root);
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'LOCK');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() })}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let holder: { pid?: unknown; startedAt?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(lock, 'utf8')) as typeof holder;
      } catch {
        // unreadable: a run killed while writing it; treated as stale below
      }
      const pid = typeof holder.pid === 'number' ? holder.pid : undefined;
      if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
        throw new DataDirError('LOCKED', `data directory ${dir} is in use by another tradecore run (pid ${pid}, started ${String(holder.startedAt)}); stop it first, or give this run its own --data`);
      }
      onStale(`data directory ${dir}: taking over the lock of a run that is gone (pid ${pid ?? 'unknown'}, started ${String(holder.startedAt ?? 'unknown')})`);
      rmSync(lock, { force: true });
    }
  }
  let released = false;
  return {
    root: dir,
    journal: path.join(dir, 'journal'),
    simState: path.join(dir, 'sim-broker.state'),
    reports: path.join(dir, 'reports'),
    alerts: path.join(dir, 'alerts.jsonl'),
    release() {
      if (released) return;
      released = true;
      rmSync(lock, { force: true });
    },
  };
}

/** Whether a journal directory holds anything (a previous run wrote to it). */
export function journalExists(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

const packr = new Packr({ useRecords: false });

/** The embedded broker's records on disk; `clean` is false while a run is using them. */
interface SavedSimState {
  version: 1;
  clean: boolean;
  savedAt: string;
  state: SimBrokerState;
}

/**
 * The embedded broker's records for a run on this data directory. Without a journal there is
 * nothing to match: the broker starts empty. With one, the broker's records must come from a
 * clean stop of the same run; otherwise the journal's orders and fills would face a broker
 * that never saw them, and the engine would come up Ready and then wrong. That is refused.
 */
export function readSimState(dir: DataDir): SimBrokerState | undefined {
  const hasJournal = journalExists(dir.journal);
  if (!existsSync(dir.simState)) {
    if (!hasJournal) return undefined;
    throw new DataDirError('BROKER_STATE', `${dir.journal} holds a journal but the embedded simulated broker's records (${dir.simState}) are missing: the broker would not know the journal's orders and fills. Move ${dir.root} away to start afresh, or run with the TCP simulated broker (broker.kind: tcp-sim, its own --state-file)`);
  }
  let saved: SavedSimState;
  try {
    saved = packr.unpack(readFileSync(dir.simState)) as SavedSimState;
  } catch (err) {
    throw new DataDirError('BROKER_STATE', `${dir.simState} cannot be read (${(err as Error).message}); move ${dir.root} away to start afresh`);
  }
  if (saved?.version !== 1 || typeof saved.state !== 'object') throw new DataDirError('BROKER_STATE', `${dir.simState}: unknown format; move ${dir.root} away to start afresh`);
  if (!saved.clean && hasJournal) {
    throw new DataDirError('BROKER_STATE', `the last run on ${dir.root} did not stop cleanly (killed, or it crashed): the embedded simulated broker keeps its records only at a clean stop, so its orders and fills since ${saved.savedAt} are lost and cannot be reconciled with the journal. Move ${dir.root} away to start afresh, or run with the TCP simulated broker (broker.kind: tcp-sim, its own --state-file), which keeps its records on every change`);
  }
  return saved.state;
}

/** Save the embedded broker's records (`clean`: this is a clean stop). Atomic: a temporary file renamed over. */
export function writeSimState(dir: DataDir, state: SimBrokerState, clean: boolean): void {
  const tmp = `${dir.simState}.tmp`;
  writeFileSync(tmp, packr.pack({ version: 1, clean, savedAt: new Date().toISOString(), state } satisfies SavedSimState));
  renameSync(tmp, dir.simState);
}
