/**
 * The broker a config file's `broker` section names, as `tradecore run`, `demo --config` and
 * `check-connection --config` build it: the embedded simulated broker (paper), the TCP
 * simulated broker (sim), or a FIX 4.2 / 4.4 session (sim or live; docs/fix.md).
 */
import { SimBroker } from '../brokers/sim/sim-broker.js';
import { RemoteSimBroker } from '../brokers/sim/remote.js';
import { FixBroker } from '../brokers/fix/adapter.js';
import type { BrokerAdapter } from '../brokers/adapter.js';
import type { FileConfig } from '../config-file.js';
import type { Clock } from '../core/clock.js';
import { CredentialsError, loadCredentials, type Environment } from '../connectivity/credentials.js';
import type { Logger } from '../ops/logger.js';

/** The config names a broker this process cannot use as given (missing credentials, a paper/sim mix-up). */
export class BrokerConfigError extends Error {}

export interface ConfiguredBroker {
  broker: BrokerAdapter;
  /** Set for the embedded broker: the simulator itself (quotes, records, market control). */
  sim?: SimBroker;
  environment: Environment;
}

/** Where a FIX broker keeps its sequence numbers and order record when the caller names no place: the default data directory's. */
export const DEFAULT_FIX_STORE = './tradecore-data/fix';

export function brokerFromConfig(config: FileConfig, options: { env?: NodeJS.ProcessEnv; logger: Logger; clock?: Clock; fixStoreDir?: string }): ConfiguredBroker {
  const b = config.broker ?? { kind: 'embedded' as const };
  if (b.kind === 'fix') {
    const environment = config.environment === 'live' ? 'live' : 'sim';
    let credentials;
    try {
      credentials = loadCredentials(environment, { ...(options.env !== undefined ? { env: options.env } : {}), warn: (m) => options.logger.warn(m) });
    } catch (err) {
      // a FIX session without Username/Password is common in sim; live needs credentials
      if (!(err instanceof CredentialsError) || environment === 'live') throw new BrokerConfigError(`broker fix: ${(err as Error).message}`);
    }
    const broker = new FixBroker({
      host: b.host ?? '127.0.0.1', port: b.port!, beginString: b.beginString!, senderCompId: b.senderCompId!, targetCompId: b.targetCompId!,
      storeDir: options.fixStoreDir ?? DEFAULT_FIX_STORE, logger: options.logger,
      ...(b.heartbeatSeconds !== undefined ? { heartbeatSeconds: b.heartbeatSeconds } : {}),
      ...(b.resetOnLogon !== undefined ? { resetOnLogon: b.resetOnLogon } : {}),
      ...(b.account !== undefined ? { account: b.account } : {}),
      ...(b.statusRequests !== undefined ? { statusRequests: b.statusRequests } : {}),
      // one FIX session per trading day, rolled with the engine's
      ...(config.tradingDay !== undefined ? { tradingDay: { ...(config.tradingDay.rollAt !== undefined ? { rollAt: config.tradingDay.rollAt } : {}), ...(config.tradingDay.timeZone !== undefined ? { timeZone: config.tradingDay.timeZone } : {}) } } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
    });
    return { broker, environment };
  }
  if (b.kind === 'tcp-sim') {
    if (config.environment === 'paper') throw new BrokerConfigError('environment: paper is the embedded broker; the TCP simulated broker is sim');
    let credentials;
    try {
      credentials = loadCredentials('sim', { ...(options.env !== undefined ? { env: options.env } : {}), ...(b.credentialsFile !== undefined ? { file: b.credentialsFile } : {}), warn: (m) => options.logger.warn(m) });
    } catch (err) {
      if (err instanceof CredentialsError) throw new BrokerConfigError(`broker tcp-sim: ${err.message}`);
      throw err;
    }
    return { broker: new RemoteSimBroker({ host: b.host ?? '127.0.0.1', port: b.port!, credentials }), environment: config.environment ?? 'sim' };
  }
  if (config.environment !== undefined && config.environment !== 'paper') {
    throw new BrokerConfigError(`environment ${config.environment} needs a broker over the network; the embedded simulated broker is paper (set broker.kind: tcp-sim)`);
  }
  const day = config.tradingDay;
  const sim = new SimBroker({
    instruments: config.instruments,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(b.seed !== undefined ? { seed: b.seed } : {}),
    ...(b.startPrices !== undefined ? { startPrices: b.startPrices } : {}),
    ...(b.marketStepMs !== undefined ? { marketStepMs: b.marketStepMs } : {}),
    ...(b.ackLatencyMs !== undefined ? { ackLatencyMs: b.ackLatencyMs } : {}),
    ...(b.fillLatencyMs !== undefined ? { fillLatencyMs: b.fillLatencyMs } : {}),
    ...(config.initialCash !== undefined ? { initialCash: config.initialCash } : {}),
    ...(day !== undefined ? { tradingDay: { ...(day.rollAt !== undefined ? { rollAt: day.rollAt } : {}), ...(day.timeZone !== undefined ? { timeZone: day.timeZone } : {}) } } : {}),
  });
  return { broker: sim, sim, environment: 'paper' };
}
