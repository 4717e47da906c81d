import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import { Monitor } from '../src/ops/monitor.js';
import { OpsServer } from '../src/ops/server.js';
import { INSTRUMENTS, NO_HEARTBEAT, quiet } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'cli-test-token-0123456789';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process (asynchronous: the engine in this process keeps serving). */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { env: { ...process.env, TRADECORE_OPS_TOKEN: undefined, TRADECORE_OPS_URL: undefined, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the manual workflow end to end through the CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-diffs-'));
  const journal = path.join(dir, 'journal');
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 15, 0));
  const broker = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 9, marketStepMs: 0, initialCash: { USD: 250_000 }, startPrices: { ACME: 100, LOTS: 50 } });
  let engine: Engine;
  let monitor: Monitor;
  let ops: OpsServer;
  let env: Record<string, string>;

  const start = async () => {
    engine = createEngine({
      instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 250_000 }, journal: { dir: journal },
      recon: { graceMs: 0, policy: { FILLED_QTY_MISMATCH: { winner: 'manual' }, STATUS_MISMATCH: { winner: 'manual' } } },
    });
    await engine.start();
    monitor = new Monitor(engine, { lagSource: () => 0 });
    ops = new OpsServer(engine, monitor, { token: TOKEN });
    await ops.start();
    env = { TRADECORE_OPS_URL: `http://127.0.0.1:${ops.port}`, TRADECORE_OPS_TOKEN: TOKEN };
  };
  const stop = async () => {
    await ops.stop();
    monitor.stop();
    await engine.stop();
  };

  beforeAll(async () => {
    await start();
    // a fill lost on the way (policy: manual), an order the broker lost (default: manual)
    broker.dropReports((r) => r.kind === 'trade' && r.clientOrderId === 'k1');
    engine.submit({ clientOrderId: 'k1', symbol: 'ACME', side: 'buy', qty: 10, price: 100.5 });
    engine.submit({ clientOrderId: 'k2', symbol: 'ACME', side: 'buy', qty: 10, price: 95 });
    clock.advance(1);
    broker.forgetOrder(engine.getOrder('k2')!.brokerOrderId);
  });
  afterAll(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recon raises the diffs (exit 1: critical ones open); readiness and alerts say so', async () => {
    const r = await cli(['recon'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/raised 3, auto-fixed 0/);
    expect(r.stdout).toMatch(/open diffs 3, critical 3/);
    const ready = await fetch(`${env.TRADECORE_OPS_URL}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toEqual(['3 critical reconciliation diffs open: D1, D2, D3']);
    expect(monitor.alerts.open().map((a) => a.code).sort()).toEqual(['RECON_FILLED_QTY_MISMATCH', 'RECON_MISSING_AT_BROKER', 'RECON_STATUS_MISMATCH']);
  });

  it('diffs lists them; diffs show gives both sides and the actions', async () => {
    const list = await cli(['diffs'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['D1', 'critical', 'open', 'FILLED_QTY_MISMATCH'],
      ['D2', 'critical', 'open', 'STATUS_MISMATCH'],
      ['D3', 'critical', 'open', 'MISSING_AT_BROKER'],
    ]);
    expect(lines[0]).toContain('k1/SIM-1');
    expect(lines[0]).toContain('engine=0 broker=10');
    const show = await cli(['diffs', 'show', 'D3'], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('D3 MISSING_AT_BROKER (critical, open)');
    expect(show.stdout).toMatch(/clientOrderId\s+k2/);
    expect(show.stdout).toMatch(/engine\s+Submitted/);
    expect(show.stdout).toMatch(/broker\s+—/);
    expect(show.stdout).toMatch(/raised\s+by reconciliation/);
    const json = JSON.parse((await cli(['diffs', 'show', 'D1', '--json'], env)).stdout) as { local: number; broker: number };
    expect([json.local, json.broker]).toEqual([0, 10]);
  });

  it('refuses without the token, without a note, with a bad side, for an unknown diff; nothing changes', async () => {
    const noToken = await cli(['diffs', 'ack', 'D3', '--note', 'x'], { TRADECORE_OPS_URL: env.TRADECORE_OPS_URL });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/refused \(401\)/);
    const noNote = await cli(['diffs', 'resolve', 'D1', '--accept', 'broker'], env);
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toContain('--note TEXT is required');
    const badSide = await cli(['diffs', 'resolve', 'D1', '--accept', 'both', '--note', 'x'], env);
    expect(badSide.code).toBe(2);
    const unknown = await cli(['diffs', 'ack', 'D99', '--note', 'x'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no diff D99 (HTTP 404)');
    const forceNoNote = await cli(['sync', '--force'], env);
    expect(forceNoNote.code).toBe(2);
    expect(forceNoNote.stderr).toContain('sync --force: --note TEXT is required');
    const forceHttp = await fetch(`${env.TRADECORE_OPS_URL}/sync`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ force: true, who: 'x' }) });
    expect(forceHttp.status).toBe(400);
    expect(engine.recon.actions).toEqual([]);
    // no URL given: the default, where tradecore run listens (nothing does here)
    const noUrl = await cli(['diffs'], {});
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toContain('cannot reach the ops endpoint http://127.0.0.1:7400');
    const badUrl = await cli(['diffs', '--url', 'ftp://x'], {});
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--url must be an http(s) URL');
    expect(engine.recon.list().map((d) => d.actions.length)).toEqual([1, 1, 1]);
  });

  it('ack, resolve --accept broker, resolve --accept local, sync --force: each recorded with who and why', async () => {
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const noTokenEnv = { TRADECORE_OPS_URL: env.TRADECORE_OPS_URL };
    const ack = await cli(['diffs', 'ack', 'D3', '--note', 'calling the broker', '--who', 'ana', '--token-file', tokenFile], noTokenEnv);
    expect(ack.stderr).toBe('');
    expect(ack.stdout).toBe('D3 acknowledged by ana (still open)\n');
    expect(monitor.alerts.open().map((a) => a.code)).not.toContain('RECON_MISSING_AT_BROKER');

    const fill = await cli(['diffs', 'resolve', 'D1', '--accept', 'broker', '--note', 'fill confirmed on the drop copy', '--who', 'ana'], env);
    expect(fill.code).toBe(0);
    expect(fill.stdout).toContain('D1 resolved: broker side accepted by ana');
    expect(engine.getOrder('k1')).toMatchObject({ cumQty: 10, status: 'Filled' });
    // the status diff went away with the fill: the next run clears it
    const status = await cli(['diffs', 'resolve', 'D2', '--accept', 'broker', '--note', 'take it', '--who', 'ana'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('D2 cleared');

    const local = await cli(['diffs', 'resolve', 'D3', '--accept', 'local', '--note', 'the broker will restore it', '--who', 'ben'], env);
    expect(local.code).toBe(0);
    expect(engine.getOrder('k2')!.status).toBe('Submitted');

    const sync = await cli(['sync', '--force', '--note', 'after the broker call', '--who', 'ben'], env);
    expect(sync.stderr).toBe('');
    expect(sync.stdout).toMatch(/^recovery sync \(forced\): brokerOpen=\d+/);

    expect((await cli(['diffs'], env)).stdout).toBe('no open diffs\n');
    const ready = await fetch(`${env.TRADECORE_OPS_URL}/readyz`);
    expect(ready.status).toBe(200);
    // accepted local: the same difference is not raised again
    const again = await cli(['recon', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ raised: [], fixed: [], open: 0 });
  });

  it('recon --eod writes the three report files', async () => {
    const out = path.join(dir, 'eod');
    const r = await cli(['recon', '--eod', '--out', out], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const ext of ['json', 'md', 'html']) expect(existsSync(path.join(out, `recon-2026-11-25.${ext}`))).toBe(true);
    const report = JSON.parse(readFileSync(path.join(out, 'recon-2026-11-25.json'), 'utf8')) as { totals: { diffs: { resolved: number; cleared: number } } };
    expect(report.totals.diffs).toMatchObject({ resolved: 2, cleared: 1 });
  });

  it('every action survives a restart through the journal', async () => {
    const before = engine.recon.list({ state: 'all' });
    await stop();
    await start();
    expect(engine.recon.list({ state: 'all' })).toEqual(before);
    const acts = (id: string) => engine.recon.get(id)!.actions.map((a) => `${a.action}:${a.who}${a.side !== undefined ? `:${a.side}` : ''}:${a.note}`);
    expect(acts('D1')).toEqual([expect.stringMatching(/^raised:reconciliation:/), 'resolve:ana:broker:fill confirmed on the drop copy']);
    expect(acts('D3')).toEqual([expect.stringMatching(/^raised:reconciliation:/), 'ack:ana:calling the broker', 'resolve:ben:local:the broker will restore it']);
    expect(engine.recon.actions.map((a) => [a.action, a.who, a.note])).toEqual([['sync --force', 'ben', 'after the broker call']]);
    // after the restart the accepted difference is still accepted
    const r = await cli(['recon', '--json'], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ raised: [], open: 0 });
  });
});
