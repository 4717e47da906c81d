/** The cancel path, and the kill switch that cancels everything. */
import type { CancelResult } from '../domain/order.js';
import { OrderStatus, isOpen, isTerminal, statusName } from '../domain/order-status.js';
import { OrderEvent, nextStatus } from '../domain/transitions.js';
import { NotSentError } from './ports.js';
import type { TradingCore } from './trading-core.js';

/** What `safeStop` did. */
export interface SafeStopResult {
  readonly state: 'Halted';
  /** Cancels sent now. */
  cancelsSent: number;
  /** Open orders already pending cancel (nothing sent again). */
  alreadyPending: number;
  /** Open orders whose cancel could not be sent (for example the broker is not connected). */
  readonly failed: Array<{ clientOrderId: string; reason: string; detail: string }>;
}

export class CancelPath {
  constructor(
    private readonly c: TradingCore,
    /** Cancels while the instrument's market is closed: sent or refused. */
    private readonly cancelOutside: 'allow' | 'refuse',
  ) {}

  /** See `Engine.cancel`. */
  cancel(clientOrderId: string): CancelResult {
    return this.cancelOrder(clientOrderId, false);
  }

  cancelOrder(clientOrderId: string, exempt: boolean): CancelResult {
    this.c.counters.cancels++;
    if (typeof clientOrderId !== 'string' || clientOrderId.length === 0) {
      return { status: 'denied', clientOrderId: String(clientOrderId), reason: 'INVALID_ORDER', detail: 'clientOrderId must be a non-empty string' };
    }
    const t = this.c.table;
    const slot = t.byClientId.get(clientOrderId);
    if (slot < 0) return { status: 'denied', clientOrderId, reason: 'UNKNOWN_ORDER', detail: `clientOrderId=${clientOrderId}` };
    const st = t.status[slot]!;
    if (st === OrderStatus.PendingCancel || isTerminal(st)) {
      this.c.counters.cancelsIgnored++;
      return { status: 'ignored', clientOrderId, reason: st === OrderStatus.PendingCancel ? 'CANCEL_PENDING' : 'ORDER_FINISHED', orderStatus: statusName(st) };
    }
    // Degraded (heartbeats late, the line still up): cancels still go, they only reduce risk.
    const conn = this.c.link.state;
    if (this.c.lifecycle !== 'running' || (conn !== 'Ready' && conn !== 'Degraded')) {
      return { status: 'denied', clientOrderId, reason: 'BROKER_NOT_READY', detail: this.c.notReadyDetail() };
    }
    const now = this.c.clock.now();
    if (!exempt && this.cancelOutside === 'refuse') {
      const inst = this.c.instruments[t.instrument[slot]!]!;
      if (this.c.submits.closed(inst, now)) return { status: 'denied', clientOrderId, reason: 'OUTSIDE_SESSION', detail: this.c.submits.sessionDetail(inst, now) };
    }
    if (!exempt && !this.c.accountRisk.takeCancel(now)) {
      return { status: 'denied', clientOrderId, reason: 'RATE_LIMIT', detail: `limit=cancels-per-second retryInMs=${this.c.accountRisk.cancelWaitMs(now)}` };
    }
    const brokerOrderId = t.brokerId[slot]!;
    if (this.c.journal !== undefined) {
      const journaled = this.c.record({ k: 'cancel', t: now, id: clientOrderId });
      if (!journaled || !this.c.barrier(clientOrderId)) {
        if (journaled) this.c.record({ k: 'cancel-unsent', t: now, id: clientOrderId, st });
        return { status: 'denied', clientOrderId, reason: 'JOURNAL_FAILED', detail: `journal=${this.c.journal.dir} error=${this.c.journalError}` };
      }
    }
    t.prevStatus[slot] = st;
    t.status[slot] = nextStatus(st, OrderEvent.CancelRequested);
    t.updatedAt[slot] = now;
    if (this.c.touchSets.length > 0) this.c.touch(clientOrderId);
    try {
      this.c.broker.cancelOrder({ clientOrderId, brokerOrderId });
    } catch (err) {
      if (err instanceof NotSentError) {
        t.status[slot] = st;
        if (this.c.journal !== undefined) this.c.record({ k: 'cancel-unsent', t: now, id: clientOrderId, st });
        return { status: 'denied', clientOrderId, reason: 'BROKER_NOT_READY', detail: `broker=${this.c.broker.name} error=${err.message}` };
      }
      this.c.counters.sendFailures++;
      this.c.anomaly('SEND_FAILED', `cancelOrder threw: ${(err as Error).message}`, clientOrderId, brokerOrderId);
    }
    this.c.counters.cancelsSent++;
    return { status: 'sent', clientOrderId, brokerOrderId };
  }

  /** See `Engine.safeStop`. */
  safeStop(reason: string): SafeStopResult {
    this.c.setTradingState('Halted', `safeStop: ${reason}`);
    const result: SafeStopResult = { state: 'Halted', ...this.cancelAllOpen() };
    this.c.logger.warn({ reason, ...result, failed: result.failed.length }, 'safe stop');
    return result;
  }

  /** Cancel every open order (cancel rate limits do not apply); the trading state is left as it is. */
  cancelAllOpen(): Omit<SafeStopResult, 'state'> {
    const result = { cancelsSent: 0, alreadyPending: 0, failed: [] as SafeStopResult['failed'][number][] };
    const t = this.c.table;
    for (let s = 0; s < t.capacity; s++) {
      if (t.live[s] !== 1 || !isOpen(t.status[s]!)) continue;
      if (t.status[s] === OrderStatus.PendingCancel) {
        result.alreadyPending++;
        continue;
      }
      const r = this.cancelOrder(t.clientId[s]!, true);
      if (r.status === 'sent') result.cancelsSent++;
      else if (r.status === 'denied') result.failed.push({ clientOrderId: r.clientOrderId, reason: r.reason, detail: r.detail });
    }
    return result;
  }
}
