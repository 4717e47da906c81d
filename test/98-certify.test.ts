/**
 * `tradecore certify` (docs/certify.md): the suite passes on the embedded simulated broker, on
 * the TCP one and on FIX against QuickFIX's ordermatch; it fails each of the five broken
 * adapters of test/fixtures/broken on the case that should catch it; a drill's seed replays it
 * exactly; the evidence page opens in headless Chromium; the docs' case lists are the suite's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { certify, fixTarget, moduleTarget, runDrill, SIM_TARGET, SIM_TCP_TARGET, SUITE, type CaseRecord, type CertifySummary } from '../src/certify/index.js';
import { DOCS, withCaseList } from '../src/certify/docs.js';
import { HAVE_QUICKFIX, startAcceptor } from './fix-helpers.js';
import { recordDrills } from './drill-results.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BROKEN = path.join(ROOT, 'test', 'fixtures', 'broken');
const dirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `tc-certify-${name}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const caseRecord = (dir: string, id: string) => JSON.parse(fs.readFileSync(path.join(dir, 'cases', `${id}.json`), 'utf8')) as CaseRecord;

function expectClean(s: CertifySummary) {
  expect(s.invariants).toEqual({ lost: 0, duplicated: 0, doubleCounted: 0, cumQtyDiffers: 0, positionsDiffer: 0, cashDiffers: 0, reconDiffs: 0, unaccountedAlerts: 0 });
}

describe('certify on the built-in adapters', () => {
  it('sim: every case passes, none is skipped, and the evidence is written: a record per case, the summary, the page', async () => {
    const out = tmp('sim');
    const s = await certify({ target: SIM_TARGET, out, drills: 5 });
    expect({ ok: s.ok, failed: s.cases.failedIds, skipped: s.cases.skippedIds }).toEqual({ ok: true, failed: [], skipped: [] });
    expect(s.cases.total).toBe(SUITE.length);
    expect(s.drills).toMatchObject({ run: 5, passed: 5, failed: 0 });
    expectClean(s);
    expect(fs.readdirSync(path.join(out, 'cases')).sort()).toEqual(SUITE.map((c) => `${c.id}.json`).sort());
    expect(fs.readdirSync(path.join(out, 'drills'))).toHaveLength(5);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'))).toMatchObject({ certify: 1, adapter: 'sim', ok: true });
    const lc01 = caseRecord(out, 'LC-01');
    expect(lc01).toMatchObject({ id: 'LC-01', kind: 'case', verdict: 'passed', checklist: expect.stringContaining('acknowledged'), replay: expect.stringContaining('--case LC-01') });
    // faults were really injected where a case asks for them
    expect(caseRecord(out, 'RP-01').faults.duplicated).toBeGreaterThan(0);
    expect(caseRecord(out, 'RP-03').faults.dropped).toBeGreaterThan(0);
    expect(caseRecord(out, 'CN-01').faults.cuts).toBe(1);
    expect(caseRecord(out, 'RS-02').faults.engines).toBe(2);
    expect(fs.existsSync(path.join(out, 'work'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('<title>Certification sim</title>');
  });

  it('sim-tcp: every case passes over TCP, and 40 seeded drills with no invariant broken', async () => {
    const out = tmp('tcp');
    const s = await certify({ target: SIM_TCP_TARGET, out, drills: 40, seed: 1000 });
    expect({ ok: s.ok, failed: s.cases.failedIds, skipped: s.cases.skippedIds, drillsFailed: s.drills.failedSeeds }).toEqual({ ok: true, failed: [], skipped: [], drillsFailed: [] });
    expectClean(s);
    recordDrills('sim-tcp', s);
  }, 240_000);

  it.skipIf(!HAVE_QUICKFIX)('fix: against QuickFIX ordermatch every case it can support passes, the rest are skipped with why; 10 drills over FIX', async () => {
    const acceptor = await startAcceptor('ordermatch', ['FIX.4.2']);
    try {
      const out = tmp('fix');
      const s = await certify({
        target: fixTarget({ host: '127.0.0.1', port: acceptor.port, beginString: 'FIX.4.2', senderCompId: 'TRADECORE', targetCompId: 'ORDERMATCH', instruments: [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }], acceptor: 'ordermatch' }),
        out, drills: 10, seed: 2000,
      });
      expect({ ok: s.ok, failed: s.cases.failedIds, drillsFailed: s.drills.failedSeeds }).toEqual({ ok: true, failed: [], drillsFailed: [] });
      expect(s.cases.skippedIds.map((x) => x.id)).toEqual(['LC-05', 'LC-06', 'CN-02', 'SD-03', 'RS-03']);
      for (const x of s.cases.skippedIds) expect(x.reason).toMatch(/^needs \w+: /);
      expect(s.cases.passed).toBe(SUITE.length - 5);
      expectClean(s);
      // the FIX session's records are its own: what it cannot list is said, not passed
      expect(caseRecord(out, 'LC-02').notChecked.join(' ')).toMatch(/syncDayOrders|cash/);
      recordDrills('fix', s);
    } finally {
      await acceptor.stop();
    }
  }, 240_000);
});

describe('certify catches broken adapters', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['resend-on-timeout', 'SD-03', /sent twice: the broker received sd-03-o1 2 times/],
    ['reused-exec-id', 'FL-01', /exec ids reused on different fills/],
    ['blind-trade-sync', 'CN-02', /filled by the recovery sync \(it is Submitted, cumQty 0\)/],
    ['finished-as-open', 'CN-03', /syncOpenOrders listed finished orders/],
    ['synchronous-reports', 'RP-04', /report\(s\) delivered from inside placeOrder\/cancelOrder/],
  ];
  for (const [fixture, id, why] of cases) {
    it(`${fixture}: certify fails it on ${id}`, async () => {
      const out = tmp(fixture);
      const s = await certify({ target: await moduleTarget(path.join(BROKEN, `${fixture}.mjs`)), out });
      expect(s.ok).toBe(false);
      expect(s.cases.failedIds).toContain(id);
      const rec = caseRecord(out, id);
      expect(rec.verdict).toBe('failed');
      expect(`${rec.reason} ${rec.problems.join(' ')}`).toMatch(why);
      // a failed case keeps its work (journal, broker records) for a look
      expect(fs.existsSync(path.join(out, 'work', id, 'journal'))).toBe(true);
    });
  }

  it('the CLI says NOT CERTIFIED and exits 1 for a broken adapter, certified and 0 for a good one', () => {
    const bad = tmp('cli-bad');
    const r = spawnSync(process.execPath, [CLI, 'certify', '--adapter', path.join(BROKEN, 'finished-as-open.mjs'), '--case', 'CN-03', '--out', bad], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain('NOT CERTIFIED');
    expect(r.stdout).toContain('failed cases: CN-03');
    expect(r.stderr).toMatch(/^failed +CN-03 /m);
    const good = tmp('cli-good');
    const g = spawnSync(process.execPath, [CLI, 'certify', '--adapter', 'sim', '--case', 'LC-01', '--case', 'CN-02', '--drills', '3', '--out', good], { encoding: 'utf8' });
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/^certified: sim, suite 1: cases 2 passed, 0 failed, 0 skipped; drills 3 run, 0 failed; lost 0, duplicated 0, double-counted 0$/m);
  });

  it('usage errors exit 2 with the reason', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'certify', ...args], { encoding: 'utf8' });
    expect(run('--out', '/tmp/x')).toMatchObject({ status: 2, stderr: expect.stringContaining('certify needs --adapter NAME') });
    expect(run('--adapter', 'sim')).toMatchObject({ status: 2, stderr: expect.stringContaining('certify needs --out DIR') });
    expect(run('--adapter', 'sim', '--out', '/tmp/x', '--case', 'ZZ-99')).toMatchObject({ status: 2, stderr: expect.stringContaining('no case ZZ-99') });
    expect(run('--adapter', 'sim', '--out', '/tmp/x', '--drill', '3', '--drills', '4')).toMatchObject({ status: 2, stderr: expect.stringContaining('replays one drill') });
    expect(run('--adapter', 'fix', '--out', '/tmp/x')).toMatchObject({ status: 2, stderr: expect.stringContaining('--adapter fix needs --config FILE') });
    expect(run('--adapter', '/nonexistent/adapter.mjs', '--out', '/tmp/x')).toMatchObject({ status: 2, stderr: expect.stringContaining('cannot load it') });
  });
});

describe('seeded drills', () => {
  it('a seed replays its drill exactly, and the CLI replays one drill by its seed', async () => {
    const a = await runDrill(SIM_TARGET, 212, tmp('replay-a'));
    const b = await runDrill(SIM_TARGET, 212, tmp('replay-b'));
    expect(b.steps).toEqual(a.steps);
    expect({ verdict: b.verdict, invariants: b.invariants, faults: b.faults }).toEqual({ verdict: a.verdict, invariants: a.invariants, faults: a.faults });
    expect(a.steps!.length).toBeGreaterThan(5);
    expect(a.replay).toBe('tradecore certify --adapter sim --drill 212 --out DIR');
    const out = tmp('replay-cli');
    const r = spawnSync(process.execPath, [CLI, 'certify', '--adapter', 'sim', '--drill', '212', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('cases 0 passed, 0 failed, 0 skipped; drills 1 run, 0 failed');
    expect((JSON.parse(fs.readFileSync(path.join(out, 'drills', '212.json'), 'utf8')) as CaseRecord).steps).toEqual(a.steps);
  });
});

function find(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const chromium = find('chromium') ?? find('chromium-browser') ?? find('google-chrome');
const unshare = find('unshare');
if (process.env.TRADECORE_REQUIRE_CHROMIUM === '1' && (chromium === undefined || unshare === undefined)) throw new Error('TRADECORE_REQUIRE_CHROMIUM=1 but chromium or unshare is not installed');

describe.skipIf(chromium === undefined || unshare === undefined)('the certify page in a browser with no network', () => {
  it('Chromium builds every table and row of a failing run\'s page, the failing rows marked', async () => {
    const out = tmp('page');
    const s = await certify({ target: await moduleTarget(path.join(BROKEN, 'finished-as-open.mjs')), out, only: ['LC-01', 'CN-03', 'LC-02'], drills: 2 });
    const file = path.join(out, 'index.html');
    const dom = execFileSync(
      unshare!,
      ['-n', chromium!, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(out, 'profile')}`, '--dump-dom', `file://${file}`],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(dom).toContain('<title>Certification broken: finished orders listed as open</title>');
    expect([...dom.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1])).toEqual(['Invariants', 'Cases', 'Drills']);
    const rows = [...dom.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map((m) => (m[1]!.match(/<tr>/g) ?? []).length);
    expect(rows).toEqual([1, 3, s.drills.failed]);
    expect(dom).toContain('<span class="m m-failed">failed</span>');
    expect(dom).toContain('syncOpenOrders listed finished orders');
    expect(dom).not.toMatch(/<script|<link|<img|<iframe/i);
  });
});

describe('the docs', () => {
  it('docs/certify.md and docs/go-live.md list exactly the suite\'s cases (regenerate: node dist/src/certify/docs.js)', () => {
    for (const d of DOCS) {
      const text = fs.readFileSync(path.join(ROOT, d), 'utf8');
      expect(withCaseList(text, d), `${d} is out of date: run node dist/src/certify/docs.js`).toBe(text);
      for (const c of SUITE) expect(text).toContain(`| ${c.id} |`);
    }
  });
});
