import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { EngineConfig } from '../src/config.js';
import { INSTRUMENTS, NO_HEARTBEAT, ScriptedBroker, drive, problemsOf, quiet } from './helpers.js';

const order = (id: string, extra: object = {}) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 10, price: 9.5, ...extra });

const dirs: string[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A live engine on a scripted broker (the test plays the real broker), three orders open. */
async function live(extra: Partial<EngineConfig> = {}, clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30))) {
  const broker = new ScriptedBroker();
  broker.clock = clock;
  const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 10_000 }, ...extra });
  engines.push(engine);
  await engine.start();
  engine.updateReference('ACME', 10);
  for (const id of ['L1', 'L2', 'L3']) {
    expect(engine.submit(order(id)).status).toBe('accepted');
    broker.ack(id, `B-${id}`);
  }
  return { engine, broker, clock };
}

describe('the fallback switch', () => {
  it('paper and back with live orders open: live orders cancelled, new orders to the paper broker at the live price, positions kept apart', async () => {
    const { engine, broker, clock } = await live();
    const r = await engine.fallback('paper', { note: 'venue degraded', who: 'ana' });
    expect(r).toMatchObject({ ok: true, from: 'live', mode: 'paper', changed: true, liveOrders: { cancelsSent: 3, alreadyPending: 0, failed: [], kept: 0 } });
    expect(broker.cancels.map((c) => c.clientOrderId)).toEqual(['L1', 'L2', 'L3']);
    for (const id of ['L1', 'L2', 'L3']) broker.send({ kind: 'canceled', clientOrderId: id, brokerOrderId: `B-${id}` });
    expect(engine.openOrders()).toEqual([]);

    // a new order goes to the paper broker, which follows the live reference price
    const placedLive = broker.placed.length;
    expect(engine.submit(order('P1', { price: 10.05 })).status).toBe('accepted');
    expect(broker.placed).toHaveLength(placedLive);
    await drive(clock, () => engine.paper!.getOrder('P1')?.status === 'Filled', 'the paper fill');
    expect(engine.getOrder('P1')).toBeUndefined();
    expect(engine.paper!.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(10);
    expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(0);
    engine.updateReference('ACME', 12); // the paper market moves with the live one
    expect(engine.paper!.quote('ACME')!.bid).toBeGreaterThan(11.9);
    // an id the live engine holds today is refused in paper, and the reverse after
    expect(engine.submit(order('L1'))).toMatchObject({ status: 'denied', reason: 'DUPLICATE_ORDER_ID', detail: expect.stringContaining('mode=paper') });
    expect(engine.submit(order('P2', { price: 9 })).status).toBe('accepted'); // rests in paper
    expect(engine.cancel('P2').status).toBe('sent'); // goes to the engine holding it
    expect(engine.submit(order('P3', { price: 9 })).status).toBe('accepted');

    const back = await engine.goLive({ note: 'venue fine again', who: 'ana' });
    expect(back).toMatchObject({ ok: true, from: 'paper', mode: 'live', paperCancels: 1 });
    await drive(clock, () => engine.paper!.openOrders().length === 0, 'the paper cancels');
    expect(engine.submit(order('N1')).status).toBe('accepted');
    expect(broker.placed.at(-1)!.clientOrderId).toBe('N1');
    expect(engine.submit(order('P1'))).toMatchObject({ reason: 'DUPLICATE_ORDER_ID', detail: expect.stringContaining('paper order') });
    // reconciliation with the real broker sees the live orders only
    const run = await engine.reconcile();
    expect(run.raised.filter((d) => d.clientOrderId.startsWith('P'))).toEqual([]);
    expect(run.checked.orders).toBe(4); // L1..L3 and N1
    expect(engine.modeHistory().map((m) => [m.from, m.to, m.who, m.note])).toEqual([
      ['live', 'paper', 'ana', 'venue degraded'],
      ['paper', 'live', 'ana', 'venue fine again'],
    ]);
  });

  it('liveOrders: keep leaves live orders open and keeps applying their reports', async () => {
    const { engine, broker } = await live({ fallback: { liveOrders: 'keep' } });
    const r = await engine.fallback('paper', { note: 'test' });
    expect(r).toMatchObject({ ok: true, liveOrders: { cancelsSent: 0, kept: 3 } });
    expect(broker.cancels).toEqual([]);
    broker.fill('L1', 'B-L1', 10, 9.5);
    expect(engine.getOrder('L1')!.status).toBe('Filled');
    expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(10);
    expect(engine.paper!.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(0);
  });

  it('safe-stop cancels everything and halts; back to live makes it Active again', async () => {
    const { engine, broker } = await live();
    const r = await engine.fallback('safe-stop', { note: 'runaway strategy' });
    expect(r).toMatchObject({ ok: true, mode: 'safe-stop', liveOrders: { cancelsSent: 3 } });
    expect(engine.tradingState).toBe('Halted');
    expect(engine.submit(order('X'))).toMatchObject({ reason: 'TRADING_HALTED' });
    expect(broker.cancels).toHaveLength(3);
    const again = await engine.fallback('safe-stop', { note: 'again' });
    expect(again).toMatchObject({ ok: true, changed: false, liveOrders: { alreadyPending: 3, cancelsSent: 0 } });
    expect(await engine.goLive({ note: 'fixed' })).toMatchObject({ ok: true, from: 'safe-stop', mode: 'live' });
    expect(engine.tradingState).toBe('Active');
    expect(engine.submit(order('Y')).status).toBe('accepted');
  });

  it('paper, safe-stop, live, then paper again: the second paper period trades (the safe-stop halt of the paper engine is lifted)', async () => {
    const { engine, clock } = await live();
    await engine.fallback('paper', { note: 'one' });
    expect(engine.submit(order('P1', { price: 9 })).status).toBe('accepted');
    await engine.fallback('safe-stop', { note: 'two' });
    expect(engine.paper!.tradingState).toBe('Halted');
    await engine.goLive({ note: 'three' });
    expect(await engine.fallback('paper', { note: 'four' })).toMatchObject({ ok: true, from: 'live', mode: 'paper' });
    expect(engine.submit(order('P2', { price: 9 })).status).toBe('accepted');
    await drive(clock, () => engine.paper!.getOrder('P2')?.status === 'Submitted', 'the second period\'s paper ack');
  });

  it('refuses a switch without a note, and a bad fallback config', async () => {
    const { engine } = await live();
    expect(await engine.fallback('paper', { note: ' ' })).toEqual({ ok: false, problem: 'a switch needs a note saying why' });
    expect(await engine.fallback('sideways' as 'paper', { note: 'x' })).toMatchObject({ ok: false });
    expect(engine.mode).toBe('live');
    expect(problemsOf(() => createEngine({ instruments: INSTRUMENTS, logger: quiet(), fallback: { liveOrders: 'drop' } as never })))
      .toEqual(['fallback.liveOrders: must be cancel or keep']);
  });

  it('a restart in paper mode comes back in paper, with the paper period restored from its own journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-fallback-'));
    dirs.push(dir, `${dir}-paper`);
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
    const first = await live({ journal: { dir } }, clock);
    await first.engine.fallback('paper', { note: 'drill', who: 'ana' });
    for (const id of ['L1', 'L2', 'L3']) first.broker.send({ kind: 'canceled', clientOrderId: id, brokerOrderId: `B-${id}` });
    expect(first.engine.submit(order('P1', { price: 10.05 })).status).toBe('accepted');
    await drive(clock, () => first.engine.paper!.getOrder('P1')?.status === 'Filled', 'the paper fill');
    expect(first.engine.submit(order('R1', { price: 9 })).status).toBe('accepted'); // rests
    await drive(clock, () => first.engine.paper!.getOrder('R1')?.status === 'Submitted', 'the paper ack');
    await first.engine.stop();
    engines.splice(0);

    const broker = new ScriptedBroker();
    broker.clock = clock;
    const engine = createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, initialCash: { USD: 10_000 }, journal: { dir } });
    engines.push(engine);
    await engine.start();
    expect(engine.mode).toBe('paper');
    expect(engine.modeHistory()).toMatchObject([{ from: 'live', to: 'paper', who: 'ana', note: 'drill' }]);
    expect(engine.paper!.getOrder('P1')!.status).toBe('Filled');
    expect(engine.paper!.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(10);
    expect(engine.positions().find((p) => p.symbol === 'ACME')!.qty).toBe(0);
    expect(engine.paper!.getOrder('R1')!.status).toBe('Submitted'); // still resting at the paper broker
    expect(engine.submit(order('P2', { price: 9 })).status).toBe('accepted');
    expect(broker.placed).toEqual([]);
    expect(engine.cancel('R1').status).toBe('sent');
    await drive(clock, () => engine.paper!.getOrder('R1')?.status === 'Cancelled', 'the paper cancel');
  });
});
