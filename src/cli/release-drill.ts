/**
 * `tradecore release drill`: the rollback drill (docs/release.md), through the real CLI, against
 * the TCP simulated broker (its own process, its records on disk):
 *
 *   1. release N is packed and activated; `tradecore run` from ROOT/current trades;
 *   2. release N+1, with a changed config, is activated and trades;
 *   3. a fault: release N+2 carries a config whose rollout loss cap trips once it trades
 *      (the engine halts, a P0 alert opens); the fault is seen on the ops endpoint;
 *   4. `tradecore release rollback --to N`;
 *   5. the service restarts on release N from the same journal, is resumed, and trades again.
 *
 * Afterwards it checks: every order the engine accepted is at the broker once (none lost, none
 * sent twice), every one filled; positions and cash equal the broker's records; a reconciliation
 * run is clean. It writes a JSON record of what it did and found (the go-live gate reads it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './net-commands.js';
import { readSimStateFile } from '../brokers/sim/server.js';

export const DRILL_USAGE = `  release drill --work DIR --out FILE [--orders N] [--json]
            the rollback drill, through this CLI against the TCP simulated broker:
            release N trades; N+1 (a changed config) trades; N+2 carries a config
            whose loss cap trips; rollback to N; the service restarts from the same
            journal and trades. Checks no order lost or sent twice, positions and
            cash equal the broker's, reconciliation clean; writes the JSON record to
            FILE. --orders: orders per release (default 2). Exit 0 when every check
            passed, 1 otherwise (the record says which)`;

interface Proc {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  stderr: string;
  readonly exited: Promise<number>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, lines: [], stderr: '', exited: new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig === 'SIGKILL' ? 137 : 128)))) };
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    let at: number;
    while ((at = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, at);
      out = out.slice(at + 1);
      try {
        p.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a text line
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    p.stderr = (p.stderr + c).slice(-20_000);
  });
  return p;
}

/** Run a command to its end: exit status and output. */
async function runToEnd(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number; out: string }> {
  const p = start(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  let out = '';
  p.child.stdout!.on('data', (c: string) => (out += c));
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: `${out}${p.stderr}` };
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Status {
  tradingState: string;
  openOrders: number;
  positions: Array<{ symbol: string; qty: number }>;
  account: { cash: Record<string, number> };
  stats: { fills: number; accepted: number };
}

export interface DrillRecord {
  readonly drill: 'release-rollback';
  readonly tradecore: string;
  readonly startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** The release names packed and activated, by role (N, N+1, N+2); they live in `<root>/releases/<name>`. */
  readonly releases: Record<string, string>;
  /** The release root the drill activated them in (ROOT: releases/, current). */
  readonly root: string;
  readonly steps: Array<{ step: string; ok: boolean; ms: number; detail: string }>;
  found: {
    ordersAccepted: number;
    brokerOrders: number;
    lost: string[];
    sentTwice: string[];
    notFilled: string[];
    positions: { engine: Record<string, number>; broker: Record<string, number>; equal: boolean };
    cash: { engine: Record<string, number>; broker: Record<string, number>; equal: boolean };
    recon: { open: number; openCritical: number; raised: number } | null;
    lossCap: { tradingState: string; alert: string } | null;
    restoredFromJournal: boolean;
  } | null;
  problems: string[];
}

/** The drill. `self` is this build's CLI entry (dist/src/cli/main.js). */
export async function releaseDrill(work: string, options: { orders?: number; progress?: (line: string) => void } = {}): Promise<DrillRecord> {
  const say = options.progress ?? (() => {});
  const self = fileURLToPath(new URL('./main.js', import.meta.url));
  const n = options.orders ?? 2;
  const dir = path.resolve(work);
  fs.mkdirSync(dir, { recursive: true });
  if (fs.readdirSync(dir).length > 0) throw new UsageError(`--work ${dir} is not empty: the drill needs a directory of its own`);
  const root = path.join(dir, 'root');
  const data = path.join(dir, 'data');
  const token = `drill-${process.pid}-${Date.now().toString(36)}-token`;
  const env: NodeJS.ProcessEnv = { ...process.env, TRADECORE_SIM_ACCOUNT: 'drill', TRADECORE_SIM_SECRET: 'drill-secret-0123', TRADECORE_OPS_TOKEN: token, TRADECORE_LOG_LEVEL: 'info', DRILL_ORDERS: String(n) };
  // the trading day rolls 12 hours from now: never during the drill
  const rollAt = `${String((new Date().getUTCHours() + 12) % 24).padStart(2, '0')}:00`;
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const rec: DrillRecord = { drill: 'release-rollback', tradecore: pkg.version, startedAt: new Date().toISOString(), finishedAt: '', ok: false, releases: {}, root, steps: [], found: null, problems: [] };
  const procs: Proc[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, detail: (v: T) => string): Promise<T> => {
    const t0 = Date.now();
    say(name);
    try {
      const v = await fn();
      rec.steps.push({ step: name, ok: true, ms: Date.now() - t0, detail: detail(v) });
      return v;
    } catch (err) {
      rec.steps.push({ step: name, ok: false, ms: Date.now() - t0, detail: (err as Error).message });
      throw err;
    }
  };
  const post = async (port: number, p: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const get = async <T>(port: number, p: string) => (await (await fetch(`http://127.0.0.1:${port}${p}`)).json()) as T;
  const accepted = new Set<string>();
  /** Start `tradecore run` from ROOT/current (the release), wait for its started line. */
  const runCurrent = async (withStrategy: boolean) => {
    const app = path.join(root, 'current', 'app');
    const args = [path.join(app, 'dist', 'src', 'cli', 'main.js'), 'run', '--config', path.join(root, 'current', 'config.json'), '--data', data, '--ops-port', '0',
      ...(withStrategy ? ['--strategy', path.join(app, 'examples', 'drill-strategy.mjs')] : [])];
    const p = start(args, env);
    procs.push(p);
    const started = await until('the started line', async () => {
      const s = p.lines.find((l) => l.event === 'started');
      if (s === undefined && p.child.exitCode !== null) throw new Error(`tradecore run exited ${p.child.exitCode}: ${p.stderr.slice(-2000)}`);
      return s as { opsPort: number; restored: unknown; config: string } | undefined;
    });
    return { p, port: started.opsPort, restored: started.restored, config: started.config };
  };
  const collect = async (port: number) => {
    const orders = await get<{ orders: Array<{ clientOrderId: string; status: string }> }>(port, '/orders?limit=100000');
    for (const o of orders.orders) if (o.clientOrderId.startsWith('drill-')) accepted.add(o.clientOrderId);
    return orders.orders;
  };
  const stopRun = async (p: Proc) => {
    p.child.kill('SIGTERM');
    const code = await p.exited;
    if (code !== 0) throw new Error(`tradecore run exited ${code} on SIGTERM: ${p.stderr.slice(-2000)}`);
  };
  const writeConfig = (name: string, extra: string) => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, `instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\ntradingDay: { rollAt: "${rollAt}", timeZone: UTC }\nops: { port: 0 }\nbroker: { kind: tcp-sim, port: ${brokerPort} }\nshutdown: { openOrders: leave }\n${extra}`);
    return file;
  };
  const pack = async (label: string, config: string) => {
    const r = await runToEnd([self, 'release', 'pack', '--out', path.join(dir, `pack-${label}`), '--config', config, '--label', label, '--json'], env);
    if (r.code !== 0) throw new Error(`release pack ${label} exited ${r.code}: ${r.out.slice(-2000)}`);
    return (JSON.parse(r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1)) as { manifest: { name: string } }).manifest.name;
  };
  const activate = async (label: string, note: string) => {
    const r = await runToEnd([self, 'release', 'activate', path.join(dir, `pack-${label}`), '--root', root, '--data', data, '--note', note, '--who', 'drill'], env);
    if (r.code !== 0) throw new Error(`release activate ${label} exited ${r.code}: ${r.out.slice(-2000)}`);
    return r.out.trim();
  };
  const fillsReach = (port: number, want: number) => until(`${want} fills`, async () => {
    const s = await get<Status>(port, '/status');
    return s.stats.fills >= want && s.openOrders === 0 ? s : undefined;
  });

  let brokerPort = 0;
  const brokerState = path.join(dir, 'broker.state');
  try {
    const broker = await step('the broker: tradecore sim-broker with its records on disk', async () => {
      fs.writeFileSync(path.join(dir, 'broker.yaml'), `instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\ntradingDay: { rollAt: "${rollAt}", timeZone: UTC }\n`);
      const b = start([self, 'sim-broker', '--port', '0', '--state-file', brokerState, '--market-step-ms', '20', '--config', path.join(dir, 'broker.yaml')], env);
      procs.push(b);
      const l = await until('the sim broker', () => {
        if (b.child.exitCode !== null) throw new Error(`sim-broker exited ${b.child.exitCode}: ${b.stderr}`);
        return b.lines.find((x) => x.event === 'listening') as { port: number } | undefined;
      });
      brokerPort = l.port;
      return b;
    }, () => `listening on 127.0.0.1:${brokerPort}`);

    // 1. release N
    const cfgN = writeConfig('config-N', 'risk: { default: { maxOrderQty: 100 } }\n');
    rec.releases.N = await step('pack release N', () => pack('N', cfgN), (v) => v);
    await step('activate release N', () => activate('N', 'drill: release N'), (v) => v);
    let fills = 0;
    await step('release N runs and trades', async () => {
      const r = await runCurrent(true);
      const s = await fillsReach(r.port, fills + n);
      fills = s.stats.fills;
      await collect(r.port);
      await stopRun(r.p);
      return s;
    }, (s) => `${s.stats.fills} fills, position ${JSON.stringify(s.positions.map((p) => [p.symbol, p.qty]))}`);

    // 2. release N+1, a changed config
    const cfgN1 = writeConfig('config-N1', 'risk: { default: { maxOrderQty: 50 }, account: { ordersPerSecond: 20 } }\n');
    rec.releases['N+1'] = await step('pack release N+1 (risk changed)', () => pack('N1', cfgN1), (v) => v);
    await step('activate release N+1', () => activate('N1', 'drill: release N+1'), (v) => v);
    await step('release N+1 runs from the same journal and trades', async () => {
      const r = await runCurrent(true);
      if (r.restored === null) throw new Error('release N+1 did not restore from the journal');
      const s = await fillsReach(r.port, fills + n);
      fills = s.stats.fills;
      await collect(r.port);
      await stopRun(r.p);
      return s;
    }, (s) => `${s.stats.fills} fills in all`);

    // 3. the fault: a config whose loss cap trips
    const cfgBad = writeConfig('config-N2', 'risk: { default: { maxOrderQty: 50 } }\nrollout:\n  stages:\n    - { name: canary, maxDailyLoss: 0.01 }\n    - { name: full }\n  onLossCap: Halted\n');
    rec.releases['N+2'] = await step('pack release N+2 (a loss cap of 0.01)', () => pack('N2', cfgBad), (v) => v);
    await step('activate release N+2', () => activate('N2', 'drill: release N+2'), (v) => v);
    const lossCap = await step('the fault: release N+2 trades into its loss cap', async () => {
      const r = await runCurrent(true);
      const s = await until('the loss cap to halt trading', async () => {
        const st = await get<Status & { rollout: { lossCapHit: boolean } | null }>(r.port, '/status');
        return st.tradingState === 'Halted' && st.rollout?.lossCapHit === true ? st : undefined;
      });
      const alerts = await get<{ open: Array<{ level: string; code: string; message: string }> }>(r.port, '/alerts');
      const p0 = alerts.open.find((a) => a.code === 'ROLLOUT_LOSS_CAP' && a.level === 'P0');
      if (p0 === undefined) throw new Error(`no open P0 ROLLOUT_LOSS_CAP alert: ${JSON.stringify(alerts.open)}`);
      await until('the fault release to settle', async () => ((await get<Status>(r.port, '/status')).openOrders === 0 ? true : undefined));
      await collect(r.port);
      fills = (await get<Status>(r.port, '/status')).stats.fills;
      await stopRun(r.p);
      return { tradingState: s.tradingState, alert: p0.message };
    }, (v) => `${v.tradingState}: ${v.alert}`);

    // 4. rollback to N
    await step('tradecore release rollback --to N', async () => {
      const r = await runToEnd([self, 'release', 'rollback', '--root', root, '--to', rec.releases.N!, '--data', data, '--note', 'drill: loss cap tripped on N+2', '--who', 'drill'], env);
      if (r.code !== 0) throw new Error(`rollback exited ${r.code}: ${r.out.slice(-2000)}`);
      return r.out.trim();
    }, (v) => v);

    // 5. release N again, from the same journal
    const last = await step('release N restarts from the same journal, is resumed and trades', async () => {
      const r = await runCurrent(true);
      if (r.restored === null) throw new Error('the restart did not restore from the journal');
      const before = await get<Status>(r.port, '/status');
      const resume = await runToEnd([self, 'resume', '--note', 'drill: back on release N', '--url', `http://127.0.0.1:${r.port}`], env);
      if (resume.code !== 0) throw new Error(`resume exited ${resume.code}: ${resume.out}`);
      await fillsReach(r.port, fills + n);
      await collect(r.port);
      const recon = await post(r.port, '/recon', {});
      const run = recon.body.run as { open: number; openCritical: number; raised: unknown[] };
      const status = await get<Status>(r.port, '/status');
      await stopRun(r.p);
      return { restoredState: before.tradingState, status, recon: { open: run.open, openCritical: run.openCritical, raised: run.raised.length }, restored: r.restored !== null };
    }, (v) => `restored ${v.restoredState}, resumed; ${v.status.stats.fills} fills in all; reconciliation open ${v.recon.open}`);

    await step('stop the broker', async () => {
      broker.child.kill('SIGTERM');
      return broker.exited;
    }, (c) => `exit ${c}`);

    // what the broker's records say
    const b: BrokerRecords = readSimStateFile(brokerState);
    const atBroker = new Map<string, number>();
    for (const o of b.orders) atBroker.set(o.clientOrderId, (atBroker.get(o.clientOrderId) ?? 0) + 1);
    const lost = [...accepted].filter((id) => !atBroker.has(id));
    const sentTwice = [...atBroker].filter(([, k]) => k > 1).map(([id]) => id);
    const notFilled = b.orders.filter((o) => accepted.has(o.clientOrderId) && o.status !== 'Filled').map((o) => `${o.clientOrderId}:${o.status}`);
    const enginePos = Object.fromEntries(last.status.positions.map((p) => [p.symbol, p.qty]));
    const brokerPos = Object.fromEntries(Object.entries(b.positions).filter(([sym]) => sym in enginePos));
    const cashOf = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Math.round(v * 100) / 100]));
    const engineCash = cashOf(last.status.account.cash);
    const brokerCash = cashOf(Object.fromEntries(Object.entries(b.cash).filter(([c]) => c in engineCash)));
    rec.found = {
      ordersAccepted: accepted.size, brokerOrders: b.orders.length, lost, sentTwice, notFilled,
      positions: { engine: enginePos, broker: brokerPos, equal: JSON.stringify(enginePos) === JSON.stringify(brokerPos) },
      cash: { engine: engineCash, broker: brokerCash, equal: JSON.stringify(engineCash) === JSON.stringify(brokerCash) },
      recon: last.recon, lossCap, restoredFromJournal: last.restored,
    };
    const f = rec.found;
    // releases N, N+1 and N after the rollback each send n orders; N+2 sends up to n before its cap halts it
    if (f.ordersAccepted < 3 * n || f.ordersAccepted > 4 * n) rec.problems.push(`expected ${3 * n} to ${4 * n} orders over the four runs, the engine accepted ${f.ordersAccepted}`);
    if (lost.length > 0) rec.problems.push(`lost (accepted, not at the broker): ${lost.join(', ')}`);
    if (sentTwice.length > 0) rec.problems.push(`sent twice: ${sentTwice.join(', ')}`);
    if (notFilled.length > 0) rec.problems.push(`not filled: ${notFilled.join(', ')}`);
    if (b.orders.length !== accepted.size) rec.problems.push(`the broker holds ${b.orders.length} orders, the engine accepted ${accepted.size}`);
    if (!f.positions.equal) rec.problems.push(`positions differ: engine ${JSON.stringify(enginePos)}, broker ${JSON.stringify(brokerPos)}`);
    if (!f.cash.equal) rec.problems.push(`cash differs: engine ${JSON.stringify(engineCash)}, broker ${JSON.stringify(brokerCash)}`);
    if (last.recon.open !== 0 || last.recon.openCritical !== 0) rec.problems.push(`reconciliation not clean: ${JSON.stringify(last.recon)}`);
    if (last.restoredState !== 'Halted') rec.problems.push(`the restart on N should restore the Halted state the fault left, it was ${last.restoredState}`);
  } catch (err) {
    rec.problems.push((err as Error).message);
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
  }
  rec.ok = rec.problems.length === 0 && rec.steps.every((s) => s.ok);
  rec.finishedAt = new Date().toISOString();
  return rec;
}

interface BrokerRecords {
  orders: Array<{ clientOrderId: string; status: string }>;
  positions: Record<string, number>;
  cash: Record<string, number>;
}

export async function drillCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { work: { type: 'string' }, out: { type: 'string' }, orders: { type: 'string' }, json: { type: 'boolean', default: false } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.work === undefined || v.out === undefined) throw new UsageError('usage: tradecore release drill --work DIR --out FILE [--orders N]');
  const orders = v.orders === undefined ? 2 : Number(v.orders);
  if (!Number.isInteger(orders) || orders < 1 || orders > 50) throw new UsageError(`--orders must be a whole number from 1 to 50, got ${v.orders}`);
  const rec = await releaseDrill(v.work, { orders, progress: (l) => process.stderr.write(`release drill: ${l}\n`) });
  fs.mkdirSync(path.dirname(path.resolve(v.out)), { recursive: true });
  fs.writeFileSync(v.out, `${JSON.stringify(rec, null, 2)}\n`);
  process.stdout.write(v.json === true ? `${JSON.stringify(rec, null, 2)}\n`
    : `${rec.ok ? 'drill passed' : 'DRILL FAILED'}: ${rec.steps.length} steps${rec.found !== null ? `, ${rec.found.ordersAccepted} orders, none lost, none twice: ${rec.found.lost.length === 0 && rec.found.sentTwice.length === 0}` : ''}${rec.problems.map((p) => `\n  - ${p}`).join('')}\nrecord: ${path.resolve(v.out)}\n`);
  return rec.ok ? 0 : 1;
}
