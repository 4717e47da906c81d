/**
 * `tradecore central --config F`: the firm-wide view over every engine's journal stream, its
 * ops page and `/metrics`, and the firm's control (docs/scale-out.md).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../ops/logger.js';
import { UsageError } from './net-commands.js';
import { DataDirError, lockDataDir } from './data-dir.js';

/** Central's ops port when neither the config nor `--ops-port` names one. */
export const DEFAULT_CENTRAL_PORT = 8790;

export const CENTRAL_USAGE = `  central   the firm-wide view across engines that export their journals to NATS
            JetStream (docs/scale-out.md)
            --config FILE     central's config (required, JSON or YAML): nats, firm
                              (maxGrossNotional, shares, shareEveryMs), auth, ops
            --data-dir DIR    where its view is kept (default: dataDir, else
                              ./tradecore-central); one central per directory
            --ops-port N      its ops page and /metrics (default: ops.port, else ${DEFAULT_CENTRAL_PORT};
                              0 picks a free one); token from TRADECORE_OPS_TOKEN or
                              ops.tokenFile (the same token as the engines': it signs
                              the control messages), without one it is read-only
            --check           check the config and exit (0 valid, 2 with every problem)
            prints {"event":"started",...} on stdout once listening; SIGTERM, SIGINT:
            stop, the view saved, exit 0
            exit status: 0 stopped by a signal; 1 failed; 2 usage or config error;
            3 the directory is in use by another central`;

/** Read central's config file (JSON or YAML by extension); never throws: a missing file or a syntax error is a problem. */
export function readCentralConfig(file: string): { value?: unknown; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [`${file}: cannot read: ${(err as Error).message}`] };
  }
  const yaml = /\.ya?ml$/i.test(file);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    return { problems: [`${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`] };
  }
  return { value, problems: [] };
}

export async function centralCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, 'ops-port': { type: 'string' }, check: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.config === undefined) throw new UsageError('central needs --config FILE');
  let opsPort: number | undefined;
  if (values['ops-port'] !== undefined) {
    opsPort = Number(values['ops-port']);
    if (!Number.isInteger(opsPort) || opsPort < 0 || opsPort > 65535) throw new UsageError(`--ops-port must be a whole number from 0 to 65535, got "${values['ops-port']}"`);
  }
  const note = (line: string) => process.stderr.write(`tradecore central: ${line}\n`);
  const file = values.config;
  const base = path.dirname(path.resolve(file));
  const loaded = readCentralConfig(file);
  // the checks live beside Central; loading them loads the NATS client, which only central needs
  const { Central, centralProblems, CENTRAL_DEFAULTS } = await import('../scale/central.js');
  const problems = loaded.problems.length > 0 ? loaded.problems : centralProblems(loaded.value);
  if (problems.length > 0) {
    note(`${file}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
    return 2;
  }
  const config = loaded.value as import('../scale/central.js').CentralOptions;
  if (values.check === true) {
    process.stdout.write(`${file}: valid\n`);
    return 0;
  }
  // the token: the environment's, else the config's file (relative to the config)
  let token: string | undefined = process.env.TRADECORE_OPS_TOKEN !== undefined && process.env.TRADECORE_OPS_TOKEN !== '' ? process.env.TRADECORE_OPS_TOKEN : undefined;
  if (token === undefined && config.ops?.tokenFile !== undefined) {
    const tf = path.resolve(base, config.ops.tokenFile);
    try {
      token = readFileSync(tf, 'utf8').trim();
      if ((statSync(tf).mode & 0o077) !== 0) note(`ops.tokenFile ${tf} can be read by other users: chmod 600 it`);
    } catch (err) {
      note(`ops.tokenFile ${tf}: cannot read it: ${(err as Error).message}`);
      return 2;
    }
  }
  if (token !== undefined && token.length < 16) {
    note('the ops token must be at least 16 characters (TRADECORE_OPS_TOKEN or ops.tokenFile)');
    return 2;
  }
  const dataDir = path.resolve(values['data-dir'] ?? (config.dataDir !== undefined ? path.resolve(base, config.dataDir) : CENTRAL_DEFAULTS.dataDir));
  let lock;
  try {
    lock = lockDataDir(dataDir, note);
  } catch (err) {
    if (err instanceof DataDirError) {
      note(err.message.replace('another tradecore run', 'another tradecore central').replace('give this run its own --data', 'give this one its own --data-dir'));
      return 3;
    }
    note(`${dataDir}: ${(err as Error).message}`);
    return 1;
  }
  const logger = createLogger(process.env.TRADECORE_LOG_LEVEL ?? 'info');
  const credentials = config.nats.credentials === undefined ? undefined : path.resolve(base, config.nats.credentials);
  const { CentralServer } = await import('../scale/central-server.js');
  let central;
  let server;
  try {
    central = new Central({ ...config, dataDir, nats: { ...config.nats, ...(credentials !== undefined ? { credentials } : {}) } }, logger, token);
    if ((config.auth ?? 'token') === 'token' && token === undefined) note('no ops token: the endpoint is read-only, and control messages cannot be signed (engines with auth token refuse them)');
    server = new CentralServer(central, logger, { host: config.ops?.host ?? '127.0.0.1', port: opsPort ?? config.ops?.port ?? DEFAULT_CENTRAL_PORT, ...(token !== undefined ? { token } : {}) });
    await server.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    note(e.code === 'EADDRINUSE' ? `ops endpoint: port ${opsPort ?? config.ops?.port ?? DEFAULT_CENTRAL_PORT} is in use (set ops.port, or --ops-port 0 for a free one)` : `could not start: ${e.message}`);
    lock.release();
    return 1;
  }
  central.start();
  const host = config.ops?.host ?? '127.0.0.1';
  const opsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}/`;
  const st = central.status();
  note(`listening: firm page ${opsUrl}, stream ${st.stream}, consumer ${st.consumer}, view in ${dataDir} (stream seq ${st.streamSeq})${token === undefined ? ' (read-only: no TRADECORE_OPS_TOKEN or ops.tokenFile)' : ''}`);
  process.stdout.write(`${JSON.stringify({ event: 'started', pid: process.pid, dataDir, opsUrl, opsPort: server.port, stream: st.stream, consumer: st.consumer, streamSeq: st.streamSeq, readOnly: token === undefined })}\n`);
  let signal: string | undefined;
  await new Promise<void>((resolve) => {
    const onStop = (s: NodeJS.Signals) => {
      if (signal !== undefined) {
        note(`${s} again: exiting now`);
        process.exit(130);
      }
      signal = s;
      note(`${s}: stopping`);
      resolve();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
  try {
    await server.stop();
    await central.stop();
    const end = central.status();
    note(`stopped: view saved at stream seq ${end.streamSeq} (${end.consumed} records consumed this run)`);
    process.stdout.write(`${JSON.stringify({ event: 'stopped', streamSeq: end.streamSeq, consumed: end.consumed })}\n`);
    return 0;
  } catch (err) {
    note(`failed stopping: ${(err as Error).message}`);
    return 1;
  } finally {
    lock.release();
  }
}
