/**
 * The exporter's pipelined JetStream publishes (src/scale/nats.ts PipelinedPublisher) against a
 * real `nats-server -js` on 127.0.0.1: one answer per message, in order; a republish within the
 * duplicate window is answered as a duplicate and stored once; a subject no stream takes is an
 * error per message, never a hang; a server gone mid-batch leaves the unanswered ones undefined
 * after the timeout, and the publisher works again once it is back; an answer to an earlier
 * batch never lands on the next one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { PipelinedPublisher, ensureStream, jetstreamManager, natsConnect } from '../src/scale/nats.js';
import { NatsServer, freePort, natsAvailable } from './nats-server.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-pub-'));
let nats: NatsServer;
let nc: NatsConnection;
const opts = () => ({ servers: nats.url, stream: 'PUB', subjectPrefix: 'pub' });
const items = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ msgId: `e:${from + i}`, payload: new TextEncoder().encode(`record ${from + i}`) }));

describe.skipIf(!natsAvailable)('pipelined JetStream publishes', () => {
  beforeAll(async () => {
    nats = new NatsServer(await freePort(), path.join(root, 'nats'));
    await nats.start();
    nc = await natsConnect(opts(), 'pub-test');
    await ensureStream(await jetstreamManager(nc), opts());
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await nats?.kill();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers every message in order; a republish is a duplicate, stored once', async () => {
    const p = new PipelinedPublisher(nc);
    const first = await p.publish('pub.journal.e', items(0, 500), 5000);
    expect(first).toHaveLength(500);
    expect(first.every((r) => r !== undefined && 'duplicate' in r && !r.duplicate)).toBe(true);
    // 400..499 again (an ack lost), then new ones
    const again = await p.publish('pub.journal.e', items(400, 600), 5000);
    expect(again.slice(0, 100).every((r) => r !== undefined && 'duplicate' in r && r.duplicate)).toBe(true);
    expect(again.slice(100).every((r) => r !== undefined && 'duplicate' in r && !r.duplicate)).toBe(true);
    const info = await (await jetstreamManager(nc)).streams.info('PUB');
    expect(info.state.messages).toBe(600);
    // stored in order: the 600th message is record 599
    const last = await (await jetstreamManager(nc)).streams.getMessage('PUB', { last_by_subj: 'pub.journal.e' });
    expect(last?.header.get('Nats-Msg-Id')).toBe('e:599');
    expect(new TextDecoder().decode(last?.data)).toBe('record 599');
    expect(await p.publish('pub.journal.e', [], 1000)).toEqual([]);
    // one batch at a time
    const waiting = p.publish('pub.journal.e', items(0, 10), 5000);
    await expect(p.publish('pub.journal.e', items(0, 10), 5000)).rejects.toThrow(/still waiting/);
    expect((await waiting).every((r) => r !== undefined && 'duplicate' in r && r.duplicate)).toBe(true);
    p.close();
  });

  it('an answer to an earlier batch that timed out never lands on the next one', async () => {
    const p = new PipelinedPublisher(nc);
    // republishes (answered "duplicate") that time out before any answer is back
    const early = await p.publish('pub.journal.e', items(0, 200), 0);
    expect(early.every((r) => r === undefined)).toBe(true);
    // new records: every answer must be this batch's own, none a duplicate
    const next = await p.publish('pub.journal.e', items(600, 800), 5000);
    expect(next.every((r) => r !== undefined && 'duplicate' in r && !r.duplicate)).toBe(true);
    expect((await (await jetstreamManager(nc)).streams.info('PUB')).state.messages).toBe(800);
    p.close();
  });

  it('a subject no stream takes: an error for each message, at once, not a timeout', async () => {
    const p = new PipelinedPublisher(nc);
    const t0 = Date.now();
    const out = await p.publish('nowhere.journal.e', items(0, 3), 5000);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(out.map((r) => (r !== undefined && 'error' in r ? r.error : 'no error'))).toEqual(Array(3).fill('no responders: no stream takes the subject'));
    p.close();
  });

  it('the server gone: what was not answered is undefined after the timeout; after its restart the same publisher is answered again', async () => {
    const port = await freePort();
    const other = new NatsServer(port, path.join(root, 'nats-2'));
    await other.start();
    const o = { servers: other.url, stream: 'PUB2', subjectPrefix: 'pub2' };
    const c = await natsConnect(o, 'pub-test-2');
    await ensureStream(await jetstreamManager(c), o);
    const p = new PipelinedPublisher(c);
    expect((await p.publish('pub2.journal.e', items(0, 10), 5000)).every((r) => r !== undefined && 'duplicate' in r)).toBe(true);
    await other.kill();
    const gone = await p.publish('pub2.journal.e', items(10, 20), 300);
    expect(gone.every((r) => r === undefined)).toBe(true);
    // back: the client reconnects and its reply subscription with it
    await other.start();
    const until = Date.now() + 10_000;
    let back: Awaited<ReturnType<PipelinedPublisher['publish']>> = [];
    while (Date.now() < until) {
      back = await p.publish('pub2.journal.e', items(10, 20), 1000);
      if (back.every((r) => r !== undefined)) break;
    }
    expect(back.every((r) => r !== undefined && 'duplicate' in r)).toBe(true);
    p.close();
    await c.close();
    await other.kill();
  });
});
