/**
 * `tradecore/certify`: adapter certification, the fault-injecting wrapper and the go-live gate
 * (docs/certify.md, docs/go-live.md).
 */
export { FaultyBroker, type FaultStats, type FaultyBrokerOptions, type ReportFaults } from './faults.js';
export {
  CAPABILITIES, CaseFailure, KillableClock, NO_VIOLATIONS, Session,
  type Capability, type InvariantCounts, type InvariantResult, type Recipe, type RecipeKind, type Target, type Venue,
} from './harness.js';
export { SUITE, SUITE_VERSION, type CertCase } from './suite.js';
export { certify, runCase, runDrill, type CaseRecord, type CertifyOptions, type CertifySummary, type Verdict } from './run.js';
export { CERTIFY_INSTRUMENTS, ForwardingAdapter, SIM_TARGET, SIM_TCP_TARGET, SimSession, fixTarget, moduleTarget, simVenue, targetOf, type FixTargetOptions, type SimVenue } from './targets.js';
