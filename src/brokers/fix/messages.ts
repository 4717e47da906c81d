/**
 * FIX application messages onto the engine's types: an ExecutionReport (35=8) into a
 * `ReportBuffer`, reject codes onto `RejectReason`. FIX 4.2 and 4.4 (and the 4.0/4.1 reports
 * QuickFIX's executor still sends, with no ExecType) are read the same way.
 */
import type { ExecKind, ReportBuffer } from '../../domain/report.js';
import type { RejectReason } from '../../domain/reject-reason.js';
import type { FixView } from './codec.js';

/** Tags this module reads. */
export const TAG = {
  AvgPx: 6, ClOrdID: 11, CumQty: 14, ExecID: 17, ExecTransType: 20, LastPx: 31, LastQty: 32, OrderID: 37, OrderQty: 38, OrdStatus: 39,
  OrigClOrdID: 41, Price: 44, Side: 54, Symbol: 55, Text: 58, TransactTime: 60, OrdRejReason: 103, ExecType: 150, LeavesQty: 151,
  CxlRejReason: 102, CxlRejResponseTo: 434, MsgSeqNum: 34, MsgType: 35,
} as const;

const C = (s: string) => s.charCodeAt(0);
/** A one-character enum's byte → kind, as a dense array (an object keyed by char codes is a dictionary lookup). */
const byChar = (entries: Record<string, ExecKind | 'skip'>): Array<ExecKind | 'skip' | undefined> => {
  const out = new Array<ExecKind | 'skip' | undefined>(128).fill(undefined);
  for (const [ch, kind] of Object.entries(entries)) out[C(ch)] = kind;
  return out;
};
const EXEC_TYPE = byChar({
  0: 'new', 1: 'trade', 2: 'trade', F: 'trade', 4: 'canceled', 6: 'pending_cancel', 8: 'rejected', C: 'expired', 3: 'expired',
  // pending new, restated, order status, replaced, pending replace, calculated: no state change the engine applies from a report
  A: 'skip', D: 'skip', I: 'skip', 5: 'skip', E: 'skip', B: 'skip',
});
/** OrdStatus for a 4.0/4.1 report without ExecType. */
const ORD_STATUS = byChar({ 0: 'new', 1: 'trade', 2: 'trade', 4: 'canceled', 6: 'pending_cancel', 8: 'rejected', C: 'expired' });

/** OrdRejReason (103) onto the engine's codes; anything else is BROKER_REJECT with the broker's text beside it. */
export const ORD_REJ_REASON: Record<number, RejectReason> = {
  1: 'UNKNOWN_SYMBOL', 2: 'OUTSIDE_SESSION', 3: 'MAX_ORDER_QTY', 5: 'UNKNOWN_ORDER', 6: 'DUPLICATE_ORDER_ID', 11: 'INVALID_ORDER', 13: 'INVALID_QUANTITY', 18: 'TICK_SIZE',
};
/** CxlRejReason (102): 0 too late to cancel, 1 unknown order, 3 already pending cancel. */
export const CXL_REJ_REASON: Record<number, RejectReason> = { 0: 'TOO_LATE_TO_CANCEL', 1: 'UNKNOWN_ORDER', 6: 'DUPLICATE_ORDER_ID' };

/** Why an ExecutionReport could not become a report. */
export type ExecReportProblem = 'skip' | 'bust-or-correct' | 'no ExecID' | 'no OrderID' | 'no kind' | 'no fill quantity or price';

/**
 * Fill `into` from the ExecutionReport in `v`; a problem instead when it carries nothing the
 * engine applies (a restatement, a status answer) or cannot be read. The client order id is the
 * order's own: OrigClOrdID (41) when present (a cancel's report names the cancel's ClOrdID in
 * 11), else ClOrdID (11), with the adapter's `clientIdOf` undoing any suffix it added.
 */
export function execReportInto(v: FixView, into: ReportBuffer, clientIdOf: (clOrdId: string) => string = (s) => s): ExecReportProblem | undefined {
  const transType = v.char(TAG.ExecTransType);
  if (transType === C('1') || transType === C('2')) return 'bust-or-correct';
  if (transType === C('3')) return 'skip';
  const et = v.char(TAG.ExecType);
  const os = et >= 0 ? -1 : v.char(TAG.OrdStatus);
  let kind = et >= 0 ? EXEC_TYPE[et] : os >= 0 ? ORD_STATUS[os] : undefined;
  if (kind === undefined) return 'no kind';
  if (kind === 'skip') return 'skip';
  const execId = v.str(TAG.ExecID);
  if (execId === undefined || execId === '') return 'no ExecID';
  const orderId = v.str(TAG.OrderID) ?? '';
  if (orderId === '' && kind !== 'rejected') return 'no OrderID';
  const lastQty = v.num(TAG.LastQty);
  // a 4.0/4.1 report with OrdStatus filled and no fill on it is a status, not a trade
  if (kind === 'trade' && !(lastQty > 0)) {
    if (et < 0) kind = 'new';
    else return 'no fill quantity or price';
  }
  into.reset(kind, execId, orderId === 'NONE' ? '' : orderId);
  const orig = v.str(TAG.OrigClOrdID);
  const cl = orig ?? v.str(TAG.ClOrdID);
  if (cl !== undefined) into.clientOrderId = clientIdOf(cl);
  if (kind === 'trade') {
    into.lastQty = lastQty;
    into.lastPx = v.num(TAG.LastPx);
    if (!(into.lastPx > 0)) return 'no fill quantity or price';
  }
  const cum = v.num(TAG.CumQty);
  if (cum === cum) into.cumQty = cum;
  const ms = v.time(TAG.TransactTime);
  if (ms === ms) into.time = ms;
  if (kind === 'rejected') {
    const code = v.int(TAG.OrdRejReason);
    into.reason = ORD_REJ_REASON[code] ?? 'BROKER_REJECT';
  }
  const text = v.str(TAG.Text);
  if (text !== undefined) into.text = text;
  return undefined;
}
