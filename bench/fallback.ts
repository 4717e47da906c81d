// The fallback switch's time, one case per fresh process; prints one JSON line.
//   node dist/bench/fallback.js CASE N
// An engine holds N open orders at the embedded simulated broker (the "live" broker here:
// acks and cancels delivered on the event loop, no latency), then:
//   paper:     engine.fallback('paper'): ms from the command to the first order routed to the
//              paper broker (its submit accepted there), and to every live order Cancelled;
//   safe-stop: engine.fallback('safe-stop'), the baseline: the same cancels, no paper engine;
//              ms to every live order Cancelled (and to the first order refused, TRADING_HALTED);
//   floor:     the simulated broker alone: N orders placed on it directly and cancelled, ms until
//              its N cancel reports reached a bare sink; and a fresh simulated broker connected
//              and its first order acked (the least a switch to a new broker could take).
// Correctness checks: every live order ends Cancelled; in paper, the new order is at the paper
// engine and never at the live broker; the live ledger is untouched by it.
import { pino } from 'pino';
import { SimBroker } from '../src/brokers/sim/sim-broker.js';
import type { ReportSink } from '../src/brokers/adapter.js';
import { createEngine } from '../src/engine.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';

const INSTRUMENTS: InstrumentSpec[] = [{ symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 }];
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => (cond() ? resolve() : setImmediate(tick));
    tick();
  });
}

async function engineCase(which: 'paper' | 'safe-stop', n: number): Promise<Record<string, number | string>> {
  const broker = new SimBroker({ instruments: INSTRUMENTS, seed: 5, marketStepMs: 0, startPrices: { AAA: 100 } });
  const engine = createEngine({ instruments: INSTRUMENTS, broker, logger: pino({ level: 'silent' }), capacity: 1 << 15, risk: { default: { maxPosition: 1e12 } } });
  await engine.start();
  engine.updateReference('AAA', 100);
  for (let i = 0; i < n; i++) {
    const r = engine.submit({ clientOrderId: `L${i}`, symbol: 'AAA', side: 'buy', qty: 10, price: 95 - (i % 50) * 0.01 });
    if (r.status !== 'accepted') throw new Error(`order ${i}: ${JSON.stringify(r)}`);
  }
  await until(() => engine.openOrders().every((o) => o.status === 'Submitted'));
  const placedBefore = broker.allOrders().length;
  const t0 = performance.now();
  const pending = engine.fallback(which, { note: 'bench' });
  let first = Number.NaN;
  if (which === 'paper') {
    await pending;
    const r = engine.submit({ clientOrderId: 'P0', symbol: 'AAA', side: 'buy', qty: 1, price: 95 });
    first = performance.now() - t0;
    if (r.status !== 'accepted' || engine.paper?.getOrder('P0') === undefined) throw new Error(`the first paper order was not routed: ${JSON.stringify(r)}`);
  } else {
    const res = await pending;
    if (!res.ok) throw new Error(res.problem);
    const r = engine.submit({ clientOrderId: 'P0', symbol: 'AAA', side: 'buy', qty: 1, price: 95 });
    first = performance.now() - t0;
    if (r.status !== 'denied' || r.reason !== 'TRADING_HALTED') throw new Error(`safe-stop let an order through: ${JSON.stringify(r)}`);
  }
  await until(() => engine.openOrderCount() === 0);
  const cancelled = performance.now() - t0;
  const orders = engine.orders();
  if (orders.length !== n || orders.some((o) => o.status !== 'Cancelled')) throw new Error('a live order did not end Cancelled');
  if (broker.allOrders().length !== placedBefore) throw new Error('an order reached the live broker after the switch');
  if (engine.positions()[0]!.qty !== 0) throw new Error('the live ledger moved');
  await engine.stop();
  return { first_order_ms: r3(first), all_cancelled_ms: r3(cancelled) };
}

async function floorCase(n: number): Promise<Record<string, number | string>> {
  const broker = new SimBroker({ instruments: INSTRUMENTS, seed: 5, marketStepMs: 0, startPrices: { AAA: 100 } });
  let canceled = 0;
  let acked = 0;
  const sink: ReportSink = {
    onReport: (r) => {
      if (r.kind === 'canceled') canceled++;
      else if (r.kind === 'new') acked++;
    },
    onDisconnect: () => undefined,
  };
  await broker.connect(sink);
  for (let i = 0; i < n; i++) broker.placeOrder({ clientOrderId: `L${i}`, symbol: 'AAA', side: 'buy', type: 'limit', tif: 'day', qty: 10, price: 95 - (i % 50) * 0.01 });
  await until(() => acked === n);
  const ids = broker.allOrders().map((o) => o.brokerOrderId);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) broker.cancelOrder({ clientOrderId: `L${i}`, brokerOrderId: ids[i]! });
  await until(() => canceled === n);
  const cancelled = performance.now() - t0;
  // a fresh broker connected and its first order acked
  const t1 = performance.now();
  const paper = new SimBroker({ instruments: INSTRUMENTS, seed: 6, marketStepMs: 0, startPrices: { AAA: 100 } });
  let firstAck = false;
  await paper.connect({ onReport: (r) => { if (r.kind === 'new') firstAck = true; }, onDisconnect: () => undefined });
  paper.placeOrder({ clientOrderId: 'P0', symbol: 'AAA', side: 'buy', type: 'limit', tif: 'day', qty: 1, price: 95 });
  const first = performance.now() - t1;
  await until(() => firstAck);
  await paper.disconnect();
  await broker.disconnect();
  return { first_order_ms: r3(first), all_cancelled_ms: r3(cancelled) };
}

async function main(): Promise<void> {
  const which = process.argv[2] as 'paper' | 'safe-stop' | 'floor';
  const n = Number(process.argv[3] ?? 1000);
  if (!['paper', 'safe-stop', 'floor'].includes(which)) throw new Error('usage: fallback.js paper|safe-stop|floor N');
  const out = which === 'floor' ? await floorCase(n) : await engineCase(which, n);
  process.stdout.write(`${JSON.stringify({ case: which, live_orders: n, ...out })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
