/**
 * Instruments and fixed-point prices. A price is validated as an integer number of
 * "units" (10^-pricePrecision); tick and lot checks are integer arithmetic on those units,
 * never floating-point modulo.
 */
export interface InstrumentSpec {
  /** Exchange symbol, unique in one engine. */
  symbol: string;
  /** Smallest price increment, e.g. 0.01. Must be a whole number of price units. */
  tickSize: number;
  /** Decimal places of a price, 0..9. Price units are 10^-pricePrecision. */
  pricePrecision: number;
  /** Quantity must be a whole multiple of this. Default 1. */
  lotSize?: number;
  /** Settlement currency. Default 'USD'. */
  currency?: string;
  /** Contract multiplier for notional and cash. Default 1. */
  multiplier?: number;
  /** Name of the market (in config `markets`) whose trading calendar applies. Default: none, always open. */
  market?: string;
}

export interface Instrument extends Required<InstrumentSpec> {
  /** Index of the instrument in the engine's limit and position tables. */
  readonly index: number;
  /** 10^pricePrecision. */
  readonly scale: number;
  /** tickSize in price units (an integer >= 1). */
  readonly tickUnits: number;
}

/** Largest integer a double holds exactly; price units beyond it cannot be validated. */
const MAX_UNITS = Number.MAX_SAFE_INTEGER;

/**
 * Convert a decimal price into integer price units, or return NaN when the price has more
 * decimals than the precision allows (beyond float representation noise) or is out of range.
 */
export function toPriceUnits(price: number, scale: number): number {
  const x = price * scale;
  if (!Number.isFinite(x)) return Number.NaN;
  const u = Math.round(x);
  if (Math.abs(u) > MAX_UNITS) return Number.NaN;
  // Tolerance: representation noise only (0.1 + 0.2 style), a few ulps of x.
  const tol = Math.max(1e-7, Math.abs(x) * 4e-16);
  return Math.abs(x - u) <= tol ? u : Number.NaN;
}

export function fromPriceUnits(units: number, scale: number): number {
  return units / scale;
}

/** Number of lots in `qty`, or NaN when qty is not a whole multiple of `lotSize`. */
export function toLots(qty: number, lotSize: number): number {
  const x = qty / lotSize;
  if (!Number.isFinite(x)) return Number.NaN;
  const n = Math.round(x);
  return Math.abs(x - n) <= Math.max(1e-9, Math.abs(x) * 1e-12) ? n : Number.NaN;
}

/** Validate an instrument spec; returns a list of problems (empty when valid). */
export function instrumentProblems(spec: unknown, path: string): string[] {
  const errors: string[] = [];
  if (typeof spec !== 'object' || spec === null) return [`${path}: must be an object`];
  const s = spec as Record<string, unknown>;
  if (typeof s.symbol !== 'string' || s.symbol.length === 0) errors.push(`${path}.symbol: must be a non-empty string`);
  const p = s.pricePrecision;
  const precisionOk = typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 9;
  if (!precisionOk) errors.push(`${path}.pricePrecision: must be an integer from 0 to 9`);
  if (typeof s.tickSize !== 'number' || !(s.tickSize > 0) || !Number.isFinite(s.tickSize)) {
    errors.push(`${path}.tickSize: must be a positive finite number`);
  } else if (precisionOk && Number.isNaN(toPriceUnits(s.tickSize, 10 ** (p as number)))) {
    errors.push(`${path}.tickSize: ${s.tickSize} is not a whole number of price units at precision ${p as number}`);
  }
  if (s.lotSize !== undefined && (typeof s.lotSize !== 'number' || !(s.lotSize > 0) || !Number.isFinite(s.lotSize))) {
    errors.push(`${path}.lotSize: must be a positive finite number`);
  }
  if (s.currency !== undefined && (typeof s.currency !== 'string' || s.currency.length === 0)) {
    errors.push(`${path}.currency: must be a non-empty string`);
  }
  if (s.multiplier !== undefined && (typeof s.multiplier !== 'number' || !(s.multiplier > 0) || !Number.isFinite(s.multiplier))) {
    errors.push(`${path}.multiplier: must be a positive finite number`);
  }
  if (s.market !== undefined && (typeof s.market !== 'string' || s.market.length === 0)) errors.push(`${path}.market: must be a non-empty string`);
  return errors;
}

/** Build the engine's instrument from a spec that `instrumentProblems` accepted. */
export function makeInstrument(spec: InstrumentSpec, index: number): Instrument {
  const scale = 10 ** spec.pricePrecision;
  return Object.freeze({
    symbol: spec.symbol,
    tickSize: spec.tickSize,
    pricePrecision: spec.pricePrecision,
    lotSize: spec.lotSize ?? 1,
    currency: spec.currency ?? 'USD',
    multiplier: spec.multiplier ?? 1,
    market: spec.market ?? '',
    index,
    scale,
    tickUnits: toPriceUnits(spec.tickSize, scale),
  });
}
