/**
 * The engine's bounds on state that reports from outside can grow (config `limits`). Reaching
 * one is a `BOUND_REACHED` anomaly (P1, once per bound until it clears) and a clear refusal,
 * never unbounded growth. The order table's `capacity` and the journal's sizes are bounds too,
 * configured where they live.
 */
export interface EngineLimits {
  /**
   * Orders the engine did not submit (reports for unknown ids) held in the order table at once.
   * Default capacity / 8. Past it an external order is not kept; its fills are still booked,
   * once each. Own orders always keep `capacity - maxExternalOrders` slots.
   */
  maxExternalOrders?: number;
  /** Report ids (execIds) kept per order for duplicate detection. Default 65536; past it the order's reports are refused. */
  maxExecIdsPerOrder?: number;
  /** Finished orders of the trading day kept after the table lets them go. Default 4,194,304; past it finished orders stay in their slots until the day rolls. */
  maxDayOrders?: number;
  /** A report naming only a broker order id the engine does not know waits this long for the ack that maps it, ms. Default 5000. */
  parkMs?: number;
  /** Such reports held at once. Default 10000; past it the oldest is taken as an external order's. */
  maxParkedReports?: number;
  /** Fills booked for external orders that could not be kept, remembered for duplicate detection. Default 65536. */
  maxUnkeptFills?: number;
}

export interface ResolvedLimits {
  maxExternalOrders: number;
  maxExecIdsPerOrder: number;
  maxDayOrders: number;
  parkMs: number;
  maxParkedReports: number;
  maxUnkeptFills: number;
}

const KEYS = ['maxExternalOrders', 'maxExecIdsPerOrder', 'maxDayOrders', 'parkMs', 'maxParkedReports', 'maxUnkeptFills'] as const;

export function resolveLimits(l: EngineLimits | undefined, capacity: number): ResolvedLimits {
  return {
    maxExternalOrders: l?.maxExternalOrders ?? Math.max(1, capacity >>> 3),
    maxExecIdsPerOrder: l?.maxExecIdsPerOrder ?? 65536,
    maxDayOrders: l?.maxDayOrders ?? 4_194_304,
    parkMs: l?.parkMs ?? 5000,
    maxParkedReports: l?.maxParkedReports ?? 10_000,
    maxUnkeptFills: l?.maxUnkeptFills ?? 65536,
  };
}

/** Every problem of a `limits` section, each naming its path. */
export function limitsProblems(l: unknown, capacity: number, at = 'limits'): string[] {
  if (l === undefined) return [];
  if (typeof l !== 'object' || l === null) return [`${at}: must be an object`];
  const o = l as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) out.push(`${at}.${k}: unknown option (known: ${KEYS.join(', ')})`);
  const int = (k: (typeof KEYS)[number], min: number, max: number) => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) out.push(`${at}.${k}: must be an integer from ${min} to ${max}, got ${String(v)}`);
  };
  int('maxExternalOrders', 1, Math.max(1, capacity - 1));
  int('maxExecIdsPerOrder', 1, 1 << 24);
  int('maxDayOrders', 1, 1 << 26);
  int('parkMs', 0, 3_600_000);
  int('maxParkedReports', 0, 1_000_000);
  int('maxUnkeptFills', 1, 1 << 24);
  return out;
}
