/**
 * The monitor: watches an engine and keeps its alerts.
 * - P0 cannot trade: the connection `Halted` (auth failure, protocol or fatal error), or not
 *   Ready for longer than `disconnectedMs`; resolved when it is Ready again. P0 anomalies
 *   (overfill, an external order with no slot, a journal failure) too.
 * - P1 state mismatch: unknown-order reports, invalid transitions, malformed reports, id
 *   mismatches, sync inferences (the engine's P1 anomalies), folded by kind.
 * - P2 performance: the rolling p99 of submit → ack, of report handling, or the event-loop
 *   lag over its threshold for `sustainMs` in a row; resolved when back under.
 * - P1 reconciliation: every critical diff left open (`RECON_<KIND>`, keyed by the diff id);
 *   resolved when the diff is resolved, acknowledged or gone.
 * Anomaly alerts have no condition that clears: an operator acknowledges them.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Engine } from '../engine.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { ConnectionStateChange } from '../connectivity/supervisor.js';
import type { DiffEvent } from '../recon/reconciler.js';
import { AlertManager, logSink, webhookSink, type AlertLevel, type AlertSink, type WebhookOptions } from './alerts.js';

export interface MonitorOptions {
  /** Not Ready for longer than this is a P0 (ms). Default 5000. */
  disconnectedMs?: number;
  /** P2 thresholds, microseconds (rolling p99) and ms (event-loop lag p99). */
  p99AckUs?: number;
  p99ReportUs?: number;
  eventLoopLagMs?: number;
  /** A P2 fires after this long over its threshold (ms). Default 30000. */
  sustainMs?: number;
  /** How often conditions are checked (ms). Default 1000. */
  evaluateEveryMs?: number;
  /** An alert webhook (HTTP POST, retried, off the engine's path). */
  webhook?: WebhookOptions;
  /** Extra sinks beside the log (and the webhook). */
  sinks?: AlertSink[];
  /** Event-loop lag p99 in ms since the last call (tests inject it). Default: perf_hooks.monitorEventLoopDelay. */
  lagSource?: () => number;
}

export const MONITOR_DEFAULTS = {
  disconnectedMs: 5000,
  p99AckUs: 50_000,
  p99ReportUs: 1000,
  eventLoopLagMs: 100,
  sustainMs: 30_000,
  evaluateEveryMs: 1000,
};

/** Every problem of a `monitor` config section. */
export function monitorProblems(m: unknown, at = 'monitor'): string[] {
  if (m === undefined) return [];
  if (typeof m !== 'object' || m === null) return [`${at}: must be an object`];
  const o = m as Record<string, unknown>;
  const out: string[] = [];
  const known = new Set([...Object.keys(MONITOR_DEFAULTS), 'webhook', 'sinks', 'lagSource']);
  for (const k of Object.keys(o)) if (!known.has(k)) out.push(`${at}.${k}: unknown option (known: ${[...known].join(', ')})`);
  for (const k of Object.keys(MONITOR_DEFAULTS)) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) out.push(`${at}.${k}: must be a positive number`);
  }
  const w = o.webhook as Record<string, unknown> | undefined;
  if (w !== undefined) {
    if (typeof w !== 'object' || w === null || typeof w.url !== 'string' || !/^https?:\/\//.test(w.url)) out.push(`${at}.webhook.url: must be an http(s) URL`);
  }
  return out;
}

const READY = new Set(['Ready', 'Degraded']);

export class Monitor {
  readonly alerts: AlertManager;
  readonly options: typeof MONITOR_DEFAULTS;
  private readonly webhook: ReturnType<typeof webhookSink> | undefined;
  private readonly lag: IntervalHistogram | undefined;
  private readonly lagSource: () => number;
  private timer: TimerHandle | undefined;
  private notReadySince: number;
  /** P2 conditions over their threshold, by code: since when. */
  private readonly overSince = new Map<string, number>();
  private stopWatching: () => void;
  /** Event-loop lag p99 at the last evaluation, ms. */
  lastLagMs = 0;
  /** Auth failures the connection had at the last state change. */
  private authFailures = 0;

  constructor(
    private readonly engine: Engine,
    options: MonitorOptions = {},
    private readonly clock: Clock = engine.clock,
  ) {
    const problems = monitorProblems(options);
    if (problems.length > 0) throw new RangeError(`invalid monitor options:\n  - ${problems.join('\n  - ')}`);
    this.options = { ...MONITOR_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k in MONITOR_DEFAULTS)) };
    const sinks: AlertSink[] = [logSink(engine.logger), ...(options.sinks ?? [])];
    if (options.webhook !== undefined) {
      this.webhook = webhookSink(options.webhook, engine.logger);
      sinks.push(this.webhook);
    }
    this.alerts = new AlertManager(clock, sinks);
    if (options.lagSource !== undefined) this.lagSource = options.lagSource;
    else {
      this.lag = monitorEventLoopDelay({ resolution: 10 });
      this.lag.enable();
      this.lagSource = () => {
        const ms = this.lag!.count > 0 ? Math.min(this.lag!.percentile(99), this.lag!.max) / 1e6 : 0; // a percentile never above the max
        this.lag!.reset();
        return ms;
      };
    }
    this.notReadySince = READY.has(engine.connectionState) ? Number.NaN : clock.now();
    this.authFailures = engine.connectionStats().authFailures;
    this.stopWatching = engine.observe({
      onAnomaly: (a) => {
        const level: AlertLevel = a.severity;
        if (a.kind === 'ROLLOUT_LOSS_CAP') this.lossCapRaised = true;
        if (a.kind === 'CONNECTION_HALTED') this.alerts.raise('CONNECTION_HALTED', 'P0', a.reason);
        else this.alerts.raise(a.kind, level, a.reason, { ...(a.clientOrderId !== undefined ? { clientOrderId: a.clientOrderId } : {}) });
      },
      onConnectionState: (c) => this.onConnection(c),
      onDiff: (e) => this.onDiff(e),
    });
    this.rolloutCheck();
    this.schedule();
  }

  /** The rollout's loss cap raised its P0 this day (the anomaly, or this monitor seeing the state). */
  private lossCapRaised = false;

  /**
   * A loss cap hit before this monitor watched (during start-up, or restored from the journal
   * for the rest of the day) still opens its P0, once; the day's roll resolves it.
   */
  private rolloutCheck(): void {
    const ro = this.engine.rolloutStatus();
    if (ro === undefined) return;
    if (ro.lossCapHit && !this.lossCapRaised) {
      this.lossCapRaised = true;
      this.alerts.raise('ROLLOUT_LOSS_CAP', 'P0', `rollout stage ${ro.stage}: the day's loss ${-ro.dayPnl} reached maxDailyLoss=${String(ro.limits.maxDailyLoss)} (seen at start-up: realized plus unrealized at the reference); only position-reducing orders until the day rolls`);
    } else if (!ro.lossCapHit && this.lossCapRaised) {
      this.lossCapRaised = false;
      this.alerts.resolve('ROLLOUT_LOSS_CAP', '', 'the trading day rolled');
    }
  }

  private onConnection(c: ConnectionStateChange): void {
    if (READY.has(c.to)) {
      this.notReadySince = Number.NaN;
      this.alerts.resolve('DISCONNECTED', '', `connection ${c.to}`);
      this.alerts.resolve('CONNECTION_HALTED', '', `connection ${c.to}`);
      this.alerts.resolve('AUTH_FAILED', '', `connection ${c.to}`);
      return;
    }
    if (Number.isNaN(this.notReadySince)) this.notReadySince = c.time;
    if (c.to === 'Halted') this.alerts.raise('CONNECTION_HALTED', 'P0', `connection halted: ${c.reason}`);
    const auth = this.engine.connectionStats().authFailures;
    if (auth > this.authFailures) this.alerts.raise('AUTH_FAILED', 'P0', `broker refused the logon: ${c.reason}`);
    this.authFailures = auth;
  }

  /** A critical reconciliation diff is a P1 until it is fixed, resolved, acknowledged or gone. */
  private onDiff(e: DiffEvent): void {
    const d = e.diff;
    const code = `RECON_${d.kind}`;
    if (e.type === 'raised') {
      if (d.severity === 'critical') this.alerts.raise(code, 'P1', `${d.id}: ${d.detail}`, { key: d.id, ...(d.clientOrderId !== '' ? { clientOrderId: d.clientOrderId } : {}) });
      return;
    }
    this.alerts.resolve(code, d.id, `diff ${d.id} ${e.type}`);
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(() => {
      this.evaluate();
      this.schedule();
    }, this.options.evaluateEveryMs);
  }

  /** Check the time-based conditions now (the timer does it every `evaluateEveryMs`). */
  evaluate(): void {
    const now = this.clock.now();
    const o = this.options;
    this.rolloutCheck();
    if (this.engine.state === 'running' && !Number.isNaN(this.notReadySince) && now - this.notReadySince >= o.disconnectedMs) {
      this.alerts.raise('DISCONNECTED', 'P0', `broker connection ${this.engine.connectionState} for ${Math.round(now - this.notReadySince)} ms (threshold ${o.disconnectedMs} ms): no trading`);
    }
    // only the two windows the P2 checks read (each read merges its slices)
    const h = this.engine.latencyHistograms();
    const w = { ack: h.ack.window(now), report: h.report.window(now) };
    this.lastLagMs = this.lagSource();
    this.sustain('LATENCY_ACK_P99', w.ack.count > 0 && w.ack.p99 > o.p99AckUs, now, `p99 submit→ack ${w.ack.p99} µs over ${o.p99AckUs} µs`);
    this.sustain('LATENCY_REPORT_P99', w.report.count > 0 && w.report.p99 > o.p99ReportUs, now, `p99 report handling ${w.report.p99} µs over ${o.p99ReportUs} µs`);
    this.sustain('EVENT_LOOP_LAG', this.lastLagMs > o.eventLoopLagMs, now, `event-loop lag p99 ${this.lastLagMs.toFixed(1)} ms over ${o.eventLoopLagMs} ms`);
  }

  private sustain(code: string, bad: boolean, now: number, message: string): void {
    if (!bad) {
      this.overSince.delete(code);
      this.alerts.resolve(code, '', 'back under its threshold');
      return;
    }
    const since = this.overSince.get(code) ?? now;
    this.overSince.set(code, since);
    if (now - since >= this.options.sustainMs) this.alerts.raise(code, 'P2', `${message} for ${Math.round((now - since) / 1000)} s`);
  }

  /** Webhook delivery counters (undefined without a webhook). */
  webhookStats() {
    return this.webhook === undefined ? undefined : { ...this.webhook.stats };
  }

  /** Every webhook delivery queued so far has been tried. */
  async flush(): Promise<void> {
    await this.webhook?.idle();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.stopWatching();
    this.lag?.disable();
  }
}
