import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSummary, runDemo } from '../src/cli/demo.js';
import { quiet } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('demo (the paper session)', () => {
  it('ends consistent with the broker, with the scripted idempotency checks answered right', async () => {
    const s = await runDemo({ seed: 7, durationMs: 800, orders: 120, logger: quiet() });
    expect(s.consistency.problems).toEqual([]);
    expect(s.consistency.consistent).toBe(true);
    expect(s.scripted).toEqual({
      duplicateSubmit: 'duplicate brokerOrderId=(not yet acked)',
      doubleCancel: 'sent, then ignored CANCEL_PENDING',
      offTickPrice: 'denied TICK_SIZE',
      brokerReject: 'sent',
    });
    expect(s.rejectsByReason).toEqual({ PRICE_BAND: 1 });
    expect(s.deniedByReason).toEqual({ TICK_SIZE: 1 });
    // every accepted order is accounted for in exactly one status
    const total = Object.values(s.orders.byStatus).reduce((a, b) => a + b, 0);
    expect(total).toBe(s.orders.accepted);
    expect(s.orders.submitted).toBe(121); // 120 plus the scripted duplicate
    expect(s.fills.count).toBeGreaterThan(0);
    // one ack sample per acknowledged order; the broker-rejected one and acks overtaken by fills add none
    expect(s.latencyUs.ack.count).toBeLessThan(s.orders.accepted);
    expect(s.latencyUs.ack.count).toBeGreaterThan(s.orders.accepted * 0.9);
  });

  it('the same seed gives the same orders, fills and positions; only the wall-clock length differs', async () => {
    // unpaced: the simulated session runs as fast as it computes, with the same outcome
    const runs = await Promise.all([1, 2].map(() => runDemo({ seed: 42, durationMs: 5000, orders: 300, logger: quiet(), paced: false })));
    const strip = (x: Record<string, unknown>) => ({ ...x, elapsedMs: 0 });
    expect(strip(runs[1] as never)).toEqual(strip(runs[0] as never));
    expect(runs[0]!.clock).toBe('simulated');
    expect(runs[0]!.consistency.consistent).toBe(true);
    // a different seed is a different session
    const other = await runDemo({ seed: 43, durationMs: 5000, orders: 300, logger: quiet(), paced: false });
    expect(other.positions).not.toEqual(runs[0]!.positions);
  });

  it("the README's sample output is exactly what the default demo prints", async () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const sample = /```\n(tradecore paper session:[\s\S]*?)```/.exec(readme)![1]!;
    const s = await runDemo({ logger: quiet(), paced: false });
    expect(`${formatSummary(s)}\n`).toBe(sample);
  });

  it('the duration is simulated time: an hour-long unpaced session completes, a paced one lasts at least its duration', async () => {
    const hour = await runDemo({ seed: 5, durationMs: 3_600_000, orders: 50, logger: quiet(), paced: false });
    expect(hour.durationMs).toBe(3_600_000);
    expect(hour.orders.submitted).toBe(51);
    expect(hour.consistency.consistent).toBe(true);
    const paced = await runDemo({ seed: 5, durationMs: 300, orders: 40, logger: quiet() });
    expect(paced.elapsedMs).toBeGreaterThanOrEqual(300);
  }, 60_000);

  it('fewer orders than the script needs: the scripted checks are skipped and said so, the session is still consistent', async () => {
    for (const orders of [0, 1, 5, 8]) {
      const s = await runDemo({ seed: 9, durationMs: 200, orders, logger: quiet(), paced: false });
      expect(s.consistency.problems, `${orders} orders`).toEqual([]);
      expect(s.scripted.duplicateSubmit).toMatch(/^skipped: the script needs --orders 9 or more/);
      expect(s.notes).toContain(`the scripted checks need 9 orders or more; with ${orders} they were skipped`);
    }
  });

  describe('command line', () => {
    it('needs the build (npm test builds first)', () => {
      expect(existsSync(CLI), `${CLI} missing: run npm run build`).toBe(true);
    });

    it('prints the summary as JSON and exits 0 when consistent', async () => {
      const r = await cli(['demo', '--json', '--duration', '1', '--orders', '60', '--seed', '3']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { seed: number; consistency: { consistent: boolean }; latencyUs: { ack: { p50: number; p99: number } } };
      expect(summary.seed).toBe(3);
      expect(summary.consistency.consistent).toBe(true);
      expect(summary.latencyUs.ack.p99).toBeGreaterThanOrEqual(summary.latencyUs.ack.p50);
      // money at the edge: rounded once to the currency's cents, never floating-point noise
      const positions = (summary as unknown as { positions: Array<{ realizedPnl: number; avgPx: number }> }).positions;
      expect(positions.length).toBeGreaterThan(0);
      for (const p of positions) {
        expect(Math.round(p.realizedPnl * 100) / 100, JSON.stringify(p)).toBe(p.realizedPnl);
        expect(Math.round(p.avgPx * 1e4) / 1e4, JSON.stringify(p)).toBe(p.avgPx);
      }
    });

    it('prints a text summary', async () => {
      const r = await cli(['demo', '--duration', '0.5', '--orders', '30', '--faults', 'none']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^tradecore paper session: seed=42 duration=500ms broker=sim clock=simulated$/m);
      expect(r.stdout).toMatch(/^round trip ack p50=[\d.]+us p99=[\d.]+us/m);
      expect(r.stdout).toMatch(/^consistent: /m);
    });

    it('resolves lost acks with a recovery sync at the end and exits 0', async () => {
      const r = await cli(['demo', '--json', '--duration', '0.6', '--orders', '80', '--faults', 'drop-ack=1']);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { recovery: { resolved: number; notAtBroker: number }; consistency: { consistent: boolean } };
      expect(summary.recovery.resolved).toBeGreaterThan(0);
      expect(summary.recovery.notAtBroker).toBe(0);
      expect(summary.consistency.consistent).toBe(true);
    });

    it('exits 1 when the session ends inconsistent (acks lost, recovery skipped)', async () => {
      const r = await cli(['demo', '--json', '--duration', '0.6', '--orders', '80', '--faults', 'drop-ack=1', '--no-resync']);
      expect(r.code).toBe(1);
      const summary = JSON.parse(r.stdout) as { consistency: { consistent: boolean; problems: string[] } };
      expect(summary.consistency.consistent).toBe(false);
      for (const p of summary.consistency.problems) expect(p).toMatch(/engine=PendingNew/);
    });

    it.each([
      [['demo', '--orders', 'abc'], '--orders must be a whole number'],
      [['demo', '--duration=-1'], '--duration must be more than 0 and at most 3600 seconds'],
      [['demo', '--duration', '0'], '--duration must be more than 0 and at most 3600 seconds, got "0"'],
      [['demo', '--faults', 'dup=2'], 'dup is a probability'],
      [['demo', '--faults', 'boom=1'], 'cannot read "boom=1"'],
      [['demo', '--bogus'], "Unknown option '--bogus'"],
      [['trade'], 'unknown command "trade"'],
    ])('refuses %j with exit 2 and says why', async (args, message) => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      // one line and a hint, not the whole usage
      expect(r.stderr).toMatch(/\nhint: tradecore (demo --help|help)\n$/);
      expect(r.stderr.split('\n')).toHaveLength(3);
    });

    it('same seed, same session through the CLI; small sessions exit 0', async () => {
      const a = await cli(['demo', '--json', '--seed', '42', '--duration', '0.5', '--orders', '120']);
      const b = await cli(['demo', '--json', '--seed', '42', '--duration', '0.5', '--orders', '120']);
      expect(a.code).toBe(0);
      const strip = (t: string) => ({ ...(JSON.parse(t) as Record<string, unknown>), elapsedMs: 0 });
      expect(strip(b.stdout)).toEqual(strip(a.stdout));
      const small = await cli(['demo', '--orders', '5', '--duration', '0.2']);
      expect(small.code).toBe(0);
      expect(small.stdout).toContain('note       the scripted checks need 9 orders or more; with 5 they were skipped');
    });

    it('--config runs the demo on the config\'s instruments, risk, markets and broker', async () => {
      const example = fileURLToPath(new URL('../docs/example-config.yaml', import.meta.url));
      const r = await cli(['demo', '--config', example, '--orders', '200', '--duration', '1', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as { consistency: { consistent: boolean }; positions: Array<{ symbol: string }>; deniedByReason: Record<string, number>; scripted: { offTickPrice: string } };
      expect(s.consistency.consistent).toBe(true);
      expect(s.positions.map((p) => p.symbol)).toEqual(['ACME', 'BOLT', '600519']);
      // the config's own limits and calendars decide: 20 orders a second, and the SSE closed at the simulated hour
      expect(s.deniedByReason.RATE_LIMIT).toBeGreaterThan(0);
      expect(s.deniedByReason.OUTSIDE_SESSION).toBeGreaterThan(0);
      expect(s.scripted.offTickPrice).toBe('denied TICK_SIZE');
      const bad = await cli(['demo', '--config', join(tmpdir(), 'no-such-config.yaml')]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('cannot read');
    });

    it('--config with the TCP simulated broker: the same check over the network', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tc-demo-tcp-'));
      const creds = { TRADECORE_SIM_ACCOUNT: 'demo-tcp', TRADECORE_SIM_SECRET: 'demo-tcp-secret' };
      const server = spawn(process.execPath, [CLI, 'sim-broker', '--port', '0'], { env: { ...process.env, ...creds }, stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          server.stdout!.setEncoding('utf8').once('data', (line: string) => resolve((JSON.parse(line.split('\n')[0]!) as { port: number }).port));
          server.once('exit', () => reject(new Error('sim-broker exited')));
        });
        const config = join(dir, 'tcp.yaml');
        writeFileSync(config, `instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\n  - { symbol: BOLT, tickSize: 0.05, pricePrecision: 2, lotSize: 10 }\n  - { symbol: CRUX, tickSize: 0.5, pricePrecision: 1 }\nbroker: { kind: tcp-sim, port: ${port} }\n`);
        const r = await cli(['demo', '--config', config, '--orders', '40', '--duration', '1.5', '--json'], creds);
        expect(r.stderr).toBe('');
        const s = JSON.parse(r.stdout) as { clock: string; broker: string; consistency: { consistent: boolean; problems: string[] }; orders: { accepted: number } };
        expect(s.clock).toBe('wall');
        expect(s.broker).toMatch(/^sim-tcp:127\.0\.0\.1:/);
        expect(s.consistency.problems).toEqual([]);
        expect(s.orders.accepted).toBeGreaterThan(20);
        expect(r.code).toBe(0);
        const noCreds = await cli(['demo', '--config', config], { TRADECORE_SIM_ACCOUNT: '', TRADECORE_SIM_SECRET: '' });
        expect(noCreds.code).toBe(2);
        expect(noCreds.stderr).toContain('broker tcp-sim: no sim credentials');
      } finally {
        server.kill('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('prints help and the version', async () => {
      expect((await cli(['--help'])).stdout).toContain('usage: tradecore <command>');
      expect((await cli(['version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    });
  });

  describe('sim-broker and check-connection', () => {
    const creds = { TRADECORE_SIM_ACCOUNT: 'cli-acct', TRADECORE_SIM_SECRET: 'cli-secret' };

    it('sim-broker says what is missing or wrong, never with a stack trace', async () => {
      const none = await cli(['sim-broker', '--port', '0'], { TRADECORE_SIM_ACCOUNT: '', TRADECORE_SIM_SECRET: '', TRADECORE_SIM_CREDENTIALS_FILE: '' });
      // a missing credential is not a mistake in the command line: exit 1, one line
      expect(none.code).toBe(1);
      expect(none.stderr.trim().split('\n')).toHaveLength(1);
      expect(none.stderr).toMatch(/sim-broker: needs the credentials clients will log on with: no sim credentials: set TRADECORE_SIM_ACCOUNT and TRADECORE_SIM_SECRET/);
      const dir = mkdtempSync(join(tmpdir(), 'tc-cli-'));
      const bad = join(dir, 'state');
      writeFileSync(bad, 'not msgpack at all');
      const r = await cli(['sim-broker', '--port', '0', '--state-file', bad], creds);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/state file .* cannot be used: .*; move it away to start empty/);
      expect(r.stderr).not.toMatch(/ at /);
      expect((await cli(['sim-broker', '--port', '70000'], creds)).stderr).toMatch(/--port must be a whole number from 0 to 65535/);
    });

    it('check-connection fails clearly when nothing listens', async () => {
      const r = await cli(['check-connection', '--port', '1', '--timeout', '3000'], creds);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAILED: 127.0.0.1:1 \(sim, account cli-acct\)/);
      expect(r.stdout).toMatch(/ECONNREFUSED/);
      expect((await cli(['check-connection', '--port', '1', '--env', 'live'], creds)).stdout).toMatch(/no live credentials/);
      expect((await cli(['check-connection'], creds)).stderr).toMatch(/check-connection needs --port/);
    });
  });
});
