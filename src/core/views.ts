// What strategy callbacks are given: reusable views over the order table, valid during the
// call (the default), or fresh objects per call (`callbacks: 'objects'`).
import { fromPriceUnits, type Instrument } from '../domain/instrument.js';
import type { Order, OrderType, Side, TimeInForce } from '../domain/order.js';
import { OrderStatus, isTerminal, statusName, type OrderStatusName } from '../domain/order-status.js';
import { isRejectReason, reasonCode, type RejectReason } from '../domain/reject-reason.js';
import type { BrokerReport, ExecKind, ExecutionReport, Trade } from '../domain/report.js';
import { F_EXTERNAL, F_OVERFILLED, type OrderTable } from './order-table.js';

export const TIF_NAMES: readonly TimeInForce[] = ['day', 'gtc', 'ioc'];
export const TYPE_NAMES: readonly OrderType[] = ['limit', 'market'];

/** A callback argument that can be kept: `toObject()` copies what it shows now into a plain object. */
export interface Keepable<T> {
  toObject(): T;
}
/** An order as a callback sees it: a view valid during the call (see `StrategyCallbacks`). */
export type OrderView = Order & Keepable<Order>;
/** A report as a callback sees it: a view valid during the call. */
export type ExecutionReportView = ExecutionReport & Keepable<ExecutionReport>;
/** A fill as a callback sees it: a view valid during the call. */
export type TradeView = Trade & Keepable<Trade>;

/** Quantity still open on the order in `slot`: 0 once it is finished. */
function leavesOf(t: OrderTable, slot: number): number {
  return isTerminal(t.status[slot]!) ? 0 : Math.max(0, t.qty[slot]! - t.cumQty[slot]!);
}

/** The order in `slot`, as a plain object (what queries return and `OrderView.toObject` copies). */
export function orderObject(t: OrderTable, instruments: readonly Instrument[], slot: number): Order {
  const inst = instruments[t.instrument[slot]!]!;
  const cum = t.cumQty[slot]!;
  const status = t.status[slot]!;
  return {
    clientOrderId: t.clientId[slot]!,
    brokerOrderId: t.brokerId[slot]!,
    symbol: inst.symbol,
    side: t.side[slot]! > 0 ? 'buy' : 'sell',
    type: TYPE_NAMES[t.type[slot]!]!,
    tif: TIF_NAMES[t.tif[slot]!]!,
    qty: t.qty[slot]!,
    price: fromPriceUnits(t.price[slot]!, inst.scale),
    status: statusName(status),
    cumQty: cum,
    leavesQty: leavesOf(t, slot),
    avgPx: cum > 0 ? t.fillValue[slot]! / cum : Number.NaN,
    ...(status === OrderStatus.Rejected ? { rejectReason: reasonCode(t.reason[slot]!), rejectText: t.rejectText[slot] } : {}),
    external: (t.flags[slot]! & F_EXTERNAL) !== 0,
    overfilled: (t.flags[slot]! & F_OVERFILLED) !== 0,
    createdAt: t.createdAt[slot]!,
    updatedAt: t.updatedAt[slot]!,
  };
}

/** The report `r` on the order in `slot`, as a plain object; `now` is the engine time it arrived. */
export function executionReportObject(t: OrderTable, instruments: readonly Instrument[], slot: number, r: BrokerReport, now: number): ExecutionReport {
  const status = t.status[slot]!;
  const cum = t.cumQty[slot]!;
  return {
    kind: r.kind,
    execId: r.execId,
    clientOrderId: t.clientId[slot]!,
    brokerOrderId: t.brokerId[slot]!,
    symbol: instruments[t.instrument[slot]!]!.symbol,
    side: t.side[slot]! > 0 ? 'buy' : 'sell',
    status: statusName(status),
    lastQty: r.kind === 'trade' ? r.lastQty! : 0,
    lastPx: r.kind === 'trade' ? r.lastPx! : Number.NaN,
    cumQty: cum,
    leavesQty: leavesOf(t, slot),
    ...(r.kind === 'rejected' ? { reason: reasonCode(t.reason[slot]!) } : r.kind === 'cancel_rejected' && isRejectReason(r.reason) ? { reason: r.reason } : {}),
    ...(r.text !== undefined ? { text: r.text } : {}),
    time: r.time ?? now,
  };
}

/** The fill `r` on the order in `slot`, as a plain object. */
export function tradeObject(t: OrderTable, instruments: readonly Instrument[], slot: number, r: BrokerReport, now: number): Trade {
  return {
    tradeId: `${t.brokerId[slot]}:${r.execId}`,
    execId: r.execId,
    clientOrderId: t.clientId[slot]!,
    brokerOrderId: t.brokerId[slot]!,
    symbol: instruments[t.instrument[slot]!]!.symbol,
    side: t.side[slot]! > 0 ? 'buy' : 'sell',
    qty: r.lastQty!,
    price: r.lastPx!,
    time: r.time ?? now,
    external: (t.flags[slot]! & F_EXTERNAL) !== 0,
  };
}

/** What the three views share: the slot they show and the fields read from it. */
abstract class SlotView {
  /** The slot shown (set by the engine). */
  slot = 0;

  constructor(
    protected readonly t: OrderTable,
    protected readonly instruments: readonly Instrument[],
  ) {}

  abstract toObject(): object;

  /** What `JSON.stringify` writes: the copy. */
  toJSON(): object {
    return this.toObject();
  }

  get clientOrderId(): string {
    return this.t.clientId[this.slot]!;
  }
  get brokerOrderId(): string {
    return this.t.brokerId[this.slot]!;
  }
  get symbol(): string {
    return this.instruments[this.t.instrument[this.slot]!]!.symbol;
  }
  get side(): Side {
    return this.t.side[this.slot]! > 0 ? 'buy' : 'sell';
  }
}

/**
 * The order in one table slot, read through getters: no object per call. The engine points it
 * at the slot before each `onOrder` and it is valid until that call returns; kept beyond it,
 * it shows whatever order the engine pointed it at last. `toObject()` keeps a copy.
 */
export class OrderTableView extends SlotView implements OrderView {

  get type(): OrderType {
    return TYPE_NAMES[this.t.type[this.slot]!]!;
  }
  get tif(): TimeInForce {
    return TIF_NAMES[this.t.tif[this.slot]!]!;
  }
  get qty(): number {
    return this.t.qty[this.slot]!;
  }
  get price(): number {
    return fromPriceUnits(this.t.price[this.slot]!, this.instruments[this.t.instrument[this.slot]!]!.scale);
  }
  get status(): OrderStatusName {
    return statusName(this.t.status[this.slot]!);
  }
  get cumQty(): number {
    return this.t.cumQty[this.slot]!;
  }
  get leavesQty(): number {
    return leavesOf(this.t, this.slot);
  }
  get avgPx(): number {
    const cum = this.t.cumQty[this.slot]!;
    return cum > 0 ? this.t.fillValue[this.slot]! / cum : Number.NaN;
  }
  get rejectReason(): RejectReason | undefined {
    return this.t.status[this.slot] === OrderStatus.Rejected ? reasonCode(this.t.reason[this.slot]!) : undefined;
  }
  get rejectText(): string | undefined {
    return this.t.status[this.slot] === OrderStatus.Rejected ? this.t.rejectText[this.slot] : undefined;
  }
  get external(): boolean {
    return (this.t.flags[this.slot]! & F_EXTERNAL) !== 0;
  }
  get overfilled(): boolean {
    return (this.t.flags[this.slot]! & F_OVERFILLED) !== 0;
  }
  get createdAt(): number {
    return this.t.createdAt[this.slot]!;
  }
  get updatedAt(): number {
    return this.t.updatedAt[this.slot]!;
  }
  toObject(): Order {
    return orderObject(this.t, this.instruments, this.slot);
  }
}

/** A report on the order in one slot, read through getters (see `OrderTableView` for validity). */
export class ExecutionReportTableView extends SlotView implements ExecutionReportView {
  /** The report shown and the engine time it arrived (set by the engine). */
  report: BrokerReport = { kind: 'new', execId: '', brokerOrderId: '' };
  arrived = 0;

  get kind(): ExecKind {
    return this.report.kind;
  }
  get execId(): string {
    return this.report.execId;
  }
  get status(): OrderStatusName {
    return statusName(this.t.status[this.slot]!);
  }
  get lastQty(): number {
    return this.report.kind === 'trade' ? this.report.lastQty! : 0;
  }
  get lastPx(): number {
    return this.report.kind === 'trade' ? this.report.lastPx! : Number.NaN;
  }
  get cumQty(): number {
    return this.t.cumQty[this.slot]!;
  }
  get leavesQty(): number {
    return leavesOf(this.t, this.slot);
  }
  get reason(): RejectReason | undefined {
    const r = this.report;
    return r.kind === 'rejected' ? reasonCode(this.t.reason[this.slot]!) : r.kind === 'cancel_rejected' && isRejectReason(r.reason) ? r.reason : undefined;
  }
  get text(): string | undefined {
    return this.report.text;
  }
  get time(): number {
    return this.report.time ?? this.arrived;
  }
  toObject(): ExecutionReport {
    return executionReportObject(this.t, this.instruments, this.slot, this.report, this.arrived);
  }
}

/** A fill on the order in one slot, read through getters (see `OrderTableView` for validity). */
export class TradeTableView extends SlotView implements TradeView {
  report: BrokerReport = { kind: 'trade', execId: '', brokerOrderId: '' };
  arrived = 0;

  /** Built when read (the one string a fill has that no table column holds). */
  get tradeId(): string {
    return `${this.t.brokerId[this.slot]}:${this.report.execId}`;
  }
  get execId(): string {
    return this.report.execId;
  }
  get qty(): number {
    return this.report.lastQty!;
  }
  get price(): number {
    return this.report.lastPx!;
  }
  get time(): number {
    return this.report.time ?? this.arrived;
  }
  get external(): boolean {
    return (this.t.flags[this.slot]! & F_EXTERNAL) !== 0;
  }
  toObject(): Trade {
    return tradeObject(this.t, this.instruments, this.slot, this.report, this.arrived);
  }
}

/** `toObject` of a plain callback object (`callbacks: 'objects'`): it already is a copy. */
export function selfObject<T>(this: T): T {
  return this;
}

/** A plain callback object, given the `toObject` of a view (it returns the object itself). */
export function keepable<T extends object>(o: T): T & Keepable<T> {
  (o as T & { toObject: () => T }).toObject = selfObject as () => T;
  return o as T & Keepable<T>;
}
