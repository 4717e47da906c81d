import * as hdr from 'hdr-histogram-js';
import type { BrokerAdapter, ReportSink } from '../src/brokers/adapter.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import type { Order, OrderRequest, SubmitResult, TimeInForce } from '../src/domain/order.js';
import type { BrokerReport, ExecutionReport, Trade } from '../src/domain/report.js';
import type { StrategyCallbacks } from '../src/strategy.js';
import { selfObject } from '../src/core/views.js';

interface SwOrder {
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  inst: SwInstrument;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  tif: TimeInForce;
  qty: number;
  price: number;
  status: Order['status'];
  cumQty: number;
  avgPx: number;
  execIds: Set<string>;
  seq: number;
  createdAt: number;
  updatedAt: number;
}

interface SwInstrument extends InstrumentSpec {
  scale: number;
  tickUnits: number;
  lot: number;
  /** Position, average cost, cash and realized P&L: an average-price ledger in doubles. */
  position: number;
  avgCost: number;
  realized: number;
  openBuy: number;
  openSell: number;
  reference: number;
}

/** report kind → (status → next status); a pair not in the table is an invalid transition. */
const TRANSITIONS = new Map<string, Map<string, Order['status']>>([
  ['new', new Map([['PendingNew', 'Submitted'], ['Submitted', 'Submitted'], ['PartiallyFilled', 'PartiallyFilled'], ['PendingCancel', 'PendingCancel']])],
  ['trade', new Map([['PendingNew', 'PartiallyFilled'], ['Submitted', 'PartiallyFilled'], ['PartiallyFilled', 'PartiallyFilled'], ['PendingCancel', 'PendingCancel'], ['Cancelled', 'Cancelled']])],
  ['canceled', new Map([['PendingNew', 'Cancelled'], ['Submitted', 'Cancelled'], ['PartiallyFilled', 'Cancelled'], ['PendingCancel', 'Cancelled']])],
  ['rejected', new Map([['PendingNew', 'Rejected'], ['Submitted', 'Rejected'], ['PendingCancel', 'Rejected']])],
  ['expired', new Map([['Submitted', 'Expired'], ['PartiallyFilled', 'Expired'], ['PendingCancel', 'Expired']])],
  ['cancel_rejected', new Map([['PendingCancel', 'Submitted'], ['Submitted', 'Submitted'], ['PartiallyFilled', 'PartiallyFilled']])],
]);
const OPEN = new Set(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);
const SIDES = new Set(['buy', 'sell']);
const TYPES = new Set(['limit', 'market']);
const TIFS = new Set(['day', 'gtc', 'ioc']);
const KINDS = new Set(TRANSITIONS.keys());

const histogram = () => hdr.build({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });

/**
 * The fair baseline: the engine's observable work written the idiomatic way. A `Map` of
 * plain order objects, a `Set` of exec ids per order, status strings and a `Map` transition
 * table; the same per-order checks (id characters, symbol, side, type, tif, price precision,
 * tick, lot, quantity, notional, position with open exposure, price band, trading state); an
 * average-price ledger (position, average cost, realized P&L); report validation, sequence and
 * cumulative-quantity checks; finished orders kept for the day, so their ids stay refused
 * until the day rolls; the same HDR records through hdr-histogram-js (ack and fill latency,
 * report handling, callbacks) and the same clock reads around them; and, with a strategy,
 * the three callbacks with both ids, each given a fresh object as the engine's
 * `callbackArgs: 'objects'` gives. What it leaves out is what it could not do without the engine's own
 * machinery: a journal (off in the benchmark), recovery and reconciliation.
 */
export class SameWorkEngine {
  private readonly orders = new Map<string, SwOrder>();
  private readonly byBroker = new Map<string, SwOrder>();
  /** Finished today: id → final status (cleared by `rollDay`). */
  private readonly finished = new Map<string, Order['status']>();
  private readonly instruments = new Map<string, SwInstrument>();
  private readonly ackLatency = histogram();
  private readonly fillLatency = histogram();
  private readonly reportLatency = histogram();
  private readonly callbackLatency = histogram();
  readonly sink: ReportSink;
  state: 'Active' | 'Reducing' | 'Halted' = 'Active';
  strategy: StrategyCallbacks | undefined;
  fills = 0;
  invalid = 0;
  denied = 0;

  constructor(
    instruments: InstrumentSpec[],
    private readonly broker: BrokerAdapter,
    private readonly limits: { maxOrderQty: number; maxOrderNotional: number; maxPosition: number; priceBandPct?: number },
    private readonly clock: () => number,
  ) {
    for (const i of instruments) {
      const scale = 10 ** i.pricePrecision;
      this.instruments.set(i.symbol, {
        ...i, scale, tickUnits: Math.round(i.tickSize * scale), lot: i.lotSize ?? 1,
        position: 0, avgCost: 0, realized: 0, openBuy: 0, openSell: 0, reference: Number.NaN,
      });
    }
    this.sink = { onReport: (r) => this.onReport(r), onDisconnect: () => {} };
  }

  /** The trading day rolled: finished ids may be used again. */
  rollDay(): void {
    this.finished.clear();
  }

  position(symbol: string): number {
    return this.instruments.get(symbol)!.position;
  }

  get size(): number {
    return this.orders.size;
  }

  private deny(id: string, reason: string, detail: string): SubmitResult {
    this.denied++;
    return { status: 'denied', clientOrderId: id, reason: reason as never, detail };
  }

  submit(o: OrderRequest): SubmitResult {
    const id = o.clientOrderId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) return this.deny(String(id), 'INVALID_ORDER', 'clientOrderId');
    for (let k = 0; k < id.length; k++) {
      const c = id.charCodeAt(k);
      if (c < 0x21 || c > 0x7e) return this.deny(id, 'INVALID_ORDER', 'clientOrderId characters');
    }
    const now = this.clock();
    const existing = this.orders.get(id);
    if (existing) return { status: 'duplicate', clientOrderId: id, brokerOrderId: existing.brokerOrderId, orderStatus: existing.status };
    const done = this.finished.get(id);
    if (done !== undefined) return this.deny(id, 'DUPLICATE_ORDER_ID', `status=${done}`);
    if (this.state === 'Halted') return this.deny(id, 'TRADING_HALTED', 'state=Halted');
    const inst = this.instruments.get(o.symbol);
    if (!inst) return this.deny(id, 'UNKNOWN_SYMBOL', `symbol=${o.symbol}`);
    if (!SIDES.has(o.side)) return this.deny(id, 'INVALID_ORDER', 'side');
    const type = o.type ?? 'limit';
    const tif = o.tif ?? 'day';
    if (!TYPES.has(type) || !TIFS.has(tif)) return this.deny(id, 'INVALID_ORDER', 'type/tif');
    if (typeof o.qty !== 'number' || !(o.qty > 0) || !Number.isFinite(o.qty)) return this.deny(id, 'INVALID_QUANTITY', 'qty');
    const lots = o.qty / inst.lot;
    if (lots < 1 - 1e-9 || Math.abs(lots - Math.round(lots)) > 1e-9) return this.deny(id, 'LOT_SIZE', 'lot');
    const price = o.price ?? Number.NaN;
    const units = Math.round(price * inst.scale);
    if (!(price > 0) || Math.abs(units - price * inst.scale) > 1e-7) return this.deny(id, 'INVALID_PRICE', 'price');
    if (units % inst.tickUnits !== 0) return this.deny(id, 'TICK_SIZE', 'tick');
    if (o.qty > this.limits.maxOrderQty) return this.deny(id, 'MAX_ORDER_QTY', 'qty');
    if (o.qty * units > this.limits.maxOrderNotional * inst.scale) return this.deny(id, 'MAX_ORDER_NOTIONAL', 'notional');
    const band = this.limits.priceBandPct;
    if (band !== undefined && inst.reference === inst.reference && Math.abs(price - inst.reference) > (inst.reference * band) / 100) return this.deny(id, 'PRICE_BAND', 'band');
    const buy = o.side === 'buy';
    const after = buy ? inst.position + inst.openBuy + o.qty : inst.position - inst.openSell - o.qty;
    if (Math.abs(after) > this.limits.maxPosition) return this.deny(id, 'MAX_POSITION', 'position');
    if (this.state === 'Reducing' && Math.abs(after) >= Math.abs(inst.position)) return this.deny(id, 'TRADING_HALTED', 'state=Reducing');
    const order: SwOrder = {
      clientOrderId: id, brokerOrderId: '', symbol: o.symbol, inst, side: o.side, type, tif, qty: o.qty, price,
      status: 'PendingNew', cumQty: 0, avgPx: Number.NaN, execIds: new Set(), seq: 0, createdAt: now, updatedAt: now,
    };
    this.orders.set(id, order);
    if (buy) inst.openBuy += o.qty;
    else inst.openSell += o.qty;
    this.broker.placeOrder({ clientOrderId: id, symbol: o.symbol, side: o.side, type, tif, qty: o.qty, price, protectionPrice: undefined });
    return { status: 'accepted', clientOrderId: id };
  }

  onReport(r: BrokerReport): void {
    const t0 = this.clock();
    if (typeof r !== 'object' || r === null || !KINDS.has(r.kind) || typeof r.execId !== 'string' || typeof r.brokerOrderId !== 'string') return;
    let o = r.brokerOrderId !== '' ? this.byBroker.get(r.brokerOrderId) : undefined;
    if (!o && r.clientOrderId) {
      o = this.orders.get(r.clientOrderId);
      if (o && o.brokerOrderId === '' && r.brokerOrderId !== '') {
        o.brokerOrderId = r.brokerOrderId;
        this.byBroker.set(r.brokerOrderId, o);
      }
    }
    if (!o || o.execIds.has(r.execId)) return;
    if (r.seq !== undefined && r.seq <= o.seq) return;
    const next = TRANSITIONS.get(r.kind)!.get(o.status);
    if (next === undefined) {
      this.invalid++;
      return;
    }
    o.execIds.add(r.execId);
    if (r.seq !== undefined) o.seq = r.seq;
    const inst = o.inst;
    const buy = o.side === 'buy';
    let status = next;
    if (r.kind === 'trade') {
      const q = r.lastQty!;
      const px = r.lastPx!;
      if (!(q > 0) || !(px > 0) || !Number.isFinite(q) || !Number.isFinite(px)) return;
      o.avgPx = o.cumQty === 0 ? px : (o.avgPx * o.cumQty + px * q) / (o.cumQty + q);
      o.cumQty += q;
      if (r.cumQty !== undefined && Math.abs(r.cumQty - o.cumQty) > 1e-9) this.invalid++;
      if (buy) inst.openBuy -= q;
      else inst.openSell -= q;
      this.book(inst, buy ? q : -q, px);
      this.fills++;
      if (o.cumQty >= o.qty && status !== 'Cancelled') status = 'Filled';
      this.fillLatency.recordValue(Math.max(0, Math.round((t0 - o.createdAt) * 1e6)));
    } else if (r.kind === 'new') {
      if (o.status === 'PendingNew') this.ackLatency.recordValue(Math.max(0, Math.round((t0 - o.createdAt) * 1e6)));
    } else if (!OPEN.has(status)) {
      const left = o.qty - o.cumQty;
      if (buy) inst.openBuy -= left;
      else inst.openSell -= left;
    }
    o.status = status;
    o.updatedAt = t0;
    if (!OPEN.has(status)) {
      this.orders.delete(o.clientOrderId);
      this.byBroker.delete(o.brokerOrderId);
      this.finished.set(o.clientOrderId, status);
    }
    const t1 = this.clock();
    this.reportLatency.recordValue(Math.max(0, Math.round((t1 - t0) * 1e6)));
    const s = this.strategy;
    if (s === undefined) return;
    const leaves = OPEN.has(status) ? o.qty - o.cumQty : 0;
    if (s.onExecutionReport) {
      const er: ExecutionReport & { toObject(): ExecutionReport } = {
        kind: r.kind, execId: r.execId, clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId, symbol: o.symbol, side: o.side,
        status, lastQty: r.lastQty ?? 0, lastPx: r.lastPx ?? Number.NaN, cumQty: o.cumQty, leavesQty: leaves, time: r.time ?? t0, toObject: selfObject,
      };
      s.onExecutionReport(er);
    }
    if (r.kind === 'trade' && s.onTrade) {
      const tr: Trade & { toObject(): Trade } = {
        tradeId: `${o.brokerOrderId}:${r.execId}`, execId: r.execId, clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId,
        symbol: o.symbol, side: o.side, qty: r.lastQty!, price: r.lastPx!, time: r.time ?? t0, external: false, toObject: selfObject,
      };
      s.onTrade(tr);
    }
    if (s.onOrder) {
      const snap: Order & { toObject(): Order } = {
        clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId, symbol: o.symbol, side: o.side, type: o.type, tif: o.tif,
        qty: o.qty, price: o.price, status, cumQty: o.cumQty, leavesQty: leaves, avgPx: o.avgPx, external: false, overfilled: false,
        createdAt: o.createdAt, updatedAt: o.updatedAt, toObject: selfObject,
      };
      s.onOrder(snap);
    }
    this.callbackLatency.recordValue(Math.max(0, Math.round((this.clock() - t1) * 1e6)));
  }

  /** Average-price booking of a signed fill. */
  private book(inst: SwInstrument, q: number, px: number): void {
    const pos = inst.position;
    if (pos === 0 || Math.sign(pos) === Math.sign(q)) {
      inst.avgCost = (inst.avgCost * Math.abs(pos) + px * Math.abs(q)) / (Math.abs(pos) + Math.abs(q));
      inst.position = pos + q;
      return;
    }
    const closed = Math.min(Math.abs(pos), Math.abs(q));
    inst.realized += closed * (px - inst.avgCost) * Math.sign(pos) * (inst.multiplier ?? 1);
    inst.position = pos + q;
    if (inst.position === 0) inst.avgCost = 0;
    else if (Math.sign(inst.position) !== Math.sign(pos)) inst.avgCost = px;
  }
}
