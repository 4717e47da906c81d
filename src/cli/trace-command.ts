import { parseArgs } from 'node:util';
import { traceOrder, type Trace } from '../journal/trace.js';
import { UsageError } from './net-commands.js';

export const TRACE_USAGE = `  trace CLIENT_ORDER_ID --journal DIR [--log FILE ...] [--json]
            one order's whole history: every command, report, status change and
            anomaly from the journal (directory, segment or archive), and every line
            of the given pino log files that names it (its client order id, or its
            broker order id once known), in time order
            exit status: 0 when something was found, 1 when nothing was`;

export function formatTrace(tr: Trace): string {
  const out = [`trace of ${tr.clientOrderId}${tr.brokerOrderId !== '' ? ` (broker ${tr.brokerOrderId})` : ''}: ${tr.lines.length} entries`];
  for (const l of tr.lines) {
    const detail = Object.entries(l.detail).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    out.push(`  ${new Date(l.t).toISOString()}  ${l.source.padEnd(7)}  ${l.what.padEnd(22)}  ${detail}${l.status !== undefined ? `  -> ${l.status}` : ''}`);
  }
  for (const p of tr.problems) out.push(`  problem: ${p.file}: record ${p.index}: ${p.reason}`);
  return out.join('\n');
}

export function traceCommand(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { journal: { type: 'string' }, log: { type: 'string', multiple: true }, json: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [id, ...extra] = parsed.positionals;
  if (id === undefined || extra.length > 0 || (parsed.values.journal === undefined && (parsed.values.log ?? []).length === 0)) {
    throw new UsageError('usage: tradecore trace CLIENT_ORDER_ID --journal DIR [--log FILE ...] [--json]');
  }
  let tr: Trace;
  try {
    tr = traceOrder(id, parsed.values.journal, parsed.values.log ?? []);
  } catch (err) {
    process.stderr.write(`tradecore trace: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(parsed.values.json ? `${JSON.stringify(tr, null, 2)}\n` : `${formatTrace(tr)}\n`);
  return tr.lines.length > 0 ? 0 : 1;
}
