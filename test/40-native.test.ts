import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GATE_CODES, GATE_DUP, BatchBuffers } from '../src/core/gate.js';
import { createEngine } from '../src/engine.js';
import { loadNative, type NativeAddon } from '../src/native/loader.js';
import { INSTRUMENTS, NATIVE, quiet, until } from './helpers.js';
import { ManualClock, nativeNs } from '../src/core/clock.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(args: string[], env: Record<string, string>, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('native addon', () => {
  it('is built and loaded where CI expects it (TRADECORE_REQUIRE_NATIVE=1)', () => {
    if (process.env.TRADECORE_REQUIRE_NATIVE === '1') expect(NATIVE.reason).toMatch(/^loaded /);
    expect(NATIVE.addon !== undefined).toBe(NATIVE.reason.startsWith('loaded '));
  });

  it('reports which backend each path uses', () => {
    const e = createEngine({ instruments: INSTRUMENTS, logger: quiet() });
    expect(e.backend).toEqual({ submit: 'ts', submitMany: NATIVE.addon ? 'native' : 'ts', native: NATIVE.reason, clock: NATIVE.addon ? 'native' : 'performance.now' });
    const ts = createEngine({ instruments: INSTRUMENTS, logger: quiet(), backend: 'ts' });
    expect(ts.backend).toEqual({ submit: 'ts', submitMany: 'ts', native: 'backend: ts in config', clock: 'performance.now' });
    const manual = createEngine({ instruments: INSTRUMENTS, logger: quiet(), clock: new ManualClock(0) });
    expect(manual.backend.clock).toBe('injected');
  });

  it.runIf(NATIVE.addon !== undefined)('the native clock reads the monotonic clock performance.now reads, in integer ns, allocating nothing', () => {
    const read = nativeNs(NATIVE.addon!);
    const samples: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const before = performance.now() * 1e6;
      const x = read();
      const after = performance.now() * 1e6;
      // agrees with performance.now to within its calibration (one reading, well under 10 µs)
      expect(x).toBeGreaterThan(before - 10_000);
      expect(x).toBeLessThan(after + 10_000);
      samples.push(x);
    }
    expect(samples.every((x, i) => Number.isInteger(x) && (i === 0 || x >= samples[i - 1]!))).toBe(true);
    expect(() => NATIVE.addon!.clockBind(new Float64Array(0))).toThrow(/clockBind/);
    expect(() => NATIVE.addon!.clockBind([1] as unknown as Float64Array)).toThrow(/clockBind/);
  });

  it.runIf(NATIVE.addon !== undefined)('an engine on the system clock with the addon times its round trips with the native clock', async () => {
    const e = createEngine({ instruments: INSTRUMENTS, logger: quiet(), sim: { seed: 5, ackLatencyMs: 1, fillLatencyMs: 1, marketStepMs: 0, startPrices: { ACME: 10, LOTS: 20 } } });
    await e.start();
    expect(e.submit({ clientOrderId: 'n1', symbol: 'ACME', side: 'buy', qty: 100, price: 9.9 }).status).toBe('accepted');
    await until(() => e.latency().ack.count === 1, 5000, 'the ack');
    const ack = e.latency().ack;
    // a real ack after a 1 ms simulated latency: at least that, and not minutes
    expect(ack.p50).toBeGreaterThanOrEqual(900);
    expect(ack.p50).toBeLessThan(5_000_000);
    await e.stop();
  });

  describe.runIf(NATIVE.addon !== undefined)('refuses hostile arguments with a status code, never a crash', () => {
    const addon = NATIVE.addon as NativeAddon;
    const good = () => {
      const b = new BatchBuffers(8);
      const f = (n: number) => new Float64Array(n);
      return {
        idxHi: new Int32Array(16), idxLo: new Int32Array(16), idxSlots: new Int32Array(16), slotCount: 8,
        scale: f(2).fill(100), tickUnits: f(2).fill(1), qtyScale: f(2).fill(1), lotUnits: f(2).fill(1), orderFactor: f(2).fill(100), maxQty: f(2).fill(Infinity),
        maxNotional: f(2).fill(Infinity), maxPos: f(2).fill(Infinity), bandPct: f(2).fill(Infinity), limitUp: f(2).fill(Infinity),
        limitDown: f(2).fill(-Infinity), refUnits: f(2).fill(Number.NaN), bandLo: f(2).fill(Number.NaN), bandHi: f(2).fill(Number.NaN), openBuy: f(2), openSell: f(2), position: f(2),
        bandAbs: f(2).fill(Infinity), noRefRefuse: f(2), ladderStart: f(2), ladderCount: f(2), ladderFrom: f(4), ladderTick: f(4).fill(1),
        bHi: b.hashHi, bLo: b.hashLo, bInst: b.inst, bSide: b.side, bMarket: b.market, bQty: b.qty, bPrice: b.price,
        outReason: b.reason, outDup: b.dup, outUnits: b.units, outExposure: b.exposure, outAux: b.aux, codes: GATE_CODES,
        b,
      };
    };

    it('createGate: missing, mistyped and mis-sized arrays', () => {
      expect(typeof addon.createGate(good())).toBe('object');
      expect(addon.createGate(undefined as never)).toBe(-1);
      const cases: Array<Record<string, unknown>> = [
        { idxHi: undefined },
        { idxHi: new Uint32Array(16) },
        { idxSlots: new Int32Array(12), idxHi: new Int32Array(12), idxLo: new Int32Array(12) }, // not a power of two
        { scale: new Float64Array(3) },
        { bQty: new Float64Array(7) },
        { codes: new Uint8Array(3) },
        { slotCount: -1 },
        { slotCount: 'many' },
        { openBuy: [0, 0] },
        { ladderStart: Float64Array.from([0, 3]), ladderCount: Float64Array.from([1, 2]) }, // rungs 3..4 of 4
        { ladderCount: Float64Array.from([1, 0]), ladderTick: new Float64Array(4) }, // a zero tick
        { ladderFrom: new Float64Array(0), ladderTick: new Float64Array(0) },
      ];
      for (const c of cases) expect(addon.createGate({ ...good(), ...c }), JSON.stringify(Object.keys(c))).toBe(-2);
    });

    it('runGate: bad handle, count, instrument index and side', () => {
      const g = good();
      const handle = addon.createGate(g);
      expect(addon.runGate({}, 1)).toBe(-1);
      expect(addon.runGate(handle, -1)).toBe(-4);
      expect(addon.runGate(handle, 9)).toBe(-4);
      expect(addon.runGate(handle, Number.NaN)).toBe(-4);
      expect(addon.runGate(handle, 2 ** 40)).toBe(-4);
      g.b.reason.fill(0);
      g.b.side.fill(1);
      g.b.inst[3] = 2; // one past the last instrument
      expect(addon.runGate(handle, 8)).toBe(-5);
      g.b.inst[3] = -1;
      expect(addon.runGate(handle, 8)).toBe(-5);
      g.b.inst[3] = 0;
      g.b.side[5] = 0;
      expect(addon.runGate(handle, 8)).toBe(-6);
      g.b.side[5] = -1;
      g.b.qty.fill(1);
      g.b.price.fill(1);
      g.b.hashHi.set([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(addon.runGate(handle, 8)).toBe(0);
      expect(Array.from(g.b.reason)).toEqual(new Array(8).fill(0));
      // the same ids again: each is now a candidate duplicate of its twin earlier in the batch
      g.b.reason.fill(0);
      g.b.hashHi.set([1, 1, 2, 2, 3, 3, 4, 4]);
      expect(addon.runGate(handle, 8)).toBe(0);
      expect(Array.from(g.b.reason)).toEqual([0, GATE_DUP, 0, GATE_DUP, 0, GATE_DUP, 0, GATE_DUP]);
      expect(Array.from(g.b.dup)).toEqual([-1, -2, -1, -4, -1, -6, -1, -8]);
      expect(addon.runGate(handle, 0)).toBe(0);
    });

    it('never reports a slot beyond the table from a corrupted index', () => {
      const g = good();
      g.idxSlots[5] = 1000; // slot + 1 far beyond slotCount
      g.idxHi[5] = 7;
      g.idxLo[5] = 2; // bucket (7 ^ 2) & 15 = 5
      const handle = addon.createGate(g);
      g.b.reason.fill(0);
      g.b.side.fill(1);
      g.b.qty.fill(1);
      g.b.price.fill(1);
      g.b.hashHi[0] = 7;
      g.b.hashLo[0] = 2;
      expect(addon.runGate(handle, 1)).toBe(0);
      expect(g.b.reason[0]).not.toBe(GATE_DUP);
    });
  });

  describe('without the addon', () => {
    const probe = `
      import { createEngine } from './dist/src/index.js';
      const instruments = [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }];
      const a = createEngine({ instruments });
      const b = createEngine({ instruments });
      await a.start();
      const r = a.submitMany([{ clientOrderId: 'x', symbol: 'A', side: 'buy', qty: 1, price: 1 }, { clientOrderId: 'x', symbol: 'A', side: 'buy', qty: 1, price: 1 }]);
      console.log(JSON.stringify({ backend: a.backend.submitMany, other: b.backend.submitMany, statuses: r.map((x) => x.status) }));
      await a.stop();`;

    it('runs on TypeScript when the addon path is hidden, and says so once in its log', async () => {
      const r = await run(['--input-type=module', '-e', probe], { TRADECORE_NATIVE_PATH: '/nonexistent/tradecore.node', TRADECORE_NATIVE: '' });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ backend: 'ts', other: 'ts', statuses: ['accepted', 'duplicate'] });
      const warnings = r.stderr.split('\n').filter((l) => l.includes('native addon unavailable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('cannot load /nonexistent/tradecore.node');
    });

    it('TRADECORE_NATIVE=0 forces TypeScript', async () => {
      const r = await run(['--input-type=module', '-e', probe], { TRADECORE_NATIVE: '0' });
      expect(JSON.parse(r.stdout).backend).toBe('ts');
      expect(r.stderr).toContain('disabled by TRADECORE_NATIVE=0');
    });

    it('a backend: native config without the addon is refused with the reason', () => {
      const prev = process.env.TRADECORE_NATIVE;
      process.env.TRADECORE_NATIVE = '0';
      try {
        expect(() => createEngine({ instruments: INSTRUMENTS, logger: quiet(), backend: 'native' })).toThrow('backend: native requested but the addon is unavailable: disabled by TRADECORE_NATIVE=0');
        expect(loadNative().addon).toBeUndefined();
      } finally {
        if (prev === undefined) delete process.env.TRADECORE_NATIVE;
        else process.env.TRADECORE_NATIVE = prev;
      }
    });

    it('install succeeds when the compiler is missing: the build step reports and exits 0', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tradecore-nocc-'));
      try {
        for (const f of ['binding.gyp', 'native', 'package.json']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
        symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
        const r = await run([join(dir, 'native', 'build.mjs')], { CXX: '/nonexistent/c++', CC: '/nonexistent/cc' }, dir);
        expect(r.code).toBe(0);
        expect(r.stdout + r.stderr).toContain('native addon not built');
        expect(existsSync(join(dir, 'build', 'Release', 'tradecore.node'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
