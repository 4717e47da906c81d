/**
 * Alerts: P0 cannot trade, P1 state mismatch, P2 performance degradation. An alert has a
 * stable code, a level, the client order ids involved, first-seen and last-seen times and a
 * count. Repeats of an open alert fold into it (count, last seen, ids) and reach the sinks
 * once. An alert is open until its condition clears (resolved) or an operator acknowledges
 * it; both are recorded with who, when and why.
 */
import fs from 'node:fs';
import type { Clock } from '../core/clock.js';
import type { Logger } from './logger.js';

export type AlertLevel = 'P0' | 'P1' | 'P2';

export interface Alert {
  /** Unique per occurrence: `<code>-<n>`. */
  readonly id: string;
  readonly code: string;
  readonly level: AlertLevel;
  /** What it is about beyond the code (a symbol, a metric); alerts fold by code and key. */
  readonly key: string;
  message: string;
  readonly clientOrderIds: string[];
  readonly firstSeen: number;
  lastSeen: number;
  count: number;
  state: 'open' | 'resolved' | 'acknowledged';
  /** When and how it closed. */
  closedAt?: number;
  closedBy?: string;
  closeNote?: string;
}

/** Where alerts go as they open (and close). Never throws into the engine. */
export interface AlertSink {
  readonly name: string;
  deliver(event: { type: 'opened' | 'resolved' | 'acknowledged'; alert: Alert }): void;
}

/** Client order ids kept per alert (the count goes on). */
const MAX_IDS = 100;
/** Closed alerts kept for `recent()`. */
const RECENT = 200;

export class AlertManager {
  private readonly openByKey = new Map<string, Alert>();
  private readonly byId = new Map<string, Alert>();
  private readonly closed: Alert[] = [];
  private seq = 0;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly sinks: AlertSink[] = [],
  ) {}

  /** Raise (or fold into the open alert of the same code and key). Returns the alert. */
  raise(code: string, level: AlertLevel, message: string, options: { key?: string; clientOrderId?: string } = {}): Alert {
    const key = options.key ?? '';
    const k = `${code}\u0000${key}`;
    const now = this.clock.now();
    const open = this.openByKey.get(k);
    if (open !== undefined) {
      open.count++;
      open.lastSeen = now;
      open.message = message;
      const id = options.clientOrderId;
      if (id !== undefined && id !== '' && open.clientOrderIds.length < MAX_IDS && !open.clientOrderIds.includes(id)) open.clientOrderIds.push(id);
      return open;
    }
    const alert: Alert = {
      id: `${code}-${++this.seq}`, code, level, key, message,
      clientOrderIds: options.clientOrderId !== undefined && options.clientOrderId !== '' ? [options.clientOrderId] : [],
      firstSeen: now, lastSeen: now, count: 1, state: 'open',
    };
    this.openByKey.set(k, alert);
    this.byId.set(alert.id, alert);
    this.emit('opened', alert);
    return alert;
  }

  /** The condition behind an open alert cleared. Returns it, or undefined when none was open. */
  resolve(code: string, key = '', why = 'condition cleared'): Alert | undefined {
    const alert = this.openByKey.get(`${code}\u0000${key}`);
    if (alert === undefined) return undefined;
    this.close(alert, 'resolved', 'condition', why);
    return alert;
  }

  /** An operator's acknowledgement closes an open alert. Throws for an unknown or closed one. */
  acknowledge(id: string, who: string, note = ''): Alert {
    const alert = this.byId.get(id);
    if (alert === undefined) throw new RangeError(`no alert ${id}`);
    if (alert.state !== 'open') throw new RangeError(`alert ${id} is already ${alert.state}`);
    this.close(alert, 'acknowledged', who, note);
    return alert;
  }

  private close(alert: Alert, state: 'resolved' | 'acknowledged', by: string, note: string): void {
    alert.state = state;
    alert.closedAt = this.clock.now();
    alert.closedBy = by;
    alert.closeNote = note;
    this.openByKey.delete(`${alert.code}\u0000${alert.key}`);
    this.closed.push(alert);
    if (this.closed.length > RECENT) this.byId.delete(this.closed.shift()!.id);
    this.emit(state, alert);
  }

  private emit(type: 'opened' | 'resolved' | 'acknowledged', alert: Alert): void {
    for (const sink of this.sinks) {
      try {
        sink.deliver({ type, alert: { ...alert, clientOrderIds: [...alert.clientOrderIds] } });
      } catch {
        // a sink's own failure is its business (the webhook sink counts its failures)
      }
    }
  }

  get(id: string): Alert | undefined {
    return this.byId.get(id);
  }

  /** Open alerts, most severe first, then oldest first. */
  open(): Alert[] {
    return [...this.openByKey.values()].sort((a, b) => a.level.localeCompare(b.level) || a.firstSeen - b.firstSeen);
  }

  /** Closed alerts, newest first (the last 200). */
  recent(): Alert[] {
    return [...this.closed].reverse();
  }

  /** Open alerts per level. */
  openCounts(): Record<AlertLevel, number> {
    const out: Record<AlertLevel, number> = { P0: 0, P1: 0, P2: 0 };
    for (const a of this.openByKey.values()) out[a.level]++;
    return out;
  }
}

/**
 * Alerts to the log: P0 at error, P1 and P2 at warn; closes at info. The alert's own level
 * (P0/P1/P2) is `alertLevel`: `level` is pino's, and a line has one of each.
 */
export function logSink(logger: Logger): AlertSink {
  return {
    name: 'log',
    deliver({ type, alert }) {
      const line = { alert: alert.id, code: alert.code, alertLevel: alert.level, clientOrderIds: alert.clientOrderIds, count: alert.count, closedBy: alert.closedBy };
      if (type !== 'opened') logger.info(line, `alert ${type}: ${alert.message}`);
      else if (alert.level === 'P0') logger.error(line, `alert opened: ${alert.message}`);
      else logger.warn(line, `alert opened: ${alert.message}`);
    },
  };
}

export interface WebhookOptions {
  url: string;
  /** Per attempt, ms. Default 2000. */
  timeoutMs?: number;
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** First retry delay, doubled each time. Default 200 ms. */
  backoffMs?: number;
  /** Deliveries waiting at most; beyond it the oldest is dropped (counted). Default 1000. */
  maxQueue?: number;
  /** Extra headers (an Authorization for the receiver, for example). */
  headers?: Record<string, string>;
  /** Only alerts of these levels go to this webhook (one webhook per level: a pager for P0, a chat for P2). Default: every level. */
  levels?: readonly AlertLevel[];
}

export interface WebhookStats {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
}

/** One line of the alert journal (`alertJournalSink`). */
export interface AlertJournalLine {
  /** Wall-clock time of the event, ISO 8601 (the alert's own times are the engine clock's, epoch ms). */
  readonly at: string;
  readonly type: 'opened' | 'resolved' | 'acknowledged';
  readonly alert: Alert;
}

/**
 * The alert journal: every alert event appended to `file` as one JSON line, synchronously (an
 * alert is rare; the line is on disk before the next one). The go-live gate replays it to find
 * the P0/P1 alerts still open (docs/go-live.md). A write that fails is counted, never thrown.
 */
export function alertJournalSink(file: string): AlertSink & { readonly failures: number } {
  let failures = 0;
  // there from the start: a day without an alert leaves an empty journal, not a missing one
  try {
    fs.appendFileSync(file, '');
  } catch {
    failures++;
  }
  return {
    name: `journal:${file}`,
    get failures() {
      return failures;
    },
    deliver(event) {
      const line: AlertJournalLine = { at: new Date().toISOString(), type: event.type, alert: event.alert };
      try {
        fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
      } catch {
        failures++;
      }
    },
  };
}

/** The P0/P1 alerts an alert journal's lines leave open, and the lines it could not read. */
export function openInAlertJournal(text: string): { open: Alert[]; events: number; bad: number[] } {
  const open = new Map<string, Alert>();
  const bad: number[] = [];
  let events = 0;
  text.split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    let line: AlertJournalLine;
    try {
      line = JSON.parse(l) as AlertJournalLine;
    } catch {
      bad.push(i + 1);
      return;
    }
    if (typeof line?.alert?.id !== 'string' || !['opened', 'resolved', 'acknowledged'].includes(line.type)) {
      bad.push(i + 1);
      return;
    }
    events++;
    if (line.type === 'opened') open.set(line.alert.id, line.alert);
    else open.delete(line.alert.id);
  });
  return { open: [...open.values()].filter((a) => a.level === 'P0' || a.level === 'P1'), events, bad };
}

/**
 * Alerts to a webhook: an HTTP POST of `{type, alert}` as JSON, with a timeout per attempt and
 * retries with backoff. It never blocks the engine: deliveries queue and go out one at a time
 * in the background; a full queue drops the oldest.
 */
export function webhookSink(options: WebhookOptions, logger: Logger): AlertSink & { readonly stats: WebhookStats; idle(): Promise<void> } {
  const timeoutMs = options.timeoutMs ?? 2000;
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 200;
  const maxQueue = options.maxQueue ?? 1000;
  const queue: string[] = [];
  const stats: WebhookStats = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  let running: Promise<void> | undefined;
  const post = async (body: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(options.url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body, signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        if (res.ok) {
          stats.sent++;
          return;
        }
        throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        if (attempt >= retries) {
          stats.failed++;
          logger.warn({ webhook: options.url, error: (err as Error).message, attempts: attempt + 1 }, 'alert webhook delivery failed');
          return;
        }
        stats.retries++;
        await new Promise((r) => setTimeout(r, backoffMs * 2 ** attempt).unref());
      }
    }
  };
  const drain = async () => {
    while (queue.length > 0) await post(queue.shift()!);
    running = undefined;
  };
  return {
    name: 'webhook',
    stats,
    deliver(event) {
      if (options.levels !== undefined && !options.levels.includes(event.alert.level)) return;
      queue.push(JSON.stringify(event));
      if (queue.length > maxQueue) {
        queue.shift();
        stats.dropped++;
      }
      running ??= drain();
    },
    /** Resolves when every queued delivery has been tried. */
    async idle() {
      while (running !== undefined) await running;
    },
  };
}
