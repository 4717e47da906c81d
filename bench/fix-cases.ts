// FIX ExecutionReport parsing, per report: what the FIX adapter does with each one before the
// engine sees it. `view`: the adapter's framer (BodyLength and CheckSum checked), the in-place
// field view, and the mapping into its one reused ReportBuffer. `naive-split`: the NAIVE way,
// the message as a string split on SOH into an object of tag → value, the checksum summed the
// same way, a fresh report object per message. `floor`: the checksum pass and nothing else, the
// least any parser must do (read every byte once).
import { FixFramer, FixView, checksum, encodeFix, utcTimestamp } from '../src/brokers/fix/codec.js';
import { execReportInto } from '../src/brokers/fix/messages.js';
import { ReportBuffer, type BrokerReport } from '../src/domain/report.js';
import type { BenchCase } from './cases.js';

const N = 1024;

/** ExecutionReports as QuickFIX's executor sends them in FIX 4.4 (a fill of a new order), ids of realistic length. */
export function execReports(): Buffer[] {
  const out: Buffer[] = [];
  const t = utcTimestamp(Date.UTC(2026, 11, 1, 14, 30));
  for (let i = 0; i < N; i++) {
    out.push(encodeFix('FIX.4.4', [
      [35, '8'], [34, 1000 + i], [49, 'EXECUTOR'], [52, t], [56, 'TRADECORE'], [6, 42.57], [11, `strat-7-${300_000 + i}`], [14, 100], [17, String(200_000 + i)],
      [31, 42.57], [32, 100], [37, String(100_000 + i)], [38, 100], [39, '2'], [54, '1'], [55, 'ACME'], [60, t], [150, 'F'], [151, 0],
    ]));
  }
  return out;
}

export function makeFixCases(): BenchCase[] {
  let msgs: Buffer[] = [];
  let k = 0;
  let sink = 0;
  const framer = new FixFramer();
  const view = new FixView();
  const into = new ReportBuffer();
  const onMessage = (b: Buffer, s: number, e: number) => {
    if (view.parse(b, s, e) && view.is(35, '8') && execReportInto(view, into) === undefined) sink += into.execId.length;
  };
  const base = (name: string, workload: string, backend: string, op: () => void): BenchCase => ({
    suite: 'fix-parse', name, backend, workload,
    init: async () => {
      msgs = execReports();
    },
    prepare: () => {
      k = 0;
    },
    op,
    check: () => {
      // the adapter's parse gives what the naive one reads
      for (const m of msgs) {
        const naive = naiveParse(m);
        if (naive === undefined) return 'the naive parser refused a message';
        framer.push(m, onMessage);
        for (const key of ['kind', 'execId', 'brokerOrderId', 'clientOrderId', 'lastQty', 'lastPx', 'cumQty', 'time'] as const) {
          if (into[key] !== naive[key]) return `${key}: ${String(into[key])} != ${String(naive[key])}`;
        }
      }
      return sink !== 0 ? undefined : 'nothing parsed';
    },
  });
  return [
    base('view', 'one ExecutionReport: framed (BodyLength, CheckSum), indexed in place, mapped into one reused ReportBuffer (the adapter)', 'js', () => {
      framer.push(msgs[k++ & (N - 1)]!, onMessage);
    }),
    base('naive-split', "one ExecutionReport as a string split on SOH into an object, checksum summed, a fresh report object (NAIVE baseline)", 'js-naive', () => {
      const r = naiveParse(msgs[k++ & (N - 1)]!);
      if (r !== undefined) sink += r.execId.length;
    }),
    base('floor', 'the checksum pass over one ExecutionReport and nothing else: every byte read once (the floor)', 'js-floor', () => {
      const m = msgs[k++ & (N - 1)]!;
      sink += checksum(m, 0, m.length - 7);
    }),
  ];
}

/** The naive parser: string, split, object, Number(). */
function naiveParse(m: Buffer): BrokerReport | undefined {
  const text = m.toString('latin1');
  const fields: Record<string, string> = {};
  for (const f of text.split('\x01')) {
    if (f === '') continue;
    const eq = f.indexOf('=');
    fields[f.slice(0, eq)] = f.slice(eq + 1);
  }
  if (Number(fields['10']) !== checksum(m, 0, m.length - 7) || fields['35'] !== '8') return undefined;
  const et = fields['150'];
  const kind = et === 'F' || et === '1' || et === '2' ? 'trade' : et === '0' ? 'new' : et === '4' ? 'canceled' : et === '8' ? 'rejected' : undefined;
  if (kind === undefined) return undefined;
  const t = fields['60']!;
  const time = Date.UTC(Number(t.slice(0, 4)), Number(t.slice(4, 6)) - 1, Number(t.slice(6, 8)), Number(t.slice(9, 11)), Number(t.slice(12, 14)), Number(t.slice(15, 17)), Number(t.slice(18, 21)));
  return { kind, execId: fields['17']!, brokerOrderId: fields['37']!, clientOrderId: fields['41'] ?? fields['11']!, lastQty: Number(fields['32']), lastPx: Number(fields['31']), cumQty: Number(fields['14']), time };
}
