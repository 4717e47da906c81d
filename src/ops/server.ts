/**
 * The ops endpoint: an HTTP server on 127.0.0.1 by default.
 *
 *   GET  /                       the ops page (src/ops/page.ts): one self-contained document, live
 *   GET  /metrics                Prometheus text (prom-client; histograms from the HDR ones)
 *   GET  /healthz                the process is alive
 *   GET  /readyz                 200 when connected, synced, not halted and no critical reconciliation diff is open; 503 with the reasons
 *   GET  /status                 JSON: connection, trading state, counts, positions, cash and P&L, open diffs, latency percentiles, alerts
 *   GET  /positions              positions and the account (cash and realized P&L per currency)
 *   GET  /orders[?open=1][&limit=N]   orders in the order table (open only with open=1), newest first, at most N (default 1000)
 *   GET  /history                latency samples of the last minutes (what the page's chart draws)
 *   GET  /alerts                 open and recent alerts
 *   POST /alerts/:id/ack         acknowledge an alert               (bearer token)
 *   POST /trading-state          {"action":"halt|reduce|resume|safe-stop","reason":"..."} (bearer token)
 *   GET  /diffs[?state=open|all|fixed|resolved|cleared]   reconciliation diffs (default open)
 *   GET  /diffs/:id              one diff with its actions
 *   POST /diffs/:id/resolve      {"accept":"broker|local","note":"...","who":"..."} (bearer token)
 *   POST /diffs/:id/ack          {"note":"...","who":"..."}                        (bearer token)
 *   POST /recon                  run reconciliation now; {"eod":true} also returns the end-of-day report inputs (bearer token)
 *   POST /config/rollback        {"hash":"…","note":"why","who":"…"}: an earlier config snapshot's risk (tradecore run only) (bearer token)
 *   POST /sync                   recovery sync now; {"force":true,"note":"why"} resolves every PendingNew order at once (bearer token)
 *   GET  /rollout                the rollout stage, its limits, the day's P&L and turnover, clean days, whether promotion is allowed
 *   POST /rollout/promote        {"note":"why","who":"…"}: to the next stage; 409 with what evidence is missing (bearer token)
 *   POST /fallback               {"mode":"paper|safe-stop|live","note":"why","who":"…"}: the fallback switch (bearer token)
 *
 * Every POST needs `Authorization: Bearer <token>` with the configured token, compared in
 * constant time; without it the answer is 401, nothing changes, and the attempt is logged.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../engine.js';
import type { Registry } from 'prom-client';
import type { Monitor } from './monitor.js';
import { HttpError, bearerMatches, listenHttp, readJsonObject, tokenDigest } from './http.js';
import { engineMetrics } from './metrics.js';
import { OPS_PAGE } from './page.js';
import { ReconError } from '../recon/reconciler.js';

export interface OpsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (see `port` once started). */
  port?: number;
  /** The bearer token every POST needs. Without one, every POST is refused. */
  token?: string;
  /** Latency samples for `/history`: one every `historyEveryMs` (default 2000), the last `historyPoints` kept (default 450: 15 minutes). */
  historyEveryMs?: number;
  historyPoints?: number;
  /** `POST /config/rollback`, where the host keeps config snapshots (`tradecore run`); without it the route answers 404. */
  /** More fields for `/status` (the host's own parts: `tradecore run` adds `scaleOut`). */
  extraStatus?: () => Record<string, unknown>;
  configRollback?: (hash: string, note: string, who: string) => { status: number; body: Record<string, unknown> };
  /** Called after a promotion through `POST /rollout/promote` (the host records it with its config snapshots). */
  onPromote?: (p: { from: string; to: string; who: string; note: string }) => void;
}

/** One `/history` sample: the rolling window's latency at time `t` (epoch ms), microseconds. */
export interface HistoryPoint {
  t: number;
  ackP50Us: number | null;
  ackP99Us: number | null;
  reportP99Us: number | null;
  /** Orders accepted so far (the session's counter). */
  accepted: number;
}

const MAX_BODY = 64 * 1024;

export class OpsServer {
  readonly registry: Registry;
  private server: Server | undefined;
  private readonly token: Buffer | undefined;
  /** Refused mutations (bad or missing token). */
  unauthorized = 0;
  private readonly history: HistoryPoint[] = [];
  private historyTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly monitor: Monitor,
    private readonly options: OpsServerOptions = {},
  ) {
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
      throw new RangeError('ops token must be a string of at least 16 characters');
    }
    this.token = options.token === undefined ? undefined : tokenDigest(options.token);
    this.registry = engineMetrics(engine, monitor);
  }

  async start(): Promise<void> {
    this.server = await listenHttp(this.options.host ?? '127.0.0.1', this.options.port ?? 0, (req, res) => this.handle(req, res), (err, req, res) => {
      this.engine.logger.error({ err, path: req.url }, 'ops: request failed');
      if (res.headersSent) res.destroy();
      else this.send(res, 500, { error: (err as Error).message });
    });
    this.sample();
    this.historyTimer = setInterval(() => this.sample(), this.options.historyEveryMs ?? 2000);
    this.historyTimer.unref();
    this.engine.logger.info({ host: this.options.host ?? '127.0.0.1', port: this.port }, 'ops endpoint listening');
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (this.historyTimer !== undefined) clearInterval(this.historyTimer);
    this.historyTimer = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private send(res: ServerResponse, code: number, body: unknown, type = 'application/json'): void {
    const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(text);
  }

  /** Whether the request carries the token (constant time over equal-length digests). */
  private authorized(req: IncomingMessage): boolean {
    return bearerMatches(req, this.token);
  }

  private body(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonObject(req, MAX_BODY);
  }

  /** Take one latency sample for `/history`. */
  private sample(): void {
    const w = this.engine.latencyWindow();
    const us = (v: number, n: number) => (n > 0 && Number.isFinite(v) ? v : null);
    this.history.push({ t: this.engine.clock.now(), ackP50Us: us(w.ack.p50, w.ack.count), ackP99Us: us(w.ack.p99, w.ack.count), reportP99Us: us(w.report.p99, w.report.count), accepted: this.engine.stats().accepted });
    const max = this.options.historyPoints ?? 450;
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
  }

  /** Why the engine cannot trade now (empty: it can). */
  readiness(): string[] {
    const e = this.engine;
    const why: string[] = [];
    if (e.state !== 'running') why.push(`engine ${e.state}`);
    if (e.connectionState !== 'Ready') why.push(`connection ${e.connectionState}`);
    if (e.tradingState === 'Halted') why.push('trading Halted');
    if (e.mode !== 'live') why.push(`mode ${e.mode}: new orders do not go to the real broker`);
    const critical = e.recon.openCritical();
    if (critical.length > 0) why.push(`${critical.length} critical reconciliation diff${critical.length === 1 ? '' : 's'} open: ${critical.map((d) => d.id).join(', ')}`);
    return why;
  }

  status() {
    const e = this.engine;
    const reasons = this.readiness();
    return {
      engine: e.state,
      ready: reasons.length === 0,
      reasons,
      /** No token configured: every control is refused. */
      readOnly: this.token === undefined,
      connection: e.connectionState,
      tradingState: e.tradingState,
      environment: e.environment,
      openOrders: e.openOrderCount(),
      positions: e.positions(),
      account: e.account(),
      openDiffs: e.recon.list({ state: 'open' }).length,
      risk: e.riskConfig(),
      stats: e.stats(),
      connectionStats: e.connectionStats(),
      latency: { session: e.latency(), window: e.latencyWindow() },
      mode: e.mode,
      modeHistory: e.modeHistory().slice(-20),
      paper: e.paper === undefined ? null : { openOrders: e.paper.openOrderCount(), positions: e.paper.positions(), account: e.paper.account(), stats: { accepted: e.paper.stats().accepted, fills: e.paper.stats().fills } },
      rollout: e.rolloutStatus() ?? null,
      eventLoopLagMs: this.monitor.lastLagMs,
      alerts: this.monitor.alerts.openCounts(),
      journal: e.journalStatus() ?? null,
      ...(this.options.extraStatus?.() ?? {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ops');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    try {
      if (method === 'GET') {
        if (path === '/') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': OPS_PAGE.csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
          res.end(OPS_PAGE.html);
          return;
        }
        if (path === '/positions') return this.send(res, 200, { positions: this.engine.positions(), account: this.engine.account() });
        if (path === '/orders') return this.send(res, 200, this.orders(url.searchParams));
        if (path === '/history') return this.send(res, 200, { everyMs: this.options.historyEveryMs ?? 2000, points: this.history });
        if (path === '/metrics') return this.send(res, 200, await this.registry.metrics(), this.registry.contentType);
        if (path === '/healthz') return this.send(res, 200, { status: 'alive' });
        if (path === '/readyz') {
          const why = this.readiness();
          return this.send(res, why.length === 0 ? 200 : 503, { ready: why.length === 0, reasons: why });
        }
        if (path === '/status') return this.send(res, 200, this.status());
        if (path === '/rollout') {
          const st = this.engine.rolloutStatus();
          return st === undefined ? this.send(res, 404, { error: 'no rollout is configured (config section rollout)' }) : this.send(res, 200, st);
        }
        if (path === '/alerts') return this.send(res, 200, { open: this.monitor.alerts.open(), recent: this.monitor.alerts.recent() });
        if (path === '/diffs') {
          const state = url.searchParams.get('state') ?? 'open';
          if (!['open', 'all', 'fixed', 'resolved', 'cleared'].includes(state)) return this.send(res, 400, { error: `state must be open, all, fixed, resolved or cleared, got ${state}` });
          return this.send(res, 200, { diffs: this.engine.recon.list({ state: state as 'open' }), lastRun: this.engine.recon.lastRun ?? null });
        }
        const one = /^\/diffs\/([^/]+)$/.exec(path);
        if (one !== null) {
          const d = this.engine.recon.get(decodeURIComponent(one[1]!));
          return d === undefined ? this.send(res, 404, { error: `no diff ${decodeURIComponent(one[1]!)}` }) : this.send(res, 200, d);
        }
      }
      const diffAction = /^\/diffs\/([^/]+)\/(resolve|ack)$/.exec(path);
      if (method === 'POST' && (diffAction !== null || path === '/recon' || path === '/sync')) {
        if (!this.authorized(req)) return this.refuse(req, res, path);
        const body = await this.body(req);
        try {
          if (diffAction !== null) return this.send(res, 200, await this.diffAction(decodeURIComponent(diffAction[1]!), diffAction[2] as 'resolve' | 'ack', body));
          if (path === '/recon') {
            if (body.eod === true) {
              const eod = await this.engine.recon.endOfDay();
              return this.send(res, 200, { run: this.engine.recon.lastRun, eod });
            }
            return this.send(res, 200, { run: await this.engine.reconcile() });
          }
          return this.send(res, 200, await this.sync(body));
        } catch (err) {
          if (err instanceof ReconError) return this.send(res, { NOT_FOUND: 404, CONFLICT: 409, NOT_READY: 503, JOURNAL: 500 }[err.code], { error: err.message, code: err.code });
          throw err;
        }
      }
      if (method === 'POST' && path === '/config/rollback') {
        if (!this.authorized(req)) return this.refuse(req, res, path);
        const rollback = this.options.configRollback;
        if (rollback === undefined) return this.send(res, 404, { error: 'this engine keeps no config snapshots (tradecore run does)' });
        const body = await this.body(req);
        if (typeof body.hash !== 'string' || body.hash === '') throw new HttpError(400, 'hash: the snapshot to roll back to is required (tradecore config history)');
        const who = typeof body.who === 'string' && body.who.trim() !== '' ? body.who.trim() : 'operator';
        const r = rollback(body.hash, typeof body.note === 'string' ? body.note.trim() : '', who);
        return this.send(res, r.status, r.body);
      }
      if (method === 'POST' && (path === '/rollout/promote' || path === '/fallback')) {
        if (!this.authorized(req)) return this.refuse(req, res, path);
        const body = await this.body(req);
        const who = typeof body.who === 'string' && body.who.trim() !== '' ? body.who.trim() : 'operator';
        const note = typeof body.note === 'string' ? body.note.trim() : '';
        if (note === '') throw new HttpError(400, 'note: say why (a non-empty string is required)');
        const e = this.engine;
        if (path === '/rollout/promote') {
          if (e.rolloutStatus() === undefined) return this.send(res, 404, { error: 'no rollout is configured (config section rollout)' });
          const r = e.promoteRollout({ note, who });
          if (!r.ok) return this.send(res, 409, { error: `promotion refused: ${r.missing.join('; ')}`, missing: r.missing });
          this.options.onPromote?.({ from: r.from, to: r.to, who, note });
          return this.send(res, 200, { ...r, rollout: e.rolloutStatus() });
        }
        const mode = body.mode;
        if (mode !== 'paper' && mode !== 'safe-stop' && mode !== 'live') throw new HttpError(400, `mode must be paper, safe-stop or live, got ${JSON.stringify(mode)}`);
        const r = mode === 'live' ? await e.goLive({ note, who }) : await e.fallback(mode, { note, who });
        if (!r.ok) return this.send(res, 409, { error: r.problem });
        e.logger.warn({ mode, who, note }, 'ops: fallback switch');
        return this.send(res, 200, { ...r, tradingState: e.tradingState });
      }
      const ack = /^\/alerts\/([^/]+)\/ack$/.exec(path);
      if (method === 'POST' && (ack !== null || path === '/trading-state')) {
        if (!this.authorized(req)) return this.refuse(req, res, path);
        const body = await this.body(req);
        if (ack !== null) {
          const id = decodeURIComponent(ack[1]!);
          const who = typeof body.who === 'string' && body.who !== '' ? body.who : 'operator';
          const note = typeof body.note === 'string' ? body.note : '';
          try {
            const alert = this.monitor.alerts.acknowledge(id, who, note);
            this.engine.logger.warn({ alert: id, who, note }, 'ops: alert acknowledged');
            return this.send(res, 200, alert);
          } catch (err) {
            return this.send(res, 404, { error: (err as Error).message });
          }
        }
        return this.send(res, 200, this.tradingState(body));
      }
      const posts = path === '/trading-state' || path === '/recon' || path === '/sync' || path === '/config/rollback' || path === '/rollout/promote' || path === '/fallback' || ack !== null || diffAction !== null;
      if (['/', '/positions', '/orders', '/history', '/metrics', '/healthz', '/readyz', '/status', '/alerts', '/diffs', '/rollout'].includes(path) || /^\/diffs\/[^/]+$/.test(path) || posts) {
        res.setHeader('allow', posts ? 'POST' : 'GET');
        return this.send(res, 405, { error: `${method} not allowed on ${path}` });
      }
      return this.send(res, 404, { error: `no such endpoint ${path}` });
    } catch (err) {
      if (err instanceof HttpError) return this.send(res, err.code, { error: err.message });
      throw err;
    }
  }

  /** `/orders`: newest first, open only with open=1, at most `limit`. */
  private orders(q: URLSearchParams) {
    const open = q.get('open');
    if (open !== null && open !== '1' && open !== '0' && open !== 'true' && open !== 'false') throw new HttpError(400, `open must be 1 or 0, got ${open}`);
    const limitText = q.get('limit');
    const limit = limitText === null ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new HttpError(400, `limit must be a whole number from 1 to 100000, got ${limitText}`);
    const all = open === '1' || open === 'true' ? this.engine.openOrders() : this.engine.orders();
    all.sort((a, b) => b.createdAt - a.createdAt);
    return { total: all.length, orders: all.slice(0, limit) };
  }

  /** 401: nothing changes, and the attempt is logged. */
  private refuse(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.unauthorized++;
    this.engine.logger.warn({ path, remote: req.socket.remoteAddress, hasToken: req.headers.authorization !== undefined }, 'ops: mutation refused without a valid token');
    res.setHeader('www-authenticate', 'Bearer');
    this.send(res, 401, { error: 'a valid bearer token is required' });
  }

  private async diffAction(id: string, action: 'resolve' | 'ack', body: Record<string, unknown>) {
    const who = typeof body.who === 'string' && body.who.trim() !== '' ? body.who.trim() : 'operator';
    const note = typeof body.note === 'string' ? body.note.trim() : '';
    if (note === '') throw new HttpError(400, 'note: say why (a non-empty string is required)');
    if (action === 'ack') return this.engine.recon.acknowledge(id, who, note);
    if (body.accept !== 'broker' && body.accept !== 'local') throw new HttpError(400, `accept must be broker or local, got ${JSON.stringify(body.accept)}`);
    return this.engine.recon.resolve(id, body.accept, who, note);
  }

  private async sync(body: Record<string, unknown>) {
    const who = typeof body.who === 'string' && body.who.trim() !== '' ? body.who.trim() : 'operator';
    const force = body.force === true;
    const note = typeof body.note === 'string' ? body.note.trim() : '';
    if (force && note === '') throw new HttpError(400, 'note: say why a forced sync is needed (a non-empty string is required)');
    const e = this.engine;
    if (!e.ready) throw new ReconError('NOT_READY', `cannot sync now: connection ${e.connectionState}, engine ${e.state}`);
    e.recon.recordAction(force ? 'sync --force' : 'sync', who, note === '' ? 'sync' : note);
    const summary = await e.resync({ graceMs: force ? 0 : 5000 });
    e.logger.warn({ who, note, force, ...summary }, 'ops: recovery sync run by hand');
    return { sync: summary };
  }

  private tradingState(body: Record<string, unknown>) {
    const reason = typeof body.reason === 'string' && body.reason !== '' ? body.reason : '';
    if (reason === '') throw new HttpError(400, 'reason: a non-empty string is required');
    const e = this.engine;
    const why = `ops endpoint: ${reason}`;
    switch (body.action) {
      case 'halt':
        e.setTradingState('Halted', why);
        break;
      case 'reduce':
        e.setTradingState('Reducing', why);
        break;
      case 'resume':
        e.setTradingState('Active', why);
        break;
      case 'safe-stop': {
        const result = e.safeStop(why);
        e.logger.warn({ reason }, 'ops: safe stop');
        return { tradingState: e.tradingState, safeStop: result };
      }
      default:
        throw new HttpError(400, `action must be halt, reduce, resume or safe-stop, got ${JSON.stringify(body.action)}`);
    }
    e.logger.warn({ action: body.action, reason }, 'ops: trading state changed');
    return { tradingState: e.tradingState };
  }
}
