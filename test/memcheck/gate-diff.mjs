// Scaled-down differential of the native and TypeScript gates, for a memory checker:
// `npm run test:valgrind` runs it under valgrind memcheck. Seeded random batches with edge
// values and hostile calls; exits 1 on any difference.
import { Prng } from '../../dist/src/brokers/sim/prng.js';
import { createEngine } from '../../dist/src/engine.js';

const ORDERS = Number(process.argv[2] ?? 20000);
const instruments = [
  { symbol: 'AAA', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'BBB', tickSize: 0.05, pricePrecision: 2, lotSize: 10 },
];
const risk = { default: { maxOrderQty: 500, maxOrderNotional: 20000, maxPosition: 3000, priceBandPct: 5 } };
const silent = { level: 'silent', debug() {}, info() {}, warn() {}, error() {}, child() { return this; }, isLevelEnabled() { return false; } };
const broker = () => ({
  name: 'null', async connect(s) { this.sink = s; }, async disconnect() {}, async heartbeat() { return { brokerTime: Date.now() }; },
  placeOrder() {}, cancelOrder() {}, async syncOpenOrders() { return []; }, async syncTodayTrades() { return []; },
  async queryPositions() { return []; }, async queryAccount() { return []; },
});
const make = async (backend) => {
  const e = createEngine({ instruments, broker: broker(), logger: silent, capacity: 1 << 12, retentionMs: 0, risk, backend, connection: { heartbeatMs: 0 } });
  await e.start();
  e.updateReference('AAA', 42.5);
  e.updateReference('BBB', 17.35);
  return e;
};
const ts = await make('ts');
const native = await make('native');
const rng = new Prng(5);
const odd = [0, -1, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 1e-300, '7', null];
let n = 0;
let diffs = 0;
while (n < ORDERS) {
  const orders = [];
  const size = rng.int(1, 300);
  for (let i = 0; i < size; i++, n++) {
    const sym = rng.chance(0.5) ? 'AAA' : 'BBB';
    const lot = sym === 'BBB' ? 10 : 1;
    const base = sym === 'AAA' ? 4250 : 1735;
    orders.push({
      clientOrderId: rng.chance(0.05) ? `d${rng.int(0, 50)}` : `o${n}`,
      symbol: rng.chance(0.01) ? 'ZZZ' : sym,
      side: rng.chance(0.5) ? 'buy' : 'sell',
      qty: rng.chance(0.05) ? rng.pick(odd) : lot * rng.int(1, 60),
      ...(rng.chance(0.1) ? { type: 'market' } : { price: rng.chance(0.05) ? rng.pick(odd) : (base + rng.int(-200, 200)) / 100 }),
    });
  }
  const a = ts.submitMany(orders);
  const b = native.submitMany(orders);
  for (let i = 0; i < orders.length; i++) if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) diffs++;
  for (const e of [ts, native]) {
    for (const o of e.openOrders()) {
      if (o.clientOrderId.length % 3 === 0) e.onReport({ kind: 'trade', execId: 'F', brokerOrderId: `B${o.clientOrderId}`, clientOrderId: o.clientOrderId, lastQty: o.qty, lastPx: Number.isNaN(o.price) ? 40 : o.price });
      else e.onReport({ kind: 'canceled', execId: 'C', brokerOrderId: `B${o.clientOrderId}`, clientOrderId: o.clientOrderId });
    }
  }
}
console.log(`${ORDERS} orders through both gates: ${diffs} differences; backends ${ts.backend.submitMany} / ${native.backend.submitMany}`);
process.exit(diffs === 0 && native.backend.submitMany === 'native' ? 0 : 1);
