/**
 * Prometheus metrics of an engine through prom-client. Nothing is counted twice and nothing
 * runs on the hot path: every value is read at scrape time, the counters from
 * `engine.stats()`, the histograms from the engine's HDR histograms (microsecond buckets).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from '../engine.js';
import { CONNECTION_STATES } from '../connectivity/supervisor.js';
import { TRADING_STATES } from '../risk/trading-state.js';
import type { LatencyHistogram } from './latency.js';
import type { Monitor } from './monitor.js';

/** Histogram bucket bounds, microseconds: 5 µs to 1 s (prom-client's default 5 ms to 10 s would put every order in the first bucket). */
export const LATENCY_BUCKETS_US = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];

/** A histogram in prom-client's metric shape, its buckets read from an HDR histogram at scrape. */
function hdrMetric(name: string, help: string, source: () => LatencyHistogram) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const { counts, count, sumUs } = source().buckets(LATENCY_BUCKETS_US);
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = LATENCY_BUCKETS_US.map((b, i) => ({
        metricName: `${name}_bucket`, labels: { le: b / 1e6 }, value: counts[i]!,
      }));
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: sumUs / 1e6 });
      values.push({ metricName: `${name}_count`, labels: {}, value: count });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}

/**
 * A registry with the engine's metrics (and the monitor's, when given): counters, gauges
 * (positions, cash, realized P&L, open diffs among them), the four latency histograms, and
 * prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`). `registry.metrics()` gives the Prometheus text.
 */
export function engineMetrics(engine: Engine, monitor?: Monitor): Registry {
  const registry = new Registry();
  const stats = () => engine.stats();
  const counter = (name: string, help: string, read: (s: ReturnType<Engine['stats']>) => number) =>
    new Counter({
      name, help, registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  counter('tradecore_orders_placed_total', 'Orders handed to the broker', (s) => s.accepted);
  counter('tradecore_orders_acked_total', 'Orders the broker took (an ack, or a fill first)', (s) => s.acks);
  counter('tradecore_cancels_sent_total', 'Cancels handed to the broker', (s) => s.cancelsSent);
  counter('tradecore_cancels_confirmed_total', 'Cancels the broker confirmed', (s) => s.cancelsConfirmed);
  counter('tradecore_cancel_rejects_total', 'Cancels the broker refused', (s) => s.cancelRejects);
  counter('tradecore_duplicate_submits_total', 'Submits of an active client order id (nothing sent)', (s) => s.duplicateSubmits);
  counter('tradecore_reports_total', 'Broker reports received', (s) => s.reports);
  counter('tradecore_duplicate_reports_total', 'Reports dropped as duplicates', (s) => s.duplicateReports);
  counter('tradecore_stale_reports_total', 'Reports older than the order state (fills still applied)', (s) => s.staleReports);
  counter('tradecore_invalid_transitions_total', 'Reports outside the transition table', (s) => s.invalidTransitions);
  counter('tradecore_fills_total', 'Fills applied', (s) => s.fills);
  counter('tradecore_anomalies_total', 'Anomalies raised', (s) => s.anomalies);
  counter('tradecore_disconnects_total', 'Established broker connections lost', (s) => s.disconnects);
  counter('tradecore_reconnects_total', 'Connect attempts after the first', () => engine.connectionStats().reconnectAttempts);
  const byReason = (name: string, help: string, read: (s: ReturnType<Engine['stats']>) => Record<string, number>) =>
    new Counter({
      name, help, labelNames: ['reason'], registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(read(stats()))) this.inc({ reason }, n);
      },
    });
  byReason('tradecore_denies_total', 'Orders refused locally, by reason', (s) => s.deniedByReason);
  byReason('tradecore_rejects_total', 'Orders rejected by the broker, by reason', (s) => s.rejectsByReason);
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name, help, registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('tradecore_place_success_ratio', 'Orders acked over orders placed (1 when none placed)', () => {
    const s = stats();
    return s.accepted === 0 ? 1 : s.acks / s.accepted;
  });
  gauge('tradecore_cancel_success_ratio', 'Cancels confirmed over cancels sent (1 when none sent)', () => {
    const s = stats();
    return s.cancelsSent === 0 ? 1 : s.cancelsConfirmed / s.cancelsSent;
  });
  gauge('tradecore_open_orders', 'Orders not yet finished', () => engine.openOrderCount());
  new Gauge({
    name: 'tradecore_connection_state', help: 'The broker connection state (1 for the current one)', labelNames: ['state'], registers: [registry],
    collect() {
      for (const st of CONNECTION_STATES) this.set({ state: st }, engine.connectionState === st ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tradecore_trading_state', help: 'The trading state (1 for the current one)', labelNames: ['state'], registers: [registry],
    collect() {
      for (const st of TRADING_STATES) this.set({ state: st }, engine.tradingState === st ? 1 : 0);
    },
  });
  const labelled = (name: string, help: string, label: string, read: () => Array<[string, number]>) =>
    new Gauge({
      name, help, labelNames: [label], registers: [registry],
      collect() {
        this.reset();
        for (const [k, v] of read()) this.set({ [label]: k }, v);
      },
    });
  labelled('tradecore_position', 'Signed position per symbol (long positive), from fills', 'symbol', () => engine.positions().map((p) => [p.symbol, p.qty]));
  labelled('tradecore_position_avg_price', 'Average cost of the open position per symbol (0 when flat)', 'symbol', () => engine.positions().map((p) => [p.symbol, p.avgPx]));
  labelled('tradecore_cash', 'Cash per currency', 'currency', () => Object.entries(engine.account().cash));
  labelled('tradecore_realized_pnl', 'Realized P&L per currency', 'currency', () => Object.entries(engine.account().realizedPnl));
  new Gauge({
    name: 'tradecore_open_diffs', help: 'Open reconciliation diffs by severity', labelNames: ['severity'], registers: [registry],
    collect() {
      const open = engine.recon.list({ state: 'open' });
      for (const sev of ['critical', 'warning'] as const) this.set({ severity: sev }, open.filter((d) => d.severity === sev).length);
    },
  });
  gauge('tradecore_ready', '1 when the engine can trade: running, connected and synced, not halted', () => (engine.ready && engine.tradingState !== 'Halted' ? 1 : 0));
  if (monitor !== undefined) {
    gauge('tradecore_event_loop_lag_seconds', 'Event-loop lag p99 at the last monitor check', () => monitor.lastLagMs / 1000);
    new Gauge({
      name: 'tradecore_alerts_open', help: 'Open alerts by level', labelNames: ['level'], registers: [registry],
      collect() {
        for (const [level, n] of Object.entries(monitor.alerts.openCounts())) this.set({ level }, n);
      },
    });
  }
  // prom-client's own: process CPU, memory, file descriptors, event-loop lag, GC, heap spaces
  collectDefaultMetrics({ register: registry });
  const h = () => engine.latencyHistograms();
  registry.registerMetric(hdrMetric('tradecore_order_ack_seconds', 'Submit to broker ack', () => h().ack) as never);
  registry.registerMetric(hdrMetric('tradecore_order_first_fill_seconds', 'Submit to first fill', () => h().firstFill) as never);
  registry.registerMetric(hdrMetric('tradecore_report_handling_seconds', 'Report received to state applied', () => h().report) as never);
  registry.registerMetric(hdrMetric('tradecore_strategy_callback_seconds', 'Strategy callbacks of one report', () => h().callback) as never);
  return registry;
}
