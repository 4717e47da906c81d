import type { Instrument } from '../domain/instrument.js';

export interface Position {
  readonly symbol: string;
  /** Signed: long positive, short negative. */
  readonly qty: number;
  /** Average cost of the open quantity; 0 when flat. */
  readonly avgPx: number;
  readonly realizedPnl: number;
  readonly currency: string;
}

export interface LedgerState {
  qty: number[];
  avgPx: number[];
  realized: number[];
  cash: Record<string, number>;
  fills: number;
}

export interface Account {
  /** Cash per currency: starting cash minus the cost of buys plus the proceeds of sells. */
  readonly cash: Readonly<Record<string, number>>;
  /** Realized P&L per currency. */
  readonly realizedPnl: Readonly<Record<string, number>>;
  readonly fills: number;
}

/**
 * Positions and cash from fills only. Average-cost accounting: adding to a position moves
 * the average; reducing realizes (price - average) x qty; crossing through zero realizes the
 * closed part and opens the rest at the fill price.
 */
export class Ledger {
  readonly qty: Float64Array;
  readonly avgPx: Float64Array;
  readonly realized: Float64Array;
  /** Cash per currency, indexed by `currencyOf[instrument]` (a Map lookup per fill measured ~5% of the loop). */
  private readonly cash: Float64Array;
  private readonly currencies: string[] = [];
  private readonly currencyOf: Int32Array;
  private fillCount = 0;

  constructor(
    private readonly instruments: readonly Instrument[],
    initialCash: Readonly<Record<string, number>>,
  ) {
    const n = instruments.length;
    this.qty = new Float64Array(n);
    this.avgPx = new Float64Array(n);
    this.realized = new Float64Array(n);
    const index = (ccy: string) => {
      let i = this.currencies.indexOf(ccy);
      if (i < 0) i = this.currencies.push(ccy) - 1;
      return i;
    };
    this.currencyOf = Int32Array.from(instruments, (inst) => index(inst.currency));
    for (const ccy of Object.keys(initialCash)) index(ccy);
    this.cash = new Float64Array(this.currencies.length);
    for (const [ccy, amount] of Object.entries(initialCash)) this.cash[index(ccy)] = amount;
  }

  /** Apply one fill: `side` +1 buy / -1 sell, `px` decimal price. */
  applyFill(index: number, side: number, q: number, px: number): void {
    const inst = this.instruments[index]!;
    const p = this.qty[index]!;
    const a = this.avgPx[index]!;
    const next = p + side * q;
    if (p === 0 || Math.sign(p) === side) {
      this.avgPx[index] = (a * Math.abs(p) + px * q) / Math.abs(next);
    } else {
      const closing = Math.min(q, Math.abs(p));
      this.realized[index] = this.realized[index]! + (px - a) * closing * Math.sign(p) * inst.multiplier;
      if (next === 0) this.avgPx[index] = 0;
      else if (Math.sign(next) !== Math.sign(p)) this.avgPx[index] = px;
    }
    this.qty[index] = next;
    const c = this.currencyOf[index]!;
    this.cash[c] = this.cash[c]! - side * q * px * inst.multiplier;
    this.fillCount++;
  }

  /**
   * Reconciliation: add `q` (signed) to a position without a fill, at its average price (no
   * cash moves, nothing is realized; a position opened from flat this way has an average of 0).
   */
  adjustPosition(index: number, q: number): void {
    const next = this.qty[index]! + q;
    this.qty[index] = Math.abs(next) < 1e-12 ? 0 : next;
    if (this.qty[index] === 0) this.avgPx[index] = 0;
  }

  /** Reconciliation: add `amount` to a currency's cash. */
  adjustCash(currency: string, amount: number): void {
    const i = this.currencies.indexOf(currency);
    if (i < 0) throw new Error(`no cash account in ${currency}`);
    this.cash[i] = this.cash[i]! + amount;
  }

  /**
   * Reconciliation: fills of `q` on `side` booked at `fromPx` were really at `toPx`; cash moves
   * by the difference. While the position still holds that much on that side, its average cost
   * moves and nothing is realized. Once the position was reduced past them, the fills are taken
   * back and booked again, so the difference lands in realized P&L as a closed trade would have.
   */
  reprice(index: number, side: number, q: number, fromPx: number, toPx: number): void {
    const p = this.qty[index]!;
    if (Math.sign(p) === side && Math.abs(p) >= q) {
      this.avgPx[index] = this.avgPx[index]! + ((toPx - fromPx) * q) / Math.abs(p);
      const c = this.currencyOf[index]!;
      this.cash[c] = this.cash[c]! - side * q * (toPx - fromPx) * this.instruments[index]!.multiplier;
      return;
    }
    this.applyFill(index, -side, q, fromPx);
    this.applyFill(index, side, q, toPx);
    this.fillCount -= 2;
  }

  /** Positions, cash and the fill count, for a journal snapshot. */
  exportState(): LedgerState {
    return { qty: [...this.qty], avgPx: [...this.avgPx], realized: [...this.realized], cash: Object.fromEntries(this.currencies.map((c, i) => [c, this.cash[i]!])), fills: this.fillCount };
  }

  /** Restore what `exportState` gave, for the same instruments (by index). */
  importState(s: LedgerState): void {
    this.qty.set(s.qty);
    this.avgPx.set(s.avgPx);
    this.realized.set(s.realized);
    this.cash.fill(0);
    for (const [ccy, amount] of Object.entries(s.cash)) {
      const i = this.currencies.indexOf(ccy);
      if (i < 0) throw new Error(`snapshot cash in ${ccy}, a currency this engine does not have`);
      this.cash[i] = amount;
    }
    this.fillCount = s.fills;
  }

  position(index: number): Position {
    const inst = this.instruments[index]!;
    return {
      symbol: inst.symbol,
      qty: this.qty[index]!,
      avgPx: this.avgPx[index]!,
      realizedPnl: this.realized[index]!,
      currency: inst.currency,
    };
  }

  positions(): Position[] {
    return this.instruments.map((_, i) => this.position(i));
  }

  account(): Account {
    const realizedPnl: Record<string, number> = {};
    for (const inst of this.instruments) {
      realizedPnl[inst.currency] = (realizedPnl[inst.currency] ?? 0) + this.realized[inst.index]!;
    }
    const cash: Record<string, number> = {};
    this.currencies.forEach((ccy, i) => (cash[ccy] = this.cash[i]!));
    return { cash, realizedPnl, fills: this.fillCount };
  }
}
