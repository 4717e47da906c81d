/**
 * What `tradecore certify --adapter` can name: the built-in adapters (`sim`, the embedded
 * simulated broker; `sim-tcp`, the TCP simulated broker; `fix`, a FIX 4.2/4.4 session to the
 * acceptor a config file names) and an ES module of the user's (docs/certify.md, "Your adapter").
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { NotSentError, type BrokerAdapter, type CancelOrderRequest, type PlaceOrderRequest, type ReportSink } from '../brokers/adapter.js';
import { SimBroker, type SimBrokerOptions } from '../brokers/sim/sim-broker.js';
import { SimBrokerServer } from '../brokers/sim/server.js';
import { RemoteSimBroker } from '../brokers/sim/remote.js';
import { FixBroker } from '../brokers/fix/adapter.js';
import { Secret } from '../connectivity/credentials.js';
import type { Clock } from '../core/clock.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import type { BrokerReport } from '../domain/report.js';
import { CAPABILITIES, type Capability, type Recipe, type RecipeKind, type Target, type Venue } from './harness.js';

export const CERTIFY_INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BOLT', tickSize: 0.01, pricePrecision: 2 },
];
const START_PRICES = { ACME: 50, BOLT: 20 };
const CASH = { USD: 1_000_000 };
/** The simulated brokers refuse more than this in one order (the `reject` recipe sends more). */
const SIM_MAX_QTY = 50_000;

const tick = (px: number) => Math.round(px * 100) / 100;

/** Recipes on a simulated broker with a book around `mid`. */
function simRecipe(mid: (symbol: string) => number) {
  return (kind: RecipeKind, side: 'buy' | 'sell', symbol: string): Recipe => {
    const m = mid(symbol);
    const s = side === 'buy' ? 1 : -1;
    switch (kind) {
      case 'rest':
        return { orders: [{ symbol, side, qty: 10, price: tick(m * (1 - 0.03 * s)) }], primary: 0 };
      case 'fill':
        return { orders: [{ symbol, side, qty: 10, price: tick(m * (1 + 0.02 * s)) }], primary: 0 };
      case 'partial':
        // more than the visible book within the limit: part fills now, the rest as liquidity comes back
        return { orders: [{ symbol, side, qty: 1200, price: tick(m * (1 + 0.002 * s)) }], primary: 0 };
      case 'reject':
        return { orders: [{ symbol, side, qty: SIM_MAX_QTY + 10, price: tick(m * (1 - 0.03 * s)) }], primary: 0 };
    }
  };
}

/** Count every order the simulated broker itself receives, per client order id. */
function countAtVenue(sim: SimBroker, into: Map<string, number>): void {
  const place = sim.placeOrder.bind(sim);
  sim.placeOrder = (req: PlaceOrderRequest) => {
    into.set(req.clientOrderId, (into.get(req.clientOrderId) ?? 0) + 1);
    place(req);
  };
}

/**
 * An adapter that forwards every call to `inner`: a base for adapter modules that change one
 * behaviour of another adapter (the broken fixtures of the certify tests are made so).
 */
export class ForwardingAdapter implements BrokerAdapter {
  constructor(readonly inner: BrokerAdapter) {}
  get name() {
    return this.inner.name;
  }
  get syncs() {
    return this.inner.syncs;
  }
  get syncDayOrders() {
    const inner = this.inner;
    return inner.syncDayOrders !== undefined ? () => inner.syncDayOrders!() : undefined;
  }
  connect(sink: ReportSink) {
    return this.inner.connect(sink);
  }
  disconnect() {
    return this.inner.disconnect();
  }
  heartbeat() {
    return this.inner.heartbeat();
  }
  placeOrder(req: PlaceOrderRequest) {
    this.inner.placeOrder(req);
  }
  cancelOrder(req: CancelOrderRequest) {
    this.inner.cancelOrder(req);
  }
  syncOpenOrders() {
    return this.inner.syncOpenOrders();
  }
  syncTodayTrades() {
    return this.inner.syncTodayTrades();
  }
  queryPositions() {
    return this.inner.queryPositions();
  }
  queryAccount() {
    return this.inner.queryAccount();
  }
}

/**
 * One session to the embedded simulated broker: the broker runs on (its market moves, resting
 * orders fill) whether or not a session is attached, as a venue does; a session that detaches
 * loses what was on its wire. Each engine of a case gets its own session. The sync and query
 * calls go to the broker as they are; sends and heartbeats need the session attached.
 */
export class SimSession extends ForwardingAdapter {
  private sink: ReportSink | undefined;

  constructor(
    private readonly sim: SimBroker,
    private readonly attach: (s: SimSession | undefined) => void,
  ) {
    super(sim);
  }

  /** Reports from the venue, while attached. */
  deliver(r: BrokerReport): void {
    this.sink?.onReport(r);
  }

  quote: ReportSink['onQuote'] = (q) => this.sink?.onQuote?.(q);

  override async connect(sink: ReportSink): Promise<void> {
    this.sink = sink;
    this.attach(this);
  }

  override async disconnect(): Promise<void> {
    this.sink = undefined;
    this.attach(undefined);
  }

  /** The venue went away under the session (a broker restart): the engine is told, as by a closed socket. */
  async dropped(reason: string): Promise<void> {
    const s = this.sink;
    this.sink = undefined;
    s?.onDisconnect(reason);
  }

  override async heartbeat() {
    if (this.sink === undefined) throw new Error('not connected');
    return this.sim.heartbeat();
  }

  override placeOrder(req: PlaceOrderRequest): void {
    if (this.sink === undefined) throw new NotSentError('sim session is not connected');
    this.sim.placeOrder(req);
  }

  override cancelOrder(req: CancelOrderRequest): void {
    if (this.sink === undefined) throw new NotSentError('sim session is not connected');
    this.sim.cancelOrder(req);
  }
}

export interface SimVenue extends Venue {
  /** The broker itself. */
  readonly sim: SimBroker;
  /** A session to it (what `adapter()` returns). */
  session(): SimSession;
}

/**
 * A case's embedded simulated broker on `clock`; `overrides` change its options (a broken
 * adapter fixture makes its broker slow, say). Exported for adapter modules built on it.
 */
export function simVenue(ctx: { clock: Clock; seed: number }, overrides: Partial<SimBrokerOptions> = {}): SimVenue {
  const sim = new SimBroker({
    instruments: CERTIFY_INSTRUMENTS, clock: ctx.clock, seed: ctx.seed, startPrices: START_PRICES, ackLatencyMs: 1, fillLatencyMs: 2, marketStepMs: 20,
    maxOrderQty: SIM_MAX_QTY, initialCash: CASH, ...overrides,
  });
  const placed = new Map<string, number>();
  countAtVenue(sim, placed);
  let attached: SimSession | undefined;
  void sim.connect({ onReport: (r) => attached?.deliver(r), onDisconnect: () => {}, onQuote: (q) => attached?.quote?.(q) });
  const venue: SimVenue = {
    sim,
    instruments: CERTIFY_INSTRUMENTS,
    initialCash: CASH,
    environment: 'paper',
    session: () => new SimSession(sim, (s) => (attached = s)),
    adapter: () => venue.session(),
    recipe: simRecipe((s) => sim.mid(s)),
    moveMarket: (symbol, price) => sim.setMid(symbol, price),
    mid: (symbol) => sim.mid(symbol),
    venuePlaced: () => placed,
    restartBroker: async () => {
      // the venue's records survive (as the TCP broker's state file keeps them); sessions and what was on the wire do not
      const state = sim.exportState();
      const s = attached;
      await sim.disconnect();
      sim.restoreState(state);
      await sim.connect({ onReport: (r) => attached?.deliver(r), onDisconnect: () => {}, onQuote: (q) => attached?.quote?.(q) });
      if (s !== undefined) {
        attached = undefined;
        await s.dropped('sim broker restarted');
      }
    },
    slowAcks: (ms) => sim.setAckLatency(ms),
    close: () => sim.disconnect(),
  };
  return venue;
}

export const SIM_TARGET: Target = {
  name: 'sim',
  time: 'manual',
  capabilities: new Set(CAPABILITIES),
  openVenue: async (ctx) => simVenue(ctx),
};

/** The TCP simulated broker, started in this process on a free port for each case; adapters are `RemoteSimBroker`s. */
export const SIM_TCP_TARGET: Target = {
  name: 'sim-tcp',
  time: 'real',
  capabilities: new Set(CAPABILITIES),
  openVenue: async (ctx) => {
    const secret = `certify-${ctx.seed}-secret`;
    const server = new SimBrokerServer({
      instruments: CERTIFY_INSTRUMENTS, credentials: { account: 'certify', secret: new Secret(secret) }, port: 0, marketStepMs: 20,
      stateFile: path.join(ctx.dir, 'sim-broker.state'),
      sim: { seed: ctx.seed, startPrices: START_PRICES, ackLatencyMs: 1, fillLatencyMs: 2, maxOrderQty: SIM_MAX_QTY, initialCash: CASH },
    });
    await server.start();
    const placed = new Map<string, number>();
    countAtVenue(server.broker, placed);
    return {
      instruments: CERTIFY_INSTRUMENTS,
      initialCash: CASH,
      adapter: () => new RemoteSimBroker({ port: server.port, credentials: { environment: 'sim', account: 'certify', secret: new Secret(secret), source: 'certify' } }),
      recipe: simRecipe((s) => server.broker.mid(s)),
      moveMarket: (symbol, price) => server.broker.setMid(symbol, price),
      mid: (symbol) => server.broker.mid(symbol),
      venuePlaced: () => placed,
      restartBroker: async () => {
        await server.restart();
        countAtVenue(server.broker, placed);
      },
      slowAcks: (ms) => server.broker.setAckLatency(ms),
      close: () => server.stop(),
    };
  },
};

export interface FixTargetOptions {
  host: string;
  port: number;
  beginString: 'FIX.4.2' | 'FIX.4.4';
  senderCompId: string;
  targetCompId: string;
  instruments: InstrumentSpec[];
  /** The price the recipes trade at, per symbol (default 10). */
  prices?: Record<string, number>;
  /** `ordermatch`: orders rest and cross each other (QuickFIX's ordermatch); `executor`: every order fills at once. */
  acceptor: 'ordermatch' | 'executor';
}

/**
 * A FIX session to an acceptor that is already running (QuickFIX's `ordermatch` or `executor`).
 * Each case trades symbols of its own (`ACME` becomes `ACME3` in case 3), so one acceptor's book
 * serves every case; each case's session keeps its own store.
 */
export function fixTarget(o: FixTargetOptions): Target {
  const matching = o.acceptor === 'ordermatch';
  let n = 0;
  return {
    name: 'fix',
    time: 'real',
    capabilities: new Set<Capability>(matching ? ['restingOrders', 'partialFills'] : []),
    missing: {
      restingOrders: matching ? undefined : 'executor fills every order at once',
      partialFills: matching ? undefined : 'executor fills every order whole',
      cancelReject: matching ? 'ordermatch does not answer a cancel of an order it has filled' : 'executor fills every order at once: no cancel can race a fill',
      reject: `${o.acceptor} rejects no order it can parse`,
      fillsWhileAway: 'no one else trades on the acceptor while the engine is away',
      restartBroker: 'the acceptor runs outside certify',
      slowAcks: `${o.acceptor} cannot be slowed`,
    } as Partial<Record<Capability, string>>,
    openVenue: async (ctx) => {
      n++;
      const instruments = o.instruments.map((i) => ({ ...i, symbol: `${i.symbol}${n}` }));
      const px = (symbol: string) => o.prices?.[symbol.replace(/\d+$/, '')] ?? 10;
      const store = path.join(ctx.dir, 'fix');
      return {
        instruments,
        adapter: () => new FixBroker({
          host: o.host, port: o.port, beginString: o.beginString, senderCompId: o.senderCompId, targetCompId: o.targetCompId,
          storeDir: store, resetOnLogon: true, heartbeatSeconds: 5, logger: pino({ level: 'silent' }), tradingDay: false, clock: ctx.clock,
        }),
        recipe: (kind, side, symbol) => {
          const p = px(symbol);
          const other = side === 'buy' ? 'sell' : 'buy';
          if (!matching) return kind === 'fill' ? { orders: [{ symbol, side, qty: 10, price: p }], primary: 0 } : undefined;
          switch (kind) {
            case 'rest':
              return { orders: [{ symbol, side, qty: 10, price: tick(side === 'buy' ? p * 0.9 : p * 1.1) }], primary: 0 };
            case 'fill':
              return { orders: [{ symbol, side: other, qty: 10, price: p }, { symbol, side, qty: 10, price: p }], primary: 1 };
            case 'partial':
              return { orders: [{ symbol, side, qty: 100, price: p }, { symbol, side: other, qty: 30, price: p }, { symbol, side: other, qty: 70, price: p }], primary: 0 };
            case 'reject':
              return undefined;
          }
        },
        close: async () => {},
      };
    },
  };
}

/**
 * A user's adapter module. Either the whole target (`export const target`), or:
 * - `export default function createAdapter(ctx)`: a new `BrokerAdapter` to the case's broker;
 * - `export const instruments`: what to trade;
 * - `export function recipe(kind, side, symbol)`: the orders that make the broker ack (`rest`),
 *   fill, partly fill or reject (return undefined for what it cannot do);
 * - optional `capabilities` (names from the capability list), `initialCash`, `restartBroker(ctx)`.
 */
export async function moduleTarget(file: string): Promise<Target> {
  const url = pathToFileURL(path.resolve(file)).href;
  let m: Record<string, unknown>;
  try {
    m = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`--adapter ${file}: cannot load it: ${(err as Error).message}`);
  }
  if (typeof m.target === 'object' && m.target !== null) {
    const t = m.target as Target;
    if (typeof t.openVenue !== 'function') throw new Error(`--adapter ${file}: its target has no openVenue function`);
    return { ...t, name: t.name ?? path.basename(file) };
  }
  const create = (m.createAdapter ?? m.default) as ((ctx: unknown) => BrokerAdapter | Promise<BrokerAdapter>) | undefined;
  if (typeof create !== 'function') throw new Error(`--adapter ${file}: exports neither a target nor a createAdapter function (docs/certify.md, "Your adapter")`);
  const instruments = m.instruments as InstrumentSpec[] | undefined;
  if (!Array.isArray(instruments) || instruments.length === 0) throw new Error(`--adapter ${file}: exports no instruments`);
  const recipe = m.recipe as Venue['recipe'] | undefined;
  if (typeof recipe !== 'function') throw new Error(`--adapter ${file}: exports no recipe function (how to make its broker ack, fill, partly fill and reject)`);
  const caps = new Set<Capability>();
  for (const c of (m.capabilities as unknown[] | undefined) ?? []) {
    if (!CAPABILITIES.includes(c as Capability)) throw new Error(`--adapter ${file}: unknown capability ${JSON.stringify(c)} (known: ${CAPABILITIES.join(', ')})`);
    caps.add(c as Capability);
  }
  const restart = m.restartBroker as ((ctx: unknown) => Promise<void>) | undefined;
  return {
    name: path.basename(file),
    time: 'real',
    capabilities: caps,
    openVenue: async (ctx) => ({
      instruments,
      ...(m.initialCash !== undefined ? { initialCash: m.initialCash as Record<string, number> } : {}),
      ...(m.environment === 'paper' ? { environment: 'paper' as const } : {}),
      adapter: () => create(ctx),
      recipe,
      ...(restart !== undefined ? { restartBroker: () => restart(ctx) } : {}),
      close: async () => {},
    }),
  };
}

/** `--adapter NAME`: a built-in name or a module's path. */
export async function targetOf(name: string, fix?: FixTargetOptions): Promise<Target> {
  if (name === 'sim') return SIM_TARGET;
  if (name === 'sim-tcp') return SIM_TCP_TARGET;
  if (name === 'fix') {
    if (fix === undefined) throw new Error('--adapter fix needs --config FILE with a broker section of kind fix');
    return fixTarget(fix);
  }
  return moduleTarget(name);
}
