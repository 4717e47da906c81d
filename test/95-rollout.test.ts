import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine.js';
import { ManualClock } from '../src/core/clock.js';
import type { RolloutConfig } from '../src/risk/rollout.js';
import { Monitor } from '../src/ops/monitor.js';
import { INSTRUMENTS, NO_HEARTBEAT, PATHS, ScriptedBroker, harness as baseHarness, onPath, problemsOf, quiet, type SubmitPath } from './helpers.js';

const buy = (id: string, extra: object = {}) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 10, price: 10, ...extra });
const sell = (id: string, extra: object = {}) => buy(id, { side: 'sell', ...extra });
const stage = (limits: object): RolloutConfig => ({ stages: [{ name: 'canary', ...limits }, { name: 'full' }] });

describe.each(PATHS)('rollout limits on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  it('symbol allow-list: a listed symbol passes, another is refused ROLLOUT_SYMBOL', async () => {
    const { engine } = await harness({ rollout: stage({ symbols: ['ACME'] }) });
    expect(engine.submit(buy('a')).status).toBe('accepted');
    expect(engine.submit({ clientOrderId: 'l', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 }))
      .toMatchObject({ status: 'denied', reason: 'ROLLOUT_SYMBOL', detail: 'symbol=LOTS stage=canary allowed=ACME' });
  });

  it('trading window: the last millisecond inside passes, its end is refused ROLLOUT_WINDOW until it opens again', async () => {
    // the harness starts at 14:30 UTC
    const { engine, clock } = await harness({ rollout: stage({ windows: [['14:00', '14:31']], timeZone: 'UTC' }) });
    clock.advance(59_999);
    expect(engine.submit(buy('a')).status).toBe('accepted');
    clock.advance(1);
    expect(engine.submit(buy('b'))).toMatchObject({
      reason: 'ROLLOUT_WINDOW', detail: 'symbol=ACME stage=canary windows=14:00-14:31 timeZone=UTC nextOpen=2026-11-25T14:00:00.000Z',
    });
    clock.advance(Date.UTC(2026, 10, 25, 14, 0) - clock.now());
    expect(engine.submit(buy('c')).status).toBe('accepted');
  });

  it('gross notional: positions plus open orders up to the cap pass, one unit more is refused ROLLOUT_NOTIONAL', async () => {
    const { engine, broker } = await harness({ rollout: stage({ maxGrossNotional: 1000 }) });
    engine.updateReference('ACME', 10);
    engine.submit(buy('a', { qty: 50 }));
    broker.fill('a', 'A', 50, 10); // a 500 position
    expect(engine.submit(buy('b', { qty: 50 })).status).toBe('accepted'); // + 500 open = 1000
    expect(engine.submit(buy('c', { qty: 1 }))).toMatchObject({ reason: 'ROLLOUT_NOTIONAL', detail: 'symbol=ACME stage=canary gross=1000 order=10 limit=1000' });
    engine.updateReference('ACME', 9.9); // marks fall: 990 + 10 fits
    expect(engine.submit(buy('d', { qty: 1, price: 9.9 })).status).toBe('accepted');
  });

  it('daily notional: filled today plus open orders up to the cap pass, one unit more is refused; the day roll resets it', async () => {
    const { engine, broker, clock } = await harness({ rollout: stage({ maxDailyNotional: 1000 }) });
    engine.updateReference('ACME', 10);
    engine.submit(buy('a', { qty: 50 }));
    broker.fill('a', 'A', 50, 10); // 500 traded
    engine.submit(sell('b', { qty: 40 }));
    broker.fill('b', 'B', 40, 10); // 900 traded (a sell trades notional too)
    expect(engine.submit(buy('c', { qty: 10 })).status).toBe('accepted'); // 900 + 100 open = 1000
    expect(engine.submit(buy('d', { qty: 1 }))).toMatchObject({
      reason: 'ROLLOUT_DAILY_NOTIONAL', detail: 'symbol=ACME stage=canary filledToday=900 open=100 order=10 limit=1000',
    });
    broker.send({ kind: 'canceled', clientOrderId: 'c', brokerOrderId: 'C' }); // the open 100 goes
    expect(engine.submit(buy('e', { qty: 10 })).status).toBe('accepted');
    expect(engine.submit(buy('f', { qty: 1 })).status).toBe('denied');
    clock.advance(Date.UTC(2026, 10, 25) - clock.now()); // the trading day rolls at midnight UTC
    expect(engine.submit(buy('g', { qty: 80 })).status).toBe('accepted'); // 100 still open + 800
    expect(engine.rolloutStatus()!.dayTraded).toBe(0);
  });

  it('rate share: half of ordersPerSecond passes, the next is refused ROLLOUT_RATE; refused orders use no rate', async () => {
    const { engine, clock } = await harness({ risk: { account: { ordersPerSecond: 10 } }, rollout: stage({ rateShare: 0.5 }) });
    for (let i = 0; i < 5; i++) {
      expect(engine.submit(buy(`a${i}`)).status).toBe('accepted');
      expect(engine.submit(buy(`bad${i}`, { price: 10.001 }))).toMatchObject({ reason: 'INVALID_PRICE' });
    }
    expect(engine.submit(buy('x'))).toMatchObject({ reason: 'ROLLOUT_RATE', detail: 'symbol=ACME stage=canary limit=per-second rateShare=0.5' });
    clock.advance(200); // one of the stage's 5 tokens per second back
    expect(engine.submit(buy('y')).status).toBe('accepted');
  });

  it('daily loss with a falling reference: one unit short of the cap trades on, the cap moves to Reducing, raises a P0, and leaves only reducing orders', async () => {
    const states: string[] = [];
    const { engine, broker, anomalies, clock } = await harness({
      rollout: { ...stage({ maxDailyLoss: 100 }), onLossCap: 'Reducing' }, onTradingState: (c) => states.push(c.to),
    });
    engine.updateReference('ACME', 10);
    engine.submit(buy('a', { qty: 100 }));
    broker.fill('a', 'A', 100, 10);
    engine.updateReference('ACME', 9.01); // -99
    expect(engine.tradingState).toBe('Active');
    expect(engine.submit(buy('b', { qty: 1, price: 9.01 })).status).toBe('accepted');
    engine.updateReference('ACME', 9.0); // -100 on a (b is open, not traded)
    expect(engine.tradingState).toBe('Reducing');
    expect(states).toEqual(['Reducing']);
    const cap = anomalies.filter((a) => a.kind === 'ROLLOUT_LOSS_CAP');
    expect(cap).toHaveLength(1);
    expect(cap[0]!.severity).toBe('P0');
    expect(cap[0]!.reason).toMatch(/day's loss 100 reached maxDailyLoss=100/);
    expect(engine.submit(buy('c', { qty: 1, price: 9 }))).toMatchObject({ reason: 'ROLLOUT_DAILY_LOSS' });
    expect(engine.submit(sell('d', { qty: 50, price: 9 })).status).toBe('accepted');
    // an operator moving back to Active does not lift the day's cap
    engine.setTradingState('Active', 'operator');
    expect(engine.submit(buy('e', { qty: 1, price: 9 }))).toMatchObject({ reason: 'ROLLOUT_DAILY_LOSS', detail: expect.stringContaining('only=position-reducing') });
    const st = engine.rolloutStatus()!;
    expect(st).toMatchObject({ lossCapHit: true, todayDirty: ['ROLLOUT_LOSS_CAP'] });
    clock.advance(Date.UTC(2026, 10, 25) - clock.now());
    expect(engine.submit(buy('f', { qty: 1, price: 9 })).status).toBe('accepted');
    expect(engine.rolloutStatus()).toMatchObject({ lossCapHit: false, cleanDays: 0 });
  });
});

/** An engine on a scripted broker, journaled in `dir`, with `rollout` when given. */
function journaled(dir: string, clock: ManualClock, rollout?: RolloutConfig) {
  const broker = new ScriptedBroker();
  broker.clock = clock;
  return { broker, engine: createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), connection: NO_HEARTBEAT, journal: { dir }, ...(rollout ? { rollout } : {}) }) };
}

describe('rollout stages', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const STAGES: RolloutConfig = {
    stages: [
      { name: 'canary', symbols: ['ACME'], maxDailyLoss: 100, promoteAfter: { cleanDays: 1, noOpenAlerts: true } },
      { name: 'pilot', maxGrossNotional: 100_000 },
      { name: 'full' },
    ],
  };

  it('the config is checked: names, symbols, windows, caps, share, evidence, start', () => {
    const bad = problemsOf(() => createEngine({
      instruments: INSTRUMENTS, logger: quiet(),
      rollout: {
        stages: [
          { name: 'a', symbols: ['NOPE'], windows: [['10:00', '09:00']], maxDailyLoss: -1, rateShare: 2, promoteAfter: { cleanDays: 1.5 } },
          { name: 'a', timeZone: 'Mars/Olympus' },
        ],
        start: 'b',
      } as unknown as RolloutConfig,
    }));
    expect(bad).toEqual(expect.arrayContaining([
      'rollout.stages[0].symbols: NOPE is not a configured instrument',
      'rollout.stages[0].windows[0]: ends at or before it starts (10:00-09:00)',
      'rollout.stages[0].maxDailyLoss: must be a positive finite number',
      'rollout.stages[0].rateShare: must be a number in (0, 1]',
      'rollout.stages[0].promoteAfter.cleanDays: must be a whole number ≥ 0',
      'rollout.stages[1].name: stage a is named twice',
      'rollout.start: must name one of the stages (a)',
    ]));
    expect(bad.some((p) => p.startsWith('rollout.stages[1].timeZone'))).toBe(true);
  });

  it('promotion without evidence is refused with each reason; with it, the next stage applies and the promotion is kept', async () => {
    const { engine, clock } = await baseHarness({ rollout: STAGES });
    expect(engine.promoteRollout({ note: 'go' })).toEqual({
      ok: false,
      missing: [
        'cleanDays: 0 clean trading day(s) in a row at stage canary, 1 needed',
        'noOpenAlerts: no alert source is attached, so open alerts cannot be ruled out',
      ],
    });
    expect(engine.promoteRollout({ note: '' })).toMatchObject({ ok: false, missing: ['a promotion needs a note saying why'] });
    let open = [{ level: 'P1', code: 'DIFF_POSITION' }, { level: 'P2', code: 'ACK_LATENCY' }];
    engine.attachAlerts(() => open);
    clock.advance(Date.UTC(2026, 10, 25) - clock.now()); // a clean day ends
    expect(engine.rolloutStatus()!.cleanDays).toBe(1);
    expect(engine.promoteRollout({ note: 'go' })).toEqual({ ok: false, missing: ['noOpenAlerts: 1 open P0/P1 alert(s): P1 DIFF_POSITION'] });
    open = [{ level: 'P2', code: 'ACK_LATENCY' }];
    expect(engine.rolloutStatus()!.promotion).toEqual({ allowed: true, missing: [] });
    expect(engine.submit({ clientOrderId: 'l0', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 })).toMatchObject({ reason: 'ROLLOUT_SYMBOL' });
    expect(engine.promoteRollout({ note: 'one clean day at canary', who: 'ana' })).toEqual({ ok: true, from: 'canary', to: 'pilot' });
    expect(engine.submit({ clientOrderId: 'l1', symbol: 'LOTS', side: 'buy', qty: 100, price: 1 }).status).toBe('accepted');
    expect(engine.rolloutStatus()).toMatchObject({
      stage: 'pilot', next: 'full', cleanDays: 0,
      history: [{ from: 'canary', to: 'pilot', who: 'ana', note: 'one clean day at canary', time: Date.UTC(2026, 10, 25) }],
    });
    expect(engine.promoteRollout({ note: 'on' })).toEqual({ ok: true, from: 'pilot', to: 'full' });
    expect(engine.promoteRollout({ note: 'more' })).toEqual({ ok: false, missing: ['stage full is the last stage'] });
  });

  it('a day with a P0 or P1 anomaly is not clean and starts the count again', async () => {
    const { engine, broker, clock } = await baseHarness({ rollout: STAGES });
    clock.advance(Date.UTC(2026, 10, 25) - clock.now());
    expect(engine.rolloutStatus()!.cleanDays).toBe(1);
    broker.send({ kind: 'trade', brokerOrderId: '', clientOrderId: '' }); // MALFORMED_REPORT, a P1
    expect(engine.rolloutStatus()!.todayDirty).toEqual(['MALFORMED_REPORT']);
    clock.advance(Date.UTC(2026, 10, 26) - clock.now());
    expect(engine.rolloutStatus()).toMatchObject({ cleanDays: 0, todayDirty: [] });
  });

  it('a restart from the journal keeps the stage, its promotions, the clean days, the loss cap and the day turnover', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rollout-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
    const make = () => {
      const m = journaled(dir, clock, STAGES);
      m.engine.attachAlerts(() => []);
      return m;
    };
    const first = make();
    await first.engine.start();
    clock.advance(Date.UTC(2026, 10, 25) - clock.now());
    expect(first.engine.promoteRollout({ note: 'clean day', who: 'ana' }).ok).toBe(true);
    clock.advance(Date.UTC(2026, 10, 26) - clock.now());
    first.engine.updateReference('ACME', 10);
    first.engine.submit(buy('a', { qty: 100 }));
    first.broker.fill('a', 'A', 100, 10);
    const before = first.engine.rolloutStatus()!;
    expect(before).toMatchObject({ stage: 'pilot', cleanDays: 1, dayTraded: 1000 });
    await first.engine.stop();

    const second = make();
    await second.engine.start();
    const after = second.engine.rolloutStatus()!;
    expect(after).toMatchObject({ stage: 'pilot', cleanDays: 1, dayTraded: 1000, lossCapHit: false });
    expect(after.history).toEqual(before.history);
    await second.engine.stop();
  });

  it('a restart replays a loss cap hit from the journal: still only reducing orders that day', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rollout-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
    const make = () => journaled(dir, clock, STAGES);
    const first = make();
    await first.engine.start();
    first.engine.updateReference('ACME', 10);
    first.engine.submit(buy('a', { qty: 100 }));
    first.broker.fill('a', 'A', 100, 10);
    first.engine.updateReference('ACME', 8);
    expect(first.engine.tradingState).toBe('Halted');
    await first.engine.stop();
    const second = make();
    await second.engine.start();
    expect(second.engine.tradingState).toBe('Halted');
    second.engine.setTradingState('Active', 'operator');
    const engine = onPath(second.engine, 'submit');
    expect(engine.submit(buy('b', { qty: 1, price: 8 }))).toMatchObject({ reason: 'ROLLOUT_DAILY_LOSS' });
    expect(engine.rolloutStatus()).toMatchObject({ lossCapHit: true, dayPnl: -200, todayDirty: expect.arrayContaining(['ROLLOUT_LOSS_CAP']) });
    await second.engine.stop();
  });

  it('a position carried in without a reference: the day counts from its first reference, not from its cost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rollout-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
    const make = (rollout?: RolloutConfig) => journaled(dir, clock, rollout);
    const first = make();
    await first.engine.start();
    first.engine.submit(buy('a', { qty: 100 }));
    first.broker.fill('a', 'A', 100, 10); // no reference ever known
    await first.engine.stop();
    const second = make(stage({ maxDailyLoss: 3 }));
    await second.engine.start();
    second.engine.updateReference('ACME', 9.96); // 4 under cost: the baseline, not a loss
    expect(second.engine.tradingState).toBe('Active');
    expect(second.engine.rolloutStatus()!.dayPnl).toBe(0);
    second.engine.updateReference('ACME', 9.93); // 3 down on the day
    expect(second.engine.tradingState).toBe('Halted');
    await second.engine.stop();
  });

  it('the monitor opens the loss cap P0 for a cap reached before it watched, once, and resolves it at the day roll', async () => {
    const { engine, broker, clock } = await baseHarness({ rollout: stage({ maxDailyLoss: 10 }) });
    engine.updateReference('ACME', 10);
    engine.submit(buy('a', { qty: 100 }));
    broker.fill('a', 'A', 100, 10);
    engine.updateReference('ACME', 9.9); // -10: the cap, before any monitor
    const monitor = new Monitor(engine, { lagSource: () => 0 });
    try {
      expect(monitor.alerts.open().map((a) => [a.level, a.code])).toEqual([['P0', 'ROLLOUT_LOSS_CAP']]);
      expect(monitor.alerts.open()[0]!.message).toMatch(/the day's loss 10 reached maxDailyLoss=10/);
      monitor.evaluate();
      expect(monitor.alerts.open()[0]!.count).toBe(1);
      clock.advance(Date.UTC(2026, 10, 25) - clock.now());
      monitor.evaluate();
      expect(monitor.alerts.open()).toEqual([]);
    } finally {
      monitor.stop();
    }
  });
});
