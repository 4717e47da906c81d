/**
 * The engine's end of the firm-wide control (docs/scale-out.md): it listens on
 * `<prefix>.control.all` and `<prefix>.control.<engineId>`, checks each message (signature,
 * time window, not seen before, addressed here), journals what it received and what it did
 * (a `central` record), and applies it:
 * - `halt`, `reduce`, `resume`: the trading state Halted, Reducing, Active;
 * - `share`: the firm's gross-exposure share, on top of the engine's own limits (it only
 *   tightens). Shares are central's heartbeat: when none came for `centralTimeoutMs`, the share
 *   is dropped and the engine trades on its own local limits (journaled, P2 `CENTRAL_LOST`).
 *   It never trades without limits: its own are always checked.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Engine } from '../engine.js';
import type { AlertManager } from '../ops/alerts.js';
import type { Logger } from '../ops/logger.js';
import { parseControl, verifyControl, type ControlMessage } from './control.js';
import { controlSubject, natsConnect, natsWithDefaults, type NatsOptions } from './nats.js';

export interface FirmLinkOptions {
  engineId: string;
  nats: NatsOptions;
  /** `token` (default): messages must carry the ops token's signature; `nats`: NATS's permissions decide. */
  auth?: 'token' | 'nats';
  /** The ops token (auth token); without one every message is refused. */
  token?: string;
  /** No share for this long: drop it, back to own limits. Default 10000 ms. */
  centralTimeoutMs?: number;
  /** A message sent more than this long before or after the engine's clock is refused. Default 60000 ms. */
  windowMs?: number;
}

export interface FirmLinkStatus {
  connected: boolean;
  /** When central was last heard (epoch ms), NaN: never. */
  lastHeard: number;
  /** The share in force (undefined: own limits only). */
  share: number | undefined;
  /** Central not heard for `centralTimeoutMs` after it had been. */
  lost: boolean;
  received: number;
  refused: number;
  /** The last refusal's reason. */
  lastRefusal: string;
}

const SEEN = 4096;

export class FirmLink {
  private nc: NatsConnection | undefined;
  private subs: Subscription[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private readonly seen = new Set<string>();
  private lastHeard = Number.NaN;
  private lost = false;
  private received = 0;
  private refused = 0;
  private lastRefusal = '';
  private refusalJournaledAt = -Infinity;
  private readonly o: Required<Omit<FirmLinkOptions, 'token'>> & { token?: string };

  constructor(
    private readonly engine: Engine,
    options: FirmLinkOptions,
    private readonly logger: Logger,
    private readonly alerts?: AlertManager,
  ) {
    this.o = { auth: 'token', centralTimeoutMs: 10_000, windowMs: 60_000, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as FirmLink['o'];
  }

  private now(): number {
    return this.engine.clock.now();
  }

  /** Connect and subscribe (in the background when NATS is down: the engine trades on its own limits meanwhile). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
    const every = Math.max(50, Math.min(1000, Math.floor(this.o.centralTimeoutMs / 4)));
    this.timer = setInterval(() => this.check(), every);
    this.timer.unref();
  }

  private async connect(): Promise<void> {
    const n = natsWithDefaults(this.o.nats);
    try {
      const nc = await natsConnect(this.o.nats, `tradecore-control-${this.o.engineId}`);
      if (!this.running) {
        await nc.close();
        return;
      }
      this.nc = nc;
      for (const target of ['all', this.o.engineId]) {
        this.subs.push(nc.subscribe(controlSubject(n.subjectPrefix, target), { callback: (err, msg) => {
          if (err === null) this.onMessage(msg.data);
        } }));
      }
      this.logger.info({ engineId: this.o.engineId }, 'firm control: listening');
    } catch (err) {
      if (!this.running) return;
      this.logger.warn({ err: (err as Error).message }, 'firm control: NATS not reachable; retrying (own limits meanwhile)');
      this.retry = setTimeout(() => void this.connect(), 1000);
      this.retry.unref();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.retry !== undefined) clearTimeout(this.retry);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    await this.nc?.close().catch(() => undefined);
    this.nc = undefined;
  }

  status(): FirmLinkStatus {
    return { connected: this.nc !== undefined && !this.nc.isClosed(), lastHeard: this.lastHeard, share: this.engine.firmGrossShare, lost: this.lost, received: this.received, refused: this.refused, lastRefusal: this.lastRefusal };
  }

  /** Handle one message's bytes (the subscription's callback; public for tests of the checks). */
  onMessage(data: Uint8Array): void {
    this.received++;
    const m = parseControl(data);
    if (typeof m === 'string') return this.refuse(undefined, m);
    if (m.target !== 'all' && m.target !== this.o.engineId) return this.refuse(m, `addressed to ${m.target}`);
    if (this.o.auth === 'token') {
      if (this.o.token === undefined) return this.refuse(m, 'this engine has no ops token to check the signature with (set one, or export.control.auth: nats)');
      if (!verifyControl(m, this.o.token)) return this.refuse(m, 'bad or missing signature');
    }
    const now = this.now();
    if (Math.abs(now - m.t) > this.o.windowMs) return this.refuse(m, `sent at ${new Date(m.t).toISOString()}, outside the ${this.o.windowMs} ms window of this engine's clock`);
    if (this.seen.has(m.id)) return this.refuse(m, 'seen before (a replay)');
    this.seen.add(m.id);
    if (this.seen.size > SEEN) this.seen.delete(this.seen.values().next().value!);
    this.apply(m);
  }

  private apply(m: ControlMessage): void {
    const e = this.engine;
    if (m.cmd === 'share') {
      const before = e.firmGrossShare;
      const next = m.share === null || m.share === undefined ? undefined : m.share;
      this.lastHeard = this.now();
      const regained = this.lost;
      this.lost = false;
      if (regained) this.alerts?.resolve('CENTRAL_LOST', '', 'central heard again');
      if (before !== next || regained) {
        e.setFirmGrossShare(next);
        e.recordCentral({ cmd: 'share', id: m.id, from: m.from, ok: true, detail: `${next === undefined ? 'no firm share: own limits' : `gross share ${next}`}${regained ? ' (central heard again)' : ''}` });
        this.logger.info({ share: next ?? null, from: m.from }, 'firm control: gross-exposure share');
      }
      return;
    }
    const to = m.cmd === 'halt' ? 'Halted' : m.cmd === 'reduce' ? 'Reducing' : 'Active';
    const reason = `central ${m.cmd} by ${m.from}: ${m.reason}`;
    e.recordCentral({ cmd: m.cmd, id: m.id, from: m.from, ok: true, detail: `${e.tradingState} -> ${to}: ${m.reason}` });
    e.setTradingState(to, reason);
    this.logger.warn({ cmd: m.cmd, from: m.from, reason: m.reason, target: m.target }, 'firm control: trading state set by central');
  }

  private refuse(m: ControlMessage | undefined, why: string): void {
    this.refused++;
    this.lastRefusal = why;
    this.logger.warn({ id: m?.id, cmd: m?.cmd, why }, 'firm control: message refused');
    // journaled, at most one a second: a flood of junk does not flood the journal (the count goes on)
    const now = this.now();
    if (now - this.refusalJournaledAt >= 1000) {
      this.refusalJournaledAt = now;
      this.engine.recordCentral({ cmd: m?.cmd ?? 'unknown', id: m?.id ?? '', from: m?.from ?? '', ok: false, detail: why });
    }
  }

  /** Central not heard for the timeout: drop the share, own limits only. */
  check(): void {
    if (this.lost || !Number.isFinite(this.lastHeard)) return;
    const silent = this.now() - this.lastHeard;
    if (silent <= this.o.centralTimeoutMs) return;
    this.lost = true;
    const had = this.engine.firmGrossShare;
    this.engine.setFirmGrossShare(undefined);
    const msg = `central not heard for ${silent} ms (centralTimeoutMs ${this.o.centralTimeoutMs}): the firm share ${had ?? 'none'} is dropped; trading on this engine's own limits`;
    this.engine.recordCentral({ cmd: 'lost', id: '', from: '', ok: true, detail: msg });
    this.logger.warn({ engineId: this.o.engineId }, msg);
    this.alerts?.raise('CENTRAL_LOST', 'P2', msg);
  }
}
