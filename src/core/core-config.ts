import type { InstrumentSpec } from '../domain/instrument.js';
import type { TradingDaySpec } from '../domain/trading-day.js';
import type { MarketCalendarSpec } from '../risk/calendar.js';
import type { RiskConfig } from '../risk/limits.js';
import type { RolloutConfig } from '../risk/rollout.js';
import type { EngineLimits } from './bounds.js';
import type { ReportCallbacks } from './callbacks.js';
import type { Clock } from './clock.js';

/** The part of the engine config the core reads (the rest: `EngineConfig` in src/config.ts). Validated before it gets here. */
export interface CoreConfig {
  /** The tradable instruments; symbols unique. */
  instruments: InstrumentSpec[];
  /** Order slots, a power of two. Default 65536. */
  capacity?: number;
  /**
   * How long a finished order stays in the order table (full detail, fast lookups), ms. Default
   * 1 hour. It then moves to the trading day's store until the day rolls; its id is refused for
   * reuse for the whole trading day either way.
   */
  retentionMs?: number;
  /**
   * The trading day's boundary: `{ rollAt: 'HH:MM', timeZone: IANA }`, default midnight UTC. At
   * the boundary the day rolls: the day's finished orders leave memory (they stay in the
   * journal), daily counters reset, reconciliation compares with the new day only.
   */
  tradingDay?: TradingDaySpec;
  /** Bounds on state that reports can grow (external orders, exec ids per order, the day's store, parked reports). */
  limits?: EngineLimits;
  risk?: RiskConfig;
  /**
   * Staged rollout: named stages (canary → pilot → full) with capital caps, a symbol
   * allow-list, trading windows and a share of the order rates, checked before every order;
   * promotion is an operator's command (docs/release.md). Default none.
   */
  rollout?: RolloutConfig;
  /** Starting cash per currency for the ledger. Default none (cash starts at 0). */
  initialCash?: Record<string, number>;
  /**
   * Decimals of each currency's amounts at the edges (account, positions' P&L, reports, logs,
   * metrics), where exact integer money is rounded once. Default the ISO 4217 minor units
   * (2; JPY and KRW 0; BHD, KWD, JOD, OMR, TND 3; BTC and ETH 8).
   */
  currencyPrecision?: Record<string, number>;
  /** Injected time. Default the system clock. */
  clock?: Clock;
  /** Strategy callbacks; may also be registered once with `engine.setStrategy`. */
  strategy?: ReportCallbacks;
  /**
   * What the strategy callbacks are given. `'views'` (default): reusable views over the order
   * table, valid during the call, no allocation per report; call `toObject()` on one to keep it.
   * `'objects'`: a fresh plain object per call (what earlier versions gave), which may be kept
   * as it is; measured slower (see bench/results).
   */
  callbackArgs?: 'views' | 'objects';
  /** Trading calendars by market name; instruments name theirs with `market`. */
  markets?: Record<string, MarketCalendarSpec>;
  /** Cancels while the instrument's market is closed: sent ('allow', default) or refused ('refuse'). */
  cancelOutsideSession?: 'allow' | 'refuse';
  /**
   * Record the latency histograms (submit → ack and first fill, report handling, strategy
   * callbacks). Default true; false saves their clock readings and records (bench/ measures it).
   */
  latencyHistograms?: boolean;
  /**
   * Time the handling and callbacks of every n-th report only (a power of two from 1 to 1024;
   * default 8): each timed report costs two more clock readings (~56 ns each), the others none,
   * so those two histograms hold a uniform sample (their counts are reports / n). 1 times
   * every report. Submit → ack and submit → first fill are recorded for every order, from
   * the readings the engine takes anyway.
   */
  reportTimingEvery?: number;
  /** For tests only: a weak id hash, to make ids collide on all 64 bits (see IdIndex). */
  testHooks?: { weakHash?: (id: string) => number };
}
