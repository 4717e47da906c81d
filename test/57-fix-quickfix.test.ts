/**
 * The FIX codec against a FIX engine nobody here wrote: QuickFIX's example acceptors, from
 * Debian's packages (test/fixtures/fix/quickfix.sh; CI unpacks them and sets
 * TRADECORE_REQUIRE_QUICKFIX=1, so there these tests cannot skip). QuickFIX checks BodyLength,
 * CheckSum and the header of every message we encode, and drops the session on any error; its
 * ExecutionReports go through the adapter's parse and mapping.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execReportInto } from '../src/brokers/fix/messages.js';
import { ReportBuffer } from '../src/domain/report.js';
import { utcTimestamp } from '../src/brokers/fix/codec.js';
import { HAVE_QUICKFIX, RawFixClient, startAcceptor, type Acceptor } from './fix-helpers.js';

if (!HAVE_QUICKFIX) process.stderr.write('57-fix-quickfix: skipped, QuickFIX examples not unpacked (bash test/fixtures/fix/quickfix.sh)\n');

describe.skipIf(!HAVE_QUICKFIX)('the FIX codec against QuickFIX', () => {
  const acceptors: Acceptor[] = [];
  afterAll(async () => {
    for (const a of acceptors) await a.stop();
  });

  for (const beginString of ['FIX.4.4', 'FIX.4.2']) {
    it(`executor, ${beginString}: logon, a limit order, its fill read into a report with both ids, logout`, async () => {
      const ex = await startAcceptor('executor', ['FIX.4.4', 'FIX.4.2']);
      acceptors.push(ex);
      const c = new RawFixClient(ex.port, beginString, 'EXECUTOR');
      await c.connected();
      c.send('A', [[98, 0], [108, 30]]);
      const logon = await c.next((m) => m[35] === 'A');
      expect(logon[8]).toBe(beginString);
      expect(logon[108]).toBe('30');
      c.send('D', [[11, 'tc-1'], [21, '1'], [55, 'ACME'], [54, '1'], [60, utcTimestamp(Date.now())], [38, 100], [40, '2'], [44, 10.05], [59, '0']]);
      const er = await c.next((m) => m[35] === '8');
      // map it as the adapter does
      const r = new ReportBuffer();
      expect(execReportInto(c.viewOf(er), r)).toBeUndefined();
      expect(r).toMatchObject({ kind: 'trade', clientOrderId: 'tc-1', lastQty: 100, lastPx: 10.05, cumQty: 100 });
      expect(r.brokerOrderId).not.toBe('');
      expect(r.execId).not.toBe('');
      c.send('5');
      expect((await c.next((m) => m[35] === '5'))[35]).toBe('5');
      c.close();
    });
  }

  it('ordermatch, FIX.4.2: a resting order is acked (ExecType 0), a crossing one fills both sides', async () => {
    const om = await startAcceptor('ordermatch', ['FIX.4.2']);
    acceptors.push(om);
    const c = new RawFixClient(om.port, 'FIX.4.2', 'ORDERMATCH');
    await c.connected();
    c.send('A', [[98, 0], [108, 30]]);
    await c.next((m) => m[35] === 'A');
    const order = (id: string, side: string, qty: number) => c.send('D', [[11, id], [21, '1'], [55, 'ACME'], [54, side], [60, utcTimestamp(Date.now())], [38, qty], [40, '2'], [44, 10], [59, '0']]);
    const r = new ReportBuffer();
    order('buy-1', '1', 100);
    expect(execReportInto(c.viewOf(await c.next((m) => m[35] === '8' && m[11] === 'buy-1')), r)).toBeUndefined();
    expect(r).toMatchObject({ kind: 'new', clientOrderId: 'buy-1', cumQty: 0 });
    order('sell-1', '2', 40);
    const seen: Array<[string, string, number | undefined]> = [];
    for (let k = 0; k < 3; k++) {
      expect(execReportInto(c.viewOf(await c.next((m) => m[35] === '8')), r)).toBeUndefined();
      seen.push([r.clientOrderId!, r.kind, r.lastQty]);
    }
    // the sell is acked, then both sides fill 40 (ordermatch's own order of reports)
    expect(seen.filter(([, kind]) => kind === 'trade').map(([id, , q]) => [id, q]).sort()).toEqual([['buy-1', 40], ['sell-1', 40]]);
    c.close();
  });
});
