import { toPriceUnits, type Instrument } from '../domain/instrument.js';
import { MoneySpace, toMoneyUnits } from '../domain/money.js';

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
  /** Limit prices further than this absolute price distance from the reference are refused (PRICE_BAND). */
  priceBandAbs?: number;
  /**
   * Market orders are sent with a protection price this percentage beyond the reference
   * (buy above, sell below, rounded onto the tick toward the reference): they fill no further.
   */
  marketBandPct?: number;
  /** With a band set and no reference price yet: 'refuse' (NO_REFERENCE_PRICE) or 'static-only' (default: band skipped). */
  noReferencePolicy?: 'refuse' | 'static-only';
  /**
   * Price ladder: the tick depends on the price level. Rungs `{ from, tick }` in increasing
   * `from`, the first from 0; a price uses the tick of the last rung at or below it.
   */
  tickLadder?: Array<{ from: number; tick: number }>;
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
  'priceBandAbs', 'marketBandPct', 'noReferencePolicy', 'tickLadder',
] as const;
const ACCOUNT_FIELDS = ['maxOpenOrders', 'maxGrossNotional', 'ordersPerSecond', 'ordersPerMinute', 'cancelsPerSecond', 'maxOrdersPerDay'] as const;
/** Rates must be positive: a zero rate would refuse everything, say so with a limit of 0 elsewhere. */
const POSITIVE = new Set(['ordersPerSecond', 'ordersPerMinute', 'cancelsPerSecond']);

/** Rungs an instrument's ladder may have: the ladder arrays have a fixed size, shared with the native gate. */
export const MAX_RUNGS = 16;

function ladderProblems(x: unknown, p: string): string[] {
  if (!Array.isArray(x) || x.length === 0 || x.length > MAX_RUNGS) return [`${p}: must be an array of 1 to ${MAX_RUNGS} { from, tick }`];
  const errors: string[] = [];
  x.forEach((r: { from?: unknown; tick?: unknown } | null, i) => {
    const from = r?.from;
    const tick = r?.tick;
    if (typeof from !== 'number' || !(from >= 0) || !Number.isFinite(from)) errors.push(`${p}[${i}].from: must be a finite number >= 0`);
    if (typeof tick !== 'number' || !(tick > 0) || !Number.isFinite(tick)) errors.push(`${p}[${i}].tick: must be a positive number`);
    const prev = (x[i - 1] as { from?: unknown } | undefined)?.from;
    if (i === 0 && from !== 0) errors.push(`${p}[0].from: the first rung must start at 0`);
    if (i > 0 && typeof from === 'number' && typeof prev === 'number' && from <= prev) errors.push(`${p}[${i}].from: must be above the previous rung's`);
  });
  return errors;
}

/** Ladder ticks must be whole price units of each instrument that uses the ladder. */
export function ladderUnitProblems(cfg: RiskConfig | undefined, instruments: readonly Instrument[]): string[] {
  const errors: string[] = [];
  for (const inst of instruments) {
    const own = cfg?.perSymbol?.[inst.symbol]?.tickLadder;
    const ladder = own ?? cfg?.default?.tickLadder;
    if (ladder === undefined) continue;
    const where = own !== undefined ? `risk.perSymbol.${inst.symbol}.tickLadder` : 'risk.default.tickLadder';
    ladder.forEach((r, i) => {
      if (Number.isNaN(toPriceUnits(r.tick, inst.scale)) || toPriceUnits(r.tick, inst.scale) === 0) errors.push(`${where}[${i}].tick: ${r.tick} is not a whole number of price units of ${inst.symbol} (precision ${inst.pricePrecision})`);
      if (Number.isNaN(toPriceUnits(r.from, inst.scale))) errors.push(`${where}[${i}].from: ${r.from} is not a whole number of price units of ${inst.symbol}`);
    });
  }
  return errors;
}

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
      else if (k === 'noReferencePolicy') {
        if (x !== 'refuse' && x !== 'static-only') errors.push(`${p}.${k}: must be refuse or static-only`);
      } else if (k === 'tickLadder') errors.push(...ladderProblems(x, `${p}.${k}`));
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
  /** Absolute band in price units; Infinity when unset. */
  readonly priceBandAbsUnits: Float64Array;
  /** Market protection band, percent; Infinity when unset. */
  readonly marketBandPct: Float64Array;
  /** 1 when a band is set and missing reference prices are refused. */
  readonly noRefRefuse: Float64Array;
  /** Tick ladders, flattened: rungs of instrument i are [ladderStart[i], ladderStart[i] + ladderCount[i]). */
  readonly ladderStart: Float64Array;
  readonly ladderCount: Float64Array;
  readonly ladderFrom: Float64Array;
  readonly ladderTick: Float64Array;
  /** Instrument parameters: 10^pricePrecision, tick in price units, lot size, multiplier. */
  readonly scale: Float64Array;
  readonly tickUnits: Float64Array;
  readonly lotSize: Float64Array;
  readonly multiplier: Float64Array;
  /**
   * The same limits in integers (see domain/money.ts), what the checks compare: quantities in
   * quantity units (a quantity limit rounds down to one, never widening), amounts in money
   * units of the instrument's currency, the percent band in millionths of a percent.
   */
  readonly qtyScale: Float64Array;
  readonly lotUnits: Float64Array;
  readonly maxQtyUnits: Float64Array;
  readonly maxPosUnits: Float64Array;
  readonly minQtyUnits: Float64Array;
  readonly orderFactor: Float64Array;
  readonly maxNotionalUnits: Float64Array;
  readonly minNotionalUnits: Float64Array;
  readonly bandMicroPct: Float64Array;
  readonly marketBandMicroPct: Float64Array;
  /** Gross units (10^-money.grossExp) per quantity unit at one price unit, and the account's gross limit in them. */
  readonly grossFactor: Float64Array;
  maxGrossUnits = Infinity;
  readonly money: MoneySpace;

  constructor(instruments: readonly Instrument[], cfg: RiskConfig = {}, money?: MoneySpace) {
    this.money = money ?? new MoneySpace(instruments);
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
    this.priceBandAbsUnits = f64();
    this.marketBandPct = f64();
    this.noRefRefuse = f64();
    this.ladderStart = f64();
    this.ladderCount = f64();
    // fixed size: a reload copies into the same arrays the native gate points at
    this.ladderFrom = new Float64Array(n * MAX_RUNGS);
    this.ladderTick = new Float64Array(n * MAX_RUNGS).fill(1);
    this.scale = f64();
    this.tickUnits = f64();
    this.lotSize = f64();
    this.multiplier = f64();
    this.qtyScale = f64();
    this.lotUnits = f64();
    this.maxQtyUnits = f64();
    this.maxPosUnits = f64();
    this.minQtyUnits = f64();
    this.orderFactor = f64();
    this.maxNotionalUnits = f64();
    this.minNotionalUnits = f64();
    this.bandMicroPct = f64();
    this.marketBandMicroPct = f64();
    this.grossFactor = f64();
    const m = this.money;
    const qtyDown = (x: number, i: number) => (x === Infinity ? Infinity : Math.floor(x * m.qtyScale[i]! + 1e-7));
    const amount = (x: number, i: number) => (x === Infinity ? Infinity : Number(toMoneyUnits(x, m.exp[m.currencyOf[i]!]!)));
    const micro = (x: number) => (x === Infinity ? Infinity : Math.round(x * 1e6));
    const gross = cfg.account?.maxGrossNotional;
    this.maxGrossUnits = gross === undefined ? Infinity : Number(toMoneyUnits(gross, m.grossExp));
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
      const abs = own.priceBandAbs ?? d.priceBandAbs;
      // whole price units, rounded toward the inside (never widening the band)
      this.priceBandAbsUnits[i] = abs === undefined ? Infinity : Math.floor(abs * inst.scale + 1e-7);
      this.marketBandPct[i] = own.marketBandPct ?? d.marketBandPct ?? Infinity;
      this.noRefRefuse[i] = (own.noReferencePolicy ?? d.noReferencePolicy) === 'refuse' ? 1 : 0;
      const ladder = own.tickLadder ?? d.tickLadder;
      this.ladderStart[i] = i * MAX_RUNGS;
      this.ladderCount[i] = ladder?.length ?? 0;
      (ladder ?? []).forEach((r, k) => {
        this.ladderFrom[i * MAX_RUNGS + k] = toPriceUnits(r.from, inst.scale);
        this.ladderTick[i * MAX_RUNGS + k] = toPriceUnits(r.tick, inst.scale);
      });
      this.scale[i] = inst.scale;
      this.tickUnits[i] = inst.tickUnits;
      this.lotSize[i] = inst.lotSize;
      this.multiplier[i] = inst.multiplier;
      this.qtyScale[i] = m.qtyScale[i]!;
      this.lotUnits[i] = m.lotUnits[i]!;
      this.maxQtyUnits[i] = qtyDown(this.maxOrderQty[i]!, i);
      this.maxPosUnits[i] = qtyDown(this.maxPosition[i]!, i);
      this.minQtyUnits[i] = Math.ceil(this.minOrderQty[i]! * m.qtyScale[i]! - 1e-7);
      this.orderFactor[i] = m.orderFactor[i]!;
      this.maxNotionalUnits[i] = amount(this.maxOrderNotional[i]!, i);
      this.minNotionalUnits[i] = amount(this.minOrderNotional[i]!, i);
      this.bandMicroPct[i] = micro(this.priceBandPct[i]!);
      this.marketBandMicroPct[i] = micro(this.marketBandPct[i]!);
      this.grossFactor[i] = m.grossFactor[i]!;
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
    this.maxGrossUnits = next.maxGrossUnits;
  }
}
