import { describe, expect, it } from 'vitest';
import type { PlaceOrderRequest } from '../src/brokers/adapter.js';
import type { ReportSink } from '../src/brokers/adapter.js';
import { ReportBuffer, type BrokerReport } from '../src/domain/report.js';
import { harness } from './helpers.js';

const buy = (id: string, qty = 100) => ({ clientOrderId: id, symbol: 'ACME', side: 'buy' as const, qty, price: 10 });

/** The adapter's own frame, named so the stack shows it. */
function adapterDelivers(sink: ReportSink, r: BrokerReport): void {
  sink.onReport(r);
}

describe('the report and request contract: objects lent for the length of a call', () => {
  it('an adapter report reaches the apply step in two calls: the sink is the core entry point itself', async () => {
    const h = await harness();
    h.engine.submit(buy('a'));
    let stack = '';
    const r = { execId: 'X1', brokerOrderId: 'B1', clientOrderId: 'a' } as BrokerReport;
    Object.defineProperty(r, 'kind', {
      enumerable: true,
      get() {
        if (stack === '') stack = new Error('where').stack!;
        return 'new';
      },
    });
    adapterDelivers(h.broker.sink!, r);
    expect(h.engine.getOrder('a')!.status).toBe('Submitted');
    const frames = stack.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]!);
    const apply = frames.findIndex((f) => /(^|\.)apply$/.test(f));
    expect(apply).toBeGreaterThan(0);
    // apply ← the sink's onReport ← the adapter: no wrapper between them
    expect(frames[apply + 1]).toMatch(/onReport$/);
    expect(frames[apply + 2]).toBe('adapterDelivers');
  });

  it('state, parked reports, queued reports and anomalies survive the adapter refilling one report structure', async () => {
    const h = await harness();
    const buf = new ReportBuffer();
    const sink = h.broker.sink!;
    const send = (fill: (b: ReportBuffer) => void) => {
      fill(buf);
      sink.onReport(buf);
      buf.reset('expired', 'SCRIBBLED', 'SCRIBBLED');
    };
    // a fill that overtakes its ack names only the broker id: parked until the ack maps it
    h.engine.submit(buy('p'));
    send((b) => Object.assign(b.reset('trade', 'F1', 'BP'), { lastQty: 40, lastPx: 10, seq: 2 }));
    expect(h.engine.stats().parkedReports).toBe(1);
    send((b) => Object.assign(b.reset('new', 'A1', 'BP'), { clientOrderId: 'p', seq: 1 }));
    expect(h.engine.getOrder('p')).toMatchObject({ status: 'PartiallyFilled', cumQty: 40, brokerOrderId: 'BP' });
    // a report delivered from inside a callback is queued: the adapter refills another structure
    const other = new ReportBuffer();
    h.engine.setStrategy({
      onOrder: (o) => {
        if (o.clientOrderId === 'q' && o.status === 'Submitted') {
          sink.onReport(Object.assign(other.reset('trade', 'F2', 'BQ'), { clientOrderId: 'q', lastQty: 100, lastPx: 10, seq: 2 }));
          other.reset('expired', 'SCRIBBLED', 'SCRIBBLED');
        }
      },
    });
    h.engine.submit(buy('q'));
    send((b) => Object.assign(b.reset('new', 'A2', 'BQ'), { clientOrderId: 'q', seq: 1 }));
    expect(h.engine.getOrder('q')).toMatchObject({ status: 'Filled', cumQty: 100 });
    // an anomaly keeps the report as it arrived, not the refilled structure
    send((b) => Object.assign(b.reset('trade', 'F9', 'BQ'), { clientOrderId: 'q', lastQty: -1, lastPx: 10 }));
    const bad = h.anomalies.find((a) => a.kind === 'MALFORMED_REPORT')!;
    expect(bad.report).toMatchObject({ kind: 'trade', execId: 'F9', lastQty: -1 });
    expect(h.anomalies.filter((a) => a.kind !== 'MALFORMED_REPORT')).toEqual([]);
  });

  it('the place request is refilled for every order; one the adapter places from inside placeOrder gets its own', async () => {
    const seen: PlaceOrderRequest[] = [];
    let nested = false;
    const h = await harness();
    h.broker.placeOrder = (req: PlaceOrderRequest) => {
      seen.push(req);
      if (req.clientOrderId === 'outer' && !nested) {
        nested = true;
        expect(h.engine.submit(buy('inner', 7)).status).toBe('accepted');
        // the outer call's request still says what it said
        expect(req).toMatchObject({ clientOrderId: 'outer', qty: 100 });
      }
    };
    h.engine.submit(buy('one', 1));
    h.engine.submit(buy('two', 2));
    expect(seen[0]).toBe(seen[1]); // one object, refilled
    expect(seen[1]).toMatchObject({ clientOrderId: 'two', qty: 2 });
    h.engine.submit(buy('outer'));
    const inner = seen.find((r) => r.clientOrderId === 'inner')!;
    expect(inner).not.toBe(seen[0]);
    expect(inner).toMatchObject({ clientOrderId: 'inner', qty: 7 });
  });
});
