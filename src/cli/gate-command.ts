/** `tradecore gate` (docs/go-live.md): the go-live decision from the evidence on disk. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config-file.js';
import { evaluateGate, writeDecision, type GateOptions } from '../certify/gate.js';
import { UsageError } from './net-commands.js';

export const GATE_USAGE = `  gate --evidence DIR [--journal D] [--config FILE] [--release R] [--json]
            the go-live gate (docs/go-live.md): section 9 answered line by line from the
            files in DIR, each with the evidence it read and a verdict: 9.1 certify/
            (tradecore certify --out DIR/certify) passed, of this release, not older than
            gate.maxCertifyAgeHours, no gate.requiredCases skipped; 9.2 a complete trading
            day in the tradecore run data directory D (default DIR/day): its journal from
            the day's open to its roll, on this release and adapter, its end-of-day report
            with no diff open, recon on schedule; 9.3 D's alert journal with no P0/P1 alert
            open; 9.4 DIR/rollback-drill.json (tradecore release drill) passed, its release
            directories present. --config: the trading day, markets, recon interval and gate
            section the day ran with. Writes DIR/gate.json and DIR/gate.html with the sha256
            of every file read. exit status: 0 every line passes, 1 one does not, 2 usage`;

export async function gateCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { evidence: { type: 'string' }, journal: { type: 'string' }, config: { type: 'string' }, release: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.evidence === undefined) throw new UsageError('gate needs --evidence DIR');
  const o: GateOptions = { evidence: values.evidence, ...(values.journal !== undefined ? { journal: values.journal } : {}), ...(values.release !== undefined ? { release: values.release } : {}) };
  if (values.config !== undefined) {
    const { config, problems } = loadConfigFile(values.config);
    if (config === undefined) throw new UsageError(`${values.config}: ${problems.join('; ')}`);
    Object.assign(o, gateOptionsOf(config));
  }
  const d = evaluateGate(o);
  const out = writeDecision(d, path.resolve(values.evidence));
  if (values.json === true) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
  else {
    const lines = d.lines.map((l) => `${l.pass ? 'PASS' : 'FAIL'} ${l.line} ${l.title}\n${l.evidence.map((e) => `       read: ${e}`).join('\n')}${l.reasons.length > 0 ? `\n${l.reasons.map((r) => `       why:  ${r}`).join('\n')}` : ''}`);
    process.stdout.write(`go-live gate, release ${d.release}, adapter ${d.adapter}: ${d.pass ? 'PASS' : 'FAIL'}\n${lines.join('\n')}\ndecision: ${out.json} (and ${path.basename(out.html)}), ${d.files.length} files hashed\n`);
  }
  return d.pass ? 0 : 1;
}

/** The gate's options from a config file: its gate section, trading day, markets and recon interval. */
export function gateOptionsOf(config: { gate?: { maxCertifyAgeHours?: number; requiredCases?: string[]; adapter?: string }; tradingDay?: { rollAt?: string; timeZone?: string }; markets?: Record<string, unknown>; recon?: { intervalMs?: number } }): Partial<GateOptions> {
  const g = config.gate ?? {};
  return {
    ...(g.maxCertifyAgeHours !== undefined ? { maxCertifyAgeHours: g.maxCertifyAgeHours } : {}),
    ...(g.requiredCases !== undefined ? { requiredCases: g.requiredCases } : {}),
    ...(g.adapter !== undefined ? { adapter: g.adapter } : {}),
    ...(config.tradingDay !== undefined ? { tradingDay: { ...(config.tradingDay.rollAt !== undefined ? { rollAt: config.tradingDay.rollAt } : {}), ...(config.tradingDay.timeZone !== undefined ? { timeZone: config.tradingDay.timeZone } : {}) } } : {}),
    ...(config.markets !== undefined ? { markets: config.markets as GateOptions['markets'] } : {}),
    ...(config.recon?.intervalMs !== undefined && config.recon.intervalMs > 0 ? { reconIntervalMs: config.recon.intervalMs } : {}),
  };
}
