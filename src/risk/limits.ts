import type { Instrument } from '../domain/instrument.js';

/** Per-order and per-symbol limits. Absent means unlimited. */
export interface RiskLimits {
  /** Largest quantity of one order. */
  maxOrderQty?: number;
  /** Largest qty x price x multiplier of one order (market orders use the reference price). */
  maxOrderNotional?: number;
  /** Largest absolute net position, counting open orders that would add to it. */
  maxPosition?: number;
  /** Limit prices further than this percentage from the reference price are refused (PRICE_BAND). Needs a reference price; without one the band is not applied. */
  priceBandPct?: number;
  /** Static daily limit-up price (decimal): higher limit prices are refused (PRICE_LIMIT). */
  limitUp?: number;
  /** Static daily limit-down price (decimal): lower limit prices are refused (PRICE_LIMIT). */
  limitDown?: number;
  /** Smallest quantity of one order (MIN_ORDER_QTY). */
  minOrderQty?: number;
  /** Smallest qty x price x multiplier of one order (MIN_ORDER_NOTIONAL). */
  minOrderNotional?: number;
  /** Most open orders in this symbol (MAX_OPEN_ORDERS). */
  maxOpenOrders?: number;
  /** New orders per second in this symbol, token bucket (RATE_LIMIT). */
  ordersPerSecond?: number;
  /** New orders per minute in this symbol, token bucket (RATE_LIMIT). */
  ordersPerMinute?: number;
}

/** Limits over the whole account. Absent means unlimited. */
export interface AccountLimits {
  /** Most open orders across all symbols (MAX_OPEN_ORDERS). */
  maxOpenOrders?: number;
  /**
   * Largest gross notional: |position| plus open buy and sell quantity of every instrument,
   * valued at its reference price (or the position's average cost before one is known),
   * plus the new order (MAX_GROSS_NOTIONAL).
   */
  maxGrossNotional?: number;
  /** New orders per second / per minute across all symbols, token buckets (RATE_LIMIT). */
  ordersPerSecond?: number;
  ordersPerMinute?: number;
  /** Cancels per second; a cancel over the limit is refused with RATE_LIMIT (safeStop is exempt). */
  cancelsPerSecond?: number;
  /** New orders per UTC calendar day (RATE_LIMIT). */
  maxOrdersPerDay?: number;
}

export interface RiskConfig {
  /** Applies to every instrument without its own entry for a field. */
  default?: RiskLimits;
  perSymbol?: Record<string, RiskLimits>;
  account?: AccountLimits;
}

const FIELDS = [
  'maxOrderQty', 'maxOrderNotional', 'maxPosition', 'priceBandPct', 'limitUp', 'limitDown',
  'minOrderQty', 'minOrderNotional', 'maxOpenOrders', 'ordersPerSecond', 'ordersPerMinute',
] as const;
const ACCOUNT_FIELDS = ['maxOpenOrders', 'maxGrossNotional', 'ordersPerSecond', 'ordersPerMinute', 'cancelsPerSecond', 'maxOrdersPerDay'] as const;
/** Rates must be positive: a zero rate would refuse everything, say so with a limit of 0 elsewhere. */
const POSITIVE = new Set(['ordersPerSecond', 'ordersPerMinute', 'cancelsPerSecond']);

/** Validate a risk config; every problem at once, each naming its path. */
export function riskProblems(cfg: unknown, symbols: ReadonlySet<string>, path = 'risk'): string[] {
  if (cfg === undefined) return [];
  if (typeof cfg !== 'object' || cfg === null) return [`${path}: must be an object`];
  const errors: string[] = [];
  const c = cfg as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (key !== 'default' && key !== 'perSymbol' && key !== 'account') errors.push(`${path}.${key}: unknown field (expected default, perSymbol, account)`);
  }
  const checkLimits = (v: unknown, p: string, fields: readonly string[] = FIELDS) => {
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null) {
      errors.push(`${p}: must be an object`);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (!fields.includes(k)) errors.push(`${p}.${k}: unknown field (expected ${fields.join(', ')})`);
      else if (typeof x !== 'number' || Number.isNaN(x) || (POSITIVE.has(k) ? !(x > 0) : !(x >= 0))) {
        errors.push(`${p}.${k}: must be a number ${POSITIVE.has(k) ? '> 0' : '>= 0'}`);
      }
    }
  };
  checkLimits(c.default, `${path}.default`);
  checkLimits(c.account, `${path}.account`, ACCOUNT_FIELDS);
  if (c.perSymbol !== undefined) {
    if (typeof c.perSymbol !== 'object' || c.perSymbol === null) errors.push(`${path}.perSymbol: must be an object`);
    else {
      for (const [sym, v] of Object.entries(c.perSymbol)) {
        if (!symbols.has(sym)) errors.push(`${path}.perSymbol.${sym}: not a configured instrument`);
        checkLimits(v, `${path}.perSymbol.${sym}`);
      }
    }
  }
  return errors;
}

/**
 * Limits and instrument parameters compiled into typed arrays indexed by instrument: what the
 * per-order checks read, in TypeScript and in the native addon alike (shared memory).
 */
export class LimitTable {
  readonly maxOrderQty: Float64Array;
  readonly maxOrderNotional: Float64Array;
  readonly maxPosition: Float64Array;
  /** Percent; Infinity when unset. */
  readonly priceBandPct: Float64Array;
  /** Price units; +Infinity / -Infinity when unset. */
  readonly limitUpUnits: Float64Array;
  readonly limitDownUnits: Float64Array;
  readonly minOrderQty: Float64Array;
  readonly minOrderNotional: Float64Array;
  readonly maxOpenOrders: Float64Array;
  /** Orders per second / minute per symbol; Infinity when unset. */
  readonly ordersPerSecond: Float64Array;
  readonly ordersPerMinute: Float64Array;
  /** Instrument parameters: 10^pricePrecision, tick in price units, lot size, multiplier. */
  readonly scale: Float64Array;
  readonly tickUnits: Float64Array;
  readonly lotSize: Float64Array;
  readonly multiplier: Float64Array;

  constructor(instruments: readonly Instrument[], cfg: RiskConfig = {}) {
    const n = instruments.length;
    const f64 = () => new Float64Array(n);
    this.maxOrderQty = f64();
    this.maxOrderNotional = f64();
    this.maxPosition = f64();
    this.priceBandPct = f64();
    this.limitUpUnits = f64();
    this.limitDownUnits = f64();
    this.minOrderQty = f64();
    this.minOrderNotional = f64();
    this.maxOpenOrders = f64();
    this.ordersPerSecond = f64();
    this.ordersPerMinute = f64();
    this.scale = f64();
    this.tickUnits = f64();
    this.lotSize = f64();
    this.multiplier = f64();
    for (const inst of instruments) {
      const own = cfg.perSymbol?.[inst.symbol] ?? {};
      const d = cfg.default ?? {};
      const i = inst.index;
      this.maxOrderQty[i] = own.maxOrderQty ?? d.maxOrderQty ?? Infinity;
      this.maxOrderNotional[i] = own.maxOrderNotional ?? d.maxOrderNotional ?? Infinity;
      this.maxPosition[i] = own.maxPosition ?? d.maxPosition ?? Infinity;
      this.priceBandPct[i] = own.priceBandPct ?? d.priceBandPct ?? Infinity;
      const up = own.limitUp ?? d.limitUp;
      const down = own.limitDown ?? d.limitDown;
      // a limit between two ticks: round toward the inside of the band, never widen it
      this.limitUpUnits[i] = up === undefined ? Infinity : Math.floor(up * inst.scale + 1e-7);
      this.limitDownUnits[i] = down === undefined ? -Infinity : Math.ceil(down * inst.scale - 1e-7);
      this.minOrderQty[i] = own.minOrderQty ?? d.minOrderQty ?? 0;
      this.minOrderNotional[i] = own.minOrderNotional ?? d.minOrderNotional ?? 0;
      this.maxOpenOrders[i] = own.maxOpenOrders ?? d.maxOpenOrders ?? Infinity;
      this.ordersPerSecond[i] = own.ordersPerSecond ?? d.ordersPerSecond ?? Infinity;
      this.ordersPerMinute[i] = own.ordersPerMinute ?? d.ordersPerMinute ?? Infinity;
      this.scale[i] = inst.scale;
      this.tickUnits[i] = inst.tickUnits;
      this.lotSize[i] = inst.lotSize;
      this.multiplier[i] = inst.multiplier;
    }
  }

  /**
   * Take every value of `next` into this table's own arrays. The arrays stay the same objects,
   * so the native gate, which holds pointers to them, sees the new limits at once.
   */
  copyFrom(next: LimitTable): void {
    for (const key of Object.keys(this) as Array<keyof LimitTable>) {
      const mine = this[key];
      if (mine instanceof Float64Array) mine.set(next[key] as Float64Array);
    }
  }
}
