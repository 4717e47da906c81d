/**
 * The submit path: dedup → gate → risk → journal → order table → adapter, synchronous. One
 * order at a time here; `submitMany`'s batch gate is in batch-submit.ts.
 */
import { fromPriceUnits, type Instrument } from '../domain/instrument.js';
import { mulDivFloor, type MoneySpace } from '../domain/money.js';
import type { OrderRequest, Side, SubmitResult } from '../domain/order.js';
import { OrderStatus, STATUS_NAMES, isOpen, statusName } from '../domain/order-status.js';
import { R, reasonCode } from '../domain/reject-reason.js';
import type { AccountRisk } from '../risk/account-risk.js';
import type { TradingCalendar } from '../risk/calendar.js';
import type { PreTradeRisk } from '../risk/pretrade.js';
import type { OrderArchive } from './day-store.js';
import type { Exposure } from './exposure.js';
import type { Ledger } from './ledger.js';
import { OrderParser, PARSE_BAD_ID } from './order-parse.js';
import { TYPE_MARKET, type OrderTable } from './order-table.js';
import { NotSentError, type CoreLogger, type DebugWatch, type OrderSender, type PlaceOrderRequest } from './ports.js';
import type { Counters } from './stats.js';
import type { TradingCore } from './trading-core.js';
import { TIF_NAMES, TYPE_NAMES } from './views.js';

export class SubmitPath {
  private readonly table: OrderTable;
  private readonly risk: PreTradeRisk;
  private readonly accountRisk: AccountRisk;
  private readonly ledger: Ledger;
  private readonly money: MoneySpace;
  private readonly exposure: Exposure;
  private readonly archive: OrderArchive;
  private readonly calendars: readonly (TradingCalendar | undefined)[];
  private readonly counters: Counters;
  private readonly deniedBy: Uint32Array;
  private readonly broker: OrderSender;
  private readonly logger: CoreLogger;
  private readonly debugWatch: DebugWatch;
  private readonly readNs: () => number;
  private readonly baseMs: number;
  readonly parser: OrderParser;
  /** The submit's clock reading (ns): the order's createdNs; and its epoch ms. */
  eventNs = 0;
  now = 0;
  /** Why the last `postCheck` refused. */
  postDetail = '';
  /** Protection price (units) of the market order last checked; NaN for none. */
  protection = Number.NaN;
  /** Slot of the last order `place` stored. */
  lastSlot = -1;
  /** The request handed to the adapter, refilled for every order. */
  private readonly req = newRequest();
  /** Inside the adapter's placeOrder. */
  private placing = false;

  constructor(private readonly c: TradingCore) {
    this.table = c.table;
    this.risk = c.risk;
    this.accountRisk = c.accountRisk;
    this.ledger = c.ledger;
    this.money = c.money;
    this.exposure = c.exposure;
    this.archive = c.archive;
    this.calendars = c.calendars;
    this.counters = c.counters;
    this.deniedBy = c.deniedBy;
    this.broker = c.broker;
    this.logger = c.logger;
    this.debugWatch = c.debugWatch;
    this.readNs = c.readNs;
    this.baseMs = c.baseMs;
    this.parser = new OrderParser(c.bySymbol);
  }

  /** One order through dedup → gate → risk → journal → order table → adapter (see `Engine.submit`). */
  submit(order: OrderRequest): SubmitResult {
    this.counters.submits++;
    const parsed = this.parser.parse(order);
    const p = this.parser.parsed;
    if (parsed === PARSE_BAD_ID) return this.deny(p.idText, R.INVALID_ORDER, p.detail);
    const id = p.id;
    const t = this.table;
    const ns = this.readNs();
    this.eventNs = ns;
    const now = this.baseMs + ns / 1e6;
    this.now = now;
    if (now >= this.c.nextRollAt) this.c.rollDay(now);
    // Finished orders past their retention move to the day's store (their ids stay refused).
    t.recycle(now);
    // 1. dedup: active (the table), or finished today (the table, then the day's store)
    const existing = t.byClientId.get(id);
    if (existing >= 0) return this.dedupResult(existing, id);
    if (this.archive.size > 0) {
      const done = this.archive.positionOf(id);
      if (done >= 0) return this.deny(id, R.DUPLICATE_ORDER_ID, `clientOrderId=${id} status=${STATUS_NAMES[this.archive.statusAt(done)]} tradingDay=${this.c.dayName}`);
    }
    // 2. gate
    if (!this.c.ready) return this.deny(id, R.BROKER_NOT_READY, this.c.notReadyDetail());
    if (now < this.c.throttledUntil) return this.deny(id, R.RATE_LIMIT, `limit=broker-throttle retryInMs=${Math.ceil(this.c.throttledUntil - now)}`);
    if (parsed !== 0) return this.deny(id, parsed, p.detail);
    if (this.c.tradingState === 'Halted') return this.deny(id, R.TRADING_HALTED, `state=Halted reason=${this.c.lastStateReason}`);
    const inst = p.inst!;
    if (this.closed(inst, now)) return this.deny(id, R.OUTSIDE_SESSION, this.sessionDetail(inst, now));
    // 3. risk: the per-order gate, then the account checks
    const market = p.type === TYPE_MARKET;
    const position = this.ledger.pos[inst.index]!;
    const reason = this.risk.check(inst, p.side, market, order.qty, order.price as number, position);
    if (reason !== 0) return this.deny(id, reason, this.risk.detail(reason, inst, p.side, market, order.qty, order.price as number, position));
    const post = this.postCheck(inst, p.side, market, order.qty, this.risk.priceUnits, p.reduceOnly || this.c.tradingState === 'Reducing', this.risk.openBuy, this.risk.openSell);
    if (post !== 0) return this.deny(id, post, this.postDetail);
    // 5, 6. order table and adapter; exposure, rates and open counts from here
    const res = this.place(id, inst, p.side, p.type, p.tif, order.qty, this.risk.priceUnits, order.side);
    if (res.status === 'accepted') {
      this.exposure.accept(inst.index, p.side, this.risk.qtyUnits, this.risk.priceUnits);
    }
    // reports an adapter delivered from inside placeOrder, now that the order is counted
    if (!this.c.handling && this.c.backlog.length > 0) this.c.reports.drain();
    return res;
  }

  /**
   * The protection price of a market order (price units, into `this.protection`): the
   * reference moved by marketBandPct, onto the tick toward the reference. Returns
   * NO_REFERENCE_PRICE when a band is set, no reference is known and the policy refuses.
   */
  private protectionFor(inst: Instrument, side: number): number {
    const i = inst.index;
    const pct = this.risk.limits.marketBandPct[i]!;
    if (pct === Infinity) return 0;
    const ref = this.risk.refUnits[i]!;
    if (Number.isNaN(ref)) return this.risk.limits.noRefRefuse[i] === 1 ? R.NO_REFERENCE_PRICE : 0;
    // in integers: the band in millionths of a percent, then onto the tick toward the reference
    const micro = this.risk.limits.marketBandMicroPct[i]!;
    const w = mulDivFloor(ref, micro, 1e8); // floor(ref ± d) = ref ± floor(d), ceil(ref - d) = ref - floor(d)
    const raw = side > 0 ? ref + w : Math.max(0, ref - w);
    const tick = this.risk.tickAt(i, raw, inst.tickUnits);
    this.protection = side > 0 ? Math.floor(raw / tick) * tick : Math.ceil(raw / tick) * tick;
    return 0;
  }

  /** Whether the instrument's market is outside its sessions at `now` (no calendar: never). */
  closed(inst: Instrument, now: number): boolean {
    const cal = this.calendars[inst.index];
    return cal !== undefined && !cal.isOpen(now);
  }

  sessionDetail(inst: Instrument, now: number): string {
    const next = this.calendars[inst.index]!.nextOpenAt(now);
    return `symbol=${inst.symbol} market=${inst.market} nextOpen=${Number.isFinite(next) ? new Date(next).toISOString() : 'none within 31 days'}`;
  }

  /** The account checks after the gate, at `this.now`; on a refusal the detail is left in `postDetail`. */
  postCheck(inst: Instrument, side: number, market: boolean, qty: number, units: number, reduceOnly: boolean, openBuy: Float64Array, openSell: Float64Array): number {
    this.protection = Number.NaN;
    const A = this.accountRisk;
    A.now = this.now;
    // The common case (a limit order, no account check on the instrument) stays this small, so
    // V8 inlines it into submit with the dedup probe and the clock: the rest is a call.
    if (!market && !reduceOnly && !A.applies(inst.index)) return 0;
    A.qty = qty;
    A.pxUnits = units;
    return this.accountCheck(inst, side, market, reduceOnly, openBuy, openSell);
  }

  /** postCheck past its common case: market protection, then the account checks (order from accountRisk's fields). */
  private accountCheck(inst: Instrument, side: number, market: boolean, reduceOnly: boolean, openBuy: Float64Array, openSell: Float64Array): number {
    const A = this.accountRisk;
    const qty = A.qty;
    if (market) {
      const r = this.protectionFor(inst, side);
      if (r !== 0) {
        this.postDetail = `symbol=${inst.symbol} type=market needs=reference policy=refuse marketBandPct=${this.risk.limits.marketBandPct[inst.index]}`;
        return r;
      }
    }
    if (!reduceOnly && !A.applies(inst.index)) return 0;
    A.qu = Math.round(qty * this.money.qtyScale[inst.index]!);
    // price units of the order's notional: its limit, else the reference
    if (market) A.pxUnits = this.risk.refUnits[inst.index]!;
    const r = A.check(inst, side, reduceOnly, this.ledger, openBuy, openSell, this.risk.refUnits);
    if (r !== 0) {
      const px = market ? this.risk.reference[inst.index]! : A.pxUnits / inst.scale;
      this.postDetail = A.detail(r, inst, side, qty, px, this.ledger, openBuy, openSell, this.risk.refUnits);
    }
    return r;
  }

  /** The answer for an id that is already in the table. */
  dedupResult(slot: number, id: string): SubmitResult {
    const st = this.table.status[slot]!;
    if (isOpen(st)) {
      this.counters.duplicateSubmits++;
      return { status: 'duplicate', clientOrderId: id, brokerOrderId: this.table.brokerId[slot]!, orderStatus: statusName(st) };
    }
    return this.deny(id, R.DUPLICATE_ORDER_ID, `clientOrderId=${id} status=${statusName(st)}`);
  }

  /**
   * Steps 5 and 6 for an order whose exposure is already counted: take a slot, write the
   * order, hand it to the adapter. On a refusal (table full, certainly not sent) the exposure
   * is released again.
   */
  place(id: string, inst: Instrument, side: number, type: number, tif: number, qty: number, units: number, sideName: Side): SubmitResult {
    // the time and the protection price come in fields: a double passed to a call that is not
    // inlined is boxed (16 B each, measured)
    const now = this.now;
    const protection = this.protection;
    const t = this.table;
    const slot = t.take();
    if (slot < 0) return this.deny(id, R.ORDER_TABLE_FULL, `capacity=${t.capacity} retained=${t.retained} retentionMs=${t.retentionMs}`);
    t.status[slot] = OrderStatus.PendingNew;
    t.prevStatus[slot] = OrderStatus.PendingNew;
    t.side[slot] = side;
    t.type[slot] = type;
    t.tif[slot] = tif;
    t.instrument[slot] = inst.index;
    t.qty[slot] = qty;
    t.price[slot] = units;
    t.createdAt[slot] = now;
    t.createdNs[slot] = this.eventNs;
    t.updatedAt[slot] = now;
    t.clientId[slot] = id;
    t.byClientId.set(id, slot);
    t.exposure[slot] = Math.round(qty * this.money.qtyScale[inst.index]!); // whole units: the gate checked
    this.lastSlot = slot;
    if (this.c.touchSets.length > 0) this.c.touch(id);
    // 4. journal: the intent is written before anything leaves the process
    if (this.c.journal !== undefined) {
      const journaled = this.c.record({ k: 'intent', t: now, id, i: inst.index, side, type, tif, qty, px: units });
      if (!journaled || !this.c.barrier(id)) {
        // the intent may sit in the writer's buffer and reach the disk later: void it there too
        if (journaled) this.c.record({ k: 'unsent', t: now, id });
        t.exposure[slot] = 0;
        t.unallocate(slot);
        return this.deny(id, R.JOURNAL_FAILED, `journal=${this.c.journal.dir} error=${this.c.journalError}`);
      }
    }
    // A report the adapter delivers from inside placeOrder waits until the order is counted.
    const outer = this.c.handling;
    this.c.handling = true;
    try {
      // One request object for every order (the adapter copies what it keeps: see BrokerAdapter),
      // unless an adapter submits from inside its own placeOrder: then that call still reads it.
      const req = this.placing ? newRequest() : this.req;
      req.clientOrderId = id;
      req.symbol = inst.symbol;
      req.side = sideName;
      req.type = TYPE_NAMES[type]!;
      req.tif = TIF_NAMES[tif]!;
      req.qty = qty;
      req.price = type === TYPE_MARKET ? Number.NaN : fromPriceUnits(units, inst.scale);
      req.protectionPrice = Number.isNaN(protection) ? undefined : fromPriceUnits(protection, inst.scale);
      const nested = this.placing;
      this.placing = true;
      try {
        this.broker.placeOrder(req);
      } finally {
        this.placing = nested;
      }
    } catch (err) {
      if (err instanceof NotSentError) {
        // Nothing left the process: undo the slot so the id can be used again.
        t.exposure[slot] = 0;
        t.unallocate(slot);
        if (this.c.journal !== undefined) this.c.record({ k: 'unsent', t: now, id });
        this.endPlace(outer);
        return this.deny(id, R.BROKER_NOT_READY, `broker=${this.broker.name} error=${err.message}`);
      }
      // Outcome unknown: never resent; stays PendingNew until recovery sync resolves it.
      this.counters.sendFailures++;
      this.c.anomaly('SEND_FAILED', `placeOrder threw: ${(err as Error).message}`, id, '');
    }
    this.counters.accepted++;
    this.endPlace(outer);
    // per order, so debug only (a pino line measured ~2.5 µs)
    if (this.debugWatch.debug) this.logger.debug({ clientOrderId: id, symbol: inst.symbol, side: sideName, qty, price: fromPriceUnits(units, inst.scale) }, 'order sent');
    return { status: 'accepted', clientOrderId: id };
  }

  private endPlace(outer: boolean): void {
    this.c.handling = outer;
  }

  deny(clientOrderId: string, reason: number, detail: string): SubmitResult {
    this.counters.denied++;
    this.deniedBy[reason]!++;
    const code = reasonCode(reason);
    if (this.debugWatch.debug) this.logger.debug({ clientOrderId, reason: code, detail }, 'order denied');
    return { status: 'denied', clientOrderId, reason: code, detail };
  }
}

/** A place request of the one shape every order's has. */
function newRequest(): { -readonly [K in keyof PlaceOrderRequest]: PlaceOrderRequest[K] } {
  return { clientOrderId: '', symbol: '', side: 'buy', type: 'limit', tif: 'day', qty: 0, price: Number.NaN, protectionPrice: undefined };
}
