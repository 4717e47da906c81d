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
  | 'TABLE_FULL_EXTERNAL';

export interface Anomaly {
  readonly kind: AnomalyKind;
  /** Human-readable reason with key=value detail. */
  readonly reason: string;
  readonly clientOrderId?: string;
  readonly brokerOrderId?: string;
  readonly time: number;
  /** The raw report involved, when there is one. */
  readonly report?: unknown;
}

export type AnomalyHook = (anomaly: Anomaly) => void;
