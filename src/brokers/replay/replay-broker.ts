import type { BrokerAdapter, CancelOrderRequest, PlaceOrderRequest, ReportSink } from '../adapter.js';
import type { Clock } from '../../core/clock.js';

/**
 * The broker of a replay: it takes every order and cancel (and keeps them, for inspection)
 * and never reports anything on its own; the recorded reports are the only ones. Its records
 * are empty, so a recovery sync finds nothing to change.
 */
export class ReplayBroker implements BrokerAdapter {
  readonly name = 'replay';
  readonly placed: PlaceOrderRequest[] = [];
  readonly cancels: CancelOrderRequest[] = [];
  sink: ReportSink | undefined;

  constructor(private readonly clock: Clock) {}

  async connect(sink: ReportSink): Promise<void> {
    this.sink = sink;
  }
  async disconnect(): Promise<void> {
    this.sink = undefined;
  }
  async heartbeat() {
    return { brokerTime: this.clock.now() };
  }
  placeOrder(req: PlaceOrderRequest): void {
    this.placed.push(req);
  }
  cancelOrder(req: CancelOrderRequest): void {
    this.cancels.push(req);
  }
  async syncOpenOrders() {
    return [];
  }
  async syncTodayTrades() {
    return [];
  }
  async queryPositions() {
    return [];
  }
  async queryAccount() {
    return [];
  }
}
