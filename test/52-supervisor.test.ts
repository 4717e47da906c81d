import { describe, expect, it } from 'vitest';
import { BrokerError, type HeartbeatInfo, type ReportSink } from '../src/brokers/adapter.js';
import { Prng } from '../src/brokers/sim/prng.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { ConnectionOptions, ConnectionStateChange } from '../src/connectivity/supervisor.js';
import { INSTRUMENTS, StubBroker, problemsOf, quiet, settle } from './helpers.js';

/** An adapter whose connect and heartbeat the test scripts; it records when each connect came. */
class ConnBroker extends StubBroker {
  override readonly name = 'conn';
  readonly connectTimes: number[] = [];
  /** Each connect takes the next outcome; when empty, connects succeed. */
  readonly outcomes: Array<Error | 'hang'> = [];
  heartbeatAnswers = true;
  skewMs = 0;
  constructor(readonly clockRef: ManualClock) {
    super();
    this.clock = clockRef;
  }
  override async connect(sink: ReportSink) {
    this.connectTimes.push(this.clockRef.now());
    const next = this.outcomes.shift();
    if (next === 'hang') return new Promise<void>(() => {});
    sink.onPhase?.('authenticating');
    if (next !== undefined) throw next;
    this.sink = sink;
  }
  override async heartbeat(): Promise<HeartbeatInfo> {
    if (!this.heartbeatAnswers) return new Promise(() => {});
    return { brokerTime: this.clockRef.now() + this.skewMs };
  }
}

const T0 = Date.UTC(2026, 10, 25, 14, 0);

function setup(connection: ConnectionOptions = {}) {
  const clock = new ManualClock(T0);
  const broker = new ConnBroker(clock);
  const changes: ConnectionStateChange[] = [];
  const anomalies: Anomaly[] = [];
  const engine: Engine = createEngine({
    instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: { heartbeatMs: 1000, ...connection },
    onConnectionState: (c) => changes.push(c), onAnomaly: (a) => anomalies.push(a),
  });
  return { clock, broker, engine, changes, anomalies };
}

const buy = (id: string) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 10, price: 10 });

/** Run timers due within `ms` on the manual clock, letting promises settle in between. */
async function advance(clock: ManualClock, ms: number, step = 10) {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

describe('connection supervisor', () => {
  it('goes Disconnected → Connecting → Authenticating → Syncing → Ready and refuses submits before Ready', async () => {
    const { engine, changes, broker } = setup();
    expect(engine.connectionState).toBe('Disconnected');
    const starting = engine.start();
    expect(engine.submit(buy('early'))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY', detail: 'engine=starting connection=Authenticating' });
    await starting;
    expect(changes.map((c) => c.to)).toEqual(['Connecting', 'Authenticating', 'Syncing', 'Ready']);
    expect(engine.connectionState).toBe('Ready');
    expect(engine.lastSync).toMatchObject({ brokerOpen: 0, brokerTrades: 0, resolved: 0 });
    // a refused submit is never queued: nothing was sent for it, and its id is free
    expect(broker.placed).toEqual([]);
    expect(engine.submit(buy('early')).status).toBe('accepted');
    expect(broker.placed.map((p) => p.clientOrderId)).toEqual(['early']);
  });

  it('fails start when the clock skew against the broker is past the bound', async () => {
    const { engine, broker, anomalies } = setup({ maxClockSkewMs: 500 });
    broker.skewMs = 750;
    await expect(engine.start()).rejects.toThrow(/clock skew against broker conn is 750 ms; the limit is 500 ms/);
    expect(engine.state).toBe('stopped');
    expect(engine.connectionState).toBe('Halted');
    expect(anomalies.map((a) => [a.kind, a.severity])).toEqual([['CONNECTION_HALTED', 'P0']]);
  });

  it('fails start within its timeout when the broker never answers, naming the state', async () => {
    const { engine, broker, clock } = setup({ startTimeoutMs: 3000 });
    broker.outcomes.push('hang');
    let error: Error | undefined;
    engine.start().catch((e: Error) => (error = e));
    await advance(clock, 2990);
    expect(error).toBeUndefined();
    await advance(clock, 20);
    expect(error?.message).toMatch(/not ready within 3000 ms \(state Connecting\)/);
    expect(engine.state).toBe('stopped');
    expect(engine.connectionState).toBe('Disconnected');
  });

  it('retries network failures with exponential backoff, full jitter and a cap', async () => {
    const opts = { reconnectBaseMs: 100, reconnectCapMs: 1000, seed: 77, startTimeoutMs: 60_000 };
    const { engine, broker, clock } = setup(opts);
    for (let i = 0; i < 7; i++) broker.outcomes.push(new BrokerError('network', `ECONNREFUSED #${i}`));
    const started = engine.start();
    for (let i = 0; i < 80 && engine.connectionState !== 'Ready'; i++) await advance(clock, 100, 1);
    await started;
    // the same seed gives the same delays: a uniform draw below min(cap, base * 2^attempt)
    const rng = new Prng(77);
    const expected = [0, 1, 2, 3, 4, 5, 6].map((n) => rng.next() * Math.min(1000, 100 * 2 ** n));
    const gaps = broker.connectTimes.slice(1).map((t, i) => t - broker.connectTimes[i]!);
    expect(gaps).toHaveLength(7);
    gaps.forEach((g, i) => expect(g).toBeCloseTo(Math.ceil(expected[i]!), -0.5)); // the clock moves 1 ms at a time
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1001);
    expect(engine.connectionStats().reconnectAttempts).toBe(7);
  });

  it('gives up after maxReconnectAttempts: Halted with a P0 anomaly', async () => {
    const { engine, broker, clock, anomalies } = setup({ maxReconnectAttempts: 2, reconnectBaseMs: 10 });
    for (let i = 0; i < 5; i++) broker.outcomes.push(new BrokerError('timeout', 'no answer'));
    const result = engine.start().then(() => 'started', (e: Error) => e.message);
    await advance(clock, 200);
    expect(await result).toMatch(/gave up after 2 reconnect attempts; last: timeout: no answer/);
    expect(engine.connectionState).toBe('Halted');
    expect(anomalies.filter((a) => a.kind === 'CONNECTION_HALTED').map((a) => a.severity)).toEqual(['P0']);
  });

  it('retries an auth failure a bounded number of times, then halts with a P0 anomaly', async () => {
    const { engine, broker, clock, anomalies } = setup({ authRetries: 2, reconnectBaseMs: 10 });
    for (let i = 0; i < 5; i++) broker.outcomes.push(new BrokerError('auth', 'invalid secret'));
    const result = engine.start().then(() => 'started', (e: Error) => e.message);
    await advance(clock, 500);
    expect(await result).toMatch(/authentication failed 3 times: invalid secret/);
    expect(broker.connectTimes).toHaveLength(3);
    expect(engine.connectionState).toBe('Halted');
    expect(engine.connectionStats().authFailures).toBe(3);
    expect(anomalies.map((a) => [a.kind, a.severity])).toEqual([['CONNECTION_HALTED', 'P0']]);
  });

  it('stops on a protocol error without retrying', async () => {
    const { engine, broker } = setup();
    broker.outcomes.push(new BrokerError('protocol', 'unexpected answer to logon'));
    await expect(engine.start()).rejects.toThrow(/protocol error: unexpected answer to logon/);
    expect(broker.connectTimes).toHaveLength(1);
  });

  it('honours a throttled logon: the next attempt waits at least retry-after', async () => {
    const { engine, broker, clock } = setup({ reconnectBaseMs: 1 });
    broker.outcomes.push(new BrokerError('throttled', 'too many logons', { retryAfterMs: 2500 }));
    const started = engine.start();
    await advance(clock, 3000, 50);
    await started;
    expect(broker.connectTimes[1]! - broker.connectTimes[0]!).toBeGreaterThanOrEqual(2500);
  });

  it('slows submissions while the broker throttles, then lets them through', async () => {
    const { engine, broker, clock } = setup({ heartbeatMs: 0 });
    await engine.start();
    broker.sink!.onThrottle!(1500, 'too many orders');
    expect(engine.submit(buy('t1'))).toMatchObject({ status: 'denied', reason: 'RATE_LIMIT', detail: 'limit=broker-throttle retryInMs=1500' });
    expect(engine.submitMany([buy('t2')])[0]).toMatchObject({ status: 'denied', reason: 'RATE_LIMIT' });
    clock.advance(1499);
    expect(engine.submit(buy('t3'))).toMatchObject({ status: 'denied', detail: 'limit=broker-throttle retryInMs=1' });
    clock.advance(1);
    expect(engine.submit(buy('t4')).status).toBe('accepted');
    expect(broker.placed.map((p) => p.clientOrderId)).toEqual(['t4']);
    expect(engine.stats().throttles).toBe(1);
  });

  it('goes Degraded on a late heartbeat (no new orders, cancels still go), Ready when answered, and reconnects when dead', async () => {
    const { engine, broker, clock, changes } = setup({ heartbeatMs: 1000, missedHeartbeats: 3, reconnectBaseMs: 10 });
    await engine.start();
    expect(engine.submit(buy('o1')).status).toBe('accepted');
    await advance(clock, 1000, 100);
    expect(engine.connectionStats().heartbeatsSent).toBe(1);
    expect(engine.connectionState).toBe('Ready');

    broker.heartbeatAnswers = false;
    await advance(clock, 2000, 100); // sent at 2 s, unanswered at 3 s
    expect(engine.connectionState).toBe('Degraded');
    expect(engine.submit(buy('o2'))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY', detail: 'engine=running connection=Degraded' });
    expect(engine.cancel('o1').status).toBe('sent');

    await advance(clock, 2000, 100); // 3 intervals without an answer: the connection is dead
    expect(engine.stats().disconnects).toBe(1);
    broker.heartbeatAnswers = true;
    await advance(clock, 500, 10);
    expect(engine.connectionState).toBe('Ready');
    expect(changes.map((c) => c.to).slice(4)).toEqual(['Degraded', 'Disconnected', 'Connecting', 'Authenticating', 'Syncing', 'Ready']);
    expect(broker.placed.map((p) => p.clientOrderId)).toEqual(['o1']); // o2 was never queued
  });

  it('a lost connection reconnects; a protocol error on it halts; reconnect() resumes', async () => {
    const { engine, broker, clock, anomalies } = setup({ heartbeatMs: 0, reconnectBaseMs: 10 });
    await engine.start();
    broker.sink!.onDisconnect('socket closed');
    expect(engine.connectionState).toBe('Disconnected');
    expect(engine.submit(buy('x'))).toMatchObject({ reason: 'BROKER_NOT_READY' });
    await advance(clock, 100);
    expect(engine.connectionState).toBe('Ready');
    expect(engine.stats().disconnects).toBe(1);

    broker.sink!.onError!(new BrokerError('protocol', 'bad frame from broker'));
    expect(engine.connectionState).toBe('Halted');
    expect(anomalies.at(-1)).toMatchObject({ kind: 'CONNECTION_HALTED', severity: 'P0', reason: expect.stringMatching(/bad frame from broker/) });
    await advance(clock, 1000);
    expect(engine.connectionState).toBe('Halted'); // no retry on its own
    engine.reconnect('operator: broker fixed');
    await advance(clock, 50);
    expect(engine.connectionState).toBe('Ready');
  });

  it('validates connection options', () => {
    expect(problemsOf(() => createEngine({ instruments: INSTRUMENTS, connection: { heartbeatMs: -1, missedHeartbeats: 0, beat: 1 } as never }))).toEqual([
      'connection.heartbeatMs: must be a finite number >= 0',
      'connection.missedHeartbeats: must be a finite number > 0',
      'connection.beat: unknown option (known: heartbeatMs, missedHeartbeats, startTimeoutMs, maxClockSkewMs, reconnectBaseMs, reconnectCapMs, maxReconnectAttempts, authRetries, seed)',
    ]);
    expect(problemsOf(() => createEngine({ instruments: INSTRUMENTS, environment: 'sim' }))).toEqual([
      'environment: sim needs a broker adapter (the embedded simulated broker is paper)',
    ]);
  });
});
