#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { SimFaults } from '../brokers/sim/sim-broker.js';
import { formatSummary, runDemo } from './demo.js';
import { loadConfigFile, type FileConfig } from '../config-file.js';
import { BrokerConfigError } from './broker-config.js';
import { NET_USAGE, UsageError, checkConnectionCommand, simBrokerCommand } from './net-commands.js';
import { REPLAY_USAGE, replayCommand } from './replay-command.js';
import { TRACE_USAGE, traceCommand } from './trace-command.js';
import { RELEASE_USAGE, releaseCommand } from './release.js';
import { OPS_USAGE, alertsCommand, configRollbackCommand, diffsCommand, ordersCommand, positionsCommand, reconCommand, statusCommand, syncCommand, tradingStateCommand, rolloutCommand, fallbackCommand } from './ops-commands.js';
import { RUN_USAGE, runCommand } from './run-command.js';
import { ConfigStore, ConfigStoreError } from './config-store.js';
import { DEFAULT_DATA_DIR } from './service.js';
import { tradecoreVersion } from '../version.js';
import { CERTIFY_USAGE, certifyCommand } from './certify-command.js';
import { GATE_USAGE, gateCommand } from './gate-command.js';
import { CENTRAL_USAGE, centralCommand } from './central-command.js';

const USAGE = `usage: tradecore <command> [options]

commands:
  demo      run a paper trading session against the embedded simulated broker
            --seed N        seed for the strategy and the simulated market (default 42)
            --duration S    seconds of trading (default 5)
            --orders N      orders the sample strategy submits (default 300)
            --faults SPEC   simulated broker faults, "none" or a list such as
                            dup=0.02,reorder=0.02,drop-ack=0,delay=0 (default:
                            dup=0.02,reorder=0.02; probabilities per report,
                            drop-ack per order, delay in ms)
            --json          print the summary as JSON
            --no-resync     skip the recovery sync that resolves orders left
                            PendingNew by lost acks (shows the inconsistency)
            --config FILE   trade the config's instruments, with its risk and markets,
                            against the broker its broker section names (embedded, or
                            the TCP simulated broker): the same check on every adapter
            on the embedded broker the session runs on a simulated clock: the same
            seed gives the same orders, fills and positions every time
            exit status: 0 when the engine's state matches the broker's, 1 otherwise
  config check FILE [--json]
            validate a JSON or YAML config file (instruments, risk limits, markets)
            without trading; exit 0 when valid, 1 with every problem listed otherwise
  config history [--data D] [--json]
            the configs tradecore run traded with in data directory D (default
            ./tradecore-data): one line per start, accepted reload, rollback, rollout
            promotion and journal restore, with its hash
  config diff A B [--data D] [--json]
            what changed from config snapshot A to B (hashes, or unique prefixes of
            4 digits or more), path by path
${RUN_USAGE}
${NET_USAGE}
${REPLAY_USAGE}
${TRACE_USAGE}
${OPS_USAGE}
${RELEASE_USAGE}
${CERTIFY_USAGE}
${GATE_USAGE}
${CENTRAL_USAGE}
  help      this text
  version   print the version

environment:
  TRADECORE_LOG_LEVEL   pino level for the engine log on stderr (default warn)
  TRADECORE_OPS_URL, TRADECORE_OPS_TOKEN
                        the ops endpoint recon, diffs and sync talk to, and its token
  TRADECORE_SIM_ACCOUNT, TRADECORE_SIM_SECRET, TRADECORE_SIM_CREDENTIALS_FILE
  TRADECORE_LIVE_ACCOUNT, TRADECORE_LIVE_SECRET, TRADECORE_LIVE_CREDENTIALS_FILE
                        credentials per environment (see docs/connectivity.md)`;


function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`--${name} must be a whole number from 0 to ${max}, got "${value}"`);
  return n;
}

const FAULT_KEYS: Record<string, keyof SimFaults> = { dup: 'duplicateReports', reorder: 'reorderReports', 'drop-ack': 'dropAck', delay: 'delayReportsMs' };

/** "none" or "dup=0.1,reorder=0.2,drop-ack=0,delay=5". */
export function parseFaults(spec: string): SimFaults {
  const faults: SimFaults = {};
  if (spec === 'none') return faults;
  for (const part of spec.split(',')) {
    const [key, value, extra] = part.split('=');
    const field = key === undefined ? undefined : FAULT_KEYS[key];
    const n = Number(value);
    if (field === undefined || value === undefined || extra !== undefined || value === '' || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`--faults: cannot read "${part}"; expected none or ${Object.keys(FAULT_KEYS).map((k) => `${k}=N`).join(',')}`);
    }
    if (field !== 'delayReportsMs' && n > 1) throw new UsageError(`--faults: ${key} is a probability from 0 to 1, got ${value}`);
    faults[field] = n;
  }
  return faults;
}

async function demo(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        duration: { type: 'string' },
        orders: { type: 'string' },
        json: { type: 'boolean', default: false },
        faults: { type: 'string' },
        'no-resync': { type: 'boolean', default: false },
        config: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const seed = positiveInt('seed', values.seed, 42, 2 ** 32 - 1);
  const durationS = values.duration === undefined ? 5 : Number(values.duration);
  if (!(durationS > 0 && durationS <= 3600)) throw new UsageError(`--duration must be more than 0 and at most 3600 seconds, got "${values.duration}"`);
  const orders = positiveInt('orders', values.orders, 300, 1_000_000);
  let config: FileConfig | undefined;
  if (values.config !== undefined) {
    const loaded = loadConfigFile(values.config);
    if (loaded.config === undefined) {
      process.stderr.write(`tradecore demo: ${values.config}: ${loaded.problems.length} problem(s):\n  - ${loaded.problems.join('\n  - ')}\n`);
      return 2;
    }
    config = loaded.config;
  }
  const tty = process.stdout.isTTY === true && !values.json;
  const faults = values.faults !== undefined ? parseFaults(values.faults) : undefined;
  let summary;
  try {
    summary = await runDemo({
    ...(config !== undefined ? { config } : {}),
    seed,
    durationMs: Math.round(durationS * 1000),
    orders,
    resync: !values['no-resync'],
    ...(faults !== undefined ? { faults } : {}),
    ...(tty ? { onStatus: (line: string) => process.stdout.write(`\r\x1b[2K${line}`) } : {}),
    });
  } catch (err) {
    if (tty) process.stdout.write('\r\x1b[2K');
    if (err instanceof BrokerConfigError) {
      process.stderr.write(`tradecore demo: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`tradecore demo: ${(err as Error).message}\n`);
    return 1;
  }
  if (tty) process.stdout.write('\r\x1b[2K');
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
  return summary.consistency.consistent ? 0 : 1;
}

function version(): string {
  return tradecoreVersion();
}

function configCommand(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, data: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, file, ...extra] = parsed.positionals;
  if (sub === 'history' || sub === 'diff') return configSnapshotsCommand(sub, argv.filter((_, i) => i !== argv.indexOf(sub)));
  if (sub !== 'check' || file === undefined || extra.length > 0) throw new UsageError('usage: tradecore config check FILE [--json] | config history [--data D] | config diff A B [--data D]');
  const { config, problems } = loadConfigFile(file);
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify({ file, valid: config !== undefined, problems }, null, 2)}\n`);
  } else if (config) {
    const markets = Object.keys(config.markets ?? {}).length;
    process.stdout.write(`${file}: valid (${config.instruments.length} instruments, ${markets} markets)\n`);
  } else {
    process.stdout.write(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  }
  return config ? 0 : 1;
}

/** `config history` and `config diff A B`: the snapshots a run kept in its data directory (src/cli/config-store.ts). */
function configSnapshotsCommand(sub: 'history' | 'diff', argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, data: { type: 'string', default: DEFAULT_DATA_DIR } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const store = new ConfigStore(parsed.values.data);
  const json = parsed.values.json;
  try {
    if (sub === 'history') {
      if (parsed.positionals.length > 0) throw new UsageError('usage: tradecore config history [--data D] [--json]');
      const entries = store.history();
      if (json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      else if (entries.length === 0) process.stdout.write(`no config snapshots in ${store.dir} (tradecore run keeps one at every start and reload)\n`);
      else process.stdout.write(`${entries.map((e) => `${e.at}  ${e.hash}  ${e.reason.padEnd(6)}  ${e.file}`).join('\n')}\n`);
      return 0;
    }
    const [a, b, ...extra] = parsed.positionals;
    if (a === undefined || b === undefined || extra.length > 0) throw new UsageError('usage: tradecore config diff A B [--data D] [--json]');
    const changes = store.diff(a, b);
    const from = store.resolve(a);
    const to = store.resolve(b);
    if (json) process.stdout.write(`${JSON.stringify({ from, to, changes }, null, 2)}\n`);
    else if (changes.length === 0) process.stdout.write(`${from} and ${to}: the same config\n`);
    else process.stdout.write(`${from} -> ${to}: ${changes.length} change(s)\n${changes.map((c) => `  ${c.path}: ${show(c.from)} -> ${show(c.to)}`).join('\n')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigStoreError) {
      process.stderr.write(`tradecore config ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const show = (v: unknown): string => (v === undefined ? '(absent)' : JSON.stringify(v));

/** The commands, as the usage lists them. */
const COMMANDS = ['demo', 'run', 'config', 'sim-broker', 'check-connection', 'replay', 'trace', 'recon', 'diffs', 'sync', 'status', 'orders', 'positions', 'alerts', 'halt', 'reduce', 'resume', 'safe-stop', 'rollout', 'fallback', 'release', 'certify', 'gate', 'central', 'help', 'version'];
const OPS_COMMANDS = new Set(['recon', 'diffs', 'sync', 'status', 'orders', 'positions', 'alerts', 'halt', 'reduce', 'resume', 'safe-stop', 'rollout', 'fallback']);

/**
 * One command's part of the usage: every block that starts with the command's name (a block is
 * a line indented two spaces and the lines under it indented more); the ops commands also get
 * the shared lines on the endpoint and the token.
 */
export function helpFor(command: string): string | undefined {
  if (!COMMANDS.includes(command)) return undefined;
  const all = USAGE.split('\n');
  const from = all.findIndex((l) => /these commands talk to the engine's ops endpoint:/.test(l));
  let to = from;
  while (from >= 0 && to + 1 < all.length && /^ {3,}/.test(all[to + 1]!)) to++;
  const shared = from >= 0 ? all.slice(from, to + 1) : [];
  const lines = from >= 0 ? [...all.slice(0, from), ...all.slice(to + 1)] : all;
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const head = /^ {2}(\S+)/.exec(line);
    if (head !== null) {
      current = head[1]!.split('|').includes(command) ? [line] : undefined;
      if (current !== undefined) blocks.push(current);
    } else if (/^ {3,}\S/.test(line)) current?.push(line);
    else current = undefined;
  }
  if (OPS_COMMANDS.has(command)) blocks.push(shared);
  return `usage: tradecore ${command === 'help' ? 'help [COMMAND]' : command} ...\n${blocks.map((b) => b.join('\n')).join('\n')}`;
}

function wantsHelp(rest: string[]): boolean {
  return rest.includes('--help') || rest.includes('-h');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && command !== 'help' && COMMANDS.includes(command) && wantsHelp(rest)) {
    process.stdout.write(`${helpFor(command)}\n`);
    return 0;
  }
  switch (command) {
    case 'demo':
      return demo(rest);
    case 'run':
      return runCommand(rest);
    case 'config':
      return rest[0] === 'rollback' ? configRollbackCommand(rest.slice(1)) : configCommand(rest);
    case 'sim-broker':
      return simBrokerCommand(rest);
    case 'check-connection':
      return checkConnectionCommand(rest);
    case 'replay':
      return replayCommand(rest);
    case 'trace':
      return traceCommand(rest);
    case 'recon':
      return reconCommand(rest);
    case 'diffs':
      return diffsCommand(rest);
    case 'sync':
      return syncCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'orders':
      return ordersCommand(rest);
    case 'positions':
      return positionsCommand(rest);
    case 'alerts':
      return alertsCommand(rest);
    case 'halt':
    case 'reduce':
    case 'resume':
    case 'safe-stop':
      return tradingStateCommand(command, rest);
    case 'rollout':
      return rolloutCommand(rest);
    case 'release':
      return releaseCommand(rest);
    case 'fallback':
      return fallbackCommand(rest);
    case 'certify':
      return certifyCommand(rest);
    case 'gate':
      return gateCommand(rest);
    case 'central':
      return centralCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      if (topic === undefined) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      const text = helpFor(topic);
      if (text === undefined) throw new UsageError(`no command "${topic}" (commands: ${COMMANDS.join(', ')})`);
      process.stdout.write(`${text}\n`);
      return 0;
    }
    case undefined:
      process.stderr.write(`tradecore: no command given\n\n${USAGE}\n`);
      return 2;
    default:
      throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  }
}

const invoked = process.argv[2];

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      // one line, and where to look: not the whole usage
      const known = invoked !== undefined && COMMANDS.includes(invoked);
      process.stderr.write(`tradecore${known ? ` ${invoked}` : ''}: ${err.message}\nhint: tradecore ${known ? `${invoked} --help` : 'help'}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tradecore: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
