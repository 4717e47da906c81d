// The TCP simulated broker's report decode: what the adapter does per report before the engine
// sees it. `general`: msgpackr's unpack of the frame (a message object and a report object per
// report; what the adapter did before). `into-buffer`: the adapter's decoder straight into its
// one reused ReportBuffer. `strings-only`: just making the three id strings from the same bytes,
// the part any decoder (native included) must still do on the JS heap.
import { decodeMessage, decodeReport, encodeFrame } from '../src/brokers/sim/wire.js';
import { ReportBuffer, type BrokerReport } from '../src/domain/report.js';
import type { BenchCase } from './cases.js';

const FRAMES = 1024;

/** Ack and fill frames as the simulated server sends them, ids of realistic length. */
function frames(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const report: BrokerReport =
      i & 1
        ? { kind: 'trade', execId: `E${100_000 + i}`, brokerOrderId: `SIM-${200_000 + i}`, clientOrderId: `strat-7-${300_000 + i}`, lastQty: 100, lastPx: 42.57, cumQty: 100, seq: 2, time: 1_764_600_000_000 + i }
        : { kind: 'new', execId: `E${100_000 + i}`, brokerOrderId: `SIM-${200_000 + i}`, clientOrderId: `strat-7-${300_000 + i}`, cumQty: 0, seq: 1, time: 1_764_600_000_000 + i };
    out.push(encodeFrame({ t: 'report', report }).subarray(4));
  }
  return out;
}

export function makeWireCases(): BenchCase[] {
  let bodies: Buffer[] = [];
  let k = 0;
  let sink = 0;
  const into = new ReportBuffer();
  const base = (name: string, workload: string, op: () => void): BenchCase => ({
    suite: 'wire-decode', name, backend: 'js', workload,
    init: async () => {
      bodies = frames();
    },
    prepare: () => {
      k = 0;
    },
    op,
    check: () => {
      // both decoders agree on every frame
      for (const b of bodies) {
        const general = decodeMessage(b).report as BrokerReport;
        if (!decodeReport(b, 0, b.length, into)) return 'the fast decoder declined a server frame';
        for (const key of Object.keys(general) as Array<keyof BrokerReport>) if (into[key] !== general[key]) return `${key}: ${String(into[key])} != ${String(general[key])}`;
      }
      return sink !== 0 ? undefined : 'nothing decoded';
    },
  });
  return [
    base('general', 'msgpackr unpack of one report frame: a message and a report object per report (the adapter before)', () => {
      const m = decodeMessage(bodies[k++ & (FRAMES - 1)]!);
      sink += (m.report as BrokerReport).execId.length;
    }),
    base('into-buffer', 'one report frame decoded into one reused ReportBuffer (the adapter now)', () => {
      const b = bodies[k++ & (FRAMES - 1)]!;
      if (decodeReport(b, 0, b.length, into)) sink += into.execId.length;
    }),
    base('strings-only', 'only the three id strings of a frame made from its bytes (what any decoder, native too, still pays)', () => {
      const b = bodies[k++ & (FRAMES - 1)]!;
      // the ids sit at fixed places in these frames: found once, outside the timing, would be
      // cheating the other way; a scan for the three string headers stands in for the parse
      let s = 0;
      for (let i = 0, found = 0; i < b.length && found < 3; i++) {
        const c = b[i]!;
        if (c >= 0xa8 && c <= 0xbf && (b[i + 1] === 0x45 || b[i + 1] === 0x53)) {
          s += b.toString('latin1', i + 1, i + 1 + (c & 0x1f)).length;
          found++;
          i += c & 0x1f;
        }
      }
      sink += s;
    }),
  ];
}
