/**
 * A user's strategy module, loaded by `tradecore run --strategy MODULE`.
 *
 * The module is an ES module whose default export (or named export `createStrategy`) is a
 * factory: it is called once with a {@link StrategyContext} and returns the strategy's
 * callbacks, or a promise of them. See `examples/strategy.mjs` and the README.
 *
 * @example
 * // my-strategy.mjs
 * export default function createStrategy(ctx) {
 *   return {
 *     onQuote(q) { if (ctx.openOrders().length === 0) ctx.submit({ clientOrderId: ctx.nextId(), symbol: q.symbol, side: 'buy', qty: 1, price: q.ask }); },
 *     onTrade(t) { ctx.logger.info({ id: t.clientOrderId, qty: t.qty, px: t.price }, 'filled'); },
 *   };
 * }
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine } from '../engine.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Account, Position } from '../core/ledger.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import type { CancelResult, Order, OrderRequest, SubmitResult } from '../domain/order.js';
import type { ExecutionReport, Quote, Trade } from '../domain/report.js';
import type { TradingState } from '../risk/trading-state.js';
import type { Logger } from '../ops/logger.js';

/** What a strategy is given: the engine's order entry and state, a logger, a clock and timers. */
export interface StrategyContext {
  /** Submit an order (see `Engine.submit`): accepted, duplicate or denied, at once. */
  submit(order: OrderRequest): SubmitResult;
  /** Cancel by client order id (see `Engine.cancel`); idempotent. */
  cancel(clientOrderId: string): CancelResult;
  positions(): Position[];
  account(): Account;
  openOrders(): Order[];
  order(clientOrderId: string): Order | undefined;
  /** The last quote of a symbol (a copy), undefined before the first. */
  quote(symbol: string): Quote | undefined;
  readonly instruments: readonly InstrumentSpec[];
  readonly tradingState: TradingState;
  /** A fresh client order id, unique in this process: `<prefix>-<start time base 36>-<n>`. */
  nextId(prefix?: string): string;
  /** pino, with `strategy` on every line. */
  readonly logger: Logger;
  /** The engine's clock: epoch milliseconds. */
  now(): number;
  /** Timers the host clears at stop; an exception in one is caught and logged. */
  setTimeout(fn: () => void, ms: number): number;
  setInterval(fn: () => void, ms: number): number;
  clearTimer(handle: number): void;
}

/**
 * The callbacks a strategy module's factory returns. Every one is optional. The report
 * callbacks get reusable views (see `StrategyCallbacks`): read them during the call, keep
 * `view.toObject()` to hold one. `onStart` runs once the engine is Ready, `onStop` before the
 * service stops (open orders are handled after it, as the config's `shutdown` says). `onQuote` is
 * called from `onStart` on and not after `onStop`.
 */
export interface StrategyHooks {
  onStart?(): void | Promise<void>;
  onQuote?(quote: Quote): void;
  onOrder?(order: Order & { toObject(): Order }): void;
  onTrade?(trade: Trade & { toObject(): Trade }): void;
  onExecutionReport?(report: ExecutionReport & { toObject(): ExecutionReport }): void;
  onStop?(): void | Promise<void>;
}

export type StrategyFactory = (ctx: StrategyContext) => StrategyHooks | Promise<StrategyHooks>;

const HOOKS = ['onStart', 'onQuote', 'onOrder', 'onTrade', 'onExecutionReport', 'onStop'];

/** The module can't be loaded, has no factory, or its factory failed. */
export class StrategyLoadError extends Error {}

/** A loaded strategy: its hooks, registered on the engine, and the timers it made. */
export class StrategyHost {
  /** The strategy's timers, on the engine's clock (an accelerated clock runs them faster too). */
  private readonly timers = new Map<number, { kind: 'timeout' | 'interval'; handle: TimerHandle }>();
  private nextTimer = 1;
  private idSeq = 0;
  private readonly idBase = Date.now().toString(36);
  /** Exceptions thrown by the strategy's timers, onStart or onStop (report callbacks count as engine anomalies). */
  errors = 0;
  private stopped = false;
  /** Between onStart and onStop: quotes are passed on. */
  private live = false;
  private hooks: StrategyHooks = {};

  private constructor(
    readonly file: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Import the module and call its factory. */
  static async load(module: string, engine: Engine, logger: Logger): Promise<StrategyHost> {
    const file = path.resolve(module);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new StrategyLoadError(`--strategy ${module}: cannot load it: ${(err as Error).message}`);
    }
    const factory = (typeof mod.default === 'function' ? mod.default : mod.createStrategy) as StrategyFactory | undefined;
    if (typeof factory !== 'function') throw new StrategyLoadError(`--strategy ${module}: the module must export a factory function, as default or as createStrategy (see examples/strategy.mjs)`);
    const log = logger.child({ strategy: path.basename(file) });
    const host = new StrategyHost(file, log, engine.clock);
    let hooks: StrategyHooks;
    try {
      hooks = await factory(host.context(engine));
    } catch (err) {
      throw new StrategyLoadError(`--strategy ${module}: its factory threw: ${(err as Error).message}`);
    }
    if (typeof hooks !== 'object' || hooks === null) throw new StrategyLoadError(`--strategy ${module}: the factory must return an object of callbacks (${HOOKS.join(', ')})`);
    const problems: string[] = [];
    for (const [k, v] of Object.entries(hooks)) {
      if (!HOOKS.includes(k)) problems.push(`${k}: unknown callback (known: ${HOOKS.join(', ')})`);
      else if (typeof v !== 'function') problems.push(`${k}: must be a function`);
    }
    if (problems.length > 0) throw new StrategyLoadError(`--strategy ${module}: ${problems.join('; ')}`);
    host.hooks = hooks;
    const callbacks: Record<string, unknown> = {};
    for (const k of ['onOrder', 'onTrade', 'onExecutionReport'] as const) if (hooks[k] !== undefined) callbacks[k] = hooks[k].bind(hooks);
    // quotes reach the strategy from onStart on, and not after its onStop
    const onQuote = hooks.onQuote;
    if (onQuote !== undefined) callbacks.onQuote = (q: Quote) => {
      if (host.live) onQuote.call(hooks, q);
    };
    engine.setStrategy(callbacks);
    return host;
  }

  private context(engine: Engine): StrategyContext {
    return {
      submit: (o) => engine.submit(o),
      cancel: (id) => engine.cancel(id),
      positions: () => engine.positions(),
      account: () => engine.account(),
      openOrders: () => engine.openOrders(),
      order: (id) => engine.getOrder(id),
      quote: (s) => engine.quote(s),
      instruments: engine.instruments.map((i) => ({ symbol: i.symbol, tickSize: i.tickSize, pricePrecision: i.pricePrecision, lotSize: i.lotSize, currency: i.currency, multiplier: i.multiplier })),
      get tradingState() {
        return engine.tradingState;
      },
      nextId: (prefix = 's') => `${prefix}-${this.idBase}-${++this.idSeq}`,
      logger: this.logger,
      now: () => engine.clock.now(),
      setTimeout: (fn, ms) => this.timer('timeout', fn, ms),
      setInterval: (fn, ms) => this.timer('interval', fn, ms),
      clearTimer: (h) => {
        const t = this.timers.get(h);
        if (t === undefined) return;
        this.clock.clearTimer(t.handle);
        this.timers.delete(h);
      },
    };
  }

  private timer(kind: 'timeout' | 'interval', fn: () => void, ms: number): number {
    if (typeof fn !== 'function') throw new TypeError('timer callback must be a function');
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`timer delay must be a finite number of ms >= 0, got ${ms}`);
    if (this.stopped) return 0;
    const id = this.nextTimer++;
    const every = kind === 'timeout' ? ms : Math.max(1, ms);
    const run = () => {
      if (kind === 'timeout') this.timers.delete(id);
      // an interval is armed again before it runs, so a callback that clears it is obeyed
      else if (this.timers.has(id)) this.timers.set(id, { kind, handle: this.clock.setTimer(run, every) });
      try {
        fn();
      } catch (err) {
        this.errors++;
        this.logger.error({ err }, 'strategy timer threw');
      }
    };
    this.timers.set(id, { kind, handle: this.clock.setTimer(run, every) });
    return id;
  }

  /** Run `onStart`; a throw is logged and counted, and the service goes on without a start hook. */
  async start(): Promise<void> {
    await this.call('onStart');
    if (!this.stopped) this.live = true;
  }

  /** Clear every timer, then run `onStop`. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.live = false;
    for (const t of this.timers.values()) this.clock.clearTimer(t.handle);
    this.timers.clear();
    await this.call('onStop');
  }

  /** Timers waiting now. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  private async call(hook: 'onStart' | 'onStop'): Promise<void> {
    const fn = this.hooks[hook];
    if (fn === undefined) return;
    try {
      await fn.call(this.hooks);
    } catch (err) {
      this.errors++;
      this.logger.error({ err }, `strategy ${hook} threw`);
    }
  }
}
