/** Counters since start. Read with `engine.stats()`. */
export interface EngineStats {
  submits: number;
  accepted: number;
  duplicateSubmits: number;
  denied: number;
  deniedByReason: Record<string, number>;
  cancels: number;
  cancelsSent: number;
  cancelsIgnored: number;
  reports: number;
  duplicateReports: number;
  /** Older than the order's last applied sequence; dropped (their fills still applied). */
  staleReports: number;
  /** Legal reports that changed no status (late acks, cancel acks, too-late cancel rejects). */
  noopReports: number;
  invalidTransitions: number;
  malformedReports: number;
  unknownOrders: number;
  overfills: number;
  fills: number;
  rejects: number;
  rejectsByReason: Record<string, number>;
  callbackErrors: number;
  sendFailures: number;
  anomalies: number;
  /** Established broker connections lost (see `connectionStats()` for the rest). */
  disconnects: number;
  /** Times the broker asked us to slow down. */
  throttles: number;
  /** Recovery syncs completed. */
  syncs: number;
  /** Own orders the broker took (an ack, or a fill before it): place success = acks / accepted. */
  acks: number;
  /** Cancels the broker confirmed (PendingCancel to Cancelled): cancel success = cancelsConfirmed / cancelsSent. */
  cancelsConfirmed: number;
  /** Cancels the broker refused (cancel_rejected reports). */
  cancelRejects: number;
  /** Reports for orders of the day already let go from the order table: not applied (fills alerted as LATE_REPORT). */
  lateReports: number;
  /** Reports that named only a broker order id the engine did not know yet, held for the ack that maps it. */
  parkedReports: number;
  /** Reports and orders refused at a configured bound (see `limits`). */
  boundRefusals: number;
  /** Trading-day rolls since start. */
  dayRolls: number;
  /** Reports whose cumQty disagreed with the engine's own sum of fills (CUM_QTY_MISMATCH). */
  cumQtyMismatches: number;
  /** Fills at a price through their order's limit (FILL_THROUGH_LIMIT). */
  fillsThroughLimit: number;
  /** Fill prices finer than a fill unit, booked at the nearest (FILL_PRICE_ROUNDED). */
  fillPricesRounded: number;
}

/** The counters the core keeps, in this order (the rest of `EngineStats` is derived when asked). */
export const COUNTER_NAMES = [
  'submits', 'accepted', 'duplicateSubmits', 'denied', 'cancels', 'cancelsSent', 'cancelsIgnored',
  'reports', 'duplicateReports', 'staleReports', 'noopReports', 'invalidTransitions', 'malformedReports',
  'unknownOrders', 'overfills', 'fills', 'rejects', 'callbackErrors', 'sendFailures', 'anomalies', 'throttles', 'syncs',
  'acks', 'cancelsConfirmed', 'cancelRejects', 'lateReports', 'parkedReports', 'boundRefusals', 'dayRolls',
  'cumQtyMismatches', 'fillsThroughLimit', 'fillPricesRounded',
] as const satisfies ReadonlyArray<keyof EngineStats>;

export type CounterName = (typeof COUNTER_NAMES)[number];

/**
 * The counters as one Float64Array (`values`, in COUNTER_NAMES order) behind a field per name:
 * `counters.fills++` on the hot path is a typed-array store, and a scrape or a snapshot reads
 * the whole array at once (`toObject`).
 */
export type Counters = { [K in CounterName]: number } & {
  readonly values: Float64Array;
  /** A plain object of every counter. */
  toObject(): Record<CounterName, number>;
};

class CounterArray {
  readonly values = new Float64Array(COUNTER_NAMES.length);
  toObject(): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>;
    for (let i = 0; i < COUNTER_NAMES.length; i++) out[COUNTER_NAMES[i]!] = this.values[i]!;
    return out;
  }
}
COUNTER_NAMES.forEach((name, i) => {
  Object.defineProperty(CounterArray.prototype, name, {
    get(this: CounterArray) {
      return this.values[i];
    },
    set(this: CounterArray, v: number) {
      this.values[i] = v;
    },
  });
});

export function newCounters(): Counters {
  return new CounterArray() as unknown as Counters;
}
