/**
 * Stable refusal codes. Local denials and broker rejects share them where they mean the same
 * thing; the broker's own text is kept beside the code. Stored as a small integer per order slot.
 * `docs/reject-reasons.md` lists the same table for operators.
 */
export interface RejectReasonInfo {
  readonly code: string;
  readonly meaning: string;
  /** Whether the same order may succeed if sent again later unchanged. */
  readonly retryable: boolean;
}

const REASONS = [
  ['NONE', 'no refusal', false],
  ['INVALID_ORDER', 'the order is malformed: missing or wrongly typed field', false],
  ['UNKNOWN_SYMBOL', 'the symbol is not a configured instrument (or not known to the broker)', false],
  ['INVALID_QUANTITY', 'quantity is not a positive finite number', false],
  ['INVALID_PRICE', 'price is missing, not positive, not finite, or has more decimals than the instrument precision', false],
  ['LOT_SIZE', 'quantity is not a whole multiple of the lot size', false],
  ['TICK_SIZE', 'price is not a whole multiple of the tick size', false],
  ['MAX_ORDER_QTY', 'quantity exceeds the per-order maximum', false],
  ['MAX_ORDER_NOTIONAL', 'quantity x price exceeds the per-order notional maximum', false],
  ['MAX_POSITION', 'position plus open orders on that side would exceed the position limit', true],
  ['NO_REFERENCE_PRICE', 'a market order needs a reference price for its notional check and none is known', true],
  ['RATE_LIMIT', 'order rate limit reached', true],
  ['PRICE_BAND', 'price too far from the reference price', true],
  ['PRICE_LIMIT', 'price outside the static daily limits', false],
  ['OUTSIDE_SESSION', 'the market is not in a trading session', true],
  ['TRADING_HALTED', 'trading state does not allow this order', true],
  ['DUPLICATE_ORDER_ID', 'the client order id belongs to a finished order', false],
  ['BROKER_NOT_READY', 'the broker connection is not ready; nothing was sent', true],
  ['ORDER_TABLE_FULL', 'every order slot holds a live or retained order', true],
  ['INSUFFICIENT_FUNDS', 'the broker reports insufficient buying power', true],
  ['UNKNOWN_ORDER', 'no such order (cancel of an unknown id, or the broker does not know it)', false],
  ['TOO_LATE_TO_CANCEL', 'the order finished before the cancel reached the broker', false],
  ['RECOVERY_NOT_FOUND', 'recovery sync found no trace of the order at the broker', true],
  ['BROKER_REJECT', 'broker reject with no more specific code; see the broker text', false],
  ['MIN_ORDER_QTY', 'quantity is below the per-order minimum', false],
  ['MIN_ORDER_NOTIONAL', 'quantity x price is below the per-order notional minimum', false],
  ['REDUCE_ONLY', 'a reduce-only order (or any order in the Reducing state) that would not shrink the position', true],
  ['MAX_OPEN_ORDERS', 'the open-order count limit of the symbol or the account is reached', true],
  ['MAX_GROSS_NOTIONAL', 'the account gross notional (positions plus open orders) would exceed its limit', true],
  ['JOURNAL_FAILED', 'the order could not be written to the journal; nothing was sent', true],
  ['ROLLOUT_SYMBOL', 'the rollout stage does not allow this symbol', false],
  ['ROLLOUT_WINDOW', "outside the rollout stage's trading windows", true],
  ['ROLLOUT_DAILY_LOSS', "the rollout stage's daily loss cap was reached: only position-reducing orders until the day rolls", true],
  ['ROLLOUT_NOTIONAL', "the account gross notional (positions plus open orders) would exceed the rollout stage's cap", true],
  ['ROLLOUT_DAILY_NOTIONAL', "notional filled today plus open orders would exceed the rollout stage's daily cap", true],
  ['ROLLOUT_RATE', "the rollout stage's share of the order rate is used up", true],
] as const satisfies ReadonlyArray<readonly [string, string, boolean]>;

export type RejectReason = (typeof REASONS)[number][0];

export const REJECT_REASONS: readonly RejectReasonInfo[] = REASONS.map(([code, meaning, retryable]) => ({
  code,
  meaning,
  retryable,
}));

const codeToId = new Map<string, number>(REASONS.map(([code], i) => [code, i]));

/** Numeric id of a reason code, for typed-array storage. */
export function reasonId(code: RejectReason): number {
  return codeToId.get(code)!;
}

/** Reason code for a numeric id. */
export function reasonCode(id: number): RejectReason {
  const row = REASONS[id];
  if (row === undefined) throw new RangeError(`unknown reject reason id ${id}`);
  return row[0];
}

export function isRejectReason(code: unknown): code is RejectReason {
  return typeof code === 'string' && codeToId.has(code);
}

/** Numeric ids, named, for hot-path code that must not look strings up. */
export const R = Object.fromEntries(REASONS.map(([code], i) => [code, i])) as { readonly [K in RejectReason]: number };
