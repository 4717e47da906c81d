import { RecordingBroker } from '../src/brokers/recording-broker.js';
import type { BrokerReport } from '../src/domain/report.js';

/**
 * The cheapest possible broker for measuring the engine: every order is acked and fully
 * filled at its limit price on `flush()`. Both the engine and the baseline use it, so the
 * ratio compares their own work.
 */
export class EchoBroker extends RecordingBroker {
  private n = 0;

  constructor() {
    super('echo');
  }

  /** Orders placed and not yet answered. */
  get backlog(): number {
    return this.placed.length;
  }

  /** Ack and fill every pending order. */
  flush(): void {
    const sink = this.sink!;
    const pending = this.placed;
    for (let i = 0; i < pending.length; i++) {
      const req = pending[i]!;
      const id = `B${++this.n}`;
      const ack: BrokerReport = { kind: 'new', execId: 'A', brokerOrderId: id, clientOrderId: req.clientOrderId, seq: 1 };
      sink.onReport(ack);
      const fill: BrokerReport = { kind: 'trade', execId: 'F', brokerOrderId: id, clientOrderId: req.clientOrderId, lastQty: req.qty, lastPx: req.price, cumQty: req.qty, seq: 2 };
      sink.onReport(fill);
    }
    pending.length = 0;
  }

  /** Answer every pending order with a reject (frees slots between benchmark cycles). */
  rejectAll(): void {
    const sink = this.sink!;
    for (const req of this.placed) sink.onReport({ kind: 'rejected', execId: 'R', brokerOrderId: `B${++this.n}`, clientOrderId: req.clientOrderId });
    this.placed.length = 0;
  }
}
