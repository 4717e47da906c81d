/**
 * Failure drills over real sockets on 127.0.0.1: the engine with RemoteSimBroker against the
 * TCP simulated broker (in this process, or its own process where a kill -9 matters). Every
 * drill ends by comparing the engine with the broker's own records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { SimBrokerServer } from '../src/brokers/sim/server.js';
import { RemoteSimBroker } from '../src/brokers/sim/remote.js';
import { Secret, type Credentials } from '../src/connectivity/credentials.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { ConnectionOptions } from '../src/connectivity/supervisor.js';
import { REDACT_PATHS } from '../src/ops/logger.js';
import { compareWithBroker } from '../src/recon/compare.js';
import { DEMO_INSTRUMENTS } from '../src/cli/demo.js';
import type { OrderRequest } from '../src/domain/order.js';
import { INSTRUMENTS, drive, until } from './helpers.js';

const SECRET = 'Zq9-tcp-drill-secret-41';
const ACCOUNT = 'drill-acct';
/** Everything the engines, servers and commands of this file wrote: grepped for the secret at the end. */
const written: string[] = [];
const sink = { write: (s: string) => void written.push(s) };
const logger = () => pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
const credentials = (): Credentials => ({ environment: 'sim', account: ACCOUNT, secret: new Secret(SECRET), source: 'test' });

const servers: SimBrokerServer[] = [];
const engines: Engine[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  for (const s of servers.splice(0)) await s.stop();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function simServer(extra: Partial<ConstructorParameters<typeof SimBrokerServer>[0]> = {}) {
  const server = new SimBrokerServer({
    instruments: INSTRUMENTS, credentials: { account: ACCOUNT, secret: new Secret(SECRET) }, marketStepMs: 0, logger: logger(),
    sim: { seed: 21, startPrices: { ACME: 10, LOTS: 20 }, ackLatencyMs: 1, fillLatencyMs: 1 }, ...extra,
  });
  await server.start();
  servers.push(server);
  return server;
}

function tcpEngine(port: number, connection: ConnectionOptions = {}, instruments = INSTRUMENTS) {
  const clock = new ManualClock(Date.now());
  const broker = new RemoteSimBroker({ port, credentials: credentials(), clock });
  const anomalies: Anomaly[] = [];
  const engine = createEngine({
    instruments, broker, clock, environment: 'sim', logger: logger(), onAnomaly: (a) => anomalies.push(a),
    // the broker's clock is the wall clock, ours a manual one: a wide skew bound (skew is drilled in 52)
    connection: { heartbeatMs: 1000, missedHeartbeats: 3, maxClockSkewMs: 600_000, reconnectBaseMs: 20, reconnectCapMs: 500, ...connection },
  });
  engines.push(engine);
  return { clock, broker, engine, anomalies };
}

/** Wait until the engine agrees with the broker (reports may still be on the wire), then assert it. */
async function converged(engine: Engine, broker: RemoteSimBroker, what: string) {
  let last: string[] = [];
  for (let i = 0; i < 200; i++) {
    const c = await compareWithBroker(engine, broker);
    if (c.consistent) return c;
    last = c.problems;
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(last, `${what}: engine and broker disagree`).toEqual([]);
}

const order = (i: number, mid: number): OrderRequest => {
  // a mix: marketable limits bigger than the top of book (partial fills), resting limits, market IOCs
  const k = i % 3;
  if (k === 0) return { clientOrderId: `o-${i}`, symbol: 'ACME', side: i % 2 ? 'sell' : 'buy', qty: 2000, price: +(mid + (i % 2 ? -0.03 : 0.03)).toFixed(2) };
  if (k === 1) return { clientOrderId: `o-${i}`, symbol: 'ACME', side: 'buy', qty: 100, price: +(mid - 0.3).toFixed(2) };
  return { clientOrderId: `o-${i}`, symbol: 'ACME', side: 'sell', type: 'market', tif: 'ioc', qty: 150 };
};

describe('failure drills over TCP', () => {
  it('network outage mid-flow: reconnects, converges, no fill lost or doubled, no order sent twice', async () => {
    const server = await simServer();
    const { engine, broker, clock } = tcpEngine(server.port);
    await engine.start();
    // the wire is unreliable too: duplicated and reordered reports
    server.setFaults({ duplicateReports: 0.1, reorderReports: 0.1 });
    const mid = server.broker.mid('ACME');
    const results = [];
    for (let i = 0; i < 40; i++) {
      if (i === 20) server.drop('outage drill');
      results.push(engine.submit(order(i, mid)));
      await new Promise((r) => setTimeout(r, 1));
    }
    const denied = results.filter((r) => r.status === 'denied');
    expect(denied.every((r) => r.status === 'denied' && r.reason === 'BROKER_NOT_READY')).toBe(true);
    expect(denied.length).toBeGreaterThan(0);
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect after the outage');
    expect(engine.stats().disconnects).toBe(1);
    server.step(3);
    await converged(engine, broker, 'after the outage');
    expect(engine.stats().duplicateReports).toBeGreaterThan(0);
    const atBroker = server.broker.allOrders();
    expect(new Set(atBroker.map((o) => o.clientOrderId)).size).toBe(atBroker.length);
    expect(server.stats.placeMessages).toBe(atBroker.length); // each order reached the broker at most once
    const accepted = results.filter((r) => r.status === 'accepted').map((r) => r.clientOrderId);
    for (const id of accepted) {
      const o = engine.getOrder(id)!;
      // either the broker has it, or recovery proved it never arrived
      expect(atBroker.some((b) => b.clientOrderId === id) || o.rejectReason === 'RECOVERY_NOT_FOUND').toBe(true);
    }
    expect(engine.orders().some((o) => o.cumQty > 0 && o.status === 'PartiallyFilled') || engine.orders().some((o) => o.status === 'Filled')).toBe(true);
  });

  it('broker process killed with -9 and started again: orders and fills survive, the engine converges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-kill-'));
    const stateFile = join(dir, 'broker.state');
    const env = { ...process.env, TRADECORE_SIM_ACCOUNT: ACCOUNT, TRADECORE_SIM_SECRET: SECRET, TRADECORE_LOG_LEVEL: 'warn' };
    const launch = async (port: number) => {
      const child = spawn(process.execPath, ['dist/src/cli/main.js', 'sim-broker', '--port', String(port), '--control-port', '0', '--state-file', stateFile, '--market-step-ms', '0', '--seed', '5'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => written.push(c.toString()));
      await until(() => out.includes('\n'), 15_000, 'sim-broker to listen');
      written.push(out);
      return { child, ...(JSON.parse(out.split('\n')[0]!) as { port: number; controlPort: number; controlToken: string }) };
    };
    const control = (port: number, token: string, cmd: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1' }, () => s.write(`${JSON.stringify({ ...cmd, token })}\n`));
        let text = '';
        s.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('\n')) {
            s.destroy();
            resolve(JSON.parse(text) as Record<string, unknown>);
          }
        });
        s.on('error', reject);
      });

    const first = await launch(0);
    const { engine, broker, clock } = tcpEngine(first.port, {}, DEMO_INSTRUMENTS);
    await engine.start();
    const sym = DEMO_INSTRUMENTS[0]!.symbol;
    for (let i = 0; i < 12; i++) {
      engine.submit(i % 2
        ? { clientOrderId: `k-${i}`, symbol: sym, side: 'buy', type: 'market', tif: 'ioc', qty: 3000 }
        : { clientOrderId: `k-${i}`, symbol: sym, side: 'buy', qty: 100, price: 95 });
    }
    await until(() => engine.orders().every((o) => o.status !== 'PendingNew'), 10_000, 'acks');
    await converged(engine, broker, 'before the kill');
    const tradesBefore = (await broker.syncTodayTrades()).length;
    expect(tradesBefore).toBeGreaterThan(0);

    first.child.kill('SIGKILL');
    await until(() => engine.connectionState !== 'Ready', 10_000, 'the engine to notice');
    expect(engine.submit({ clientOrderId: 'while-dead', symbol: sym, side: 'buy', qty: 100, price: 95 })).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });

    const second = await launch(first.port);
    await drive(clock, () => engine.connectionState === 'Ready', 'reconnect to the restarted broker');
    expect((await broker.syncTodayTrades()).length).toBe(tradesBefore);
    expect((await broker.syncOpenOrders()).length).toBe(6);
    await control(second.controlPort, second.controlToken, { cmd: 'step', n: 2 });
    engine.submit({ clientOrderId: 'after', symbol: sym, side: 'sell', type: 'market', tif: 'ioc', qty: 100 });
    await converged(engine, broker, 'after the restart');
    expect(engine.stats().disconnects).toBe(1);
    expect(await control(second.controlPort, second.controlToken, { cmd: 'status' })).toMatchObject({ ok: true, loggedOn: 1 });
    expect(engine.getOrder('while-dead')).toBeUndefined();
  });

  it('reports delayed beyond the heartbeat: the connection stays Ready and each report applies once', async () => {
    const server = await simServer();
    const { engine, broker, clock } = tcpEngine(server.port);
    await engine.start();
    server.setFaults({ delayReportsMs: 3000 });
    const mid = server.broker.mid('ACME');
    engine.submit(order(0, mid));
    engine.submit(order(2, mid));
    for (let k = 1; k <= 4; k++) {
      clock.advance(1000);
      await until(() => broker.received.heartbeats === k, 10_000, `heartbeat ${k} answered`);
    }
    expect(broker.received.reports).toBe(0); // four heartbeat intervals and no report yet
    expect(engine.connectionState).toBe('Ready');
    await until(() => engine.orders().every((o) => o.status !== 'PendingNew' && o.status !== 'Submitted'), 15_000, 'the delayed reports');
    server.setFaults({});
    await converged(engine, broker, 'after delayed reports');
    expect(engine.stats().disconnects).toBe(0);
    expect(engine.stats().duplicateReports).toBe(0);
  });

  it('auth failure: start fails, a mid-session auth failure ends Halted with a P0 anomaly, reconnect() resumes', async () => {
    const server = await simServer();
    server.setRefuseAuth(true);
    const { engine, broker, clock, anomalies } = tcpEngine(server.port, { authRetries: 1 });
    const failed = engine.start().catch((e: Error) => e.message);
    await drive(clock, () => engine.connectionState === 'Halted', 'Halted at start');
    expect(await failed).toMatch(/authentication failed 2 times: logon refused: AUTH: invalid account or secret/);
    expect(anomalies.filter((a) => a.kind === 'CONNECTION_HALTED').map((a) => a.severity)).toEqual(['P0']);

    server.setRefuseAuth(false);
    await engine.start();
    engine.submit(order(1, server.broker.mid('ACME')));
    server.setRefuseAuth(true);
    server.drop('auth drill');
    await drive(clock, () => engine.connectionState === 'Halted', 'Halted mid-session');
    expect(anomalies.filter((a) => a.kind === 'CONNECTION_HALTED')).toHaveLength(2);
    expect(engine.submit(order(4, 10))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY', detail: 'engine=running connection=Halted' });
    server.setRefuseAuth(false);
    engine.reconnect('auth fixed');
    await drive(clock, () => engine.connectionState === 'Ready', 'Ready after reconnect()');
    await converged(engine, broker, 'after auth drill');
  });

  it('throttling: the broker refuses past its rate and asks to wait; the engine holds new orders until then', async () => {
    const server = await simServer();
    const { engine, broker, clock } = tcpEngine(server.port, { heartbeatMs: 0 });
    await engine.start();
    server.setThrottle({ limit: 3, windowMs: 60_000, retryAfterMs: 2000 });
    const mid = server.broker.mid('ACME');
    for (let i = 1; i <= 4; i++) expect(engine.submit(order(3 * i + 1, mid)).status).toBe('accepted');
    await until(() => engine.getOrder('o-13')?.status === 'Rejected', 10_000, 'the throttled order');
    expect(engine.getOrder('o-13')).toMatchObject({ rejectReason: 'RATE_LIMIT', rejectText: expect.stringMatching(/throttled/) });
    await until(() => engine.stats().throttles === 1, 10_000, 'the throttle message');
    expect(engine.submit(order(16, mid))).toMatchObject({ status: 'denied', reason: 'RATE_LIMIT', detail: 'limit=broker-throttle retryInMs=2000' });
    server.setThrottle(undefined);
    clock.advance(2000);
    expect(engine.submit(order(19, mid)).status).toBe('accepted');
    await converged(engine, broker, 'after throttling');
    expect(server.stats.throttled).toBe(1);
  });

  it('a stalled connection is found by heartbeat: Degraded, then dead, then a fresh connection', async () => {
    const server = await simServer();
    const { engine, broker, clock } = tcpEngine(server.port, { heartbeatMs: 1000, missedHeartbeats: 3 });
    await engine.start();
    const mid = server.broker.mid('ACME');
    engine.submit(order(1, mid));
    await until(() => engine.getOrder('o-1')!.status === 'Submitted', 10_000, 'ack');
    server.stall(true);
    clock.advance(1000); // heartbeat out, into the stall
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(1000);
    expect(engine.connectionState).toBe('Degraded');
    expect(engine.submit(order(4, mid))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });
    clock.advance(2000);
    expect(engine.stats().disconnects).toBe(1);
    await drive(clock, () => engine.connectionState === 'Ready', 'a fresh connection');
    expect(engine.connectionStats().heartbeatsMissed).toBeGreaterThanOrEqual(3);
    engine.submit(order(7, mid));
    await converged(engine, broker, 'after the stall');
    server.stall(false);
  });

  it('check-connection reports the startup checks, and no secret appears anywhere the engine wrote', async () => {
    const server = await simServer();
    const run = (secret: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['dist/src/cli/main.js', 'check-connection', '--port', String(server.port), '--json'], {
          env: { ...process.env, TRADECORE_SIM_ACCOUNT: ACCOUNT, TRADECORE_SIM_SECRET: secret, TRADECORE_LOG_LEVEL: 'trace' },
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('close', (code) => resolve({ code: code ?? -1, out }));
      });
    const ok = await run(SECRET);
    written.push(ok.out);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/"connection": "Ready"/);
    const bad = await run(`${SECRET}-wrong`);
    written.push(bad.out);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/authentication failed/);
    expect(bad.out).not.toContain(`${SECRET}-wrong`);

    // an engine's status objects and errors, printed every way
    const { engine } = tcpEngine(server.port);
    await engine.start();
    written.push(JSON.stringify(engine.stats()), JSON.stringify(engine.connectionHistory()), JSON.stringify(engine.connectionStats()), inspect(engine, { depth: 4 }));
    // everything the drills above wrote too (this test runs last): logs at trace level, errors, status
    expect(written.length).toBeGreaterThan(50);
    expect(written.filter((w) => w.includes(SECRET))).toEqual([]);
  });
});
