/**
 * Scale-out (docs/scale-out.md) against a real `nats-server -js` on 127.0.0.1: three engines
 * export their journals to JetStream, central consumes them. Totals equal the engines' own,
 * exactly; a NATS outage loses and duplicates nothing; central resumes from its durable
 * consumer and a rebuild from the stream gives the same view; halt reaches every engine; an
 * engine that loses central keeps its own limits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Prng } from '../src/brokers/sim/prng.js';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import { AlertManager } from '../src/ops/alerts.js';
import { Central, FirmState, sumExact, type FirmView } from '../src/scale/central.js';
import { signControl } from '../src/scale/control.js';
import { JournalExporter, engineSource } from '../src/scale/exporter.js';
import { FirmLink } from '../src/scale/firm-link.js';
import { INSTRUMENTS, NO_HEARTBEAT, quiet } from './helpers.js';
import { NatsServer, freePort, natsAvailable } from './nats-server.js';

const TOKEN = 'scale-out-test-token-0123456789';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-scale-'));
let nats: NatsServer;

interface Node {
  id: string;
  engine: Engine;
  sim: SimBroker;
  clock: ManualClock;
  exporter: JournalExporter;
  link: FirmLink;
  alerts: AlertManager;
  rng: Prng;
  n: number;
}

const natsOpts = () => ({ servers: nats.url, stream: 'FIRM', subjectPrefix: 'firm' });

async function node(id: string, seed: number, risk?: { account: { maxGrossNotional: number } }): Promise<Node> {
  const clock = new ManualClock(Date.now());
  const sim = new SimBroker({ instruments: INSTRUMENTS, clock, seed, ackLatencyMs: 1, fillLatencyMs: 2, marketStepMs: 5, startPrices: { ACME: 10, LOTS: 20 } });
  const engine = createEngine({
    instruments: INSTRUMENTS, broker: sim, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 1_000_000 },
    // small segments and frequent snapshots: rotation and compaction happen while exporting
    journal: { dir: path.join(root, id), segmentBytes: 64 * 1024, snapshotEveryRecords: 0, snapshotEveryMs: 0, keepSnapshots: 1, compaction: 'delete' },
    ...(risk !== undefined ? { risk } : {}),
  });
  await engine.start();
  const alerts = new AlertManager(clock);
  const exporter = new JournalExporter({ engineId: id, nats: natsOpts(), maxLagRecords: 50, batch: 200 }, engineSource(engine), quiet(), alerts, () => clock.now());
  engine.holdJournalCompaction(() => exporter.next);
  exporter.start();
  const link = new FirmLink(engine, { engineId: id, nats: natsOpts(), token: TOKEN, centralTimeoutMs: 3000 }, quiet(), alerts);
  link.start();
  return { id, engine, sim, clock, exporter, link, alerts, rng: new Prng(seed), n: 0 };
}

/** `orders` seeded orders (limits, markets, cancels), the clock moving so fills come. */
async function trade(x: Node, orders: number): Promise<void> {
  const { engine, sim, clock, rng } = x;
  for (let i = 0; i < orders; i++) {
    const symbol = rng.chance(0.5) ? 'ACME' : 'LOTS';
    const lot = symbol === 'LOTS' ? 100 : 1;
    const tick = symbol === 'LOTS' ? 0.05 : 0.01;
    const side = rng.chance(0.5) ? 'buy' : 'sell';
    const q = sim.quote(symbol);
    const px = side === 'buy' ? q.bid + tick * rng.int(-2, 3) : q.ask - tick * rng.int(-2, 3);
    const id = `${x.id}-${x.n++}`;
    const r = rng.chance(0.1)
      ? engine.submit({ clientOrderId: id, symbol, side, type: 'market', qty: lot * rng.int(1, 5) })
      : engine.submit({ clientOrderId: id, symbol, side, qty: lot * rng.int(1, 5), price: Number(px.toFixed(2)), tif: 'day' });
    expect(r.status).toBe('accepted');
    if (rng.chance(0.3)) {
      const open = engine.openOrders();
      if (open.length > 0) engine.cancel(rng.pick(open).clientOrderId);
    }
    clock.advance(rng.int(0, 3));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  clock.advance(50);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const exported = (x: Node) => x.exporter.next === x.engine.journalStatus()!.seq;

/** The per-engine view equals the engine's own positions, cash and P&L, exactly; totals equal their exact sums. */
function expectMatches(view: FirmView, nodes: Node[]): void {
  for (const x of nodes) {
    const v = view.engines.find((e) => e.engineId === x.id)!;
    expect(v, x.id).toBeDefined();
    expect(v.positions).toEqual(x.engine.positions());
    expect(v.cash).toEqual(x.engine.account().cash);
    expect(v.realizedPnl).toEqual(x.engine.account().realizedPnl);
    expect(v.orders.fills).toBe(x.engine.account().fills);
    expect(v.orders.open).toBe(x.engine.openOrderCount());
    expect(v.tradingState).toBe(x.engine.tradingState);
    expect(v.seq).toBe(x.engine.journalStatus()!.seq);
    expect(v.gaps).toEqual([]);
  }
  const symbols = [...new Set(nodes.flatMap((x) => x.engine.positions().map((p) => p.symbol)))].sort();
  expect(view.totals.positions).toEqual(symbols.map((s) => ({ symbol: s, qty: sumExact(nodes.map((x) => x.engine.positions().find((p) => p.symbol === s)?.qty ?? 0)) })));
  expect(view.totals.cash.USD).toBe(sumExact(nodes.map((x) => x.engine.account().cash.USD ?? 0)));
  expect(view.totals.realizedPnl.USD).toBe(sumExact(nodes.map((x) => x.engine.account().realizedPnl.USD ?? 0)));
  expect(view.totals.fills).toBe(nodes.reduce((n, x) => n + x.engine.account().fills, 0));
}

/** Every record of every engine in the stream exactly once: count, and seqs 0..n-1 per engine. */
async function expectStreamExact(nodes: Node[]): Promise<void> {
  const nc = await connect({ servers: nats.url });
  let last = 0;
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('FIRM', { subjects_filter: 'firm.journal.>' });
    const total = nodes.reduce((n, x) => n + x.engine.journalStatus()!.seq, 0);
    expect(info.state.messages).toBe(total);
    last = info.state.last_seq;
    for (const x of nodes) expect(info.state.subjects?.[`firm.journal.${x.id}`]).toBe(x.engine.journalStatus()!.seq);
  } finally {
    await nc.close();
  }
  // and read back in order: no seq twice, none missing (a fresh view from the whole stream)
  const c = new Central({ nats: natsOpts(), dataDir: path.join(root, `check-${Date.now()}`), consumer: `check${Date.now()}` }, quiet(), TOKEN);
  c.start();
  try {
    await until('the check consumer', () => c.caughtUp);
    const v = await c.rebuild(last);
    for (const x of nodes) {
      const e = v.engines.find((y) => y.engineId === x.id)!;
      expect({ records: e.records, seq: e.seq, duplicates: e.duplicates, gaps: e.gaps }).toEqual({ records: x.engine.journalStatus()!.seq, seq: x.engine.journalStatus()!.seq, duplicates: 0, gaps: [] });
    }
  } finally {
    await c.kill();
  }
}

describe.runIf(natsAvailable)('scale-out over NATS JetStream', { timeout: 120_000 }, () => {
  const nodes: Node[] = [];
  let central: Central;

  beforeAll(async () => {
    nats = new NatsServer(await freePort(), path.join(root, 'nats'));
    await nats.start();
    for (const [i, id] of ['eng-a', 'eng-b', 'eng-c'].entries()) nodes.push(await node(id, 100 + i, { account: { maxGrossNotional: 1_000_000 } }));
  });

  afterAll(async () => {
    await central?.kill();
    for (const x of nodes) {
      await x.link.stop();
      await x.exporter.stop(0);
      await x.engine.stop();
    }
    await nats.kill();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('three engines trading: central totals equal the sum of the engines own positions and cash, exactly', async () => {
    central = new Central({ nats: natsOpts(), dataDir: path.join(root, 'central'), snapshotEveryMs: 200 }, quiet(), TOKEN);
    central.start();
    for (const x of nodes) await trade(x, 400);
    await until('every journal exported', () => nodes.every(exported));
    await until('central caught up', () => central.view().engines.length === 3 && nodes.every((x) => central.view().engines.find((e) => e.engineId === x.id)?.seq === x.engine.journalStatus()!.seq));
    const view = central.view();
    expect(view.totals.fills).toBeGreaterThan(300);
    // a snapshot lets compaction delete what it covers, once exported
    for (const x of nodes) await x.engine.writeSnapshot();
    await until('compaction behind the exporter', () => nodes.every((x) => x.engine.journalStatus()!.stats.segmentsCompacted > 0));
    expectMatches(view, nodes);
    await expectStreamExact(nodes);
  });

  it('nats-server killed for a while and restarted: every engine kept trading, then exported everything, nothing lost or duplicated', async () => {
    await nats.kill();
    const before = nodes.map((x) => x.engine.account().fills);
    for (const x of nodes) await trade(x, 300);
    // trading went on: fills kept coming with NATS down
    nodes.forEach((x, i) => expect(x.engine.account().fills).toBeGreaterThan(before[i]!));
    await until('the lag alert', () => nodes.every((x) => x.alerts.open().some((a) => a.code === 'EXPORT_LAG')));
    expect(nodes.every((x) => x.exporter.status().lagRecords > 50)).toBe(true);
    // snapshots while NATS is down: compaction (delete) must keep every segment not exported yet
    for (const x of nodes) await x.engine.writeSnapshot();
    await new Promise((r) => setTimeout(r, 1500));
    await nats.start();
    await until('every journal exported after the outage', () => nodes.every(exported), 30_000);
    for (const x of nodes) x.exporter.tick();
    expect(nodes.every((x) => !x.alerts.open().some((a) => a.code === 'EXPORT_LAG'))).toBe(true);
    await expectStreamExact(nodes);
    // the exported place is persisted beside each journal (at most 200 ms behind)
    await until('the exported place saved', () => nodes.every((x) => JSON.parse(fs.readFileSync(path.join(x.engine.journalStatus()!.dir, 'EXPORT-FIRM.json'), 'utf8')).next === x.exporter.next));
    await until('central caught up after the outage', () => nodes.every((x) => central.view().engines.find((e) => e.engineId === x.id)?.seq === x.engine.journalStatus()!.seq), 30_000);
    expectMatches(central.view(), nodes);
  });

  it('central killed and restarted: it resumes from its durable consumer, and a rebuild from scratch gives the same view', async () => {
    for (const x of nodes) await trade(x, 100);
    await until('central consuming', () => central.counters.consumed > 0 && central.streamSeq > 0);
    await central.kill();
    const savedAt = central.streamSeq;
    for (const x of nodes) await trade(x, 200);
    await until('every journal exported', () => nodes.every(exported));
    central = new Central({ nats: natsOpts(), dataDir: path.join(root, 'central'), snapshotEveryMs: 200 }, quiet(), TOKEN);
    // it starts from its saved view, not from nothing
    expect(central.streamSeq).toBeGreaterThan(0);
    expect(central.streamSeq).toBeLessThanOrEqual(savedAt);
    central.start();
    await until('central caught up after its restart', () => nodes.every((x) => central.view().engines.find((e) => e.engineId === x.id)?.seq === x.engine.journalStatus()!.seq), 30_000);
    const live = central.view();
    expectMatches(live, nodes);
    const rebuilt = await central.rebuild();
    expect(rebuilt.streamSeq).toBe(live.streamSeq);
    expect(rebuilt.totals).toEqual(live.totals);
    expect(rebuilt.engines.map((e) => ({ ...e, duplicates: 0 }))).toEqual(live.engines.map((e) => ({ ...e, duplicates: 0 })));
  });

  it('a halt from central reaches every engine (journaled), resume too; an engine that loses central keeps its local limits', async () => {
    await central.command('halt', 'all', 'risk-desk', 'firm-wide stop');
    await until('every engine halted', () => nodes.every((x) => x.engine.tradingState === 'Halted'));
    const r = nodes[0]!.engine.submit({ clientOrderId: 'while-halted', symbol: 'ACME', side: 'buy', qty: 1, price: 10 });
    expect(r.status).toBe('denied');
    await until('the halts in the stream', () => nodes.every((x) => central.view().engines.find((e) => e.engineId === x.id)!.control.some((c) => c.cmd === 'halt' && c.ok)));
    await central.command('resume', 'all', 'risk-desk', 'clear');
    await until('every engine active', () => nodes.every((x) => x.engine.tradingState === 'Active'));

    // one engine: a bad signature is refused and journaled, nothing changes
    const x = nodes[0]!;
    const forged = signControl({ v: 1, id: 'forged-1', t: x.clock.now(), cmd: 'halt', target: x.id, from: 'mallory', reason: 'x' }, 'not-the-token-at-all-0000');
    x.link.onMessage(Buffer.from(JSON.stringify(forged)));
    expect(x.engine.tradingState).toBe('Active');
    expect(x.link.status().lastRefusal).toMatch(/signature/);

    // the firm share: a central with a firm limit; the engine's own limit is 1,000,000
    await central.kill();
    central = new Central({ nats: natsOpts(), dataDir: path.join(root, 'central'), snapshotEveryMs: 200, firm: { maxGrossNotional: 300, shareEveryMs: 100 } }, quiet(), TOKEN);
    central.start();
    await until('the share', () => nodes.every((n) => n.engine.firmGrossShare === 100));
    for (const o of x.engine.openOrders()) x.engine.cancel(o.clientOrderId);
    x.clock.advance(50);
    const flat = () => x.engine.positions().reduce((g, p) => g + Math.abs(p.qty) * p.avgPx, 0);
    const over = x.engine.submit({ clientOrderId: 'over-share', symbol: 'ACME', side: 'buy', qty: Math.ceil((100 + 1) / 10), price: 10 });
    if (flat() + 110 > 100) {
      expect(over.status).toBe('denied');
      expect(over.status === 'denied' && over.reason).toBe('MAX_GROSS_NOTIONAL');
      expect(over.status === 'denied' && over.detail).toMatch(/scope=firm-share/);
    }
    // central gone: after centralTimeoutMs the share is dropped, the engine's own 1,000,000 applies
    await central.kill();
    x.clock.advance(3500);
    x.link.check();
    expect(x.engine.firmGrossShare).toBeUndefined();
    expect(x.link.status().lost).toBe(true);
    expect(x.alerts.open().some((a) => a.code === 'CENTRAL_LOST')).toBe(true);
    const within = x.engine.submit({ clientOrderId: 'within-own', symbol: 'ACME', side: 'buy', qty: 11, price: 10 });
    expect(within.status).toBe('accepted');
    const beyond = x.engine.submit({ clientOrderId: 'beyond-own', symbol: 'ACME', side: 'buy', qty: 200_000, price: 10 });
    expect(beyond.status).toBe('denied');
    expect(beyond.status === 'denied' && beyond.reason).toBe('MAX_GROSS_NOTIONAL');
    expect(beyond.status === 'denied' && beyond.detail).not.toMatch(/firm-share/);
  });

  it('a FirmState fed the same messages twice applies them once', () => {
    const f = new FirmState(1024);
    expect(f.apply(1, 'e', 0, new Uint8Array([0x80]))).toBe(true);
    expect(f.apply(1, 'e', 0, new Uint8Array([0x80]))).toBe(false);
  });
});

describe('scale-out options and control messages (no NATS needed)', () => {
  it('every bad option is named with its path', async () => {
    const { exportProblems } = await import('../src/scale/exporter.js');
    const { centralProblems } = await import('../src/scale/central.js');
    expect(exportProblems({ engineId: 'a b', nats: { servers: 'http://x', stream: 'a.b' }, compaction: 'never', maxLagMs: -1, control: { auth: 'pw' } })).toEqual([
      'export.engineId: required; letters, digits, - and _ only (at most 64)',
      'export.nats.servers: must be a URL (nats://host:port) or a list of them',
      'export.nats.stream: letters, digits, - and _ only',
      'export.compaction: must be hold or allow',
      'export.maxLagMs: must be an integer from 1 to 9007199254740991',
      'export.control.auth: must be token or nats',
    ]);
    expect(exportProblems({ engineId: 'all', nats: { servers: ['nats://127.0.0.1:4222'] } })).toEqual(['export.engineId: "all" is the control subject of every engine; pick another name']);
    expect(centralProblems({ nats: { servers: 'nats://h:1' }, firm: { maxGrossNotional: -1, shares: { 'x y': 1 } }, capacity: 3 })).toEqual([
      'capacity: must be a power of two',
      'firm.maxGrossNotional: must be a number >= 0',
      'firm.shares.x y: an engine id and a weight >= 0',
    ]);
    expect(() => new JournalExporter({ engineId: 'e', nats: { servers: 'bad' } }, { dir: root, seq: () => 0, synced: () => 0 }, quiet())).toThrow(/export.nats.servers/);
  });

  it('a signed message verifies; any changed field does not', async () => {
    const { verifyControl, parseControl } = await import('../src/scale/control.js');
    const m = signControl({ v: 1, id: 'c-1', t: 1, cmd: 'halt', target: 'all', from: 'desk', reason: 'r' }, TOKEN);
    expect(verifyControl(m, TOKEN)).toBe(true);
    expect(verifyControl({ ...m, target: 'eng-a' }, TOKEN)).toBe(false);
    expect(verifyControl({ ...m, cmd: 'resume' }, TOKEN)).toBe(false);
    expect(verifyControl(m, `${TOKEN}x`)).toBe(false);
    expect(parseControl(Buffer.from('{"v":1,"id":"x","t":1,"cmd":"explode","target":"all","from":"a","reason":""}'))).toMatch(/unknown command/);
    expect(parseControl(Buffer.from('nope'))).toBe('not JSON');
  });
});
