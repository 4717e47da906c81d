/**
 * Exact money. Quantities, fill prices and amounts are integers:
 * - a quantity in *quantity units*, 10^-q of the instrument's quantity, where q is the number
 *   of decimals of its lot size (lot 0.1 → tenths, lot 0.25 → hundredths, lot 100 → ones);
 * - a fill price in *fill units*, 10^-(pricePrecision + FILL_PRICE_DIGITS): a fill may be at a
 *   finer price than an order may (a midpoint fill at 10.005 on a cent instrument);
 * - an amount (cash, cost, P&L, notional) in *money units* of its currency, 10^-e, where e is
 *   large enough that one quantity unit × one fill unit × the multiplier of every instrument
 *   in that currency is a whole number of money units.
 * Sums stay exact: a double holds every integer up to 2^53, and where a product could pass
 * it the caller switches to `bigint`. Values become decimals only at the edges (`toDecimal`),
 * rounded once to the currency's precision.
 */
import type { Instrument } from './instrument.js';

/** Decimal places a fill price may have beyond the instrument's price precision. */
export const FILL_PRICE_DIGITS = 2;

/** ISO 4217 minor units that are not 2, and common crypto; every other currency defaults to 2. */
const MINOR_UNITS: Readonly<Record<string, number>> = {
  JPY: 0, KRW: 0, CLP: 0, ISK: 0, VND: 0, PYG: 0, UGX: 0, XOF: 0, XAF: 0,
  BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3, IQD: 3, LYD: 3,
  BTC: 8, ETH: 8,
};

/** The decimals a currency's amounts are shown and reported with, when config does not say. */
export function defaultCurrencyPrecision(currency: string): number {
  return MINOR_UNITS[currency] ?? 2;
}

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Smallest d in 0..12 with x × 10^d a whole number (beyond representation noise); -1 if none. */
export function decimalsOf(x: number): number {
  for (let d = 0; d <= 12; d++) {
    const v = x * 10 ** d;
    if (Math.abs(v - Math.round(v)) <= Math.max(1e-9, Math.abs(v) * 1e-12)) return d;
  }
  return -1;
}

/** floor(m / b) for integers m ≥ 0, b > 0, m ≤ 2^53: exact (the double quotient corrected by one). */
function divFloor(m: number, b: number): number {
  let q = Math.floor(m / b);
  while (q * b > m) q--;
  while ((q + 1) * b <= m) q++;
  return q;
}

/** Round a/b (integers, b > 0, |a| ≤ 2^53) to the nearest integer, halves away from zero; exact. */
export function divRound(a: number, b: number): number {
  const m = Math.abs(a);
  let q = divFloor(m, b);
  if (2 * (m - q * b) >= b) q++;
  return a < 0 ? -q : q;
}

/** floor(a × b / d) for non-negative integers, exact (bigint when the product passes 2^53). */
export function mulDivFloor(a: number, b: number, d: number): number {
  const p = a * b;
  if (p <= MAX_SAFE) return divFloor(p, d);
  return Number((BigInt(a) * BigInt(b)) / BigInt(d));
}

/** The same for bigints. */
export function divRoundBig(a: bigint, b: bigint): bigint {
  const neg = a < 0n;
  const m = neg ? -a : a;
  let q = m / b;
  if (2n * (m - q * b) >= b) q++;
  return neg ? -q : q;
}

/**
 * An integer amount of `10^-exp` as a decimal rounded to `precision` places (precision ≤ exp),
 * halves away from zero: the one rounding money goes through on its way out.
 */
export function toDecimal(units: number | bigint, exp: number, precision: number): number {
  const cut = exp - precision;
  if (typeof units === 'number' && Math.abs(units) <= MAX_SAFE) {
    const q = cut === 0 ? units : divRound(units, 10 ** cut);
    return q / 10 ** precision + 0; // + 0: never -0
  }
  const big = typeof units === 'bigint' ? units : BigInt(units);
  const q = cut === 0 ? big : divRoundBig(big, 10n ** BigInt(cut));
  return Number(q) / 10 ** precision + 0;
}

/** A decimal amount as money units of 10^-exp (rounded to the unit; exact for any amount given to that many decimals). */
export function toMoneyUnits(amount: number, exp: number): number | bigint {
  const v = amount * 10 ** exp;
  const r = Math.round(v);
  if (Math.abs(r) <= MAX_SAFE) return r + 0;
  // beyond 2^53 the double's own digits are all there is: take them exactly
  const [int, frac = ''] = Math.abs(amount).toFixed(Math.min(exp, 100)).split('.');
  const digits = BigInt(int! + frac.padEnd(exp, '0').slice(0, exp));
  return amount < 0 ? -digits : digits;
}

/**
 * The integer spaces of one engine's instruments and currencies. Built once from the
 * instruments and the currency precisions; the ledger, the limit table and both gates read it.
 */
export class MoneySpace {
  /** Currency codes, by currency index. */
  readonly currencies: string[] = [];
  /** Per currency: amounts are integers of 10^-exp. */
  readonly exp: number[] = [];
  /** Per currency: decimals at the edge. */
  readonly precision: number[] = [];
  /** Per instrument: index of its currency. */
  readonly currencyOf: Int32Array;
  /** Per instrument: 10^q, quantity units per unit of quantity. */
  readonly qtyScale: Float64Array;
  /** Per instrument: the lot size in quantity units (an integer ≥ 1). */
  readonly lotUnits: Float64Array;
  /** Per instrument: 10^(pricePrecision + FILL_PRICE_DIGITS), fill units per unit of price. */
  readonly fillScale: Float64Array;
  /** Per instrument: money units of one quantity unit at one fill unit, multiplier included (an integer ≥ 1). */
  readonly factor: Float64Array;
  /** Per instrument: the same at one order price unit (factor × 10^FILL_PRICE_DIGITS). */
  readonly orderFactor: Float64Array;
  /** The account-wide scale: gross notional across currencies is counted in 10^-grossExp. */
  readonly grossExp: number;
  /** Per instrument: gross units of one quantity unit at one order price unit. */
  readonly grossFactor: Float64Array;
  /** Per instrument: gross units per money unit of its currency. */
  readonly grossPerMoney: Float64Array;

  constructor(
    readonly instruments: readonly Instrument[],
    precisions: Readonly<Record<string, number>> = {},
    extraCurrencies: readonly string[] = [],
  ) {
    const n = instruments.length;
    this.currencyOf = new Int32Array(n);
    this.qtyScale = new Float64Array(n);
    this.lotUnits = new Float64Array(n);
    this.fillScale = new Float64Array(n);
    this.factor = new Float64Array(n);
    this.orderFactor = new Float64Array(n);
    this.grossFactor = new Float64Array(n);
    this.grossPerMoney = new Float64Array(n);
    const q = instruments.map((inst) => Math.max(0, decimalsOf(inst.lotSize)));
    const md = instruments.map((inst) => Math.max(0, decimalsOf(inst.multiplier)));
    for (const inst of instruments) this.currencyIndex(inst.currency, precisions);
    for (const ccy of extraCurrencies) this.currencyIndex(ccy, precisions);
    for (const inst of instruments) {
      const i = inst.index;
      const c = this.currencyOf[i] = this.currencyIndex(inst.currency, precisions);
      this.exp[c] = Math.max(this.exp[c]!, q[i]! + inst.pricePrecision + FILL_PRICE_DIGITS + md[i]!);
    }
    this.grossExp = Math.max(0, ...this.exp);
    for (const inst of instruments) {
      const i = inst.index;
      const c = this.currencyOf[i]!;
      this.qtyScale[i] = 10 ** q[i]!;
      this.lotUnits[i] = Math.round(inst.lotSize * 10 ** q[i]!);
      this.fillScale[i] = 10 ** (inst.pricePrecision + FILL_PRICE_DIGITS);
      const mu = Math.round(inst.multiplier * 10 ** md[i]!);
      this.factor[i] = mu * 10 ** (this.exp[c]! - q[i]! - inst.pricePrecision - FILL_PRICE_DIGITS - md[i]!);
      this.orderFactor[i] = this.factor[i]! * 10 ** FILL_PRICE_DIGITS;
      this.grossPerMoney[i] = 10 ** (this.grossExp - this.exp[c]!);
      this.grossFactor[i] = this.orderFactor[i]! * this.grossPerMoney[i]!;
    }
  }

  private currencyIndex(ccy: string, precisions: Readonly<Record<string, number>>): number {
    let c = this.currencies.indexOf(ccy);
    if (c < 0) {
      c = this.currencies.push(ccy) - 1;
      const p = precisions[ccy] ?? defaultCurrencyPrecision(ccy);
      this.precision[c] = p;
      this.exp[c] = p;
    }
    return c;
  }

  /** Index of a currency, -1 when this engine has no account in it. */
  indexOf(currency: string): number {
    return this.currencies.indexOf(currency);
  }

  /** A quantity of instrument i in quantity units, or NaN when it is not a whole number of them. */
  qtyUnits(i: number, qty: number): number {
    const x = qty * this.qtyScale[i]!;
    if (!Number.isFinite(x)) return Number.NaN;
    const u = Math.round(x);
    if (u > MAX_SAFE) return Number.NaN;
    return Math.abs(x - u) <= Math.max(1e-9, Math.abs(x) * 1e-12) ? u : Number.NaN;
  }

  /** A fill price of instrument i in fill units, rounded to the nearest (`fillRounded` says whether it moved). */
  fillUnits(i: number, px: number): number {
    const x = px * this.fillScale[i]!;
    const u = Math.round(x);
    this.fillRounded = Math.abs(x - u) > Math.max(1e-7, Math.abs(x) * 4e-16);
    return u;
  }

  /** Set by `fillUnits`: the price had more decimals than a fill unit holds. */
  fillRounded = false;

  /** A quantity back to its decimal. */
  qty(i: number, units: number): number {
    return units / this.qtyScale[i]! + 0;
  }

  /** An amount of currency c at the edge: rounded to the currency's precision. */
  decimal(c: number, units: number | bigint): number {
    return toDecimal(units, this.exp[c]!, this.precision[c]!);
  }

  /** A decimal amount of currency c as money units. */
  units(c: number, amount: number): number | bigint {
    return toMoneyUnits(amount, this.exp[c]!);
  }
}
