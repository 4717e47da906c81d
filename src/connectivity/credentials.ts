/**
 * Environments and credentials. Every credential carries the environment it belongs to, so
 * live credentials cannot be used against a sim broker (or the reverse) by mistake, and its
 * secret is wrapped so that it never prints: not in logs, errors, JSON or `util.inspect`.
 */
import { readFileSync, statSync } from 'node:fs';
import { inspect } from 'node:util';

/** `paper`: the embedded simulated broker; `sim`: a simulated or test broker over the network; `live`: real money. */
export type Environment = 'paper' | 'sim' | 'live';

export const ENVIRONMENTS: readonly Environment[] = ['paper', 'sim', 'live'];

export function isEnvironment(v: unknown): v is Environment {
  return v === 'paper' || v === 'sim' || v === 'live';
}

const REDACTED = '[redacted]';

/**
 * A secret value that does not print. `reveal()` is the only way to read it; adapters call it
 * when they put it on the wire, nowhere else.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export interface Credentials {
  /** The environment these credentials belong to. */
  readonly environment: Environment;
  /** The account or user name (not secret; logged, and the live arm confirms it). */
  readonly account: string;
  readonly secret: Secret;
  /** Where they came from, for messages: `env:TRADECORE_SIM_*` or the file path. */
  readonly source: string;
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

export interface LoadCredentialsOptions {
  /** A credentials file (JSON: `{ "environment", "account", "secret" }`). Wins over the variables. */
  file?: string;
  /** Where to read `TRADECORE_<ENV>_*` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Told about a group-readable file in `sim` (refused in `live`). */
  warn?: (message: string) => void;
}

/**
 * Load the credentials of one environment (`sim` or `live`; `paper` needs none).
 *
 * Sources, first found wins:
 * 1. `options.file`, else `TRADECORE_<ENV>_CREDENTIALS_FILE`: a JSON file
 *    `{ "environment": "sim", "account": "...", "secret": "..." }`. Its `environment` must be
 *    the one asked for. Anyone but the owner having access is refused in `live`; in `sim`
 *    access by others ("world") is refused and by the group warned about.
 * 2. `TRADECORE_<ENV>_ACCOUNT` and `TRADECORE_<ENV>_SECRET`.
 *
 * Errors name the file or variable and the problem, never a secret value.
 *
 * @example
 * // TRADECORE_SIM_ACCOUNT=acct-1 TRADECORE_SIM_SECRET=... node strategy.js
 * const credentials = loadCredentials('sim');
 * const broker = new RemoteSimBroker({ port: 7001, credentials });
 */
export function loadCredentials(environment: Environment, options: LoadCredentialsOptions = {}): Credentials {
  if (environment === 'paper') throw new CredentialsError('the paper environment uses the embedded simulated broker and needs no credentials');
  if (!isEnvironment(environment)) throw new CredentialsError(`unknown environment ${String(environment)} (known: ${ENVIRONMENTS.join(', ')})`);
  const env = options.env ?? process.env;
  const prefix = `TRADECORE_${environment.toUpperCase()}_`;
  const file = options.file ?? env[`${prefix}CREDENTIALS_FILE`];
  if (file !== undefined && file !== '') return fromFile(environment, file, options.warn);
  const account = env[`${prefix}ACCOUNT`];
  const secret = env[`${prefix}SECRET`];
  const missing = [account ? '' : `${prefix}ACCOUNT`, secret ? '' : `${prefix}SECRET`].filter((m) => m !== '');
  if (missing.length > 0) {
    throw new CredentialsError(`no ${environment} credentials: set ${missing.join(' and ')}, or ${prefix}CREDENTIALS_FILE`);
  }
  return { environment, account: account!, secret: new Secret(secret!), source: `env:${prefix}*` };
}

function fromFile(environment: Environment, file: string, warn: ((message: string) => void) | undefined): Credentials {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new CredentialsError(`credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'cannot stat'}`);
  }
  const perms = (mode & 0o777).toString(8).padStart(3, '0');
  if ((mode & 0o007) !== 0) throw new CredentialsError(`credentials file ${file} is accessible by others (mode ${perms}); run chmod 600 ${file}`);
  if ((mode & 0o070) !== 0) {
    if (environment === 'live') throw new CredentialsError(`credentials file ${file} is accessible by its group (mode ${perms}); live credentials must be chmod 600`);
    warn?.(`credentials file ${file} is accessible by its group (mode ${perms}); chmod 600 is advised`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    // JSON.parse quotes the text it choked on: the message could carry the secret.
    const code = (err as NodeJS.ErrnoException).code;
    throw new CredentialsError(`credentials file ${file}: ${code !== undefined ? code : 'not valid JSON'}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CredentialsError(`credentials file ${file}: must hold a JSON object`);
  const o = parsed as Record<string, unknown>;
  const problems: string[] = [];
  if (!isEnvironment(o.environment)) problems.push(`"environment" must be one of ${ENVIRONMENTS.join(', ')}`);
  if (typeof o.account !== 'string' || o.account === '') problems.push('"account" must be a non-empty string');
  if (typeof o.secret !== 'string' || o.secret === '') problems.push('"secret" must be a non-empty string');
  const unknown = Object.keys(o).filter((k) => k !== 'environment' && k !== 'account' && k !== 'secret');
  if (unknown.length > 0) problems.push(`unknown keys ${unknown.join(', ')}`);
  if (problems.length > 0) throw new CredentialsError(`credentials file ${file}: ${problems.join('; ')}`);
  if (o.environment !== environment) {
    throw new CredentialsError(`credentials file ${file} holds ${String(o.environment)} credentials; refusing to use them in ${environment}`);
  }
  return { environment, account: o.account as string, secret: new Secret(o.secret as string), source: file };
}

/** What the engine needs to start in `live`: an explicit arm, confirmed with the account name. */
export interface LiveArm {
  /** Must be true. */
  armed: boolean;
  /** Must equal the live credentials' account: proof the operator knows which account trades. */
  confirmAccount: string;
}

/**
 * Problems that forbid starting in `environment` with this adapter (empty: fine).
 * - credentials of another environment are refused (live in sim, sim in live);
 * - `live` needs credentials and an arm whose `confirmAccount` is their account;
 * - a broker that declared its own environment at logon must declare this one (checked again after connect).
 */
export function environmentProblems(environment: Environment, credentials: Credentials | undefined, arm: LiveArm | undefined): string[] {
  const problems: string[] = [];
  if (credentials !== undefined && credentials.environment !== environment) {
    problems.push(`credentials from ${credentials.source} belong to ${credentials.environment}; refusing to use them in ${environment}`);
  }
  if (environment === 'live') {
    if (credentials === undefined) problems.push('live needs credentials: the broker adapter has none');
    if (arm === undefined || arm.armed !== true) {
      problems.push('live is not armed: pass --arm-live <account> or set live: { armed: true, confirmAccount: <account> }');
    } else if (credentials !== undefined && arm.confirmAccount !== credentials.account) {
      problems.push(`live arm confirms account ${JSON.stringify(arm.confirmAccount)} but the credentials are for ${JSON.stringify(credentials.account)}`);
    }
  }
  return problems;
}
