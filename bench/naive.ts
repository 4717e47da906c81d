import type { BrokerAdapter, ReportSink } from '../src/brokers/adapter.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { OrderRequest } from '../src/domain/order.js';
import type { BrokerReport } from '../src/domain/report.js';

interface MapOrder {
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  price: number;
  status: string;
  cumQty: number;
  execIds: Set<string>;
}

const OPEN = new Set(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);

/**
 * The NAIVE baseline, kept for comparison with earlier results and named so nobody takes it
 * for a fair one (that is `SameWorkEngine` in same-work.ts): a `Map` of plain order objects,
 * a `Set` of exec ids per order, status strings and the basic checks (price precision, tick,
 * lot, quantity, notional, position with open exposure), but no clock reads, no histograms,
 * no trading state or session checks, no transition table, no average-price ledger, no
 * callbacks, and it deletes finished orders instead of keeping their ids for the day.
 */
export class NaiveMapEngine {
  private readonly orders = new Map<string, MapOrder>();
  private readonly byBroker = new Map<string, MapOrder>();
  private readonly instruments = new Map<string, InstrumentSpec & { scale: number; tickUnits: number }>();
  readonly positions = new Map<string, number>();
  private readonly openBuy = new Map<string, number>();
  private readonly openSell = new Map<string, number>();
  readonly sink: ReportSink;
  fills = 0;

  constructor(
    instruments: InstrumentSpec[],
    private readonly broker: BrokerAdapter,
    private readonly limits: { maxOrderQty: number; maxOrderNotional: number; maxPosition: number },
  ) {
    for (const i of instruments) {
      const scale = 10 ** i.pricePrecision;
      this.instruments.set(i.symbol, { ...i, scale, tickUnits: Math.round(i.tickSize * scale) });
      this.positions.set(i.symbol, 0);
      this.openBuy.set(i.symbol, 0);
      this.openSell.set(i.symbol, 0);
    }
    this.sink = { onReport: (r) => this.onReport(r), onDisconnect: () => {} };
  }

  submit(o: OrderRequest): { status: string; reason?: string } {
    const existing = this.orders.get(o.clientOrderId);
    if (existing) return OPEN.has(existing.status) ? { status: 'duplicate' } : { status: 'denied', reason: 'DUPLICATE_ORDER_ID' };
    const inst = this.instruments.get(o.symbol);
    if (!inst) return { status: 'denied', reason: 'UNKNOWN_SYMBOL' };
    if (!(o.qty > 0)) return { status: 'denied', reason: 'INVALID_QUANTITY' };
    const lots = o.qty / (inst.lotSize ?? 1);
    if (Math.abs(lots - Math.round(lots)) > 1e-9) return { status: 'denied', reason: 'LOT_SIZE' };
    const price = o.price ?? Number.NaN;
    const units = Math.round(price * inst.scale);
    if (!(price > 0) || Math.abs(units - price * inst.scale) > 1e-7) return { status: 'denied', reason: 'INVALID_PRICE' };
    if (units % inst.tickUnits !== 0) return { status: 'denied', reason: 'TICK_SIZE' };
    if (o.qty > this.limits.maxOrderQty) return { status: 'denied', reason: 'MAX_ORDER_QTY' };
    if (o.qty * units > this.limits.maxOrderNotional * inst.scale) return { status: 'denied', reason: 'MAX_ORDER_NOTIONAL' };
    const pos = this.positions.get(o.symbol)!;
    if (o.side === 'buy' ? pos + this.openBuy.get(o.symbol)! + o.qty > this.limits.maxPosition : -(pos - this.openSell.get(o.symbol)! - o.qty) > this.limits.maxPosition) {
      return { status: 'denied', reason: 'MAX_POSITION' };
    }
    const order: MapOrder = { clientOrderId: o.clientOrderId, brokerOrderId: '', symbol: o.symbol, side: o.side, qty: o.qty, price, status: 'PendingNew', cumQty: 0, execIds: new Set() };
    this.orders.set(o.clientOrderId, order);
    const open = o.side === 'buy' ? this.openBuy : this.openSell;
    open.set(o.symbol, open.get(o.symbol)! + o.qty);
    this.broker.placeOrder({ clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, type: 'limit', tif: 'day', qty: o.qty, price });
    return { status: 'accepted' };
  }

  onReport(r: BrokerReport): void {
    let o = this.byBroker.get(r.brokerOrderId);
    if (!o && r.clientOrderId) {
      o = this.orders.get(r.clientOrderId);
      if (o) {
        o.brokerOrderId = r.brokerOrderId;
        this.byBroker.set(r.brokerOrderId, o);
      }
    }
    if (!o || o.execIds.has(r.execId)) return;
    o.execIds.add(r.execId);
    const open = o.side === 'buy' ? this.openBuy : this.openSell;
    switch (r.kind) {
      case 'new':
        if (o.status === 'PendingNew') o.status = 'Submitted';
        break;
      case 'trade': {
        const q = r.lastQty!;
        o.cumQty += q;
        open.set(o.symbol, open.get(o.symbol)! - q);
        this.positions.set(o.symbol, this.positions.get(o.symbol)! + (o.side === 'buy' ? q : -q));
        this.fills++;
        o.status = o.cumQty >= o.qty ? 'Filled' : 'PartiallyFilled';
        break;
      }
      default:
        open.set(o.symbol, open.get(o.symbol)! - (o.qty - o.cumQty));
        o.status = r.kind === 'rejected' ? 'Rejected' : r.kind === 'canceled' ? 'Cancelled' : o.status;
    }
    if (!OPEN.has(o.status)) {
      // zero retention, like the engine in the benchmark
      this.orders.delete(o.clientOrderId);
      this.byBroker.delete(o.brokerOrderId);
    }
  }

  get size(): number {
    return this.orders.size;
  }
}
