/**
 * A token bucket: `capacity` tokens, refilled continuously at capacity per `windowMs`.
 * A burst of up to `capacity` at once passes when the bucket is full; a steady flow at the
 * configured rate never empties it. Time comes from the engine clock (ms).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
    this.perMs = capacity / windowMs;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    }
  }

  /** Whether one token is there now (nothing consumed). */
  available(now: number): boolean {
    this.refill(now);
    // a hair of tolerance: a refill of exactly one token must not be lost to float rounding
    return this.tokens >= 1 - 1e-9;
  }

  take(now: number): void {
    this.refill(now);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** Milliseconds until one token is there. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }
}

/** Orders accepted in the current UTC calendar day. */
/**
 * Orders of the current trading day (maxOrdersPerDay). Without a trading day, the UTC day.
 * The day's boundaries are found once per day, not per order (an Intl lookup costs microseconds).
 */
export class DailyCounter {
  /** Start of the counted day, epoch ms. */
  private day = -Infinity;
  private until = -Infinity;
  private n = 0;

  constructor(private readonly tradingDay?: { lastRoll(t: number): number; nextRoll(t: number): number }) {}

  count(now: number): number {
    if (now >= this.until || now < this.day) {
      const start = this.tradingDay !== undefined ? this.tradingDay.lastRoll(now) : Math.floor(now / 86_400_000) * 86_400_000;
      if (start !== this.day) this.n = 0;
      this.day = start;
      this.until = this.tradingDay !== undefined ? this.tradingDay.nextRoll(now) : start + 86_400_000;
    }
    return this.n;
  }

  add(now: number): void {
    this.count(now);
    this.n++;
  }

  /** The day's start (epoch ms) and its count, for a journal snapshot. */
  get state(): { day: number; n: number } {
    return { day: this.day, n: this.n };
  }

  set state(s: { day: number; n: number }) {
    // older snapshots counted UTC days since the epoch
    this.day = s.day < 1e8 ? s.day * 86_400_000 : s.day;
    this.until = -Infinity;
    this.n = s.n;
    // the next count finds the day's end; a day that has ended by then starts again from zero
  }
}
