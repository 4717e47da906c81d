/**
 * The fallback switch (docs/release.md): from live trading to paper (new orders go to an
 * embedded simulated broker fed with the live reference prices) or to safe-stop (cancel
 * everything and halt), and back to live by a separate command. The paper period's orders,
 * positions and P&L live in their own engine, never in the live one's ledger or its
 * reconciliation with the real broker. Part of the composition: it wires a second engine.
 */
import type { SimBroker } from './brokers/sim/sim-broker.js';
import type { OrderRequest, SubmitResult, CancelResult } from './domain/order.js';
import type { Engine } from './engine.js';

/** Where new orders go. */
export type TradingMode = 'live' | 'paper' | 'safe-stop';

/** The config's `fallback` section. */
export interface FallbackOptions {
  /** Orders live at the real broker when switching to paper: cancel them (default), or keep them and keep tracking their reports. */
  liveOrders?: 'cancel' | 'keep';
  /**
   * The paper engine's journal directory. Default: beside the live journal, `<journal.dir>-paper`;
   * without a live journal the paper period is not journaled either.
   */
  journalDir?: string;
}

/** One switch, as journaled and listed by `modeHistory()`. */
export interface ModeChange {
  readonly from: TradingMode;
  readonly to: TradingMode;
  readonly who: string;
  readonly note: string;
  readonly time: number;
}

/** What a switch did. */
export type SwitchResult =
  | {
    readonly ok: true;
    readonly from: TradingMode;
    readonly mode: TradingMode;
    /** False when the engine was in that mode already (nothing done). */
    readonly changed: boolean;
    /** Live orders: cancels sent, already pending, failed to send, left open (liveOrders: keep). */
    readonly liveOrders: { cancelsSent: number; alreadyPending: number; failed: Array<{ clientOrderId: string; reason: string; detail: string }>; kept: number };
    /** Paper orders cancelled (going live or to safe-stop from paper). */
    readonly paperCancels: number;
  }
  | { readonly ok: false; readonly problem: string };

export function fallbackProblems(f: unknown): string[] {
  if (f === undefined) return [];
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return ['fallback: must be an object'];
  const o = f as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o)) if (k !== 'liveOrders' && k !== 'journalDir') out.push(`fallback.${k}: unknown option (known: liveOrders, journalDir)`);
  if (o.liveOrders !== undefined && o.liveOrders !== 'cancel' && o.liveOrders !== 'keep') out.push('fallback.liveOrders: must be cancel or keep');
  if (o.journalDir !== undefined && (typeof o.journalDir !== 'string' || o.journalDir === '')) out.push('fallback.journalDir: must be a non-empty path');
  return out;
}

/** What the switch needs of the live engine (its composition hands these over). */
export interface LiveSide {
  readonly engine: Engine;
  /** Whether the live engine holds (or held today) this client order id. */
  knows(id: string): boolean;
  /** Live submit, cancel, and a refusal in the live engine's counters. */
  submit(order: OrderRequest): SubmitResult;
  submitMany(orders: readonly OrderRequest[]): SubmitResult[];
  cancel(id: string): CancelResult;
  deny(id: string, reason: 'DUPLICATE_ORDER_ID' | 'BROKER_NOT_READY', detail: string): SubmitResult;
  /** Cancel every open live order (the trading state is left as it is). */
  cancelAllOpen(): { cancelsSent: number; alreadyPending: number; failed: Array<{ clientOrderId: string; reason: string; detail: string }> };
  safeStop(reason: string): { cancelsSent: number; alreadyPending: number; failed: Array<{ clientOrderId: string; reason: string; detail: string }> };
  setActive(reason: string): void;
  /** Journal a switch; false when the journal cannot take it. */
  record(change: ModeChange): boolean;
  /** The paper engine, made on first use (not started). */
  makePaper(): { engine: Engine; sim: SimBroker };
  /** The paper engine stopped: keep its broker's records for the next start. */
  paperStopped(sim: SimBroker): void;
  /** The reference prices known now, by symbol. */
  references(): Array<[string, number]>;
  now(): number;
  warn(obj: object, msg: string): void;
}

export class FallbackSwitch {
  private _mode: TradingMode = 'live';
  readonly history: ModeChange[] = [];
  private paper: { engine: Engine; sim: SimBroker } | undefined;
  private paperReady = false;
  private starting: Promise<void> | undefined;

  constructor(private readonly live: LiveSide, private readonly options: FallbackOptions = {}) {}

  get mode(): TradingMode {
    return this._mode;
  }

  /** Whether submits must be routed here rather than straight to the live core (paper mode, or a paper engine exists). A field: the engine's submit reads it. */
  routing = false;

  get paperEngine(): Engine | undefined {
    return this.paper?.engine;
  }

  submit(order: OrderRequest): SubmitResult {
    const id = typeof order === 'object' && order !== null && typeof order.clientOrderId === 'string' ? order.clientOrderId : undefined;
    if (this._mode === 'paper') {
      if (id !== undefined && this.live.knows(id)) return this.live.deny(id, 'DUPLICATE_ORDER_ID', `clientOrderId=${id} belongs to a live order of the day; mode=paper`);
      if (!this.paperReady) return this.live.deny(id ?? String(id), 'BROKER_NOT_READY', 'mode=paper the paper engine is starting');
      return this.paper!.engine.submit(order);
    }
    if (id !== undefined && this.paper?.engine.getOrder(id) !== undefined) return this.live.deny(id, 'DUPLICATE_ORDER_ID', `clientOrderId=${id} belongs to a paper order of the day; mode=${this._mode}`);
    return this.live.submit(order);
  }

  submitMany(orders: readonly OrderRequest[]): SubmitResult[] {
    if (this._mode === 'paper' && this.paperReady && !orders.some((o) => typeof o?.clientOrderId === 'string' && this.live.knows(o.clientOrderId))) {
      return this.paper!.engine.submitMany(orders);
    }
    if (this._mode !== 'paper' && !orders.some((o) => typeof o?.clientOrderId === 'string' && this.paper?.engine.getOrder(o.clientOrderId) !== undefined)) {
      return this.live.submitMany(orders);
    }
    return orders.map((o) => this.submit(o));
  }

  /** A cancel goes to the engine that holds the order. */
  cancel(id: string): CancelResult {
    if (this.paper !== undefined && typeof id === 'string' && !this.live.knows(id) && this.paper.engine.getOrder(id) !== undefined) return this.paper.engine.cancel(id);
    return this.live.cancel(id);
  }

  /** A live reference price: the paper market follows it. */
  price(symbol: string, price: number): void {
    if (this.paper === undefined) return;
    this.paper.sim.setMid(symbol, price);
  }

  async toPaper(cmd: { note: string; who?: string }): Promise<SwitchResult> {
    const bad = noteProblem(cmd);
    if (bad !== undefined) return { ok: false, problem: bad };
    const from = this._mode;
    if (from === 'paper') return { ok: true, from, mode: 'paper', changed: false, liveOrders: { cancelsSent: 0, alreadyPending: 0, failed: [], kept: 0 }, paperCancels: 0 };
    const change = this.change('paper', cmd);
    if (!this.live.record(change)) return { ok: false, problem: 'the journal cannot take the switch; nothing changed' };
    this.apply(change);
    // from here no new order goes live: until the paper engine is up, submits are refused
    const keep = (this.options.liveOrders ?? 'cancel') === 'keep';
    const live = keep ? { cancelsSent: 0, alreadyPending: 0, failed: [] } : this.live.cancelAllOpen();
    const kept = keep ? this.live.engine.openOrderCount() : 0;
    await this.startPaper();
    this.live.warn({ from, to: 'paper', who: change.who, note: change.note, ...live, failed: live.failed.length, kept }, 'fallback: new orders go to paper');
    return { ok: true, from, mode: 'paper', changed: true, liveOrders: { ...live, kept }, paperCancels: 0 };
  }

  async toSafeStop(cmd: { note: string; who?: string }): Promise<SwitchResult> {
    const bad = noteProblem(cmd);
    if (bad !== undefined) return { ok: false, problem: bad };
    const from = this._mode;
    const change = this.change('safe-stop', cmd);
    if (from !== 'safe-stop' && !this.live.record(change)) return { ok: false, problem: 'the journal cannot take the switch; nothing changed' };
    if (from !== 'safe-stop') this.apply(change);
    // safe-stop is idempotent like safeStop: cancels are sent again for anything still open
    const live = this.live.safeStop(change.note);
    const paperCancels = this.paper !== undefined && this.paperReady ? this.paper.engine.safeStop(change.note).cancelsSent : 0;
    this.live.warn({ from, to: 'safe-stop', who: change.who, note: change.note, ...live, failed: live.failed.length, paperCancels }, 'fallback: safe-stop');
    return { ok: true, from, mode: 'safe-stop', changed: from !== 'safe-stop', liveOrders: { ...live, kept: 0 }, paperCancels };
  }

  async toLive(cmd: { note: string; who?: string }): Promise<SwitchResult> {
    const bad = noteProblem(cmd);
    if (bad !== undefined) return { ok: false, problem: bad };
    const from = this._mode;
    const none = { cancelsSent: 0, alreadyPending: 0, failed: [], kept: 0 };
    if (from === 'live') return { ok: true, from, mode: 'live', changed: false, liveOrders: none, paperCancels: 0 };
    const change = this.change('live', cmd);
    if (!this.live.record(change)) return { ok: false, problem: 'the journal cannot take the switch; nothing changed' };
    this.apply(change);
    let paperCancels = 0;
    if (this.paper !== undefined && this.paperReady) {
      // paper orders do not outlive the paper period
      for (const o of this.paper.engine.openOrders()) if (this.paper.engine.cancel(o.clientOrderId).status === 'sent') paperCancels++;
    }
    // safe-stop halted live trading; back to live lifts it (a Halted from elsewhere, a loss cap say, stays)
    if (from === 'safe-stop') this.live.setActive(`back to live: ${change.note}`);
    this.live.warn({ from, to: 'live', who: change.who, note: change.note, paperCancels }, 'fallback: back to live');
    return { ok: true, from, mode: 'live', changed: true, liveOrders: none, paperCancels };
  }

  /** A journaled switch, replayed (no orders are touched: the journal holds what was done). */
  replay(change: ModeChange): void {
    this.apply(change);
  }

  /** After a start (or a restart in paper mode): the paper engine runs again when the mode is paper. */
  async resume(): Promise<void> {
    if (this._mode === 'paper' && !this.paperReady) await this.startPaper();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (this.paper !== undefined && this.paperReady) {
      await this.paper.engine.stop();
      this.live.paperStopped(this.paper.sim);
    }
    this.paperReady = false;
  }

  private async startPaper(): Promise<void> {
    if (this.paperReady) {
      // a paper engine a safe-stop halted: a new paper period trades again
      const e = this.paper!.engine;
      if (e.tradingState !== 'Active') e.setTradingState('Active', 'paper period begins');
      return;
    }
    if (this.starting === undefined) {
      this.starting = (async () => {
        this.paper ??= this.live.makePaper();
        this.routing = true;
        const { engine, sim } = this.paper;
        for (const [sym, px] of this.live.references()) sim.setMid(sym, px);
        if (engine.state !== 'running') await engine.start();
        for (const [sym, px] of this.live.references()) engine.updateReference(sym, px);
        if (engine.tradingState !== 'Active') engine.setTradingState('Active', 'paper period begins');
        this.paperReady = true;
      })().finally(() => {
        this.starting = undefined;
      });
    }
    await this.starting;
  }

  private change(to: TradingMode, cmd: { note: string; who?: string }): ModeChange {
    return { from: this._mode, to, who: typeof cmd.who === 'string' && cmd.who !== '' ? cmd.who : 'operator', note: cmd.note, time: this.live.now() };
  }

  private apply(change: ModeChange): void {
    this._mode = change.to;
    this.history.push(change);
    this.routing = this._mode === 'paper' || this.paper !== undefined;
  }
}

function noteProblem(cmd: { note: string; who?: string } | undefined): string | undefined {
  if (typeof cmd?.note !== 'string' || cmd.note.trim() === '') return 'a switch needs a note saying why';
  if (cmd.who !== undefined && typeof cmd.who !== 'string') return 'who must be a string';
  return undefined;
}
