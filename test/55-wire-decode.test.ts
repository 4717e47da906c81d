import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeReport, encodeFrame, FrameDecoder } from '../src/brokers/sim/wire.js';
import { ReportBuffer, copyReport, type BrokerReport } from '../src/domain/report.js';
import { Prng } from '../src/brokers/sim/prng.js';

/** A frame's body (the 4-byte length off). */
const body = (msg: Parameters<typeof encodeFrame>[0]) => encodeFrame(msg).subarray(4);

/** What the fast path gives, as a plain report with only the fields it set; undefined when it declines. */
function fast(b: Buffer): BrokerReport | undefined {
  const into = new ReportBuffer();
  return decodeReport(b, 0, b.length, into) ? copyReport(into) : undefined;
}

const KINDS = ['new', 'trade', 'canceled', 'rejected', 'expired', 'cancel_rejected', 'pending_cancel'] as const;

function randomReport(rng: Prng): BrokerReport {
  const id = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x21 + rng.int(0, 93))).join('');
  const num = () => [rng.int(0, 127), -rng.int(1, 32), rng.int(128, 65_535), rng.int(65_536, 2 ** 31), 2 ** 40 + rng.int(0, 999), rng.int(1, 1e6) / 100, -rng.int(1, 1e6) / 7][rng.int(0, 6)]!;
  const r: BrokerReport = { kind: KINDS[rng.int(0, 6)]!, execId: id(rng.int(1, 40)), brokerOrderId: id(rng.int(0, 300)) };
  if (rng.chance(0.8)) r.clientOrderId = id(rng.int(1, 64));
  if (rng.chance(0.5)) r.lastQty = num();
  if (rng.chance(0.5)) r.lastPx = num();
  if (rng.chance(0.5)) r.cumQty = num();
  if (rng.chance(0.5)) r.seq = num();
  if (rng.chance(0.5)) r.time = num();
  if (rng.chance(0.2)) r.symbol = id(rng.int(1, 8));
  if (rng.chance(0.2)) r.side = rng.chance(0.5) ? 'buy' : 'sell';
  if (rng.chance(0.2)) r.qty = num();
  if (rng.chance(0.2)) r.price = num();
  if (rng.chance(0.2)) r.type = rng.chance(0.5) ? 'limit' : 'market';
  if (rng.chance(0.2)) r.tif = (['day', 'gtc', 'ioc'] as const)[rng.int(0, 2)]!;
  if (rng.chance(0.2)) r.reason = 'PRICE_BAND';
  if (rng.chance(0.2)) r.text = rng.chance(0.5) ? `SIM: ${id(rng.int(0, 70_000))}` : 'prix hors bande: 10,05 €';
  return r;
}

describe('the TCP report decoder into a reused report structure', () => {
  it('gives exactly what the general msgpack decoder gives, for 5000 seeded reports of every shape and number width', () => {
    const rng = new Prng(11);
    for (let i = 0; i < 5000; i++) {
      const r = randomReport(rng);
      const b = body({ t: 'report', report: r });
      const general = decodeMessage(b).report as BrokerReport;
      expect(fast(b)).toEqual(general);
      expect(fast(b)).toStrictEqual(copyReport(general));
    }
  });

  it('keeps kind, side, type and tif as the interned strings', () => {
    const b = body({ t: 'report', report: { kind: 'trade', execId: 'E1', brokerOrderId: 'B1', side: 'sell', type: 'market', tif: 'ioc', lastQty: 1, lastPx: 2 } });
    const into = new ReportBuffer();
    expect(decodeReport(b, 0, b.length, into)).toBe(true);
    expect(into).toMatchObject({ kind: 'trade', side: 'sell', type: 'market', tif: 'ioc', lastQty: 1, lastPx: 2 });
  });

  it('declines anything unusual, so the general path decides: another message, an unknown or repeated key, nil, a boolean, an unknown kind, a missing id', () => {
    const plain = new Packr({ useRecords: false, moreTypes: false });
    const cases: Buffer[] = [
      body({ t: 'heartbeat', time: 5 }),
      body({ t: 'report', report: { kind: 'new', execId: 'E', brokerOrderId: 'B', extra: 1 } as unknown as BrokerReport }),
      body({ t: 'report', report: { kind: 'new', execId: 'E', brokerOrderId: 'B', seq: null } as unknown as BrokerReport }),
      body({ t: 'report', report: { kind: 'new', execId: 'E', brokerOrderId: 'B', seq: true } as unknown as BrokerReport }),
      body({ t: 'report', report: { kind: 'filled', execId: 'E', brokerOrderId: 'B' } as unknown as BrokerReport }),
      body({ t: 'report', report: { kind: 'new', brokerOrderId: 'B' } as unknown as BrokerReport }),
      body({ t: 'report', report: { kind: 'new', execId: 'E', brokerOrderId: 'B' }, more: 1 }),
      // a key twice: msgpack allows it, the general decoder keeps the last
      Buffer.concat([Buffer.from([0x82]), plain.pack('t'), plain.pack('report'), plain.pack('report'), Buffer.from([0x84]), plain.pack('kind'), plain.pack('new'), plain.pack('execId'), plain.pack('E'), plain.pack('brokerOrderId'), plain.pack('B'), plain.pack('execId'), plain.pack('F')]),
    ];
    for (const b of cases) expect(fast(b)).toBeUndefined();
  });

  it('splits a stream into frames in place, across chunk boundaries, without a message per frame', () => {
    const reports = [{ kind: 'new', execId: 'A', brokerOrderId: 'B1', clientOrderId: 'c1', seq: 1 }, { kind: 'trade', execId: 'F', brokerOrderId: 'B1', lastQty: 5, lastPx: 10.25, seq: 2 }] as BrokerReport[];
    const stream = Buffer.concat([...reports.map((report) => encodeFrame({ t: 'report', report })), encodeFrame({ t: 'heartbeat', time: 1 })]);
    const got: unknown[] = [];
    const d = new FrameDecoder();
    const into = new ReportBuffer();
    for (let i = 0; i < stream.length; i += 7) {
      d.frames(stream.subarray(i, i + 7), (buf, start, end) => {
        got.push(decodeReport(buf, start, end, into) ? copyReport(into) : decodeMessage(buf.subarray(start, end)));
      });
    }
    expect(got).toEqual([...reports, { t: 'heartbeat', time: 1 }]);
    expect(d.buffered).toBe(0);
  });
});
