// The order round trip to QuickFIX's `executor` over loopback: submit → NewOrderSingle → its
// ExecutionReport (a fill) applied, one order at a time, each timed alone into an HDR histogram.
// `engine`: the engine on the FIX adapter. `raw-client`: the least JS that does the trip (encode
// the order, write it, frame and index the report): the floor. Both against the same acceptor
// process, which is most of the time. Prints one JSON row per case.
// Usage: node dist/bench/fix-roundtrip.js ORDERS
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { pino } from 'pino';
import { FixBroker } from '../src/brokers/fix/adapter.js';
import { FixFramer, FixView, encodeFix, utcTimestamp } from '../src/brokers/fix/codec.js';
import { createEngine } from '../src/engine.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const QF = process.env.TRADECORE_QUICKFIX_DIR ?? path.join(ROOT, '.ci', 'quickfix');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  if (!existsSync(path.join(QF, 'bin', 'executor'))) {
    if (process.env.TRADECORE_REQUIRE_QUICKFIX === '1') throw new Error(`no QuickFIX executor in ${QF}`);
    process.stdout.write(`${JSON.stringify({ skipped: `no QuickFIX executor in ${QF} (bash test/fixtures/fix/quickfix.sh)` })}\n`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-fix-bench-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'ex.cfg'), ['[DEFAULT]', 'ConnectionType=acceptor', `SocketAcceptPort=${port}`, `FileStorePath=${dir}/store`, 'StartTime=00:00:00', 'EndTime=00:00:00',
    'UseDataDictionary=N', 'SenderCompID=EXECUTOR', 'ResetOnLogon=Y', '[SESSION]', 'BeginString=FIX.4.4', 'TargetCompID=TRADECORE', '[SESSION]', 'BeginString=FIX.4.4', 'TargetCompID=RAW', ''].join('\n'));
  const ex = spawn(path.join(QF, 'bin', 'executor'), [path.join(dir, 'ex.cfg')], { cwd: dir, env: { ...process.env, LD_LIBRARY_PATH: path.join(QF, 'lib') }, stdio: 'ignore' });
  try {
    for (let k = 0; ; k++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (up) break;
      if (k > 200) throw new Error('executor did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    hdr.initWebAssemblySync();
    const histogram = () => hdr.build({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });
    const row = (name: string, workload: string, h: ReturnType<typeof histogram>, count: number) => {
      const at = (p: number) => Math.min(h.getValueAtPercentile(p), h.maxValue);
      process.stdout.write(`${JSON.stringify({ suite: 'fix-roundtrip', case: name, backend: name === 'engine' ? 'ts' : 'js-floor', workload, ops_per_sec: 0, ns_per_op_p50: at(50), ns_per_op_p99: at(99), ns_per_op_p999: at(99.9), ns_per_op_max: h.maxValue, samples: count, rme_pct: 0 })}\n`);
    };

    // the engine on the FIX adapter
    {
      const broker = new FixBroker({ port, beginString: 'FIX.4.4', senderCompId: 'TRADECORE', targetCompId: 'EXECUTOR', storeDir: path.join(dir, 'engine'), resetOnLogon: true, heartbeatSeconds: 30 });
      const engine = createEngine({ instruments: [{ symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 }], broker, capacity: 1 << 17, logger: pino({ level: 'silent' }), environment: 'paper', connection: { heartbeatMs: 0 } });
      let done: (() => void) | undefined;
      engine.setStrategy({ onTrade: () => done?.() });
      await engine.start();
      const h = histogram();
      const warm = Math.min(2000, n);
      for (let i = 0; i < n + warm; i++) {
        const filled = new Promise<void>((r) => (done = r));
        const t0 = performance.now();
        const r = engine.submit({ clientOrderId: `rt-${i}`, symbol: 'ACME', side: i & 1 ? 'sell' : 'buy', qty: 1, price: 10 });
        if (r.status !== 'accepted') throw new Error(`order ${i}: ${JSON.stringify(r)}`);
        await filled;
        if (i >= warm) h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
      }
      if (engine.stats().fills !== n + warm) throw new Error(`fills ${engine.stats().fills} != ${n + warm}`);
      await engine.stop();
      row('engine', `engine.submit → NewOrderSingle → executor's fill applied (FIX 4.4, loopback), ${n} orders one at a time`, h, n);
    }
    // the floor: a bare client on its own session
    {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      let seq = 1;
      const framer = new FixFramer();
      const view = new FixView();
      let waiting: ((type: string) => void) | undefined;
      socket.on('data', (c: Buffer) => framer.push(c, (b, s, e) => {
        if (view.parse(b, s, e)) waiting?.(view.str(35)!);
      }));
      const next = (type: string) => new Promise<void>((resolve) => (waiting = (t) => t === type && resolve()));
      const send = (type: string, fields: Array<[number, string | number]>) => socket.write(encodeFix('FIX.4.4', [[35, type], [49, 'RAW'], [56, 'EXECUTOR'], [34, seq++], [52, utcTimestamp(Date.now())], ...fields]));
      const logon = next('A');
      send('A', [[98, 0], [108, 30]]);
      await logon;
      const h = histogram();
      const warm = Math.min(2000, n);
      for (let i = 0; i < n + warm; i++) {
        const er = next('8');
        const t0 = performance.now();
        send('D', [[11, `raw-${i}`], [21, '1'], [55, 'ACME'], [54, i & 1 ? '2' : '1'], [60, utcTimestamp(Date.now())], [38, 1], [40, '2'], [44, 10], [59, '0']]);
        await er;
        if (i >= warm) h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
      }
      socket.destroy();
      row('raw-client', `a bare client: encode NewOrderSingle, write, frame and index executor's fill (the floor), ${n} orders one at a time`, h, n);
    }
  } finally {
    ex.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
