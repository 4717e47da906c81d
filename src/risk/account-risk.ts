import { toMoneyUnits } from '../domain/money.js';
import type { Instrument } from '../domain/instrument.js';
import { R, reasonCode } from '../domain/reject-reason.js';
import { DailyCounter, TokenBucket } from './frequency.js';
import type { AccountLimits, LimitTable } from './limits.js';
import type { Rollout } from './rollout.js';

/** What the account checks read of the positions: signed quantity units, cost bases and realized P&L in money units. */
export interface PositionView {
  readonly pos: Float64Array;
  basisOf(index: number): number;
  realizedOf(index: number): number;
}

/**
 * The checks that run after the per-order gate (PreTradeRisk / the native gate), in this
 * order: min quantity, min notional, reduce-only, open orders (symbol, account), gross
 * notional, frequency (symbol per second and minute, account per second and minute, daily
 * cap). They read exposure through the arrays they are given, so a batch can show them the
 * exposure as of its place in the sequence. Tokens and counts change only in `accept`: an
 * order refused for any reason uses no rate.
 */
export class AccountRisk {
  /** Open orders per instrument, and in all. */
  readonly openCount: Int32Array;
  openTotal = 0;
  private symbolSec: (TokenBucket | undefined)[] = [];
  private symbolMin: (TokenBucket | undefined)[] = [];
  private accountSec: TokenBucket | undefined;
  private accountMin: TokenBucket | undefined;
  private cancels: TokenBucket | undefined;
  private readonly daily: DailyCounter;
  private maxPerDay = Infinity;
  private maxOpenTotal = Infinity;
  private maxGross = Infinity;
  /** The firm's share from central (docs/scale-out.md): a gross cap on top of the account's own, in gross units and as given; Infinity: none. */
  private firmCapUnits = Infinity;
  private firmCap = Infinity;
  private account: AccountLimits = {};
  /** Which rate refused the last order, for the detail. */
  private refusedBy = '';
  /** 1 where some check of this class applies to the instrument. */
  private readonly active: Uint8Array;
  /** Open limit orders per instrument valued at their limit prices, gross units (what gross counts before a reference exists). */
  readonly openValue: Float64Array;

  constructor(
    private readonly instruments: readonly Instrument[],
    private readonly limits: LimitTable,
    account: AccountLimits,
    now: number,
    tradingDay?: { lastRoll(t: number): number; nextRoll(t: number): number },
    /** The rollout stage's checks, run first (docs/release.md); undefined without a rollout. */
    readonly rollout?: Rollout,
  ) {
    this.daily = new DailyCounter(tradingDay);
    this.openCount = new Int32Array(instruments.length);
    this.active = new Uint8Array(instruments.length);
    this.openValue = new Float64Array(instruments.length);
    this.reconfigure(account, now);
  }

  /**
   * Apply new limits (the LimitTable was updated in place; `account` is the new account
   * section). Open-order counts and the day's count carry over; a rate bucket whose rate did
   * not change keeps its tokens, a changed one starts full.
   */
  reconfigure(account: AccountLimits, now: number): void {
    const bucket = (old: TokenBucket | undefined, rate: number | undefined, windowMs: number) => {
      if (rate === undefined || rate === Infinity) return undefined;
      return old !== undefined && old.capacity === rate ? old : new TokenBucket(rate, windowMs, now);
    };
    const L = this.limits;
    this.account = account;
    this.symbolSec = this.instruments.map((i) => bucket(this.symbolSec[i.index], L.ordersPerSecond[i.index], 1000));
    this.symbolMin = this.instruments.map((i) => bucket(this.symbolMin[i.index], L.ordersPerMinute[i.index], 60_000));
    this.accountSec = bucket(this.accountSec, account.ordersPerSecond, 1000);
    this.accountMin = bucket(this.accountMin, account.ordersPerMinute, 60_000);
    this.cancels = bucket(this.cancels, account.cancelsPerSecond, 1000);
    this.maxPerDay = account.maxOrdersPerDay ?? Infinity;
    this.maxOpenTotal = account.maxOpenOrders ?? Infinity;
    this.maxGross = account.maxGrossNotional ?? Infinity;
    this.rollout?.reconfigure(account, now);
    const anyAccount = this.rollout !== undefined || this.accountSec !== undefined || this.accountMin !== undefined || this.maxPerDay !== Infinity || this.maxOpenTotal !== Infinity || this.maxGross !== Infinity || this.firmCap !== Infinity;
    for (const inst of this.instruments) {
      const i = inst.index;
      const own = L.minOrderQty[i]! > 0 || L.minOrderNotional[i]! > 0 || L.maxOpenOrders[i]! !== Infinity || this.symbolSec[i] !== undefined || this.symbolMin[i] !== undefined;
      this.active[i] = anyAccount || own ? 1 : 0;
    }
  }

  /**
   * The order's quantity (decimal) and the engine clock, set by the caller before `check` /
   * `accept`. Fields, not arguments: a double passed to a call V8 does not inline is boxed,
   * measured 32 B per order.
   */
  qty = 0.5;
  now = 0.5;
  /** The order's quantity units, and price units for its notional (NaN when none is known). */
  qu = 0.5;
  pxUnits = 0.5;

  /**
   * The firm-wide gross-exposure share central gives this engine (undefined: none, the
   * account's own limits only). It only ever tightens: the check uses the lower of it and the
   * account's `maxGrossNotional`.
   */
  setFirmCap(notional: number | undefined, now: number): void {
    if (notional !== undefined && !(notional >= 0 && Number.isFinite(notional))) throw new RangeError(`firm gross share must be a finite number >= 0, got ${notional}`);
    this.firmCap = notional ?? Infinity;
    this.firmCapUnits = notional === undefined ? Infinity : Number(toMoneyUnits(notional, this.limits.money.grossExp));
    this.reconfigure(this.account, now);
  }

  /** The firm's share in force (undefined: none). */
  get firmShare(): number | undefined {
    return this.firmCap === Infinity ? undefined : this.firmCap;
  }

  /** `qu` quantity units of an open limit order at `units` price units were added (+1) or left (-1). */
  openValueAdd(i: number, qu: number, units: number): void {
    if (units === units) this.openValue[i] = this.openValue[i]! + qu * units * this.limits.grossFactor[i]!;
  }

  /** Whether any check here applies to instrument `i` (when not, the engine skips the call). */
  applies(i: number): boolean {
    return this.active[i] === 1;
  }

  /** @param reduceOnly the order, or the trading state, allows only a shrinking position */
  check(
    inst: Instrument, side: number, reduceOnly: boolean,
    ledger: PositionView, openBuy: Float64Array, openSell: Float64Array, refUnits: Float64Array,
  ): number {
    const { qu, pxUnits, now } = this;
    const i = inst.index;
    const L = this.limits;
    if (this.rollout !== undefined) {
      const r = this.rollout.check(inst, side, qu, pxUnits, now, ledger, openBuy, openSell, this.openValue, refUnits);
      if (r !== 0) return r;
    }
    if (qu < L.minQtyUnits[i]!) return R.MIN_ORDER_QTY;
    if (L.minNotionalUnits[i]! > 0) {
      if (Number.isNaN(pxUnits)) return R.NO_REFERENCE_PRICE;
      if (qu * pxUnits * L.orderFactor[i]! < L.minNotionalUnits[i]!) return R.MIN_ORDER_NOTIONAL;
    }
    if (reduceOnly) {
      const p = ledger.pos[i]!;
      const ok = side > 0 ? p < 0 && qu + openBuy[i]! <= -p : p > 0 && qu + openSell[i]! <= p;
      if (!ok) return R.REDUCE_ONLY;
    }
    if (this.openCount[i]! >= L.maxOpenOrders[i]! || this.openTotal >= this.maxOpenTotal) return R.MAX_OPEN_ORDERS;
    const cap = L.maxGrossUnits < this.firmCapUnits ? L.maxGrossUnits : this.firmCapUnits;
    if (cap !== Infinity) {
      if (Number.isNaN(pxUnits)) return R.NO_REFERENCE_PRICE;
      if (this.gross(ledger, openBuy, openSell, refUnits) + qu * pxUnits * L.grossFactor[i]! > cap) return R.MAX_GROSS_NOTIONAL;
    }
    this.refusedBy = '';
    if (this.symbolSec[i] !== undefined && !this.symbolSec[i]!.available(now)) this.refusedBy = 'symbol-per-second';
    else if (this.symbolMin[i] !== undefined && !this.symbolMin[i]!.available(now)) this.refusedBy = 'symbol-per-minute';
    else if (this.accountSec !== undefined && !this.accountSec.available(now)) this.refusedBy = 'account-per-second';
    else if (this.accountMin !== undefined && !this.accountMin.available(now)) this.refusedBy = 'account-per-minute';
    else if (this.daily.count(now) >= this.maxPerDay) this.refusedBy = 'account-per-day';
    return this.refusedBy === '' ? 0 : R.RATE_LIMIT;
  }

  /**
   * Gross notional of positions and open orders in gross units (exact below 2^53): at the
   * reference price; before one is known, the position at its cost basis and open limit orders
   * at their limit prices.
   */
  gross(ledger: PositionView, openBuy: Float64Array, openSell: Float64Array, refUnits: Float64Array): number {
    let g = 0;
    const L = this.limits;
    for (let k = 0; k < this.instruments.length; k++) {
      const ref = refUnits[k]!;
      if (ref === ref) g += (Math.abs(ledger.pos[k]!) + openBuy[k]! + openSell[k]!) * ref * L.grossFactor[k]!;
      else g += ledger.basisOf(k) * this.limits.money.grossPerMoney[k]! + this.openValue[k]!;
    }
    return g;
  }

  private grossDecimal(units: number): number {
    return units / 10 ** this.limits.money.grossExp;
  }

  /** An order was accepted: it uses its rates and counts as open (clock from `this.now`). */
  accept(index: number): void {
    const now = this.now;
    this.symbolSec[index]?.take(now);
    this.symbolMin[index]?.take(now);
    this.accountSec?.take(now);
    this.accountMin?.take(now);
    this.daily.add(now);
    this.rollout?.accept(now);
    this.openCount[index]!++;
    this.openTotal++;
  }

  /** An order finished (or was never sent): it no longer counts as open. */
  release(index: number): void {
    this.openCount[index]!--;
    this.openTotal--;
  }

  /** The day's order count (maxOrdersPerDay), for a journal snapshot. */
  get dailyState(): { day: number; n: number } {
    return this.daily.state;
  }

  set dailyState(s: { day: number; n: number }) {
    this.daily.state = s;
  }

  /** Set the open-order counts from scratch (after a restore): `counts[i]` open orders of instrument i. */
  resetOpen(counts: ArrayLike<number>): void {
    this.openTotal = 0;
    for (let i = 0; i < this.openCount.length; i++) {
      this.openCount[i] = counts[i] ?? 0;
      this.openTotal += this.openCount[i]!;
    }
  }

  /** A cancel may go out now; consumes a token when it may. */
  takeCancel(now: number): boolean {
    if (this.cancels === undefined) return true;
    if (!this.cancels.available(now)) return false;
    this.cancels.take(now);
    return true;
  }

  cancelWaitMs(now: number): number {
    return this.cancels?.waitMs(now) ?? 0;
  }

  detail(reason: number, inst: Instrument, side: number, qty: number, _px: number, ledger: PositionView, openBuy: Float64Array, openSell: Float64Array, refUnits: Float64Array): string {
    const i = inst.index;
    const base = `symbol=${inst.symbol}`;
    const q = this.limits.qtyScale[i]!;
    const m = this.limits.money;
    const notional = m.decimal(m.currencyOf[i]!, this.qu * this.pxUnits * this.limits.orderFactor[i]!);
    if (this.rollout !== undefined && reasonCode(reason).startsWith('ROLLOUT_')) {
      return this.rollout.detail(reason, inst, this.qu, this.pxUnits, this.now, ledger, openBuy, openSell, this.openValue, refUnits);
    }
    switch (reasonCode(reason)) {
      case 'MIN_ORDER_QTY':
        return `${base} qty=${qty} min=${this.limits.minOrderQty[i]}`;
      case 'MIN_ORDER_NOTIONAL':
        return `${base} notional=${notional} min=${this.limits.minOrderNotional[i]}`;
      case 'NO_REFERENCE_PRICE':
        return `${base} type=market needs=reference`;
      case 'REDUCE_ONLY':
        return `${base} side=${side > 0 ? 'buy' : 'sell'} position=${ledger.pos[i]! / q} open=${(side > 0 ? openBuy[i]! : openSell[i]!) / q} qty=${qty}`;
      case 'MAX_OPEN_ORDERS':
        return this.openCount[i]! >= this.limits.maxOpenOrders[i]!
          ? `${base} scope=symbol open=${this.openCount[i]} limit=${this.limits.maxOpenOrders[i]}`
          : `${base} scope=account open=${this.openTotal} limit=${this.maxOpenTotal}`;
      case 'MAX_GROSS_NOTIONAL':
        return `${base} gross=${this.grossDecimal(this.gross(ledger, openBuy, openSell, refUnits))} order=${notional} limit=${Math.min(this.maxGross, this.firmCap)}${this.firmCap < this.maxGross ? ' scope=firm-share' : ''}`;
      case 'RATE_LIMIT':
        return `${base} limit=${this.refusedBy}`;
      default:
        return base;
    }
  }
}
