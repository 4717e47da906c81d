import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configProblems, type EngineConfig } from './config.js';
import { DIFF_KINDS, type DiffKind } from './recon/diff.js';

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
  recon: z.strictObject({
    intervalMs: nonNeg(), graceMs: nonNeg(), qtyTolerance: nonNeg(), cashTolerance: nonNeg(),
    policy: z.partialRecord(z.enum(DIFF_KINDS as [DiffKind, ...DiffKind[]]), z.strictObject({
      winner: z.enum(['broker', 'local', 'manual']).optional(), severity: z.enum(['critical', 'warning']).optional(), onCritical: z.enum(['none', 'reduce', 'halt']).optional(),
    })).optional(),
  }).optional(),
});

export type FileConfig = z.infer<typeof FileConfigSchema>;

export interface LoadedConfig {
  /** Present when there is no problem. */
  readonly config?: FileConfig;
  /** Every problem found, each "path: message". */
  readonly problems: string[];
}

/** Validate a parsed config object: zod for shape and types, then the engine's own checks. */
export function checkConfig(value: unknown): LoadedConfig {
  const parsed = FileConfigSchema.safeParse(value);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`) };
  }
  // the shape is right: now what zod cannot see (tick units, duplicates, zones, unknown names)
  const problems = configProblems(parsed.data as EngineConfig, { fileOnly: true });
  return problems.length > 0 ? { problems } : { config: parsed.data, problems: [] };
}

/**
 * Read a JSON or YAML config file (by extension: .json, .yaml, .yml) and validate it. Never
 * throws: a missing file or a syntax error is reported like any other problem.
 *
 * @example
 * const { config, problems } = loadConfigFile('tradecore.yaml');
 * if (!config) throw new Error(problems.join('\n'));
 * const engine = createEngine({ ...config, broker });
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
