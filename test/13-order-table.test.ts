import { describe, expect, it } from 'vitest';
import { OrderTable } from '../src/core/order-table.js';
import { PATHS, harness as baseHarness, type SubmitPath } from './helpers.js';

const buy = (id: string) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 1, price: 10 });


describe.each(PATHS)('on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  describe('order table', () => {
    it('refuses a capacity that is not a power of two', () => {
      expect(() => new OrderTable({ capacity: 12, retentionMs: 0 })).toThrow('power of two');
    });

    it('denies with ORDER_TABLE_FULL when every slot is live, and never overwrites a live order', async () => {
      const { engine, broker } = await harness({ capacity: 4 });
      for (const id of ['a', 'b', 'c', 'd']) expect(engine.submit(buy(id)).status).toBe('accepted');
      expect(engine.submit(buy('e'))).toMatchObject({ status: 'denied', reason: 'ORDER_TABLE_FULL', detail: 'capacity=4 retained=0 retentionMs=3600000' });
      expect(engine.openOrders().map((o) => o.clientOrderId)).toEqual(['a', 'b', 'c', 'd']);
      expect(broker.placed).toHaveLength(4);
    });

    it('keeps finished orders for the retention, then recycles their slots', async () => {
      const { engine, broker, clock } = await harness({ capacity: 2, retentionMs: 1000 });
      engine.submit(buy('a'));
      engine.submit(buy('b'));
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: 'A1' });
      clock.advance(999);
      expect(engine.submit(buy('c'))).toMatchObject({ reason: 'ORDER_TABLE_FULL', detail: 'capacity=2 retained=1 retentionMs=1000' });
      expect(engine.submit(buy('a'))).toMatchObject({ reason: 'DUPLICATE_ORDER_ID' }); // still retained
      clock.advance(1);
      expect(engine.submit(buy('c')).status).toBe('accepted');
      expect(engine.getOrder('a')).toBeUndefined();
      expect(engine.getOrder('A1')).toBeUndefined();
      expect(engine.getOrder('b')?.status).toBe('PendingNew'); // the live order was untouched
    });

    it('recycles in finish order, oldest first', async () => {
      const { engine, broker, clock } = await harness({ capacity: 4, retentionMs: 100 });
      for (const id of ['a', 'b', 'c', 'd']) engine.submit(buy(id));
      broker.send({ kind: 'rejected', clientOrderId: 'c', brokerOrderId: 'C' });
      clock.advance(50);
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: 'A' });
      clock.advance(50);
      expect(engine.submit(buy('e')).status).toBe('accepted'); // c passed retention, a not yet
      expect(engine.getOrder('c')).toBeUndefined();
      expect(engine.getOrder('a')?.status).toBe('Rejected');
      expect(engine.submit(buy('f'))).toMatchObject({ reason: 'ORDER_TABLE_FULL' });
    });

    it('holds a steady flow far larger than its capacity with zero retention', async () => {
      const { engine, broker } = await harness({ capacity: 8, retentionMs: 0 });
      for (let i = 0; i < 1000; i++) {
        expect(engine.submit(buy(`o${i}`)).status).toBe('accepted');
        broker.ack(`o${i}`, `B${i}`);
        broker.fill(`o${i}`, `B${i}`, 1, 10);
      }
      expect(engine.positions()[0]?.qty).toBe(1000);
      expect(engine.table.size).toBeLessThanOrEqual(8);
    });
  });

  describe('retention and id reuse', () => {
    it('refuses a finished order id for the whole trading day, past its retention too, and frees it when the day rolls', async () => {
      const { engine, broker, clock } = await harness({ capacity: 8, retentionMs: 500 });
      engine.submit(buy('a'));
      broker.ack('a', 'A1');
      broker.fill('a', 'A1', 1, 10);
      clock.advance(499);
      expect(engine.submit(buy('a'))).toMatchObject({ status: 'denied', reason: 'DUPLICATE_ORDER_ID', detail: 'clientOrderId=a status=Filled' });
      clock.advance(1);
      // retention over: the order leaves the table for the day's store; its id is still the day's
      expect(engine.submit(buy('a'))).toEqual({ status: 'denied', clientOrderId: 'a', reason: 'DUPLICATE_ORDER_ID', detail: 'clientOrderId=a status=Filled tradingDay=2026-11-24' });
      expect(engine.getOrder('a')).toBeUndefined();
      // the harness starts at 2026-11-24 14:30 UTC; the default day rolls at midnight UTC
      clock.advance(Date.UTC(2026, 10, 25) - clock.now());
      expect(engine.currentDay.day).toBe('2026-11-25');
      expect(engine.submit(buy('a'))).toEqual({ status: 'accepted', clientOrderId: 'a' });
      expect(engine.getOrder('a')).toMatchObject({ status: 'PendingNew', cumQty: 0 });
    });
  });
});
