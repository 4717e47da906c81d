/**
 * The core of the engine: the state one order lives in (order table, day store, ledger, risk,
 * exposure, counters, trading state, the trading day) and the paths that change it, each in its
 * own module: submit (submit-path.ts, batch-submit.ts), cancel (cancel-path.ts), reports
 * (report-path.ts, unmatched-reports.ts), exposure (exposure.ts). The layers above plug in
 * through the ports in ports.ts; src/engine.ts wires them and is the public `Engine`.
 */
import { fromPriceUnits, makeInstrument, type Instrument } from '../domain/instrument.js';
import type { MoneySpace } from '../domain/money.js';
import type { Order } from '../domain/order.js';
import { isOpen, statusName, type OrderStatusName } from '../domain/order-status.js';
import { reasonCode } from '../domain/reject-reason.js';
import type { BrokerReport } from '../domain/report.js';
import { TradingDay, type DayRoll } from '../domain/trading-day.js';
import type { NativeAddon } from '../native/loader.js';
import { AccountRisk } from '../risk/account-risk.js';
import { TradingCalendar } from '../risk/calendar.js';
import { LimitTable, ladderUnitProblems, riskProblems, type RiskConfig } from '../risk/limits.js';
import { PreTradeRisk } from '../risk/pretrade.js';
import { Rollout } from '../risk/rollout.js';
import { TRADING_STATES, type TradingState, type TradingStateChange } from '../risk/trading-state.js';
import { ANOMALY_SEVERITY, type Anomaly, type AnomalyKind } from './anomaly.js';
import { BatchSubmit } from './batch-submit.js';
import { resolveLimits, type ResolvedLimits } from './bounds.js';
import type { ReportCallbacks } from './callbacks.js';
import { CancelPath } from './cancel-path.js';
import { nativeNs, systemClock, type Clock } from './clock.js';
import type { CoreConfig } from './core-config.js';
import { OrderArchive } from './day-store.js';
import { Exposure } from './exposure.js';
import { Ledger } from './ledger.js';
import { F_EXTERNAL, OrderTable } from './order-table.js';
import type { CoreHost, CoreLogger, DebugWatch, JournalPort, LatencySink, LinkPort, OrderSender } from './ports.js';
import type { CoreRecord } from './records.js';
import { ReportPath } from './report-path.js';
import { newCounters, type Counters, type EngineStats } from './stats.js';
import { SubmitPath } from './submit-path.js';
import { UnmatchedReports } from './unmatched-reports.js';
import { orderObject } from './views.js';
import { replayCoreRecord, restoreSnapshot, takeSnapshot, type EngineParts, type EngineSnapshot } from './engine-state.js';

/** The engine's lifecycle (`engine.state`). */
export type Lifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What the composition hands the core beside its config. */
export interface CorePorts {
  readonly broker: OrderSender;
  readonly logger: CoreLogger;
  readonly debugWatch: DebugWatch;
  readonly host: CoreHost;
  readonly latency: { readonly ack: LatencySink; readonly firstFill: LatencySink; readonly report: LatencySink; readonly callback: LatencySink };
  /** The native addon for the batch gate, or undefined (TypeScript gate). */
  readonly addon: NativeAddon | undefined;
}

export class TradingCore {
  readonly instruments: readonly Instrument[];
  readonly bySymbol = new Map<string, Instrument>();
  readonly table: OrderTable;
  readonly ledger: Ledger;
  /** The integer spaces of quantities, fill prices and money (see domain/money.ts). */
  readonly money: MoneySpace;
  readonly risk: PreTradeRisk;
  readonly accountRisk: AccountRisk;
  /** The staged rollout in force (docs/release.md); undefined without one. */
  readonly rollout: Rollout | undefined;
  readonly clock: Clock;
  readonly logger: CoreLogger;
  readonly debugWatch: DebugWatch;
  readonly broker: OrderSender;
  readonly host: CoreHost;
  /** The trading day's finished orders the table has let go (the id rule, late reports, reconciliation, the end-of-day report). */
  readonly archive: OrderArchive;
  /** The bounds on state reports can grow (config `limits`). */
  readonly limits: ResolvedLimits;
  readonly tradingDay: TradingDay;
  /** Calendar per instrument index (undefined: always open). */
  readonly calendars: (TradingCalendar | undefined)[];
  readonly counters: Counters;
  readonly deniedBy = new Uint32Array(64);
  readonly rejectedBy = new Uint32Array(64);
  readonly latency: CorePorts['latency'];
  /** Latency histograms recorded (config `latencyHistograms`, default on). */
  readonly timed: boolean;
  /**
   * Time on the hot path: one monotonic reading per event (a submit, a report's arrival), in
   * integer ns since `baseMs`; the event's epoch ms is derived from it.
   */
  readonly readNs: () => number;
  readonly baseMs: number;
  /** Where `readNs` reads: the addon's monotonic clock, performance.now, or the injected clock. */
  readonly clockSource: 'native' | 'performance.now' | 'injected';

  readonly exposure: Exposure;
  readonly submits: SubmitPath;
  readonly batch: BatchSubmit;
  readonly cancels: CancelPath;
  readonly reports: ReportPath;
  readonly unmatched: UnmatchedReports;

  strategy: ReportCallbacks | undefined;
  /** Set by the composition: the engine's lifecycle and its broker connection. */
  lifecycle: Lifecycle = 'created';
  link: LinkPort = { state: 'Disconnected' };
  /** Set by the composition while a journal is open. */
  journal: JournalPort | undefined;
  /** Why the last journal append failed. */
  journalError = '';
  /** Restoring from the journal: nothing is journaled again, no callbacks or anomaly hooks fire. */
  restoring = false;
  /** Reconciliation is applying a correction: its own reports are not live news. */
  correcting = false;
  /** A report is being applied, or a submit is handing an order over: reports that arrive wait in `backlog`. */
  handling = false;
  readonly backlog: BrokerReport[] = [];
  /** No new order before this engine time: the broker throttled us. */
  throttledUntil = 0;
  /** Client ids of orders submitted, cancelled or reported while a sync or a reconciliation runs. */
  readonly touchSets: Set<string>[] = [];
  tradingState: TradingState = 'Active';
  lastStateReason = 'start';
  readonly stateHistory: TradingStateChange[] = [];
  /** The current trading day's name and when it rolls. */
  dayName: string;
  nextRollAt: number;
  /** While restoring: the day came from the journal (a snapshot or a day record). */
  dayKnown = false;
  /** External orders held in the table. */
  externalLive = 0;
  /** Bounds reached and alerted (once each until they clear). */
  readonly boundsHit = new Set<string>();
  /** The risk config this engine was created with, and the latest version (the start config, or the last reload). */
  readonly startRisk: RiskConfig | undefined;
  currentRisk: RiskConfig | undefined;
  /** While restoring: the risk the journal's last session started with, and its latest version. */
  journalStartRisk: RiskConfig | undefined;
  journalRisk: RiskConfig | undefined;

  constructor(config: CoreConfig, ports: CorePorts) {
    this.instruments = config.instruments.map((spec, i) => makeInstrument(spec, i));
    for (const inst of this.instruments) this.bySymbol.set(inst.symbol, inst);
    this.clock = config.clock ?? systemClock;
    {
      const clock = this.clock;
      if (clock === systemClock && ports.addon !== undefined) {
        // the same clock without a boxed double per reading (see nativeNs)
        this.baseMs = clock.originMs!;
        this.readNs = nativeNs(ports.addon);
        this.clockSource = 'native';
      } else if (typeof clock.nowNs === 'function' && typeof clock.originMs === 'number' && Math.abs(clock.originMs + clock.nowNs() / 1e6 - clock.now()) < 1) {
        // nowNs is used when it agrees with now() (a clock spread from systemClock with only
        // now() replaced would carry a nowNs that does not)
        this.baseMs = clock.originMs;
        this.readNs = () => clock.nowNs!();
        this.clockSource = clock === systemClock ? 'performance.now' : 'injected';
      } else {
        const base = clock.now();
        this.baseMs = base;
        this.readNs = () => Math.round((clock.now() - base) * 1e6);
        this.clockSource = 'injected';
      }
    }
    this.logger = ports.logger;
    this.debugWatch = ports.debugWatch;
    this.broker = ports.broker;
    this.host = ports.host;
    this.latency = ports.latency;
    const capacity = config.capacity ?? 65536;
    this.limits = resolveLimits(config.limits, capacity);
    this.table = new OrderTable({
      capacity,
      retentionMs: config.retentionMs ?? 3_600_000,
      maxExecIdsPerOrder: this.limits.maxExecIdsPerOrder,
      ...(config.testHooks?.weakHash !== undefined ? { weakHash: config.testHooks.weakHash } : {}),
    });
    this.tradingDay = new TradingDay(config.tradingDay);
    const start = this.clock.now();
    this.dayName = this.tradingDay.dayOf(start);
    this.nextRollAt = this.tradingDay.nextRoll(start);
    this.ledger = new Ledger(this.instruments, config.initialCash ?? {}, config.currencyPrecision ?? {});
    this.money = this.ledger.money;
    this.risk = new PreTradeRisk(new LimitTable(this.instruments, config.risk, this.money), this.instruments.length);
    this.rollout = config.rollout === undefined ? undefined
      : new Rollout(config.rollout, this.instruments, this.risk.limits, this.tradingDay.timeZone, this.tradingDay, config.risk?.account ?? {}, this.clock.now());
    this.accountRisk = new AccountRisk(this.instruments, this.risk.limits, config.risk?.account ?? {}, this.clock.now(), this.tradingDay, this.rollout);
    const byMarket = new Map(Object.entries(config.markets ?? {}).map(([name, spec]) => [name, new TradingCalendar(spec)]));
    this.calendars = this.instruments.map((i) => (i.market === '' ? undefined : byMarket.get(i.market)));
    this.strategy = config.strategy;
    this.counters = newCounters();
    this.timed = config.latencyHistograms ?? true;
    this.startRisk = config.risk;
    this.currentRisk = config.risk;
    this.archive = new OrderArchive(1024, this.limits.maxDayOrders);
    this.exposure = new Exposure(this.table, this.risk, this.accountRisk);
    this.submits = new SubmitPath(this);
    this.batch = new BatchSubmit(this, ports.addon);
    this.cancels = new CancelPath(this, config.cancelOutsideSession ?? 'allow');
    this.unmatched = new UnmatchedReports(this, this.limits.maxUnkeptFills);
    this.reports = new ReportPath(this, config.callbackArgs === 'objects', (config.reportTimingEvery ?? 8) - 1);
    // on the hot path (one release per order submitted, after retention): columns, no object
    this.table.onRelease = (slot) => {
      const t = this.table;
      const inst = this.instruments[t.instrument[slot]!]!;
      const cum = t.cumQty[slot]!;
      const external = (t.flags[slot]! & F_EXTERNAL) !== 0;
      const kept = this.archive.add(
        t.clientId[slot]!, t.brokerId[slot]!, inst.symbol, t.side[slot]! < 0, t.qty[slot]!, fromPriceUnits(t.price[slot]!, inst.scale), t.status[slot]!,
        cum, cum > 0 ? t.fillValue[slot]! / cum : Number.NaN, external, t.createdAt[slot]!, t.updatedAt[slot]!,
      );
      if (!kept) {
        this.boundReached('maxDayOrders', `the trading day's store holds limits.maxDayOrders=${this.limits.maxDayOrders} finished orders: finished orders stay in the order table until the day rolls`);
        return false;
      }
      if (external) this.externalLive--;
      return true;
    };
  }

  /** True when submits can be sent: started and the connection Ready. */
  get ready(): boolean {
    return this.lifecycle === 'running' && this.link.state === 'Ready';
  }

  notReadyDetail(): string {
    return `engine=${this.lifecycle} connection=${this.link.state}`;
  }

  /** Append to the journal; false (with a P0 anomaly, and the reason in `journalError`) when it cannot take the record. */
  record(rec: CoreRecord): boolean {
    if (this.restoring) return true;
    try {
      this.journal!.append(rec);
      return true;
    } catch (err) {
      return this.journalFailed(err, 'append', 'id' in rec ? rec.id : undefined);
    }
  }

  /**
   * Make the journaled intent or cancel safe from the process dying before it leaves; false
   * (with a P0 anomaly) when the journal's writer cannot (disk full): then nothing is sent.
   */
  barrier(id: string): boolean {
    try {
      this.journal!.barrier();
      return true;
    } catch (err) {
      return this.journalFailed(err, 'write', id);
    }
  }

  private journalFailed(err: unknown, what: string, id: string | undefined): false {
    this.journalError = (err as Error).message;
    this.anomaly('JOURNAL_FAILED', `journal ${what} failed: ${this.journalError}`, id);
    return false;
  }

  anomaly(kind: AnomalyKind, reason: string, clientOrderId?: string, brokerOrderId?: string, report?: unknown): void {
    this.counters.anomalies++;
    const severity = ANOMALY_SEVERITY[kind];
    // a copy: the adapter may reuse its report object once its call returns
    const kept = typeof report === 'object' && report !== null ? { ...report } : report;
    const a: Anomaly = { kind, severity, reason, clientOrderId, brokerOrderId, time: this.clock.now(), report: kept };
    if (severity !== 'P2') this.rollout?.markDirty(kind);
    if (this.restoring) {
      // raised when it first happened; replaying it is not news
      this.logger.debug({ anomaly: kind, severity, clientOrderId, brokerOrderId, replay: true }, reason);
      return;
    }
    if (severity === 'P0') this.logger.error({ anomaly: kind, severity, clientOrderId, brokerOrderId }, reason);
    else this.logger.warn({ anomaly: kind, severity, clientOrderId, brokerOrderId }, reason);
    if (this.journal !== undefined && kind !== 'JOURNAL_FAILED') this.record({ k: 'anomaly', t: a.time, kind, severity, reason, c: clientOrderId, b: brokerOrderId });
    this.host.anomaly(a);
  }

  /** A configured bound was reached: a P1 anomaly, once per bound until the day rolls. */
  boundReached(bound: string, reason: string, clientOrderId?: string, brokerOrderId?: string): void {
    if (this.boundsHit.has(bound)) return;
    this.boundsHit.add(bound);
    this.anomaly('BOUND_REACHED', `bound=${bound.split(':')[0]} ${reason}`, clientOrderId, brokerOrderId);
  }

  /** An order changed while a sync or a reconciliation runs: it is left out of that run. */
  touch(clientOrderId: string): void {
    for (const set of this.touchSets) set.add(clientOrderId);
  }

  /** Collect the client ids of orders submitted, cancelled or reported until `stop`. */
  watchReports(): { touched: Set<string>; stop(): void } {
    const touched = new Set<string>();
    this.touchSets.push(touched);
    return {
      touched,
      stop: () => {
        const i = this.touchSets.indexOf(touched);
        if (i >= 0) this.touchSets.splice(i, 1);
      },
    };
  }

  /** The broker asked to slow down: no new order for `retryAfterMs`. */
  throttle(retryAfterMs: number, detail: string): void {
    this.counters.throttles++;
    this.throttledUntil = Math.max(this.throttledUntil, this.clock.now() + retryAfterMs);
    this.logger.warn({ broker: this.broker.name, retryAfterMs, detail }, 'broker throttle: no new orders until it passes');
  }

  /** See `Engine.setTradingState`. */
  setTradingState(state: TradingState, reason: string): TradingStateChange | undefined {
    if (!TRADING_STATES.includes(state)) throw new TypeError(`trading state must be one of ${TRADING_STATES.join(', ')}, got ${String(state)}`);
    if (typeof reason !== 'string' || reason.length === 0) throw new TypeError('setTradingState needs a reason (a non-empty string)');
    if (state === this.tradingState) return undefined;
    const change: TradingStateChange = { from: this.tradingState, to: state, reason, time: this.clock.now() };
    if (this.journal !== undefined) this.record({ k: 'state', t: change.time, to: state, reason });
    this.tradingState = state;
    this.lastStateReason = reason;
    this.stateHistory.push(change);
    const log = { tradingState: state, from: change.from, reason };
    if (state === 'Active') this.logger.info(log, 'trading state changed');
    else this.logger.warn(log, 'trading state changed');
    this.host.tradingState(change);
    return change;
  }

  /** See `Engine.reloadRisk`. */
  reloadRisk(risk: RiskConfig, change?: { configHash?: string; why?: string }): { ok: true } | { ok: false; problems: string[] } {
    let problems = riskProblems(risk, new Set(this.instruments.map((i) => i.symbol)));
    if (problems.length === 0) problems = ladderUnitProblems(risk, this.instruments);
    if (problems.length > 0) {
      this.logger.warn({ problems }, 'risk reload refused; the previous limits stay');
      return { ok: false, problems };
    }
    this.risk.limits.copyFrom(new LimitTable(this.instruments, risk, this.money));
    this.risk.refreshBands();
    this.accountRisk.reconfigure(risk.account ?? {}, this.clock.now());
    this.currentRisk = risk;
    if (this.journal !== undefined) {
      this.record({ k: 'config', t: this.clock.now(), risk, ...(change?.configHash !== undefined ? { hash: change.configHash } : {}), ...(change?.why !== undefined ? { why: change.why } : {}) });
    }
    this.logger.info({ ...(change?.configHash !== undefined ? { config: change.configHash } : {}), ...(change?.why !== undefined ? { why: change.why } : {}) }, 'risk limits reloaded');
    return { ok: true };
  }

  /** See `Engine.updateReference`. */
  updateReference(symbol: string, price: number): void {
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    if (!(price > 0) || !Number.isFinite(price)) throw new RangeError(`reference price must be positive and finite, got ${price}`);
    this.risk.setReference(inst.index, price, inst.scale);
    if (this.rollout?.watchesLoss === true) this.watchLoss();
  }

  /**
   * The rollout's loss cap: when the day's loss (realized plus marked to the references) reaches
   * it, journal why, raise a P0, and move the trading state (never from Halted to Reducing).
   * Called after each fill and each reference move while a cap is set; not while restoring (the
   * journal's rollout record says it happened).
   */
  watchLoss(): void {
    const ro = this.rollout!;
    if (this.restoring || !ro.lossReached(this.ledger, this.risk.refUnits)) return;
    ro.lossHit = true;
    ro.markDirty('ROLLOUT_LOSS_CAP');
    const g = 10 ** this.money.grossExp;
    const pnl = ro.dayPnl(this.ledger, this.risk.refUnits) / g;
    const cap = ro.stage.maxDailyLoss!;
    const reason = `rollout stage ${ro.stage.name}: the day's loss ${-pnl} reached maxDailyLoss=${cap} (realized plus unrealized at the reference); only position-reducing orders until the day rolls`;
    if (this.journal !== undefined) this.record({ k: 'rollout', t: this.clock.now(), ev: 'loss-cap', stage: ro.stage.name, pnl, cap });
    this.anomaly('ROLLOUT_LOSS_CAP', reason);
    const to = ro.onLossCap;
    if (this.tradingState === 'Active' || (to === 'Halted' && this.tradingState === 'Reducing')) this.setTradingState(to, reason);
  }

  /**
   * Roll the trading day if its boundary has passed (`now` at or after it): journaled, then
   * applied as a replay applies it. Called from submit, from a timer at the boundary, and at
   * start for an engine that was down across a boundary.
   */
  rollDay(now: number): void {
    if (now < this.nextRollAt) return;
    const day = this.dayName;
    const next = this.tradingDay.dayOf(now);
    this.nextRollAt = this.tradingDay.nextRoll(now);
    if (next === day) return;
    // the new day's P&L starts from this mark (journaled: a replay has no reference prices of the moment)
    const pnl0 = this.rollout?.mark(this.ledger, this.risk.refUnits);
    if (this.journal !== undefined) this.record({ k: 'day', t: now, day, next, ...(pnl0 !== undefined ? { pnl0 } : {}) });
    this.applyRoll(day, next, now, pnl0);
  }

  /**
   * The day's finished orders leave memory (the table's and the day's store: they stay in the
   * journal), the bounds alerted start again, reconciliation keeps only its open diffs (each
   * marked with its day) and forgets what it had seen of the old day. Open orders carry over.
   */
  applyRoll(day: string, next: string, now: number, pnl0?: number): DayRoll {
    // the ended day's report input is taken by the host before its orders go
    this.host.dayEnding(this.restoring);
    this.dayName = next;
    this.rollout?.roll(pnl0 ?? this.rollout.mark(this.ledger, this.risk.refUnits));
    const t = this.table;
    const released = t.releaseFinished((slot) => {
      if ((t.flags[slot]! & F_EXTERNAL) !== 0) this.externalLive--;
    }) + this.archive.size;
    this.archive.clear();
    this.unmatched.dayRolled();
    this.boundsHit.clear();
    const diffsCarried = this.host.carryDiffs();
    this.counters.dayRolls++;
    const roll: DayRoll = { day, next, time: now, released, carriedOver: t.size, diffsCarried };
    if (this.restoring) return roll;
    this.logger.info({ ...roll }, 'trading day rolled');
    this.host.dayRolled(roll);
    return roll;
  }

  /** External orders in the table (after a restore). */
  countExternal(): number {
    const t = this.table;
    let n = 0;
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && (t.flags[s]! & F_EXTERNAL) !== 0) n++;
    return n;
  }

  /** What a snapshot reads and a restore writes (see engine-state.ts). */
  get parts(): EngineParts {
    return {
      instruments: this.instruments, table: this.table, ledger: this.ledger, risk: this.risk, accountRisk: this.accountRisk,
      counters: this.counters, deniedBy: this.deniedBy, rejectedBy: this.rejectedBy, stateHistory: this.stateHistory,
      tradingState: () => ({ state: this.tradingState, reason: this.lastStateReason }),
      setTradingState: (state, reason) => {
        this.tradingState = state;
        this.lastStateReason = reason;
      },
    };
  }

  /** The core's part of a journal snapshot (the layers above add theirs). */
  snapshotState(): EngineSnapshot {
    return {
      ...takeSnapshot(this.parts, this.startRisk, this.currentRisk), day: this.dayName, parked: this.unmatched.exportParked(),
      ...(this.rollout !== undefined ? { rollout: this.rollout.exportState() } : {}),
    };
  }

  /** Put the core's part of a snapshot back, as of `time`. */
  restoreSnapshot(s: EngineSnapshot, time: number): void {
    restoreSnapshot(this.parts, s);
    if (typeof s.day === 'string') {
      this.dayName = s.day;
      this.dayKnown = true;
      this.nextRollAt = this.tradingDay.nextRoll(time);
    }
    this.unmatched.importParked(s.parked ?? []);
    if (this.rollout !== undefined && s.rollout !== undefined && !this.rollout.importState(s.rollout, time)) {
      this.logger.warn({ stage: s.rollout.stage }, "the journal's rollout stage is not in this config; the configured start stage applies");
    }
    this.journalStartRisk = s.startRisk ?? undefined;
    this.journalRisk = s.risk ?? undefined;
  }

  /** Apply one journal record to the core's state, as it happened (see engine-state.ts). Nothing is sent. */
  replay(rec: CoreRecord): void {
    replayCoreRecord(this, rec);
  }

  /** After a restore: what derives from the orders (open exposure, open-order counts). */
  recomputeDerived(): void {
    this.exposure.recompute();
  }

  /** Orders not yet finished (own and external): a scan of the table, no allocation. */
  openOrderCount(): number {
    const t = this.table;
    let n = 0;
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && isOpen(t.status[s]!)) n++;
    return n;
  }

  /** The order with this client or broker order id, or undefined. */
  getOrder(id: string): Order | undefined {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    let slot = this.table.byClientId.get(id);
    if (slot < 0) slot = this.table.byBrokerId.get(id);
    return slot < 0 ? undefined : this.snapshot(slot);
  }

  /** The orders the table holds whose status passes `keep`, oldest first (same millisecond: by client order id). */
  ordersWhere(keep: (status: number) => boolean): Order[] {
    const t = this.table;
    const out: Order[] = [];
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && keep(t.status[s]!)) out.push(this.snapshot(s));
    // same-millisecond orders by id: the order does not depend on which slots they took
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0));
  }

  /** The status name of the order with this client id in the table, or undefined. */
  statusOf(clientOrderId: string): OrderStatusName | undefined {
    const slot = this.table.byClientId.get(clientOrderId);
    return slot < 0 ? undefined : statusName(this.table.status[slot]!);
  }

  stats(disconnects: number): EngineStats {
    const byReason = (arr: Uint32Array) => {
      const out: Record<string, number> = {};
      arr.forEach((n, i) => {
        if (n > 0) out[reasonCode(i)] = n;
      });
      return out;
    };
    return { ...this.counters.toObject(), disconnects, deniedByReason: byReason(this.deniedBy), rejectsByReason: byReason(this.rejectedBy) };
  }

  snapshot(slot: number): Order {
    return orderObject(this.table, this.instruments, slot);
  }
}
