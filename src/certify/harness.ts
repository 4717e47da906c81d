/**
 * The certification harness (docs/certify.md): a real engine on the adapter under test, behind
 * the fault-injecting wrapper, and the invariants checked after every case and drill.
 *
 * A target is what `--adapter` names: it opens a venue per case (a fresh simulated broker, a
 * fresh FIX session, the user's factory), makes adapters to it (the first engine and each
 * restarted one get their own), and says how to make its broker ack, fill, partly fill, reject.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { BrokerAdapter } from '../brokers/adapter.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Anomaly } from '../core/anomaly.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import type { OrderRequest, SubmitResult } from '../domain/order.js';
import type { BrokerOrder } from '../domain/report.js';
import { createEngine, type Engine } from '../engine.js';
import { FaultyBroker, type ReportFaults } from './faults.js';

/** What a case may need of the adapter and its broker; a case whose need is missing is skipped, never passed. */
export type Capability =
  /** An order can rest at the broker, acknowledged and open (the recipe `rest`). */
  | 'restingOrders'
  /** The broker partly fills an order (the recipe `partial`). */
  | 'partialFills'
  /** The broker rejects an order (the recipe `reject`). */
  | 'reject'
  /** A cancel can reach the broker after the order filled (the recipe `fill` then an immediate cancel). */
  | 'cancelReject'
  /** Fills happen at the broker while the engine is not connected (a resting order meets the market). */
  | 'fillsWhileAway'
  /** The broker side can be restarted (`Venue.restartBroker`). */
  | 'restartBroker'
  /** The broker can be made slow to acknowledge (`Venue.slowAcks`). */
  | 'slowAcks';

export const CAPABILITIES: readonly Capability[] = ['restingOrders', 'partialFills', 'reject', 'cancelReject', 'fillsWhileAway', 'restartBroker', 'slowAcks'];

/** Orders that make the broker do one thing; `primary` is the order the case watches. */
export interface Recipe {
  readonly orders: Array<Omit<OrderRequest, 'clientOrderId'>>;
  readonly primary: number;
}

export type RecipeKind = 'rest' | 'fill' | 'partial' | 'reject';

/** One case's broker: fresh for each case, so a case sees only its own orders. */
export interface Venue {
  readonly instruments: InstrumentSpec[];
  readonly initialCash?: Record<string, number>;
  /** The engine's environment for this broker (`paper` for the embedded one; default `sim`). */
  readonly environment?: 'paper' | 'sim';
  /** A new adapter to this venue's broker. */
  adapter(): BrokerAdapter | Promise<BrokerAdapter>;
  /** How to make the broker do `kind` now; undefined when it cannot. */
  recipe(kind: RecipeKind, side: 'buy' | 'sell', symbol: string): Recipe | undefined;
  /** Move a symbol's market to `price` (simulated brokers): resting orders it reaches fill, engine connected or not. */
  moveMarket?(symbol: string, price: number): void;
  /** The broker's mid price of a symbol, when it has one. */
  mid?(symbol: string): number;
  /** The venue's own count of orders received per client order id, when it can tell (`sent twice` is then checked at the venue too). */
  venuePlaced?(): ReadonlyMap<string, number>;
  restartBroker?(): Promise<void>;
  slowAcks?(ms: number): void;
  close(): Promise<void>;
}

export interface Target {
  /** As `--adapter` named it. */
  readonly name: string;
  /** `manual`: a simulated clock the harness moves (in-process brokers; fast and exactly replayable); `real`: wall time. */
  readonly time: 'manual' | 'real';
  readonly capabilities: ReadonlySet<Capability>;
  /** Why each missing capability is missing (shown on skipped cases). */
  readonly missing?: Partial<Record<Capability, string>>;
  openVenue(ctx: { caseId: string; clock: Clock; seed: number; dir: string }): Promise<Venue>;
  close?(): Promise<void>;
}

/** The clock of one engine: a view of the shared clock whose timers all go when the engine is killed. */
export class KillableClock implements Clock {
  private readonly mine = new Set<TimerHandle>();
  private dead = false;
  readonly originMs: number | undefined;

  constructor(private readonly base: Clock) {
    this.originMs = base.originMs;
    if (base.nowNs !== undefined) this.nowNs = () => base.nowNs!();
  }

  nowNs?: () => number;

  now(): number {
    return this.base.now();
  }

  setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle {
    if (this.dead) return { id: -1 };
    const h: TimerHandle = this.base.setTimer(() => {
      this.mine.delete(h);
      if (!this.dead) fn();
    }, ms, keepAlive);
    this.mine.add(h);
    return h;
  }

  clearTimer(handle: TimerHandle): void {
    if (this.mine.delete(handle)) this.base.clearTimer(handle);
  }

  kill(): void {
    this.dead = true;
    for (const h of this.mine) this.base.clearTimer(h);
    this.mine.clear();
  }
}

/** The invariants' totals (summed over cases and drills for the summary). */
export interface InvariantCounts {
  lost: number;
  duplicated: number;
  doubleCounted: number;
  cumQtyDiffers: number;
  positionsDiffer: number;
  cashDiffers: number;
  reconDiffs: number;
  unaccountedAlerts: number;
}

export const NO_VIOLATIONS: InvariantCounts = { lost: 0, duplicated: 0, doubleCounted: 0, cumQtyDiffers: 0, positionsDiffer: 0, cashDiffers: 0, reconDiffs: 0, unaccountedAlerts: 0 };

export interface InvariantResult {
  readonly ok: boolean;
  readonly counts: InvariantCounts;
  /** One line per violation, naming ids and both values. */
  readonly problems: string[];
  /** What could not be checked with this adapter, and why. */
  readonly notChecked: string[];
}

export class CaseFailure extends Error {}

const QTY_EPS = 1e-9;
const OPEN = new Set(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);

/**
 * One case's or drill's run: the venue, the engine (restartable), the wrapper, the orders the
 * engine accepted, the anomalies raised and which of them the case expected.
 */
export class Session {
  engine!: Engine;
  faulty!: FaultyBroker;
  private clock!: KillableClock;
  /** Client order ids the engine accepted, in order. */
  readonly accepted: string[] = [];
  readonly anomalies: Anomaly[] = [];
  /** Anomaly kinds this case expects (raised by what it does on purpose). */
  readonly expected = new Set<string>();
  /** Sends per client order id over every engine of the session (the wrappers' counts summed). */
  private readonly placedBefore = new Map<string, number>();
  private readonly cancelsBefore = new Map<string, number>();
  /** Contract breaches the wrappers saw, over every engine of the session. */
  readonly contract = { synchronous: [] as string[], missingIds: [] as string[], execIdReused: [] as string[] };
  private nextId = 1;
  readonly journalDir: string;
  engines = 0;

  constructor(
    readonly venue: Venue,
    readonly baseClock: Clock,
    readonly sleep: (ms: number) => Promise<void>,
    readonly idPrefix: string,
    readonly seed: number,
    dir: string,
    readonly faults: ReportFaults = {},
    readonly capabilities: ReadonlySet<Capability> = new Set(),
  ) {
    this.journalDir = path.join(dir, 'journal');
  }

  /** Make and start an engine on the journal (restored when there is one). */
  async startEngine(): Promise<void> {
    this.clock = new KillableClock(this.baseClock);
    const adapter = await this.venue.adapter();
    this.faulty = new FaultyBroker(adapter, { clock: this.clock, seed: this.seed * 31 + this.engines, faults: this.faults });
    this.engines++;
    this.engine = createEngine({
      instruments: this.venue.instruments,
      broker: this.faulty,
      clock: this.clock,
      logger: pino({ level: 'silent' }),
      ...(this.venue.initialCash !== undefined ? { initialCash: this.venue.initialCash } : {}),
      environment: this.venue.environment ?? 'sim',
      journal: { dir: this.journalDir, segmentBytes: 1 << 20 },
      capacity: 4096,
      connection: { heartbeatMs: 500, reconnectBaseMs: 20, reconnectCapMs: 200, startTimeoutMs: 10_000, seed: this.seed },
      recon: { graceMs: 0 },
      onAnomaly: (a) => {
        this.anomalies.push(a);
      },
    });
    await this.engine.start();
  }

  private keepCounts(): void {
    const add = (into: Map<string, number>, from: ReadonlyMap<string, number>) => {
      for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
    };
    add(this.placedBefore, this.faulty.stats.placed);
    add(this.cancelsBefore, this.faulty.stats.cancels);
    this.contract.synchronous.push(...this.faulty.stats.synchronous);
    this.contract.missingIds.push(...this.faulty.stats.missingIds);
    this.contract.execIdReused.push(...this.faulty.stats.execIdReused);
  }

  /** Stop the engine cleanly and start a new one on its journal. */
  async restartEngine(): Promise<void> {
    await this.engine.stop();
    this.keepCounts();
    await this.startEngine();
  }

  /** Kill the engine as kill -9 would (in this process: its timers, wrapper and journal left as a dead process leaves them), then start a new one on its journal. */
  async crashEngine(): Promise<void> {
    this.clock.kill();
    await this.faulty.kill();
    this.engine.crashForDrill();
    this.keepCounts();
    await this.startEngine();
  }

  /** The session's own client order id. */
  id(tag = 'o'): string {
    return `${this.idPrefix}-${tag}${this.nextId++}`;
  }

  submit(o: Omit<OrderRequest, 'clientOrderId'> & { clientOrderId?: string }): SubmitResult {
    const req = { ...o, clientOrderId: o.clientOrderId ?? this.id() } as OrderRequest;
    const r = this.engine.submit(req);
    if (r.status === 'accepted') this.accepted.push(req.clientOrderId);
    return r;
  }

  /** Submit a recipe's orders; returns their ids (the primary first), or throws when one was not accepted. */
  place(recipe: Recipe): { primary: string; ids: string[] } {
    const ids: string[] = [];
    for (const o of recipe.orders) {
      const r = this.submit(o);
      if (r.status !== 'accepted') throw new CaseFailure(`the engine did not accept ${o.side} ${o.qty} ${o.symbol}: ${JSON.stringify(r)}`);
      ids.push(r.clientOrderId);
    }
    return { primary: ids[recipe.primary]!, ids };
  }

  /** Wait until `cond` holds, moving time (a manual clock) or sleeping; throws after `timeoutMs` of session time. */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 5000, stepMs = 5): Promise<void> {
    let waited = 0;
    for (;;) {
      if (cond()) return;
      if (waited >= timeoutMs) throw new CaseFailure(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.sleep(stepMs);
      waited += stepMs;
    }
  }

  /** Wait for the engine to be Ready again (after a cut or a restart). */
  async ready(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => this.engine.ready, `the engine to be Ready (connection ${this.engine.connectionState})`, timeoutMs, 10);
  }

  status(id: string): string {
    return this.engine.getOrder(id)?.status ?? '(unknown)';
  }

  /**
   * Bring the session to rest: faults healed, reports delivered, connection Ready, a recovery
   * sync, and time for anything in flight to land.
   */
  async settle(): Promise<void> {
    this.faulty.heal();
    this.faulty.unhang();
    await this.ready();
    await this.sleep(30);
    await this.engine.resync({ graceMs: 0 });
    await this.sleep(30);
  }

  /**
   * The invariants: no order lost, no client order id sent twice, no fill counted twice, every
   * order's cumulative quantity the broker's, positions and cash equal to the sum of fills and
   * to the broker's, reconciliation clean, every anomaly raised expected by the case.
   */
  async check(): Promise<InvariantResult> {
    const problems: string[] = [];
    const notChecked: string[] = [];
    const counts: InvariantCounts = { ...NO_VIOLATIONS };
    const bad = (key: keyof InvariantCounts, line: string) => {
      counts[key]++;
      if (problems.length < 200) problems.push(line);
    };
    const broker = this.faulty.inner;
    const [open, trades, positions, account, day] = await Promise.all([
      broker.syncOpenOrders(), broker.syncTodayTrades(), broker.queryPositions(),
      broker.queryAccount(), broker.syncDayOrders !== undefined ? broker.syncDayOrders() : Promise.resolve(undefined as BrokerOrder[] | undefined),
    ]);
    const engine = this.engine;
    const syncs = broker.syncs;

    // no order lost: every accepted order known and settled; every broker order known
    const brokerByClient = new Map<string, BrokerOrder[]>();
    for (const b of [...(day ?? []), ...open]) {
      const list = brokerByClient.get(b.clientOrderId) ?? [];
      if (!list.some((x) => x.brokerOrderId === b.brokerOrderId)) list.push(b);
      brokerByClient.set(b.clientOrderId, list);
    }
    const openAtBroker = new Set(open.map((b) => b.clientOrderId));
    for (const id of this.accepted) {
      const o = engine.getOrder(id);
      if (o === undefined) {
        bad('lost', `lost: ${id} was accepted and the engine no longer knows it`);
        continue;
      }
      if (OPEN.has(o.status) && !openAtBroker.has(id)) bad('lost', `lost: ${id} is ${o.status} in the engine and not open at the broker`);
      if (!OPEN.has(o.status) && openAtBroker.has(id)) bad('lost', `lost: ${id} is ${o.status} in the engine and still open at the broker`);
    }
    for (const b of open) {
      const o = engine.getOrder(b.clientOrderId);
      if (o === undefined || o.external) bad('lost', `lost: open at the broker, not the engine's own order: clientOrderId=${b.clientOrderId} brokerOrderId=${b.brokerOrderId}`);
      else if (o.status !== b.status) bad('lost', `status: ${b.clientOrderId} engine=${o.status} broker=${b.status}`);
    }
    if (day !== undefined) {
      for (const b of day) {
        const o = engine.getOrder(b.clientOrderId);
        if (o !== undefined && !o.external && o.brokerOrderId === b.brokerOrderId && o.status !== b.status) bad('lost', `status: ${b.clientOrderId} engine=${o.status} broker=${b.status}`);
      }
    } else notChecked.push('finished orders\' statuses: the adapter has no syncDayOrders');

    // no client order id sent twice: at the wrapper, at the venue, in the broker's records
    const placed = new Map(this.placedBefore);
    for (const [k, v] of this.faulty.stats.placed) placed.set(k, (placed.get(k) ?? 0) + v);
    for (const [id, n] of placed) if (n > 1) bad('duplicated', `sent twice: ${id} was handed to the adapter ${n} times`);
    const venue = this.venue.venuePlaced?.();
    if (venue !== undefined) {
      for (const [id, n] of venue) if (n > 1) bad('duplicated', `sent twice: the broker received ${id} ${n} times`);
    } else notChecked.push('orders received at the venue: this target cannot count them (checked at the adapter and in its records)');
    for (const [id, list] of brokerByClient) if (list.length > 1) bad('duplicated', `sent twice: the broker holds ${list.length} orders for ${id} (${list.map((b) => b.brokerOrderId).join(', ')})`);

    // fills: once each, every order's cumulative quantity the broker's
    const execIds = new Set<string>();
    const byOrder = new Map<string, number>();
    const brokerPos = new Map<string, number>();
    const cash = new Map<string, number>();
    const ccy = new Map(this.venue.instruments.map((i) => [i.symbol, i.currency ?? 'USD']));
    for (const t of trades) {
      const key = `${t.brokerOrderId}\u0000${t.execId}`;
      if (execIds.has(key)) bad('doubleCounted', `the broker lists execId ${t.execId} of ${t.brokerOrderId} twice`);
      execIds.add(key);
      byOrder.set(t.clientOrderId, (byOrder.get(t.clientOrderId) ?? 0) + t.qty);
      brokerPos.set(t.symbol, (brokerPos.get(t.symbol) ?? 0) + (t.side === 'buy' ? t.qty : -t.qty));
      const c = ccy.get(t.symbol) ?? 'USD';
      cash.set(c, (cash.get(c) ?? 0) + (t.side === 'buy' ? -t.qty * t.price : t.qty * t.price));
    }
    const mine = engine.orders().filter((o) => !o.external);
    for (const o of mine) {
      const atBroker = byOrder.get(o.clientOrderId) ?? 0;
      if (o.cumQty > atBroker + QTY_EPS) bad('doubleCounted', `counted twice: ${o.clientOrderId} engine cumQty=${o.cumQty} broker trades=${atBroker}`);
      else if (Math.abs(o.cumQty - atBroker) > QTY_EPS) bad('cumQtyDiffers', `cumQty: ${o.clientOrderId} engine=${o.cumQty} broker trades=${atBroker}`);
      const b = (brokerByClient.get(o.clientOrderId) ?? []).find((x) => x.brokerOrderId === o.brokerOrderId);
      if (b !== undefined && Math.abs(b.cumQty - o.cumQty) > QTY_EPS) bad('cumQtyDiffers', `cumQty: ${o.clientOrderId} engine=${o.cumQty} broker order=${b.cumQty}`);
    }
    const fills = engine.account().fills;
    if (fills > trades.length) bad('doubleCounted', `counted twice: the engine booked ${fills} fills, the broker lists ${trades.length} trades`);
    else if (fills < trades.length) bad('cumQtyDiffers', `fills: the engine booked ${fills} fills, the broker lists ${trades.length} trades`);

    // positions: the engine's, Σ of its fills, the broker's, Σ of the broker's trades
    const sumFills = new Map<string, number>();
    for (const o of engine.orders()) sumFills.set(o.symbol, (sumFills.get(o.symbol) ?? 0) + (o.side === 'buy' ? o.cumQty : -o.cumQty));
    const enginePos = new Map(engine.positions().map((p) => [p.symbol, p.qty]));
    const reported = new Map(positions.map((p) => [p.symbol, p.qty]));
    for (const s of new Set([...enginePos.keys(), ...sumFills.keys(), ...brokerPos.keys(), ...reported.keys()])) {
      const e = enginePos.get(s) ?? 0;
      const f = sumFills.get(s) ?? 0;
      const t = brokerPos.get(s) ?? 0;
      const r = reported.get(s) ?? 0;
      if (Math.abs(e - f) > QTY_EPS || Math.abs(e - t) > QTY_EPS || Math.abs(e - r) > QTY_EPS) bad('positionsDiffer', `position ${s}: engine=${e} Σ engine fills=${f} Σ broker trades=${t} broker=${r}`);
    }
    if (syncs?.positions === 'derived') notChecked.push('positions from the broker itself: the adapter derives them from its trades');

    // cash: the engine's against its start plus Σ broker trades, and against the broker's
    const initial = this.venue.initialCash ?? {};
    const engineCash = engine.account().cash;
    const brokerCash = new Map(account.map((a) => [a.currency, a.cash]));
    for (const c of new Set([...Object.keys(engineCash), ...cash.keys(), ...Object.keys(initial)])) {
      const e = engineCash[c] ?? 0;
      const want = (initial[c] ?? 0) + (cash.get(c) ?? 0);
      if (Math.abs(e - want) > 0.01) bad('cashDiffers', `cash ${c}: engine=${e} start + Σ broker trades=${round2(want)}`);
      if (syncs?.account !== false && brokerCash.has(c) && Math.abs(e - brokerCash.get(c)!) > 0.01) bad('cashDiffers', `cash ${c}: engine=${e} broker=${brokerCash.get(c)}`);
    }
    if (syncs?.account === false) notChecked.push('cash at the broker: the adapter cannot ask for it');

    // reconciliation clean
    const run = await engine.reconcile();
    for (const d of run.raised) bad('reconDiffs', `reconciliation: ${d.kind} ${d.key}: ${d.detail}`);
    if (run.open > run.raised.length) bad('reconDiffs', `reconciliation: ${run.open} diff(s) open`);

    // every anomaly raised accounted for
    for (const a of this.anomalies) if (!this.expected.has(a.kind)) bad('unaccountedAlerts', `alert not accounted for: ${a.kind} (${a.severity}) ${a.reason}`);

    return { ok: problems.length === 0, counts, problems, notChecked };
  }

  /** The contract breaches seen so far (the current engine's included). */
  breaches(): { synchronous: string[]; missingIds: string[]; execIdReused: string[] } {
    return {
      synchronous: [...this.contract.synchronous, ...this.faulty.stats.synchronous],
      missingIds: [...this.contract.missingIds, ...this.faulty.stats.missingIds],
      execIdReused: [...this.contract.execIdReused, ...this.faulty.stats.execIdReused],
    };
  }

  /** The session is over: the engine is let go as a killed one (a clean stop's snapshot would only cost time), then the venue closes. */
  async close(): Promise<void> {
    if (this.engine !== undefined) {
      this.clock.kill();
      await this.faulty.kill();
      this.engine.crashForDrill();
    }
    await this.venue.close();
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A fresh empty directory. */
export function freshDir(dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
