/** Counters since start. Read with `engine.stats()`. */
export interface EngineStats {
  submits: number;
  accepted: number;
  duplicateSubmits: number;
  denied: number;
  deniedByReason: Record<string, number>;
  cancels: number;
  cancelsSent: number;
  cancelsIgnored: number;
  reports: number;
  duplicateReports: number;
  /** Older than the order's last applied sequence; dropped (their fills still applied). */
  staleReports: number;
  /** Legal reports that changed no status (late acks, cancel acks, too-late cancel rejects). */
  noopReports: number;
  invalidTransitions: number;
  malformedReports: number;
  unknownOrders: number;
  overfills: number;
  fills: number;
  rejects: number;
  rejectsByReason: Record<string, number>;
  callbackErrors: number;
  sendFailures: number;
  anomalies: number;
  /** Established broker connections lost (see `connectionStats()` for the rest). */
  disconnects: number;
  /** Times the broker asked us to slow down. */
  throttles: number;
  /** Recovery syncs completed. */
  syncs: number;
  /** Own orders the broker took (an ack, or a fill before it): place success = acks / accepted. */
  acks: number;
  /** Cancels the broker confirmed (PendingCancel to Cancelled): cancel success = cancelsConfirmed / cancelsSent. */
  cancelsConfirmed: number;
  /** Cancels the broker refused (cancel_rejected reports). */
  cancelRejects: number;
  /** Reports for orders of the day already let go from the order table: not applied (fills alerted as LATE_REPORT). */
  lateReports: number;
  /** Reports that named only a broker order id the engine did not know yet, held for the ack that maps it. */
  parkedReports: number;
  /** Reports and orders refused at a configured bound (see `limits`). */
  boundRefusals: number;
  /** Trading-day rolls since start. */
  dayRolls: number;
  /** Reports whose cumQty disagreed with the engine's own sum of fills (CUM_QTY_MISMATCH). */
  cumQtyMismatches: number;
  /** Fills at a price through their order's limit (FILL_THROUGH_LIMIT). */
  fillsThroughLimit: number;
  /** Fill prices finer than a fill unit, booked at the nearest (FILL_PRICE_ROUNDED). */
  fillPricesRounded: number;
}

/** The counters the core keeps (the rest of `EngineStats` is derived when asked). */
export type Counters = Omit<EngineStats, 'deniedByReason' | 'rejectsByReason' | 'disconnects'>;

export function newCounters(): Counters {
  return {
    submits: 0, accepted: 0, duplicateSubmits: 0, denied: 0, cancels: 0, cancelsSent: 0, cancelsIgnored: 0,
    reports: 0, duplicateReports: 0, staleReports: 0, noopReports: 0, invalidTransitions: 0, malformedReports: 0,
    unknownOrders: 0, overfills: 0, fills: 0, rejects: 0, callbackErrors: 0, sendFailures: 0, anomalies: 0, throttles: 0, syncs: 0,
    acks: 0, cancelsConfirmed: 0, cancelRejects: 0, lateReports: 0, parkedReports: 0, boundRefusals: 0, dayRolls: 0,
    cumQtyMismatches: 0, fillsThroughLimit: 0, fillPricesRounded: 0,
  };
}
