/**
 * The order table in a journal snapshot: one row per slot that holds an order (open, or
 * finished within retention), in the order the rows go back in. Slot numbers are not kept:
 * nothing outside the table sees them.
 */
import { isTerminal } from '../domain/order-status.js';
import type { OrderTable } from './order-table.js';

/** One order: positional, so a snapshot of 65k orders stays compact. */
export type SlotRow = [
  clientId: string,
  brokerId: string,
  status: number,
  prevStatus: number,
  side: number,
  type: number,
  tif: number,
  instrument: number,
  flags: number,
  reason: number,
  qty: number,
  price: number,
  cumQty: number,
  fillValue: number,
  exposure: number,
  lastSeq: number,
  createdAt: number,
  updatedAt: number,
  finishedAt: number,
  rejectText: string | null,
  execIds: string[],
];

/**
 * Rows of every live slot: open orders by creation, then finished ones in the order they
 * finished (the retention queue's order).
 */
export function exportTable(t: OrderTable): SlotRow[] {
  const open: number[] = [];
  const done: number[] = [];
  for (let s = 0; s < t.capacity; s++) {
    if (t.live[s] !== 1) continue;
    (isTerminal(t.status[s]!) ? done : open).push(s);
  }
  open.sort((a, b) => t.createdAt[a]! - t.createdAt[b]! || a - b);
  done.sort((a, b) => t.finishedAt[a]! - t.finishedAt[b]! || a - b);
  return [...open, ...done].map((s) => [
    t.clientId[s]!, t.brokerId[s]!, t.status[s]!, t.prevStatus[s]!, t.side[s]!, t.type[s]!, t.tif[s]!, t.instrument[s]!,
    t.flags[s]!, t.reason[s]!, t.qty[s]!, t.price[s]!, t.cumQty[s]!, t.fillValue[s]!, t.exposure[s]!, t.lastSeq[s]!,
    t.createdAt[s]!, t.updatedAt[s]!, t.finishedAt[s]!, t.rejectText[s] ?? null, t.execIdsOf(s),
  ]);
}

/** Put rows back into an empty table. Throws when they do not fit or an instrument is unknown. */
export function importTable(t: OrderTable, rows: readonly SlotRow[], instruments: number): void {
  if (t.size !== 0) throw new Error('a snapshot restores into an empty order table only');
  if (rows.length > t.capacity) throw new Error(`the snapshot holds ${rows.length} orders, more than the capacity ${t.capacity}`);
  for (const row of rows) {
    const [clientId, brokerId, status, prevStatus, side, type, tif, instrument, flags, reason, qty, price, cumQty, fillValue, exposure, lastSeq, createdAt, updatedAt, finishedAt, rejectText, execIds] = row;
    if (!(instrument >= 0 && instrument < instruments)) throw new Error(`snapshot order ${clientId}: instrument index ${instrument} is not configured`);
    // -Infinity: nothing is due for recycling while rows go back in
    const s = t.allocate(-Infinity);
    t.status[s] = status;
    t.prevStatus[s] = prevStatus;
    t.side[s] = side;
    t.type[s] = type;
    t.tif[s] = tif;
    t.instrument[s] = instrument;
    t.flags[s] = flags;
    t.reason[s] = reason;
    t.qty[s] = qty;
    t.price[s] = price;
    t.cumQty[s] = cumQty;
    t.fillValue[s] = fillValue;
    t.exposure[s] = exposure;
    t.lastSeq[s] = lastSeq;
    t.createdAt[s] = createdAt;
    t.updatedAt[s] = updatedAt;
    t.rejectText[s] = rejectText ?? undefined;
    t.clientId[s] = clientId;
    t.byClientId.set(clientId, s);
    if (brokerId !== '') t.setBrokerId(s, brokerId);
    for (const e of execIds) if (!t.hasExec(s, e)) t.addExec(s, e);
    if (isTerminal(status)) t.markFinished(s, finishedAt);
  }
}
