import { EXEC_KINDS, type BrokerReport } from '../domain/report.js';

import { OrderEvent } from '../domain/transitions.js';

/**
 * The state-machine event of a report kind (a trade maps to Fill, refined later from the
 * engine's own cumulative quantity), or -1 for an unknown kind. A switch on interned strings:
 * measurably cheaper than a keyed object or Set lookup on the report path.
 */
export function kindEvent(kind: unknown): number {
  switch (kind) {
    case 'new':
      return OrderEvent.Accepted;
    case 'trade':
      return OrderEvent.Fill;
    case 'canceled':
      return OrderEvent.Cancelled;
    case 'rejected':
      return OrderEvent.Rejected;
    case 'expired':
      return OrderEvent.Expired;
    case 'cancel_rejected':
      return OrderEvent.CancelRejected;
    case 'pending_cancel':
      return OrderEvent.CancelPending;
    default:
      return -1;
  }
}

export function isTerminalEvent(event: number): boolean {
  return event === OrderEvent.Cancelled || event === OrderEvent.Rejected || event === OrderEvent.Expired;
}


const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The largest quantity, price and fill value (qty × price) a report may carry. Beyond them a
 * report is malformed, never applied: a fill of 5 @ 1e308 is finite in each field but its value
 * is not, and it put -Infinity and NaN into positions and cash. The value bound keeps every
 * product of the ledger below 2^53 with room for a price scale.
 */
export const REPORT_BOUNDS = { maxQty: 1e12, maxPrice: 1e9, maxValue: 1e15 } as const;

/**
 * Check a broker report before the engine touches its state. Returns a reason (with the
 * offending field) for a malformed report, undefined for a usable one.
 */
export function validateReport(r: BrokerReport): string | undefined {
  if (typeof r !== 'object' || r === null) return 'report must be an object';
  if (kindEvent(r.kind) < 0) return `kind=${String(r.kind)} is not one of ${EXEC_KINDS.join('|')}`;
  if (typeof r.execId !== 'string' || r.execId.length === 0) return 'execId must be a non-empty string';
  if (typeof r.brokerOrderId !== 'string') return 'brokerOrderId must be a string';
  if (r.clientOrderId !== undefined && typeof r.clientOrderId !== 'string') return 'clientOrderId must be a string';
  if (r.brokerOrderId === '') {
    if (!r.clientOrderId) return 'report names neither brokerOrderId nor clientOrderId';
    if (r.kind !== 'rejected' && r.kind !== 'cancel_rejected') return `brokerOrderId is empty on a ${r.kind} report`;
  }
  if (r.kind === 'trade') {
    if (!isFiniteNumber(r.lastQty) || r.lastQty <= 0) return `lastQty=${String(r.lastQty)} must be a positive number on a trade`;
    if (!isFiniteNumber(r.lastPx) || r.lastPx <= 0) return `lastPx=${String(r.lastPx)} must be a positive number on a trade`;
    if (r.lastQty > REPORT_BOUNDS.maxQty) return `lastQty=${r.lastQty} is above the bound ${REPORT_BOUNDS.maxQty}`;
    if (r.lastPx > REPORT_BOUNDS.maxPrice) return `lastPx=${r.lastPx} is above the bound ${REPORT_BOUNDS.maxPrice}`;
    if (r.lastQty * r.lastPx > REPORT_BOUNDS.maxValue) return `lastQty x lastPx=${r.lastQty * r.lastPx} is above the bound ${REPORT_BOUNDS.maxValue}`;
  }
  if (r.seq !== undefined && !isFiniteNumber(r.seq)) return `seq=${String(r.seq)} must be a finite number`;
  if (r.time !== undefined && !isFiniteNumber(r.time)) return `time=${String(r.time)} must be a finite number`;
  if (r.cumQty !== undefined && (!isFiniteNumber(r.cumQty) || r.cumQty < 0 || r.cumQty > REPORT_BOUNDS.maxQty)) return `cumQty=${String(r.cumQty)} must be a number from 0 to ${REPORT_BOUNDS.maxQty}`;
  // unrolled: a loop over an array literal allocated that array on every report
  if (r.qty !== undefined && (!isFiniteNumber(r.qty) || r.qty <= 0 || r.qty > REPORT_BOUNDS.maxQty)) return `qty=${String(r.qty)} must be a positive number up to ${REPORT_BOUNDS.maxQty}`;
  if (r.price !== undefined && (!isFiniteNumber(r.price) || r.price <= 0 || r.price > REPORT_BOUNDS.maxPrice)) return `price=${String(r.price)} must be a positive number up to ${REPORT_BOUNDS.maxPrice}`;
  if (r.text !== undefined && typeof r.text !== 'string') return 'text must be a string';
  if (r.reason !== undefined && typeof r.reason !== 'string') return 'reason must be a string';
  return undefined;
}
