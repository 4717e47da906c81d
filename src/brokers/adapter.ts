import type { OrderType, Side, TimeInForce } from '../domain/order.js';
import type { BrokerAccount, BrokerOrder, BrokerPosition, BrokerReport, BrokerTrade } from '../domain/report.js';

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

/** Where an adapter delivers everything the broker sends unprompted. */
export interface ReportSink {
  /** One execution report. The engine never throws back into the adapter. */
  onReport(report: BrokerReport): void;
  /** The connection was lost (the connectivity layer decides what happens next). */
  onDisconnect(reason: string): void;
}

export interface HeartbeatInfo {
  /** Broker clock, epoch ms, for skew checks. */
  readonly brokerTime: number;
}

/**
 * Thrown by `placeOrder` / `cancelOrder` when the request certainly did not leave the process
 * (not connected, encoder refused it). Any other error means the outcome is unknown.
 */
export class NotSentError extends Error {
  readonly code = 'NOT_SENT';
}

/**
 * The contract every broker adapter implements. The embedded simulated broker is the
 * reference implementation (`src/brokers/sim/sim-broker.ts`).
 *
 * Rules an adapter must keep:
 * - `placeOrder` and `cancelOrder` return synchronously after handing the request to the
 *   wire; the outcome arrives later as reports through the sink. They never deliver a report
 *   synchronously from inside the call (the engine tolerates it, but it defeats batching).
 * - A broker-side refusal is a `rejected` / `cancel_rejected` report, not a thrown error.
 * - Throwing `NotSentError` means nothing was sent; throwing anything else means the outcome
 *   is unknown, and the engine will not resend: it keeps the order `PendingNew` until
 *   recovery sync (`syncOpenOrders`, `syncTodayTrades`) proves what the broker has.
 * - Every report carries `brokerOrderId` and a per-order unique `execId`; reports may be
 *   duplicated or reordered on the way, the engine deduplicates and orders them.
 * - The sync and query calls describe the broker's own records for the current trading day.
 *
 * @example
 * const broker: BrokerAdapter = new SimBroker({ instruments, seed: 7 });
 * const engine = createEngine({ instruments, broker });
 * await engine.start(); // calls broker.connect(engine's sink)
 */
export interface BrokerAdapter {
  /** Short name for logs and status, e.g. "sim" or "fix:ACME". */
  readonly name: string;
  /** Connect and log on; resolve once reports will flow into `sink`. */
  connect(sink: ReportSink): Promise<void>;
  /** Log off and close; no report is delivered after this resolves. */
  disconnect(): Promise<void>;
  /** Round trip to the broker; rejects when it does not answer. */
  heartbeat(): Promise<HeartbeatInfo>;
  placeOrder(req: PlaceOrderRequest): void;
  cancelOrder(req: CancelOrderRequest): void;
  /** Every order the broker holds open now. */
  syncOpenOrders(): Promise<BrokerOrder[]>;
  /** Every fill of the trading day. */
  syncTodayTrades(): Promise<BrokerTrade[]>;
  queryPositions(): Promise<BrokerPosition[]>;
  queryAccount(): Promise<BrokerAccount[]>;
}
