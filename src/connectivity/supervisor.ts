/**
 * The connection supervisor: owns the broker connection's life. It connects and logs on,
 * checks the broker's environment and clock, runs recovery sync, and only then declares the
 * connection Ready; it watches heartbeats, reconnects with exponential backoff and full
 * jitter, and applies a retry policy by error class (see `BrokerErrorKind`).
 *
 *   Disconnected → Connecting → Authenticating → Syncing → Ready ⇄ Degraded
 *   any → Disconnected (lost; a reconnect is scheduled)      any → Halted (given up)
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../ops/logger.js';
import { Prng } from '../brokers/sim/prng.js';
import { BrokerError, errorKind, type BrokerAdapter, type ReportSink } from '../brokers/adapter.js';
import type { BrokerReport, Quote } from '../domain/report.js';
import type { Environment } from './credentials.js';

export type ConnectionState = 'Disconnected' | 'Connecting' | 'Authenticating' | 'Syncing' | 'Ready' | 'Degraded' | 'Halted';

export const CONNECTION_STATES: readonly ConnectionState[] = ['Disconnected', 'Connecting', 'Authenticating', 'Syncing', 'Ready', 'Degraded', 'Halted'];

export interface ConnectionStateChange {
  readonly from: ConnectionState;
  readonly to: ConnectionState;
  readonly reason: string;
  readonly time: number;
}

/** Connection settings; every field has a default. */
export interface ConnectionOptions {
  /** Heartbeat interval, ms; 0 turns heartbeats off. Default 1000. */
  heartbeatMs?: number;
  /** Heartbeat intervals without an answer before the connection counts as dead (one makes it Degraded). Default 3. */
  missedHeartbeats?: number;
  /** `start()` fails if the connection is not Ready within this, ms. Default 10000. */
  startTimeoutMs?: number;
  /** Largest accepted difference between the broker's clock and ours, ms. Default 2000. */
  maxClockSkewMs?: number;
  /** First reconnect delay bound, ms; doubles per attempt (full jitter: a uniform draw below the bound). Default 200. */
  reconnectBaseMs?: number;
  /** Upper bound of the reconnect delay, ms. Default 10000. */
  reconnectCapMs?: number;
  /** Reconnect attempts in a row before giving up (Halted); 0: unlimited. Default 0. */
  maxReconnectAttempts?: number;
  /** Logon retries after an auth failure before Halted. Default 2. */
  authRetries?: number;
  /** Seed of the jitter. Default 1. */
  seed?: number;
}

export const CONNECTION_DEFAULTS: Required<ConnectionOptions> = {
  heartbeatMs: 1000,
  missedHeartbeats: 3,
  startTimeoutMs: 10_000,
  maxClockSkewMs: 2000,
  reconnectBaseMs: 200,
  reconnectCapMs: 10_000,
  maxReconnectAttempts: 0,
  authRetries: 2,
  seed: 1,
};

/** Problems with connection options (empty: fine). */
export function connectionProblems(o: unknown, path = 'connection'): string[] {
  if (o === undefined) return [];
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return [`${path}: must be an object`];
  const problems: string[] = [];
  const known = Object.keys(CONNECTION_DEFAULTS);
  for (const [k, v] of Object.entries(o)) {
    if (!known.includes(k)) {
      problems.push(`${path}.${k}: unknown option (known: ${known.join(', ')})`);
      continue;
    }
    const positive = k === 'missedHeartbeats' || k === 'startTimeoutMs' || k === 'reconnectCapMs';
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
      problems.push(`${path}.${k}: must be a finite number ${positive ? '> 0' : '>= 0'}`);
    } else if ((k === 'missedHeartbeats' || k === 'authRetries' || k === 'maxReconnectAttempts') && !Number.isInteger(v)) {
      problems.push(`${path}.${k}: must be an integer`);
    }
  }
  return problems;
}

export interface SupervisorHooks {
  /** Reports from the adapter: handed to the adapter as the sink's own `onReport`, so it is called unbound. */
  readonly onReport: (report: BrokerReport) => void;
  /** Recovery sync: runs after every connect, before Ready. */
  sync(): Promise<void>;
  onState(change: ConnectionStateChange): void;
  /** The broker asked to slow down. */
  onThrottle(retryAfterMs: number, detail: string): void;
  /** A quote from the adapter's market-data stream (`ReportSink.onQuote`). */
  onQuote?(quote: Quote): void;
  /** Something an operator must see (severity per ANOMALY_SEVERITY): Halted, clock skew on a live connection. */
  onAlarm(kind: 'CONNECTION_HALTED' | 'CLOCK_SKEW', reason: string): void;
}

export interface ConnectionStats {
  /** Established connections lost (peer closed, network, heartbeat dead). */
  disconnects: number;
  /** Connect attempts after the first. */
  reconnectAttempts: number;
  /** Times the connection reached Ready. */
  readies: number;
  authFailures: number;
  heartbeatsSent: number;
  heartbeatsMissed: number;
  /** Last heartbeat round trip, ms (NaN before the first). */
  lastHeartbeatRttMs: number;
  /** Broker clock minus ours at the last heartbeat, ms (NaN before the first). */
  clockSkewMs: number;
}

const HISTORY = 200;

export class ConnectionSupervisor {
  private _state: ConnectionState = 'Disconnected';
  private gen = 0;
  private stopped = true;
  private attempts = 0;
  private authFailuresInRow = 0;
  private reconnectTimer: TimerHandle | undefined;
  private hbTimer: TimerHandle | undefined;
  private startTimer: TimerHandle | undefined;
  private hbInFlight = false;
  private hbAwaiting = false;
  private missed = 0;
  private skewAlarmed = false;
  private lastError = '';
  private startWaiter: { resolve(): void; reject(e: Error): void } | undefined;
  private readonly rng: Prng;
  private readonly o: Required<ConnectionOptions>;
  private readonly history: ConnectionStateChange[] = [];
  readonly stats: ConnectionStats = {
    disconnects: 0, reconnectAttempts: 0, readies: 0, authFailures: 0, heartbeatsSent: 0, heartbeatsMissed: 0, lastHeartbeatRttMs: Number.NaN, clockSkewMs: Number.NaN,
  };

  constructor(
    private readonly broker: BrokerAdapter,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly environment: Environment,
    options: ConnectionOptions | undefined,
    private readonly hooks: SupervisorHooks,
  ) {
    this.o = { ...CONNECTION_DEFAULTS, ...options };
    this.rng = new Prng(this.o.seed);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get options(): Readonly<Required<ConnectionOptions>> {
    return this.o;
  }

  /** State changes, oldest first (the last 200). */
  stateHistory(): ConnectionStateChange[] {
    return this.history.slice();
  }

  /**
   * Connect until Ready. Network failures and timeouts are retried with backoff; the promise
   * rejects, with the reason, on an auth failure past its retries, a fatal or protocol
   * error, a clock skew or environment mismatch, or when `startTimeoutMs` passes first.
   */
  start(): Promise<void> {
    this.stopped = false;
    this.attempts = 0;
    this.authFailuresInRow = 0;
    this.lastError = '';
    const done = new Promise<void>((resolve, reject) => (this.startWaiter = { resolve, reject }));
    this.startTimer = this.clock.setTimer(() => {
      this.startTimer = undefined;
      if (this.startWaiter === undefined) return;
      const reason = `broker ${this.broker.name} not ready within ${this.o.startTimeoutMs} ms (state ${this._state}${this.lastError ? `; last error: ${this.lastError}` : ''})`;
      this.abandon(reason);
      this.finishStart(new Error(reason));
    }, this.o.startTimeoutMs, true);
    void this.connectOnce('start');
    return done;
  }

  /** Disconnect and stay disconnected. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.gen++;
    this.clearTimers();
    this.finishStart(new Error('stopped during start'));
    try {
      await this.broker.disconnect();
    } finally {
      this.set('Disconnected', 'stopped');
    }
  }

  /** Reconnect now (after Halted, or to skip a backoff wait). */
  reconnect(reason = 'reconnect requested'): void {
    if (this.stopped) throw new Error('the connection is stopped; start the engine first');
    this.cut();
    this.attempts = 0;
    this.authFailuresInRow = 0;
    void this.connectOnce(reason);
  }

  private sinkFor(gen: number): ReportSink {
    return {
      // the core's own entry point: an adapter's report reaches apply in two calls
      onReport: this.hooks.onReport,
      onDisconnect: (reason) => {
        if (gen === this.gen) this.lost(reason);
      },
      onPhase: (phase) => {
        if (gen === this.gen && phase === 'authenticating' && this._state === 'Connecting') this.set('Authenticating', 'transport up, logging on');
      },
      onThrottle: (ms, detail) => this.hooks.onThrottle(ms, detail),
      onQuote: (q) => {
        if (gen === this.gen) this.hooks.onQuote?.(q);
      },
      onError: (err) => {
        if (gen !== this.gen) return;
        const kind = errorKind(err);
        if (kind === 'network' || kind === 'timeout') this.lost(err.message);
        else this.failure(err, 'connection error');
      },
    };
  }

  private async connectOnce(reason: string): Promise<void> {
    const gen = ++this.gen;
    this.hbInFlight = false;
    this.hbAwaiting = false;
    this.missed = 0;
    this.set('Connecting', reason);
    try {
      await this.broker.connect(this.sinkFor(gen));
      if (gen !== this.gen) return;
      const declared = this.broker.brokerEnvironment;
      if (declared !== undefined && declared !== this.environment) {
        throw new BrokerError('fatal', `broker ${this.broker.name} declared environment ${declared}; the engine runs in ${this.environment}`);
      }
      const t0 = this.clock.now();
      const hb = await this.broker.heartbeat();
      if (gen !== this.gen) return;
      const skew = this.measure(t0, hb.brokerTime);
      if (!(Math.abs(skew) <= this.o.maxClockSkewMs)) {
        throw new BrokerError('fatal', `clock skew against broker ${this.broker.name} is ${Number.isFinite(skew) ? Math.round(skew) : skew} ms; the limit is ${this.o.maxClockSkewMs} ms`);
      }
      this.set('Syncing', 'logged on, clock checked; recovery sync');
      await this.hooks.sync();
      if (gen !== this.gen) return;
      this.attempts = 0;
      this.authFailuresInRow = 0;
      this.lastError = '';
      this.stats.readies++;
      this.set('Ready', 'connected, logged on, clock checked, recovery sync done');
      this.finishStart(undefined);
      this.armHeartbeat(gen);
    } catch (err) {
      if (gen !== this.gen) return;
      this.failure(err, 'connect');
    }
  }

  /** Broker clock minus ours, taking the middle of the round trip. */
  private measure(t0: number, brokerTime: number): number {
    const t1 = this.clock.now();
    this.stats.lastHeartbeatRttMs = t1 - t0;
    const skew = brokerTime - (t0 + t1) / 2;
    this.stats.clockSkewMs = skew;
    return skew;
  }

  /** The retry policy. */
  private failure(err: unknown, during: string): void {
    const kind = errorKind(err);
    const message = (err as Error)?.message ?? String(err);
    this.lastError = `${kind}: ${message}`;
    this.logger.warn({ broker: this.broker.name, kind, during, error: message }, 'broker connection failed');
    this.cut();
    switch (kind) {
      case 'auth':
        this.stats.authFailures++;
        this.authFailuresInRow++;
        if (this.authFailuresInRow > this.o.authRetries) {
          return this.halt(`authentication failed ${this.authFailuresInRow} times: ${message}`);
        }
        return this.scheduleReconnect(`auth failed (${this.authFailuresInRow}/${this.o.authRetries + 1}): ${message}`, 0);
      case 'throttled':
        return this.scheduleReconnect(`throttled: ${message}`, (err as BrokerError).retryAfterMs ?? 0);
      case 'protocol':
      case 'fatal':
        return this.halt(`${kind} error: ${message}`);
      default:
        return this.scheduleReconnect(`${kind}: ${message}`, 0);
    }
  }

  /** An established connection is gone: count it, reconnect. */
  private lost(reason: string): void {
    if (this.stopped || this._state === 'Halted') return;
    this.stats.disconnects++;
    this.lastError = `network: ${reason}`;
    this.logger.warn({ broker: this.broker.name, reason }, 'broker connection lost');
    this.cut();
    this.scheduleReconnect(reason, 0);
  }

  private scheduleReconnect(reason: string, atLeastMs: number): void {
    if (this.stopped) return;
    const max = this.o.maxReconnectAttempts;
    if (max > 0 && this.attempts >= max) return this.halt(`gave up after ${this.attempts} reconnect attempts; last: ${reason}`);
    const bound = Math.min(this.o.reconnectCapMs, this.o.reconnectBaseMs * 2 ** Math.min(this.attempts, 30));
    const delay = Math.max(atLeastMs, this.rng.next() * bound);
    this.attempts++;
    this.set('Disconnected', `${reason}; reconnect ${this.attempts} in ${Math.round(delay)} ms`);
    const gen = this.gen;
    this.reconnectTimer = this.clock.setTimer(() => {
      this.reconnectTimer = undefined;
      if (gen !== this.gen || this.stopped) return;
      this.stats.reconnectAttempts++;
      void this.connectOnce(`reconnect attempt ${this.attempts}`);
    }, delay, true);
  }

  /** Give up. Always after `cut()` (a failure or a lost connection led here). */
  private halt(reason: string): void {
    this.set('Halted', reason);
    this.hooks.onAlarm('CONNECTION_HALTED', `connection to ${this.broker.name} halted: ${reason}`);
    this.finishStart(new Error(reason));
  }

  /** Stop whatever is under way (the start timed out). */
  private abandon(reason: string): void {
    this.stopped = true;
    this.cut();
    this.set('Disconnected', reason);
  }

  /** End the current connection attempt or connection: stale callbacks ignored, timers off, the adapter closed. */
  private cut(): void {
    this.gen++;
    this.clearTimers();
    void this.broker.disconnect().catch(() => {});
  }

  private finishStart(err: Error | undefined): void {
    const w = this.startWaiter;
    if (w === undefined) return;
    this.startWaiter = undefined;
    if (this.startTimer !== undefined) this.clock.clearTimer(this.startTimer);
    this.startTimer = undefined;
    if (err === undefined) w.resolve();
    else w.reject(err);
  }

  private armHeartbeat(gen: number): void {
    if (this.o.heartbeatMs <= 0) return;
    this.hbTimer = this.clock.setTimer(() => this.beat(gen), this.o.heartbeatMs);
  }

  private beat(gen: number): void {
    this.hbTimer = undefined;
    if (gen !== this.gen) return;
    if (this.hbAwaiting) {
      this.missed++;
      this.stats.heartbeatsMissed++;
      if (this.missed >= this.o.missedHeartbeats) {
        this.lost(`no heartbeat answer for ${this.missed} intervals of ${this.o.heartbeatMs} ms`);
        return;
      }
      if (this._state === 'Ready') this.set('Degraded', `heartbeat late: ${this.missed} interval(s) without an answer`);
    }
    if (!this.hbInFlight) {
      this.hbInFlight = true;
      this.hbAwaiting = true;
      this.stats.heartbeatsSent++;
      const t0 = this.clock.now();
      this.broker.heartbeat().then(
        (hb) => {
          if (gen !== this.gen) return;
          this.hbInFlight = false;
          this.hbAwaiting = false;
          this.missed = 0;
          const skew = this.measure(t0, hb.brokerTime);
          if (!(Math.abs(skew) <= this.o.maxClockSkewMs)) {
            if (!this.skewAlarmed) this.hooks.onAlarm('CLOCK_SKEW', `clock skew against broker ${this.broker.name} is ${Math.round(skew)} ms; the limit is ${this.o.maxClockSkewMs} ms`);
            this.skewAlarmed = true;
          } else this.skewAlarmed = false;
          if (this._state === 'Degraded') this.set('Ready', 'heartbeat answered');
        },
        () => {
          // counted as missed at the next interval; a new heartbeat may go out then
          if (gen === this.gen) this.hbInFlight = false;
        },
      );
    }
    this.armHeartbeat(gen);
  }

  private clearTimers(): void {
    for (const t of [this.reconnectTimer, this.hbTimer]) if (t !== undefined) this.clock.clearTimer(t);
    this.reconnectTimer = undefined;
    this.hbTimer = undefined;
  }

  private set(to: ConnectionState, reason: string): void {
    const from = this._state;
    if (from === to && to !== 'Disconnected') return;
    this._state = to;
    const change: ConnectionStateChange = { from, to, reason, time: this.clock.now() };
    this.history.push(change);
    if (this.history.length > HISTORY) this.history.shift();
    const level = to === 'Halted' ? 'error' : (to === 'Disconnected' && !this.stopped) || to === 'Degraded' ? 'warn' : 'info';
    this.logger[level]({ broker: this.broker.name, from, to, reason }, 'connection state');
    try {
      this.hooks.onState(change);
    } catch (err) {
      this.logger.error({ err }, 'connection state hook threw');
    }
  }
}
