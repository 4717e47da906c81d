/**
 * `tradecore run` through the real CLI: a service that starts Ready, runs a strategy module,
 * reloads its risk section on SIGHUP, stops on SIGTERM with a snapshot, comes back whole after
 * a restart, and keeps a second run (and a broker that lost its records) off its data directory.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigStore } from '../src/cli/config-store.js';
import { journalPackr, scanSegment } from '../src/journal/format.js';
import { TOKEN, eventually, getJson, postJson, spawnCli, started, type RunProcess, type Started } from './run-helpers.js';

const FIXED = fileURLToPath(new URL('./fixtures/run/fixed-orders.mjs', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../examples/strategy.mjs', import.meta.url));

const base = (extra = '') => `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
  - { symbol: BOLT, tickSize: 0.05, pricePrecision: 2, lotSize: 10 }
risk:
  default: { maxOrderQty: 10000, maxPosition: 50000, priceBandPct: 5 }
initialCash: { USD: 1000000 }
ops: { port: 0 }
${extra}`;
const EMBEDDED = 'broker: { kind: embedded, seed: 7, startPrices: { ACME: 42.5, BOLT: 17.35 }, marketStepMs: 20 }\n';

interface Status {
  ready: boolean;
  tradingState: string;
  openOrders: number;
  positions: Array<{ symbol: string; qty: number; avgPx: number; realizedPnl: number }>;
  account: { cash: Record<string, number>; realizedPnl: Record<string, number> };
  stats: { accepted: number; fills: number; denied: number };
  risk: { default?: { maxOrderQty?: number } };
}

const status = async (port: number) => (await getJson<Status>(port, '/status')).body;
const stopWith = async (r: RunProcess, signal: NodeJS.Signals) => {
  r.proc.kill(signal);
  return r.exited;
};

describe('tradecore run', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-run-'));
  const running: RunProcess[] = [];
  const run = (args: string[], env: Record<string, string | undefined> = {}) => {
    const r = spawnCli(['run', ...args], env);
    running.push(r);
    return r;
  };
  afterAll(async () => {
    for (const r of running) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('on the embedded broker, with a strategy module', () => {
    const config = path.join(dir, 'svc.yaml');
    const data = path.join(dir, 'data');
    let first: RunProcess;
    let port = 0;
    let before: Status;
    let orders: Array<{ clientOrderId: string; brokerOrderId: string; status: string; cumQty: number }>;
    beforeAll(() => writeFileSync(config, base(EMBEDDED)));

    it('starts, answers /readyz 200, and the strategy module trades', async () => {
      first = run(['--config', config, '--data', data, '--strategy', FIXED], { TRADECORE_OPS_TOKEN: TOKEN, FIXED_ORDERS: '3' });
      const s = await started(first);
      expect(s.readOnly).toBe(false);
      expect(s.restored).toBeNull();
      port = s.opsPort;
      const ready = await getJson(port, '/readyz');
      expect(ready.status).toBe(200);
      // three buys of each symbol, at the first quote of each: six fills
      before = await eventually(async () => {
        const st = await status(port);
        return st.stats.fills === 6 && st.openOrders === 0 ? st : undefined;
      }, 'six fills');
      expect(before.stats.accepted).toBe(6);
      expect(before.positions.map((p) => [p.symbol, p.qty])).toEqual([['ACME', 3], ['BOLT', 30]]);
      expect(before.account.cash.USD).toBeLessThan(1_000_000);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const line of ['tradecore_position{symbol="ACME"} 3', 'tradecore_position{symbol="BOLT"} 30', `tradecore_cash{currency="USD"} ${before.account.cash.USD}`, 'tradecore_open_diffs{severity="critical"} 0']) expect(metrics).toContain(line);
      expect(metrics).toMatch(/^tradecore_realized_pnl\{currency="USD"\} /m);
      expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
      expect(metrics).toMatch(/^nodejs_heap_size_total_bytes /m);
      orders = (await getJson<{ orders: typeof orders }>(port, '/orders')).body.orders;
      expect(orders).toHaveLength(6);
      expect(orders.every((o) => o.status === 'Filled' && o.brokerOrderId !== '')).toBe(true);
    });

    it('SIGHUP with a bad file changes nothing and says why; with a good file reloads the risk section', async () => {
      writeFileSync(config, base(EMBEDDED).replace('maxOrderQty: 10000', 'maxOrderQty: -5'));
      first.proc.kill('SIGHUP');
      await eventually(async () => (first.stderr().includes('reload refused, nothing changed') ? true : undefined), 'the refusal');
      expect(first.stderr()).toMatch(/risk\.default\.maxOrderQty/);
      expect((await status(port)).risk.default?.maxOrderQty).toBe(10000);
      writeFileSync(config, base(EMBEDDED).replace('maxOrderQty: 10000', 'maxOrderQty: 500'));
      first.proc.kill('SIGHUP');
      await eventually(async () => ((await status(port)).risk.default?.maxOrderQty === 500 ? true : undefined), 'the reload');
      expect(first.stderr()).toContain('risk limits reloaded');
      // each config the run traded with is kept under its hash: the start's and the reload's
      const history = spawnCli(['config', 'history', '--data', data, '--json']);
      expect(await history.exited).toBe(0);
      const entries = JSON.parse(history.lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')) as Array<{ hash: string; reason: string; file: string }>;
      expect(entries.map((e) => e.reason)).toEqual(['start', 'reload']);
      expect(entries[0]!.hash).toBe((first.lines.find((l) => (l as { event?: string }).event === 'started') as Started).config);
      expect(entries[0]!.hash).not.toBe(entries[1]!.hash);
      expect(entries[1]!.file).toBe(path.resolve(config));
      const diff = spawnCli(['config', 'diff', entries[0]!.hash.slice(0, 6), entries[1]!.hash, '--data', data]);
      expect(await diff.exited).toBe(0);
      expect(diff.lines.join('\n')).toContain('risk.default.maxOrderQty: 10000 -> 500');
      const unknown = spawnCli(['config', 'diff', 'ffff', entries[1]!.hash, '--data', data]);
      expect(await unknown.exited).toBe(1);
      expect(unknown.stderr()).toMatch(/^tradecore config diff: no config snapshot ffff in /);
    });

    it('config rollback takes an earlier snapshot\'s risk through the SIGHUP checks, journaled with its hash and note; without a note or token, or to an unknown hash, nothing changes', async () => {
      const store = new ConfigStore(data);
      const [startUse, reloadUse] = store.history();
      const url = `http://127.0.0.1:${port}`;
      const noNote = spawnCli(['config', 'rollback', startUse!.hash, '--url', url], { TRADECORE_OPS_TOKEN: TOKEN });
      expect(await noNote.exited).toBe(2);
      expect(noNote.stderr()).toMatch(/needs --note/);
      const noToken = spawnCli(['config', 'rollback', startUse!.hash, '--note', 'x', '--url', url]);
      expect(await noToken.exited).toBe(1);
      expect(noToken.stderr()).toMatch(/401/);
      const unknown = spawnCli(['config', 'rollback', 'ffff', '--note', 'x', '--url', url], { TRADECORE_OPS_TOKEN: TOKEN });
      expect(await unknown.exited).toBe(1);
      expect(unknown.stderr()).toMatch(/no config snapshot ffff/);
      // a snapshot that does not pass the checks (edited by hand here) changes nothing
      const bad = JSON.parse(readFileSync(store.fileOf(startUse!.hash), 'utf8')) as { risk: { default: { maxOrderQty: number } } };
      bad.risk.default.maxOrderQty = -5;
      writeFileSync(path.join(data, 'config', 'badbadbadbadbad0.json'), JSON.stringify(bad));
      const refused = spawnCli(['config', 'rollback', 'badbad', '--note', 'x', '--url', url], { TRADECORE_OPS_TOKEN: TOKEN });
      expect(await refused.exited).toBe(1);
      expect(refused.stderr()).toMatch(/rollback refused, nothing changed: .*risk\.default\.maxOrderQty/);
      rmSync(path.join(data, 'config', 'badbadbadbadbad0.json'));
      expect((await status(port)).risk.default?.maxOrderQty).toBe(500);
      expect(store.history()).toHaveLength(2);
      const back = spawnCli(['config', 'rollback', startUse!.hash.slice(0, 8), '--note', 'the 500 limit refuses the desk\'s block orders', '--who', 'ops-anna', '--url', url, '--json'], { TRADECORE_OPS_TOKEN: TOKEN });
      expect(await back.exited).toBe(0);
      expect((await status(port)).risk.default?.maxOrderQty).toBe(10000);
      const uses = store.history();
      expect(uses.map((e) => e.reason)).toEqual(['start', 'reload', 'rollback']);
      // back to the start's config: the same snapshot again
      expect(uses[2]).toMatchObject({ hash: startUse!.hash, from: startUse!.hash, who: 'ops-anna', note: "the 500 limit refuses the desk's block orders" });
      expect(store.diff(reloadUse!.hash, uses[2]!.hash)).toEqual([{ path: 'risk.default.maxOrderQty', from: 500, to: 10000 }]);
      // the journal says which config each change brought in: the open record and the config records
      const p = journalPackr();
      const seg = readdirSync(path.join(data, 'journal')).filter((f) => f.endsWith('.tcj')).sort();
      const recs = seg.flatMap((f) => scanSegment(readFileSync(path.join(data, 'journal', f))).payloads.map((b) => p.unpack(b) as { k: string; config?: string; hash?: string; why?: string }));
      expect(recs.find((r) => r.k === 'open')!.config).toBe(startUse!.hash);
      expect(recs.filter((r) => r.k === 'config').map((r) => [r.hash, r.why])).toEqual([
        [reloadUse!.hash, `SIGHUP: ${config}`],
        [startUse!.hash, `rollback to ${startUse!.hash} by ops-anna: the 500 limit refuses the desk's block orders`],
      ]);
      // and back to the file's 500, for the tests that follow
      first.proc.kill('SIGHUP');
      await eventually(async () => ((await status(port)).risk.default?.maxOrderQty === 500 ? true : undefined), 'the reload');
    });

    it('a second run on the same data directory is refused with exit 3, and the first goes on', async () => {
      const second = run(['--config', config, '--data', data, '--ops-port', '0']);
      expect(await second.exited).toBe(3);
      expect(second.stderr()).toMatch(/is in use by another tradecore run \(pid \d+/);
      expect((await getJson(port, '/readyz')).status).toBe(200);
    });

    it('SIGTERM stops it with exit 0 after a snapshot', async () => {
      const code = await stopWith(first, 'SIGTERM');
      expect(code).toBe(0);
      const stopped = first.lines.find((l) => (l as { event?: string }).event === 'stopped') as { snapshot: boolean; openOrdersLeft: number };
      expect(stopped).toMatchObject({ snapshot: true, openOrdersLeft: 0 });
      expect(readdirSync(path.join(data, 'journal')).some((f) => f.startsWith('snapshot-'))).toBe(true);
      expect(existsSync(path.join(data, 'LOCK'))).toBe(false);
    });

    it('a restart comes back with the same orders, positions and cash, and reconciliation is clean', async () => {
      const again = run(['--config', config, '--data', data], { TRADECORE_OPS_TOKEN: TOKEN });
      const s = await started(again);
      expect(s.restored).not.toBeNull();
      // the same config as the reload left in force: the same snapshot
      expect(s.config).toBe(new ConfigStore(data).history()[1]!.hash);
      expect(new ConfigStore(data).history().map((e) => e.reason)).toEqual(['start', 'reload', 'rollback', 'reload', 'start']);
      const after = await status(s.opsPort);
      expect(after.positions).toEqual(before.positions);
      expect(after.account).toEqual(before.account);
      const kept = (await getJson<{ orders: typeof orders }>(s.opsPort, '/orders')).body.orders;
      expect(kept.map((o) => [o.clientOrderId, o.brokerOrderId, o.status, o.cumQty]).sort()).toEqual(orders.map((o) => [o.clientOrderId, o.brokerOrderId, o.status, o.cumQty]).sort());
      const recon = await postJson<{ run: { open: number; raised: unknown[]; checked: { orders: number; trades: number } } }>(s.opsPort, '/recon', {});
      expect(recon.status).toBe(200);
      expect(recon.body.run.open).toBe(0);
      expect(recon.body.run.raised).toEqual([]);
      expect(recon.body.run.checked.trades).toBe(6);
      expect(await stopWith(again, 'SIGINT')).toBe(0);
    });

    it('after a kill -9 the embedded broker lost its records: the next run is refused with exit 4 and the reason', async () => {
      const victim = run(['--config', config, '--data', data]);
      await started(victim);
      expect(await stopWith(victim, 'SIGKILL')).toBe(137);
      const next = run(['--config', config, '--data', data]);
      expect(await next.exited).toBe(4);
      expect(next.stderr()).toMatch(/did not stop cleanly.*cannot be reconciled with the journal/);
      // the stale lock of the killed run was taken over, then let go
      expect(next.stderr()).toContain('taking over the lock of a run that is gone');
      expect(existsSync(path.join(data, 'LOCK'))).toBe(false);
    });
  });

  it('on the TCP simulated broker: its quotes reach the strategy, the orders trade, and a restart reconciles clean', async () => {
    const creds = { TRADECORE_SIM_ACCOUNT: 'svc-test', TRADECORE_SIM_SECRET: 'svc-test-secret' };
    const broker = spawnCli(['sim-broker', '--port', '0', '--state-file', path.join(dir, 'tcp-sim.state'), '--market-step-ms', '20'], creds);
    running.push(broker);
    const listening = await eventually(async () => broker.lines.find((l) => (l as { event?: string }).event === 'listening') as { port: number } | undefined, 'the sim broker', 20_000);
    const config = path.join(dir, 'tcp.yaml');
    // the sim broker's own instruments (the demo's); its start price is 100 and its band 10%
    writeFileSync(config, `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
ops: { port: 0 }
broker: { kind: tcp-sim, port: ${listening.port} }
`);
    const data = path.join(dir, 'tcp-data');
    const r = run(['--config', config, '--data', data, '--strategy', FIXED], { ...creds, TRADECORE_OPS_TOKEN: TOKEN, FIXED_ORDERS: '2' });
    const s = await started(r);
    const st = await eventually(async () => {
      const x = await status(s.opsPort);
      return x.stats.fills === 2 ? x : undefined;
    }, 'two fills over TCP');
    expect(st.positions.map((p) => [p.symbol, p.qty])).toEqual([['ACME', 2]]);
    expect(await stopWith(r, 'SIGTERM')).toBe(0);
    const again = run(['--config', config, '--data', data], { ...creds, TRADECORE_OPS_TOKEN: TOKEN });
    const s2 = await started(again);
    expect((await status(s2.opsPort)).positions).toEqual(st.positions);
    const recon = await postJson<{ run: { open: number; checked: { trades: number } } }>(s2.opsPort, '/recon', {});
    expect(recon.body.run).toMatchObject({ open: 0, checked: { trades: 2 } });
    expect(await stopWith(again, 'SIGTERM')).toBe(0);
    expect(await stopWith(broker, 'SIGTERM')).toBe(0);
  });

  it('without a token the endpoint is read-only: start-up says so and every command is refused', async () => {
    const config = path.join(dir, 'ro.yaml');
    writeFileSync(config, base(EMBEDDED));
    const r = run(['--config', config, '--data', path.join(dir, 'ro-data')]);
    const s = await started(r);
    expect(s.readOnly).toBe(true);
    expect(r.stderr()).toContain('read-only: no TRADECORE_OPS_TOKEN or ops.tokenFile');
    const halt = await postJson(s.opsPort, '/trading-state', { action: 'halt', reason: 'test' }, 'any-token-at-all-0000');
    expect(halt.status).toBe(401);
    expect((await status(s.opsPort)).tradingState).toBe('Active');
    expect(await stopWith(r, 'SIGTERM')).toBe(0);
  });

  it('the sample strategy in examples/ trades on the embedded broker and stops cleanly, cancelling what is open', async () => {
    const config = path.join(dir, 'example.yaml');
    writeFileSync(config, base(`${EMBEDDED}shutdown: { openOrders: cancel, timeoutMs: 3000 }\n`));
    const r = run(['--config', config, '--data', path.join(dir, 'ex-data'), '--strategy', EXAMPLE], { STRATEGY_EVERY_MS: '50' });
    const s = await started(r);
    await eventually(async () => ((await status(s.opsPort)).stats.fills >= 10 ? true : undefined), 'ten fills from the sample strategy');
    expect(await stopWith(r, 'SIGTERM')).toBe(0);
    expect(r.lines.find((l) => (l as { event?: string }).event === 'stopped')).toMatchObject({ openOrdersLeft: 0, snapshot: true });
    expect(r.stderr()).toContain('sample strategy stopped');
  });

  it('a restart from the same file keeps the last reload (restored from the journal), says so, and its start snapshot is the config in force', async () => {
    const data = path.join(dir, 'data-restore');
    const config = path.join(dir, 'restore.yaml');
    writeFileSync(config, base(EMBEDDED));
    const first = run(['--config', config, '--data', data]);
    const s1 = await started(first);
    writeFileSync(config, base(EMBEDDED).replace('maxOrderQty: 10000', 'maxOrderQty: 700'));
    first.proc.kill('SIGHUP');
    await eventually(async () => ((await status(s1.opsPort)).risk.default?.maxOrderQty === 700 ? true : undefined), 'the reload');
    // the file goes back to what the session started from; the reload stays in the journal
    writeFileSync(config, base(EMBEDDED));
    expect(await stopWith(first, 'SIGTERM')).toBe(0);
    const again = run(['--config', config, '--data', data]);
    const s2 = await started(again);
    expect((await status(s2.opsPort)).risk.default?.maxOrderQty).toBe(700);
    expect(again.stderr()).toMatch(/restored from the journal/);
    const uses = new ConfigStore(data).history();
    // the file's config (the journal's open record names it), then the config in force
    expect(uses.map((e) => e.reason)).toEqual(['start', 'reload', 'start', 'restore']);
    expect(uses[2]!.hash).toBe(uses[0]!.hash);
    expect(s2.config).toBe(uses[1]!.hash);
    expect(uses[3]!.hash).toBe(uses[1]!.hash);
    expect(await stopWith(again, 'SIGTERM')).toBe(0);
  });

  it('usage and config errors exit 2 with one line that says what is wrong', async () => {
    const none = run([]);
    expect(await none.exited).toBe(2);
    expect(none.stderr()).toContain('run needs --config FILE');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, base('broker: { kind: tcp-sim }\nshutdown: { openOrders: maybe }\n'));
    const r = run(['--config', bad, '--data', path.join(dir, 'bad-data')]);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('broker.port: the TCP simulated broker needs a port');
    expect(r.stderr()).toContain('shutdown.openOrders');
  });
});
