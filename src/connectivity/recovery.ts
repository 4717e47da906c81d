/**
 * Recovery sync: merge what the broker says it has (open orders, the day's trades, and the
 * day's orders when the adapter can list them) into the engine's state after every connect.
 * Everything is applied as reports through the engine's own pipeline, so the same dedup
 * (by brokerOrderId and execId), transition table, ledger and callbacks apply:
 * - a `PendingNew` order the broker has: its ids and status are adopted; one it does not
 *   have: `Rejected` with `RECOVERY_NOT_FOUND` (never resent);
 * - fills missed while disconnected are applied exactly once (a trade's execId is the one of
 *   its live report, so fills already applied are dropped as duplicates);
 * - orders the broker finished are finished with the broker's status;
 * - broker orders unknown locally are adopted as external and flagged; orders the engine
 *   finished and let go after their retention are not unknown: they are left alone (their
 *   fills were applied then, and adopting them again would count those fills twice);
 * - a cancel that is pending locally while the broker still has the order open is sent again
 *   (a cancel is safe to repeat; an order is not).
 * Orders that received a live report while the sync ran are left to the live stream: that
 * report is newer than the snapshot.
 */
import type { AnomalyKind } from '../core/anomaly.js';
import type { Order } from '../domain/order.js';
import type { BrokerOrder, BrokerReport, BrokerTrade, ExecKind } from '../domain/report.js';

export interface RecoveryTarget {
  /** Every order the engine holds. */
  orders(): Order[];
  /** The engine's report pipeline. */
  apply(report: BrokerReport): void;
  /** Status of an order now (after reports applied during the merge). */
  statusOf(clientOrderId: string): Order['status'] | undefined;
  /** Send a cancel again for an order already PendingCancel; false when it could not be sent. */
  resendCancel(clientOrderId: string): boolean;
  flag(kind: AnomalyKind, reason: string, clientOrderId: string, brokerOrderId: string): void;
  /** Fills applied so far (to count the ones the sync added). */
  fillCount(): number;
  /** Whether the engine held this order, finished it and let it go after its retention. */
  released(clientOrderId: string, brokerOrderId: string): boolean;
}

export interface RecoveryInput {
  open: BrokerOrder[];
  trades: BrokerTrade[];
  /** Every order of the day, when the adapter can list them. */
  day?: BrokerOrder[];
  /** Client order ids of orders that got a live report while the sync ran. */
  touched: ReadonlySet<string>;
  /**
   * PendingNew orders created after this engine time are left alone: their ack may still be
   * on the way (a sync on a live connection). Default: every PendingNew order is resolved
   * (a sync after a reconnect, when everything was sent on the old connection).
   */
  pendingNewBefore?: number;
}

/** What one recovery sync did. */
export interface SyncSummary {
  /** Broker orders open / trades listed / day orders listed (-1: not supported). */
  readonly brokerOpen: number;
  readonly brokerTrades: number;
  readonly brokerDayOrders: number;
  /** PendingNew orders the broker had: ids and status adopted. */
  readonly resolved: number;
  /** PendingNew orders the broker did not have: Rejected (RECOVERY_NOT_FOUND). */
  readonly notAtBroker: number;
  /** Fills the sync applied (missed while disconnected). */
  readonly fillsApplied: number;
  /** Orders finished because the broker finished them. */
  readonly finished: number;
  /** Of those, finished by inference (the adapter cannot list the day's orders). */
  readonly inferred: number;
  /** Broker orders unknown locally, adopted as external. */
  readonly external: number;
  /** Broker orders the engine finished and let go after their retention: left alone (reconciliation compares them). */
  readonly retired: number;
  readonly cancelsResent: number;
  /** Orders left to the live stream (a report arrived during the sync). */
  readonly leftToLive: number;
}

const OPEN = new Set<Order['status']>(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);
const FINAL_KIND: Partial<Record<Order['status'], ExecKind>> = { Cancelled: 'canceled', Expired: 'expired', Rejected: 'rejected' };

/** Merge one sync's answers into the engine. Synchronous: no report interleaves with it. */
export function mergeRecovery(target: RecoveryTarget, input: RecoveryInput): SyncSummary {
  const fills0 = target.fillCount();
  let resolved = 0;
  let notAtBroker = 0;
  let finished = 0;
  let inferred = 0;
  let external = 0;
  let retired = 0;
  let cancelsResent = 0;
  let leftToLive = 0;

  const engineOrders = target.orders();
  const byBroker = new Map<string, Order>();
  const byClient = new Map<string, Order>();
  for (const o of engineOrders) {
    if (o.brokerOrderId !== '') byBroker.set(o.brokerOrderId, o);
    byClient.set(o.clientOrderId, o);
  }
  const brokerOrders = new Map<string, BrokerOrder>();
  for (const b of input.day ?? []) brokerOrders.set(b.brokerOrderId, b);
  const openIds = new Set<string>();
  for (const b of input.open) {
    brokerOrders.set(b.brokerOrderId, b);
    openIds.add(b.brokerOrderId);
  }
  const tradesOf = new Map<string, BrokerTrade[]>();
  for (const t of input.trades) {
    const list = tradesOf.get(t.brokerOrderId);
    if (list === undefined) tradesOf.set(t.brokerOrderId, [t]);
    else list.push(t);
  }
  /** Client ids the broker knows, so PendingNew orders can be matched. */
  const seenClient = new Set<string>();

  const ids = new Set<string>([...brokerOrders.keys(), ...tradesOf.keys()]);
  for (const id of ids) {
    const b = brokerOrders.get(id);
    const trades = tradesOf.get(id) ?? [];
    const clientOrderId = b?.clientOrderId ?? trades[0]!.clientOrderId;
    seenClient.add(clientOrderId);
    // broker id first, including orders let go from the table today: only an id no order has
    // anywhere falls back to the client id (an old order's records never bind to a new order)
    let known = byBroker.get(id);
    if (known === undefined && target.released(clientOrderId, id)) {
      retired++;
      continue;
    }
    known ??= byClient.get(clientOrderId);
    if (known !== undefined && known.brokerOrderId !== '' && known.brokerOrderId !== id) continue; // the same client id on another broker order: not ours to merge
    if (known !== undefined && input.touched.has(known.clientOrderId)) {
      leftToLive++;
      continue;
    }
    const open = openIds.has(id);
    if (known === undefined) {
      // Not ours. Adopt what still matters: open orders and anything with fills.
      if (!open && trades.length === 0) continue;
      const first = trades[0];
      target.apply({
        kind: 'new', execId: `sync:new:${id}`, brokerOrderId: id, clientOrderId,
        symbol: b?.symbol ?? first!.symbol, side: b?.side ?? first!.side, qty: b?.qty ?? trades.reduce((q, t) => q + t.qty, 0),
        ...(b !== undefined ? { type: b.type, tif: b.tif, ...(Number.isFinite(b.price) ? { price: b.price } : {}) } : {}),
      });
      external++;
    } else if (known.status === 'PendingNew') {
      if (b?.status === 'Rejected') {
        target.apply({ kind: 'rejected', execId: `sync:rejected:${id}`, brokerOrderId: id, clientOrderId, text: 'rejected at the broker (found by recovery sync)' });
        finished++;
        continue;
      }
      target.apply({ kind: 'new', execId: `sync:new:${id}`, brokerOrderId: id, clientOrderId });
      resolved++;
    }
    for (const t of trades) {
      target.apply({ kind: 'trade', execId: t.execId, brokerOrderId: id, clientOrderId, lastQty: t.qty, lastPx: t.price, time: t.time, symbol: t.symbol, side: t.side });
    }
    const now = target.statusOf(clientOrderId);
    if (now === undefined || !OPEN.has(now)) continue;
    if (open) {
      if (now === 'PendingCancel' && target.resendCancel(clientOrderId)) cancelsResent++;
      continue;
    }
    // The broker has it, not open: finish it with the broker's own status.
    const kind = b !== undefined ? FINAL_KIND[b.status] : undefined;
    if (kind !== undefined) {
      target.apply({ kind, execId: `sync:${kind}:${id}`, brokerOrderId: id, clientOrderId, text: `${b!.status} at the broker (found by recovery sync)` });
      finished++;
    } else if (b === undefined) {
      finishInferred(target, id, clientOrderId, 'not open at the broker, which cannot list its finished orders');
      inferred++;
      finished++;
    } else {
      // e.g. Filled at the broker without the fills to show it: a discrepancy, not a guess
      target.flag('SYNC_INFERRED', `broker says ${b.status} (cumQty=${b.cumQty}) but the engine has ${now}; left as is for reconciliation`, clientOrderId, id);
    }
  }

  // Open orders the broker said nothing about.
  for (const o of engineOrders) {
    const status = target.statusOf(o.clientOrderId);
    if (status === undefined || !OPEN.has(status) || o.external) continue;
    if (o.brokerOrderId !== '' ? ids.has(o.brokerOrderId) : seenClient.has(o.clientOrderId)) continue;
    if (input.touched.has(o.clientOrderId)) {
      leftToLive++;
      continue;
    }
    // never acknowledged (a cancel may have been asked for meanwhile): as PendingNew
    const unacked = status === 'PendingNew' || (status === 'PendingCancel' && o.brokerOrderId === '');
    if (unacked && o.createdAt > (input.pendingNewBefore ?? Infinity)) {
      leftToLive++;
    } else if (unacked) {
      target.apply({
        kind: 'rejected', execId: `sync:rejected:${o.clientOrderId}`, brokerOrderId: '', clientOrderId: o.clientOrderId, reason: 'RECOVERY_NOT_FOUND',
        text: 'the broker has no such order after recovery sync: the send never reached it (not resent)',
      });
      target.flag('SYNC_NOT_AT_BROKER', `order sent with an unknown outcome is not at the broker; marked Rejected, not resent`, o.clientOrderId, '');
      notAtBroker++;
    } else if (input.day === undefined) {
      // acked once, not open now, and the adapter cannot list finished orders
      finishInferred(target, o.brokerOrderId, o.clientOrderId, 'not open at the broker, which cannot list its finished orders');
      inferred++;
      finished++;
    } else {
      // acked, yet absent from the broker's full list of the day: a real discrepancy
      target.flag('SYNC_INFERRED', `order ${status} locally is unknown to the broker's list of the day's orders; left as is for reconciliation`, o.clientOrderId, o.brokerOrderId);
    }
  }

  return {
    brokerOpen: input.open.length,
    brokerTrades: input.trades.length,
    brokerDayOrders: input.day?.length ?? -1,
    resolved,
    notAtBroker,
    fillsApplied: target.fillCount() - fills0,
    finished,
    inferred,
    external,
    retired,
    cancelsResent,
    leftToLive,
  };
}

function finishInferred(target: RecoveryTarget, brokerOrderId: string, clientOrderId: string, why: string): void {
  target.apply({ kind: 'canceled', execId: `sync:canceled:${brokerOrderId || clientOrderId}`, brokerOrderId, clientOrderId, text: `finished at the broker (${why}); taken as Cancelled` });
  target.flag('SYNC_INFERRED', `${why}; finished as Cancelled`, clientOrderId, brokerOrderId);
}
