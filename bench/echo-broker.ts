import type { Engine } from '../src/engine.js';
import { RecordingBroker } from '../src/brokers/recording-broker.js';
import type { PlaceOrderRequest } from '../src/core/ports.js';
import { ReportBuffer } from '../src/domain/report.js';

/**
 * The cheapest possible broker for measuring the engine: every order is acked and fully
 * filled at its limit price on `flush()`. Both the engine and the baseline use it, so the
 * ratio compares their own work. It keeps the orders as columns and delivers every report in
 * one reused `ReportBuffer`, as the sink contract allows, so it allocates only the broker ids.
 */
export class EchoBroker extends RecordingBroker {
  private n = 0;
  /** The orders placed and not yet answered, as columns (the request is the engine's: valid during placeOrder only). */
  private count = 0;
  private readonly ids: string[] = [];
  private readonly qtys: number[] = [];
  private readonly prices: number[] = [];
  /** One report structure for every report (the sink copies what it keeps). */
  private readonly report = new ReportBuffer();

  constructor() {
    super('echo');
  }

  override placeOrder(req: PlaceOrderRequest): void {
    const k = this.count++;
    this.ids[k] = req.clientOrderId;
    this.qtys[k] = req.qty;
    this.prices[k] = req.price;
  }

  /** Orders placed and not yet answered. */
  get backlog(): number {
    return this.count;
  }

  /** Ack and fill every pending order. */
  flush(): void {
    const sink = this.sink!;
    const r = this.report;
    for (let i = 0; i < this.count; i++) {
      const id = `B${++this.n}`;
      r.reset('new', 'A', id);
      r.clientOrderId = this.ids[i];
      r.seq = 1;
      sink.onReport(r);
      r.reset('trade', 'F', id);
      r.clientOrderId = this.ids[i];
      r.lastQty = this.qtys[i];
      r.lastPx = this.prices[i];
      r.cumQty = this.qtys[i];
      r.seq = 2;
      sink.onReport(r);
    }
    this.count = 0;
  }

  /** Answer every pending order with a reject (frees slots between benchmark cycles). */
  rejectAll(): void {
    const sink = this.sink!;
    const r = this.report;
    for (let i = 0; i < this.count; i++) {
      r.reset('rejected', 'R', `B${++this.n}`);
      r.clientOrderId = this.ids[i];
      sink.onReport(r);
    }
    this.count = 0;
  }
}

/**
 * The journal-loop benchmark's order loop (bench/journal.ts, bench/export.ts): `n` orders of AAA,
 * alternately buy and sell, made up front; `run(from, to, lat)` submits orders `from` to `to`,
 * each acked and filled by the echo broker at once, and writes each order's time (ns) into `lat`
 * when given.
 */
export function echoOrderLoop(engine: Pick<Engine, 'submit'>, broker: EchoBroker, n: number): (from: number, to: number, lat: Float64Array | undefined) => void {
  const orders = Array.from({ length: n }, (_, i) => ({ clientOrderId: `o${i}`, symbol: 'AAA', side: (i & 1 ? 'sell' : 'buy') as 'buy' | 'sell', qty: 100, price: 42.5 }));
  return (from, to, lat) => {
    for (let i = from; i < to; i++) {
      const a = lat === undefined ? 0n : process.hrtime.bigint();
      engine.submit(orders[i]!);
      broker.flush();
      if (lat !== undefined) lat[i - from] = Number(process.hrtime.bigint() - a);
    }
  };
}
