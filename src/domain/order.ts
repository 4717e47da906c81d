import type { OrderStatusName } from './order-status.js';
import type { RejectReason } from './reject-reason.js';

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
/** `day` rests until the session ends, `gtc` until cancelled, `ioc` fills what it can now. */
export type TimeInForce = 'day' | 'gtc' | 'ioc';

/** What a strategy submits. */
export interface OrderRequest {
  /** The strategy's own id; the idempotency key. 1 to 64 printable ASCII characters (0x21-0x7E: no space, control or non-ASCII character); anything else is INVALID_ORDER naming the character and its place. */
  clientOrderId: string;
  symbol: string;
  side: Side;
  /** Default 'limit'. */
  type?: OrderType;
  /** In instrument units; a whole multiple of the lot size. */
  qty: number;
  /** Required for limit orders; decimal, at most `pricePrecision` places, on the tick. */
  price?: number;
  /** Default 'day'. */
  tif?: TimeInForce;
  /** Accept only if the order shrinks the position (counting open orders on its side). */
  reduceOnly?: boolean;
}

/** A read-only copy of one order as the engine holds it. */
export interface Order {
  readonly clientOrderId: string;
  /** Empty string until the broker has assigned one. */
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly qty: number;
  /** Limit price; NaN for market orders. */
  readonly price: number;
  readonly status: OrderStatusName;
  readonly cumQty: number;
  readonly leavesQty: number;
  /** Average fill price; NaN before the first fill. */
  readonly avgPx: number;
  /** Set for Rejected orders (and Denied results). */
  readonly rejectReason?: RejectReason;
  /** The broker's own text for a reject, kept beside the code. */
  readonly rejectText?: string;
  /** True when the order was first seen in a broker report, not submitted by this engine. */
  readonly external: boolean;
  /** True when fills exceeded the order quantity (an anomaly was raised). */
  readonly overfilled: boolean;
  /** Engine clock time of submit (or of first sight, for external orders), epoch ms. */
  readonly createdAt: number;
  /** Engine clock time of the last change, epoch ms. */
  readonly updatedAt: number;
}

/** Result of `engine.submit`. Always returned, never thrown. */
export type SubmitResult =
  | { readonly status: 'accepted'; readonly clientOrderId: string }
  | {
      readonly status: 'duplicate';
      readonly clientOrderId: string;
      /** Empty until the broker acknowledged the original. */
      readonly brokerOrderId: string;
      readonly orderStatus: OrderStatusName;
    }
  | {
      readonly status: 'denied';
      readonly clientOrderId: string;
      readonly reason: RejectReason;
      /** key=value pairs: the limit, the value, the symbol. */
      readonly detail: string;
    };

/** Result of `engine.cancel`. Always returned, never thrown. */
export type CancelResult =
  | { readonly status: 'sent'; readonly clientOrderId: string; readonly brokerOrderId: string }
  | {
      /** Nothing was sent because nothing needs sending. */
      readonly status: 'ignored';
      readonly clientOrderId: string;
      readonly reason: 'CANCEL_PENDING' | 'ORDER_FINISHED';
      readonly orderStatus: OrderStatusName;
    }
  | {
      readonly status: 'denied';
      readonly clientOrderId: string;
      readonly reason: 'UNKNOWN_ORDER' | 'BROKER_NOT_READY' | 'INVALID_ORDER' | 'RATE_LIMIT' | 'OUTSIDE_SESSION' | 'JOURNAL_FAILED';
      readonly detail: string;
    };
