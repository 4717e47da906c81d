import { describe, expect, it } from 'vitest';
import { OrderStatus } from '../src/domain/order-status.js';
import { OrderArchive } from '../src/core/day-store.js';
import type { LocalOrder } from '../src/recon/diff.js';

const order = (i: number, over: Partial<LocalOrder> = {}): LocalOrder => ({
  clientOrderId: `c${i}`, brokerOrderId: `B-${i}`, symbol: i % 2 === 0 ? 'ACME' : 'LOTS', side: i % 3 === 0 ? 'sell' : 'buy', qty: 10 + i, price: 100 + i / 100,
  status: i % 4 === 0 ? 'Cancelled' : 'Filled', cumQty: i % 4 === 0 ? 0 : 10 + i, avgPx: i % 4 === 0 ? Number.NaN : 100.5 + i / 100, external: i % 5 === 0, createdAt: 1000 + i, updatedAt: 2000 + i,
  ...over,
});

describe('the archive of finished orders the order table let go', () => {
  it('at a roll forgets the day, keeps columns the size that day needed, and gives them back after a quieter one', () => {
    const a = new OrderArchive(4);
    const cap = () => (a as unknown as { cap: number }).cap;
    for (let i = 0; i < 1000; i++) a.addOrder(order(i));
    expect(cap()).toBe(1024);
    a.clear();
    expect(a.size).toBe(0);
    expect(a.get('c5')).toBeUndefined();
    expect(a.getByBroker('B-5')).toBeUndefined();
    expect(cap()).toBe(1024); // a day as busy reuses them
    for (let i = 0; i < 900; i++) a.addOrder(order(i + 5000));
    expect(a.toArray()).toEqual(Array.from({ length: 900 }, (_, i) => order(i + 5000)));
    expect(a.get('c5899')).toEqual(order(5899));
    expect(a.getByBroker('B-5001')).toEqual(order(5001));
    expect(a.get('c3')).toBeUndefined();
    a.clear();
    for (let i = 0; i < 10; i++) a.addOrder(order(i));
    a.clear(); // the quiet day ends: its size is what is kept
    expect(cap()).toBe(16);
    expect((a as unknown as { clientId: string[] }).clientId.every((x) => x === '')).toBe(true);
  });

  it('gives back every field of every order, in order, across growth', () => {
    const a = new OrderArchive(4);
    const orders = Array.from({ length: 1000 }, (_, i) => order(i));
    for (const o of orders) a.addOrder(o);
    expect(a.size).toBe(1000);
    expect(a.toArray()).toEqual(orders);
    expect(a.at(0)).toEqual(orders[0]);
    expect(a.at(999)).toEqual(orders[999]);
    expect(a.clientIdAt(517)).toBe('c517');
  });

  it('keeps the engine-side add (status code, sell flag) equal to the object form', () => {
    const a = new OrderArchive();
    a.add('x1', 'B-9', 'ACME', true, 5, 99.5, OrderStatus.Expired, 2, 99.25, false, 7, 8);
    expect(a.at(0)).toEqual({ clientOrderId: 'x1', brokerOrderId: 'B-9', symbol: 'ACME', side: 'sell', qty: 5, price: 99.5, status: 'Expired', cumQty: 2, avgPx: 99.25, external: false, createdAt: 7, updatedAt: 8 });
  });

  it('finds an order by client id, the newest one when an id was reused, including ones added after an earlier look', () => {
    const a = new OrderArchive(2);
    a.addOrder(order(1));
    a.addOrder(order(2));
    expect(a.get('c1')).toEqual(order(1));
    expect(a.get('nope')).toBeUndefined();
    a.addOrder(order(1, { brokerOrderId: 'B-1b', status: 'Filled' }));
    expect(a.get('c1')!.brokerOrderId).toBe('B-1b');
    expect(a.has('c2')).toBe(true);
  });

  it('refuses a snapshot order with an unknown status, naming it; clear empties it', () => {
    const a = new OrderArchive();
    // as a damaged snapshot might hold it: the type says a status name, the bytes say otherwise
    expect(() => a.addOrder(order(1, { status: 'Lost' as LocalOrder['status'] }))).toThrow('archived order c1: unknown status Lost');
    a.addOrder(order(3));
    a.clear();
    expect([a.size, a.get('c3'), a.toArray()]).toEqual([0, undefined, []]);
  });
});
