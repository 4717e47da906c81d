import type { ExecutionReportView, OrderView, TradeView } from './views.js';

/**
 * The report callbacks the core calls after each applied report (the strategy's
 * `StrategyCallbacks` are these plus `onCorrection`, which reconciliation calls). Each gets a
 * view reused from call to call: see `StrategyCallbacks` for how to keep one.
 */
export interface ReportCallbacks {
  /** Every broker report that changed an order (status, fill), with the order after it. */
  onOrder?(order: OrderView): void;
  /** Every new fill. */
  onTrade?(trade: TradeView): void;
  /** Every report applied (not duplicates, not stale ones), including ones that changed no status. */
  onExecutionReport?(report: ExecutionReportView): void;
}
