/**
 * Central's ops endpoint (`tradecore central`, docs/scale-out.md): the firm-wide page, a column
 * per engine and one for the firm, on 127.0.0.1 by default.
 *
 *   GET  /          the firm page (self-contained; polls /status every second)
 *   GET  /status    JSON: `central` (its connection, stream place, counters) and `view` (every engine and the totals)
 *   GET  /metrics   Prometheus text: each engine's figures with `engine="<id>"`, the firm's with `engine="total"`
 *   GET  /healthz   the process is alive
 *   GET  /readyz    200 once connected and caught up with the stream; 503 with the reasons
 *   POST /control   {"cmd":"halt|reduce|resume","target":"all|<engineId>","reason":"...","who":"..."} (bearer token)
 *   POST /rebuild   rebuild the view from the stream's first message and compare it with the live one (bearer token)
 *
 * Every POST needs `Authorization: Bearer <token>` with the ops token, compared in constant time.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { HttpError, bearerMatches, listenHttp, readJsonObject, tokenDigest } from '../ops/http.js';
import type { Logger } from '../ops/logger.js';
import type { Central, FirmView } from './central.js';
import { CENTRAL_PAGE, CENTRAL_PAGE_CSP } from './central-page.js';

export interface CentralServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The bearer token of every POST; without one every POST is refused. */
  token?: string;
}

const MAX_BODY = 16 * 1024;

/** The firm's Prometheus gauges, read from the view at each scrape. */
export function centralMetrics(central: Central): Registry {
  const registry = new Registry();
  let view: FirmView | undefined;
  // one view per scrape: the first gauge's collect takes it, the others read it
  const fresh = () => (view ??= central.view());
  const gauge = (name: string, help: string, labels: string[], fill: (g: Gauge, v: FirmView) => void) =>
    new Gauge({ name, help, labelNames: labels, registers: [registry], collect() {
      this.reset();
      fill(this, fresh());
    } });
  gauge('tradecore_central_stream_seq', 'The stream sequence the firm view covers', [], (g, v) => g.set(v.streamSeq));
  gauge('tradecore_central_connected', '1 when central is connected to NATS', [], (g) => g.set(central.status().connected ? 1 : 0));
  gauge('tradecore_central_engines', 'Engines seen in the stream', [], (g, v) => g.set(v.engines.length));
  gauge('tradecore_central_position', 'Position quantity per engine and symbol (engine="total": the firm)', ['engine', 'symbol'], (g, v) => {
    for (const e of v.engines) for (const p of e.positions) g.set({ engine: e.engineId, symbol: p.symbol }, p.qty);
    for (const p of v.totals.positions) g.set({ engine: 'total', symbol: p.symbol }, p.qty);
  });
  gauge('tradecore_central_cash', 'Cash per engine and currency', ['engine', 'currency'], (g, v) => {
    for (const e of v.engines) for (const [c, x] of Object.entries(e.cash)) g.set({ engine: e.engineId, currency: c }, x);
    for (const [c, x] of Object.entries(v.totals.cash)) g.set({ engine: 'total', currency: c }, x);
  });
  gauge('tradecore_central_realized_pnl', 'Realized P&L per engine and currency', ['engine', 'currency'], (g, v) => {
    for (const e of v.engines) for (const [c, x] of Object.entries(e.realizedPnl)) g.set({ engine: e.engineId, currency: c }, x);
    for (const [c, x] of Object.entries(v.totals.realizedPnl)) g.set({ engine: 'total', currency: c }, x);
  });
  const perEngine = (name: string, help: string, of: (e: FirmView['engines'][number]) => number, total: (v: FirmView) => number) =>
    gauge(name, help, ['engine'], (g, v) => {
      for (const e of v.engines) g.set({ engine: e.engineId }, of(e));
      g.set({ engine: 'total' }, total(v));
    });
  perEngine('tradecore_central_fills', 'Fills', (e) => e.orders.fills, (v) => v.totals.fills);
  perEngine('tradecore_central_open_orders', 'Open orders', (e) => e.orders.open, (v) => v.totals.openOrders);
  perEngine('tradecore_central_gross_notional', 'Gross notional of the positions', (e) => e.gross, (v) => v.totals.gross);
  perEngine('tradecore_central_open_diffs', 'Open reconciliation differences', (e) => e.diffs, (v) => v.totals.diffs);
  gauge('tradecore_central_alerts', 'Alerts the engines raised, by level', ['engine', 'level'], (g, v) => {
    for (const e of v.engines) for (const l of ['P0', 'P1', 'P2'] as const) g.set({ engine: e.engineId, level: l }, e.alerts[l]);
    for (const l of ['P0', 'P1', 'P2'] as const) g.set({ engine: 'total', level: l }, v.totals.alerts[l]);
  });
  gauge('tradecore_central_trading_state', '1 for the trading state each engine is in (engine="total": how many engines are in it)', ['engine', 'state'], (g, v) => {
    for (const e of v.engines) g.set({ engine: e.engineId, state: e.tradingState }, 1);
    for (const [s, n] of Object.entries(v.totals.states)) g.set({ engine: 'total', state: s }, n);
  });
  gauge('tradecore_central_engine_seq', 'The next journal seq central expects from each engine', ['engine'], (g, v) => {
    for (const e of v.engines) g.set({ engine: e.engineId }, e.seq);
  });
  gauge('tradecore_central_gap_records', 'Journal records missing from the stream, per engine', ['engine'], (g, v) => {
    for (const e of v.engines) g.set({ engine: e.engineId }, e.gaps.reduce((n, [a, b]) => n + b - a, 0));
  });
  // the scrape's view is dropped once the scrape is done
  const metrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    try {
      return await metrics();
    } finally {
      view = undefined;
    }
  };
  return registry;
}

/** The view as the live one and a rebuild compare it: every field but the stream duplicates seen, which differ by how delivery went. */
function comparable(v: FirmView): unknown {
  return { streamSeq: v.streamSeq, totals: v.totals, engines: v.engines.map((e) => ({ ...e, duplicates: 0 })) };
}

export class CentralServer {
  readonly registry: Registry;
  private server: Server | undefined;
  private readonly token: Buffer | undefined;
  unauthorized = 0;
  private rebuilding = false;

  constructor(
    private readonly central: Central,
    private readonly logger: Logger,
    private readonly options: CentralServerOptions = {},
  ) {
    if (options.token !== undefined && options.token.length < 16) throw new RangeError('ops token must be at least 16 characters');
    this.token = options.token === undefined ? undefined : tokenDigest(options.token);
    this.registry = centralMetrics(central);
  }

  async start(): Promise<void> {
    this.server = await listenHttp(this.options.host ?? '127.0.0.1', this.options.port ?? 0, (req, res) => this.handle(req, res), (err, req, res) => {
      if (err instanceof HttpError) return this.send(res, err.code, { error: err.message });
      this.logger.error({ err, path: req.url }, 'central ops: request failed');
      if (res.headersSent) res.destroy();
      else this.send(res, 500, { error: (err as Error).message });
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private send(res: ServerResponse, code: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
    res.end(typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`);
  }

  private authorized(req: IncomingMessage): boolean {
    return bearerMatches(req, this.token);
  }

  private body(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonObject(req, MAX_BODY);
  }

  /** Why central is not ready (empty: ready). */
  readiness(): string[] {
    const s = this.central.status();
    const out: string[] = [];
    if (!s.connected) out.push(`not connected to NATS${s.lastError !== '' ? `: ${s.lastError}` : ''}`);
    else if (!s.caughtUp) out.push('catching up with the stream');
    return out;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://central');
    const p = url.pathname;
    if (req.method === 'GET') {
      if (p === '/') return this.send(res, 200, CENTRAL_PAGE, 'text/html; charset=utf-8', { 'content-security-policy': CENTRAL_PAGE_CSP });
      if (p === '/status') return this.send(res, 200, { central: this.central.status(), readOnly: this.token === undefined, view: this.central.view() });
      if (p === '/metrics') return this.send(res, 200, await this.registry.metrics(), this.registry.contentType);
      if (p === '/healthz') return this.send(res, 200, { ok: true });
      if (p === '/readyz') {
        const reasons = this.readiness();
        return this.send(res, reasons.length === 0 ? 200 : 503, { ready: reasons.length === 0, reasons });
      }
      return this.send(res, 404, { error: `no route GET ${p}` });
    }
    if (req.method === 'POST' && (p === '/control' || p === '/rebuild')) {
      if (!this.authorized(req)) {
        this.unauthorized++;
        this.logger.warn({ path: p, from: req.socket.remoteAddress }, 'central ops: refused a POST without the ops token');
        return this.send(res, 401, { error: this.token === undefined ? 'central has no ops token (TRADECORE_OPS_TOKEN or ops.tokenFile): every control is refused' : 'a valid bearer token is required' });
      }
      const body = await this.body(req);
      if (p === '/control') return this.control(res, body);
      return this.rebuild(res);
    }
    return this.send(res, req.method === 'POST' ? 404 : 405, { error: `no route ${req.method} ${p}` });
  }

  private async control(res: ServerResponse, b: Record<string, unknown>): Promise<void> {
    const cmd = b.cmd;
    if (cmd !== 'halt' && cmd !== 'reduce' && cmd !== 'resume') throw new HttpError(400, 'cmd: must be halt, reduce or resume');
    const target = b.target ?? 'all';
    if (typeof target !== 'string') throw new HttpError(400, 'target: all or an engine id');
    if (typeof b.reason !== 'string' || b.reason.trim() === '') throw new HttpError(400, 'reason: say why (a non-empty string is required)');
    const who = typeof b.who === 'string' && b.who.trim() !== '' ? b.who.trim().slice(0, 64) : 'central ops';
    const known = this.central.view().engines.map((e) => e.engineId);
    try {
      const m = await this.central.command(cmd, target, who, b.reason.trim());
      return this.send(res, 200, { sent: { id: m.id, cmd, target, from: who, reason: m.reason, t: m.t }, engines: target === 'all' ? known : [target], ...(target !== 'all' && !known.includes(target) ? { warning: `no engine ${target} in the stream yet: sent anyway` } : {}) });
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(400, err.message);
      throw new HttpError(503, (err as Error).message);
    }
  }

  private async rebuild(res: ServerResponse): Promise<void> {
    if (this.rebuilding) throw new HttpError(409, 'a rebuild is running');
    this.rebuilding = true;
    try {
      const upTo = this.central.streamSeq;
      const t0 = performance.now();
      let rebuilt: FirmView;
      try {
        rebuilt = await this.central.rebuild(upTo);
      } catch (err) {
        throw new HttpError(503, (err as Error).message);
      }
      // the live view may have moved on meanwhile: compare at the same stream seq
      const live = this.central.streamSeq === upTo ? this.central.view() : undefined;
      const same = live === undefined ? null : JSON.stringify(comparable(live)) === JSON.stringify(comparable(rebuilt));
      return this.send(res, 200, { streamSeq: upTo, ms: Math.round(performance.now() - t0), same, ...(same === null ? { note: 'the live view moved on during the rebuild: compare again when the stream is quiet' } : {}), engines: rebuilt.engines.length, totals: rebuilt.totals });
    } finally {
      this.rebuilding = false;
    }
  }
}
