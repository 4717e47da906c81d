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

/**
 * A top-of-book quote from the broker's market-data stream (`ReportSink.onQuote`). Lent for the
 * call, like a report: keep `{ ...quote }` to hold it. Prices are decimals; `bid` or `ask` is NaN
 * when that side is empty.
 */
export interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  /** Broker time, epoch ms. */
  time: number;
}

/**
 * A report structure an adapter fills and hands to the sink again and again (the sink contract
 * lets it: the engine copies whatever it keeps past `onReport`). Every field is always present,
 * so the object keeps one shape; `reset` clears the optional ones before the next report.
 *
 * @example
 * const r = new ReportBuffer();
 * r.reset('trade', execId, brokerOrderId);
 * r.clientOrderId = id; r.lastQty = 100; r.lastPx = 10.05;
 * sink.onReport(r); // r may be filled again once this returns
 */
export class ReportBuffer implements BrokerReport {
  kind: ExecKind = 'new';
  execId = '';
  brokerOrderId = '';
  clientOrderId: string | undefined = undefined;
  lastQty: number | undefined = undefined;
  lastPx: number | undefined = undefined;
  cumQty: number | undefined = undefined;
  seq: number | undefined = undefined;
  time: number | undefined = undefined;
  symbol: string | undefined = undefined;
  side: Side | undefined = undefined;
  qty: number | undefined = undefined;
  price: number | undefined = undefined;
  type: OrderType | undefined = undefined;
  tif: TimeInForce | undefined = undefined;
  reason: RejectReason | undefined = undefined;
  text: string | undefined = undefined;

  /** Start the next report: its kind and ids set, every other field cleared. */
  reset(kind: ExecKind, execId: string, brokerOrderId: string): this {
    this.kind = kind;
    this.execId = execId;
    this.brokerOrderId = brokerOrderId;
    this.clientOrderId = undefined;
    this.lastQty = undefined;
    this.lastPx = undefined;
    this.cumQty = undefined;
    this.seq = undefined;
    this.time = undefined;
    this.symbol = undefined;
    this.side = undefined;
    this.qty = undefined;
    this.price = undefined;
    this.type = undefined;
    this.tif = undefined;
    this.reason = undefined;
    this.text = undefined;
    return this;
  }

  /** Take every field of `r` (what it lacks is cleared). */
  copyFrom(r: BrokerReport): this {
    this.kind = r.kind;
    this.execId = r.execId;
    this.brokerOrderId = r.brokerOrderId;
    this.clientOrderId = r.clientOrderId;
    this.lastQty = r.lastQty;
    this.lastPx = r.lastPx;
    this.cumQty = r.cumQty;
    this.seq = r.seq;
    this.time = r.time;
    this.symbol = r.symbol;
    this.side = r.side;
    this.qty = r.qty;
    this.price = r.price;
    this.type = r.type;
    this.tif = r.tif;
    this.reason = r.reason;
    this.text = r.text;
    return this;
  }
}

/** A plain copy of a report with only the fields it has (what the engine keeps of a report past `onReport`). */
export function copyReport(r: BrokerReport): BrokerReport {
  const c: BrokerReport = { kind: r.kind, execId: r.execId, brokerOrderId: r.brokerOrderId };
  if (r.clientOrderId !== undefined) c.clientOrderId = r.clientOrderId;
  if (r.lastQty !== undefined) c.lastQty = r.lastQty;
  if (r.lastPx !== undefined) c.lastPx = r.lastPx;
  if (r.cumQty !== undefined) c.cumQty = r.cumQty;
  if (r.seq !== undefined) c.seq = r.seq;
  if (r.time !== undefined) c.time = r.time;
  if (r.symbol !== undefined) c.symbol = r.symbol;
  if (r.side !== undefined) c.side = r.side;
  if (r.qty !== undefined) c.qty = r.qty;
  if (r.price !== undefined) c.price = r.price;
  if (r.type !== undefined) c.type = r.type;
  if (r.tif !== undefined) c.tif = r.tif;
  if (r.reason !== undefined) c.reason = r.reason;
  if (r.text !== undefined) c.text = r.text;
  return c;
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
