import { TradingDay, tradingDayProblems, type TradingDaySpec } from '../../domain/trading-day.js';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { instrumentProblems, makeInstrument, toLots, toPriceUnits, type Instrument, type InstrumentSpec } from '../../domain/instrument.js';
import type { RejectReason } from '../../domain/reject-reason.js';
import { ReportBuffer, copyReport, type BrokerAccount, type BrokerOrder, type BrokerPosition, type BrokerReport, type BrokerTrade, type ExecKind, type Quote } from '../../domain/report.js';
import { NotSentError, type BrokerAdapter, type CancelOrderRequest, type HeartbeatInfo, type PlaceOrderRequest, type ReportSink } from '../adapter.js';
import { SyntheticBook, type MarketOptions } from './market.js';
import { matchAgainstBook, priceTimeOrder, type SimOrder } from './matching.js';
import { Prng } from './prng.js';

/** Faults a test can turn on; each probability is per report (dropAck: per order). */
export interface SimFaults {
  /** Probability that a report is delivered twice (same execId). */
  duplicateReports?: number;
  /** Probability that a report is held back so the next one overtakes it. */
  reorderReports?: number;
  /** Extra delay added to every report, ms. */
  delayReportsMs?: number;
  /** Probability that an order's ack is never sent (its fills still are). */
  dropAck?: number;
}

export interface SimBrokerOptions {
  instruments: InstrumentSpec[];
  /** Seed for prices, liquidity and faults. Default 1. */
  seed?: number;
  clock?: Clock;
  /** Starting price per symbol (decimal). Default 100. */
  startPrices?: Record<string, number>;
  /** Delay of acks, cancel acks and rejects, ms. Default 0. */
  ackLatencyMs?: number;
  /** Delay of fill reports, ms. Default 0. */
  fillLatencyMs?: number;
  /** Interval of market steps (price move, liquidity refresh, resting orders matched), ms; 0: only `step()` moves it. Default 20. */
  marketStepMs?: number;
  /** Limit prices further than this fraction from the mid are rejected (PRICE_BAND). Default 0.1. */
  priceBand?: number;
  /** Broker-side maximum order quantity. Default unlimited. */
  maxOrderQty?: number;
  /** 'auto': reports are delivered on the clock; 'manual': only by `flush()` (benchmarks). Default 'auto'. */
  delivery?: 'auto' | 'manual';
  market?: Partial<MarketOptions>;
  faults?: SimFaults;
  /** Holdback used by reorderReports, ms. Default 2. */
  reorderHoldMs?: number;
  /** The account's starting cash per currency (give the engine the same `initialCash`). Default 0. */
  initialCash?: Record<string, number>;
  /**
   * The broker's trading day (give the engine the same `tradingDay`). Default midnight UTC. At
   * the boundary its "today" lists roll: finished orders and the day's trades are dropped (they
   * are history, not today), open orders carry over; with `expireDayOrdersAtRoll` open day
   * orders expire first.
   */
  tradingDay?: TradingDaySpec;
  /** Expire open `day` orders at the roll (reports go out as for any expiry). Default true. */
  expireDayOrdersAtRoll?: boolean;
  /**
   * `walk` (default): each market step moves the mid a seeded random walk. `external`: the mid
   * moves only by `setMid` (the engine's paper fallback feeds it the live reference prices);
   * steps still refresh liquidity and match resting orders.
   */
  priceFeed?: 'walk' | 'external';
}

/**
 * Everything the broker keeps across a restart: its orders, trades, positions, cash, book
 * prices and counters. Sessions and reports not yet delivered are not part of it.
 */
export interface SimBrokerState {
  version: 1;
  nextOrder: number;
  nextExec: number;
  rng: number;
  mids: Record<string, number>;
  orders: Array<{
    brokerOrderId: string; clientOrderId: string; symbol: string; side: number; type: SimOrder['type']; tif: SimOrder['tif'];
    qty: number; price: number; protection: number; arrival: number; cumQty: number; fillValue: number; status: SimOrder['status']; seq: number;
  }>;
  trades: BrokerTrade[];
  positions: Record<string, number>;
  cash: Record<string, number>;
}

/**
 * A queued report is its own report structure, taken from a pool and put back once the sink's
 * call returns (the sink copies what it keeps), so delivery allocates no report object.
 */
class QueuedReport extends ReportBuffer {
  due = 0;
  n = 0;
}

const DEFAULT_MARKET: MarketOptions = { halfSpreadTicks: 1, levels: 5, minLevelLots: 50, maxLevelLots: 400, maxMoveTicks: 2 };

/**
 * The embedded simulated broker: a deterministic (seeded) venue with a synthetic book per
 * instrument, price-time matching of resting limit orders, market and IOC orders, partial
 * fills, cancels, rejects, configurable latency and fault knobs. It is the reference
 * implementation of {@link BrokerAdapter} and the default broker of a paper session.
 */
export class SimBroker implements BrokerAdapter {
  readonly name = 'sim';
  readonly clock: Clock;
  private readonly rng: Prng;
  private readonly instruments = new Map<string, Instrument>();
  private readonly books = new Map<string, SyntheticBook>();
  private readonly byBrokerId = new Map<string, SimOrder>();
  private readonly byClientId = new Map<string, SimOrder>();
  private readonly resting = new Map<string, SimOrder[]>();
  private readonly trades: BrokerTrade[] = [];
  private readonly cash = new Map<string, number>();
  private readonly position = new Map<string, number>();
  private readonly queue: QueuedReport[] = [];
  /** Report structures delivered and free again. */
  private readonly pool: QueuedReport[] = [];
  /** The reports of one delivery, reused (a delivery inside a delivery gets its own). */
  private readonly due: QueuedReport[] = [];
  private delivering = false;
  private sink: ReportSink | undefined;
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;
  private marketTimer: TimerHandle | undefined;
  private marketRunning = true;
  private nextOrder = 1;
  private nextExec = 1;
  private nextQueued = 1;
  private _revision = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly opts: Required<Omit<SimBrokerOptions, 'faults' | 'market' | 'startPrices' | 'instruments' | 'clock' | 'seed' | 'initialCash' | 'tradingDay' | 'expireDayOrdersAtRoll' | 'priceFeed'>>;
  private faults: Required<SimFaults>;
  private readonly dropFilters: Array<(r: BrokerReport) => boolean> = [];
  private readonly day: TradingDay;
  private nextRollAt: number;
  private rollTimer: TimerHandle | undefined;
  private readonly expireAtRoll: boolean;
  private readonly external: boolean;
  /** Day rolls done. */
  rolls = 0;

  constructor(options: SimBrokerOptions) {
    const errors: string[] = [];
    if (!Array.isArray(options.instruments) || options.instruments.length === 0) errors.push('instruments: must be a non-empty array');
    else options.instruments.forEach((s, i) => errors.push(...instrumentProblems(s, `instruments[${i}]`)));
    for (const k of ['ackLatencyMs', 'fillLatencyMs', 'marketStepMs', 'priceBand', 'maxOrderQty', 'reorderHoldMs'] as const) {
      const v = options[k];
      if (v !== undefined && (typeof v !== 'number' || !(v >= 0))) errors.push(`${k}: must be a number >= 0`);
    }
    if (options.delivery !== undefined && options.delivery !== 'auto' && options.delivery !== 'manual') errors.push('delivery: must be auto or manual');
    errors.push(...tradingDayProblems(options.tradingDay));
    for (const [ccy, v] of Object.entries(options.initialCash ?? {})) if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(`initialCash.${ccy}: must be a finite number`);
    errors.push(...faultProblems(options.faults));
    if (errors.length > 0) throw new Error(`invalid sim broker options:\n  - ${errors.join('\n  - ')}`);
    this.clock = options.clock ?? systemClock;
    this.rng = new Prng(options.seed ?? 1);
    this.opts = {
      ackLatencyMs: options.ackLatencyMs ?? 0,
      fillLatencyMs: options.fillLatencyMs ?? 0,
      marketStepMs: options.marketStepMs ?? 20,
      priceBand: options.priceBand ?? 0.1,
      maxOrderQty: options.maxOrderQty ?? Infinity,
      delivery: options.delivery ?? 'auto',
      reorderHoldMs: options.reorderHoldMs ?? 2,
    };
    this.faults = normalizeFaults(options.faults);
    const market = { ...DEFAULT_MARKET, ...options.market };
    options.instruments.forEach((spec, i) => {
      const inst = makeInstrument(spec, i);
      this.instruments.set(inst.symbol, inst);
      this.books.set(inst.symbol, new SyntheticBook(inst, options.startPrices?.[inst.symbol] ?? 100, market, this.rng));
      this.resting.set(inst.symbol, []);
      this.position.set(inst.symbol, 0);
      this.cash.set(inst.currency, 0);
    });
    for (const [ccy, amount] of Object.entries(options.initialCash ?? {})) this.cash.set(ccy, amount);
    this.day = new TradingDay(options.tradingDay);
    this.nextRollAt = this.day.nextRoll(this.clock.now());
    this.expireAtRoll = options.expireDayOrdersAtRoll ?? true;
    if (options.priceFeed !== undefined && options.priceFeed !== 'walk' && options.priceFeed !== 'external') throw new Error('invalid sim broker options:\n  - priceFeed: must be walk or external');
    this.external = options.priceFeed === 'external';
  }

  /**
   * Roll the broker's day if its boundary has passed: expire open day orders (when configured),
   * then forget finished orders and the day's trades. Checked by every call and on a timer.
   */
  private rollIfDue(): void {
    const now = this.clock.now();
    if (now < this.nextRollAt) return;
    this.nextRollAt = this.day.nextRoll(now);
    for (const [id, o] of this.byBrokerId) {
      if (o.status === 'Submitted' || o.status === 'PartiallyFilled') continue;
      this.byBrokerId.delete(id);
      if (this.byClientId.get(o.clientOrderId) === o) this.byClientId.delete(o.clientOrderId);
    }
    this.trades.length = 0;
    // then the open day orders expire: they finish in the new day, and its lists show them
    if (this.expireAtRoll) this.expireDayOrders();
    this.rolls++;
    this._revision++;
  }

  private armRoll(): void {
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = this.clock.setTimer(() => {
      this.rollTimer = undefined;
      this.rollIfDue();
      if (this.sink !== undefined) this.armRoll();
    }, Math.max(0, this.nextRollAt - this.clock.now()));
  }

  /** Replace the fault knobs (tests turn them on and off mid-session). */
  /** Change the latency of acks, cancel acks and rejects from now on, ms (a drill makes the broker slow). */
  setAckLatency(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ack latency must be a finite number of ms >= 0, got ${ms}`);
    this.opts.ackLatencyMs = ms;
  }

  setFaults(faults: SimFaults): void {
    const errors = faultProblems(faults);
    if (errors.length > 0) throw new Error(`invalid faults: ${errors.join('; ')}`);
    this.faults = normalizeFaults(faults);
  }

  /** Current mid price of a symbol (decimal). */
  mid(symbol: string): number {
    const book = this.books.get(symbol);
    if (book === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    return book.mid / book.inst.scale;
  }

  /** Best bid and ask of a symbol (decimal). */
  quote(symbol: string): { bid: number; ask: number } {
    const book = this.books.get(symbol);
    if (book === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    return { bid: book.bid(0) / book.inst.scale, ask: book.ask(0) / book.inst.scale };
  }

  get connected(): boolean {
    return this.sink !== undefined;
  }

  /** Changes whenever the broker's records change (a new order, a fill, a status). */
  get revision(): number {
    return this._revision;
  }

  /** The broker's records, to persist (`restoreState` brings them back after a restart). */
  exportState(): SimBrokerState {
    const mids: Record<string, number> = {};
    for (const [symbol, book] of this.books) mids[symbol] = book.mid;
    return {
      version: 1,
      nextOrder: this.nextOrder,
      nextExec: this.nextExec,
      rng: this.rng.state,
      mids,
      orders: [...this.byBrokerId.values()].map((o) => ({
        brokerOrderId: o.brokerOrderId, clientOrderId: o.clientOrderId, symbol: o.inst.symbol, side: o.side, type: o.type, tif: o.tif,
        qty: o.qty, price: o.price, protection: o.protection, arrival: o.arrival, cumQty: o.cumQty, fillValue: o.fillValue, status: o.status, seq: o.seq,
      })),
      trades: this.trades.map((t) => ({ ...t })),
      positions: Object.fromEntries(this.position),
      cash: Object.fromEntries(this.cash),
    };
  }

  /**
   * Replace the broker's records with saved ones (a restart). Throws, changing nothing, when
   * the state does not fit this broker's instruments.
   */
  restoreState(state: SimBrokerState): void {
    if (state?.version !== 1 || !Array.isArray(state.orders) || !Array.isArray(state.trades)) throw new Error('sim broker state: unknown format');
    for (const o of state.orders) if (!this.instruments.has(o.symbol)) throw new Error(`sim broker state: order ${o.brokerOrderId} has unknown symbol ${o.symbol}`);
    for (const t of state.trades) if (!this.instruments.has(t.symbol)) throw new Error(`sim broker state: trade ${t.execId} has unknown symbol ${t.symbol}`);
    this.byBrokerId.clear();
    this.byClientId.clear();
    for (const list of this.resting.values()) list.length = 0;
    for (const o of state.orders) {
      const order: SimOrder = { ...o, inst: this.instruments.get(o.symbol)! };
      this.byBrokerId.set(order.brokerOrderId, order);
      this.byClientId.set(order.clientOrderId, order);
      if (order.status === 'Submitted' || order.status === 'PartiallyFilled') this.resting.get(o.symbol)!.push(order);
    }
    this.trades.length = 0;
    this.trades.push(...state.trades.map((t) => ({ ...t })));
    for (const symbol of this.position.keys()) this.position.set(symbol, state.positions[symbol] ?? 0);
    for (const ccy of this.cash.keys()) this.cash.set(ccy, state.cash[ccy] ?? 0);
    for (const [symbol, mid] of Object.entries(state.mids)) {
      const book = this.books.get(symbol);
      if (book !== undefined && Number.isFinite(mid)) book.mid = mid;
    }
    this.nextOrder = state.nextOrder;
    this.nextExec = state.nextExec;
    this.rng.state = state.rng;
    this._revision++;
  }

  /** Reports queued and not yet delivered. */
  get pendingReports(): number {
    return this.queue.length;
  }

  async connect(sink: ReportSink): Promise<void> {
    this.rollIfDue();
    this.sink = sink;
    this.armRoll();
    if (this.opts.marketStepMs > 0 && this.marketRunning) this.armMarket();
    this.armDelivery();
  }

  async disconnect(): Promise<void> {
    this.sink = undefined;
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = undefined;
    if (this.marketTimer !== undefined) this.clock.clearTimer(this.marketTimer);
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.marketTimer = undefined;
    this.timer = undefined;
    this.timerDue = Infinity;
    // Undelivered reports are lost with the session, as on a real connection; the records keep the truth.
    for (const q of this.queue) this.giveBack(q);
    this.queue.length = 0;
    this.wakeIdle();
  }

  async heartbeat(): Promise<HeartbeatInfo> {
    if (this.sink === undefined) throw new Error('not connected');
    return { brokerTime: this.clock.now() };
  }

  placeOrder(req: PlaceOrderRequest): void {
    if (this.sink === undefined) throw new NotSentError('sim broker is not connected');
    if (this.clock.now() >= this.nextRollAt) this.rollIfDue();
    const inst = this.instruments.get(req.symbol);
    const brokerOrderId = `SIM-${this.nextOrder++}`;
    const reject = (reason: RejectReason, text: string) => {
      const r = this.take('rejected', this.execId(), brokerOrderId);
      r.clientOrderId = req.clientOrderId;
      r.reason = reason;
      r.text = `SIM: ${text}`;
      r.seq = 1;
      this.enqueue(this.opts.ackLatencyMs, r);
    };
    if (inst === undefined) return reject('UNKNOWN_SYMBOL', `unknown symbol ${req.symbol}`);
    if (this.byClientId.has(req.clientOrderId)) return reject('DUPLICATE_ORDER_ID', `duplicate client order id ${req.clientOrderId}`);
    if (!(req.qty > 0) || Number.isNaN(toLots(req.qty, inst.lotSize))) return reject('LOT_SIZE', `quantity ${req.qty} not a multiple of lot ${inst.lotSize}`);
    if (req.qty > this.opts.maxOrderQty) return reject('MAX_ORDER_QTY', `quantity ${req.qty} above broker maximum ${this.opts.maxOrderQty}`);
    const book = this.books.get(inst.symbol)!;
    let price = Number.NaN;
    if (req.type === 'limit') {
      price = toPriceUnits(req.price, inst.scale);
      if (Number.isNaN(price) || price <= 0 || price % inst.tickUnits !== 0) return reject('TICK_SIZE', `price ${req.price} not on tick ${inst.tickSize}`);
      if (Math.abs(price - book.mid) > book.mid * this.opts.priceBand) {
        return reject('PRICE_BAND', `price ${req.price} outside ${this.opts.priceBand * 100}% band around ${book.mid / inst.scale}`);
      }
    }
    const order: SimOrder = {
      brokerOrderId,
      clientOrderId: req.clientOrderId,
      inst,
      side: req.side === 'buy' ? 1 : -1,
      type: req.type,
      tif: req.type === 'market' ? 'ioc' : req.tif,
      qty: req.qty,
      price,
      protection: req.type === 'market' && req.protectionPrice !== undefined ? Math.round(req.protectionPrice * inst.scale) : Number.NaN,
      arrival: this.nextOrder,
      cumQty: 0,
      fillValue: 0,
      status: 'Submitted',
      seq: 0,
    };
    this.byBrokerId.set(brokerOrderId, order);
    this.byClientId.set(order.clientOrderId, order);
    this._revision++;
    if (!this.rng.chance(this.faults.dropAck)) this.report(order, 'new', this.opts.ackLatencyMs);
    else order.seq++; // the ack happened at the broker; only its report is lost
    matchAgainstBook(order, book, (q, px) => this.fill(order, q, px));
    if (order.cumQty < order.qty) {
      if (order.tif === 'ioc') {
        order.status = 'Cancelled';
        this.report(order, 'canceled', this.opts.fillLatencyMs, 'IOC remainder cancelled');
      } else this.resting.get(inst.symbol)!.push(order);
    }
  }

  cancelOrder(req: CancelOrderRequest): void {
    if (this.sink === undefined) throw new NotSentError('sim broker is not connected');
    this.rollIfDue();
    const order = (req.brokerOrderId !== '' ? this.byBrokerId.get(req.brokerOrderId) : undefined) ?? this.byClientId.get(req.clientOrderId);
    if (order === undefined) {
      const r = this.take('cancel_rejected', this.execId(), req.brokerOrderId);
      r.clientOrderId = req.clientOrderId;
      r.reason = 'UNKNOWN_ORDER';
      r.text = 'SIM: unknown order';
      this.enqueue(this.opts.ackLatencyMs, r);
      return;
    }
    if (order.status !== 'Submitted' && order.status !== 'PartiallyFilled') {
      this.report(order, 'cancel_rejected', this.opts.ackLatencyMs, `SIM: too late to cancel, order is ${order.status}`, 'TOO_LATE_TO_CANCEL');
      return;
    }
    this.unrest(order);
    order.status = 'Cancelled';
    this.report(order, 'canceled', this.opts.ackLatencyMs);
  }

  /** Expire every open day order (end of the trading day). */
  expireDayOrders(): number {
    let n = 0;
    for (const order of this.byBrokerId.values()) {
      if (order.tif === 'day' && (order.status === 'Submitted' || order.status === 'PartiallyFilled')) {
        this.unrest(order);
        order.status = 'Expired';
        this.report(order, 'expired', this.opts.ackLatencyMs);
        n++;
      }
    }
    return n;
  }

  async syncOpenOrders(): Promise<BrokerOrder[]> {
    this.rollIfDue();
    return this.allOrders().filter((o) => o.status === 'Submitted' || o.status === 'PartiallyFilled');
  }

  async syncDayOrders(): Promise<BrokerOrder[]> {
    this.rollIfDue();
    return this.allOrders();
  }

  async syncTodayTrades(): Promise<BrokerTrade[]> {
    this.rollIfDue();
    return this.trades.map((t) => ({ ...t }));
  }

  async queryPositions(): Promise<BrokerPosition[]> {
    return [...this.position].map(([symbol, qty]) => ({ symbol, qty }));
  }

  async queryAccount(): Promise<BrokerAccount[]> {
    return [...this.cash].map(([currency, cash]) => ({ currency, cash }));
  }

  /** Every order the broker has seen today, in any status (tests and reconciliation). */
  allOrders(): BrokerOrder[] {
    return [...this.byBrokerId.values()].map((o) => ({
      clientOrderId: o.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      symbol: o.inst.symbol,
      side: o.side > 0 ? 'buy' : 'sell',
      type: o.type,
      tif: o.tif,
      qty: o.qty,
      price: o.price / o.inst.scale,
      cumQty: o.cumQty,
      status: o.status,
    }));
  }

  // ---- drills: the broker's records change behind the session's back (reconciliation tests) ----

  /**
   * Lose every report `filter` matches on the way (the records still change): a fill the
   * engine never sees, an ack that never arrives. Returns a function that stops dropping.
   * `filter` sees each report during its call only (the structure is reused afterwards).
   */
  dropReports(filter: (r: BrokerReport) => boolean): () => void {
    this.dropFilters.push(filter);
    return () => {
      const i = this.dropFilters.indexOf(filter);
      if (i >= 0) this.dropFilters.splice(i, 1);
    };
  }

  /** Someone cancels an open order at the broker by hand: the records say Cancelled, no report is sent. */
  cancelByHand(brokerOrderId: string): void {
    const o = this.mustOrder(brokerOrderId);
    if (o.status !== 'Submitted' && o.status !== 'PartiallyFilled') throw new Error(`order ${brokerOrderId} is ${o.status}, not open`);
    this.unrest(o);
    o.status = 'Cancelled';
    o.seq++;
    this._revision++;
  }

  /**
   * Someone trades at the broker by hand (another terminal, a desk): a filled order with its
   * trade, position and cash, and no report to this session.
   */
  manualTrade(t: { symbol: string; side: 'buy' | 'sell'; qty: number; price: number; clientOrderId?: string }): { brokerOrderId: string; execId: string } {
    const inst = this.instruments.get(t.symbol);
    if (inst === undefined) throw new Error(`unknown symbol ${t.symbol}`);
    const brokerOrderId = `SIM-${this.nextOrder++}`;
    const order: SimOrder = {
      brokerOrderId, clientOrderId: t.clientOrderId ?? `MANUAL-${brokerOrderId}`, inst, side: t.side === 'buy' ? 1 : -1, type: 'limit', tif: 'day',
      qty: t.qty, price: Math.round(t.price * inst.scale), protection: Number.NaN, arrival: this.nextOrder, cumQty: 0, fillValue: 0, status: 'Submitted', seq: 0,
    };
    this.byBrokerId.set(brokerOrderId, order);
    this.byClientId.set(order.clientOrderId, order);
    const drop = () => true;
    this.dropFilters.push(drop);
    try {
      this.fill(order, t.qty, order.price);
    } finally {
      this.dropFilters.splice(this.dropFilters.indexOf(drop), 1);
    }
    return { brokerOrderId, execId: this.trades[this.trades.length - 1]!.execId };
  }

  /** A position changed at the broker without a trade (a transfer, a corporate action). */
  adjustPosition(symbol: string, delta: number): void {
    if (!this.position.has(symbol)) throw new Error(`unknown symbol ${symbol}`);
    this.position.set(symbol, this.position.get(symbol)! + delta);
    this._revision++;
  }

  /** The broker's cash changed without a trade (a fee, a correction). */
  adjustCash(currency: string, delta: number): void {
    this.cash.set(currency, (this.cash.get(currency) ?? 0) + delta);
    this._revision++;
  }

  /** The broker corrects a trade's price after the fact (its records and cash change; no report). */
  correctTradePrice(execId: string, price: number): void {
    const t = this.trades.find((x) => x.execId === execId);
    if (t === undefined) throw new Error(`no trade ${execId}`);
    const o = this.mustOrder(t.brokerOrderId);
    const sign = t.side === 'buy' ? 1 : -1;
    this.cash.set(o.inst.currency, this.cash.get(o.inst.currency)! - sign * t.qty * (price - t.price) * o.inst.multiplier);
    o.fillValue += t.qty * (price - t.price);
    t.price = price;
    this._revision++;
  }

  /** The broker loses an order from its records (a broker bug): it is no longer listed anywhere. */
  forgetOrder(brokerOrderId: string): void {
    const o = this.mustOrder(brokerOrderId);
    this.unrest(o);
    this.byBrokerId.delete(brokerOrderId);
    this.byClientId.delete(o.clientOrderId);
    this._revision++;
  }

  private mustOrder(brokerOrderId: string): SimOrder {
    const o = this.byBrokerId.get(brokerOrderId);
    if (o === undefined) throw new Error(`no order ${brokerOrderId} at the broker`);
    return o;
  }

  /** One market step now: move prices (unless they are fed from outside), refresh liquidity, match resting orders. */
  step(): void {
    for (const [symbol, book] of this.books) {
      if (this.external) book.hold();
      else book.step();
      this.publishQuote(symbol, book);
      this.matchResting(symbol, book);
    }
  }

  /** Set a symbol's mid (decimal) from outside, publish the quote and match resting orders against it. */
  setMid(symbol: string, price: number): void {
    const book = this.books.get(symbol);
    if (book === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    if (!(price > 0) || !Number.isFinite(price)) throw new RangeError(`mid price must be positive and finite, got ${price}`);
    book.setMid(price);
    this.publishQuote(symbol, book);
    this.matchResting(symbol, book);
  }

  private matchResting(symbol: string, book: SyntheticBook): void {
    const resting = this.resting.get(symbol)!;
    if (resting.length === 0) return;
    const buys = resting.filter((o) => o.side > 0).sort(priceTimeOrder);
    const sells = resting.filter((o) => o.side < 0).sort(priceTimeOrder);
    for (const order of [...buys, ...sells]) matchAgainstBook(order, book, (q, px) => this.fill(order, q, px));
    this.resting.set(symbol, resting.filter((o) => o.status === 'Submitted' || o.status === 'PartiallyFilled'));
  }

  /** The quote stream: each symbol's top of book after every market step, in one reused object. */
  private readonly quoteOut: Quote = { symbol: '', bid: Number.NaN, ask: Number.NaN, time: 0 };
  private publishQuote(symbol: string, book: { bid(k: number): number; ask(k: number): number; inst: { scale: number } }): void {
    const sink = this.sink;
    if (sink?.onQuote === undefined) return;
    const q = this.quoteOut;
    q.symbol = symbol;
    q.bid = book.bid(0) / book.inst.scale;
    q.ask = book.ask(0) / book.inst.scale;
    q.time = this.clock.now();
    sink.onQuote(q);
  }

  /** Stop or restart the market clock (tests and the demo freeze it to compare state). */
  setMarketRunning(running: boolean): void {
    this.marketRunning = running;
    if (!running && this.marketTimer !== undefined) {
      this.clock.clearTimer(this.marketTimer);
      this.marketTimer = undefined;
    } else if (running && this.sink !== undefined && this.opts.marketStepMs > 0 && this.marketTimer === undefined) this.armMarket();
  }

  /** Deliver every queued report now, regardless of its due time (manual delivery). */
  flush(): number {
    return this.deliver(Infinity);
  }

  /** Resolves once no report is queued. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private fill(order: SimOrder, q: number, priceUnits: number): void {
    const px = priceUnits / order.inst.scale;
    order.cumQty += q;
    order.fillValue += q * px;
    order.status = order.cumQty >= order.qty ? 'Filled' : 'PartiallyFilled';
    const execId = this.execId();
    const time = this.clock.now();
    this.trades.push({
      execId, clientOrderId: order.clientOrderId, brokerOrderId: order.brokerOrderId, symbol: order.inst.symbol,
      side: order.side > 0 ? 'buy' : 'sell', qty: q, price: px, time,
    });
    this.position.set(order.inst.symbol, this.position.get(order.inst.symbol)! + order.side * q);
    const ccy = order.inst.currency;
    this.cash.set(ccy, this.cash.get(ccy)! - order.side * q * px * order.inst.multiplier);
    order.seq++;
    const r = this.take('trade', execId, order.brokerOrderId);
    r.clientOrderId = order.clientOrderId;
    r.lastQty = q;
    r.lastPx = px;
    r.cumQty = order.cumQty;
    r.seq = order.seq;
    r.time = time;
    this.enqueue(this.opts.fillLatencyMs, r);
  }

  private report(order: SimOrder, kind: ExecKind, latency: number, text?: string, reason?: RejectReason): void {
    order.seq++;
    const r = this.take(kind, this.execId(), order.brokerOrderId);
    r.clientOrderId = order.clientOrderId;
    r.cumQty = order.cumQty;
    r.seq = order.seq;
    r.time = this.clock.now();
    if (text !== undefined) r.text = text;
    if (reason !== undefined) r.reason = reason;
    this.enqueue(latency, r);
  }

  private execId(): string {
    return `E${this.nextExec++}`;
  }

  private unrest(order: SimOrder): void {
    const list = this.resting.get(order.inst.symbol)!;
    const i = list.indexOf(order);
    if (i >= 0) list.splice(i, 1);
  }

  /** A report structure from the pool, its kind and ids set, the rest cleared. */
  private take(kind: ExecKind, execId: string, brokerOrderId: string): QueuedReport {
    return (this.pool.pop() ?? new QueuedReport()).reset(kind, execId, brokerOrderId);
  }

  /** Back to the pool, its strings let go. */
  private giveBack(q: QueuedReport): void {
    q.reset('new', '', '');
    this.pool.push(q);
  }

  private enqueue(latency: number, report: QueuedReport): void {
    this._revision++;
    if (this.dropFilters.length > 0 && this.dropFilters.some((f) => f(report))) return this.giveBack(report);
    const f = this.faults;
    let due = this.clock.now() + latency + f.delayReportsMs;
    if (this.rng.chance(f.reorderReports)) due += this.opts.reorderHoldMs;
    report.due = due;
    report.n = this.nextQueued++;
    this.queue.push(report);
    if (this.rng.chance(f.duplicateReports)) {
      const copy = Object.assign(this.take(report.kind, report.execId, report.brokerOrderId), copyReport(report));
      copy.due = due + this.rng.int(0, 1);
      copy.n = this.nextQueued++;
      this.queue.push(copy);
    }
    this.armDelivery();
  }

  private armDelivery(): void {
    if (this.opts.delivery !== 'auto' || this.sink === undefined || this.queue.length === 0) return;
    let earliest = Infinity;
    for (const q of this.queue) if (q.due < earliest) earliest = q.due;
    if (earliest >= this.timerDue) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerDue = earliest;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.deliver(this.clock.now());
      this.armDelivery();
    }, Math.max(0, earliest - this.clock.now()));
  }

  /** Deliver queued reports due by `until`, earliest first (ties in queue order). */
  private deliver(until: number): number {
    if (this.sink === undefined) return 0;
    const q = this.queue;
    let n = 0;
    for (let i = 0; i < q.length; i++) if (q[i]!.due <= until) n++;
    if (n === 0) return 0;
    // the due ones out of the queue first: the sink's callbacks may queue more meanwhile
    const due = this.delivering ? [] : this.due;
    this.delivering = true;
    due.length = 0;
    let w = 0;
    for (let i = 0; i < q.length; i++) {
      const e = q[i]!;
      if (e.due <= until) due.push(e);
      else q[w++] = e;
    }
    q.length = w;
    due.sort(byDue);
    try {
      for (let i = 0; i < due.length; i++) {
        const e = due[i]!;
        // after a disconnect the rest is lost with the session, as queued reports are
        if (this.sink !== undefined) this.sink.onReport(e);
        this.giveBack(e);
      }
    } finally {
      if (due === this.due) {
        this.delivering = false;
        due.length = 0;
      }
    }
    if (this.queue.length === 0) this.wakeIdle();
    return n;
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private armMarket(): void {
    this.marketTimer = this.clock.setTimer(() => {
      this.marketTimer = undefined;
      if (!this.marketRunning || this.sink === undefined) return;
      this.step();
      this.armMarket();
    }, this.opts.marketStepMs);
  }
}

function faultProblems(f: SimFaults | undefined): string[] {
  if (f === undefined) return [];
  if (typeof f !== 'object' || f === null) return ['faults: must be an object'];
  const errors: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (k === 'delayReportsMs') {
      if (typeof v !== 'number' || !(v >= 0)) errors.push('faults.delayReportsMs: must be a number >= 0');
    } else if (k === 'duplicateReports' || k === 'reorderReports' || k === 'dropAck') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) errors.push(`faults.${k}: must be a probability from 0 to 1`);
    } else errors.push(`faults.${k}: unknown fault (known: duplicateReports, reorderReports, delayReportsMs, dropAck)`);
  }
  return errors;
}

function normalizeFaults(f: SimFaults | undefined): Required<SimFaults> {
  return { duplicateReports: f?.duplicateReports ?? 0, reorderReports: f?.reorderReports ?? 0, delayReportsMs: f?.delayReportsMs ?? 0, dropAck: f?.dropAck ?? 0 };
}

function byDue(a: QueuedReport, b: QueuedReport): number {
  return a.due - b.due || a.n - b.n;
}
