import { parseArgs } from 'node:util';
import { engineConfigOf, loadConfigFile } from '../config-file.js';
import { parseReplay, runReplay, type ReplayResult } from '../journal/replay.js';
import { UsageError } from './net-commands.js';

export const REPLAY_USAGE = `  replay FILE
            run a recorded stream through a fresh engine and print the orders, trades
            and positions it ends with. FILE: a journal directory, a journal segment
            (.tcj) or archive (.tcj.gz), or the JSON Lines event format (docs/journal.md)
            --json              print the result as JSON
            --config F          the config file, whole: its instruments for an event file
                                without a header line, and its risk, markets, trading
                                day and limits for the replaying engine
            a progress bar with events per second shows on a terminal (stderr);
            a bad record is reported with file, record index and reason, and every
            other record is still replayed
            exit status: 0 when every record was used, 1 when some were not`;

/** Fixed-width table rows. */
function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isNaN(c) ? '-' : String(+c.toFixed(8))) : c)))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  return cells.map((r) => `  ${r.map((c, i) => String(c).padEnd(w[i]!)).join('  ').trimEnd()}`).join('\n');
}

/** The progress bar's text: `replay [#####.....] 50% 500/1000 events, 12,345 events/s`. */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const frac = total === 0 ? 1 : Math.min(1, done / total);
  const width = 30;
  const filled = Math.round(frac * width);
  const rate = elapsedMs > 0 ? Math.round((done * 1000) / elapsedMs) : 0;
  return `replay [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(frac * 100)}% ${done}/${total} events, ${rate.toLocaleString('en-US')} events/s`;
}

export function formatReplay(r: ReplayResult): string {
  const out = [`replay of ${r.file} (${r.format}): ${r.events} events, ${r.problems.length} problem(s)`];
  if (r.problems.length > 0) out.push('problems', ...r.problems.map((p) => `  ${p.file}: record ${p.index}: ${p.reason}`));
  out.push(`orders (${r.orders.length})`);
  if (r.orders.length > 0) {
    out.push(table(['clientOrderId', 'brokerOrderId', 'symbol', 'side', 'qty', 'price', 'status', 'cumQty', 'avgPx'], r.orders.map((o) => [o.clientOrderId, o.brokerOrderId || '-', o.symbol, o.side, o.qty, o.price, o.status + (o.rejectReason ? ` (${o.rejectReason})` : ''), o.cumQty, o.avgPx])));
  }
  out.push(`trades (${r.trades.length})`);
  if (r.trades.length > 0) out.push(table(['tradeId', 'clientOrderId', 'symbol', 'side', 'qty', 'price'], r.trades.map((t) => [t.tradeId, t.clientOrderId, t.symbol, t.side, t.qty, t.price])));
  out.push('positions', table(['symbol', 'qty', 'avgPx', 'realizedPnl'], r.positions.map((p) => [p.symbol, p.qty, p.avgPx, p.realizedPnl])));
  const s = r.stats;
  out.push(`reports ${s.reports}, duplicates dropped ${s.duplicateReports}, stale ${s.staleReports}, invalid transitions ${s.invalidTransitions}, unknown orders ${s.unknownOrders}, overfills ${s.overfills}`);
  return out.join('\n');
}

export async function replayCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, config: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('usage: tradecore replay FILE [--json] [--config F]');
  let instruments;
  let engineConfig;
  if (parsed.values.config !== undefined) {
    const loaded = loadConfigFile(parsed.values.config);
    if (loaded.config === undefined) throw new UsageError(`--config ${parsed.values.config}: ${loaded.problems.join('; ')}`);
    // the whole file: instruments (when the input names none), risk, markets, the trading day, limits
    const { instruments: fromFile, ...rest } = engineConfigOf(loaded.config);
    instruments = fromFile;
    engineConfig = rest;
  }
  const tty = process.stderr.isTTY === true;
  let input;
  try {
    input = await parseReplay(file);
  } catch (err) {
    process.stderr.write(`tradecore replay: ${(err as Error).message}\n`);
    return 1;
  }
  const started = performance.now();
  const bar = (done: number, total: number) => process.stderr.write(`\r\x1b[2K${progressLine(done, total, performance.now() - started)}`);
  let result;
  try {
    result = await runReplay(input, { ...(instruments !== undefined ? { instruments } : {}), ...(engineConfig !== undefined ? { engineConfig } : {}), ...(tty ? { onProgress: bar, progressEvery: 2048 } : {}) });
  } catch (err) {
    process.stderr.write(`tradecore replay: ${(err as Error).message}\n`);
    return 1;
  }
  if (tty) process.stderr.write('\n');
  process.stdout.write(parsed.values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReplay(result)}\n`);
  return result.problems.length === 0 ? 0 : 1;
}
