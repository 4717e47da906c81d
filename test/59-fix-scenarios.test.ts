/**
 * The engine on the FIX adapter against tc-acceptor (test/fixtures/fix/acceptor.cpp, our acceptor
 * on QuickFIX's session layer) for what QuickFIX's examples cannot do: FIX 4.4 acks and partial
 * fills, cancel rejects, order status and mass status answers, reports lost, delayed or cut off,
 * and an acceptor restart mid-session whose fills arrive by resend. Plus the session Reject
 * QuickFIX's executor sends for a market order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixBroker, type FixBrokerOptions } from '../src/brokers/fix/adapter.js';
import { BrokerError } from '../src/brokers/adapter.js';
import { createEngine, type Engine } from '../src/engine.js';
import { ManualClock } from '../src/core/clock.js';
import { compareWithBroker } from '../src/recon/compare.js';
import type { ExecutionReport } from '../src/domain/report.js';
import { HAVE_QUICKFIX, startAcceptor, type Acceptor } from './fix-helpers.js';
import { quiet, until } from './helpers.js';

const INSTRUMENTS = [
  { symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'REJX', tickSize: 0.01, pricePrecision: 2 },
];

describe.skipIf(!HAVE_QUICKFIX)('the engine on the FIX adapter, against tc-acceptor (QuickFIX session layer)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const store = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tc-fix-scn-'));
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  };
  const acceptor = async (beginStrings: string[], options: Parameters<typeof startAcceptor>[2] = {}) => {
    const a = await startAcceptor('tc-acceptor', beginStrings, { senderCompId: 'VENUE', ...options });
    cleanups.push(() => a.stop());
    return a;
  };
  const engineOn = async (a: Acceptor, beginString: 'FIX.4.2' | 'FIX.4.4', storeDir: string, extra: Partial<FixBrokerOptions> = {}, graceMs?: number) => {
    const broker = new FixBroker({ port: a.port, beginString, senderCompId: 'TRADECORE', targetCompId: 'VENUE', storeDir, heartbeatSeconds: 5, ...extra });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: quiet(), environment: 'paper', connection: { heartbeatMs: 0, reconnectBaseMs: 50, reconnectCapMs: 200 }, ...(graceMs !== undefined ? { recon: { graceMs } } : {}) });
    const reports: Array<Pick<ExecutionReport, 'kind' | 'execId' | 'clientOrderId' | 'reason' | 'text'>> = [];
    engine.setStrategy({ onExecutionReport: (r) => void reports.push({ kind: r.kind, execId: r.execId, clientOrderId: r.clientOrderId, ...(r.reason !== undefined ? { reason: r.reason } : {}), ...(r.text !== undefined ? { text: r.text } : {}) }) });
    await engine.start();
    cleanups.push(() => engine.stop());
    return { engine, broker, reports };
  };
  const clean = async (engine: Engine, broker: FixBroker) => expect((await compareWithBroker(engine, broker)).problems).toEqual([]);

  it('4.4: an ack, then partial fills to the full quantity; a cancel of the filled order is rejected too late, a cancel refused with its text, a rejected order with its code; market, IOC and GTC on the wire', async () => {
    const a = await acceptor(['FIX.4.4']);
    const { engine, broker, reports } = await engineOn(a, 'FIX.4.4', store());
    engine.submit({ clientOrderId: 'p-1', symbol: 'ACME', side: 'buy', qty: 100, price: 10 });
    await until(() => engine.getOrder('p-1')?.status === 'Submitted', 10_000, 'the ack');
    expect(engine.getOrder('p-1')!.brokerOrderId).toMatch(/^T\d+$/);
    await a.command('fill p-1 40 10');
    await until(() => engine.getOrder('p-1')?.status === 'PartiallyFilled', 10_000, 'the first partial');
    expect(engine.getOrder('p-1')!.cumQty).toBe(40);
    await a.command('fill p-1 25 9.99');
    await a.command('fill p-1 35 9.98');
    await until(() => engine.getOrder('p-1')?.status === 'Filled', 10_000, 'the last fill');
    expect(engine.stats().fills).toBe(3);
    expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(100);
    expect(engine.getOrder('p-1')!.avgPx).toBeCloseTo((40 * 10 + 25 * 9.99 + 35 * 9.98) / 100, 9);
    // too late: the acceptor holds the order filled
    expect(engine.cancel('p-1').status).not.toBe('sent');
    engine.submit({ clientOrderId: 'p-2', symbol: 'ACME', side: 'sell', qty: 10, price: 11 });
    await until(() => engine.getOrder('p-2')?.status === 'Submitted', 10_000, 'the second ack');
    await a.command('fill p-2 10 11');
    expect(engine.cancel('p-2').status).toBe('sent'); // sent before the fill is seen
    await until(() => reports.some((r) => r.clientOrderId === 'p-2' && r.kind === 'cancel_rejected'), 10_000, 'the too-late reject');
    expect(reports.find((r) => r.clientOrderId === 'p-2' && r.kind === 'cancel_rejected')).toMatchObject({ reason: 'TOO_LATE_TO_CANCEL', text: 'too late to cancel' });
    await until(() => engine.getOrder('p-2')?.status === 'Filled', 10_000, 'p-2 filled');
    // refused outright: the order keeps resting
    await a.command('cancel-mode reject');
    engine.submit({ clientOrderId: 'p-3', symbol: 'ACME', side: 'buy', qty: 5, price: 9 });
    await until(() => engine.getOrder('p-3')?.status === 'Submitted', 10_000, 'the third ack');
    expect(engine.cancel('p-3').status).toBe('sent');
    await until(() => reports.some((r) => r.clientOrderId === 'p-3' && r.kind === 'cancel_rejected'), 10_000, 'the refusal');
    expect(reports.find((r) => r.clientOrderId === 'p-3' && r.kind === 'cancel_rejected')).toMatchObject({ reason: 'BROKER_REJECT', text: 'cancel refused by tc-acceptor' });
    expect(engine.getOrder('p-3')!.status).toBe('Submitted');
    await a.command('cancel-mode answer');
    expect(engine.cancel('p-3').status).toBe('sent');
    await until(() => engine.getOrder('p-3')?.status === 'Cancelled', 10_000, 'the cancel');
    // rejected on entry, OrdRejReason 3 onto the engine's code
    engine.submit({ clientOrderId: 'p-4', symbol: 'REJX', side: 'buy', qty: 5, price: 9 });
    await until(() => engine.getOrder('p-4')?.status === 'Rejected', 10_000, 'the reject');
    expect(engine.getOrder('p-4')).toMatchObject({ rejectReason: 'MAX_ORDER_QTY', rejectText: 'symbol refused by tc-acceptor' });
    // a market order (40=1, no price) fills at the acceptor's 100; an IOC (59=3) that finds
    // nothing is cancelled at once; a GTC (59=1) rests
    engine.updateReference('ACME', 100);
    engine.submit({ clientOrderId: 'p-5', symbol: 'ACME', side: 'sell', qty: 7, type: 'market' });
    engine.submit({ clientOrderId: 'p-6', symbol: 'ACME', side: 'buy', qty: 3, price: 99, tif: 'ioc' });
    engine.submit({ clientOrderId: 'p-7', symbol: 'ACME', side: 'buy', qty: 4, price: 98, tif: 'gtc' });
    await until(() => engine.getOrder('p-5')?.status === 'Filled' && engine.getOrder('p-6')?.status === 'Cancelled' && engine.getOrder('p-7')?.status === 'Submitted', 10_000, 'market, IOC and GTC');
    expect(engine.getOrder('p-5')!.avgPx).toBe(100);
    const sent = (id: string) => a.output().split('\n').find((l) => l.startsWith('IN ') && l.includes('|35=D|') && l.includes(`|11=${id}|`))!;
    expect(sent('p-5')).toMatch(/\|40=1\|/);
    expect(sent('p-5')).not.toMatch(/\|44=/);
    expect(sent('p-6')).toMatch(/\|59=3\|/);
    expect(sent('p-7')).toMatch(/\|59=1\|/);
    expect(sent('p-1')).toMatch(/\|40=2\|.*\|59=0\|/);
    await clean(engine, broker);
    // the acceptor's log: every message from us once, in sequence
    const ours = a.output().split('\n').filter((l) => l.startsWith('IN ') && l.includes('|49=TRADECORE|'));
    const seqs = ours.map((l) => Number(/\|34=(\d+)\|/.exec(l)![1]));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(ours.filter((l) => l.includes('|35=D|'))).toHaveLength(7);
  });

  for (const beginString of ['FIX.4.4', 'FIX.4.2'] as const) {
    it(`${beginString} OrderStatusRequest: a cancel whose answer the acceptor lost stays PendingCancel until the status answer settles it`, async () => {
      const a = await acceptor([beginString]);
      const { engine, broker, reports } = await engineOn(a, beginString, store(), { statusRequests: 'order' });
      expect(broker.syncs).toEqual({ orders: 'broker', trades: 'session', positions: 'derived', account: false });
      engine.submit({ clientOrderId: 's-1', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
      engine.submit({ clientOrderId: 's-2', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
      await until(() => engine.getOrder('s-1')?.status === 'Submitted' && engine.getOrder('s-2')?.status === 'Submitted', 10_000, 'the acks');
      await a.command('lose-next 1');
      expect(engine.cancel('s-1').status).toBe('sent');
      await a.waitFor(/^LOST .*\|35=8\|.*\|150=4\|/m);
      await new Promise((r) => setTimeout(r, 200));
      expect(engine.getOrder('s-1')!.status).toBe('PendingCancel');
      // a reconciliation run asks the broker (syncOpenOrders: one H per open order)
      const run = await engine.reconcile();
      await until(() => engine.getOrder('s-1')?.status === 'Cancelled', 10_000, 'the status answer');
      expect(reports.find((r) => r.clientOrderId === 's-1' && r.kind === 'canceled')!.execId).toMatch(/^STATUS-/);
      expect(engine.getOrder('s-2')!.status).toBe('Submitted');
      expect(a.output().split('\n').filter((l) => l.startsWith('IN ') && l.includes('|35=H|'))).toHaveLength(2);
      expect(run.notCompared).toEqual([expect.stringMatching(/^cash: /), expect.stringMatching(/^positions held outside/)]);
      // a second round after the status is known asks only for what is open
      await broker.syncOpenOrders();
      expect(a.output().split('\n').filter((l) => l.startsWith('IN ') && l.includes('|35=H|'))).toHaveLength(3);
      await clean(engine, broker);
    });
  }

  it('4.4 OrderMassStatusRequest: one request settles a lost cancel; a fill the acceptor lost is never made up, and reconciliation flags it', async () => {
    const a = await acceptor(['FIX.4.4']);
    const { engine, broker } = await engineOn(a, 'FIX.4.4', store(), { statusRequests: 'mass' }, 0);
    // with nothing sent yet the answer is one report with TotNumReports=0
    expect(await broker.syncDayOrders()).toEqual([]);
    engine.submit({ clientOrderId: 'm-1', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
    engine.submit({ clientOrderId: 'm-2', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
    await until(() => engine.getOrder('m-2')?.status === 'Submitted' && engine.getOrder('m-1')?.status === 'Submitted', 10_000, 'the acks');
    await a.command('lose-next 1');
    engine.cancel('m-1');
    await a.waitFor(/^LOST .*\|150=4\|/m);
    await a.command('lose-next 1');
    await a.command('fill m-2 5 10');
    await a.waitFor(/^LOST .*\|32=5\|/m);
    const run = await engine.reconcile();
    await until(() => engine.getOrder('m-1')?.status === 'Cancelled', 10_000, 'the mass status answer');
    // syncOpenOrders and syncDayOrders asked together share one request (counted in the
    // acceptor's log, which reaches us on another channel than the answers: let it settle)
    const massRequests = () => a.output().split('\n').filter((l) => l.startsWith('IN ') && l.includes('|35=AF|')).length;
    await new Promise((r) => setTimeout(r, 200));
    const before = massRequests();
    await Promise.all([broker.syncOpenOrders(), broker.syncDayOrders()]);
    await until(() => massRequests() > before, 10_000, 'the request in the acceptor\'s log');
    await new Promise((r) => setTimeout(r, 200));
    expect(massRequests()).toBe(before + 1);
    // the fill was lost for good: the engine has none, the broker's record says 5 filled
    expect(engine.stats().fills).toBe(0);
    const m2 = (await broker.syncOpenOrders()).find((o) => o.clientOrderId === 'm-2')!;
    expect(m2.cumQty).toBe(5);
    expect(run.raised.map((d) => [d.clientOrderId, d.kind])).toContainEqual(['m-2', expect.any(String)]);
  });

  it('a status request the acceptor does not answer times out, naming the order', async () => {
    const a = await acceptor(['FIX.4.2']);
    const { engine, broker } = await engineOn(a, 'FIX.4.2', store(), { statusRequests: 'order', statusTimeoutMs: 300 });
    engine.submit({ clientOrderId: 'q-1', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
    await until(() => engine.getOrder('q-1')?.status === 'Submitted', 10_000, 'the ack');
    await a.command('status-mode ignore');
    const err = await broker.syncOpenOrders().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect(err).toMatchObject({ kind: 'timeout', message: expect.stringContaining('q-1') });
    expect(() => new FixBroker({ port: a.port, beginString: 'FIX.4.2', senderCompId: 'X', targetCompId: 'Y', storeDir: store(), statusRequests: 'mass' })).toThrow(/needs FIX\.4\.4/);
  });

  it('acceptor restart mid-session: fills it sent while the engine was away arrive by resend and count once', async () => {
    const first = await acceptor(['FIX.4.4'], { resetOnLogon: false });
    const dir = store();
    const { engine, broker } = await engineOn(first, 'FIX.4.4', dir);
    engine.submit({ clientOrderId: 'r-1', symbol: 'ACME', side: 'buy', qty: 60, price: 10 });
    await until(() => engine.getOrder('r-1')?.status === 'Submitted', 10_000, 'the ack');
    await first.command('fill r-1 10 10');
    await until(() => engine.getOrder('r-1')?.cumQty === 10, 10_000, 'the first fill');
    await first.kill();
    await until(() => engine.connectionState !== 'Ready', 10_000, 'the engine sees the acceptor go');
    // the acceptor comes back on its store and book and trades before the engine is back
    const second = await startAcceptor('tc-acceptor', ['FIX.4.4'], { senderCompId: 'VENUE', resetOnLogon: false, dir: first.dir, port: first.port, startup: ['fill r-1 20 10.5', 'fill r-1 30 10.25'] });
    cleanups.push(() => second.stop());
    await until(() => engine.getOrder('r-1')?.status === 'Filled', 15_000, 'the resent fills');
    expect(broker.session.stats.resendRequestsSent).toBeGreaterThanOrEqual(1);
    expect(second.output()).toMatch(/^OUT .*\|35=8\|.*\|43=Y\|/m);
    expect(engine.stats().fills).toBe(3);
    expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(60);
    expect(engine.getOrder('r-1')!.avgPx).toBeCloseTo((10 * 10 + 20 * 10.5 + 30 * 10.25) / 60, 9);
    await clean(engine, broker);
  });

  it('the acceptor drops the connection: the engine reconnects and recovers, and delayed reports settle without a false difference', async () => {
    const a = await acceptor(['FIX.4.4'], { resetOnLogon: false });
    const { engine, broker } = await engineOn(a, 'FIX.4.4', store());
    engine.submit({ clientOrderId: 'd-1', symbol: 'ACME', side: 'buy', qty: 10, price: 10 });
    await until(() => engine.getOrder('d-1')?.status === 'Submitted', 10_000, 'the ack');
    const disconnects = engine.connectionStats().disconnects;
    await a.command('drop');
    await until(() => engine.connectionStats().disconnects > disconnects && engine.connectionState === 'Ready', 10_000, 'the reconnect');
    await a.command('fill d-1 10 10');
    await until(() => engine.getOrder('d-1')?.status === 'Filled', 10_000, 'the fill after the reconnect');
    // every ack held 400 ms: a reconciliation run in between sees the orders in flight, not missing
    await a.command('delay 400');
    const ids = Array.from({ length: 20 }, (_, i) => `dl-${i}`);
    // the batch leaves in one write: the socket's own write calls, counted for one turn
    const proto = net.Socket.prototype as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const { _write, _writev } = proto;
    const calls: number[] = [];
    proto._write = function (this: unknown, ...a: unknown[]) {
      calls.push(1);
      return _write.apply(this, a);
    };
    proto._writev = function (this: unknown, ...a: unknown[]) {
      calls.push((a[0] as unknown[]).length);
      return _writev.apply(this, a);
    };
    try {
      engine.submitMany(ids.map((clientOrderId) => ({ clientOrderId, symbol: 'ACME', side: 'sell' as const, qty: 1, price: 12 })));
      await new Promise((r) => setImmediate(r));
    } finally {
      proto._write = _write;
      proto._writev = _writev;
    }
    expect(calls).toEqual([20]);
    const during = await engine.reconcile();
    expect(during.raised).toEqual([]);
    await until(() => ids.every((id) => engine.getOrder(id)?.status === 'Submitted'), 10_000, 'the delayed acks');
    await a.command('delay 0');
    const after = await engine.reconcile();
    expect(after.raised).toEqual([]);
    expect(after.open).toBe(0);
    await clean(engine, broker);
  });
});

describe.skipIf(!HAVE_QUICKFIX)('the FIX session schedule: one session per trading day', () => {
  it('at the trading day roll the session logs out, the next Logon starts at 1 with ResetSeqNumFlag, the record carries the open order and its position into the new day', async () => {
    const a = await startAcceptor('tc-acceptor', ['FIX.4.4'], { senderCompId: 'VENUE', resetOnLogon: false });
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-fix-day-'));
    // a minute before midnight UTC, the default roll of both the engine and the session
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 23, 59, 0));
    const broker = new FixBroker({ port: a.port, beginString: 'FIX.4.4', senderCompId: 'TRADECORE', targetCompId: 'VENUE', storeDir: dir, clock });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), environment: 'paper', connection: { heartbeatMs: 0, reconnectBaseMs: 20, reconnectCapMs: 50, maxClockSkewMs: 1e15 }, recon: { graceMs: 0 } });
    // (the skew limit is off: the acceptor's clock is the real one, the engine's is January's)
    try {
      await engine.start();
      expect(broker.session.day).toBe('2026-01-05');
      engine.submit({ clientOrderId: 'day-1', symbol: 'ACME', side: 'buy', qty: 10, price: 10 });
      engine.submit({ clientOrderId: 'day-2', symbol: 'ACME', side: 'buy', qty: 20, price: 10 });
      await until(() => engine.getOrder('day-2')?.status === 'Submitted' && engine.getOrder('day-1')?.status === 'Submitted', 10_000, 'the acks');
      await a.command('fill day-1 10 10');
      await until(() => engine.getOrder('day-1')?.status === 'Filled', 10_000, 'the fill');
      const seqBefore = broker.session.seqs.out;
      expect(seqBefore).toBeGreaterThan(3);
      const disconnects = engine.connectionStats().disconnects;
      const logons = () => a.output().split('\n').filter((l) => l.startsWith('IN ') && l.includes('|35=A|'));
      const logonsBefore = logons().length;
      // the roll: the session logs out, the engine reconnects into the new day
      clock.advance(61_000);
      await until(() => {
        clock.advance(20);
        return engine.connectionStats().disconnects > disconnects && engine.connectionState === 'Ready';
      }, 15_000, 'the new day\'s session');
      expect(a.output()).toMatch(/^IN .*\|35=5\|.*\|58=end of trading day 2026-01-05\|/m);
      expect(broker.session.day).toBe('2026-01-06');
      const logon = logons()[logonsBefore]!;
      expect(logon).toMatch(/\|34=1\|/);
      expect(logon).toMatch(/\|141=Y\|/);
      expect(broker.session.seqs.out).toBeLessThan(seqBefore);
      expect(engine.tradingDayNow().day).toBe('2026-01-06');
      // the new day's record: no trades yet, the open order carried, the position as its base
      expect(await broker.syncTodayTrades()).toEqual([]);
      expect((await broker.syncOpenOrders()).map((o) => o.clientOrderId)).toEqual(['day-2']);
      expect((await broker.syncDayOrders()).map((o) => o.clientOrderId)).toEqual(['day-2']);
      expect(await broker.queryPositions()).toEqual([{ symbol: 'ACME', qty: 10 }]);
      // the carried order trades in the new session
      await a.command('fill day-2 20 10');
      await until(() => engine.getOrder('day-2')?.status === 'Filled', 10_000, 'the carried order\'s fill');
      expect((await broker.syncTodayTrades()).map((t) => [t.clientOrderId, t.qty])).toEqual([['day-2', 20]]);
      expect(await broker.queryPositions()).toEqual([{ symbol: 'ACME', qty: 30 }]);
      expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(30);
      // reconciliation compares the new day's lists with the new day (compareWithBroker is one day's check)
      const run = await engine.reconcile();
      expect(run.raised).toEqual([]);
      expect(run.open).toBe(0);
      // a restart on the same store reads the day back
      await engine.stop();
      const again = new FixBroker({ port: a.port, beginString: 'FIX.4.4', senderCompId: 'TRADECORE', targetCompId: 'VENUE', storeDir: dir, clock });
      expect((await again.syncTodayTrades()).map((t) => t.clientOrderId)).toEqual(['day-2']);
      expect(await again.queryPositions()).toEqual([{ symbol: 'ACME', qty: 30 }]);
      again.session.dispose();
    } finally {
      await engine.stop();
      await a.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAVE_QUICKFIX)('QuickFIX executor and a market order', () => {
  it('executor answers a market order with a session Reject: the order is rejected with the reason', async () => {
    const ex = await startAcceptor('executor', ['FIX.4.4']);
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-fix-mkt-'));
    const broker = new FixBroker({ port: ex.port, beginString: 'FIX.4.4', senderCompId: 'TRADECORE', targetCompId: 'EXECUTOR', storeDir: dir });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: quiet(), environment: 'paper', connection: { heartbeatMs: 0 } });
    try {
      await engine.start();
      engine.updateReference('ACME', 10);
      expect(engine.submit({ clientOrderId: 'mk-1', symbol: 'ACME', side: 'buy', qty: 10, type: 'market' }).status).toBe('accepted');
      await until(() => engine.getOrder('mk-1')?.status === 'Rejected', 10_000, 'the reject');
      expect(engine.getOrder('mk-1')).toMatchObject({ rejectReason: 'BROKER_REJECT', rejectText: expect.stringMatching(/^session reject/) });
      expect(ex.output()).toMatch(/35=3\x01/);
    } finally {
      await engine.stop();
      await ex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
