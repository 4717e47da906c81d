/**
 * Wall-clock time in an IANA zone: the local parts of an instant, and the instant at which the
 * zone's clock shows a local date and time (DST aware). Shared by the market calendars and the
 * trading day.
 */
export interface LocalParts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

export class ZonedTime {
  private readonly fmt: Intl.DateTimeFormat;

  /** Throws a RangeError for a zone the runtime does not know. */
  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
  }

  /** Wall-clock parts of an instant in the zone. */
  parts(t: number): LocalParts {
    const p: Record<string, number> = {};
    for (const x of this.fmt.formatToParts(t)) if (x.type !== 'literal') p[x.type] = Number(x.value);
    return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour!, mi: p.minute!, s: p.second! };
  }

  /** The instant at which the zone's clock shows y-mo-d + `min` minutes (DST aware). */
  localToEpoch(y: number, mo: number, d: number, min: number): number {
    const guess = Date.UTC(y, mo - 1, d, 0, min);
    const offsetAt = (t: number) => {
      const p = this.parts(t);
      return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(t / 1000) * 1000;
    };
    const first = offsetAt(guess);
    const t = guess - first;
    const second = offsetAt(t);
    return second === first ? t : guess - second;
  }
}

/** Whether the runtime knows the IANA zone. */
export function isTimeZone(zone: unknown): boolean {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
