import { pino } from 'pino';
import type { CancelOrderRequest, PlaceOrderRequest } from '../src/brokers/adapter.js';
import { ManualClock } from '../src/core/clock.js';
import { createEngine, type Engine } from '../src/engine.js';
import { ConfigError } from '../src/config.js';
import type { EngineConfig } from '../src/config.js';
import type { Anomaly } from '../src/core/anomaly.js';
import type { InstrumentSpec } from '../src/domain/instrument.js';
import { ReportBuffer, type BrokerOrder, type BrokerReport } from '../src/domain/report.js';
import { RecordingBroker } from '../src/brokers/recording-broker.js';
import type { Order, OrderRequest } from '../src/domain/order.js';
import { loadNative } from '../src/native/loader.js';

export const INSTRUMENTS: InstrumentSpec[] = [
  { symbol: 'ACME', tickSize: 0.01, pricePrecision: 2 },
  { symbol: 'LOTS', tickSize: 0.05, pricePrecision: 2, lotSize: 100 },
];

/** The error of class `type` that `fn` throws (the test fails if it throws nothing, or something else). */
export function thrownBy<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}

/** The problems of the ConfigError that `fn` throws. */
export function problemsOf(fn: () => unknown): readonly string[] {
  return thrownBy(fn, ConfigError).problems;
}

/**
 * Heartbeats off: for tests that move a manual clock in big synchronous steps, where no
 * heartbeat answer (a promise) can arrive in between and every interval would count as missed.
 */
export const NO_HEARTBEAT = { heartbeatMs: 0 } as const;

/** An engine order as the broker's records would hold it (for scripted sync answers); `status` overrides. */
export function asBrokerOrder(o: Order, status: Order['status'] = o.status): BrokerOrder {
  return { clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId, symbol: o.symbol, side: o.side, type: o.type, tif: o.tif, qty: o.qty, price: o.price, cumQty: o.cumQty, status };
}

/** A silent logger for tests. */
export const quiet = () => pino({ level: 'silent' });

/**
 * The adapter plumbing test brokers share (src's RecordingBroker): a sink, `placed` and
 * `cancels`, heartbeats on `clock` (default wall time), and empty broker records.
 */
export class StubBroker extends RecordingBroker {}

/**
 * A broker adapter driven by the test: it records every request and delivers exactly the
 * reports the test pushes, when the test pushes them.
 */
export class ScriptedBroker extends StubBroker {
  override readonly name = 'scripted';
  placeError: Error | undefined;
  cancelError: Error | undefined;
  private exec = 1;

  override placeOrder(req: PlaceOrderRequest) {
    if (this.placeError) throw this.placeError;
    super.placeOrder(req);
  }
  override cancelOrder(req: CancelOrderRequest) {
    if (this.cancelError) throw this.cancelError;
    super.cancelOrder(req);
  }

  /** Report structures by delivery depth: one reused for every report, as the sink contract allows. */
  private readonly buffers: ReportBuffer[] = [];
  private depth = 0;

  /**
   * Deliver one report; execId defaults to a fresh one. Every report goes out in the same reused
   * `ReportBuffer` (a report sent from inside a callback gets the next one), scribbled over as
   * soon as the sink returns: a report the engine kept without copying would show it.
   */
  send(r: Partial<BrokerReport> & Pick<BrokerReport, 'kind' | 'brokerOrderId'>): void {
    const buf = (this.buffers[this.depth] ??= new ReportBuffer());
    Object.assign(buf.reset(r.kind, `X${this.exec++}`, r.brokerOrderId), r);
    this.depth++;
    try {
      this.sink!.onReport(buf);
    } finally {
      this.depth--;
      Object.assign(buf.reset('expired', 'SCRIBBLED', 'SCRIBBLED'), { clientOrderId: 'SCRIBBLED', lastQty: 999, lastPx: 999, cumQty: 999, seq: 999, text: 'SCRIBBLED' });
    }
  }
  ack(clientOrderId: string, brokerOrderId: string, seq?: number) {
    this.send({ kind: 'new', clientOrderId, brokerOrderId, ...(seq !== undefined ? { seq } : {}) });
  }
  fill(clientOrderId: string, brokerOrderId: string, lastQty: number, lastPx: number, extra: Partial<BrokerReport> = {}) {
    this.send({ kind: 'trade', clientOrderId, brokerOrderId, lastQty, lastPx, ...extra });
  }
}

/**
 * The paths every engine test runs on: single submits, and submitMany on each gate backend
 * (the harness routes `engine.submit` through `submitMany`). The native path is listed only
 * when the addon is loaded; test/40-native.test.ts fails when CI expects it and it is not.
 */
export type SubmitPath = 'submit' | 'submitMany/ts' | 'submitMany/native';
export const NATIVE = loadNative();
export const PATHS: SubmitPath[] = ['submit', 'submitMany/ts', ...(NATIVE.addon ? (['submitMany/native'] as const) : [])];

/** Route `submit` through `submitMany` on the given backend; everything else as is. */
export function onPath(engine: Engine, path: SubmitPath): Engine {
  if (path === 'submit') return engine;
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'submit') return (o: OrderRequest) => target.submitMany([o])[0];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export interface Harness {
  engine: Engine;
  broker: ScriptedBroker;
  clock: ManualClock;
  anomalies: Anomaly[];
}

/** A started engine on a scripted broker and a manual clock, submitting on `path`. */
export async function harness(extra: Partial<EngineConfig> = {}, path: SubmitPath = 'submit'): Promise<Harness> {
  const broker = new ScriptedBroker();
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 14, 30));
  broker.clock = clock;
  const anomalies: Anomaly[] = [];
  const engine = createEngine({
    instruments: INSTRUMENTS,
    broker,
    clock,
    logger: quiet(),
    onAnomaly: (a) => anomalies.push(a),
    backend: path === 'submitMany/native' ? 'native' : path === 'submitMany/ts' ? 'ts' : 'auto',
    connection: NO_HEARTBEAT,
    ...extra,
  });
  await engine.start();
  return { engine: onPath(engine, path), broker, clock, anomalies };
}

/** Wait (real time) until `cond` holds; fails after `timeoutMs` with `what`. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Let pending promise callbacks and I/O callbacks run. */
export const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * Wait until `cond` holds while moving a manual clock `stepMs` per round (timers due on it
 * run: reconnects, heartbeats), letting real I/O happen between rounds.
 */
export async function drive(clock: ManualClock, cond: () => boolean, what = 'condition', stepMs = 50, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms (real) waiting for ${what}`);
    clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 3));
  }
}
