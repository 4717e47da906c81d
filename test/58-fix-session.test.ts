/**
 * The FIX session layer against QuickFIX's `executor`, case by case after the FIX Trading
 * Community's session-layer test cases: logon and logout, heartbeat and test request, sequence
 * numbers kept across connects, MsgSeqNum too high in each direction (resend, gap fill), too low
 * (fatal). The acceptor keeps its own sequence numbers (ResetOnLogon=N), as a real venue does.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixSession, type FixSessionOptions } from '../src/brokers/fix/session.js';
import { utcTimestamp, type FixView } from '../src/brokers/fix/codec.js';
import { HAVE_QUICKFIX, startAcceptor, type Acceptor } from './fix-helpers.js';
import { until } from './helpers.js';


describe.skipIf(!HAVE_QUICKFIX)('FIX session layer against QuickFIX executor', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const store = mkdtempSync(path.join(tmpdir(), 'tc-fix-store-'));
  cleanups.push(() => rmSync(store, { recursive: true, force: true }));
  let ex: Acceptor;
  const opts = (extra: Partial<FixSessionOptions> = {}): FixSessionOptions => ({ port: ex.port, beginString: 'FIX.4.4', senderCompId: 'TRADECORE', targetCompId: 'EXECUTOR', heartbeatSeconds: 30, storeDir: store, ...extra });
  const seqFile = () => path.join(store, 'FIX.4.4-TRADECORE-EXECUTOR.seqnums');
  const setSeqs = (out: number | undefined, inn: number | undefined) => {
    const [o, i] = readFileSync(seqFile(), 'utf8').trim().split(/\s+/).map(Number);
    writeFileSync(seqFile(), `${String(out ?? o).padStart(12)} ${String(inn ?? i).padStart(12)}\n`);
  };
  /** A session that collects ExecutionReports (ClOrdID, PossDup). */
  const open = (extra: Partial<FixSessionOptions> = {}) => {
    const s = new FixSession(opts(extra));
    const reports: Array<{ clOrdId: string; possDup: boolean }> = [];
    const downs: string[] = [];
    s.onApp = (v: FixView, type, possDup) => {
      if (type === '8') reports.push({ clOrdId: v.str(11)!, possDup });
    };
    s.onDown = (d) => downs.push(`${d.fatal ? 'fatal: ' : ''}${d.reason}`);
    cleanups.push(() => s.dispose());
    return { s, reports, downs };
  };
  const order = (s: FixSession, id: string) => s.send('D', [[11, id], [21, '1'], [55, 'ACME'], [54, '1'], [60, utcTimestamp(Date.now())], [38, 10], [40, '2'], [44, 10], [59, '0']]);

  it('1B/2: Logon with HeartBtInt is answered with a Logon; Logout initiated here is acknowledged', async () => {
    ex = await startAcceptor('executor', ['FIX.4.4'], { resetOnLogon: false });
    cleanups.push(() => ex.stop());
    const { s } = open();
    await s.connect();
    expect(s.isLoggedOn).toBe(true);
    expect(s.seqs).toEqual({ out: 2, in: 2 });
    await s.logout('test done');
    expect(s.isLoggedOn).toBe(false);
    // both Logouts counted: ours out, theirs in
    expect(s.seqs).toEqual({ out: 3, in: 3 });
  });

  it('4/6: a TestRequest is answered with a Heartbeat carrying its TestReqID; heartbeats keep a quiet session up', async () => {
    const { s, downs } = open({ heartbeatSeconds: 1 });
    await s.connect();
    const sendingTime = await s.testRequest();
    expect(Math.abs(sendingTime - Date.now())).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 2600));
    expect(s.stats.heartbeatsSent).toBeGreaterThanOrEqual(1);
    expect(s.isLoggedOn).toBe(true);
    expect(downs).toEqual([]);
    await s.logout();
  });

  it('sequence numbers are kept across connects: a new session continues where the last stopped, and orders still fill', async () => {
    const before = readFileSync(seqFile(), 'utf8').trim().split(/\s+/).map(Number);
    const { s, reports } = open();
    await s.connect();
    expect(s.seqs.out).toBe(before[0]! + 1);
    // a value the encoder refuses sends nothing and takes no sequence number (no gap on the wire)
    expect(() => s.send('D', [[58, 'a\x01b']])).toThrow(/SOH/);
    expect(s.seqs.out).toBe(before[0]! + 1);
    order(s, 'keep-1');
    await until(() => reports.length === 1, 10_000, 'the fill');
    expect(reports[0]).toEqual({ clOrdId: 'keep-1', possDup: false });
    await s.logout();
  });

  it('2b: MsgSeqNum too high from us: the acceptor asks for a resend, our GapFill satisfies it, and orders go on', async () => {
    setSeqs(readFileSync(seqFile(), 'utf8').trim().split(/\s+/).map(Number)[0]! + 5, undefined);
    const { s, reports, downs } = open();
    await s.connect();
    await until(() => s.stats.resendRequestsAnswered === 1, 10_000, 'the acceptor’s ResendRequest');
    order(s, 'gap-1');
    await until(() => reports.length === 1, 10_000, 'the fill after the gap fill');
    expect(downs).toEqual([]);
    await s.logout();
  });

  it('2c/8: MsgSeqNum too high from the acceptor: we ask for a resend; its reports come again marked PossDup, admin messages gap-filled', async () => {
    // forget what came in since the order keep-1: its report (and later ones) must come again
    const { s: first, reports: firstReports } = open();
    await first.connect();
    order(first, 'resend-1');
    await until(() => firstReports.length === 1, 10_000, 'the fill');
    const inAfterFill = first.seqs.in;
    await first.logout();
    setSeqs(undefined, inAfterFill - 1);
    const { s, reports, downs } = open();
    await s.connect();
    await until(() => reports.length >= 1 && s.seqs.in > inAfterFill, 10_000, 'the resent report');
    expect(s.stats.resendRequestsSent).toBe(1);
    expect(reports[0]).toEqual({ clOrdId: 'resend-1', possDup: true });
    expect(downs).toEqual([]);
    await s.logout();
  });

  it('2d: MsgSeqNum too low from the acceptor without PossDupFlag is fatal: Logout with the reason, and connect fails saying so', async () => {
    setSeqs(undefined, 100_000);
    const { s } = open();
    const err = await s.connect().then(() => undefined, (e: Error & { fatal?: boolean }) => e);
    expect(err?.message).toMatch(/^MsgSeqNum too low, expecting 100000 but received \d+$/);
    expect(err?.fatal).toBe(true);
    expect(s.isLoggedOn).toBe(false);
  });

  it('ResetSeqNumFlag on Logon: both sides start again at 1', async () => {
    const { s, reports } = open({ resetOnLogon: true });
    await s.connect();
    expect(s.seqs).toEqual({ out: 2, in: 2 });
    order(s, 'reset-1');
    await until(() => reports.length === 1, 10_000, 'the fill after a reset');
    await s.logout();
  });
});
