import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import type { EngineConfig } from '../src/config.js';
import { REDACT_PATHS } from '../src/ops/logger.js';
import { AlertManager, webhookSink, type AlertSink } from '../src/ops/alerts.js';
import { LatencyHistogram } from '../src/ops/latency.js';
import { engineMetrics, LATENCY_BUCKETS_US } from '../src/ops/metrics.js';
import { Monitor, type MonitorOptions } from '../src/ops/monitor.js';
import { OpsServer } from '../src/ops/server.js';
import { INSTRUMENTS, ScriptedBroker, asBrokerOrder, drive, quiet, settle, until } from './helpers.js';
import { SimBrokerServer } from '../src/brokers/sim/server.js';
import { RemoteSimBroker } from '../src/brokers/sim/remote.js';
import { Secret } from '../src/connectivity/credentials.js';

const T0 = Date.UTC(2026, 10, 25, 14, 30);
const TOKEN = 'ops-token-0123456789abcdef';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Pino lines, parsed. */
function captured() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { lines, logger };
}

async function setup(extra: Partial<EngineConfig> = {}, monitor: MonitorOptions = {}) {
  const clock = new ManualClock(T0);
  const broker = new ScriptedBroker();
  broker.clock = clock;
  const log = captured();
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, clock, logger: log.logger,
    risk: { default: { maxOrderQty: 1000 } },
    connection: { heartbeatMs: 0, reconnectBaseMs: 10, reconnectCapMs: 20 },
    strategy: { onOrder: () => {}, onTrade: () => {}, onExecutionReport: () => {} },
    ...extra,
  });
  await engine.start();
  const mon = new Monitor(engine, { lagSource: () => 0, ...monitor });
  cleanups.push(() => mon.stop(), () => engine.stop());
  return { clock, broker, engine, monitor: mon, log };
}

/** A strict reader of the Prometheus text format: families with HELP and TYPE, samples, histograms checked. */
function parseProm(text: string) {
  const families = new Map<string, { type: string; help: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>();
  const lines = text.split('\n');
  expect(lines.at(-1)).toBe('');
  let current: string | undefined;
  for (const line of lines.slice(0, -1)) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      families.set(m[1]!, { type: '', help: m[2]!, samples: [] });
      current = m[1]!;
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      expect(m[1], line).toBe(current);
      families.get(m[1]!)!.type = m[2]!;
      continue;
    }
    // NaN in any case: Prometheus parses values with Go's ParseFloat, and prom-client writes "Nan"
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|[Nn][Aa][Nn]))$/.exec(line);
    expect(m, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const [, name, labelText, value] = m!;
    const fam = families.get(current!)!;
    expect(name!.startsWith(current!), `${name} outside its family ${current}`).toBe(true);
    const labels: Record<string, string> = {};
    for (const lm of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    fam.samples.push({ name: name!, labels, value: Number(value) });
  }
  for (const [name, f] of families) {
    expect(f.type, `${name} has no TYPE`).not.toBe('');
    if (f.type === 'counter') expect(name.endsWith('_total'), `${name}: a counter named _total`).toBe(true);
    // a labelled histogram nothing was observed in yet (prom-client's nodejs_gc_duration_seconds early on) has no samples
    if (f.type === 'histogram' && f.samples.length > 0) {
      expect(name.endsWith('_seconds')).toBe(true);
      const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
      const counts = buckets.map((b) => b.value);
      expect([...counts].sort((a, b) => a - b), `${name} buckets are cumulative`).toEqual(counts);
      expect(buckets.at(-1)!.labels.le).toBe('+Inf');
      expect(buckets.at(-1)!.value).toBe(f.samples.find((s) => s.name === `${name}_count`)!.value);
    }
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const fam = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    const s = fam?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    if (s === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
    return s.value;
  };
  return { families, value };
}

describe('metrics of a scripted session', () => {
  it('every counter has its exact value, histogram counts equal event counts, and /metrics parses', async () => {
    const { clock, broker, engine, monitor } = await setup({ reportTimingEvery: 1 });
    const sub = (id: string, qty = 10, price = 10) => engine.submit({ clientOrderId: id, symbol: 'ACME', side: 'buy', qty, price });
    for (const id of ['o1', 'o2', 'o3', 'o4', 'o5']) expect(sub(id).status).toBe('accepted');
    expect(sub('big', 5000)).toMatchObject({ status: 'denied', reason: 'MAX_ORDER_QTY' });
    expect(sub('odd', 10, 10.001)).toMatchObject({ status: 'denied', reason: 'INVALID_PRICE' });
    expect(sub('o1').status).toBe('duplicate');
    clock.advance(2);
    broker.ack('o1', 'B1');
    broker.ack('o2', 'B2');
    broker.ack('o3', 'B3');
    broker.send({ kind: 'rejected', clientOrderId: 'o4', brokerOrderId: 'B4', reason: 'INSUFFICIENT_FUNDS' });
    broker.fill('o5', 'B5', 10, 10); // a fill before any ack: the broker took it
    broker.send({ kind: 'new', clientOrderId: 'o1', brokerOrderId: 'B1', execId: 'X1' }); // duplicate
    broker.send({ kind: 'canceled', clientOrderId: 'o5', brokerOrderId: 'B5' }); // invalid: o5 is Filled
    expect(engine.cancel('o2').status).toBe('sent');
    expect(engine.cancel('o3').status).toBe('sent');
    expect(engine.cancel('o2').status).toBe('ignored');
    clock.advance(1);
    broker.send({ kind: 'canceled', clientOrderId: 'o2', brokerOrderId: 'B2' });
    broker.send({ kind: 'cancel_rejected', clientOrderId: 'o3', brokerOrderId: 'B3', text: 'too late' });
    // a disconnect, then the reconnect; the broker's records agree, so its sync changes nothing
    broker.syncOpenOrders = async () =>
      engine.openOrders().map((o) => asBrokerOrder(o));
    broker.sink!.onDisconnect('cable pulled');
    await drive(clock, () => engine.connectionState === 'Ready', 'the reconnect', 5);

    const prom = parseProm(await engineMetrics(engine, monitor).metrics());
    const v = prom.value;
    expect({
      placed: v('tradecore_orders_placed_total'),
      acked: v('tradecore_orders_acked_total'),
      cancelsSent: v('tradecore_cancels_sent_total'),
      cancelsConfirmed: v('tradecore_cancels_confirmed_total'),
      cancelRejects: v('tradecore_cancel_rejects_total'),
      dupSubmits: v('tradecore_duplicate_submits_total'),
      reports: v('tradecore_reports_total'),
      dupReports: v('tradecore_duplicate_reports_total'),
      stale: v('tradecore_stale_reports_total'),
      invalid: v('tradecore_invalid_transitions_total'),
      fills: v('tradecore_fills_total'),
      disconnects: v('tradecore_disconnects_total'),
      reconnects: v('tradecore_reconnects_total'),
      deniedQty: v('tradecore_denies_total', { reason: 'MAX_ORDER_QTY' }),
      deniedPrice: v('tradecore_denies_total', { reason: 'INVALID_PRICE' }),
      rejected: v('tradecore_rejects_total', { reason: 'INSUFFICIENT_FUNDS' }),
      placeSuccess: v('tradecore_place_success_ratio'),
      cancelSuccess: v('tradecore_cancel_success_ratio'),
      open: v('tradecore_open_orders'),
      ready: v('tradecore_connection_state', { state: 'Ready' }),
      halted: v('tradecore_connection_state', { state: 'Halted' }),
      active: v('tradecore_trading_state', { state: 'Active' }),
      isReady: v('tradecore_ready'),
    }).toEqual({
      placed: 5, acked: 4, cancelsSent: 2, cancelsConfirmed: 1, cancelRejects: 1, dupSubmits: 1,
      reports: 9, dupReports: 1, stale: 0, invalid: 1, fills: 1, disconnects: 1, reconnects: 1,
      deniedQty: 1, deniedPrice: 1, rejected: 1, placeSuccess: 4 / 5, cancelSuccess: 1 / 2,
      open: 2, ready: 1, halted: 0, active: 1, isReady: 1,
    });
    // histograms: one value per event
    expect(v('tradecore_order_ack_seconds_count')).toBe(3); // o1, o2, o3 (o5 filled without an ack)
    expect(v('tradecore_order_first_fill_seconds_count')).toBe(1);
    expect(v('tradecore_report_handling_seconds_count')).toBe(9); // every report
    expect(v('tradecore_strategy_callback_seconds_count')).toBe(7); // reports applied (not the duplicate, not the invalid one)
    // the acks took 2 ms on the manual clock: all in the 2.5 ms bucket, none in the 1 ms one
    expect(v('tradecore_order_ack_seconds_bucket', { le: '0.001' })).toBe(0);
    expect(v('tradecore_order_ack_seconds_bucket', { le: '0.0025' })).toBe(3);
    expect(v('tradecore_order_ack_seconds_sum')).toBeCloseTo(0.006, 5);
    expect(engine.latency().ack.count).toBe(3);
    expect(engine.latency().ack.p50).toBeCloseTo(2000, -1); // 2 ms, to the HDR precision
  });
});

describe('metrics of a session with the TCP simulated broker', () => {
  it('known rejects, cancels, a disconnect and a refused logon: exact counters and the P0 alerts', async () => {
    const creds = { account: 'mon', secret: new Secret('mon-secret') };
    const server = new SimBrokerServer({
      instruments: INSTRUMENTS, credentials: creds, marketStepMs: 0, logger: quiet(),
      sim: { seed: 11, startPrices: { ACME: 10, LOTS: 20 }, ackLatencyMs: 0, fillLatencyMs: 0 },
    });
    await server.start();
    cleanups.push(() => server.stop());
    const clock = new ManualClock(Date.now());
    const broker = new RemoteSimBroker({ port: server.port, credentials: { environment: 'sim', ...creds, source: 'test' }, clock });
    const engine = createEngine({
      instruments: INSTRUMENTS, broker, clock, environment: 'sim', logger: quiet(), risk: { default: { maxOrderQty: 1000 } }, reportTimingEvery: 1,
      connection: { heartbeatMs: 0, maxClockSkewMs: 600_000, reconnectBaseMs: 10, reconnectCapMs: 20, authRetries: 5 },
    });
    await engine.start();
    const monitor = new Monitor(engine, { lagSource: () => 0, disconnectedMs: 1000 });
    cleanups.push(() => monitor.stop(), () => engine.stop());
    const sub = (id: string, price: number, qty = 10) => engine.submit({ clientOrderId: id, symbol: 'ACME', side: 'buy', qty, price });
    expect(sub('r1', 9.5).status).toBe('accepted'); // rests
    expect(sub('r2', 9.6).status).toBe('accepted'); // rests
    expect(sub('far', 5).status).toBe('accepted'); // outside the sim's price band: rejected there
    expect(sub('big', 9.5, 5000)).toMatchObject({ status: 'denied', reason: 'MAX_ORDER_QTY' });
    await until(() => engine.getOrder('r2')?.status === 'Submitted' && engine.getOrder('far')?.status === 'Rejected', 5000, 'acks');
    expect(sub('r1', 9.5).status).toBe('duplicate');
    expect(engine.cancel('r1').status).toBe('sent');
    expect(engine.cancel('r2').status).toBe('sent');
    await until(() => engine.openOrders().length === 0, 5000, 'cancels');
    // the connection drops; the first logons after it are refused, then it comes back
    server.setRefuseAuth(true);
    server.drop('monitoring drill');
    await drive(clock, () => engine.connectionStats().authFailures >= 1, 'a refused logon', 5);
    server.setRefuseAuth(false);
    await drive(clock, () => engine.connectionState === 'Ready', 'the reconnect', 5);
    expect(monitor.alerts.recent().map((a) => [a.code, a.level, a.state])).toEqual(expect.arrayContaining([['AUTH_FAILED', 'P0', 'resolved']]));
    const v = parseProm(await engineMetrics(engine, monitor).metrics()).value;
    const cs = engine.connectionStats();
    expect({
      placed: v('tradecore_orders_placed_total'), acked: v('tradecore_orders_acked_total'), rejected: v('tradecore_rejects_total', { reason: 'PRICE_BAND' }),
      denied: v('tradecore_denies_total', { reason: 'MAX_ORDER_QTY' }), dupSubmits: v('tradecore_duplicate_submits_total'),
      cancelsSent: v('tradecore_cancels_sent_total'), cancelsConfirmed: v('tradecore_cancels_confirmed_total'), cancelSuccess: v('tradecore_cancel_success_ratio'),
      reports: v('tradecore_reports_total'), disconnects: v('tradecore_disconnects_total'), reconnects: v('tradecore_reconnects_total'),
      open: v('tradecore_open_orders'), ready: v('tradecore_connection_state', { state: 'Ready' }), p0Open: v('tradecore_alerts_open', { level: 'P0' }),
    }).toEqual({
      placed: 3, acked: 2, rejected: 1, denied: 1, dupSubmits: 1, cancelsSent: 2, cancelsConfirmed: 2, cancelSuccess: 1,
      reports: 5, disconnects: 1, reconnects: cs.reconnectAttempts, open: 0, ready: 1, p0Open: 0,
    });
    expect(cs.reconnectAttempts).toBeGreaterThanOrEqual(2); // at least the refused logon and the good one
    expect(v('tradecore_order_ack_seconds_count')).toBe(2);
    expect(v('tradecore_report_handling_seconds_count')).toBe(5);
  });
});

describe('latency histograms', () => {
  it('keep the session and a rolling window; buckets count values at or below each bound', () => {
    const h = new LatencyHistogram(60_000, 6);
    for (let i = 1; i <= 100; i++) h.recordSince(0, i * 0.01); // 10 µs .. 1000 µs at t <= 1 ms
    expect(h.count).toBe(100);
    expect(h.countsAtOrBelow([5, 10, 100, 500, 1000, 2000])).toEqual([0, 1, 10, 50, 100, 100]);
    expect(h.window(1).count).toBe(100);
    // 30 s later: still in the window; 61 s later: gone from it, kept in the session
    h.recordSince(30_000, 30_000.05);
    expect(h.window(30_000).count).toBe(101);
    expect(h.window(61_000).count).toBe(1);
    expect(h.window(200_000).count).toBe(0);
    expect(h.summary().count).toBe(101);
  });

  it('record sub-microsecond latencies distinctly, from integer-nanosecond readings', async () => {
    const { clock, broker, engine } = await setup({ reportTimingEvery: 1 });
    // acks 150 ns, 400 ns and 850 ns after their submits, on the manual clock's nanoseconds
    for (const [id, ns] of [['a', 150], ['b', 400], ['c', 850]] as const) {
      engine.submit({ clientOrderId: id, symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
      clock.advance(ns / 1e6);
      broker.ack(id, `B${id}`);
    }
    const ack = engine.latency().ack;
    expect(ack.count).toBe(3);
    expect([ack.p50, ack.max]).toEqual([0.4, 0.85]);
    const h = engine.latencyHistograms().ack;
    expect(h.countsAtOrBelow([0.1, 0.2, 0.5, 0.9])).toEqual([0, 1, 2, 3]);
    // an epoch-ms double cannot hold these steps: 150 ns after T0 reads back as 244 ns
    expect(Math.round((T0 + 150 / 1e6 - T0) * 1e6)).not.toBe(150);
  });

  it('a clock spread from systemClock with only now() replaced is read through now()', async () => {
    const shifted = { ...systemClock, now: () => Date.now() + 3_600_000 };
    const engine = createEngine({ instruments: INSTRUMENTS, broker: new ScriptedBroker(), logger: quiet(), clock: shifted, connection: { heartbeatMs: 0, maxClockSkewMs: 7_200_000 } });
    await engine.start();
    cleanups.push(() => engine.stop());
    engine.submit({ clientOrderId: 'z', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    expect(Math.abs(engine.getOrder('z')!.createdAt - (Date.now() + 3_600_000))).toBeLessThan(5_000);
  });

  it('time every 8th report by default (a uniform sample); acks and fills every order', async () => {
    const { broker, engine } = await setup();
    for (let i = 0; i < 20; i++) {
      engine.submit({ clientOrderId: `s${i}`, symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
      broker.ack(`s${i}`, `B${i}`);
      broker.fill(`s${i}`, `B${i}`, 1, 10);
    }
    const l = engine.latency();
    expect([l.ack.count, l.firstFill.count]).toEqual([20, 20]);
    expect(l.report.count).toBe(5); // 40 reports / 8
    expect(l.callback.count).toBe(5);
  });

  it('refuses a reportTimingEvery that is not a power of two from 1 to 1024', async () => {
    for (const bad of [0, 3, 2048, 1.5, '8']) await expect(setup({ reportTimingEvery: bad as never })).rejects.toThrow('reportTimingEvery: must be a power of two');
  });

  it('can be turned off: no clock readings, no records', async () => {
    const { broker, engine } = await setup({ latencyHistograms: false });
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    broker.ack('a', 'A');
    expect(engine.latency().ack.count).toBe(0);
    expect(engine.latency().report.count).toBe(0);
    expect(engine.stats().acks).toBe(1);
  });
});

describe('alerts', () => {
  it('fire, fold repeats, resolve on their condition or an acknowledgement; sinks hear each once', () => {
    const clock = new ManualClock(T0);
    const heard: string[] = [];
    const sink: AlertSink = { name: 't', deliver: (e) => void heard.push(`${e.type} ${e.alert.id} x${e.alert.count}`) };
    const m = new AlertManager(clock, [sink]);
    const a = m.raise('UNKNOWN_ORDER', 'P1', 'report for X', { clientOrderId: 'x1' });
    clock.advance(1000);
    const b = m.raise('UNKNOWN_ORDER', 'P1', 'report for Y', { clientOrderId: 'x2' });
    m.raise('UNKNOWN_ORDER', 'P1', 'report for Y', { clientOrderId: 'x2' });
    expect(b).toBe(a);
    expect(a).toMatchObject({ id: 'UNKNOWN_ORDER-1', count: 3, clientOrderIds: ['x1', 'x2'], firstSeen: T0, lastSeen: T0 + 1000, state: 'open' });
    m.raise('DISCONNECTED', 'P0', 'down');
    expect(m.open().map((x) => x.code)).toEqual(['DISCONNECTED', 'UNKNOWN_ORDER']);
    expect(m.resolve('DISCONNECTED')).toMatchObject({ state: 'resolved', closedBy: 'condition' });
    expect(m.resolve('DISCONNECTED')).toBeUndefined();
    m.acknowledge(a.id, 'alice', 'manual trade, known');
    expect(() => m.acknowledge(a.id, 'bob')).toThrow(/already acknowledged/);
    expect(m.recent().map((x) => [x.code, x.state, x.closedBy, x.closeNote])).toEqual([
      ['UNKNOWN_ORDER', 'acknowledged', 'alice', 'manual trade, known'],
      ['DISCONNECTED', 'resolved', 'condition', 'condition cleared'],
    ]);
    // a new occurrence after the close is a new alert
    expect(m.raise('UNKNOWN_ORDER', 'P1', 'again').id).toBe('UNKNOWN_ORDER-3');
    expect(heard).toEqual(['opened UNKNOWN_ORDER-1 x1', 'opened DISCONNECTED-2 x1', 'resolved DISCONNECTED-2 x1', 'acknowledged UNKNOWN_ORDER-1 x3', 'opened UNKNOWN_ORDER-3 x1']);
  });

  it('the monitor: P1 from anomalies (folded), P0 for a connection down past its threshold, P2 for sustained lag', async () => {
    let lag = 0;
    const { clock, broker, engine, monitor } = await setup({}, { disconnectedMs: 2000, sustainMs: 3000, evaluateEveryMs: 500, eventLoopLagMs: 50, lagSource: () => lag });
    broker.send({ kind: 'trade', clientOrderId: 'm1', brokerOrderId: 'X1', symbol: 'ACME', side: 'buy', qty: 1, lastQty: 1, lastPx: 10 });
    broker.send({ kind: 'trade', clientOrderId: 'm2', brokerOrderId: 'X2', symbol: 'ACME', side: 'sell', qty: 1, lastQty: 1, lastPx: 10 });
    expect(monitor.alerts.open()).toMatchObject([{ code: 'UNKNOWN_ORDER', level: 'P1', count: 2, clientOrderIds: ['m1', 'm2'] }]);
    // down: no alert before the threshold, P0 after it, resolved when Ready again
    broker.connect = () => new Promise(() => {}); // the broker does not answer for now
    broker.sink!.onDisconnect('network');
    clock.advance(1500);
    expect(monitor.alerts.open().map((a) => a.code)).toEqual(['UNKNOWN_ORDER']);
    clock.advance(1000);
    expect(monitor.alerts.open().map((a) => [a.code, a.level])).toEqual([['DISCONNECTED', 'P0'], ['UNKNOWN_ORDER', 'P1']]);
    broker.connect = async (sink) => void (broker.sink = sink);
    engine.reconnect('test');
    await drive(clock, () => engine.connectionState === 'Ready', 'Ready', 5);
    clock.advance(500);
    expect(monitor.alerts.recent()[0]).toMatchObject({ code: 'DISCONNECTED', state: 'resolved', closedBy: 'condition' });
    // lag over its threshold: P2 only once it lasted sustainMs
    lag = 80;
    clock.advance(2500);
    expect(monitor.alerts.open().some((a) => a.code === 'EVENT_LOOP_LAG')).toBe(false);
    clock.advance(1000);
    expect(monitor.alerts.open().find((a) => a.code === 'EVENT_LOOP_LAG')).toMatchObject({ level: 'P2' });
    lag = 1;
    clock.advance(500);
    expect(monitor.alerts.open().some((a) => a.code === 'EVENT_LOOP_LAG')).toBe(false);
  });

  it('the webhook: a POST per alert event, retried, off the engine path', async () => {
    const got: unknown[] = [];
    let failFirst = 1;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        if (failFirst-- > 0) {
          res.writeHead(503).end();
          return;
        }
        got.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const hook = webhookSink({ url: `http://127.0.0.1:${port}/alerts`, backoffMs: 5, timeoutMs: 2000 }, quiet());
    const m = new AlertManager(new ManualClock(T0), [hook]);
    const t0 = performance.now();
    m.raise('OVERFILL', 'P0', 'cumQty 120 of 100', { clientOrderId: 'o9' });
    expect(performance.now() - t0).toBeLessThan(1000); // returned without waiting for the POST
    await hook.idle();
    expect(got).toMatchObject([{ type: 'opened', alert: { code: 'OVERFILL', level: 'P0', clientOrderIds: ['o9'] } }]);
    expect(hook.stats).toEqual({ sent: 1, failed: 0, dropped: 0, retries: 1 });
    // a receiver that is gone: failed after the retries, counted, nothing thrown
    const dead = webhookSink({ url: 'http://127.0.0.1:9/alerts', retries: 1, backoffMs: 1, timeoutMs: 500 }, quiet());
    new AlertManager(new ManualClock(T0), [dead]).raise('X', 'P2', 'x');
    await dead.idle();
    expect(dead.stats).toMatchObject({ sent: 0, failed: 1, retries: 1 });
  });
});

describe('the ops endpoint', () => {
  async function ops(extra: Partial<EngineConfig> = {}) {
    const s = await setup(extra);
    const server = new OpsServer(s.engine, s.monitor, { token: TOKEN });
    await server.start();
    cleanups.push(() => server.stop());
    const base = `http://127.0.0.1:${server.port}`;
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${base}${path}`, {
        method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      });
      const text = await res.text();
      return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
    };
    return { ...s, server, call };
  }

  it('serves metrics, health, readiness, status and alerts', async () => {
    const { call, engine, broker } = await ops();
    engine.submit({ clientOrderId: 'a', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    broker.ack('a', 'A');
    const m = await call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(parseProm(m.text).value('tradecore_orders_placed_total')).toBe(1);
    expect(LATENCY_BUCKETS_US[0]).toBe(5);
    expect(m.text).toContain('tradecore_order_ack_seconds_bucket{le="0.000005"}');
    expect((await call('GET', '/healthz')).json).toEqual({ status: 'alive' });
    expect(await call('GET', '/readyz')).toMatchObject({ status: 200, json: { ready: true, reasons: [] } });
    const st = (await call('GET', '/status')).json!;
    expect(st).toMatchObject({ engine: 'running', connection: 'Ready', tradingState: 'Active', openOrders: 1, ready: true });
    expect((st.latency as { session: { ack: { count: number } } }).session.ack.count).toBe(1);
    expect((await call('GET', '/alerts')).json).toEqual({ open: [], recent: [] });
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('DELETE', '/metrics')).status).toBe(405);
  });

  it('refuses every mutation without the token (401, nothing changed, logged); takes them with it', async () => {
    const { call, engine, log, broker, monitor } = await ops();
    for (const token of [undefined, 'wrong-token-0123456789', `${TOKEN}x`]) {
      const r = await call('POST', '/trading-state', { action: 'halt', reason: 'test' }, token);
      expect(r.status).toBe(401);
    }
    expect(engine.tradingState).toBe('Active');
    expect(log.lines.filter((l) => l.msg === 'ops: mutation refused without a valid token')).toHaveLength(3);
    // with it
    expect(await call('POST', '/trading-state', { action: 'halt', reason: 'desk says stop' }, TOKEN)).toMatchObject({ status: 200, json: { tradingState: 'Halted' } });
    expect(engine.tradingStateHistory().at(-1)).toMatchObject({ to: 'Halted', reason: 'ops endpoint: desk says stop' });
    expect(await call('GET', '/readyz')).toMatchObject({ status: 503, json: { ready: false, reasons: ['trading Halted'] } });
    expect((await call('POST', '/trading-state', { action: 'sideways', reason: 'x' }, TOKEN)).status).toBe(400);
    expect((await call('POST', '/trading-state', { action: 'resume' }, TOKEN)).status).toBe(400);
    expect(await call('POST', '/trading-state', { action: 'resume', reason: 'ok again' }, TOKEN)).toMatchObject({ status: 200, json: { tradingState: 'Active' } });
    // safe stop cancels the open order
    engine.submit({ clientOrderId: 'b', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    broker.ack('b', 'B');
    expect(await call('POST', '/trading-state', { action: 'safe-stop', reason: 'end of day' }, TOKEN)).toMatchObject({ status: 200, json: { tradingState: 'Halted', safeStop: { cancelsSent: 1 } } });
    // alert acknowledgement
    broker.send({ kind: 'trade', clientOrderId: 'm1', brokerOrderId: 'X1', symbol: 'ACME', side: 'buy', qty: 1, lastQty: 1, lastPx: 10 });
    const id = monitor.alerts.open()[0]!.id;
    expect((await call('POST', `/alerts/${id}/ack`, { who: 'alice' })).status).toBe(401);
    expect(monitor.alerts.get(id)!.state).toBe('open');
    expect(await call('POST', `/alerts/${id}/ack`, { who: 'alice', note: 'known manual trade' }, TOKEN)).toMatchObject({ status: 200, json: { state: 'acknowledged', closedBy: 'alice' } });
    expect((await call('POST', `/alerts/${id}/ack`, {}, TOKEN)).status).toBe(404);
    expect((await call('POST', '/trading-state', 'not json', TOKEN)).status).toBe(400);
  });
});

describe('logs', () => {
  it('every order line carries the client order id (and the broker id once known); no secret anywhere', async () => {
    const { broker, engine, log } = await setup();
    engine.submit({ clientOrderId: 'L1', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    engine.submit({ clientOrderId: 'L2', symbol: 'ACME', side: 'buy', qty: 5000, price: 10 });
    broker.ack('L1', 'BL1');
    broker.fill('L1', 'BL1', 1, 10);
    broker.send({ kind: 'canceled', clientOrderId: 'L1', brokerOrderId: 'BL1' }); // invalid: anomaly line
    engine.logger.info({ secret: 'hunter2', token: TOKEN }, 'a careless line');
    await settle();
    const orderLines = log.lines.filter((l) => /order|report|denied/.test(String(l.msg)) && l.msg !== 'a careless line');
    expect(orderLines.length).toBeGreaterThanOrEqual(4);
    for (const l of orderLines) {
      expect(l.clientOrderId, JSON.stringify(l)).toMatch(/^L[12]$/);
      if (l.clientOrderId === 'L1' && l.msg !== 'order sent') expect(l.brokerOrderId, JSON.stringify(l)).toBe('BL1');
    }
    const all = JSON.stringify(log.lines);
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain(TOKEN);
  });

  it('per-order debug lines follow the logger level as it changes, on every engine sharing the logger', async () => {
    const log = captured();
    log.logger.level = 'info';
    const engine = createEngine({ instruments: INSTRUMENTS, broker: new ScriptedBroker(), logger: log.logger, connection: { heartbeatMs: 0 } });
    await engine.start();
    cleanups.push(() => engine.stop());
    const second = createEngine({ instruments: INSTRUMENTS, broker: new ScriptedBroker(), logger: log.logger, connection: { heartbeatMs: 0 } });
    await second.start();
    cleanups.push(() => second.stop());
    const sent = () => log.lines.filter((l) => l.msg === 'order sent').map((l) => l.clientOrderId);
    engine.submit({ clientOrderId: 'D1', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    second.submit({ clientOrderId: 'S1', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    log.logger.level = 'debug';
    engine.submit({ clientOrderId: 'D2', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    second.submit({ clientOrderId: 'S2', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    log.logger.level = 'warn';
    engine.submit({ clientOrderId: 'D3', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    log.logger.level = 'trace';
    second.submit({ clientOrderId: 'S4', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    await settle();
    expect(sent()).toEqual(['D2', 'S2', 'S4']);
  });

  it('a logger that emits no level-change event is asked on every order', async () => {
    const lines: string[] = [];
    let level = 30;
    const proxy = new Proxy(pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), {
      get(target, key) {
        if (key === 'on') return undefined;
        if (key === 'levelVal') return level;
        if (typeof key === 'symbol' && key.description === 'pino.levelVal') return undefined;
        if (key === 'debug') return level <= 20 ? (o: object, m: string) => lines.push(JSON.stringify({ ...o, msg: m })) : () => {};
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const engine = createEngine({ instruments: INSTRUMENTS, broker: new ScriptedBroker(), logger: proxy, connection: { heartbeatMs: 0 } });
    await engine.start();
    cleanups.push(() => engine.stop());
    engine.submit({ clientOrderId: 'P1', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    level = 20;
    engine.submit({ clientOrderId: 'P2', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    expect(lines.filter((l) => l.includes('order sent')).map((l) => (JSON.parse(l) as { clientOrderId: string }).clientOrderId)).toEqual(['P2']);
  });
});
