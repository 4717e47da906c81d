import { ZonedTime, isTimeZone } from '../domain/zoned-time.js';
/**
 * Trading calendars: sessions in a market's own time zone, with breaks, holidays, half days
 * and DST handled by the IANA zone data (Intl). The per-order question "is the market open
 * now?" is answered from a cached interval, recomputed only when the clock passes its end.
 */
export interface MarketCalendarSpec {
  /** IANA time zone, e.g. "America/New_York", "Asia/Shanghai". */
  timeZone: string;
  /** Sessions of a normal trading day, local "HH:MM" [start, end), in order, not overlapping. */
  sessions: Array<[string, string]>;
  /** ISO weekdays that trade (1 = Monday ... 7 = Sunday). Default Monday to Friday. */
  weekdays?: number[];
  /** Local dates "YYYY-MM-DD" with no trading. */
  holidays?: string[];
  /** Local dates with their own (shorter) sessions, e.g. { "2026-11-27": [["09:30", "13:00"]] }. */
  halfDays?: Record<string, Array<[string, string]>>;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function minutes(hhmm: string): number {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
}

function sessionProblems(list: unknown, path: string): string[] {
  if (!Array.isArray(list)) return [`${path}: must be an array of ["HH:MM", "HH:MM"]`];
  const errors: string[] = [];
  let last = -1;
  list.forEach((s, i) => {
    if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'string' || typeof s[1] !== 'string' || !HHMM.test(s[0]) || !HHMM.test(s[1])) {
      errors.push(`${path}[${i}]: must be ["HH:MM", "HH:MM"] (24-hour local time)`);
      return;
    }
    const a = minutes(s[0]);
    const b = minutes(s[1]);
    if (b <= a) errors.push(`${path}[${i}]: ends at or before it starts (${s[0]}-${s[1]})`);
    else if (a < last) errors.push(`${path}[${i}]: starts before the previous session ends`);
    last = Math.max(last, b);
  });
  return errors;
}

/** Every problem of a calendar spec, each naming its path. */
export function calendarProblems(spec: unknown, path: string): string[] {
  if (typeof spec !== 'object' || spec === null) return [`${path}: must be an object`];
  const s = spec as Record<string, unknown>;
  const errors: string[] = [];
  for (const k of Object.keys(s)) {
    if (!['timeZone', 'sessions', 'weekdays', 'holidays', 'halfDays'].includes(k)) errors.push(`${path}.${k}: unknown field (expected timeZone, sessions, weekdays, holidays, halfDays)`);
  }
  if (typeof s.timeZone !== 'string') errors.push(`${path}.timeZone: must be an IANA time zone name`);
  else if (!isTimeZone(s.timeZone)) errors.push(`${path}.timeZone: unknown time zone ${s.timeZone}`);
  errors.push(...sessionProblems(s.sessions, `${path}.sessions`));
  if (s.weekdays !== undefined && (!Array.isArray(s.weekdays) || s.weekdays.some((d) => !Number.isInteger(d) || d < 1 || d > 7))) {
    errors.push(`${path}.weekdays: must be an array of 1 (Monday) to 7 (Sunday)`);
  }
  if (s.holidays !== undefined) {
    if (!Array.isArray(s.holidays)) errors.push(`${path}.holidays: must be an array of "YYYY-MM-DD"`);
    else s.holidays.forEach((d, i) => typeof d === 'string' && DATE.test(d) ? undefined : errors.push(`${path}.holidays[${i}]: must be "YYYY-MM-DD"`));
  }
  if (s.halfDays !== undefined) {
    if (typeof s.halfDays !== 'object' || s.halfDays === null) errors.push(`${path}.halfDays: must be an object of "YYYY-MM-DD" → sessions`);
    else {
      for (const [d, list] of Object.entries(s.halfDays)) {
        if (!DATE.test(d)) errors.push(`${path}.halfDays.${d}: key must be "YYYY-MM-DD"`);
        errors.push(...sessionProblems(list, `${path}.halfDays.${d}`));
      }
    }
  }
  return errors;
}

/** A market's calendar. Build it from a spec that `calendarProblems` accepted. */
export class TradingCalendar {
  private readonly zone: ZonedTime;
  private readonly weekdays: Set<number>;
  private readonly holidays: Set<string>;
  private readonly halfDays: Map<string, Array<[number, number]>>;
  private readonly sessions: Array<[number, number]>;
  // cached answer: open (or closed) for now in [from, until)
  private from = Infinity;
  private until = -Infinity;
  private open = false;
  private nextOpen = Infinity;

  constructor(readonly spec: MarketCalendarSpec) {
    this.zone = new ZonedTime(spec.timeZone);
    this.weekdays = new Set(spec.weekdays ?? [1, 2, 3, 4, 5]);
    this.holidays = new Set(spec.holidays ?? []);
    const toMin = (list: Array<[string, string]>) => list.map(([a, b]) => [minutes(a), minutes(b)] as [number, number]);
    this.sessions = toMin(spec.sessions);
    this.halfDays = new Map(Object.entries(spec.halfDays ?? {}).map(([d, list]) => [d, toMin(list)]));
  }

  /** Whether the market is in a session at `now` (epoch ms). O(1) between session boundaries. */
  isOpen(now: number): boolean {
    if (now < this.from || now >= this.until) this.compute(now);
    return this.open;
  }

  /** The next session start at or after `now` (epoch ms), or Infinity if none within 30 days. */
  nextOpenAt(now: number): number {
    this.isOpen(now);
    return this.open ? now : this.nextOpen;
  }


  /** Sessions of a local date as epoch intervals (none on weekends and holidays). */
  private day(y: number, mo: number, d: number): Array<[number, number]> {
    const key = `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    if (this.holidays.has(key)) return [];
    const isoWeekday = ((new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7) + 1;
    const list = this.halfDays.get(key) ?? (this.weekdays.has(isoWeekday) ? this.sessions : []);
    return list.map(([a, b]) => [this.zone.localToEpoch(y, mo, d, a), this.zone.localToEpoch(y, mo, d, b)]);
  }

  private compute(now: number): void {
    const p = this.zone.parts(now);
    let prevEnd = -Infinity;
    // today, then following days, until a session at or after now is found
    for (let k = 0; k < 31; k++) {
      const date = new Date(Date.UTC(p.y, p.mo - 1, p.d + k));
      for (const [s, e] of this.day(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())) {
        if (now < s) {
          this.open = false;
          this.from = Math.max(prevEnd, now);
          this.until = s;
          this.nextOpen = s;
          return;
        }
        if (now < e) {
          this.open = true;
          this.from = s;
          this.until = e;
          this.nextOpen = s;
          return;
        }
        prevEnd = e;
      }
    }
    // no session in the next month: closed; look again in a day
    this.open = false;
    this.from = now;
    this.until = now + 86_400_000;
    this.nextOpen = Infinity;
  }
}
