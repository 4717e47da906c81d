import { describe, expect, it } from 'vitest';
import { NotSentError } from '../src/brokers/adapter.js';
import { ConfigError } from '../src/config.js';
import { createEngine } from '../src/engine.js';
import { INSTRUMENTS, PATHS, ScriptedBroker, harness as baseHarness, quiet, type SubmitPath } from './helpers.js';

const buy = (id: string, extra: object = {}) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty: 100, price: 10.05, ...extra });


describe.each(PATHS)('on the %s path', (path: SubmitPath) => {
  const harness = (extra: Parameters<typeof baseHarness>[0] = {}) => baseHarness(extra, path);

  describe('submit', () => {
    it('sends an accepted order to the broker once, as PendingNew', async () => {
      const { engine, broker } = await harness();
      expect(engine.submit(buy('a'))).toEqual({ status: 'accepted', clientOrderId: 'a' });
      expect(broker.placed).toEqual([{ clientOrderId: 'a', symbol: 'ACME', side: 'buy', type: 'limit', tif: 'day', qty: 100, price: 10.05 }]);
      expect(engine.getOrder('a')).toMatchObject({ status: 'PendingNew', brokerOrderId: '', leavesQty: 100, cumQty: 0 });
    });

    it('returns the existing order on a duplicate active submit and sends nothing', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      expect(engine.submit(buy('a'))).toEqual({ status: 'duplicate', clientOrderId: 'a', brokerOrderId: '', orderStatus: 'PendingNew' });
      broker.ack('a', 'B1');
      expect(engine.submit(buy('a', { qty: 5 }))).toEqual({ status: 'duplicate', clientOrderId: 'a', brokerOrderId: 'B1', orderStatus: 'Submitted' });
      expect(broker.placed).toHaveLength(1);
      expect(engine.stats().duplicateSubmits).toBe(2);
    });

    it('denies reuse of a finished order id with DUPLICATE_ORDER_ID', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.send({ kind: 'rejected', clientOrderId: 'a', brokerOrderId: 'B1', text: 'no' });
      const r = engine.submit(buy('a'));
      expect(r).toMatchObject({ status: 'denied', reason: 'DUPLICATE_ORDER_ID', detail: 'clientOrderId=a status=Rejected' });
      expect(broker.placed).toHaveLength(1);
    });

    it('denies malformed orders with INVALID_ORDER and never throws', async () => {
      const { engine, broker } = await harness();
      const bad: unknown[] = [null, 42, {}, { clientOrderId: '' }, { clientOrderId: 'x'.repeat(65) }, buy('s', { side: 'long' }), buy('t', { type: 'stop' }), buy('u', { tif: 'fok' })];
      for (const o of bad) expect(engine.submit(o as never)).toMatchObject({ status: 'denied', reason: 'INVALID_ORDER' });
      expect(broker.placed).toHaveLength(0);
    });

    it.each([
      ['UNKNOWN_SYMBOL', { symbol: 'NOPE' }, 'symbol=NOPE'],
      ['INVALID_QUANTITY', { qty: 0 }, 'qty=0'],
      ['INVALID_QUANTITY', { qty: -5 }, 'qty=-5'],
      ['INVALID_QUANTITY', { qty: Number.NaN }, 'qty=NaN'],
      ['INVALID_QUANTITY', { qty: Infinity }, 'qty=Infinity'],
      ['INVALID_PRICE', { price: undefined }, 'price=undefined'],
      ['INVALID_PRICE', { price: 0 }, 'price=0'],
      ['INVALID_PRICE', { price: 10.055 }, 'price=10.055'],
      ['INVALID_PRICE', { price: Infinity }, 'price=Infinity'],
      ['LOT_SIZE', { symbol: 'LOTS', qty: 150, price: 10.05 }, 'lotSize=100'],
      ['TICK_SIZE', { symbol: 'LOTS', qty: 100, price: 10.06 }, 'tickSize=0.05'],
    ])('denies %s for %o', async (reason, extra, detail) => {
      const { engine, broker } = await harness();
      const r = engine.submit(buy('a', extra));
      expect(r).toMatchObject({ status: 'denied', reason });
      expect(r.status === 'denied' && r.detail).toContain(detail);
      expect(broker.placed).toHaveLength(0);
      expect(engine.getOrder('a')).toBeUndefined();
      expect(engine.stats().deniedByReason).toEqual({ [reason]: 1 });
    });

    it('checks max quantity and notional at the limit, one unit over and one under', async () => {
      const { engine } = await harness({ risk: { default: { maxOrderQty: 100, maxOrderNotional: 1005 } } });
      expect(engine.submit(buy('q1', { qty: 100, price: 10.05 })).status).toBe('accepted'); // notional exactly 1005
      expect(engine.submit(buy('q2', { qty: 101, price: 1 }))).toMatchObject({ reason: 'MAX_ORDER_QTY', detail: 'symbol=ACME qty=101 limit=100' });
      expect(engine.submit(buy('q3', { qty: 99, price: 1 })).status).toBe('accepted');
      expect(engine.submit(buy('n1', { qty: 100, price: 10.06 }))).toMatchObject({ reason: 'MAX_ORDER_NOTIONAL' });
      expect(engine.submit(buy('n2', { qty: 100, price: 10.04 })).status).toBe('accepted');
    });

    it('needs a reference price for a market order under a notional limit', async () => {
      const { engine } = await harness({ risk: { default: { maxOrderNotional: 1000 } } });
      const mkt = { clientOrderId: 'm1', symbol: 'ACME', side: 'buy' as const, type: 'market' as const, qty: 100 };
      expect(engine.submit(mkt)).toMatchObject({ status: 'denied', reason: 'NO_REFERENCE_PRICE' });
      engine.updateReference('ACME', 10);
      expect(engine.submit(mkt).status).toBe('accepted');
      expect(engine.submit({ ...mkt, clientOrderId: 'm2', qty: 101 })).toMatchObject({ reason: 'MAX_ORDER_NOTIONAL' });
    });

    it('counts open orders toward the position limit, per side', async () => {
      const { engine, broker } = await harness({ risk: { perSymbol: { ACME: { maxPosition: 300 } } } });
      expect(engine.submit(buy('b1', { qty: 200 })).status).toBe('accepted');
      expect(engine.submit(buy('b2', { qty: 101 }))).toMatchObject({ reason: 'MAX_POSITION', detail: 'symbol=ACME side=buy position=0 open=200 qty=101 limit=300' });
      expect(engine.submit(buy('b3', { qty: 100 })).status).toBe('accepted');
      // a sell reduces exposure on the other side and is allowed up to -300
      expect(engine.submit(buy('s1', { side: 'sell', qty: 300 })).status).toBe('accepted');
      // fills move exposure into the position; a cancel releases the rest
      broker.ack('b1', 'B1');
      broker.fill('b1', 'B1', 200, 10.05);
      broker.ack('b3', 'B3');
      broker.send({ kind: 'canceled', clientOrderId: 'b3', brokerOrderId: 'B3' });
      expect(engine.risk.openBuy[0]).toBe(0);
      expect(engine.submit(buy('b4', { qty: 100 })).status).toBe('accepted');
      expect(engine.submit(buy('b5', { qty: 1 }))).toMatchObject({ reason: 'MAX_POSITION' });
    });

    it('denies with BROKER_NOT_READY before start and after a disconnect, and queues nothing', async () => {
      const broker = new ScriptedBroker();
      const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: quiet() });
      expect(engine.submit(buy('a'))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });
      await engine.start();
      broker.sink!.onDisconnect('socket closed');
      expect(engine.submit(buy('b'))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });
      expect(broker.placed).toHaveLength(0);
    });

    it('frees the slot when the adapter certainly did not send (NotSentError)', async () => {
      const { engine, broker } = await harness();
      broker.placeError = new NotSentError('not logged on');
      expect(engine.submit(buy('a'))).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY', detail: 'broker=scripted error=not logged on' });
      expect(engine.getOrder('a')).toBeUndefined();
      broker.placeError = undefined;
      expect(engine.submit(buy('a')).status).toBe('accepted');
    });

    it('keeps an order PendingNew, never resent, when the send outcome is unknown', async () => {
      const { engine, broker, anomalies } = await harness();
      broker.placeError = new Error('socket write timeout');
      expect(engine.submit(buy('a')).status).toBe('accepted');
      expect(engine.getOrder('a')?.status).toBe('PendingNew');
      expect(anomalies.map((a) => a.kind)).toEqual(['SEND_FAILED']);
      broker.placeError = undefined;
      expect(engine.submit(buy('a')).status).toBe('duplicate');
      expect(broker.placed).toHaveLength(0);
    });
  });

  describe('cancel', () => {
    it('sends once; a second cancel while pending sends nothing and says why', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      expect(engine.cancel('a')).toEqual({ status: 'sent', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.cancel('a')).toEqual({ status: 'ignored', clientOrderId: 'a', reason: 'CANCEL_PENDING', orderStatus: 'PendingCancel' });
      expect(broker.cancels).toEqual([{ clientOrderId: 'a', brokerOrderId: 'B1' }]);
    });

    it('sends nothing for a finished order', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.fill('a', 'B1', 100, 10.05);
      expect(engine.cancel('a')).toEqual({ status: 'ignored', clientOrderId: 'a', reason: 'ORDER_FINISHED', orderStatus: 'Filled' });
      expect(broker.cancels).toHaveLength(0);
    });

    it('cancels before the ack by client order id', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      expect(engine.cancel('a')).toEqual({ status: 'sent', clientOrderId: 'a', brokerOrderId: '' });
      broker.ack('a', 'B1');
      broker.send({ kind: 'canceled', clientOrderId: 'a', brokerOrderId: 'B1' });
      expect(engine.getOrder('B1')).toMatchObject({ status: 'Cancelled', clientOrderId: 'a' });
    });

    it('answers unknown and malformed ids without throwing', async () => {
      const { engine } = await harness();
      expect(engine.cancel('nope')).toMatchObject({ status: 'denied', reason: 'UNKNOWN_ORDER' });
      expect(engine.cancel(undefined as never)).toMatchObject({ status: 'denied', reason: 'INVALID_ORDER' });
    });

    it('restores the status when the adapter certainly did not send the cancel', async () => {
      const { engine, broker } = await harness();
      engine.submit(buy('a'));
      broker.ack('a', 'B1');
      broker.cancelError = new NotSentError('down');
      expect(engine.cancel('a')).toMatchObject({ status: 'denied', reason: 'BROKER_NOT_READY' });
      expect(engine.getOrder('a')?.status).toBe('Submitted');
    });
  });

  describe('config', () => {
    it('reports every problem at once, misspelled options included', () => {
      let err: unknown;
      try {
        createEngine({
          instruments: [{ symbol: 'A', tickSize: 0.01, pricePrecision: 2 }, { symbol: 'A', tickSize: 0, pricePrecision: 2 }],
          capacity: 1000,
          retentonMs: 5,
          risk: { default: { maxOrderQty: -1 }, perSymbol: { ZZZ: {} } },
        } as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        'retentonMs: unknown option (known: instruments, broker, sim, capacity, retentionMs, risk, initialCash, currencyPrecision, clock, logger, strategy, onAnomaly, backend, testHooks, onTradingState, markets, cancelOutsideSession, environment, live, connection, onConnectionState, journal, latencyHistograms, reportTimingEvery, recon, tradingDay, limits, onDayRoll, callbackArgs, configHash, rollout, fallback)',
        'instruments[1].tickSize: must be a positive finite number',
        'instruments[1].symbol: duplicate symbol A',
        'capacity: must be a power of two from 2 to 16777216, got 1000',
        'risk.default.maxOrderQty: must be a number >= 0',
        'risk.perSymbol.ZZZ: not a configured instrument',
      ]);
    });

    it('registers strategy callbacks once only', async () => {
      const { engine } = await harness();
      engine.setStrategy({ onOrder() {} });
      expect(() => engine.setStrategy({ onTrade() {} })).toThrow('already registered');
    });
  });
});
