import { describe, expect, it } from 'vitest';
import { OrderStatus, STATUS_NAMES, isOpen, isTerminal } from '../src/domain/order-status.js';
import { EVENT_NAMES, INVALID, OrderEvent, RESTORE, TRANSITIONS, nextStatus } from '../src/domain/transitions.js';

// Written out independently of the implementation's table: from → event → to.
// 'restore' = back to the status before PendingCancel. Every pair not listed must be invalid.
const EXPECTED: Record<string, Record<string, string>> = {
  PendingNew: { Accepted: 'Submitted', Rejected: 'Rejected', PartialFill: 'PartiallyFilled', Fill: 'Filled', CancelRequested: 'PendingCancel', Cancelled: 'Cancelled', Expired: 'Expired' },
  Submitted: { Accepted: 'Submitted', PartialFill: 'PartiallyFilled', Fill: 'Filled', CancelRequested: 'PendingCancel', Cancelled: 'Cancelled', CancelRejected: 'Submitted', Expired: 'Expired' },
  PartiallyFilled: { Accepted: 'PartiallyFilled', PartialFill: 'PartiallyFilled', Fill: 'Filled', CancelRequested: 'PendingCancel', Cancelled: 'Cancelled', CancelRejected: 'PartiallyFilled', Expired: 'Expired' },
  PendingCancel: { Accepted: 'PendingCancel', Rejected: 'Rejected', PartialFill: 'PendingCancel', Fill: 'Filled', CancelPending: 'PendingCancel', Cancelled: 'Cancelled', CancelRejected: 'restore', Expired: 'Expired' },
  Filled: { Accepted: 'Filled', CancelPending: 'Filled', CancelRejected: 'Filled' },
  Cancelled: { PartialFill: 'Cancelled', Fill: 'Filled', Accepted: 'Cancelled', CancelPending: 'Cancelled', CancelRejected: 'Cancelled' },
  Rejected: { CancelRejected: 'Rejected' },
  Denied: {},
  Expired: { PartialFill: 'Expired', Fill: 'Filled', Accepted: 'Expired', CancelRejected: 'Expired' },
};

describe('order transition table', () => {
  const pairs = STATUS_NAMES.flatMap((from) => EVENT_NAMES.map((event) => [from, event] as const));

  it('covers all 81 (status, event) pairs in this test', () => {
    expect(pairs).toHaveLength(81);
  });

  it.each(pairs)('%s + %s', (from, event) => {
    const got = nextStatus(OrderStatus[from], OrderEvent[event]);
    const want = EXPECTED[from]![event];
    if (want === undefined) expect(got, 'not in the table: must be an InvalidTransition').toBe(INVALID);
    else if (want === 'restore') expect(got).toBe(RESTORE);
    else expect(STATUS_NAMES[got]).toBe(want);
  });

  it('lists each pair at most once', () => {
    const keys = TRANSITIONS.map(([f, e]) => `${f}:${e}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('allows a fill before the ack and a fill after a cancel', () => {
    expect(nextStatus(OrderStatus.PendingNew, OrderEvent.Fill)).toBe(OrderStatus.Filled);
    expect(nextStatus(OrderStatus.Cancelled, OrderEvent.PartialFill)).toBe(OrderStatus.Cancelled);
    expect(nextStatus(OrderStatus.Cancelled, OrderEvent.Fill)).toBe(OrderStatus.Filled);
  });

  it('never leaves a terminal status for an open one', () => {
    for (const [from, , to] of TRANSITIONS) {
      if (isTerminal(from)) expect(to === RESTORE || isTerminal(to), `${STATUS_NAMES[from]} → ${STATUS_NAMES[to]}`).toBe(true);
    }
  });

  it('classifies open and terminal statuses', () => {
    expect(STATUS_NAMES.filter((_, i) => isOpen(i))).toEqual(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);
    expect(STATUS_NAMES.filter((_, i) => isTerminal(i))).toEqual(['Filled', 'Cancelled', 'Rejected', 'Denied', 'Expired']);
  });
});
