/**
 * The wire format of the simulated broker over TCP: length-prefixed msgpack frames.
 * Each frame is a 4-byte unsigned big-endian body length, then a msgpack map with a string
 * `t` (the message type). The messages are listed in docs/sim-broker-protocol.md.
 */
import { Packr } from 'msgpackr';

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

  push(chunk: Buffer): WireMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: WireMessage[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > this.maxBytes) throw new FrameError('TOO_LARGE', `frame length ${len} exceeds the limit of ${this.maxBytes} bytes`);
      if (this.buf.length - off - 4 < len) break;
      const body = this.buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      let msg: unknown;
      try {
        msg = packr.unpack(body);
      } catch (err) {
        throw new FrameError('MALFORMED', `frame body is not msgpack: ${(err as Error).message}`);
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || typeof (msg as { t?: unknown }).t !== 'string') {
        throw new FrameError('MALFORMED', 'frame body must be a map with a string "t"');
      }
      out.push(msg as WireMessage);
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}
