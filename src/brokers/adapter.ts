import type { CancelOrderRequest, PlaceOrderRequest } from '../core/ports.js';
import type { BrokerAccount, BrokerOrder, BrokerPosition, BrokerReport, BrokerTrade, Quote } from '../domain/report.js';
import type { Credentials, Environment } from '../connectivity/credentials.js';

export { NotSentError, type PlaceOrderRequest, type CancelOrderRequest } from '../core/ports.js';

/** Where an adapter delivers everything the broker sends unprompted. */
export interface ReportSink {
  /**
   * One execution report. The engine never throws back into the adapter. The report stays the
   * adapter's: once this call returns the adapter may fill the same object with the next report
   * (a `ReportBuffer`, or a pooled object), because the engine copies whatever it keeps past the
   * call (a report that arrives while another is applied, one parked for its ack, the report of
   * an anomaly). Reusing it *during* the call, from inside a `placeOrder` or `cancelOrder` that a
   * strategy callback made, is not allowed: that report is still being read. An adapter that
   * allocates a fresh object per report is also correct.
   */
  onReport(report: BrokerReport): void;
  /**
   * An established connection was lost (socket closed, broker logged us out). Not called
   * for a `connect` that fails (that rejects instead) nor after `disconnect`. The connection
   * supervisor decides what happens next.
   */
  onDisconnect(reason: string): void;
  /**
   * Optional market data: the adapter's quote stream, when its broker has one (the embedded and
   * TCP simulated brokers publish a quote per symbol on every market step). The engine takes the
   * mid as the symbol's reference price for the price band and market-order notional checks, then
   * hands the quote to the strategy's `onQuote`. The quote object is lent for the call.
   */
  onQuote?(quote: Quote): void;
  /** Optional progress inside `connect`: the transport is up, logon is under way. */
  onPhase?(phase: 'authenticating'): void;
  /** The broker asked to slow down: the engine sends no new order for `retryAfterMs`. */
  onThrottle?(retryAfterMs: number, detail: string): void;
  /** A protocol or fatal error on an established connection; the connection is unusable. */
  onError?(error: BrokerError): void;
}

/**
 * What an adapter's sync and query calls can actually tell (`BrokerAdapter.syncs`). Recovery and
 * reconciliation read it: what an adapter cannot ask its broker is not compared, and the
 * reconciliation run lists it in `notCompared` instead of passing it silently.
 */
export interface SyncCapabilities {
  /**
   * Where `syncOpenOrders` / `syncDayOrders` come from: `broker`, asked of the broker; `session`,
   * the adapter's own record of everything the broker sent on the session (FIX without status
   * requests): complete for what the broker sent, blind to a report the broker never sent.
   */
  readonly orders: 'broker' | 'session';
  /** Where `syncTodayTrades` comes from, as for `orders`. */
  readonly trades: 'broker' | 'session';
  /** `broker`: `queryPositions` asks the broker; `derived`: it sums the synced trades (compared all the same: it checks the engine's fills). */
  readonly positions: 'broker' | 'derived';
  /** Whether `queryAccount` answers with the broker's cash. When false, cash is not compared. */
  readonly account: boolean;
}

/** What an adapter that does not say can sync: everything, from the broker. */
export const FULL_SYNC: SyncCapabilities = { orders: 'broker', trades: 'broker', positions: 'broker', account: true };

export interface HeartbeatInfo {
  /** Broker clock, epoch ms, for skew checks. */
  readonly brokerTime: number;
}

/**
 * How a broker failure should be handled (the connection supervisor's retry policy):
 * - `network`, `timeout`: transient; reconnect with backoff;
 * - `auth`: credentials refused; a few bounded retries, then Halted (P0);
 * - `throttled`: the broker asks to slow down; wait `retryAfterMs`, then go on;
 * - `protocol`, `fatal`: something is wrong that a retry will not fix; stop and report.
 */
export type BrokerErrorKind = 'network' | 'timeout' | 'auth' | 'throttled' | 'protocol' | 'fatal';

export const BROKER_ERROR_KINDS: readonly BrokerErrorKind[] = ['network', 'timeout', 'auth', 'throttled', 'protocol', 'fatal'];

/** A classified broker failure. Adapters throw (reject with) it so the supervisor knows what to do. */
export class BrokerError extends Error {
  readonly kind: BrokerErrorKind;
  /** For `throttled`: how long the broker asked us to wait, ms. */
  readonly retryAfterMs: number | undefined;

  constructor(kind: BrokerErrorKind, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'BrokerError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The kind of any error: a `BrokerError`'s own, `network` for anything unclassified. */
export function errorKind(err: unknown): BrokerErrorKind {
  return err instanceof BrokerError ? err.kind : 'network';
}

/**
 * The contract every broker adapter implements. The embedded simulated broker is the
 * reference implementation (`src/brokers/sim/sim-broker.ts`).
 *
 * Rules an adapter must keep:
 * - The engine's request objects and the adapter's report objects are lent for the length of the
 *   call: each side copies what it keeps, so both may reuse one object per call (see
 *   `placeOrder` and `ReportSink.onReport`).
 * - `placeOrder` and `cancelOrder` return synchronously after handing the request to the
 *   wire; the outcome arrives later as reports through the sink. They never deliver a report
 *   synchronously from inside the call (the engine tolerates it, but it defeats batching).
 * - A broker-side refusal is a `rejected` / `cancel_rejected` report, not a thrown error.
 * - Throwing `NotSentError` means nothing was sent; throwing anything else means the outcome
 *   is unknown, and the engine will not resend: it keeps the order `PendingNew` until
 *   recovery sync (`syncOpenOrders`, `syncTodayTrades`) proves what the broker has.
 * - Every report carries `brokerOrderId` and a per-order unique `execId`; reports may be
 *   duplicated or reordered on the way, the engine deduplicates and orders them.
 * - The sync and query calls describe the broker's own records for the current trading day,
 *   as of a moment after `connect` resolved. A trade from `syncTodayTrades` carries the same
 *   `execId` as the live `trade` report of that fill, so recovery applies it exactly once.
 * - `connect`, `heartbeat` and the sync calls reject with a {@link BrokerError} that says what
 *   kind of failure it was; anything else is treated as a transient network error.
 *
 * @example
 * const broker: BrokerAdapter = new SimBroker({ instruments, seed: 7 });
 * const engine = createEngine({ instruments, broker });
 * await engine.start(); // calls broker.connect(engine's sink)
 */
export interface BrokerAdapter {
  /** Short name for logs and status, e.g. "sim" or "fix:ACME". */
  readonly name: string;
  /** The credentials this adapter logs on with; the engine checks their environment at start. */
  readonly credentials?: Credentials;
  /** The environment the broker declared at logon (`sim`, `live`), when its protocol says. */
  readonly brokerEnvironment?: Environment | undefined;
  /** What the sync and query calls can tell; absent means {@link FULL_SYNC}. */
  readonly syncs?: SyncCapabilities;
  /** Connect and log on; resolve once reports will flow into `sink`. */
  connect(sink: ReportSink): Promise<void>;
  /** Log off and close; no report is delivered after this resolves. */
  disconnect(): Promise<void>;
  /** Round trip to the broker; rejects when it does not answer. */
  heartbeat(): Promise<HeartbeatInfo>;
  /**
   * Hand one order to the wire. `req` is the engine's and is refilled for the next order once
   * this returns: read it during the call and copy what you keep (the embedded and TCP simulated
   * brokers copy its fields; `RecordingBroker` keeps a copy).
   */
  placeOrder(req: PlaceOrderRequest): void;
  cancelOrder(req: CancelOrderRequest): void;
  /** Every order the broker holds open now. */
  syncOpenOrders(): Promise<BrokerOrder[]>;
  /** Every fill of the trading day. */
  syncTodayTrades(): Promise<BrokerTrade[]>;
  /**
   * Optional: every order of the trading day in any status. Recovery uses it to finish orders
   * with the broker's own final status; without it an order that is no longer open is
   * finished as Filled when its fills cover it and as Cancelled otherwise (and flagged).
   */
  syncDayOrders?(): Promise<BrokerOrder[]>;
  queryPositions(): Promise<BrokerPosition[]>;
  queryAccount(): Promise<BrokerAccount[]>;
}
