import { describe, expect, it } from 'vitest';
import { instrumentProblems, makeInstrument, toLots, toPriceUnits } from '../src/domain/instrument.js';

describe('fixed-point prices', () => {
  it('converts a decimal price to integer units', () => {
    expect(toPriceUnits(101.25, 100)).toBe(10125);
    expect(toPriceUnits(0.1 + 0.2, 100)).toBe(30); // float noise is not an extra decimal
    expect(toPriceUnits(1.005, 1000)).toBe(1005);
  });

  it('refuses a price with more decimals than the precision', () => {
    expect(toPriceUnits(101.255, 100)).toBeNaN();
    expect(toPriceUnits(0.001, 100)).toBeNaN();
  });

  it('refuses non-finite and unsafe magnitudes', () => {
    expect(toPriceUnits(Number.NaN, 100)).toBeNaN();
    expect(toPriceUnits(Infinity, 100)).toBeNaN();
    expect(toPriceUnits(Number.MAX_SAFE_INTEGER, 100)).toBeNaN();
  });

  it('checks the tick as an integer remainder on units', () => {
    const inst = makeInstrument({ symbol: 'X', tickSize: 0.05, pricePrecision: 2 }, 0);
    expect(inst.tickUnits).toBe(5);
    expect(toPriceUnits(10.15, inst.scale) % inst.tickUnits).toBe(0);
    expect(toPriceUnits(10.16, inst.scale) % inst.tickUnits).toBe(1); // off-tick by one unit
  });

  it('counts lots exactly, fractional lot sizes included', () => {
    expect(toLots(300, 100)).toBe(3);
    expect(toLots(250, 100)).toBeNaN();
    expect(toLots(0.003, 0.001)).toBe(3);
    expect(toLots(0.0035, 0.001)).toBeNaN();
  });

  it('reports every problem of an instrument spec', () => {
    const problems = instrumentProblems({ symbol: '', tickSize: 0.001, pricePrecision: 2, lotSize: -1, currency: 3 }, 'instruments[0]');
    expect(problems).toEqual([
      'instruments[0].symbol: must be a non-empty string',
      'instruments[0].tickSize: 0.001 is not a whole number of price units at precision 2',
      'instruments[0].lotSize: must be a positive finite number',
      'instruments[0].currency: must be a non-empty string',
    ]);
  });
});
