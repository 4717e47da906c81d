/**
 * The wire format of the simulated broker over TCP: length-prefixed msgpack frames.
 * Each frame is a 4-byte unsigned big-endian body length, then a msgpack map with a string
 * `t` (the message type). The messages are listed in docs/sim-broker-protocol.md.
 */
import { Packr } from 'msgpackr';
import type { ReportBuffer } from '../../domain/report.js';

/** Largest body either side accepts by default; a longer length prefix is an error. */
export const MAX_FRAME_BYTES = 1 << 20;
export const PROTOCOL_VERSION = 1;

// Plain maps (no record extension): any msgpack reader can speak the protocol, and a
// restarted peer needs no shared structure table.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** One message: a plain object with a string `t`. */
export type WireMessage = { t: string } & Record<string, unknown>;

/** Encode one message as a frame. */
export function encodeFrame(msg: WireMessage): Buffer {
  const body = packr.pack(msg);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

export class FrameError extends Error {
  constructor(
    readonly code: 'TOO_LARGE' | 'MALFORMED',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const EMPTY = Buffer.alloc(0);

/** One frame body decoded the general way; a `FrameError` when it is not a msgpack map with a string `t`. */
export function decodeMessage(body: Buffer): WireMessage {
  let msg: unknown;
  try {
    msg = packr.unpack(body);
  } catch (err) {
    throw new FrameError('MALFORMED', `frame body is not msgpack: ${(err as Error).message}`);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || typeof (msg as { t?: unknown }).t !== 'string') {
    throw new FrameError('MALFORMED', 'frame body must be a map with a string "t"');
  }
  return msg as WireMessage;
}

/**
 * Splits a byte stream into messages. `push` returns the complete messages so far and throws
 * a `FrameError` on an oversized length or a body that is not a msgpack map with a string
 * `t`; after an error the stream is out of step, so the connection should be closed.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private maxBytes = MAX_FRAME_BYTES) {}

  /** Change the largest frame accepted from now on (a session's limit rises once it has logged on). */
  setLimit(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** Bytes received and not yet part of a whole frame. */
  get buffered(): number {
    return this.buf.length;
  }

  /**
   * Every complete frame so far, as its body's place in `buf` (valid during the call), without
   * a message decoded or a Buffer made per frame. `decodeMessage` decodes one the general way.
   */
  frames(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => void): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    try {
      while (this.buf.length - off >= 4) {
        const len = this.buf.readUInt32BE(off);
        if (len > this.maxBytes) throw new FrameError('TOO_LARGE', `frame length ${len} exceeds the limit of ${this.maxBytes} bytes`);
        if (this.buf.length - off - 4 < len) break;
        const start = off + 4;
        off = start + len;
        onFrame(this.buf, start, off);
      }
    } finally {
      this.buf = off === this.buf.length ? EMPTY : this.buf.subarray(off);
    }
  }

  /** The complete messages so far, each decoded the general way (see `frames`). */
  push(chunk: Buffer): WireMessage[] {
    const out: WireMessage[] = [];
    this.frames(chunk, (buf, start, end) => out.push(decodeMessage(buf.subarray(start, end))));
    return out;
  }
}

const REPORT_KEYS = ['kind', 'execId', 'brokerOrderId', 'clientOrderId', 'lastQty', 'lastPx', 'cumQty', 'seq', 'time', 'symbol', 'side', 'qty', 'price', 'type', 'tif', 'reason', 'text'] as const;
type ReportKey = (typeof REPORT_KEYS)[number];
const KEY_BYTES = REPORT_KEYS.map((k) => Uint8Array.from(Buffer.from(k, 'latin1')));
/** Key indexes by key length: a key is compared only with the keys as long as it. */
const KEYS_BY_LENGTH: number[][] = [];
REPORT_KEYS.forEach((k, i) => (KEYS_BY_LENGTH[k.length] ??= []).push(i));
/** Values kept as the interned strings the engine compares with (no string made per report). */
const INTERNED: Partial<Record<ReportKey, readonly string[]>> = {
  kind: ['new', 'trade', 'canceled', 'rejected', 'expired', 'cancel_rejected', 'pending_cancel'],
  side: ['buy', 'sell'],
  type: ['limit', 'market'],
  tif: ['day', 'gtc', 'ioc'],
};
/** By key index: the interned values and their bytes (undefined: any string). */
const INTERNED_STRINGS = REPORT_KEYS.map((k) => INTERNED[k]);
const INTERNED_BY_KEY = INTERNED_STRINGS.map((vs) => vs?.map((v) => Uint8Array.from(Buffer.from(v, 'latin1'))));
const T_BYTES = Uint8Array.from([0x74]);
const REPORT_BYTES = Uint8Array.from(Buffer.from('report', 'latin1'));

/** Decoding state of `decodeReport`, to return two values without an allocation. */
let at = 0;
let strStart = 0;
let strEnd = 0;

/** A msgpack str header at `at`: sets strStart/strEnd and moves `at` past the string; false when it is not a str. */
function readStr(b: Buffer, end: number): boolean {
  if (at >= end) return false;
  const c = b[at]!;
  let len: number;
  let head: number;
  if (c >= 0xa0 && c <= 0xbf) {
    len = c & 0x1f;
    head = 1;
  } else if (c === 0xd9 && at + 1 < end) {
    len = b[at + 1]!;
    head = 2;
  } else if (c === 0xda && at + 2 < end) {
    len = b.readUInt16BE(at + 1);
    head = 3;
  } else if (c === 0xdb && at + 4 < end) {
    len = b.readUInt32BE(at + 1);
    head = 5;
  } else return false;
  strStart = at + head;
  strEnd = strStart + len;
  if (strEnd > end) return false;
  at = strEnd;
  return true;
}

/** Whether the str at strStart/strEnd is `want` (a loop in JS: Buffer.compare is a C++ call, ~50 ns each). */
function strIs(b: Buffer, want: Uint8Array): boolean {
  const n = want.length;
  if (strEnd - strStart !== n) return false;
  for (let i = 0; i < n; i++) if (b[strStart + i] !== want[i]) return false;
  return true;
}

/** Char-code arrays by length, reused to make a short ASCII string in one call. */
const UNITS: number[][] = Array.from({ length: 65 }, (_, n) => new Array<number>(n).fill(0));

/** The str at strStart/strEnd as a string: short ASCII in JS (a C++ toString costs ~100 ns), the rest as UTF-8. */
function strValue(b: Buffer): string {
  const n = strEnd - strStart;
  if (n <= 64) {
    const u = UNITS[n]!;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = b[strStart + i]!;
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      u[i] = c;
    }
    if (ascii) return String.fromCharCode.apply(null, u);
  }
  return b.toString('utf8', strStart, strEnd);
}

/** A msgpack map header at `at`: its size (and `at` moved past it), or -1. */
function readMap(b: Buffer, end: number): number {
  if (at >= end) return -1;
  const c = b[at]!;
  if (c >= 0x80 && c <= 0x8f) {
    at++;
    return c & 0x0f;
  }
  if (c === 0xde && at + 2 < end) {
    at += 3;
    return b.readUInt16BE(at - 2);
  }
  return -1;
}

/** A msgpack number at `at` (NaN and `at` unmoved when it is not one). */
function readNumber(b: Buffer, end: number): number {
  const c = b[at]!;
  if (c <= 0x7f) {
    at++;
    return c;
  }
  if (c >= 0xe0) {
    at++;
    return c - 0x100;
  }
  const need = c === 0xcc || c === 0xd0 ? 2 : c === 0xcd || c === 0xd1 ? 3 : c === 0xce || c === 0xd2 || c === 0xca ? 5 : c === 0xcf || c === 0xd3 || c === 0xcb ? 9 : 0;
  if (need === 0 || at + need > end) return Number.NaN;
  const p = at + 1;
  at += need;
  switch (c) {
    case 0xcc: return b[p]!;
    case 0xcd: return b.readUInt16BE(p);
    case 0xce: return b.readUInt32BE(p);
    case 0xcf: return Number(b.readBigUInt64BE(p));
    case 0xd0: return b.readInt8(p);
    case 0xd1: return b.readInt16BE(p);
    case 0xd2: return b.readInt32BE(p);
    case 0xd3: return Number(b.readBigInt64BE(p));
    case 0xca: return b.readFloatBE(p);
    default: return b.readDoubleBE(p);
  }
}

/** One field by its index in REPORT_KEYS (a switch: a store by computed key is megamorphic). */
function setField(r: ReportBuffer, key: number, v: unknown): void {
  const x = v as never;
  switch (key) {
    case 0: r.kind = x; return;
    case 1: r.execId = x; return;
    case 2: r.brokerOrderId = x; return;
    case 3: r.clientOrderId = x; return;
    case 4: r.lastQty = x; return;
    case 5: r.lastPx = x; return;
    case 6: r.cumQty = x; return;
    case 7: r.seq = x; return;
    case 8: r.time = x; return;
    case 9: r.symbol = x; return;
    case 10: r.side = x; return;
    case 11: r.qty = x; return;
    case 12: r.price = x; return;
    case 13: r.type = x; return;
    case 14: r.tif = x; return;
    case 15: r.reason = x; return;
    default: r.text = x;
  }
}

/**
 * Decode a `report` frame body, `b[start, end)`, straight into `into` (a reused report structure):
 * no message object, no report object, no key strings; the kind, side, type and tif come out as
 * the interned constants. Only the ids, symbol, reason and text are new strings. Returns false,
 * with `into` in an unspecified state, for anything else or anything unusual (another message,
 * an unknown or repeated key, a value of another type, a nil): the caller then decodes the frame
 * the general way, so what the engine sees never depends on which decoder ran.
 */
export function decodeReport(b: Buffer, start: number, end: number, into: ReportBuffer): boolean {
  at = start;
  if (readMap(b, end) !== 2 || !readStr(b, end) || !strIs(b, T_BYTES) || !readStr(b, end) || !strIs(b, REPORT_BYTES)) return false;
  if (!readStr(b, end) || !strIs(b, REPORT_BYTES)) return false;
  const n = readMap(b, end);
  if (n < 0) return false;
  into.reset('new', '', '');
  let seen = 0;
  for (let k = 0; k < n; k++) {
    if (!readStr(b, end)) return false;
    let key = -1;
    const byLen = KEYS_BY_LENGTH[strEnd - strStart];
    if (byLen !== undefined) {
      for (let i = 0; i < byLen.length; i++) {
        if (strIs(b, KEY_BYTES[byLen[i]!]!)) {
          key = byLen[i]!;
          break;
        }
      }
    }
    if (key < 0 || (seen & (1 << key)) !== 0 || at >= end) return false;
    seen |= 1 << key;
    const c = b[at]!;
    if ((c >= 0xa0 && c <= 0xbf) || c === 0xd9 || c === 0xda || c === 0xdb) {
      if (!readStr(b, end)) return false;
      const interned = INTERNED_BY_KEY[key];
      let v: string | undefined;
      if (interned !== undefined) {
        for (let i = 0; i < interned.length; i++) if (strIs(b, interned[i]!)) v = INTERNED_STRINGS[key]![i];
        if (v === undefined) return false;
      } else v = strValue(b);
      setField(into, key, v);
    } else {
      const v = readNumber(b, end);
      if (v !== v) return false;
      setField(into, key, v);
    }
  }
  // kind, execId and brokerOrderId are what every report has; without them the general path decides
  return at === end && (seen & 7) === 7;
}
