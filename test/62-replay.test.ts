import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import type { Trade } from '../src/domain/report.js';
import { parseReplay, runReplay, type ReplayResult } from '../src/journal/replay.js';
import { compactSegments } from '../src/journal/compaction.js';
import { progressLine } from '../src/cli/replay-command.js';
import { INSTRUMENTS, NO_HEARTBEAT, ScriptedBroker, quiet } from './helpers.js';

const FIX = path.join(import.meta.dirname, 'fixtures', 'replay');
const fixture = (name: string) => path.join(FIX, name);
const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-replay-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function replay(file: string, threshold?: number): Promise<ReplayResult> {
  return runReplay(await parseReplay(file, threshold));
}
/** What an end state is judged on: order lines, trades, positions, report counts. */
function endState(r: ReplayResult) {
  return {
    orders: r.orders.map((o) => [o.clientOrderId, o.brokerOrderId, o.symbol, o.side, o.qty, o.status, o.cumQty, Number.isNaN(o.avgPx) ? null : +o.avgPx.toFixed(6), o.external]),
    trades: r.trades.map((t) => [t.tradeId, t.clientOrderId, t.side, t.qty, t.price]),
    positions: r.positions.filter((p) => p.qty !== 0 || p.realizedPnl !== 0).map((p) => [p.symbol, p.qty, +p.avgPx.toFixed(6), +p.realizedPnl.toFixed(6)]),
    dup: r.stats.duplicateReports,
    stale: r.stats.staleReports,
    unknown: r.stats.unknownOrders,
    invalid: r.stats.invalidTransitions,
  };
}
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', 'replay', ...args], { encoding: 'utf8' });

describe('replay of the sample event files: the exact end state', () => {
  it('partial fills: average prices, the working remainder, realized P&L on the partial sell', async () => {
    const r = await replay(fixture('partial-fills.jsonl'));
    expect(r.problems).toEqual([]);
    expect(endState(r)).toEqual({
      orders: [
        ['p1', 'B1', 'ACME', 'buy', 100, 'Filled', 100, 10.035, false],
        ['p2', 'B2', 'ACME', 'sell', 50, 'PartiallyFilled', 20, 10.1, false],
      ],
      trades: [['B1:e2', 'p1', 'buy', 30, 10.05], ['B1:e3', 'p1', 'buy', 30, 10.04], ['B2:e5', 'p2', 'sell', 20, 10.1], ['B1:e6', 'p1', 'buy', 40, 10.02]],
      // 60 bought at 10.045 on average, 20 sold at 10.10 (realized 1.10), 40 more bought at 10.02
      positions: [['ACME', 80, 10.0325, 1.1]],
      dup: 0, stale: 0, unknown: 0, invalid: 0,
    });
  });

  it('duplicates: every report twice, each applied once', async () => {
    expect(endState(await replay(fixture('duplicates.jsonl')))).toEqual({
      orders: [['d1', 'B1', 'LOTS', 'buy', 200, 'Filled', 200, 19.975, false]],
      trades: [['B1:e2', 'd1', 'buy', 100, 20], ['B1:e3', 'd1', 'buy', 100, 19.95]],
      positions: [['LOTS', 200, 19.975, 0]],
      dup: 3, stale: 0, unknown: 0, invalid: 0,
    });
  });

  it('out of order: a fill before the ack, stale status dropped but stale fills kept, a fill after the cancel', async () => {
    expect(endState(await replay(fixture('out-of-order.jsonl')))).toEqual({
      orders: [
        ['o1', 'B1', 'ACME', 'buy', 100, 'Filled', 100, 9.996, false],
        ['o2', 'B2', 'ACME', 'sell', 50, 'Cancelled', 20, 10.2, false],
      ],
      trades: [['B1:e3', 'o1', 'buy', 60, 10], ['B1:e2', 'o1', 'buy', 40, 9.99], ['B2:f2', 'o2', 'sell', 20, 10.2]],
      positions: [['ACME', 80, 9.996, 4.08]],
      dup: 0, stale: 3, unknown: 0, invalid: 0,
    });
  });

  it('an unknown order: kept as external with its fill; one without a symbol is counted and dropped', async () => {
    expect(endState(await replay(fixture('unknown-order.jsonl')))).toEqual({
      orders: [
        ['u1', 'B1', 'ACME', 'buy', 10, 'Submitted', 0, null, false],
        ['manual-1', 'X9', 'ACME', 'sell', 5, 'Filled', 5, 10.5, true],
      ],
      trades: [['X9:x1', 'manual-1', 'sell', 5, 10.5]],
      positions: [['ACME', -5, 10.5, 0]],
      dup: 0, stale: 0, unknown: 2, invalid: 0,
    });
  });

  it('cancel races: filled before the cancel, part-filled then cancelled, cancel rejected', async () => {
    expect(endState(await replay(fixture('cancel-race.jsonl')))).toEqual({
      orders: [
        ['c1', 'B1', 'ACME', 'buy', 100, 'Filled', 100, 10, false],
        ['c2', 'B2', 'ACME', 'buy', 100, 'Cancelled', 30, 9.9, false],
        ['c3', 'B3', 'ACME', 'sell', 10, 'Submitted', 0, null, false],
      ],
      trades: [['B1:e2', 'c1', 'buy', 100, 10], ['B2:e5', 'c2', 'buy', 30, 9.9]],
      positions: [['ACME', 130, 9.9769, 0]],
      dup: 0, stale: 0, unknown: 0, invalid: 0,
    });
  });

  it('malformed input: each bad record named by file, record (line) and reason; every good one replayed', async () => {
    const file = fixture('malformed.jsonl');
    const r = await replay(file);
    expect(r.problems).toEqual([
      { file, index: 4, reason: 'submit: qty must be a number, got "100"' },
      { file, index: 5, reason: 'unknown event kind "teleport" (expected submit, cancel or report)' },
      { file, index: 6, reason: expect.stringMatching(/^not JSON: /) },
      { file, index: 8, reason: 'report: lastPx=abc must be a positive number on a trade' },
      { file, index: 9, reason: 't must be epoch ms or an ISO 8601 time, got "yesterday"' },
      { file, index: 11, reason: expect.stringMatching(/^truncated: the last line is not complete JSON/) },
    ]);
    expect(endState(r).orders).toEqual([['m1', 'B1', 'ACME', 'buy', 100, 'PartiallyFilled', 10, 10, false]]);
    const out = cli(file);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`${file}: record 4: submit: qty must be a number, got "100"`);
  });
});

describe('tradecore replay', () => {
  it('is deterministic: the same file gives the same output, text and JSON', () => {
    const a = cli(fixture('partial-fills.jsonl'), '--json');
    const b = cli(fixture('partial-fills.jsonl'), '--json');
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const json = JSON.parse(a.stdout) as ReplayResult;
    expect(json.orders.map((o) => o.status)).toEqual(['Filled', 'PartiallyFilled']);
    const t1 = cli(fixture('cancel-race.jsonl'));
    expect(t1.stdout).toBe(cli(fixture('cancel-race.jsonl')).stdout);
    expect(t1.stdout).toMatch(/c2 +B2 +ACME +buy +100 +9\.9 +Cancelled +30 +9\.9/);
    expect(t1.stderr).toBe(''); // no terminal: no progress bar
  });

  it('says what is wrong with its arguments and inputs', () => {
    expect(cli().status).toBe(2);
    const missing = cli('/nonexistent/file.jsonl');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/file.jsonl: no such file or directory');
    const dir = tmpDir();
    const bare = path.join(dir, 'bare.jsonl');
    fs.writeFileSync(bare, '{"t":1,"event":"cancel","clientOrderId":"x"}\n');
    expect(cli(bare).stderr).toMatch(/no instruments: start the file with a header line/);
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ instruments: INSTRUMENTS }));
    const withCfg = cli(bare, '--config', cfg);
    expect(withCfg.stdout).toContain('record 1: cancel x denied: UNKNOWN_ORDER');
  });

  it('--config takes the whole file: the example config (with markets) replays, and its risk and sessions apply', () => {
    const example = path.join(import.meta.dirname, '..', 'docs', 'example-config.yaml');
    const dir = tmpDir();
    const bare = path.join(dir, 'orders.jsonl');
    // 10:00 in New York on a Monday: NYSE is open; the second order is over the config's maxOrderQty (10000)
    fs.writeFileSync(bare, [
      '{"t":"2026-12-07T15:00:00.000Z","event":"submit","clientOrderId":"a","symbol":"ACME","side":"buy","qty":100,"price":42.5}',
      '{"t":"2026-12-07T15:00:00.001Z","event":"submit","clientOrderId":"b","symbol":"ACME","side":"buy","qty":20000,"price":42.5}',
      '{"t":"2026-12-07T22:00:00.000Z","event":"submit","clientOrderId":"c","symbol":"ACME","side":"buy","qty":100,"price":42.5}',
    ].join('\n') + '\n');
    const r = cli(bare, '--config', example, '--json');
    expect(r.stderr).not.toContain('no market');
    const out = JSON.parse(r.stdout) as { problems: Array<{ reason: string }>; orders: Array<{ clientOrderId: string }> };
    expect(out.orders.map((o) => o.clientOrderId)).toEqual(['a']);
    expect(out.problems.map((p) => p.reason)).toEqual([expect.stringContaining('MAX_ORDER_QTY'), expect.stringContaining('OUTSIDE_SESSION')]);
  });

  it('the progress line counts events and their rate', () => {
    expect(progressLine(500, 1000, 250)).toBe(`replay [${'#'.repeat(15)}${'.'.repeat(15)}] 50% 500/1000 events, 2,000 events/s`);
    expect(progressLine(0, 0, 0)).toMatch(/100% 0\/0 events, 0 events\/s$/);
  });

  // util-linux `script` gives the command a terminal (present on Debian; the test says so when not)
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('on a terminal: a progress bar with events per second on stderr, the same result on stdout', () => {
    const r = spawnSync('script', ['-qec', `${process.execPath} dist/src/cli/main.js replay ${fixture('cancel-race.jsonl')}`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/replay \[#{30}\] 100% 14\/14 events, [\d,]+ events\/s/);
    expect(r.stdout.replace(/\r/g, '')).toContain(cli(fixture('cancel-race.jsonl')).stdout);
  });

  it('large input is parsed in a worker thread, with the same result', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'big.jsonl');
    const lines = [fs.readFileSync(fixture('partial-fills.jsonl'), 'utf8').split('\n')[1]!];
    for (let i = 0; i < 3000; i++) {
      const t = 1_795_617_000_000 + i * 10;
      lines.push(JSON.stringify({ t, event: 'submit', clientOrderId: `b${i}`, symbol: 'ACME', side: i % 2 ? 'sell' : 'buy', qty: 10, price: 10 }));
      lines.push(JSON.stringify({ t: t + 1, event: 'report', kind: 'trade', clientOrderId: `b${i}`, brokerOrderId: `B${i}`, execId: 'x', lastQty: 10, lastPx: 10 }));
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const inWorker = await parseReplay(file, 1024);
    const inMain = await parseReplay(file);
    expect(inWorker.parsedIn).toBe('worker');
    expect(inMain.parsedIn).toBe('main');
    const a = await runReplay(inWorker);
    expect(endState(a)).toEqual(endState(await runReplay(inMain)));
    expect(a.orders).toHaveLength(3000);
    expect(a.orders.every((o) => o.status === 'Filled')).toBe(true);
  });
});

describe('replay of a journal', () => {
  async function recorded(dir: string) {
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const broker = new ScriptedBroker();
    broker.clock = clock;
    const trades: Trade[] = [];
    const e = createEngine({
      instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT,
      journal: { dir, snapshotEveryRecords: 0, snapshotEveryMs: 0, compaction: 'off' },
      strategy: { onTrade: (t) => void trades.push(t.toObject()) },
    });
    await e.start();
    for (let i = 0; i < 20; i++) {
      clock.advance(3);
      expect(e.submit({ clientOrderId: `j${i}`, symbol: 'ACME', side: i % 3 ? 'buy' : 'sell', qty: 10 + i, price: 10 }).status).toBe('accepted');
      broker.ack(`j${i}`, `J${i}`);
      if (i % 2 === 0) broker.fill(`j${i}`, `J${i}`, 5, 10 + i / 100);
      if (i % 4 === 1) e.cancel(`j${i}`);
      if (i % 4 === 1) broker.send({ kind: 'canceled', clientOrderId: `j${i}`, brokerOrderId: `J${i}` });
    }
    broker.send({ kind: 'trade', clientOrderId: 'j0', brokerOrderId: 'J0', lastQty: 5, lastPx: 10, execId: 'X3' }); // a duplicate
    return { e, trades };
  }

  it('gives the orders, trades and positions the engine had', async () => {
    const dir = tmpDir();
    const { e, trades } = await recorded(dir);
    const r = await replay(dir);
    expect(r.format).toBe('journal');
    expect(r.problems).toEqual([]);
    expect(r.orders).toEqual(e.orders());
    expect(r.positions).toEqual(e.positions());
    expect(r.trades).toEqual(trades);
    expect(r.stats.duplicateReports).toBe(e.stats().duplicateReports);
    await e.stop();
    const text = cli(dir);
    expect(text.status).toBe(0);
    expect(text.stdout).toBe(cli(dir).stdout);
  });

  it('a compaction cut short (archive and segments overlap): each record replayed once', async () => {
    const dir = tmpDir();
    const { e } = await recorded(dir);
    await e.stop();
    const want = await replay(dir);
    const seg = fs.readdirSync(dir).find((n) => n.endsWith('.tcj'))!;
    const copy = fs.readFileSync(path.join(dir, seg));
    // archived, then killed before the segment was removed
    await compactSegments({ dir, segments: [seg], end: want.events, mode: 'archive' });
    fs.writeFileSync(path.join(dir, seg), copy);
    const r = await replay(dir);
    expect(r.problems).toEqual([]);
    expect(r.events).toBe(want.events);
    expect(r.orders).toEqual(want.orders);
  });

  it('a torn journal: the cut record is named, everything before it replayed', async () => {
    const dir = tmpDir();
    const { e } = await recorded(dir);
    await e.stop();
    const seg = path.join(dir, fs.readdirSync(dir).find((n) => n.endsWith('.tcj'))!);
    const whole = (await replay(dir)).events;
    fs.truncateSync(seg, fs.statSync(seg).size - 4);
    const r = await replay(seg);
    expect(r.events).toBe(whole - 1);
    expect(r.problems).toEqual([{ file: seg, index: whole - 1, reason: expect.stringMatching(/^truncated: frame of \d+ bytes runs past the end/) }]);
  });
});
