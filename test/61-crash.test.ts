import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { SimBrokerServer } from '../src/brokers/sim/server.js';
import { Secret } from '../src/connectivity/credentials.js';
import { INSTRUMENTS, quiet } from './helpers.js';

/**
 * The crash test: an engine in a child process trades against the TCP simulated broker and is
 * killed with SIGKILL at seeded random points, then restarted on the same journal, again and
 * again. After every restart (restore from the journal, then recovery sync) its state is checked
 * here against the broker's own records: no order sent twice, no fill lost or counted twice,
 * positions equal to the sum of fills, every order's status the broker's.
 */
const KILLS = 50;
const CHILD = path.join(import.meta.dirname, 'fixtures', 'crash-child.mjs');

interface ChildOrder {
  id: string;
  bid: string;
  status: string;
  cumQty: number;
  side: 'buy' | 'sell';
  symbol: string;
  reason: string;
  ext: boolean;
}
interface Ready {
  event: 'ready';
  consistent: boolean;
  problems: string[];
  resubmitted: string[];
  orders: ChildOrder[];
  positions: Array<{ symbol: string; qty: number }>;
  journal: { snapshotSeq: number; replayed: number; warnings: string[] };
}

// mulberry32: kill points from a fixed seed
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const children: ChildProcess[] = [];
let server: SimBrokerServer | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-crash-'));
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function launch(port: number, run: number): { child: ChildProcess; ready: Promise<Ready>; next: () => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [CHILD, String(port), dir, String(run), String(1000 + run)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const lines = createInterface({ input: child.stdout! });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(v: Record<string, unknown>) => void> = [];
  lines.on('line', (l) => {
    const msg = JSON.parse(l) as Record<string, unknown>;
    const w = waiters.shift();
    if (w !== undefined) w(msg);
    else queue.push(msg);
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      waiters.push(resolve);
      child.once('exit', (code) => reject(new Error(`child of run ${run} exited (${code}) before answering; stderr:\n${stderr}`)));
    });
  const ready = next().then((m) => {
    if (m.event !== 'ready') throw new Error(`run ${run}: ${JSON.stringify(m)}\n${stderr}`);
    return m as unknown as Ready;
  });
  return { child, ready, next };
}

/** The child's view against the broker's records, checked here. */
async function check(run: number, r: Ready, s: SimBrokerServer): Promise<void> {
  const at = `after restart ${run}`;
  expect(r.problems, `${at}: compareWithBroker in the child`).toEqual([]);
  expect(r.consistent).toBe(true);
  // the last orders sent again by the restarted strategy: refused as duplicates, never placed
  for (const st of r.resubmitted) expect(['duplicate', 'denied'], at).toContain(st);
  const atBroker = s.broker.allOrders();
  // no order sent twice: one place message per order the broker has, every client id once
  expect(new Set(atBroker.map((o) => o.clientOrderId)).size, at).toBe(atBroker.length);
  expect(s.stats.placeMessages, `${at}: place messages`).toBe(atBroker.length);
  const mine = new Map(r.orders.map((o) => [o.id, o]));
  for (const b of atBroker) {
    const o = mine.get(b.clientOrderId);
    expect(o, `${at}: broker order ${b.clientOrderId} unknown to the engine`).toBeDefined();
    // known as the engine's own order (from the journal), not adopted by the sync as external
    expect({ id: b.clientOrderId, status: o!.status, cumQty: o!.cumQty, bid: o!.bid, ext: o!.ext }, at).toEqual({ id: b.clientOrderId, status: b.status, cumQty: b.cumQty, bid: b.brokerOrderId, ext: false });
  }
  // orders the broker does not have never reached it: recovery marked them so, none still open
  const brokerIds = new Set(atBroker.map((b) => b.clientOrderId));
  for (const o of r.orders) if (!brokerIds.has(o.id)) expect({ id: o.id, status: o.status, reason: o.reason }, at).toEqual({ id: o.id, status: 'Rejected', reason: 'RECOVERY_NOT_FOUND' });
  // fills: per order equal to the broker's trades, positions equal to their sum on both sides
  const trades = await s.broker.syncTodayTrades();
  const filled = new Map<string, number>();
  const pos = new Map<string, number>();
  for (const t of trades) {
    filled.set(t.clientOrderId, (filled.get(t.clientOrderId) ?? 0) + t.qty);
    pos.set(t.symbol, (pos.get(t.symbol) ?? 0) + (t.side === 'buy' ? t.qty : -t.qty));
  }
  for (const o of r.orders) expect({ id: o.id, cumQty: o.cumQty }, at).toEqual({ id: o.id, cumQty: filled.get(o.id) ?? 0 });
  const fromOrders = new Map<string, number>();
  for (const o of r.orders) fromOrders.set(o.symbol, (fromOrders.get(o.symbol) ?? 0) + (o.side === 'buy' ? o.cumQty : -o.cumQty));
  for (const p of r.positions) {
    expect({ symbol: p.symbol, qty: p.qty }, at).toEqual({ symbol: p.symbol, qty: pos.get(p.symbol) ?? 0 });
    expect(p.qty, at).toBeCloseTo(fromOrders.get(p.symbol) ?? 0, 9);
  }
}

describe('crash recovery', () => {
  it(`${KILLS} SIGKILLs at seeded random points: after every restart nothing is lost, doubled or different from the broker`, async () => {
    server = new SimBrokerServer({
      instruments: INSTRUMENTS, credentials: { account: 'crash', secret: new Secret('crash-secret') }, marketStepMs: 0, logger: quiet(),
      sim: { seed: 7, startPrices: { ACME: 10, LOTS: 20 }, ackLatencyMs: 1, fillLatencyMs: 1 },
    });
    await server.start();
    const rand = prng(20261125);
    let snapshotsUsed = 0;
    let tailsReplayed = 0;
    for (let run = 0; run < KILLS; run++) {
      const { child, ready } = launch(server.port, run);
      const r = await ready;
      await check(run, r, server);
      if (r.journal.snapshotSeq >= 0) snapshotsUsed++;
      if (r.journal.replayed > 0) tailsReplayed++;
      child.stdin!.write('go\n');
      // trade for a seeded random while, then kill without warning
      await new Promise((res) => setTimeout(res, 20 + Math.floor(rand() * 230)));
      const gone = new Promise((res) => child.once('exit', res));
      child.kill('SIGKILL');
      await gone;
    }
    // the last restart, then a clean stop: the same checks hold
    const { child, ready, next } = launch(server.port, KILLS);
    const r = await ready;
    await check(KILLS, r, server);
    child.stdin!.write('stop\n');
    expect((await next()).event).toBe('stopped');
    // the flow was busy, and restores used snapshots and replayed tails
    expect(server.broker.allOrders().length).toBeGreaterThan(KILLS * 10);
    expect(snapshotsUsed).toBeGreaterThan(KILLS / 2);
    expect(tailsReplayed).toBeGreaterThan(KILLS / 2);
  }, 400_000);
});
