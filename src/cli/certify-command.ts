/** `tradecore certify` (docs/certify.md): the suite and the seeded drills against one adapter. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config-file.js';
import { certify } from '../certify/run.js';
import { targetOf, type FixTargetOptions } from '../certify/targets.js';
import { SUITE } from '../certify/suite.js';
import { UsageError } from './net-commands.js';

export const CERTIFY_USAGE = `  certify --adapter NAME --out DIR [--config FILE] [--drills N] [--seed S] [--case ID]...
          [--drill SEED] [--acceptor ordermatch|executor] [--json]
            the certification suite (docs/certify.md) against an adapter, through a real
            engine behind a fault-injecting wrapper; invariants checked after every case
            and drill (no order lost, no client order id sent twice, no fill counted twice,
            cumQty, positions and cash equal to the broker's, reconciliation clean, every
            alert accounted for). NAME: sim (the embedded simulated broker), sim-tcp (the
            TCP one, started here), fix (the acceptor of --config's broker section:
            QuickFIX ordermatch or executor, --acceptor, default ordermatch), or the path
            of an ES module of yours. Evidence in DIR: cases/ID.json, drills/SEED.json,
            summary.json, index.html. --drills N seeded drills after the cases (default 0;
            seeds S, S+1, ...; --seed default 1). --case ID runs only that case (repeat
            for more); --drill SEED runs exactly that one drill and no case (the replay a
            failed drill prints). exit status: 0 every case and drill passed (skipped
            cases are listed), 1 one failed, 2 usage`;

export async function certifyCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        adapter: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' }, drills: { type: 'string' }, seed: { type: 'string' },
        case: { type: 'string', multiple: true }, drill: { type: 'string' }, acceptor: { type: 'string' }, json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.adapter === undefined) throw new UsageError('certify needs --adapter NAME (sim, sim-tcp, fix, or a module path)');
  if (values.out === undefined) throw new UsageError('certify needs --out DIR for the evidence');
  const whole = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > 1e9) throw new UsageError(`--${name} must be a whole number from ${min}, got "${v}"`);
    return n;
  };
  const drillSeed = whole('drill', values.drill, 0);
  const drills = whole('drills', values.drills, 0);
  const seed = whole('seed', values.seed, 0);
  if (drillSeed !== undefined && (drills !== undefined || values.case !== undefined)) throw new UsageError('--drill SEED replays one drill: it takes neither --drills nor --case');
  for (const id of values.case ?? []) if (!SUITE.some((c) => c.id === id)) throw new UsageError(`no case ${id} (cases: ${SUITE.map((c) => c.id).join(', ')})`);
  if (values.acceptor !== undefined && values.acceptor !== 'ordermatch' && values.acceptor !== 'executor') throw new UsageError(`--acceptor must be ordermatch or executor, got "${values.acceptor}"`);
  let fix: FixTargetOptions | undefined;
  if (values.adapter === 'fix') {
    if (values.config === undefined) throw new UsageError('--adapter fix needs --config FILE with a broker section of kind fix');
    const { config, problems } = loadConfigFile(values.config);
    if (config === undefined) throw new UsageError(`${values.config}: ${problems.join('; ')}`);
    const b = config.broker;
    if (b?.kind !== 'fix') throw new UsageError(`${values.config}: broker.kind must be fix for --adapter fix`);
    fix = {
      host: b.host ?? '127.0.0.1', port: b.port!, beginString: b.beginString!, senderCompId: b.senderCompId!, targetCompId: b.targetCompId!,
      instruments: config.instruments, acceptor: (values.acceptor as 'ordermatch' | 'executor' | undefined) ?? 'ordermatch',
    };
  }
  let target;
  try {
    target = await targetOf(values.adapter, fix);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const summary = await certify({
    target, out: values.out, seed: drillSeed ?? seed ?? 1, drills: drillSeed !== undefined ? 1 : (drills ?? 0),
    ...(drillSeed !== undefined ? { only: [] } : values.case !== undefined ? { only: values.case } : {}),
    adapterArg: values.adapter, progress: say,
  });
  if (values.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const inv = summary.invariants;
    process.stdout.write(`${summary.ok ? 'certified' : 'NOT CERTIFIED'}: ${summary.adapter}, suite ${summary.suite}: cases ${summary.cases.passed} passed, ${summary.cases.failed} failed, ${summary.cases.skipped} skipped; `
      + `drills ${summary.drills.run} run, ${summary.drills.failed} failed; lost ${inv.lost}, duplicated ${inv.duplicated}, double-counted ${inv.doubleCounted}\n`
      + `${summary.cases.failedIds.length > 0 ? `failed cases: ${summary.cases.failedIds.join(', ')}\n` : ''}`
      + `${summary.drills.failedSeeds.length > 0 ? `failed drills (seeds): ${summary.drills.failedSeeds.join(', ')}\n` : ''}`
      + `evidence: ${path.resolve(values.out)} (summary.json, index.html)\n`);
  }
  return summary.ok ? 0 : 1;
}
