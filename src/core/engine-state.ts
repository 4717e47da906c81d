/**
 * The engine's state in and out of the journal: the snapshot it writes, its restore, the
 * replay of the order records (intent, unsent, cancel, cancel-unsent), and what is recomputed
 * from the orders after a restore. Reports replay through the engine's own report pipeline.
 */
import { OrderStatus } from '../domain/order-status.js';
import { INVALID, OrderEvent, RESTORE, nextStatus } from '../domain/transitions.js';
import type { Instrument } from '../domain/instrument.js';
import { reportOf, type CancelRecord, type CancelUnsentRecord, type CoreRecord, type IntentRecord, type UnsentRecord } from './records.js';
import type { TradingCore } from './trading-core.js';
import { COUNTER_NAMES, type Counters } from './stats.js';
import { exportTable, importTable, type SlotRow } from './table-state.js';
import type { CoreLogger } from './ports.js';
import type { AccountRisk } from '../risk/account-risk.js';
import type { RiskConfig } from '../risk/limits.js';
import type { PreTradeRisk } from '../risk/pretrade.js';
import type { RolloutState } from '../risk/rollout.js';
import type { TradingState, TradingStateChange } from '../risk/trading-state.js';
import type { Ledger, LedgerState } from './ledger.js';
import type { BrokerReport } from '../domain/report.js';
import type { OrderTable } from './order-table.js';

/** The engine's state in a journal snapshot. */
export interface EngineSnapshot {
  symbols: string[];
  table: SlotRow[];
  ledger: LedgerState;
  tradingState: TradingState;
  stateReason: string;
  stateHistory: TradingStateChange[];
  counters: Record<string, number>;
  deniedBy: number[];
  rejectedBy: number[];
  reference: number[];
  daily: { day: number; n: number };
  /** The risk config the session started with, and the latest reload (null: none). */
  startRisk: RiskConfig | null;
  risk: RiskConfig | null;
  /** Reconciliation's diffs, accepted values and archived orders (absent in older snapshots; written by the layer above the core). */
  recon?: unknown;
  /** The trading day the state is of (absent in older snapshots). */
  day?: string;
  /** The rollout's stage and day (absent without a rollout, and in older snapshots). */
  rollout?: RolloutState;
  /** Reports waiting for the ack that maps their broker id, oldest first, with when they were parked. */
  parked?: Array<{ t: number; r: BrokerReport }>;
}

/** The parts of an engine a snapshot reads and a restore writes. */
export interface EngineParts {
  readonly instruments: readonly Instrument[];
  readonly table: OrderTable;
  readonly ledger: Ledger;
  readonly risk: PreTradeRisk;
  readonly accountRisk: AccountRisk;
  readonly counters: Counters;
  readonly deniedBy: Uint32Array;
  readonly rejectedBy: Uint32Array;
  readonly stateHistory: TradingStateChange[];
  tradingState(): { state: TradingState; reason: string };
  setTradingState(state: TradingState, reason: string): void;
}

/** Refuse a journal written for other instruments (new ones may only be added at the end). */
export function checkInstruments(parts: EngineParts, theirs: readonly string[], what: string): void {
  const mine = parts.instruments.map((i) => i.symbol);
  if (theirs.some((sym, i) => mine[i] !== sym)) {
    throw new Error(`${what} is for instruments [${theirs.join(', ')}] but this engine has [${mine.join(', ')}] (instruments may only be added at the end)`);
  }
}

export function takeSnapshot(p: EngineParts, startRisk: RiskConfig | undefined, risk: RiskConfig | undefined): EngineSnapshot {
  const ts = p.tradingState();
  return {
    symbols: p.instruments.map((i) => i.symbol),
    table: exportTable(p.table),
    ledger: p.ledger.exportState(),
    tradingState: ts.state,
    stateReason: ts.reason,
    stateHistory: p.stateHistory.slice(-1000),
    counters: p.counters.toObject(),
    deniedBy: [...p.deniedBy],
    rejectedBy: [...p.rejectedBy],
    reference: [...p.risk.reference],
    daily: p.accountRisk.dailyState,
    startRisk: startRisk ?? null,
    risk: risk ?? null,
  };
}

/** Put a snapshot back into a fresh engine's parts. */
export function restoreSnapshot(p: EngineParts, s: EngineSnapshot): void {
  checkInstruments(p, Array.isArray(s.symbols) ? s.symbols : [String(s.symbols)], "the journal's snapshot");
  importTable(p.table, s.table, p.instruments.length);
  p.ledger.importState(s.ledger);
  if (s.ledger.v !== 2) {
    // a snapshot from before exact money held exposure as decimal quantities
    const t = p.table;
    for (let k = 0; k < t.capacity; k++) if (t.live[k] === 1) t.exposure[k] = Math.round(t.exposure[k]! * p.risk.limits.qtyScale[t.instrument[k]!]!);
  }
  p.setTradingState(s.tradingState, s.stateReason);
  p.stateHistory.push(...s.stateHistory);
  for (const k of COUNTER_NAMES) if (typeof s.counters[k] === 'number') p.counters[k] = s.counters[k]!;
  p.deniedBy.set(s.deniedBy.slice(0, p.deniedBy.length));
  p.rejectedBy.set(s.rejectedBy.slice(0, p.rejectedBy.length));
  s.reference.slice(0, p.instruments.length).forEach((px, i) => p.risk.setReference(i, px, p.instruments[i]!.scale));
  p.accountRisk.dailyState = s.daily;
}

/** Replay an order record: what the live path did to the order table, without sending. */
export function replayOrderRecord(p: EngineParts, rec: IntentRecord | UnsentRecord | CancelRecord | CancelUnsentRecord, logger: CoreLogger): void {
  const t = p.table;
  switch (rec.k) {
    case 'intent': {
      // as the live submit did: finished orders past their retention leave the table first
      t.recycle(rec.t);
      if (t.byClientId.get(rec.id) >= 0) {
        logger.warn({ clientOrderId: rec.id }, 'journal replay: intent for an id already in the table; skipped');
        return;
      }
      const slot = t.allocate(rec.t);
      if (slot < 0) throw new Error(`journal replay: no free slot for order ${rec.id} (capacity ${t.capacity})`);
      t.status[slot] = OrderStatus.PendingNew;
      t.prevStatus[slot] = OrderStatus.PendingNew;
      t.side[slot] = rec.side;
      t.type[slot] = rec.type;
      t.tif[slot] = rec.tif;
      t.instrument[slot] = rec.i;
      t.qty[slot] = rec.qty;
      t.price[slot] = rec.px;
      t.createdAt[slot] = rec.t;
      t.updatedAt[slot] = rec.t;
      t.clientId[slot] = rec.id;
      t.byClientId.set(rec.id, slot);
      t.exposure[slot] = Math.round(rec.qty * p.risk.limits.qtyScale[rec.i]!);
      p.counters.accepted++;
      // the day's count and the rates, as the live accept did (open counts are redone after)
      p.accountRisk.now = rec.t;
      p.accountRisk.accept(rec.i);
      return;
    }
    case 'unsent': {
      const slot = t.byClientId.get(rec.id);
      if (slot < 0) return;
      t.exposure[slot] = 0;
      t.unallocate(slot);
      p.counters.accepted--;
      return;
    }
    case 'cancel': {
      const slot = t.byClientId.get(rec.id);
      if (slot < 0) return;
      const st = t.status[slot]!;
      const next = nextStatus(st, OrderEvent.CancelRequested);
      if (next === INVALID || next === RESTORE) return;
      t.prevStatus[slot] = st;
      t.status[slot] = next;
      t.updatedAt[slot] = rec.t;
      p.counters.cancelsSent++;
      return;
    }
    case 'cancel-unsent': {
      const slot = t.byClientId.get(rec.id);
      if (slot >= 0) t.status[slot] = rec.st;
      return;
    }
  }
}

/**
 * Apply one journal record to the core's state, as it happened: intents take a slot, reports
 * run through the report pipeline at their recorded time. Nothing is sent. (`recon` records
 * belong to the layer above and are replayed there.)
 */
export function replayCoreRecord(core: TradingCore, rec: CoreRecord): void {
  switch (rec.k) {
    case 'open':
      checkInstruments(core.parts, rec.instruments.map((i) => i.symbol), 'the journal');
      core.journalStartRisk = rec.risk;
      core.journalRisk = rec.risk;
      return;
    case 'config':
      core.journalRisk = rec.risk;
      return;
    case 'intent':
    case 'unsent':
    case 'cancel':
    case 'cancel-unsent':
      replayOrderRecord(core.parts, rec, core.logger);
      return;
    case 'report':
      core.reports.handleAt(reportOf(rec), rec.t);
      return;
    case 'state':
      if (rec.to !== core.tradingState) core.stateHistory.push({ from: core.tradingState, to: rec.to, reason: rec.reason, time: rec.t });
      core.tradingState = rec.to;
      core.lastStateReason = rec.reason;
      return;
    case 'adopt':
      core.unmatched.adoptParkedId(rec.b, rec.t);
      return;
    case 'day':
      core.dayKnown = true;
      core.applyRoll(rec.day, rec.next, rec.t, rec.pnl0);
      core.nextRollAt = core.tradingDay.nextRoll(rec.t);
      return;
    case 'rollout': {
      const ro = core.rollout;
      if (ro === undefined) return;
      if (rec.ev === 'loss-cap') {
        ro.lossHit = true;
        ro.markDirty('ROLLOUT_LOSS_CAP');
      } else if (!ro.promote({ from: rec.from, to: rec.to, who: rec.who, note: rec.note, time: rec.t }, rec.t)) {
        core.logger.warn({ stage: rec.to }, 'journal replay: a promotion to a stage this config does not have; the stage stays');
      }
      return;
    }
    case 'anomaly':
      if (rec.severity === 'P0' || rec.severity === 'P1') core.rollout?.markDirty(rec.kind);
      return;
    case 'conn':
    case 'mode':
      return;
    default:
      throw new Error(`journal record of unknown kind ${String((rec as { k?: unknown }).k)}`);
  }
}
