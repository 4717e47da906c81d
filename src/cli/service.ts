/**
 * `tradecore run`: the engine as a long-lived service. From one config file (the schema
 * `config check` validates): the broker, the journal in the data directory, the ops endpoint
 * and page, the monitor and its alert sinks, reconciliation and the trading day; optionally a
 * strategy module. Runs until stopped; see `runCommand` for the signals and exit codes.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createEngine, type Engine } from '../engine.js';
import { checkConfig, engineConfigOf, loadConfigFile, type FileConfig } from '../config-file.js';
import type { SimBroker } from '../brokers/sim/sim-broker.js';
import { BrokerConfigError, brokerFromConfig } from './broker-config.js';
import { ConfigStore, ConfigStoreError, canonicalJson, configHash } from './config-store.js';
import { Monitor } from '../ops/monitor.js';
import { OpsServer } from '../ops/server.js';
import { alertJournalSink, webhookSink } from '../ops/alerts.js';
import type { Logger } from '../ops/logger.js';
import { systemClock, type Clock } from '../core/clock.js';
import { DataDirError, lockDataDir, readSimState, writeSimState, type DataDir } from './data-dir.js';
import { StrategyHost } from './strategy-host.js';
import { evaluateGate } from '../certify/gate.js';
import { gateOptionsOf } from './gate-command.js';
import type { ScaleOut } from '../scale/attach.js';

/** The ops endpoint's port when neither the config nor `--ops-port` names one. */
export const DEFAULT_OPS_PORT = 7400;
/** The data directory when `--data` is not given. */
export const DEFAULT_DATA_DIR = './tradecore-data';

export interface ServiceOptions {
  configFile: string;
  strategyModule?: string;
  dataDir?: string;
  /** Overrides `ops.port` of the config (0: a free port). */
  opsPort?: number;
  env?: NodeJS.ProcessEnv;
  /** The clock of the engine, its embedded broker, monitor and strategy (`--clock`); default the system clock. */
  clock?: Clock;
  logger: Logger;
  /** Start-up and shutdown notes for the person who started it (stderr in the CLI). */
  note: (line: string) => void;
}

/** Why the service could not start; `exitCode` is what the CLI exits with. */
export class ServiceError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the service says once it is up (printed as one JSON line on stdout). */
export interface ServiceStarted {
  event: 'started';
  pid: number;
  dataDir: string;
  broker: string;
  environment: string;
  opsUrl: string;
  opsPort: number;
  readOnly: boolean;
  strategy: string | null;
  restored: { snapshotSeq: number; replayed: number } | null;
  /** The hash of the config snapshot this run started with (`tradecore config history`). */
  config: string;
  /** The drop-copy's engine id and stream when the config has an `export:` section (docs/scale-out.md). */
  export: { engineId: string; stream: string; control: boolean } | null;
}

export interface StopSummary {
  reason: string;
  openOrdersLeft: number;
  cancelsSent: number;
  snapshot: boolean;
}

export class Service {
  private dir: DataDir | undefined;
  private engine: Engine | undefined;
  private configs: ConfigStore | undefined;
  private monitor: Monitor | undefined;
  private ops: OpsServer | undefined;
  private strategy: StrategyHost | undefined;
  private sim: SimBroker | undefined;
  private config: FileConfig | undefined;
  private webhooks: Array<ReturnType<typeof webhookSink>> = [];
  private scale: ScaleOut | undefined;
  private stopping: Promise<StopSummary> | undefined;

  constructor(private readonly opts: ServiceOptions) {}

  get running(): Engine | undefined {
    return this.engine;
  }

  /** Take the data directory, build and start everything; the engine is Ready when this resolves. */
  async start(): Promise<ServiceStarted> {
    const o = this.opts;
    const env = o.env ?? process.env;
    const { config, problems } = loadConfigFile(o.configFile);
    if (config === undefined) throw new ServiceError(2, `${o.configFile}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
    this.config = config;
    const token = this.opsToken(config, env);
    try {
      this.dir = lockDataDir(o.dataDir ?? DEFAULT_DATA_DIR, (m) => o.note(m));
    } catch (err) {
      if (err instanceof DataDirError) throw new ServiceError(3, err.message);
      throw new ServiceError(1, `data directory ${o.dataDir ?? DEFAULT_DATA_DIR}: ${(err as Error).message}`);
    }
    try {
      return await this.startIn(this.dir, config, token, env);
    } catch (err) {
      await this.teardown();
      if (err instanceof ServiceError) throw err;
      if (err instanceof DataDirError) throw new ServiceError(4, err.message);
      throw new ServiceError(1, (err as Error).message);
    }
  }

  private async startIn(dir: DataDir, config: FileConfig, token: string | undefined, env: NodeJS.ProcessEnv): Promise<ServiceStarted> {
    const o = this.opts;
    let made;
    try {
      made = brokerFromConfig(config, { env, logger: o.logger, fixStoreDir: path.join(dir.root, 'fix'), ...(o.clock !== undefined ? { clock: o.clock } : {}) });
    } catch (err) {
      if (err instanceof BrokerConfigError) throw new ServiceError(2, err.message);
      throw err;
    }
    const { broker, sim } = made;
    if (o.clock !== undefined && o.clock !== systemClock && sim === undefined) {
      throw new ServiceError(2, `--clock: an accelerated clock runs with the embedded simulated broker only (broker.kind ${config.broker?.kind}: that broker keeps wall time, and the heartbeat's clock check would halt the connection)`);
    }
    const environment = made.environment;
    if (sim !== undefined) {
      const saved = readSimState(dir);
      if (saved !== undefined) sim.restoreState(saved);
      // from here until a clean stop the records on disk are marked in use
      writeSimState(dir, sim.exportState(), false);
      this.sim = sim;
    }
    if (config.journal?.dir !== undefined) o.note(`journal.dir ${config.journal.dir} of the config is replaced by ${dir.journal} (tradecore run keeps its journal in the data directory)`);
    this.configs = new ConfigStore(dir.root);
    const engine = createEngine({
      ...engineConfigOf(config),
      configHash: configHash(config),
      broker,
      ...(o.clock !== undefined ? { clock: o.clock } : {}),
      logger: o.logger,
      environment,
      journal: { ...config.journal, dir: dir.journal },
      tradingDay: { ...config.tradingDay, reportDir: config.tradingDay?.reportDir ?? dir.reports },
    });
    this.engine = engine;
    if (o.strategyModule !== undefined) this.strategy = await StrategyHost.load(o.strategyModule, engine, o.logger);
    await engine.start();
    const m = config.monitor ?? {};
    this.webhooks = (m.webhooks ?? []).map((w) => webhookSink(w, o.logger));
    const { webhooks: _w, ...thresholds } = m;
    this.monitor = new Monitor(engine, { ...thresholds, sinks: [alertJournalSink(dir.alerts), ...this.webhooks] });
    const monitor = this.monitor;
    // promotion evidence: the alerts open now, and the go-live gate on a stage's evidence
    // (paths relative to the config file, the gate read with this config's day, markets and policy)
    engine.attachAlerts(() => monitor.alerts.open());
    const base = path.dirname(path.resolve(o.configFile));
    engine.attachGate((ev) => {
      const d = evaluateGate({ ...gateOptionsOf(config), evidence: path.resolve(base, ev.evidence), ...(ev.journal !== undefined ? { journal: path.resolve(base, ev.journal) } : {}) });
      return d.lines.filter((l) => !l.pass).flatMap((l) => l.reasons.map((r) => `${l.line} ${r}`));
    });
    const ops = new OpsServer(engine, this.monitor, { ...(config.export !== undefined ? { extraStatus: () => ({ scaleOut: this.scale?.status() ?? null }) } : {}), host: config.ops?.host ?? '127.0.0.1', port: o.opsPort ?? config.ops?.port ?? DEFAULT_OPS_PORT, ...(token !== undefined ? { token } : {}), ...(config.ops?.historyEveryMs !== undefined ? { historyEveryMs: config.ops.historyEveryMs } : {}),
      configRollback: (hash, note, who) => this.rollbackConfig(hash, note, who),
      onPromote: (p) => {
        if (this.configs !== undefined && this.config !== undefined) this.configs.record(this.config, 'promote', o.configFile, new Date(), { who: p.who, note: p.note, from: p.from, stage: p.to });
      },
    });
    try {
      await ops.start();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ServiceError(1, e.code === 'EADDRINUSE' ? `ops endpoint: port ${o.opsPort ?? config.ops?.port ?? DEFAULT_OPS_PORT} is in use (set ops.port, or --ops-port 0 for a free one)` : `ops endpoint: ${e.message}`);
    }
    this.ops = ops;
    if (config.export !== undefined) await this.startExport(config, token, ops, monitor);
    await this.strategy?.start();
    // the config this run started from, kept under its hash (the journal's open record names
    // it), once started: a run that never started traded with no config
    let configHashOf = this.configs.record(config, 'start', o.configFile);
    // a restart from the same file keeps the last session's reload or rollback (the engine
    // restores it from the journal): the config in force is then the file's with that risk
    if (canonicalJson(engine.riskConfig()) !== canonicalJson(config.risk ?? {})) {
      this.config = { ...config, risk: engine.riskConfig() };
      configHashOf = this.configs.record(this.config, 'restore', o.configFile);
      o.note(`the risk limits of the last session's reload or rollback were restored from the journal (this file is the one that session started from): config ${configHashOf} is in force`);
    }
    const opened = engine.journalStatus()?.opened;
    const host = config.ops?.host ?? '127.0.0.1';
    return {
      event: 'started',
      pid: process.pid,
      dataDir: dir.root,
      broker: broker.name,
      environment: engine.environment,
      opsUrl: `http://${host.includes(':') ? `[${host}]` : host}:${ops.port}/`,
      opsPort: ops.port,
      readOnly: token === undefined,
      strategy: this.strategy?.file ?? null,
      restored: opened !== undefined && (opened.snapshotSeq > 0 || opened.replayed > 0) ? { snapshotSeq: opened.snapshotSeq, replayed: opened.replayed } : null,
      config: configHashOf,
      export: this.scale === undefined ? null : { engineId: this.scale.options.engineId, stream: this.scale.status().export.stream, control: this.scale.link !== undefined },
    };
  }

  /**
   * The `export:` section: the journal's drop-copy to NATS and the firm link, started once the
   * engine is Ready (NATS need not be up: both connect in the background while the engine trades).
   * The NATS client is loaded only here, for a config that asks for it.
   */
  private async startExport(config: FileConfig, token: string | undefined, ops: OpsServer, monitor: Monitor): Promise<void> {
    const o = this.opts;
    const x = config.export!;
    const credentials = x.nats.credentials === undefined ? undefined : path.resolve(path.dirname(path.resolve(o.configFile)), x.nats.credentials);
    const control = x.control?.enabled !== false;
    if (control && (x.control?.auth ?? 'token') === 'token' && token === undefined) {
      o.note('export.control: this run has no ops token, so every control message from central will be refused (set TRADECORE_OPS_TOKEN or ops.tokenFile, or export.control.auth: nats, or export.control.enabled: false)');
    }
    const { ScaleOut } = await import('../scale/attach.js');
    this.scale = new ScaleOut(this.engine!, { ...x, nats: { ...x.nats, ...(credentials !== undefined ? { credentials } : {}) } }, {
      logger: o.logger, alerts: monitor.alerts, registry: ops.registry, ...(token !== undefined ? { token } : {}),
    });
  }

  /** The ops token: TRADECORE_OPS_TOKEN, else the config's `ops.tokenFile`; none means read-only. */
  private opsToken(config: FileConfig, env: NodeJS.ProcessEnv): string | undefined {
    const fromEnv = env.TRADECORE_OPS_TOKEN;
    let token: string | undefined;
    if (fromEnv !== undefined && fromEnv !== '') token = fromEnv;
    else if (config.ops?.tokenFile !== undefined) {
      const file = path.resolve(path.dirname(this.opts.configFile), config.ops.tokenFile);
      try {
        token = readFileSync(file, 'utf8').trim();
        if ((statSync(file).mode & 0o077) !== 0) this.opts.note(`ops.tokenFile ${file} can be read by other users: chmod 600 it`);
      } catch (err) {
        throw new ServiceError(2, `ops.tokenFile ${file}: cannot read it: ${(err as Error).message}`);
      }
    }
    if (token !== undefined && token.length < 16) throw new ServiceError(2, 'the ops token must be at least 16 characters (TRADECORE_OPS_TOKEN or ops.tokenFile)');
    return token;
  }

  /**
   * Reload the risk section from the config file (SIGHUP). A file with any problem changes
   * nothing and says why; other sections are read but take effect only at a restart.
   */
  reload(): { ok: boolean; message: string } {
    const engine = this.engine;
    if (engine === undefined || this.stopping !== undefined) return { ok: false, message: 'reload ignored: the service is not running' };
    const { config, problems } = loadConfigFile(this.opts.configFile);
    if (config === undefined) return { ok: false, message: `reload refused, nothing changed: ${this.opts.configFile} has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}` };
    // the config in force after it: its risk section from the file, the rest as the run started
    const next: FileConfig = { ...this.config!, risk: config.risk };
    const hash = configHash(next);
    const result = engine.reloadRisk(config.risk ?? {}, { configHash: hash, why: `SIGHUP: ${this.opts.configFile}` });
    if (!result.ok) return { ok: false, message: `reload refused, nothing changed: risk:\n  - ${result.problems.join('\n  - ')}` };
    const changed = sectionsChanged(this.config!, config);
    this.config = next;
    this.configs?.record(next, 'reload', this.opts.configFile);
    return { ok: true, message: `risk limits reloaded from ${this.opts.configFile} (config ${hash})${changed.length > 0 ? `; changed but only applied at a restart: ${changed.join(', ')}` : ''}` };
  }

  /**
   * Roll back to an earlier config snapshot (`tradecore config rollback`, POST /config/rollback):
   * the snapshot is checked as a config file is, and its risk section goes through the same
   * reload as SIGHUP; sections other than risk take effect at a restart (the answer names them).
   * A snapshot that does not pass changes nothing. The change is journaled (config record with
   * the hash and the note) and kept in the history with who and why.
   */
  rollbackConfig(prefix: string, note: string, who: string): { status: number; body: Record<string, unknown> } {
    const engine = this.engine;
    const store = this.configs;
    if (engine === undefined || store === undefined || this.stopping !== undefined) return { status: 503, body: { error: 'the service is not running' } };
    if (note.trim() === '') return { status: 400, body: { error: 'note: say why (a non-empty string is required)' } };
    let full: string;
    let snapshot: unknown;
    try {
      full = store.resolve(prefix);
      snapshot = store.load(full);
    } catch (err) {
      if (err instanceof ConfigStoreError) return { status: 404, body: { error: err.message } };
      throw err;
    }
    const { config, problems } = checkConfig(snapshot);
    if (config === undefined) return { status: 409, body: { error: `rollback refused, nothing changed: snapshot ${full} has ${problems.length} problem(s): ${problems.join('; ')}`, problems } };
    const next: FileConfig = { ...this.config!, risk: config.risk };
    const hash = configHash(next);
    const result = engine.reloadRisk(config.risk ?? {}, { configHash: hash, why: `rollback to ${full} by ${who}: ${note}` });
    if (!result.ok) return { status: 409, body: { error: `rollback refused, nothing changed: risk: ${result.problems.join('; ')}`, problems: result.problems } };
    const restartNeeded = sectionsChanged(this.config!, config);
    this.config = next;
    store.record(next, 'rollback', store.fileOf(full), new Date(), { who, note, from: full });
    this.opts.logger.warn({ from: full, config: hash, who, note, restartNeeded }, 'config rolled back');
    return { status: 200, body: { rolledBackTo: full, config: hash, risk: config.risk ?? {}, restartNeeded } };
  }

  /**
   * Stop: the strategy's timers and `onStop`; open orders left or cancelled as `shutdown.openOrders`
   * says (cancels waited for up to `shutdown.timeoutMs`, default 5000); a journal snapshot; the
   * ops endpoint, the monitor and the engine; the embedded broker's records saved; the lock
   * released. Idempotent: a second call returns the first one's promise.
   */
  stop(reason: string): Promise<StopSummary> {
    this.stopping ??= this.stopNow(reason);
    return this.stopping;
  }

  private async stopNow(reason: string): Promise<StopSummary> {
    const engine = this.engine;
    const summary: StopSummary = { reason, openOrdersLeft: 0, cancelsSent: 0, snapshot: false };
    if (engine === undefined) {
      await this.teardown();
      return summary;
    }
    await this.strategy?.stop();
    const sd = this.config?.shutdown ?? {};
    if ((sd.openOrders ?? 'leave') === 'cancel' && engine.ready) {
      for (const o of engine.openOrders()) if (engine.cancel(o.clientOrderId).status === 'sent') summary.cancelsSent++;
      const until = Date.now() + (sd.timeoutMs ?? 5000);
      while (engine.openOrderCount() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    summary.openOrdersLeft = engine.openOrderCount();
    if (engine.journalStatus() !== undefined) {
      await engine.writeSnapshot();
      summary.snapshot = true;
    }
    await this.teardown();
    return summary;
  }

  /** Everything down, in order; safe at any point of a failed start. */
  private async teardown(): Promise<void> {
    try {
      await this.ops?.stop();
      await this.scale?.stopControl();
      this.monitor?.stop();
      await Promise.all(this.webhooks.map((w) => w.idle()));
      await this.engine?.stop();
      // the broker's records are clean only once the engine stopped without a throw
      if (this.sim !== undefined && this.dir !== undefined) writeSimState(this.dir, this.sim.exportState(), true);
    } finally {
      // after the engine: the records of its stop are exported too (for up to 2 s when NATS is up; else at the next start)
      await this.scale?.stop().catch((err: unknown) => this.opts.logger.error({ err }, 'export: stop failed'));
      this.scale = undefined;
      // whatever failed above, the directory is let go (an unclean broker state then refuses the next run, with the reason)
      this.dir?.release();
      this.ops = undefined;
      this.monitor = undefined;
    }
  }
}

/** The top-level sections other than risk that differ between two configs (applied only at a restart). */
function sectionsChanged(a: FileConfig, b: FileConfig): string[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return [...new Set([...Object.keys(ra), ...Object.keys(rb)])].filter((k) => k !== 'risk' && canonicalJson(ra[k]) !== canonicalJson(rb[k])).sort();
}
