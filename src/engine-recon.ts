/** What reconciliation may read and do to the core (see recon/reconciler.ts): wired by the composition module. */
import type { BrokerAdapter } from './brokers/adapter.js';
import type { TradingCore } from './core/trading-core.js';
import type { Logger } from './ops/logger.js';
import type { Correction, LocalOrder } from './recon/diff.js';
import type { DiffEvent, ReconEvent, ReconTarget } from './recon/reconciler.js';
import type { StrategyCallbacks } from './strategy.js';

/** What the composition adds to the core for reconciliation: its journal record, its observers, the strategy. */
export interface ReconHooks {
  record(ev: ReconEvent): boolean;
  notify(ev: DiffEvent): void;
  strategy(): StrategyCallbacks | undefined;
}

export function reconTarget(core: TradingCore, broker: BrokerAdapter, logger: Logger, hooks: ReconHooks): ReconTarget {
  const t = core.table;
  const { instruments, ledger, money } = core;
  const slotOf = (id: string) => t.byClientId.get(id);
  return {
    instruments,
    clock: core.clock,
    logger,
    broker,
    notReady: () => (core.ready ? '' : core.notReadyDetail()),
    orders: () => core.ordersWhere(() => true),
    ordersPage: (from, max) => {
      // live slots from `from`, unsorted: reconciliation keys them by id and yields between pages
      const out: LocalOrder[] = [];
      let s = Math.max(0, from);
      for (; s < t.capacity && out.length < max; s++) if (t.live[s] === 1) out.push(core.snapshot(s));
      return { orders: out, next: s < t.capacity ? s : -1 };
    },
    order: (id) => {
      const slot = slotOf(id);
      return slot < 0 ? undefined : core.snapshot(slot);
    },
    orderByBrokerId: (id) => {
      const slot = t.byBrokerId.get(id);
      return slot < 0 ? undefined : core.snapshot(slot);
    },
    hasExec: (id, execId) => {
      const slot = slotOf(id);
      return slot < 0 ? undefined : t.hasExec(slot, execId);
    },
    positions: () => new Map(instruments.map((inst) => [inst.symbol, money.qty(inst.index, ledger.pos[inst.index]!)])),
    cash: () => ({ ...ledger.account().cash }),
    apply: (r) => {
      core.correcting = true;
      try {
        core.reports.onReport(r);
      } finally {
        core.correcting = false;
      }
    },
    adjust: (a) => {
      switch (a.what) {
        case 'position':
          {
            const i = core.bySymbol.get(a.symbol)!.index;
            ledger.adjustPosition(i, Math.round(a.qty * money.qtyScale[i]!));
          }
          return;
        case 'cash':
          ledger.adjustCash(a.currency, a.amount);
          return;
        case 'fill-value': {
          const slot = slotOf(a.clientOrderId);
          if (slot < 0) return;
          const cum = t.cumQty[slot]!;
          const i = t.instrument[slot]!;
          if (cum > 0) ledger.reprice(i, t.side[slot]!, Math.round(cum * money.qtyScale[i]!), ledger.valueUnits(i, a.from), ledger.valueUnits(i, a.to));
          t.fillValue[slot] = a.to;
          return;
        }
        case 'limit-price': {
          const slot = slotOf(a.clientOrderId);
          if (slot >= 0) t.price[slot] = Math.round(a.price * instruments[t.instrument[slot]!]!.scale);
          return;
        }
      }
    },
    tradingState: () => core.tradingState,
    setTradingState: (state, reason) => {
      core.setTradingState(state, reason);
    },
    record: (ev) => hooks.record(ev),
    notify: (ev) => hooks.notify(ev),
    correction: (c: Correction) => {
      const s = hooks.strategy();
      if (core.restoring || s?.onCorrection === undefined) return;
      try {
        s.onCorrection(c);
      } catch (err) {
        core.counters.callbackErrors++;
        core.anomaly('CALLBACK_ERROR', `strategy onCorrection threw: ${(err as Error).message}`, c.clientOrderId || undefined, c.brokerOrderId || undefined);
      }
    },
    watch: () => core.watchReports(),
    day: () => core.dayName,
  };
}
