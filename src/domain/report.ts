import type { OrderStatusName } from './order-status.js';
import type { OrderType, Side, TimeInForce } from './order.js';
import type { RejectReason } from './reject-reason.js';

/** What kind of execution report the broker sent (FIX ExecType, reduced). */
export type ExecKind = 'new' | 'trade' | 'canceled' | 'rejected' | 'expired' | 'cancel_rejected' | 'pending_cancel';

export const EXEC_KINDS: readonly ExecKind[] = ['new', 'trade', 'canceled', 'rejected', 'expired', 'cancel_rejected', 'pending_cancel'];

/**
 * A report as a broker adapter delivers it, before the engine normalizes it. Adapters map
 * their wire format onto this shape; the engine validates every field and drops (and flags)
 * a malformed report rather than throwing into the adapter.
 */
export interface BrokerReport {
  kind: ExecKind;
  /** The broker's unique id of this report within the order (FIX ExecID). */
  execId: string;
  /** May be empty only for a reject of an order the broker never accepted. */
  brokerOrderId: string;
  /** Echo of the client order id when the broker provides it. */
  clientOrderId?: string;
  /** Fill quantity of this report; required for `trade`. */
  lastQty?: number;
  /** Fill price of this report (decimal); required for `trade`. */
  lastPx?: number;
  /** The broker's cumulative filled quantity after this report, when provided. */
  cumQty?: number;
  /** Per-order report sequence, increasing; when provided it is used to drop stale status. */
  seq?: number;
  /** Broker time, epoch ms. */
  time?: number;
  /** For reports on orders this engine does not know (external orders). */
  symbol?: string;
  side?: Side;
  qty?: number;
  price?: number;
  type?: OrderType;
  tif?: TimeInForce;
  /** The adapter's mapping of the broker reject onto a stable code, when it has one. */
  reason?: RejectReason;
  /** The broker's own reject or cancel-reject text. */
  text?: string;
}

/** A normalized report as the engine hands it to the strategy; both ids always present. */
export interface ExecutionReport {
  readonly kind: ExecKind;
  readonly execId: string;
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  /** Order status after the engine applied this report. */
  readonly status: OrderStatusName;
  readonly lastQty: number;
  /** NaN when the report carries no fill. */
  readonly lastPx: number;
  /** The engine's cumulative filled quantity after this report. */
  readonly cumQty: number;
  readonly leavesQty: number;
  /** On `rejected`: the reject code. On `cancel_rejected`: the adapter's code for the refusal (e.g. TOO_LATE_TO_CANCEL), when it gave a known one. */
  readonly reason?: RejectReason;
  readonly text?: string;
  /** Broker time when given, else engine clock time, epoch ms. */
  readonly time: number;
}

/** One fill. */
export interface Trade {
  /** `${brokerOrderId}:${execId}`: unique per broker. */
  readonly tradeId: string;
  readonly execId: string;
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly qty: number;
  readonly price: number;
  readonly time: number;
  /** The fill belongs to an order this engine did not submit. */
  readonly external: boolean;
}

/** An order as the broker's own records hold it (sync and reconciliation). */
export interface BrokerOrder {
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  qty: number;
  /** NaN for market orders. */
  price: number;
  cumQty: number;
  status: OrderStatusName;
}

/** A fill as the broker's own records hold it. */
export interface BrokerTrade {
  execId: string;
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: Side;
  qty: number;
  price: number;
  time: number;
}

export interface BrokerPosition {
  symbol: string;
  /** Signed: long positive, short negative. */
  qty: number;
}

export interface BrokerAccount {
  currency: string;
  cash: number;
}
