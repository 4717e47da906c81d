import type { Correction } from './recon/diff.js';
import type { ReportCallbacks } from './core/callbacks.js';
import type { Quote } from './domain/report.js';

/**
 * Strategy callbacks: a plain object, registered once (no EventEmitter on the hot path).
 * Each gets both ids. They run after the report is fully applied, so a callback may submit or
 * cancel; an exception is caught, counted and raised as a CALLBACK_ERROR anomaly.
 *
 * What a callback is given is a view, reused from call to call: read it during the call; to
 * keep it, keep `view.toObject()`, a plain copy. A view kept as it is shows whatever the
 * engine points it at later (another order, a later status). With the engine option
 * `callbackArgs: 'objects'` each call gets a fresh object instead (slower: one allocation per
 * callback), and `toObject()` returns that object. A view's fields are getters: spreading it
 * (`{ ...view }`) or `Object.keys` does not copy them; `toObject()` and `JSON.stringify` do.
 *
 * @example
 * engine.setStrategy({
 *   onTrade(t) { console.log(t.clientOrderId, t.brokerOrderId, t.qty, t.price); },
 *   onOrder(o) { if (o.status === 'Filled') filled.push(o.toObject()); },
 * });
 */
export interface StrategyCallbacks extends ReportCallbacks {
  /**
   * Reconciliation changed one of its orders, a position or cash (a missed fill applied, a
   * status the broker finished taken, a position, cash or price corrected), automatically or
   * by a person. Fills and statuses applied this way also arrive through the callbacks above.
   */
  onCorrection?(correction: Correction): void;
  /**
   * A quote from the broker's market-data stream, after the engine took its mid as the
   * reference price. Called only while the engine is running (quotes during `start()` set the
   * reference price and `engine.quote()` but reach no callback). The quote is lent for the
   * call: keep `{ ...quote }` to hold it.
   */
  onQuote?(quote: Quote): void;
}
