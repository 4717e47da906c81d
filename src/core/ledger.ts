import type { Instrument } from '../domain/instrument.js';
import { MAX_SAFE, MoneySpace, divRound, divRoundBig } from '../domain/money.js';

export interface Position {
  readonly symbol: string;
  /** Signed: long positive, short negative. Exact: a whole number of quantity units. */
  readonly qty: number;
  /**
   * Average cost of the open quantity, to fill-price precision (the instrument's price
   * precision + 2 decimals); 0 when flat.
   */
  readonly avgPx: number;
  /** Realized P&L, rounded to the currency's precision. */
  readonly realizedPnl: number;
  readonly currency: string;
}

/**
 * The ledger in a journal snapshot: integers (quantity units, money units), amounts as decimal
 * strings so `bigint` ones survive. `v: 2`; a snapshot without `v` holds the old decimals.
 */
export interface LedgerState {
  v?: 2;
  pos?: number[];
  basis?: string[];
  realizedUnits?: string[];
  cashUnits?: Record<string, string>;
  /** v1 */
  qty?: number[];
  avgPx?: number[];
  realized?: number[];
  cash?: Record<string, number>;
  fills: number;
}

export interface Account {
  /** Cash per currency: starting cash minus the cost of buys plus the proceeds of sells; rounded to the currency's precision. */
  readonly cash: Readonly<Record<string, number>>;
  /** Realized P&L per currency, rounded to the currency's precision. */
  readonly realizedPnl: Readonly<Record<string, number>>;
  readonly fills: number;
}

/**
 * Positions and cash from fills only, in integers (see `domain/money.ts`). Average-cost
 * accounting on a cost basis: adding to a position adds the fill's cost to the basis; reducing
 * it realizes the proceeds minus the closed quantity's share of the basis (rounded to the
 * money unit, halves away from zero; the basis keeps the rest, so when the position is flat
 * its realized P&L is exactly its proceeds minus its cost); crossing through zero closes the
 * whole basis and opens the rest at the fill price.
 *
 * Numbers hold the integers while they stay below 2^53; an instrument whose basis or P&L
 * would pass it moves to `bigint` for good (`wide`), and a currency's cash keeps the part
 * beyond it in a `bigint` beside it.
 */
export class Ledger {
  readonly money: MoneySpace;
  /** Signed position per instrument, in quantity units. The gates read it. */
  readonly pos: Float64Array;
  /** Cost basis of the open quantity, money units (≥ 0), while the instrument is not wide (read it with `basisOf`). */
  private readonly basis: Float64Array;
  private readonly realized: Float64Array;
  /** 1 when the instrument's basis and P&L live in `wideBasis` / `wideRealized`. */
  private readonly wide: Uint8Array;
  private readonly wideBasis: bigint[];
  private readonly wideRealized: bigint[];
  private readonly cash: Float64Array;
  private readonly cashWide: bigint[];
  private fillCount = 0;
  private readonly factor: Float64Array;
  private readonly currencyOf: Int32Array;

  constructor(
    private readonly instruments: readonly Instrument[],
    initialCash: Readonly<Record<string, number>>,
    currencyPrecision: Readonly<Record<string, number>> = {},
  ) {
    const n = instruments.length;
    this.money = new MoneySpace(instruments, currencyPrecision, Object.keys(initialCash));
    this.factor = this.money.factor;
    this.currencyOf = this.money.currencyOf;
    this.pos = new Float64Array(n);
    this.basis = new Float64Array(n);
    this.realized = new Float64Array(n);
    this.wide = new Uint8Array(n);
    this.wideBasis = new Array<bigint>(n).fill(0n);
    this.wideRealized = new Array<bigint>(n).fill(0n);
    const m = this.money.currencies.length;
    this.cash = new Float64Array(m);
    this.cashWide = new Array<bigint>(m).fill(0n);
    for (const [ccy, amount] of Object.entries(initialCash)) this.addCash(this.money.indexOf(ccy), this.money.units(this.money.indexOf(ccy), amount));
  }

  /**
   * Apply one fill: `side` +1 buy / -1 sell, `qu` quantity units (> 0), `pu` fill units (> 0).
   * Returns false, changing nothing, when the position would pass 2^53 quantity units.
   */
  applyFill(index: number, side: number, qu: number, pu: number): boolean {
    const cost = qu * pu * this.factor[index]!;
    // a product of integers below 2^53 is exact; one at or above it reads as above MAX_SAFE
    if (cost <= MAX_SAFE && this.wide[index] === 0) {
      const p = this.pos[index]!;
      if (p === 0 || p > 0 === side > 0) {
        // the common case inline: adding to a position (or opening one)
        const nb = this.basis[index]! + cost;
        const next = p + side * qu;
        const c = this.currencyOf[index]!;
        const cash = this.cash[c]! - side * cost;
        if (nb <= MAX_SAFE && Math.abs(next) <= MAX_SAFE && Math.abs(cash) <= MAX_SAFE) {
          this.basis[index] = nb;
          this.pos[index] = next;
          this.cash[c] = cash;
          this.fillCount++;
          return true;
        }
      }
    }
    const ok = this.book(index, side, qu, cost <= MAX_SAFE ? cost : BigInt(qu) * BigInt(pu) * BigInt(this.factor[index]!));
    if (ok) this.fillCount++;
    return ok;
  }

  /** Book `qu` quantity units on `side` costing `cost` money units; false when the position would pass 2^53. */
  private book(index: number, side: number, qu: number, cost: number | bigint): boolean {
    const p = this.pos[index]!;
    const next = p + side * qu;
    if (Math.abs(next) > MAX_SAFE) return false;
    if (typeof cost === 'number' && this.wide[index] === 0 && this.bookNarrow(index, side, qu, cost, p, next)) return true;
    this.widen(index);
    const c = BigInt(cost);
    const b = this.wideBasis[index]!;
    if (p === 0 || p > 0 === side > 0) this.wideBasis[index] = b + c;
    else {
      const ap = Math.abs(p);
      const sp = p > 0 ? 1n : -1n;
      if (qu <= ap) {
        const share = qu === ap ? b : divRoundBig(b * BigInt(qu), BigInt(ap));
        this.wideRealized[index] = this.wideRealized[index]! + sp * (c - share);
        this.wideBasis[index] = b - share;
      } else {
        const closeCost = divRoundBig(c * BigInt(ap), BigInt(qu));
        this.wideRealized[index] = this.wideRealized[index]! + sp * (closeCost - b);
        this.wideBasis[index] = c - closeCost;
      }
    }
    this.pos[index] = next;
    this.addCash(this.money.currencyOf[index]!, side > 0 ? -c : c);
    return true;
  }

  /** The booking in doubles; false (nothing changed) when some value would pass 2^53. */
  private bookNarrow(index: number, side: number, qu: number, cost: number, p: number, next: number): boolean {
    const b = this.basis[index]!;
    if (p === 0 || p > 0 === side > 0) {
      const nb = b + cost;
      if (nb > MAX_SAFE) return false;
      this.basis[index] = nb;
    } else {
      const ap = Math.abs(p);
      let gain: number;
      let nb: number;
      if (qu <= ap) {
        let share = b;
        if (qu !== ap) {
          const prod = b * qu;
          if (prod > MAX_SAFE) return false;
          share = divRound(prod, ap);
        }
        gain = cost - share;
        nb = b - share;
      } else {
        // the closing part's cost: exact for a fill at one price (cost is qu × pu × factor)
        const prod = cost * ap;
        if (prod > MAX_SAFE) return false;
        const closeCost = divRound(prod, qu);
        gain = closeCost - b;
        nb = cost - closeCost;
      }
      const r = this.realized[index]! + (p > 0 ? gain : -gain);
      if (Math.abs(r) > MAX_SAFE) return false;
      this.realized[index] = r;
      this.basis[index] = nb;
    }
    this.pos[index] = next;
    this.addCash(this.money.currencyOf[index]!, side > 0 ? -cost : cost);
    return true;
  }

  private widen(index: number): void {
    if (this.wide[index] === 1) return;
    this.wide[index] = 1;
    this.wideBasis[index] = BigInt(this.basis[index]!);
    this.wideRealized[index] = BigInt(this.realized[index]!);
    this.basis[index] = Number.NaN; // readers must go through basisOf
    this.realized[index] = 0;
  }

  private addCash(c: number, delta: number | bigint): void {
    if (typeof delta === 'number') {
      const s = this.cash[c]! + delta;
      if (Math.abs(s) <= MAX_SAFE) {
        this.cash[c] = s;
        return;
      }
      delta = BigInt(delta);
    }
    this.cashWide[c] = this.cashWide[c]! + BigInt(this.cash[c]!) + delta;
    this.cash[c] = 0;
  }

  /** Cost basis of instrument i's open quantity, money units (a double; exact below 2^53). */
  basisOf(index: number): number {
    return this.wide[index] === 1 ? Number(this.wideBasis[index]!) : this.basis[index]!;
  }

  /** Realized P&L of instrument i, money units (a double; exact below 2^53). */
  realizedOf(index: number): number {
    return this.wide[index] === 1 ? Number(this.wideRealized[index]!) : this.realized[index]!;
  }

  private basisBig(index: number): bigint {
    return this.wide[index] === 1 ? this.wideBasis[index]! : BigInt(this.basis[index]!);
  }

  private realizedBig(index: number): bigint {
    return this.wide[index] === 1 ? this.wideRealized[index]! : BigInt(this.realized[index]!);
  }

  private cashBig(c: number): bigint {
    return this.cashWide[c]! + BigInt(this.cash[c]!);
  }

  /** Money units of currency c (for reconciliation and tests). */
  cashUnits(c: number): bigint {
    return this.cashBig(c);
  }

  /** Realized P&L of instrument i in money units. */
  realizedUnits(index: number): bigint {
    return this.realizedBig(index);
  }

  /** Cost basis of instrument i in money units. */
  basisUnits(index: number): bigint {
    return this.basisBig(index);
  }

  /**
   * Reconciliation: add `qu` quantity units (signed) to a position without a fill. The basis
   * scales with the quantity (the average stays); no cash moves, nothing is realized. A
   * position opened from flat, or turned through zero, this way has a basis (and average) of 0.
   */
  adjustPosition(index: number, qu: number): void {
    const p = this.pos[index]!;
    const next = p + qu;
    let nb = 0n;
    if (next !== 0 && p !== 0 && next > 0 === p > 0) nb = divRoundBig(this.basisBig(index) * BigInt(Math.abs(next)), BigInt(Math.abs(p)));
    this.setBasis(index, nb);
    this.pos[index] = next;
  }

  private setBasis(index: number, b: bigint): void {
    if (this.wide[index] === 0 && b <= BigInt(MAX_SAFE)) this.basis[index] = Number(b);
    else {
      this.widen(index);
      this.wideBasis[index] = b;
    }
  }

  /** Reconciliation: add `amount` (decimal) to a currency's cash. */
  adjustCash(currency: string, amount: number): void {
    const c = this.money.indexOf(currency);
    if (c < 0) throw new Error(`no cash account in ${currency}`);
    this.addCash(c, this.money.units(c, amount));
  }

  /**
   * Reconciliation: fills of `qu` quantity units on `side` booked for `fromCost` money units
   * really cost `toCost`; cash moves by the difference. While the position still holds that
   * much on that side, its basis moves and nothing is realized. Once the position was reduced
   * past them, the fills are taken back and booked again, so the difference lands in realized
   * P&L as a closed trade would have.
   */
  reprice(index: number, side: number, qu: number, fromCost: bigint, toCost: bigint): void {
    const p = this.pos[index]!;
    if (p !== 0 && p > 0 === side > 0 && Math.abs(p) >= qu) {
      const diff = toCost - fromCost;
      this.setBasis(index, this.basisBig(index) + diff);
      this.addCash(this.money.currencyOf[index]!, side > 0 ? -diff : diff);
      return;
    }
    this.book(index, -side, qu, fromCost);
    this.book(index, side, qu, toCost);
  }

  /** Money units of a fill value (quantity × price, decimal) of instrument i. */
  valueUnits(index: number, value: number): bigint {
    const m = this.money;
    return BigInt(Math.round(value * m.qtyScale[index]! * m.fillScale[index]!)) * BigInt(m.factor[index]!);
  }

  /** Positions, cost bases, P&L, cash and the fill count, for a journal snapshot. */
  exportState(): LedgerState {
    const m = this.money;
    return {
      v: 2,
      pos: [...this.pos],
      basis: this.instruments.map((i) => String(this.basisBig(i.index))),
      realizedUnits: this.instruments.map((i) => String(this.realizedBig(i.index))),
      cashUnits: Object.fromEntries(m.currencies.map((ccy, c) => [ccy, String(this.cashBig(c))])),
      fills: this.fillCount,
    };
  }

  /** Restore what `exportState` gave, for the same instruments (by index); also takes a v1 (decimal) state. */
  importState(s: LedgerState): void {
    const m = this.money;
    this.cash.fill(0);
    this.cashWide.fill(0n);
    this.wide.fill(0);
    this.realized.fill(0);
    for (const inst of this.instruments) {
      const i = inst.index;
      if (s.v === 2) {
        this.pos[i] = s.pos![i]!;
        this.setBasis(i, BigInt(s.basis![i]!));
        this.setRealized(i, BigInt(s.realizedUnits![i]!));
      } else {
        const q = s.qty![i]!;
        const c = m.currencyOf[i]!;
        this.pos[i] = Math.round(q * m.qtyScale[i]!);
        this.setBasis(i, BigInt(m.units(c, Math.abs(q) * s.avgPx![i]! * inst.multiplier)));
        this.setRealized(i, BigInt(m.units(c, s.realized![i]!)));
      }
    }
    const cash = s.v === 2 ? s.cashUnits! : s.cash!;
    for (const [ccy, amount] of Object.entries(cash)) {
      const c = m.indexOf(ccy);
      if (c < 0) throw new Error(`snapshot cash in ${ccy}, a currency this engine does not have`);
      this.addCash(c, typeof amount === 'string' ? BigInt(amount) : m.units(c, amount));
    }
    this.fillCount = s.fills;
  }

  private setRealized(index: number, r: bigint): void {
    if (this.wide[index] === 0 && r <= BigInt(MAX_SAFE) && r >= -BigInt(MAX_SAFE)) this.realized[index] = Number(r);
    else {
      this.widen(index);
      this.wideRealized[index] = r;
    }
  }

  /** Average cost of instrument i's open quantity in fill units (a rational; NaN when flat). */
  avgFillUnits(index: number): number {
    const p = this.pos[index]!;
    if (p === 0) return Number.NaN;
    return this.basisOf(index) / (Math.abs(p) * this.money.factor[index]!);
  }

  position(index: number): Position {
    const inst = this.instruments[index]!;
    const m = this.money;
    const avg = this.avgFillUnits(index);
    const fs = m.fillScale[index]!;
    return {
      symbol: inst.symbol,
      qty: m.qty(index, this.pos[index]!),
      avgPx: Number.isNaN(avg) ? 0 : Math.round(avg) / fs,
      realizedPnl: m.decimal(m.currencyOf[index]!, this.realizedBig(index)),
      currency: inst.currency,
    };
  }

  positions(): Position[] {
    return this.instruments.map((_, i) => this.position(i));
  }

  account(): Account {
    const m = this.money;
    const realized = m.currencies.map(() => 0n);
    for (const inst of this.instruments) realized[m.currencyOf[inst.index]!]! += this.realizedBig(inst.index);
    const realizedPnl: Record<string, number> = {};
    for (const inst of this.instruments) {
      const c = m.currencyOf[inst.index]!;
      realizedPnl[inst.currency] = m.decimal(c, realized[c]!);
    }
    const cash: Record<string, number> = {};
    m.currencies.forEach((ccy, c) => (cash[ccy] = m.decimal(c, this.cashBig(c))));
    return { cash, realizedPnl, fills: this.fillCount };
  }
}
