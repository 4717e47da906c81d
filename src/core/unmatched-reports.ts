/**
 * Reports that match no order in the table: parked for the ack that maps their broker id, late
 * (for an order of the day already let go), claimed back (an external order that was ours),
 * or kept as an external order.
 */
import { OrderStatus, isOpen, isTerminal } from '../domain/order-status.js';
import type { BrokerReport } from '../domain/report.js';
import { BoundedKeySet } from './bounded-key-set.js';
import type { Clock } from './clock.js';
import { F_ACKED, F_ACK_TIMED, F_EXTERNAL, F_FILL_TIMED, F_OVERFILLED, TIF_DAY, TIF_GTC, TIF_IOC, TYPE_LIMIT, TYPE_MARKET } from './order-table.js';
import { QTY_EPS, keepReport } from './report-path.js';
import type { TradingCore } from './trading-core.js';

export class UnmatchedReports {
  /** Reports naming only an unknown broker order id, by that id, waiting for the ack that maps it. */
  private readonly parked = new Map<string, BrokerReport[]>();
  /** Parked broker ids in arrival order, with when they were parked. */
  private readonly parkedOrder: Array<{ id: string; t: number }> = [];
  parkedCount = 0;
  private parkTimer: ReturnType<Clock['setTimer']> | undefined;
  /** Adopt parked reports now (their wait ran out). */
  adoptNow = false;
  /** Reports unparked by the report just applied, applied right after it. */
  readonly unparked: BrokerReport[] = [];
  /** Fills of external orders booked without a slot, by (brokerOrderId, execId): booked once. */
  private readonly unkeptFills: BoundedKeySet;

  constructor(
    private readonly c: TradingCore,
    maxUnkeptFills: number,
  ) {
    this.unkeptFills = new BoundedKeySet(maxUnkeptFills);
  }

  /** The engine started: the wait of reports parked before (restored) runs again. */
  started(): void {
    if (this.parkedCount > 0 && this.parkTimer === undefined) this.armParkTimer(this.c.limits.parkMs);
  }

  /** The engine stops: no timer left behind. */
  stopped(): void {
    if (this.parkTimer !== undefined) this.c.clock.clearTimer(this.parkTimer);
    this.parkTimer = undefined;
  }

  /** The day rolled: the fills booked without a slot were of the ended day. */
  dayRolled(): void {
    this.unkeptFills.clear();
  }

  /** The parked reports for a snapshot, oldest first, with when they were parked. */
  exportParked(): Array<{ t: number; r: BrokerReport }> {
    const out: Array<{ t: number; r: BrokerReport }> = [];
    for (const { id, t } of this.parkedOrder) for (const r of this.parked.get(id) ?? []) out.push({ t, r });
    return out;
  }

  /** Park a snapshot's reports again (not counted as new). */
  importParked(list: ReadonlyArray<{ t: number; r: BrokerReport }>): void {
    const n = this.c.counters.parkedReports;
    for (const { t, r } of list) this.park(r, t);
    this.c.counters.parkedReports = n;
  }

  /**
   * A report naming only a broker order id no order has: held for the ack that maps the id to
   * one of ours (a fill may overtake its ack), at most `limits.parkMs`, then taken as an
   * external order's. Bounded: past `maxParkedReports` the oldest goes now.
   */
  park(r: BrokerReport, now: number): void {
    const bid = r.brokerOrderId;
    const list = this.parked.get(bid);
    if (list === undefined) {
      this.parked.set(bid, [keepReport(r)]);
      this.parkedOrder.push({ id: bid, t: now });
    } else list.push(keepReport(r));
    this.parkedCount++;
    this.c.counters.parkedReports++;
    if (this.parkedCount > this.c.limits.maxParkedReports) {
      this.c.boundReached('maxParkedReports', `limits.maxParkedReports=${this.c.limits.maxParkedReports} reports wait for an ack: the oldest are taken as external orders now`);
      this.adoptParked(Infinity);
    }
    if (this.parkTimer === undefined && this.parkedCount > 0 && !this.c.restoring) this.armParkTimer(this.c.limits.parkMs);
  }

  private armParkTimer(ms: number): void {
    this.parkTimer = this.c.clock.setTimer(() => {
      this.parkTimer = undefined;
      if (this.c.handling) return this.armParkTimer(1);
      this.c.handling = true;
      try {
        this.adoptParked(this.c.clock.now() - this.c.limits.parkMs);
      } finally {
        this.c.handling = false;
      }
      if (this.c.backlog.length > 0) this.c.reports.drain();
      const head = this.parkedOrder[0];
      if (head !== undefined) this.armParkTimer(Math.max(1, head.t + this.c.limits.parkMs - this.c.clock.now()));
    }, ms);
  }

  /**
   * Take parked reports parked at or before `before` as external orders' (the oldest first, all
   * the oldest while over the bound). Journaled, so a restore takes the same ones at the same point.
   */
  adoptParked(before: number): void {
    const now = this.c.clock.now();
    while (this.parkedOrder.length > 0) {
      const head = this.parkedOrder[0]!;
      if (head.t > before && this.parkedCount <= this.c.limits.maxParkedReports) break;
      if (!this.parked.has(head.id)) {
        this.parkedOrder.shift(); // unparked by its ack meanwhile
        continue;
      }
      if (this.c.journal !== undefined) this.c.record({ k: 'adopt', t: now, b: head.id });
      this.adoptParkedId(head.id, now);
    }
  }

  /** Apply the reports parked under one broker id as an external order's. */
  adoptParkedId(brokerOrderId: string, now: number): void {
    const list = this.parked.get(brokerOrderId);
    const i = this.parkedOrder.findIndex((p) => p.id === brokerOrderId);
    if (i >= 0) this.parkedOrder.splice(i, 1);
    if (list === undefined) return;
    this.parked.delete(brokerOrderId);
    this.parkedCount -= list.length;
    this.adoptNow = true;
    try {
      for (const r of list) this.c.reports.handleOne(r, now);
    } finally {
      this.adoptNow = false;
    }
  }

  /** The broker id now belongs to an order: its parked reports are applied right after the report that mapped it. */
  unpark(brokerOrderId: string): void {
    const list = this.parked.get(brokerOrderId);
    if (list === undefined) return;
    this.parked.delete(brokerOrderId);
    const i = this.parkedOrder.findIndex((p) => p.id === brokerOrderId);
    if (i >= 0) this.parkedOrder.splice(i, 1);
    this.parkedCount -= list.length;
    this.unparked.push(...list);
  }

  /**
   * A report for an order of the day already let go from the table (by broker id, else client
   * id): not applied. The day's store keeps no exec ids, so a fill cannot be told from a
   * resend of one already booked; booking it could count it twice. It is counted and alerted,
   * and reconciliation compares the order's fills with the broker's records.
   */
  lateReport(r: BrokerReport): void {
    this.c.counters.lateReports++;
    if (r.kind === 'trade') {
      let i = r.brokerOrderId !== '' ? this.c.archive.positionOfBroker(r.brokerOrderId) : -1;
      if (i < 0) i = this.c.archive.positionOf(r.clientOrderId ?? '');
      const o = this.c.archive.at(i);
      this.c.anomaly('LATE_REPORT', `fill for an order already let go from the table (status=${o.status} cumQty=${o.cumQty}): not applied; reconciliation compares it with the broker's trades execId=${r.execId} lastQty=${r.lastQty} lastPx=${r.lastPx}`, o.clientOrderId, o.brokerOrderId, r);
    }
  }

  /**
   * Reports that named only a broker id became an external order; now a report names that id
   * with the client id of one of our orders that has no broker id yet. The external order was
   * ours all along: its slot becomes our order (its fills were booked already, on the same
   * instrument and side) and our slot without a broker id goes. Anything that does not fit is
   * an ID_MISMATCH.
   */
  claimExternal(ext: number, own: number, r: BrokerReport): number {
    const t = this.c.table;
    if (t.instrument[ext] !== t.instrument[own] || t.side[ext] !== t.side[own] || !isOpen(t.status[own]!) || t.cumQty[own]! > 0) {
      this.c.anomaly('ID_MISMATCH', `brokerOrderId=${r.brokerOrderId} belongs to external clientOrderId=${t.clientId[ext]} that does not match clientOrderId=${r.clientOrderId}`, r.clientOrderId, r.brokerOrderId, r);
      return ext;
    }
    // The external slot becomes our order (it may sit in the finished queue already, so it is
    // the one kept); our slot, open and without a broker id, goes.
    const inst = t.instrument[own]!;
    const ownId = t.clientId[own]!;
    const exposure = t.exposure[own]!;
    for (const e of t.execIdsOf(own)) if (!t.hasExec(ext, e)) t.addExec(ext, e);
    t.qty[ext] = t.qty[own]!;
    t.price[ext] = t.price[own]!;
    t.type[ext] = t.type[own]!;
    t.tif[ext] = t.tif[own]!;
    t.createdAt[ext] = t.createdAt[own]!;
    t.exposure[own] = 0;
    t.unallocate(own);
    t.byClientId.deleteSlot(ext);
    t.clientId[ext] = ownId;
    t.byClientId.set(ownId, ext);
    const cum = t.cumQty[ext]!;
    t.flags[ext] = (t.flags[ext]! & ~F_EXTERNAL) | F_ACKED | F_ACK_TIMED | (cum > 0 ? F_FILL_TIMED : 0) | (cum > t.qty[ext]! + QTY_EPS ? F_OVERFILLED : 0);
    this.c.externalLive--;
    this.c.counters.acks++;
    // the fills were booked already; what is left of our exposure stays counted
    const wasFinished = isTerminal(t.status[ext]!);
    let st = t.status[ext]!;
    if (!wasFinished) st = cum >= t.qty[ext]! - QTY_EPS ? OrderStatus.Filled : cum > 0 ? OrderStatus.PartiallyFilled : OrderStatus.Submitted;
    else if (st === OrderStatus.PartiallyFilled || st === OrderStatus.Filled) st = cum >= t.qty[ext]! - QTY_EPS ? OrderStatus.Filled : OrderStatus.PartiallyFilled;
    t.status[ext] = st;
    const left = isTerminal(st) ? 0 : Math.max(0, exposure - Math.round(cum * this.c.money.qtyScale[inst]!));
    this.c.exposure.reduceOpen(inst, t.side[ext]!, exposure - left, t.price[ext]!);
    t.exposure[ext] = left;
    if (isTerminal(st)) {
      this.c.accountRisk.release(inst);
      if (!wasFinished) t.markFinished(ext, this.c.clock.now());
    }
    this.c.logger.warn({ clientOrderId: ownId, brokerOrderId: t.brokerId[ext], cumQty: cum }, 'an external order was ours: it is now the order its ack named');
    return ext;
  }

  /** A report for an order we never submitted: keep it as an external order and flag it. */
  adoptExternal(r: BrokerReport, now: number): number {
    const c = this.c.counters;
    c.unknownOrders++;
    const inst = r.symbol !== undefined ? this.c.bySymbol.get(r.symbol) : undefined;
    const clientOrderId = r.clientOrderId || `ext:${r.brokerOrderId}`;
    if (inst === undefined || (r.side !== 'buy' && r.side !== 'sell') || r.brokerOrderId === '') {
      this.c.anomaly('UNKNOWN_ORDER', `report for unknown order with unknown symbol or side: symbol=${String(r.symbol)} side=${String(r.side)}`, clientOrderId, r.brokerOrderId, r);
      return -1;
    }
    const side = r.side === 'buy' ? 1 : -1;
    const t = this.c.table;
    // external orders have a quota of their own: own orders always keep the rest of the table
    const slot = this.c.externalLive < this.c.limits.maxExternalOrders && t.byClientId.get(clientOrderId) < 0 ? t.allocate(now) : -1;
    if (slot < 0) {
      // No slot, but the fill happened at the broker: book it, once, so positions stay true.
      c.boundRefusals++;
      if (r.kind === 'trade') {
        const key = `${r.brokerOrderId}\u0000${r.execId}`;
        if (this.unkeptFills.has(key)) {
          c.duplicateReports++;
          return -1;
        }
        this.unkeptFills.add(key);
        this.c.ledger.applyFill(inst.index, side, r.lastQty!, r.lastPx!);
        c.fills++;
      }
      const why = this.c.externalLive >= this.c.limits.maxExternalOrders ? `limits.maxExternalOrders=${this.c.limits.maxExternalOrders} external orders held` : `table full capacity=${t.capacity}`;
      this.c.anomaly('TABLE_FULL_EXTERNAL', `external order not kept: ${why}${r.kind === 'trade' ? '; its fill was booked' : ''}`, clientOrderId, r.brokerOrderId, r);
      return -1;
    }
    this.c.externalLive++;
    t.status[slot] = OrderStatus.Submitted;
    t.prevStatus[slot] = OrderStatus.Submitted;
    t.side[slot] = side;
    t.type[slot] = r.type === 'market' ? TYPE_MARKET : TYPE_LIMIT;
    t.tif[slot] = r.tif === 'gtc' ? TIF_GTC : r.tif === 'ioc' ? TIF_IOC : TIF_DAY;
    t.instrument[slot] = inst.index;
    t.qty[slot] = r.qty ?? r.cumQty ?? r.lastQty ?? 0;
    t.price[slot] = r.price !== undefined ? Math.round(r.price * inst.scale) : Number.NaN;
    t.createdAt[slot] = now;
    t.updatedAt[slot] = now;
    t.flags[slot] = F_EXTERNAL;
    t.clientId[slot] = clientOrderId;
    t.byClientId.set(clientOrderId, slot);
    t.setBrokerId(slot, r.brokerOrderId);
    this.c.anomaly('UNKNOWN_ORDER', `report for an order this engine did not submit: kept as external symbol=${inst.symbol}`, clientOrderId, r.brokerOrderId, r);
    return slot;
  }
}
