import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNC_PAGE, SimBrokerServer } from '../src/brokers/sim/server.js';
import { RemoteSimBroker } from '../src/brokers/sim/remote.js';
import { encodeFrame, FrameDecoder, FrameError, PROTOCOL_VERSION, type WireMessage } from '../src/brokers/sim/wire.js';
import { Secret } from '../src/connectivity/credentials.js';
import { INSTRUMENTS, until } from './helpers.js';

const CREDS = { account: 'acct-1', secret: new Secret('wire-secret-1') };
const servers: SimBrokerServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.stop();
});

async function server(extra: Partial<ConstructorParameters<typeof SimBrokerServer>[0]> = {}): Promise<SimBrokerServer> {
  const s = new SimBrokerServer({ instruments: INSTRUMENTS, credentials: CREDS, marketStepMs: 0, sim: { seed: 3, startPrices: { ACME: 10, LOTS: 20 } }, ...extra });
  await s.start();
  servers.push(s);
  return s;
}

/** A raw protocol client: collects every message and notices the close. */
async function client(port: number) {
  const socket = connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new FrameDecoder();
  const got: WireMessage[] = [];
  let closed = false;
  socket.on('data', (c: Buffer) => got.push(...decoder.push(c)));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  let id = 1;
  return {
    got,
    socket,
    get closed() {
      return closed;
    },
    send(m: WireMessage) {
      socket.write(encodeFrame(m));
    },
    async ask(m: WireMessage): Promise<WireMessage> {
      const n = id++;
      socket.write(encodeFrame({ ...m, id: n }));
      await until(() => got.some((g) => g.id === n));
      return got.find((g) => g.id === n)!;
    },
    async logon(secret = 'wire-secret-1') {
      return this.ask({ t: 'logon', version: PROTOCOL_VERSION, environment: 'sim', account: 'acct-1', secret });
    },
  };
}

describe('frame decoder', () => {
  it('splits frames across chunks and joins several in one chunk', () => {
    const d = new FrameDecoder();
    const a = encodeFrame({ t: 'a', n: 1 });
    const b = encodeFrame({ t: 'b', s: 'x'.repeat(300) });
    const both = Buffer.concat([a, b]);
    expect(d.push(both.subarray(0, 3))).toEqual([]);
    expect(d.push(both.subarray(3, a.length + 10))).toEqual([{ t: 'a', n: 1 }]);
    expect(d.push(both.subarray(a.length + 10))).toEqual([{ t: 'b', s: 'x'.repeat(300) }]);
    expect(d.buffered).toBe(0);
  });

  it('refuses an oversized length before reading the body', () => {
    const d = new FrameDecoder(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025);
    expect(() => d.push(head)).toThrow(FrameError);
    expect(() => new FrameDecoder(1024).push(head)).toThrow(/exceeds the limit of 1024 bytes/);
  });

  it('refuses a body that is not a map with a string t', () => {
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    expect(() => new FrameDecoder().push(frame(Buffer.from([0x93, 1, 2, 3])))).toThrow(/map with a string "t"/); // [1,2,3]
    expect(() => new FrameDecoder().push(frame(Buffer.from([0xc1])))).toThrow(FrameError); // never-used byte
  });
});

describe('sim broker server', () => {
  it('answers a long sync in pages below the frame limit, which the adapter joins', async () => {
    const s = await server();
    const n = 2 * SYNC_PAGE + 500;
    // resting orders far from the market: each one an open order at the broker
    for (let i = 0; i < n; i++) s.broker.placeOrder({ clientOrderId: `p-${i}`, symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 100, price: 9.5, protectionPrice: undefined });
    const c = await client(s.port);
    await c.logon();
    const first = await c.ask({ t: 'sync', what: 'orders' });
    expect(first).toMatchObject({ t: 'sync_result', more: true });
    expect((first.items as unknown[]).length).toBe(SYNC_PAGE);
    const adapter = new RemoteSimBroker({ port: s.port, credentials: { environment: 'sim', account: CREDS.account, secret: CREDS.secret, source: 'test' } });
    await adapter.connect({ onReport: () => {}, onDisconnect: () => {} });
    const day = await adapter.syncDayOrders();
    expect(day.map((o) => o.clientOrderId)).toEqual(Array.from({ length: n }, (_, i) => `p-${i}`));
    expect((await adapter.syncOpenOrders()).length).toBe(n);
    await adapter.disconnect();
  });

  it('logs on, answers heartbeats and syncs, and refuses a wrong secret or environment', async () => {
    const s = await server();
    const c = await client(s.port);
    expect(await c.logon()).toMatchObject({ t: 'logon_ok', environment: 'sim' });
    const hb = await c.ask({ t: 'heartbeat' });
    expect(hb.t).toBe('heartbeat_ack');
    expect(Math.abs(Number(hb.time) - Date.now())).toBeLessThan(60_000);
    expect(await c.ask({ t: 'sync', what: 'open' })).toMatchObject({ t: 'sync_result', items: [] });
    expect(await c.ask({ t: 'sync', what: 'nonsense' })).toMatchObject({ t: 'error', code: 'BAD_REQUEST' });

    const bad = await client(s.port);
    expect(await bad.logon('wrong')).toMatchObject({ t: 'logon_rejected', code: 'AUTH' });
    await until(() => bad.closed);
    const live = await client(s.port);
    expect(await live.ask({ t: 'logon', version: PROTOCOL_VERSION, environment: 'live', account: 'acct-1', secret: 'wire-secret-1' })).toMatchObject({ t: 'logon_rejected', code: 'ENVIRONMENT' });
    const old = await client(s.port);
    expect(await old.ask({ t: 'logon', version: 0, environment: 'sim', account: 'acct-1', secret: 'wire-secret-1' })).toMatchObject({ t: 'logon_rejected', code: 'VERSION' });
    expect(s.stats.authFailures).toBe(1);
  });

  it('answers requests before logon and unknown types with an error, and keeps the session', async () => {
    const s = await server();
    const c = await client(s.port);
    expect(await c.ask({ t: 'heartbeat' })).toMatchObject({ t: 'error', code: 'NOT_LOGGED_ON', fatal: false });
    await c.logon();
    expect(await c.ask({ t: 'teleport' })).toMatchObject({ t: 'error', code: 'UNKNOWN_TYPE', fatal: false });
    expect(await c.ask({ t: 'heartbeat' })).toMatchObject({ t: 'heartbeat_ack' });
  });

  it('rejects a malformed place with a report and never a crash', async () => {
    const s = await server();
    const c = await client(s.port);
    await c.logon();
    c.send({ t: 'place', order: { clientOrderId: 'bad-1', symbol: 'ACME', side: 'up', type: 'limit', tif: 'day', qty: 1, price: 10 } });
    await until(() => c.got.some((m) => m.t === 'report'));
    expect(c.got.find((m) => m.t === 'report')!.report).toMatchObject({ kind: 'rejected', clientOrderId: 'bad-1', reason: 'INVALID_ORDER' });
    expect(s.broker.allOrders()).toEqual([]);
  });

  it('closes a connection that sends garbage or an oversized length, and keeps serving the others', async () => {
    const s = await server({ maxFrameBytes: 4096 });
    const good = await client(s.port);
    await good.logon();
    const garbage = await client(s.port);
    garbage.socket.write(Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]));
    await until(() => garbage.closed);
    expect(garbage.got).toEqual([expect.objectContaining({ t: 'error', code: 'MALFORMED', fatal: true })]);
    const huge = await client(s.port);
    huge.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await until(() => huge.closed);
    expect(huge.got).toEqual([expect.objectContaining({ t: 'error', code: 'TOO_LARGE', fatal: true })]);
    expect(s.stats.malformedFrames).toBe(2);
    expect(await good.ask({ t: 'heartbeat' })).toMatchObject({ t: 'heartbeat_ack' });
    expect(good.closed).toBe(false);
  });

  it('keeps orders and fills across a restart from its state file; sessions are lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-sim-'));
    const stateFile = join(dir, 'state.bin');
    const s = await server({ stateFile });
    const c = await client(s.port);
    await c.logon();
    c.send({ t: 'place', order: { clientOrderId: 'r-1', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 100, price: 9.5 } });
    c.send({ t: 'place', order: { clientOrderId: 'r-2', symbol: 'ACME', side: 'buy', type: 'market', tif: 'ioc', qty: 30, price: Number.NaN } });
    await until(() => s.broker.allOrders().length === 2 && c.got.filter((m) => m.t === 'report').length >= 3);
    const before = { orders: s.broker.allOrders(), trades: await s.broker.syncTodayTrades() };
    expect(before.trades.length).toBeGreaterThan(0);

    // a second server process would read the same file: a fresh object proves it is on disk
    const again = new SimBrokerServer({ instruments: INSTRUMENTS, credentials: CREDS, marketStepMs: 0, stateFile });
    expect(again.broker.allOrders()).toEqual(before.orders);
    expect(await again.broker.syncTodayTrades()).toEqual(before.trades);

    await s.restart();
    await until(() => c.closed);
    expect(s.broker.allOrders()).toEqual(before.orders);
    const c2 = await client(s.port);
    await c2.logon();
    const open = await c2.ask({ t: 'sync', what: 'open' });
    expect((open.items as { clientOrderId: string }[]).map((o) => o.clientOrderId)).toEqual(['r-1']);
    // ids keep counting: a new order does not reuse a broker order id
    c2.send({ t: 'place', order: { clientOrderId: 'r-3', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 100, price: 9.5 } });
    await until(() => s.broker.allOrders().length === 3);
    expect(new Set(s.broker.allOrders().map((o) => o.brokerOrderId)).size).toBe(3);
  });

  it('loses the reports queued before a restart instead of sending them to the new sessions', async () => {
    const s = await server({ sim: { seed: 3, startPrices: { ACME: 10, LOTS: 20 }, ackLatencyMs: 150 } });
    const c = await client(s.port);
    await c.logon();
    c.send({ t: 'place', order: { clientOrderId: 'q-1', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 100, price: 9.5 } });
    await until(() => s.broker.allOrders().length === 1);
    await s.restart();
    const c2 = await client(s.port);
    await c2.logon();
    await new Promise((r) => setTimeout(r, 300)); // past the old ack's due time
    expect(c2.got.filter((m) => m.t === 'report')).toEqual([]);
    expect(s.broker.allOrders().map((o) => o.clientOrderId)).toEqual(['q-1']); // the order itself survived
  });

  it('takes fault drills over its JSON-lines control port', async () => {
    const s = await server({ controlPort: 0 });
    const ctl = connect({ port: s.controlPort, host: '127.0.0.1' });
    sockets.push(ctl);
    let text = '';
    ctl.on('data', (c: Buffer) => (text += c.toString()));
    const ask = async (line: string) => {
      const n = text.split('\n').length;
      ctl.write(`${line}\n`);
      await until(() => text.split('\n').length > n);
      return JSON.parse(text.split('\n')[n - 1]!) as Record<string, unknown>;
    };
    const c = await client(s.port);
    await c.logon();
    expect(await ask('{"cmd":"status"}')).toMatchObject({ ok: true, sessions: 1, loggedOn: 1 });
    expect(await ask('not json')).toMatchObject({ ok: false, error: expect.stringMatching(/one JSON object per line/) });
    expect(await ask('{"cmd":"fly"}')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown command/) });
    expect(await ask('{"cmd":"faults","bogus":1}')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown fault/) });
    expect(await ask('{"cmd":"throttle","limit":-1,"windowMs":0}')).toMatchObject({ ok: false });
    expect(await ask('{"cmd":"drop"}')).toMatchObject({ ok: true, dropped: 1 });
    await until(() => c.closed);
    expect(await ask('{"cmd":"records"}')).toMatchObject({ ok: true, orders: [], trades: [] });
  });
});
