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
import { connect, createInbox, credsAuthenticator, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
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
  // noAsyncTraces: no stack captured per request (a JetStream publish is one); with them a publish cost ~20 µs of Error construction (bench/export.ts)
  return connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 5000, noAsyncTraces: true, ...auth });
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

const DUPLICATE = /"duplicate":\s*true/;

/** The stream's answer to one publish: stored (perhaps as a duplicate), refused, or none in time. */
export type PublishOutcome = { duplicate: boolean } | { error: string } | undefined;

/**
 * JetStream publishes pipelined on one reply subscription: each message is a plain publish
 * whose reply subject is `<inbox>.<batch>.<index>`, and the stream's acknowledgements are
 * matched by that subject, with one timer per batch. The client's `js.publish` is a request
 * each, with its own timer, reply token and two Error objects: 27,000 records/s on the bench
 * machine, where this does 62,000 (bench/export.ts `floor`).
 */
export class PipelinedPublisher {
  private readonly prefix = createInbox();
  private readonly headers = headers();
  private readonly sub: Subscription;
  private batchNo = 0;
  private pending: { no: number; out: PublishOutcome[]; left: number; done: () => void } | undefined;

  constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*.*`, { callback: (err, msg) => (err === null ? this.onAck(msg) : undefined) });
  }

  /**
   * Publish `items` to `subject`, each with its `Nats-Msg-Id`, and wait for every answer, up
   * to `timeoutMs` after the last was sent; the result has one entry per item, in order. One
   * batch at a time: a call while another waits rejects.
   */
  async publish(subject: string, items: ReadonlyArray<{ msgId: string; payload: Uint8Array }>, timeoutMs: number): Promise<PublishOutcome[]> {
    if (this.pending !== undefined) throw new Error('PipelinedPublisher.publish: a batch is still waiting for its answers');
    const no = ++this.batchNo;
    const out: PublishOutcome[] = new Array<PublishOutcome>(items.length).fill(undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<void>((resolve) => {
      this.pending = { no, out, left: items.length, done: resolve };
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      // one header set and one options object for the batch: the client encodes both within publish
      const opts = { reply: '', headers: this.headers };
      for (let i = 0; i < items.length; i++) {
        this.headers.set('Nats-Msg-Id', items[i]!.msgId);
        opts.reply = `${this.prefix}.${no}.${i}`;
        this.nc.publish(subject, items[i]!.payload, opts);
      }
      if (items.length === 0) this.pending!.done();
      await answered;
    } finally {
      clearTimeout(timer);
      this.pending = undefined;
    }
    return out;
  }

  private onAck(msg: Msg): void {
    const p = this.pending;
    const at = msg.subject.lastIndexOf('.');
    const i = Number(msg.subject.slice(at + 1));
    // an answer to an earlier batch (it timed out) is dropped: that batch was retried from its first unanswered record
    if (p === undefined || Number(msg.subject.slice(this.prefix.length + 1, at)) !== p.no || !(i >= 0 && i < p.out.length) || p.out[i] !== undefined) return;
    let outcome: PublishOutcome;
    try {
      const text = msg.string();
      // the common answer, {"stream":"S", "seq":N} or with ,"duplicate": true (nats-server's spacing), without a JSON parse (a third of the exporter's time)
      if (text.startsWith('{"stream":"') && !text.includes('"error"')) outcome = { duplicate: DUPLICATE.test(text) };
      else {
        const a = JSON.parse(text) as { stream?: string; duplicate?: boolean; error?: { description?: string; code?: number } };
        outcome = a.error !== undefined ? { error: `${a.error.description ?? 'refused'} (${a.error.code ?? '?'})` } : a.stream ? { duplicate: a.duplicate === true } : { error: 'invalid ack response' };
      }
    } catch {
      // a status message (503: no stream takes the subject) has no JSON body
      outcome = { error: msg.headers?.code === 503 ? 'no responders: no stream takes the subject' : 'unreadable ack' };
    }
    p.out[i] = outcome;
    if (--p.left === 0) p.done();
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
