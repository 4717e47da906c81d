/**
 * Open exposure: the quantity of open orders per instrument and side (quantity units), and
 * their value for the account limits. Counted when an order is accepted, reduced by its fills,
 * released when it finishes, and redone from the orders after a restore. The risk checks read
 * it (`risk.openBuy`, `risk.openSell`, `accountRisk.openValue`); only this module writes it.
 */
import { isTerminal } from '../domain/order-status.js';
import type { AccountRisk } from '../risk/account-risk.js';
import type { PreTradeRisk } from '../risk/pretrade.js';
import { F_EXTERNAL, type OrderTable } from './order-table.js';

export class Exposure {
  constructor(
    private readonly table: OrderTable,
    private readonly risk: PreTradeRisk,
    private readonly accountRisk: AccountRisk,
  ) {}

  /** An order was accepted: `qu` quantity units at `units` (its limit price units; NaN for market) open, and one more order for the rates and counts (at `accountRisk.now`). */
  accept(index: number, side: number, qu: number, units: number): void {
    this.add(index, side, qu);
    this.accountRisk.openValueAdd(index, qu, units);
    this.accountRisk.accept(index);
  }

  add(index: number, side: number, qty: number): void {
    this.addTo(side > 0 ? this.risk.openBuy : this.risk.openSell, index, qty);
  }

  addTo(arr: Float64Array, index: number, qty: number): void {
    arr[index] = arr[index]! + qty;
  }

  /** `q` quantity units of open exposure at `units` (the order's limit price units; NaN for a market order) left. */
  reduceOpen(index: number, side: number, q: number, units: number): void {
    this.accountRisk.openValueAdd(index, -q, units);
    if (side > 0) this.risk.openBuy[index] = this.risk.openBuy[index]! - q;
    else this.risk.openSell[index] = this.risk.openSell[index]! - q;
  }

  /** A fill of `q` quantity units of the order in `slot`. */
  reduce(slot: number, index: number, q: number): void {
    const t = this.table;
    t.exposure[slot] = t.exposure[slot]! - q;
    this.reduceOpen(index, t.side[slot]!, q, t.price[slot]!);
  }

  /** The order in `slot` finished: what it still had open is released. */
  release(slot: number): void {
    const ex = this.table.exposure[slot]!;
    if (ex > 0) this.reduce(slot, this.table.instrument[slot]!, ex);
  }

  /** After a restore: open exposure and open-order counts from the orders themselves. */
  recompute(): void {
    const t = this.table;
    const { openBuy, openSell } = this.risk;
    openBuy.fill(0);
    openSell.fill(0);
    this.accountRisk.openValue.fill(0);
    const open = new Int32Array(openBuy.length);
    for (let s = 0; s < t.capacity; s++) {
      if (t.live[s] !== 1) continue;
      if (isTerminal(t.status[s]!)) {
        t.exposure[s] = 0;
        continue;
      }
      const i = t.instrument[s]!;
      const ex = t.exposure[s]!;
      if (ex > 0) {
        if (t.side[s]! > 0) openBuy[i] = openBuy[i]! + ex;
        else openSell[i] = openSell[i]! + ex;
        this.accountRisk.openValueAdd(i, ex, t.price[s]!);
      }
      if ((t.flags[s]! & F_EXTERNAL) === 0) open[i]!++;
    }
    this.accountRisk.resetOpen(open);
  }
}
