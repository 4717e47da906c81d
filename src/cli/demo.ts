import { SimBroker, type SimFaults } from '../brokers/sim/sim-broker.js';
import { Prng } from '../brokers/sim/prng.js';
import { createEngine, type Engine, type EngineStats } from '../engine.js';
import type { Position } from '../core/ledger.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import { STATUS_NAMES } from '../domain/order-status.js';
import type { OrderRequest } from '../domain/order.js';
import type { LatencySummary } from '../ops/latency.js';
import type { Logger } from '../ops/logger.js';
import { compareWithBroker, type Comparison } from '../recon/compare.js';
import type { SyncSummary } from '../connectivity/recovery.js';

export interface DemoOptions {
  /** Seed for the strategy's choices and the simulated market. Default 42. */
  seed?: number;
  /** Length of the trading part of the session, ms. Default 5000. */
  durationMs?: number;
  /** Orders the sample strategy submits. Default 300. */
  orders?: number;
  /** Fault knobs of the simulated broker. Default: 2% duplicated and 2% reordered reports. */
  faults?: SimFaults;
  /** Called about every 200 ms with a one-line status (the CLI draws it on a TTY). */
  onStatus?: (line: string) => void;
  logger?: Logger;
  /** Run recovery sync at the end when orders are left PendingNew (lost acks). Default true. */
  resync?: boolean;
}

/** What `tradecore demo` prints. */
export interface DemoSummary {
  seed: number;
  durationMs: number;
  broker: string;
  orders: { submitted: number; accepted: number; duplicates: number; denied: number; byStatus: Record<string, number> };
  cancels: { requested: number; sent: number; ignored: number };
  /** The recovery sync run at the end for orders left PendingNew, or null when none was needed. */
  recovery: SyncSummary | null;
  fills: { count: number; qty: number };
  positions: Position[];
  deniedByReason: Record<string, number>;
  rejectsByReason: Record<string, number>;
  reports: Pick<EngineStats, 'reports' | 'duplicateReports' | 'staleReports' | 'noopReports' | 'invalidTransitions' | 'unknownOrders' | 'overfills'>;
  latencyUs: { ack: LatencySummary; firstFill: LatencySummary };
  /** The scripted idempotency checks: what the engine answered. */
  scripted: { duplicateSubmit: string; doubleCancel: string; offTickPrice: string; brokerReject: string };
  consistency: Comparison;
}

export const DEMO_INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'ACME', tickSize: 0.01, pricePrecision: 2, lotSize: 1 },
  { symbol: 'BOLT', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
  { symbol: 'CRUX', tickSize: 0.5, pricePrecision: 1, lotSize: 1 },
];
const START_PRICES = { ACME: 42.5, BOLT: 17.35, CRUX: 250 };

/**
 * A paper session: a sample strategy trades three symbols against the embedded simulated
 * broker, with a scripted duplicate submit, double cancel, locally denied order and broker
 * reject. At the end the market is frozen, in-flight reports drained, and the engine's state
 * compared with the broker's own records.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const seed = opts.seed ?? 42;
  const durationMs = opts.durationMs ?? 5000;
  const total = opts.orders ?? 300;
  const rng = new Prng(seed ^ 0x5eed);
  const broker = new SimBroker({
    instruments: DEMO_INSTRUMENTS,
    seed,
    startPrices: START_PRICES,
    ackLatencyMs: 1,
    fillLatencyMs: 2,
    marketStepMs: 20,
    faults: opts.faults ?? { duplicateReports: 0.02, reorderReports: 0.02 },
  });
  const engine = createEngine({
    instruments: DEMO_INSTRUMENTS,
    broker,
    risk: { default: { maxOrderQty: 5000, maxPosition: 50_000 } },
    initialCash: { USD: 1_000_000 },
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  await engine.start();

  const scripted = { duplicateSubmit: 'not run', doubleCancel: 'not run', offTickPrice: 'not run', brokerReject: 'not run' };
  let sent = 0;
  let cancelRequests = 0;
  const started = Date.now();
  const submitted: string[] = [];

  const makeOrder = (n: number): OrderRequest => {
    const spec = rng.pick(DEMO_INSTRUMENTS);
    const side = rng.chance(0.5) ? 'buy' : 'sell';
    const lots = rng.int(1, 10);
    const qty = lots * (spec.lotSize ?? 1);
    const id = `demo-${seed}-${n}`;
    if (rng.chance(0.15)) return { clientOrderId: id, symbol: spec.symbol, side, type: 'market', qty };
    const { bid, ask } = broker.quote(spec.symbol);
    // from 2 ticks through the touch (marketable) to 6 ticks away (resting)
    const ticks = rng.int(-2, 6);
    const raw = side === 'buy' ? bid - ticks * spec.tickSize : ask + ticks * spec.tickSize;
    const price = Number(raw.toFixed(spec.pricePrecision));
    return { clientOrderId: id, symbol: spec.symbol, side, qty, price, tif: rng.chance(0.1) ? 'ioc' : 'day' };
  };

  const act = (n: number) => {
    const order = makeOrder(n);
    if (n === 3) {
      // off-tick by one price unit: refused locally, never sent
      const spec = DEMO_INSTRUMENTS.find((s) => s.symbol === 'BOLT')!;
      const r = engine.submit({ clientOrderId: order.clientOrderId, symbol: 'BOLT', side: 'buy', qty: spec.lotSize!, price: broker.quote('BOLT').bid + 0.01 });
      scripted.offTickPrice = r.status === 'denied' ? `denied ${r.reason}` : r.status;
      return;
    }
    if (n === 4) {
      // far outside the broker's price band: sent, rejected by the broker
      const r = engine.submit({ clientOrderId: order.clientOrderId, symbol: 'CRUX', side: 'sell', qty: 1, price: 400 });
      scripted.brokerReject = r.status === 'accepted' ? 'sent' : r.status;
      submitted.push(order.clientOrderId);
      return;
    }
    engine.submit(order);
    submitted.push(order.clientOrderId);
    if (n === 6) {
      const r = engine.submit(order);
      scripted.duplicateSubmit = r.status === 'duplicate' ? `duplicate brokerOrderId=${r.brokerOrderId || '(not yet acked)'}` : r.status;
    }
    if (n === 8) {
      const first = engine.cancel(order.clientOrderId);
      const second = engine.cancel(order.clientOrderId);
      cancelRequests += 2;
      scripted.doubleCancel = `${first.status}, then ${second.status}${second.status === 'ignored' ? ` ${second.reason}` : ''}`;
    }
    // cancel some resting orders
    if (rng.chance(0.3)) {
      const open = engine.openOrders();
      if (open.length > 0) {
        engine.cancel(rng.pick(open).clientOrderId);
        cancelRequests++;
      }
    }
  };

  const tradingMs = durationMs * 0.8;
  const interval = Math.max(1, tradingMs / Math.max(1, total));
  await new Promise<void>((resolve) => {
    const statusTimer = opts.onStatus ? setInterval(() => opts.onStatus!(statusLine(engine, Date.now() - started)), 200) : undefined;
    const tick = () => {
      const due = Math.min(total, Math.floor((Date.now() - started) / interval) + 1);
      while (sent < due) act(sent++);
      if (sent >= total) {
        // let resting orders trade for the rest of the session, then settle
        setTimeout(() => {
          if (statusTimer) clearInterval(statusTimer);
          resolve();
        }, Math.max(0, durationMs - (Date.now() - started)));
      } else setTimeout(tick, Math.max(1, interval / 2));
    };
    tick();
  });

  // Freeze the market and drain every report on the wire before comparing.
  broker.setMarketRunning(false);
  await Promise.race([broker.idle(), new Promise((r) => setTimeout(r, 2000))]);
  // Orders whose ack was lost stay PendingNew until recovery sync proves what the broker has.
  let recovery: SyncSummary | null = null;
  if (opts.resync !== false && engine.openOrders().some((o) => o.status === 'PendingNew')) recovery = await engine.resync({ graceMs: 0 });
  const consistency = await compareWithBroker(engine, broker);
  const byStatus: Record<string, number> = {};
  for (const name of STATUS_NAMES) byStatus[name] = 0;
  for (const o of engine.orders()) byStatus[o.status]!++;
  const stats = engine.stats();
  const trades = await broker.syncTodayTrades();
  const lat = engine.latency();
  if (!scripted.duplicateSubmit.startsWith('duplicate')) consistency.problems.push(`duplicate submit answered ${scripted.duplicateSubmit}`);
  if (!scripted.doubleCancel.endsWith('ignored CANCEL_PENDING') && !scripted.doubleCancel.endsWith('ignored ORDER_FINISHED')) {
    consistency.problems.push(`double cancel answered ${scripted.doubleCancel}`);
  }
  if (scripted.offTickPrice !== 'denied TICK_SIZE') consistency.problems.push(`off-tick order answered ${scripted.offTickPrice}`);
  await engine.stop();
  return {
    seed,
    durationMs,
    broker: broker.name,
    orders: { submitted: stats.submits, accepted: stats.accepted, duplicates: stats.duplicateSubmits, denied: stats.denied, byStatus },
    cancels: { requested: stats.cancels, sent: stats.cancelsSent, ignored: stats.cancelsIgnored },
    fills: { count: stats.fills, qty: trades.reduce((s, t) => s + t.qty, 0) },
    positions: engine.positions(),
    deniedByReason: stats.deniedByReason,
    rejectsByReason: stats.rejectsByReason,
    reports: {
      reports: stats.reports, duplicateReports: stats.duplicateReports, staleReports: stats.staleReports, noopReports: stats.noopReports,
      invalidTransitions: stats.invalidTransitions, unknownOrders: stats.unknownOrders, overfills: stats.overfills,
    },
    latencyUs: { ack: lat.ack, firstFill: lat.firstFill },
    scripted,
    recovery,
    consistency: { ...consistency, consistent: consistency.problems.length === 0 },
  };
}

function statusLine(engine: Engine, elapsedMs: number): string {
  const s = engine.stats();
  const pos = engine.positions().map((p) => `${p.symbol}=${p.qty > 0 ? '+' : ''}${p.qty}`).join(' ');
  return `t=${(elapsedMs / 1000).toFixed(1)}s orders=${s.accepted} open=${engine.openOrders().length} fills=${s.fills} denied=${s.denied} rejected=${s.rejects} ${pos}`;
}

/** The summary as text, for a person. */
export function formatSummary(s: DemoSummary): string {
  const lines: string[] = [];
  const kv = (o: Record<string, number>) => Object.entries(o).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ') || '(none)';
  lines.push(`tradecore paper session: seed=${s.seed} duration=${s.durationMs}ms broker=${s.broker}`);
  lines.push(`orders     submitted=${s.orders.submitted} accepted=${s.orders.accepted} duplicates=${s.orders.duplicates} denied=${s.orders.denied}`);
  lines.push(`by status  ${kv(s.orders.byStatus)}`);
  lines.push(`cancels    requested=${s.cancels.requested} sent=${s.cancels.sent} ignored=${s.cancels.ignored}`);
  lines.push(`fills      count=${s.fills.count} qty=${s.fills.qty}`);
  lines.push(`denied     ${kv(s.deniedByReason)}`);
  lines.push(`rejected   ${kv(s.rejectsByReason)}`);
  lines.push(`reports    ${kv(s.reports as unknown as Record<string, number>)}`);
  lines.push(`round trip ack p50=${s.latencyUs.ack.p50}us p99=${s.latencyUs.ack.p99}us  first fill p50=${s.latencyUs.firstFill.p50}us p99=${s.latencyUs.firstFill.p99}us`);
  lines.push('positions');
  for (const p of s.positions) lines.push(`  ${p.symbol.padEnd(6)} qty=${p.qty} avgPx=${p.avgPx.toFixed(4)} realizedPnl=${p.realizedPnl.toFixed(2)} ${p.currency}`);
  if (s.recovery !== null) {
    const r = s.recovery;
    lines.push(`recovery   sync for lost acks: resolved=${r.resolved} notAtBroker=${r.notAtBroker} finished=${r.finished} fillsApplied=${r.fillsApplied}`);
  }
  lines.push(`scripted   duplicate submit: ${s.scripted.duplicateSubmit}; double cancel: ${s.scripted.doubleCancel}; off-tick: ${s.scripted.offTickPrice}; broker reject: ${s.scripted.brokerReject}`);
  const c = s.consistency;
  lines.push(
    c.consistent
      ? `consistent: ${c.checked.orders} orders, ${c.checked.openOrders} open, ${c.checked.trades} fills and ${c.checked.symbols} positions match the broker`
      : `INCONSISTENT: ${c.problems.length} problem(s)\n  ${c.problems.join('\n  ')}`,
  );
  return lines.join('\n');
}
