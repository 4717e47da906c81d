// A sample strategy for `tradecore run --strategy examples/strategy.mjs`.
//
// Every `everyMs` it trades one lot of each symbol at the touch (buys at the ask, sells at the
// bid, so the order is marketable), buying while the position is under `maxLots` lots and
// selling back down to zero after that. Orders still open after STRATEGY_CANCEL_AFTER_MS are cancelled.
// It logs every fill. Tune it with environment variables (read once, at start):
//   STRATEGY_EVERY_MS (default 500), STRATEGY_MAX_LOTS (default 5), STRATEGY_CANCEL_AFTER_MS
//   (default 2000), STRATEGY_SYMBOLS
//   (comma-separated; default every instrument of the config).
//
// The factory gets a context (submit, cancel, positions, openOrders, quote, nextId, logger,
// now, setTimeout/setInterval/clearTimer) and returns the callbacks it wants: onStart,
// onQuote, onOrder, onTrade, onExecutionReport, onStop. Report callbacks get views that are
// valid during the call: keep `view.toObject()` to hold one.
export default function createStrategy(ctx) {
  const everyMs = Number(process.env.STRATEGY_EVERY_MS ?? 500);
  const maxLots = Number(process.env.STRATEGY_MAX_LOTS ?? 5);
  const cancelAfterMs = Number(process.env.STRATEGY_CANCEL_AFTER_MS ?? 2000);
  const symbols = process.env.STRATEGY_SYMBOLS ? process.env.STRATEGY_SYMBOLS.split(',') : ctx.instruments.map((i) => i.symbol);
  const lot = new Map(ctx.instruments.map((i) => [i.symbol, i.lotSize ?? 1]));
  const selling = new Set();
  const sentAt = new Map();
  let fills = 0;

  function tick() {
    if (ctx.tradingState === 'Halted') return;
    const now = ctx.now();
    for (const o of ctx.openOrders()) {
      if (now - (sentAt.get(o.clientOrderId) ?? now) > cancelAfterMs) ctx.cancel(o.clientOrderId);
    }
    for (const symbol of symbols) {
      const q = ctx.quote(symbol);
      if (q === undefined || ctx.openOrders().some((o) => o.symbol === symbol)) continue;
      const size = lot.get(symbol);
      const pos = ctx.positions().find((p) => p.symbol === symbol)?.qty ?? 0;
      if (pos >= maxLots * size) selling.add(symbol);
      if (pos <= 0) selling.delete(symbol);
      const sell = selling.has(symbol);
      const price = sell ? q.bid : q.ask;
      if (!(price > 0)) continue;
      const id = ctx.nextId('ex');
      const r = ctx.submit({ clientOrderId: id, symbol, side: sell ? 'sell' : 'buy', qty: size, price });
      if (r.status === 'accepted') sentAt.set(id, now);
      else if (r.status === 'denied') ctx.logger.info({ id, reason: r.reason, detail: r.detail }, 'order denied');
    }
  }

  let timer = 0;
  return {
    onStart() {
      ctx.logger.info({ symbols, everyMs, maxLots }, 'sample strategy started');
      timer = ctx.setInterval(tick, everyMs);
    },
    onTrade(t) {
      fills++;
      ctx.logger.info({ clientOrderId: t.clientOrderId, brokerOrderId: t.brokerOrderId, symbol: t.symbol, side: t.side, qty: t.qty, price: t.price }, 'fill');
    },
    onOrder(o) {
      if (o.status !== 'PendingNew' && o.status !== 'Submitted' && o.status !== 'PartiallyFilled') sentAt.delete(o.clientOrderId);
    },
    onStop() {
      ctx.clearTimer(timer);
      ctx.logger.info({ fills }, 'sample strategy stopped');
    },
  };
}
