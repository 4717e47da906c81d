/**
 * Command-line commands that talk over the network: `sim-broker` (the simulated broker as its
 * own process) and `check-connection` (the startup health checks against a broker, no trading).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { engineConfigOf, loadConfigFile, type EngineFileConfig, type FileConfig } from '../config-file.js';
import { BrokerConfigError, brokerFromConfig } from './broker-config.js';
import type { BrokerAdapter } from '../brokers/adapter.js';
import { createEngine } from '../engine.js';
import { SimBrokerServer } from '../brokers/sim/server.js';
import { RemoteSimBroker } from '../brokers/sim/remote.js';
import { CredentialsError, Secret, loadCredentials, type Environment } from '../connectivity/credentials.js';
import { createLogger } from '../ops/logger.js';
import { DEMO_INSTRUMENTS } from './demo.js';

/** Exit status 2: the command line itself was wrong. */
export class UsageError extends Error {}

export const NET_USAGE = `  sim-broker  run the simulated broker as a TCP server (protocol: docs/sim-broker-protocol.md)
            --port N            port to listen on (default 7001; 0 picks a free one)
            --host H            address to listen on (default 127.0.0.1)
            --control-port N    JSON-lines control port for fault drills (drop, stall,
                                faults, auth, throttle, step, restart, status, records);
                                127.0.0.1 only; every line carries "token": the value of
                                TRADECORE_SIM_CONTROL_TOKEN, else one made at start and
                                printed as controlToken in the listening line
            --state-file F      keep orders and fills here across restarts (kill -9 too)
            --config F          take the instruments (and the tradingDay boundary) from a
                                config file (default: the demo's instruments, midnight UTC)
            --seed N            seed of the simulated market (default 1)
            --market-step-ms N  market step interval; 0: only the step control moves it
                                (default 20)
            --credentials F     the account and secret clients must log on with (JSON,
                                chmod 600); default TRADECORE_SIM_ACCOUNT / _SECRET
            prints one JSON line {"event":"listening",...} on stdout when ready;
            SIGTERM or SIGINT stops it after saving its records
  check-connection
            run the startup health checks against a broker and print what they found:
            reachable, logon, clock skew, recovery sync; no order is sent
            --port N --host H   the broker (a tradecore sim-broker)
            --config F          the config file, whole; with a broker section of kind fix
                                (or tcp-sim) and no --port, that is the broker checked
            --env sim|live      environment (default sim)
            --credentials F     credentials file; default TRADECORE_<ENV>_ACCOUNT / _SECRET
            --arm-live ACCOUNT  required with --env live: confirms the live account
            --timeout MS        start timeout (default 10000)
            --json              print the result as JSON
            exit status: 0 when the connection reached Ready, 1 otherwise`;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function int(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${String(value)}"`);
  return n;
}

/** The whole engine part of a config file (markets, risk, limits and all), for an engine built here. */
function engineConfigFrom(file: string): EngineFileConfig {
  const { config, problems } = loadConfigFile(file);
  if (config === undefined) throw new UsageError(`--config ${file}: ${problems.join('; ')}`);
  const { journal: _journal, ...rest } = engineConfigOf(config);
  return rest;
}

function configFrom(file: unknown): FileConfig | undefined {
  if (file === undefined) return undefined;
  const { config, problems } = loadConfigFile(String(file));
  if (config === undefined) throw new UsageError(`--config ${String(file)}: ${problems.join('; ')}`);
  return config;
}

/** `tradecore sim-broker`: runs until SIGTERM / SIGINT. */
export async function simBrokerCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    port: { type: 'string' }, host: { type: 'string' }, 'control-port': { type: 'string' }, 'state-file': { type: 'string' },
    config: { type: 'string' }, seed: { type: 'string' }, 'market-step-ms': { type: 'string' }, credentials: { type: 'string' },
  });
  const logger = createLogger(process.env.TRADECORE_LOG_LEVEL ?? 'info');
  let credentials;
  try {
    credentials = loadCredentials('sim', { ...(v.credentials !== undefined ? { file: String(v.credentials) } : {}), warn: (m) => logger.warn(m) });
  } catch (err) {
    // not a mistake in the command line: one line, exit 1
    if (err instanceof CredentialsError) {
      process.stderr.write(`tradecore sim-broker: needs the credentials clients will log on with: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const envToken = process.env.TRADECORE_SIM_CONTROL_TOKEN;
  if (envToken !== undefined && envToken.length < 8) throw new UsageError('TRADECORE_SIM_CONTROL_TOKEN must be at least 8 characters');
  const controlToken = envToken !== undefined ? new Secret(envToken) : undefined;
  const file = configFrom(v.config);
  const tradingDay = file?.tradingDay === undefined ? undefined : { ...(file.tradingDay.rollAt !== undefined ? { rollAt: file.tradingDay.rollAt } : {}), ...(file.tradingDay.timeZone !== undefined ? { timeZone: file.tradingDay.timeZone } : {}) };
  const options = {
    instruments: file?.instruments ?? DEMO_INSTRUMENTS,
    credentials,
    port: int('port', v.port, 7001, 0, 65535),
    host: v.host === undefined ? '127.0.0.1' : String(v.host),
    ...(v['control-port'] !== undefined ? { controlPort: int('control-port', v['control-port'], 0, 0, 65535) } : {}),
    ...(v['state-file'] !== undefined ? { stateFile: String(v['state-file']) } : {}),
    marketStepMs: int('market-step-ms', v['market-step-ms'], 20, 0, 3_600_000),
    sim: { seed: int('seed', v.seed, 1, 0, 2 ** 32 - 1), ...(tradingDay !== undefined ? { tradingDay } : {}) },
    logger,
    ...(controlToken !== undefined ? { controlToken } : {}),
  };
  let server: SimBrokerServer;
  try {
    server = new SimBrokerServer(options);
    await server.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`tradecore sim-broker: ${e.code === 'EADDRINUSE' ? `port ${options.port} is in use` : e.message}\n`);
    return 1;
  }
  // a token made here is printed once, for whoever started the process (it is on this machine only)
  const madeToken = server.controlPort > 0 && controlToken === undefined ? { controlToken: server.controlToken } : {};
  process.stdout.write(`${JSON.stringify({ event: 'listening', host: v.host ?? '127.0.0.1', port: server.port, controlPort: server.controlPort || null, ...madeToken, stateFile: v['state-file'] ?? null, environment: 'sim' })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.stop();
  return 0;
}

/** `tradecore check-connection`. */
export async function checkConnectionCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    port: { type: 'string' }, host: { type: 'string' }, env: { type: 'string' }, credentials: { type: 'string' },
    'arm-live': { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean', default: false }, config: { type: 'string' },
  });
  let env = (v.env ?? 'sim') as Environment;
  if (env !== 'sim' && env !== 'live') throw new UsageError(`--env must be sim or live, got "${String(v.env)}"`);
  // a config file whose broker section names a FIX session (or the TCP simulated broker) is the broker to check
  let fileConfig: FileConfig | undefined;
  if (v.config !== undefined) {
    const loaded = loadConfigFile(String(v.config));
    if (loaded.config === undefined) throw new UsageError(`--config ${String(v.config)}: ${loaded.problems.join('; ')}`);
    fileConfig = loaded.config;
  }
  const fromFile = fileConfig?.broker !== undefined && fileConfig.broker.kind !== 'embedded' && v.port === undefined;
  if (v.port === undefined && !fromFile) throw new UsageError('check-connection needs --port, or --config with a broker section (kind fix or tcp-sim)');
  const logger = createLogger(process.env.TRADECORE_LOG_LEVEL ?? 'warn');
  const where = fromFile ? `${fileConfig!.broker!.host ?? '127.0.0.1'}:${String(fileConfig!.broker!.port)}` : `${v.host ?? '127.0.0.1'}:${String(v.port)}`;
  const out: Record<string, unknown> = { environment: env, broker: where };
  let ok = false;
  try {
    let broker: BrokerAdapter;
    if (fromFile) {
      let made;
      try {
        made = brokerFromConfig(fileConfig!, { logger });
      } catch (err) {
        if (err instanceof BrokerConfigError) throw new CredentialsError(err.message);
        throw err;
      }
      broker = made.broker;
      env = made.environment;
      out.environment = env;
      out.broker = `${broker.name} ${where}`;
      if (broker.credentials !== undefined) out.account = broker.credentials.account;
    } else {
      const credentials = loadCredentials(env, { ...(v.credentials !== undefined ? { file: String(v.credentials) } : {}), warn: (m) => logger.warn(m) });
      out.account = credentials.account;
      broker = new RemoteSimBroker({ port: int('port', v.port, 0, 1, 65535), host: v.host === undefined ? '127.0.0.1' : String(v.host), credentials });
    }
    const engine = createEngine({
      ...(v.config !== undefined ? engineConfigFrom(String(v.config)) : { instruments: DEMO_INSTRUMENTS }),
      broker,
      environment: env,
      logger,
      connection: { startTimeoutMs: int('timeout', v.timeout, 10_000, 1, 600_000), maxReconnectAttempts: 3 },
      ...(v['arm-live'] !== undefined ? { live: { armed: true, confirmAccount: String(v['arm-live']) } } : {}),
    });
    try {
      await engine.start();
      ok = true;
      out.connection = engine.connectionState;
      out.sync = engine.lastSync;
      out.stats = engine.connectionStats();
    } catch (err) {
      out.error = (err as Error).message;
      out.connection = engine.connectionState;
    }
    out.history = engine.connectionHistory().map((c) => `${c.from} -> ${c.to}: ${c.reason}`);
    await engine.stop();
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    out.error = err.message;
  }
  out.ok = ok;
  if (v.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    const lines = [`${ok ? 'OK' : 'FAILED'}: ${String(out.broker)} (${env}${out.account !== undefined ? `, account ${String(out.account)}` : ''})`];
    if (out.error !== undefined) lines.push(`  error: ${String(out.error)}`);
    for (const h of (out.history as string[] | undefined) ?? []) lines.push(`  ${h}`);
    if (ok) {
      const s = out.stats as { lastHeartbeatRttMs: number; clockSkewMs: number };
      lines.push(`  heartbeat round trip ${s.lastHeartbeatRttMs.toFixed(2)} ms, clock skew ${s.clockSkewMs.toFixed(1)} ms`);
      lines.push(`  recovery sync: ${JSON.stringify(out.sync)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}
