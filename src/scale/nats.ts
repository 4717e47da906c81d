/**
 * The NATS side shared by the drop-copy exporter, the engine's firm link and central
 * (docs/scale-out.md): options and their checks, the connection, the stream and the subjects.
 *
 * Subjects, under `subjectPrefix` (default `tradecore`):
 * - `<prefix>.journal.<engineId>`: every journal record of that engine, in seq order, with
 *   `Nats-Msg-Id: <engineId>:<seq>` (the stream's duplicate window drops a republish);
 * - `<prefix>.control.<engineId>` and `<prefix>.control.all`: central's control messages.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';

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

export const journalSubject = (prefix: string, engineId: string) => `${prefix}.journal.${engineId}`;
export const controlSubject = (prefix: string, target: string) => `${prefix}.control.${target}`;

/**
 * Connect. A first attempt that fails rejects (the caller retries on its own schedule); once
 * connected, the client reconnects by itself for ever.
 */
export async function natsConnect(o: NatsOptions, name: string): Promise<NatsConnection> {
  const servers = typeof o.servers === 'string' ? [o.servers] : o.servers;
  const auth = o.credentials !== undefined ? { authenticator: credsAuthenticator(readFileSync(o.credentials)) } : {};
  return connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000, ...auth });
}

/** Make sure the stream exists and takes the journal subjects; creates it when missing. */
export async function ensureStream(jsm: JetStreamManager, o: NatsOptions): Promise<void> {
  const n = natsWithDefaults(o);
  const subject = `${n.subjectPrefix}.journal.>`;
  let info;
  try {
    info = await jsm.streams.info(n.stream);
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
  }
  if (info === undefined) {
    try {
      await jsm.streams.add({ name: n.stream, subjects: [subject], storage: 'file' as never, duplicate_window: n.duplicateWindowMs * 1e6, num_replicas: n.replicas });
    } catch (err) {
      // another process created it in the meantime
      if (!/already in use|exists/i.test((err as Error).message)) throw err;
    }
    return;
  }
  if (!info.config.subjects?.includes(subject)) throw new Error(`stream ${n.stream} exists but does not take ${subject} (its subjects: ${(info.config.subjects ?? []).join(', ')})`);
}

/** The stream's last message on `subject`, or undefined when it has none. */
export async function lastOnSubject(jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMsg | undefined> {
  try {
    return (await jsm.streams.getMessage(stream, { last_by_subj: subject })) ?? undefined;
  } catch (err) {
    if (/no message found|not found/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** `engineId:seq` of a Nats-Msg-Id, or undefined. */
export function parseMsgId(id: string | undefined): { engineId: string; seq: number } | undefined {
  if (id === undefined) return undefined;
  const at = id.lastIndexOf(':');
  if (at <= 0) return undefined;
  const seq = Number(id.slice(at + 1));
  return Number.isInteger(seq) && seq >= 0 ? { engineId: id.slice(0, at), seq } : undefined;
}

export { jetstreamManager };
