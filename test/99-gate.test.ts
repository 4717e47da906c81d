/**
 * The go-live gate (docs/go-live.md) on evidence produced here, through the CLI: a certify run,
 * an accelerated trading day (`tradecore run --clock accelerated=1440 --until-roll`) with its
 * alert journal, and the rollback drill. The gate passes on the complete directory, and refuses
 * with the right reason when each piece is removed or spoiled in turn. A rollout stage that names
 * the gate in its evidence cannot be promoted until it passes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateGate, type GateDecision, type GateOptions } from '../src/certify/gate.js';
import { createEngine } from '../src/engine.js';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { parseClockSpec } from '../src/core/clock.js';
import { checkConfig } from '../src/config-file.js';
import { spawnCli } from './run-helpers.js';
import { quiet } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY_CONFIG = path.join(ROOT, 'docs', 'accelerated-day.yaml');

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnCli(args, env);
  const code = await r.exited;
  return { code, out: r.lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'), err: r.stderr() };
}

/** The day's config as the gate reads it (docs/accelerated-day.yaml's day, markets and recon interval). */
const DAY: Partial<GateOptions> = {
  tradingDay: { rollAt: '00:00', timeZone: 'UTC' }, markets: { EVE: { timeZone: 'UTC', sessions: [['20:00', '23:00']] } }, reconIntervalMs: 600_000,
};

describe('the go-live gate', () => {
  let base: string;
  let evidence: string;
  let n = 0;
  /** A copy of the complete evidence to spoil (the release directories of the drill stay shared). */
  const copy = () => {
    const d = path.join(base, `copy-${++n}`);
    fs.cpSync(evidence, d, { recursive: true });
    return d;
  };
  const gate = (dir: string, extra: Partial<GateOptions> = {}): GateDecision => evaluateGate({ ...DAY, evidence: dir, ...extra });
  const failing = (d: GateDecision) => Object.fromEntries(d.lines.filter((l) => !l.pass).map((l) => [l.line, l.reasons.join(' | ')]));

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-gate-'));
    evidence = path.join(base, 'evidence');
    fs.mkdirSync(evidence);
    const [c, day, drill] = await Promise.all([
      cli(['certify', '--adapter', 'sim', '--out', path.join(evidence, 'certify'), '--drills', '20']),
      cli(['run', '--config', DAY_CONFIG, '--strategy', path.join(ROOT, 'examples', 'strategy.mjs'), '--data', path.join(evidence, 'day'), '--clock', 'accelerated=1440,start=2026-12-01T19:30:00Z', '--until-roll'], { STRATEGY_EVERY_MS: '60000', TRADECORE_LOG_LEVEL: 'error' }),
      cli(['release', 'drill', '--work', path.join(base, 'drill'), '--out', path.join(evidence, 'rollback-drill.json')]),
    ]);
    expect(c.code, c.err).toBe(0);
    expect(day.code, day.err).toBe(0);
    expect(day.err).toContain('the trading day 2026-12-01 rolled; its end-of-day report:');
    expect(drill.code, drill.err + drill.out).toBe(0);
  }, 240_000);
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('passes on the complete evidence, line by line, and writes its decision with the hash of every file it read', async () => {
    const r = await cli(['gate', '--evidence', evidence, '--config', DAY_CONFIG]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('go-live gate, release 0.1.0, adapter sim: PASS');
    for (const l of ['9.1', '9.2', '9.3', '9.4']) expect(r.out).toMatch(new RegExp(`^PASS ${l.replace('.', '\\.')} `, 'm'));
    expect(r.out).toMatch(/day 2026-12-01: covered from its open 2026-12-01T20:00:00\.000Z to its roll 2026-12-02T00:00:00\.000Z/);
    expect(r.out).toMatch(/reconciliation: 2[3-5] runs during 2026-12-01, interval 600 s/);
    const d = JSON.parse(fs.readFileSync(path.join(evidence, 'gate.json'), 'utf8')) as GateDecision;
    expect(d).toMatchObject({ gate: 1, pass: true, release: '0.1.0', adapter: 'sim' });
    const names = d.files.map((f) => f.path);
    expect(names).toEqual(expect.arrayContaining(['certify/summary.json', 'certify/cases/LC-01.json', 'rollback-drill.json', 'day/alerts.jsonl', 'day/reports/recon-2026-12-01.json']));
    expect(names.some((p) => /^day\/journal\/journal-\d+\.tcj$/.test(p))).toBe(true);
    for (const f of d.files) {
      const file = path.isAbsolute(f.path) ? f.path : path.join(evidence, f.path);
      expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), f.path).toBe(f.sha256);
    }
    expect(fs.readFileSync(path.join(evidence, 'gate.html'), 'utf8')).toContain('<span class="m m-pass">pass</span>');
  });

  it('9.1: refuses without the certify summary, with a failed or edited case record, when it is too old, of another release, or a required case was skipped', () => {
    let d = copy();
    fs.rmSync(path.join(d, 'certify', 'summary.json'));
    // without it the adapter is unknown, so the day cannot be matched to one either
    expect(failing(gate(d))).toEqual({ '9.1': expect.stringMatching(/^the certify summary .*summary\.json is missing$/), '9.2': expect.stringContaining('not adapter (unknown)') });

    d = copy();
    const rec = path.join(d, 'certify', 'cases', 'CN-02.json');
    fs.writeFileSync(rec, JSON.stringify({ ...JSON.parse(fs.readFileSync(rec, 'utf8')), verdict: 'failed', reason: 'edited' }));
    expect(failing(gate(d))['9.1']).toContain('case CN-02 failed: edited');

    d = copy();
    fs.rmSync(path.join(d, 'certify', 'cases', 'RS-01.json'));
    expect(failing(gate(d))['9.1']).toMatch(/case record RS-01 .* is missing/);

    expect(failing(gate(evidence, { now: Date.now() + 8 * 86_400_000 }))['9.1']).toMatch(/the certify run finished 19\d\.\d h ago, more than the 168 h allowed/);
    expect(failing(gate(evidence, { maxCertifyAgeHours: 1, now: Date.now() + 2 * 3_600_000 }))['9.1']).toMatch(/more than the 1 h allowed/);

    d = copy();
    const sum = path.join(d, 'certify', 'summary.json');
    const s = JSON.parse(fs.readFileSync(sum, 'utf8'));
    fs.writeFileSync(sum, JSON.stringify({ ...s, cases: { ...s.cases, passed: s.cases.passed - 1, skipped: 1, skippedIds: [{ id: 'LC-05', reason: 'needs reject' }] } }));
    fs.writeFileSync(path.join(d, 'certify', 'cases', 'LC-05.json'), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(d, 'certify', 'cases', 'LC-05.json'), 'utf8')), verdict: 'skipped' }));
    expect(gate(d).lines[0]!.pass).toBe(true);
    expect(failing(gate(d, { requiredCases: ['LC-05'] }))['9.1']).toBe('required case LC-05 was skipped (gate.requiredCases)');
    // the summary says all passed, the records do not agree
    fs.writeFileSync(sum, JSON.stringify(s));
    expect(failing(gate(d))['9.1']).toMatch(/the case records \(22 passed, 1 skipped\) do not match the summary \(23 passed, 0 skipped\)/);

    const other = failing(gate(evidence, { release: '9.9.9' }));
    expect(Object.keys(other)).toEqual(['9.1', '9.2', '9.4']);
    expect(other['9.1']).toContain('the certify run is of release 0.1.0, not 9.9.9');
    expect(other['9.2']).toContain('ran on release 0.1.0, not 9.9.9');
    expect(other['9.4']).toContain('the rollback drill is of release 0.1.0, not 9.9.9');
    expect(failing(gate(evidence, { adapter: 'fix' }))).toMatchObject({ '9.1': expect.stringContaining('the certify run is of adapter sim, the gate is for fix'), '9.2': expect.stringContaining('ran on broker sim, not adapter fix') });
  });

  it('9.2: refuses without the journal, without or with an unclean end-of-day report, a day not covered from its open, recon off schedule, a damaged journal', () => {
    let d = copy();
    fs.rmSync(path.join(d, 'day', 'journal'), { recursive: true });
    expect(failing(gate(d))['9.2']).toMatch(/^no journal at .*day\/journal/);

    d = copy();
    fs.rmSync(path.join(d, 'day', 'reports', 'recon-2026-12-01.json'));
    expect(failing(gate(d))).toEqual({ '9.2': expect.stringMatching(/the end-of-day report of 2026-12-01 \(.*\) is missing/) });

    d = copy();
    const rep = path.join(d, 'day', 'reports', 'recon-2026-12-01.json');
    const r = JSON.parse(fs.readFileSync(rep, 'utf8'));
    r.totals.diffs.open = 2;
    fs.writeFileSync(rep, JSON.stringify(r));
    expect(failing(gate(d))['9.2']).toContain('the end-of-day report of 2026-12-01: 2 diff(s) unresolved');

    // a session that opens before the journal begins (19:55): the day is not covered from its open
    expect(failing(gate(evidence, { markets: { EVE: { timeZone: 'UTC', sessions: [['19:00', '23:00']] } } }))['9.2']).toMatch(/no complete trading day: day 2026-12-01: the journal begins at 2026-12-01T19:[345]\d.*, after the day's open 2026-12-01T19:00:00\.000Z/);
    // reconciliation every ten minutes is not on a one-minute schedule
    expect(failing(gate(evidence, { reconIntervalMs: 60_000 }))['9.2']).toMatch(/reconciliation was not on schedule: a gap of \d+ s, more than twice the 60 s interval/);

    d = copy();
    const seg = fs.readdirSync(path.join(d, 'day', 'journal')).find((f) => f.endsWith('.tcj'))!;
    const file = path.join(d, 'day', 'journal', seg);
    const buf = fs.readFileSync(file);
    buf.fill(0xff, 2000, 2100);
    fs.writeFileSync(file, buf);
    expect(failing(gate(d))['9.2']).toContain('the journal is damaged');
  });

  it('9.3: refuses without the alert journal, with a P0 or P1 alert left open, or with a line that is not an alert event', () => {
    let d = copy();
    fs.rmSync(path.join(d, 'day', 'alerts.jsonl'));
    expect(failing(gate(d))).toEqual({ '9.3': expect.stringMatching(/^the alert journal .*alerts\.jsonl is missing$/) });

    d = copy();
    const alert = { id: 'CONNECTION_DOWN-9', code: 'CONNECTION_DOWN', level: 'P0', key: '', message: 'not Ready for 300 s', clientOrderIds: [], firstSeen: 1, lastSeen: 1, count: 1, state: 'open' };
    fs.appendFileSync(path.join(d, 'day', 'alerts.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), type: 'opened', alert })}\n`);
    expect(failing(gate(d))).toEqual({ '9.3': 'open P0 alert CONNECTION_DOWN-9: not Ready for 300 s' });
    // acknowledged by an operator: closed
    fs.appendFileSync(path.join(d, 'day', 'alerts.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), type: 'acknowledged', alert: { ...alert, state: 'acknowledged' } })}\n`);
    expect(failing(gate(d))).toEqual({});

    d = copy();
    fs.appendFileSync(path.join(d, 'day', 'alerts.jsonl'), 'not json\n');
    expect(failing(gate(d))['9.3']).toMatch(/lines that are not alert events: \d+/);
  });

  it('9.4: refuses without the drill record, with a failed drill, or when a release it names is gone', () => {
    let d = copy();
    fs.rmSync(path.join(d, 'rollback-drill.json'));
    expect(failing(gate(d))).toEqual({ '9.4': expect.stringMatching(/^the rollback drill record .* is missing$/) });

    d = copy();
    const f = path.join(d, 'rollback-drill.json');
    const rec = JSON.parse(fs.readFileSync(f, 'utf8'));
    fs.writeFileSync(f, JSON.stringify({ ...rec, ok: false, problems: ['positions differ'] }));
    expect(failing(gate(d))['9.4']).toContain('the rollback drill failed: positions differ');

    d = copy();
    const moved = path.join(rec.root, 'releases', rec.releases['N+1']);
    fs.renameSync(moved, `${moved}.away`);
    try {
      expect(failing(gate(d))['9.4']).toMatch(/release 0\.1\.0-N1 \(N\+1\) of the drill is gone/);
    } finally {
      fs.renameSync(`${moved}.away`, moved);
    }
  });

  it('the CLI exits 1 when a line fails, and says which', async () => {
    const d = copy();
    fs.rmSync(path.join(d, 'rollback-drill.json'));
    const r = await cli(['gate', '--evidence', d, '--config', DAY_CONFIG]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL 9\.4 the rollback plan tested and executable$/m);
    expect(r.out).toMatch(/why: {2}the rollback drill record .* is missing/);
    expect((await cli(['gate'])).code).toBe(2);
  });

  it('a rollout stage that names the gate is promoted only once the gate passes', async () => {
    const spoiled = copy();
    fs.rmSync(path.join(spoiled, 'day', 'alerts.jsonl'));
    const instruments = [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }];
    const engine = createEngine({
      instruments, broker: new SimBroker({ instruments, seed: 1 }), logger: quiet(), connection: { heartbeatMs: 0 },
      rollout: { stages: [{ name: 'canary', promoteAfter: { gate: { evidence: spoiled } } }, { name: 'full' }] },
    });
    await engine.start();
    try {
      expect(engine.promoteRollout({ note: 'go' })).toEqual({ ok: false, missing: [expect.stringContaining('gate: no gate check is attached')] });
      engine.attachGate((ev) => evaluateGate({ ...DAY, evidence: ev.evidence }).lines.filter((l) => !l.pass).flatMap((l) => l.reasons.map((x) => `${l.line} ${x}`)));
      const refused = engine.promoteRollout({ note: 'go' });
      expect(refused).toEqual({ ok: false, missing: [expect.stringMatching(/^gate: 9\.3 the alert journal .* is missing$/)] });
      expect(engine.rolloutStatus()!.promotion.allowed).toBe(false);
      fs.copyFileSync(path.join(evidence, 'day', 'alerts.jsonl'), path.join(spoiled, 'day', 'alerts.jsonl'));
      expect(engine.promoteRollout({ note: 'the gate passes' })).toEqual({ ok: true, from: 'canary', to: 'full' });
    } finally {
      await engine.stop();
    }
    expect(checkConfig({ instruments, rollout: { stages: [{ name: 'a', promoteAfter: { gate: { evidence: 'e', bogus: 1 } } }] } }).problems.join(' ')).toContain('bogus');
  });
});

describe('tradecore run --clock', () => {
  it('an accelerated clock runs N times the wall clock from its start; bad specs are refused', () => {
    const c = parseClockSpec('accelerated=3600,start=2026-12-01T00:00:00Z');
    expect(Math.abs(c.now() - Date.parse('2026-12-01T00:00:00Z'))).toBeLessThan(3_600_000);
    expect(() => parseClockSpec('accelerated=0')).toThrow(/from 1 to 100000/);
    expect(() => parseClockSpec('fast')).toThrow(/system or accelerated=N/);
    expect(() => parseClockSpec('accelerated=60,start=yesterday')).toThrow(/not an ISO 8601 time/);
  });

  it('refuses an accelerated clock with a broker that keeps wall time, and a bad spec, with exit 2', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-clock-'));
    try {
      const cfg = path.join(dir, 'c.yaml');
      fs.writeFileSync(cfg, 'instruments:\n  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }\nenvironment: sim\nbroker: { kind: tcp-sim, port: 1 }\nops: { port: 0 }\n');
      const r = await cli(['run', '--config', cfg, '--data', path.join(dir, 'd'), '--clock', 'accelerated=60'], { TRADECORE_SIM_ACCOUNT: 'a', TRADECORE_SIM_SECRET: 'secret-0123456789' });
      expect(r.code).toBe(2);
      expect(r.err).toContain('an accelerated clock runs with the embedded simulated broker only');
      const bad = await cli(['run', '--config', cfg, '--clock', 'warp']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--clock must be system or accelerated=N');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
