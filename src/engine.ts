/**
 * The composition module: `createEngine` wires the core (src/core/) to the broker adapter, the
 * connection supervisor, the journal, reconciliation and the latency histograms. It is the only
 * module that knows them all; `core/` sees them through its ports (core/ports.ts).
 */
import type { BrokerAdapter } from './brokers/adapter.js';
import { SimBroker, type SimBrokerState } from './brokers/sim/sim-broker.js';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import type { Instrument, InstrumentSpec } from './domain/instrument.js';
import type { CancelResult, Order, OrderRequest, SubmitResult } from './domain/order.js';
import { isOpen } from './domain/order-status.js';
import type { RejectReason } from './domain/reject-reason.js';
import type { BrokerReport, Quote } from './domain/report.js';
import type { DayRoll, TradingDay } from './domain/trading-day.js';
import { LatencyHistogram, type LatencySummary } from './ops/latency.js';
import { createLogger, watchDebug, type Logger } from './ops/logger.js';
import type { RiskConfig } from './risk/limits.js';
import type { PreTradeRisk } from './risk/pretrade.js';
import type { AccountRisk } from './risk/account-risk.js';
import type { TradingState, TradingStateChange } from './risk/trading-state.js';
import type { GateCheck, OpenAlert, RolloutStatus } from './risk/rollout.js';
import type { Anomaly } from './core/anomaly.js';
import { environmentProblems, type Environment, type LiveArm } from './connectivity/credentials.js';
import { ConnectionSupervisor, type ConnectionState, type ConnectionStateChange, type ConnectionStats } from './connectivity/supervisor.js';
import { mergeRecovery, type RecoveryTarget, type SyncSummary } from './connectivity/recovery.js';
import { systemClock, type Clock } from './core/clock.js';
import { ConfigError, configProblems, strategyProblems, type EngineConfig } from './config.js';
import type { Ledger, Account, Position } from './core/ledger.js';
import type { OrderTable } from './core/order-table.js';
import type { StrategyCallbacks } from './strategy.js';
import { loadNative } from './native/loader.js';
import { Journal, type JournalOpenInfo, type JournalOptions, type JournalStats, type RecoverySink } from './journal/journal.js';
import type { JournalRecord } from './journal/format.js';
import { workerCompactor, type Compactor } from './journal/compaction.js';
import { Reconciler, type DiffEvent, type ReconEvent, type ReconRun, type ReconState } from './recon/reconciler.js';
import type { EngineSnapshot } from './core/engine-state.js';
import type { ResolvedLimits } from './core/bounds.js';
import type { OrderArchive } from './core/day-store.js';
import { generateEodReport, writeEodReport } from './recon/eod.js';
import { tradecoreVersion } from './version.js';
import { TradingCore, type Lifecycle } from './core/trading-core.js';
import type { SafeStopResult } from './core/cancel-path.js';
import type { EngineStats } from './core/stats.js';
import { reconTarget } from './engine-recon.js';
import { FallbackSwitch, type ModeChange, type SwitchResult, type TradingMode } from './fallback.js';
import { R } from './domain/reject-reason.js';

export type EngineState = Lifecycle;
export type { EngineStats, SafeStopResult };

/** Which implementation each submit path runs on. */
export interface EngineBackend {
  /** Single submits: TypeScript (one N-API call per order measured slower than the whole TS check). */
  readonly submit: 'ts';
  /** The batch gate of `submitMany`: native when the addon is loaded. */
  readonly submitMany: 'native' | 'ts';
  /** Where the addon was loaded from, or why it was not. */
  readonly native: string;
  /**
   * The hot path's clock reading: `native` (the system clock read through the addon: no
   * allocation per reading), `performance.now` (the system clock without the addon, or with
   * `backend: 'ts'`), or `injected` (the config's own clock).
   */
  readonly clock: 'native' | 'performance.now' | 'injected';
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
  /** Records before this seq are synced to disk (what `tradecore` exports to NATS, see docs/scale-out.md). */
  readonly synced: number;
  /** What the last open found: snapshot used, records replayed, warnings. */
  readonly opened: JournalOpenInfo;
  readonly stats: JournalStats;
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

/** The missing-addon warning is logged once per process, not once per engine. */
let nativeAnnounced = false;

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
  readonly risk: PreTradeRisk;
  readonly accountRisk: AccountRisk;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where orders go; checked against the adapter's credentials at start. */
  readonly environment: Environment;
  /** The trading day's boundaries. */
  readonly tradingDay: TradingDay;
  /** The bounds on state reports can grow (config `limits`). */
  readonly limits: ResolvedLimits;
  /** The trading day's finished orders the table has let go (the id rule, late reports, reconciliation, the end-of-day report). */
  readonly archive: OrderArchive;
  /** Which implementation each submit path uses, and why. */
  readonly backend: EngineBackend;
  /**
   * Reconciliation with the broker's records (docs/reconciliation.md): `engine.reconcile()`
   * runs it; `recon.list()`, `recon.get(id)`, `recon.resolve(...)` and `recon.acknowledge(...)`
   * are the manual workflow; `recon.endOfDay()` gathers the day's report inputs.
   */
  readonly recon: Reconciler;
  /** The core: state and the submit, cancel and report paths (src/core/). */
  private readonly core: TradingCore;
  private strategy: StrategyCallbacks | undefined;
  private readonly liveArm: LiveArm | undefined;
  /** The broker connection: state, heartbeat, reconnect, recovery sync. */
  private readonly connection: ConnectionSupervisor;
  private _lastSync: SyncSummary | undefined;
  private readonly ackLatency = new LatencyHistogram();
  private readonly fillLatency = new LatencyHistogram();
  private readonly reportLatency = new LatencyHistogram();
  private readonly callbackLatency = new LatencyHistogram();
  private readonly observers: EngineObserver[] = [];
  private readonly journalOptions: JournalOptions | undefined;
  private journal: Journal | undefined;
  private compactor: Compactor | undefined;
  /** A restore from the journal threw part way: this engine's state is not to be trusted. */
  private restoreFailed: Error | undefined;
  /** replayJournalRecord ran: exposure and open counts are redone at start. */
  private replayedRecords = false;
  /** The engine's state came from the journal already (a start after a stop does not restore again). */
  private restored = false;
  /** A drop-copy exporter's hold on compaction (holdJournalCompaction). */
  private compactionHold: (() => number) | undefined;
  /** Seq of the next record when the journal was last closed (every record before it is on disk). */
  private closedAtSeq: number | undefined;
  private readonly instrumentSpecs: InstrumentSpec[];
  private readonly initialCash: Record<string, number>;
  private readonly configHash: string | undefined;
  private rollTimer: ReturnType<Clock['setTimer']> | undefined;
  private readonly reportDir: string | undefined;
  private dayReport: Promise<{ json: string; markdown: string; html: string } | undefined> | undefined;
  /** The last quote per instrument index (bid, ask, time); NaN until one arrived. */
  private readonly quoteCols: Float64Array;
  /** Quotes the adapter sent for a symbol this engine does not trade, or with no usable price. */
  private ignoredQuotes = 0;
  /** The ended day's report input, taken at a roll before its orders go. */
  private dayInput: ReturnType<Reconciler['dayReportInput']> | undefined;
  /** The fallback switch: live, paper or safe-stop (docs/release.md). */
  private readonly switch: FallbackSwitch;
  /** The config as given (the paper engine is made from it). */
  private readonly config: EngineConfig;
  /** Open alerts for the rollout's promotion evidence (attachAlerts). */
  private alertSource: (() => readonly OpenAlert[]) | undefined;
  private gateCheck: GateCheck | undefined;

  constructor(config: EngineConfig) {
    const problems = configProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.clock = config.clock ?? systemClock;
    this.logger = config.logger ?? createLogger();
    const wanted = config.backend ?? 'auto';
    const native = wanted === 'ts' ? { reason: 'backend: ts in config', addon: undefined } : loadNative();
    if (wanted === 'native' && native.addon === undefined) throw new ConfigError([`backend: native requested but the addon is unavailable: ${native.reason}`]);
    if (native.addon === undefined && wanted === 'auto' && !nativeAnnounced) {
      nativeAnnounced = true;
      this.logger.warn({ reason: native.reason }, 'native addon unavailable; submitMany runs on the TypeScript backend');
    }
    this.broker = config.broker ?? new SimBroker({
      ...(config.initialCash !== undefined ? { initialCash: config.initialCash } : {}), ...(config.tradingDay !== undefined ? { tradingDay: config.tradingDay } : {}),
      ...config.sim, instruments: config.instruments, clock: this.clock,
    });
    this.strategy = config.strategy;
    this.core = new TradingCore({ ...config, clock: this.clock }, {
      broker: this.broker,
      logger: this.logger,
      debugWatch: watchDebug(this.logger),
      addon: native.addon,
      latency: { ack: this.ackLatency, firstFill: this.fillLatency, report: this.reportLatency, callback: this.callbackLatency },
      host: {
        anomaly: (a) => {
          for (const o of this.observers) o.onAnomaly?.(a);
        },
        tradingState: (change) => {
          for (const o of this.observers) o.onTradingState?.(change);
        },
        dayEnding: (restoring) => {
          this.dayInput = this.reportDir !== undefined && !restoring ? this.recon.dayReportInput() : undefined;
        },
        carryDiffs: () => this.recon.rollDay(),
        dayRolled: (roll) => this.dayRolled(roll),
      },
    });
    const core = this.core;
    this.instruments = core.instruments;
    this.table = core.table;
    this.ledger = core.ledger;
    this.risk = core.risk;
    this.accountRisk = core.accountRisk;
    this.tradingDay = core.tradingDay;
    this.limits = core.limits;
    this.archive = core.archive;
    this.backend = { submit: 'ts', submitMany: core.batch.backend, native: native.reason, clock: core.clockSource };
    this.reportDir = config.tradingDay?.reportDir;
    this.environment = config.environment ?? 'paper';
    this.liveArm = config.live;
    this.journalOptions = config.journal;
    this.instrumentSpecs = config.instruments.map((spec) => ({ ...spec }));
    this.quoteCols = new Float64Array(config.instruments.length * 3).fill(Number.NaN);
    this.initialCash = { ...(config.initialCash ?? {}) };
    this.configHash = config.configHash;
    // the config's hooks are the first observers: one way to tell anyone, one guard around it
    const { onAnomaly, onTradingState, onConnectionState, onDayRoll } = config;
    if (onAnomaly !== undefined || onTradingState !== undefined || onConnectionState !== undefined || onDayRoll !== undefined) {
      this.observe({
        ...(onAnomaly !== undefined ? { onAnomaly } : {}), ...(onTradingState !== undefined ? { onTradingState } : {}),
        ...(onConnectionState !== undefined ? { onConnectionState } : {}), ...(onDayRoll !== undefined ? { onDayRoll } : {}),
      });
    }
    this.connection = new ConnectionSupervisor(this.broker, this.clock, this.logger, this.environment, config.connection, {
      onReport: core.reports.onReport,
      sync: () => this.recoverySync(),
      onState: (change) => {
        if (this.journal !== undefined) this.record({ k: 'conn', t: change.time, from: change.from, to: change.to, reason: change.reason });
        for (const o of this.observers) o.onConnectionState?.(change);
      },
      onThrottle: (ms, detail) => core.throttle(ms, detail),
      onQuote: (q) => this.onQuote(q),
      onAlarm: (kind, reason) => core.anomaly(kind, reason),
    });
    core.link = this.connection;
    this.recon = new Reconciler(
      reconTarget(core, this.broker, this.logger, {
        record: (ev) => {
          this.rolloutSees(ev);
          return this.journal === undefined || this.record({ k: 'recon', t: this.clock.now(), ev });
        },
        notify: (ev) => {
          if (core.restoring) return;
          for (const o of this.observers) o.onDiff?.(ev);
        },
        strategy: () => this.strategy,
      }),
      config.recon,
      core.archive,
    );
    this.config = { ...config };
    this.switch = new FallbackSwitch({
      engine: this,
      knows: (id) => core.table.byClientId.get(id) >= 0 || (core.archive.size > 0 && core.archive.positionOf(id) >= 0),
      submit: (o) => core.submits.submit(o),
      submitMany: (o) => core.batch.submitMany(o),
      cancel: (id) => core.cancels.cancel(id),
      deny: (id, reason, detail) => core.submits.deny(id, R[reason], detail),
      cancelAllOpen: () => core.cancels.cancelAllOpen(),
      safeStop: (reason) => core.cancels.safeStop(reason),
      setActive: (reason) => {
        core.setTradingState('Active', reason);
      },
      record: (change) => this.journal === undefined || this.record({ k: 'mode', t: change.time, from: change.from, to: change.to, who: change.who, note: change.note }),
      makePaper: () => this.makePaper(),
      paperStopped: (sim) => {
        const file = this.paperBrokerFile();
        if (file === undefined) return;
        try {
          writeFileSync(`${file}.tmp`, pack(sim.exportState()));
          renameSync(`${file}.tmp`, file);
        } catch (err) {
          this.logger.error({ file, err: (err as Error).message }, 'fallback: the paper broker records could not be saved');
        }
      },
      references: () => this.knownReferences(),
      now: () => this.clock.now(),
      warn: (obj, msg) => this.logger.warn(obj, msg),
    }, config.fallback);
  }

  /** The reference prices known now, by symbol (what the paper market starts from and follows). */
  private knownReferences(): Array<[string, number]> {
    return this.instruments.flatMap((i) => (Number.isNaN(this.risk.reference[i.index]!) ? [] : [[i.symbol, this.risk.reference[i.index]!] as [string, number]]));
  }

  /** The paper engine's journal directory: `fallback.journalDir`, else beside the live journal. */
  private paperJournalDir(): string | undefined {
    return this.config.fallback?.journalDir ?? (this.journalOptions !== undefined ? `${this.journalOptions.dir.replace(/[\\/]+$/, '')}-paper` : undefined);
  }

  /** Where the paper broker's records wait between a stop and the next start (beside its journal). */
  private paperBrokerFile(): string | undefined {
    const dir = this.paperJournalDir();
    return dir === undefined ? undefined : `${dir.replace(/[\\/]+$/, '')}.broker`;
  }

  /**
   * The paper engine of the fallback switch: the embedded simulated broker, fed with this
   * engine's reference prices, with the same instruments, limits, cash, trading day and strategy
   * (without onQuote: the live stream is the strategy's). Journaled beside the live journal.
   */
  private makePaper(): { engine: Engine; sim: SimBroker } {
    const c = this.config;
    const startPrices = Object.fromEntries(this.knownReferences());
    const sim = new SimBroker({
      instruments: this.instrumentSpecs, clock: this.clock, priceFeed: 'external', startPrices,
      ...(c.initialCash !== undefined ? { initialCash: c.initialCash } : {}), ...(c.tradingDay !== undefined ? { tradingDay: c.tradingDay } : {}),
    });
    const dir = this.paperJournalDir();
    // the paper broker's records from the paper period's last clean stop (a crash loses them:
    // recovery sync then finds its open orders gone, the journal keeps its fills and positions)
    const file = this.paperBrokerFile();
    if (file !== undefined && existsSync(file)) {
      try {
        sim.restoreState(unpack(readFileSync(file)) as SimBrokerState);
        rmSync(file);
      } catch (err) {
        this.logger.error({ file, err: (err as Error).message }, 'fallback: the paper broker records could not be read; the paper broker starts empty');
      }
    }
    let strategy: StrategyCallbacks | undefined;
    if (this.strategy !== undefined) {
      const { onQuote: _live, ...rest } = this.strategy;
      strategy = rest;
    }
    const logger = typeof (this.logger as { child?: unknown }).child === 'function' ? this.logger.child({ mode: 'paper' }) : this.logger;
    const engine = new Engine({
      instruments: this.instrumentSpecs, broker: sim, clock: this.clock, logger, environment: 'paper',
      ...(this.core.currentRisk !== undefined ? { risk: this.core.currentRisk } : {}),
      ...(c.initialCash !== undefined ? { initialCash: c.initialCash } : {}), ...(c.currencyPrecision !== undefined ? { currencyPrecision: c.currencyPrecision } : {}),
      ...(c.tradingDay !== undefined ? { tradingDay: { ...c.tradingDay, reportDir: undefined } } : {}), ...(c.markets !== undefined ? { markets: c.markets } : {}),
      ...(c.capacity !== undefined ? { capacity: c.capacity } : {}), ...(c.limits !== undefined ? { limits: c.limits } : {}),
      ...(c.backend !== undefined ? { backend: c.backend } : {}), ...(c.connection !== undefined ? { connection: c.connection } : {}),
      ...(strategy !== undefined ? { strategy } : {}), ...(dir !== undefined ? { journal: { ...this.journalOptions, dir } } : {}),
    });
    return { engine, sim };
  }

  /** Lifecycle state. */
  get state(): EngineState {
    return this.core.lifecycle;
  }

  /** True when submits can be sent: started and the connection Ready. */
  get ready(): boolean {
    return this.core.ready;
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
    if (this.core.lifecycle !== 'running') throw new Error(`cannot reconnect: engine is ${this.core.lifecycle}`);
    this.connection.reconnect(reason);
  }

  /**
   * Start: check the environment (credentials that belong to it; live armed), then connect,
   * log on, check the broker's clock and run recovery sync. Resolves when the connection is
   * Ready; rejects with the reason (and leaves the engine stopped) when a check fails or
   * `connection.startTimeoutMs` passes first. Transient network failures are retried meanwhile.
   */
  async start(): Promise<void> {
    const core = this.core;
    if (core.lifecycle !== 'created' && core.lifecycle !== 'stopped') throw new Error(`cannot start: engine is ${core.lifecycle}`);
    const problems = environmentProblems(this.environment, this.broker.credentials, this.liveArm);
    if (problems.length > 0) throw new Error(`engine start refused (environment ${this.environment}):\n  - ${problems.join('\n  - ')}`);
    if (this.replayedRecords) {
      this.replayedRecords = false;
      core.recomputeDerived();
    }
    if (this.restoreFailed !== undefined) throw new Error(`cannot start: this engine's restore from its journal failed (${this.restoreFailed.message}); create a new engine once the cause is fixed`);
    if (this.journalOptions !== undefined && this.journal === undefined) this.openJournal(this.journalOptions);
    core.lifecycle = 'starting';
    try {
      await this.connection.start();
    } catch (err) {
      core.lifecycle = 'stopped';
      throw new Error(`engine start failed: broker ${this.broker.name}: ${(err as Error).message}`, { cause: err });
    }
    core.lifecycle = 'running';
    // down across a boundary: the day rolls now
    core.rollDay(this.clock.now());
    if (core.rollout !== undefined) {
      core.rollout.startDay(this.ledger, this.risk.refUnits);
      if (core.rollout.watchesLoss) core.watchLoss();
    }
    this.armRollTimer();
    core.unmatched.started();
    this.recon.start();
    // a restart in paper mode: the paper engine comes back on its own journal
    await this.switch.resume();
    this.logger.info({ broker: this.broker.name, environment: this.environment, instruments: this.instruments.length, capacity: this.table.capacity, mode: this.switch.mode }, 'engine started');
  }

  /**
   * Disconnect the broker, then snapshot and close the journal. Open orders stay open at the
   * broker. Idempotent.
   */
  async stop(): Promise<void> {
    const core = this.core;
    if (core.lifecycle === 'stopped' || core.lifecycle === 'created') {
      core.lifecycle = 'stopped';
      await this.closeJournal();
      return;
    }
    core.lifecycle = 'stopping';
    await this.switch.stop();
    this.recon.stop();
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = undefined;
    core.unmatched.stopped();
    try {
      await this.connection.stop();
    } finally {
      core.lifecycle = 'stopped';
      await this.closeJournal();
      this.logger.info({ broker: this.broker.name }, 'engine stopped');
    }
  }

  /**
   * @internal For failure drills in one process (`tradecore certify`, src/certify): stop as
   * `kill -9` stops a process. Nothing is cancelled, disconnected or snapshotted, and the journal
   * is left as a killed process leaves it (its lock dropped, nothing synced or trimmed). Timers
   * the engine armed on its clock are not cleared: the drill gives it a clock it can stop. The
   * engine is not to be used again; a new one on the same journal is the restart.
   */
  crashForDrill(): void {
    this.core.lifecycle = 'stopped';
    this.recon.stop();
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = undefined;
    const j = this.journal;
    this.journal = undefined;
    this.core.journal = undefined;
    this.closedAtSeq = undefined;
    j?.abandon();
    void this.compactor?.close();
    this.compactor = undefined;
  }

  /**
   * Open the journal. The first time: restore the latest snapshot and replay the records after
   * it (no callbacks fire, nothing is sent), then put back what derives from them (open
   * exposure, open-order counts). Throws JournalCorruptError on damage before the tail.
   */
  private openJournal(options: JournalOptions): void {
    const core = this.core;
    const restore = !this.restored;
    // the day the restored state is of: the snapshot's, a day record's, else the last record's time
    let lastT = -Infinity;
    const sink: RecoverySink = restore
      ? {
          snapshot: (state, _seq, time) => {
            lastT = time;
            const s = state as EngineSnapshot & { recon?: ReconState; modes?: ModeChange[] };
            core.restoreSnapshot(s, time);
            if (s.recon !== undefined) this.recon.importState(s.recon);
            if (Array.isArray(s.modes)) for (const m of s.modes) this.switch.replay(m);
          },
          record: (rec) => {
            if (typeof rec.t === 'number' && rec.t > lastT) lastT = rec.t;
            this.replayRecord(rec);
          },
        }
      : { snapshot: () => {}, record: () => {} };
    core.dayKnown = false;
    core.restoring = restore;
    let journal: Journal;
    try {
      journal = Journal.open(options, this.logger, options.storage === 'file' ? undefined : loadNative().addon, sink);
      if (restore) {
        core.recomputeDerived();
        core.externalLive = core.countExternal();
        // the restored state is of the day of its last record; start() rolls it if that day is over
        if (Number.isFinite(lastT)) {
          if (!core.dayKnown) core.dayName = this.tradingDay.dayOf(lastT);
          core.nextRollAt = this.tradingDay.nextRoll(lastT);
        }
      }
    } catch (err) {
      // part of the state may be in already: a second try on this engine would double it
      if (restore && (this.table.size > 0 || core.stateHistory.length > 0)) this.restoreFailed = err as Error;
      throw err;
    } finally {
      core.restoring = false;
    }
    this.restored = true;
    this.journal = journal;
    core.journal = journal;
    journal.holdCompaction(this.compactionHold);
    this.compactor = workerCompactor();
    journal.attach(() => this.snapshotState(), () => this.clock.now(), this.compactor, (what, message) => core.anomaly(what === 'snapshot' ? 'SNAPSHOT_FAILED' : 'JOURNAL_FAILED', message));
    const info = journal.openInfo;
    if (restore) this.logger.info({ journal: journal.dir, snapshotSeq: info.snapshotSeq, replayed: info.replayed, orders: this.table.size, storage: info.storage }, 'journal restored');
    this.record({
      k: 'open', t: this.clock.now(), v: 1, instruments: this.instrumentSpecs, initialCash: this.initialCash,
      risk: core.startRisk, environment: this.environment, broker: this.broker.name, ...(this.configHash !== undefined ? { config: this.configHash } : {}), tc: tradecoreVersion(),
      ...(this.config.currencyPrecision !== undefined ? { cp: this.config.currencyPrecision } : {}),
    });
    // a reload the last session made is kept when this engine started from the same config
    if (restore && core.journalRisk !== undefined && same(core.journalStartRisk, core.startRisk) && !same(core.journalRisk, core.startRisk)) {
      const r = this.reloadRisk(core.journalRisk, { why: 'restored from the journal: the last session reloaded its risk and this engine started from the same config' });
      if (r.ok) this.logger.warn({ journal: journal.dir }, 'risk limits restored from the journal: the last session reloaded them and this engine started from the same config');
    }
  }

  private async closeJournal(): Promise<void> {
    const j = this.journal;
    if (j === undefined) return;
    this.journal = undefined;
    this.core.journal = undefined;
    await j.snapshot();
    await j.close();
    this.closedAtSeq = j.seq;
    await this.compactor?.close();
    this.compactor = undefined;
  }

  /** Append a record of the layers above the core (the core's own go through `core.record`). */
  private record(rec: JournalRecord): boolean {
    return this.core.record(rec as Parameters<TradingCore['record']>[0]);
  }

  private snapshotState(): EngineSnapshot & { recon: ReconState; modes?: ModeChange[] } {
    const modes = this.switch.history;
    return { ...this.core.snapshotState(), recon: this.recon.exportState(), ...(modes.length > 0 ? { modes: modes.slice(-1000) } : {}) };
  }

  /** Apply one journal record: reconciliation's here, the rest in the core. */
  private replayRecord(rec: JournalRecord): void {
    if (rec.k === 'recon') {
      this.rolloutSees(rec.ev);
      this.recon.replay(rec.ev, rec.t);
    } else if (rec.k === 'mode') {
      this.switch.replay({ from: rec.from as TradingMode, to: rec.to as TradingMode, who: rec.who, note: rec.note, time: rec.t });
    } else if (rec.k !== 'central') this.core.replay(rec);
  }

  /** A critical difference raised makes the rollout's day not clean (live and in replay alike). */
  private rolloutSees(ev: ReconEvent): void {
    if (ev.op === 'raise' && ev.diff.severity === 'critical') this.core.rollout?.markDirty(`RECON_${ev.diff.kind}`);
  }

  /** The journal's place, storage and counters; undefined without a journal (or before start). */
  journalStatus(): JournalStatus | undefined {
    const j = this.journal;
    if (j === undefined) return undefined;
    return { dir: j.dir, storage: j.storageKind, durability: j.options.durability, seq: j.seq, synced: j.syncedSeq, opened: j.openInfo, stats: { ...j.stats } };
  }

  /**
   * After a clean stop, the seq of the next record the journal would have written: every record
   * before it is synced (a drop-copy exporter drains up to it). Undefined while the journal is open
   * or was never opened.
   */
  get journalClosedAt(): number | undefined {
    return this.journal === undefined ? this.closedAtSeq : undefined;
  }

  /**
   * Keep journal segments holding records at or after `from()` out of compaction (a drop-copy
   * exporter's hold: docs/scale-out.md); undefined lifts it. Applies to this and later starts.
   */
  holdJournalCompaction(from: (() => number) | undefined): void {
    this.compactionHold = from;
    this.journal?.holdCompaction(from);
  }

  /** Write a journal snapshot now (they are also written every N records or minutes). */
  async writeSnapshot(): Promise<void> {
    if (this.journal === undefined) throw new Error('no journal: configure journal.dir and start the engine');
    await this.journal.snapshot();
  }

  /**
   * The state a journal snapshot of this engine holds (msgpack-encodable). For a derived view
   * that keeps a replayed engine between runs (central, docs/scale-out.md).
   */
  exportReplayState(): unknown {
    return this.snapshotState();
  }

  /**
   * Put back a state from {@link exportReplayState} into an engine that was never started, as
   * a journal open restores its snapshot; records then follow through replayJournalRecord.
   */
  importReplayState(state: unknown, time: number): void {
    if (this.core.lifecycle !== 'created') throw new Error(`importReplayState is for an engine that was never started; this one is ${this.core.lifecycle}`);
    const s = state as EngineSnapshot & { recon?: ReconState; modes?: ModeChange[] };
    this.core.restoreSnapshot(s, time);
    if (s.recon !== undefined) this.recon.importState(s.recon);
    if (Array.isArray(s.modes)) for (const m of s.modes) this.switch.replay(m);
    this.core.recomputeDerived();
    this.replayedRecords = true;
  }

  /**
   * Apply one journal record to this engine, as \`tradecore replay\` does: strategy callbacks
   * fire, nothing is sent and nothing is journaled. For an engine that was never started.
   */
  replayJournalRecord(rec: JournalRecord): void {
    if (this.core.lifecycle !== 'created') throw new Error(`replayJournalRecord is for an engine that was never started; this one is ${this.core.lifecycle}`);
    this.replayRecord(rec);
    this.replayedRecords = true;
  }

  /** The report of the last day that rolled while `tradingDay.reportDir` is set: the files written, or undefined when it failed (logged). */
  get lastDayReport(): Promise<{ json: string; markdown: string; html: string } | undefined> | undefined {
    return this.dayReport;
  }

  /** The current trading day's name (YYYY-MM-DD) and when it rolls (epoch ms). */
  get currentDay(): { day: string; rollsAt: number; boundary: string } {
    return { day: this.core.dayName, rollsAt: this.core.nextRollAt, boundary: this.tradingDay.toString() };
  }

  /**
   * Roll the trading day now if its boundary has passed, and say which day it is. The engine
   * rolls by itself (a timer at the boundary, the first submit after it, a start after it); call
   * this after the clock was moved by hand (a manual or shifted clock) to roll without a submit.
   */
  tradingDayNow(): { day: string; rollsAt: number; boundary: string } {
    if (this.core.lifecycle === 'running') this.core.rollDay(this.clock.now());
    return this.currentDay;
  }

  /** The day rolled: tell the observers, then write the ended day's report off the engine's thread. */
  private dayRolled(roll: DayRoll): void {
    for (const o of this.observers) o.onDayRoll?.(roll);
    const report = this.dayInput;
    this.dayInput = undefined;
    const reportDir = this.reportDir;
    if (report === undefined || reportDir === undefined) return;
    const day = roll.day;
    this.dayReport = generateEodReport(report)
      .then((out) => {
        const files = writeEodReport(out, reportDir);
        this.logger.info({ day, ...files }, 'end-of-day report written');
        return files;
      })
      .catch((err: unknown) => {
        this.logger.error({ day, err: (err as Error).message }, 'end-of-day report not written');
        return undefined;
      });
  }

  private armRollTimer(): void {
    const core = this.core;
    if (this.rollTimer !== undefined) this.clock.clearTimer(this.rollTimer);
    this.rollTimer = this.clock.setTimer(() => {
      this.rollTimer = undefined;
      if (core.lifecycle !== 'running') return;
      if (core.handling) {
        // a report is being applied (a callback moved a manual clock): roll right after it
        this.rollTimer = this.clock.setTimer(() => this.armRollTimer(), 0);
        return;
      }
      core.rollDay(this.clock.now());
      this.armRollTimer();
    }, Math.max(0, core.nextRollAt - this.clock.now()));
  }

  /**
   * Run recovery sync now on a Ready connection, for example when orders sit in PendingNew
   * because an ack was lost. PendingNew orders younger than `graceMs` (default 5000) are left
   * to their acks; older ones the broker does not have are Rejected (RECOVERY_NOT_FOUND).
   */
  async resync(options: { graceMs?: number } = {}): Promise<SyncSummary> {
    if (!this.ready) throw new Error(`cannot resync: ${this.core.notReadyDetail()}`);
    const grace = options.graceMs ?? 5000;
    if (!(grace >= 0)) throw new RangeError(`graceMs must be >= 0, got ${grace}`);
    await this.recoverySync(this.clock.now() - grace);
    return this._lastSync!;
  }

  /** Fetch the broker's records and merge them (see connectivity/recovery.ts). A failed fetch merges nothing. */
  private async recoverySync(pendingNewBefore = Infinity): Promise<void> {
    const b = this.broker;
    const { touched, stop } = this.core.watchReports();
    let open, trades, day;
    try {
      open = await b.syncOpenOrders();
      trades = await b.syncTodayTrades();
      day = b.syncDayOrders !== undefined ? await b.syncDayOrders() : undefined;
    } finally {
      stop();
    }
    this._lastSync = mergeRecovery(this.recoveryTarget, { open, trades, ...(day !== undefined ? { day } : {}), touched, pendingNewBefore });
    this.core.counters.syncs++;
    this.logger.info({ broker: b.name, ...this._lastSync }, 'recovery sync done');
  }

  /** What recovery sync may do to the engine: apply reports, read orders, resend a pending cancel, flag. */
  private readonly recoveryTarget: RecoveryTarget = {
    orders: () => this.orders(),
    apply: (r) => this.core.reports.onReport(r),
    statusOf: (id) => this.core.statusOf(id),
    resendCancel: (id) => {
      const t = this.table;
      const slot = t.byClientId.get(id);
      if (slot < 0) return false;
      try {
        this.broker.cancelOrder({ clientOrderId: id, brokerOrderId: t.brokerId[slot]! });
        this.core.counters.cancelsSent++;
        return true;
      } catch (err) {
        this.logger.warn({ clientOrderId: id, brokerOrderId: t.brokerId[slot], error: (err as Error).message }, 'recovery: cancel could not be sent again');
        return false;
      }
    },
    flag: (kind, reason, clientOrderId, brokerOrderId) => this.core.anomaly(kind, reason, clientOrderId, brokerOrderId),
    fillCount: () => this.core.counters.fills,
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

  /** Register the strategy callbacks. Once only: a second call throws. */
  setStrategy(callbacks: StrategyCallbacks): void {
    if (this.strategy !== undefined) throw new Error('strategy callbacks are already registered');
    const problems = strategyProblems(callbacks, 'strategy');
    if (problems.length > 0) throw new ConfigError(problems);
    this.strategy = callbacks;
    this.core.strategy = callbacks;
  }

  /**
   * Latest reference price for a symbol: the price band and market-order notional checks use
   * it. A broker adapter with a quote stream (`ReportSink.onQuote`) keeps it current on its own:
   * every quote sets it to the mid (or to the one side that has a price).
   */
  updateReference(symbol: string, price: number): void {
    this.core.updateReference(symbol, price);
    if (this.switch.routing) this.switch.price(symbol, price);
  }

  /** The last quote the broker's stream gave for a symbol, as a copy; undefined before the first. */
  quote(symbol: string): Quote | undefined {
    const inst = this.core.bySymbol.get(symbol);
    if (inst === undefined) throw new RangeError(`unknown symbol ${symbol}`);
    const q = this.quoteCols;
    const k = inst.index * 3;
    return Number.isNaN(q[k + 2]!) ? undefined : { symbol, bid: q[k]!, ask: q[k + 1]!, time: q[k + 2]! };
  }

  /** Quotes ignored so far: an unknown symbol, or neither side a positive finite price. */
  get quotesIgnored(): number {
    return this.ignoredQuotes;
  }

  /**
   * A quote from the adapter's stream: the reference price and the last quote (always, during
   * start-up too), then the strategy's onQuote (only while the engine is running).
   */
  private onQuote(q: Quote): void {
    const inst = typeof q?.symbol === 'string' ? this.core.bySymbol.get(q.symbol) : undefined;
    const bidOk = inst !== undefined && q.bid > 0 && Number.isFinite(q.bid);
    const askOk = inst !== undefined && q.ask > 0 && Number.isFinite(q.ask);
    if (inst === undefined || (!bidOk && !askOk)) {
      this.ignoredQuotes++;
      return;
    }
    const k = inst.index * 3;
    this.quoteCols[k] = bidOk ? q.bid : Number.NaN;
    this.quoteCols[k + 1] = askOk ? q.ask : Number.NaN;
    this.quoteCols[k + 2] = typeof q.time === 'number' && Number.isFinite(q.time) ? q.time : this.clock.now();
    const mid = bidOk && askOk ? (q.bid + q.ask) / 2 : bidOk ? q.bid : q.ask;
    this.core.updateReference(inst.symbol, mid);
    if (this.switch.routing) this.switch.price(inst.symbol, mid);
    // the strategy hears quotes once the engine can take its orders (start() resolved)
    const s = this.strategy;
    if (s?.onQuote === undefined || this.core.lifecycle !== 'running') return;
    try {
      s.onQuote(q);
    } catch (err) {
      this.core.anomaly('CALLBACK_ERROR', `strategy onQuote threw: ${(err as Error).message}`);
    }
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
    return this.switch.routing ? this.switch.submit(order) : this.core.submits.submit(order);
  }

  /**
   * Submit many orders at once; the results come back in the same order, each exactly what
   * `submit` would have returned for that order at that point. The dedup probe and the
   * per-order checks run once per chunk of up to 256 orders, in the native addon when it is
   * loaded (see `engine.backend`), over the engine's own memory. Reports an adapter delivers
   * during the call are applied after it returns.
   */
  submitMany(orders: readonly OrderRequest[]): SubmitResult[] {
    return this.switch.routing ? this.switch.submitMany(orders) : this.core.batch.submitMany(orders);
  }

  /**
   * Cancel an order by client order id. Idempotent: a second cancel while one is pending, or a
   * cancel of a finished order, sends nothing and says why.
   */
  cancel(clientOrderId: string): CancelResult {
    return this.switch.routing ? this.switch.cancel(clientOrderId) : this.core.cancels.cancel(clientOrderId);
  }

  /** Where new orders go: `live`, `paper` (the embedded simulated broker) or `safe-stop` (halted, everything cancelled). */
  get mode(): TradingMode {
    return this.switch.mode;
  }

  /** Every switch of the mode, oldest first (restored from the journal on restart). */
  modeHistory(): ModeChange[] {
    return [...this.switch.history];
  }

  /**
   * The fallback switch (docs/release.md). \`paper\`: from now on new orders go to an embedded
   * simulated broker fed with this engine's reference prices; orders live at the real broker are
   * cancelled, or kept and tracked (\`fallback.liveOrders\`); the paper period's orders, positions
   * and P&L stay in \`engine.paper\`, apart from the live ones and from reconciliation. Until the
   * paper engine is up (the returned promise), submits are refused BROKER_NOT_READY, never sent
   * live. \`safe-stop\`: cancel everything (live and paper) and halt, as \`safeStop\`. Journaled
   * with who and why; a restart comes back in the same mode. Back to live is \`goLive\`.
   *
   * @example
   * const r = await engine.fallback('paper', { note: 'venue latency spike', who: 'ana' });
   */
  fallback(to: 'paper' | 'safe-stop', cmd: { note: string; who?: string }): Promise<SwitchResult> {
    if (to === 'paper') return this.switch.toPaper(cmd);
    if (to === 'safe-stop') return this.switch.toSafeStop(cmd);
    return Promise.resolve({ ok: false, problem: `fallback mode must be paper or safe-stop, got ${String(to)}` });
  }

  /**
   * Back to live: new orders go to the real broker again. From paper, the paper period's open
   * orders are cancelled (its positions stay in \`engine.paper\`); from safe-stop, the trading
   * state moves back to Active. A separate, explicit command with a note.
   */
  goLive(cmd: { note: string; who?: string }): Promise<SwitchResult> {
    return this.switch.toLive(cmd);
  }

  /** The fallback's paper engine (its orders, positions, account), once a switch to paper made it. */
  get paper(): Engine | undefined {
    return this.switch.paperEngine;
  }

  /** The trading state: Active, Reducing (only position-shrinking orders) or Halted. */
  get tradingState(): TradingState {
    return this.core.tradingState;
  }

  /** Every trading-state change since start, oldest first. */
  tradingStateHistory(): TradingStateChange[] {
    return [...this.core.stateHistory];
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
    return this.core.setTradingState(state, reason);
  }

  /**
   * The firm-wide gross-exposure share central gives this engine (docs/scale-out.md), in the
   * account's gross currency; undefined removes it. It only tightens: orders are checked
   * against the lower of it and `risk.account.maxGrossNotional`. Not journaled as a limit: a
   * restarted engine trades on its own limits until central is heard again.
   */
  setFirmGrossShare(notional: number | undefined): void {
    this.core.accountRisk.setFirmCap(notional, this.clock.now());
  }

  /** The firm-wide share in force, or undefined (own limits only). */
  get firmGrossShare(): number | undefined {
    return this.core.accountRisk.firmShare;
  }

  /** Journal a control message from central as it was received and handled (src/scale/firm-link.ts). */
  recordCentral(rec: { cmd: string; id: string; from: string; ok: boolean; detail: string }): void {
    if (this.journal !== undefined) this.record({ k: 'central', t: this.clock.now(), ...rec });
  }

  /**
   * The kill switch: move to Halted, then cancel every open order (cancel rate limits do not
   * apply). Idempotent: a second call sends nothing new for orders already pending cancel.
   */
  safeStop(reason: string): SafeStopResult {
    return this.core.cancels.safeStop(reason);
  }

  /**
   * The staged rollout's state (docs/release.md): the stage, its limits, the day's P&L and
   * turnover, clean days, and whether promotion is allowed now. Undefined without `rollout`.
   */
  rolloutStatus(): RolloutStatus | undefined {
    return this.core.rollout?.status(this.ledger, this.risk.refUnits, this.alertSource?.(), this.gateForStatus);
  }

  /**
   * Where promotion evidence reads open alerts (`promoteAfter.noOpenAlerts`): a function giving
   * the alerts open now. `tradecore run` attaches its monitor's; without one, a stage that needs
   * no open alerts cannot be promoted (the refusal says why).
   */
  attachAlerts(source: () => readonly OpenAlert[]): void {
    this.alertSource = source;
  }

  /**
   * How promotion evaluates the go-live gate of a stage whose `promoteAfter.gate` names evidence
   * (docs/go-live.md): a function giving the reasons the gate fails, none when it passes.
   * `tradecore run` attaches `evaluateGate` with its config; without one such a stage cannot be
   * promoted (the refusal says why). A promotion evaluates it afresh; `rolloutStatus` reuses a
   * result up to 30 s old (the evidence is files: a status poll does not read them each time).
   */
  attachGate(check: GateCheck): void {
    this.gateCheck = check;
    this.gateCache = undefined;
  }

  private gateCache: { at: number; key: string; reasons: string[] } | undefined;

  private readonly gateForStatus: GateCheck = (ev) => {
    const check = this.gateCheck;
    if (check === undefined) return ['no gate check is attached (engine.attachGate)'];
    const key = JSON.stringify(ev);
    const now = Date.now();
    const c = this.gateCache;
    if (c !== undefined && c.key === key && now - c.at < 30_000) return c.reasons;
    const reasons = check(ev);
    this.gateCache = { at: now, key, reasons };
    return reasons;
  };

  /**
   * Promote the rollout to its next stage: an operator's explicit command, with a note (and who,
   * default "operator"). Refused, changing nothing, while the stage's evidence is missing
   * (`promoteAfter`: clean days, no open P0/P1 alerts) or at the last stage; each reason is
   * listed. A promotion is journaled with who, when and why, and the new stage's limits apply
   * to the next order.
   *
   * @example
   * const r = engine.promoteRollout({ note: '5 clean days at canary', who: 'ana' });
   * if (!r.ok) console.error(r.missing);
   */
  promoteRollout(cmd: { note: string; who?: string }): { ok: true; from: string; to: string } | { ok: false; missing: string[] } {
    const ro = this.core.rollout;
    if (ro === undefined) return { ok: false, missing: ['no rollout is configured (config section rollout)'] };
    if (typeof cmd?.note !== 'string' || cmd.note.trim() === '') return { ok: false, missing: ['a promotion needs a note saying why'] };
    const missing = ro.missing(this.alertSource?.(), this.gateCheck);
    if (missing.length > 0) {
      this.logger.warn({ stage: ro.stage.name, missing }, 'rollout promotion refused');
      return { ok: false, missing };
    }
    const now = this.clock.now();
    const p = { from: ro.stage.name, to: ro.stages[ro.stageIndex + 1]!.name, who: cmd.who ?? 'operator', note: cmd.note, time: now };
    if (this.journal !== undefined && !this.record({ k: 'rollout', t: now, ev: 'promote', from: p.from, to: p.to, who: p.who, note: p.note })) {
      return { ok: false, missing: [`the journal cannot take the promotion: ${this.core.journalError}`] };
    }
    ro.promote(p, now);
    this.logger.warn({ from: p.from, to: p.to, who: p.who, note: p.note }, 'rollout promoted');
    return { ok: true, from: p.from, to: p.to };
  }

  /**
   * Swap the risk limits while trading. The whole config is validated first: a bad one is
   * refused with every problem and the old limits stay; a good one takes effect for the next
   * order, on both backends at once. Open-order counts carry over. `change` (optional) says which
   * config snapshot this is and why; both go into the journal's config record.
   *
   * @example
   * const r = engine.reloadRisk({ default: { maxOrderQty: 500 }, account: { ordersPerSecond: 20 } });
   * if (!r.ok) console.error(r.problems);
   */
  reloadRisk(risk: RiskConfig, change?: { configHash?: string; why?: string }): { ok: true } | { ok: false; problems: string[] } {
    return this.core.reloadRisk(risk, change);
  }

  /** The risk limits in force, as configured or last reloaded (a copy). */
  riskConfig(): RiskConfig {
    return structuredClone(this.core.currentRisk ?? {});
  }

  /** Orders not yet finished (own and external): a scan of the table, no allocation. */
  openOrderCount(): number {
    return this.core.openOrderCount();
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
    return this.core.getOrder(id);
  }

  /** Every order not yet finished, oldest first (same millisecond: by client order id). */
  openOrders(): Order[] {
    return this.core.ordersWhere((st) => isOpen(st));
  }

  /** Every order the table holds (open and retained finished ones), oldest first (same millisecond: by client order id). */
  orders(): Order[] {
    return this.core.ordersWhere(() => true);
  }

  /** One line per configured instrument. */
  positions(): Position[] {
    return this.ledger.positions();
  }

  account(): Account {
    return this.ledger.account();
  }

  stats(): EngineStats {
    return this.core.stats(this.connection.stats.disconnects);
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
    this.core.reports.onReport(report);
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

/** Whether two risk configs say the same (both undefined counts). */
function same(a: RiskConfig | undefined, b: RiskConfig | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export type { RejectReason };
