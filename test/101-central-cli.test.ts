/**
 * Scale-out through the real CLI (docs/scale-out.md), against a real `nats-server -js` on
 * 127.0.0.1: two `tradecore run` services with an `export:` section trade with the sample
 * strategy, `tradecore central` consumes their journals. Central's page, /status and /metrics
 * show each engine and the firm; its totals equal the engines' own figures exactly; a halt
 * from central's POST /control reaches both engines, and a standing halt is sent again to an
 * engine resumed locally; a rebuild from the stream gives the same view. The config checks of
 * both sides are exercised too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, eventually, getJson, postJson, spawnCli, started, type RunProcess } from './run-helpers.js';
import { NatsServer, freePort, natsAvailable } from './nats-server.js';

const EXAMPLE = fileURLToPath(new URL('../examples/strategy.mjs', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'tc-central-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface EngineStatus {
  tradingState: string;
  positions: Array<{ symbol: string; qty: number }>;
  account: { cash: Record<string, number>; realizedPnl: Record<string, number> };
  stats: { fills: number };
  journal: { seq: number };
  scaleOut: { export: { connected: boolean; next: number; lagRecords: number }; control: { connected: boolean; received: number } | null } | null;
}
interface CentralStatus {
  central: { connected: boolean; caughtUp: boolean; streamSeq: number; resent: number; standing: { cmd: string; exempt?: string[] } | null };
  readOnly: boolean;
  view: {
    streamSeq: number;
    engines: Array<{ engineId: string; seq: number; tradingState: string; positions: Array<{ symbol: string; qty: number }>; cash: Record<string, number>; realizedPnl: Record<string, number>; orders: { fills: number }; control: Array<{ cmd: string; ok: boolean }> }>;
    totals: { positions: Array<{ symbol: string; qty: number }>; cash: Record<string, number>; realizedPnl: Record<string, number>; fills: number; states: Record<string, number> };
  };
}

const engineConfig = (id: string, seed: number, natsUrl: string) => `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
  - { symbol: BOLT, tickSize: 0.05, pricePrecision: 2, lotSize: 10 }
risk:
  default: { maxOrderQty: 10000, maxPosition: 50000, priceBandPct: 5 }
initialCash: { USD: 1000000 }
ops: { port: 0 }
broker: { kind: embedded, seed: ${seed}, startPrices: { ACME: 42.5, BOLT: 17.35 }, marketStepMs: 20 }
export:
  engineId: ${id}
  nats: { servers: ${natsUrl}, stream: CLIFIRM, subjectPrefix: clifirm }
  control: { centralTimeoutMs: 5000 }
`;

const positionsOf = (p: Array<{ symbol: string; qty: number }>) => Object.fromEntries(p.filter((x) => x.qty !== 0).map((x) => [x.symbol, x.qty]));

describe.skipIf(!natsAvailable)('tradecore central and tradecore run with export (real nats-server)', () => {
  let nats: NatsServer;
  const procs: RunProcess[] = [];
  const engines: Array<{ id: string; r: RunProcess; port: number }> = [];
  let central: RunProcess;
  let cport = 0;
  const status = async (port: number) => (await getJson<EngineStatus>(port, '/status')).body;
  const cstatus = async () => (await getJson<CentralStatus>(cport, '/status')).body;

  beforeAll(async () => {
    nats = new NatsServer(await freePort(), path.join(dir, 'nats'));
    await nats.start();
    for (const [id, seed] of [['desk-a', 11], ['desk-b', 12]] as const) {
      const cfg = path.join(dir, `${id}.yaml`);
      writeFileSync(cfg, engineConfig(id, seed, nats.url));
      const r = spawnCli(['run', '--config', cfg, '--data', path.join(dir, id), '--strategy', EXAMPLE], { TRADECORE_OPS_TOKEN: TOKEN, STRATEGY_EVERY_MS: '40' });
      procs.push(r);
      const s = await started(r);
      expect((s as unknown as { export: unknown }).export).toEqual({ engineId: id, stream: 'CLIFIRM', control: true });
      engines.push({ id, r, port: s.opsPort });
    }
    const ccfg = path.join(dir, 'central.yaml');
    writeFileSync(ccfg, `nats: { servers: ${nats.url}, stream: CLIFIRM, subjectPrefix: clifirm }\nfirm: { maxGrossNotional: 2000000, shareEveryMs: 200 }\nops: { port: 0 }\n`);
    central = spawnCli(['central', '--config', ccfg, '--data-dir', path.join(dir, 'central')], { TRADECORE_OPS_TOKEN: TOKEN });
    procs.push(central);
    cport = (await started(central)).opsPort;
  }, 60_000);

  afterAll(async () => {
    for (const r of procs) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await Promise.all(procs.map((r) => r.exited));
    await nats?.kill();
  });

  it('central shows each engine and the firm; its totals equal the engines\' own figures exactly once the stream is quiet', async () => {
    await eventually(async () => ((await Promise.all(engines.map((e) => status(e.port)))).every((s) => s.stats.fills >= 10) ? true : undefined), 'ten fills on each engine', 30_000);
    // the engines export, and take central's shares
    for (const e of engines) {
      const s = await status(e.port);
      expect(s.scaleOut?.export.connected).toBe(true);
      await eventually(async () => ((await status(e.port)).scaleOut?.control?.received ?? 0) > 0 ? true : undefined, `${e.id} hears central`);
    }
    const page = await fetch(`http://127.0.0.1:${cport}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    expect(await page.text()).toContain('tradecore central');

    // halt both engines from central; then nothing trades, and the view must equal the engines
    const unauth = await postJson(cport, '/control', { cmd: 'halt', target: 'all', reason: 'x' }, 'wrong-token-000000000000');
    expect(unauth.status).toBe(401);
    expect((await postJson(cport, '/control', { cmd: 'halt', target: 'all' })).status).toBe(400);
    const sent = await postJson<{ sent: { cmd: string; target: string }; engines: string[] }>(cport, '/control', { cmd: 'halt', target: 'all', reason: 'firm-wide stop', who: 'risk-desk' });
    expect(sent.status).toBe(200);
    expect(sent.body.sent).toMatchObject({ cmd: 'halt', target: 'all' });
    for (const e of engines) await eventually(async () => ((await status(e.port)).tradingState === 'Halted' ? true : undefined), `${e.id} halted by central`);
    // quiet: no open order left, and central has every record of each journal
    const quiet = await eventually(async () => {
      const ss = await Promise.all(engines.map((e) => status(e.port)));
      const c = await cstatus();
      const done = engines.every((e, i) => c.view.engines.find((v) => v.engineId === e.id)?.seq === ss[i]!.journal.seq);
      return done ? { ss, c } : undefined;
    }, 'central caught up with both journals', 30_000);
    const { ss, c } = quiet;
    for (const [i, e] of engines.entries()) {
      const v = c.view.engines.find((x) => x.engineId === e.id)!;
      expect(positionsOf(v.positions)).toEqual(positionsOf(ss[i]!.positions));
      expect(v.cash).toEqual(ss[i]!.account.cash);
      expect(v.realizedPnl).toEqual(ss[i]!.account.realizedPnl);
      expect(v.orders.fills).toBe(ss[i]!.stats.fills);
      expect(v.tradingState).toBe('Halted');
      expect(v.control.some((x) => x.cmd === 'halt' && x.ok)).toBe(true);
    }
    // the firm's totals are the exact sums (cents as integers)
    const cents = (x: number) => Math.round(x * 100);
    expect(cents(c.view.totals.cash.USD!)).toBe(ss.reduce((n, s) => n + cents(s.account.cash.USD!), 0));
    for (const p of c.view.totals.positions) expect(p.qty).toBe(ss.reduce((n, s) => n + (s.positions.find((x) => x.symbol === p.symbol)?.qty ?? 0), 0));
    expect(c.view.totals.fills).toBe(ss.reduce((n, s) => n + s.stats.fills, 0));
    expect(c.view.totals.states).toEqual({ Halted: 2 });

    // /metrics: per engine and the total
    const metrics = await (await fetch(`http://127.0.0.1:${cport}/metrics`)).text();
    for (const e of engines) expect(metrics).toContain(`tradecore_central_fills{engine="${e.id}"} ${c.view.engines.find((x) => x.engineId === e.id)!.orders.fills}`);
    expect(metrics).toContain(`tradecore_central_fills{engine="total"} ${c.view.totals.fills}`);
    expect(metrics).toContain('tradecore_central_trading_state{engine="total",state="Halted"} 2');
    const em = await (await fetch(`http://127.0.0.1:${engines[0]!.port}/metrics`)).text();
    expect(em).toMatch(new RegExp(`tradecore_export_lag_records\\{engine="${engines[0]!.id}"\\} \\d+`));
    expect(em).toContain(`tradecore_export_connected{engine="${engines[0]!.id}"} 1`);

    // a rebuild from the stream's first message gives the same view
    const rb = await postJson<{ same: boolean | null; streamSeq: number }>(cport, '/rebuild', {});
    expect(rb.status).toBe(200);
    expect(rb.body.same).toBe(true);
  }, 90_000);

  it('a standing firm halt is sent again to an engine resumed locally, not to one central resumed; resume from central frees both', async () => {
    const e = engines[0]!;
    const before = (await cstatus()).central.resent;
    expect((await postJson(e.port, '/trading-state', { action: 'resume', reason: 'local desk' })).status).toBe(200);
    await eventually(async () => ((await cstatus()).central.resent > before ? true : undefined), 'central re-sends the standing halt', 20_000);
    await eventually(async () => ((await status(e.port)).tradingState === 'Halted' ? true : undefined), 'the engine halted again');
    // central's own resume of one engine frees it: it is not halted again while the firm halt stands for the other
    const other = engines[1]!;
    expect((await postJson(cport, '/control', { cmd: 'resume', target: other.id, reason: 'this desk may trade', who: 'risk-desk' })).status).toBe(200);
    await eventually(async () => ((await status(other.port)).tradingState === 'Active' ? true : undefined), `${other.id} resumed by central`);
    const resentThen = (await cstatus()).central.resent;
    // past the 5 s re-send spacing, with shares every 200 ms and the engine trading
    await new Promise((r) => setTimeout(r, 6000));
    expect((await status(other.port)).tradingState).toBe('Active');
    expect((await status(e.port)).tradingState).toBe('Halted');
    expect((await cstatus()).central.resent).toBe(resentThen);
    expect((await cstatus()).central.standing).toMatchObject({ cmd: 'halt', exempt: [other.id] });
    expect((await postJson(cport, '/control', { cmd: 'resume', target: 'all', reason: 'clear', who: 'risk-desk' })).status).toBe(200);
    for (const x of engines) await eventually(async () => ((await status(x.port)).tradingState === 'Active' ? true : undefined), `${x.id} active again`);
    expect((await cstatus()).central.standing).toBeNull();
  }, 60_000);

  it('SIGTERM stops central (view saved) and the services (journal exported to the end) with exit 0', async () => {
    central.proc.kill('SIGTERM');
    expect(await central.exited).toBe(0);
    expect(central.lines.some((l) => (l as { event?: string }).event === 'stopped')).toBe(true);
    for (const e of engines) {
      e.r.proc.kill('SIGTERM');
      expect(await e.r.exited).toBe(0);
    }
    // every record of each journal is in the stream, once: the stream's last message of an engine is its journal's last seq
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      for (const e of engines) {
        const state = JSON.parse((await import('node:fs')).readFileSync(path.join(dir, e.id, 'journal', 'EXPORT-CLIFIRM.json'), 'utf8')) as { next: number };
        const last = await jsm.streams.getMessage('CLIFIRM', { last_by_subj: `clifirm.journal.${e.id}` });
        expect(last?.header.get('Nats-Msg-Id')).toBe(`${e.id}:${state.next - 1}`);
        const info = await jsm.streams.info('CLIFIRM', { subjects_filter: `clifirm.journal.${e.id}` });
        expect(info.state.subjects?.[`clifirm.journal.${e.id}`]).toBe(state.next);
      }
    } finally {
      await nc.close();
    }
  }, 60_000);
});

describe('config checks of the scale-out sections', () => {
  it('tradecore config check lists every problem of an export section, each with its path', async () => {
    const cfg = path.join(dir, 'bad-export.yaml');
    writeFileSync(cfg, 'instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\nexport:\n  engineId: "a b"\n  nats: { servers: nowhere }\n  batch: 0\n  colour: red\n');
    const r = spawnCli(['config', 'check', cfg]);
    expect(await r.exited).toBe(1);
    const out = r.lines.join('\n') + r.stderr();
    for (const p of ['export.engineId', 'export.nats.servers', 'export.batch', 'export.colour']) expect(out).toContain(p);
  });

  it('tradecore central --check: 0 for a valid config, 2 with every problem; a missing file is one problem, never a crash', async () => {
    const good = path.join(dir, 'c-good.yaml');
    writeFileSync(good, 'nats: { servers: "nats://127.0.0.1:4222" }\nfirm: { maxGrossNotional: 1000000, shares: { a: 1, b: 2 } }\n');
    const ok = spawnCli(['central', '--config', good, '--check']);
    expect(await ok.exited).toBe(0);
    const bad = path.join(dir, 'c-bad.yaml');
    writeFileSync(bad, 'nats: { servers: 12 }\nfirm: { maxGrossNotional: -1 }\nflavour: x\n');
    const b = spawnCli(['central', '--config', bad, '--check']);
    expect(await b.exited).toBe(2);
    for (const p of ['nats.servers', 'firm.maxGrossNotional', 'flavour']) expect(b.stderr()).toContain(p);
    const missing = spawnCli(['central', '--config', path.join(dir, 'nope.yaml')]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toMatch(/cannot read/);
    const usage = spawnCli(['central']);
    expect(await usage.exited).toBe(2);
    expect(usage.stderr()).toMatch(/--config/);
  });
});
