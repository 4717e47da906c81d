/**
 * Order statuses. The engine stores them as small integers in typed arrays; the public API
 * speaks the names. `Denied` is a local refusal (never sent); `Rejected` is the broker's.
 */
export const OrderStatus = {
  PendingNew: 0,
  Submitted: 1,
  PartiallyFilled: 2,
  PendingCancel: 3,
  Filled: 4,
  Cancelled: 5,
  Rejected: 6,
  Denied: 7,
  Expired: 8,
} as const;

export type OrderStatusCode = (typeof OrderStatus)[keyof typeof OrderStatus];
export type OrderStatusName = keyof typeof OrderStatus;

export const STATUS_COUNT = 9;

export const STATUS_NAMES: readonly OrderStatusName[] = [
  'PendingNew',
  'Submitted',
  'PartiallyFilled',
  'PendingCancel',
  'Filled',
  'Cancelled',
  'Rejected',
  'Denied',
  'Expired',
];

/** True once no further status change is expected (a late fill may still arrive; see transitions). */
export function isTerminal(status: number): boolean {
  return status >= OrderStatus.Filled;
}

/** True while the order may still trade or be cancelled at the broker. */
export function isOpen(status: number): boolean {
  return status < OrderStatus.Filled;
}

export function statusName(status: number): OrderStatusName {
  const name = STATUS_NAMES[status];
  if (name === undefined) throw new RangeError(`unknown order status code ${status}`);
  return name;
}
