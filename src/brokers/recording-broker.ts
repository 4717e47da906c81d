import type { BrokerAdapter, CancelOrderRequest, PlaceOrderRequest, ReportSink } from './adapter.js';
import type { BrokerAccount, BrokerOrder, BrokerPosition, BrokerTrade } from '../domain/report.js';
import { systemClock, type Clock } from '../core/clock.js';

/**
 * A broker that takes every order and cancel, keeps them (`placed`, `cancels`), and reports
 * nothing on its own. It connects at once, answers heartbeats with its clock, and its records
 * are empty, so a recovery sync finds nothing to change. It is the broker of a replay (the
 * recorded reports are the only ones) and the base of broker stand-ins that report by hand.
 */
export class RecordingBroker implements BrokerAdapter {
  readonly placed: PlaceOrderRequest[] = [];
  readonly cancels: CancelOrderRequest[] = [];
  sink: ReportSink | undefined;

  /**
   * @param name the adapter's name
   * @param clock the time heartbeats answer with (the engine checks skew at start)
   */
  constructor(
    readonly name = 'recording',
    public clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  async connect(sink: ReportSink): Promise<void> {
    this.sink = sink;
  }
  async disconnect(): Promise<void> {
    this.sink = undefined;
  }
  async heartbeat() {
    return { brokerTime: this.clock.now() };
  }
  // copies: a request is the engine's, valid during the call only (see BrokerAdapter)
  placeOrder(req: PlaceOrderRequest): void {
    this.placed.push({ ...req });
  }
  cancelOrder(req: CancelOrderRequest): void {
    this.cancels.push({ ...req });
  }
  async syncOpenOrders(): Promise<BrokerOrder[]> {
    return [];
  }
  async syncTodayTrades(): Promise<BrokerTrade[]> {
    return [];
  }
  async queryPositions(): Promise<BrokerPosition[]> {
    return [];
  }
  async queryAccount(): Promise<BrokerAccount[]> {
    return [];
  }
}
