/**
 * `RemoteSimBroker`: the broker adapter for the simulated broker over TCP
 * (`tradecore sim-broker`). It speaks the length-prefixed msgpack protocol of
 * docs/sim-broker-protocol.md and classifies every failure as a `BrokerError` so the
 * connection supervisor can apply its retry policy.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import type { Credentials, Environment } from '../../connectivity/credentials.js';
import { ReportBuffer, type BrokerAccount, type BrokerOrder, type BrokerPosition, type BrokerReport, type BrokerTrade, type Quote } from '../../domain/report.js';
import { BrokerError, NotSentError, type BrokerAdapter, type CancelOrderRequest, type HeartbeatInfo, type PlaceOrderRequest, type ReportSink } from '../adapter.js';
import { decodeMessage, decodeReport, encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES, PROTOCOL_VERSION, type WireMessage } from './wire.js';

export interface RemoteSimBrokerOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Logged on with; their environment is sent at logon and must match the server's. */
  credentials: Credentials;
  /** Timeouts run on this clock. Default the system clock. */
  clock?: Clock;
  /** How long a request (logon, heartbeat, sync) may wait for its answer, ms. Default 5000. */
  requestTimeoutMs?: number;
  /** How long the TCP connect may take, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Largest frame accepted from the server. Default 1 MiB. */
  maxFrameBytes?: number;
}

interface Pending {
  resolve(m: WireMessage): void;
  reject(e: Error): void;
  timer: TimerHandle;
  what: string;
}

export class RemoteSimBroker implements BrokerAdapter {
  readonly name: string;
  readonly credentials: Credentials;
  private _brokerEnvironment: Environment | undefined;
  private readonly clock: Clock;
  private readonly host: string;
  private readonly port: number;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxFrame: number;
  private socket: Socket | undefined;
  private sink: ReportSink | undefined;
  private loggedOn = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Pages of a `sync_result` answer received so far, by request id. */
  private readonly pages = new Map<number, unknown[]>();
  /** Frames received from the server, by type (tests and status). */
  readonly received = { reports: 0, heartbeats: 0, errors: 0, throttles: 0, quotes: 0 };

  constructor(options: RemoteSimBrokerOptions) {
    const problems: string[] = [];
    if (!(Number.isInteger(options.port) && options.port > 0 && options.port <= 65535)) problems.push('port: must be an integer from 1 to 65535');
    if (typeof options.credentials?.account !== 'string' || typeof options.credentials.secret?.reveal !== 'function') problems.push('credentials: required (see loadCredentials)');
    for (const k of ['requestTimeoutMs', 'connectTimeoutMs', 'maxFrameBytes'] as const) {
      const v = options[k];
      if (v !== undefined && !(typeof v === 'number' && v > 0)) problems.push(`${k}: must be a number > 0`);
    }
    if (problems.length > 0) throw new Error(`invalid RemoteSimBroker options:\n  - ${problems.join('\n  - ')}`);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.credentials = options.credentials;
    this.clock = options.clock ?? systemClock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.maxFrame = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.name = `sim-tcp:${this.host}:${this.port}`;
  }

  get brokerEnvironment(): Environment | undefined {
    return this._brokerEnvironment;
  }

  /** True while logged on over a live socket. */
  get connected(): boolean {
    return this.loggedOn && this.socket !== undefined && !this.socket.destroyed;
  }

  async connect(sink: ReportSink): Promise<void> {
    if (this.socket !== undefined) this.teardown('reconnecting');
    this.sink = sink;
    const socket = await this.openSocket();
    this.socket = socket;
    sink.onPhase?.('authenticating');
    let reply: WireMessage;
    try {
      reply = await this.request({ t: 'logon', version: PROTOCOL_VERSION, environment: this.credentials.environment, account: this.credentials.account, secret: this.credentials.secret.reveal() }, 'logon');
    } catch (err) {
      this.teardown('logon failed');
      throw err;
    }
    if (reply.t === 'logon_rejected') {
      this.teardown('logon rejected');
      const text = `${String(reply.code)}: ${String(reply.text)}`;
      if (reply.code === 'AUTH') throw new BrokerError('auth', `logon refused: ${text}`);
      if (reply.code === 'THROTTLED') throw new BrokerError('throttled', `logon throttled: ${text}`, { retryAfterMs: Number(reply.retryAfterMs) || 1000 });
      throw new BrokerError('fatal', `logon refused: ${text}`);
    }
    if (reply.t !== 'logon_ok') {
      this.teardown('protocol error');
      throw new BrokerError('protocol', `unexpected answer to logon: ${String(reply.t)}`);
    }
    this._brokerEnvironment = reply.environment as Environment;
    this.loggedOn = true;
  }

  async disconnect(): Promise<void> {
    const s = this.socket;
    if (s !== undefined && this.loggedOn && !s.destroyed) {
      // Say goodbye when the line works; do not wait long for it.
      s.write(encodeFrame({ t: 'logout', id: this.nextId++ }));
    }
    this.teardown('disconnect requested');
  }

  async heartbeat(): Promise<HeartbeatInfo> {
    const reply = await this.request({ t: 'heartbeat', time: this.clock.now() }, 'heartbeat');
    return { brokerTime: Number(reply.time) };
  }

  placeOrder(req: PlaceOrderRequest): void {
    this.write({ t: 'place', order: req });
  }

  cancelOrder(req: CancelOrderRequest): void {
    this.write({ t: 'cancel', cancel: req });
  }

  syncOpenOrders(): Promise<BrokerOrder[]> {
    return this.sync<BrokerOrder>('open');
  }

  syncTodayTrades(): Promise<BrokerTrade[]> {
    return this.sync<BrokerTrade>('trades');
  }

  syncDayOrders(): Promise<BrokerOrder[]> {
    return this.sync<BrokerOrder>('orders');
  }

  queryPositions(): Promise<BrokerPosition[]> {
    return this.sync<BrokerPosition>('positions');
  }

  queryAccount(): Promise<BrokerAccount[]> {
    return this.sync<BrokerAccount>('account');
  }

  private async sync<T>(what: string): Promise<T[]> {
    const reply = await this.request({ t: 'sync', what }, `sync ${what}`);
    if (reply.t !== 'sync_result' || !Array.isArray(reply.items)) throw new BrokerError('protocol', `unexpected answer to sync ${what}: ${String(reply.t)} ${String(reply.text ?? '')}`);
    return reply.items as T[];
  }

  private write(msg: WireMessage): void {
    const s = this.socket;
    if (s === undefined || s.destroyed || !this.loggedOn) throw new NotSentError(`${this.name} is not connected`);
    s.write(encodeFrame(msg));
  }

  private openSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const timer = this.clock.setTimer(() => {
        socket.destroy();
        reject(new BrokerError('timeout', `connect to ${this.host}:${this.port} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        this.clock.clearTimer(timer);
        reject(new BrokerError('network', `connect to ${this.host}:${this.port} failed: ${err.code ?? err.message}`, { cause: err }));
      });
      socket.once('connect', () => {
        this.clock.clearTimer(timer);
        socket.removeAllListeners('error');
        this.wire(socket);
        resolve(socket);
      });
    });
  }

  private wire(socket: Socket): void {
    const decoder = new FrameDecoder(this.maxFrame);
    // A report frame is decoded straight into one reused report structure (the sink copies
    // what it keeps); any other frame, or a report the fast decoder declines, the general way.
    const report = new ReportBuffer();
    const onFrame = (buf: Buffer, start: number, end: number): void => {
      if (socket !== this.socket) return;
      if (decodeReport(buf, start, end, report)) {
        this.received.reports++;
        this.sink?.onReport(report);
        return;
      }
      this.onMessage(decodeMessage(buf.subarray(start, end)));
    };
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      try {
        decoder.frames(chunk, onFrame);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.fail(new BrokerError('protocol', `bad frame from broker: ${err.message}`));
      }
    });
    socket.on('error', () => {}); // 'close' follows and says it
    socket.on('close', () => {
      if (socket !== this.socket) return;
      const wasUp = this.loggedOn;
      this.teardown('connection closed by peer or network');
      if (wasUp) this.sink?.onDisconnect('connection closed by peer or network');
    });
  }

  private onMessage(m: WireMessage): void {
    switch (m.t) {
      case 'report':
        this.received.reports++;
        this.sink?.onReport(m.report as BrokerReport);
        return;
      case 'quote': {
        const q = m.quote as Partial<Quote> | undefined;
        if (typeof q?.symbol === 'string' && typeof q.bid === 'number' && typeof q.ask === 'number') {
          this.received.quotes++;
          this.sink?.onQuote?.({ symbol: q.symbol, bid: q.bid, ask: q.ask, time: typeof q.time === 'number' ? q.time : Date.now() });
        }
        return;
      }
      case 'throttle': {
        this.received.throttles++;
        const ms = Number(m.retryAfterMs);
        this.sink?.onThrottle?.(Number.isFinite(ms) && ms >= 0 ? ms : 1000, String(m.text ?? 'broker throttle'));
        return;
      }
      case 'error':
        this.received.errors++;
        if (typeof m.id === 'number' && this.pending.has(m.id)) {
          this.settle(m.id, undefined, new BrokerError('protocol', `broker error ${String(m.code)}: ${String(m.text)}`));
          return;
        }
        if (m.fatal === true) this.fail(new BrokerError('protocol', `broker error ${String(m.code)}: ${String(m.text)}`));
        return;
      default:
        if (typeof m.id === 'number' && this.pending.has(m.id)) {
          const id = m.id;
          if (m.t === 'heartbeat_ack') this.received.heartbeats++;
          if (m.t === 'sync_result' && Array.isArray(m.items)) {
            // a long answer comes in pages: every page but the last says more
            const got = this.pages.get(id) ?? [];
            for (const item of m.items as unknown[]) got.push(item);
            if (m.more === true) {
              this.pages.set(id, got);
              return;
            }
            this.pages.delete(id);
            m = { ...m, items: got };
          }
          this.settle(id, m);
        }
    }
  }

  /** A protocol failure on a live connection: close it and tell the supervisor why. */
  private fail(err: BrokerError): void {
    const wasUp = this.loggedOn;
    this.teardown(err.message);
    if (wasUp) this.sink?.onError?.(err);
  }

  private request(msg: Omit<WireMessage, 'id'> & { t: string }, what: string): Promise<WireMessage> {
    const s = this.socket;
    if (s === undefined || s.destroyed) return Promise.reject(new BrokerError('network', `${what}: not connected`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(() => this.settle(id, undefined, new BrokerError('timeout', `${what}: no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, what });
      s.write(encodeFrame({ ...msg, id } as WireMessage));
    });
  }

  private settle(id: number, m: WireMessage | undefined, err?: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.pages.delete(id);
    this.clock.clearTimer(p.timer);
    if (err !== undefined) p.reject(err);
    else p.resolve(m!);
  }

  private teardown(reason: string): void {
    const s = this.socket;
    this.socket = undefined;
    this.loggedOn = false;
    s?.destroy();
    for (const [id, p] of [...this.pending]) this.settle(id, undefined, new BrokerError('network', `${p.what}: connection closed (${reason})`));
  }
}
