/**
 * The trading day: each engine (and the simulated broker) has a day boundary, a local time in
 * an IANA zone (`17:00 America/New_York`; default midnight UTC). At the boundary the day rolls.
 *
 * A day is named by a date. A boundary at noon or later (an evening roll, `17:00`) opens the
 * next date's day: Monday 17:00 to Tuesday 17:00 is Tuesday, as FX and futures count it. A
 * boundary before noon (`00:00`, `02:00`) opens that date's day: Monday 00:00 to Tuesday 00:00
 * is Monday.
 */
import { ZonedTime, isTimeZone } from './zoned-time.js';

export interface TradingDaySpec {
  /** Local time of the roll, "HH:MM" (24-hour). Default "00:00". */
  rollAt?: string;
  /** IANA time zone of `rollAt`. Default "UTC". */
  timeZone?: string;
  /**
   * The engine writes the ended day's report here at each roll (JSON, Markdown and HTML, as
   * `tradecore recon --eod` does), the broker's side from the day's last reconciliation run.
   * Omitted: no report at the roll. (The simulated broker ignores it.)
   */
  reportDir?: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Every problem of a trading-day spec, each naming its path. */
export function tradingDayProblems(spec: unknown, at = 'tradingDay'): string[] {
  if (spec === undefined) return [];
  if (typeof spec !== 'object' || spec === null) return [`${at}: must be an object with rollAt and timeZone`];
  const o = spec as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o)) if (k !== 'rollAt' && k !== 'timeZone' && k !== 'reportDir') out.push(`${at}.${k}: unknown option (known: rollAt, timeZone, reportDir)`);
  if (o.reportDir !== undefined && (typeof o.reportDir !== 'string' || o.reportDir === '')) out.push(`${at}.reportDir: must be a non-empty path`);
  if (o.rollAt !== undefined && (typeof o.rollAt !== 'string' || !HHMM.test(o.rollAt))) out.push(`${at}.rollAt: must be "HH:MM" (24-hour local time), got ${JSON.stringify(o.rollAt)}`);
  if (o.timeZone !== undefined && !isTimeZone(o.timeZone)) out.push(`${at}.timeZone: unknown time zone ${JSON.stringify(o.timeZone)}`);
  return out;
}

/** Day boundaries of one spec. */
export class TradingDay {
  readonly rollAt: string;
  readonly timeZone: string;
  private readonly zone: ZonedTime;
  private readonly minute: number;
  /** The boundary opens the next date's day (an evening roll). */
  private readonly evening: boolean;

  constructor(spec: TradingDaySpec = {}) {
    this.rollAt = spec.rollAt ?? '00:00';
    this.timeZone = spec.timeZone ?? 'UTC';
    this.zone = new ZonedTime(this.timeZone);
    const [h, m] = this.rollAt.split(':').map(Number);
    this.minute = h! * 60 + m!;
    this.evening = this.minute >= 12 * 60;
  }

  /** The first boundary strictly after `t` (epoch ms). */
  nextRoll(t: number): number {
    const p = this.zone.parts(t);
    for (let k = 0; k < 3; k++) {
      const at = this.zone.localToEpoch(p.y, p.mo, p.d + k, this.minute);
      if (at > t) return at;
    }
    return this.zone.localToEpoch(p.y, p.mo, p.d + 3, this.minute);
  }

  /** The last boundary at or before `t`. */
  lastRoll(t: number): number {
    const p = this.zone.parts(t);
    for (let k = 0; k < 3; k++) {
      const at = this.zone.localToEpoch(p.y, p.mo, p.d - k, this.minute);
      if (at <= t) return at;
    }
    return this.zone.localToEpoch(p.y, p.mo, p.d - 3, this.minute);
  }

  /** The name (YYYY-MM-DD) of the trading day `t` falls in. */
  dayOf(t: number): string {
    // the local date of the day's opening boundary, moved one date on for an evening roll
    const p = this.zone.parts(this.lastRoll(t));
    const d = new Date(Date.UTC(p.y, p.mo - 1, p.d + (this.evening ? 1 : 0)));
    return d.toISOString().slice(0, 10);
  }

  /** `17:00 America/New_York`. */
  toString(): string {
    return `${this.rollAt} ${this.timeZone}`;
  }
}

/** What a day roll did (`onDayRoll`, `engine.observe`, the journal's `day` record). */
export interface DayRoll {
  /** The day that ended. */
  readonly day: string;
  /** The day that began. */
  readonly next: string;
  /** The boundary, epoch ms. */
  readonly time: number;
  /** Finished orders of the ended day let go from memory (the table's and the day store's). */
  readonly released: number;
  /** Open orders carried into the new day. */
  readonly carriedOver: number;
  /** Open reconciliation diffs carried into the new day, each marked with the day it was raised. */
  readonly diffsCarried: number;
}
