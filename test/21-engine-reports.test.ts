import { describe, expect, it } from 'vitest';
import type { Order } from '../src/domain/order.js';
import type { ExecutionReport, Trade } from '../src/domain/report.js';
import { PATHS, harness as baseHarness, type SubmitPath } from './helpers.js';

const buy = (id: string, qty = 100) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty, price: 10 });



describe.each(PATHS)('on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  async function withCallbacks() {
    const h = await harness();
    const seen = { orders: [] as Order[], trades: [] as Trade[], reports: [] as ExecutionReport[] };
    h.engine.setStrategy({
      onOrder: (o) => seen.orders.push(o.toObject()),
      onTrade: (t) => seen.trades.push(t.toObject()),
      onExecutionReport: (r) => seen.reports.push(r.toObject()),
    });
    return { ...h, seen };
  }

  describe('callback views', () => {
    it('a view kept past its call shows later changes; its toObject() copy does not', async () => {
      const h = await harness();
      const kept: { order?: Order; report?: ExecutionReport; trade?: Trade } = {};
      const copies: { order?: Order; report?: ExecutionReport; trade?: Trade } = {};
      h.engine.setStrategy({
        onOrder: (o) => {
          if (o.clientOrderId !== 'a') return;
          kept.order ??= o;
          copies.order ??= o.toObject();
        },
        onTrade: (t) => {
          kept.trade ??= t;
          copies.trade ??= t.toObject();
        },
        onExecutionReport: (r) => {
          kept.report ??= r;
          copies.report ??= r.toObject();
        },
      });
      h.engine.submit(buy('a'));
      h.broker.ack('a', 'B1');
      // during the call and in the copy: the ack
      expect(copies.order).toMatchObject({ clientOrderId: 'a', brokerOrderId: 'B1', status: 'Submitted', cumQty: 0, leavesQty: 100 });
      expect(copies.report).toMatchObject({ kind: 'new', clientOrderId: 'a', status: 'Submitted' });
      h.broker.fill('a', 'B1', 40, 10);
      expect(kept.order!.status).toBe('PartiallyFilled');
      expect(kept.order!.cumQty).toBe(40);
      expect(kept.report!.kind).toBe('trade');
      expect(copies.report!.kind).toBe('new');
      expect(copies.trade).toMatchObject({ tradeId: 'B1:X2', clientOrderId: 'a', brokerOrderId: 'B1', qty: 40, price: 10, external: false });
      h.engine.submit(buy('b'));
      h.broker.ack('b', 'B2');
      h.broker.fill('b', 'B2', 7, 10);
      // the kept views now show the other order; the copies still say what they said
      expect(kept.report!.clientOrderId).toBe('b');
      expect(kept.trade!.clientOrderId).toBe('b');
      expect(kept.trade!.qty).toBe(7);
      expect(copies.order).toMatchObject({ clientOrderId: 'a', status: 'Submitted', cumQty: 0 });
      expect(copies.trade).toMatchObject({ clientOrderId: 'a', qty: 40 });
      expect(JSON.parse(JSON.stringify(kept.trade))).toMatchObject({ clientOrderId: 'b', qty: 7 });
    });

    it("callbackArgs: 'objects' gives a fresh object per call that keeps its values", async () => {
      const h = await harness({ callbackArgs: 'objects' });
      const orders: Order[] = [];
      const reports: ExecutionReport[] = [];
      h.engine.setStrategy({ onOrder: (o) => void orders.push(o), onExecutionReport: (r) => void reports.push(r) });
      h.engine.submit(buy('a'));
      h.broker.ack('a', 'B1');
      h.broker.fill('a', 'B1', 100, 10);
      expect(orders.map((o) => o.status)).toEqual(['Submitted', 'Filled']);
      expect(reports.map((r) => r.kind)).toEqual(['new', 'trade']);
      expect(orders[0]).not.toBe(orders[1]);
      expect((orders[0] as Order & { toObject(): Order }).toObject()).toBe(orders[0]);
    });

    it('refuses an unknown callbackArgs', async () => {
      await expect(harness({ callbackArgs: 'proxies' as never })).rejects.toThrow("callbackArgs: must be 'views' or 'objects'");
    });
  });

  describe('lifecycle paths', () => {
    it('normal: ack then full fill', async () => {
      const { engine, broker, seen } = await withCallbacks();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 100, 9.99);
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 100, leavesQty: 0, avgPx: 9.99, brokerOrderId: 'B1' });
      expect(seen.orders.map((o) => o.status)).toEqual(['Submitted', 'Filled']);
      expect(engine.positions()[0]).toMatchObject({ symbol: 'ACME', qty: 100, avgPx: 9.99 });
      expect(engine.openOrders()).toEqual([]);
    });

    it('partial: two fills, average price, then filled', async () => {
      const { engine, broker, seen } = await withCallbacks();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 40, 10);
      expect(engine.getOrder('a')).toMatchObject({ status: 'PartiallyFilled', cumQty: 40, leavesQty: 60 });
      broker.fill('a', 'B1', 60, 9.95);
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 100, avgPx: (40 * 10 + 60 * 9.95) / 100 });
      expect(seen.trades.map((t) => [t.qty, t.price])).toEqual([[40, 10], [60, 9.95]]);
    });

    it('reject: the broker code and its own text are kept', async () => {
      const { engine, broker, seen } = await withCallbacks();
      engine.submit(buy('a'));
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: 'B1', reason: 'INSUFFICIENT_FUNDS', text: 'BP exceeded by 12.50' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Rejected', rejectReason: 'INSUFFICIENT_FUNDS', rejectText: 'BP exceeded by 12.50' });
      expect(seen.reports[0]).toMatchObject({ kind: 'rejected', reason: 'INSUFFICIENT_FUNDS', text: 'BP exceeded by 12.50', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.stats().rejectsByReason).toEqual({ INSUFFICIENT_FUNDS: 1 });
    });

    it('reject without a broker order id is matched by client order id', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: '', text: 'unknown account' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Rejected', rejectReason: 'BROKER_REJECT', rejectText: 'unknown account' });
    });

    it('cancel: PendingCancel then Cancelled, exposure released', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 30, 10);
      engine.cancel('a');
      expect(engine.getOrder('a')?.status).toBe('PendingCancel');
      broker.send({ kind: 'pending_cancel', clientOrderId: 'a', brokerOrderId: 'B1' });
      broker.send({ kind: 'canceled', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Cancelled', cumQty: 30, leavesQty: 0 });
      expect(engine.risk.openBuy[0]).toBe(0);
    });

    it('cancel reject: the status before the cancel comes back', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 30, 10);
      engine.cancel('a');
      broker.send({ kind: 'cancel_rejected', clientOrderId: 'a', brokerOrderId: 'B1', text: 'locked' });
      expect(engine.getOrder('a')?.status).toBe('PartiallyFilled');
      expect(engine.cancel('a').status).toBe('sent');
    });

    it('cancel reject after a fill during the pending cancel restores PartiallyFilled', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      engine.cancel('a');
      broker.fill('a', 'B1', 30, 10);
      expect(engine.getOrder('a')?.status).toBe('PendingCancel');
      broker.send({ kind: 'cancel_rejected', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.getOrder('a')?.status).toBe('PartiallyFilled');
    });

    it('expiry ends an open order', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.send({ kind: 'expired', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.getOrder('a')?.status).toBe('Expired');
    });
  });

  describe('report pipeline', () => {
    it('drops a duplicate report by (brokerOrderId, execId) and counts it', async () => {
      const { engine, broker, seen } = await withCallbacks();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 40, 10, { execId: 'F1' });
      broker.fill('a', 'B1', 40, 10, { execId: 'F1' });
      expect(engine.getOrder('a')?.cumQty).toBe(40);
      expect(engine.positions()[0]?.qty).toBe(40);
      expect(engine.stats().duplicateReports).toBe(1);
      expect(seen.trades).toHaveLength(1);
    });

    it('applies a fill before its ack; the late ack changes nothing', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.fill('a', 'B1', 40, 10, { seq: 2 });
      expect(engine.getOrder('a')).toMatchObject({ status: 'PartiallyFilled', brokerOrderId: 'B1' });
      broker.ack('a', 'B1', 1);
      expect(engine.getOrder('a')?.status).toBe('PartiallyFilled');
      expect(engine.stats()).toMatchObject({ staleReports: 1, invalidTransitions: 0 });
    });

    it('reordered fills: the order ends Filled with the right quantity whatever the arrival order', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.fill('a', 'B1', 60, 10.01, { seq: 3, execId: 'F2' });
      broker.ack('a', 'B1', 1);
      broker.fill('a', 'B1', 40, 10, { seq: 2, execId: 'F1' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 100 });
      expect(engine.positions()[0]?.qty).toBe(100);
    });

    it('a stale status after a newer one changes nothing, and cumulative quantity never goes back', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1', 1);
      broker.fill('a', 'B1', 50, 10, { seq: 3, cumQty: 50 });
      broker.send({ kind: 'pending_cancel', clientOrderId: 'a', brokerOrderId: 'B1', seq: 2 });
      expect(engine.getOrder('a')).toMatchObject({ status: 'PartiallyFilled', cumQty: 50 });
      expect(engine.stats().staleReports).toBe(1);
    });

    it('a fill past a seq gap is not taken for a cumQty disagreement while the earlier fill is on its way (found by the certify drills)', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1', 1);
      // seq 2 (40) is delayed: seq 3 jumps the gap, seq 4 follows seq 3 but the engine still lacks seq 2
      broker.fill('a', 'B1', 20, 10, { seq: 3, cumQty: 60, execId: 'F3' });
      broker.fill('a', 'B1', 10, 10, { seq: 4, cumQty: 70, execId: 'F4' });
      expect(anomalies.map((a) => a.kind)).toEqual([]);
      broker.fill('a', 'B1', 40, 10, { seq: 2, cumQty: 40, execId: 'F2' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'PartiallyFilled', cumQty: 70 });
      expect(anomalies.map((a) => a.kind)).toEqual([]);
    });

    it('fills without a seq that arrive reversed are no cumQty disagreement; a count above the broker\'s still is (found by the certify suite on FIX)', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 70, 10, { cumQty: 100, execId: 'F2' });
      broker.fill('a', 'B1', 30, 10, { cumQty: 30, execId: 'F1' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 100 });
      expect(anomalies.map((a) => a.kind)).toEqual([]);
      engine.submit(buy('b'));
      broker.ack('b', 'B2');
      broker.fill('b', 'B2', 30, 10, { cumQty: 30, execId: 'G1' });
      // the broker counts 40 after this one, the engine 60: it booked a fill the broker does not have
      broker.fill('b', 'B2', 30, 10, { cumQty: 40, execId: 'G2' });
      expect(anomalies.map((a) => a.kind)).toEqual(['CUM_QTY_MISMATCH']);
    });

    it('an ack that arrives after a recovery sync applied the fill is no cumQty disagreement (found by the certify drills)', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      // the fill first, without a seq (as a recovery sync applies it), then the ack of its time
      broker.fill('a', 'B1', 100, 10, { execId: 'F1' });
      broker.send({ kind: 'new', clientOrderId: 'a', brokerOrderId: 'B1', seq: 1, cumQty: 0 });
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 100 });
      expect(anomalies.map((a) => a.kind)).toEqual([]);
    });

    it.each([
      ['canceled', 'Cancelled'],
      ['rejected', 'Rejected'],
      ['expired', 'Expired'],
    ] as const)('a %s report for an order that already ended so, under another exec id, changes nothing and raises nothing (found by the certify drills)', async (kind, status) => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      // a reject ends an order that was never acked
      if (kind !== 'rejected') broker.ack('a', 'B1', 1);
      // a recovery sync ended it under its own exec id; the broker's report was still on the wire
      broker.send({ kind, clientOrderId: 'a', brokerOrderId: 'B1', execId: `sync:${kind}:B1` });
      broker.send({ kind, clientOrderId: 'a', brokerOrderId: 'B1', seq: kind === 'rejected' ? 1 : 2, execId: 'E2' });
      expect(engine.getOrder('a')!.status).toBe(status);
      expect(engine.stats()).toMatchObject({ invalidTransitions: 0 });
      expect(anomalies.map((a) => a.kind)).toEqual([]);
    });

    it('an overtaken terminal report still ends the order (IOC remainder cancel behind "too late to cancel")', async () => {
      const { engine, broker } = await harness();
      engine.submit({ ...buy('a'), tif: 'ioc' });
      broker.ack('a', 'B1', 1);
      engine.cancel('a');
      broker.send({ kind: 'cancel_rejected', clientOrderId: 'a', brokerOrderId: 'B1', seq: 3, text: 'too late' });
      expect(engine.getOrder('a')?.status).toBe('Submitted');
      broker.send({ kind: 'canceled', clientOrderId: 'a', brokerOrderId: 'B1', seq: 2 });
      expect(engine.getOrder('a')?.status).toBe('Cancelled');
    });

    it('a stale terminal report for a finished order changes nothing', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1', 1);
      broker.fill('a', 'B1', 100, 10, { seq: 3 });
      broker.send({ kind: 'canceled', clientOrderId: 'a', brokerOrderId: 'B1', seq: 2 });
      expect(engine.getOrder('a')?.status).toBe('Filled');
      expect(anomalies).toEqual([]);
    });

    it('applies a fill after a cancel; the order stays Cancelled unless the fill completes it', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      engine.submit(buy('b'));
      for (const [id, bid] of [['a', 'B1'], ['b', 'B2']] as const) {
        broker.ack(id, bid);
        engine.cancel(id);
        broker.send({ kind: 'canceled', clientOrderId: id, brokerOrderId: bid });
      }
      broker.fill('a', 'B1', 30, 10);
      broker.fill('b', 'B2', 100, 10);
      expect(engine.getOrder('a')).toMatchObject({ status: 'Cancelled', cumQty: 30 });
      expect(engine.getOrder('b')).toMatchObject({ status: 'Filled', cumQty: 100 });
      expect(engine.positions()[0]?.qty).toBe(130);
      expect(engine.stats().invalidTransitions).toBe(0);
    });

    it('keeps a report for an unknown order as an external order and flags it', async () => {
      const { engine, broker, anomalies, seen, clock } = await withCallbacks();
      broker.send({ kind: 'trade', brokerOrderId: 'X9', symbol: 'ACME', side: 'sell', qty: 50, lastQty: 20, lastPx: 11 });
      // only a broker id: it waits for an ack that could map it to one of ours (limits.parkMs)
      expect(engine.getOrder('X9')).toBeUndefined();
      expect(engine.stats().parkedReports).toBe(1);
      clock.advance(5000);
      expect(engine.getOrder('X9')).toMatchObject({ clientOrderId: 'ext:X9', external: true, status: 'PartiallyFilled', cumQty: 20, side: 'sell' });
      expect(engine.positions()[0]?.qty).toBe(-20);
      expect(anomalies.map((a) => [a.kind, a.brokerOrderId])).toEqual([['UNKNOWN_ORDER', 'X9']]);
      expect(seen.trades[0]).toMatchObject({ external: true, clientOrderId: 'ext:X9', brokerOrderId: 'X9' });
      expect(engine.stats().unknownOrders).toBe(1);
    });

    it('flags an unknown order it cannot place (no symbol) and books nothing', async () => {
      const { engine, broker, anomalies, clock } = await harness();
      broker.send({ kind: 'trade', brokerOrderId: 'X9', lastQty: 20, lastPx: 11 });
      clock.advance(5000);
      expect(engine.getOrder('X9')).toBeUndefined();
      expect(anomalies[0]?.kind).toBe('UNKNOWN_ORDER');
      expect(engine.positions()[0]?.qty).toBe(0);
    });

    it('flags an overfill and applies it as reported, never clamped', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 80, 10);
      broker.fill('a', 'B1', 40, 10);
      expect(engine.getOrder('a')).toMatchObject({ status: 'Filled', cumQty: 120, overfilled: true, leavesQty: 0 });
      expect(engine.positions()[0]?.qty).toBe(120);
      expect(anomalies.map((a) => a.kind)).toEqual(['OVERFILL']);
    });

    it('counts and flags an invalid transition and changes nothing', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: 'B1' });
      broker.fill('a', 'B1', 10, 10);
      expect(engine.getOrder('a')).toMatchObject({ status: 'Rejected', cumQty: 0 });
      expect(engine.positions()[0]?.qty).toBe(0);
      expect(engine.stats().invalidTransitions).toBe(1);
      expect(anomalies[0]).toMatchObject({ kind: 'INVALID_TRANSITION', clientOrderId: 'a', brokerOrderId: 'B1' });
    });

    it.each([
      [{ kind: 'bogus', execId: 'e', brokerOrderId: 'B1' }, 'kind=bogus'],
      [{ kind: 'trade', execId: 'e', brokerOrderId: 'B1', lastQty: -1, lastPx: 10 }, 'lastQty=-1'],
      [{ kind: 'trade', execId: 'e', brokerOrderId: 'B1', lastQty: 1, lastPx: Number.NaN }, 'lastPx=NaN'],
      [{ kind: 'new', execId: '', brokerOrderId: 'B1' }, 'execId'],
      [{ kind: 'new', execId: 'e', brokerOrderId: '' }, 'neither'],
      [{ kind: 'new', execId: 'e', brokerOrderId: 'B1', seq: 'x' }, 'seq=x'],
      [null, 'must be an object'],
    ])('drops a malformed report %o without throwing', async (report, why) => {
      const { engine, anomalies } = await harness();
      expect(() => engine.onReport(report as never)).not.toThrow();
      expect(engine.stats().malformedReports).toBe(1);
      expect(anomalies[0]?.kind).toBe('MALFORMED_REPORT');
      expect(anomalies[0]?.reason).toContain(why);
    });

    it('flags a report whose ids point at different orders', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.submit(buy('a'));
      engine.submit(buy('b'));
      broker.ack('a', 'B1');
      broker.ack('b', 'B1');
      expect(engine.getOrder('b')).toMatchObject({ status: 'PendingNew', brokerOrderId: '' });
      expect(anomalies.map((a) => a.kind)).toEqual(['ID_MISMATCH']);
    });

    it('gives every callback both ids', async () => {
      const { engine, broker, seen } = await withCallbacks();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 100, 10);
      for (const x of [...seen.orders, ...seen.trades, ...seen.reports]) expect([x.clientOrderId, x.brokerOrderId]).toEqual(['a', 'B1']);
    });

    it('survives a throwing callback and counts it', async () => {
      const { engine, broker, anomalies } = await harness();
      engine.setStrategy({ onOrder: () => { throw new Error('strategy bug'); } });
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      expect(engine.getOrder('a')?.status).toBe('Submitted');
      expect(engine.stats().callbackErrors).toBe(1);
      expect(anomalies[0]).toMatchObject({ kind: 'CALLBACK_ERROR', clientOrderId: 'a' });
    });

    it('lets a callback submit; reports delivered re-entrantly are applied after, in order', async () => {
      const { engine, broker } = await harness();
      engine.setStrategy({
        onTrade: (t) => {
          if (t.clientOrderId === 'a') {
            engine.submit({ clientOrderId: 'hedge', symbol: 'ACME', side: 'sell', qty: t.qty, price: 10 });
            broker.ack('hedge', 'H1'); // an adapter delivering synchronously: queued, not nested
            expect(engine.getOrder('hedge')?.status).toBe('PendingNew');
          }
        },
      });
      engine.submit(buy('a'));
      broker.fill('a', 'B1', 100, 10);
      expect(engine.getOrder('hedge')).toMatchObject({ status: 'Submitted', brokerOrderId: 'H1' });
    });
  });
});
