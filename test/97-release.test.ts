import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from './run-helpers.js';

/** `tradecore <args>` to its end: exit status, stdout, stderr. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnCli(args, env);
  const code = await r.exited;
  return { code, out: r.lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'), err: r.stderr() };
}

const CONFIG = `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
risk: { default: { maxOrderQty: 100 } }
`;

describe('tradecore release', () => {
  let dir: string;
  let packA: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tc-release-'));
    writeFileSync(path.join(dir, 'a.yaml'), CONFIG);
    packA = path.join(dir, 'pack-a');
    const r = await cli(['release', 'pack', '--out', packA, '--config', path.join(dir, 'a.yaml'), '--label', 'a', '--json']);
    expect(r.code, r.err).toBe(0);
  }, 120_000);
  // releases hold installed node_modules trees: on a loaded 2-core machine their removal took over the 10 s default
  afterAll(() => rm(dir, { recursive: true, force: true }), 120_000);

  it('pack writes the tarball, the lock file, the package with its dependencies and addon, the config and a manifest of hashes', () => {
    const m = JSON.parse(readFileSync(path.join(packA, 'manifest.json'), 'utf8')) as { name: string; files: Record<string, string>; config: string; node: string; formats: { journal: number } };
    expect(m.name).toBe('0.1.0-a');
    expect(m.node).toBe(process.version);
    expect(m.formats.journal).toBeGreaterThanOrEqual(1);
    expect(Object.keys(m.files)).toEqual(expect.arrayContaining(['tradecore-0.1.0.tgz', 'package-lock.json', 'config.json', 'app/dist/src/cli/main.js', 'app/node_modules/pino/package.json', 'app/examples/drill-strategy.mjs']));
    expect(m.config).toMatch(/^[0-9a-f]{16}$/);
    // the packed package runs on its own node_modules
    expect(existsSync(path.join(packA, 'app', 'node_modules', 'zod'))).toBe(true);
    expect(existsSync(path.join(packA, 'app', 'node_modules', 'vitest'))).toBe(false);
  });

  it('pack refuses a config with a problem and a directory that is not empty', async () => {
    writeFileSync(path.join(dir, 'bad.yaml'), 'instruments: []\n');
    const bad = await cli(['release', 'pack', '--out', path.join(dir, 'pack-bad'), '--config', path.join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/problem\(s\), no release packed/);
    const again = await cli(['release', 'pack', '--out', packA]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/exists and is not empty/);
  });

  it('activate switches current after the start-up check; rollback goes back; a tampered release and a newer data directory are refused', async () => {
    const root = path.join(dir, 'root');
    const data = path.join(dir, 'data');
    const act = await cli(['release', 'activate', packA, '--root', root, '--data', data, '--note', 'first', '--who', 'ana', '--restart-cmd', `echo restarted "$TRADECORE_RELEASE" > ${path.join(dir, 'restart.txt')}`]);
    expect(act.code, act.err).toBe(0);
    expect(readlinkSync(path.join(root, 'current'))).toBe(path.join('releases', '0.1.0-a'));
    expect(readFileSync(path.join(dir, 'restart.txt'), 'utf8').trim()).toBe('restarted 0.1.0-a');
    // the release's own CLI, on its own node_modules, checks itself
    const own = JSON.parse(execFileSync(process.execPath, [path.join(root, 'current', 'app', 'dist', 'src', 'cli', 'main.js'), 'release', 'check', '--config', path.join(root, 'current', 'config.json'), '--json'], { encoding: 'utf8' })) as { ok: boolean; checks: Array<{ check: string }> };
    expect(own.ok).toBe(true);
    expect(own.checks.map((c) => c.check)).toEqual(['native addon', 'config']);

    // a second release, with another label
    const packB = path.join(dir, 'pack-b');
    expect((await cli(['release', 'pack', '--out', packB, '--config', path.join(dir, 'a.yaml'), '--label', 'b'])).code).toBe(0);
    expect((await cli(['release', 'activate', packB, '--root', root, '--data', data, '--note', 'second'])).code).toBe(0);
    expect(readlinkSync(path.join(root, 'current'))).toBe(path.join('releases', '0.1.0-b'));
    const back = await cli(['release', 'rollback', '--root', root, '--data', data, '--note', 'b misbehaves', '--json']);
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out)).toMatchObject({ release: '0.1.0-a', from: '0.1.0-b' });
    expect(readlinkSync(path.join(root, 'current'))).toBe(path.join('releases', '0.1.0-a'));
    const list = JSON.parse((await cli(['release', 'list', '--root', root, '--json'])).out) as { current: string; history: Array<{ action: string; release: string; who: string; note: string }> };
    expect(list.current).toBe('0.1.0-a');
    expect(list.history.map((h) => [h.action, h.release, h.note])).toEqual([['activate', '0.1.0-a', 'first'], ['activate', '0.1.0-b', 'second'], ['rollback', '0.1.0-a', 'b misbehaves']]);
    expect(list.history[0]!.who).toBe('ana');

    // a data directory written by a newer release: the start-up check refuses, current stays
    mkdirSync(path.join(data, 'journal'), { recursive: true });
    writeFileSync(path.join(data, 'journal', 'FORMAT'), JSON.stringify({ journal: 99, snapshot: 99, writtenBy: 'tradecore 9.0.0' }));
    const newer = await cli(['release', 'activate', packB, '--root', root, '--data', data, '--note', 'over newer data']);
    expect(newer.code).toBe(1);
    expect(newer.err).toMatch(/failed its start-up check; current is unchanged/);
    expect(newer.err).toContain('tradecore 9.0.0');
    expect(readlinkSync(path.join(root, 'current'))).toBe(path.join('releases', '0.1.0-a'));
    rmSync(path.join(data, 'journal'), { recursive: true });

    // a file changed after packing
    appendFileSync(path.join(packB, 'app', 'README.md'), 'tampered\n');
    const tampered = await cli(['release', 'activate', packB, '--root', path.join(dir, 'root2'), '--note', 'x']);
    expect(tampered.code).toBe(1);
    expect(tampered.err).toContain('app/README.md: changed since it was packed (sha256 differs)');
    expect(existsSync(path.join(dir, 'root2', 'current'))).toBe(false);

    // usage
    expect((await cli(['release', 'rollback', '--root', root])).code).toBe(2);
  }, 120_000);

  it('the rollback drill through the CLI: nothing lost or sent twice, positions and cash equal the broker\'s, reconciliation clean, a JSON record', async () => {
    const out = path.join(dir, 'drill.json');
    const r = await cli(['release', 'drill', '--work', path.join(dir, 'drill'), '--out', out]);
    const rec = JSON.parse(readFileSync(out, 'utf8')) as {
      ok: boolean; problems: string[]; steps: Array<{ step: string; ok: boolean; detail: string }>; releases: Record<string, string>;
      found: { ordersAccepted: number; brokerOrders: number; lost: string[]; sentTwice: string[]; notFilled: string[]; positions: { equal: boolean; engine: Record<string, number> }; cash: { equal: boolean }; recon: { open: number; openCritical: number }; lossCap: { tradingState: string; alert: string }; restoredFromJournal: boolean };
    };
    expect(rec.problems, r.err.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(rec.ok).toBe(true);
    expect(rec.releases).toEqual({ N: '0.1.0-N', 'N+1': '0.1.0-N1', 'N+2': '0.1.0-N2' });
    expect(rec.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['release N runs and trades', 'the fault: release N+2 trades into its loss cap', 'tradecore release rollback --to N', 'release N restarts from the same journal, is resumed and trades']));
    const f = rec.found;
    expect(f.lost).toEqual([]);
    expect(f.sentTwice).toEqual([]);
    expect(f.notFilled).toEqual([]);
    expect(f.brokerOrders).toBe(f.ordersAccepted);
    expect(f.ordersAccepted).toBeGreaterThanOrEqual(6);
    expect(f.positions.equal).toBe(true);
    expect(f.positions.engine.ACME).toBe(f.ordersAccepted);
    expect(f.cash.equal).toBe(true);
    expect(f.recon).toMatchObject({ open: 0, openCritical: 0 });
    expect(f.lossCap.tradingState).toBe('Halted');
    expect(f.lossCap.alert).toMatch(/reached maxDailyLoss=0.01/);
    expect(f.restoredFromJournal).toBe(true);
  }, 180_000);
});
