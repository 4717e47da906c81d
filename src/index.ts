/**
 * tradecore: an in-process trading core. Start with `createEngine`.
 * @packageDocumentation
 */
export { createEngine, Engine, type EngineState, type EngineStats, type EngineLatency, type EngineBackend, type SafeStopResult, type JournalStatus, type EngineObserver } from './engine.js';
export { TradingCalendar, calendarProblems, type MarketCalendarSpec } from './risk/calendar.js';
export { TRADING_STATES, type TradingState, type TradingStateChange, type TradingStateHook } from './risk/trading-state.js';
export { ConfigError, configProblems, type EngineConfig } from './config.js';
export { rolloutProblems, type RolloutConfig, type RolloutStage, type RolloutStatus, type RolloutPromotion, type OpenAlert } from './risk/rollout.js';
export { fallbackProblems, type FallbackOptions, type TradingMode, type ModeChange, type SwitchResult } from './fallback.js';
export { loadConfigFile, checkConfig, engineConfigOf, FileConfigSchema, SERVICE_KEYS, type FileConfig, type EngineFileConfig, type LoadedConfig } from './config-file.js';
export type { StrategyCallbacks } from './strategy.js';
export { ANOMALY_SEVERITY, type Anomaly, type AnomalyHook, type AnomalyKind, type Severity } from './core/anomaly.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './core/clock.js';
export type { Account, Position } from './core/ledger.js';
export { OrderStatus, STATUS_NAMES, isOpen, isTerminal, type OrderStatusName } from './domain/order-status.js';
export { OrderEvent, EVENT_NAMES, TRANSITIONS, nextStatus, INVALID, RESTORE, type OrderEventName } from './domain/transitions.js';
export { REJECT_REASONS, isRejectReason, type RejectReason, type RejectReasonInfo } from './domain/reject-reason.js';
export { toPriceUnits, fromPriceUnits, toLots, type Instrument, type InstrumentSpec } from './domain/instrument.js';
export type { Order, OrderRequest, OrderType, Side, TimeInForce, SubmitResult, CancelResult } from './domain/order.js';
export type { BrokerReport, ExecKind, ExecutionReport, Trade, BrokerOrder, BrokerTrade, BrokerPosition, BrokerAccount, Quote } from './domain/report.js';
export {
  NotSentError, BrokerError, BROKER_ERROR_KINDS, errorKind, type BrokerErrorKind, type BrokerAdapter, type ReportSink, type PlaceOrderRequest, type CancelOrderRequest, type HeartbeatInfo,
  FULL_SYNC, type SyncCapabilities,
} from './brokers/adapter.js';
export { SimBroker, type SimBrokerOptions, type SimFaults, type SimBrokerState } from './brokers/sim/sim-broker.js';
export { SimBrokerServer, type SimServerOptions, type SimServerStats, type ThrottleSpec } from './brokers/sim/server.js';
export { RemoteSimBroker, type RemoteSimBrokerOptions } from './brokers/sim/remote.js';
export { encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES, PROTOCOL_VERSION, type WireMessage } from './brokers/sim/wire.js';
export {
  loadCredentials, environmentProblems, Secret, CredentialsError, ENVIRONMENTS, isEnvironment, type Credentials, type Environment, type LiveArm, type LoadCredentialsOptions,
} from './connectivity/credentials.js';
export {
  CONNECTION_STATES, CONNECTION_DEFAULTS, connectionProblems, type ConnectionState, type ConnectionStateChange, type ConnectionOptions, type ConnectionStats,
} from './connectivity/supervisor.js';
export type { SyncSummary } from './connectivity/recovery.js';
export type { RiskConfig, RiskLimits, AccountLimits } from './risk/limits.js';
export { compareWithBroker, type Comparison } from './recon/compare.js';
export {
  DIFF_KINDS, RECON_DEFAULT_POLICY, RECON_DEFAULTS, reconProblems, type Diff, type DiffKind, type DiffSeverity, type DiffState, type DiffAction, type DiffValue,
  type KindPolicy, type ReconConfig, type Winner, type StateAction, type Correction, type LocalOrder,
} from './recon/diff.js';
export { Reconciler, ReconError, type ReconRun, type DiffEvent, type EodInput, type ReconTarget, type BrokerView } from './recon/reconciler.js';
export { buildEodReport, renderEod, renderMarkdown, renderHtml, generateEodReport, writeEodReport, MARKERS, type EodReport, type EodOutput, type Marker } from './recon/eod.js';
export type { LatencySummary } from './ops/latency.js';
export { Journal, JOURNAL_DEFAULTS, journalProblems, readSnapshotFile, type JournalOptions, type JournalOpenInfo, type JournalStats, type Durability, type RecoverySink } from './journal/journal.js';
export { JournalCorruptError, JournalFormatError, FORMAT_VERSION, scanSegment, reportRecord, reportOf, type JournalRecord, type RecordKind } from './journal/format.js';
export { parseReplay, parseReplayFile, runReplay, EVENTS_FORMAT, type ParsedReplay, type ReplayEvent, type ReplayProblem, type ReplayResult, type ReplayOptions } from './journal/replay.js';
export { RecordingBroker } from './brokers/recording-broker.js';
export { LatencyHistogram } from './ops/latency.js';
export { AlertManager, logSink, webhookSink, type Alert, type AlertLevel, type AlertSink, type WebhookOptions, type WebhookStats } from './ops/alerts.js';
export { Monitor, MONITOR_DEFAULTS, monitorProblems, type MonitorOptions } from './ops/monitor.js';
export { engineMetrics, LATENCY_BUCKETS_US } from './ops/metrics.js';
export { OpsServer, type OpsServerOptions } from './ops/server.js';
export { traceOrder, type Trace, type TraceLine } from './journal/trace.js';
