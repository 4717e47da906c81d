/**
 * `submitMany`: the dedup probe and the per-order checks once per chunk of up to 256 orders,
 * through the batch gate (native when the addon is loaded), then each order finalized in order
 * through the submit path. Anything that breaks one-by-one semantics reruns the rest one by one.
 */
import type { Instrument } from '../domain/instrument.js';
import type { OrderRequest, SubmitResult } from '../domain/order.js';
import { STATUS_NAMES } from '../domain/order-status.js';
import { R } from '../domain/reject-reason.js';
import type { NativeAddon } from '../native/loader.js';
import type { AccountRisk } from '../risk/account-risk.js';
import type { PreTradeRisk } from '../risk/pretrade.js';
import type { OrderArchive } from './day-store.js';
import type { Exposure } from './exposure.js';
import { BatchBuffers, GATE_DUP, GATE_SKIP, NativeGate, TsGate, type Gate } from './gate.js';
import type { Ledger } from './ledger.js';
import { PARSE_BAD_ID } from './order-parse.js';
import { TYPE_LIMIT, TYPE_MARKET, type OrderTable } from './order-table.js';
import type { CoreLogger } from './ports.js';
import type { Counters } from './stats.js';
import type { SubmitPath } from './submit-path.js';
import type { TradingCore } from './trading-core.js';

/** Orders per gate call in submitMany. */
const BATCH = 256;

export class BatchSubmit {
  private readonly table: OrderTable;
  private readonly instruments: readonly Instrument[];
  private readonly risk: PreTradeRisk;
  private readonly accountRisk: AccountRisk;
  private readonly ledger: Ledger;
  private readonly exposure: Exposure;
  private readonly archive: OrderArchive;
  private readonly counters: Counters;
  private readonly logger: CoreLogger;
  private readonly readNs: () => number;
  private readonly baseMs: number;
  private readonly s: SubmitPath;
  private readonly batch = new BatchBuffers(BATCH);
  private readonly batchIds = new Array<string>(BATCH).fill('');
  private readonly batchPre = new Int32Array(BATCH);
  private readonly batchDetail = new Array<string>(BATCH).fill('');
  private readonly batchTif = new Uint8Array(BATCH);
  private readonly batchSlot = new Int32Array(BATCH);
  private readonly batchReduce = new Uint8Array(BATCH);
  private readonly seqBuy: Float64Array;
  private readonly seqSell: Float64Array;
  private readonly gate: Gate;
  /** Which gate runs: the native addon's or the TypeScript one. */
  readonly backend: 'native' | 'ts';

  constructor(private readonly c: TradingCore, addon: NativeAddon | undefined) {
    this.table = c.table;
    this.instruments = c.instruments;
    this.risk = c.risk;
    this.accountRisk = c.accountRisk;
    this.ledger = c.ledger;
    this.exposure = c.exposure;
    this.archive = c.archive;
    this.counters = c.counters;
    this.logger = c.logger;
    this.readNs = c.readNs;
    this.baseMs = c.baseMs;
    this.s = c.submits;
    this.seqBuy = new Float64Array(this.instruments.length);
    this.seqSell = new Float64Array(this.instruments.length);
    this.gate =
      addon !== undefined
        ? new NativeGate(addon, this.batch, this.table.byClientId, this.risk, this.ledger.pos, this.table.capacity)
        : new TsGate(this.batch, this.table.byClientId, this.risk, this.instruments, this.ledger.pos);
    this.backend = this.gate.backend;
  }

  /** Orders in chunks through the batch gate, each result what `submit` would have given (see `Engine.submitMany`). */
  submitMany(orders: readonly OrderRequest[]): SubmitResult[] {
    if (!Array.isArray(orders)) throw new TypeError('submitMany takes an array of orders');
    const results = new Array<SubmitResult>(orders.length);
    const outer = this.c.handling;
    this.c.handling = true;
    try {
      for (let start = 0; start < orders.length; start += BATCH) {
        this.submitChunk(orders, start, Math.min(BATCH, orders.length - start), results);
      }
    } finally {
      if (!outer) {
        this.c.handling = false;
        if (this.c.backlog.length > 0) this.c.reports.drain();
      }
    }
    return results;
  }

  private submitChunk(orders: readonly OrderRequest[], start: number, n: number, results: SubmitResult[]): void {
    const t = this.table;
    const b = this.batch;
    const ns = this.readNs();
    const now = this.baseMs + ns / 1e6;
    if (now >= this.c.nextRollAt) this.c.rollDay(now);
    t.recycle(now);
    // Not ready, Halted or Reducing: every order one by one (the state is the same for all).
    if (!this.c.ready || this.c.tradingState !== 'Active' || now < this.c.throttledUntil) {
      for (let k = 0; k < n; k++) results[start + k] = this.s.submit(orders[start + k]!);
      return;
    }
    this.counters.submits += n;
    // Exposure as one-by-one submits would see it, order by order: the gate counts every pass
    // ahead, but the account checks and any fallback must see only the orders accepted so far.
    // Built by adding in order, never subtracting, so float sums match to the last bit.
    this.seqBuy.set(this.risk.openBuy);
    this.seqSell.set(this.risk.openSell);
    const ids = this.batchIds;
    const pre = this.batchPre;
    const details = this.batchDetail;
    // pre-pass: parse, hash the ids, fill the gate's input arrays
    for (let k = 0; k < n; k++) {
      const o = orders[start + k]!;
      const parsed = this.s.parser.parse(o);
      const p = this.s.parser.parsed;
      pre[k] = parsed;
      if (parsed === PARSE_BAD_ID) {
        b.reason[k] = GATE_SKIP;
        ids[k] = p.idText;
        details[k] = p.detail;
        continue;
      }
      ids[k] = p.id;
      t.byClientId.hashInto(p.id, b.hashHi, b.hashLo, k);
      // finished earlier today and let go from the table: refused as submit refuses it (the
      // gate's dedup probe sees the table only; an id live in the table is never in the store)
      if (this.archive.size > 0 && this.archive.positionOf(p.id) >= 0) {
        b.reason[k] = pre[k] = R.DUPLICATE_ORDER_ID;
        details[k] = `clientOrderId=${p.id} status=${STATUS_NAMES[this.archive.statusAt(this.archive.positionOf(p.id))]} tradingDay=${this.c.dayName}`;
        continue;
      }
      if (parsed !== 0) {
        b.reason[k] = parsed;
        details[k] = p.detail;
        continue;
      }
      if (this.s.closed(p.inst!, now)) {
        b.reason[k] = pre[k] = R.OUTSIDE_SESSION;
        details[k] = this.s.sessionDetail(p.inst!, now);
        continue;
      }
      b.reason[k] = 0;
      b.inst[k] = p.inst!.index;
      b.side[k] = p.side;
      b.market[k] = p.type === TYPE_MARKET ? 1 : 0;
      // a non-number must fail the checks exactly as in submit: NaN does (Float64Array would coerce)
      b.qty[k] = typeof o.qty === 'number' ? o.qty : Number.NaN;
      b.price[k] = typeof o.price === 'number' ? o.price : Number.NaN;
      this.batchTif[k] = p.tif;
      this.batchReduce[k] = p.reduceOnly ? 1 : 0;
    }
    try {
      this.gate.run(n);
    } catch (err) {
      this.logger.error({ err }, 'batch gate failed; submitting this chunk one by one');
      return this.rerun(orders, start, n, 0, results); // also restores any exposure the gate added
    }
    // finalize in order; anything that breaks sequential semantics reruns the rest one by one
    for (let k = 0; k < n; k++) {
      const o = orders[start + k]!;
      const id = ids[k]!;
      const r = b.reason[k]!;
      if (r === GATE_SKIP) {
        results[start + k] = this.s.deny(id, R.INVALID_ORDER, details[k]!);
        continue;
      }
      if (r === GATE_DUP) {
        const cand = b.dup[k]!;
        const slot = cand >= 0 ? (t.clientId[cand] === id ? cand : -1) : ids[-2 - cand] === id ? this.batchSlot[-2 - cand]! : -1;
        if (slot < 0) return this.rerun(orders, start, n, k, results); // a hash collision, not a duplicate
        results[start + k] = this.s.dedupResult(slot, id);
        continue;
      }
      if (pre[k] !== 0) {
        results[start + k] = this.s.deny(id, pre[k]!, details[k]!);
        continue;
      }
      const inst = this.instruments[b.inst[k]!]!;
      const side = b.side[k]!;
      if (r !== 0) {
        const market = b.market[k] === 1;
        const detail = this.risk.detail(r, inst, side, market, o.qty, o.price as number, this.ledger.pos[inst.index]!, b.aux[k]);
        results[start + k] = this.s.deny(id, r, detail);
        continue;
      }
      this.batchSlot[k] = -1;
      const market = b.market[k] === 1;
      this.s.now = now;
      const post = this.s.postCheck(inst, side, market, o.qty, b.units[k]!, this.batchReduce[k] === 1, this.seqBuy, this.seqSell);
      let res: SubmitResult;
      if (post !== 0) res = this.s.deny(id, post, this.s.postDetail);
      else {
        this.s.eventNs = ns; // the chunk's reading: an adapter's placeOrder may have submitted since
        res = this.s.place(id, inst, side, market ? TYPE_MARKET : TYPE_LIMIT, this.batchTif[k]!, o.qty, b.units[k]!, o.side);
      }
      results[start + k] = res;
      // Refused after the gate counted its exposure: later orders were checked with it.
      if (res.status === 'denied') return this.rerun(orders, start, n, k + 1, results);
      this.batchSlot[k] = this.s.lastSlot;
      this.exposure.addTo(side > 0 ? this.seqBuy : this.seqSell, inst.index, b.exposure[k]!);
      this.accountRisk.openValueAdd(inst.index, b.exposure[k]!, b.units[k]!);
      this.accountRisk.now = now;
      this.accountRisk.accept(inst.index);
    }
  }

  /**
   * Something broke sequential semantics in the chunk: set the exposure to what the orders
   * accepted so far left (the in-order sums), then submit orders from..n-1 one by one.
   */
  private rerun(orders: readonly OrderRequest[], start: number, n: number, from: number, results: SubmitResult[]): void {
    this.risk.openBuy.set(this.seqBuy);
    this.risk.openSell.set(this.seqSell);
    this.counters.submits -= n - from;
    for (let k = from; k < n; k++) results[start + k] = this.s.submit(orders[start + k]!);
  }
}
