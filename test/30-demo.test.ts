import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/cli/demo.js';
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
      expect(r.stdout).toMatch(/^tradecore paper session: seed=42 duration=500ms broker=sim$/m);
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
      [['demo', '--duration=-1'], '--duration must be seconds'],
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
