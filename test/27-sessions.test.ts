import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine.js';
import { TradingCalendar, type MarketCalendarSpec } from '../src/risk/calendar.js';
import { PATHS, harness as baseHarness, problemsOf, quiet, type SubmitPath } from './helpers.js';

const SSE: MarketCalendarSpec = {
  timeZone: 'Asia/Shanghai',
  sessions: [['09:30', '11:30'], ['13:00', '15:00']],
  holidays: ['2026-10-01'],
  halfDays: { '2026-12-31': [['09:30', '11:30']] },
};
const NYSE: MarketCalendarSpec = { timeZone: 'America/New_York', sessions: [['09:30', '16:00']], holidays: ['2026-11-26'], halfDays: { '2026-11-27': [['09:30', '13:00']] } };
const LSE: MarketCalendarSpec = { timeZone: 'Europe/London', sessions: [['08:00', '16:30']] };
const at = (y: number, mo: number, d: number, h: number, mi = 0, s = 0, ms = 0) => Date.UTC(y, mo - 1, d, h, mi, s, ms);

describe('trading calendar', () => {
  const sse = new TradingCalendar(SSE);
  it.each([
    ['one ms before the open', at(2026, 1, 5, 1, 29, 59, 999), false],
    ['at the open (09:30 +08:00)', at(2026, 1, 5, 1, 30), true],
    ['one ms before the lunch break', at(2026, 1, 5, 3, 29, 59, 999), true],
    ['at the lunch break (11:30, end is exclusive)', at(2026, 1, 5, 3, 30), false],
    ['during lunch', at(2026, 1, 5, 4, 0), false],
    ['at the afternoon open (13:00)', at(2026, 1, 5, 5, 0), true],
    ['one ms before the close', at(2026, 1, 5, 6, 59, 59, 999), true],
    ['at the close (15:00)', at(2026, 1, 5, 7, 0), false],
    ['a Saturday', at(2026, 1, 10, 2, 0), false],
    ['a holiday', at(2026, 10, 1, 2, 0), false],
    ['a half day, morning', at(2026, 12, 31, 2, 0), true],
    ['a half day, afternoon', at(2026, 12, 31, 5, 30), false],
  ])('Shanghai: %s', (_, t, open) => {
    expect(new TradingCalendar(SSE).isOpen(t)).toBe(open);
    expect(sse.isOpen(t)).toBe(open); // the cached calendar agrees, whatever came before
  });

  it.each([
    ['New York, before the spring switch (EST, UTC-5)', NYSE, at(2026, 3, 6, 14, 30)],
    ['New York, after the spring switch (EDT, UTC-4)', NYSE, at(2026, 3, 9, 13, 30)],
    ['New York, before the autumn switch (EDT)', NYSE, at(2026, 10, 30, 13, 30)],
    ['New York, after the autumn switch (EST)', NYSE, at(2026, 11, 2, 14, 30)],
    ['London, before the spring switch (GMT)', LSE, at(2026, 3, 27, 8, 0)],
    ['London, after the spring switch (BST, UTC+1)', LSE, at(2026, 3, 30, 7, 0)],
    ['London, before the autumn switch (BST)', LSE, at(2026, 10, 23, 7, 0)],
    ['London, after the autumn switch (GMT)', LSE, at(2026, 10, 26, 8, 0)],
  ])('%s: opens at local time exactly', (_, spec, openAt) => {
    const cal = new TradingCalendar(spec);
    expect(cal.isOpen(openAt - 1)).toBe(false);
    expect(cal.isOpen(openAt)).toBe(true);
    expect(cal.nextOpenAt(openAt - 60_000)).toBe(openAt);
  });

  it('knows the next open across a holiday and a weekend', () => {
    const cal = new TradingCalendar(NYSE);
    expect(new Date(cal.nextOpenAt(at(2026, 11, 26, 15))).toISOString()).toBe('2026-11-27T14:30:00.000Z');
    expect(cal.isOpen(at(2026, 11, 27, 17, 59))).toBe(true);
    expect(cal.isOpen(at(2026, 11, 27, 18, 0))).toBe(false); // half day ends 13:00 EST
    expect(new Date(cal.nextOpenAt(at(2026, 11, 27, 18, 0))).toISOString()).toBe('2026-11-30T14:30:00.000Z');
  });
});

describe.each(PATHS)('session guard on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) =>
    baseHarness({
      instruments: [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2, market: 'SSE' }, { symbol: 'LOTS', tickSize: 0.05, pricePrecision: 2, lotSize: 100 }],
      markets: { SSE },
      ...extra,
    }, path);
  const order = (id: string, symbol = 'ACME') => ({ clientOrderId: id, symbol, side: 'buy' as const, qty: symbol === 'LOTS' ? 100 : 1, price: 10 });

  it('refuses orders outside a session with OUTSIDE_SESSION and the next open; instruments without a market trade', async () => {
    const { engine, clock } = await harness();
    clock.advance(at(2026, 1, 5, 4, 0) - clock.now()); // lunch in Shanghai
    expect(engine.submit(order('a'))).toEqual({ status: 'denied', clientOrderId: 'a', reason: 'OUTSIDE_SESSION', detail: 'symbol=ACME market=SSE nextOpen=2026-01-05T05:00:00.000Z' });
    expect(engine.submit(order('l', 'LOTS')).status).toBe('accepted');
    clock.advance(at(2026, 1, 5, 5, 0) - clock.now());
    expect(engine.submit(order('a')).status).toBe('accepted');
  });

  it('cancels outside a session: sent by default, refused when configured, always sent by safeStop', async () => {
    const allow = await harness();
    allow.clock.advance(at(2026, 1, 5, 2, 0) - allow.clock.now());
    allow.engine.submit(order('a'));
    allow.clock.advance(at(2026, 1, 5, 4, 0) - allow.clock.now());
    expect(allow.engine.cancel('a').status).toBe('sent');

    const refuse = await harness({ cancelOutsideSession: 'refuse' });
    refuse.clock.advance(at(2026, 1, 5, 2, 0) - refuse.clock.now());
    refuse.engine.submit(order('a'));
    refuse.clock.advance(at(2026, 1, 5, 4, 0) - refuse.clock.now());
    expect(refuse.engine.cancel('a')).toMatchObject({ status: 'denied', reason: 'OUTSIDE_SESSION' });
    expect(refuse.engine.safeStop('end of day')).toMatchObject({ cancelsSent: 1 });
  });
});

describe('calendar config', () => {
  it('reports every problem at once', () => {
    expect(problemsOf(() =>
      createEngine({
      logger: quiet(),
      instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2, market: 'NOPE' }],
      markets: { X: { timeZone: 'Mars/Olympus', sessions: [['09:30', '09:00'], ['8:00', '10:00']], holidays: ['2026/01/01'] } },
      cancelOutsideSession: 'maybe' as never,
    }),
    )).toEqual([
      'markets.X.timeZone: unknown time zone Mars/Olympus',
      'markets.X.sessions[0]: ends at or before it starts (09:30-09:00)',
      'markets.X.sessions[1]: must be ["HH:MM", "HH:MM"] (24-hour local time)',
      'markets.X.holidays[0]: must be "YYYY-MM-DD"',
      'instruments[0].market: no market NOPE in markets',
      'cancelOutsideSession: must be allow or refuse, got maybe',
    ]);
  });
});
