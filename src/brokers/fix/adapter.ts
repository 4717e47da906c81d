/**
 * `FixBroker`: a `BrokerAdapter` over a FIX 4.2 / 4.4 initiator session (session.ts).
 *
 * - `placeOrder` sends NewOrderSingle (D): ClOrdID is the client order id; limit or market;
 *   Day, IOC, GTC. `cancelOrder` sends OrderCancelRequest (F) with OrigClOrdID the order's id and
 *   a ClOrdID of its own (`<id>~C<n>`).
 * - ExecutionReports become the engine's reports with both ids (messages.ts). OrderCancelReject
 *   (9) is `cancel_rejected`; BusinessMessageReject (j) and session Reject (3) of an order are
 *   `rejected`, of a cancel `cancel_rejected`, with the reason and the broker's text.
 * - **What it can sync.** The QuickFIX examples answer neither OrderStatusRequest nor
 *   OrderMassStatusRequest, and many venues do not either. So the adapter keeps its own record
 *   of the session: every order it sent and every ExecutionReport it took, in a file beside the
 *   sequence numbers, written before the message's sequence number counts as received. FIX's
 *   own recovery (ResendRequest after a reconnect or a restart) brings back every report missed,
 *   and `connect` resolves only once that resend is through. The sync calls answer from that
 *   record: it is what the broker sent, in full. `queryAccount` has no FIX answer and returns
 *   nothing; `syncs` says so (orders and trades `session`, positions `derived`, no account).
 * - **Status requests**, when the counterparty answers them (`statusRequests`): with `order`,
 *   `syncOpenOrders` first sends an OrderStatusRequest (H) for every order the record holds open
 *   and waits for the answers; with `mass` (FIX 4.4), one OrderMassStatusRequest (AF) for all
 *   orders. An answer moves the record to the broker's status and cumulative quantity, so a
 *   cancel that got no answer, or a report the broker never sent, is settled: a final status
 *   (cancelled, rejected, expired) the engine has not seen goes to it as a report, with ExecID
 *   `STATUS-<the answer's ExecID>`. A fill is never made up from a status: a CumQty above the
 *   fills received stays in the order's `cumQty` for recovery and reconciliation to flag.
 *   `syncs.orders` is then `broker`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BrokerError, NotSentError, type SyncCapabilities, type BrokerAdapter, type CancelOrderRequest, type HeartbeatInfo, type PlaceOrderRequest, type ReportSink } from '../adapter.js';
import { ReportBuffer, type ExecKind, type BrokerAccount, type BrokerOrder, type BrokerPosition, type BrokerReport, type BrokerTrade } from '../../domain/report.js';
import type { Credentials } from '../../connectivity/credentials.js';
import type { OrderStatusName } from '../../domain/order-status.js';
import { utcTimestamp, type FixField, type FixView } from './codec.js';
import { CXL_REJ_REASON, ORD_REJ_REASON, TAG, execReportInto } from './messages.js';
import { FixSession, type FixSessionOptions } from './session.js';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { TradingDay, type TradingDaySpec } from '../../domain/trading-day.js';

/**
 * The session's options (host, port, BeginString, CompIDs, HeartBtInt, reset, logon timeout,
 * logger), with the store required and Username/Password taken from `credentials`.
 */
export interface FixBrokerOptions extends Omit<FixSessionOptions, 'username' | 'password' | 'now' | 'storeDir'> {
  /** Sequence numbers and the session's order record. Required: without them a restart could not resume. */
  storeDir: string;
  /** FIX 4.4 Username (553) from the account, Password (554) from the secret. */
  credentials?: Credentials;
  /** Account (1) on every order, when the venue wants one. */
  account?: string;
  /**
   * Which status requests the counterparty answers: `none` (default; QuickFIX's examples),
   * `order` (OrderStatusRequest, H) or `mass` (OrderMassStatusRequest, AF; FIX 4.4 only).
   */
  statusRequests?: 'none' | 'order' | 'mass';
  /** How long the answers to one round of status requests may take, ms. Default 5000. */
  statusTimeoutMs?: number;
  /**
   * The session schedule: the engine's trading day (`rollAt`, `timeZone`; default midnight UTC).
   * One FIX session per trading day: at the roll the adapter logs out, the sequence numbers start
   * again at 1 (the day's first Logon carries ResetSeqNumFlag), the session's record begins the
   * new day with the orders still open, and the engine reconnects as after any disconnect.
   * Set the acceptor's StartTime/EndTime to the same time. `false`: one session for ever.
   */
  tradingDay?: Pick<TradingDaySpec, 'rollAt' | 'timeZone'> | false;
  /**
   * The clock of the session schedule (the trading day and its roll), the engine's. Default the
   * system clock. What goes on the wire (SendingTime, TransactTime) is always the system's time:
   * acceptors refuse a SendingTime far from theirs.
   */
  clock?: Clock;
}

/** A round of status requests under way: the answers still awaited, by ClOrdID (or by MassStatusReqID). */
interface StatusRound {
  readonly waiting: Set<string>;
  readonly mass: string | undefined;
  readonly done: () => void;
}

interface Kept {
  order: BrokerOrder;
  execIds: Set<string>;
  /** The venue's OrderID (37) as on the wire; `order.brokerOrderId` is the id the engine gets (see `brokerIdOf`). */
  wire: string;
}

const SIDE = { buy: '1', sell: '2' } as const;
const TIF = { day: '0', gtc: '1', ioc: '3' } as const;
const CANCEL_SUFFIX = '~C';

export class FixBroker implements BrokerAdapter {
  readonly name: string;
  readonly credentials: Credentials | undefined;
  readonly brokerEnvironment = undefined;
  readonly syncs: SyncCapabilities;
  readonly session: FixSession;
  private sink: ReportSink | undefined;
  private readonly out = new ReportBuffer();
  private readonly orders = new Map<string, Kept>();
  private readonly trades: BrokerTrade[] = [];
  /** MsgSeqNum of each order and cancel sent, for a session Reject that names only the sequence number. */
  private readonly sentBySeq = new Map<number, { clientOrderId: string; what: 'order' | 'cancel' }>();
  private cancels = 0;
  private statusSeq = 0;
  private statusRound: StatusRound | undefined;
  private statusAsked: Promise<void> | undefined;
  private readonly recordFile: string;
  private recordFd: number | undefined;
  private readonly clock: Clock;
  /** The session schedule; undefined: one session for ever. */
  private readonly day: TradingDay | undefined;
  /** The trading day the record holds ('' in a record written before days were kept). */
  private recordDay = '';
  /** Positions carried from earlier days (the record keeps the current day's trades only). */
  private readonly carried = new Map<string, number>();
  private rollTimer: TimerHandle | undefined;
  /** The venue's OrderIDs of the day, each with the order that has it last. */
  private readonly venueOwner = new Map<string, string>();

  constructor(readonly options: FixBrokerOptions) {
    this.name = `fix:${options.targetCompId}`;
    this.credentials = options.credentials;
    if (options.statusRequests === 'mass' && options.beginString !== 'FIX.4.4') throw new Error(`FIX: statusRequests "mass" needs FIX.4.4 (OrderMassStatusRequest is not in ${options.beginString}); use "order"`);
    const asks = (options.statusRequests ?? 'none') !== 'none';
    this.syncs = { orders: asks ? 'broker' : 'session', trades: 'session', positions: 'derived', account: false };
    this.clock = options.clock ?? systemClock;
    this.day = options.tradingDay === false ? undefined : new TradingDay(options.tradingDay ?? {});
    const { credentials: c, account: _account, statusRequests: _s, statusTimeoutMs: _t, tradingDay: _d, clock: _c, ...session } = options;
    const day = this.day;
    const sessionOptions: FixSessionOptions = {
      ...session, ...(day !== undefined ? { day: () => day.dayOf(this.clock.now()) } : {}),
      ...(c !== undefined && options.beginString === 'FIX.4.4' ? { username: c.account, password: c.secret } : {}),
    };
    this.session = new FixSession(sessionOptions);
    this.session.onApp = (v, type) => this.onApp(v, type);
    this.session.onReject = (v) => this.onSessionReject(v);
    this.session.onDown = (d) => {
      this.disarmRoll();
      if (d.fatal) this.sink?.onError?.(new BrokerError('protocol', d.reason));
      else this.sink?.onDisconnect(d.reason);
    };
    mkdirSync(options.storeDir, { recursive: true });
    this.recordFile = path.join(options.storeDir, `${options.beginString}-${options.senderCompId}-${options.targetCompId}.orders.jsonl`);
    this.load();
  }

  async connect(sink: ReportSink): Promise<void> {
    this.sink = sink;
    // the record begins a new trading day before the day's session logs on
    if (this.day !== undefined) this.rollRecord(this.day.dayOf(this.now()));
    try {
      await this.session.connect();
    } catch (err) {
      const e = err as Error & { fatal?: boolean };
      throw new BrokerError(e.fatal === true ? (/password|logon|refused/i.test(e.message) ? 'auth' : 'protocol') : 'network', e.message, { cause: err });
    }
    this.armRoll();
  }

  async disconnect(): Promise<void> {
    this.disarmRoll();
    await this.session.logout('tradecore disconnect');
    this.sink = undefined;
    if (this.recordFd !== undefined) closeSync(this.recordFd);
    this.recordFd = undefined;
  }

  async heartbeat(): Promise<HeartbeatInfo> {
    const t = await this.session.testRequest();
    return { brokerTime: Number.isFinite(t) ? t : Date.now() };
  }

  placeOrder(req: PlaceOrderRequest): void {
    if (!this.session.isLoggedOn) throw new NotSentError(`FIX session ${this.name} is not logged on`);
    const fields: FixField[] = [[TAG.ClOrdID, req.clientOrderId], [21, '1'], [TAG.Symbol, req.symbol], [TAG.Side, SIDE[req.side]], [TAG.TransactTime, utcTimestamp(Date.now())], [TAG.OrderQty, req.qty]];
    if (req.type === 'market') fields.push([40, '1']);
    else fields.push([40, '2'], [TAG.Price, req.price]);
    fields.push([59, TIF[req.tif]]);
    if (this.options.account !== undefined) fields.push([1, this.options.account]);
    let seq: number;
    try {
      seq = this.session.send('D', fields);
    } catch (err) {
      // send writes nothing when it throws: the order certainly did not leave
      throw new NotSentError(`FIX: ${(err as Error).message}`);
    }
    // kept once sent (its reports come in a later turn of the event loop, never during this call)
    this.keepOrder({ clientOrderId: req.clientOrderId, brokerOrderId: '', symbol: req.symbol, side: req.side, type: req.type, tif: req.tif, qty: req.qty, price: req.type === 'market' ? Number.NaN : req.price, cumQty: 0, status: 'PendingNew' });
    this.remember(seq, req.clientOrderId, 'order');
  }

  cancelOrder(req: CancelOrderRequest): void {
    if (!this.session.isLoggedOn) throw new NotSentError(`FIX session ${this.name} is not logged on`);
    const kept = this.orders.get(req.clientOrderId);
    if (kept === undefined) throw new NotSentError(`FIX: no order ${req.clientOrderId} was sent on this session`);
    const o = kept.order;
    let seq: number;
    try {
      seq = this.session.send('F', [
      [TAG.OrigClOrdID, o.clientOrderId], [TAG.ClOrdID, `${o.clientOrderId}${CANCEL_SUFFIX}${++this.cancels}`], [TAG.OrderID, kept.wire || 'NONE'],
      [TAG.Symbol, o.symbol], [TAG.Side, SIDE[o.side]], [TAG.TransactTime, utcTimestamp(Date.now())], [TAG.OrderQty, o.qty],
      ]);
    } catch (err) {
      throw new NotSentError(`FIX: ${(err as Error).message}`);
    }
    this.remember(seq, o.clientOrderId, 'cancel');
  }

  async syncOpenOrders(): Promise<BrokerOrder[]> {
    await this.askStatus();
    return [...this.orders.values()].filter((k) => OPEN.has(k.order.status)).map((k) => ({ ...k.order }));
  }

  async syncDayOrders(): Promise<BrokerOrder[]> {
    if (this.options.statusRequests === 'mass') await this.askStatus();
    return [...this.orders.values()].map((k) => ({ ...k.order }));
  }

  async syncTodayTrades(): Promise<BrokerTrade[]> {
    return this.trades.map((t) => ({ ...t }));
  }

  async queryPositions(): Promise<BrokerPosition[]> {
    const pos = new Map<string, number>(this.carried);
    for (const t of this.trades) pos.set(t.symbol, (pos.get(t.symbol) ?? 0) + (t.side === 'buy' ? t.qty : -t.qty));
    return [...pos].map(([symbol, qty]) => ({ symbol, qty }));
  }

  async queryAccount(): Promise<BrokerAccount[]> {
    return [];
  }

  /**
   * One round of status requests (see `statusRequests`), resolved when every answer is in.
   * Rounds asked while one is under way share it. Rejects with a `BrokerError` (timeout) when
   * answers are missing after `statusTimeoutMs`, naming them: recovery then retries.
   */
  private askStatus(): Promise<void> {
    const mode = this.options.statusRequests ?? 'none';
    if (mode === 'none') return Promise.resolve();
    if (this.statusAsked !== undefined) return this.statusAsked;
    const open = [...this.orders.values()].filter((k) => OPEN.has(k.order.status));
    if (mode === 'order' && open.length === 0) return Promise.resolve();
    const ms = this.options.statusTimeoutMs ?? 5000;
    const asked = new Promise<void>((resolve, reject) => {
      const id = `ST-${++this.statusSeq}-${Date.now()}`;
      const timer = setTimeout(() => {
        const missing = [...round.waiting];
        this.statusRound = undefined;
        reject(new BrokerError('timeout', `FIX: no status answer in ${ms} ms for ${mode === 'mass' ? `OrderMassStatusRequest ${id}` : missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '')}`));
      }, ms);
      const round: StatusRound = {
        waiting: new Set(mode === 'mass' ? [id] : open.map((k) => k.order.clientOrderId)),
        mass: mode === 'mass' ? id : undefined,
        done: () => {
          clearTimeout(timer);
          this.statusRound = undefined;
          resolve();
        },
      };
      this.statusRound = round;
      try {
        if (mode === 'mass') this.session.send('AF', [[584, id], [585, 7]]);
        else for (const k of open) this.session.send('H', [[TAG.ClOrdID, k.order.clientOrderId], [790, id], ...(k.wire !== '' ? [[TAG.OrderID, k.wire] as FixField] : []), [TAG.Symbol, k.order.symbol], [TAG.Side, SIDE[k.order.side]]]);
      } catch (err) {
        clearTimeout(timer);
        this.statusRound = undefined;
        reject(new BrokerError('network', `FIX: status request not sent: ${(err as Error).message}`));
      }
    });
    this.statusAsked = asked;
    const clear = () => {
      if (this.statusAsked === asked) this.statusAsked = undefined;
    };
    asked.then(clear, clear);
    return asked;
  }

  /** An ExecutionReport that answers a status request (4.4 ExecType I, 4.2 ExecTransType 3). */
  private onStatusAnswer(v: FixView): void {
    const round = this.statusRound;
    const mass = v.str(584);
    const total = v.int(911);
    if (!(mass !== undefined && total === 0)) this.applyStatus(v);
    if (round === undefined) return;
    if (round.mass !== undefined) {
      if (mass === round.mass && (v.is(912, 'Y') || total === 0)) round.done();
      return;
    }
    round.waiting.delete(clientIdOf(v.str(TAG.ClOrdID) ?? ''));
    if (round.waiting.size === 0) round.done();
  }

  /** The broker's status of one order into the record; a final status the record lacks goes to the engine too. */
  private applyStatus(v: FixView): void {
    const id = clientIdOf(v.str(TAG.ClOrdID) ?? '');
    const kept = this.orders.get(id);
    if (kept === undefined) {
      this.options.logger?.warn({ clOrdId: id, ordStatus: v.str(TAG.OrdStatus) }, 'FIX: a status answer for an order this session did not send');
      return;
    }
    const o = kept.order;
    const st = v.char(TAG.OrdStatus);
    const orderId = v.str(TAG.OrderID);
    if (orderId !== undefined && orderId !== 'NONE' && orderId !== '') o.brokerOrderId = this.brokerIdOf(kept, orderId);
    const cum = v.num(TAG.CumQty);
    if (cum > o.cumQty) {
      this.options.logger?.warn({ clOrdId: id, cumQty: cum, filledHere: o.cumQty }, 'FIX: the broker reports more filled than the fills received; left to recovery and reconciliation');
      o.cumQty = cum;
    }
    const final: ExecKind | undefined = st === C_CANCELLED ? 'canceled' : st === C_REJECTED ? 'rejected' : st === C_EXPIRED ? 'expired' : undefined;
    if (final === undefined) {
      if (st === C_PENDING_CANCEL) o.status = 'PendingCancel';
      else if (st === C_FILLED && o.cumQty >= o.qty) o.status = 'Filled';
      else if ((st === C_NEW || st === C_PARTIAL) && o.status === 'PendingNew') o.status = 'Submitted';
      return;
    }
    if (!OPEN.has(o.status)) return;
    const r = this.out.reset(final, `STATUS-${v.str(TAG.ExecID) ?? v.int(TAG.MsgSeqNum)}`, o.brokerOrderId);
    r.clientOrderId = id;
    if (final === 'rejected') {
      r.reason = ORD_REJ_REASON[v.int(TAG.OrdRejReason)] ?? 'BROKER_REJECT';
      const text = v.str(TAG.Text);
      if (text !== undefined) r.text = text;
    }
    this.apply(r, v);
    this.sink?.onReport(r);
  }

  private now(): number {
    return this.clock.now();
  }

  /** A timer for the next trading-day roll, while logged on. */
  private armRoll(): void {
    this.disarmRoll();
    const day = this.day;
    if (day === undefined) return;
    const now = this.now();
    const at = day.nextRoll(now);
    this.rollTimer = this.clock.setTimer(() => void this.endOfDay(), Math.max(0, at - now));
  }

  private disarmRoll(): void {
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = undefined;
  }

  /** The roll: this day's session logs out; the engine reconnects into the next day's. */
  private async endOfDay(): Promise<void> {
    this.rollTimer = undefined;
    const ended = this.session.day;
    await this.session.logout(`end of trading day ${ended}`);
    this.options.logger?.info({ day: ended }, 'FIX session: logged out at the trading day roll; the next Logon starts the new day at MsgSeqNum 1');
    this.sink?.onDisconnect(`FIX session ${ended} ended at the trading day roll`);
  }

  /**
   * Begin trading day `day` in the record when it holds an earlier one: the orders still open
   * are carried (with their state), finished orders and the day's trades are let go, and the
   * positions they made are carried as a base. Written to a new file that replaces the old.
   */
  private rollRecord(day: string): void {
    if (this.recordDay === day) return;
    if (this.recordDay === '' && existsSync(this.recordFile)) {
      // a record written before days were kept: taken as today's
      this.recordDay = day;
      this.writeRecord(`${JSON.stringify({ k: 'day', day })}\n`);
      return;
    }
    const first = this.recordDay === '';
    const from = this.recordDay;
    this.recordDay = day;
    if (!first) {
      for (const t of this.trades) this.carried.set(t.symbol, (this.carried.get(t.symbol) ?? 0) + (t.side === 'buy' ? t.qty : -t.qty));
      this.trades.length = 0;
      for (const [id, k] of this.orders) if (!OPEN.has(k.order.status)) this.orders.delete(id);
      this.sentBySeq.clear();
      // the new day's OrderIDs: the carried orders' only
      this.venueOwner.clear();
      for (const k of this.orders.values()) if (k.wire !== '') this.venueOwner.set(k.wire, k.order.clientOrderId);
    }
    if (this.recordFd !== undefined) closeSync(this.recordFd);
    this.recordFd = undefined;
    const lines = [JSON.stringify({ k: 'day', day }), ...[...this.carried].map(([symbol, qty]) => JSON.stringify({ k: 'pos', symbol, qty }))];
    for (const k of this.orders.values()) lines.push(JSON.stringify({ k: 'o', o: k.order, w: k.wire }));
    const tmp = `${this.recordFile}.tmp`;
    writeFileSync(tmp, `${lines.join('\n')}\n`);
    renameSync(tmp, this.recordFile);
    if (!first) this.options.logger?.info({ from, to: day, carriedOrders: this.orders.size }, 'FIX: the session record begins a new trading day');
  }

  private remember(seq: number, clientOrderId: string, what: 'order' | 'cancel'): void {
    this.sentBySeq.set(seq, { clientOrderId, what });
    // bounded: a session Reject refers to a recent message
    if (this.sentBySeq.size > 65_536) this.sentBySeq.delete(this.sentBySeq.keys().next().value!);
  }

  private onApp(v: FixView, type: string): void {
    if (type === '8') return this.onExecutionReport(v);
    if (type === '9') return this.onCancelReject(v);
    if (type === 'j') return this.onBusinessReject(v);
    this.options.logger?.debug({ msgType: type }, 'FIX: application message ignored');
  }

  private onExecutionReport(v: FixView): void {
    if (v.char(TAG.ExecType) === C_STATUS || v.char(TAG.ExecTransType) === C_STATUS_42) return this.onStatusAnswer(v);
    const r = this.out;
    const problem = execReportInto(v, r, clientIdOf);
    if (problem !== undefined) {
      if (problem !== 'skip') this.options.logger?.warn({ problem, execId: v.str(TAG.ExecID), clOrdId: v.str(TAG.ClOrdID) }, 'FIX: ExecutionReport not applied');
      return;
    }
    this.apply(r, v, true);
    this.sink?.onReport(r);
  }

  /**
   * The broker order id the engine gets for the venue's OrderID `wire` of order `kept`: `wire`
   * itself, unless another order of the day already had it. QuickFIX's `executor` and
   * `ordermatch` number OrderIDs from 1 in every process, so after a restart of theirs a new order
   * can carry an old order's OrderID; the engine matches reports by broker id first and would
   * apply one order's fill to the other. Such an id is made unique as `<OrderID>~<ClOrdID>`
   * (ClOrdIDs are unique in the day); the wire keeps the venue's own.
   */
  private brokerIdOf(kept: Kept, wire: string): string {
    if (kept.wire === wire && kept.order.brokerOrderId !== '') return kept.order.brokerOrderId;
    const id = kept.order.clientOrderId;
    const owner = this.venueOwner.get(wire);
    kept.wire = wire;
    this.venueOwner.set(wire, id);
    if (owner === undefined || owner === id) return (kept.order.brokerOrderId = wire);
    this.options.logger?.warn({ orderId: wire, clOrdId: id, earlier: owner }, 'FIX: the venue gave an OrderID another order of the day had; the engine gets it qualified with the ClOrdID');
    return (kept.order.brokerOrderId = `${wire}~${id}`);
  }

  /**
   * Keep what the report says in the session's record (once per ExecID). A report straight off
   * the wire (`fromWire`) carries the venue's OrderID, which becomes the engine's (`brokerIdOf`);
   * one the adapter made (a status answer's final state, a reject) carries the engine's already.
   */
  private apply(r: ReportBuffer, v?: FixView, fromWire = false): void {
    const id = r.clientOrderId;
    if (id === undefined) return;
    let kept = this.orders.get(id);
    if (kept === undefined) {
      // an order this session did not send (another session's, or sent before the record began)
      const side = v?.char(TAG.Side) === 0x32 ? 'sell' : 'buy';
      kept = this.keepOrder({ clientOrderId: id, brokerOrderId: '', symbol: v?.str(TAG.Symbol) ?? '', side, type: 'limit', tif: 'day', qty: v?.num(TAG.OrderQty) ?? 0, price: v?.num(TAG.Price) ?? Number.NaN, cumQty: 0, status: 'Submitted' }, false);
    }
    if (fromWire && r.brokerOrderId !== '') r.brokerOrderId = this.brokerIdOf(kept, r.brokerOrderId);
    if (kept.execIds.has(r.execId)) return;
    kept.execIds.add(r.execId);
    const o = kept.order;
    if (r.kind === 'trade') {
      this.trades.push({ execId: r.execId, clientOrderId: id, brokerOrderId: o.brokerOrderId, symbol: o.symbol, side: o.side, qty: r.lastQty!, price: r.lastPx!, time: r.time ?? Date.now() });
      o.cumQty = r.cumQty ?? o.cumQty + r.lastQty!;
    }
    o.status = statusAfter(o, r);
    this.writeRecord(`${JSON.stringify({ k: 'r', r: { kind: r.kind, execId: r.execId, brokerOrderId: r.brokerOrderId, clientOrderId: id, lastQty: r.lastQty, lastPx: r.lastPx, cumQty: r.cumQty, time: r.time }, w: kept.wire })}\n`);
  }

  /** One line onto the record, through a descriptor kept open (an append that opens the file each time cost ~40 µs a message). */
  private writeRecord(line: string): void {
    this.recordFd ??= openSync(this.recordFile, 'a');
    writeSync(this.recordFd, line);
  }

  private keepOrder(order: BrokerOrder, record = true): Kept {
    const kept: Kept = { order, execIds: new Set<string>(), wire: '' };
    this.orders.set(order.clientOrderId, kept);
    if (record) this.writeRecord(`${JSON.stringify({ k: 'o', o: order })}\n`);
    return kept;
  }

  /** Rebuild the record from its file (a restart). */
  private load(): void {
    if (!existsSync(this.recordFile)) return;
    const lines = readFileSync(this.recordFile, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      let rec: { k: 'o'; o: BrokerOrder; w?: string } | { k: 'r'; r: BrokerReport; w?: string } | { k: 'day'; day: string } | { k: 'pos'; symbol: string; qty: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        // a line cut by a crash can only be the last: what it held comes back by resend
        if (i >= lines.length - 2) break;
        throw new Error(`FIX order record ${this.recordFile}: line ${i + 1} is not JSON`);
      }
      if (rec.k === 'day') this.recordDay = rec.day;
      else if (rec.k === 'pos') this.carried.set(rec.symbol, rec.qty);
      else if (rec.k === 'o') {
        const wire = rec.w ?? rec.o.brokerOrderId;
        this.orders.set(rec.o.clientOrderId, { order: { ...rec.o, price: rec.o.price ?? Number.NaN }, execIds: new Set(), wire });
        if (wire !== '') this.venueOwner.set(wire, rec.o.clientOrderId);
      }
      else {
        const kept = this.orders.get(rec.r.clientOrderId ?? '');
        if (kept === undefined || kept.execIds.has(rec.r.execId)) continue;
        kept.execIds.add(rec.r.execId);
        const o = kept.order;
        if (rec.r.brokerOrderId !== '') {
          o.brokerOrderId = rec.r.brokerOrderId;
          // a record written before wire ids were kept has the venue's own
          kept.wire = rec.w ?? rec.r.brokerOrderId;
          this.venueOwner.set(kept.wire, o.clientOrderId);
        }
        if (rec.r.kind === 'trade') {
          this.trades.push({ execId: rec.r.execId, clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId, symbol: o.symbol, side: o.side, qty: rec.r.lastQty!, price: rec.r.lastPx!, time: rec.r.time ?? 0 });
          o.cumQty = rec.r.cumQty ?? o.cumQty + rec.r.lastQty!;
        }
        o.status = statusAfter(o, rec.r);
      }
    }
  }

  private onCancelReject(v: FixView): void {
    const orig = v.str(TAG.OrigClOrdID) ?? clientIdOf(v.str(TAG.ClOrdID) ?? '');
    const wire = v.str(TAG.OrderID) ?? '';
    const kept = this.orders.get(orig);
    const brokerId = kept === undefined ? (wire === 'NONE' ? '' : wire) : wire === '' || wire === 'NONE' ? kept.order.brokerOrderId : this.brokerIdOf(kept, wire);
    const r = this.out.reset('cancel_rejected', `CXLREJ-${v.int(TAG.MsgSeqNum)}-${v.str(TAG.ClOrdID) ?? ''}`, brokerId);
    r.clientOrderId = orig;
    r.reason = CXL_REJ_REASON[v.int(TAG.CxlRejReason)] ?? 'BROKER_REJECT';
    const text = v.str(TAG.Text);
    if (text !== undefined) r.text = text;
    this.sink?.onReport(r);
  }

  /** BusinessMessageReject: RefMsgType (372) says whether an order or a cancel; BusinessRejectRefID (379) or RefSeqNum (45) which. */
  private onBusinessReject(v: FixView): void {
    const ref = v.str(379);
    const bySeq = this.sentBySeq.get(v.int(45));
    const id = ref !== undefined && ref !== '' ? clientIdOf(ref) : bySeq?.clientOrderId;
    const what = v.is(372, 'F') ? 'cancel' : v.is(372, 'D') ? 'order' : bySeq?.what;
    this.rejectOf(id, what, `BMR-${v.int(TAG.MsgSeqNum)}`, `business reject${v.has(380) ? ` (reason ${v.str(380)})` : ''}: ${v.str(TAG.Text) ?? ''}`.trim());
  }

  /** A session-level Reject names only our message's sequence number. */
  private onSessionReject(v: FixView): void {
    const sent = this.sentBySeq.get(v.int(45));
    this.rejectOf(sent?.clientOrderId, sent?.what, `REJ-${v.int(TAG.MsgSeqNum)}`, `session reject${v.has(373) ? ` (reason ${v.str(373)})` : ''}: ${v.str(TAG.Text) ?? ''}`.trim());
  }

  private rejectOf(id: string | undefined, what: 'order' | 'cancel' | undefined, execId: string, text: string): void {
    if (id === undefined || what === undefined) {
      this.options.logger?.warn({ text }, 'FIX: a reject that names no order of this session');
      return;
    }
    const kept = this.orders.get(id);
    const r = this.out.reset(what === 'cancel' ? 'cancel_rejected' : 'rejected', execId, kept?.order.brokerOrderId ?? '');
    r.clientOrderId = id;
    r.reason = 'BROKER_REJECT';
    r.text = text;
    if (what === 'order') this.apply(r);
    this.sink?.onReport(r);
  }
}

const ch = (s: string) => s.charCodeAt(0);
const C_STATUS = ch('I');
const C_STATUS_42 = ch('3');
const C_NEW = ch('0');
const C_PARTIAL = ch('1');
const C_FILLED = ch('2');
const C_CANCELLED = ch('4');
const C_PENDING_CANCEL = ch('6');
const C_REJECTED = ch('8');
const C_EXPIRED = ch('C');

const OPEN = new Set<OrderStatusName>(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);

/** An order's own id from a ClOrdID this adapter sent (a cancel's is `<id>~C<n>`). */
function clientIdOf(clOrdId: string): string {
  const at = clOrdId.lastIndexOf(CANCEL_SUFFIX);
  return at > 0 && /^\d+$/.test(clOrdId.slice(at + CANCEL_SUFFIX.length)) ? clOrdId.slice(0, at) : clOrdId;
}

function statusAfter(o: BrokerOrder, r: BrokerReport): OrderStatusName {
  switch (r.kind) {
    case 'new':
      return o.status === 'PendingNew' ? 'Submitted' : o.status;
    case 'trade':
      return o.cumQty >= o.qty ? 'Filled' : 'PartiallyFilled';
    case 'canceled':
      return 'Cancelled';
    case 'rejected':
      return 'Rejected';
    case 'expired':
      return 'Expired';
    case 'pending_cancel':
      return 'PendingCancel';
    default:
      return o.status;
  }
}
