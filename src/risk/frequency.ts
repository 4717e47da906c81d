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
export class DailyCounter {
  private day = -1;
  private n = 0;

  count(now: number): number {
    const day = Math.floor(now / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.n = 0;
    }
    return this.n;
  }

  add(now: number): void {
    this.count(now);
    this.n++;
  }

  /** The day (days since the epoch, UTC) and its count, for a journal snapshot. */
  get state(): { day: number; n: number } {
    return { day: this.day, n: this.n };
  }

  set state(s: { day: number; n: number }) {
    this.day = s.day;
    this.n = s.n;
  }
}
