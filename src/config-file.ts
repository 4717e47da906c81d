import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configProblems, type EngineConfig } from './config.js';
import { DIFF_KINDS, type DiffKind } from './recon/diff.js';
import { exportProblems, type ExportOptions } from './scale/options.js';

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const nonNeg = () => z.number().nonnegative().optional();
const positive = () => z.number().positive().optional();
const session = z.tuple([z.string().regex(HHMM, 'must be "HH:MM" (24-hour local time)'), z.string().regex(HHMM, 'must be "HH:MM" (24-hour local time)')]);

const instrument = z.strictObject({
  symbol: z.string().min(1),
  tickSize: z.number().positive(),
  pricePrecision: z.number().int().min(0).max(9),
  lotSize: positive(),
  currency: z.string().min(1).optional(),
  multiplier: positive(),
  market: z.string().min(1).optional(),
});
const limits = z.strictObject({
  maxOrderQty: nonNeg(), maxOrderNotional: nonNeg(), maxPosition: nonNeg(), priceBandPct: nonNeg(), limitUp: nonNeg(), limitDown: nonNeg(),
  minOrderQty: nonNeg(), minOrderNotional: nonNeg(), maxOpenOrders: nonNeg(), ordersPerSecond: positive(), ordersPerMinute: positive(),
});
const account = z.strictObject({
  maxOpenOrders: nonNeg(), maxGrossNotional: nonNeg(), ordersPerSecond: positive(), ordersPerMinute: positive(), cancelsPerSecond: positive(), maxOrdersPerDay: nonNeg(),
});
const market = z.strictObject({
  timeZone: z.string().min(1),
  sessions: z.array(session),
  weekdays: z.array(z.number().int().min(1).max(7)).optional(),
  holidays: z.array(z.string().regex(DATE, 'must be "YYYY-MM-DD"')).optional(),
  halfDays: z.record(z.string().regex(DATE, 'must be "YYYY-MM-DD"'), z.array(session)).optional(),
});

const port = () => z.number().int().min(0).max(65535).optional();
/** The service sections: what `tradecore run` needs beside the engine (not passed to `createEngine`). */
const brokerSection = z.strictObject({
  kind: z.enum(['embedded', 'tcp-sim', 'fix']),
  beginString: z.enum(['FIX.4.2', 'FIX.4.4']).optional(),
  senderCompId: z.string().min(1).optional(),
  targetCompId: z.string().min(1).optional(),
  heartbeatSeconds: z.number().int().min(1).max(3600).optional(),
  resetOnLogon: z.boolean().optional(),
  account: z.string().min(1).optional(),
  statusRequests: z.enum(['none', 'order', 'mass']).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  credentialsFile: z.string().min(1).optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  marketStepMs: nonNeg(),
  ackLatencyMs: nonNeg(),
  fillLatencyMs: nonNeg(),
  startPrices: z.record(z.string(), z.number().positive()).optional(),
});
const opsSection = z.strictObject({
  host: z.string().min(1).optional(),
  port: port(),
  tokenFile: z.string().min(1).optional(),
  historyEveryMs: z.number().int().min(100).max(600_000).optional(),
});
const webhook = z.strictObject({
  url: z.string().regex(/^https?:\/\//, 'must be an http(s) URL'),
  levels: z.array(z.enum(['P0', 'P1', 'P2'])).min(1).optional(),
  timeoutMs: positive(), retries: z.number().int().nonnegative().optional(), headers: z.record(z.string(), z.string()).optional(),
});
const monitorSection = z.strictObject({
  disconnectedMs: positive(), p99AckUs: positive(), p99ReportUs: positive(), eventLoopLagMs: positive(), sustainMs: positive(), evaluateEveryMs: positive(),
  webhooks: z.array(webhook).optional(),
});
const shutdownSection = z.strictObject({
  openOrders: z.enum(['leave', 'cancel']).optional(),
  timeoutMs: positive(),
});
/** Keys of a config file that configure the service around the engine, not the engine itself. */
export const SERVICE_KEYS = ['broker', 'ops', 'monitor', 'shutdown', 'gate', 'export'] as const;

/**
 * The part of the engine config a file can declare: instruments, limits, calendars and table
 * settings. Code-only options (broker, clock, logger, callbacks) are passed beside it.
 */
export const FileConfigSchema = z.strictObject({
  instruments: z.array(instrument).min(1),
  risk: z.strictObject({ default: limits.optional(), perSymbol: z.record(z.string(), limits).optional(), account: account.optional() }).optional(),
  markets: z.record(z.string(), market).optional(),
  cancelOutsideSession: z.enum(['allow', 'refuse']).optional(),
  capacity: z.number().int().optional(),
  retentionMs: nonNeg(),
  initialCash: z.record(z.string(), z.number()).optional(),
  currencyPrecision: z.record(z.string(), z.number().int().min(0).max(12)).optional(),
  backend: z.enum(['auto', 'native', 'ts']).optional(),
  environment: z.enum(['paper', 'sim', 'live']).optional(),
  live: z.strictObject({ armed: z.boolean(), confirmAccount: z.string().min(1) }).optional(),
  connection: z.strictObject({
    heartbeatMs: nonNeg(), missedHeartbeats: z.number().int().positive().optional(), startTimeoutMs: positive(), maxClockSkewMs: nonNeg(),
    reconnectBaseMs: nonNeg(), reconnectCapMs: positive(), maxReconnectAttempts: z.number().int().nonnegative().optional(),
    authRetries: z.number().int().nonnegative().optional(), seed: nonNeg(),
  }).optional(),
  journal: z.strictObject({
    dir: z.string().min(1), durability: z.enum(['group', 'fsync']).optional(), groupCommitMs: z.number().int().positive().optional(),
    segmentBytes: z.number().int().positive().optional(), storage: z.enum(['auto', 'mapped', 'file']).optional(),
    snapshotEveryRecords: z.number().int().nonnegative().optional(), snapshotEveryMs: z.number().int().nonnegative().optional(),
    keepSnapshots: z.number().int().positive().optional(), compaction: z.enum(['archive', 'delete', 'off']).optional(), salvage: z.boolean().optional(),
  }).optional(),
  tradingDay: z.strictObject({ rollAt: z.string().regex(HHMM, 'must be "HH:MM" (24-hour local time)').optional(), timeZone: z.string().min(1).optional(), reportDir: z.string().min(1).optional() }).optional(),
  limits: z.strictObject({
    maxExternalOrders: z.number().int().positive().optional(), maxExecIdsPerOrder: z.number().int().positive().optional(), maxDayOrders: z.number().int().positive().optional(),
    parkMs: z.number().int().nonnegative().optional(), maxParkedReports: z.number().int().nonnegative().optional(), maxUnkeptFills: z.number().int().positive().optional(),
  }).optional(),
  broker: brokerSection.optional(),
  ops: opsSection.optional(),
  monitor: monitorSection.optional(),
  shutdown: shutdownSection.optional(),
  gate: z.strictObject({
    maxCertifyAgeHours: positive(), requiredCases: z.array(z.string().min(1)).optional(), adapter: z.string().min(1).optional(),
  }).optional(),
  /** The journal's drop-copy to NATS JetStream and the firm link (docs/scale-out.md); checked by `exportProblems`. */
  export: z.custom<ExportOptions>(() => true).optional(),
  fallback: z.strictObject({ liveOrders: z.enum(['cancel', 'keep']).optional(), journalDir: z.string().min(1).optional() }).optional(),
  rollout: z.strictObject({
    stages: z.array(z.strictObject({
      name: z.string().min(1), symbols: z.array(z.string()).optional(), windows: z.array(z.tuple([z.string(), z.string()])).optional(), timeZone: z.string().min(1).optional(),
      maxGrossNotional: positive(), maxDailyNotional: positive(), maxDailyLoss: positive(), rateShare: z.number().gt(0).max(1).optional(),
      promoteAfter: z.strictObject({
        cleanDays: z.number().int().nonnegative().optional(), noOpenAlerts: z.boolean().optional(),
        gate: z.strictObject({ evidence: z.string().min(1), journal: z.string().min(1).optional() }).optional(),
      }).optional(),
    })).min(1),
    start: z.string().min(1).optional(),
    onLossCap: z.enum(['Reducing', 'Halted']).optional(),
  }).optional(),
  recon: z.strictObject({
    intervalMs: nonNeg(), graceMs: nonNeg(), qtyTolerance: nonNeg(), cashTolerance: nonNeg(),
    policy: z.partialRecord(z.enum(DIFF_KINDS as [DiffKind, ...DiffKind[]]), z.strictObject({
      winner: z.enum(['broker', 'local', 'manual']).optional(), severity: z.enum(['critical', 'warning']).optional(), onCritical: z.enum(['none', 'reduce', 'halt']).optional(),
    })).optional(),
  }).optional(),
});

export type FileConfig = z.infer<typeof FileConfigSchema>;
/** The engine's part of a config file: everything but the service sections (`SERVICE_KEYS`). */
export type EngineFileConfig = Omit<FileConfig, (typeof SERVICE_KEYS)[number]>;

/**
 * The engine's part of a config file, to pass to `createEngine` beside the code-only options.
 *
 * @example
 * const { config } = loadConfigFile('tradecore.yaml');
 * const engine = createEngine({ ...engineConfigOf(config!), broker });
 */
export function engineConfigOf(file: FileConfig): EngineFileConfig {
  const out: Record<string, unknown> = { ...file };
  for (const k of SERVICE_KEYS) delete out[k];
  return out as EngineFileConfig;
}

/** What zod cannot see in the service sections. */
function serviceProblems(c: FileConfig): string[] {
  const out: string[] = [];
  const b = typeof c.broker === 'object' && c.broker !== null ? c.broker : undefined;
  if (b?.kind === 'tcp-sim' && b.port === undefined) out.push('broker.port: the TCP simulated broker needs a port');
  if (b?.kind === 'fix') {
    for (const k of ['port', 'beginString', 'senderCompId', 'targetCompId'] as const) if (b[k] === undefined) out.push(`broker.${k}: a FIX broker needs it`);
    for (const k of ['seed', 'marketStepMs', 'ackLatencyMs', 'fillLatencyMs', 'startPrices', 'credentialsFile'] as const) if (b[k] !== undefined) out.push(`broker.${k}: not for kind fix${k === 'credentialsFile' ? ' (its Username and Password come from the environment\'s credentials: TRADECORE_<ENV>_ACCOUNT / _SECRET or _CREDENTIALS_FILE)' : ''}`);
    if (c.environment === 'paper') out.push('environment: paper is the embedded broker; a FIX broker is sim or live');
    if (b.statusRequests === 'mass' && b.beginString === 'FIX.4.2') out.push('broker.statusRequests: "mass" (OrderMassStatusRequest) is FIX 4.4 only; use "order" with FIX.4.2');
  }
  if (b !== undefined && b.kind !== 'fix') {
    for (const k of ['beginString', 'senderCompId', 'targetCompId', 'heartbeatSeconds', 'resetOnLogon', 'account', 'statusRequests'] as const) if (b[k] !== undefined) out.push(`broker.${k}: only for kind fix`);
  }
  if (b?.kind === 'embedded') {
    for (const k of ['host', 'port', 'credentialsFile'] as const) if (b[k] !== undefined) out.push(`broker.${k}: only for kind tcp-sim`);
  }
  if (b?.kind === 'tcp-sim') {
    for (const k of ['seed', 'marketStepMs', 'ackLatencyMs', 'fillLatencyMs', 'startPrices'] as const) if (b[k] !== undefined) out.push(`broker.${k}: only for kind embedded (the TCP simulated broker takes it on its own command line)`);
    if (c.environment === 'paper') out.push('environment: paper is the embedded broker; the TCP simulated broker is sim');
  }
  if ('export' in c && c.export !== undefined) out.push(...exportProblems(c.export));
  if (typeof b?.startPrices === 'object' && b.startPrices !== null && Array.isArray(c.instruments)) {
    const symbols = new Set(c.instruments.map((i) => i?.symbol));
    for (const sym of Object.keys(b.startPrices)) if (!symbols.has(sym)) out.push(`broker.startPrices.${sym}: no such instrument`);
  }
  return out;
}

export interface LoadedConfig {
  /** Present when there is no problem. */
  readonly config?: FileConfig;
  /** Every problem found, each "path: message". */
  readonly problems: string[];
}

/** A path as the engine's own checks spell it: `instruments[0].tickSize`. */
function pathText(p: ReadonlyArray<PropertyKey>): string {
  if (p.length === 0) return '(top level)';
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

/** The path part of a problem line ("a.b[0].c: message" → "a.b[0].c"). */
const pathOf = (problem: string) => problem.slice(0, problem.indexOf(': '));

/**
 * Validate a parsed config object in one pass: zod for shape and types, and beside it the
 * engine's own checks (tick units, duplicates, zones, market names, powers of two) and the
 * service sections' rules, over whatever parts they can read. Every problem comes back at once,
 * each "path: message", with one spelling of paths (`instruments[0].tickSize`); where zod and
 * the engine's checks both object to one path, zod's line is kept.
 */
export function checkConfig(value: unknown): LoadedConfig {
  const parsed = FileConfigSchema.safeParse(value);
  const shape = parsed.success ? [] : parsed.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => `${pathText([...i.path, k])}: unknown option`) : [`${pathText(i.path)}: ${i.message}`]);
  let deeper: string[] = [];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    try {
      deeper = [...configProblems(engineConfigOf(value as FileConfig) as EngineConfig, { fileOnly: true }), ...serviceProblems(value as FileConfig)];
    } catch {
      // a part too malformed for the deeper checks to read: zod has said what is wrong with it
    }
  }
  const shapePaths = shape.map(pathOf);
  const covered = (p: string) => shapePaths.some((s) => s === p || p.startsWith(`${s}.`) || p.startsWith(`${s}[`) || s.startsWith(`${p}.`) || s.startsWith(`${p}[`));
  const problems = [...shape, ...deeper.filter((d) => !covered(pathOf(d)))];
  return problems.length > 0 || !parsed.success ? { problems } : { config: parsed.data, problems: [] };
}

/**
 * Read a JSON or YAML config file (by extension: .json, .yaml, .yml) and validate it. Never
 * throws: a missing file or a syntax error is reported like any other problem.
 *
 * @example
 * const { config, problems } = loadConfigFile('tradecore.yaml');
 * if (!config) throw new Error(problems.join('\n'));
 * const engine = createEngine({ ...engineConfigOf(config), broker });
 */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problems: [`${path}: cannot read: ${(err as Error).message}`] };
  }
  const yaml = /\.ya?ml$/i.test(path);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    return { problems: [`${path}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`] };
  }
  return checkConfig(value);
}
