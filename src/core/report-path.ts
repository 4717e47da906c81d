/**
 * The report path: normalize → match → dedup → stale check → transition table → ledger →
 * journal → callbacks → metrics. Reports that match no order in the table go to
 * unmatched-reports.ts (parked for their ack, late for an order let go, external).
 */
import { fromPriceUnits, type Instrument } from '../domain/instrument.js';
import { FILL_PRICE_DIGITS, type MoneySpace } from '../domain/money.js';
import { OrderStatus, isTerminal, statusName } from '../domain/order-status.js';
import { isRejectReason, reasonId } from '../domain/reject-reason.js';
import { ReportBuffer, copyReport, type BrokerReport } from '../domain/report.js';
import { INVALID, OrderEvent, RESTORE, nextStatus } from '../domain/transitions.js';
import type { AccountRisk } from '../risk/account-risk.js';
import type { ReportCallbacks } from './callbacks.js';
import type { OrderArchive } from './day-store.js';
import type { Exposure } from './exposure.js';
import type { Ledger } from './ledger.js';
import { F_ACKED, F_ACK_TIMED, F_EXTERNAL, F_FILL_TIMED, F_OVERFILLED, F_SEQ_GAP, type OrderTable } from './order-table.js';
import type { CoreLogger, DebugWatch, LatencySink } from './ports.js';
import { reportRecord } from './records.js';
import { isTerminalEvent, kindEvent, validateReport } from './report-validation.js';
import type { Counters } from './stats.js';
import type { TradingCore } from './trading-core.js';
import type { UnmatchedReports } from './unmatched-reports.js';
import { ExecutionReportTableView, OrderTableView, TradeTableView, executionReportObject, keepable, orderObject, tradeObject } from './views.js';

/** Quantity tolerance: fills of fractional lots accumulate float noise. */
export const QTY_EPS = 1e-9;
/** Fill units per order price unit. */
const FILL_SCALE = 10 ** FILL_PRICE_DIGITS;

export class ReportPath {
  private readonly table: OrderTable;
  private readonly instruments: readonly Instrument[];
  private readonly ledger: Ledger;
  private readonly money: MoneySpace;
  private readonly accountRisk: AccountRisk;
  private readonly exposure: Exposure;
  private readonly archive: OrderArchive;
  private readonly counters: Counters;
  private readonly rejectedBy: Uint32Array;
  private readonly logger: CoreLogger;
  private readonly debugWatch: DebugWatch;
  private readonly readNs: () => number;
  private readonly baseMs: number;
  private readonly timed: boolean;
  private readonly ackLatency: LatencySink;
  private readonly fillLatency: LatencySink;
  private readonly reportLatency: LatencySink;
  private readonly callbackLatency: LatencySink;
  private readonly unmatched: UnmatchedReports;
  private readonly orderView: OrderTableView;
  private readonly reportView: ExecutionReportTableView;
  private readonly tradeView: TradeTableView;
  /** The report the views show: the engine's copy of the last one dispatched to them. */
  private readonly seen = new ReportBuffer();
  /** The arriving report's clock reading (ns). */
  reportNs = 0;
  /** Counts reports, so every `reportTimingEvery`-th one is timed (see handleOne). */
  private timingTick = 0;
  /** Set by `apply` for the callbacks that follow: the slot (-1: none) and whether its order changed. */
  private cbSlot = -1;
  private cbChanged = false;

  constructor(
    private readonly c: TradingCore,
    /** Callback arguments: fresh objects (`callbackArgs: 'objects'`) instead of the reusable views. */
    private readonly objectArgs: boolean,
    private readonly timingMask: number,
  ) {
    this.table = c.table;
    this.instruments = c.instruments;
    this.ledger = c.ledger;
    this.money = c.money;
    this.accountRisk = c.accountRisk;
    this.exposure = c.exposure;
    this.archive = c.archive;
    this.counters = c.counters;
    this.rejectedBy = c.rejectedBy;
    this.logger = c.logger;
    this.debugWatch = c.debugWatch;
    this.readNs = c.readNs;
    this.baseMs = c.baseMs;
    this.timed = c.timed;
    this.ackLatency = c.latency.ack;
    this.fillLatency = c.latency.firstFill;
    this.reportLatency = c.latency.report;
    this.callbackLatency = c.latency.callback;
    this.unmatched = c.unmatched;
    this.orderView = new OrderTableView(this.table, this.instruments);
    this.reportView = new ExecutionReportTableView(this.table, this.instruments);
    this.tradeView = new TradeTableView(this.table, this.instruments);
  }

  /**
   * Entry point for broker reports (the adapter's sink calls it). Never throws. A report that
   * arrives while another is being applied (from a callback, or an adapter delivering
   * synchronously) is queued and applied right after, in arrival order.
   */
  readonly onReport = (report: BrokerReport): void => {
    const c = this.c;
    if (c.handling) {
      c.backlog.push(keepReport(report));
      return;
    }
    c.handling = true;
    try {
      // the common path, written out: from the adapter's call to apply in two calls (this one and apply)
      const ns = this.readNs();
      this.reportNs = ns;
      const t0 = this.baseMs + ns / 1e6;
      // 6. journal: the report as it arrived, before it changes anything (a non-object is only flagged)
      if (c.journal !== undefined && typeof report === 'object' && report !== null) c.record(reportRecord(t0, report));
      this.cbSlot = -1;
      try {
        this.apply(report, t0);
      } catch (err) {
        this.failed(err, report);
      }
      if (!c.restoring) this.dispatch(report, t0);
      if (this.unmatched.unparked.length > 0) this.applyUnparked(ns, t0);
      for (let i = 0; i < c.backlog.length; i++) this.handle(c.backlog[i]!);
    } finally {
      // only when used: setting an array's length is slow in V8 even when it is already 0
      if (c.backlog.length > 0) c.backlog.length = 0;
      c.handling = false;
    }
  };

  /** Apply reports queued while the engine was busy (submitMany), in arrival order. */
  drain(): void {
    this.c.handling = true;
    try {
      for (let i = 0; i < this.c.backlog.length; i++) this.handle(this.c.backlog[i]!);
    } finally {
      this.c.backlog.length = 0;
      this.c.handling = false;
    }
  }

  private handle(r: BrokerReport): void {
    const ns = this.readNs();
    this.reportNs = ns;
    const t0 = this.baseMs + ns / 1e6;
    // 6. journal: the report as it arrived, before it changes anything (a non-object is only flagged)
    if (this.c.journal !== undefined && typeof r === 'object' && r !== null) this.c.record(reportRecord(t0, r));
    this.handleAt(r, t0);
  }

  handleAt(r: BrokerReport, t0: number): void {
    this.handleOne(r, t0);
    if (this.unmatched.unparked.length > 0) this.applyUnparked(this.reportNs, t0);
  }

  /** Reports that waited for the ack just applied (journaled when they arrived), right after it. */
  private applyUnparked(ns: number, t0: number): void {
    while (this.unmatched.unparked.length > 0) {
      this.reportNs = ns; // a callback's submit may have read the clock since
      this.handleOne(this.unmatched.unparked.shift()!, t0);
    }
  }

  handleOne(r: BrokerReport, t0: number): void {
    this.cbSlot = -1;
    try {
      this.apply(r, t0);
    } catch (err) {
      this.failed(err, r);
    }
    if (!this.c.restoring) this.dispatch(r, t0);
  }

  /** A bug must not take the process down with a half-applied report unseen: flag it. */
  private failed(err: unknown, r: BrokerReport): void {
    this.cbSlot = -1;
    this.c.anomaly('MALFORMED_REPORT', `report handling failed: ${(err as Error).stack ?? String(err)}`, undefined, undefined, r);
  }

  /** After a report was applied: its handling time, then the callbacks (timed). */
  private dispatch(r: BrokerReport, t0: number): void {
    // Handling and callback times on every reportTimingEvery-th report: one more reading when
    // the state is applied and one when the callbacks returned (the others take none).
    const timed = this.timed && (++this.timingTick & this.timingMask) === 0;
    const t1 = timed ? this.readNs() : 0;
    if (timed) this.reportLatency.recordNs(t1 - this.reportNs, t0);
    // 7. callbacks
    const slot = this.cbSlot;
    const t = this.table;
    if (slot >= 0 && this.debugWatch.debug) {
      this.logger.debug({ clientOrderId: t.clientId[slot], brokerOrderId: t.brokerId[slot], kind: r.kind, execId: r.execId, status: statusName(t.status[slot]!) }, 'report applied');
    }
    const s = this.c.strategy;
    if (slot < 0 || s === undefined) return;
    if (this.objectArgs) this.callWithObjects(s, slot, r, t0);
    else {
      // the views read the engine's copy: the adapter may refill its object once its call returns
      r = this.seen.copyFrom(r);
      if (s.onExecutionReport !== undefined) {
        const v = this.reportView;
        v.slot = slot;
        v.report = r;
        v.arrived = t0;
        this.call(s.onExecutionReport, s, v, slot);
      }
      if (r.kind === 'trade' && s.onTrade !== undefined) {
        const v = this.tradeView;
        v.slot = slot;
        v.report = r;
        v.arrived = t0;
        this.call(s.onTrade, s, v, slot);
      }
      if (this.cbChanged && s.onOrder !== undefined) {
        this.orderView.slot = slot;
        this.call(s.onOrder, s, this.orderView, slot);
      }
    }
    if (timed) this.callbackLatency.recordNs(this.readNs() - t1, t0);
  }

  /** Apply one report; `now` is the engine clock when it arrived. */
  private apply(r: BrokerReport, now: number): void {
    const c = this.counters;
    c.reports++;
    // 1. normalize
    const problem = validateReport(r);
    if (problem !== undefined) {
      c.malformedReports++;
      this.c.anomaly('MALFORMED_REPORT', problem, undefined, undefined, r);
      return;
    }
    const t = this.table;
    // Broker order id first, in the table; then the client id of one of our orders in the table
    // (the ack that maps the broker id); then the day's store of orders let go, by broker id,
    // else client id. The store is not asked on the ack path: a client id is unique within its
    // day, so an order waiting for its ack has no namesake in the store (asking it cost ~100 ns
    // per order in the echo loop).
    const bid = r.brokerOrderId;
    let slot = bid !== '' ? t.byBrokerId.get(bid) : -1;
    if (slot >= 0) {
      if (r.clientOrderId && r.clientOrderId !== t.clientId[slot]) {
        if ((t.flags[slot]! & F_EXTERNAL) === 0) {
          this.c.anomaly('ID_MISMATCH', `brokerOrderId=${bid} belongs to clientOrderId=${t.clientId[slot]} but report says ${r.clientOrderId}`, r.clientOrderId, bid, r);
          return;
        }
        // an external order adopted from reports that named only this broker id: is it ours?
        const own = t.byClientId.get(r.clientOrderId);
        if (own >= 0 && t.brokerId[own] === '' && (t.flags[own]! & F_EXTERNAL) === 0) slot = this.unmatched.claimExternal(slot, own, r);
      }
    } else if (r.clientOrderId && (slot = t.byClientId.get(r.clientOrderId)) >= 0) {
      if (bid !== '') {
        if (t.brokerId[slot] === '') {
          t.setBrokerId(slot, bid);
          if (this.unmatched.parkedCount > 0) this.unmatched.unpark(bid);
        } else {
          this.c.anomaly('ID_MISMATCH', `clientOrderId=${r.clientOrderId} has brokerOrderId=${t.brokerId[slot]} but report says ${bid}`, r.clientOrderId, bid, r);
          return;
        }
      }
    } else if (this.archive.size > 0 && ((bid !== '' && this.archive.positionOfBroker(bid) >= 0) || (r.clientOrderId && this.archive.positionOf(r.clientOrderId) >= 0))) {
      this.unmatched.lateReport(r);
      return;
    } else if (!r.clientOrderId && !this.unmatched.adoptNow && this.c.limits.maxParkedReports > 0) {
      // only a broker id, and one no order has yet: most likely a fill that overtook the ack of
      // one of ours; it waits for the ack that maps the id (parkMs), then counts as external
      this.unmatched.park(r, now);
      return;
    }
    if (slot < 0) {
      slot = this.unmatched.adoptExternal(r, now);
      if (slot < 0) return;
    }
    if (this.c.touchSets.length > 0 && !this.c.correcting) this.c.touch(t.clientId[slot]!);
    // 2. dedup by (brokerOrderId, execId); the id is recorded below, once the report took effect
    if (t.hasExec(slot, r.execId)) {
      c.duplicateReports++;
      return;
    }
    if (t.execIdCount(slot) >= t.maxExecIds) {
      c.boundRefusals++;
      this.c.boundReached(`maxExecIdsPerOrder:${t.clientId[slot]}`, `order keeps limits.maxExecIdsPerOrder=${t.maxExecIds} report ids; report refused execId=${r.execId}`, t.clientId[slot], t.brokerId[slot]);
      return;
    }
    // 3. fill quantity (exact: quantity units and fill units) and event
    const fill = r.kind === 'trade';
    const lastQty = fill ? r.lastQty! : 0;
    const inst = this.instruments[t.instrument[slot]!]!;
    let qu = 0;
    let pu = 0;
    if (fill) {
      qu = this.money.qtyUnits(inst.index, lastQty);
      if (qu !== qu) return this.offGridFill(slot, r, inst);
      pu = this.money.fillUnits(inst.index, r.lastPx!);
    }
    const priceRounded = fill && this.money.fillRounded;
    let event = kindEvent(r.kind);
    if (fill) event = t.cumQty[slot]! + lastQty >= t.qty[slot]! - QTY_EPS ? OrderEvent.Fill : OrderEvent.PartialFill;
    const prevSeq = t.lastSeq[slot]!;
    let stale = false;
    if (r.seq !== undefined) {
      if (r.seq <= t.lastSeq[slot]!) {
        stale = true;
        // Older than what was applied. A fill is still new money: keep it. A terminal report
        // (canceled, expired, rejected) is a fact that a faster, later report may have
        // overtaken (an IOC cancel behind a "too late to cancel"), so it still ends an open
        // order. Anything else, or anything for a finished order, changes nothing.
        c.staleReports++;
        if (!fill && (isTerminal(t.status[slot]!) || !isTerminalEvent(event))) return;
      } else {
        // per-order seqs start at 0 or 1 (-1: none seen yet)
        if (t.lastSeq[slot]! < 0 ? r.seq > 1 : r.seq > t.lastSeq[slot]! + 1) t.flags[slot]! |= F_SEQ_GAP;
        t.lastSeq[slot] = r.seq;
      }
    }
    // 4. transition table
    const from = t.status[slot]!;
    let to = nextStatus(from, event);
    if (to === INVALID && !fill && repeatsEnd(from, event)) {
      // the order already ended so (a recovery sync finished it before this report, on the
      // wire meanwhile, came in): the same fact twice under two exec ids changes nothing
      c.noopReports++;
      return;
    }
    if (to === INVALID) {
      c.invalidTransitions++;
      this.c.anomaly('INVALID_TRANSITION', `invalid transition ${statusName(from)} + ${r.kind} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
      return;
    }
    if (to === RESTORE) to = t.prevStatus[slot]!;
    // Keep what a cancel reject would restore in step with reports that arrive meanwhile.
    if (from === OrderStatus.PendingCancel) {
      if (event === OrderEvent.PartialFill) t.prevStatus[slot] = OrderStatus.PartiallyFilled;
      else if (event === OrderEvent.Accepted && t.prevStatus[slot] === OrderStatus.PendingNew) t.prevStatus[slot] = OrderStatus.Submitted;
    }
    const external = (t.flags[slot]! & F_EXTERNAL) !== 0;
    // 5. ledger and order state
    if (fill) {
      const px = r.lastPx!;
      if (!this.ledger.applyFill(inst.index, t.side[slot]!, qu, pu)) {
        c.boundRefusals++;
        this.c.boundReached(`position:${inst.symbol}`, `a fill would take the ${inst.symbol} position past 2^53 quantity units; refused execId=${r.execId}`, t.clientId[slot], t.brokerId[slot]);
        return;
      }
      const ro = this.c.rollout;
      if (ro !== undefined) {
        ro.filled(inst.index, qu, pu);
        if (ro.watchesLoss) this.c.watchLoss();
      }
      // on the quantity grid: 0.1 + 0.2 fills read 0.3, not 0.30000000000000004
      const qs = this.money.qtyScale[inst.index]!;
      t.cumQty[slot] = (Math.round(t.cumQty[slot]! * qs) + qu) / qs;
      t.fillValue[slot] = t.fillValue[slot]! + lastQty * px;
      const ex = t.exposure[slot]!;
      if (ex > 0) this.exposure.reduce(slot, inst.index, Math.min(ex, qu));
      c.fills++;
      const limit = t.price[slot]! * FILL_SCALE;
      if (priceRounded || (t.side[slot]! > 0 ? pu > limit : pu < limit)) this.oddFill(slot, r, inst, pu, priceRounded);
      if (t.cumQty[slot]! > t.qty[slot]! + QTY_EPS) {
        c.overfills++;
        t.flags[slot]! |= F_OVERFILLED;
        this.c.anomaly('OVERFILL', `cumQty=${t.cumQty[slot]} qty=${t.qty[slot]} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
      }
      if ((t.flags[slot]! & (F_FILL_TIMED | F_EXTERNAL)) === 0) {
        t.flags[slot]! |= F_FILL_TIMED;
        if (this.timed) this.fillLatency.recordNs(this.sinceSubmit(slot, now), now);
      }
    }
    if (event === OrderEvent.Accepted && (t.flags[slot]! & (F_ACK_TIMED | F_EXTERNAL)) === 0) {
      t.flags[slot]! |= F_ACK_TIMED;
      if (this.timed) this.ackLatency.recordNs(this.sinceSubmit(slot, now), now);
    }
    // place success: the broker took the order (an ack, or a fill that came first)
    if ((event === OrderEvent.Accepted || fill) && (t.flags[slot]! & (F_ACKED | F_EXTERNAL)) === 0) {
      t.flags[slot]! |= F_ACKED;
      c.acks++;
    }
    if (event === OrderEvent.CancelRejected) c.cancelRejects++;
    else if (to === OrderStatus.Cancelled && from === OrderStatus.PendingCancel) c.cancelsConfirmed++;
    const changed = fill || to !== from;
    if (!changed) c.noopReports++;
    // a report that changed the order is what a duplicate would repeat; one that changed nothing leaves nothing
    else t.addExec(slot, r.execId);
    if (event === OrderEvent.Rejected) {
      const reason = isRejectReason(r.reason) ? r.reason : 'BROKER_REJECT';
      t.reason[slot] = reasonId(reason);
      t.rejectText[slot] = r.text;
      c.rejects++;
      this.rejectedBy[t.reason[slot]!]!++;
    }
    t.status[slot] = to;
    t.updatedAt[slot] = now;
    // an ack that changed nothing came after the order moved on (a recovery sync applied its
    // fills first, the ack was still on the wire): its cumQty is of its time, not a disagreement
    const lateAck = event === OrderEvent.Accepted && !changed;
    if (r.cumQty !== undefined && !stale && !lateAck && Math.abs(r.cumQty - t.cumQty[slot]!) > QTY_EPS) this.checkCum(slot, r, fill, prevSeq);
    if (isTerminal(to) && !isTerminal(from)) {
      this.exposure.release(slot);
      if (!external) this.accountRisk.release(inst.index);
      t.markFinished(slot, now);
    }
    // the callbacks run in handleAt, after the state is applied and timed
    this.cbSlot = slot;
    this.cbChanged = changed;
  }

  /** A fill whose quantity is not a whole number of quantity units: refused, never booked. */
  private offGridFill(slot: number, r: BrokerReport, inst: Instrument): void {
    const t = this.table;
    this.counters.malformedReports++;
    this.c.anomaly('MALFORMED_REPORT', `lastQty=${r.lastQty} is not a whole number of ${inst.symbol}'s quantity unit ${1 / this.money.qtyScale[inst.index]!} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
  }

  /** A booked fill at a price finer than a fill unit, or through the order's limit. */
  private oddFill(slot: number, r: BrokerReport, inst: Instrument, pu: number, rounded: boolean): void {
    const t = this.table;
    const c = this.counters;
    const px = r.lastPx!;
    if (rounded) {
      c.fillPricesRounded++;
      this.c.anomaly('FILL_PRICE_ROUNDED', `lastPx=${px} has more decimals than ${inst.symbol}'s fill unit ${1 / this.money.fillScale[inst.index]!}; booked at ${pu / this.money.fillScale[inst.index]!} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
    }
    const limit = t.price[slot]! * FILL_SCALE;
    if (t.side[slot]! > 0 ? pu > limit : pu < limit) {
      c.fillsThroughLimit++;
      this.c.anomaly('FILL_THROUGH_LIMIT', `${t.side[slot]! > 0 ? 'buy' : 'sell'} filled at lastPx=${px} through its limit price=${fromPriceUnits(t.price[slot]!, inst.scale)} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
    }
  }

  /**
   * The broker's cumQty against the engine's own sum of applied fills (which stands; both are
   * kept in the anomaly). The engine ahead of the broker is wrong at once. The broker ahead is
   * judged only on a fill whose seq directly follows the last one applied, on an order whose
   * seqs never jumped (F_SEQ_GAP): otherwise an earlier fill may still be on its way
   * (reordering, a delay), and reconciliation settles it.
   */
  private checkCum(slot: number, r: BrokerReport, fill: boolean, prevSeq: number): void {
    const t = this.table;
    const mine = t.cumQty[slot]!;
    const theirs = r.cumQty!;
    // without a seq, a report that counts less than the engine had before it is an older one
    // (reordered on the way): it proves nothing either way
    const before = fill ? mine - r.lastQty! : mine;
    const older = r.seq === undefined && theirs + QTY_EPS < before;
    const ahead = mine > theirs + QTY_EPS && !older;
    if (!ahead && !(theirs > mine + QTY_EPS && fill && r.seq !== undefined && r.seq === prevSeq + 1 && (t.flags[slot]! & F_SEQ_GAP) === 0)) return;
    this.counters.cumQtyMismatches++;
    this.c.anomaly('CUM_QTY_MISMATCH', `broker cumQty=${theirs} engine cumQty=${mine} (${ahead ? 'the engine booked more than the broker counts' : 'the broker counts a fill the engine has not seen'}) execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
  }

  /** Nanoseconds from the order's submit to the report arriving now (from epoch ms when the order was not submitted in this process). */
  private sinceSubmit(slot: number, now: number): number {
    const c = this.table.createdNs[slot]!;
    return c === c ? this.reportNs - c : Math.round((now - this.table.createdAt[slot]!) * 1e6);
  }

  /** The callbacks with a fresh object each (`callbackArgs: 'objects'`). */
  private callWithObjects(s: ReportCallbacks, slot: number, r: BrokerReport, t0: number): void {
    const t = this.table;
    if (s.onExecutionReport !== undefined) this.call(s.onExecutionReport, s, keepable(executionReportObject(t, this.instruments, slot, r, t0)), slot);
    if (r.kind === 'trade' && s.onTrade !== undefined) this.call(s.onTrade, s, keepable(tradeObject(t, this.instruments, slot, r, t0)), slot);
    if (this.cbChanged && s.onOrder !== undefined) this.call(s.onOrder, s, keepable(orderObject(t, this.instruments, slot)), slot);
  }

  private call<T>(fn: (arg: T) => void, self: ReportCallbacks, arg: T, slot: number): void {
    try {
      fn.call(self, arg);
    } catch (err) {
      this.counters.callbackErrors++;
      this.c.anomaly('CALLBACK_ERROR', `strategy callback threw: ${(err as Error).message}`, this.table.clientId[slot], this.table.brokerId[slot]);
    }
  }
}

/** What the engine keeps of a report past the adapter's call: a copy (the adapter may reuse its object); a non-object as it is, to be flagged. */
export function keepReport(r: BrokerReport): BrokerReport {
  return typeof r === 'object' && r !== null ? copyReport(r) : r;
}

/** A terminal report repeating the order's own end: canceled on a Cancelled order, rejected on a Rejected one, expired on an Expired one. */
function repeatsEnd(status: number, event: number): boolean {
  return (status === OrderStatus.Cancelled && event === OrderEvent.Cancelled) || (status === OrderStatus.Rejected && event === OrderEvent.Rejected) || (status === OrderStatus.Expired && event === OrderEvent.Expired);
}
