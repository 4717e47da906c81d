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

export { NATS_DEFAULTS, isToken, natsProblems, natsWithDefaults, type NatsOptions } from './options.js';
import { natsWithDefaults, type NatsOptions } from './options.js';

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
