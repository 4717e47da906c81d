/**
 * The engine on the FIX adapter against QuickFIX: orders, fills and positions through
 * `executor` (4.4 and 4.2); acks, partial fills and cancels through `ordermatch` (4.2); the
 * QuickFIX behaviours the adapter must live with (executor answers a cancel with a
 * BusinessMessageReject); a restart of the engine that resumes its sequence numbers, and
 * reports sent while it was away arriving by resend, applied once.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixBroker, type FixBrokerOptions } from '../src/brokers/fix/adapter.js';
import { createEngine, type Engine } from '../src/engine.js';
import { compareWithBroker } from '../src/recon/compare.js';
import { HAVE_QUICKFIX, RawFixClient, startAcceptor, type Acceptor } from './fix-helpers.js';
import { utcTimestamp } from '../src/brokers/fix/codec.js';
import { quiet, until } from './helpers.js';
import { TOKEN, eventually, getJson, postJson, spawnCli, started } from './run-helpers.js';

const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const START = fileURLToPath(new URL('./fixtures/run/start-orders.mjs', import.meta.url));
const INSTRUMENTS = [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }];

describe.skipIf(!HAVE_QUICKFIX)('the engine on the FIX adapter, against QuickFIX', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const engineOn = async (acceptor: Acceptor, beginString: 'FIX.4.2' | 'FIX.4.4', target: string, storeDir: string, extra: Partial<FixBrokerOptions> = {}): Promise<{ engine: Engine; broker: FixBroker }> => {
    const broker = new FixBroker({ port: acceptor.port, beginString, senderCompId: 'TRADECORE', targetCompId: target, storeDir, ...extra });
    const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: quiet(), environment: 'paper', connection: { heartbeatMs: 0 } });
    await engine.start();
    cleanups.push(() => engine.stop());
    return { engine, broker };
  };
  const store = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tc-fix-engine-'));
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  };

  for (const beginString of ['FIX.4.4', 'FIX.4.2'] as const) {
    it(`executor ${beginString}: orders fill with both ids, the position follows, a duplicate submit sends nothing, and the state matches the record`, async () => {
      const ex = await startAcceptor('executor', [beginString]);
      cleanups.push(() => ex.stop());
      const { engine, broker } = await engineOn(ex, beginString, 'EXECUTOR', store());
      for (let i = 0; i < 5; i++) expect(engine.submit({ clientOrderId: `ex-${i}`, symbol: 'ACME', side: i % 2 ? 'sell' : 'buy', qty: 10 * (i + 1), price: 10 + i / 100 }).status).toBe('accepted');
      const sentBefore = broker.session.stats.sent;
      expect(engine.submit({ clientOrderId: 'ex-0', symbol: 'ACME', side: 'buy', qty: 10, price: 10 }).status).toBe('duplicate');
      expect(broker.session.stats.sent).toBe(sentBefore);
      await until(() => engine.stats().fills === 5, 10_000, 'five fills');
      expect(engine.orders().every((o) => o.status === 'Filled' && o.brokerOrderId !== '')).toBe(true);
      expect(engine.positions()[0]!.qty).toBe(10 - 20 + 30 - 40 + 50);
      expect((await compareWithBroker(engine, broker)).problems).toEqual([]);
    });
  }

  it('executor answers a cancel with a BusinessMessageReject: the cancel is rejected with its text, the order keeps its state', async () => {
    const ex = await startAcceptor('executor', ['FIX.4.4']);
    cleanups.push(() => ex.stop());
    const { engine } = await engineOn(ex, 'FIX.4.4', 'EXECUTOR', store());
    // executor fills at once: cancel a filled order by sending the request before the fill is seen
    engine.submit({ clientOrderId: 'c-1', symbol: 'ACME', side: 'buy', qty: 10, price: 10 });
    expect(engine.cancel('c-1').status).toBe('sent');
    await until(() => engine.stats().cancelRejects === 1 && engine.stats().fills === 1, 10_000, 'the cancel reject and the fill');
    expect(engine.getOrder('c-1')?.status).toBe('Filled');
  });

  it('ordermatch 4.2: a resting order is acked, partly filled by a crossing one, and the rest cancelled', async () => {
    const om = await startAcceptor('ordermatch', ['FIX.4.2']);
    cleanups.push(() => om.stop());
    const { engine, broker } = await engineOn(om, 'FIX.4.2', 'ORDERMATCH', store());
    engine.submit({ clientOrderId: 'rest', symbol: 'ACME', side: 'buy', qty: 100, price: 10 });
    await until(() => engine.getOrder('rest')?.status === 'Submitted', 10_000, 'the ack');
    engine.submit({ clientOrderId: 'cross', symbol: 'ACME', side: 'sell', qty: 30, price: 10 });
    await until(() => engine.getOrder('rest')?.status === 'PartiallyFilled' && engine.getOrder('cross')?.status === 'Filled', 10_000, 'the partial fill');
    expect(engine.getOrder('rest')?.cumQty).toBe(30);
    expect(engine.cancel('rest').status).toBe('sent');
    await until(() => engine.getOrder('rest')?.status === 'Cancelled', 10_000, 'the cancel');
    expect(engine.positions()[0]!.qty).toBe(0);
    expect((await compareWithBroker(engine, broker)).problems).toEqual([]);
  });

  it('an engine restart resumes its sequence numbers; a fill sent while it was away arrives by resend and counts once', async () => {
    const om = await startAcceptor('ordermatch', ['FIX.4.2'], { resetOnLogon: false, targets: ['TRADECORE', 'OTHER'] });
    cleanups.push(() => om.stop());
    const dir = store();
    const first = await engineOn(om, 'FIX.4.2', 'ORDERMATCH', dir);
    first.engine.submit({ clientOrderId: 'away', symbol: 'ACME', side: 'buy', qty: 50, price: 10 });
    await until(() => first.engine.getOrder('away')?.status === 'Submitted', 10_000, 'the ack');
    const seqsBefore = { ...first.broker.session.seqs };
    await first.engine.stop();
    // while the engine is away another firm's session trades against its resting order
    const other = new RawFixClient(om.port, 'FIX.4.2', 'ORDERMATCH', 'OTHER');
    await other.connected();
    other.send('A', [[98, 0], [108, 30]]);
    await other.next((m) => m[35] === 'A');
    other.send('D', [[11, 'o-1'], [21, '1'], [55, 'ACME'], [54, '2'], [60, utcTimestamp(Date.now())], [38, 50], [40, '2'], [44, 10], [59, '0']]);
    await other.next((m) => m[35] === '8' && m[150] === '2');
    other.close();
    // a new engine on the same store: sequence numbers resume, the missed fill comes by resend
    const second = await engineOn(om, 'FIX.4.2', 'ORDERMATCH', dir);
    expect(second.broker.session.seqs.out).toBeGreaterThan(seqsBefore.out);
    expect(second.broker.session.stats.resendRequestsSent).toBe(1);
    await until(() => second.engine.getOrder('away')?.status === 'Filled', 10_000, 'the resent fill');
    expect(second.engine.stats().fills).toBe(1);
    expect(second.engine.positions()[0]!.qty).toBe(50);
    expect((await compareWithBroker(second.engine, second.broker)).problems).toEqual([]);
  });

  it('executor restarts mid-session on its store: the engine reconnects, both sides continue their sequence numbers, and orders after the restart (OrderIDs from 1 again) fill and count once', async () => {
    const ex = await startAcceptor('executor', ['FIX.4.4'], { resetOnLogon: false });
    cleanups.push(() => ex.stop());
    const { engine, broker } = await engineOn(ex, 'FIX.4.4', 'EXECUTOR', store());
    for (let i = 0; i < 2; i++) engine.submit({ clientOrderId: `xr-${i}`, symbol: 'ACME', side: 'buy', qty: 10, price: 10 });
    await until(() => engine.stats().fills === 2, 10_000, 'two fills');
    const before = { ...broker.session.seqs };
    await ex.kill();
    await until(() => engine.connectionState !== 'Ready', 10_000, 'the engine sees executor go');
    const again = await startAcceptor('executor', ['FIX.4.4'], { resetOnLogon: false, dir: ex.dir, port: ex.port });
    cleanups.push(() => again.stop());
    await until(() => engine.connectionState === 'Ready', 15_000, 'the reconnect');
    // no reset on either side: the numbers went on from where they were
    expect(broker.session.seqs.out).toBeGreaterThan(before.out);
    expect(broker.session.seqs.in).toBeGreaterThan(before.in);
    expect(again.output()).not.toMatch(/MsgSeqNum too low/);
    for (let i = 2; i < 4; i++) engine.submit({ clientOrderId: `xr-${i}`, symbol: 'ACME', side: 'sell', qty: 5, price: 10 });
    await until(() => engine.stats().fills === 4, 10_000, 'the fills after the restart');
    expect(engine.positions()[0]!.qty).toBe(20 - 10);
    expect(new Set(engine.orders().map((o) => o.brokerOrderId)).size).toBe(4);
    expect((await compareWithBroker(engine, broker)).problems).toEqual([]);
    const run = await engine.reconcile();
    expect(run.raised).toEqual([]);
  });

  for (const [program, beginString] of [['executor', 'FIX.4.4'], ['executor', 'FIX.4.2'], ['ordermatch', 'FIX.4.2']] as const) {
    it(`check-connection --config and demo --config work against ${program} ${beginString}, through the CLI`, async () => {
      const acceptor = await startAcceptor(program, [beginString]);
      cleanups.push(() => acceptor.stop());
      const dir = store();
      const config = path.join(dir, 'fix.yaml');
      writeFileSync(config, `instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\n  - { symbol: BOLT, tickSize: 0.05, pricePrecision: 2, lotSize: 10 }\nbroker: { kind: fix, port: ${acceptor.port}, beginString: ${beginString}, senderCompId: TRADECORE, targetCompId: ${program.toUpperCase()}, resetOnLogon: true }\n`);
      const check = await cli(['check-connection', '--config', config, '--json'], dir);
      expect(check.code, check.stderr).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, connection: 'Ready', environment: 'sim' });
      const demo = await cli(['demo', '--config', config, '--orders', '40', '--duration', '1', '--json'], dir);
      expect(demo.code, demo.stderr).toBe(0);
      const s = JSON.parse(demo.stdout) as { broker: string; consistency: { consistent: boolean; problems: string[] }; fills: { count: number }; scripted: Record<string, string> };
      expect(s.broker).toBe(`fix:${program.toUpperCase()}`);
      expect(s.consistency.problems).toEqual([]);
      expect(s.fills.count).toBeGreaterThan(0);
      expect(s.scripted.duplicateSubmit).toMatch(/^duplicate/);
      // the session's store is where run keeps it: the data directory's fix/
      expect(readdirSync(path.join(dir, 'tradecore-data', 'fix')).some((f) => f.endsWith('.seqnums'))).toBe(true);
    }, 60_000);
  }
});

describe.skipIf(!HAVE_QUICKFIX)('tradecore run on a FIX broker', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('kill -9 and a restart: sequence numbers resume, no order goes out twice, and the state ends consistent with the acceptor', async () => {
    // the acceptor keeps its sequence numbers (ResetOnLogon=N): going back would be fatal
    const ex = await startAcceptor('executor', ['FIX.4.4'], { resetOnLogon: false });
    cleanups.push(() => ex.stop());
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-fix-run-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'fix.yaml');
    writeFileSync(config, `instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\nops: { port: 0 }\nbroker: { kind: fix, port: ${ex.port}, beginString: FIX.4.4, senderCompId: TRADECORE, targetCompId: EXECUTOR, heartbeatSeconds: 5 }\n`);
    const data = path.join(dir, 'data');
    const env = { TRADECORE_OPS_TOKEN: TOKEN, START_ORDERS: '3', TRADECORE_SIM_ACCOUNT: undefined, TRADECORE_SIM_SECRET: undefined };
    const first = spawnCli(['run', '--config', config, '--data', data, '--strategy', START], env);
    cleanups.push(() => void first.proc.kill('SIGKILL'));
    const s1 = await started(first);
    await eventually(async () => ((await getJson<{ stats: { fills: number } }>(s1.opsPort, '/status')).body.stats.fills === 3 ? true : undefined), 'three fills');
    first.proc.kill('SIGKILL');
    await first.exited;
    const second = spawnCli(['run', '--config', config, '--data', data], env);
    cleanups.push(() => void second.proc.kill('SIGKILL'));
    const s2 = await started(second);
    expect((await getJson(s2.opsPort, '/readyz')).status).toBe(200);
    const st = (await getJson<{ stats: { accepted: number; fills: number }; positions: Array<{ qty: number }> }>(s2.opsPort, '/status')).body;
    expect(st.stats.fills).toBe(3);
    expect(st.positions[0]!.qty).toBe(3);
    const recon = await postJson<{ run: { open: number; raised: unknown[] } }>(s2.opsPort, '/recon', {});
    expect(recon.body.run.open).toBe(0);
    // QuickFIX's own log of every message it took: three NewOrderSingles from us, each once, and sequence numbers that only went up
    const ours = ex.output().split('\n').filter((l) => l.startsWith('  (8=FIX.4.4\x01') && l.includes('\x0149=TRADECORE\x01'));
    expect(ours.length).toBeGreaterThan(3);
    expect(ours.filter((l) => l.includes('\x0135=D\x01'))).toHaveLength(3);
    const seqs = ours.map((l) => Number(/\x0134=(\d+)\x01/.exec(l)![1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 60_000, env: { ...process.env, TRADECORE_SIM_ACCOUNT: undefined, TRADECORE_SIM_SECRET: undefined, TRADECORE_SIM_CREDENTIALS_FILE: undefined } }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}
