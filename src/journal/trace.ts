/**
 * One order's whole history: every command, report, state change and anomaly the journal holds
 * for it (its status after each, from a replay of the journal), and every log line that names
 * it (pino JSON lines with its client order id, or its broker order id once known).
 */
import * as fs from 'node:fs';
import { reportOf, type JournalRecord } from './format.js';
import { parseJournal, replayEngine, type ReplayProblem } from './replay.js';

export interface TraceLine {
  /** Epoch ms. */
  t: number;
  source: 'journal' | 'log';
  /** `intent`, `cancel`, `report new`, `anomaly UNKNOWN_ORDER`, a log message... */
  what: string;
  detail: Record<string, unknown>;
  /** The order's status after a journal record, when it changed. */
  status?: string;
  /** Where: the journal record's seq, or the log file and line. */
  at: string;
}

export interface Trace {
  clientOrderId: string;
  brokerOrderId: string;
  lines: TraceLine[];
  problems: ReplayProblem[];
}

/** Whether a journal record concerns the order (by client id, or broker id once known). */
function concerns(rec: JournalRecord, id: string, bid: string): boolean {
  switch (rec.k) {
    case 'intent':
    case 'unsent':
    case 'cancel':
    case 'cancel-unsent':
      return rec.id === id;
    case 'report':
      return rec.c === id || (bid !== '' && rec.b === bid);
    case 'anomaly':
      return rec.c === id || (bid !== '' && rec.b === bid);
    default:
      return false;
  }
}

function describe(rec: JournalRecord): { what: string; detail: Record<string, unknown> } {
  switch (rec.k) {
    case 'intent':
      return { what: 'intent', detail: { side: rec.side > 0 ? 'buy' : 'sell', qty: rec.qty, priceUnits: rec.px, instrument: rec.i } };
    case 'report': {
      const { kind, execId, brokerOrderId, ...rest } = reportOf(rec);
      return { what: `report ${kind}`, detail: { execId, brokerOrderId, ...rest } };
    }
    case 'anomaly':
      return { what: `anomaly ${rec.kind}`, detail: { severity: rec.severity, reason: rec.reason } };
    case 'cancel-unsent':
      return { what: 'cancel not sent', detail: {} };
    case 'unsent':
      return { what: 'not sent', detail: {} };
    default:
      return { what: rec.k, detail: {} };
  }
}

/** Trace an order through a journal (directory, segment or archive) and log files. */
export function traceOrder(clientOrderId: string, journal: string | undefined, logs: readonly string[] = []): Trace {
  const lines: TraceLine[] = [];
  const problems: ReplayProblem[] = [];
  let bid = '';
  if (journal !== undefined) {
    const parsed = parseJournal(journal);
    problems.push(...parsed.problems);
    if (parsed.instruments === undefined) {
      problems.push({ file: journal, index: 0, reason: 'the journal has no open record naming its instruments: statuses are not shown' });
      for (const { seq, rec } of parsed.records) {
        if (rec.k === 'report' && rec.c === clientOrderId && rec.b !== '') bid = rec.b;
        if (concerns(rec, clientOrderId, bid)) lines.push({ t: rec.t, source: 'journal', ...describe(rec), at: `record ${seq}` });
      }
    } else {
      // replay the whole journal; note the order's status after each of its records
      const { engine, moveTo } = replayEngine(parsed.instruments, parsed.records.length, parsed.records[0]?.rec.t ?? 0);
      let last = '';
      for (const { seq, rec } of parsed.records) {
        moveTo(rec.t);
        const mine = concerns(rec, clientOrderId, bid);
        try {
          engine.replayJournalRecord(rec);
        } catch (err) {
          problems.push({ file: journal, index: seq, reason: (err as Error).message });
        }
        if (!mine) continue;
        const o = engine.getOrder(clientOrderId);
        if (o !== undefined && o.brokerOrderId !== '') bid = o.brokerOrderId;
        const status = o?.status ?? '';
        lines.push({ t: rec.t, source: 'journal', ...describe(rec), ...(status !== last ? { status } : {}), at: `record ${seq}` });
        last = status;
      }
    }
  }
  for (const file of logs) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      problems.push({ file, index: 0, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    text.split('\n').forEach((raw, i) => {
      if (raw.trim() === '' || !raw.includes(clientOrderId) && (bid === '' || !raw.includes(bid))) return;
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return; // not a pino line
      }
      if (l.clientOrderId !== clientOrderId && (bid === '' || l.brokerOrderId !== bid)) return;
      const { time, msg, level, pid: _p, hostname: _h, name: _n, ...detail } = l;
      lines.push({ t: typeof time === 'number' ? time : 0, source: 'log', what: String(msg ?? ''), detail: { level, ...detail }, at: `${file}:${i + 1}` });
    });
  }
  // by time; the journal's own order for equal times (a sort is stable)
  lines.sort((a, b) => a.t - b.t);
  return { clientOrderId, brokerOrderId: bid, lines, problems };
}
