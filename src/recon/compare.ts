import type { BrokerAdapter } from '../brokers/adapter.js';
import type { Engine } from '../engine.js';

export interface Comparison {
  /** True when no problem was found. */
  readonly consistent: boolean;
  /** One line per difference, naming both ids and both values. */
  readonly problems: string[];
  readonly checked: { readonly orders: number; readonly openOrders: number; readonly trades: number; readonly symbols: number };
}

const QTY_EPS = 1e-9;

/**
 * Compare the engine's state with the broker's own records: open orders (status and filled
 * quantity), each order's filled quantity against the broker's trades, positions against the
 * sum of fills on both sides. Call it when no report is in flight (the broker idle), or the
 * reports still on the wire show up as differences. When the adapter can list every order of
 * the day (`allOrders`, as the simulated broker can), finished orders' statuses are compared too.
 */
export async function compareWithBroker(engine: Engine, broker: BrokerAdapter): Promise<Comparison> {
  const problems: string[] = [];
  const [open, trades, positions, day] = await Promise.all([
    broker.syncOpenOrders(), broker.syncTodayTrades(), broker.queryPositions(), broker.syncDayOrders !== undefined ? broker.syncDayOrders() : Promise.resolve(undefined),
  ]);
  const engineOrders = engine.orders();
  const byBrokerId = new Map(engineOrders.filter((o) => o.brokerOrderId !== '').map((o) => [o.brokerOrderId, o]));

  const openAtBroker = new Set<string>();
  const openAtBrokerByClient = new Set<string>();
  for (const b of open) {
    openAtBroker.add(b.brokerOrderId);
    openAtBrokerByClient.add(b.clientOrderId);
    const e = byBrokerId.get(b.brokerOrderId) ?? engine.getOrder(b.clientOrderId);
    if (e === undefined) {
      problems.push(`open at broker, unknown to engine: clientOrderId=${b.clientOrderId} brokerOrderId=${b.brokerOrderId}`);
      continue;
    }
    if (e.status !== b.status) problems.push(`status: clientOrderId=${e.clientOrderId} brokerOrderId=${b.brokerOrderId} engine=${e.status} broker=${b.status}`);
    if (Math.abs(e.cumQty - b.cumQty) > QTY_EPS) {
      problems.push(`cumQty: clientOrderId=${e.clientOrderId} brokerOrderId=${b.brokerOrderId} engine=${e.cumQty} broker=${b.cumQty}`);
    }
  }
  const engineOpen = engineOrders.filter((o) => o.status === 'PendingNew' || o.status === 'Submitted' || o.status === 'PartiallyFilled' || o.status === 'PendingCancel');
  for (const e of engineOpen) {
    // an order never acknowledged is known to the engine by its client id only
    const atBroker = e.brokerOrderId !== '' ? openAtBroker.has(e.brokerOrderId) : openAtBrokerByClient.has(e.clientOrderId);
    if (!atBroker) problems.push(`open in engine, not open at broker: clientOrderId=${e.clientOrderId} brokerOrderId=${e.brokerOrderId || '(none)'} engine=${e.status}`);
  }

  if (day !== undefined) {
    for (const b of day) {
      const e = byBrokerId.get(b.brokerOrderId);
      if (e !== undefined && e.status !== b.status) {
        problems.push(`status: clientOrderId=${e.clientOrderId} brokerOrderId=${b.brokerOrderId} engine=${e.status} broker=${b.status}`);
      }
    }
  }

  const filledAtBroker = new Map<string, number>();
  const brokerFillPos = new Map<string, number>();
  for (const t of trades) {
    filledAtBroker.set(t.brokerOrderId, (filledAtBroker.get(t.brokerOrderId) ?? 0) + t.qty);
    brokerFillPos.set(t.symbol, (brokerFillPos.get(t.symbol) ?? 0) + (t.side === 'buy' ? t.qty : -t.qty));
  }
  for (const e of engineOrders) {
    if (e.brokerOrderId === '') continue;
    const atBroker = filledAtBroker.get(e.brokerOrderId) ?? 0;
    if (Math.abs(atBroker - e.cumQty) > QTY_EPS) {
      problems.push(`filled qty: clientOrderId=${e.clientOrderId} brokerOrderId=${e.brokerOrderId} engine=${e.cumQty} broker trades=${atBroker}`);
    }
  }

  const enginePos = new Map(engine.positions().map((p) => [p.symbol, p.qty]));
  const symbols = new Set([...enginePos.keys(), ...positions.map((p) => p.symbol), ...brokerFillPos.keys()]);
  for (const symbol of symbols) {
    const e = enginePos.get(symbol) ?? 0;
    const b = positions.find((p) => p.symbol === symbol)?.qty ?? 0;
    const f = brokerFillPos.get(symbol) ?? 0;
    if (Math.abs(e - b) > QTY_EPS) problems.push(`position: symbol=${symbol} engine=${e} broker=${b}`);
    if (Math.abs(e - f) > QTY_EPS) problems.push(`position vs fills: symbol=${symbol} engine=${e} sum of broker fills=${f}`);
  }
  return {
    consistent: problems.length === 0,
    problems,
    checked: { orders: engineOrders.length, openOrders: open.length, trades: trades.length, symbols: symbols.size },
  };
}
