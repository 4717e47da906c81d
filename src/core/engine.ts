import { NotSentError, type BrokerAdapter } from '../brokers/adapter.js';
import { SimBroker } from '../brokers/sim/sim-broker.js';
import { fromPriceUnits, makeInstrument, type Instrument, type InstrumentSpec } from '../domain/instrument.js';
import { FILL_PRICE_DIGITS, mulDivFloor, type MoneySpace } from '../domain/money.js';
import type { CancelResult, Order, OrderRequest, Side, SubmitResult } from '../domain/order.js';
import { OrderStatus, STATUS_NAMES, isOpen, isTerminal, statusName } from '../domain/order-status.js';
import { R, isRejectReason, reasonCode, reasonId, type RejectReason } from '../domain/reject-reason.js';
import type { BrokerReport } from '../domain/report.js';
import { INVALID, OrderEvent, RESTORE, nextStatus } from '../domain/transitions.js';
import { LatencyHistogram, type LatencySummary } from '../ops/latency.js';
import { ExecutionReportTableView, OrderTableView, TIF_NAMES, TYPE_NAMES, TradeTableView, executionReportObject, orderObject, selfObject, tradeObject, type Keepable } from './views.js';
import { createLogger, watchDebug, type DebugWatch, type Logger } from '../ops/logger.js';
import { LimitTable, ladderUnitProblems, riskProblems, type RiskConfig } from '../risk/limits.js';
import { PreTradeRisk } from '../risk/pretrade.js';
import { ANOMALY_SEVERITY, type Anomaly, type AnomalyKind } from './anomaly.js';
import { environmentProblems, type Environment, type LiveArm } from '../connectivity/credentials.js';
import { ConnectionSupervisor, type ConnectionState, type ConnectionStateChange, type ConnectionStats } from '../connectivity/supervisor.js';
import { mergeRecovery, type RecoveryTarget, type SyncSummary } from '../connectivity/recovery.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, configProblems, strategyProblems, type EngineConfig } from './config.js';
import { Ledger, type Account, type Position } from './ledger.js';
import { F_ACKED, F_ACK_TIMED, F_EXTERNAL, F_FILL_TIMED, F_OVERFILLED, OrderTable, TIF_DAY, TIF_GTC, TIF_IOC, TYPE_LIMIT, TYPE_MARKET } from './order-table.js';
import type { StrategyCallbacks } from './strategy.js';
import { isTerminalEvent, kindEvent, validateReport } from './report-validation.js';
import { BatchBuffers, GATE_DUP, GATE_SKIP, NativeGate, TsGate, type Gate } from './gate.js';
import { loadNative } from '../native/loader.js';
import { AccountRisk } from '../risk/account-risk.js';
import { TradingCalendar } from '../risk/calendar.js';
import { TRADING_STATES, type TradingState, type TradingStateChange } from '../risk/trading-state.js';
import { Journal, type JournalOpenInfo, type JournalOptions, type JournalStats, type RecoverySink } from '../journal/journal.js';
import { reportOf, reportRecord, type JournalRecord } from '../journal/format.js';
import { workerCompactor, type Compactor } from '../journal/compaction.js';
import { Reconciler, type DiffEvent, type ReconRun, type ReconTarget } from '../recon/reconciler.js';
import type { Correction, LocalOrder } from '../recon/diff.js';
import { checkInstruments, recomputeDerived, replayOrderRecord, restoreSnapshot, takeSnapshot, type EngineParts, type EngineSnapshot } from './engine-state.js';
import { TradingDay, type DayRoll } from '../domain/trading-day.js';
import { resolveLimits, type ResolvedLimits } from './bounds.js';
import { OrderArchive } from '../recon/archive.js';
import { BoundedKeySet } from './bounded-key-set.js';
import { generateEodReport, writeEodReport } from '../recon/eod.js';

export type EngineState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Which implementation each submit path runs on. */
export interface EngineBackend {
  /** Single submits: TypeScript (one N-API call per order measured slower than the whole TS check). */
  readonly submit: 'ts';
  /** The batch gate of `submitMany`: native when the addon is loaded. */
  readonly submitMany: 'native' | 'ts';
  /** Where the addon was loaded from, or why it was not. */
  readonly native: string;
}

/** What `safeStop` did. */
export interface SafeStopResult {
  readonly state: 'Halted';
  /** Cancels sent now. */
  cancelsSent: number;
  /** Open orders already pending cancel (nothing sent again). */
  alreadyPending: number;
  /** Open orders whose cancel could not be sent (for example the broker is not connected). */
  readonly failed: Array<{ clientOrderId: string; reason: string; detail: string }>;
}

/** Watches an engine beside its config hooks (`engine.observe`). */
export interface EngineObserver {
  /** A reconciliation diff was raised, fixed, resolved, acknowledged or cleared. */
  onDiff?(event: DiffEvent): void;
  onAnomaly?(anomaly: Anomaly): void;
  onConnectionState?(change: ConnectionStateChange): void;
  onTradingState?(change: TradingStateChange): void;
  /** The trading day rolled. */
  onDayRoll?(roll: DayRoll): void;
}

/** What `engine.journalStatus()` says. */
export interface JournalStatus {
  readonly dir: string;
  readonly storage: 'mapped' | 'file';
  readonly durability: 'group' | 'fsync';
  /** Seq of the next record. */
  readonly seq: number;
  /** What the last open found: snapshot used, records replayed, warnings. */
  readonly opened: JournalOpenInfo;
  readonly stats: JournalStats;
}

/** Orders per gate call in submitMany. */
const BATCH = 256;
/** `parse` result: the order or its id is malformed. */
const PARSE_BAD_ID = -1;
/** The missing-addon warning is logged once per process, not once per engine. */
let nativeAnnounced = false;

/** Counters since start. Read with `engine.stats()`. */
export interface EngineStats {
  submits: number;
  accepted: number;
  duplicateSubmits: number;
  denied: number;
  deniedByReason: Record<string, number>;
  cancels: number;
  cancelsSent: number;
  cancelsIgnored: number;
  reports: number;
  duplicateReports: number;
  /** Older than the order's last applied sequence; dropped (their fills still applied). */
  staleReports: number;
  /** Legal reports that changed no status (late acks, cancel acks, too-late cancel rejects). */
  noopReports: number;
  invalidTransitions: number;
  malformedReports: number;
  unknownOrders: number;
  overfills: number;
  fills: number;
  rejects: number;
  rejectsByReason: Record<string, number>;
  callbackErrors: number;
  sendFailures: number;
  anomalies: number;
  /** Established broker connections lost (see `connectionStats()` for the rest). */
  disconnects: number;
  /** Times the broker asked us to slow down. */
  throttles: number;
  /** Recovery syncs completed. */
  syncs: number;
  /** Own orders the broker took (an ack, or a fill before it): place success = acks / accepted. */
  acks: number;
  /** Cancels the broker confirmed (PendingCancel to Cancelled): cancel success = cancelsConfirmed / cancelsSent. */
  cancelsConfirmed: number;
  /** Cancels the broker refused (cancel_rejected reports). */
  cancelRejects: number;
  /** Reports for orders of the day already let go from the order table: not applied (fills alerted as LATE_REPORT). */
  lateReports: number;
  /** Reports that named only a broker order id the engine did not know yet, held for the ack that maps it. */
  parkedReports: number;
  /** Reports and orders refused at a configured bound (see `limits`). */
  boundRefusals: number;
  /** Trading-day rolls since start. */
  dayRolls: number;
  /** Reports whose cumQty disagreed with the engine's own sum of fills (CUM_QTY_MISMATCH). */
  cumQtyMismatches: number;
  /** Fills at a price through their order's limit (FILL_THROUGH_LIMIT). */
  fillsThroughLimit: number;
  /** Fill prices finer than a fill unit, booked at the nearest (FILL_PRICE_ROUNDED). */
  fillPricesRounded: number;
}

export interface EngineLatency {
  /** Submit → broker ack. */
  ack: LatencySummary;
  /** Submit → first fill. */
  firstFill: LatencySummary;
  /** Report received → state applied (the engine's own work). */
  report: LatencySummary;
  /** Strategy callbacks of one report, all of them (recorded while a strategy is registered). */
  callback: LatencySummary;
}

/** Quantity tolerance: fills of fractional lots accumulate float noise. */
const QTY_EPS = 1e-9;
/** Fill units per order price unit. */
const FILL_SCALE = 10 ** FILL_PRICE_DIGITS;

/**
 * The trading engine: one writer, synchronous hot path. `submit` runs dedup → gate → risk →
 * order table → adapter and returns at once; broker reports flow through `onReport`
 * (normalize → dedup → stale check → transition table → ledger → callbacks).
 *
 * Create it with {@link createEngine}.
 */
export class Engine {
  readonly instruments: readonly Instrument[];
  readonly broker: BrokerAdapter;
  readonly table: OrderTable;
  readonly ledger: Ledger;
  /** The integer spaces of quantities, fill prices and money (see domain/money.ts). */
  private readonly money: MoneySpace;
  readonly risk: PreTradeRisk;
  readonly logger: Logger;
  readonly clock: Clock;

  private readonly bySymbol = new Map<string, Instrument>();
  private strategy: StrategyCallbacks | undefined;
  private _state: EngineState = 'created';
  /** Where orders go; checked against the adapter's credentials at start. */
  readonly environment: Environment;
  private readonly liveArm: LiveArm | undefined;
  /** The broker connection: state, heartbeat, reconnect, recovery sync. */
  private readonly connection: ConnectionSupervisor;
  /** No new order before this engine time: the broker throttled us. */
  private throttledUntil = 0;
  /** Client ids of orders submitted, cancelled or reported while a sync or a reconciliation runs. */
  private readonly touchSets: Set<string>[] = [];
  /** Reconciliation is applying a correction: its own reports are not live news. */
  private correcting = false;
  private _lastSync: SyncSummary | undefined;
  private handling = false;
  private readonly backlog: BrokerReport[] = [];
  private readonly counters: Omit<EngineStats, 'deniedByReason' | 'rejectsByReason' | 'disconnects'>;
  private readonly deniedBy: Uint32Array;
  private readonly rejectedBy: Uint32Array;
  private readonly ackLatency = new LatencyHistogram();
  private readonly fillLatency = new LatencyHistogram();
  private readonly reportLatency = new LatencyHistogram();
  private readonly callbackLatency = new LatencyHistogram();
  /** Latency histograms recorded (config `latencyHistograms`, default on). */
  private readonly timed: boolean;
  /**
   * Time on the hot path: one monotonic reading per event (a submit, a report's arrival), in
   * integer ns since `baseMs`; the event's epoch ms is derived from it. `eventNs` is the
   * submit's reading (the order's createdNs), `reportNs` the arriving report's.
   */
  private readonly readNs: () => number;
  private readonly baseMs: number;
  private eventNs = 0;
  private reportNs = 0;
  /** Counts reports, so every `reportTimingEvery`-th one is timed (see handleOne). */
  private timingTick = 0;
  private readonly timingMask: number;
  /** Callback arguments: reusable views (default) or fresh objects (`callbackArgs: 'objects'`). */
  private readonly objectArgs: boolean;
  private readonly orderView: OrderTableView;
  private readonly reportView: ExecutionReportTableView;
  private readonly tradeView: TradeTableView;
  /** Set by `apply` for the callbacks that follow: the slot (-1: none) and whether its order changed. */
  private cbSlot = -1;
  private cbChanged = false;
  /** The logger is at debug or below (per-order lines): a field kept by pino's level-change event. */
  private readonly debugWatch: DebugWatch;
  private get debugOrders(): boolean {
    return this.debugWatch.debug;
  }
  /** Scratch for `parse` (no allocation per order). */
  private readonly parsed = { id: '', idText: '', inst: undefined as Instrument | undefined, side: 0, type: 0, tif: 0, reduceOnly: false, detail: '' };
  private postDetail = '';
  /** Protection price (units) of the market order last checked; NaN for none. */
  private protection = Number.NaN;
  readonly accountRisk: AccountRisk;
  private _tradingState: TradingState = 'Active';
  private lastStateReason = 'start';
  private readonly stateHistory: TradingStateChange[] = [];
  /** Calendar per instrument index (undefined: always open). */
  private readonly calendars: (TradingCalendar | undefined)[];
  private readonly cancelOutside: 'allow' | 'refuse';
  /** Slot of the last order `place` stored. */
  private lastSlot = -1;
  private readonly batch = new BatchBuffers(BATCH);
  private readonly batchIds = new Array<string>(BATCH).fill('');
  private readonly batchPre = new Int32Array(BATCH);
  private readonly batchDetail = new Array<string>(BATCH).fill('');
  private readonly batchTif = new Uint8Array(BATCH);
  private readonly batchSlot = new Int32Array(BATCH);
  private readonly seqBuy: Float64Array;
  private readonly seqSell: Float64Array;
  private readonly batchReduce = new Uint8Array(BATCH);
  private readonly gate: Gate;
  /** Which implementation each submit path uses, and why. */
  readonly backend: EngineBackend;
  /**
   * Reconciliation with the broker's records (docs/reconciliation.md): `engine.reconcile()`
   * runs it; `recon.list()`, `recon.get(id)`, `recon.resolve(...)` and `recon.acknowledge(...)`
   * are the manual workflow; `recon.endOfDay()` gathers the day's report inputs.
   */
  readonly recon: Reconciler;
  /** The trading day's finished orders the table has let go (the id rule, late reports, reconciliation, the end-of-day report). */
  readonly archive: OrderArchive;
  private readonly journalOptions: JournalOptions | undefined;
  private journal: Journal | undefined;
  private compactor: Compactor | undefined;
  /** Restoring from the journal: nothing is journaled again, no callbacks or anomaly hooks fire. */
  private restoring = false;
  private readonly observers: EngineObserver[] = [];
  /** Why the last journal append failed. */
  private journalError = '';
  /** A restore from the journal threw part way: this engine's state is not to be trusted. */
  private restoreFailed: Error | undefined;
  /** replayJournalRecord ran: exposure and open counts are redone at start. */
  private replayedRecords = false;
  /** The engine's state came from the journal already (a start after a stop does not restore again). */
  private restored = false;
  private readonly instrumentSpecs: InstrumentSpec[];
  private readonly initialCash: Record<string, number>;
  /** The risk config this engine was created with. */
  private readonly startRisk: RiskConfig | undefined;
  /** The latest risk version (the start config, or the last reload). */
  private currentRisk: RiskConfig | undefined;
  /** While restoring: the risk the journal's last session started with, and its latest version. */
  private journalStartRisk: RiskConfig | undefined;
  private journalRisk: RiskConfig | undefined;
  /** The trading day's boundaries; the current day's name and when it rolls. */
  readonly tradingDay: TradingDay;
  private dayName: string;
  private nextRollAt: number;
  private rollTimer: ReturnType<Clock['setTimer']> | undefined;
  /** The bounds on state reports can grow (config `limits`). */
  readonly limits: ResolvedLimits;
  /** External orders held in the table. */
  private externalLive = 0;
  /** While restoring: the day came from the journal (a snapshot or a day record). */
  private dayKnown = false;
  private readonly reportDir: string | undefined;
  private dayReport: Promise<{ json: string; markdown: string; html: string } | undefined> | undefined;
  /** Reports naming only an unknown broker order id, by that id, waiting for the ack that maps it. */
  private readonly parked = new Map<string, BrokerReport[]>();
  /** Parked broker ids in arrival order, with when they were parked. */
  private readonly parkedOrder: Array<{ id: string; t: number }> = [];
  private parkedCount = 0;
  private parkTimer: ReturnType<Clock['setTimer']> | undefined;
  /** Adopt parked reports now (their wait ran out). */
  private adoptNow = false;
  /** Reports unparked by the report just applied, applied right after it. */
  private readonly unparked: BrokerReport[] = [];
  /** Fills of external orders booked without a slot, by (brokerOrderId, execId): booked once. */
  private readonly unkeptFills: BoundedKeySet;
  /** Bounds reached and alerted (once each until they clear). */
  private readonly boundsHit = new Set<string>();

  constructor(config: EngineConfig) {
    const problems = configProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.instruments = config.instruments.map((spec, i) => makeInstrument(spec, i));
    for (const inst of this.instruments) this.bySymbol.set(inst.symbol, inst);
    this.clock = config.clock ?? systemClock;
    {
      const clock = this.clock;
      // nowNs is used when it agrees with now() (a clock spread from systemClock with only
      // now() replaced would carry a nowNs that does not)
      if (typeof clock.nowNs === 'function' && typeof clock.originMs === 'number' && Math.abs(clock.originMs + clock.nowNs() / 1e6 - clock.now()) < 1) {
        this.baseMs = clock.originMs;
        this.readNs = () => clock.nowNs!();
      } else {
        const base = clock.now();
        this.baseMs = base;
        this.readNs = () => Math.round((clock.now() - base) * 1e6);
      }
    }
    this.logger = config.logger ?? createLogger();
    this.debugWatch = watchDebug(this.logger);
    const capacity = config.capacity ?? 65536;
    this.limits = resolveLimits(config.limits, capacity);
    this.table = new OrderTable({
      capacity,
      retentionMs: config.retentionMs ?? 3_600_000,
      maxExecIdsPerOrder: this.limits.maxExecIdsPerOrder,
      ...(config.testHooks?.weakHash !== undefined ? { weakHash: config.testHooks.weakHash } : {}),
    });
    this.unkeptFills = new BoundedKeySet(this.limits.maxUnkeptFills);
    this.tradingDay = new TradingDay(config.tradingDay);
    this.reportDir = config.tradingDay?.reportDir;
    const start = this.clock.now();
    this.dayName = this.tradingDay.dayOf(start);
    this.nextRollAt = this.tradingDay.nextRoll(start);
    this.ledger = new Ledger(this.instruments, config.initialCash ?? {}, config.currencyPrecision ?? {});
    this.money = this.ledger.money;
    this.risk = new PreTradeRisk(new LimitTable(this.instruments, config.risk, this.money), this.instruments.length);
    this.seqBuy = new Float64Array(this.instruments.length);
    this.seqSell = new Float64Array(this.instruments.length);
    this.accountRisk = new AccountRisk(this.instruments, this.risk.limits, config.risk?.account ?? {}, this.clock.now(), this.tradingDay);
    const byMarket = new Map(Object.entries(config.markets ?? {}).map(([name, spec]) => [name, new TradingCalendar(spec)]));
    this.calendars = this.instruments.map((i) => (i.market === '' ? undefined : byMarket.get(i.market)));
    this.cancelOutside = config.cancelOutsideSession ?? 'allow';
    const wanted = config.backend ?? 'auto';
    const native = wanted === 'ts' ? { reason: 'backend: ts in config' } : loadNative();
    if (wanted === 'native' && native.addon === undefined) throw new ConfigError([`backend: native requested but the addon is unavailable: ${native.reason}`]);
    this.gate =
      native.addon !== undefined
        ? new NativeGate(native.addon, this.batch, this.table.byClientId, this.risk, this.ledger.pos, this.table.capacity)
        : new TsGate(this.batch, this.table.byClientId, this.risk, this.instruments, this.ledger.pos);
    this.backend = { submit: 'ts', submitMany: this.gate.backend, native: native.reason };
    if (native.addon === undefined && wanted === 'auto' && !nativeAnnounced) {
      nativeAnnounced = true;
      this.logger.warn({ reason: native.reason }, 'native addon unavailable; submitMany runs on the TypeScript backend');
    }
    this.broker = config.broker ?? new SimBroker({
      ...(config.initialCash !== undefined ? { initialCash: config.initialCash } : {}), ...(config.tradingDay !== undefined ? { tradingDay: config.tradingDay } : {}),
      ...config.sim, instruments: config.instruments, clock: this.clock,
    });
    this.strategy = config.strategy;
    this.deniedBy = new Uint32Array(64);
    this.rejectedBy = new Uint32Array(64);
    this.counters = {
      submits: 0, accepted: 0, duplicateSubmits: 0, denied: 0, cancels: 0, cancelsSent: 0, cancelsIgnored: 0,
      reports: 0, duplicateReports: 0, staleReports: 0, noopReports: 0, invalidTransitions: 0, malformedReports: 0,
      unknownOrders: 0, overfills: 0, fills: 0, rejects: 0, callbackErrors: 0, sendFailures: 0, anomalies: 0, throttles: 0, syncs: 0,
      acks: 0, cancelsConfirmed: 0, cancelRejects: 0, lateReports: 0, parkedReports: 0, boundRefusals: 0, dayRolls: 0,
      cumQtyMismatches: 0, fillsThroughLimit: 0, fillPricesRounded: 0,
    };
    this.timed = config.latencyHistograms ?? true;
    this.objectArgs = config.callbackArgs === 'objects';
    this.timingMask = (config.reportTimingEvery ?? 8) - 1;
    this.orderView = new OrderTableView(this.table, this.instruments);
    this.reportView = new ExecutionReportTableView(this.table, this.instruments);
    this.tradeView = new TradeTableView(this.table, this.instruments);

    this.environment = config.environment ?? 'paper';
    this.liveArm = config.live;
    this.journalOptions = config.journal;
    this.instrumentSpecs = config.instruments.map((spec) => ({ ...spec }));
    this.initialCash = { ...(config.initialCash ?? {}) };
    this.startRisk = config.risk;
    this.currentRisk = config.risk;
    // the config's hooks are the first observers: one way to tell anyone, one guard around it
    const { onAnomaly, onTradingState, onConnectionState, onDayRoll } = config;
    if (onAnomaly !== undefined || onTradingState !== undefined || onConnectionState !== undefined || onDayRoll !== undefined) {
      this.observe({
        ...(onAnomaly !== undefined ? { onAnomaly } : {}), ...(onTradingState !== undefined ? { onTradingState } : {}),
        ...(onConnectionState !== undefined ? { onConnectionState } : {}), ...(onDayRoll !== undefined ? { onDayRoll } : {}),
      });
    }
    this.connection = new ConnectionSupervisor(this.broker, this.clock, this.logger, this.environment, config.connection, {
      onReport: (r) => this.onReport(r),
      sync: () => this.recoverySync(),
      onState: (change) => {
        if (this.journal !== undefined) this.record({ k: 'conn', t: change.time, from: change.from, to: change.to, reason: change.reason });
        for (const o of this.observers) o.onConnectionState?.(change);
      },
      onThrottle: (ms, detail) => this.throttle(ms, detail),
      onAlarm: (kind, reason) => this.anomaly(kind, reason),
    });
    this.archive = new OrderArchive(1024, this.limits.maxDayOrders);
    this.recon = new Reconciler(this.reconTarget(), config.recon, this.archive);
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

  /** Lifecycle state. */
  get state(): EngineState {
    return this._state;
  }

  /** True when submits can be sent: started and the connection Ready. */
  get ready(): boolean {
    return this._state === 'running' && this.connection.state === 'Ready';
  }

  /**
   * The broker connection: Disconnected, Connecting, Authenticating, Syncing, Ready,
   * Degraded (heartbeats late: no new orders, cancels still go) or Halted (given up).
   */
  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  /** Connection-state changes, oldest first (the last 200). */
  connectionHistory(): ConnectionStateChange[] {
    return this.connection.stateHistory();
  }

  /** Disconnects, reconnect attempts, heartbeats, round trip and clock skew. */
  connectionStats(): ConnectionStats {
    return { ...this.connection.stats };
  }

  /** What the last recovery sync did (undefined before the first). */
  get lastSync(): SyncSummary | undefined {
    return this._lastSync;
  }

  /** Reconnect now: after Halted, once the cause is fixed, or to skip a backoff wait. */
  reconnect(reason?: string): void {
    if (this._state !== 'running') throw new Error(`cannot reconnect: engine is ${this._state}`);
    this.connection.reconnect(reason);
  }

  /**
   * Start: check the environment (credentials that belong to it; live armed), then connect,
   * log on, check the broker's clock and run recovery sync. Resolves when the connection is
   * Ready; rejects with the reason (and leaves the engine stopped) when a check fails or
   * `connection.startTimeoutMs` passes first. Transient network failures are retried meanwhile.
   */
  async start(): Promise<void> {
    if (this._state !== 'created' && this._state !== 'stopped') throw new Error(`cannot start: engine is ${this._state}`);
    const problems = environmentProblems(this.environment, this.broker.credentials, this.liveArm);
    if (problems.length > 0) throw new Error(`engine start refused (environment ${this.environment}):\n  - ${problems.join('\n  - ')}`);
    if (this.replayedRecords) {
      this.replayedRecords = false;
      recomputeDerived(this.parts);
    }
    if (this.restoreFailed !== undefined) throw new Error(`cannot start: this engine's restore from its journal failed (${this.restoreFailed.message}); create a new engine once the cause is fixed`);
    if (this.journalOptions !== undefined && this.journal === undefined) this.openJournal(this.journalOptions);
    this._state = 'starting';
    try {
      await this.connection.start();
    } catch (err) {
      this._state = 'stopped';
      throw new Error(`engine start failed: broker ${this.broker.name}: ${(err as Error).message}`, { cause: err });
    }
    this._state = 'running';
    // down across a boundary: the day rolls now
    this.rollDay(this.clock.now());
    this.armRollTimer();
    if (this.parkedCount > 0 && this.parkTimer === undefined) this.armParkTimer(this.limits.parkMs);
    this.recon.start();
    this.logger.info({ broker: this.broker.name, environment: this.environment, instruments: this.instruments.length, capacity: this.table.capacity }, 'engine started');
  }

  /**
   * Disconnect the broker, then snapshot and close the journal. Open orders stay open at the
   * broker. Idempotent.
   */
  async stop(): Promise<void> {
    if (this._state === 'stopped' || this._state === 'created') {
      this._state = 'stopped';
      await this.closeJournal();
      return;
    }
    this._state = 'stopping';
    this.recon.stop();
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = undefined;
    if (this.parkTimer !== undefined) this.clock.clearTimer(this.parkTimer);
    this.parkTimer = undefined;
    try {
      await this.connection.stop();
    } finally {
      this._state = 'stopped';
      await this.closeJournal();
      this.logger.info({ broker: this.broker.name }, 'engine stopped');
    }
  }

  /**
   * Open the journal. The first time: restore the latest snapshot and replay the records after
   * it (no callbacks fire, nothing is sent), then put back what derives from them (open
   * exposure, open-order counts). Throws JournalCorruptError on damage before the tail.
   */
  private openJournal(options: JournalOptions): void {
    const restore = !this.restored;
    // the day the restored state is of: the snapshot's, a day record's, else the last record's time
    let lastT = -Infinity;
    const sink: RecoverySink = restore
      ? {
          snapshot: (state, _seq, time) => {
            lastT = time;
            this.restoreSnapshot(state as EngineSnapshot, time);
          },
          record: (rec) => {
            if (typeof rec.t === 'number' && rec.t > lastT) lastT = rec.t;
            this.replayRecord(rec);
          },
        }
      : { snapshot: () => {}, record: () => {} };
    this.dayKnown = false;
    this.restoring = restore;
    let journal: Journal;
    try {
      journal = Journal.open(options, this.logger, options.storage === 'file' ? undefined : loadNative().addon, sink);
      if (restore) {
        recomputeDerived(this.parts);
        this.externalLive = this.countExternal();
        // the restored state is of the day of its last record; start() rolls it if that day is over
        if (Number.isFinite(lastT)) {
          if (!this.dayKnown) this.dayName = this.tradingDay.dayOf(lastT);
          this.nextRollAt = this.tradingDay.nextRoll(lastT);
        }
      }
    } catch (err) {
      // part of the state may be in already: a second try on this engine would double it
      if (restore && (this.table.size > 0 || this.stateHistory.length > 0)) this.restoreFailed = err as Error;
      throw err;
    } finally {
      this.restoring = false;
    }
    this.restored = true;
    this.journal = journal;
    this.compactor = workerCompactor();
    journal.attach(() => this.snapshotState(), () => this.clock.now(), this.compactor, (what, message) => this.anomaly(what === 'snapshot' ? 'SNAPSHOT_FAILED' : 'JOURNAL_FAILED', message));
    const info = journal.openInfo;
    if (restore) this.logger.info({ journal: journal.dir, snapshotSeq: info.snapshotSeq, replayed: info.replayed, orders: this.table.size, storage: info.storage }, 'journal restored');
    this.record({
      k: 'open', t: this.clock.now(), v: 1, instruments: this.instrumentSpecs, initialCash: this.initialCash,
      risk: this.startRisk, environment: this.environment, broker: this.broker.name,
    });
    // a reload the last session made is kept when this engine started from the same config
    if (restore && this.journalRisk !== undefined && same(this.journalStartRisk, this.startRisk) && !same(this.journalRisk, this.startRisk)) {
      const r = this.reloadRisk(this.journalRisk);
      if (r.ok) this.logger.warn({ journal: journal.dir }, 'risk limits restored from the journal: the last session reloaded them and this engine started from the same config');
    }
  }

  private async closeJournal(): Promise<void> {
    const j = this.journal;
    if (j === undefined) return;
    this.journal = undefined;
    await j.snapshot();
    await j.close();
    await this.compactor?.close();
    this.compactor = undefined;
  }

  /** The journal's place, storage and counters; undefined without a journal (or before start). */
  journalStatus(): JournalStatus | undefined {
    const j = this.journal;
    if (j === undefined) return undefined;
    return { dir: j.dir, storage: j.storageKind, durability: j.options.durability, seq: j.seq, opened: j.openInfo, stats: { ...j.stats } };
  }

  /** Write a journal snapshot now (they are also written every N records or minutes). */
  async writeSnapshot(): Promise<void> {
    if (this.journal === undefined) throw new Error('no journal: configure journal.dir and start the engine');
    await this.journal.snapshot();
  }

  /** Append to the journal; false (with a P0 anomaly, and the reason in `journalError`) when it cannot take the record. */
  private record(rec: JournalRecord): boolean {
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
  private barrier(id: string): boolean {
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

  /** What a snapshot reads and a restore writes (see engine-state.ts). */
  private get parts(): EngineParts {
    return {
      instruments: this.instruments, table: this.table, ledger: this.ledger, risk: this.risk, accountRisk: this.accountRisk,
      counters: this.counters as unknown as Record<string, number>, deniedBy: this.deniedBy, rejectedBy: this.rejectedBy, stateHistory: this.stateHistory,
      tradingState: () => ({ state: this._tradingState, reason: this.lastStateReason }),
      setTradingState: (state, reason) => {
        this._tradingState = state;
        this.lastStateReason = reason;
      },
    };
  }

  private snapshotState(): EngineSnapshot {
    const parked: Array<{ t: number; r: BrokerReport }> = [];
    for (const { id, t } of this.parkedOrder) for (const r of this.parked.get(id) ?? []) parked.push({ t, r });
    return { ...takeSnapshot(this.parts, this.startRisk, this.currentRisk), recon: this.recon.exportState(), day: this.dayName, parked };
  }

  private restoreSnapshot(s: EngineSnapshot, time: number): void {
    restoreSnapshot(this.parts, s);
    if (s.recon !== undefined) this.recon.importState(s.recon);
    if (typeof s.day === 'string') {
      this.dayName = s.day;
      this.dayKnown = true;
      this.nextRollAt = this.tradingDay.nextRoll(time);
    }
    const parkedCount = this.counters.parkedReports;
    for (const { t, r } of s.parked ?? []) this.park(r, t);
    this.counters.parkedReports = parkedCount;
    this.journalStartRisk = s.startRisk ?? undefined;
    this.journalRisk = s.risk ?? undefined;
  }

  /**
   * Apply one journal record to the engine's state, as it happened: intents take a slot,
   * reports run through the report pipeline at their recorded time. Nothing is sent.
   */
  private replayRecord(rec: JournalRecord): void {
    switch (rec.k) {
      case 'open':
        checkInstruments(this.parts, rec.instruments.map((i) => i.symbol), 'the journal');
        this.journalStartRisk = rec.risk;
        this.journalRisk = rec.risk;
        return;
      case 'config':
        this.journalRisk = rec.risk;
        return;
      case 'intent':
      case 'unsent':
      case 'cancel':
      case 'cancel-unsent':
        replayOrderRecord(this.parts, rec, this.logger);
        return;
      case 'report':
        this.handleAt(reportOf(rec), rec.t);
        return;
      case 'state':
        if (rec.to !== this._tradingState) this.stateHistory.push({ from: this._tradingState, to: rec.to, reason: rec.reason, time: rec.t });
        this._tradingState = rec.to;
        this.lastStateReason = rec.reason;
        return;
      case 'recon':
        this.recon.replay(rec.ev, rec.t);
        return;
      case 'adopt':
        this.adoptParkedId(rec.b, rec.t);
        return;
      case 'day':
        this.dayKnown = true;
        this.applyRoll(rec.day, rec.next, rec.t);
        this.nextRollAt = this.tradingDay.nextRoll(rec.t);
        return;
      case 'conn':
      case 'anomaly':
        return;
      default:
        throw new Error(`journal record of unknown kind ${String((rec as { k?: unknown }).k)}`);
    }
  }

  /**
   * Apply one journal record to this engine, as \`tradecore replay\` does: strategy callbacks
   * fire, nothing is sent and nothing is journaled. For an engine that was never started.
   */
  replayJournalRecord(rec: JournalRecord): void {
    if (this._state !== 'created') throw new Error(`replayJournalRecord is for an engine that was never started; this one is ${this._state}`);
    this.replayRecord(rec);
    this.replayedRecords = true;
  }

  /** The report of the last day that rolled while `tradingDay.reportDir` is set: the files written, or undefined when it failed (logged). */
  get lastDayReport(): Promise<{ json: string; markdown: string; html: string } | undefined> | undefined {
    return this.dayReport;
  }

  /** The current trading day's name (YYYY-MM-DD) and when it rolls (epoch ms). */
  get currentDay(): { day: string; rollsAt: number; boundary: string } {
    return { day: this.dayName, rollsAt: this.nextRollAt, boundary: this.tradingDay.toString() };
  }

  /**
   * Roll the trading day now if its boundary has passed, and say which day it is. The engine
   * rolls by itself (a timer at the boundary, the first submit after it, a start after it); call
   * this after the clock was moved by hand (a manual or shifted clock) to roll without a submit.
   */
  tradingDayNow(): { day: string; rollsAt: number; boundary: string } {
    if (this._state === 'running') this.rollDay(this.clock.now());
    return this.currentDay;
  }

  /**
   * Roll the trading day if its boundary has passed (`now` at or after it): journaled, then
   * applied as a replay applies it. Called from submit, from a timer at the boundary, and at
   * start for an engine that was down across a boundary.
   */
  private rollDay(now: number): void {
    if (now < this.nextRollAt) return;
    const day = this.dayName;
    const next = this.tradingDay.dayOf(now);
    this.nextRollAt = this.tradingDay.nextRoll(now);
    if (next === day) return;
    if (this.journal !== undefined) this.record({ k: 'day', t: now, day, next });
    this.applyRoll(day, next, now);
  }

  /**
   * The day's finished orders leave memory (the table's and the day's store: they stay in the
   * journal), the bounds alerted start again, reconciliation keeps only its open diffs (each
   * marked with its day) and forgets what it had seen of the old day. Open orders carry over.
   */
  private applyRoll(day: string, next: string, now: number): DayRoll {
    // the ended day's report, taken before its orders go and written off the engine's thread
    const reportDir = this.reportDir;
    const report = reportDir !== undefined && !this.restoring ? this.recon.dayReportInput() : undefined;
    this.dayName = next;
    const t = this.table;
    const released = t.releaseFinished((slot) => {
      if ((t.flags[slot]! & F_EXTERNAL) !== 0) this.externalLive--;
    }) + this.archive.size;
    this.archive.clear();
    this.unkeptFills.clear();
    this.boundsHit.clear();
    const diffsCarried = this.recon.rollDay();
    this.counters.dayRolls++;
    const roll: DayRoll = { day, next, time: now, released, carriedOver: t.size, diffsCarried };
    if (this.restoring) return roll;
    this.logger.info({ ...roll }, 'trading day rolled');
    for (const o of this.observers) o.onDayRoll?.(roll);
    if (report !== undefined) {
      this.dayReport = generateEodReport(report)
        .then((out) => {
          const files = writeEodReport(out, reportDir!);
          this.logger.info({ day, ...files }, 'end-of-day report written');
          return files;
        })
        .catch((err: unknown) => {
          this.logger.error({ day, err: (err as Error).message }, 'end-of-day report not written');
          return undefined;
        });
    }
    return roll;
  }

  private countExternal(): number {
    const t = this.table;
    let n = 0;
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && (t.flags[s]! & F_EXTERNAL) !== 0) n++;
    return n;
  }

  private armRollTimer(): void {
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = this.clock.setTimer(() => {
      this.rollTimer = undefined;
      if (this._state !== 'running') return;
      if (this.handling) {
        // a report is being applied (a callback moved a manual clock): roll right after it
        this.rollTimer = this.clock.setTimer(() => this.armRollTimer(), 0);
        return;
      }
      this.rollDay(this.clock.now());
      this.armRollTimer();
    }, Math.max(0, this.nextRollAt - this.clock.now()));
  }

  private throttle(retryAfterMs: number, detail: string): void {
    this.counters.throttles++;
    this.throttledUntil = Math.max(this.throttledUntil, this.clock.now() + retryAfterMs);
    this.logger.warn({ broker: this.broker.name, retryAfterMs, detail }, 'broker throttle: no new orders until it passes');
  }

  /**
   * Run recovery sync now on a Ready connection, for example when orders sit in PendingNew
   * because an ack was lost. PendingNew orders younger than `graceMs` (default 5000) are left
   * to their acks; older ones the broker does not have are Rejected (RECOVERY_NOT_FOUND).
   */
  async resync(options: { graceMs?: number } = {}): Promise<SyncSummary> {
    if (!this.ready) throw new Error(`cannot resync: ${this.notReadyDetail()}`);
    const grace = options.graceMs ?? 5000;
    if (!(grace >= 0)) throw new RangeError(`graceMs must be >= 0, got ${grace}`);
    await this.recoverySync(this.clock.now() - grace);
    return this._lastSync!;
  }

  /** Fetch the broker's records and merge them (see connectivity/recovery.ts). A failed fetch merges nothing. */
  private async recoverySync(pendingNewBefore = Infinity): Promise<void> {
    const b = this.broker;
    const { touched, stop } = this.watchReports();
    let open, trades, day;
    try {
      open = await b.syncOpenOrders();
      trades = await b.syncTodayTrades();
      day = b.syncDayOrders !== undefined ? await b.syncDayOrders() : undefined;
    } finally {
      stop();
    }
    this._lastSync = mergeRecovery(this.recoveryTarget, { open, trades, ...(day !== undefined ? { day } : {}), touched, pendingNewBefore });
    this.counters.syncs++;
    this.logger.info({ broker: b.name, ...this._lastSync }, 'recovery sync done');
  }

  /** An order changed while a sync or a reconciliation runs: it is left out of that run. */
  private touch(clientOrderId: string): void {
    for (const set of this.touchSets) set.add(clientOrderId);
  }

  /** Collect the client ids of orders submitted, cancelled or reported until `stop`. */
  private watchReports(): { touched: Set<string>; stop(): void } {
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

  /** What recovery sync may do to the engine: apply reports, read orders, resend a pending cancel, flag. */
  private readonly recoveryTarget: RecoveryTarget = {
    orders: () => this.orders(),
    apply: (r) => this.onReport(r),
    statusOf: (id) => {
      const slot = this.table.byClientId.get(id);
      return slot < 0 ? undefined : statusName(this.table.status[slot]!);
    },
    resendCancel: (id) => {
      const t = this.table;
      const slot = t.byClientId.get(id);
      if (slot < 0) return false;
      try {
        this.broker.cancelOrder({ clientOrderId: id, brokerOrderId: t.brokerId[slot]! });
        this.counters.cancelsSent++;
        return true;
      } catch (err) {
        this.logger.warn({ clientOrderId: id, brokerOrderId: t.brokerId[slot], error: (err as Error).message }, 'recovery: cancel could not be sent again');
        return false;
      }
    },
    flag: (kind, reason, clientOrderId, brokerOrderId) => this.anomaly(kind, reason, clientOrderId, brokerOrderId),
    fillCount: () => this.counters.fills,
    // by broker id first: the same broker order, let go from the table today
    released: (clientOrderId, brokerOrderId) =>
      brokerOrderId !== '' ? this.archive.positionOfBroker(brokerOrderId) >= 0 : this.archive.positionOf(clientOrderId) >= 0,
  };

  /**
   * Reconcile with the broker's records now: orders, fills, positions and cash (see
   * docs/reconciliation.md). Safe differences are fixed per the policy, the rest are raised as
   * diffs. Joins a run already under way. Rejects when the broker cannot be asked.
   */
  reconcile(): Promise<ReconRun> {
    return this.recon.run('manual');
  }

  /** What reconciliation may read and do (see recon/reconciler.ts). */
  private reconTarget(): ReconTarget {
    const t = this.table;
    const slotOf = (id: string) => t.byClientId.get(id);
    return {
      instruments: this.instruments,
      clock: this.clock,
      logger: this.logger,
      broker: this.broker,
      notReady: () => (this.ready ? '' : this.notReadyDetail()),
      orders: () => this.orders(),
      ordersPage: (from, max) => {
        // live slots from `from`, unsorted: reconciliation keys them by id and yields between pages
        const out: LocalOrder[] = [];
        let s = Math.max(0, from);
        for (; s < t.capacity && out.length < max; s++) if (t.live[s] === 1) out.push(this.snapshot(s));
        return { orders: out, next: s < t.capacity ? s : -1 };
      },
      order: (id) => {
        const slot = slotOf(id);
        return slot < 0 ? undefined : this.snapshot(slot);
      },
      orderByBrokerId: (id) => {
        const slot = t.byBrokerId.get(id);
        return slot < 0 ? undefined : this.snapshot(slot);
      },
      hasExec: (id, execId) => {
        const slot = slotOf(id);
        return slot < 0 ? undefined : t.hasExec(slot, execId);
      },
      positions: () => new Map(this.instruments.map((inst) => [inst.symbol, this.money.qty(inst.index, this.ledger.pos[inst.index]!)])),
      cash: () => ({ ...this.ledger.account().cash }),
      apply: (r) => {
        this.correcting = true;
        try {
          this.onReport(r);
        } finally {
          this.correcting = false;
        }
      },
      adjust: (a) => {
        switch (a.what) {
          case 'position':
            {
              const i = this.bySymbol.get(a.symbol)!.index;
              this.ledger.adjustPosition(i, Math.round(a.qty * this.money.qtyScale[i]!));
            }
            return;
          case 'cash':
            this.ledger.adjustCash(a.currency, a.amount);
            return;
          case 'fill-value': {
            const slot = slotOf(a.clientOrderId);
            if (slot < 0) return;
            const cum = t.cumQty[slot]!;
            const i = t.instrument[slot]!;
            if (cum > 0) this.ledger.reprice(i, t.side[slot]!, Math.round(cum * this.money.qtyScale[i]!), this.ledger.valueUnits(i, a.from), this.ledger.valueUnits(i, a.to));
            t.fillValue[slot] = a.to;
            return;
          }
          case 'limit-price': {
            const slot = slotOf(a.clientOrderId);
            if (slot >= 0) t.price[slot] = Math.round(a.price * this.instruments[t.instrument[slot]!]!.scale);
            return;
          }
        }
      },
      tradingState: () => this._tradingState,
      setTradingState: (state, reason) => {
        this.setTradingState(state, reason);
      },
      record: (ev) => this.journal === undefined || this.record({ k: 'recon', t: this.clock.now(), ev }),
      notify: (ev) => {
        if (this.restoring) return;
        for (const o of this.observers) o.onDiff?.(ev);
      },
      correction: (c: Correction) => {
        const s = this.strategy;
        if (this.restoring || s?.onCorrection === undefined) return;
        try {
          s.onCorrection(c);
        } catch (err) {
          this.counters.callbackErrors++;
          this.anomaly('CALLBACK_ERROR', `strategy onCorrection threw: ${(err as Error).message}`, c.clientOrderId || undefined, c.brokerOrderId || undefined);
        }
      },
      watch: () => this.watchReports(),
      day: () => this.dayName,
    };
  }

  /** Register the strategy callbacks. Once only: a second call throws. */
  setStrategy(callbacks: StrategyCallbacks): void {
    if (this.strategy !== undefined) throw new Error('strategy callbacks are already registered');
    const problems = strategyProblems(callbacks, 'strategy');
    if (problems.length > 0) throw new ConfigError(problems);
    this.strategy = callbacks;
  }

  /** Latest reference price for a symbol (market-order notional checks). */
  updateReference(symbol: string, price: number): void {
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    if (!(price > 0) || !Number.isFinite(price)) throw new RangeError(`reference price must be positive and finite, got ${price}`);
    this.risk.setReference(inst.index, price, inst.scale);
  }

  /**
   * Submit an order. Returns at once: `accepted` (handed to the broker), `duplicate` (the id is
   * active: nothing sent, the existing ids returned) or `denied` (refused locally with a code).
   * Runs on the TypeScript path: per order it measured faster than one native call.
   *
   * @example
   * const r = engine.submit({ clientOrderId: 'o-1', symbol: 'ACME', side: 'buy', qty: 100, price: 10.05 });
   * if (r.status === 'denied') console.log(r.reason, r.detail);
   */
  submit(order: OrderRequest): SubmitResult {
    this.counters.submits++;
    const parsed = this.parse(order);
    const p = this.parsed;
    if (parsed === PARSE_BAD_ID) return this.deny(p.idText, R.INVALID_ORDER, p.detail);
    const id = p.id;
    const t = this.table;
    const ns = this.readNs();
    this.eventNs = ns;
    const now = this.baseMs + ns / 1e6;
    if (now >= this.nextRollAt) this.rollDay(now);
    // Finished orders past their retention move to the day's store (their ids stay refused).
    t.recycle(now);
    // 1. dedup: active (the table), or finished today (the table, then the day's store)
    const existing = t.byClientId.get(id);
    if (existing >= 0) return this.dedupResult(existing, id);
    if (this.archive.size > 0) {
      const done = this.archive.positionOf(id);
      if (done >= 0) return this.deny(id, R.DUPLICATE_ORDER_ID, `clientOrderId=${id} status=${STATUS_NAMES[this.archive.statusAt(done)]} tradingDay=${this.dayName}`);
    }
    // 2. gate
    if (!this.ready) return this.deny(id, R.BROKER_NOT_READY, this.notReadyDetail());
    if (now < this.throttledUntil) return this.deny(id, R.RATE_LIMIT, `limit=broker-throttle retryInMs=${Math.ceil(this.throttledUntil - now)}`);
    if (parsed !== 0) return this.deny(id, parsed, p.detail);
    if (this._tradingState === 'Halted') return this.deny(id, R.TRADING_HALTED, `state=Halted reason=${this.lastStateReason}`);
    const inst = p.inst!;
    if (this.closed(inst, now)) return this.deny(id, R.OUTSIDE_SESSION, this.sessionDetail(inst, now));
    // 3. risk: the per-order gate, then the account checks
    const market = p.type === TYPE_MARKET;
    const position = this.ledger.pos[inst.index]!;
    const reason = this.risk.check(inst, p.side, market, order.qty, order.price as number, position);
    if (reason !== 0) return this.deny(id, reason, this.risk.detail(reason, inst, p.side, market, order.qty, order.price as number, position));
    const post = this.postCheck(inst, p.side, market, order.qty, this.risk.priceUnits, p.reduceOnly || this._tradingState === 'Reducing', this.risk.openBuy, this.risk.openSell, now);
    if (post !== 0) return this.deny(id, post, this.postDetail);
    // 5, 6. order table and adapter; exposure, rates and open counts from here
    const res = this.place(id, inst, p.side, p.type, p.tif, order.qty, this.risk.priceUnits, now, order.side, this.protection);
    if (res.status === 'accepted') {
      this.addExposure(inst.index, p.side, this.risk.qtyUnits);
      this.accountRisk.openValueAdd(inst.index, this.risk.qtyUnits, this.risk.priceUnits);
      this.accountRisk.now = now;
      this.accountRisk.accept(inst.index);
    }
    // reports an adapter delivered from inside placeOrder, now that the order is counted
    if (!this.handling && this.backlog.length > 0) this.drain();
    return res;
  }

  /**
   * Submit many orders at once; the results come back in the same order, each exactly what
   * `submit` would have returned for that order at that point. The dedup probe and the
   * per-order checks run once per chunk of up to 256 orders, in the native addon when it is
   * loaded (see `engine.backend`), over the engine's own memory. Reports an adapter delivers
   * during the call are applied after it returns.
   */
  submitMany(orders: readonly OrderRequest[]): SubmitResult[] {
    if (!Array.isArray(orders)) throw new TypeError('submitMany takes an array of orders');
    const results = new Array<SubmitResult>(orders.length);
    const outer = this.handling;
    this.handling = true;
    try {
      for (let start = 0; start < orders.length; start += BATCH) {
        this.submitChunk(orders, start, Math.min(BATCH, orders.length - start), results);
      }
    } finally {
      if (!outer) {
        this.handling = false;
        if (this.backlog.length > 0) this.drain();
      }
    }
    return results;
  }

  private submitChunk(orders: readonly OrderRequest[], start: number, n: number, results: SubmitResult[]): void {
    const t = this.table;
    const b = this.batch;
    const ns = this.readNs();
    const now = this.baseMs + ns / 1e6;
    if (now >= this.nextRollAt) this.rollDay(now);
    t.recycle(now);
    // Not ready, Halted or Reducing: every order one by one (the state is the same for all).
    if (!this.ready || this._tradingState !== 'Active' || now < this.throttledUntil) {
      for (let k = 0; k < n; k++) results[start + k] = this.submit(orders[start + k]!);
      return;
    }
    this.counters.submits += n;
    // Exposure as one-by-one submits would see it, order by order: the gate counts every pass
    // ahead, but the account checks and any fallback must see only the orders accepted so far.
    // Built by adding in order, never subtracting, so float sums match to the last bit.
    this.seqBuy.set(this.risk.openBuy);
    this.seqSell.set(this.risk.openSell);
    const ids = this.batchIds;
    const pre = this.batchPre;
    const details = this.batchDetail;
    // pre-pass: parse, hash the ids, fill the gate's input arrays
    for (let k = 0; k < n; k++) {
      const o = orders[start + k]!;
      const parsed = this.parse(o);
      const p = this.parsed;
      pre[k] = parsed;
      if (parsed === PARSE_BAD_ID) {
        b.reason[k] = GATE_SKIP;
        ids[k] = p.idText;
        details[k] = p.detail;
        continue;
      }
      ids[k] = p.id;
      t.byClientId.hashInto(p.id, b.hashHi, b.hashLo, k);
      // finished earlier today and let go from the table: refused as submit refuses it (the
      // gate's dedup probe sees the table only; an id live in the table is never in the store)
      if (this.archive.size > 0 && this.archive.positionOf(p.id) >= 0) {
        b.reason[k] = pre[k] = R.DUPLICATE_ORDER_ID;
        details[k] = `clientOrderId=${p.id} status=${STATUS_NAMES[this.archive.statusAt(this.archive.positionOf(p.id))]} tradingDay=${this.dayName}`;
        continue;
      }
      if (parsed !== 0) {
        b.reason[k] = parsed;
        details[k] = p.detail;
        continue;
      }
      if (this.closed(p.inst!, now)) {
        b.reason[k] = pre[k] = R.OUTSIDE_SESSION;
        details[k] = this.sessionDetail(p.inst!, now);
        continue;
      }
      b.reason[k] = 0;
      b.inst[k] = p.inst!.index;
      b.side[k] = p.side;
      b.market[k] = p.type === TYPE_MARKET ? 1 : 0;
      // a non-number must fail the checks exactly as in submit: NaN does (Float64Array would coerce)
      b.qty[k] = typeof o.qty === 'number' ? o.qty : Number.NaN;
      b.price[k] = typeof o.price === 'number' ? o.price : Number.NaN;
      this.batchTif[k] = p.tif;
      this.batchReduce[k] = p.reduceOnly ? 1 : 0;
    }
    try {
      this.gate.run(n);
    } catch (err) {
      this.logger.error({ err }, 'batch gate failed; submitting this chunk one by one');
      return this.rerun(orders, start, n, 0, results); // also restores any exposure the gate added
    }
    // finalize in order; anything that breaks sequential semantics reruns the rest one by one
    for (let k = 0; k < n; k++) {
      const o = orders[start + k]!;
      const id = ids[k]!;
      const r = b.reason[k]!;
      if (r === GATE_SKIP) {
        results[start + k] = this.deny(id, R.INVALID_ORDER, details[k]!);
        continue;
      }
      if (r === GATE_DUP) {
        const cand = b.dup[k]!;
        const slot = cand >= 0 ? (t.clientId[cand] === id ? cand : -1) : ids[-2 - cand] === id ? this.batchSlot[-2 - cand]! : -1;
        if (slot < 0) return this.rerun(orders, start, n, k, results); // a hash collision, not a duplicate
        results[start + k] = this.dedupResult(slot, id);
        continue;
      }
      if (pre[k] !== 0) {
        results[start + k] = this.deny(id, pre[k]!, details[k]!);
        continue;
      }
      const inst = this.instruments[b.inst[k]!]!;
      const side = b.side[k]!;
      if (r !== 0) {
        const market = b.market[k] === 1;
        const detail = this.risk.detail(r, inst, side, market, o.qty, o.price as number, this.ledger.pos[inst.index]!, b.aux[k]);
        results[start + k] = this.deny(id, r, detail);
        continue;
      }
      this.batchSlot[k] = -1;
      const market = b.market[k] === 1;
      const post = this.postCheck(inst, side, market, o.qty, b.units[k]!, this.batchReduce[k] === 1, this.seqBuy, this.seqSell, now);
      let res: SubmitResult;
      if (post !== 0) res = this.deny(id, post, this.postDetail);
      else {
        this.eventNs = ns; // the chunk's reading: an adapter's placeOrder may have submitted since
        res = this.place(id, inst, side, market ? TYPE_MARKET : TYPE_LIMIT, this.batchTif[k]!, o.qty, b.units[k]!, now, o.side, this.protection);
      }
      results[start + k] = res;
      // Refused after the gate counted its exposure: later orders were checked with it.
      if (res.status === 'denied') return this.rerun(orders, start, n, k + 1, results);
      this.batchSlot[k] = this.lastSlot;
      this.addTo(side > 0 ? this.seqBuy : this.seqSell, inst.index, b.exposure[k]!);
      this.accountRisk.openValueAdd(inst.index, b.exposure[k]!, b.units[k]!);
      this.accountRisk.now = now;
      this.accountRisk.accept(inst.index);
    }
  }

  /**
   * Something broke sequential semantics in the chunk: set the exposure to what the orders
   * accepted so far left (the in-order sums), then submit orders from..n-1 one by one.
   */
  private rerun(orders: readonly OrderRequest[], start: number, n: number, from: number, results: SubmitResult[]): void {
    this.risk.openBuy.set(this.seqBuy);
    this.risk.openSell.set(this.seqSell);
    this.counters.submits -= n - from;
    for (let k = from; k < n; k++) results[start + k] = this.submit(orders[start + k]!);
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
  private closed(inst: Instrument, now: number): boolean {
    const cal = this.calendars[inst.index];
    return cal !== undefined && !cal.isOpen(now);
  }

  private sessionDetail(inst: Instrument, now: number): string {
    const next = this.calendars[inst.index]!.nextOpenAt(now);
    return `symbol=${inst.symbol} market=${inst.market} nextOpen=${Number.isFinite(next) ? new Date(next).toISOString() : 'none within 31 days'}`;
  }

  /** The account checks after the gate; on a refusal the detail is left in `postDetail`. */
  private postCheck(inst: Instrument, side: number, market: boolean, qty: number, units: number, reduceOnly: boolean, openBuy: Float64Array, openSell: Float64Array, now: number): number {
    this.protection = Number.NaN;
    const A = this.accountRisk;
    A.now = now;
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

  /** Validate the id and parse symbol, side, type and tif into `this.parsed`; no side effects. */
  private parse(order: OrderRequest): number {
    const p = this.parsed;
    if (typeof order !== 'object' || order === null) {
      p.idText = '';
      p.detail = 'order must be an object';
      return PARSE_BAD_ID;
    }
    const id = order.clientOrderId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) {
      p.idText = String(id);
      p.detail = 'clientOrderId must be a string of 1 to 64 characters';
      return PARSE_BAD_ID;
    }
    // printable ASCII only (0x21-0x7E): a control character, space or non-ASCII one would
    // break a wire protocol (0x01 is FIX's field separator)
    for (let k = 0; k < id.length; k++) {
      const ch = id.charCodeAt(k);
      if (ch < 0x21 || ch > 0x7e) return this.badIdChar(id, k, ch);
    }
    p.id = id;
    const inst = this.bySymbol.get(order.symbol);
    if (inst === undefined) {
      p.detail = `symbol=${String(order.symbol)}`;
      return R.UNKNOWN_SYMBOL;
    }
    p.inst = inst;
    p.side = order.side === 'buy' ? 1 : order.side === 'sell' ? -1 : 0;
    if (p.side === 0) {
      p.detail = `side=${String(order.side)} expected=buy|sell`;
      return R.INVALID_ORDER;
    }
    p.type = order.type === undefined || order.type === 'limit' ? TYPE_LIMIT : order.type === 'market' ? TYPE_MARKET : -1;
    if (p.type < 0) {
      p.detail = `type=${String(order.type)} expected=limit|market`;
      return R.INVALID_ORDER;
    }
    p.tif = order.tif === undefined || order.tif === 'day' ? TIF_DAY : order.tif === 'gtc' ? TIF_GTC : order.tif === 'ioc' ? TIF_IOC : -1;
    if (p.tif < 0) {
      p.detail = `tif=${String(order.tif)} expected=day|gtc|ioc`;
      return R.INVALID_ORDER;
    }
    const ro = order.reduceOnly;
    if (ro !== undefined && ro !== true && ro !== false) {
      p.detail = `reduceOnly=${String(ro)} expected=true|false`;
      return R.INVALID_ORDER;
    }
    p.reduceOnly = ro === true;
    return 0;
  }

  /** A client order id with a character outside 0x21-0x7E at `k` (kept off the hot path). */
  private badIdChar(id: string, k: number, ch: number): number {
    const p = this.parsed;
    p.idText = id;
    p.detail = `clientOrderId must be 1 to 64 printable ASCII characters (0x21-0x7E): character ${k + 1} is U+${ch.toString(16).toUpperCase().padStart(4, '0')}${ch === 0x20 ? ' (space)' : ch < 0x20 || ch === 0x7f ? ' (a control character)' : ''}`;
    return PARSE_BAD_ID;
  }

  /** The answer for an id that is already in the table. */
  private dedupResult(slot: number, id: string): SubmitResult {
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
  private place(id: string, inst: Instrument, side: number, type: number, tif: number, qty: number, units: number, now: number, sideName: Side, protection: number): SubmitResult {
    const t = this.table;
    const slot = t.allocate(now);
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
    if (this.touchSets.length > 0) this.touch(id);
    // 4. journal: the intent is written before anything leaves the process
    if (this.journal !== undefined) {
      const journaled = this.record({ k: 'intent', t: now, id, i: inst.index, side, type, tif, qty, px: units });
      if (!journaled || !this.barrier(id)) {
        // the intent may sit in the writer's buffer and reach the disk later: void it there too
        if (journaled) this.record({ k: 'unsent', t: now, id });
        t.exposure[slot] = 0;
        t.unallocate(slot);
        return this.deny(id, R.JOURNAL_FAILED, `journal=${this.journal.dir} error=${this.journalError}`);
      }
    }
    // A report the adapter delivers from inside placeOrder waits until the order is counted.
    const outer = this.handling;
    this.handling = true;
    try {
      this.broker.placeOrder({
        clientOrderId: id,
        symbol: inst.symbol,
        side: sideName,
        type: TYPE_NAMES[type]!,
        tif: TIF_NAMES[tif]!,
        qty,
        price: type === TYPE_MARKET ? Number.NaN : fromPriceUnits(units, inst.scale),
        // a plain literal of one shape: an object spread here measured 160 B and a slow path per order
        protectionPrice: Number.isNaN(protection) ? undefined : fromPriceUnits(protection, inst.scale),
      });
    } catch (err) {
      if (err instanceof NotSentError) {
        // Nothing left the process: undo the slot so the id can be used again.
        t.exposure[slot] = 0;
        t.unallocate(slot);
        if (this.journal !== undefined) this.record({ k: 'unsent', t: now, id });
        this.endPlace(outer);
        return this.deny(id, R.BROKER_NOT_READY, `broker=${this.broker.name} error=${err.message}`);
      }
      // Outcome unknown: never resent; stays PendingNew until recovery sync resolves it.
      this.counters.sendFailures++;
      this.anomaly('SEND_FAILED', `placeOrder threw: ${(err as Error).message}`, id, '');
    }
    this.counters.accepted++;
    this.endPlace(outer);
    // per order, so debug only (a pino line measured ~2.5 µs)
    if (this.debugOrders) this.logger.debug({ clientOrderId: id, symbol: inst.symbol, side: sideName, qty, price: fromPriceUnits(units, inst.scale) }, 'order sent');
    return { status: 'accepted', clientOrderId: id };
  }

  private notReadyDetail(): string {
    return `engine=${this._state} connection=${this.connection.state}`;
  }

  private endPlace(outer: boolean): void {
    this.handling = outer;
  }

  /**
   * Cancel an order by client order id. Idempotent: a second cancel while one is pending, or a
   * cancel of a finished order, sends nothing and says why.
   */
  cancel(clientOrderId: string): CancelResult {
    return this.cancelOrder(clientOrderId, false);
  }

  private cancelOrder(clientOrderId: string, exempt: boolean): CancelResult {
    this.counters.cancels++;
    if (typeof clientOrderId !== 'string' || clientOrderId.length === 0) {
      return { status: 'denied', clientOrderId: String(clientOrderId), reason: 'INVALID_ORDER', detail: 'clientOrderId must be a non-empty string' };
    }
    const t = this.table;
    const slot = t.byClientId.get(clientOrderId);
    if (slot < 0) return { status: 'denied', clientOrderId, reason: 'UNKNOWN_ORDER', detail: `clientOrderId=${clientOrderId}` };
    const st = t.status[slot]!;
    if (st === OrderStatus.PendingCancel || isTerminal(st)) {
      this.counters.cancelsIgnored++;
      return { status: 'ignored', clientOrderId, reason: st === OrderStatus.PendingCancel ? 'CANCEL_PENDING' : 'ORDER_FINISHED', orderStatus: statusName(st) };
    }
    // Degraded (heartbeats late, the line still up): cancels still go, they only reduce risk.
    const conn = this.connection.state;
    if (this._state !== 'running' || (conn !== 'Ready' && conn !== 'Degraded')) {
      return { status: 'denied', clientOrderId, reason: 'BROKER_NOT_READY', detail: this.notReadyDetail() };
    }
    const now = this.clock.now();
    if (!exempt && this.cancelOutside === 'refuse') {
      const inst = this.instruments[t.instrument[slot]!]!;
      if (this.closed(inst, now)) return { status: 'denied', clientOrderId, reason: 'OUTSIDE_SESSION', detail: this.sessionDetail(inst, now) };
    }
    if (!exempt && !this.accountRisk.takeCancel(now)) {
      return { status: 'denied', clientOrderId, reason: 'RATE_LIMIT', detail: `limit=cancels-per-second retryInMs=${this.accountRisk.cancelWaitMs(now)}` };
    }
    const brokerOrderId = t.brokerId[slot]!;
    if (this.journal !== undefined) {
      const journaled = this.record({ k: 'cancel', t: now, id: clientOrderId });
      if (!journaled || !this.barrier(clientOrderId)) {
        if (journaled) this.record({ k: 'cancel-unsent', t: now, id: clientOrderId, st });
        return { status: 'denied', clientOrderId, reason: 'JOURNAL_FAILED', detail: `journal=${this.journal.dir} error=${this.journalError}` };
      }
    }
    t.prevStatus[slot] = st;
    t.status[slot] = nextStatus(st, OrderEvent.CancelRequested);
    t.updatedAt[slot] = now;
    if (this.touchSets.length > 0) this.touch(clientOrderId);
    try {
      this.broker.cancelOrder({ clientOrderId, brokerOrderId });
    } catch (err) {
      if (err instanceof NotSentError) {
        t.status[slot] = st;
        if (this.journal !== undefined) this.record({ k: 'cancel-unsent', t: now, id: clientOrderId, st });
        return { status: 'denied', clientOrderId, reason: 'BROKER_NOT_READY', detail: `broker=${this.broker.name} error=${err.message}` };
      }
      this.counters.sendFailures++;
      this.anomaly('SEND_FAILED', `cancelOrder threw: ${(err as Error).message}`, clientOrderId, brokerOrderId);
    }
    this.counters.cancelsSent++;
    return { status: 'sent', clientOrderId, brokerOrderId };
  }

  /** The trading state: Active, Reducing (only position-shrinking orders) or Halted. */
  get tradingState(): TradingState {
    return this._tradingState;
  }

  /** Every trading-state change since start, oldest first. */
  tradingStateHistory(): TradingStateChange[] {
    return [...this.stateHistory];
  }

  /**
   * Move the trading state. `Halted` refuses new orders (cancels still pass); `Reducing`
   * accepts only orders that shrink a position. Every change is logged, recorded and passed
   * to `onTradingState`. Returns the change, or undefined when the state was already `state`.
   *
   * @example
   * engine.setTradingState('Reducing', 'daily loss limit reached');
   */
  setTradingState(state: TradingState, reason: string): TradingStateChange | undefined {
    if (!TRADING_STATES.includes(state)) throw new TypeError(`trading state must be one of ${TRADING_STATES.join(', ')}, got ${String(state)}`);
    if (typeof reason !== 'string' || reason.length === 0) throw new TypeError('setTradingState needs a reason (a non-empty string)');
    if (state === this._tradingState) return undefined;
    const change: TradingStateChange = { from: this._tradingState, to: state, reason, time: this.clock.now() };
    if (this.journal !== undefined) this.record({ k: 'state', t: change.time, to: state, reason });
    this._tradingState = state;
    this.lastStateReason = reason;
    this.stateHistory.push(change);
    const log = { tradingState: state, from: change.from, reason };
    if (state === 'Active') this.logger.info(log, 'trading state changed');
    else this.logger.warn(log, 'trading state changed');
    for (const o of this.observers) o.onTradingState?.(change);
    return change;
  }

  /**
   * The kill switch: move to Halted, then cancel every open order (cancel rate limits do not
   * apply). Idempotent: a second call sends nothing new for orders already pending cancel.
   */
  safeStop(reason: string): SafeStopResult {
    this.setTradingState('Halted', `safeStop: ${reason}`);
    const result: SafeStopResult = { state: 'Halted', cancelsSent: 0, alreadyPending: 0, failed: [] };
    const t = this.table;
    for (let s = 0; s < t.capacity; s++) {
      if (t.live[s] !== 1 || !isOpen(t.status[s]!)) continue;
      if (t.status[s] === OrderStatus.PendingCancel) {
        result.alreadyPending++;
        continue;
      }
      const r = this.cancelOrder(t.clientId[s]!, true);
      if (r.status === 'sent') result.cancelsSent++;
      else if (r.status === 'denied') result.failed.push({ clientOrderId: r.clientOrderId, reason: r.reason, detail: r.detail });
    }
    this.logger.warn({ reason, ...result, failed: result.failed.length }, 'safe stop');
    return result;
  }

  /**
   * Swap the risk limits while trading. The whole config is validated first: a bad one is
   * refused with every problem and the old limits stay; a good one takes effect for the next
   * order, on both backends at once. Open-order counts carry over.
   *
   * @example
   * const r = engine.reloadRisk({ default: { maxOrderQty: 500 }, account: { ordersPerSecond: 20 } });
   * if (!r.ok) console.error(r.problems);
   */
  reloadRisk(risk: RiskConfig): { ok: true } | { ok: false; problems: string[] } {
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
    if (this.journal !== undefined) this.record({ k: 'config', t: this.clock.now(), risk });
    this.logger.info('risk limits reloaded');
    return { ok: true };
  }

  /** Orders not yet finished (own and external): a scan of the table, no allocation. */
  openOrderCount(): number {
    const t = this.table;
    let n = 0;
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && isOpen(t.status[s]!)) n++;
    return n;
  }

  /** The latency histograms over the last `windowMs` (default 60 s) as of now. */
  latencyWindow(): EngineLatency {
    const now = this.clock.now();
    return { ack: this.ackLatency.window(now), firstFill: this.fillLatency.window(now), report: this.reportLatency.window(now), callback: this.callbackLatency.window(now) };
  }

  /** The four latency histograms themselves (the metrics export reads their buckets). */
  latencyHistograms(): { ack: LatencyHistogram; firstFill: LatencyHistogram; report: LatencyHistogram; callback: LatencyHistogram } {
    return { ack: this.ackLatency, firstFill: this.fillLatency, report: this.reportLatency, callback: this.callbackLatency };
  }

  /** The order with this client or broker order id, or undefined. */
  getOrder(id: string): Order | undefined {
    if (typeof id !== 'string' || id.length === 0) return undefined;
    let slot = this.table.byClientId.get(id);
    if (slot < 0) slot = this.table.byBrokerId.get(id);
    return slot < 0 ? undefined : this.snapshot(slot);
  }

  /** Every order not yet finished, oldest first (same millisecond: by client order id). */
  openOrders(): Order[] {
    return this.ordersWhere((st) => isOpen(st));
  }

  /** Every order the table holds (open and retained finished ones), oldest first (same millisecond: by client order id). */
  orders(): Order[] {
    return this.ordersWhere(() => true);
  }

  private ordersWhere(keep: (status: number) => boolean): Order[] {
    const t = this.table;
    const out: Order[] = [];
    for (let s = 0; s < t.capacity; s++) if (t.live[s] === 1 && keep(t.status[s]!)) out.push(this.snapshot(s));
    // same-millisecond orders by id: the order does not depend on which slots they took
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0));
  }

  /** One line per configured instrument. */
  positions(): Position[] {
    return this.ledger.positions();
  }

  account(): Account {
    return this.ledger.account();
  }

  stats(): EngineStats {
    const byReason = (arr: Uint32Array) => {
      const out: Record<string, number> = {};
      arr.forEach((n, i) => {
        if (n > 0) out[reasonCode(i)] = n;
      });
      return out;
    };
    return { ...this.counters, disconnects: this.connection.stats.disconnects, deniedByReason: byReason(this.deniedBy), rejectsByReason: byReason(this.rejectedBy) };
  }

  latency(): EngineLatency {
    return { ack: this.ackLatency.summary(), firstFill: this.fillLatency.summary(), report: this.reportLatency.summary(), callback: this.callbackLatency.summary() };
  }

  /**
   * Entry point for broker reports (the adapter's sink calls it). Never throws. A report that
   * arrives while another is being applied (from a callback, or an adapter delivering
   * synchronously) is queued and applied right after, in arrival order.
   */
  onReport(report: BrokerReport): void {
    if (this.handling) {
      this.backlog.push(report);
      return;
    }
    this.handling = true;
    try {
      this.handle(report);
      for (let i = 0; i < this.backlog.length; i++) this.handle(this.backlog[i]!);
    } finally {
      // only when used: setting an array's length is slow in V8 even when it is already 0
      if (this.backlog.length > 0) this.backlog.length = 0;
      this.handling = false;
    }
  }

  /** Apply reports queued while the engine was busy (submitMany), in arrival order. */
  private drain(): void {
    this.handling = true;
    try {
      for (let i = 0; i < this.backlog.length; i++) this.handle(this.backlog[i]!);
    } finally {
      this.backlog.length = 0;
      this.handling = false;
    }
  }

  private handle(r: BrokerReport): void {
    const ns = this.readNs();
    this.reportNs = ns;
    const t0 = this.baseMs + ns / 1e6;
    // 6. journal: the report as it arrived, before it changes anything (a non-object is only flagged)
    if (this.journal !== undefined && typeof r === 'object' && r !== null) this.record(reportRecord(t0, r));
    this.handleAt(r, t0);
  }

  private handleAt(r: BrokerReport, t0: number): void {
    const ns = this.reportNs;
    this.handleOne(r, t0);
    // reports that waited for the ack just applied (journaled when they arrived), right after it
    while (this.unparked.length > 0) {
      this.reportNs = ns; // a callback's submit may have read the clock since
      this.handleOne(this.unparked.shift()!, t0);
    }
  }

  private handleOne(r: BrokerReport, t0: number): void {
    this.cbSlot = -1;
    try {
      this.apply(r, t0);
    } catch (err) {
      // A bug must not take the process down with a half-applied report unseen: flag it.
      this.cbSlot = -1;
      this.anomaly('MALFORMED_REPORT', `report handling failed: ${(err as Error).stack ?? String(err)}`, undefined, undefined, r);
    }
    if (this.restoring) return;
    // Handling and callback times on every reportTimingEvery-th report: one more reading when
    // the state is applied and one when the callbacks returned (the others take none).
    const timed = this.timed && (++this.timingTick & this.timingMask) === 0;
    const t1 = timed ? this.readNs() : 0;
    if (timed) this.reportLatency.recordNs(t1 - this.reportNs, t0);
    // 7. callbacks
    const slot = this.cbSlot;
    const t = this.table;
    if (slot >= 0 && this.debugOrders) {
      this.logger.debug({ clientOrderId: t.clientId[slot], brokerOrderId: t.brokerId[slot], kind: r.kind, execId: r.execId, status: statusName(t.status[slot]!) }, 'report applied');
    }
    const s = this.strategy;
    if (slot < 0 || s === undefined) return;
    if (this.objectArgs) this.callWithObjects(s, slot, r, t0);
    else {
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
      this.anomaly('MALFORMED_REPORT', problem, undefined, undefined, r);
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
          this.anomaly('ID_MISMATCH', `brokerOrderId=${bid} belongs to clientOrderId=${t.clientId[slot]} but report says ${r.clientOrderId}`, r.clientOrderId, bid, r);
          return;
        }
        // an external order adopted from reports that named only this broker id: is it ours?
        const own = t.byClientId.get(r.clientOrderId);
        if (own >= 0 && t.brokerId[own] === '' && (t.flags[own]! & F_EXTERNAL) === 0) slot = this.claimExternal(slot, own, r);
      }
    } else if (r.clientOrderId && (slot = t.byClientId.get(r.clientOrderId)) >= 0) {
      if (bid !== '') {
        if (t.brokerId[slot] === '') {
          t.setBrokerId(slot, bid);
          if (this.parkedCount > 0) this.unpark(bid);
        } else {
          this.anomaly('ID_MISMATCH', `clientOrderId=${r.clientOrderId} has brokerOrderId=${t.brokerId[slot]} but report says ${bid}`, r.clientOrderId, bid, r);
          return;
        }
      }
    } else if (this.archive.size > 0 && ((bid !== '' && this.archive.positionOfBroker(bid) >= 0) || (r.clientOrderId && this.archive.positionOf(r.clientOrderId) >= 0))) {
      this.lateReport(r);
      return;
    } else if (!r.clientOrderId && !this.adoptNow && this.limits.maxParkedReports > 0) {
      // only a broker id, and one no order has yet: most likely a fill that overtook the ack of
      // one of ours; it waits for the ack that maps the id (parkMs), then counts as external
      this.park(r, now);
      return;
    }
    if (slot < 0) {
      slot = this.adoptExternal(r, now);
      if (slot < 0) return;
    }
    if (this.touchSets.length > 0 && !this.correcting) this.touch(t.clientId[slot]!);
    // 2. dedup by (brokerOrderId, execId); the id is recorded below, once the report took effect
    if (t.hasExec(slot, r.execId)) {
      c.duplicateReports++;
      return;
    }
    if (t.execIdCount(slot) >= t.maxExecIds) {
      c.boundRefusals++;
      this.boundReached(`maxExecIdsPerOrder:${t.clientId[slot]}`, `order keeps limits.maxExecIdsPerOrder=${t.maxExecIds} report ids; report refused execId=${r.execId}`, t.clientId[slot], t.brokerId[slot]);
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
      } else t.lastSeq[slot] = r.seq;
    }
    // 4. transition table
    const from = t.status[slot]!;
    let to = nextStatus(from, event);
    if (to === INVALID) {
      c.invalidTransitions++;
      this.anomaly('INVALID_TRANSITION', `invalid transition ${statusName(from)} + ${r.kind} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
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
        this.boundReached(`position:${inst.symbol}`, `a fill would take the ${inst.symbol} position past 2^53 quantity units; refused execId=${r.execId}`, t.clientId[slot], t.brokerId[slot]);
        return;
      }
      // on the quantity grid: 0.1 + 0.2 fills read 0.3, not 0.30000000000000004
      const qs = this.money.qtyScale[inst.index]!;
      t.cumQty[slot] = (Math.round(t.cumQty[slot]! * qs) + qu) / qs;
      t.fillValue[slot] = t.fillValue[slot]! + lastQty * px;
      const ex = t.exposure[slot]!;
      if (ex > 0) this.reduceExposure(slot, inst.index, Math.min(ex, qu));
      c.fills++;
      const limit = t.price[slot]! * FILL_SCALE;
      if (priceRounded || (t.side[slot]! > 0 ? pu > limit : pu < limit)) this.oddFill(slot, r, inst, pu, priceRounded);
      if (t.cumQty[slot]! > t.qty[slot]! + QTY_EPS) {
        c.overfills++;
        t.flags[slot]! |= F_OVERFILLED;
        this.anomaly('OVERFILL', `cumQty=${t.cumQty[slot]} qty=${t.qty[slot]} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
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
    if (r.cumQty !== undefined && !stale && Math.abs(r.cumQty - t.cumQty[slot]!) > QTY_EPS) this.checkCum(slot, r, fill, prevSeq);
    if (isTerminal(to) && !isTerminal(from)) {
      this.releaseExposure(slot);
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
    this.anomaly('MALFORMED_REPORT', `lastQty=${r.lastQty} is not a whole number of ${inst.symbol}'s quantity unit ${1 / this.money.qtyScale[inst.index]!} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
  }

  /** A booked fill at a price finer than a fill unit, or through the order's limit. */
  private oddFill(slot: number, r: BrokerReport, inst: Instrument, pu: number, rounded: boolean): void {
    const t = this.table;
    const c = this.counters;
    const px = r.lastPx!;
    if (rounded) {
      c.fillPricesRounded++;
      this.anomaly('FILL_PRICE_ROUNDED', `lastPx=${px} has more decimals than ${inst.symbol}'s fill unit ${1 / this.money.fillScale[inst.index]!}; booked at ${pu / this.money.fillScale[inst.index]!} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
    }
    const limit = t.price[slot]! * FILL_SCALE;
    if (t.side[slot]! > 0 ? pu > limit : pu < limit) {
      c.fillsThroughLimit++;
      this.anomaly('FILL_THROUGH_LIMIT', `${t.side[slot]! > 0 ? 'buy' : 'sell'} filled at lastPx=${px} through its limit price=${fromPriceUnits(t.price[slot]!, inst.scale)} execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
    }
  }

  /**
   * The broker's cumQty against the engine's own sum of applied fills (which stands; both are
   * kept in the anomaly). The engine ahead of the broker is wrong at once. The broker ahead is
   * judged only on a fill whose seq directly follows the last one applied: otherwise an
   * earlier fill may still be on its way (reordering), and reconciliation settles it.
   */
  private checkCum(slot: number, r: BrokerReport, fill: boolean, prevSeq: number): void {
    const t = this.table;
    const mine = t.cumQty[slot]!;
    const theirs = r.cumQty!;
    const ahead = mine > theirs + QTY_EPS;
    if (!ahead && !(theirs > mine + QTY_EPS && fill && r.seq !== undefined && r.seq === prevSeq + 1)) return;
    this.counters.cumQtyMismatches++;
    this.anomaly('CUM_QTY_MISMATCH', `broker cumQty=${theirs} engine cumQty=${mine} (${ahead ? 'the engine booked more than the broker counts' : 'the broker counts a fill the engine has not seen'}) execId=${r.execId}`, t.clientId[slot], t.brokerId[slot], r);
  }

  /** Nanoseconds from the order's submit to the report arriving now (from epoch ms when the order was not submitted in this process). */
  private sinceSubmit(slot: number, now: number): number {
    const c = this.table.createdNs[slot]!;
    return c === c ? this.reportNs - c : Math.round((now - this.table.createdAt[slot]!) * 1e6);
  }

  /** The callbacks with a fresh object each (`callbackArgs: 'objects'`). */
  private callWithObjects(s: StrategyCallbacks, slot: number, r: BrokerReport, t0: number): void {
    const t = this.table;
    if (s.onExecutionReport !== undefined) this.call(s.onExecutionReport, s, keepable(executionReportObject(t, this.instruments, slot, r, t0)), slot);
    if (r.kind === 'trade' && s.onTrade !== undefined) this.call(s.onTrade, s, keepable(tradeObject(t, this.instruments, slot, r, t0)), slot);
    if (this.cbChanged && s.onOrder !== undefined) this.call(s.onOrder, s, keepable(orderObject(t, this.instruments, slot)), slot);
  }

  private call<T>(fn: (arg: T) => void, self: StrategyCallbacks, arg: T, slot: number): void {
    try {
      fn.call(self, arg);
    } catch (err) {
      this.counters.callbackErrors++;
      this.anomaly('CALLBACK_ERROR', `strategy callback threw: ${(err as Error).message}`, this.table.clientId[slot], this.table.brokerId[slot]);
    }
  }

  /**
   * A report naming only a broker order id no order has: held for the ack that maps the id to
   * one of ours (a fill may overtake its ack), at most `limits.parkMs`, then taken as an
   * external order's. Bounded: past `maxParkedReports` the oldest goes now.
   */
  private park(r: BrokerReport, now: number): void {
    const bid = r.brokerOrderId;
    const list = this.parked.get(bid);
    if (list === undefined) {
      this.parked.set(bid, [r]);
      this.parkedOrder.push({ id: bid, t: now });
    } else list.push(r);
    this.parkedCount++;
    this.counters.parkedReports++;
    if (this.parkedCount > this.limits.maxParkedReports) {
      this.boundReached('maxParkedReports', `limits.maxParkedReports=${this.limits.maxParkedReports} reports wait for an ack: the oldest are taken as external orders now`);
      this.adoptParked(Infinity);
    }
    if (this.parkTimer === undefined && this.parkedCount > 0 && !this.restoring) this.armParkTimer(this.limits.parkMs);
  }

  private armParkTimer(ms: number): void {
    this.parkTimer = this.clock.setTimer(() => {
      this.parkTimer = undefined;
      if (this.handling) return this.armParkTimer(1);
      this.handling = true;
      try {
        this.adoptParked(this.clock.now() - this.limits.parkMs);
      } finally {
        this.handling = false;
      }
      if (this.backlog.length > 0) this.drain();
      const head = this.parkedOrder[0];
      if (head !== undefined) this.armParkTimer(Math.max(1, head.t + this.limits.parkMs - this.clock.now()));
    }, ms);
  }

  /**
   * Take parked reports parked at or before `before` as external orders' (the oldest first, all
   * the oldest while over the bound). Journaled, so a restore takes the same ones at the same point.
   */
  private adoptParked(before: number): void {
    const now = this.clock.now();
    while (this.parkedOrder.length > 0) {
      const head = this.parkedOrder[0]!;
      if (head.t > before && this.parkedCount <= this.limits.maxParkedReports) break;
      if (!this.parked.has(head.id)) {
        this.parkedOrder.shift(); // unparked by its ack meanwhile
        continue;
      }
      if (this.journal !== undefined) this.record({ k: 'adopt', t: now, b: head.id });
      this.adoptParkedId(head.id, now);
    }
  }

  /** Apply the reports parked under one broker id as an external order's. */
  private adoptParkedId(brokerOrderId: string, now: number): void {
    const list = this.parked.get(brokerOrderId);
    const i = this.parkedOrder.findIndex((p) => p.id === brokerOrderId);
    if (i >= 0) this.parkedOrder.splice(i, 1);
    if (list === undefined) return;
    this.parked.delete(brokerOrderId);
    this.parkedCount -= list.length;
    this.adoptNow = true;
    try {
      for (const r of list) this.handleOne(r, now);
    } finally {
      this.adoptNow = false;
    }
  }

  /** The broker id now belongs to an order: its parked reports are applied right after the report that mapped it. */
  private unpark(brokerOrderId: string): void {
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
  private lateReport(r: BrokerReport): void {
    this.counters.lateReports++;
    if (r.kind === 'trade') {
      let i = r.brokerOrderId !== '' ? this.archive.positionOfBroker(r.brokerOrderId) : -1;
      if (i < 0) i = this.archive.positionOf(r.clientOrderId ?? '');
      const o = this.archive.at(i);
      this.anomaly('LATE_REPORT', `fill for an order already let go from the table (status=${o.status} cumQty=${o.cumQty}): not applied; reconciliation compares it with the broker's trades execId=${r.execId} lastQty=${r.lastQty} lastPx=${r.lastPx}`, o.clientOrderId, o.brokerOrderId, r);
    }
  }

  /**
   * Reports that named only a broker id became an external order; now a report names that id
   * with the client id of one of our orders that has no broker id yet. The external order was
   * ours all along: its slot becomes our order (its fills were booked already, on the same
   * instrument and side) and our slot without a broker id goes. Anything that does not fit is
   * an ID_MISMATCH.
   */
  private claimExternal(ext: number, own: number, r: BrokerReport): number {
    const t = this.table;
    if (t.instrument[ext] !== t.instrument[own] || t.side[ext] !== t.side[own] || !isOpen(t.status[own]!) || t.cumQty[own]! > 0) {
      this.anomaly('ID_MISMATCH', `brokerOrderId=${r.brokerOrderId} belongs to external clientOrderId=${t.clientId[ext]} that does not match clientOrderId=${r.clientOrderId}`, r.clientOrderId, r.brokerOrderId, r);
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
    this.externalLive--;
    this.counters.acks++;
    // the fills were booked already; what is left of our exposure stays counted
    const wasFinished = isTerminal(t.status[ext]!);
    let st = t.status[ext]!;
    if (!wasFinished) st = cum >= t.qty[ext]! - QTY_EPS ? OrderStatus.Filled : cum > 0 ? OrderStatus.PartiallyFilled : OrderStatus.Submitted;
    else if (st === OrderStatus.PartiallyFilled || st === OrderStatus.Filled) st = cum >= t.qty[ext]! - QTY_EPS ? OrderStatus.Filled : OrderStatus.PartiallyFilled;
    t.status[ext] = st;
    const left = isTerminal(st) ? 0 : Math.max(0, exposure - Math.round(cum * this.money.qtyScale[inst]!));
    this.reduceOpen(inst, t.side[ext]!, exposure - left, t.price[ext]!);
    t.exposure[ext] = left;
    if (isTerminal(st)) {
      this.accountRisk.release(inst);
      if (!wasFinished) t.markFinished(ext, this.clock.now());
    }
    this.logger.warn({ clientOrderId: ownId, brokerOrderId: t.brokerId[ext], cumQty: cum }, 'an external order was ours: it is now the order its ack named');
    return ext;
  }

  /** A configured bound was reached: a P1 anomaly, once per bound until the day rolls. */
  private boundReached(bound: string, reason: string, clientOrderId?: string, brokerOrderId?: string): void {
    if (this.boundsHit.has(bound)) return;
    this.boundsHit.add(bound);
    this.anomaly('BOUND_REACHED', `bound=${bound.split(':')[0]} ${reason}`, clientOrderId, brokerOrderId);
  }

  /** A report for an order we never submitted: keep it as an external order and flag it. */
  private adoptExternal(r: BrokerReport, now: number): number {
    const c = this.counters;
    c.unknownOrders++;
    const inst = r.symbol !== undefined ? this.bySymbol.get(r.symbol) : undefined;
    const clientOrderId = r.clientOrderId || `ext:${r.brokerOrderId}`;
    if (inst === undefined || (r.side !== 'buy' && r.side !== 'sell') || r.brokerOrderId === '') {
      this.anomaly('UNKNOWN_ORDER', `report for unknown order with unknown symbol or side: symbol=${String(r.symbol)} side=${String(r.side)}`, clientOrderId, r.brokerOrderId, r);
      return -1;
    }
    const side = r.side === 'buy' ? 1 : -1;
    const t = this.table;
    // external orders have a quota of their own: own orders always keep the rest of the table
    const slot = this.externalLive < this.limits.maxExternalOrders && t.byClientId.get(clientOrderId) < 0 ? t.allocate(now) : -1;
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
        this.ledger.applyFill(inst.index, side, r.lastQty!, r.lastPx!);
        c.fills++;
      }
      const why = this.externalLive >= this.limits.maxExternalOrders ? `limits.maxExternalOrders=${this.limits.maxExternalOrders} external orders held` : `table full capacity=${t.capacity}`;
      this.anomaly('TABLE_FULL_EXTERNAL', `external order not kept: ${why}${r.kind === 'trade' ? '; its fill was booked' : ''}`, clientOrderId, r.brokerOrderId, r);
      return -1;
    }
    this.externalLive++;
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
    this.anomaly('UNKNOWN_ORDER', `report for an order this engine did not submit: kept as external symbol=${inst.symbol}`, clientOrderId, r.brokerOrderId, r);
    return slot;
  }

  private addExposure(index: number, side: number, qty: number): void {
    this.addTo(side > 0 ? this.risk.openBuy : this.risk.openSell, index, qty);
  }

  private addTo(arr: Float64Array, index: number, qty: number): void {
    arr[index] = arr[index]! + qty;
  }

  /** `q` quantity units of open exposure at `units` (the order's limit price units; NaN for a market order) left. */
  private reduceOpen(index: number, side: number, q: number, units: number): void {
    this.accountRisk.openValueAdd(index, -q, units);
    if (side > 0) this.risk.openBuy[index] = this.risk.openBuy[index]! - q;
    else this.risk.openSell[index] = this.risk.openSell[index]! - q;
  }

  private reduceExposure(slot: number, index: number, q: number): void {
    const t = this.table;
    t.exposure[slot] = t.exposure[slot]! - q;
    this.reduceOpen(index, t.side[slot]!, q, t.price[slot]!);
  }

  private releaseExposure(slot: number): void {
    const ex = this.table.exposure[slot]!;
    if (ex > 0) this.reduceExposure(slot, this.table.instrument[slot]!, ex);
  }

  private deny(clientOrderId: string, reason: number, detail: string): SubmitResult {
    this.counters.denied++;
    this.deniedBy[reason]!++;
    const code = reasonCode(reason);
    if (this.debugOrders) this.logger.debug({ clientOrderId, reason: code, detail }, 'order denied');
    return { status: 'denied', clientOrderId, reason: code, detail };
  }

  private anomaly(kind: AnomalyKind, reason: string, clientOrderId?: string, brokerOrderId?: string, report?: unknown): void {
    this.counters.anomalies++;
    const severity = ANOMALY_SEVERITY[kind];
    const a: Anomaly = { kind, severity, reason, clientOrderId, brokerOrderId, time: this.clock.now(), report };
    if (this.restoring) {
      // raised when it first happened; replaying it is not news
      this.logger.debug({ anomaly: kind, severity, clientOrderId, brokerOrderId, replay: true }, reason);
      return;
    }
    if (severity === 'P0') this.logger.error({ anomaly: kind, severity, clientOrderId, brokerOrderId }, reason);
    else this.logger.warn({ anomaly: kind, severity, clientOrderId, brokerOrderId }, reason);
    if (this.journal !== undefined && kind !== 'JOURNAL_FAILED') this.record({ k: 'anomaly', t: a.time, kind, severity, reason, c: clientOrderId, b: brokerOrderId });
    for (const o of this.observers) o.onAnomaly?.(a);
  }

  /**
   * Watch the engine beside the config hooks: anomalies, connection-state and trading-state
   * changes (the monitor uses it). Returns a function that stops the watching. An observer
   * that throws is logged and kept.
   */
  observe(observer: EngineObserver): () => void {
    const safe: EngineObserver = {};
    for (const k of ['onAnomaly', 'onConnectionState', 'onTradingState', 'onDiff', 'onDayRoll'] as const) {
      const fn = observer[k] as ((x: never) => void) | undefined;
      if (fn !== undefined) {
        (safe as Record<string, unknown>)[k] = (x: never) => {
          try {
            fn.call(observer, x);
          } catch (err) {
            this.logger.error({ err }, `${k} threw`);
          }
        };
      }
    }
    this.observers.push(safe);
    return () => {
      const i = this.observers.indexOf(safe);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  private snapshot(slot: number): Order {
    return orderObject(this.table, this.instruments, slot);
  }
}

/**
 * Create an engine. Validates the whole config and throws a `ConfigError` listing every
 * problem at once. Without `broker`, the embedded simulated broker is used (paper trading).
 *
 * @example
 * const engine = createEngine({
 *   instruments: [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }],
 *   risk: { default: { maxOrderQty: 10_000 } },
 * });
 * await engine.start();
 * engine.submit({ clientOrderId: 'o-1', symbol: 'ACME', side: 'buy', qty: 100, price: 10.05 });
 */
export function createEngine(config: EngineConfig): Engine {
  return new Engine(config);
}

/** A plain callback object, given the `toObject` of a view (it returns the object itself). */
function keepable<T extends object>(o: T): T & Keepable<T> {
  (o as T & { toObject: () => T }).toObject = selfObject as () => T;
  return o as T & Keepable<T>;
}

/** Whether two risk configs say the same (both undefined counts). */
function same(a: RiskConfig | undefined, b: RiskConfig | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export type { RejectReason };
