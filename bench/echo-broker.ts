import type { BrokerAdapter, CancelOrderRequest, PlaceOrderRequest, ReportSink } from '../src/brokers/adapter.js';
import type { BrokerReport } from '../src/domain/report.js';

/**
 * The cheapest possible broker for measuring the engine: every order is acked and fully
 * filled at its limit price on `flush()`. Both the engine and the baseline use it, so the
 * ratio compares their own work.
 */
export class EchoBroker implements BrokerAdapter {
  readonly name = 'echo';
  private sink: ReportSink | undefined;
  private readonly pending: PlaceOrderRequest[] = [];
  private n = 0;

  async connect(sink: ReportSink) {
    this.sink = sink;
  }
  async disconnect() {
    this.sink = undefined;
  }
  async heartbeat() {
    return { brokerTime: Date.now() };
  }
  placeOrder(req: PlaceOrderRequest) {
    this.pending.push(req);
  }
  cancelOrder(_req: CancelOrderRequest) {}
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

  /** Orders placed and not yet answered. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Ack and fill every pending order. */
  flush(): void {
    const sink = this.sink!;
    for (let i = 0; i < this.pending.length; i++) {
      const req = this.pending[i]!;
      const id = `B${++this.n}`;
      const ack: BrokerReport = { kind: 'new', execId: 'A', brokerOrderId: id, clientOrderId: req.clientOrderId, seq: 1 };
      sink.onReport(ack);
      const fill: BrokerReport = { kind: 'trade', execId: 'F', brokerOrderId: id, clientOrderId: req.clientOrderId, lastQty: req.qty, lastPx: req.price, cumQty: req.qty, seq: 2 };
      sink.onReport(fill);
    }
    this.pending.length = 0;
  }

  /** Answer every pending order with a reject (frees slots between benchmark cycles). */
  rejectAll(): void {
    const sink = this.sink!;
    for (const req of this.pending) sink.onReport({ kind: 'rejected', execId: 'R', brokerOrderId: `B${++this.n}`, clientOrderId: req.clientOrderId });
    this.pending.length = 0;
  }
}
