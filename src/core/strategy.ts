import type { Order } from '../domain/order.js';
import type { ExecutionReport, Trade } from '../domain/report.js';
import type { Correction } from '../recon/diff.js';

/**
 * Strategy callbacks: a plain object, registered once (no EventEmitter on the hot path).
 * Each gets both ids. They run after the report is fully applied, so a callback may submit or
 * cancel; an exception is caught, counted and raised as a CALLBACK_ERROR anomaly.
 *
 * @example
 * engine.setStrategy({
 *   onTrade(t) { console.log(t.clientOrderId, t.brokerOrderId, t.qty, t.price); },
 * });
 */
export interface StrategyCallbacks {
  /** Every broker report that changed an order (status, fill), with the order after it. */
  onOrder?(order: Order): void;
  /** Every new fill. */
  onTrade?(trade: Trade): void;
  /** Every report applied (not duplicates, not stale ones), including ones that changed no status. */
  onExecutionReport?(report: ExecutionReport): void;
  /**
   * Reconciliation changed one of its orders, a position or cash (a missed fill applied, a
   * status the broker finished taken, a position, cash or price corrected), automatically or
   * by a person. Fills and statuses applied this way also arrive through the callbacks above.
   */
  onCorrection?(correction: Correction): void;
}
