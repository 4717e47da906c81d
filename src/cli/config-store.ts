/**
 * Config snapshots of `tradecore run` (issue 19, section 8.4 of the checklist): every config the
 * service runs with, at start and at each accepted reload, is kept in the data directory under
 * its content hash, with a history line saying when and why.
 *
 *   <data>/config/<hash>.json     the parsed config, keys sorted (the hash is of these bytes)
 *   <data>/config/history.jsonl   one line per use: {"hash","at","reason","file"}
 *
 * The hash is the first 16 hex digits of the SHA-256 of the canonical JSON: two files that say
 * the same thing (comments, key order, YAML or JSON) have one snapshot. `tradecore config
 * history` lists the uses, `tradecore config diff A B` shows what changed between two
 * snapshots (any unique hash prefix names one); `tradecore config rollback HASH --note T` asks
 * the running service to take an earlier one's risk section through the same checks as SIGHUP.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Why a config was used. `restore`: at a start, the risk of the last session's reload or
 * rollback, restored from the journal over the file's. `promote`: the rollout moved to `stage`
 * with this config in force.
 */
export type ConfigUse = 'start' | 'reload' | 'rollback' | 'restore' | 'promote';

export interface ConfigHistoryEntry {
  readonly hash: string;
  /** ISO time of the use. */
  readonly at: string;
  readonly reason: ConfigUse;
  /** The file it was read from (a rollback: the snapshot's own file). */
  readonly file: string;
  /** A rollback or promotion: who asked, why; a rollback's snapshot asked for; a promotion's stages. */
  readonly who?: string;
  readonly note?: string;
  readonly from?: string;
  readonly stage?: string;
}

/** One path that differs between two snapshots; `undefined` on a side where it is absent. */
export interface ConfigChange {
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

export class ConfigStoreError extends Error {}

/** JSON with the keys of every object sorted: the same config, the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

export class ConfigStore {
  readonly dir: string;
  private readonly historyFile: string;

  constructor(dataRoot: string) {
    this.dir = path.join(dataRoot, 'config');
    this.historyFile = path.join(this.dir, 'history.jsonl');
  }

  /** Keep `config` (once per content) and add a history line; returns its hash. */
  record(config: unknown, reason: ConfigUse, file: string, at = new Date(), extra: { who?: string; note?: string; from?: string; stage?: string } = {}): string {
    mkdirSync(this.dir, { recursive: true });
    const text = canonicalJson(config);
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    const snapshot = path.join(this.dir, `${hash}.json`);
    if (!existsSync(snapshot)) {
      const tmp = `${snapshot}.tmp`;
      writeFileSync(tmp, `${text}\n`);
      renameSync(tmp, snapshot);
    }
    const entry: ConfigHistoryEntry = { hash, at: at.toISOString(), reason, file: path.resolve(file), ...extra };
    appendFileSync(this.historyFile, `${JSON.stringify(entry)}\n`);
    return hash;
  }

  /** Every use, oldest first. A line cut by a crash (the last) is skipped. */
  history(): ConfigHistoryEntry[] {
    if (!existsSync(this.historyFile)) return [];
    const out: ConfigHistoryEntry[] = [];
    const lines = readFileSync(this.historyFile, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line === '') return;
      try {
        out.push(JSON.parse(line) as ConfigHistoryEntry);
      } catch {
        if (i < lines.length - 2) throw new ConfigStoreError(`${this.historyFile}: line ${i + 1} is not JSON`);
      }
    });
    return out;
  }

  /** The full hash that `prefix` names: exactly one snapshot must start with it. */
  resolve(prefix: string): string {
    if (!/^[0-9a-f]{4,16}$/.test(prefix)) throw new ConfigStoreError(`"${prefix}" is not a config hash (4 to 16 hex digits; see tradecore config history)`);
    const all = existsSync(this.dir) ? readdirSync(this.dir).filter((f) => /^[0-9a-f]{16}\.json$/.test(f)).map((f) => f.slice(0, 16)) : [];
    const hits = all.filter((h) => h.startsWith(prefix));
    if (hits.length === 0) throw new ConfigStoreError(`no config snapshot ${prefix} in ${this.dir}`);
    if (hits.length > 1) throw new ConfigStoreError(`${prefix} names ${hits.length} snapshots (${hits.join(', ')}); give more digits`);
    return hits[0]!;
  }

  /** The file of snapshot `hash` (a full hash). */
  fileOf(hash: string): string {
    return path.join(this.dir, `${hash}.json`);
  }

  /** The snapshot `hash` names (a prefix will do). */
  load(hash: string): unknown {
    const full = this.resolve(hash);
    return JSON.parse(readFileSync(path.join(this.dir, `${full}.json`), 'utf8')) as unknown;
  }

  /** What changed from snapshot `a` to snapshot `b`, path by path (arrays compared by index). */
  diff(a: string, b: string): ConfigChange[] {
    const out: ConfigChange[] = [];
    walk(this.load(a), this.load(b), '', out);
    return out;
  }
}

function walk(a: unknown, b: unknown, at: string, out: ConfigChange[]): void {
  const objA = a !== null && typeof a === 'object';
  const objB = b !== null && typeof b === 'object';
  if (objA && objB && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a)) {
      const bb = b as unknown[];
      for (let i = 0; i < Math.max(a.length, bb.length); i++) walk(a[i], bb[i], `${at}[${i}]`, out);
    } else {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) walk(ra[k], rb[k], at === '' ? k : `${at}.${k}`, out);
    }
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b)) out.push({ path: at === '' ? '(whole config)' : at, from: a, to: b });
}
