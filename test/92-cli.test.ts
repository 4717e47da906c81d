/**
 * The command line a new user lives in: help for every command, errors in one line with a
 * hint, the operator commands against a running `tradecore run`, and `--config` taken whole.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, TOKEN, eventually, getJson, spawnCli, started, type RunProcess } from './run-helpers.js';

const EXAMPLE_CONFIG = fileURLToPath(new URL('../docs/example-config.yaml', import.meta.url));
const FIXED = fileURLToPath(new URL('./fixtures/run/fixed-orders.mjs', import.meta.url));
const START = fileURLToPath(new URL('./fixtures/run/start-orders.mjs', import.meta.url));

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, TRADECORE_OPS_URL: undefined, TRADECORE_OPS_TOKEN: undefined, TRADECORE_SIM_ACCOUNT: undefined, TRADECORE_SIM_SECRET: undefined, TRADECORE_SIM_CREDENTIALS_FILE: undefined, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

const COMMANDS = ['demo', 'run', 'config', 'sim-broker', 'check-connection', 'replay', 'trace', 'recon', 'diffs', 'sync', 'status', 'orders', 'positions', 'alerts', 'halt', 'reduce', 'resume', 'safe-stop', 'rollout', 'fallback', 'release', 'certify', 'gate', 'central', 'version'];

describe('help and errors', () => {
  it('every command has its own --help (exit 0, its own part of the usage), the same as help CMD', async () => {
    for (const c of COMMANDS) {
      const h = await cli([c, '--help']);
      expect(h.code, c).toBe(0);
      expect(h.stderr, c).toBe('');
      expect(h.stdout.split('\n')[0], c).toBe(`usage: tradecore ${c} ...`);
      // only this command's block, not the whole usage
      expect(h.stdout.split('\n').some((l) => new RegExp(`^ {2}(\\S+\\|)*${c}\\b`).test(l)), c).toBe(true);
      expect(h.stdout, c).not.toContain('environment:\n');
      expect((await cli(['help', c])).stdout, c).toBe(h.stdout);
    }
    expect((await cli(['halt', '--help'])).stdout).toContain('--url URL');
    expect((await cli(['help', 'nonsense'])).code).toBe(2);
  });

  it('a usage error is one line and a hint, exit 2; no arguments is a usage error on stderr', async () => {
    const bad = await cli(['demo', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("tradecore demo: Unknown option '--bogus'\nhint: tradecore demo --help\n");
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')).toHaveLength(3);
    expect(unknown.stderr).toContain('hint: tradecore help');
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^tradecore: no command given\n/);
  });

  it('a missing credential is not a usage mistake: one line, exit 1', async () => {
    const r = await cli(['sim-broker', '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('needs the credentials clients will log on with');
  });

  it('check-connection --config takes the whole file (markets and all), and fails cleanly with no broker', async () => {
    const r = await cli(['check-connection', '--config', EXAMPLE_CONFIG, '--port', '1', '--timeout', '300', '--json'], { TRADECORE_SIM_ACCOUNT: 'acct', TRADECORE_SIM_SECRET: 'secret-secret' });
    expect(r.stderr).not.toContain('no market');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const out = JSON.parse(r.stdout) as { ok: boolean; error: string };
    expect(out.ok).toBe(false);
    expect(r.code).toBe(1);
  });
});

describe('operator commands against a running service', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-cli-'));
  let run: RunProcess | undefined;
  afterAll(async () => {
    if (run !== undefined && run.proc.exitCode === null) {
      run.proc.kill('SIGTERM');
      await run.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('status, orders, positions, alerts and halt|reduce|resume|safe-stop, each with --json', async () => {
    writeFileSync(path.join(dir, 'tc.yaml'), `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
initialCash: { USD: 100000 }
broker: { kind: embedded, seed: 3, startPrices: { ACME: 20 } }
ops: { port: 0 }
`);
    run = spawnCli(['run', '--config', path.join(dir, 'tc.yaml'), '--data', path.join(dir, 'data'), '--strategy', FIXED], { TRADECORE_OPS_TOKEN: TOKEN, FIXED_ORDERS: '2' });
    const s = await started(run);
    const url = `http://127.0.0.1:${s.opsPort}`;
    await eventually(async () => ((await getJson<{ stats: { fills: number } }>(s.opsPort, '/status')).body.stats.fills === 2 ? true : undefined), 'two fills');
    const env = { TRADECORE_OPS_URL: url, TRADECORE_OPS_TOKEN: TOKEN };

    const st = await cli(['status'], env);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('engine running, connection Ready, trading Active (paper)');
    expect(st.stdout).toContain('2 accepted');
    const stJson = JSON.parse((await cli(['status', '--json'], env)).stdout) as { tradingState: string; stats: { fills: number } };
    expect(stJson.stats.fills).toBe(2);

    const orders = JSON.parse((await cli(['orders', '--json'], env)).stdout) as { total: number; orders: Array<{ status: string }> };
    expect(orders.total).toBe(2);
    expect(orders.orders.every((o) => o.status === 'Filled')).toBe(true);
    expect((await cli(['orders', '--open'], env)).stdout).toBe('no open orders\n');
    expect((await cli(['orders', '--limit', '0'], env)).code).toBe(2);

    const pos = JSON.parse((await cli(['positions', '--json'], env)).stdout) as { positions: Array<{ symbol: string; qty: number }> };
    expect(pos.positions).toEqual([expect.objectContaining({ symbol: 'ACME', qty: 2 })]);
    expect((await cli(['positions'], env)).stdout).toMatch(/^ACME\s+2 /);

    expect((await cli(['alerts'], env)).stdout).toBe('no open alerts\n');
    expect(JSON.parse((await cli(['alerts', '--all', '--json'], env)).stdout)).toEqual({ open: [], recent: [] });

    const noNote = await cli(['halt'], env);
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toContain('halt needs --note TEXT');
    const noToken = await cli(['halt', '--note', 'x'], { TRADECORE_OPS_URL: url });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('refused (401)');
    for (const [action, state] of [['reduce', 'Reducing'], ['halt', 'Halted'], ['resume', 'Active']] as const) {
      const r = await cli([action, '--note', `cli test ${action}`, '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ tradingState: state });
    }
    const safe = await cli(['safe-stop', '--note', 'cli test'], env);
    expect(safe.code).toBe(0);
    expect(safe.stdout).toBe('trading state Halted; 0 cancel(s) sent, 0 already pending, 0 could not be sent\n');
    expect((await getJson<{ tradingState: string }>(s.opsPort, '/status')).body.tradingState).toBe('Halted');
  }, 60_000);

  it('rollout status and promote, refused without its evidence; fallback paper and back to live with live orders open', async () => {
    writeFileSync(path.join(dir, 'ro.yaml'), `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
initialCash: { USD: 100000 }
broker: { kind: embedded, seed: 3, startPrices: { ACME: 20 } }
ops: { port: 0 }
rollout:
  stages:
    - { name: canary, symbols: [ACME], maxGrossNotional: 1000, promoteAfter: { noOpenAlerts: true } }
    - { name: pilot, promoteAfter: { cleanDays: 1 } }
    - { name: full }
`);
    const data = path.join(dir, 'ro-data');
    const r = spawnCli(['run', '--config', path.join(dir, 'ro.yaml'), '--data', data, '--strategy', START], { TRADECORE_OPS_TOKEN: TOKEN, START_ORDERS: '3', START_PRICE: '19' });
    try {
      const s = await started(r);
      const env = { TRADECORE_OPS_URL: `http://127.0.0.1:${s.opsPort}`, TRADECORE_OPS_TOKEN: TOKEN };
      await eventually(async () => ((await getJson<{ openOrders: number }>(s.opsPort, '/status')).body.openOrders === 3 ? true : undefined), 'three resting orders');
      const st = await cli(['rollout', 'status'], env);
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toContain('rollout stage canary ([canary] → pilot → full)');
      expect(st.stdout).toContain('promotion     allowed to pilot');
      expect((await cli(['rollout', 'promote'], env)).code).toBe(2);
      const up = await cli(['rollout', 'promote', '--note', 'canary looked fine', '--who', 'ana', '--json'], env);
      expect(up.code, up.stderr).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ ok: true, from: 'canary', to: 'pilot', rollout: { stage: 'pilot' } });
      const refused = await cli(['rollout', 'promote', '--note', 'too soon'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('promotion refused: cleanDays: 0 clean trading day(s) in a row at stage pilot, 1 needed');
      const history = JSON.parse((await cli(['config', 'history', '--data', data, '--json'])).stdout) as Array<{ reason: string; who?: string; stage?: string; from?: string }>;
      expect(history.at(-1)).toMatchObject({ reason: 'promote', who: 'ana', from: 'canary', stage: 'pilot' });

      const paper = await cli(['fallback', 'paper', '--note', 'drill', '--json'], env);
      expect(paper.code, paper.stderr).toBe(0);
      expect(JSON.parse(paper.stdout)).toMatchObject({ ok: true, from: 'live', mode: 'paper', liveOrders: { cancelsSent: 3, kept: 0 } });
      const inPaper = await eventually(async () => {
        const b = (await getJson<{ mode: string; openOrders: number; paper: { openOrders: number } | null; reasons: string[] }>(s.opsPort, '/status')).body;
        return b.openOrders === 0 ? b : undefined;
      }, 'the live orders cancelled');
      expect(inPaper).toMatchObject({ mode: 'paper', paper: { openOrders: 0 } });
      expect(inPaper.reasons).toContain('mode paper: new orders do not go to the real broker');
      const live = await cli(['fallback', 'live', '--note', 'back'], env);
      expect(live.code, live.stderr).toBe(0);
      expect(live.stdout).toMatch(/^mode live \(was paper\)/);
      expect((await cli(['fallback', 'sideways', '--note', 'x'], env)).code).toBe(2);
    } finally {
      r.proc.kill('SIGTERM');
      await r.exited;
    }
  }, 60_000);
});
