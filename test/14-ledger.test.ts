import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/core/ledger.js';
import { makeInstrument } from '../src/domain/instrument.js';

const inst = makeInstrument({ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }, 0);
const fut = makeInstrument({ symbol: 'FUT', tickSize: 0.25, pricePrecision: 2, multiplier: 50, currency: 'EUR' }, 1);

// the ledger takes integers: quantity units and fill units (price precision + 2 decimals)
const at = (l: Ledger) => ({
  fill: (i: number, side: number, qty: number, px: number) => l.applyFill(i, side, l.money.qtyUnits(i, qty), l.money.fillUnits(i, px)),
  reprice: (i: number, side: number, qty: number, from: number, to: number) => l.reprice(i, side, l.money.qtyUnits(i, qty), l.valueUnits(i, qty * from), l.valueUnits(i, qty * to)),
});

describe('ledger', () => {
  it('averages the cost of buys', () => {
    const l = new Ledger([inst], { USD: 10_000 });
    at(l).fill(0, 1, 100, 10);
    at(l).fill(0, 1, 300, 12);
    expect(l.position(0)).toMatchObject({ qty: 400, avgPx: 11.5, realizedPnl: 0 });
    expect(l.account().cash.USD).toBe(10_000 - 1000 - 3600);
  });

  it('realizes P&L on a reduction and keeps the average', () => {
    const l = new Ledger([inst], {});
    at(l).fill(0, 1, 400, 11.5);
    at(l).fill(0, -1, 100, 13);
    expect(l.position(0)).toMatchObject({ qty: 300, avgPx: 11.5, realizedPnl: 150 });
  });

  it('crosses through zero: realizes the closed part, opens the rest at the fill price', () => {
    const l = new Ledger([inst], {});
    at(l).fill(0, 1, 100, 10);
    at(l).fill(0, -1, 150, 9);
    expect(l.position(0)).toMatchObject({ qty: -50, avgPx: 9, realizedPnl: -100 });
    at(l).fill(0, 1, 50, 8);
    expect(l.position(0)).toMatchObject({ qty: 0, avgPx: 0, realizedPnl: -50 });
  });

  it('re-prices fills still in the position: the average and cash move, nothing is realized', () => {
    const l = new Ledger([inst], { USD: 10_000 });
    at(l).fill(0, 1, 10, 100);
    at(l).fill(0, 1, 10, 102);
    at(l).reprice(0, 1, 10, 100, 99.75);
    expect(l.position(0)).toMatchObject({ qty: 20, avgPx: 100.875, realizedPnl: 0 });
    expect(l.account()).toMatchObject({ cash: { USD: 10_000 - 997.5 - 1020 }, fills: 2 });
    // a short the same way, on an instrument with a multiplier
    const f = new Ledger([inst, fut], { EUR: 0 });
    at(f).fill(1, -1, 4, 50);
    at(f).reprice(1, -1, 4, 50, 50.5);
    expect(f.position(1)).toMatchObject({ qty: -4, avgPx: 50.5, realizedPnl: 0 });
    expect(f.account().cash.EUR).toBe(4 * 50.5 * 50);
  });

  it('re-prices fills of a position since closed: the difference is realized', () => {
    const l = new Ledger([inst], { USD: 10_000 });
    at(l).fill(0, 1, 10, 100);
    at(l).fill(0, -1, 10, 105);
    expect(l.position(0)).toMatchObject({ qty: 0, realizedPnl: 50 });
    at(l).reprice(0, 1, 10, 100, 99.75);
    expect(l.position(0)).toMatchObject({ qty: 0, avgPx: 0, realizedPnl: 52.5 });
    expect(l.account()).toMatchObject({ cash: { USD: 10_000 - 997.5 + 1050 }, fills: 2 });
  });

  it('handles shorts symmetrically', () => {
    const l = new Ledger([inst], {});
    at(l).fill(0, -1, 100, 20);
    at(l).fill(0, -1, 100, 22);
    expect(l.position(0)).toMatchObject({ qty: -200, avgPx: 21 });
    at(l).fill(0, 1, 200, 19);
    expect(l.position(0)).toMatchObject({ qty: 0, realizedPnl: 400 });
    expect(l.account().cash.USD).toBe(2000 + 2200 - 3800);
  });

  it('applies the contract multiplier to cash and P&L, per currency', () => {
    const l = new Ledger([inst, fut], { USD: 0, EUR: 0 });
    at(l).fill(1, 1, 2, 4000);
    at(l).fill(1, -1, 2, 4010.25);
    expect(l.position(1)).toMatchObject({ qty: 0, realizedPnl: 2 * 10.25 * 50, currency: 'EUR' });
    expect(l.account()).toEqual({ cash: { USD: 0, EUR: 1025 }, realizedPnl: { USD: 0, EUR: 1025 }, fills: 2 });
  });
});
