import { SimBroker, type SimFaults } from '../brokers/sim/sim-broker.js';
import type { BrokerAdapter } from '../brokers/adapter.js';
import { ManualClock } from '../core/clock.js';
import { engineConfigOf, type FileConfig } from '../config-file.js';
import { createLogger } from '../ops/logger.js';
import type { Environment } from '../connectivity/credentials.js';
import { brokerFromConfig } from './broker-config.js';
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
  /**
   * A config file's contents (`demo --config`): its instruments, risk and markets, and the broker
   * its `broker` section names (the embedded simulated broker, or the TCP simulated broker).
   * Default: the demo's own three instruments on the embedded broker.
   */
  config?: FileConfig;
  /** Environment for the broker's credentials (TRADECORE_SIM_*). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** A FIX broker's sequence numbers and order record. Default ./tradecore-data/fix (what `run` uses). */
  fixStoreDir?: string;
  /**
   * Pace the simulated session to the wall clock, so it lasts about `durationMs`. Default true;
   * false runs it as fast as it computes (the same orders, fills and positions either way).
   */
  paced?: boolean;
}

/** What `tradecore demo` prints. */
export interface DemoSummary {
  seed: number;
  durationMs: number;
  broker: string;
  /** Where the orders went: paper (the embedded broker), sim or live. */
  environment: Environment;
  /**
   * `simulated`: the embedded broker on a simulated clock, so the seed gives the same orders,
   * fills and positions every time (latencies are in simulated time); `wall`: a broker over
   * the network, on the system clock.
   */
  clock: 'simulated' | 'wall';
  /** Wall-clock length of the session, ms (the trading part and the settling after it). */
  elapsedMs: number;
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
  /** The scripted idempotency checks: what the engine answered ("skipped: ..." when the session is too small for one). */
  scripted: { duplicateSubmit: string; doubleCancel: string; offTickPrice: string; brokerReject: string };
  /** Said when the session could not keep to its duration, or skipped part of its script. */
  notes: string[];
  consistency: Comparison;
}

export const DEMO_INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'ACME', tickSize: 0.01, pricePrecision: 2, lotSize: 1 },
  { symbol: 'BOLT', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
  { symbol: 'CRUX', tickSize: 0.5, pricePrecision: 1, lotSize: 1 },
];
const START_PRICES = { ACME: 42.5, BOLT: 17.35, CRUX: 250 };
/** Where the session's simulated clock starts: a fixed instant, so a seed repeats everything, the day included. */
const SIM_ORIGIN = Date.UTC(2026, 0, 5, 15, 0);
/** The scripted checks use orders 3, 4, 6 and 8 of the session. */
export const SCRIPTED_MIN_ORDERS = 9;

/**
 * A paper session: a sample strategy trades against the broker, with a scripted duplicate
 * submit, double cancel, locally denied order and broker reject. At the end the market is
 * frozen (embedded broker), in-flight reports drained, and the engine's state compared with
 * the broker's own records.
 *
 * On the embedded broker the whole session runs on a simulated clock (1 ms steps) paced to the
 * wall clock: the seed alone decides every order, fill and position. Over the network the
 * session runs on the system clock and the broker's own market.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const seed = opts.seed ?? 42;
  const durationMs = opts.durationMs ?? 5000;
  const total = opts.orders ?? 300;
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be more than 0, got ${durationMs}`);
  const rng = new Prng(seed ^ 0x5eed);
  const config = opts.config;
  const instruments = config?.instruments ?? DEMO_INSTRUMENTS;
  const notes: string[] = [];
  const remote = config?.broker !== undefined && config.broker.kind !== 'embedded';
  const clock = remote ? undefined : new ManualClock(SIM_ORIGIN);
  const logger = opts.logger ?? createLogger();
  let broker: BrokerAdapter;
  let sim: SimBroker | undefined;
  let environment: Environment = 'paper';
  if (config === undefined) {
    sim = new SimBroker({
      instruments: DEMO_INSTRUMENTS, clock: clock!, seed, startPrices: START_PRICES, ackLatencyMs: 1, fillLatencyMs: 2, marketStepMs: 20,
      faults: opts.faults ?? { duplicateReports: 0.02, reorderReports: 0.02 },
    });
    broker = sim;
  } else {
    // the seed drives the embedded market too, unless the config gives its own
    const b = config.broker;
    const seeded = b === undefined || b.kind === 'embedded' ? { ...config, broker: { kind: 'embedded' as const, ...b, seed: b?.seed ?? seed } } : config;
    const made = brokerFromConfig(seeded, { ...(opts.fixStoreDir !== undefined ? { fixStoreDir: opts.fixStoreDir } : {}), logger, ...(opts.env !== undefined ? { env: opts.env } : {}), ...(clock !== undefined ? { clock } : {}) });
    broker = made.broker;
    sim = made.sim;
    environment = made.environment;
    sim?.setFaults(opts.faults ?? { duplicateReports: 0.02, reorderReports: 0.02 });
  }
  // room for every order of the session in the table (a finished one stays an hour)
  let capacity = 65536;
  while (capacity < total * 2 && capacity < 1 << 24) capacity *= 2;
  const engine = createEngine({
    ...(config !== undefined ? engineConfigOf(config) : { risk: { default: { maxOrderQty: 5000, maxPosition: 50_000 } }, initialCash: { USD: 1_000_000 } }),
    instruments,
    broker,
    environment,
    capacity: Math.max(capacity, config?.capacity ?? 0),
    journal: undefined,
    ...(clock !== undefined ? { clock, connection: { ...config?.connection, heartbeatMs: 0 } } : {}),
    logger,
  });
  const wallStart = Date.now();
  await engine.start();
  const now = (): number => (clock !== undefined ? clock.now() - SIM_ORIGIN : Date.now() - wallStart);
  /** Let simulated or real time reach `t` ms into the session. */
  const paced = opts.paced !== false;
  let lastYield = Date.now();
  const advanceTo = async (t: number): Promise<void> => {
    if (clock === undefined) {
      const wait = t - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return;
    }
    while (now() < t) {
      clock.advance(1);
      const ahead = now() - (Date.now() - wallStart);
      if (paced && ahead > 2) await new Promise((r) => setTimeout(r, ahead));
      else if (Date.now() - lastYield > 50) {
        // let the status line and I/O run
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
    }
  };

  // a broker with no quote stream (FIX): a seeded random walk from 100 stands in for the market
  const walk = new Map<string, number>();
  const quoteOf = (symbol: string): { bid: number; ask: number } | undefined => {
    const q = engine.quote(symbol);
    if (q !== undefined && q.bid > 0 && q.ask > 0) return q;
    if (sim !== undefined) return sim.quote(symbol);
    if (config?.broker?.kind !== 'fix') return undefined;
    const spec = instruments.find((i) => i.symbol === symbol)!;
    const mid = Math.max(spec.tickSize * 10, (walk.get(symbol) ?? 100) + rng.int(-1, 1) * spec.tickSize);
    walk.set(symbol, mid);
    const round = (px: number) => Number((Math.round(px / spec.tickSize) * spec.tickSize).toFixed(spec.pricePrecision));
    return { bid: round(mid - spec.tickSize), ask: round(mid + spec.tickSize) };
  };
  const scripted = {
    duplicateSubmit: 'not run', doubleCancel: 'not run', offTickPrice: 'not run', brokerReject: 'not run',
  };
  if (total < SCRIPTED_MIN_ORDERS) {
    for (const k of Object.keys(scripted) as Array<keyof typeof scripted>) scripted[k] = `skipped: the script needs --orders ${SCRIPTED_MIN_ORDERS} or more`;
    notes.push(`the scripted checks need ${SCRIPTED_MIN_ORDERS} orders or more; with ${total} they were skipped`);
  }
  // the off-tick check needs a tick wider than one price unit; the reject one a price far off the market
  const coarse = instruments.find((i) => Math.round(i.tickSize * 10 ** i.pricePrecision) > 1);
  let sent = 0;
  let cancelRequests = 0;
  let unpriced = 0;
  const recent: string[] = [];

  const makeOrder = (n: number): OrderRequest | undefined => {
    const spec = rng.pick(instruments);
    const side = rng.chance(0.5) ? 'buy' : 'sell';
    const lots = rng.int(1, 10);
    const qty = lots * (spec.lotSize ?? 1);
    const id = `demo-${seed}-${n}`;
    const market = rng.chance(0.15);
    const ticks = rng.int(-2, 6);
    const ioc = rng.chance(0.1);
    if (market) return { clientOrderId: id, symbol: spec.symbol, side, type: 'market', qty };
    const q = quoteOf(spec.symbol);
    if (q === undefined) return undefined;
    // from 2 ticks through the touch (marketable) to 6 ticks away (resting)
    const raw = side === 'buy' ? q.bid - ticks * spec.tickSize : q.ask + ticks * spec.tickSize;
    const price = Number(raw.toFixed(spec.pricePrecision));
    return { clientOrderId: id, symbol: spec.symbol, side, qty, price, tif: ioc ? 'ioc' : 'day' };
  };

  const act = (n: number) => {
    const order = makeOrder(n);
    const scriptOn = total >= SCRIPTED_MIN_ORDERS;
    if (scriptOn && n === 3) {
      // off-tick by one price unit: refused locally, never sent
      const q = coarse === undefined ? undefined : quoteOf(coarse.symbol);
      if (coarse === undefined || q === undefined) scripted.offTickPrice = 'skipped: no instrument with a tick wider than one price unit, or no quote';
      else {
        const r = engine.submit({ clientOrderId: `demo-${seed}-${n}`, symbol: coarse.symbol, side: 'buy', qty: coarse.lotSize ?? 1, price: Number((q.bid + 10 ** -coarse.pricePrecision).toFixed(coarse.pricePrecision)) });
        scripted.offTickPrice = r.status === 'denied' ? `denied ${r.reason}` : r.status;
      }
      return;
    }
    if (scriptOn && n === 4) {
      // far outside the broker's price band: sent, rejected by the broker (or denied here, when the config has a band)
      const spec = instruments[instruments.length - 1]!;
      const q = quoteOf(spec.symbol);
      if (q === undefined) scripted.brokerReject = 'skipped: no quote';
      else {
        const price = Number((Math.round((q.ask * 1.6) / spec.tickSize) * spec.tickSize).toFixed(spec.pricePrecision));
        const r = engine.submit({ clientOrderId: `demo-${seed}-${n}`, symbol: spec.symbol, side: 'sell', qty: spec.lotSize ?? 1, price });
        scripted.brokerReject = r.status === 'accepted' ? 'sent' : r.status === 'denied' ? `denied ${r.reason}` : r.status;
      }
      return;
    }
    if (order === undefined) {
      unpriced++;
      return;
    }
    engine.submit(order);
    if (scriptOn && n === 6) {
      const r = engine.submit(order);
      scripted.duplicateSubmit = r.status === 'duplicate' ? `duplicate brokerOrderId=${r.brokerOrderId || '(not yet acked)'}` : r.status;
    }
    if (scriptOn && n === 8) {
      const first = engine.cancel(order.clientOrderId);
      const second = engine.cancel(order.clientOrderId);
      cancelRequests += 2;
      scripted.doubleCancel = `${first.status}, then ${second.status}${second.status === 'ignored' ? ` ${second.reason}` : ''}`;
    }
    // cancel some resting orders: one of the last 256 sent that is still open (a table scan per
    // order made a 200,000-order session quadratic)
    recent[n & 255] = order.clientOrderId;
    if (rng.chance(0.3)) {
      const pick = recent[rng.int(0, Math.min(n, 255))];
      const o = pick === undefined ? undefined : engine.getOrder(pick);
      if (o !== undefined && (o.status === 'Submitted' || o.status === 'PartiallyFilled' || o.status === 'PendingNew')) {
        engine.cancel(o.clientOrderId);
        cancelRequests++;
      }
    }
  };

  // orders go out over the first 80% of the session, then resting orders trade on
  const tradingMs = durationMs * 0.8;
  const statusTimer = opts.onStatus ? setInterval(() => opts.onStatus!(statusLine(engine, Date.now() - wallStart)), 200) : undefined;
  try {
    const step = clock !== undefined ? 1 : 5;
    for (let t = 0; sent < total; t += step) {
      await advanceTo(t);
      const due = Math.min(total, Math.floor(((t + step) * total) / tradingMs));
      while (sent < due) act(sent++);
    }
    await advanceTo(durationMs);
    // paced: the session is never shorter than its duration
    const behind = durationMs - (Date.now() - wallStart);
    if (paced && clock !== undefined && behind > 0) await new Promise((r) => setTimeout(r, behind + 1));
  } finally {
    if (statusTimer) clearInterval(statusTimer);
  }
  if (unpriced > 0) notes.push(`${unpriced} limit order(s) were not sent: no quote for their symbol yet`);

  // Freeze the market and drain every report on the wire before comparing.
  if (sim !== undefined) {
    sim.setMarketRunning(false);
    let drained = false;
    void sim.idle().then(() => (drained = true));
    for (let k = 0; k < 10_000 && !drained; k++) {
      clock?.advance(1);
      await new Promise((r) => setImmediate(r));
    }
  } else await new Promise((r) => setTimeout(r, 1000));
  // Orders whose ack was lost stay PendingNew until recovery sync proves what the broker has.
  let recovery: SyncSummary | null = null;
  if (opts.resync !== false && engine.openOrders().some((o) => o.status === 'PendingNew')) recovery = await engine.resync({ graceMs: 0 });
  const consistency = await compareWithBroker(engine, broker);
  const elapsedMs = Date.now() - wallStart;
  if (elapsedMs > durationMs * 1.5 + 1000) notes.push(`the session took ${(elapsedMs / 1000).toFixed(1)} s of ${(durationMs / 1000).toFixed(1)} s: ${total} orders are more than this machine handles in that time`);
  const byStatus: Record<string, number> = {};
  for (const name of STATUS_NAMES) byStatus[name] = 0;
  for (const o of engine.orders()) byStatus[o.status]!++;
  const stats = engine.stats();
  const trades = await broker.syncTodayTrades();
  const lat = engine.latency();
  if (total >= SCRIPTED_MIN_ORDERS) {
    if (!scripted.duplicateSubmit.startsWith('duplicate')) consistency.problems.push(`duplicate submit answered ${scripted.duplicateSubmit}`);
    if (!scripted.doubleCancel.endsWith('ignored CANCEL_PENDING') && !scripted.doubleCancel.endsWith('ignored ORDER_FINISHED')) {
      consistency.problems.push(`double cancel answered ${scripted.doubleCancel}`);
    }
    if (scripted.offTickPrice !== 'denied TICK_SIZE' && !scripted.offTickPrice.startsWith('skipped')) consistency.problems.push(`off-tick order answered ${scripted.offTickPrice}`);
  }
  await engine.stop();
  return {
    seed,
    durationMs,
    broker: broker.name,
    environment,
    clock: clock !== undefined ? 'simulated' : 'wall',
    elapsedMs,
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
    notes,
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
  lines.push(`tradecore ${s.environment} session: seed=${s.seed} duration=${s.durationMs}ms broker=${s.broker} clock=${s.clock}`);
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
  for (const n of s.notes) lines.push(`note       ${n}`);
  const c = s.consistency;
  lines.push(
    c.consistent
      ? `consistent: ${c.checked.orders} orders, ${c.checked.openOrders} open, ${c.checked.trades} fills and ${c.checked.symbols} positions match the broker`
      : `INCONSISTENT: ${c.problems.length} problem(s)\n  ${c.problems.join('\n  ')}`,
  );
  return lines.join('\n');
}
