import type { BrokerAdapter } from './brokers/adapter.js';
import type { SimBrokerOptions } from './brokers/sim/sim-broker.js';
import { instrumentProblems, makeInstrument, type InstrumentSpec } from './domain/instrument.js';
import type { Logger } from './ops/logger.js';
import { ladderUnitProblems, riskProblems, type RiskConfig } from './risk/limits.js';
import type { AnomalyHook } from './core/anomaly.js';
import type { StrategyCallbacks } from './strategy.js';
import type { TradingStateHook } from './risk/trading-state.js';
import { calendarProblems } from './risk/calendar.js';
import { rolloutProblems } from './risk/rollout.js';
import { fallbackProblems, type FallbackOptions } from './fallback.js';
import { isEnvironment, type Environment, type LiveArm } from './connectivity/credentials.js';
import { journalProblems, type JournalOptions } from './journal/journal.js';
import { connectionProblems, type ConnectionOptions, type ConnectionStateChange } from './connectivity/supervisor.js';
import { reconProblems, type ReconConfig } from './recon/diff.js';
import { tradingDayProblems, type DayRoll } from './domain/trading-day.js';
import { limitsProblems } from './core/bounds.js';
import type { CoreConfig } from './core/core-config.js';

/** Everything `createEngine` accepts. Only `instruments` is required. The fields the core reads are documented in `CoreConfig`. */
export interface EngineConfig extends CoreConfig {
  /** Strategy callbacks; may also be registered once with `engine.setStrategy`. */
  strategy?: StrategyCallbacks;
  /** The broker adapter. Default: the embedded simulated broker (paper trading). */
  broker?: BrokerAdapter;
  /** Options for the embedded simulated broker when `broker` is not given. */
  sim?: Omit<SimBrokerOptions, 'instruments' | 'clock'>;
  /** Injected pino logger. Default: pino to stderr at TRADECORE_LOG_LEVEL (warn). */
  logger?: Logger;
  /** Receives every anomaly (unknown order, overfill, invalid transition, ...). */
  onAnomaly?: AnomalyHook;
  /**
   * Implementation of the batch gate (`submitMany`): 'auto' (default) uses the native addon
   * when it is loaded; 'native' requires it; 'ts' never loads it. TRADECORE_NATIVE=0 also forces TypeScript.
   */
  backend?: 'auto' | 'native' | 'ts';
  /** Called on every trading-state change (after it took effect). */
  onTradingState?: TradingStateHook;
  /**
   * Where orders go: `paper` (default; the embedded simulated broker), `sim` (a simulated or
   * test broker over the network) or `live`. The broker adapter's credentials must belong to
   * it; `live` also needs `live` (the arm).
   */
  environment?: Environment;
  /** The explicit arm `live` needs: `{ armed: true, confirmAccount: <the live account> }`. */
  live?: LiveArm;
  /** Heartbeat, reconnect, start timeout, clock skew (see ConnectionOptions; every field has a default). */
  connection?: ConnectionOptions;
  /** Called on every connection-state change. */
  onConnectionState?: (change: ConnectionStateChange) => void;
  /** Called after each trading-day roll. */
  onDayRoll?: (roll: DayRoll) => void;
  /**
   * The journal: every command and report written to `journal.dir` before it takes effect,
   * with snapshots; `start()` restores the state it holds, then runs recovery sync. Default
   * none (nothing survives the process). See docs/journal.md.
   */
  journal?: JournalOptions;
  /**
   * The hash of the config this engine was made from, when the caller keeps config snapshots
   * (`tradecore run` does: docs/service.md). Written into the journal's open record, so a journal
   * says which config each session traded with.
   */
  configHash?: string;
  /** The fallback switch to paper or safe-stop (docs/release.md): what happens to live orders, where the paper period is journaled. */
  fallback?: FallbackOptions;
  /**
   * Reconciliation with the broker's records: the interval of periodic runs (default 0: on
   * demand only), the grace period, and the conflict policy per diff kind (docs/reconciliation.md).
   */
  recon?: ReconConfig;
}

const KNOWN = new Set([
  'instruments', 'broker', 'sim', 'capacity', 'retentionMs', 'risk', 'initialCash', 'currencyPrecision', 'clock', 'logger', 'strategy', 'onAnomaly', 'backend', 'testHooks', 'onTradingState', 'markets', 'cancelOutsideSession',
  'environment', 'live', 'connection', 'onConnectionState', 'journal', 'latencyHistograms', 'reportTimingEvery', 'recon', 'tradingDay', 'limits', 'onDayRoll', 'callbackArgs', 'configHash', 'rollout', 'fallback',
]);

/** Thrown by `createEngine` with every problem of the config at once. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid engine config:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Validate an engine config; returns every problem, each naming the path. `fileOnly`: the
 * config of a file, whose code-only parts (broker, callbacks) are passed beside it later.
 */
export function configProblems(cfg: unknown, options: { fileOnly?: boolean } = {}): string[] {
  if (typeof cfg !== 'object' || cfg === null) return ['config: must be an object'];
  const c = cfg as Record<string, unknown>;
  const errors: string[] = [];
  for (const key of Object.keys(c)) {
    if (!KNOWN.has(key)) errors.push(`${key}: unknown option (known: ${[...KNOWN].join(', ')})`);
  }
  const symbols = new Set<string>();
  if (!Array.isArray(c.instruments) || c.instruments.length === 0) {
    errors.push('instruments: must be a non-empty array');
  } else {
    c.instruments.forEach((spec, i) => {
      errors.push(...instrumentProblems(spec, `instruments[${i}]`));
      const sym = (spec as { symbol?: unknown } | null)?.symbol;
      if (typeof sym === 'string') {
        if (symbols.has(sym)) errors.push(`instruments[${i}].symbol: duplicate symbol ${sym}`);
        symbols.add(sym);
      }
    });
  }
  if (c.capacity !== undefined) {
    const n = c.capacity;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 1 << 24 || (n & (n - 1)) !== 0) {
      errors.push(`capacity: must be a power of two from 2 to 16777216, got ${String(n)}`);
    }
  }
  if (c.retentionMs !== undefined && (typeof c.retentionMs !== 'number' || !(c.retentionMs >= 0))) {
    errors.push('retentionMs: must be a number >= 0');
  }
  errors.push(...tradingDayProblems(c.tradingDay));
  errors.push(...limitsProblems(c.limits, typeof c.capacity === 'number' ? c.capacity : 65536));
  if (c.onDayRoll !== undefined && typeof c.onDayRoll !== 'function') errors.push('onDayRoll: must be a function');
  if (c.configHash !== undefined && (typeof c.configHash !== 'string' || c.configHash === '')) errors.push('configHash: must be a non-empty string');
  const risk = riskProblems(c.risk, symbols);
  errors.push(...risk);
  // ladder ticks in each instrument's own price units, once instruments and ladders are sound
  if (risk.length === 0 && Array.isArray(c.instruments) && c.instruments.every((s, i) => instrumentProblems(s, `instruments[${i}]`).length === 0)) {
    errors.push(...ladderUnitProblems(c.risk as RiskConfig | undefined, (c.instruments as InstrumentSpec[]).map((s, i) => makeInstrument(s, i))));
  }
  if (c.currencyPrecision !== undefined) {
    if (typeof c.currencyPrecision !== 'object' || c.currencyPrecision === null) errors.push('currencyPrecision: must be an object of currency → decimals');
    else {
      for (const [ccy, v] of Object.entries(c.currencyPrecision)) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 12) errors.push(`currencyPrecision.${ccy}: must be an integer from 0 to 12`);
      }
    }
  }
  if (c.initialCash !== undefined) {
    if (typeof c.initialCash !== 'object' || c.initialCash === null) errors.push('initialCash: must be an object of currency → amount');
    else {
      for (const [ccy, v] of Object.entries(c.initialCash)) {
        if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(`initialCash.${ccy}: must be a finite number`);
      }
    }
  }
  const fnOrObj = (k: string, methods: string[]) => {
    const v = c[k];
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null) errors.push(`${k}: must be an object`);
    else for (const m of methods) if (typeof (v as Record<string, unknown>)[m] !== 'function') errors.push(`${k}.${m}: must be a function`);
  };
  fnOrObj('broker', ['connect', 'disconnect', 'heartbeat', 'placeOrder', 'cancelOrder', 'syncOpenOrders', 'syncTodayTrades', 'queryPositions', 'queryAccount']);
  fnOrObj('clock', ['now', 'setTimer', 'clearTimer']);
  fnOrObj('logger', ['debug', 'info', 'warn', 'error', 'child']);
  if (c.strategy !== undefined) errors.push(...strategyProblems(c.strategy, 'strategy'));
  if (c.onAnomaly !== undefined && typeof c.onAnomaly !== 'function') errors.push('onAnomaly: must be a function');
  const markets = new Set<string>();
  if (c.markets !== undefined) {
    if (typeof c.markets !== 'object' || c.markets === null) errors.push('markets: must be an object of market name → calendar');
    else {
      for (const [name, spec] of Object.entries(c.markets)) {
        markets.add(name);
        errors.push(...calendarProblems(spec, `markets.${name}`));
      }
    }
  }
  if (Array.isArray(c.instruments)) {
    c.instruments.forEach((spec, i) => {
      const m = (spec as { market?: unknown } | null)?.market;
      if (typeof m === 'string' && m.length > 0 && !markets.has(m)) errors.push(`instruments[${i}].market: no market ${m} in markets`);
    });
  }
  if (c.cancelOutsideSession !== undefined && c.cancelOutsideSession !== 'allow' && c.cancelOutsideSession !== 'refuse') {
    errors.push(`cancelOutsideSession: must be allow or refuse, got ${String(c.cancelOutsideSession)}`);
  }
  if (c.onTradingState !== undefined && typeof c.onTradingState !== 'function') errors.push('onTradingState: must be a function');
  if (c.backend !== undefined && c.backend !== 'auto' && c.backend !== 'native' && c.backend !== 'ts') {
    errors.push(`backend: must be auto, native or ts, got ${String(c.backend)}`);
  }
  if (c.sim !== undefined && c.broker !== undefined) errors.push('sim: only applies to the embedded broker; remove it or remove broker');
  if (c.environment !== undefined && !isEnvironment(c.environment)) errors.push(`environment: must be paper, sim or live, got ${String(c.environment)}`);
  else if (c.environment !== undefined && c.environment !== 'paper' && c.broker === undefined && options.fileOnly !== true) {
    errors.push(`environment: ${String(c.environment)} needs a broker adapter (the embedded simulated broker is paper)`);
  }
  if (c.live !== undefined) {
    const l = c.live as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null) errors.push('live: must be { armed: true, confirmAccount: <account> }');
    else {
      if (typeof l.armed !== 'boolean') errors.push('live.armed: must be a boolean');
      if (typeof l.confirmAccount !== 'string' || l.confirmAccount === '') errors.push('live.confirmAccount: must be the live account name');
      for (const k of Object.keys(l)) if (k !== 'armed' && k !== 'confirmAccount') errors.push(`live.${k}: unknown option (known: armed, confirmAccount)`);
    }
  }
  errors.push(...connectionProblems(c.connection));
  if (c.journal !== undefined) errors.push(...journalProblems(c.journal));
  if (c.latencyHistograms !== undefined && typeof c.latencyHistograms !== 'boolean') errors.push('latencyHistograms: must be true or false');
  const every = c.reportTimingEvery as unknown;
  if (every !== undefined && !(typeof every === 'number' && Number.isInteger(every) && every >= 1 && every <= 1024 && (every & (every - 1)) === 0)) {
    errors.push(`reportTimingEvery: must be a power of two from 1 to 1024, got ${JSON.stringify(every)}`);
  }
  if (c.callbackArgs !== undefined && c.callbackArgs !== 'views' && c.callbackArgs !== 'objects') errors.push(`callbackArgs: must be 'views' or 'objects', got ${JSON.stringify(c.callbackArgs)}`);
  if (c.onConnectionState !== undefined && typeof c.onConnectionState !== 'function') errors.push('onConnectionState: must be a function');
  errors.push(...reconProblems(c.recon));
  errors.push(...rolloutProblems(c.rollout, symbols));
  errors.push(...fallbackProblems(c.fallback));
  return errors;
}

export function strategyProblems(s: unknown, path: string): string[] {
  if (typeof s !== 'object' || s === null) return [`${path}: must be an object with onOrder / onTrade / onExecutionReport / onQuote`];
  const errors: string[] = [];
  const known = ['onOrder', 'onTrade', 'onExecutionReport', 'onCorrection', 'onQuote'];
  for (const [k, v] of Object.entries(s)) {
    if (!known.includes(k)) errors.push(`${path}.${k}: unknown callback (known: ${known.join(', ')})`);
    else if (typeof v !== 'function') errors.push(`${path}.${k}: must be a function`);
  }
  return errors;
}
