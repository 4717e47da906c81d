/**
 * A FIX initiator session (FIX 4.2 / 4.4): Logon with HeartBtInt, heartbeats and TestRequest,
 * sequence numbers in both directions kept in a file beside the journal, ResendRequest in both
 * directions, SequenceReset (GapFill and Reset), PossDupFlag, Logout. Application messages go
 * to `onApp`; what ends the session goes to `onDown`, with whether it is fatal.
 *
 * The rules, as the FIX session-layer test cases put them:
 * - an incoming MsgSeqNum above the expected one: ResendRequest from the expected one, and the
 *   messages above the gap are held and taken in order once it is filled;
 * - below the expected one with PossDupFlag=Y: a duplicate, ignored;
 * - below it without PossDupFlag: fatal ("MsgSeqNum too low"), Logout with the reason, and the
 *   session is not to be restarted until someone looks (the supervisor halts);
 * - SequenceReset with GapFillFlag=Y moves the expected number forward (never back); without it
 *   (Reset mode) it sets it;
 * - a ResendRequest from the peer is answered with one SequenceReset-GapFill over the whole
 *   range: application messages are not sent again. An order resent hours late could trade at
 *   a price nobody chose; the engine keeps an unanswered order PendingNew and recovery settles it.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { FixFrameError, FixFramer, FixView, encodeFix, fixText, utcTimestamp, type FixField } from './codec.js';
import type { Secret } from '../../connectivity/credentials.js';
import type { Logger } from '../../ops/logger.js';

export type BeginString = 'FIX.4.2' | 'FIX.4.4';

export interface FixSessionOptions {
  host?: string;
  port: number;
  beginString: BeginString;
  senderCompId: string;
  targetCompId: string;
  /** HeartBtInt (108), seconds. Default 30. */
  heartbeatSeconds?: number;
  /** Where the sequence numbers are kept (one file per session); without it they start at 1 each connect. */
  storeDir?: string;
  /** ResetSeqNumFlag (141=Y) on Logon: both sides start again at 1. Default false. */
  resetOnLogon?: boolean;
  /** FIX 4.4 Username (553) and Password (554); 554 never reaches a log. */
  username?: string;
  password?: Secret;
  /** How long Logon may take, ms. Default 10000. */
  logonTimeoutMs?: number;
  /**
   * The session's day now (the trading day's name): the sequence numbers belong to one day, and
   * the first Logon of a new day starts both at 1 with ResetSeqNumFlag (141=Y), as an acceptor
   * with a daily StartTime/EndTime resets. Without it the numbers run on for ever.
   */
  day?: () => string;
  logger?: Logger;
  /** Epoch ms for SendingTime. Default Date.now. */
  now?: () => number;
}

/** Why the session ended: `fatal` when reconnecting would not help (sequence too low, logon refused). */
export interface SessionDown {
  reason: string;
  fatal: boolean;
}

/** The FIX session-layer message types. */
const ADMIN = new Set(['0', '1', '2', '3', '4', '5', 'A']);

interface Seqs {
  /** The next MsgSeqNum this side sends. */
  out: number;
  /** The next MsgSeqNum expected from the peer. */
  in: number;
}

/** Sequence numbers (and the day they belong to) in a small file, rewritten in place (a fixed-width record: one write per change). */
class SeqStore {
  private fd: number | undefined;
  readonly seqs: Seqs = { out: 1, in: 1 };
  /** The session day the numbers belong to ('' before the first dated Logon, or in a file written before days were kept). */
  day = '';

  constructor(file: string | undefined) {
    if (file === undefined) return;
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      const m = /^(\d+)\s+(\d+)(?:\s+(\d{4}-\d{2}-\d{2}))?$/.exec(text);
      if (m === null) throw new Error(`FIX sequence store ${file}: cannot read "${text.slice(0, 40)}"; move it away to start at 1`);
      this.seqs.out = Number(m[1]);
      this.seqs.in = Number(m[2]);
      this.day = m[3] ?? '';
    }
    this.fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    this.save();
  }

  save(): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${String(this.seqs.out).padStart(12)} ${String(this.seqs.in).padStart(12)} ${this.day.padStart(10)}\n`, 0);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class FixSession {
  private socket: net.Socket | undefined;
  private readonly store: SeqStore;
  private readonly view = new FixView();
  private framer = new FixFramer();
  private loggedOn = false;
  private logonWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** performance.now() of the last message out and in: the heartbeat watch runs on real time, whatever clock stamps SendingTime. */
  private lastSent = 0;
  private lastReceived = 0;
  private testRequestOut: string | undefined;
  private readonly testWaiters = new Map<string, (sendingTime: number) => void>();
  private testSeq = 0;
  /** Messages above a gap, by MsgSeqNum, held until the resend fills it. */
  private readonly held = new Map<number, Buffer>();
  private resendPending = false;
  /** Writes of this event-loop turn are being gathered (socket.cork until the turn ends). */
  private corked = false;
  private down = false;
  private loggingOut = false;
  /** The MsgSeqNum of a Logon that showed a gap: connect waits until the resend passes it. */
  private catchUpTo: number | undefined;
  private readonly now: () => number;
  readonly stats = { sent: 0, received: 0, resendRequestsSent: 0, resendRequestsAnswered: 0, duplicatesIgnored: 0, badChecksums: 0, flushes: 0, gapFills: 0, heartbeatsSent: 0, testRequestsSent: 0 };
  /** An application message, its view valid during the call; `possDup` when the peer marked it a possible duplicate (a resend). */
  onApp: (view: FixView, msgType: string, possDup: boolean) => void = () => {};
  /** A session-level Reject (35=3) of one of our messages. */
  onReject: (view: FixView) => void = () => {};
  /** The session ended (not called after `logout` resolves). */
  onDown: (down: SessionDown) => void = () => {};

  constructor(readonly options: FixSessionOptions) {
    this.now = options.now ?? Date.now;
    const file = options.storeDir === undefined ? undefined : path.join(options.storeDir, `${options.beginString}-${options.senderCompId}-${options.targetCompId}.seqnums`);
    this.store = new SeqStore(file);
  }

  get seqs(): Readonly<Seqs> {
    return this.store.seqs;
  }

  /** The session day the sequence numbers belong to ('' when the session keeps no days). */
  get day(): string {
    return this.store.day;
  }

  get isLoggedOn(): boolean {
    return this.loggedOn;
  }

  private get heartbeatMs(): number {
    return (this.options.heartbeatSeconds ?? 30) * 1000;
  }

  /** Connect and log on; resolves when the peer's Logon arrived (and any gap it showed is asked for). */
  connect(): Promise<void> {
    if (this.socket !== undefined) return Promise.reject(new Error('FIX session already connected'));
    this.down = false;
    this.catchUpTo = undefined;
    this.framer = new FixFramer();
    this.held.clear();
    this.resendPending = false;
    const o = this.options;
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect(o.port, o.host ?? '127.0.0.1');
      socket.setNoDelay(true);
      this.socket = socket;
      const timer = setTimeout(() => this.fail(`no Logon answer in ${o.logonTimeoutMs ?? 10_000} ms`, false), o.logonTimeoutMs ?? 10_000);
      this.logonWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.on('connect', () => {
        // a new session day: both sides start again at 1
        const today = o.day?.();
        const newDay = today !== undefined && this.store.day !== today;
        const reset = o.resetOnLogon === true || (newDay && this.store.day !== '');
        if (newDay) this.store.day = today;
        if (reset) {
          this.store.seqs.out = 1;
          this.store.seqs.in = 1;
        }
        if (reset || newDay) this.store.save();
        const fields: FixField[] = [[98, 0], [108, o.heartbeatSeconds ?? 30]];
        if (reset) fields.push([141, 'Y']);
        if (o.username !== undefined) fields.push([553, o.username]);
        if (o.password !== undefined) fields.push([554, o.password.reveal()]);
        this.send('A', fields);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          this.framer.push(chunk, (b, s, e) => this.receive(b, s, e));
        } catch (err) {
          if (err instanceof FixFrameError) this.fail(`bad frame from ${o.targetCompId}: ${err.message}`, false);
          else throw err;
        }
      });
      socket.on('error', () => {}); // 'close' follows
      socket.on('close', () => this.fail(this.loggedOn ? 'connection closed by peer or network' : 'connection closed before Logon', false));
    });
  }

  /** Send one message; returns its MsgSeqNum. Throws, having written nothing, when the session is not up or a value cannot be encoded. */
  send(msgType: string, fields: readonly FixField[] = [], extraHeader: readonly FixField[] = []): number {
    const socket = this.socket;
    if (socket === undefined || this.down) throw new Error('FIX session is not connected');
    if (!ADMIN.has(msgType) && !this.loggedOn) throw new Error('FIX session is not logged on');
    const o = this.options;
    const seq = this.store.seqs.out;
    // encoded before the number is taken: a value the encoder refuses leaves no gap and sends nothing
    const msg = encodeFix(o.beginString, [[35, msgType], [49, o.senderCompId], [56, o.targetCompId], [34, seq], ...extraHeader, [52, utcTimestamp(this.now())], ...fields]);
    this.store.seqs.out = seq + 1;
    this.store.save();
    // one write per event-loop turn: what this turn sends (a submitMany batch) leaves in one
    // writev when the turn's synchronous work is done
    if (!this.corked) {
      this.corked = true;
      this.stats.flushes++;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(msg);
    this.lastSent = performance.now();
    this.stats.sent++;
    o.logger?.debug({ fix: fixText(msg) }, 'FIX out');
    return seq;
  }

  /** TestRequest and its Heartbeat: resolves with the peer's SendingTime (epoch ms). */
  testRequest(timeoutMs = 5000): Promise<number> {
    const id = `TEST-${++this.testSeq}-${this.now()}`;
    return new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => {
        this.testWaiters.delete(id);
        reject(new Error(`no Heartbeat for TestRequest ${id} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.testWaiters.set(id, (time) => {
        clearTimeout(t);
        resolve(time);
      });
      try {
        this.send('1', [[112, id]]);
        this.stats.testRequestsSent++;
      } catch (err) {
        clearTimeout(t);
        this.testWaiters.delete(id);
        reject(err as Error);
      }
    });
  }

  /** Logout, wait (up to `timeoutMs`) for the peer's, close. Idempotent. */
  async logout(text = 'logout', timeoutMs = 2000): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    // no onDown for a logout we asked for; the peer's Logout still counts in the sequence
    this.loggingOut = true;
    if (this.loggedOn && !this.down) {
      try {
        this.send('5', [[58, text]]);
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.down = true;
    this.loggingOut = false;
    this.close();
  }

  private close(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.loggedOn = false;
    const s = this.socket;
    this.socket = undefined;
    // what this turn sent (a Logout with its reason) goes before the socket does
    if (this.corked && s !== undefined) {
      this.corked = false;
      s.uncork();
    }
    s?.destroy();
  }

  /** Release the sequence store (the session cannot connect again). */
  dispose(): void {
    this.close();
    this.store.close();
  }

  private fail(reason: string, fatal: boolean): void {
    if (this.down) return;
    if (this.loggingOut) {
      // the end of a logout we asked for
      this.close();
      return;
    }
    this.down = true;
    const wasUp = this.loggedOn;
    this.close();
    const w = this.logonWaiter;
    this.logonWaiter = undefined;
    if (w !== undefined) w.reject(Object.assign(new Error(reason), { fatal }));
    else if (wasUp) this.onDown({ reason, fatal });
  }

  /** Logout with the reason, then drop: nothing more is taken from this connection. */
  private fatal(reason: string): void {
    this.options.logger?.error({ session: `${this.options.senderCompId}->${this.options.targetCompId}`, reason }, 'FIX session: fatal');
    try {
      if (this.socket !== undefined && !this.down) this.send('5', [[58, reason]]);
    } catch {
      // the socket is gone already
    }
    this.fail(reason, true);
  }

  private receive(b: Buffer, s: number, e: number): void {
    if (this.down) return;
    const v = this.view;
    if (!v.parse(b, s, e)) {
      if (v.badChecksum) {
        // ignored, as the rules say: the gap it leaves is asked for when the next message shows it
        this.stats.badChecksums++;
        return;
      }
      return this.fatal('garbled message (not tag=value)');
    }
    this.lastReceived = performance.now();
    this.stats.received++;
    const o = this.options;
    if (!v.is(8, o.beginString)) return this.fatal(`BeginString ${v.str(8)} is not ${o.beginString}`);
    if (!v.is(49, o.targetCompId) || !v.is(56, o.senderCompId)) return this.fatal(`CompIDs ${v.str(49)}->${v.str(56)} are not ${o.targetCompId}->${o.senderCompId}`);
    const msgType = v.str(35) ?? '';
    const seq = v.int(34);
    if (!(seq >= 1)) return this.fatal('MsgSeqNum missing');
    const possDup = v.is(43, 'Y');
    const expected = this.store.seqs.in;
    // a SequenceReset in Reset mode sets the number whatever its own MsgSeqNum
    if (msgType === '4' && !v.is(123, 'Y')) {
      const next = v.int(36);
      if (!(next >= 1)) return this.fatal('SequenceReset without NewSeqNo');
      this.store.seqs.in = next;
      this.store.save();
      this.caughtUp();
      return;
    }
    if (msgType === 'A' && !this.loggedOn) {
      if (v.is(141, 'Y')) {
        // the peer reset: its first message is 1
        this.store.seqs.in = 1;
      }
      if (seq < this.store.seqs.in && !possDup) return this.fatal(`MsgSeqNum too low, expecting ${this.store.seqs.in} but received ${seq}`);
      // a Logon may show a gap: take the Logon itself, then ask for the gap
      this.loggedOn = true;
      const hb = v.int(108);
      this.startHeartbeats(hb > 0 ? hb * 1000 : this.heartbeatMs);
      if (seq > this.store.seqs.in) {
        // connect resolves once the resend has filled the gap: what was missed is in before anyone asks
        this.catchUpTo = seq;
        this.requestResend(this.store.seqs.in, seq);
        return;
      }
      this.store.seqs.in = seq + 1;
      this.store.save();
      const w = this.logonWaiter;
      this.logonWaiter = undefined;
      w?.resolve();
      return;
    }
    if (seq > expected) {
      // too high: hold it, ask for what is missing (once per gap)
      this.held.set(seq, Buffer.from(b.subarray(s, e)));
      if (!this.resendPending) this.requestResend(expected, seq);
      return;
    }
    if (seq < expected) {
      if (possDup) {
        this.stats.duplicatesIgnored++;
        return;
      }
      return this.fatal(`MsgSeqNum too low, expecting ${expected} but received ${seq}`);
    }
    this.take(v, msgType, possDup);
    // messages held above a gap, in order, as far as they now run
    while (this.held.has(this.store.seqs.in) && !this.down) {
      const next = this.store.seqs.in;
      const m = this.held.get(next)!;
      this.held.delete(next);
      if (!v.parse(m, 0, m.length)) continue;
      this.take(v, v.str(35) ?? '', v.is(43, 'Y'));
    }
    if (this.held.size === 0) this.resendPending = false;
    this.caughtUp();
  }

  /** The gap a Logon showed is filled: connect resolves. */
  private caughtUp(): void {
    if (this.catchUpTo === undefined || this.store.seqs.in <= this.catchUpTo || this.held.size > 0) return;
    this.catchUpTo = undefined;
    const w = this.logonWaiter;
    this.logonWaiter = undefined;
    w?.resolve();
  }

  private requestResend(from: number, upTo: number): void {
    this.resendPending = true;
    this.stats.resendRequestsSent++;
    this.options.logger?.warn({ from, upTo }, 'FIX session: MsgSeqNum too high, asking for a resend');
    this.send('2', [[7, from], [16, 0]]);
  }

  /** The message in `v` is the expected one: apply it and move the expected number on. */
  private take(v: FixView, msgType: string, possDup: boolean): void {
    const seq = v.int(34);
    if (msgType === '4') {
      // GapFill: forward only
      const next = v.int(36);
      this.stats.gapFills++;
      this.store.seqs.in = next > seq ? next : seq + 1;
      this.store.save();
      return;
    }
    if (!ADMIN.has(msgType)) {
      // an application message counts as received only once it was handed on: a crash in
      // between leaves it to be resent (and the adapter and the engine drop the duplicate)
      this.onApp(v, msgType, possDup);
      this.store.seqs.in = seq + 1;
      this.store.save();
      return;
    }
    this.store.seqs.in = seq + 1;
    this.store.save();
    switch (msgType) {
      case '0': {
        const id = v.str(112);
        if (id !== undefined) {
          const w = this.testWaiters.get(id);
          this.testWaiters.delete(id);
          w?.(v.time(52));
        }
        return;
      }
      case '1':
        this.send('0', [[112, v.str(112) ?? '']]);
        return;
      case '2':
        return this.answerResend(v.int(7));
      case '3':
        return this.onReject(v);
      case '5': {
        const text = v.str(58) ?? '';
        if (this.loggingOut) {
          this.close();
          return;
        }
        if (this.socket !== undefined) {
          try {
            this.send('5');
          } catch {
            // gone
          }
        }
        return this.fail(`the peer logged out${text !== '' ? `: ${text}` : ''}`, /too low|not logged on|invalid|refused|password/i.test(text));
      }
      default:
        return;
    }
  }

  /** A ResendRequest from the peer: one GapFill over the whole range (see the module comment). */
  private answerResend(from: number): void {
    this.stats.resendRequestsAnswered++;
    const next = this.store.seqs.out;
    // one GapFill covers any end the peer asked for (16=0 is "to the newest")
    if (!(from >= 1) || from >= next) return;
    const o = this.options;
    // the GapFill goes out with the first missing number, marked a possible duplicate
    const msg = encodeFix(o.beginString, [[35, '4'], [49, o.senderCompId], [56, o.targetCompId], [34, from], [43, 'Y'], [52, utcTimestamp(this.now())], [122, utcTimestamp(this.now())], [123, 'Y'], [36, next]]);
    this.socket?.write(msg);
    this.lastSent = performance.now();
    o.logger?.warn({ from, to: next - 1 }, 'FIX session: resend asked; gap-filled (orders are never sent again)');
  }

  private startHeartbeats(ms: number): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.lastReceived = performance.now();
    this.heartbeatTimer = setInterval(() => {
      if (!this.loggedOn || this.down) return;
      const now = performance.now();
      if (now - this.lastSent >= ms) {
        this.send('0');
        this.stats.heartbeatsSent++;
      }
      const quiet = now - this.lastReceived;
      if (quiet >= ms * 2.2) return this.fail(`nothing from ${this.options.targetCompId} for ${Math.round(quiet)} ms (HeartBtInt ${ms / 1000} s)`, false);
      if (quiet >= ms * 1.2 && this.testRequestOut === undefined) {
        this.testRequestOut = `HB-${Math.round(now)}`;
        this.send('1', [[112, this.testRequestOut]]);
        this.stats.testRequestsSent++;
      } else if (quiet < ms) this.testRequestOut = undefined;
    }, Math.max(100, Math.floor(ms / 4)));
    this.heartbeatTimer.unref();
  }
}
