/**
 * The journal's drop-copy to NATS JetStream (docs/scale-out.md). Every record is published,
 * in seq order, to `<prefix>.journal.<engineId>` with `Nats-Msg-Id: <engineId>:<seq>`, off the
 * hot path: the exporter reads the journal's segment files behind the writer, only records
 * already synced to disk (a record the engine could still lose is never exported), so the
 * journal is the buffer and a NATS outage costs no memory and blocks no order.
 *
 * Where it is: `next`, the first seq the stream has not acknowledged, persisted beside the
 * journal in `EXPORT-<stream>.json` and checked against the stream's last message of this
 * engine at every (re)connect: the stream knows best what it holds, so acks lost in an outage
 * are not republished past the duplicate window, and records a stream lost are sent again.
 *
 * Compaction waits for it (`holdJournalCompaction`) unless `compaction: allow`; then records
 * compacted into an archive are read from the archive, and records deleted before they were
 * exported are a gap: skipped, with a P1 alert `EXPORT_GAP` naming them. Lag (records and
 * seconds) is a metric and a P2 alert `EXPORT_LAG` past its threshold.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { Gauge, Counter, type Registry } from 'prom-client';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { archiveRange } from '../journal/compaction.js';
import { crc32 } from '../journal/crc32.js';
import { FRAME_HEADER, MAX_RECORD, SEGMENT_PREFIX, SEGMENT_SUFFIX, journalPackr, seqOf } from '../journal/format.js';
import type { AlertManager } from '../ops/alerts.js';
import type { Logger } from '../ops/logger.js';
import type { Engine } from '../engine.js';
import { PipelinedPublisher, ensureStream, journalSubject, lastOnSubject, natsConnect, natsWithDefaults, parseMsgId } from './nats.js';
import { EXPORT_DEFAULTS, exportProblems, type ExportOptions } from './options.js';

/** The journal the exporter reads: its directory, and how far it is written and synced. */
export interface ExportSource {
  readonly dir: string;
  /** Seq of the next record the journal will write. */
  seq(): number;
  /** Records before this seq are on disk. */
  synced(): number;
}

/** The journal of a started engine (the engine must keep its journal: `journal.dir`). */
export function engineSource(engine: Engine): ExportSource {
  const first = engine.journalStatus();
  if (first === undefined) throw new Error('export: the engine has no journal (configure journal.dir and start the engine first)');
  // after a stop the journal is closed and wholly on disk: its last seq is the end of both
  return {
    dir: first.dir,
    seq: () => engine.journalStatus()?.seq ?? engine.journalClosedAt ?? first.seq,
    synced: () => engine.journalStatus()?.synced ?? engine.journalClosedAt ?? 0,
  };
}

export { EXPORT_DEFAULTS, exportProblems, type ExportOptions } from './options.js';

/** What `status()` says. */
export interface ExportStatus {
  engineId: string;
  stream: string;
  connected: boolean;
  /** The first seq the stream has not acknowledged (everything before it is exported). */
  next: number;
  /** The journal's next seq, and what of it is synced. */
  seq: number;
  synced: number;
  lagRecords: number;
  lagSeconds: number;
  published: number;
  /** Publishes the stream answered as duplicates (a republish after an outage). */
  duplicates: number;
  /** Ranges compacted away before they were exported: [from, to) each. */
  gaps: Array<[number, number]>;
  lastError: string;
}

interface Cursor {
  /** Seq of the record at `offset`. */
  seq: number;
  offset: number;
  /** A segment file, or an archive held in memory. */
  file: string | undefined;
  archive: Buffer | undefined;
  /** Seq just past the archive's records. */
  end: number;
}

const STATE_VERSION = 1;
const READ_CHUNK = 1024 * 1024;
/** How long a batch waits for the stream's acknowledgements before it is sent again from its first unanswered record. */
const PUBLISH_TIMEOUT_MS = 5000;
const gunzip = promisify(zlib.gunzip);

/** The exporter of one engine's journal. */
export class JournalExporter {
  readonly options: Required<Omit<ExportOptions, 'control'>> & Pick<ExportOptions, 'control'>;
  private readonly nats: ReturnType<typeof natsWithDefaults>;
  private readonly subject: string;
  private readonly stateFile: string;
  private nc: NatsConnection | undefined;
  private publisher: PipelinedPublisher | undefined;
  private jsm: JetStreamManager | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private cursor: Cursor | undefined;
  private _next = 0;
  /** Time of record `_next` when it has been read (NaN: not read yet). */
  private pendingT = Number.NaN;
  /** Time of the last record the stream acknowledged, and when the exporter last saw itself caught up (NaN: never). */
  private lastAckT = Number.NaN;
  private caughtUpAt = Number.NaN;
  private readonly startedAt: number;
  private connected = false;
  /** The stream has to be asked where it is before the next publish (start, reconnect, failure). */
  private checkStream = true;
  private persistedNext = -1;
  private persistAt = 0;
  private readonly packr = journalPackr();
  private readonly stats = { published: 0, duplicates: 0, lastError: '' };
  private readonly gaps: Array<[number, number]> = [];
  private lagAlert = false;

  constructor(
    options: ExportOptions,
    private readonly source: ExportSource,
    private readonly logger: Logger,
    private readonly alerts?: AlertManager,
    private readonly now: () => number = Date.now,
  ) {
    const problems = exportProblems(options);
    if (problems.length > 0) throw new RangeError(`invalid export options:\n  - ${problems.join('\n  - ')}`);
    this.options = { ...EXPORT_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as JournalExporter['options'];
    this.nats = natsWithDefaults(options.nats);
    this.subject = journalSubject(this.nats.subjectPrefix, options.engineId);
    this.stateFile = path.join(source.dir, `EXPORT-${this.nats.stream}.json`);
    this._next = this.readState();
    this.persistedNext = this._next;
    this.startedAt = this.now();
  }

  /** The first seq not exported yet (what compaction must keep, under `hold`). */
  get next(): number {
    return this._next;
  }

  private readState(): number {
    let text: string;
    try {
      text = fs.readFileSync(this.stateFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`export: cannot read ${this.stateFile}: ${(err as Error).message}`);
    }
    try {
      const s = JSON.parse(text) as { v?: number; engineId?: string; next?: number };
      if (s.v !== STATE_VERSION || !Number.isInteger(s.next) || (s.next as number) < 0) throw new Error('not an export state');
      if (s.engineId !== this.options.engineId) {
        throw new Error(`export: ${this.stateFile} is of engine ${s.engineId}, this one is ${this.options.engineId}: one journal is one engine (move the file away to export this journal under the new name from the start)`);
      }
      return s.next as number;
    } catch (err) {
      if ((err as Error).message.startsWith('export:')) throw err;
      // a damaged file: the stream's own last message decides at connect
      this.logger.warn({ file: this.stateFile }, 'export state unreadable; the stream decides where to resume');
      return 0;
    }
  }

  private persist(force = false): void {
    if (this._next === this.persistedNext) return;
    // wall time: the engine's clock may be a manual or accelerated one
    const t = Date.now();
    if (!force && t - this.persistAt < 200) return;
    this.persistAt = t;
    const tmp = `${this.stateFile}.tmp`;
    try {
      fs.writeFileSync(tmp, `${JSON.stringify({ v: STATE_VERSION, engineId: this.options.engineId, stream: this.nats.stream, next: this._next, t })}\n`);
      fs.renameSync(tmp, this.stateFile);
      this.persistedNext = this._next;
    } catch (err) {
      this.stats.lastError = `persist: ${(err as Error).message}`;
    }
  }

  /** Start exporting (NATS need not be up: it connects in the background and catches up). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stop: export what is synced for up to `drainMs` (default 2000) if connected, persist
   * where it got to, close the connection.
   */
  async stop(drainMs = 2000): Promise<void> {
    if (!this.running) return;
    const until = this.now() + drainMs;
    while (this.connected && this._next < this.source.synced() && this.now() < until && this.stats.lastError === '') await sleep(5);
    this.running = false;
    this.wake?.();
    await this.loop;
    this.persist(true);
    await this.nc?.close().catch(() => undefined);
    this.nc = undefined;
  }

  status(): ExportStatus {
    const seq = this.source.seq();
    return {
      engineId: this.options.engineId, stream: this.nats.stream, connected: this.connected, next: this._next, seq, synced: this.source.synced(),
      lagRecords: Math.max(0, seq - this._next), lagSeconds: this.lagSeconds(seq),
      published: this.stats.published, duplicates: this.stats.duplicates, gaps: this.gaps.map((g) => [g[0], g[1]]), lastError: this.stats.lastError,
    };
  }

  /**
   * The age of the oldest record not yet acknowledged: exact once it has been read; before that
   * (it waits behind a batch in flight, or NATS is down) counted from the newest of the last
   * acknowledged record's time and the last moment the exporter was caught up, which the waiting
   * record is no older than; with neither (a backlog since start), from the exporter's start.
   */
  private lagSeconds(seq: number): number {
    const now = this.now();
    if (this._next >= seq) {
      this.caughtUpAt = now;
      return 0;
    }
    let since = this.pendingT;
    if (!Number.isFinite(since)) {
      since = Math.max(Number.isFinite(this.lastAckT) ? this.lastAckT : -Infinity, Number.isFinite(this.caughtUpAt) ? this.caughtUpAt : -Infinity);
      if (!Number.isFinite(since)) since = this.startedAt;
    }
    return Math.max(0, (now - since) / 1000);
  }

  /** Gauges and counters of the export in `registry` (the ops endpoint's /metrics). */
  registerMetrics(registry: Registry): void {
    const self = this;
    const labels = { engine: this.options.engineId };
    new Gauge({ name: 'tradecore_export_lag_records', help: 'Journal records not yet acknowledged by JetStream', labelNames: ['engine'], registers: [registry], collect() { this.set(labels, self.status().lagRecords); } });
    new Gauge({ name: 'tradecore_export_lag_seconds', help: 'Age of the oldest journal record not yet acknowledged by JetStream', labelNames: ['engine'], registers: [registry], collect() { this.set(labels, self.status().lagSeconds); } });
    new Gauge({ name: 'tradecore_export_connected', help: '1 while the exporter is connected to NATS', labelNames: ['engine'], registers: [registry], collect() { this.set(labels, self.connected ? 1 : 0); } });
    new Counter({ name: 'tradecore_export_published_total', help: 'Journal records acknowledged by JetStream', labelNames: ['engine'], registers: [registry], collect() { this.reset(); this.inc(labels, self.stats.published); } });
    new Gauge({ name: 'tradecore_export_gap_records', help: 'Records compacted away before they were exported', labelNames: ['engine'], registers: [registry], collect() { this.set(labels, self.gaps.reduce((n, g) => n + g[1] - g[0], 0)); } });
  }

  private async connect(): Promise<void> {
    const nc = await natsConnect(this.nats, `tradecore-export-${this.options.engineId}`);
    try {
      this.jsm = await jetstreamManager(nc, { timeout: 5000 });
      await ensureStream(this.jsm, this.nats);
    } catch (err) {
      // connected, but no stream to publish to (JetStream off, a stream of that name taking other subjects): start over next time
      await nc.close().catch(() => undefined);
      throw err;
    }
    this.nc = nc;
    this.publisher = new PipelinedPublisher(nc);
    this.connected = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') {
          this.connected = true;
          this.checkStream = true;
          this.wake?.();
        }
      }
    })().catch(() => undefined);
    this.logger.info({ engineId: this.options.engineId, stream: this.nats.stream, subject: this.subject, next: this._next }, 'export: connected to NATS');
  }

  private async run(): Promise<void> {
    let backoff = 50;
    while (this.running) {
      // keeps the lag's bounds fresh (caught up now?) whether or not anyone asks for the status
      this.lagSeconds(this.source.seq());
      try {
        if (this.nc === undefined) await this.connect();
        if (!this.connected) {
          this.checkLag();
          await this.idle(250);
          continue;
        }
        if (this.checkStream) await this.syncWithStream();
        const sent = await this.pump();
        this.checkLag();
        this.persist();
        backoff = 50;
        if (sent === 0) await this.idle(this.options.pollMs);
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== this.stats.lastError) this.logger.warn({ engineId: this.options.engineId, err: msg, next: this._next }, 'export: publish failed; it resumes from the last acknowledged record');
        this.stats.lastError = msg;
        this.checkStream = true;
        this.cursor = undefined;
        this.checkLag();
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Ask the stream for this engine's last message: resume after it (acks lost), or before the saved place (a stream that lost records). */
  private async syncWithStream(): Promise<void> {
    const last = await lastOnSubject(this.jsm!, this.nats.stream, this.subject);
    const id = parseMsgId(last?.header?.get('Nats-Msg-Id'));
    const inStream = id === undefined ? 0 : id.seq + 1;
    if (inStream > this._next) {
      this.logger.info({ engineId: this.options.engineId, saved: this._next, stream: inStream }, 'export: the stream holds records past the saved place (acks lost); resuming after them');
      this._next = inStream;
      this.cursor = undefined;
    } else if (inStream < this._next) {
      this.logger.warn({ engineId: this.options.engineId, saved: this._next, stream: inStream }, 'export: the stream ends before the saved place (it lost records, or is a new stream); sending them again');
      this.alerts?.raise('EXPORT_STREAM_BEHIND', 'P2', `export ${this.options.engineId}: stream ${this.nats.stream} ends at record ${inStream} but ${this._next} had been acknowledged; records from ${inStream} are sent again`);
      this._next = inStream;
      this.cursor = undefined;
    }
    this.checkStream = false;
    this.stats.lastError = '';
  }

  /** Publish the next batch of synced records; resolves with how many the stream acknowledged. */
  private async pump(): Promise<number> {
    const limit = this.source.synced();
    if (this._next >= limit) return 0;
    const batch = await this.read(limit);
    if (batch.length === 0) return 0;
    const results = await this.publisher!.publish(this.subject, batch.map((b) => ({ msgId: `${this.options.engineId}:${b.seq}`, payload: b.payload })), PUBLISH_TIMEOUT_MS);
    let done = 0;
    let failure: string | undefined;
    // in order: the first failure ends the batch there (later ones may have landed: the duplicate window and the stream check cover them)
    for (const r of results) {
      if (r === undefined || 'error' in r) {
        failure = r === undefined ? `no acknowledgement from stream ${this.nats.stream} within ${PUBLISH_TIMEOUT_MS} ms` : r.error;
        break;
      }
      if (r.duplicate) this.stats.duplicates++;
      done++;
    }
    if (done > 0) {
      this._next = batch[done - 1]!.seq + 1;
      this.stats.published += done;
      // the first unacknowledged record is no older than the batch's first (a partial batch), or than the batch's last (a whole one)
      if (done < batch.length) this.pendingT = batch[0]!.t;
      else {
        this.pendingT = Number.NaN;
        this.lastAckT = batch[batch.length - 1]!.t;
      }
    }
    if (failure !== undefined) throw new Error(failure);
    this.stats.lastError = '';
    return done;
  }

  /** Records from `_next` up to `limit` (at most a batch), with their times (the first's and the last's decoded). File reads go to the libuv pool. */
  private async read(limit: number): Promise<Array<{ seq: number; payload: Uint8Array; t: number }>> {
    const out: Array<{ seq: number; payload: Uint8Array; t: number }> = [];
    let c = this.cursor;
    if (c === undefined || c.seq !== this._next) c = await this.locate(this._next);
    if (c === undefined) return out;
    this.cursor = c;
    const max = Math.min(this.options.batch, limit - c.seq);
    if (c.archive !== undefined) {
      while (out.length < max && c.seq < c.end) {
        const len = c.archive.readUInt32LE(c.offset);
        out.push({ seq: c.seq, payload: c.archive.subarray(c.offset + FRAME_HEADER, c.offset + FRAME_HEADER + len), t: Number.NaN });
        c.offset += FRAME_HEADER + len;
        c.seq++;
      }
      if (c.seq >= c.end) this.cursor = undefined;
    } else {
      const fh = await fs.promises.open(c.file!, 'r');
      try {
        let chunk = READ_CHUNK;
        for (;;) {
          const buf = Buffer.allocUnsafe(chunk);
          const { bytesRead: got } = await fh.read(buf, 0, chunk, c.offset);
          let at = 0;
          while (out.length < max && at + FRAME_HEADER <= got) {
            const len = buf.readUInt32LE(at);
            // the end of what is written (zeros of a preallocated segment), or a frame past this read
            if (len === 0 || len > MAX_RECORD || at + FRAME_HEADER + len > got) break;
            const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len);
            if (crc32(payload) !== buf.readUInt32LE(at + 4)) break;
            out.push({ seq: c.seq, payload, t: Number.NaN });
            at += FRAME_HEADER + len;
            c.seq++;
          }
          c.offset += at;
          // one record larger than the chunk: read again with room for it
          if (out.length === 0 && got === chunk && at === 0 && got >= FRAME_HEADER) {
            const len = buf.readUInt32LE(0);
            if (len > 0 && len <= MAX_RECORD && len + FRAME_HEADER > chunk) {
              chunk = len + FRAME_HEADER;
              continue;
            }
          }
          break;
        }
      } finally {
        await fh.close();
      }
      // nothing more here while records up to `limit` are synced: the segment ended (rotated), the next read looks for the next one
      if (out.length === 0 && c.seq < limit) this.cursor = undefined;
    }
    if (out.length > 0) {
      // the first's and the last's times (for the lag figure only)
      for (const r of out.length > 1 ? [out[0]!, out[out.length - 1]!] : [out[0]!]) {
        try {
          r.t = (this.packr.unpack(r.payload) as { t: number }).t;
        } catch {
          // a record without a time: the lag falls back on its bounds
        }
      }
      if (!Number.isFinite(this.pendingT) || this._next === out[0]!.seq) this.pendingT = out[0]!.t;
    }
    return out;
  }

  /** Where record `seq` is: a segment, an archive, or nowhere (a gap: alerted, skipped to what is there). */
  private async locate(seq: number): Promise<Cursor | undefined> {
    const dir = this.source.dir;
    const names = await fs.promises.readdir(dir);
    const segments = names.map((n) => ({ n, first: seqOf(n, SEGMENT_PREFIX, SEGMENT_SUFFIX) })).filter((s) => s.first >= 0).sort((a, b) => a.first - b.first);
    for (let i = segments.length - 1; i >= 0; i--) {
      const s = segments[i]!;
      if (s.first > seq) continue;
      const file = path.join(dir, s.n);
      // step over the records before `seq` by their lengths, a chunk at a time
      const fh = await fs.promises.open(file, 'r');
      let at = 0;
      let k = s.first;
      try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        let base = -1;
        let got = 0;
        while (k < seq) {
          if (base < 0 || at + FRAME_HEADER > base + got) {
            base = at;
            got = (await fh.read(buf, 0, READ_CHUNK, at)).bytesRead;
            if (got < FRAME_HEADER) break;
          }
          const len = buf.readUInt32LE(at - base);
          if (len === 0 || len > MAX_RECORD) break;
          at += FRAME_HEADER + len;
          k++;
        }
      } finally {
        await fh.close();
      }
      // this segment ends before `seq`: not written yet (the newest one)
      if (k < seq) return undefined;
      return { seq, offset: at, file, archive: undefined, end: Infinity };
    }
    for (const n of names) {
      const r = archiveRange(n);
      if (r === undefined || seq < r.first || seq >= r.end) continue;
      const buf = await gunzip(await fs.promises.readFile(path.join(dir, n)));
      let at = 0;
      for (let k = r.first; k < seq; k++) at += FRAME_HEADER + buf.readUInt32LE(at);
      return { seq, offset: at, file: undefined, archive: buf, end: r.end };
    }
    // nowhere: what is there starts later
    const starts = [...segments.map((s) => s.first), ...names.map((n) => archiveRange(n)?.first ?? -1)].filter((f) => f > seq);
    if (starts.length === 0) return undefined;
    const from = Math.min(...starts);
    this.gaps.push([seq, from]);
    const msg = `export ${this.options.engineId}: journal records ${seq} to ${from - 1} were compacted before they were exported (export.compaction: allow); the stream will not have them`;
    this.logger.error({ engineId: this.options.engineId, from: seq, to: from - 1 }, msg);
    this.alerts?.raise('EXPORT_GAP', 'P1', msg, { key: `${seq}-${from}` });
    this._next = from;
    return this.locate(from);
  }

  private checkLag(): void {
    if (this.alerts === undefined) return;
    const s = this.status();
    const over = s.lagRecords > this.options.maxLagRecords || s.lagSeconds * 1000 > this.options.maxLagMs;
    if (over && !this.lagAlert) {
      this.lagAlert = true;
      this.alerts.raise('EXPORT_LAG', 'P2', `export ${this.options.engineId}: ${s.lagRecords} records (${s.lagSeconds.toFixed(1)} s) not yet in stream ${this.nats.stream} (thresholds ${this.options.maxLagRecords} records, ${this.options.maxLagMs} ms)${s.connected ? '' : '; NATS is not reachable'}`);
    } else if (!over && this.lagAlert) {
      this.lagAlert = false;
      this.alerts.resolve('EXPORT_LAG', '', 'export caught up');
    }
  }

  /** Check the lag now (the exporter also checks after every batch and failure). */
  tick(): void {
    this.checkLag();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
