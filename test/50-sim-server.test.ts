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
    // port 0: a free one, kept across the restart
    const s = await server({ stateFile, port: 0 });
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

    const port = s.port;
    await s.restart();
    await until(() => c.closed);
    // a server started on port 0 comes back on the port it had, where its clients reconnect (found by the certify suite)
    expect(s.port).toBe(port);
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
    const token = JSON.stringify(s.controlToken);
    const c = await client(s.port);
    await c.logon();
    expect(await ask(`{"cmd":"status","token":${token}}`)).toMatchObject({ ok: true, sessions: 1, loggedOn: 1 });
    expect(await ask('not json')).toMatchObject({ ok: false, error: expect.stringMatching(/unauthorized/) });
    expect(await ask(`{"cmd":"fly","token":${token}}`)).toMatchObject({ ok: false, error: expect.stringMatching(/unknown command/) });
    expect(await ask(`{"cmd":"faults","bogus":1,"token":${token}}`)).toMatchObject({ ok: false, error: expect.stringMatching(/unknown fault/) });
    expect(await ask(`{"cmd":"throttle","limit":-1,"windowMs":0,"token":${token}}`)).toMatchObject({ ok: false });
    expect(await ask(`{"cmd":"drop","token":${token}}`)).toMatchObject({ ok: true, dropped: 1 });
    await until(() => c.closed);
    expect(await ask(`{"cmd":"records","token":${token}}`)).toMatchObject({ ok: true, orders: [], trades: [] });
  });
});

describe('the server at its bounds', () => {
  it('cuts off a client that never reads at a bounded buffer, and keeps serving the others', async () => {
    const s = await server({ maxOutboundBytes: 256 * 1024 });
    const reader = await client(s.port);
    await reader.logon();
    const deaf = await client(s.port);
    await deaf.logon();
    deaf.socket.pause(); // reads nothing from here on
    // a day's worth of orders, then the deaf client asks for them again and again
    for (let i = 0; i < 3000; i++) reader.send({ t: 'place', order: { clientOrderId: `o-${i}`, symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 1, price: 9 } });
    await until(() => s.broker.allOrders().length === 3000);
    for (let i = 0; i < 200 && s.stats.slowConsumers === 0; i++) {
      deaf.send({ t: 'sync', id: 1000 + i, what: 'orders' });
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => s.stats.slowConsumers === 1, 10_000, 'the deaf client to be cut off');
    await until(() => s.sessionCount === 1);
    // the one that reads still gets its answers
    expect((await reader.ask({ t: 'heartbeat' })).t).toBe('heartbeat_ack');
  });

  it('holds no large frame before logon, and closes a session that does not log on in time', async () => {
    const s = await server({ logonTimeoutMs: 200 });
    const big = await client(s.port);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1 << 20, 0); // a 1 MiB frame announced by a stranger
    big.socket.write(head);
    big.socket.write(Buffer.alloc(64 * 1024));
    await until(() => big.closed);
    expect(big.got.find((m) => m.t === 'error')).toMatchObject({ code: 'TOO_LARGE', fatal: true });
    const quiet = await client(s.port);
    quiet.socket.write(Buffer.from([0, 0, 0, 50, 1, 2])); // part of a small frame, then nothing
    await until(() => quiet.closed, 5000, 'the silent session to be closed');
    expect(quiet.got.find((m) => m.t === 'error')).toMatchObject({ code: 'LOGON_TIMEOUT' });
    expect(s.stats.logonTimeouts).toBe(1);
    // once logged on, a session may send frames up to the full limit
    const ok = await client(s.port);
    await ok.logon();
    expect((await ok.ask({ t: 'heartbeat', pad: 'y'.repeat(100_000) })).t).toBe('heartbeat_ack');
  });

  it('rate-limits failed logons per address: a burst is checked, the rest refused unchecked', async () => {
    const s = await server({ failedLogonBurst: 5, failedLogonsPerSecond: 1 });
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await client(s.port);
      const r = await c.logon(`wrong-${i}`);
      codes.push(String(r.code));
    }
    expect(codes.slice(0, 5)).toEqual(['AUTH', 'AUTH', 'AUTH', 'AUTH', 'AUTH']);
    expect(new Set(codes.slice(5))).toEqual(new Set(['THROTTLED']));
    expect(s.stats.authFailures).toBe(5);
    expect(s.stats.logonsThrottled).toBe(35);
    // the right secret is refused too while the address is locked out, and taken once it refills
    const locked = await client(s.port);
    expect((await locked.logon()).code).toBe('THROTTLED');
    await new Promise((r) => setTimeout(r, 1100));
    const later = await client(s.port);
    expect((await later.logon()).t).toBe('logon_ok');
  });

  it('takes control commands only with its token, on loopback only, whatever host the client port has', async () => {
    const s = await server({ controlPort: 0, host: '0.0.0.0', controlToken: new Secret('drill-token-1') });
    expect(s.controlToken).toBe('drill-token-1');
    const addr = (s as unknown as { control: { address(): { address: string } } }).control.address();
    expect(addr.address).toBe('127.0.0.1');
    const ctl = connect({ port: s.controlPort, host: '127.0.0.1' });
    sockets.push(ctl);
    let text = '';
    ctl.on('data', (c: Buffer) => (text += c.toString()));
    let closed = false;
    ctl.on('close', () => (closed = true));
    const c = await client(s.port);
    await c.logon();
    ctl.write('{"cmd":"drop"}\n');
    await until(() => text.includes('\n'));
    expect(JSON.parse(text)).toEqual({ ok: false, error: 'unauthorized: every control line carries the control token as "token"' });
    expect(c.closed).toBe(false);
    ctl.write('{"cmd":"drop","token":"guess"}\n{"cmd":"drop","token":"guess-2"}\n');
    await until(() => closed, 5000, 'a guessing control connection to be closed');
    expect(s.stats.controlRefused).toBe(3);
    expect(s.sessionCount).toBe(1);
  });
});
