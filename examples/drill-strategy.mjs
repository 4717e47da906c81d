// The rollback drill's strategy (tradecore release drill, docs/release.md): once trading is
// Active, at the next quote of each symbol it submits DRILL_ORDERS (default 2) marketable buys
// of one lot, then nothing more, so each release in the drill adds a known number of orders.
// Its ids come from ctx.nextId: unique per process, so a restart never reuses one.
export default function createStrategy(ctx) {
  const n = Number(process.env.DRILL_ORDERS ?? 2);
  const done = new Set();
  const lot = new Map(ctx.instruments.map((i) => [i.symbol, i.lotSize ?? 1]));
  return {
    onQuote(q) {
      if (done.has(q.symbol) || ctx.tradingState !== 'Active' || !(q.ask > 0)) return;
      done.add(q.symbol);
      for (let k = 0; k < n; k++) {
        const r = ctx.submit({ clientOrderId: ctx.nextId(`drill-${q.symbol}`), symbol: q.symbol, side: 'buy', qty: lot.get(q.symbol), price: q.ask });
        if (r.status !== 'accepted') ctx.logger.warn({ r }, 'drill strategy: order not accepted');
      }
    },
  };
}
