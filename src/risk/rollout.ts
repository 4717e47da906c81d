/**
 * Staged rollout (docs/release.md): named stages, canary → pilot → full, each with capital
 * caps, a symbol allow-list, trading windows and a share of the order rates. The stage's limits
 * are pre-trade checks that run after the per-order gate on both submit paths (`submit` and
 * `submitMany`, whichever gate ran), in this order: symbol, window, daily loss, gross notional,
 * daily notional, rate. Promotion to the next stage is an operator's explicit command, refused
 * while the stage's evidence is missing.
 *
 * Amounts are in the account's gross units (10^-grossExp, as `maxGrossNotional`): currencies
 * are added one to one, as the account's gross limit adds them.
 */
import type { Instrument } from '../domain/instrument.js';
import { R, reasonCode } from '../domain/reject-reason.js';
import { calendarProblems, TradingCalendar } from './calendar.js';
import { DailyCounter, TokenBucket } from './frequency.js';
import type { AccountLimits, LimitTable } from './limits.js';

/** One stage of a rollout. Every limit is optional: a stage without any is the full release. */
export interface RolloutStage {
  /** The stage's name, unique within the rollout (`canary`, `pilot`, `full`). */
  name: string;
  /** Only these symbols may trade (ROLLOUT_SYMBOL). Default: every instrument. */
  symbols?: string[];
  /** Local ["HH:MM", "HH:MM") windows in which new orders may go (ROLLOUT_WINDOW), in `timeZone`. Default: the whole session. */
  windows?: Array<[string, string]>;
  /** IANA zone of `windows`. Default: the trading day's zone. */
  timeZone?: string;
  /** Gross notional of positions and open orders, plus the order (ROLLOUT_NOTIONAL). */
  maxGrossNotional?: number;
  /** Notional filled today plus open orders, plus the order (ROLLOUT_DAILY_NOTIONAL). */
  maxDailyNotional?: number;
  /**
   * The day's loss, realized plus unrealized marked to the reference price, from the day's
   * start (ROLLOUT_DAILY_LOSS). Reaching it moves the trading state (`onLossCap`) and raises a
   * P0; for the rest of the day only orders that shrink a position pass.
   */
  maxDailyLoss?: number;
  /**
   * Share (0, 1] of the account's order rates (`risk.account`: ordersPerSecond,
   * ordersPerMinute, maxOrdersPerDay) this stage may use (ROLLOUT_RATE). Rates the account does
   * not set have nothing to share. Default 1.
   */
  rateShare?: number;
  /** What promotion from this stage needs. Default nothing. */
  promoteAfter?: {
    /** Clean trading days in a row at this stage (no P0/P1 anomaly, no loss cap, no critical reconciliation difference). */
    cleanDays?: number;
    /** No open (unresolved, unacknowledged) P0 or P1 alert. */
    noOpenAlerts?: boolean;
    /**
     * The go-live gate (docs/go-live.md) must pass on this evidence directory (and the day's data
     * directory `journal`, default `<evidence>/day`), checked at the moment of promotion.
     */
    gate?: RolloutGateEvidence;
  };
}

/** Where a stage's gate evidence is. */
export interface RolloutGateEvidence {
  evidence: string;
  journal?: string;
}

/** Checks the go-live gate for a stage's evidence: the reasons it fails, empty when it passes. */
export type GateCheck = (evidence: RolloutGateEvidence) => string[];

export interface RolloutConfig {
  /** The stages, in promotion order. */
  stages: RolloutStage[];
  /** The stage a fresh journal starts at. Default the first. A journal's promotions win over it on restart. */
  start?: string;
  /** The trading state the loss cap moves to. Default `Halted`. */
  onLossCap?: 'Reducing' | 'Halted';
}

/** One promotion, as journaled. */
export interface RolloutPromotion {
  readonly from: string;
  readonly to: string;
  readonly who: string;
  readonly note: string;
  readonly time: number;
}

/** What a rollout's state is now (ops page, `tradecore rollout status`). */
export interface RolloutStatus {
  readonly stage: string;
  readonly index: number;
  readonly stages: string[];
  readonly next: string | undefined;
  readonly limits: RolloutStage;
  /** Clean days in a row at this stage, before today. */
  readonly cleanDays: number;
  /** Why today is not clean so far (empty: clean so far). */
  readonly todayDirty: string[];
  readonly lossCapHit: boolean;
  /** The day's P&L, decimal (account gross units). */
  readonly dayPnl: number;
  /** Notional filled today, decimal. */
  readonly dayTraded: number;
  /** Whether promotion would be allowed now, and if not why. */
  readonly promotion: { allowed: boolean; missing: string[] };
  readonly history: RolloutPromotion[];
}

/** The rollout's part of a journal snapshot. */
export interface RolloutState {
  stage: string;
  cleanDays: number;
  dirty: string[];
  lossHit: boolean;
  traded: number;
  baseline: number;
  history: RolloutPromotion[];
}

const STAGE_KEYS = ['name', 'symbols', 'windows', 'timeZone', 'maxGrossNotional', 'maxDailyNotional', 'maxDailyLoss', 'rateShare', 'promoteAfter'];

/** Every problem of a rollout section, each naming its path. */
export function rolloutProblems(r: unknown, symbols: ReadonlySet<string>, path = 'rollout'): string[] {
  if (r === undefined) return [];
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return [`${path}: must be an object with stages`];
  const o = r as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!['stages', 'start', 'onLossCap'].includes(k)) out.push(`${path}.${k}: unknown option (known: stages, start, onLossCap)`);
  if (o.onLossCap !== undefined && o.onLossCap !== 'Reducing' && o.onLossCap !== 'Halted') out.push(`${path}.onLossCap: must be Reducing or Halted`);
  if (!Array.isArray(o.stages) || o.stages.length === 0) {
    out.push(`${path}.stages: must be a non-empty array of stages`);
    return out;
  }
  const names = new Set<string>();
  o.stages.forEach((s, i) => {
    const at = `${path}.stages[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      out.push(`${at}: must be an object with a name`);
      return;
    }
    const st = s as Record<string, unknown>;
    for (const k of Object.keys(st)) if (!STAGE_KEYS.includes(k)) out.push(`${at}.${k}: unknown option (known: ${STAGE_KEYS.join(', ')})`);
    if (typeof st.name !== 'string' || st.name.length === 0) out.push(`${at}.name: must be a non-empty string`);
    else if (names.has(st.name)) out.push(`${at}.name: stage ${st.name} is named twice`);
    else names.add(st.name);
    if (st.symbols !== undefined) {
      if (!Array.isArray(st.symbols) || st.symbols.some((x) => typeof x !== 'string')) out.push(`${at}.symbols: must be an array of symbols`);
      else for (const sym of st.symbols as string[]) if (!symbols.has(sym)) out.push(`${at}.symbols: ${sym} is not a configured instrument`);
    }
    if (st.windows !== undefined) {
      out.push(...calendarProblems({ timeZone: typeof st.timeZone === 'string' ? st.timeZone : 'UTC', sessions: st.windows, weekdays: [1, 2, 3, 4, 5, 6, 7] }, at)
        .map((p) => p.replace(`${at}.sessions`, `${at}.windows`)));
    }
    if (st.timeZone !== undefined && typeof st.timeZone !== 'string') out.push(`${at}.timeZone: must be an IANA zone`);
    else if (st.timeZone !== undefined) out.push(...calendarProblems({ timeZone: st.timeZone, sessions: [] }, at).filter((p) => p.startsWith(`${at}.timeZone`)));
    for (const k of ['maxGrossNotional', 'maxDailyNotional', 'maxDailyLoss'] as const) {
      const v = st[k];
      if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) out.push(`${at}.${k}: must be a positive finite number`);
    }
    if (st.rateShare !== undefined && (typeof st.rateShare !== 'number' || !(st.rateShare > 0) || st.rateShare > 1)) out.push(`${at}.rateShare: must be a number in (0, 1]`);
    if (st.promoteAfter !== undefined) {
      const p = st.promoteAfter as Record<string, unknown> | null;
      if (typeof p !== 'object' || p === null) out.push(`${at}.promoteAfter: must be an object`);
      else {
        for (const k of Object.keys(p)) if (k !== 'cleanDays' && k !== 'noOpenAlerts' && k !== 'gate') out.push(`${at}.promoteAfter.${k}: unknown option (known: cleanDays, noOpenAlerts, gate)`);
        if (p.gate !== undefined) {
          const g = p.gate as Record<string, unknown> | null;
          if (typeof g !== 'object' || g === null || typeof g.evidence !== 'string' || g.evidence === '') out.push(`${at}.promoteAfter.gate: must be { evidence: DIR, journal?: DIR }`);
          else {
            for (const k of Object.keys(g)) if (k !== 'evidence' && k !== 'journal') out.push(`${at}.promoteAfter.gate.${k}: unknown option (known: evidence, journal)`);
            if (g.journal !== undefined && (typeof g.journal !== 'string' || g.journal === '')) out.push(`${at}.promoteAfter.gate.journal: must be a directory path`);
          }
        }
        if (p.cleanDays !== undefined && (!Number.isInteger(p.cleanDays) || (p.cleanDays as number) < 0)) out.push(`${at}.promoteAfter.cleanDays: must be a whole number ≥ 0`);
        if (p.noOpenAlerts !== undefined && typeof p.noOpenAlerts !== 'boolean') out.push(`${at}.promoteAfter.noOpenAlerts: must be true or false`);
      }
    }
  });
  if (o.start !== undefined && (typeof o.start !== 'string' || !names.has(o.start))) out.push(`${path}.start: must name one of the stages (${[...names].join(', ')})`);
  return out;
}

/** What the rollout reads of the positions (the ledger). */
export interface RolloutLedger {
  readonly pos: Float64Array;
  basisOf(index: number): number;
  realizedOf(index: number): number;
}

/** An open alert, as the evidence check sees it. */
export interface OpenAlert {
  readonly level: string;
  readonly code: string;
  readonly message?: string;
}

/**
 * The rollout in force: the current stage's limits as integer caps, its rate buckets, and the
 * day's loss and turnover. One per engine; the core calls `check` before the account checks,
 * `accept` for an accepted order, `filled` for each booked fill and `roll` at the day's roll.
 */
export class Rollout {
  readonly stages: readonly RolloutStage[];
  readonly onLossCap: 'Reducing' | 'Halted';
  private index = 0;
  /** 1 where the stage allows the instrument. */
  private readonly allowed: Uint8Array;
  private calendar: TradingCalendar | undefined;
  private grossCap = Infinity;
  private dailyCap = Infinity;
  private lossCap = Infinity;
  private share = 1;
  private sec: TokenBucket | undefined;
  private min: TokenBucket | undefined;
  private perDay = Infinity;
  private readonly daily: DailyCounter;
  /** Gross units filled today. */
  traded = 0;
  /** The day's starting P&L mark (realized + unrealized), gross units. */
  baseline = Number.NaN;
  lossHit = false;
  cleanDays = 0;
  /** Why today is not clean (P0/P1 anomaly kinds, the loss cap, critical differences), each once. */
  dirty: string[] = [];
  history: RolloutPromotion[] = [];
  /** Which rate refused the last order, for the detail. */
  private refusedBy = '';

  constructor(
    readonly config: RolloutConfig,
    private readonly instruments: readonly Instrument[],
    private readonly limits: LimitTable,
    private readonly defaultZone: string,
    tradingDay: { lastRoll(t: number): number; nextRoll(t: number): number } | undefined,
    private account: AccountLimits,
    now: number,
  ) {
    this.stages = config.stages;
    this.onLossCap = config.onLossCap ?? 'Halted';
    this.allowed = new Uint8Array(instruments.length);
    this.daily = new DailyCounter(tradingDay);
    const start = config.start === undefined ? 0 : this.stages.findIndex((s) => s.name === config.start);
    this.enter(Math.max(0, start), now);
  }

  get stage(): RolloutStage {
    return this.stages[this.index]!;
  }

  get stageIndex(): number {
    return this.index;
  }

  /** Apply stage `i`'s limits (rate buckets start full). */
  private enter(i: number, now: number): void {
    this.index = i;
    const s = this.stages[i]!;
    const gross = 10 ** this.limits.money.grossExp;
    this.allowed.fill(s.symbols === undefined ? 1 : 0);
    if (s.symbols !== undefined) for (const inst of this.instruments) if (s.symbols.includes(inst.symbol)) this.allowed[inst.index] = 1;
    this.calendar = s.windows === undefined ? undefined : new TradingCalendar({ timeZone: s.timeZone ?? this.defaultZone, sessions: s.windows, weekdays: [1, 2, 3, 4, 5, 6, 7] });
    this.grossCap = s.maxGrossNotional === undefined ? Infinity : Math.round(s.maxGrossNotional * gross);
    this.dailyCap = s.maxDailyNotional === undefined ? Infinity : Math.round(s.maxDailyNotional * gross);
    this.lossCap = s.maxDailyLoss === undefined ? Infinity : Math.round(s.maxDailyLoss * gross);
    this.share = s.rateShare ?? 1;
    this.rates(now);
  }

  /** The account's rates changed (a risk reload): the stage's share of the new ones. */
  reconfigure(account: AccountLimits, now: number): void {
    this.account = account;
    this.rates(now);
  }

  private rates(now: number): void {
    const part = (rate: number | undefined) => (rate === undefined || rate === Infinity || this.share === 1 ? undefined : Math.max(1, Math.floor(rate * this.share)));
    const ps = part(this.account.ordersPerSecond);
    const pm = part(this.account.ordersPerMinute);
    this.sec = ps === undefined ? undefined : new TokenBucket(ps, 1000, now);
    this.min = pm === undefined ? undefined : new TokenBucket(pm, 60_000, now);
    this.perDay = part(this.account.maxOrdersPerDay) ?? Infinity;
  }

  /** Whether a loss cap is set (the core then marks P&L on fills and reference moves). */
  get watchesLoss(): boolean {
    return this.lossCap !== Infinity;
  }

  /**
   * The stage's checks for one order, after the per-order gate: `qu` quantity units at `pxUnits`
   * price units (NaN: no price known). Returns a reason id, 0 when it passes.
   */
  check(inst: Instrument, side: number, qu: number, pxUnits: number, now: number, ledger: RolloutLedger,
    openBuy: Float64Array, openSell: Float64Array, openValue: Float64Array, refUnits: Float64Array): number {
    const i = inst.index;
    if (this.allowed[i] === 0) return R.ROLLOUT_SYMBOL;
    if (this.calendar !== undefined && !this.calendar.isOpen(now)) return R.ROLLOUT_WINDOW;
    if (this.lossHit && !shrinks(side, qu, ledger.pos[i]!, side > 0 ? openBuy[i]! : openSell[i]!)) return R.ROLLOUT_DAILY_LOSS;
    const L = this.limits;
    if (this.grossCap !== Infinity || this.dailyCap !== Infinity) {
      if (Number.isNaN(pxUnits)) return R.NO_REFERENCE_PRICE;
      const order = qu * pxUnits * L.grossFactor[i]!;
      if (this.grossCap !== Infinity && this.gross(ledger, openBuy, openSell, openValue, refUnits, true) + order > this.grossCap) return R.ROLLOUT_NOTIONAL;
      if (this.dailyCap !== Infinity && this.traded + this.gross(ledger, openBuy, openSell, openValue, refUnits, false) + order > this.dailyCap) return R.ROLLOUT_DAILY_NOTIONAL;
    }
    this.refusedBy = '';
    if (this.sec !== undefined && !this.sec.available(now)) this.refusedBy = 'per-second';
    else if (this.min !== undefined && !this.min.available(now)) this.refusedBy = 'per-minute';
    else if (this.daily.count(now) >= this.perDay) this.refusedBy = 'per-day';
    return this.refusedBy === '' ? 0 : R.ROLLOUT_RATE;
  }

  /** An order passed and was sent: it uses the stage's rates. */
  accept(now: number): void {
    this.sec?.take(now);
    this.min?.take(now);
    this.daily.add(now);
  }

  /** A fill was booked: `qu` quantity units at `pu` fill units of instrument `i`. */
  filled(i: number, qu: number, pu: number): void {
    const m = this.limits.money;
    this.traded += qu * pu * m.factor[i]! * m.grossPerMoney[i]!;
  }

  /**
   * Gross units of open orders (at the reference, else at their limits) and, with
   * `positions`, of positions (at the reference, else at cost).
   */
  private gross(ledger: RolloutLedger, openBuy: Float64Array, openSell: Float64Array, openValue: Float64Array, refUnits: Float64Array, positions: boolean): number {
    let g = 0;
    const L = this.limits;
    for (let k = 0; k < this.instruments.length; k++) {
      const ref = refUnits[k]!;
      const pos = positions ? Math.abs(ledger.pos[k]!) : 0;
      if (ref === ref) g += (pos + openBuy[k]! + openSell[k]!) * ref * L.grossFactor[k]!;
      else g += (positions ? ledger.basisOf(k) * L.money.grossPerMoney[k]! : 0) + openValue[k]!;
    }
    return g;
  }

  /** The P&L mark in gross units: realized plus positions marked to the reference (at cost without one). */
  mark(ledger: RolloutLedger, refUnits: Float64Array): number {
    const m = this.limits.money;
    let v = 0;
    for (let k = 0; k < this.instruments.length; k++) {
      v += ledger.realizedOf(k) * m.grossPerMoney[k]!;
      const p = ledger.pos[k]!;
      const ref = refUnits[k]!;
      if (p !== 0 && ref === ref) v += Math.sign(p) * (Math.abs(p) * ref * m.grossFactor[k]! - ledger.basisOf(k) * m.grossPerMoney[k]!);
    }
    return v;
  }

  /**
   * Take the day's baseline now if none was taken (a fresh engine's first start), once every
   * instrument with a position has a reference: a position marked at cost, then at its first
   * reference, would count the half-spread it was bought over as the day's loss.
   */
  startDay(ledger: RolloutLedger, refUnits: Float64Array): void {
    if (!Number.isNaN(this.baseline)) return;
    for (let k = 0; k < this.instruments.length; k++) if (ledger.pos[k] !== 0 && Number.isNaN(refUnits[k]!)) return;
    this.baseline = this.mark(ledger, refUnits);
  }

  /** The day's P&L in gross units (0 before the baseline is taken). */
  dayPnl(ledger: RolloutLedger, refUnits: Float64Array): number {
    return Number.isNaN(this.baseline) ? 0 : this.mark(ledger, refUnits) - this.baseline;
  }

  /** Whether the day's loss has reached the cap now (the caller acts on the first true); false until the day's baseline is taken (see `startDay`). */
  lossReached(ledger: RolloutLedger, refUnits: Float64Array): boolean {
    if (this.lossHit || this.lossCap === Infinity) return false;
    if (Number.isNaN(this.baseline)) {
      this.startDay(ledger, refUnits);
      return false;
    }
    return -this.dayPnl(ledger, refUnits) >= this.lossCap;
  }

  /** Mark today not clean for `why` (once per reason). */
  markDirty(why: string): void {
    if (!this.dirty.includes(why)) this.dirty.push(why);
  }

  /** The day rolled: count it clean or not, and start the new day from `baseline`. */
  roll(baseline: number): void {
    this.cleanDays = this.dirty.length === 0 ? this.cleanDays + 1 : 0;
    this.dirty = [];
    this.lossHit = false;
    this.traded = 0;
    this.baseline = baseline;
  }

  /** What promotion from the current stage lacks now (empty: allowed). */
  missing(openAlerts: readonly OpenAlert[] | undefined, gate?: GateCheck): string[] {
    const out: string[] = [];
    if (this.index === this.stages.length - 1) return [`stage ${this.stage.name} is the last stage`];
    const need = this.stage.promoteAfter;
    const days = need?.cleanDays ?? 0;
    if (this.cleanDays < days) out.push(`cleanDays: ${this.cleanDays} clean trading day(s) in a row at stage ${this.stage.name}, ${days} needed`);
    if (need?.noOpenAlerts === true) {
      if (openAlerts === undefined) out.push('noOpenAlerts: no alert source is attached, so open alerts cannot be ruled out');
      else {
        const severe = openAlerts.filter((a) => a.level === 'P0' || a.level === 'P1');
        if (severe.length > 0) out.push(`noOpenAlerts: ${severe.length} open P0/P1 alert(s): ${severe.slice(0, 5).map((a) => `${a.level} ${a.code}`).join(', ')}`);
      }
    }
    if (need?.gate !== undefined) {
      if (gate === undefined) out.push(`gate: no gate check is attached (engine.attachGate), so the go-live gate on ${need.gate.evidence} cannot be evaluated`);
      else {
        let failed: string[];
        try {
          failed = gate(need.gate);
        } catch (err) {
          failed = [`the gate could not be evaluated: ${(err as Error).message}`];
        }
        for (const r of failed) out.push(`gate: ${r}`);
      }
    }
    return out;
  }

  /**
   * Move to stage `p.to` (live: the caller checked `missing` and journals it; replay: the
   * journal's record). Returns false, keeping the stage, when this config has no such stage.
   */
  promote(p: RolloutPromotion, now: number): boolean {
    const to = this.stages.findIndex((s) => s.name === p.to);
    this.history.push(p);
    this.cleanDays = 0;
    if (to >= 0) this.enter(to, now);
    return to >= 0;
  }

  exportState(): RolloutState {
    return { stage: this.stage.name, cleanDays: this.cleanDays, dirty: [...this.dirty], lossHit: this.lossHit, traded: this.traded, baseline: this.baseline, history: [...this.history] };
  }

  /** Put a snapshot's rollout back. A stage the config no longer has keeps the configured start (with a warning from the caller). */
  importState(s: RolloutState, now: number): boolean {
    const i = this.stages.findIndex((x) => x.name === s.stage);
    if (i >= 0) this.enter(i, now);
    this.cleanDays = s.cleanDays;
    this.dirty = [...s.dirty];
    this.lossHit = s.lossHit;
    this.traded = s.traded;
    this.baseline = s.baseline === null ? Number.NaN : s.baseline;
    this.history = [...s.history];
    return i >= 0;
  }

  /** key=value detail for a refusal. */
  detail(reason: number, inst: Instrument, qu: number, pxUnits: number, now: number, ledger: RolloutLedger,
    openBuy: Float64Array, openSell: Float64Array, openValue: Float64Array, refUnits: Float64Array): string {
    const base = `symbol=${inst.symbol} stage=${this.stage.name}`;
    const g = 10 ** this.limits.money.grossExp;
    const order = qu * pxUnits * this.limits.grossFactor[inst.index]!;
    switch (reasonCode(reason)) {
      case 'ROLLOUT_SYMBOL':
        return `${base} allowed=${(this.stage.symbols ?? []).join(',')}`;
      case 'ROLLOUT_WINDOW': {
        const next = this.calendar!.nextOpenAt(now);
        return `${base} windows=${this.stage.windows!.map(([a, b]) => `${a}-${b}`).join(',')} timeZone=${this.stage.timeZone ?? this.defaultZone} nextOpen=${Number.isFinite(next) ? new Date(next).toISOString() : 'none'}`;
      }
      case 'ROLLOUT_DAILY_LOSS':
        return `${base} dayPnl=${this.dayPnl(ledger, refUnits) / g} maxDailyLoss=${this.stage.maxDailyLoss} only=position-reducing`;
      case 'ROLLOUT_NOTIONAL':
        return `${base} gross=${this.gross(ledger, openBuy, openSell, openValue, refUnits, true) / g} order=${order / g} limit=${this.stage.maxGrossNotional}`;
      case 'ROLLOUT_DAILY_NOTIONAL':
        return `${base} filledToday=${this.traded / g} open=${this.gross(ledger, openBuy, openSell, openValue, refUnits, false) / g} order=${order / g} limit=${this.stage.maxDailyNotional}`;
      case 'ROLLOUT_RATE':
        return `${base} limit=${this.refusedBy} rateShare=${this.share}`;
      default:
        return base;
    }
  }

  status(ledger: RolloutLedger, refUnits: Float64Array, openAlerts: readonly OpenAlert[] | undefined, gate?: GateCheck): RolloutStatus {
    const missing = this.missing(openAlerts, gate);
    const g = 10 ** this.limits.money.grossExp;
    return {
      stage: this.stage.name, index: this.index, stages: this.stages.map((s) => s.name), next: this.stages[this.index + 1]?.name,
      limits: structuredClone(this.stage), cleanDays: this.cleanDays, todayDirty: [...this.dirty], lossCapHit: this.lossHit,
      dayPnl: this.dayPnl(ledger, refUnits) / g, dayTraded: this.traded / g,
      promotion: { allowed: missing.length === 0, missing }, history: [...this.history],
    };
  }
}

/** Whether an order only shrinks the position (with what is open on its side). */
function shrinks(side: number, qu: number, pos: number, openSameSide: number): boolean {
  return side > 0 ? pos < 0 && qu + openSameSide <= -pos : pos > 0 && qu + openSameSide <= pos;
}
