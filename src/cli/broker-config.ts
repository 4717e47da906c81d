/**
 * The broker a config file's `broker` section names, as `tradecore run` and `tradecore demo
 * --config` build it: the embedded simulated broker (paper) or the TCP simulated broker (sim).
 */
import { SimBroker } from '../brokers/sim/sim-broker.js';
import { RemoteSimBroker } from '../brokers/sim/remote.js';
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

export function brokerFromConfig(config: FileConfig, options: { env?: NodeJS.ProcessEnv; logger: Logger; clock?: Clock }): ConfiguredBroker {
  const b = config.broker ?? { kind: 'embedded' as const };
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
