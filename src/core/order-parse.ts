import type { Instrument } from '../domain/instrument.js';
import type { OrderRequest } from '../domain/order.js';
import { R } from '../domain/reject-reason.js';
import { TIF_DAY, TIF_GTC, TIF_IOC, TYPE_LIMIT, TYPE_MARKET } from './order-table.js';

/** `parse` result: the order or its id is malformed. */
export const PARSE_BAD_ID = -1;

/** Checks an order request's fields and parses them into integers, into one reused scratch object. */
export class OrderParser {
  /** Scratch for `parse` (no allocation per order). */
  readonly parsed = { id: '', idText: '', inst: undefined as Instrument | undefined, side: 0, type: 0, tif: 0, reduceOnly: false, detail: '' };

  constructor(private readonly bySymbol: ReadonlyMap<string, Instrument>) {}

  /** Validate the id and parse symbol, side, type and tif into `this.parsed`; no side effects. */
  parse(order: OrderRequest): number {
    const p = this.parsed;
    if (typeof order !== 'object' || order === null) {
      p.idText = '';
      p.detail = 'order must be an object';
      return PARSE_BAD_ID;
    }
    const id = order.clientOrderId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) {
      p.idText = String(id);
      p.detail = 'clientOrderId must be a string of 1 to 64 characters';
      return PARSE_BAD_ID;
    }
    // printable ASCII only (0x21-0x7E): a control character, space or non-ASCII one would
    // break a wire protocol (0x01 is FIX's field separator)
    for (let k = 0; k < id.length; k++) {
      const ch = id.charCodeAt(k);
      if (ch < 0x21 || ch > 0x7e) return this.badIdChar(id, k, ch);
    }
    p.id = id;
    const inst = this.bySymbol.get(order.symbol);
    if (inst === undefined) {
      p.detail = `symbol=${String(order.symbol)}`;
      return R.UNKNOWN_SYMBOL;
    }
    p.inst = inst;
    p.side = order.side === 'buy' ? 1 : order.side === 'sell' ? -1 : 0;
    if (p.side === 0) {
      p.detail = `side=${String(order.side)} expected=buy|sell`;
      return R.INVALID_ORDER;
    }
    p.type = order.type === undefined || order.type === 'limit' ? TYPE_LIMIT : order.type === 'market' ? TYPE_MARKET : -1;
    if (p.type < 0) {
      p.detail = `type=${String(order.type)} expected=limit|market`;
      return R.INVALID_ORDER;
    }
    p.tif = order.tif === undefined || order.tif === 'day' ? TIF_DAY : order.tif === 'gtc' ? TIF_GTC : order.tif === 'ioc' ? TIF_IOC : -1;
    if (p.tif < 0) {
      p.detail = `tif=${String(order.tif)} expected=day|gtc|ioc`;
      return R.INVALID_ORDER;
    }
    const ro = order.reduceOnly;
    if (ro !== undefined && ro !== true && ro !== false) {
      p.detail = `reduceOnly=${String(ro)} expected=true|false`;
      return R.INVALID_ORDER;
    }
    p.reduceOnly = ro === true;
    return 0;
  }

  /** A client order id with a character outside 0x21-0x7E at `k` (kept off the hot path). */
  private badIdChar(id: string, k: number, ch: number): number {
    const p = this.parsed;
    p.idText = id;
    p.detail = `clientOrderId must be 1 to 64 printable ASCII characters (0x21-0x7E): character ${k + 1} is U+${ch.toString(16).toUpperCase().padStart(4, '0')}${ch === 0x20 ? ' (space)' : ch < 0x20 || ch === 0x7f ? ' (a control character)' : ''}`;
    return PARSE_BAD_ID;
  }
}
