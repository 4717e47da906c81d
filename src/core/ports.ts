/**
 * The ports of the core: what the layers above it provide (a broker to send to, a journal, the
 * connection's state, latency recorders, a logger, a host that hears events) and the requests
 * the core sends. The core imports no layer above it; the composition module (src/engine.ts)
 * plugs the adapters, the journal, the connection supervisor, reconciliation and monitoring in
 * through these interfaces.
 */
import type { OrderType, Side, TimeInForce } from '../domain/order.js';
import type { DayRoll } from '../domain/trading-day.js';
import type { TradingStateChange } from '../risk/trading-state.js';
import type { Anomaly } from './anomaly.js';
import type { CoreRecord } from './records.js';

/** What the engine asks a broker to place. Prices are decimals on the instrument's tick. */
export interface PlaceOrderRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly qty: number;
  /** NaN for market orders. */
  readonly price: number;
  /** Market orders under a protection band: fill no worse than this price (decimal). */
  readonly protectionPrice?: number;
}

export interface CancelOrderRequest {
  readonly clientOrderId: string;
  /** Empty when the order has not been acknowledged yet; cancel by client order id then. */
  readonly brokerOrderId: string;
}

/**
 * Thrown by `placeOrder` / `cancelOrder` when the request certainly did not leave the process
 * (not connected, encoder refused it). Any other error means the outcome is unknown.
 */
export class NotSentError extends Error {
  readonly code = 'NOT_SENT';
}

/** The part of a broker adapter the core sends through (the full contract: brokers/adapter.ts). */
export interface OrderSender {
  readonly name: string;
  placeOrder(req: PlaceOrderRequest): void;
  cancelOrder(req: CancelOrderRequest): void;
}

/** Where the core writes its records before they take effect (the journal implements it). */
export interface JournalPort {
  readonly dir: string;
  /** Append one record; throws when the journal cannot take it. */
  append(rec: CoreRecord): unknown;
  /** Make what was appended safe from the process dying; throws when the writer cannot. */
  barrier(): void;
}

/** The broker connection as the core sees it: its state name (`Ready`, `Degraded`, ...). */
export interface LinkPort {
  readonly state: string;
}

/** A latency histogram as the hot path feeds it: nanoseconds, at an epoch-ms time. */
export interface LatencySink {
  recordNs(ns: number, nowMs: number): void;
}

/** The log calls the core makes (pino's logger has them). */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface CoreLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Whether the logger writes debug lines, read as a plain field once per order. */
export interface DebugWatch {
  readonly debug: boolean;
}

/**
 * What the composition hears from the core, and does around a trading-day roll (the
 * end-of-day report, reconciliation's carried diffs).
 */
export interface CoreHost {
  /** An anomaly was raised (logged and journaled already). Not called while restoring. */
  anomaly(a: Anomaly): void;
  /** The trading state changed (journaled and logged already). */
  tradingState(change: TradingStateChange): void;
  /** The day is about to roll; its finished orders are still in memory. */
  dayEnding(restoring: boolean): void;
  /** The day's orders left: carry the open diffs into the new day; returns how many. */
  carryDiffs(): number;
  /** The day rolled (not called while restoring). */
  dayRolled(roll: DayRoll): void;
}
