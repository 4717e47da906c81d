/**
 * The simulated broker as a TCP server (`tradecore sim-broker`): the embedded SimBroker
 * behind the length-prefixed msgpack protocol of docs/sim-broker-protocol.md, with logon,
 * heartbeat, orders, cancels, reports and sync; its records saved to a state file after every
 * change, so a restart (even kill -9) keeps orders and fills and loses only sessions; and
 * fault controls for tests (drop, stall, delay, duplicate, reorder, refuse auth, throttle,
 * restart), as methods and over a newline-delimited JSON control port.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import type { InstrumentSpec } from '../../domain/instrument.js';
import { copyReport, type BrokerReport, type Quote } from '../../domain/report.js';
import { isEnvironment, type Environment, type Secret } from '../../connectivity/credentials.js';
import { SimBroker, type SimBrokerOptions, type SimBrokerState, type SimFaults } from './sim-broker.js';
import { encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES, PROTOCOL_VERSION, type WireMessage } from './wire.js';

/** Items per `sync_result` frame: a page stays far below the 1 MiB frame limit. */
export const SYNC_PAGE = 1000;
/** A sync's pages wait for the socket to drain past this many unsent bytes. */
const SYNC_HIGH_WATER = 1 << 20;

/** The bounds of a session, and their defaults (see SimServerOptions). */
export const SERVER_LIMITS = {
  maxOutboundBytes: 8 << 20,
  maxFrameBeforeLogon: 16 << 10,
  logonTimeoutMs: 10_000,
  failedLogonBurst: 5,
  failedLogonsPerSecond: 1,
};

export interface SimServerOptions {
  instruments: InstrumentSpec[];
  /** The account and secret a client must log on with. */
  credentials: { account: string; secret: Secret };
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Port of the JSON-lines control port; omitted: no control port. 0 picks a free one. */
  controlPort?: number;
  /** Where the broker's records are saved; omitted: kept in memory only (a restart keeps them, a crash does not). */
  stateFile?: string;
  /** The environment the server declares at logon. Default `sim`. */
  environment?: Environment;
  /** Interval of market steps, ms; 0: only the `step` control moves the market. Default 20. */
  marketStepMs?: number;
  /** Largest frame accepted. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Largest frame accepted before logon (a logon is a few hundred bytes). Default 16 KiB. */
  maxFrameBeforeLogon?: number;
  /** A session that has not logged on by then is closed, ms. Default 10000. */
  logonTimeoutMs?: number;
  /**
   * Bytes queued for a client that does not read them: past this, the client is cut off (a
   * reader that never reads must not grow the server). Default 8 MiB. Sync replies wait for the
   * socket to drain instead of queueing.
   */
  maxOutboundBytes?: number;
  /** Failed logons per client address: a burst of this many, then `failedLogonsPerSecond`; beyond, logons are refused unchecked (THROTTLED). Default 5. */
  failedLogonBurst?: number;
  /** Default 1. */
  failedLogonsPerSecond?: number;
  /**
   * The control port's token: every control line must carry it as `"token"`. Omitted: one is
   * made at start (`controlToken`; the CLI prints it). The control port listens on 127.0.0.1
   * only, whatever `host` says.
   */
  controlToken?: Secret;
  /** Options of the simulated venue (seed, latency, price band, faults...). */
  sim?: Omit<SimBrokerOptions, 'instruments' | 'clock' | 'marketStepMs' | 'delivery'>;
  logger?: Logger;
}

/** Broker-side throttling: at most `limit` orders per `windowMs`; refused ones are told to wait `retryAfterMs` (default: until the window ends). */
export interface ThrottleSpec {
  limit: number;
  windowMs: number;
  retryAfterMs?: number;
}

interface Session {
  readonly id: number;
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  loggedOn: boolean;
  stalled: boolean;
  readonly outbox: Buffer[];
  outboxBytes: number;
  logonTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface SimServerStats {
  connections: number;
  logons: number;
  /** Place messages received (a resent order would show here). */
  placeMessages: number;
  authFailures: number;
  malformedFrames: number;
  throttled: number;
  reportsSent: number;
  /** Reports generated while no session was logged on (recovered by sync). */
  reportsUndelivered: number;
  restarts: number;
  /** Clients cut off for not reading what they were sent (maxOutboundBytes). */
  slowConsumers: number;
  /** Sessions closed for not logging on in time. */
  logonTimeouts: number;
  /** Logons refused unchecked: too many failed logons from the address. */
  logonsThrottled: number;
  /** Control lines refused for a missing or wrong token. */
  controlRefused: number;
}

const statePackr = new Packr({ useRecords: false });

/** The records a `--state-file` holds (orders, trades, positions, cash), as the server saved them last. */
export function readSimStateFile(file: string): SimBrokerState {
  return statePackr.unpack(readFileSync(file)) as SimBrokerState;
}

export class SimBrokerServer {
  private sim: SimBroker;
  private server: Server | undefined;
  private control: Server | undefined;
  private readonly sessions = new Set<Session>();
  private readonly controlSockets = new Set<Socket>();
  private nextSession = 1;
  private nextThrottleExec = 1;
  private savedRevision = -1;
  private marketTimer: ReturnType<typeof setInterval> | undefined;
  private refuseAuth = false;
  private throttleSpec: ThrottleSpec | undefined;
  private windowStart = 0;
  private windowCount = 0;
  private _port = 0;
  private _controlPort = 0;
  private faults: SimFaults = {};
  readonly stats: SimServerStats = {
    connections: 0, logons: 0, placeMessages: 0, authFailures: 0, malformedFrames: 0, throttled: 0, reportsSent: 0, reportsUndelivered: 0, restarts: 0,
    slowConsumers: 0, logonTimeouts: 0, logonsThrottled: 0, controlRefused: 0,
  };
  private readonly environment: Environment;
  private readonly maxFrame: number;
  private readonly limits: typeof SERVER_LIMITS;
  /** Failed-logon buckets per client address: tokens left and when they were counted. */
  private readonly failedLogons = new Map<string, { tokens: number; at: number }>();
  private readonly token: string;

  constructor(private readonly opts: SimServerOptions) {
    const problems: string[] = [];
    if (typeof opts.credentials?.account !== 'string' || opts.credentials.account === '' || typeof opts.credentials.secret?.reveal !== 'function') {
      problems.push('credentials: an account and a Secret are required');
    }
    for (const k of ['port', 'controlPort'] as const) {
      const v = opts[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 65535)) problems.push(`${k}: must be an integer from 0 to 65535`);
    }
    if (opts.environment !== undefined && !isEnvironment(opts.environment)) problems.push('environment: must be paper, sim or live');
    if (opts.marketStepMs !== undefined && !(opts.marketStepMs >= 0)) problems.push('marketStepMs: must be a number >= 0');
    if (opts.maxFrameBytes !== undefined && !(Number.isInteger(opts.maxFrameBytes) && opts.maxFrameBytes > 0)) problems.push('maxFrameBytes: must be a positive integer');
    for (const k of ['maxFrameBeforeLogon', 'logonTimeoutMs', 'maxOutboundBytes', 'failedLogonBurst', 'failedLogonsPerSecond'] as const) {
      const v = opts[k];
      if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) problems.push(`${k}: must be a positive number`);
    }
    if (opts.controlToken !== undefined && (typeof opts.controlToken.reveal !== 'function' || opts.controlToken.reveal().length < 8)) problems.push('controlToken: must be a Secret of at least 8 characters');
    if (problems.length > 0) throw new Error(`invalid sim broker server options:\n  - ${problems.join('\n  - ')}`);
    this.environment = opts.environment ?? 'sim';
    this.maxFrame = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.limits = {
      maxOutboundBytes: opts.maxOutboundBytes ?? SERVER_LIMITS.maxOutboundBytes,
      maxFrameBeforeLogon: Math.min(this.maxFrame, opts.maxFrameBeforeLogon ?? SERVER_LIMITS.maxFrameBeforeLogon),
      logonTimeoutMs: opts.logonTimeoutMs ?? SERVER_LIMITS.logonTimeoutMs,
      failedLogonBurst: opts.failedLogonBurst ?? SERVER_LIMITS.failedLogonBurst,
      failedLogonsPerSecond: opts.failedLogonsPerSecond ?? SERVER_LIMITS.failedLogonsPerSecond,
    };
    this.token = opts.controlToken?.reveal() ?? randomBytes(18).toString('base64url');
    this.sim = this.loadBroker();
  }

  /** The port clients connect to (after `start`). */
  get port(): number {
    return this._port;
  }

  get controlPort(): number {
    return this._controlPort;
  }

  /** The token every control line must carry (the configured one, or the one made at start). */
  get controlToken(): string {
    return this.token;
  }

  /** The venue itself (tests read its records and step its market). */
  get broker(): SimBroker {
    return this.sim;
  }

  /** Sessions currently connected (logged on or not). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Listen on the client port (and the control port when configured). */
  async start(): Promise<void> {
    // a restart listens where the server listened before (a port of 0 picked one the first time)
    this.server = await this.listen(this._port !== 0 ? this._port : (this.opts.port ?? 0), (socket) => this.accept(socket));
    this._port = (this.server.address() as { port: number }).port;
    if (this.opts.controlPort !== undefined && this.control === undefined) {
      // fault drills are for this machine only: loopback, whatever the client port's host
      this.control = await this.listen(this.opts.controlPort || this._controlPort, (socket) => this.acceptControl(socket), '127.0.0.1');
      this._controlPort = (this.control.address() as { port: number }).port;
    }
    const step = this.opts.marketStepMs ?? 20;
    if (step > 0) {
      this.marketTimer = setInterval(() => this.step(1), step);
      this.marketTimer.unref();
    }
    this.opts.logger?.info({ port: this._port, controlPort: this._controlPort || undefined, environment: this.environment }, 'sim broker listening');
  }

  /** Close every session and both ports; the records are saved. */
  async stop(): Promise<void> {
    this.quiesce('server stopping');
    for (const s of this.controlSockets) s.destroy();
    await Promise.all([close(this.server), close(this.control)]);
    this.server = undefined;
    this.control = undefined;
  }

  /**
   * Restart: close every session and the client port, reload the venue from its saved
   * records (sessions and undelivered reports are lost, orders and fills are not), listen
   * again on the same port. The control port stays up.
   */
  async restart(): Promise<void> {
    this.quiesce('server restarting');
    const state = this.sim.exportState();
    await close(this.server);
    this.server = undefined;
    this.sim = this.loadBroker(this.opts.stateFile === undefined ? state : undefined);
    this.stats.restarts++;
    await this.start();
  }

  /** Market stopped, records saved, every session closed. */
  private quiesce(reason: string): void {
    if (this.marketTimer !== undefined) clearInterval(this.marketTimer);
    this.marketTimer = undefined;
    this.persist();
    this.drop(reason);
    // Reports still queued in the venue belong to the sessions just closed: they are lost, and
    // the venue's delivery timers must not hand them to the sessions of a restarted server.
    void this.sim.disconnect();
  }

  /** Close every client connection at once (a network outage). */
  drop(reason = 'dropped by control'): number {
    const n = this.sessions.size;
    for (const s of [...this.sessions]) this.closeSession(s, reason);
    return n;
  }

  /** Stall the current sessions: read nothing, send nothing, keep the sockets open. `false` resumes all. */
  stall(on: boolean): number {
    let n = 0;
    for (const s of this.sessions) {
      if (on && !s.stalled) {
        s.stalled = true;
        s.socket.pause();
        n++;
      } else if (!on && s.stalled) {
        s.stalled = false;
        s.outboxBytes = 0;
        for (const f of s.outbox.splice(0)) s.socket.write(f);
        s.socket.resume();
        n++;
      }
    }
    return n;
  }

  /** Report faults of the venue: delay, duplicate, reorder, drop acks. Replaces the previous set. */
  setFaults(faults: SimFaults): void {
    this.sim.setFaults(faults);
    this.faults = { ...faults };
  }

  /** Refuse every logon with an auth error while on. */
  setRefuseAuth(on: boolean): void {
    this.refuseAuth = on;
  }

  /** Throttle orders; `undefined` turns it off. */
  setThrottle(spec: ThrottleSpec | undefined): void {
    if (spec !== undefined && !(spec.limit >= 0 && spec.windowMs > 0 && (spec.retryAfterMs === undefined || spec.retryAfterMs >= 0))) {
      throw new Error('throttle: limit >= 0, windowMs > 0 and retryAfterMs >= 0 are required');
    }
    this.throttleSpec = spec;
    this.windowStart = 0;
    this.windowCount = 0;
  }

  /** Move the market `n` steps (resting orders may fill); the records are saved. */
  step(n = 1): void {
    for (let i = 0; i < n; i++) this.sim.step();
    this.persist();
  }

  private loadBroker(memory?: SimBrokerState): SimBroker {
    const sim = new SimBroker({ ...this.opts.sim, instruments: this.opts.instruments, marketStepMs: 0, delivery: 'auto' });
    const file = this.opts.stateFile;
    if (memory !== undefined) sim.restoreState(memory);
    else if (file !== undefined && existsSync(file)) {
      try {
        sim.restoreState(statePackr.unpack(readFileSync(file)) as SimBrokerState);
      } catch (err) {
        throw new Error(`sim broker state file ${file} cannot be used: ${(err as Error).message}; move it away to start empty`);
      }
    }
    sim.setFaults(this.faults);
    this.savedRevision = sim.revision;
    void sim.connect({ onReport: (r) => this.broadcast(r), onQuote: (q) => this.broadcastQuote(q), onDisconnect: () => {} });
    return sim;
  }

  /** Save the records when they changed: synchronously, before any report of the change leaves. */
  private persist(): void {
    const file = this.opts.stateFile;
    if (file === undefined || this.sim.revision === this.savedRevision) return;
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, statePackr.pack(this.sim.exportState()));
    renameSync(tmp, file);
    this.savedRevision = this.sim.revision;
  }

  private listen(port: number, onSocket: (s: Socket) => void, host = this.opts.host ?? '127.0.0.1'): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer(onSocket);
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    socket.setNoDelay(true);
    // before logon a frame is small: a partial 1 MiB frame must not be held for a stranger
    const session: Session = { id: this.nextSession++, socket, decoder: new FrameDecoder(this.limits.maxFrameBeforeLogon), loggedOn: false, stalled: false, outbox: [], outboxBytes: 0, logonTimer: undefined };
    session.logonTimer = setTimeout(() => {
      if (session.loggedOn || !this.sessions.has(session)) return;
      this.stats.logonTimeouts++;
      this.send(session, { t: 'error', code: 'LOGON_TIMEOUT', text: `no logon within ${this.limits.logonTimeoutMs} ms`, fatal: true });
      this.closeSession(session, 'logon timeout', true);
    }, this.limits.logonTimeoutMs);
    session.logonTimer.unref();
    this.sessions.add(session);
    socket.on('data', (chunk: Buffer) => {
      let msgs: WireMessage[];
      try {
        msgs = session.decoder.push(chunk);
      } catch (err) {
        // The stream is out of step: say why, then close this connection only.
        this.stats.malformedFrames++;
        const code = err instanceof FrameError ? err.code : 'MALFORMED';
        this.send(session, { t: 'error', code, text: (err as Error).message, fatal: true });
        this.closeSession(session, `frame error: ${code}`, true);
        return;
      }
      for (const m of msgs) {
        if (!this.sessions.has(session)) return;
        try {
          this.handle(session, m);
        } catch (err) {
          this.send(session, { t: 'error', code: 'INTERNAL', text: (err as Error).message, fatal: false });
        }
      }
      this.persist();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sessions.delete(session);
      clearTimeout(session.logonTimer);
    });
  }

  private closeSession(s: Session, reason: string, graceful = false): void {
    this.sessions.delete(s);
    clearTimeout(s.logonTimer);
    s.outbox.length = 0;
    if (graceful) s.socket.end();
    else s.socket.destroy();
    this.opts.logger?.debug({ session: s.id, reason }, 'session closed');
  }

  private send(s: Session, msg: WireMessage): void {
    if (s.socket.destroyed || !this.sessions.has(s)) return;
    const frame = encodeFrame(msg);
    if (s.stalled) {
      s.outbox.push(frame);
      s.outboxBytes += frame.length;
    } else s.socket.write(frame);
    // a client that does not read: cut off at the bound, never buffered without end
    const queued = s.socket.writableLength + s.outboxBytes;
    if (queued > this.limits.maxOutboundBytes) {
      this.stats.slowConsumers++;
      this.opts.logger?.warn({ session: s.id, queued, limit: this.limits.maxOutboundBytes }, 'client does not read what it is sent: cut off');
      this.closeSession(s, `slow consumer: ${queued} bytes unsent`);
    }
  }

  private broadcast(from: BrokerReport): void {
    let sent = 0;
    // the fields it has, taken during the call: the simulated broker refills its report structures
    const report = copyReport(from);
    for (const s of this.sessions) {
      if (!s.loggedOn) continue;
      this.send(s, { t: 'report', report });
      sent++;
    }
    if (sent === 0) this.stats.reportsUndelivered++;
    else this.stats.reportsSent++;
  }

  /** A market step's quote to every logged-on session (best effort: never counted as a report). */
  private broadcastQuote(q: Quote): void {
    let msg: WireMessage | undefined;
    for (const s of this.sessions) {
      if (!s.loggedOn) continue;
      msg ??= { t: 'quote', quote: { symbol: q.symbol, bid: q.bid, ask: q.ask, time: q.time } };
      this.send(s, msg);
    }
  }

  private handle(s: Session, m: WireMessage): void {
    if (m.t === 'logon') return this.logon(s, m);
    if (!s.loggedOn) return this.send(s, { t: 'error', id: m.id, code: 'NOT_LOGGED_ON', text: `${m.t} before logon`, fatal: false });
    switch (m.t) {
      case 'heartbeat':
        return this.send(s, { t: 'heartbeat_ack', id: m.id, time: Date.now() });
      case 'place':
        return this.place(s, m);
      case 'cancel': {
        const c = m.cancel as { clientOrderId?: unknown; brokerOrderId?: unknown } | undefined;
        if (typeof c?.clientOrderId !== 'string' || typeof c.brokerOrderId !== 'string') {
          return this.send(s, { t: 'error', code: 'BAD_REQUEST', text: 'cancel needs string clientOrderId and brokerOrderId', fatal: false });
        }
        return this.sim.cancelOrder({ clientOrderId: c.clientOrderId, brokerOrderId: c.brokerOrderId });
      }
      case 'sync':
        return void this.sync(s, m).catch((err: Error) => this.send(s, { t: 'error', id: m.id, code: 'INTERNAL', text: err.message, fatal: false }));
      case 'logout':
        this.send(s, { t: 'logout_ok', id: m.id });
        return this.closeSession(s, 'logout', true);
      default:
        return this.send(s, { t: 'error', id: m.id, code: 'UNKNOWN_TYPE', text: `unknown message type ${JSON.stringify(m.t)}`, fatal: false });
    }
  }

  private logon(s: Session, m: WireMessage): void {
    const reject = (code: string, text: string) => {
      this.send(s, { t: 'logon_rejected', id: m.id, code, text });
      this.closeSession(s, `logon rejected: ${code}`, true);
    };
    if (s.loggedOn) return this.send(s, { t: 'error', id: m.id, code: 'BAD_REQUEST', text: 'already logged on', fatal: false });
    if (m.version !== PROTOCOL_VERSION) return reject('VERSION', `protocol version ${String(m.version)} not supported (server speaks ${PROTOCOL_VERSION})`);
    if (m.environment !== this.environment) return reject('ENVIRONMENT', `this is a ${this.environment} broker; client is in ${String(m.environment)}`);
    const bucket = this.logonBucket(s.socket.remoteAddress ?? '?');
    if (bucket.tokens < 1) {
      this.stats.logonsThrottled++;
      const waitMs = Math.ceil(((1 - bucket.tokens) / this.limits.failedLogonsPerSecond) * 1000);
      return reject('THROTTLED', `too many failed logons from ${s.socket.remoteAddress ?? 'this address'}; retry in ${waitMs} ms`);
    }
    if (this.refuseAuth || !this.authentic(m.account, m.secret)) {
      this.stats.authFailures++;
      bucket.tokens -= 1;
      return reject('AUTH', 'invalid account or secret');
    }
    s.loggedOn = true;
    clearTimeout(s.logonTimer);
    s.decoder.setLimit(this.maxFrame);
    this.stats.logons++;
    this.send(s, { t: 'logon_ok', id: m.id, session: s.id, environment: this.environment, time: Date.now() });
  }

  /** The failed-logon bucket of an address, refilled for the time since it was last counted. */
  private logonBucket(address: string): { tokens: number; at: number } {
    const now = Date.now();
    const { failedLogonBurst: burst, failedLogonsPerSecond: rate } = this.limits;
    let b = this.failedLogons.get(address);
    if (b === undefined) {
      // bounded: addresses whose bucket is full again are forgotten first
      if (this.failedLogons.size >= 10_000) {
        for (const [k, v] of this.failedLogons) if (Math.min(burst, v.tokens + ((now - v.at) / 1000) * rate) >= burst) this.failedLogons.delete(k);
        if (this.failedLogons.size >= 10_000) this.failedLogons.delete(this.failedLogons.keys().next().value!);
      }
      b = { tokens: burst, at: now };
      this.failedLogons.set(address, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    return b;
  }

  private authentic(account: unknown, secret: unknown): boolean {
    if (typeof account !== 'string' || typeof secret !== 'string') return false;
    const want = Buffer.from(this.opts.credentials.secret.reveal());
    const got = Buffer.from(secret);
    const sameSecret = got.length === want.length && timingSafeEqual(got, want);
    return sameSecret && account === this.opts.credentials.account;
  }

  private place(s: Session, m: WireMessage): void {
    this.stats.placeMessages++;
    const o = m.order as Record<string, unknown> | undefined;
    const id = o?.clientOrderId;
    if (typeof id !== 'string' || id === '') return this.send(s, { t: 'error', code: 'BAD_REQUEST', text: 'place needs a string clientOrderId', fatal: false });
    const bad = placeProblem(o!);
    const refuse = (reason: string, text: string) =>
      this.send(s, { t: 'report', report: { kind: 'rejected', execId: `R${this.nextThrottleExec++}`, brokerOrderId: '', clientOrderId: id, reason, text } });
    if (bad !== undefined) return refuse('INVALID_ORDER', `SIM: ${bad}`);
    const th = this.throttleSpec;
    if (th !== undefined) {
      const now = Date.now();
      if (now - this.windowStart >= th.windowMs) {
        this.windowStart = now;
        this.windowCount = 0;
      }
      if (++this.windowCount > th.limit) {
        this.stats.throttled++;
        const retryAfterMs = th.retryAfterMs ?? Math.max(1, this.windowStart + th.windowMs - now);
        refuse('RATE_LIMIT', `SIM: throttled, more than ${th.limit} orders in ${th.windowMs} ms; retry after ${retryAfterMs} ms`);
        return this.send(s, { t: 'throttle', retryAfterMs, text: `more than ${th.limit} orders in ${th.windowMs} ms` });
      }
    }
    this.sim.placeOrder({
      clientOrderId: id,
      symbol: o!.symbol as string,
      side: o!.side as 'buy' | 'sell',
      type: o!.type as 'limit' | 'market',
      tif: o!.tif as 'day' | 'gtc' | 'ioc',
      qty: o!.qty as number,
      price: o!.price as number,
      ...(typeof o!.protectionPrice === 'number' ? { protectionPrice: o!.protectionPrice } : {}),
    });
  }

  private async sync(s: Session, m: WireMessage): Promise<void> {
    const what = m.what;
    const items =
      what === 'open' ? await this.sim.syncOpenOrders()
      : what === 'trades' ? await this.sim.syncTodayTrades()
      : what === 'orders' ? await this.sim.syncDayOrders()
      : what === 'positions' ? await this.sim.queryPositions()
      : what === 'account' ? await this.sim.queryAccount()
      : undefined;
    if (items === undefined) return this.send(s, { t: 'error', id: m.id, code: 'BAD_REQUEST', text: `unknown sync ${JSON.stringify(what)} (open, trades, orders, positions, account)`, fatal: false });
    // pages of SYNC_PAGE items, so a long day's records never exceed the frame limit; each
    // page waits for the socket to drain, so a long answer is never queued whole
    for (let at = 0; at + SYNC_PAGE < items.length; at += SYNC_PAGE) {
      this.send(s, { t: 'sync_result', id: m.id, what, items: items.slice(at, at + SYNC_PAGE), more: true });
      if (!(await this.drained(s))) return;
    }
    this.send(s, { t: 'sync_result', id: m.id, what, items: items.slice(Math.max(0, Math.ceil(items.length / SYNC_PAGE) - 1) * SYNC_PAGE) });
  }

  /** Wait until the session's socket has less than SYNC_HIGH_WATER unsent; false when the session is gone (or gone quiet for 30 s: cut off). */
  private drained(s: Session): Promise<boolean> {
    if (!this.sessions.has(s)) return Promise.resolve(false);
    if (s.socket.writableLength + s.outboxBytes < SYNC_HIGH_WATER) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        s.socket.off('drain', onDrain);
        s.socket.off('close', onClose);
        resolve(ok && this.sessions.has(s));
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        this.stats.slowConsumers++;
        this.closeSession(s, 'slow consumer: a sync reply did not drain in 30 s');
        done(false);
      }, 30_000);
      timer.unref();
      s.socket.on('drain', onDrain);
      s.socket.on('close', onClose);
    });
  }

  private acceptControl(socket: Socket): void {
    this.controlSockets.add(socket);
    socket.on('close', () => this.controlSockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    let chain = Promise.resolve();
    let refused = 0;
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.length > 65536) return void socket.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        chain = chain.then(async () => {
          let reply: Record<string, unknown>;
          if (!this.tokenIn(line)) {
            this.stats.controlRefused++;
            reply = { ok: false, error: 'unauthorized: every control line carries the control token as "token"' };
            // a connection that keeps guessing is closed
            if (++refused >= 3) {
              socket.end(`${JSON.stringify(reply)}\n`);
              return;
            }
          } else reply = await this.controlCommand(line);
          if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  }

  /** Whether a control line carries the token (compared in constant time). */
  private tokenIn(line: string): boolean {
    let token: unknown;
    try {
      token = (JSON.parse(line) as { token?: unknown } | null)?.token;
    } catch {
      return false;
    }
    if (typeof token !== 'string') return false;
    const want = Buffer.from(this.token);
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** One control command (a JSON object with `cmd`); returns the reply. */
  async controlCommand(line: string): Promise<Record<string, unknown>> {
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(line) as Record<string, unknown>;
      if (typeof c !== 'object' || c === null) throw new Error('not an object');
    } catch {
      return { ok: false, error: 'a control command is one JSON object per line' };
    }
    delete c.token;
    try {
      switch (c.cmd) {
        case 'drop':
          return { ok: true, dropped: this.drop() };
        case 'stall':
          return { ok: true, sessions: this.stall(c.on !== false) };
        case 'faults': {
          const { cmd: _cmd, ...faults } = c;
          this.setFaults(faults as SimFaults);
          return { ok: true };
        }
        case 'auth':
          this.setRefuseAuth(c.refuse === true);
          return { ok: true };
        case 'throttle':
          this.setThrottle(c.off === true ? undefined : { limit: c.limit as number, windowMs: c.windowMs as number, ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs as number } : {}) });
          return { ok: true };
        case 'step':
          this.step(typeof c.n === 'number' ? c.n : 1);
          return { ok: true };
        case 'restart':
          await this.restart();
          return { ok: true, port: this._port };
        case 'status':
          return { ok: true, port: this._port, sessions: this.sessions.size, loggedOn: [...this.sessions].filter((s) => s.loggedOn).length, revision: this.sim.revision, stats: this.stats };
        case 'records':
          return { ok: true, orders: this.sim.allOrders(), trades: await this.sim.syncTodayTrades(), positions: await this.sim.queryPositions() };
        default:
          return { ok: false, error: `unknown command ${JSON.stringify(c.cmd)} (drop, stall, faults, auth, throttle, step, restart, status, records)` };
      }
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}

function placeProblem(o: Record<string, unknown>): string | undefined {
  if (typeof o.symbol !== 'string') return 'symbol must be a string';
  if (o.side !== 'buy' && o.side !== 'sell') return 'side must be buy or sell';
  if (o.type !== 'limit' && o.type !== 'market') return 'type must be limit or market';
  if (o.tif !== 'day' && o.tif !== 'gtc' && o.tif !== 'ioc') return 'tif must be day, gtc or ioc';
  if (typeof o.qty !== 'number') return 'qty must be a number';
  if (typeof o.price !== 'number') return 'price must be a number (NaN for market orders)';
  return undefined;
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
}
