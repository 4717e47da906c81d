import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConfig, engineConfigOf, loadConfigFile } from '../src/config-file.js';
import { PATHS, harness as baseHarness, quiet, type SubmitPath } from './helpers.js';
import { createEngine } from '../src/engine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'docs', 'example-config.yaml');
const dir = mkdtempSync(join(tmpdir(), 'tradecore-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );

describe('config files', () => {
  it('the shipped example is valid', () => {
    const r = loadConfigFile(EXAMPLE);
    expect(r.problems).toEqual([]);
    expect(r.config?.instruments).toHaveLength(3);
  });

  it('takes a journal section, checked like the engine checks it', () => {
    const ok = checkConfig({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }], journal: { dir: '/var/lib/tradecore', durability: 'fsync', segmentBytes: 1 << 20 } });
    expect(ok.problems).toEqual([]);
    expect(ok.config?.journal).toEqual({ dir: '/var/lib/tradecore', durability: 'fsync', segmentBytes: 1 << 20 });
    const bad = checkConfig({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }], journal: { dir: 'j', durability: 'often', segmentBytes: 100 } });
    expect(bad.problems).toEqual(['journal.durability: Invalid option: expected one of "group"|"fsync"', 'journal.segmentBytes: must be an integer from 65536 to 4294967296']);
    const small = checkConfig({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }], journal: { dir: 'j', segmentBytes: 100 } });
    expect(small.problems).toEqual(['journal.segmentBytes: must be an integer from 65536 to 4294967296']);
  });

  it('takes a recon section: the policy of the example reaches the engine; bad values are named', () => {
    const r = loadConfigFile(EXAMPLE);
    expect(r.config?.recon).toEqual({ intervalMs: 60000, graceMs: 5000, cashTolerance: 0.01, policy: { MISSING_AT_BROKER: { winner: 'manual', onCritical: 'reduce' }, POSITION_MISMATCH: { winner: 'broker' } } });
    const engine = createEngine({ ...engineConfigOf(r.config!), logger: quiet() });
    expect(engine.recon.config.policy.MISSING_AT_BROKER).toEqual({ winner: 'manual', severity: 'critical', onCritical: 'reduce' });
    expect(engine.recon.config.intervalMs).toBe(60000);
    const bad = checkConfig({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }], recon: { intervalMs: 50, policy: { CASH_MISMATCH: { winner: 'nobody' } } } });
    expect(bad.problems).toEqual(['recon.policy.CASH_MISMATCH.winner: Invalid option: expected one of "broker"|"local"|"manual"', 'recon.intervalMs: must be 0 (on demand only) or at least 100']);
    const tooOften = checkConfig({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }], recon: { intervalMs: 50 } });
    expect(tooOften.problems).toEqual(['recon.intervalMs: must be 0 (on demand only) or at least 100']);
  });

  it('reports every shape problem at once, each with its path (zod)', () => {
    const r = checkConfig({
      instruments: [{ symbol: 'A', tickSize: -1, pricePrecision: 2.5 }, { symbol: '', tickSize: 0.01, pricePrecision: 2, colour: 'red' }],
      risk: { default: { maxOrderQty: 'lots' }, account: { ordersPerSecond: 0 } },
      markets: { X: { timeZone: 'UTC', sessions: [['9:30', '16:00']] } },
      capacity: 1.5,
      surprise: true,
    });
    expect(r.config).toBeUndefined();
    expect(r.problems).toEqual([
      'instruments[0].tickSize: Too small: expected number to be >0',
      'instruments[0].pricePrecision: Invalid input: expected int, received number',
      'instruments[1].symbol: Too small: expected string to have >=1 characters',
      'instruments[1].colour: unknown option',
      'risk.default.maxOrderQty: Invalid input: expected number, received string',
      'risk.account.ordersPerSecond: Too small: expected number to be >0',
      'markets.X.sessions[0][0]: must be "HH:MM" (24-hour local time)',
      'capacity: Invalid input: expected int, received number',
      'surprise: unknown option',
    ]);
  });

  it('a FIX broker section: what it needs, what is only for FIX, and status requests that its version cannot ask', () => {
    const instruments = [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }];
    expect(checkConfig({ instruments, environment: 'sim', broker: { kind: 'fix', port: 5001, beginString: 'FIX.4.4', senderCompId: 'TC', targetCompId: 'V', statusRequests: 'mass' } }).problems).toEqual([]);
    expect(checkConfig({ instruments, environment: 'sim', broker: { kind: 'fix', beginString: 'FIX.4.2', senderCompId: 'TC', targetCompId: 'V', statusRequests: 'mass' } }).problems).toEqual([
      'broker.port: a FIX broker needs it',
      'broker.statusRequests: "mass" (OrderMassStatusRequest) is FIX 4.4 only; use "order" with FIX.4.2',
    ]);
    expect(checkConfig({ instruments, broker: { kind: 'fix', port: 5001, beginString: 'FIX.4.2', senderCompId: 'TC', targetCompId: 'V', statusRequests: 'sometimes' } }).problems[0]).toMatch(/^broker\.statusRequests: /);
    expect(checkConfig({ instruments, broker: { kind: 'tcp-sim', port: 7000, statusRequests: 'order' } }).problems).toEqual(['broker.statusRequests: only for kind fix']);
  });

  it('reports in one pass: the shape problems and what the engine checks beyond them together, in one spelling of paths', () => {
    // a new user fixed 11 problems and 6 more appeared: now every one is there at once
    const r = checkConfig({
      instruments: [{ symbol: 'A', tickSize: 0.015, pricePrecision: 2, market: 'NOPE' }, { symbol: 'A', tickSize: -1, pricePrecision: 2 }],
      capacity: 1000,
      risk: { default: { maxOrderQty: -5 } },
      tradingDay: { timeZone: 'Mars/Base' },
      broker: { kind: 'tcp-sim' },
      colour: 'red',
    });
    expect(r.config).toBeUndefined();
    expect(r.problems).toEqual([
      'instruments[1].tickSize: Too small: expected number to be >0',
      'risk.default.maxOrderQty: Too small: expected number to be >=0',
      'colour: unknown option',
      'instruments[0].tickSize: 0.015 is not a whole number of price units at precision 2',
      'instruments[1].symbol: duplicate symbol A',
      'capacity: must be a power of two from 2 to 16777216, got 1000',
      'tradingDay.timeZone: unknown time zone "Mars/Base"',
      'instruments[0].market: no market NOPE in markets',
      'broker.port: the TCP simulated broker needs a port',
    ]);
    // every path is spelled the engine's way: brackets for array indexes
    for (const p of r.problems) expect(p.slice(0, p.indexOf(": "))).not.toMatch(/\.\d/);
  });

  it('then checks what a schema cannot see: tick units, duplicates, names, zones', () => {
    const r = checkConfig({
      instruments: [{ symbol: 'A', tickSize: 0.001, pricePrecision: 2 }, { symbol: 'A', tickSize: 0.01, pricePrecision: 2, market: 'M' }],
      risk: { perSymbol: { B: { maxOrderQty: 1 } } },
      markets: { N: { timeZone: 'Nowhere/City', sessions: [['10:00', '09:00']] } },
      capacity: 1000,
    });
    expect(r.problems).toEqual([
      'instruments[0].tickSize: 0.001 is not a whole number of price units at precision 2',
      'instruments[1].symbol: duplicate symbol A',
      'capacity: must be a power of two from 2 to 16777216, got 1000',
      'risk.perSymbol.B: not a configured instrument',
      'markets.N.timeZone: unknown time zone Nowhere/City',
      'markets.N.sessions[0]: ends at or before it starts (10:00-09:00)',
      'instruments[1].market: no market M in markets',
    ]);
  });

  it('reads JSON and YAML, and reports unreadable or malformed files', () => {
    expect(loadConfigFile(file('ok.json', JSON.stringify({ instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }] }))).problems).toEqual([]);
    expect(loadConfigFile(file('ok.yml', 'instruments:\n  - { symbol: A, tickSize: 0.01, pricePrecision: 2 }\n')).problems).toEqual([]);
    expect(loadConfigFile(file('bad.json', '{ "instruments": [ }')).problems[0]).toMatch(/bad\.json: not valid JSON: /);
    expect(loadConfigFile(file('bad.yaml', 'instruments: [\n')).problems[0]).toMatch(/bad\.yaml: not valid YAML: /);
    expect(loadConfigFile(join(dir, 'missing.yaml')).problems[0]).toMatch(/missing\.yaml: cannot read: ENOENT/);
  });

  it('tradecore config check FILE: exit 0 valid, 1 with the problems, 2 for a bad command line', async () => {
    const ok = await cli(['config', 'check', EXAMPLE]);
    expect(ok).toMatchObject({ code: 0, stdout: `${EXAMPLE}: valid (3 instruments, 2 markets)\n` });
    const bad = await cli(['config', 'check', file('two.json', JSON.stringify({ instruments: [{ symbol: 'A', tickSize: 0, pricePrecision: 2 }], capacity: 'x' }))]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('2 problem(s)');
    expect(bad.stdout).toContain('  - instruments[0].tickSize: Too small: expected number to be >0');
    const json = await cli(['config', 'check', EXAMPLE, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ file: EXAMPLE, valid: true, problems: [] });
    const usage = await cli(['config', 'lint', EXAMPLE]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: tradecore config check FILE [--json]');
  });
});

describe.each(PATHS)('reloadRisk on the %s path', (path: SubmitPath) => {
  const buy = (id: string, qty: number) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty, price: 10 });

  it('swaps limits atomically; a bad config is refused and the old limits stay', async () => {
    const { engine } = await baseHarness({ risk: { default: { maxOrderQty: 100 }, account: { maxOpenOrders: 3 } } }, path);
    expect(engine.submit(buy('a', 100)).status).toBe('accepted');
    expect(engine.submit(buy('b', 101))).toMatchObject({ reason: 'MAX_ORDER_QTY' });
    const bad = engine.reloadRisk({ default: { maxOrderQty: -5 }, perSymbol: { ZZZ: {} } });
    expect(bad).toEqual({ ok: false, problems: ['risk.default.maxOrderQty: must be a number >= 0', 'risk.perSymbol.ZZZ: not a configured instrument'] });
    expect(engine.submit(buy('b', 101))).toMatchObject({ reason: 'MAX_ORDER_QTY', detail: 'symbol=ACME qty=101 limit=100' });
    expect(engine.reloadRisk({ default: { maxOrderQty: 500 }, account: { maxOpenOrders: 2 } })).toEqual({ ok: true });
    expect(engine.submit(buy('b', 101)).status).toBe('accepted');
    // the open count carried over: two open now, at the new account limit
    expect(engine.submit(buy('c', 1))).toMatchObject({ reason: 'MAX_OPEN_ORDERS', detail: 'symbol=ACME scope=account open=2 limit=2' });
  });
});
