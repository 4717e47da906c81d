/**
 * One engine's scale-out pieces wired together (what `tradecore run` does with an `export:`
 * section; docs/scale-out.md): the journal's drop-copy exporter with its compaction hold and
 * metrics, and, unless `control.enabled: false`, the firm link that takes central's control
 * messages and gross-exposure share.
 */
import type { Registry } from 'prom-client';
import type { Engine } from '../engine.js';
import type { AlertManager } from '../ops/alerts.js';
import type { Logger } from '../ops/logger.js';
import { JournalExporter, engineSource, type ExportOptions, type ExportStatus } from './exporter.js';
import { FirmLink, type FirmLinkStatus } from './firm-link.js';

export interface ScaleOutDeps {
  logger: Logger;
  /** Where EXPORT_LAG, EXPORT_GAP, EXPORT_STREAM_BEHIND and CENTRAL_LOST are raised (the monitor's). */
  alerts?: AlertManager;
  /** The ops token: control messages must be signed with it (`control.auth: token`, the default). */
  token?: string;
  /** The exporter's gauges and counters go here (the ops endpoint's `/metrics`). */
  registry?: Registry;
}

export interface ScaleOutStatus {
  export: ExportStatus;
  /** Null when `control.enabled` is false. */
  control: FirmLinkStatus | null;
}

/** A started exporter and firm link; `stop` after the engine stopped drains the journal's last records. */
export class ScaleOut {
  readonly exporter: JournalExporter;
  readonly link: FirmLink | undefined;

  /** Start exporting `engine`'s journal (the engine must be started, with a journal). */
  constructor(
    private readonly engine: Engine,
    readonly options: ExportOptions,
    deps: ScaleOutDeps,
  ) {
    this.exporter = new JournalExporter(options, engineSource(engine), deps.logger, deps.alerts, () => engine.clock.now());
    if ((options.compaction ?? 'hold') === 'hold') engine.holdJournalCompaction(() => this.exporter.next);
    if (deps.registry !== undefined) this.exporter.registerMetrics(deps.registry);
    const c = options.control ?? {};
    if (c.enabled !== false) {
      this.link = new FirmLink(engine, {
        engineId: options.engineId, nats: options.nats, auth: c.auth, centralTimeoutMs: c.centralTimeoutMs, windowMs: c.windowMs,
        ...(deps.token !== undefined ? { token: deps.token } : {}),
      }, deps.logger, deps.alerts);
    }
    this.exporter.start();
    this.link?.start();
  }

  status(): ScaleOutStatus {
    return { export: this.exporter.status(), control: this.link?.status() ?? null };
  }

  /** Stop listening to central (before the engine stops: no control message lands on a stopping engine). */
  async stopControl(): Promise<void> {
    await this.link?.stop();
  }

  /** Stop the exporter, after draining what is synced for up to `drainMs`; lifts the compaction hold. */
  async stop(drainMs = 2000): Promise<void> {
    await this.stopControl();
    await this.exporter.stop(drainMs);
    this.engine.holdJournalCompaction(undefined);
  }
}
