import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import { ManualClock } from '../src/core/clock.js';
import { copyReport } from '../src/domain/report.js';
import { createEngine, type Engine } from '../src/engine.js';
import { generateEodReport, renderEod, writeEodReport, type EodOutput } from '../src/recon/eod.js';
import type { EodInput } from '../src/recon/reconciler.js';
import { INSTRUMENTS, NO_HEARTBEAT, quiet } from './helpers.js';

const EXPECTED = path.join(import.meta.dirname, 'fixtures/recon/eod-2026-11-25.json');
const GRACE = 1000;

/**
 * A scripted day on the simulated broker, every line kind of the report in it:
 * - o1 filled, o2 resting, o3 cancelled by the strategy: matched;
 * - o4's fill lost on the way: auto-fixed (FILLED_QTY_MISMATCH);
 * - o5 cancelled at the broker by hand: auto-fixed (STATUS_MISMATCH);
 * - a trade booked at the broker by hand: auto-fixed (MISSING_LOCAL), its id needs escaping;
 * - 100 LOTS moved into the account at the broker: auto-fixed (POSITION_MISMATCH);
 * - a cash fee at the broker, policy manual: an open diff, acknowledged;
 * - o6 lost by the broker: resolved by a person accepting the broker's side (Cancelled);
 * - o7's fill still on the wire when the report is made: pending (its order, trade, position
 *   and cash lines).
 */
async function scriptedDay(): Promise<{ engine: Engine; input: EodInput }> {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
  const broker = new SimBroker({ instruments: INSTRUMENTS, clock, seed: 11, marketStepMs: 0, initialCash: { USD: 500_000 }, startPrices: { ACME: 100, LOTS: 50 } });
  const engine = createEngine({
    instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 500_000 },
    recon: { graceMs: GRACE, policy: { CASH_MISMATCH: { winner: 'manual' } } },
  });
  await engine.start();
  const q = (s: string) => broker.quote(s);
  const submit = (id: string, symbol: string, qty: number, price: number, side: 'buy' | 'sell' = 'buy') => {
    expect(engine.submit({ clientOrderId: id, symbol, side, qty, price }).status).toBe('accepted');
    clock.advance(1);
  };
  submit('o1', 'ACME', 10, 100.5);
  submit('o2', 'ACME', 20, Math.round((q('ACME').bid - 1) * 100) / 100);
  submit('o3', 'LOTS', 200, Math.round((q('LOTS').bid - 1) * 20) / 20);
  engine.cancel('o3');
  clock.advance(1);
  const stopDrop = broker.dropReports((r) => r.kind === 'trade' && r.clientOrderId === 'o4');
  submit('o4', 'ACME', 5, 100.5, 'buy');
  stopDrop();
  submit('o5', 'ACME', 15, Math.round((q('ACME').bid - 2) * 100) / 100);
  broker.cancelByHand(engine.getOrder('o5')!.brokerOrderId);
  broker.manualTrade({ symbol: 'ACME', side: 'sell', qty: 3, price: 101.25, clientOrderId: 'desk<&>"1"' });
  broker.adjustPosition('LOTS', 100);
  broker.adjustCash('USD', -7.5);
  submit('o6', 'ACME', 12, Math.round((q('ACME').bid - 3) * 100) / 100);
  broker.forgetOrder(engine.getOrder('o6')!.brokerOrderId);
  await engine.reconcile();
  clock.advance(GRACE);
  await engine.reconcile();
  const fee = engine.recon.list().find((d) => d.kind === 'CASH_MISMATCH')!;
  engine.recon.acknowledge(fee.id, 'ops-desk', 'asked the broker about a fee');
  const lost = engine.recon.list().find((d) => d.kind === 'MISSING_AT_BROKER')!;
  await engine.recon.resolve(lost.id, 'broker', 'ops-desk', 'the broker confirmed it never had the order');
  // o7: its fill is on the wire while the day's report is made
  const held: Parameters<typeof engine.onReport>[0][] = [];
  const stopHold = broker.dropReports((r) => {
    if (r.kind === 'trade' && r.clientOrderId === 'o7') held.push(copyReport(r)); // the filter sees the report during its call only
    return r.kind === 'trade' && r.clientOrderId === 'o7';
  });
  submit('o7', 'LOTS', 100, 50.5);
  stopHold();
  clock.advance(60_000);
  const input = await engine.recon.endOfDay();
  for (const r of held) engine.onReport(r);
  return { engine, input };
}

describe('the end-of-day report', () => {
  let engine: Engine;
  let input: EodInput;
  let out: EodOutput;
  let dir: string;
  beforeAll(async () => {
    ({ engine, input } = await scriptedDay());
    out = await generateEodReport(input);
    dir = mkdtempSync(path.join(tmpdir(), 'tc-eod-'));
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches the expected JSON for the scripted day exactly', () => {
    if (process.env.UPDATE_EOD_FIXTURE === '1') writeFileSync(EXPECTED, out.json);
    expect(out.json).toBe(readFileSync(EXPECTED, 'utf8'));
  });

  it('carries every marker, the diffs first, and the lines needing attention first', () => {
    const r = out.report;
    expect(r.totals.diffs).toMatchObject({ total: 6, open: 1, openCritical: 1, fixed: 4, resolved: 1, cleared: 0 });
    expect(r.diffs.map((d) => d.state)[0]).toBe('open');
    const markers = new Set([...r.orders, ...r.trades, ...r.positions, ...r.cash].map((l) => l.marker));
    expect([...markers].sort()).toEqual(['auto-fixed', 'manually-resolved', 'matched', 'open-diff', 'pending']);
    for (const section of [r.orders, r.trades, r.positions, r.cash]) {
      const firstMatched = section.findIndex((l) => l.marker === 'matched');
      if (firstMatched >= 0) expect(section.slice(firstMatched).every((l) => l.marker === 'matched')).toBe(true);
    }
    expect(r.orders.find((o) => o.clientOrderId === 'o7')).toMatchObject({ marker: 'pending' });
    expect(r.orders.find((o) => o.clientOrderId === 'o6')).toMatchObject({ marker: 'manually-resolved', local: { status: 'Cancelled' }, broker: null });
    expect(r.cash).toEqual([expect.objectContaining({ name: 'USD', marker: 'open-diff' })]);
    expect(r.positions.map((p) => [p.name, p.marker])).toEqual([['LOTS', 'pending'], ['ACME', 'matched']]);
    expect(r.totals.orders.total).toBe(r.orders.length);
    const md = out.markdown;
    // the diffs come first, before the totals and the lines
    expect(md.indexOf('## Diffs')).toBeGreaterThan(0);
    expect(md.indexOf('## Diffs')).toBeLessThan(md.indexOf('## Totals'));
    expect(md.indexOf('## Totals')).toBeLessThan(md.indexOf('## Orders'));
    expect(out.html.indexOf('<h2>Diffs</h2>')).toBeGreaterThan(0);
    expect(out.html.indexOf('<h2>Diffs</h2>')).toBeLessThan(out.html.indexOf('<h2>Totals</h2>'));
    expect(md).toContain('| open-diff |');
  });

  it('is the same in the worker as in this thread', () => {
    expect(renderEod(input)).toEqual(out);
  });

  it('the HTML page is self-contained: no script, no external reference, every value escaped', () => {
    const html = out.html;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|@import|url\(/i);
    expect(html).toContain('desk&lt;&amp;&gt;&quot;1&quot;');
    expect(html).not.toContain('desk<&>');
    for (const id of out.report.diffs.map((d) => d.id)) expect(html).toContain(`<td>${id}</td>`);
  });

  it('writes the three files', () => {
    const files = writeEodReport(out, dir);
    expect(Object.values(files).map((f) => path.basename(f))).toEqual(['recon-2026-11-25.json', 'recon-2026-11-25.md', 'recon-2026-11-25.html']);
    for (const f of Object.values(files)) expect(existsSync(f)).toBe(true);
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(out.report);
  });
});
