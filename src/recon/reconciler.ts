/**
 * Intraday reconciliation: compare the engine's orders, fills, positions and cash with the
 * broker's records, fix what the policy lets it fix, and keep the rest as open diffs for a
 * person (docs/reconciliation.md).
 *
 * A consistent cut: the broker's records are fetched while the engine keeps trading; every
 * order that gets a live report during the run is left out of this run (its report is newer
 * than the records), and so are the positions and cash of its symbol. What is left can still
 * be a report in flight (the broker's records already hold a fill whose report is on the
 * wire), so a difference is raised or fixed only when it is still there `graceMs` after it
 * was first seen. Orders sent or cancelled less than `graceMs` ago are in flight too.
 *
 * Fixes go through the engine's own report pipeline (a missed fill is applied as its broker
 * trade, with the broker's execId, so the live report, a later sync and a journal replay all
 * drop it as a duplicate; a status the broker finished is applied as a report with the
 * deterministic execId `recon:<kind>:<brokerOrderId>`). Position, cash and price corrections
 * are ledger adjustments, journaled before they are applied.
 */
import type { BrokerAdapter } from '../brokers/adapter.js';
import type { Clock } from '../core/clock.js';
import type { Instrument } from '../domain/instrument.js';
import { STATUS_NAMES } from '../domain/order-status.js';
import type { BrokerAccount, BrokerOrder, BrokerPosition, BrokerReport, BrokerTrade } from '../domain/report.js';
import type { Logger } from '../ops/logger.js';
import type { TradingState } from '../risk/trading-state.js';
import { OrderArchive, type ArchiveColumns } from '../core/day-store.js';
import {
  OPEN_STATUSES, resolveReconConfig, type Correction, type Diff, type DiffAction, type DiffKind, type DiffSeverity, type DiffValue, type LocalOrder,
  type ReconConfig, type ResolvedReconConfig,
} from './diff.js';

/** The broker's records at one moment. `day` is undefined when the adapter cannot list finished orders. */
/** What the broker reports in symbols this engine does not configure, by symbol. */
type UnknownSymbols = Map<string, { orders: Set<string>; filled: number; position: number }>;

function unknownEntry(unknown: UnknownSymbols, symbol: string) {
  let u = unknown.get(symbol);
  if (u === undefined) unknown.set(symbol, (u = { orders: new Set(), filled: 0, position: 0 }));
  return u;
}

export interface BrokerView {
  readonly open: BrokerOrder[];
  readonly day: BrokerOrder[] | undefined;
  readonly trades: BrokerTrade[];
  readonly positions: BrokerPosition[];
  readonly cash: BrokerAccount[];
  /** Engine time the fetch finished. */
  readonly time: number;
}

/** A change reconciliation makes outside the report pipeline; journaled, replayed. */
export type Adjustment =
  /** Add `qty` (signed) to the symbol's position at its average price; cash untouched. */
  | { what: 'position'; symbol: string; qty: number }
  /** Add `amount` to the currency's cash. */
  | { what: 'cash'; currency: string; amount: number }
  /** An order's fills re-priced: total fill value from `from` to `to` (cash and P&L follow). */
  | { what: 'fill-value'; clientOrderId: string; from: number; to: number }
  /** An open order's limit price as the broker holds it (decimal). */
  | { what: 'limit-price'; clientOrderId: string; price: number };

/** A diff as the journal and a snapshot hold it. */
export type DiffData = Diff;

/** What the journal records of reconciliation (replayed at restart). */
export type ReconEvent =
  | { op: 'raise'; diff: DiffData }
  | { op: 'fix'; id: string; who: string; note: string; side: 'broker'; adjust: Adjustment[] }
  | { op: 'resolve'; id: string; who: string; note: string; side: 'local'; accepted: string }
  | { op: 'ack'; id: string; who: string; note: string }
  | { op: 'clear'; id: string; note: string }
  | { op: 'action'; action: string; who: string; note: string }
  /** A run finished (the go-live gate reads the runs of a day to see them on schedule). */
  | { op: 'run'; run: number; trigger: string; raised: number; open: number; openCritical: number };

/** What the observers hear. */
export interface DiffEvent {
  readonly type: 'raised' | 'fixed' | 'resolved' | 'acknowledged' | 'cleared';
  readonly diff: Diff;
}

/** What reconciliation may read and do in the engine. */
export interface ReconTarget {
  readonly instruments: readonly Instrument[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly broker: BrokerAdapter;
  /** Why the broker cannot be asked now, or '' when it can. */
  notReady(): string;
  /** Every order the engine holds (live and retained), oldest first. */
  orders(): LocalOrder[];
  /**
   * Up to `max` of the engine's orders, in table order from position `from`; `next` is where
   * the following page starts, -1 after the last. Lets a run read 10k+ orders between yields.
   */
  ordersPage(from: number, max: number): { orders: LocalOrder[]; next: number };
  /** One order the engine holds, by client id or broker id. */
  order(clientOrderId: string): LocalOrder | undefined;
  orderByBrokerId(brokerOrderId: string): LocalOrder | undefined;
  /** Whether the engine applied this fill; undefined when it no longer holds the order. */
  hasExec(clientOrderId: string, execId: string): boolean | undefined;
  /** Current position per symbol and cash per currency. */
  positions(): Map<string, number>;
  cash(): Record<string, number>;
  /** The engine's report pipeline (journaled, deduplicated, callbacks fire). */
  apply(report: BrokerReport): void;
  /** Apply an adjustment (the caller journals it first). */
  adjust(a: Adjustment): void;
  tradingState(): TradingState;
  setTradingState(state: TradingState, reason: string): void;
  /** Journal one event; false when the journal refused it (nothing is changed then). */
  record(ev: ReconEvent): boolean;
  notify(ev: DiffEvent): void;
  correction(c: Correction): void;
  /** Start collecting the client ids of orders submitted, cancelled or reported live; `stop` ends it. */
  watch(): { readonly touched: ReadonlySet<string>; stop(): void };
  /** The current trading day's name (diffs are marked with the day they were raised). */
  day?(): string;
}

/** What one reconciliation run found and did. */
export interface ReconRun {
  readonly run: number;
  readonly trigger: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Wall time of the whole run (fetch included), ms. */
  readonly durationMs: number;
  /** Longest stretch the run held the event loop (comparison slices), ms. */
  readonly maxSliceMs: number;
  readonly checked: { readonly orders: number; readonly brokerOrders: number; readonly trades: number; readonly symbols: number; readonly currencies: number };
  /** Orders and symbols left out because a live report arrived during the run, or because they are in flight. */
  readonly inFlight: number;
  /** Differences seen but still inside the grace period. */
  readonly pending: number;
  readonly raised: Diff[];
  readonly fixed: Diff[];
  readonly cleared: Diff[];
  /**
   * What this run could not compare because the adapter cannot ask its broker
   * (`BrokerAdapter.syncs`), each with why; empty when everything was compared.
   */
  readonly notCompared: string[];
  /** Open diffs after the run, and how many of them are critical. */
  readonly open: number;
  readonly openCritical: number;
}

/** The inputs of the end-of-day report (see eod.ts); plain data. */
export interface EodInput {
  readonly date: string;
  readonly generatedAt: number;
  readonly broker: string;
  readonly orders: LocalOrder[];
  readonly brokerOrders: BrokerOrder[];
  readonly trades: Array<BrokerTrade & { applied: boolean }>;
  readonly positions: Array<{ symbol: string; local: number; broker: number }>;
  readonly cash: Array<{ currency: string; local: number; broker: number | null }>;
  readonly diffs: Diff[];
}

/** A difference found by one comparison, before the grace period and the policy. */
interface Candidate {
  kind: DiffKind;
  key: string;
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  currency: string;
  local: DiffValue;
  broker: DiffValue;
  detail: string;
  /** The engine-side change that takes the broker's side; `safe` ones the policy may apply unasked. */
  fix: Fix | undefined;
  /**
   * For order-level differences: whether the engine's order still shows it (a fix applied
   * earlier in the same run, to another field of the order, may have settled it).
   */
  holds?: () => boolean;
  /** Position and cash this difference accounts for while it is not fixed (broker minus engine). */
  explains: { symbol: string; qty: number; currency: string; cash: number } | undefined;
}

/** A correction before the run that made it names its diff, source and time. */
type Change = Omit<Correction, 'source' | 'diffId' | 'time' | 'kind'>;

interface Fix {
  readonly safe: boolean;
  /** Apply it; returns the corrections made, or a reason it cannot be applied. */
  run(source: 'auto' | 'manual', id: string): { corrections: Change[]; adjust: Adjustment[] } | string;
}

const WHO = 'reconciliation';
/** Items between two looks at the clock; a slice yields once it has run SLICE_MS. */
const SLICE = 256;
const SLICE_MS = 2;
const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const FINAL_KIND: Record<string, BrokerReport['kind'] | undefined> = { Cancelled: 'canceled', Expired: 'expired', Rejected: 'rejected' };

export class ReconError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'CONFLICT' | 'NOT_READY' | 'JOURNAL',
    message: string,
  ) {
    super(message);
  }
}

export class Reconciler {
  readonly config: ResolvedReconConfig;
  private readonly diffs = new Map<string, Diff>();
  /** Open diff by key. */
  private readonly openByKey = new Map<string, Diff>();
  /** Differences inside their grace period: key → first seen. */
  private readonly pending = new Map<string, number>();
  /** Keys resolved accepting the engine's side, with the values accepted. */
  private readonly accepted = new Map<string, string>();
  /**
   * Finished orders of the day the engine's table let go after their retention (the engine adds
   * to it as it releases them and clears it when the day rolls; see archive.ts).
   */
  readonly archive: OrderArchive;
  /** The end of the queue of runs and broker-side resolutions (see `exclusive`). */
  private tail: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private runs = 0;
  private running: Promise<ReconRun> | undefined;
  private timer: ReturnType<Clock['setTimer']> | undefined;
  private lastView: BrokerView | undefined;
  private _lastRun: ReconRun | undefined;
  private sliceStart = 0;
  private maxSlice = 0;
  private replaying = false;

  constructor(
    private readonly target: ReconTarget,
    config: ReconConfig | undefined,
    archive: OrderArchive = new OrderArchive(),
  ) {
    this.config = resolveReconConfig(config);
    this.archive = archive;
  }

  /**
   * The trading day rolled (the engine has let the day's finished orders go): diffs that are no
   * longer open leave memory (they stay in the journal and the day's report), open ones carry
   * over marked with the day they were raised, and nothing seen but not yet raised survives, so
   * nothing is raised from the old day's records. Returns the open diffs carried over.
   */
  rollDay(): number {
    let carried = 0;
    for (const [id, d] of this.diffs) {
      if (d.state === 'open') carried++;
      else this.diffs.delete(id);
    }
    const keys = new Set([...this.openByKey.keys()]);
    for (const k of [...this.accepted.keys()]) if (!keys.has(k)) this.accepted.delete(k);
    this.pending.clear();
    this.actions.length = 0;
    this.lastView = undefined;
    this.dayEpoch++;
    this.vStatus = new Uint8Array(0);
    this.vCum = new Float64Array(0);
    this.vTraded = new Float64Array(0);
    return carried;
  }

  get lastRun(): ReconRun | undefined {
    return this._lastRun;
  }

  /** The run under way, if any (a periodic run started by its timer, or one asked for). */
  get inProgress(): Promise<ReconRun> | undefined {
    return this.running;
  }

  /** Start the periodic runs (when `intervalMs` > 0). */
  start(): void {
    if (this.config.intervalMs <= 0 || this.timer !== undefined) return;
    // fixed rate: each run is due one interval after the last was due, not after it finished
    // (a run that takes a while must not push every later one back); a run that overran its
    // interval makes the next start at once, never two at once
    const every = this.config.intervalMs;
    let due = this.target.clock.now() + every;
    const tick = () => {
      const now = this.target.clock.now();
      while (due <= now - every) due += every;
      const wait = Math.max(0, due - now);
      due += every;
      this.timer = this.target.clock.setTimer(() => {
        this.timer = undefined;
        if (this.target.notReady() !== '') {
          tick();
          return;
        }
        this.run('interval').then(
          () => tick(),
          (err: unknown) => {
            this.target.logger.warn({ err: (err as Error).message }, 'reconciliation run failed');
            tick();
          },
        );
      }, wait);
    };
    tick();
  }

  stop(): void {
    if (this.timer !== undefined) this.target.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  // ---- reading ----

  /** Diffs in the order found; by default the open ones. */
  list(filter: { state?: Diff['state'] | 'all' } = {}): Diff[] {
    const want = filter.state ?? 'open';
    return [...this.diffs.values()].filter((d) => want === 'all' || d.state === want).map(copyDiff);
  }

  get(id: string): Diff | undefined {
    const d = this.diffs.get(id);
    return d === undefined ? undefined : copyDiff(d);
  }

  /** Open critical diffs (readiness reports them). */
  openCritical(): Diff[] {
    return [...this.openByKey.values()].filter((d) => d.severity === 'critical').map(copyDiff);
  }

  // ---- running ----

  /**
   * Run one reconciliation now; a run already under way is joined rather than repeated.
   * Rejects when the broker cannot be asked (not connected) or a fetch fails.
   */
  run(trigger = 'manual'): Promise<ReconRun> {
    if (this.running !== undefined) return this.running;
    const p = this.exclusive(() => this.runOnce(trigger)).finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  /**
   * Runs and broker-side resolutions take turns: each reads the broker and the engine, then
   * changes the engine. Interleaved, a resolution applied between a run's comparison and its
   * decisions would be raised again by that run as a new difference.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async runOnce(trigger: string): Promise<ReconRun> {
    const why = this.target.notReady();
    if (why !== '') throw new ReconError('NOT_READY', `cannot reconcile: ${why}`);
    const { clock } = this.target;
    const startedAt = clock.now();
    const wall0 = performance.now();
    this.maxSlice = 0;
    const watch = this.target.watch();
    const raised: Diff[] = [];
    const fixed: Diff[] = [];
    const cleared: Diff[] = [];
    let inFlight = 0;
    let checked: ReconRun['checked'];
    const seen = new Set<string>();
    /** Keys that could not be compared this run (in flight): their open diffs stay as they are. */
    const skipped = new Set<string>();
    try {
      const view = await this.fetch();
      this.lastView = view;
      this.sliceStart = performance.now();
      const now = clock.now();
      // 1. orders and fills
      const { candidates, skippedOrders, orders, checkedOrders, brokerOrders, unknown: unknownSymbols } = await this.compareOrders(view, watch.touched, now);
      inFlight += skippedOrders.length;
      for (const id of skippedOrders) for (const k of ORDER_KEYS) skipped.add(`${k}:${id}`);
      const explained: Candidate[] = [];
      for (const c of candidates) {
        if (c.clientOrderId !== '' && watch.touched.has(c.clientOrderId)) {
          // changed by a live report, a submit or a cancel after it was compared: not this run's to judge
          skipped.add(c.key);
          inFlight++;
          continue;
        }
        seen.add(c.key);
        const d = this.decide(c, now);
        // what the engine did not change still accounts for part of the positions and cash
        if (d === 'gone') continue;
        if (d === undefined || d === 'pending' || d === 'accepted' || d.state !== 'fixed') explained.push(c);
        if (typeof d === 'object') (d.state === 'fixed' ? fixed : raised).push(d);
      }
      await this.slice();
      // 2. positions and cash, on the engine's state after the order-level fixes
      const touchedSymbols = this.symbolsOf(watch.touched, orders);
      const pc = this.comparePositions(view, explained, touchedSymbols, this.target.clock.now(), unknownSymbols);
      inFlight += pc.skipped.length;
      for (const k of pc.skipped) skipped.add(k);
      for (const c of pc.candidates) {
        seen.add(c.key);
        const d = this.decide(c, now);
        if (typeof d === 'object') (d.state === 'fixed' ? fixed : raised).push(d);
      }
      checked = { orders: checkedOrders, brokerOrders: brokerOrders, trades: view.trades.length, symbols: pc.symbols, currencies: pc.currencies };
    } finally {
      watch.stop();
    }
    // 3. what was not seen again is gone
    for (const key of [...this.pending.keys()]) if (!seen.has(key) && !skipped.has(key)) this.pending.delete(key);
    for (const [key, d] of [...this.openByKey]) {
      if (seen.has(key) || skipped.has(key) || raised.includes(d)) continue;
      this.close(d, 'clear', WHO, 'the difference is no longer there', undefined);
      cleared.push(copyDiff(d));
    }
    for (const key of [...this.accepted.keys()]) if (!seen.has(key) && !skipped.has(key)) this.accepted.delete(key);
    const finishedAt = clock.now();
    const run: ReconRun = {
      run: ++this.runs,
      trigger,
      startedAt,
      finishedAt,
      durationMs: performance.now() - wall0,
      maxSliceMs: Math.max(this.maxSlice, performance.now() - this.sliceStart),
      checked,
      inFlight,
      pending: this.pending.size,
      notCompared: notComparedOf(this.target.broker),
      raised: raised.map(copyDiff),
      fixed: fixed.map(copyDiff),
      cleared,
      open: this.openByKey.size,
      openCritical: this.openCritical().length,
    };
    this._lastRun = run;
    this.record({ op: 'run', run: run.run, trigger, raised: run.raised.length, open: run.open, openCritical: run.openCritical });
    const level = run.raised.length > 0 ? 'warn' : 'info';
    this.target.logger[level](
      { run: run.run, trigger, raised: run.raised.length, fixed: run.fixed.length, cleared: cleared.length, pending: run.pending, open: run.open, openCritical: run.openCritical, durationMs: Math.round(run.durationMs * 10) / 10 },
      'reconciliation done',
    );
    return run;
  }

  private async fetch(): Promise<BrokerView> {
    const b = this.target.broker;
    const [open, trades, day, positions, cash] = await Promise.all([
      b.syncOpenOrders(), b.syncTodayTrades(), b.syncDayOrders !== undefined ? b.syncDayOrders() : Promise.resolve(undefined), b.queryPositions(), b.queryAccount(),
    ]);
    // cash the adapter cannot query is not compared (an empty answer is not "no cash")
    return { open, trades, day, positions, cash: b.syncs?.account === false ? [] : cash, time: this.target.clock.now() };
  }

  /** Yield to the event loop when the current slice has run long enough. */
  private async slice(force = true): Promise<void> {
    const t = performance.now();
    if (!force && t - this.sliceStart < SLICE_MS) return;
    this.maxSlice = Math.max(this.maxSlice, t - this.sliceStart);
    await yieldLoop();
    this.sliceStart = performance.now();
  }

  /** `fn` over `items`, yielding to the event loop when a slice has run long enough. */
  private async each<T>(items: Iterable<T>, fn: (x: T) => void): Promise<void> {
    let n = 0;
    for (const x of items) {
      fn(x);
      if (++n % SLICE === 0) await this.slice(false);
    }
  }

  private symbolsOf(touched: ReadonlySet<string>, orders: Map<string, LocalOrder>): Set<string> {
    const out = new Set<string>();
    for (const id of touched) {
      const symbol = orders.get(id)?.symbol ?? this.target.order(id)?.symbol;
      if (symbol !== undefined) out.add(symbol);
    }
    return out;
  }

  /**
   * Compare orders and fills. Every broker order (and every order id the trades name) is
   * matched to the engine's order by broker id, else by client id; then every engine order the
   * broker did not name. Yields to the event loop every few thousand orders.
   */
  private async compareOrders(view: BrokerView, touched: ReadonlySet<string>, now: number) {
    const { qtyTolerance: eps, graceMs } = this.config;
    // the engine's side is read a page at a time, the archive and the indexes a slice at a
    // time: at 10k orders, reading them all at once held the event loop for several ms
    const orders = new Map<string, LocalOrder>();
    const storedBefore = this.archive.size;
    for (let from = 0; from >= 0; ) {
      const page = this.target.ordersPage(from, SLICE);
      for (const o of page.orders) orders.set(o.clientOrderId, o);
      from = page.next;
      await this.slice(false);
    }
    // The day's store is read by broker id as the broker names its orders, not copied whole:
    // at 300k orders building an object per stored order each run cost most of a run. An order
    // released while the pages were read is in the store, found the same way.
    const archive = this.archive;
    const archived = archive.size;
    const epoch = this.dayEpoch;
    const named = new Uint8Array(archived);
    this.verifiedRoom(archived);
    // released while the pages were read: in both, counted once
    let inBoth = 0;
    for (let i = storedBefore; i < archived; i++) if (orders.has(archive.clientIdAt(i))) inBoth++;
    const byBroker = new Map<string, LocalOrder>();
    await this.each(orders.values(), (o) => {
      if (o.brokerOrderId !== '') byBroker.set(o.brokerOrderId, o);
    });
    const brokerOrders = new Map<string, BrokerOrder>();
    await this.each(view.day ?? [], (b) => brokerOrders.set(b.brokerOrderId, b));
    const openIds = new Set<string>();
    await this.each(view.open, (b) => {
      brokerOrders.set(b.brokerOrderId, b);
      openIds.add(b.brokerOrderId);
    });
    const tradesOf = new Map<string, BrokerTrade[]>();
    await this.each(view.trades, (t) => {
      const list = tradesOf.get(t.brokerOrderId);
      if (list === undefined) tradesOf.set(t.brokerOrderId, [t]);
      else list.push(t);
    });
    const candidates: Candidate[] = [];
    const skippedOrders: string[] = [];
    const unknown: UnknownSymbols = new Map();
    const matched = new Set<string>();
    const seenClient = new Set<string>();
    const inFlight = (o: LocalOrder) => (o.status === 'PendingNew' || o.status === 'PendingCancel') && now - o.updatedAt < graceMs;
    let n = 0;
    let verify = -1;
    let verifyFrom = 0;
    let skippedFrom = 0;
    let verifyB: BrokerOrder | undefined;
    let verifyTrades: BrokerTrade[] = [];
    const ids = new Set<string>();
    await this.each(brokerOrders.keys(), (id) => ids.add(id));
    await this.each(tradesOf.keys(), (id) => ids.add(id));
    for (const id of ids) {
      if (++n % SLICE === 0) await this.slice(false);
      const b = brokerOrders.get(id);
      const trades = tradesOf.get(id) ?? [];
      const clientOrderId = b?.clientOrderId ?? trades[0]!.clientOrderId;
      seenClient.add(clientOrderId);
      // the store's order of the previous id came out clean: it is not compared again until the broker's record of it changes
      if (verify >= 0 && candidates.length === verifyFrom && skippedOrders.length === skippedFrom) this.markVerified(verify, epoch, verifyB, verifyTrades);
      verify = -1;
      let l = byBroker.get(id);
      if (l === undefined) {
        const apos = archive.positionOfBroker(id);
        if (apos >= 0 && apos < archived) {
          named[apos] = 1;
          if (this.isVerified(apos, b, trades)) continue;
          l = archive.at(apos);
          verify = apos;
          verifyFrom = candidates.length;
          skippedFrom = skippedOrders.length;
          verifyB = b;
          verifyTrades = trades;
        }
      }
      if (l === undefined) {
        const c = orders.get(clientOrderId);
        if (c !== undefined && c.brokerOrderId === '') l = c;
      }
      if (l !== undefined && verify < 0) matched.add(l.clientOrderId);
      if (touched.has(l?.clientOrderId ?? clientOrderId) || (l !== undefined && inFlight(l))) {
        skippedOrders.push(id);
        continue;
      }
      const brokerOpen = openIds.has(id) || (b !== undefined && OPEN_STATUSES.has(b.status));
      // Today's trades hold only today's fills: an order carried over from an earlier day filled
      // before the roll too, and the broker's order record holds the whole. The larger wins.
      const todayQty = sum(trades, (t) => t.qty);
      const filled = b !== undefined && b.cumQty > todayQty + eps ? b.cumQty : trades.length > 0 ? todayQty : (b?.cumQty ?? 0);
      const value = sum(trades, (t) => t.qty * t.price);
      const tradesCoverAll = Math.abs(todayQty - filled) <= eps;
      const symbol = b?.symbol ?? trades[0]!.symbol;
      const inst = this.inst(symbol);
      if (inst === undefined) {
        // a symbol this engine does not configure: counted here, raised with the positions
        const u = unknownEntry(unknown, symbol);
        u.orders.add(id);
        u.filled += sum(trades, (t) => t.qty);
        continue;
      }
      const side = b?.side ?? trades[0]!.side;
      const sign = side === 'buy' ? 1 : -1;
      if (l === undefined) {
        if (!brokerOpen && filled <= eps) continue; // a finished order with no fills changes nothing here
        const clientKnown = orders.has(clientOrderId);
        candidates.push({
          kind: 'MISSING_LOCAL', key: `MISSING_LOCAL:${id}`, clientOrderId, brokerOrderId: id, symbol, currency: inst.currency,
          local: null, broker: b?.status ?? 'Filled',
          detail: `the broker has order brokerOrderId=${id} clientOrderId=${clientOrderId} symbol=${symbol} side=${side} qty=${b?.qty ?? filled} filled=${filled} status=${b?.status ?? '(trades only)'}; the engine does not`,
          explains: { symbol, qty: sign * filled, currency: inst.currency, cash: -sign * value * inst.multiplier },
          fix: { safe: true, run: () => this.adopt(id, clientKnown ? `ext:${id}` : clientOrderId, b, trades, symbol, side) },
        });
        continue;
      }
      const cid = l.clientOrderId;
      const localOpen = OPEN_STATUSES.has(l.status);
      // filled quantity (fills first: a status fix may depend on them)
      if (Math.abs(filled - l.cumQty) > eps) {
        const missing = trades.filter((t) => this.target.hasExec(cid, t.execId) === false);
        const more = filled > l.cumQty;
        const dValue = value - (Number.isNaN(l.avgPx) ? 0 : l.avgPx * l.cumQty);
        candidates.push({
          kind: 'FILLED_QTY_MISMATCH', key: `FILLED_QTY_MISMATCH:${id}`, clientOrderId: cid, brokerOrderId: id, symbol, currency: inst.currency,
          local: l.cumQty, broker: filled,
          detail: `filled quantity: engine=${l.cumQty} broker=${filled} (${trades.length} broker trades${more ? `, ${missing.length} not applied by the engine: ${missing.map((t) => t.execId).join(',')}` : ''})`,
          explains: { symbol, qty: sign * (filled - l.cumQty), currency: inst.currency, cash: -sign * dValue * inst.multiplier },
          holds: () => this.localOf(cid, id)?.cumQty === l!.cumQty,
          fix: more
            ? { safe: true, run: () => this.applyTrades(cid, id, missing, filled) }
            : { safe: false, run: () => this.removeFills(cid, id, symbol, sign, l!.cumQty - filled, l!.avgPx) },
        });
      } else if (filled > eps && trades.length > 0 && tradesCoverAll && !Number.isNaN(l.avgPx)) {
        const brokerAvg = value / filled;
        if (Math.abs(brokerAvg - l.avgPx) > inst.tickSize / inst.scale / 2 + 1e-12 && Math.abs(brokerAvg - l.avgPx) > 1e-9) {
          const from = l.avgPx * l.cumQty;
          candidates.push({
            kind: 'PRICE_MISMATCH', key: `PRICE_MISMATCH:fill:${id}`, clientOrderId: cid, brokerOrderId: id, symbol, currency: inst.currency,
            local: round(l.avgPx), broker: round(brokerAvg),
            detail: `average fill price: engine=${round(l.avgPx)} broker=${round(brokerAvg)} over filled=${filled}`,
            explains: { symbol, qty: 0, currency: inst.currency, cash: -sign * (value - from) * inst.multiplier },
            fix: { safe: true, run: () => this.reprice(cid, id, from, value) },
          });
        }
      }
      if (b !== undefined && brokerOpen && localOpen && Number.isFinite(b.price) && Number.isFinite(l.price) && Math.abs(b.price - l.price) > 1e-9) {
        candidates.push({
          kind: 'PRICE_MISMATCH', key: `PRICE_MISMATCH:limit:${id}`, clientOrderId: cid, brokerOrderId: id, symbol, currency: inst.currency,
          local: l.price, broker: b.price, detail: `limit price of the open order: engine=${l.price} broker=${b.price}`, explains: undefined,
          fix: { safe: false, run: () => this.adjustOne({ what: 'limit-price', clientOrderId: cid, price: b.price }, 'limit-price', cid, id, symbol, '', l!.price, b.price) },
        });
      }
      // status
      const brokerStatus = b?.status ?? (brokerOpen ? 'Submitted' : undefined);
      if (brokerStatus === undefined) continue; // trades only: the adapter lists no finished orders
      let problem = '';
      if (localOpen && !brokerOpen) problem = `open in the engine, ${brokerStatus} at the broker`;
      else if (!localOpen && brokerOpen) problem = `${l.status} in the engine, open (${brokerStatus}) at the broker`;
      else if (l.status === 'PendingNew' && brokerOpen) problem = 'the broker acknowledged it; the engine never saw the ack';
      else if (!localOpen && !brokerOpen && l.status !== brokerStatus && !(l.status === 'Cancelled' && brokerStatus === 'Filled' && filled <= l.cumQty + eps)) {
        problem = `finished differently: engine ${l.status}, broker ${brokerStatus}`;
      }
      if (problem !== '') {
        const fixable = (localOpen && !brokerOpen && FINAL_KIND[brokerStatus] !== undefined) || (localOpen && !brokerOpen && brokerStatus === 'Filled') || (l.status === 'PendingNew' && brokerOpen);
        candidates.push({
          kind: 'STATUS_MISMATCH', key: `STATUS_MISMATCH:${id}`, clientOrderId: cid, brokerOrderId: id, symbol, currency: inst.currency,
          local: l.status, broker: brokerStatus, detail: `status: ${problem}`, explains: undefined,
          holds: () => this.localOf(cid, id)?.status === l!.status,
          fix: fixable ? { safe: true, run: () => this.takeStatus(cid, id, brokerStatus, trades) } : undefined,
        });
      }
    }
    if (verify >= 0 && candidates.length === verifyFrom && skippedOrders.length === skippedFrom) this.markVerified(verify, epoch, verifyB, verifyTrades);
    // engine orders the broker did not name: the live ones, then the store's with fills
    const unnamed: LocalOrder[] = [];
    for (let i = 0; i < archived; i++) {
      if (named[i] === 1 || archive.cumQtyAt(i) <= eps) continue; // finished without fills: nothing at stake
      unnamed.push(archive.at(i));
      if (++n % SLICE === 0) await this.slice(false);
    }
    for (const l of [...orders.values(), ...unnamed]) {
      if (++n % SLICE === 0) await this.slice(false);
      if (matched.has(l.clientOrderId) || l.external) continue;
      if (l.brokerOrderId === '' && seenClient.has(l.clientOrderId)) continue;
      if (touched.has(l.clientOrderId) || inFlight(l)) {
        skippedOrders.push(l.brokerOrderId || l.clientOrderId);
        continue;
      }
      const open = OPEN_STATUSES.has(l.status);
      if (!open && l.cumQty <= eps) continue; // finished without fills (rejected, cancelled): nothing at stake
      if (!open && view.day === undefined && l.brokerOrderId !== '') {
        // the adapter lists no finished orders; its trades are the only record left
        if (l.cumQty > eps) {
          const inst = this.inst(l.symbol)!;
          const sign = l.side === 'buy' ? 1 : -1;
          candidates.push({
            kind: 'FILLED_QTY_MISMATCH', key: `FILLED_QTY_MISMATCH:${l.brokerOrderId}`, clientOrderId: l.clientOrderId, brokerOrderId: l.brokerOrderId, symbol: l.symbol, currency: inst.currency,
            local: l.cumQty, broker: 0, detail: `filled quantity: engine=${l.cumQty} broker=0 (no broker trade names this order)`,
            explains: { symbol: l.symbol, qty: -sign * l.cumQty, currency: inst.currency, cash: sign * l.cumQty * l.avgPx * inst.multiplier },
            fix: { safe: false, run: () => this.removeFills(l.clientOrderId, l.brokerOrderId, l.symbol, sign, l.cumQty, l.avgPx) },
          });
        }
        continue;
      }
      if (open && view.day === undefined && l.brokerOrderId !== '') {
        candidates.push({
          kind: 'STATUS_MISMATCH', key: `STATUS_MISMATCH:${l.brokerOrderId}`, clientOrderId: l.clientOrderId, brokerOrderId: l.brokerOrderId, symbol: l.symbol, currency: this.inst(l.symbol)!.currency,
          local: l.status, broker: 'not open', detail: `status: open in the engine, not open at the broker (which cannot list finished orders)`, explains: undefined,
          fix: undefined,
        });
        continue;
      }
      const inst = this.inst(l.symbol)!;
      const sign = l.side === 'buy' ? 1 : -1;
      const id = l.brokerOrderId || l.clientOrderId;
      candidates.push({
        kind: 'MISSING_AT_BROKER', key: `MISSING_AT_BROKER:${id}`, clientOrderId: l.clientOrderId, brokerOrderId: l.brokerOrderId, symbol: l.symbol, currency: inst.currency,
        local: l.status, broker: null,
        detail: `the engine has order clientOrderId=${l.clientOrderId} brokerOrderId=${l.brokerOrderId || '(none)'} status=${l.status} filled=${l.cumQty}; the broker does not list it`,
        explains: l.cumQty > eps ? { symbol: l.symbol, qty: -sign * l.cumQty, currency: inst.currency, cash: sign * l.cumQty * l.avgPx * inst.multiplier } : undefined,
        fix: { safe: false, run: () => this.dropMissing(l) },
      });
    }
    return { candidates, skippedOrders, orders, checkedOrders: orders.size + archived - inBoth, brokerOrders: brokerOrders.size, unknown };
  }

  /** Per position of the day's store: the broker's status (index + 1; 0: not verified), cumQty and today's traded quantity when it was last compared clean. */
  private vStatus = new Uint8Array(0);
  private vCum = new Float64Array(0);
  private vTraded = new Float64Array(0);
  /** Bumped when the day rolls: marks of a run that straddled the roll are not kept. */
  private dayEpoch = 0;

  private verifiedRoom(n: number): void {
    if (this.vStatus.length >= n) return;
    let cap = Math.max(1024, this.vStatus.length);
    while (cap < n) cap *= 2;
    const s = new Uint8Array(cap);
    s.set(this.vStatus);
    const c = new Float64Array(cap);
    c.set(this.vCum);
    const t = new Float64Array(cap);
    t.set(this.vTraded);
    this.vStatus = s;
    this.vCum = c;
    this.vTraded = t;
  }

  private isVerified(pos: number, b: BrokerOrder | undefined, trades: readonly BrokerTrade[]): boolean {
    const st = this.vStatus[pos]!;
    if (st === 0) return false;
    return st - 1 === (b === undefined ? STATUS_NAMES.length : STATUS_NAMES.indexOf(b.status)) && this.vCum[pos] === (b?.cumQty ?? -1) && this.vTraded[pos] === sum(trades, (t) => t.qty);
  }

  private markVerified(pos: number, epoch: number, b: BrokerOrder | undefined, trades: readonly BrokerTrade[]): void {
    if (epoch !== this.dayEpoch || pos >= this.vStatus.length) return;
    this.vStatus[pos] = (b === undefined ? STATUS_NAMES.length : STATUS_NAMES.indexOf(b.status)) + 1;
    this.vCum[pos] = b?.cumQty ?? -1;
    this.vTraded[pos] = sum(trades, (t) => t.qty);
  }

  /** Positions and cash, net of what the unfixed order-level differences account for. */
  private comparePositions(view: BrokerView, explained: Candidate[], touchedSymbols: Set<string>, now: number, unknown: UnknownSymbols) {
    const { qtyTolerance: eps, cashTolerance } = this.config;
    const candidates: Candidate[] = [];
    const skipped: string[] = [];
    const pos = this.target.positions();
    const dQty = new Map<string, number>();
    const dCash = new Map<string, number>();
    for (const c of explained) {
      if (c.explains === undefined) continue;
      dQty.set(c.explains.symbol, (dQty.get(c.explains.symbol) ?? 0) + c.explains.qty);
      dCash.set(c.explains.currency, (dCash.get(c.explains.currency) ?? 0) + c.explains.cash);
    }
    const brokerPos = new Map(view.positions.map((p) => [p.symbol, p.qty]));
    const symbols = new Set([...pos.keys(), ...brokerPos.keys()]);
    const touchedCcy = new Set<string>();
    for (const s of touchedSymbols) {
      const inst = this.inst(s);
      if (inst !== undefined) touchedCcy.add(inst.currency);
    }
    for (const symbol of symbols) {
      const inst = this.inst(symbol);
      if (inst === undefined) continue;
      if (touchedSymbols.has(symbol)) {
        skipped.push(`POSITION_MISMATCH:${symbol}`);
        continue;
      }
      const local = pos.get(symbol) ?? 0;
      const broker = brokerPos.get(symbol) ?? 0;
      const expected = local + (dQty.get(symbol) ?? 0);
      if (Math.abs(broker - expected) <= eps) continue;
      const delta = broker - expected;
      candidates.push({
        kind: 'POSITION_MISMATCH', key: `POSITION_MISMATCH:${symbol}`, clientOrderId: '', brokerOrderId: '', symbol, currency: inst.currency,
        local, broker,
        detail: `position ${symbol}: engine=${local} broker=${broker}${dQty.has(symbol) ? ` (order-level differences account for ${dQty.get(symbol)})` : ''}; unexplained=${round(delta)}`,
        explains: undefined,
        fix: { safe: true, run: () => this.adjustOne({ what: 'position', symbol, qty: delta }, 'position', '', '', symbol, inst.currency, local, local + delta) },
      });
    }
    // the broker's activity in symbols this engine does not configure (orders and fills counted
    // by compareOrders): critical, never applied
    for (const p of view.positions) if (this.inst(p.symbol) === undefined && Math.abs(p.qty) > eps) unknownEntry(unknown, p.symbol).position = p.qty;
    for (const [symbol, u] of unknown) {
      candidates.push({
        kind: 'UNKNOWN_SYMBOL', key: `UNKNOWN_SYMBOL:${symbol}`, clientOrderId: '', brokerOrderId: '', symbol, currency: '',
        local: null, broker: u.position,
        detail: `symbol ${symbol} is not configured in this engine but the broker reports ${u.orders.size} order(s), filled=${round(u.filled)}, position=${round(u.position)}; nothing of it is applied`,
        explains: undefined,
        fix: undefined,
      });
    }
    const unknownNote = unknown.size > 0 ? `; the broker also trades symbols this engine does not know (${[...unknown.keys()].join(', ')}), so cash is not corrected automatically` : '';
    const cash = this.target.cash();
    for (const a of view.cash) {
      if (touchedCcy.has(a.currency)) {
        skipped.push(`CASH_MISMATCH:${a.currency}`);
        continue;
      }
      const local = cash[a.currency] ?? 0;
      const expected = local + (dCash.get(a.currency) ?? 0);
      if (Math.abs(a.cash - expected) <= cashTolerance) continue;
      const delta = a.cash - expected;
      candidates.push({
        kind: 'CASH_MISMATCH', key: `CASH_MISMATCH:${a.currency}`, clientOrderId: '', brokerOrderId: '', symbol: '', currency: a.currency,
        local: round(local), broker: round(a.cash),
        detail: `cash ${a.currency}: engine=${round(local)} broker=${round(a.cash)}${dCash.has(a.currency) ? ` (order-level differences account for ${round(dCash.get(a.currency)!)})` : ''}; unexplained=${round(delta)}${unknownNote}`,
        explains: undefined,
        // a currency the engine keeps no cash in has no engine side to correct; nor is cash
        // moved by fills in symbols the engine does not know
        fix: cash[a.currency] === undefined || unknown.size > 0 ? undefined : { safe: true, run: () => this.adjustOne({ what: 'cash', currency: a.currency, amount: delta }, 'cash', '', '', '', a.currency, round(local), round(local + delta)) },
      });
    }
    void now;
    return { candidates, skipped, symbols: symbols.size, currencies: view.cash.length };
  }

  /**
   * The grace period and the policy: a difference seen for the first time waits; one that
   * persisted is fixed (broker wins, safe fix) or raised. Returns the diff raised or fixed,
   * 'pending' while in grace, 'accepted' when a person accepted these values, 'gone' when a
   * fix earlier in the run settled it, or undefined when an open diff was only updated.
   */
  private decide(c: Candidate, now: number): Diff | 'pending' | 'accepted' | 'gone' | undefined {
    const acceptedSig = this.accepted.get(c.key);
    if (acceptedSig !== undefined && acceptedSig === signature(c)) return 'accepted';
    const open = this.openByKey.get(c.key);
    if (open !== undefined) {
      open.lastSeen = now;
      open.local = c.local;
      open.broker = c.broker;
      open.detail = c.detail;
      return undefined;
    }
    const first = this.pending.get(c.key) ?? now;
    if (now - first < this.config.graceMs) {
      this.pending.set(c.key, first);
      return 'pending';
    }
    this.pending.delete(c.key);
    if (c.holds !== undefined && !c.holds()) return 'gone';
    const policy = this.config.policy[c.kind];
    const autoFix = policy.winner === 'broker' && c.fix?.safe === true ? c.fix : undefined;
    // a safe difference the policy fixes is a warning; one left for a person has the policy's severity
    const diff = this.newDiff(c, first, now, autoFix !== undefined ? 'warning' : policy.severity);
    if (autoFix !== undefined) {
      if (!this.record({ op: 'raise', diff: copyDiff(diff) })) return undefined;
      this.store(diff);
      const err = this.applyFix(diff, autoFix, 'auto', WHO, `policy: ${c.kind} broker wins`);
      if (err === undefined) return diff;
      diff.detail = `${diff.detail}; auto-fix failed: ${err}`;
      diff.severity = policy.severity;
      this.openDiff(diff);
      return diff;
    }
    if (policy.winner === 'local') {
      // the engine's record stands: noted, not a problem to chase
      if (!this.record({ op: 'raise', diff: copyDiff(diff) })) return undefined;
      this.store(diff);
      this.closeLocal(diff, WHO, `policy: ${c.kind} local wins`, signature(c));
      return diff;
    }
    if (!this.record({ op: 'raise', diff: copyDiff(diff) })) return undefined;
    this.store(diff);
    if (c.fix === undefined) diff.detail = `${diff.detail}; no automatic fix exists for this difference`;
    this.openDiff(diff);
    return diff;
  }

  private newDiff(c: Candidate, firstSeen: number, now: number, severity: DiffSeverity): Diff {
    return {
      id: `D${++this.seq}`, kind: c.kind, key: c.key, severity, state: 'open', acknowledged: false,
      clientOrderId: c.clientOrderId, brokerOrderId: c.brokerOrderId, symbol: c.symbol, currency: c.currency,
      local: c.local, broker: c.broker, detail: c.detail, firstSeen, raisedAt: now, lastSeen: now,
      actions: [{ action: 'raised', who: WHO, time: now, note: c.detail }],
      ...(this.target.day !== undefined ? { day: this.target.day() } : {}),
    };
  }

  private store(d: Diff): void {
    this.diffs.set(d.id, d);
  }

  private openDiff(d: Diff): void {
    d.state = 'open';
    this.openByKey.set(d.key, d);
    this.target.notify({ type: 'raised', diff: copyDiff(d) });
    if (d.severity === 'critical') {
      const action = this.config.policy[d.kind].onCritical;
      const cur = this.target.tradingState();
      const reason = `reconciliation: ${d.id} ${d.kind} ${d.detail}`;
      if (action === 'halt' && cur !== 'Halted') this.target.setTradingState('Halted', reason);
      else if (action === 'reduce' && cur === 'Active') this.target.setTradingState('Reducing', reason);
    }
  }

  private record(ev: ReconEvent): boolean {
    if (this.replaying) return true;
    return this.target.record(ev);
  }

  /** Run a fix, journal what it adjusted, apply the adjustments, tell the strategy. undefined when it worked. */
  private applyFix(d: Diff, fix: Fix, source: 'auto' | 'manual', who: string, note: string): string | undefined {
    const result = fix.run(source, d.id);
    if (typeof result === 'string') return result;
    if (!this.record({ op: 'fix', id: d.id, who, note, side: 'broker', adjust: result.adjust })) return 'the journal refused the record';
    for (const a of result.adjust) this.target.adjust(a);
    const now = this.target.clock.now();
    d.actions.push({ action: source === 'auto' ? 'auto-fix' : 'resolve', who, time: now, note, side: 'broker' });
    d.state = source === 'auto' ? 'fixed' : 'resolved';
    if (this.openByKey.get(d.key) === d) this.openByKey.delete(d.key);
    this.target.notify({ type: source === 'auto' ? 'fixed' : 'resolved', diff: copyDiff(d) });
    for (const c of result.corrections) this.target.correction({ ...c, source, diffId: d.id, kind: d.kind, time: now });
    this.target.logger.warn({ diff: d.id, kind: d.kind, clientOrderId: d.clientOrderId || undefined, brokerOrderId: d.brokerOrderId || undefined, who, source }, `reconciliation: ${d.kind} corrected to the broker's side`);
    return undefined;
  }

  private closeLocal(d: Diff, who: string, note: string, sig: string): void {
    const now = this.target.clock.now();
    d.actions.push({ action: 'resolve', who, time: now, note, side: 'local' });
    d.state = 'resolved';
    this.accepted.set(d.key, sig);
    if (this.openByKey.get(d.key) === d) this.openByKey.delete(d.key);
    this.target.notify({ type: 'resolved', diff: copyDiff(d) });
  }

  private close(d: Diff, action: 'clear', who: string, note: string, _side: undefined): void {
    if (!this.record({ op: 'clear', id: d.id, note })) return;
    d.actions.push({ action, who, time: this.target.clock.now(), note });
    d.state = 'cleared';
    this.openByKey.delete(d.key);
    this.target.notify({ type: 'cleared', diff: copyDiff(d) });
  }

  // ---- the manual workflow ----

  /**
   * Close an open diff by a person's decision. `broker`: the engine takes the broker's side
   * (the same change an automatic fix makes, or for kinds that have none automatically, the
   * engine-side change that matches the broker: fills removed, a limit price taken, an order
   * the broker does not have finished); the broker's records are fetched again first, and
   * when the difference is gone the diff is cleared instead. `local`: the engine's record
   * stands; the same values are not raised again.
   */
  async resolve(id: string, accept: 'broker' | 'local', who: string, note: string): Promise<Diff> {
    const d = this.mustOpen(id);
    if (note.trim() === '') throw new ReconError('CONFLICT', 'a note saying why is required');
    if (accept === 'local') {
      const sig = `${String(d.local)}|${String(d.broker)}`;
      if (!this.record({ op: 'resolve', id, who, note, side: 'local', accepted: sig })) throw new ReconError('JOURNAL', 'the journal refused the record; nothing changed');
      this.closeLocal(d, who, note, sig);
      this.target.logger.warn({ diff: id, kind: d.kind, who, note }, 'reconciliation: diff resolved, engine side accepted');
      return copyDiff(d);
    }
    return this.exclusive(() => this.resolveBroker(d, id, who, note));
  }

  private async resolveBroker(d: Diff, id: string, who: string, note: string): Promise<Diff> {
    if (this.diffs.get(id)?.state !== 'open') throw new ReconError('CONFLICT', `${id} is ${this.diffs.get(id)?.state} now`);
    const why = this.target.notReady();
    if (why !== '') throw new ReconError('NOT_READY', `cannot take the broker's side now: ${why}`);
    const watch = this.target.watch();
    let cand: Candidate | undefined;
    try {
      const view = await this.fetch();
      this.lastView = view;
      const now = this.target.clock.now();
      const { candidates, unknown } = await this.compareOrders(view, new Set(), now + this.config.graceMs);
      cand = candidates.find((c) => c.key === d.key);
      if (cand === undefined && (d.kind === 'POSITION_MISMATCH' || d.kind === 'CASH_MISMATCH' || d.kind === 'UNKNOWN_SYMBOL')) {
        const explained = candidates.filter((c) => this.openByKey.has(c.key) && c.key !== d.key);
        cand = this.comparePositions(view, explained, new Set(), now, unknown).candidates.find((c) => c.key === d.key);
      }
    } finally {
      watch.stop();
    }
    if (this.diffs.get(id)?.state !== 'open') throw new ReconError('CONFLICT', `${id} is ${this.diffs.get(id)?.state} now`);
    if (cand === undefined) {
      this.close(d, 'clear', who, `resolve asked by ${who} (${note}); the broker's records fetched again no longer show the difference`, undefined);
      return copyDiff(d);
    }
    if (cand.fix === undefined) throw new ReconError('CONFLICT', `${id}: the engine cannot take the broker's side of this difference (${cand.detail}); change it at the broker, or accept local`);
    const err = this.applyFix(d, cand.fix, 'manual', who, note);
    if (err !== undefined) throw new ReconError('CONFLICT', `${id}: ${err}`);
    return copyDiff(d);
  }

  /** A person has seen the diff: recorded, its alert closed; it stays open until resolved. */
  acknowledge(id: string, who: string, note: string): Diff {
    const d = this.mustOpen(id);
    if (!this.record({ op: 'ack', id, who, note })) throw new ReconError('JOURNAL', 'the journal refused the record; nothing changed');
    d.acknowledged = true;
    d.actions.push({ action: 'ack', who, time: this.target.clock.now(), note });
    this.target.notify({ type: 'acknowledged', diff: copyDiff(d) });
    this.target.logger.warn({ diff: id, kind: d.kind, who, note }, 'reconciliation: diff acknowledged');
    return copyDiff(d);
  }

  /** Record an operator action that is not about one diff (a forced sync). */
  recordAction(action: string, who: string, note: string): void {
    if (!this.record({ op: 'action', action, who, note })) throw new ReconError('JOURNAL', 'the journal refused the record; nothing changed');
    this.actions.push({ action, who, note, time: this.target.clock.now() });
  }

  /** Operator actions not about one diff, in order. */
  readonly actions: Array<{ action: string; who: string; note: string; time: number }> = [];

  private mustOpen(id: string): Diff {
    const d = this.diffs.get(id);
    if (d === undefined) throw new ReconError('NOT_FOUND', `no diff ${id}`);
    if (d.state !== 'open') throw new ReconError('CONFLICT', `${id} is ${d.state}, not open`);
    return d;
  }

  // ---- fixes ----

  private adopt(id: string, clientOrderId: string, b: BrokerOrder | undefined, trades: BrokerTrade[], symbol: string, side: BrokerOrder['side']) {
    const t = this.target;
    const qty = b?.qty ?? sum(trades, (x) => x.qty);
    t.apply({
      kind: 'new', execId: `recon:new:${id}`, brokerOrderId: id, clientOrderId, symbol, side, qty,
      ...(b !== undefined ? { type: b.type, tif: b.tif, ...(Number.isFinite(b.price) ? { price: b.price } : {}) } : {}),
    });
    for (const x of byTime(trades)) t.apply({ kind: 'trade', execId: x.execId, brokerOrderId: id, clientOrderId, lastQty: x.qty, lastPx: x.price, time: x.time, symbol, side });
    const fin = b !== undefined ? FINAL_KIND[b.status] : undefined;
    if (fin !== undefined) t.apply({ kind: fin, execId: `recon:${fin}:${id}`, brokerOrderId: id, clientOrderId, text: `${b!.status} at the broker (reconciliation)` });
    const after = this.localOf(clientOrderId, id);
    if (after === undefined) return `the engine could not keep order ${id} (see the UNKNOWN_ORDER / TABLE_FULL_EXTERNAL anomaly)`;
    return { corrections: [{ change: 'adopted' as const, clientOrderId: after.clientOrderId, brokerOrderId: id, symbol, currency: this.inst(symbol)!.currency, before: null, after: after.status }], adjust: [] };
  }

  private applyTrades(clientOrderId: string, id: string, missing: BrokerTrade[], want: number) {
    const before = this.localOf(clientOrderId, id);
    if (before === undefined) return `order ${clientOrderId} is no longer held by the engine`;
    for (const x of byTime(missing)) this.target.apply({ kind: 'trade', execId: x.execId, brokerOrderId: id, clientOrderId, lastQty: x.qty, lastPx: x.price, time: x.time, symbol: x.symbol, side: x.side });
    const after = this.localOf(clientOrderId, id)!;
    if (Math.abs(after.cumQty - want) > this.config.qtyTolerance) return `after applying the broker's trades the engine has filled=${after.cumQty}, the broker ${want} (its trades do not account for its fills)`;
    return { corrections: [{ change: 'fills' as const, clientOrderId, brokerOrderId: id, symbol: after.symbol, currency: this.inst(after.symbol)!.currency, before: before.cumQty, after: after.cumQty }], adjust: [] };
  }

  private takeStatus(clientOrderId: string, id: string, brokerStatus: string, trades: BrokerTrade[]) {
    const before = this.localOf(clientOrderId, id);
    if (before === undefined) return `order ${clientOrderId} is no longer held by the engine`;
    const t = this.target;
    const missing = trades.filter((x) => t.hasExec(clientOrderId, x.execId) === false);
    for (const x of byTime(missing)) t.apply({ kind: 'trade', execId: x.execId, brokerOrderId: id, clientOrderId, lastQty: x.qty, lastPx: x.price, time: x.time, symbol: x.symbol, side: x.side });
    const mid = this.localOf(clientOrderId, id)!;
    if (mid.status === 'PendingNew' && OPEN_STATUSES.has(brokerStatus)) t.apply({ kind: 'new', execId: `recon:new:${id}`, brokerOrderId: id, clientOrderId });
    const fin = FINAL_KIND[brokerStatus];
    if (fin !== undefined && OPEN_STATUSES.has(mid.status)) t.apply({ kind: fin, execId: `recon:${fin}:${id}`, brokerOrderId: id, clientOrderId, text: `${brokerStatus} at the broker (reconciliation)` });
    const after = this.localOf(clientOrderId, id)!;
    const ok = OPEN_STATUSES.has(brokerStatus) ? after.status !== 'PendingNew' : !OPEN_STATUSES.has(after.status);
    if (!ok) return `the engine's order is ${after.status} after taking the broker's ${brokerStatus}`;
    return { corrections: [{ change: 'status' as const, clientOrderId, brokerOrderId: id, symbol: after.symbol, currency: this.inst(after.symbol)!.currency, before: before.status, after: after.status }], adjust: [] };
  }

  private removeFills(clientOrderId: string, id: string, symbol: string, sign: number, excess: number, avgPx: number) {
    const inst = this.inst(symbol)!;
    const px = Number.isNaN(avgPx) ? 0 : avgPx;
    const adjust: Adjustment[] = [
      { what: 'position', symbol, qty: -sign * excess },
      { what: 'cash', currency: inst.currency, amount: sign * excess * px * inst.multiplier },
    ];
    const pos = this.target.positions().get(symbol) ?? 0;
    return { corrections: [{ change: 'position' as const, clientOrderId, brokerOrderId: id, symbol, currency: inst.currency, before: pos, after: pos - sign * excess }], adjust };
  }

  private reprice(clientOrderId: string, id: string, from: number, to: number) {
    // the fill value lives in the order's slot: an order let go after its retention has none to change
    const o = this.target.order(clientOrderId) ?? (id !== '' ? this.target.orderByBrokerId(id) : undefined);
    if (o === undefined) return `order ${clientOrderId} is no longer held by the engine (finished and let go after its retention): its fills cannot be re-priced here`;
    return {
      corrections: [{ change: 'fill-price' as const, clientOrderId, brokerOrderId: id, symbol: o.symbol, currency: this.inst(o.symbol)!.currency, before: round(o.avgPx), after: round(to / o.cumQty) }],
      adjust: [{ what: 'fill-value' as const, clientOrderId, from, to }],
    };
  }

  private dropMissing(l: LocalOrder) {
    const t = this.target;
    const now = this.localOf(l.clientOrderId, l.brokerOrderId);
    if (now !== undefined && OPEN_STATUSES.has(now.status)) {
      if (now.brokerOrderId === '') {
        t.apply({ kind: 'rejected', execId: `recon:rejected:${l.clientOrderId}`, brokerOrderId: '', clientOrderId: l.clientOrderId, reason: 'RECOVERY_NOT_FOUND', text: 'the broker has no such order (reconciliation)' });
      } else {
        t.apply({ kind: 'canceled', execId: `recon:canceled:${l.brokerOrderId}`, brokerOrderId: l.brokerOrderId, clientOrderId: l.clientOrderId, text: 'the broker does not list this order (reconciliation); taken as Cancelled' });
      }
    }
    const after = this.localOf(l.clientOrderId, l.brokerOrderId);
    const base = { clientOrderId: l.clientOrderId, brokerOrderId: l.brokerOrderId, symbol: l.symbol, currency: this.inst(l.symbol)!.currency };
    const corrections: Change[] = [{ change: 'status', ...base, before: l.status, after: after?.status ?? null }];
    const adjust: Adjustment[] = [];
    if (l.cumQty > this.config.qtyTolerance) {
      const r = this.removeFills(l.clientOrderId, l.brokerOrderId, l.symbol, l.side === 'buy' ? 1 : -1, l.cumQty, l.avgPx);
      corrections.push(...r.corrections);
      adjust.push(...r.adjust);
    }
    return { corrections, adjust };
  }

  private adjustOne(a: Adjustment, change: Correction['change'], clientOrderId: string, brokerOrderId: string, symbol: string, currency: string, before: DiffValue, after: DiffValue) {
    return { corrections: [{ change, clientOrderId, brokerOrderId, symbol, currency, before, after }], adjust: [a] };
  }

  private localOf(clientOrderId: string, brokerOrderId: string): LocalOrder | undefined {
    return this.target.order(clientOrderId) ?? (brokerOrderId !== '' ? this.target.orderByBrokerId(brokerOrderId) : undefined) ?? this.archive.get(clientOrderId);
  }

  private inst(symbol: string): Instrument | undefined {
    return this.target.instruments.find((i) => i.symbol === symbol);
  }

  // ---- journal and snapshot ----

  /** Apply one journaled event at restart (reports replay through the engine's pipeline on their own). */
  replay(ev: ReconEvent, time: number): void {
    this.replaying = true;
    try {
      switch (ev.op) {
        case 'raise': {
          const d = copyDiff(ev.diff);
          this.diffs.set(d.id, d);
          this.seq = Math.max(this.seq, Number(d.id.slice(1)) || 0);
          if (d.state === 'open') this.openByKey.set(d.key, d);
          return;
        }
        case 'fix': {
          const d = this.diffs.get(ev.id);
          for (const a of ev.adjust) this.target.adjust(a);
          if (d === undefined) return;
          const auto = ev.who === WHO;
          d.actions.push({ action: auto ? 'auto-fix' : 'resolve', who: ev.who, time, note: ev.note, side: 'broker' });
          d.state = auto ? 'fixed' : 'resolved';
          if (this.openByKey.get(d.key) === d) this.openByKey.delete(d.key);
          return;
        }
        case 'resolve': {
          const d = this.diffs.get(ev.id);
          if (d === undefined) return;
          d.actions.push({ action: 'resolve', who: ev.who, time, note: ev.note, side: 'local' });
          d.state = 'resolved';
          this.accepted.set(d.key, ev.accepted);
          if (this.openByKey.get(d.key) === d) this.openByKey.delete(d.key);
          return;
        }
        case 'ack': {
          const d = this.diffs.get(ev.id);
          if (d === undefined) return;
          d.acknowledged = true;
          d.actions.push({ action: 'ack', who: ev.who, time, note: ev.note });
          return;
        }
        case 'clear': {
          const d = this.diffs.get(ev.id);
          if (d === undefined) return;
          d.actions.push({ action: 'clear', who: WHO, time, note: ev.note });
          d.state = 'cleared';
          if (this.openByKey.get(d.key) === d) this.openByKey.delete(d.key);
          return;
        }
        case 'action':
          this.actions.push({ action: ev.action, who: ev.who, note: ev.note, time });
          return;
        case 'run':
          // a record of the run; its diffs came with their own records
          return;
      }
    } finally {
      this.replaying = false;
    }
  }

  exportState(): ReconState {
    return {
      seq: this.seq,
      diffs: [...this.diffs.values()].map(copyDiff),
      accepted: [...this.accepted],
      archive: this.archive.exportColumns(),
      actions: this.actions.map((a) => ({ ...a })),
    };
  }

  importState(s: ReconState): void {
    this.seq = s.seq;
    this.diffs.clear();
    this.openByKey.clear();
    for (const d of s.diffs) {
      const c = copyDiff(d);
      this.diffs.set(c.id, c);
      if (c.state === 'open') this.openByKey.set(c.key, c);
    }
    this.accepted.clear();
    for (const [k, v] of s.accepted) this.accepted.set(k, v);
    this.archive.clear();
    if (Array.isArray(s.archive)) for (const o of s.archive) this.archive.addOrder(o);
    else this.archive.importColumns(s.archive);
    this.actions.length = 0;
    this.actions.push(...s.actions);
  }

  // ---- end of day ----

  /** Reconcile now, then gather the day's report inputs from that run's records. */
  async endOfDay(): Promise<EodInput> {
    await this.run('eod');
    return this.dayReportInput();
  }

  /**
   * The day's report inputs as they stand, the broker's side from the last run of the day
   * (none: the report lists the engine's side only). Synchronous: the engine takes it at the
   * roll, before the day's orders go.
   */
  dayReportInput(): EodInput {
    const view: BrokerView = this.lastView ?? { open: [], trades: [], day: undefined, positions: [], cash: [], time: this.target.clock.now() };
    const { clock } = this.target;
    const now = clock.now();
    const live = this.target.orders();
    const orders = new Map<string, LocalOrder>();
    for (let i = 0; i < this.archive.size; i++) orders.set(this.archive.clientIdAt(i), this.archive.at(i));
    for (const o of live) orders.set(o.clientOrderId, o);
    const brokerOrders = new Map<string, BrokerOrder>();
    for (const b of view.day ?? []) brokerOrders.set(b.brokerOrderId, b);
    for (const b of view.open) brokerOrders.set(b.brokerOrderId, b);
    const byBroker = new Map<string, LocalOrder>();
    for (const o of orders.values()) if (o.brokerOrderId !== '') byBroker.set(o.brokerOrderId, o);
    const pos = this.target.positions();
    const brokerPos = new Map(view.positions.map((p) => [p.symbol, p.qty]));
    const cash = this.target.cash();
    const brokerCash = new Map(view.cash.map((a) => [a.currency, a.cash]));
    return {
      date: this.target.day?.() ?? new Date(now).toISOString().slice(0, 10),
      generatedAt: now,
      broker: this.target.broker.name,
      orders: [...orders.values()],
      brokerOrders: [...brokerOrders.values()],
      trades: view.trades.map((t) => {
        const l = byBroker.get(t.brokerOrderId);
        const applied = l === undefined ? false : (this.target.hasExec(l.clientOrderId, t.execId) ?? this.archive.has(l.clientOrderId));
        return { ...t, applied };
      }),
      positions: [...new Set([...pos.keys(), ...brokerPos.keys()])].map((symbol) => ({ symbol, local: pos.get(symbol) ?? 0, broker: brokerPos.get(symbol) ?? 0 })),
      cash: [...new Set([...Object.keys(cash), ...brokerCash.keys()])].map((currency) => ({ currency, local: round(cash[currency] ?? 0), broker: brokerCash.has(currency) ? round(brokerCash.get(currency)!) : null })),
      diffs: this.list({ state: 'all' }),
    };
  }
}

/** Reconciliation's part of a journal snapshot. */
export interface ReconState {
  seq: number;
  diffs: Diff[];
  accepted: Array<[string, string]>;
  /** Columns (this build), or one object per order (older snapshots). */
  archive: ArchiveColumns | LocalOrder[];
  actions: Array<{ action: string; who: string; note: string; time: number }>;
}

/** The key prefixes of order-level diffs (a key is `<prefix>:<brokerOrderId or clientOrderId>`). */
const ORDER_KEYS: readonly string[] = ['MISSING_LOCAL', 'MISSING_AT_BROKER', 'STATUS_MISMATCH', 'FILLED_QTY_MISMATCH', 'PRICE_MISMATCH:fill', 'PRICE_MISMATCH:limit'];

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

function byTime(trades: readonly BrokerTrade[]): BrokerTrade[] {
  return [...trades].sort((a, b) => a.time - b.time);
}

/** Money and prices to 1e-8, so float noise does not make a value look different. */
function round(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

function signature(c: Candidate): string {
  return `${String(c.local)}|${String(c.broker)}`;
}

function copyDiff(d: Diff): Diff {
  return { ...d, actions: d.actions.map((a) => ({ ...a })) };
}

export type { DiffAction };

/** What a run cannot compare with this adapter, from what it declares it can sync. */
function notComparedOf(broker: BrokerAdapter): string[] {
  const s = broker.syncs;
  if (s === undefined) return [];
  const out: string[] = [];
  if (!s.account) out.push(`cash: ${broker.name} cannot query the broker's account`);
  if (s.orders === 'session') out.push(`order states the broker never reported: ${broker.name}'s orders come from its session record`);
  if (s.positions === 'derived') out.push(`positions held outside this session: ${broker.name}'s positions are summed from its trades`);
  return out;
}
