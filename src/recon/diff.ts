/**
 * Reconciliation differences: the kinds, what one diff holds, and the conflict policy that
 * says per kind which side wins and what an unfixed difference does to trading.
 */

/**
 * - `MISSING_LOCAL`: the broker has an order (or fills of one) that the engine does not know;
 * - `MISSING_AT_BROKER`: the engine has an order the broker does not list;
 * - `STATUS_MISMATCH`: both have the order, one says open and the other finished (or two finals differ);
 * - `FILLED_QTY_MISMATCH`: the order's filled quantity differs from the sum of the broker's trades;
 * - `PRICE_MISMATCH`: the average fill price, or an open order's limit price, differs;
 * - `POSITION_MISMATCH`: a symbol's position differs after the order-level differences are counted;
 * - `CASH_MISMATCH`: a currency's cash differs after the order-level differences are counted;
 * - `UNKNOWN_SYMBOL`: the broker reports orders, fills or a position in a symbol this engine
 *   does not configure. Never fixed automatically (the engine has no side to correct); while
 *   one is open, no cash difference is fixed automatically either, since that symbol's fills
 *   moved the broker's cash.
 */
export type DiffKind = 'MISSING_LOCAL' | 'MISSING_AT_BROKER' | 'STATUS_MISMATCH' | 'FILLED_QTY_MISMATCH' | 'PRICE_MISMATCH' | 'POSITION_MISMATCH' | 'CASH_MISMATCH' | 'UNKNOWN_SYMBOL';

export const DIFF_KINDS: readonly DiffKind[] = ['MISSING_LOCAL', 'MISSING_AT_BROKER', 'STATUS_MISMATCH', 'FILLED_QTY_MISMATCH', 'PRICE_MISMATCH', 'POSITION_MISMATCH', 'CASH_MISMATCH', 'UNKNOWN_SYMBOL'];

/** `critical`: raises a P1 alert, blocks readiness and may move the trading state; `warning`: listed only. */
export type DiffSeverity = 'critical' | 'warning';

/**
 * Where a diff stands:
 * - `open`: found, not fixed; waits for a person (`tradecore diffs resolve` / `ack`);
 * - `fixed`: corrected automatically by the policy (recorded, the strategy told);
 * - `resolved`: closed by a person, accepting the broker's or the engine's side;
 * - `cleared`: went away by itself (a late report arrived, someone fixed it at the broker).
 */
export type DiffState = 'open' | 'fixed' | 'resolved' | 'cleared';

/** One recorded action on a diff: who, when, why. */
export interface DiffAction {
  readonly action: 'raised' | 'auto-fix' | 'resolve' | 'ack' | 'clear';
  /** `reconciliation` for the engine's own actions, else the person's name. */
  readonly who: string;
  /** Engine clock, epoch ms. */
  readonly time: number;
  readonly note: string;
  /** For `resolve` and `auto-fix`: the side taken. */
  readonly side?: 'broker' | 'local';
}

/** A value on one side: a number, a status, or null when that side has nothing. */
export type DiffValue = number | string | null;

export interface Diff {
  /** Short stable id, `D1`, `D2`, ... in the order found; survives a restart. */
  readonly id: string;
  readonly kind: DiffKind;
  /** What the diff is about: `order:<brokerOrderId>`, `position:<symbol>`, `cash:<currency>`, ... */
  readonly key: string;
  severity: DiffSeverity;
  state: DiffState;
  /** Set once a person acknowledged it (it stays open until resolved or cleared). */
  acknowledged: boolean;
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly currency: string;
  /** The engine's value and the broker's value of the compared field. */
  local: DiffValue;
  broker: DiffValue;
  /** key=value detail: what was compared and why it is a difference. */
  detail: string;
  /** Engine time the difference was first seen (the grace period runs from here), and raised. */
  readonly firstSeen: number;
  readonly raisedAt: number;
  lastSeen: number;
  readonly actions: DiffAction[];
  /** The trading day it was raised in (a diff open at a roll carries over with it). */
  readonly day?: string;
}

/** Which side wins a kind of difference. `manual`: never fixed automatically. */
export type Winner = 'broker' | 'local' | 'manual';
export type StateAction = 'none' | 'reduce' | 'halt';

export interface KindPolicy {
  /**
   * `broker`: fix the engine's side automatically when the fix is safe (a missed fill is
   * applied, a status the broker finished is taken, a position or cash figure is adjusted);
   * `local`: the engine's record stands, the difference is recorded as accepted; `manual`: a
   * person decides.
   */
  winner?: Winner;
  /** Severity of a difference of this kind that is not fixed automatically. Default critical. */
  severity?: DiffSeverity;
  /** What a critical difference of this kind does to trading. Default none. */
  onCritical?: StateAction;
}

export interface ReconConfig {
  /** Run reconciliation every this many ms; 0 (default) runs it only on demand. */
  intervalMs?: number;
  /** A difference must persist this long (across runs) before it is raised or fixed, ms. Default 5000. */
  graceMs?: number;
  /** Per kind; see {@link RECON_DEFAULT_POLICY}. */
  policy?: Partial<Record<DiffKind, KindPolicy>>;
  /** Quantities closer than this are equal. Default 1e-9. */
  qtyTolerance?: number;
  /** Cash figures closer than this are equal (per currency). Default 0.01. */
  cashTolerance?: number;
}

/**
 * Broker wins for fills, positions and cash (and the statuses and unknown orders that carry
 * them); an order the broker does not have is left to a person.
 */
export const RECON_DEFAULT_POLICY: Readonly<Record<DiffKind, Required<KindPolicy>>> = {
  MISSING_LOCAL: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  MISSING_AT_BROKER: { winner: 'manual', severity: 'critical', onCritical: 'none' },
  STATUS_MISMATCH: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  FILLED_QTY_MISMATCH: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  PRICE_MISMATCH: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  POSITION_MISMATCH: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  CASH_MISMATCH: { winner: 'broker', severity: 'critical', onCritical: 'none' },
  UNKNOWN_SYMBOL: { winner: 'manual', severity: 'critical', onCritical: 'none' },
};

export const RECON_DEFAULTS = { intervalMs: 0, graceMs: 5000, qtyTolerance: 1e-9, cashTolerance: 0.01 };

export interface ResolvedReconConfig {
  intervalMs: number;
  graceMs: number;
  qtyTolerance: number;
  cashTolerance: number;
  policy: Record<DiffKind, Required<KindPolicy>>;
}

export function resolveReconConfig(c: ReconConfig | undefined): ResolvedReconConfig {
  const policy = {} as Record<DiffKind, Required<KindPolicy>>;
  for (const k of DIFF_KINDS) policy[k] = { ...RECON_DEFAULT_POLICY[k], ...c?.policy?.[k] };
  return {
    intervalMs: c?.intervalMs ?? RECON_DEFAULTS.intervalMs,
    graceMs: c?.graceMs ?? RECON_DEFAULTS.graceMs,
    qtyTolerance: c?.qtyTolerance ?? RECON_DEFAULTS.qtyTolerance,
    cashTolerance: c?.cashTolerance ?? RECON_DEFAULTS.cashTolerance,
    policy,
  };
}

/** Every problem of a `recon` config section, each naming its path. */
export function reconProblems(c: unknown, at = 'recon'): string[] {
  if (c === undefined) return [];
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return [`${at}: must be an object`];
  const o = c as Record<string, unknown>;
  const out: string[] = [];
  const known = ['intervalMs', 'graceMs', 'policy', 'qtyTolerance', 'cashTolerance'];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(`${at}.${k}: unknown option (known: ${known.join(', ')})`);
  for (const k of ['intervalMs', 'graceMs', 'qtyTolerance', 'cashTolerance']) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) out.push(`${at}.${k}: must be a number >= 0`);
  }
  if (typeof o.intervalMs === 'number' && o.intervalMs > 0 && o.intervalMs < 100) out.push(`${at}.intervalMs: must be 0 (on demand only) or at least 100`);
  const p = o.policy;
  if (p !== undefined) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) out.push(`${at}.policy: must be an object of diff kind → policy`);
    else {
      for (const [kind, v] of Object.entries(p)) {
        const path = `${at}.policy.${kind}`;
        if (!DIFF_KINDS.includes(kind as DiffKind)) {
          out.push(`${path}: unknown diff kind (known: ${DIFF_KINDS.join(', ')})`);
          continue;
        }
        if (typeof v !== 'object' || v === null) {
          out.push(`${path}: must be an object { winner, severity, onCritical }`);
          continue;
        }
        const kp = v as Record<string, unknown>;
        for (const k of Object.keys(kp)) if (!['winner', 'severity', 'onCritical'].includes(k)) out.push(`${path}.${k}: unknown option (known: winner, severity, onCritical)`);
        if (kp.winner !== undefined && !['broker', 'local', 'manual'].includes(kp.winner as string)) out.push(`${path}.winner: must be broker, local or manual`);
        if (kp.severity !== undefined && kp.severity !== 'critical' && kp.severity !== 'warning') out.push(`${path}.severity: must be critical or warning`);
        if (kp.onCritical !== undefined && !['none', 'reduce', 'halt'].includes(kp.onCritical as string)) out.push(`${path}.onCritical: must be none, reduce or halt`);
      }
    }
  }
  return out;
}

/**
 * A correction applied to the engine's orders, positions or cash, automatically or by a
 * person; the strategy's `onCorrection` gets each one.
 */
export interface Correction {
  readonly diffId: string;
  readonly kind: DiffKind;
  /** `auto`: the policy fixed it; `manual`: a person resolved it accepting the broker's side. */
  readonly source: 'auto' | 'manual';
  /** What was changed: fills applied, a status taken, a fill price, a limit price, a position, cash, an unknown order adopted. */
  readonly change: 'fills' | 'status' | 'fill-price' | 'limit-price' | 'position' | 'cash' | 'adopted';
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly currency: string;
  readonly before: DiffValue;
  readonly after: DiffValue;
  readonly time: number;
}

/**
 * An order as reconciliation sees the engine's side (a live one, or one archived after its
 * retention): the fields of `Order` it compares. `price` is NaN for market orders, `avgPx`
 * before the first fill.
 */
export type { LocalOrder } from '../core/day-store.js';

export const OPEN_STATUSES: ReadonlySet<string> = new Set(['PendingNew', 'Submitted', 'PartiallyFilled', 'PendingCancel']);
