/**
 * `tradecore certify`: the fixed suite and the seeded drills against one target, and the
 * evidence they leave (docs/certify.md): a JSON record per case and drill, a summary, an HTML page.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Prng } from '../brokers/sim/prng.js';
import { ManualClock, systemClock, type Clock } from '../core/clock.js';
import { CaseFailure, NO_VIOLATIONS, Session, freshDir, type Capability, type InvariantCounts, type RecipeKind, type Target } from './harness.js';
import { SUITE, SUITE_VERSION, type CertCase } from './suite.js';
import { certifyHtml } from './page.js';
import type { ReportFaults } from './faults.js';
import { tradecoreVersion } from '../version.js';

export type Verdict = 'passed' | 'failed' | 'skipped';

/** The record of one case or drill (`DIR/cases/<id>.json`, `DIR/drills/<seed>.json`). */
export interface CaseRecord {
  readonly id: string;
  readonly kind: 'case' | 'drill';
  readonly title: string;
  readonly checklist: string;
  readonly needs: readonly Capability[];
  readonly seed: number;
  verdict: Verdict;
  /** Why it was skipped, or what failed first (a step of the case, or "invariants"). */
  reason: string;
  invariants: InvariantCounts;
  problems: string[];
  notChecked: string[];
  /** What the fault wrapper did. */
  faults: { dropped: number; duplicated: number; reordered: number; delayed: number; cuts: number; throwsAfterSend: number; hangs: number; reportsIn: number; engines: number };
  /** Drills: the steps it took. */
  steps?: string[];
  timings: { ms: number };
  /** The command that runs exactly this again. */
  replay: string;
}

export interface CertifySummary {
  readonly certify: 1;
  readonly suite: string;
  readonly tradecore: string;
  readonly adapter: string;
  readonly startedAt: string;
  finishedAt: string;
  ok: boolean;
  cases: { total: number; passed: number; failed: number; skipped: number; failedIds: string[]; skippedIds: Array<{ id: string; reason: string }> };
  drills: { run: number; passed: number; failed: number; failedSeeds: number[]; firstSeed: number };
  invariants: InvariantCounts;
  ms: number;
}

export interface CertifyOptions {
  target: Target;
  /** Evidence directory (made; a previous run's evidence in it is replaced). */
  out: string;
  /** Seeded drills to run after the cases (default 0). */
  drills?: number;
  /** Seed of the first drill; drill k has seed `seed + k`. Default 1. */
  seed?: number;
  /** Run only these case ids (default all); `[]` runs no case. */
  only?: readonly string[];
  /** How the replay line names the adapter (default the target's name). */
  adapterArg?: string;
  progress?: (line: string) => void;
}

const START = Date.UTC(2026, 0, 6, 14, 0);

function clockFor(target: Target): { clock: Clock; sleep: (ms: number) => Promise<void> } {
  if (target.time === 'real') return { clock: systemClock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  const clock = new ManualClock(START);
  return {
    clock,
    sleep: async (ms) => {
      for (let t = 0; t < ms; t++) {
        clock.advance(1);
        await tick();
      }
      if (ms <= 0) await tick();
    },
  };
}


/** Run one session (a case's body or a drill's steps), settle it, check the invariants. */
async function runSession(
  target: Target, rec: CaseRecord, dir: string, faults: ReportFaults | undefined, expects: readonly string[],
  body: (s: Session) => Promise<void>,
): Promise<void> {
  const t0 = Date.now();
  const { clock, sleep } = clockFor(target);
  freshDir(dir);
  let s: Session | undefined;
  try {
    const venue = await target.openVenue({ caseId: rec.id, clock, seed: rec.seed, dir });
    s = new Session(venue, clock, sleep, rec.id.toLowerCase(), rec.seed, dir, faults ?? {}, target.capabilities);
    for (const k of expects) s.expected.add(k);
    await s.startEngine();
    try {
      await body(s);
    } catch (err) {
      rec.verdict = 'failed';
      rec.reason = err instanceof CaseFailure ? err.message : `error: ${(err as Error).stack ?? String(err)}`;
    }
    await s.settle();
    const inv = await s.check();
    rec.invariants = inv.counts;
    rec.problems = inv.problems;
    rec.notChecked = inv.notChecked;
    if (!inv.ok && rec.verdict !== 'failed') {
      rec.verdict = 'failed';
      rec.reason = `invariants: ${inv.problems[0]}${inv.problems.length > 1 ? ` (and ${inv.problems.length - 1} more)` : ''}`;
    }
    if (rec.verdict !== 'failed') rec.verdict = 'passed';
  } catch (err) {
    rec.verdict = 'failed';
    if (rec.reason === '') rec.reason = err instanceof CaseFailure ? err.message : `error: ${(err as Error).message}`;
    else rec.problems.push(`after the failure: ${(err as Error).message}`);
  } finally {
    if (s !== undefined) {
      const st = s.faulty?.stats;
      if (st !== undefined) rec.faults = { dropped: st.dropped, duplicated: st.duplicated, reordered: st.reordered, delayed: st.delayed, cuts: st.cuts, throwsAfterSend: st.throwsAfterSend, hangs: st.hangs, reportsIn: st.reportsIn, engines: s.engines };
      await s.close().catch(() => {});
    }
    rec.timings = { ms: Date.now() - t0 };
  }
}

function blank(id: string, kind: 'case' | 'drill', title: string, checklist: string, needs: readonly Capability[], seed: number, replay: string): CaseRecord {
  return {
    id, kind, title, checklist, needs, seed, verdict: 'passed', reason: '', invariants: { ...NO_VIOLATIONS }, problems: [], notChecked: [],
    faults: { dropped: 0, duplicated: 0, reordered: 0, delayed: 0, cuts: 0, throwsAfterSend: 0, hangs: 0, reportsIn: 0, engines: 0 }, timings: { ms: 0 }, replay,
  };
}

/** Run one fixed case. */
export async function runCase(target: Target, c: CertCase, out: string, seed: number, adapterArg = target.name): Promise<CaseRecord> {
  const rec = blank(c.id, 'case', c.title, c.checklist, c.needs, seed, `tradecore certify --adapter ${adapterArg} --case ${c.id} --seed ${seed} --out DIR`);
  const missing = c.needs.filter((n) => !target.capabilities.has(n));
  if (missing.length > 0) {
    rec.verdict = 'skipped';
    rec.reason = missing.map((m) => `needs ${m}${target.missing?.[m] !== undefined ? `: ${target.missing[m]}` : ''}`).join('; ');
    return rec;
  }
  await runSession(target, rec, path.join(out, 'work', c.id), c.faults, c.expects ?? [], (s) => c.run(s));
  return rec;
}

/**
 * One seeded drill: random orders, cancels and faults (report faults, cuts, sends that throw or
 * go silent, engine restarts and crashes, market moves, broker restarts), then the invariants.
 */
export async function runDrill(target: Target, seed: number, out: string, adapterArg = target.name): Promise<CaseRecord> {
  const rec = blank(`DR-${seed}`, 'drill', `seeded drill ${seed}`, '7 drills: seeded randomized fault drills', [], seed, `tradecore certify --adapter ${adapterArg} --drill ${seed} --out DIR`);
  const rng = new Prng(seed);
  const faults: ReportFaults = {
    drop: rng.chance(0.3) ? rng.next() * 0.2 : 0,
    duplicate: rng.chance(0.5) ? rng.next() * 0.5 : 0,
    reorder: rng.chance(0.5) ? rng.next() * 0.5 : 0,
    delay: rng.chance(0.3) ? rng.next() * 0.3 : 0,
    delayMs: rng.int(1, 30),
  };
  const steps: string[] = [`faults ${JSON.stringify(faults)}`];
  rec.steps = steps;
  const caps = target.capabilities;
  await runSession(target, rec, path.join(out, 'work', rec.id), faults, ['SEND_FAILED', 'SYNC_NOT_AT_BROKER', ...((faults.drop ?? 0) > 0 ? ['CUM_QTY_MISMATCH'] : [])], async (s) => {
    const n = rng.int(6, 24);
    const symbols = s.venue.instruments.map((i) => i.symbol);
    for (let k = 0; k < n; k++) {
      const roll = rng.next();
      const side = rng.chance(0.5) ? 'buy' : 'sell';
      const symbol = symbols[rng.int(0, symbols.length - 1)]!;
      const open = s.engine.openOrders().filter((o) => !o.external);
      if (roll < 0.45) {
        const kinds: RecipeKind[] = ['fill', ...(caps.has('restingOrders') ? (['rest', 'rest'] as const) : []), ...(caps.has('partialFills') ? (['partial'] as const) : []), ...(caps.has('reject') ? (['reject'] as const) : [])];
        const kind = kinds[rng.int(0, kinds.length - 1)]!;
        const r = s.venue.recipe(kind, side, symbol);
        if (r === undefined) continue;
        if (rng.chance(0.1)) {
          s.faulty.throwAfterSend(1);
          steps.push('next send throws after sending');
        } else if (rng.chance(0.08) && caps.has('restingOrders')) {
          s.faulty.hang(1);
          steps.push('next send goes silent');
        }
        const placed = r.orders.map((o) => s.submit(o));
        steps.push(`${kind} ${side} ${symbol}: ${placed.map((p) => `${p.clientOrderId} ${p.status}`).join(', ')}`);
      } else if (roll < 0.6 && open.length > 0) {
        const o = open[rng.int(0, open.length - 1)]!;
        steps.push(`cancel ${o.clientOrderId}: ${s.engine.cancel(o.clientOrderId).status}`);
      } else if (roll < 0.66) {
        steps.push('cut the connection');
        await s.faulty.cut();
      } else if (roll < 0.7) {
        steps.push('restart the engine');
        await s.restartEngine();
      } else if (roll < 0.74) {
        steps.push('kill the engine');
        await s.crashEngine();
      } else if (roll < 0.78 && caps.has('restartBroker')) {
        steps.push('restart the broker');
        await s.venue.restartBroker!();
      } else if (roll < 0.84 && s.venue.moveMarket !== undefined && s.venue.mid !== undefined) {
        const mid = s.venue.mid(symbol);
        const to = Math.round(mid * (1 + (rng.next() - 0.5) * 0.06) * 100) / 100;
        steps.push(`market ${symbol} to ${to}`);
        s.venue.moveMarket(symbol, to);
      } else {
        const ms = rng.int(1, 60);
        steps.push(`wait ${ms} ms`);
      }
      await s.sleep(rng.int(0, 20));
      if (!s.engine.ready) await s.ready();
    }
    await s.sleep(100);
  });
  return rec;
}

function write(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The whole run: cases, then drills; evidence in `out`. */
export async function certify(o: CertifyOptions): Promise<CertifySummary> {
  const say = o.progress ?? (() => {});
  const t0 = Date.now();
  const seed = o.seed ?? 1;
  fs.mkdirSync(o.out, { recursive: true });
  for (const d of ['cases', 'drills', 'work']) fs.rmSync(path.join(o.out, d), { recursive: true, force: true });
  const summary: CertifySummary = {
    certify: 1, suite: SUITE_VERSION, tradecore: tradecoreVersion(), adapter: o.target.name, startedAt: new Date().toISOString(), finishedAt: '', ok: false,
    cases: { total: 0, passed: 0, failed: 0, skipped: 0, failedIds: [], skippedIds: [] },
    drills: { run: 0, passed: 0, failed: 0, failedSeeds: [], firstSeed: seed },
    invariants: { ...NO_VIOLATIONS }, ms: 0,
  };
  const records: CaseRecord[] = [];
  const add = (rec: CaseRecord) => {
    records.push(rec);
    for (const k of Object.keys(summary.invariants) as Array<keyof InvariantCounts>) summary.invariants[k] += rec.invariants[k];
  };
  const cases = o.only !== undefined ? SUITE.filter((c) => o.only!.includes(c.id)) : SUITE;
  if (o.only !== undefined) for (const id of o.only) if (!SUITE.some((c) => c.id === id)) throw new Error(`no case ${id} in suite ${SUITE_VERSION} (cases: ${SUITE.map((c) => c.id).join(', ')})`);
  for (const c of cases) {
    const rec = await runCase(o.target, c, o.out, seed, o.adapterArg);
    add(rec);
    write(path.join(o.out, 'cases', `${c.id}.json`), rec);
    if (rec.verdict !== 'failed') fs.rmSync(path.join(o.out, 'work', c.id), { recursive: true, force: true });
    summary.cases.total++;
    summary.cases[rec.verdict]++;
    if (rec.verdict === 'failed') summary.cases.failedIds.push(c.id);
    if (rec.verdict === 'skipped') summary.cases.skippedIds.push({ id: c.id, reason: rec.reason });
    say(`${rec.verdict.padEnd(7)} ${c.id} ${c.title}${rec.verdict === 'passed' ? '' : `: ${rec.reason}`} (${rec.timings.ms} ms)`);
  }
  const drills = o.drills ?? 0;
  for (let k = 0; k < drills; k++) {
    const rec = await runDrill(o.target, seed + k, o.out, o.adapterArg);
    add(rec);
    write(path.join(o.out, 'drills', `${rec.seed}.json`), rec);
    if (rec.verdict !== 'failed') fs.rmSync(path.join(o.out, 'work', rec.id), { recursive: true, force: true });
    summary.drills.run++;
    if (rec.verdict === 'passed') summary.drills.passed++;
    else {
      summary.drills.failed++;
      summary.drills.failedSeeds.push(rec.seed);
      say(`FAILED  drill seed ${rec.seed}: ${rec.reason}\n        replay: ${rec.replay}`);
    }
    if ((k + 1) % 100 === 0 || k + 1 === drills) say(`drills  ${k + 1}/${drills}: ${summary.drills.failed} failed`);
  }
  // the work of failed cases and drills stays for a look (their journals); none left: no directory
  try {
    fs.rmdirSync(path.join(o.out, 'work'));
  } catch {
    // not empty
  }
  summary.finishedAt = new Date().toISOString();
  summary.ms = Date.now() - t0;
  summary.ok = summary.cases.failed === 0 && summary.drills.failed === 0;
  write(path.join(o.out, 'summary.json'), summary);
  fs.writeFileSync(path.join(o.out, 'index.html'), certifyHtml(summary, records));
  return summary;
}
