/**
 * The certification suite (docs/certify.md): fixed cases of the production checklist's critical
 * paths, each with a stable id, the checklist line it proves and the capabilities it needs. The
 * suite is versioned: a case changes meaning only with a new SUITE_VERSION. docs/certify.md's
 * case list is generated from this table (`node dist/src/certify/docs.js`), and a test checks it.
 */
import { CaseFailure, type Capability, type Recipe, type RecipeKind, type Session } from './harness.js';
import type { ReportFaults } from './faults.js';

export const SUITE_VERSION = '1';

export interface CertCase {
  readonly id: string;
  readonly title: string;
  /** The checklist line it proves. */
  readonly checklist: string;
  readonly needs: readonly Capability[];
  /** Anomaly kinds the case causes on purpose (any other is a failure: "every alert accounted for"). */
  readonly expects?: readonly string[];
  /** Report faults on from the start. */
  readonly faults?: ReportFaults;
  run(s: Session): Promise<void>;
}

function must(cond: boolean, message: string): void {
  if (!cond) throw new CaseFailure(message);
}

function recipe(s: Session, kind: RecipeKind, side: 'buy' | 'sell' = 'buy', symbol = s.venue.instruments[0]!.symbol): Recipe {
  const r = s.venue.recipe(kind, side, symbol);
  if (r === undefined) throw new CaseFailure(`the target has no ${kind} recipe for ${side} ${symbol}`);
  return r;
}

const OPEN = new Set(['Submitted', 'PartiallyFilled']);

async function rest(s: Session, side: 'buy' | 'sell' = 'buy'): Promise<string> {
  const { primary } = s.place(recipe(s, 'rest', side));
  await s.waitFor(() => s.status(primary) === 'Submitted', `${primary} acknowledged (it is ${s.status(primary)})`);
  return primary;
}

async function filled(s: Session, side: 'buy' | 'sell' = 'buy'): Promise<string> {
  const { primary, ids } = s.place(recipe(s, 'fill', side));
  await s.waitFor(() => ids.every((id) => s.status(id) === 'Filled'), `${ids.join(', ')} filled (${ids.map((id) => s.status(id)).join(', ')})`);
  return primary;
}

async function cutAndBack(s: Session, whileAway?: () => void | Promise<void>): Promise<void> {
  const before = s.engine.connectionStats().readies;
  await s.faulty.cut();
  await whileAway?.();
  await s.waitFor(() => (s.engine.connectionStats().readies) > before && s.engine.ready, 'the engine reconnected and Ready', 10_000, 10);
  await s.waitFor(() => s.engine.lastSync !== undefined, 'a recovery sync', 5000, 10);
}

/** A mix of every lifecycle the target can do, for the report-fault cases. */
async function mix(s: Session): Promise<void> {
  const caps = s.capabilities;
  const ids: string[] = [];
  if (caps.has('restingOrders')) {
    ids.push(s.place(recipe(s, 'rest', 'buy')).primary);
    ids.push(s.place(recipe(s, 'rest', 'sell')).primary);
  }
  ids.push(...s.place(recipe(s, 'fill', 'buy')).ids);
  if (caps.has('partialFills')) ids.push(...s.place(recipe(s, 'partial', 'sell')).ids);
  await s.sleep(50);
  if (caps.has('restingOrders')) {
    await s.waitFor(() => s.engine.getOrder(ids[0]!)?.brokerOrderId !== '', `${ids[0]} acknowledged`, 5000);
    s.engine.cancel(ids[0]!);
  }
  await s.sleep(200);
}

export const SUITE: readonly CertCase[] = [
  {
    id: 'LC-01', title: 'a resting order is acknowledged with both ids', checklist: '2 orders: every order is acknowledged, the broker order id bound to the client order id',
    needs: ['restingOrders'],
    async run(s) {
      const id = await rest(s);
      must(s.engine.getOrder(id)!.brokerOrderId !== '', `${id} acknowledged without a broker order id`);
    },
  },
  {
    id: 'LC-02', title: 'a marketable order fills', checklist: '3 reports: fills move the order to Filled and book positions and cash',
    needs: [],
    async run(s) {
      const id = await filled(s);
      const o = s.engine.getOrder(id)!;
      must(o.cumQty === o.qty, `${id} Filled with cumQty ${o.cumQty} of ${o.qty}`);
    },
  },
  {
    id: 'LC-03', title: 'partial fills, then the fill', checklist: '3 reports: partial fills accumulate to the order quantity',
    needs: ['partialFills'],
    async run(s) {
      const { primary } = s.place(recipe(s, 'partial'));
      let sawPartial = false;
      await s.waitFor(() => {
        if (s.status(primary) === 'PartiallyFilled') sawPartial = true;
        return s.status(primary) === 'Filled';
      }, `${primary} filled (it is ${s.status(primary)})`, 20_000, 2);
      const trades = (s.faulty.stats.kinds.get(primary) ?? []).filter((k) => k === 'trade').length;
      must(sawPartial || trades > 1, `${primary} filled in one report; the case needs partial fills`);
    },
  },
  {
    id: 'LC-04', title: 'a resting order is cancelled', checklist: '2 orders: a cancel ends the order Cancelled',
    needs: ['restingOrders'],
    async run(s) {
      const id = await rest(s);
      must(s.engine.cancel(id).status === 'sent', `cancel of ${id} not sent`);
      await s.waitFor(() => s.status(id) === 'Cancelled', `${id} cancelled (it is ${s.status(id)})`);
    },
  },
  {
    id: 'LC-05', title: 'a broker reject ends the order Rejected with a reason', checklist: '3 reports: a broker reject is a report, the order ends Rejected with its reason',
    needs: ['reject'],
    async run(s) {
      const { primary } = s.place(recipe(s, 'reject'));
      await s.waitFor(() => s.status(primary) === 'Rejected', `${primary} rejected (it is ${s.status(primary)})`);
      must((s.engine.getOrder(primary)!.rejectReason ?? '') !== '', `${primary} rejected without a reason`);
    },
  },
  {
    id: 'LC-06', title: 'a cancel that comes too late is rejected; the order stays Filled', checklist: '2 orders: a cancel reject leaves the order in its state',
    needs: ['cancelReject'],
    async run(s) {
      const { primary, ids } = s.place(recipe(s, 'fill'));
      const c = s.engine.cancel(primary);
      must(c.status === 'sent', `the cancel of ${primary} was not sent (${JSON.stringify(c)}): the fill came first, the case proves nothing`);
      await s.waitFor(() => ids.every((id) => s.status(id) === 'Filled'), `${ids.join(', ')} filled (${ids.map((id) => s.status(id)).join(', ')})`);
      await s.waitFor(() => (s.faulty.stats.kinds.get(primary) ?? []).includes('cancel_rejected'), `the cancel reject of ${primary}`);
      must(s.status(primary) === 'Filled', `${primary} is ${s.status(primary)} after the cancel reject`);
    },
  },
  {
    id: 'ID-01', title: 'every report carries both ids and an exec id', checklist: '3 reports: both ids on every report',
    needs: [],
    async run(s) {
      await mix(s);
      const b = s.breaches().missingIds;
      must(b.length === 0, `reports without both ids: ${b.slice(0, 5).join('; ')}`);
    },
  },
  {
    id: 'ID-02', title: 'a duplicate active submission sends nothing', checklist: '2 orders: idempotent submit, one client order id is one order',
    needs: ['restingOrders'],
    async run(s) {
      const id = await rest(s);
      const o = s.engine.getOrder(id)!;
      const again = s.engine.submit({ clientOrderId: id, symbol: o.symbol, side: o.side, qty: o.qty, price: o.price });
      must(again.status === 'duplicate', `a second submit of ${id} answered ${again.status}`);
      await s.sleep(50);
      must(s.faulty.stats.placed.get(id) === 1, `${id} was handed to the adapter ${s.faulty.stats.placed.get(id)} times`);
    },
  },
  {
    id: 'ID-03', title: 'a second cancel of the same order sends nothing', checklist: '2 orders: idempotent cancel',
    needs: ['restingOrders'],
    async run(s) {
      const id = await rest(s);
      must(s.engine.cancel(id).status === 'sent', `first cancel of ${id} not sent`);
      const second = s.engine.cancel(id);
      must(second.status === 'ignored', `second cancel of ${id} answered ${second.status}`);
      await s.waitFor(() => s.status(id) === 'Cancelled', `${id} cancelled`);
      must(s.engine.cancel(id).status === 'ignored', `a cancel of the cancelled ${id} was not ignored`);
      must(s.faulty.stats.cancels.get(id) === 1, `${s.faulty.stats.cancels.get(id)} cancels of ${id} reached the adapter`);
    },
  },
  {
    id: 'CN-01', title: 'the connection is cut: reconnect and recovery sync, then trading goes on', checklist: '1 connectivity: reconnect, then recovery sync before trading',
    needs: [],
    async run(s) {
      if (s.capabilities.has('restingOrders')) await rest(s);
      await cutAndBack(s);
      await filled(s, 'sell');
    },
  },
  {
    id: 'CN-02', title: 'fills made while disconnected arrive by the recovery sync, once', checklist: '4 recovery sync: syncTodayTrades brings the fills made while away',
    needs: ['restingOrders', 'fillsWhileAway'],
    async run(s) {
      const id = await rest(s, 'buy');
      const o = s.engine.getOrder(id)!;
      await cutAndBack(s, () => s.venue.moveMarket!(o.symbol, o.price * 0.99));
      await s.waitFor(() => s.status(id) === 'Filled', `${id} filled by the recovery sync (it is ${s.status(id)}, cumQty ${s.engine.getOrder(id)?.cumQty})`, 3000);
    },
  },
  {
    id: 'CN-03', title: 'syncOpenOrders lists only open orders', checklist: '4 recovery sync: open orders are the broker\'s open orders, nothing finished',
    needs: ['restingOrders'],
    async run(s) {
      const open = await rest(s, 'buy');
      await filled(s, 'sell');
      const cancelled = await rest(s, 'sell');
      s.engine.cancel(cancelled);
      await s.waitFor(() => s.status(cancelled) === 'Cancelled', `${cancelled} cancelled`);
      await cutAndBack(s);
      const listed = await s.faulty.inner.syncOpenOrders();
      const finished = listed.filter((b) => !OPEN.has(b.status) || b.cumQty >= b.qty || (s.engine.getOrder(b.clientOrderId) !== undefined && !OPEN.has(s.status(b.clientOrderId)) && s.status(b.clientOrderId) !== 'PendingCancel'));
      must(finished.length === 0, `syncOpenOrders listed finished orders: ${finished.map((b) => `${b.clientOrderId} (${b.status}, cumQty ${b.cumQty} of ${b.qty}, engine ${s.status(b.clientOrderId)})`).join('; ')}`);
      must(listed.some((b) => b.clientOrderId === open), `syncOpenOrders left out the open ${open}`);
    },
  },
  {
    id: 'RP-01', title: 'every report delivered twice: each counts once', checklist: '3 reports: duplicated reports are applied once',
    needs: [], faults: { duplicate: 1 },
    async run(s) {
      await mix(s);
    },
  },
  {
    id: 'RP-02', title: 'reports reordered and delayed: the same end state', checklist: '3 reports: reordered reports are applied in order',
    needs: [], faults: { reorder: 0.5, delay: 0.3, delayMs: 15 },
    async run(s) {
      await mix(s);
    },
  },
  {
    id: 'RP-03', title: 'reports lost on the way: the recovery sync brings the truth', checklist: '4 recovery sync: what the wire lost, the sync restores',
    needs: [], faults: { drop: 0.3 }, expects: ['CUM_QTY_MISMATCH'],
    async run(s) {
      await mix(s);
    },
  },
  {
    id: 'RP-04', title: 'no report is delivered from inside placeOrder or cancelOrder', checklist: '3 reports: the adapter contract, reports arrive after the call returns',
    needs: [],
    async run(s) {
      await mix(s);
      const b = s.breaches().synchronous;
      must(b.length === 0, `${b.length} report(s) delivered from inside placeOrder/cancelOrder: ${b.slice(0, 3).join('; ')}`);
    },
  },
  {
    id: 'FL-01', title: 'every fill of an order has its own exec id', checklist: '3 reports: a per-order unique execId on every fill, no fill lost to deduplication',
    needs: ['partialFills'],
    async run(s) {
      const { primary } = s.place(recipe(s, 'partial'));
      await s.waitFor(() => s.status(primary) === 'Filled' || (s.faulty.stats.kinds.get(primary) ?? []).filter((k) => k === 'trade').length >= 3, `${primary} filled`, 20_000, 2);
      const b = s.breaches().execIdReused;
      must(b.length === 0, `exec ids reused on different fills: ${b.slice(0, 3).join('; ')}`);
    },
  },
  {
    id: 'SD-01', title: 'placeOrder throws after sending: the order is not resent, the sync settles it', checklist: '2 orders: an unknown outcome is never resent; recovery sync decides',
    needs: [], expects: ['SEND_FAILED'],
    async run(s) {
      s.faulty.throwAfterSend(1);
      const { primary, ids } = s.place(recipe(s, 'fill'));
      must(s.status(primary) === 'PendingNew' || ids.length > 1, `${primary} is ${s.status(primary)} after a send with an unknown outcome`);
      await s.sleep(100);
      await s.engine.resync({ graceMs: 0 });
      await s.waitFor(() => ids.every((id) => s.status(id) === 'Filled'), `${ids.join(', ')} settled Filled by the sync (${ids.map((id) => s.status(id)).join(', ')})`);
      must(s.faulty.stats.placed.get(ids[0]!) === 1, `${ids[0]} was sent ${s.faulty.stats.placed.get(ids[0]!)} times`);
    },
  },
  {
    id: 'SD-02', title: 'placeOrder goes silent: no resend; the reconnect\'s sync finds the order', checklist: '2 orders: a send without an answer stays PendingNew until the sync proves what the broker has',
    needs: ['restingOrders'],
    async run(s) {
      s.faulty.hang(1);
      const { primary } = s.place(recipe(s, 'rest'));
      await s.sleep(300);
      must(s.status(primary) === 'PendingNew', `${primary} is ${s.status(primary)} though the broker's answer was swallowed`);
      s.faulty.unhang();
      await cutAndBack(s);
      await s.waitFor(() => s.status(primary) === 'Submitted', `${primary} found open by the sync (it is ${s.status(primary)})`);
      must(s.faulty.stats.placed.get(primary) === 1, `${primary} was sent ${s.faulty.stats.placed.get(primary)} times`);
    },
  },
  {
    id: 'SD-03', title: 'a slow acknowledgement: the order is sent once', checklist: '2 orders: no blind resend on a timeout',
    needs: ['restingOrders', 'slowAcks'],
    async run(s) {
      s.venue.slowAcks!(400);
      const { primary } = s.place(recipe(s, 'rest'));
      await s.waitFor(() => s.status(primary) !== 'PendingNew', `${primary} acknowledged`, 5000);
      s.venue.slowAcks!(1);
      await s.sleep(100);
    },
  },
  {
    id: 'RS-01', title: 'the engine restarts on its journal: state restored, nothing resent', checklist: '7 drills: a restart on the journal loses nothing and sends nothing twice',
    needs: [],
    async run(s) {
      const open = s.capabilities.has('restingOrders') ? await rest(s) : undefined;
      const done = await filled(s, 'sell');
      const before = s.engine.orders().map((o) => `${o.clientOrderId}:${o.status}:${o.cumQty}`).sort();
      await s.restartEngine();
      await s.ready();
      const after = s.engine.orders().map((o) => `${o.clientOrderId}:${o.status}:${o.cumQty}`).sort();
      must(JSON.stringify(after) === JSON.stringify(before), `state after the restart differs: before ${before.join(' ')}, after ${after.join(' ')}`);
      for (const id of [open, done]) {
        if (id === undefined) continue;
        const o = s.engine.getOrder(id)!;
        const again = s.engine.submit({ clientOrderId: id, symbol: o.symbol, side: o.side, qty: o.qty, price: o.price });
        const refused = again.status === 'duplicate' || (again.status === 'denied' && again.reason === 'DUPLICATE_ORDER_ID');
        must(refused, `${id} submitted again after the restart answered ${JSON.stringify(again)}`);
      }
    },
  },
  {
    id: 'RS-02', title: 'the engine is killed mid-flow and restarted on its journal', checklist: '7 drills: a crash loses no order and no fill, sends nothing twice',
    needs: [], expects: ['SYNC_NOT_AT_BROKER'],
    async run(s) {
      if (s.capabilities.has('restingOrders')) await rest(s);
      const { ids } = s.place(recipe(s, 'fill', 'sell'));
      await s.crashEngine();
      await s.ready();
      // each order either reached the broker and filled, or died with the process before it was
      // on the wire and the restart's sync marked it Rejected; the invariants check which
      await s.waitFor(() => ids.every((id) => s.status(id) === 'Filled' || s.status(id) === 'Rejected'), `${ids.join(', ')} settled after the restart (${ids.map((id) => s.status(id)).join(', ')})`);
    },
  },
  {
    id: 'RS-03', title: 'the broker restarts: the engine reconnects and converges', checklist: '1 connectivity: a broker restart is a reconnect and a recovery sync',
    needs: ['restartBroker'],
    async run(s) {
      if (s.capabilities.has('restingOrders')) await rest(s);
      const before = s.engine.connectionStats().readies;
      await s.venue.restartBroker!();
      await s.waitFor(() => (s.engine.connectionStats().readies) > before && s.engine.ready, 'the engine reconnected', 10_000, 10);
      await filled(s, 'sell');
    },
  },
];
