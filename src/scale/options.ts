/**
 * The options of the scale-out pieces (docs/scale-out.md) and their checks, apart from the
 * NATS client: a config check (`tradecore config check`, `tradecore run`) loads no NATS code.
 */

/** Where and how to reach NATS (config `export.nats`, and central's `nats`). Only `servers` is required. */
export interface NatsOptions {
  /** One URL or several (a cluster), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The JetStream stream of the firm's journals. Default `TRADECORE`. */
  stream?: string;
  /** The first token of every subject. Default `tradecore`. */
  subjectPrefix?: string;
  /** A NATS `.creds` file (JWT and nkey seed); without it the connection uses no auth or what the URLs carry. */
  credentials?: string;
  /** The stream's duplicate window, ms, when this process creates the stream. Default 120000 (NATS's own). */
  duplicateWindowMs?: number;
  /** Replicas when this process creates the stream (3 on a three-node cluster). Default 1. */
  replicas?: number;
}

export const NATS_DEFAULTS = { stream: 'TRADECORE', subjectPrefix: 'tradecore', duplicateWindowMs: 120_000, replicas: 1 };

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Whether `s` can be one token of a subject (an engine id, a prefix, a stream name). */
export function isToken(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= 64 && TOKEN.test(s);
}

/** Every problem of a `nats` section, each naming its path. */
export function natsProblems(n: unknown, at = 'nats'): string[] {
  if (typeof n !== 'object' || n === null || Array.isArray(n)) return [`${at}: must be an object with at least servers`];
  const o = n as Record<string, unknown>;
  const out: string[] = [];
  const known = ['servers', 'stream', 'subjectPrefix', 'credentials', 'duplicateWindowMs', 'replicas'];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${at}.${k}: unknown option (known: ${known.join(', ')})`);
  const servers = typeof o.servers === 'string' ? [o.servers] : o.servers;
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || !/^(nats|tls|ws|wss):\/\/[^\s]+$|^[^\s:/]+:\d+$/.test(s))) {
    out.push(`${at}.servers: must be a URL (nats://host:port) or a list of them`);
  }
  if (o.stream !== undefined && !isToken(o.stream)) out.push(`${at}.stream: letters, digits, - and _ only`);
  if (o.subjectPrefix !== undefined && !isToken(o.subjectPrefix)) out.push(`${at}.subjectPrefix: one subject token: letters, digits, - and _ only`);
  if (o.credentials !== undefined && (typeof o.credentials !== 'string' || o.credentials === '')) out.push(`${at}.credentials: must be the path of a .creds file`);
  if (o.duplicateWindowMs !== undefined && !(Number.isInteger(o.duplicateWindowMs) && (o.duplicateWindowMs as number) >= 1000)) out.push(`${at}.duplicateWindowMs: must be an integer >= 1000`);
  if (o.replicas !== undefined && !(Number.isInteger(o.replicas) && (o.replicas as number) >= 1 && (o.replicas as number) <= 5)) out.push(`${at}.replicas: must be an integer from 1 to 5`);
  return out;
}

/** The options with their defaults. */
export function natsWithDefaults(o: NatsOptions): Required<Omit<NatsOptions, 'credentials'>> & { credentials?: string } {
  return { ...NATS_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Required<NatsOptions>;
}

/** Config `export` (tradecore run) and the exporter's options. `engineId` and `nats` are required. */
export interface ExportOptions {
  /** This engine's name in the firm: letters, digits, - and _; unique across engines. */
  engineId: string;
  nats: NatsOptions;
  /** `hold` (default): compaction keeps segments not exported yet; `allow`: it goes on, and what it deleted unexported is a gap (alerted). */
  compaction?: 'hold' | 'allow';
  /** P2 `EXPORT_LAG` when more records than this wait (default 100000) ... */
  maxLagRecords?: number;
  /** ... or the oldest waiting record is older than this, ms (default 30000). */
  maxLagMs?: number;
  /** Records per publish batch (default 1000). */
  batch?: number;
  /** How often an idle exporter looks for new records, ms (default 10). */
  pollMs?: number;
  /** Firm-wide control (src/scale/firm-link.ts). */
  control?: { enabled?: boolean; auth?: 'token' | 'nats'; centralTimeoutMs?: number; windowMs?: number };
}

export const EXPORT_DEFAULTS = { compaction: 'hold' as 'hold' | 'allow', maxLagRecords: 100_000, maxLagMs: 30_000, batch: 1000, pollMs: 10 };

/** Every problem of an `export` section, each naming its path. */
export function exportProblems(e: unknown, at = 'export'): string[] {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return [`${at}: must be an object with engineId and nats`];
  const o = e as Record<string, unknown>;
  const out: string[] = [];
  const known = ['engineId', 'nats', 'compaction', 'maxLagRecords', 'maxLagMs', 'batch', 'pollMs', 'control'];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${at}.${k}: unknown option (known: ${known.join(', ')})`);
  if (!isToken(o.engineId)) out.push(`${at}.engineId: required; letters, digits, - and _ only (at most 64)`);
  if (o.engineId === 'all') out.push(`${at}.engineId: "all" is the control subject of every engine; pick another name`);
  out.push(...natsProblems(o.nats, `${at}.nats`));
  if (o.compaction !== undefined && o.compaction !== 'hold' && o.compaction !== 'allow') out.push(`${at}.compaction: must be hold or allow`);
  const int = (k: string, min: number, max: number) => {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) out.push(`${at}.${k}: must be an integer from ${min} to ${max}`);
  };
  int('maxLagRecords', 1, Number.MAX_SAFE_INTEGER);
  int('maxLagMs', 1, Number.MAX_SAFE_INTEGER);
  int('batch', 1, 100_000);
  int('pollMs', 1, 10_000);
  const c = o.control;
  if (c !== undefined) {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) out.push(`${at}.control: must be an object`);
    else {
      const cc = c as Record<string, unknown>;
      for (const k of Object.keys(cc)) if (!['enabled', 'auth', 'centralTimeoutMs', 'windowMs'].includes(k)) out.push(`${at}.control.${k}: unknown option (known: enabled, auth, centralTimeoutMs, windowMs)`);
      if (cc.enabled !== undefined && typeof cc.enabled !== 'boolean') out.push(`${at}.control.enabled: must be true or false`);
      if (cc.auth !== undefined && cc.auth !== 'token' && cc.auth !== 'nats') out.push(`${at}.control.auth: must be token or nats`);
      for (const k of ['centralTimeoutMs', 'windowMs']) {
        const v = cc[k];
        if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 100)) out.push(`${at}.control.${k}: must be an integer >= 100 (ms)`);
      }
    }
  }
  return out;
}
