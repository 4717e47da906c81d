/** Config snapshots (src/cli/config-store.ts): one per content, the history of uses, hash prefixes, the diff. */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigStore, ConfigStoreError, configHash } from '../src/cli/config-store.js';
import { loadConfigFile } from '../src/config-file.js';

describe('config snapshots', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tc-cfgstore-'));
    dirs.push(d);
    return d;
  };

  it('the same config in YAML with comments and in JSON with other key order has one hash', () => {
    const d = tmp();
    writeFileSync(path.join(d, 'a.yaml'), '# desk A\ninstruments:\n  - { symbol: A, tickSize: 0.01, pricePrecision: 2 }\nrisk: { default: { maxOrderQty: 10 } }\n');
    writeFileSync(path.join(d, 'b.json'), JSON.stringify({ risk: { default: { maxOrderQty: 10 } }, instruments: [{ pricePrecision: 2, tickSize: 0.01, symbol: 'A' }] }));
    const a = loadConfigFile(path.join(d, 'a.yaml')).config!;
    const b = loadConfigFile(path.join(d, 'b.json')).config!;
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(configHash({ ...a, risk: { default: { maxOrderQty: 11 } } })).not.toBe(configHash(a));
  });

  it('keeps one snapshot per content and a line per use; resolves prefixes; diffs path by path', () => {
    const store = new ConfigStore(tmp());
    const one = { instruments: [{ symbol: 'A' }, { symbol: 'B' }], risk: { default: { maxOrderQty: 10 } } };
    const two = { instruments: [{ symbol: 'A' }], risk: { default: { maxOrderQty: 20, maxNotional: 5 } }, ops: { port: 7401 } };
    const h1 = store.record(one, 'start', 'x.yaml', new Date('2026-12-01T10:00:00Z'));
    const h2 = store.record(two, 'reload', 'x.yaml', new Date('2026-12-01T11:00:00Z'));
    expect(store.record(one, 'start', 'x.yaml', new Date('2026-12-02T10:00:00Z'))).toBe(h1);
    expect(store.history().map((e) => [e.hash, e.reason, e.at])).toEqual([[h1, 'start', '2026-12-01T10:00:00.000Z'], [h2, 'reload', '2026-12-01T11:00:00.000Z'], [h1, 'start', '2026-12-02T10:00:00.000Z']]);
    expect(store.resolve(h1.slice(0, 5))).toBe(h1);
    expect(store.load(h2)).toEqual(two);
    expect(store.diff(h1, h2)).toEqual([
      { path: 'instruments[1]', from: { symbol: 'B' }, to: undefined },
      { path: 'ops', from: undefined, to: { port: 7401 } },
      { path: 'risk.default.maxNotional', from: undefined, to: 5 },
      { path: 'risk.default.maxOrderQty', from: 10, to: 20 },
    ]);
    expect(store.diff(h1, h1)).toEqual([]);
    expect(() => store.resolve('zz')).toThrow(ConfigStoreError);
    expect(() => store.resolve('0000000000000000')).toThrow(/no config snapshot/);
  });

  it('an ambiguous prefix is refused naming both; a history line cut by a crash is skipped, a bad one elsewhere is an error', () => {
    const root = tmp();
    const store = new ConfigStore(root);
    // find two configs whose hashes share a first digit
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const h = store.record({ n: i }, 'start', 'x');
      const other = seen.get(h.slice(0, 4));
      if (other !== undefined) pair = [other, h];
      seen.set(h.slice(0, 4), h);
    }
    expect(() => store.resolve(pair![0].slice(0, 4))).toThrow(/names 2 snapshots/);
    const n = store.history().length;
    appendFileSync(path.join(root, 'config', 'history.jsonl'), '{"hash":"ab');
    expect(store.history()).toHaveLength(n);
    appendFileSync(path.join(root, 'config', 'history.jsonl'), '\n{"hash":"cd","at":"x","reason":"start","file":"f"}\n');
    expect(() => store.history()).toThrow(/line \d+ is not JSON/);
  });
});
