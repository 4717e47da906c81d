import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { createEngine } from '../src/engine.js';
import { traceOrder, type Trace } from '../src/journal/trace.js';
import { INSTRUMENTS, ScriptedBroker } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-trace-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tradecore trace', () => {
  it("prints one order's commands, reports, status changes and anomalies from the journal, and its log lines", async () => {
    const journal = path.join(dir, 'journal');
    const logFile = path.join(dir, 'engine.log');
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 30));
    const broker = new ScriptedBroker();
    broker.clock = clock;
    const logger = pino({ level: 'debug', timestamp: () => `,"time":${Math.round(clock.now())}` }, pino.destination({ dest: logFile, sync: true }));
    const e = createEngine({ instruments: INSTRUMENTS, broker, clock, logger, connection: { heartbeatMs: 0 }, journal: { dir: journal, snapshotEveryRecords: 0, snapshotEveryMs: 0 } });
    await e.start();
    e.submit({ clientOrderId: 'other', symbol: 'ACME', side: 'sell', qty: 5, price: 10.1 });
    clock.advance(1);
    e.submit({ clientOrderId: 't1', symbol: 'ACME', side: 'buy', qty: 100, price: 10 });
    clock.advance(2);
    broker.ack('t1', 'BT1');
    broker.ack('other', 'BO');
    clock.advance(5);
    broker.fill('t1', 'BT1', 40, 10, { execId: 'f1' });
    broker.fill('t1', 'BT1', 40, 10, { execId: 'f1' }); // duplicate: dropped, still a record
    e.cancel('t1');
    clock.advance(3);
    broker.send({ kind: 'canceled', clientOrderId: 't1', brokerOrderId: 'BT1', execId: 'c1' });
    broker.send({ kind: 'expired', clientOrderId: 't1', brokerOrderId: 'BT1', execId: 'x1' }); // invalid after Cancelled: an anomaly
    await e.stop();

    const tr = traceOrder('t1', journal, [logFile]);
    const fromJournal = tr.lines.filter((l) => l.source === 'journal').map((l) => [l.what, l.status ?? '']);
    expect(fromJournal).toEqual([
      ['intent', 'PendingNew'],
      ['report new', 'Submitted'],
      ['report trade', 'PartiallyFilled'],
      ['report trade', ''],
      ['cancel', 'PendingCancel'],
      ['report canceled', 'Cancelled'],
      ['report expired', ''],
      ['anomaly INVALID_TRANSITION', ''],
    ]);
    expect(tr.brokerOrderId).toBe('BT1');
    const fromLog = tr.lines.filter((l) => l.source === 'log').map((l) => l.what);
    expect(fromLog).toEqual(expect.arrayContaining(['order sent', 'report applied']));
    expect(fromLog.filter((w) => w === 'report applied')).toHaveLength(3); // new, trade, canceled
    expect(tr.lines.every((l) => !JSON.stringify(l).includes('"other"'))).toBe(true);
    // time order, journal and log lines interleaved
    expect(tr.lines.map((l) => l.t)).toEqual([...tr.lines.map((l) => l.t)].sort((a, b) => a - b));

    const cli = spawnSync(process.execPath, ['dist/src/cli/main.js', 'trace', 't1', '--journal', journal, '--log', logFile, '--json'], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    expect((JSON.parse(cli.stdout) as Trace).lines).toHaveLength(tr.lines.length);
    const text = spawnSync(process.execPath, ['dist/src/cli/main.js', 'trace', 't1', '--journal', journal], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/report canceled +execId=c1 brokerOrderId=BT1 .*-> Cancelled/);
    const none = spawnSync(process.execPath, ['dist/src/cli/main.js', 'trace', 'nobody', '--journal', journal], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(spawnSync(process.execPath, ['dist/src/cli/main.js', 'trace', 't1'], { encoding: 'utf8' }).status).toBe(2);
  });
});
