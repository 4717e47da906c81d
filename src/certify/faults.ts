/**
 * The fault-injecting wrapper of certification and drills (docs/certify.md): it sits between the
 * engine and any `BrokerAdapter` and needs nothing from the adapter's authors. Between the two it
 * can drop, delay, duplicate and reorder reports, cut the connection, make a `placeOrder` throw
 * after it sent the order or go silent (its reports swallowed), and it watches the adapter keep
 * the contract: both ids on every report, no report delivered from inside `placeOrder` or
 * `cancelOrder`. Random faults come from its own seeded generator: a seed replays them exactly.
 */
import { NotSentError, type BrokerAdapter, type CancelOrderRequest, type HeartbeatInfo, type PlaceOrderRequest, type ReportSink, type SyncCapabilities } from '../brokers/adapter.js';
import { Prng } from '../brokers/sim/prng.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { copyReport, type BrokerAccount, type BrokerOrder, type BrokerPosition, type BrokerReport, type BrokerTrade, type Quote } from '../domain/report.js';

/** Report faults, each a probability per report (0 to 1). */
export interface ReportFaults {
  /** Never delivered (the engine learns of it from a recovery sync or reconciliation). */
  drop?: number;
  /** Delivered twice. */
  duplicate?: number;
  /** Held back until the next report has gone (or `holdMs`). */
  reorder?: number;
  /** Probability that a report is delayed by `delayMs`. */
  delay?: number;
  delayMs?: number;
  /** How long a reordered report waits at most, ms. Default 5. */
  holdMs?: number;
}

/** What the wrapper saw and did; the invariants read it. */
export interface FaultStats {
  /** `placeOrder` calls handed to the adapter, per client order id. */
  readonly placed: Map<string, number>;
  /** `cancelOrder` calls handed to the adapter, per client order id. */
  readonly cancels: Map<string, number>;
  reportsIn: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  cuts: number;
  throwsAfterSend: number;
  hangs: number;
  /** Reports the adapter delivered from inside a `placeOrder` / `cancelOrder` call. */
  readonly synchronous: string[];
  /** Reports without a broker order id or an exec id, or with neither client nor broker id known. */
  readonly missingIds: string[];
  /** Report kinds the adapter delivered, per client order id (as the adapter sent them, before any fault). */
  readonly kinds: Map<string, string[]>;
  /** Trades with an exec id already seen on another trade of the same order with a different quantity or price. */
  readonly execIdReused: string[];
}

export interface FaultyBrokerOptions {
  clock: Clock;
  /** Seed of the random faults. */
  seed: number;
  faults?: ReportFaults;
}

/** Everything wrapped: reports, connection, sends, syncs. See the module comment. */
export class FaultyBroker implements BrokerAdapter {
  readonly name: string;
  readonly syncs: SyncCapabilities | undefined;
  readonly stats: FaultStats = {
    placed: new Map(), cancels: new Map(), reportsIn: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0, cuts: 0, throwsAfterSend: 0, hangs: 0,
    synchronous: [], missingIds: [], execIdReused: [], kinds: new Map(),
  };
  private sink: ReportSink | undefined;
  private up = false;
  /** Killed: the engine on the other side is gone; nothing passes any more. */
  private dead = false;
  private inside = 0;
  private readonly rng: Prng;
  private faults: Required<ReportFaults>;
  private held: BrokerReport | undefined;
  private heldTimer: TimerHandle | undefined;
  private readonly timers = new Set<TimerHandle>();
  /** Orders whose reports are swallowed (a `placeOrder` that went silent), by client order id. */
  private readonly silent = new Set<string>();
  private readonly silentBroker = new Set<string>();
  private throwNext = 0;
  private hangNext = 0;
  /** execId → "qty@px" of the trades seen, per broker order id. */
  private readonly trades = new Map<string, Map<string, string>>();

  constructor(
    readonly inner: BrokerAdapter,
    private readonly opts: FaultyBrokerOptions,
  ) {
    this.name = inner.name;
    this.syncs = inner.syncs;
    this.rng = new Prng(opts.seed);
    this.faults = withDefaults(opts.faults);
  }

  get credentials() {
    return this.inner.credentials;
  }

  get brokerEnvironment() {
    return this.inner.brokerEnvironment;
  }

  /** Change the report faults from now on. */
  setFaults(faults: ReportFaults): void {
    this.faults = withDefaults(faults);
  }

  /** Deliver every held report now and turn every report fault off. */
  heal(): void {
    this.faults = withDefaults({});
    this.release();
  }

  /** The next `n` sends reach the adapter, then throw as a timed-out write would: outcome unknown to the engine. */
  throwAfterSend(n = 1): void {
    this.throwNext += n;
  }

  /** The next `n` sends reach the adapter and then go silent: their reports are swallowed until `unhang`. */
  hang(n = 1): void {
    this.hangNext += n;
  }

  /** Reports of silent orders flow again (the ones swallowed stay lost). */
  unhang(): void {
    this.silent.clear();
    this.silentBroker.clear();
  }

  /**
   * Cut the connection: the adapter is disconnected (its broker keeps trading), reports in flight
   * are lost, and the engine is told the connection dropped; its supervisor reconnects.
   */
  async cut(reason = 'certify: connection cut'): Promise<void> {
    if (!this.up || this.dead) return;
    this.up = false;
    this.stats.cuts++;
    this.dropHeld();
    await this.inner.disconnect().catch(() => {});
    if (!this.dead) this.sink?.onDisconnect(reason);
  }

  /**
   * The engine on the other side was killed: nothing reaches it any more and nothing it sends
   * passes. The adapter is disconnected as the operating system closes a dead process's sockets.
   */
  async kill(): Promise<void> {
    this.dead = true;
    this.up = false;
    this.dropHeld();
    for (const t of this.timers) this.opts.clock.clearTimer(t);
    this.timers.clear();
    await this.inner.disconnect().catch(() => {});
  }

  /** Reports held (reordered or delayed) and not yet delivered. */
  get holding(): number {
    return (this.held !== undefined ? 1 : 0) + this.timers.size;
  }

  async connect(sink: ReportSink): Promise<void> {
    if (this.dead) throw new Error('certify: this engine was killed');
    this.sink = sink;
    const inner: ReportSink = {
      onReport: (r) => this.fromBroker(r),
      onDisconnect: (reason) => {
        if (!this.up || this.dead) return;
        this.up = false;
        this.dropHeld();
        this.sink?.onDisconnect(reason);
      },
      onQuote: (q: Quote) => {
        if (this.up && !this.dead) this.sink?.onQuote?.(q);
      },
      onPhase: (p) => this.sink?.onPhase?.(p),
      onThrottle: (ms, d) => this.sink?.onThrottle?.(ms, d),
      onError: (e) => this.sink?.onError?.(e),
    };
    await this.inner.connect(inner);
    this.up = true;
  }

  async disconnect(): Promise<void> {
    this.up = false;
    this.dropHeld();
    await this.inner.disconnect();
  }

  heartbeat(): Promise<HeartbeatInfo> {
    if (!this.up || this.dead) return Promise.reject(new Error('certify: connection cut'));
    return this.inner.heartbeat();
  }

  placeOrder(req: PlaceOrderRequest): void {
    if (this.dead || !this.up) throw new NotSentError('certify: connection cut');
    const id = req.clientOrderId;
    this.stats.placed.set(id, (this.stats.placed.get(id) ?? 0) + 1);
    const hang = this.hangNext > 0;
    if (hang) {
      this.hangNext--;
      this.stats.hangs++;
      this.silent.add(id);
    }
    this.inside++;
    try {
      this.inner.placeOrder(req);
    } finally {
      this.inside--;
    }
    if (this.throwNext > 0) {
      this.throwNext--;
      this.stats.throwsAfterSend++;
      throw new Error('certify: the write timed out after the order was sent');
    }
  }

  cancelOrder(req: CancelOrderRequest): void {
    if (this.dead || !this.up) throw new NotSentError('certify: connection cut');
    const id = req.clientOrderId;
    this.stats.cancels.set(id, (this.stats.cancels.get(id) ?? 0) + 1);
    this.inside++;
    try {
      this.inner.cancelOrder(req);
    } finally {
      this.inside--;
    }
  }

  syncOpenOrders(): Promise<BrokerOrder[]> {
    return this.inner.syncOpenOrders();
  }

  syncTodayTrades(): Promise<BrokerTrade[]> {
    return this.inner.syncTodayTrades();
  }

  get syncDayOrders(): (() => Promise<BrokerOrder[]>) | undefined {
    const inner = this.inner;
    return inner.syncDayOrders !== undefined ? () => inner.syncDayOrders!() : undefined;
  }

  queryPositions(): Promise<BrokerPosition[]> {
    return this.inner.queryPositions();
  }

  queryAccount(): Promise<BrokerAccount[]> {
    return this.inner.queryAccount();
  }

  private fromBroker(r: BrokerReport): void {
    if (this.dead) return;
    this.stats.reportsIn++;
    this.watch(r);
    if (!this.up) return;
    if (this.silent.has(r.clientOrderId ?? '') || (r.brokerOrderId !== '' && this.silentBroker.has(r.brokerOrderId))) {
      if (r.brokerOrderId !== '') this.silentBroker.add(r.brokerOrderId);
      this.stats.dropped++;
      return;
    }
    const f = this.faults;
    if (f.drop > 0 && this.rng.next() < f.drop) {
      this.stats.dropped++;
      return;
    }
    const twice = f.duplicate > 0 && this.rng.next() < f.duplicate;
    if (f.delay > 0 && this.rng.next() < f.delay) {
      this.stats.delayed++;
      this.later(copyReport(r), f.delayMs, twice);
      return;
    }
    if (f.reorder > 0 && this.held === undefined && this.rng.next() < f.reorder) {
      this.stats.reordered++;
      this.held = copyReport(r);
      this.heldTimer = this.opts.clock.setTimer(() => this.release(), f.holdMs);
      if (twice) this.deliver(r, true);
      return;
    }
    this.deliver(r, twice);
    this.release();
  }

  private deliver(r: BrokerReport, twice: boolean): void {
    if (!this.up || this.dead) return;
    // the engine copies what it keeps; a duplicate is a copy taken before the first delivery
    const copy = twice ? copyReport(r) : undefined;
    this.stats.delivered++;
    this.sink!.onReport(r);
    if (copy !== undefined && this.up && !this.dead) {
      this.stats.duplicated++;
      this.stats.delivered++;
      this.sink!.onReport(copy);
    }
  }

  private later(r: BrokerReport, ms: number, twice: boolean): void {
    const t = this.opts.clock.setTimer(() => {
      this.timers.delete(t);
      this.deliver(r, twice);
    }, ms);
    this.timers.add(t);
  }

  private release(): void {
    const h = this.held;
    if (h === undefined) return;
    this.held = undefined;
    if (this.heldTimer !== undefined) this.opts.clock.clearTimer(this.heldTimer);
    this.heldTimer = undefined;
    this.deliver(h, false);
  }

  private dropHeld(): void {
    if (this.held !== undefined) this.stats.dropped++;
    this.held = undefined;
    if (this.heldTimer !== undefined) this.opts.clock.clearTimer(this.heldTimer);
    this.heldTimer = undefined;
    this.stats.dropped += this.timers.size;
    for (const t of this.timers) this.opts.clock.clearTimer(t);
    this.timers.clear();
  }

  /** The adapter's side of the contract, checked on every report it delivers. */
  private watch(r: BrokerReport): void {
    const what = `${r.kind} execId=${r.execId || '(none)'} clientOrderId=${r.clientOrderId || '(none)'} brokerOrderId=${r.brokerOrderId || '(none)'}`;
    const id = r.clientOrderId ?? '';
    if (id !== '') {
      const k = this.stats.kinds.get(id);
      if (k === undefined) this.stats.kinds.set(id, [r.kind]);
      else if (k.length < 50) k.push(r.kind);
    }
    if (this.inside > 0 && this.stats.synchronous.length < 100) this.stats.synchronous.push(what);
    if ((r.brokerOrderId === '' || r.execId === '' || (r.clientOrderId ?? '') === '') && this.stats.missingIds.length < 100) this.stats.missingIds.push(what);
    if (r.kind === 'trade' && r.brokerOrderId !== '') {
      let seen = this.trades.get(r.brokerOrderId);
      if (seen === undefined) this.trades.set(r.brokerOrderId, (seen = new Map()));
      const fill = `${r.lastQty}@${r.lastPx} cum=${r.cumQty}`;
      const before = seen.get(r.execId);
      if (before === undefined) seen.set(r.execId, fill);
      else if (before !== fill && this.stats.execIdReused.length < 100) this.stats.execIdReused.push(`execId=${r.execId} brokerOrderId=${r.brokerOrderId}: ${before}, then ${fill}`);
    }
  }
}

function withDefaults(f: ReportFaults = {}): Required<ReportFaults> {
  return { drop: f.drop ?? 0, duplicate: f.duplicate ?? 0, reorder: f.reorder ?? 0, delay: f.delay ?? 0, delayMs: f.delayMs ?? 20, holdMs: f.holdMs ?? 5 };
}
