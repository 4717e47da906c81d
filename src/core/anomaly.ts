/**
 * Things the engine could not place in its model of the world. Each goes to the single
 * anomaly hook (the monitoring layer turns them into P1/P0 alerts) and is counted.
 */
export type AnomalyKind =
  /** A report for an order this engine never submitted; kept as an external order. */
  | 'UNKNOWN_ORDER'
  /** Fills exceed the order quantity; applied as reported, never clamped. */
  | 'OVERFILL'
  /** `(status, event)` is not in the transition table; the report changed nothing. */
  | 'INVALID_TRANSITION'
  /** A report failed validation (missing id, wrong type); it was dropped. */
  | 'MALFORMED_REPORT'
  /** The report's client and broker ids point at different orders. */
  | 'ID_MISMATCH'
  /** placeOrder / cancelOrder threw: the outcome is unknown until recovery sync. */
  | 'SEND_FAILED'
  /** A strategy callback threw; the engine carried on. */
  | 'CALLBACK_ERROR'
  /** An external order could not get a slot (table full); its fill was still booked. */
  | 'TABLE_FULL_EXTERNAL'
  /** The connection supervisor gave up (auth failures, protocol or fatal error, skew, environment): no trading until fixed. */
  | 'CONNECTION_HALTED'
  /** The broker's clock drifted past the bound on a live connection. */
  | 'CLOCK_SKEW'
  /** Recovery sync: an order sent with an unknown outcome is not at the broker; it was marked Rejected (never resent). */
  | 'SYNC_NOT_AT_BROKER'
  /** Recovery sync: an order is no longer open at the broker, which cannot say how it ended; finished by inference. */
  | 'SYNC_INFERRED'
  /** The journal could not take a record (disk full, I/O error): orders are refused until it can. */
  | 'JOURNAL_FAILED'
  /** A journal snapshot could not be written or read back: nothing it covers is compacted, restarts replay more. */
  | 'SNAPSHOT_FAILED'
  /** A fill for an order of the day already let go from the order table: not applied (it could be a resend); reconciliation compares it. */
  | 'LATE_REPORT'
  /** A configured bound on state was reached (`limits`, the day's store): what it bounds is refused, never grown. */
  | 'BOUND_REACHED'
  /** The broker's cumQty disagrees with the engine's own sum of applied fills; both kept, the engine's sum stands. */
  | 'CUM_QTY_MISMATCH'
  /** A fill at a price through the order's limit (a buy above it, a sell below it); booked as reported. */
  | 'FILL_THROUGH_LIMIT'
  /** A fill price finer than a fill unit (price precision + 2 decimals); booked at the nearest unit. */
  | 'FILL_PRICE_ROUNDED'
  /** The rollout stage's daily loss cap was reached: the trading state moved (`rollout.onLossCap`), only position-reducing orders pass until the day rolls. */
  | 'ROLLOUT_LOSS_CAP';

/** How urgent an anomaly is: P0 page someone now, P1 look today, P2 note. */
export type Severity = 'P0' | 'P1' | 'P2';

/** The severity of each kind (the monitoring layer routes on it). */
export const ANOMALY_SEVERITY: Readonly<Record<AnomalyKind, Severity>> = {
  UNKNOWN_ORDER: 'P1',
  OVERFILL: 'P0',
  INVALID_TRANSITION: 'P1',
  MALFORMED_REPORT: 'P1',
  ID_MISMATCH: 'P1',
  SEND_FAILED: 'P1',
  CALLBACK_ERROR: 'P2',
  TABLE_FULL_EXTERNAL: 'P0',
  CONNECTION_HALTED: 'P0',
  CLOCK_SKEW: 'P1',
  SYNC_NOT_AT_BROKER: 'P1',
  SYNC_INFERRED: 'P1',
  JOURNAL_FAILED: 'P0',
  SNAPSHOT_FAILED: 'P1',
  LATE_REPORT: 'P1',
  BOUND_REACHED: 'P1',
  CUM_QTY_MISMATCH: 'P1',
  FILL_THROUGH_LIMIT: 'P0',
  FILL_PRICE_ROUNDED: 'P1',
  ROLLOUT_LOSS_CAP: 'P0',
};

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly severity: Severity;
  /** Human-readable reason with key=value detail. */
  readonly reason: string;
  readonly clientOrderId?: string;
  readonly brokerOrderId?: string;
  readonly time: number;
  /** The raw report involved, when there is one. */
  readonly report?: unknown;
}

export type AnomalyHook = (anomaly: Anomaly) => void;
