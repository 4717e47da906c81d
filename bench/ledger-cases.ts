// The position update per fill: the exact ledger (integers in doubles, and past 2^53 in
// bigint) beside the floor, a floating-point average-cost ledger doing the same bookkeeping
// (the old arithmetic, named naive: its cash and P&L carry rounding noise).
import { Ledger } from '../src/core/ledger.js';
import { makeInstrument } from '../src/domain/instrument.js';
import type { BenchCase } from './cases.js';

/** A cycle of fills that adds, reduces part, crosses through zero and closes: every branch. */
const CYCLE: Array<[number, number, number]> = [
  [1, 30, 4210], [1, 20, 4225], [-1, 10, 4230], [-1, 60, 4199], [1, 15, 4201], [-1, 5, 4205], [1, 10, 4190],
];

/** What the floor keeps: the old float average-cost ledger, for one instrument. */
class FloatLedger {
  qty = 0;
  avg = 0;
  realized = 0;
  cash = 1e6;
  apply(side: number, q: number, px: number): void {
    const p = this.qty;
    const next = p + side * q;
    if (p === 0 || Math.sign(p) === side) this.avg = (this.avg * Math.abs(p) + px * q) / Math.abs(next);
    else {
      this.realized += (px - this.avg) * Math.min(q, Math.abs(p)) * Math.sign(p);
      if (next === 0) this.avg = 0;
      else if (Math.sign(next) !== Math.sign(p)) this.avg = px;
    }
    this.qty = next;
    this.cash -= side * q * px;
  }
}

export function makeLedgerCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  let k = 0;
  {
    const f = new FloatLedger();
    cases.push({
      suite: 'ledger-fill', name: 'float-naive', backend: 'js', workload: 'one fill into a floating-point average-cost ledger (inexact: the floor)',
      init: async () => {},
      prepare: () => {},
      op: () => {
        const [side, q, px] = CYCLE[k++ % CYCLE.length]!;
        f.apply(side, q, px / 100);
      },
      check: () => (Number.isFinite(f.cash) ? undefined : 'float ledger cash is not finite'),
    });
  }
  const exact = (name: string, spec: { lotSize: number; precision: number }, scaleQ: number, workload: string): BenchCase => {
    const inst = makeInstrument({ symbol: 'X', tickSize: 10 ** -spec.precision, pricePrecision: spec.precision, lotSize: spec.lotSize }, 0);
    const l = new Ledger([inst], { USD: 1e6 });
    const m = l.money;
    // the cycle in the ledger's integers, converted once
    const units = CYCLE.map(([side, q, px]) => [side, m.qtyUnits(0, q * scaleQ), m.fillUnits(0, px / 100)] as const);
    let expected = 0;
    for (const [side, q] of units) expected += side * q;
    let n = 0;
    return {
      suite: 'ledger-fill', name, backend: 'ts', workload,
      init: async () => {},
      prepare: () => {},
      op: () => {
        const u = units[n++ % units.length]!;
        l.applyFill(0, u[0], u[1], u[2]);
      },
      check: () => {
        const cycles = Math.floor(n / units.length);
        let want = cycles * expected;
        for (let j = 0; j < n % units.length; j++) want += units[j]![0] * units[j]![1];
        return l.pos[0] === want ? undefined : `position ${l.pos[0]} != ${want} after ${n} fills`;
      },
    };
  };
  cases.push(exact('exact', { lotSize: 1, precision: 2 }, 1, 'one fill into the exact ledger: integers in doubles (lot 1, 2 decimals)'));
  cases.push(exact('exact-bigint', { lotSize: 1e-8, precision: 4 }, 1000, 'one fill into the exact ledger past 2^53 money units: bigint (lot 1e-8, 4 decimals, 1000x the quantities)'));
  return cases;
}
