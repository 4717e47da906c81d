/**
 * The real `nats-server -js` of the scale-out tests (bench/nats-server.ts). Without it the
 * tests skip, unless TRADECORE_REQUIRE_NATS=1 (CI), where they fail.
 */
import { natsAvailable } from '../bench/nats-server.js';

export { NatsServer, freePort, natsAvailable } from '../bench/nats-server.js';
if (!natsAvailable && process.env.TRADECORE_REQUIRE_NATS === '1') throw new Error('nats-server is not installed (apt-get install nats-server) and TRADECORE_REQUIRE_NATS=1');
