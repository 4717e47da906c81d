import type { Instrument } from '../domain/instrument.js';

/** Per-order and per-symbol limits. Absent means unlimited. */
export interface RiskLimits {
  /** Largest quantity of one order. */
  maxOrderQty?: number;
  /** Largest qty x price x multiplier of one order (market orders use the reference price). */
  maxOrderNotional?: number;
  /** Largest absolute net position, counting open orders that would add to it. */
  maxPosition?: number;
}

export interface RiskConfig {
  /** Applies to every instrument without its own entry for a field. */
  default?: RiskLimits;
  perSymbol?: Record<string, RiskLimits>;
}

const FIELDS = ['maxOrderQty', 'maxOrderNotional', 'maxPosition'] as const;

/** Validate a risk config; every problem at once, each naming its path. */
export function riskProblems(cfg: unknown, symbols: ReadonlySet<string>, path = 'risk'): string[] {
  if (cfg === undefined) return [];
  if (typeof cfg !== 'object' || cfg === null) return [`${path}: must be an object`];
  const errors: string[] = [];
  const c = cfg as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (key !== 'default' && key !== 'perSymbol') errors.push(`${path}.${key}: unknown field (expected default, perSymbol)`);
  }
  const checkLimits = (v: unknown, p: string) => {
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null) {
      errors.push(`${p}: must be an object`);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (!(FIELDS as readonly string[]).includes(k)) errors.push(`${p}.${k}: unknown field (expected ${FIELDS.join(', ')})`);
      else if (typeof x !== 'number' || !(x >= 0)) errors.push(`${p}.${k}: must be a number >= 0`);
    }
  };
  checkLimits(c.default, `${path}.default`);
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

/** Limits compiled into typed arrays indexed by instrument, as the hot path reads them. */
export class LimitTable {
  readonly maxOrderQty: Float64Array;
  readonly maxOrderNotional: Float64Array;
  readonly maxPosition: Float64Array;

  constructor(instruments: readonly Instrument[], cfg: RiskConfig = {}) {
    const n = instruments.length;
    this.maxOrderQty = new Float64Array(n);
    this.maxOrderNotional = new Float64Array(n);
    this.maxPosition = new Float64Array(n);
    for (const inst of instruments) {
      const own = cfg.perSymbol?.[inst.symbol] ?? {};
      const d = cfg.default ?? {};
      this.maxOrderQty[inst.index] = own.maxOrderQty ?? d.maxOrderQty ?? Infinity;
      this.maxOrderNotional[inst.index] = own.maxOrderNotional ?? d.maxOrderNotional ?? Infinity;
      this.maxPosition[inst.index] = own.maxPosition ?? d.maxPosition ?? Infinity;
    }
  }
}
