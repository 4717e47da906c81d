import { OrderStatus, STATUS_COUNT, type OrderStatusCode } from './order-status.js';

/**
 * Events that move an order. Commands from the strategy are imperative (`submit`, `cancel`);
 * these are what happened, past tense, as the state machine sees them.
 */
export const OrderEvent = {
  /** Broker acknowledged the order (FIX ExecType=New). */
  Accepted: 0,
  /** Broker refused the order. */
  Rejected: 1,
  /** A fill that leaves quantity open (decided from the engine's own cumulative quantity). */
  PartialFill: 2,
  /** A fill that completes the order quantity (or overfills it). */
  Fill: 3,
  /** The strategy asked to cancel; the engine sent the request. */
  CancelRequested: 4,
  /** Broker acknowledged the cancel request but has not cancelled yet (FIX ExecType=PendingCancel). */
  CancelPending: 5,
  /** Broker cancelled the order. */
  Cancelled: 6,
  /** Broker refused the cancel request. */
  CancelRejected: 7,
  /** Order expired at the broker (time in force ran out). */
  Expired: 8,
} as const;

export type OrderEventCode = (typeof OrderEvent)[keyof typeof OrderEvent];
export type OrderEventName = keyof typeof OrderEvent;
export const EVENT_COUNT = 9;
export const EVENT_NAMES: readonly OrderEventName[] = [
  'Accepted',
  'Rejected',
  'PartialFill',
  'Fill',
  'CancelRequested',
  'CancelPending',
  'Cancelled',
  'CancelRejected',
  'Expired',
];

/** Target meaning "illegal: count it as an InvalidTransition and change nothing". */
export const INVALID = -1;
/** Target meaning "go back to the status the order had before PendingCancel". */
export const RESTORE = -2;

const S = OrderStatus;
const E = OrderEvent;

/**
 * The one transition table: `[from, event, to]`. Anything not listed is an InvalidTransition.
 * Rows where `to === from` for a non-fill event are legal but change nothing (a late or
 * duplicate status report); the engine counts them as stale.
 */
export const TRANSITIONS: ReadonlyArray<readonly [OrderStatusCode, OrderEventCode, OrderStatusCode | typeof RESTORE]> = [
  [S.PendingNew, E.Accepted, S.Submitted],
  [S.PendingNew, E.Rejected, S.Rejected],
  // Fill before ack: the ack can be lost or overtaken by the fill on another path.
  [S.PendingNew, E.PartialFill, S.PartiallyFilled],
  [S.PendingNew, E.Fill, S.Filled],
  // Cancel before ack: sent by client order id, the broker resolves it.
  [S.PendingNew, E.CancelRequested, S.PendingCancel],
  // IOC / market remainder cancelled by the broker, which may skip the ack.
  [S.PendingNew, E.Cancelled, S.Cancelled],
  [S.PendingNew, E.Expired, S.Expired],

  // Duplicate ack under a new exec id: legal, changes nothing.
  [S.Submitted, E.Accepted, S.Submitted],
  [S.Submitted, E.PartialFill, S.PartiallyFilled],
  [S.Submitted, E.Fill, S.Filled],
  [S.Submitted, E.CancelRequested, S.PendingCancel],
  // Unsolicited cancel (broker or exchange side).
  [S.Submitted, E.Cancelled, S.Cancelled],
  // A repeated cancel reject after the first one already restored the status.
  [S.Submitted, E.CancelRejected, S.Submitted],
  [S.Submitted, E.Expired, S.Expired],

  // Late ack after a fill that arrived first.
  [S.PartiallyFilled, E.Accepted, S.PartiallyFilled],
  [S.PartiallyFilled, E.PartialFill, S.PartiallyFilled],
  [S.PartiallyFilled, E.Fill, S.Filled],
  [S.PartiallyFilled, E.CancelRequested, S.PendingCancel],
  [S.PartiallyFilled, E.Cancelled, S.Cancelled],
  [S.PartiallyFilled, E.CancelRejected, S.PartiallyFilled],
  [S.PartiallyFilled, E.Expired, S.Expired],

  // Late ack for an order cancelled before its ack.
  [S.PendingCancel, E.Accepted, S.PendingCancel],
  // Cancel before ack, and the broker refused the order itself.
  [S.PendingCancel, E.Rejected, S.Rejected],
  // A fill while the cancel is in flight: applied, the cancel is still pending.
  [S.PendingCancel, E.PartialFill, S.PendingCancel],
  // Filled before the cancel reached the book; the cancel reject follows.
  [S.PendingCancel, E.Fill, S.Filled],
  [S.PendingCancel, E.CancelPending, S.PendingCancel],
  [S.PendingCancel, E.Cancelled, S.Cancelled],
  [S.PendingCancel, E.CancelRejected, RESTORE],
  [S.PendingCancel, E.Expired, S.Expired],

  // Late ack / "too late to cancel" after the order filled.
  [S.Filled, E.Accepted, S.Filled],
  [S.Filled, E.CancelPending, S.Filled],
  [S.Filled, E.CancelRejected, S.Filled],

  // Fill after cancel: a real-world race (the fill crossed the cancel on the wire).
  // A fill that completes the quantity makes the order Filled; otherwise it stays Cancelled.
  [S.Cancelled, E.PartialFill, S.Cancelled],
  [S.Cancelled, E.Fill, S.Filled],
  [S.Cancelled, E.Accepted, S.Cancelled],
  [S.Cancelled, E.CancelPending, S.Cancelled],
  // "Too late to cancel" that arrives after the cancel (or IOC remainder cancel) itself.
  [S.Cancelled, E.CancelRejected, S.Cancelled],

  // Fill after expiry: the same race as fill after cancel.
  [S.Expired, E.PartialFill, S.Expired],
  [S.Expired, E.Fill, S.Filled],
  [S.Expired, E.Accepted, S.Expired],
  [S.Expired, E.CancelRejected, S.Expired],

  // Cancel before ack, the order was rejected, and then the cancel is refused too.
  [S.Rejected, E.CancelRejected, S.Rejected],
];

const table = new Int8Array(STATUS_COUNT * EVENT_COUNT).fill(INVALID);
for (const [from, event, to] of TRANSITIONS) table[from * EVENT_COUNT + event] = to;

/**
 * Next status for `(from, event)`: a status code, `RESTORE`, or `INVALID`.
 * One typed-array read; no allocation.
 */
export function nextStatus(from: number, event: number): number {
  return table[from * EVENT_COUNT + event]!;
}
