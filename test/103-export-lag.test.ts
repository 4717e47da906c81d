/**
 * The exporter's lag in seconds while the waiting records have not been read (NATS down, or a
 * batch in flight): counted from when it was last caught up, or from its start for a backlog
 * it started with; never 0 while records wait. No NATS needed: the port refuses.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { AlertManager } from '../src/ops/alerts.js';
import { JournalExporter, type ExportSource } from '../src/scale/exporter.js';
import { quiet } from './helpers.js';
import { freePort } from './nats-server.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-export-lag-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function source(dir: string, at: { seq: number }): ExportSource {
  fs.mkdirSync(dir, { recursive: true });
  return { dir, seq: () => at.seq, synced: () => at.seq };
}

describe('export lag in seconds with nothing read', () => {
  it('records that begin to wait while NATS is down: their age from the last moment it was caught up, and the P2 EXPORT_LAG past maxLagMs', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const alerts = new AlertManager(clock);
    const at = { seq: 0 };
    const port = await freePort();
    const ex = new JournalExporter({ engineId: 'lag-a', nats: { servers: `nats://127.0.0.1:${port}` }, maxLagMs: 3000, maxLagRecords: 1000 }, source(path.join(root, 'a'), at), quiet(), alerts, () => clock.now());
    expect(ex.status().lagSeconds).toBe(0);
    ex.start();
    at.seq = 5;
    clock.advance(2000);
    expect(ex.status()).toMatchObject({ lagRecords: 5, lagSeconds: 2, connected: false });
    clock.advance(2500);
    expect(ex.status().lagSeconds).toBe(4.5);
    // the loop retries the connection with a back-off and checks the lag each time
    const until = Date.now() + 5000;
    while (!alerts.open().some((a) => a.code === 'EXPORT_LAG') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const lag = alerts.open().find((a) => a.code === 'EXPORT_LAG');
    expect(lag?.level).toBe('P2');
    expect(lag?.message).toContain('NATS is not reachable');
    await ex.stop(0);
  });

  it('a backlog it started with: counted from its start', () => {
    const clock = new ManualClock(1_800_000_000_000);
    const at = { seq: 40 };
    const ex = new JournalExporter({ engineId: 'lag-b', nats: { servers: 'nats://127.0.0.1:1' } }, source(path.join(root, 'b'), at), quiet(), undefined, () => clock.now());
    clock.advance(7000);
    expect(ex.status()).toMatchObject({ lagRecords: 40, lagSeconds: 7 });
  });
});
