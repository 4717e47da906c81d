/**
 * The ops page in headless Chromium against a running `tradecore run`: it loads with no console
 * error and no request beyond the endpoint, the numbers it shows equal `/status`, and pressing
 * Halt (with the token typed in) moves the trading state. CI installs Chromium and sets
 * TRADECORE_REQUIRE_CHROMIUM=1, so there it cannot be skipped. Set TRADECORE_OPS_SCREENSHOT to
 * a file to keep a screenshot of the page (docs/ops-page.png was made that way).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Browser, findChromium } from './cdp.js';
import { TOKEN, eventually, getJson, spawnCli, started, type RunProcess } from './run-helpers.js';

const chromium = findChromium();
if (process.env.TRADECORE_REQUIRE_CHROMIUM === '1' && chromium === undefined) throw new Error('TRADECORE_REQUIRE_CHROMIUM=1 but chromium is not installed');
if (chromium === undefined) process.stderr.write('91-ops-page-browser: skipped, no chromium on this machine (CI installs it)\n');

const FIXED = fileURLToPath(new URL('./fixtures/run/fixed-orders.mjs', import.meta.url));
const CONFIG = `instruments:
  - { symbol: ACME, tickSize: 0.01, pricePrecision: 2 }
  - { symbol: BOLT, tickSize: 0.05, pricePrecision: 2, lotSize: 10 }
  - { symbol: "D<&>", tickSize: 0.5, pricePrecision: 1 }
risk:
  default: { maxOrderQty: 10000, maxPosition: 50000 }
initialCash: { USD: 1000000 }
broker: { kind: embedded, seed: 11, startPrices: { ACME: 42.5, BOLT: 17.35, "D<&>": 250 } }
ops: { port: 0, historyEveryMs: 100 }
`;

interface Status {
  connection: string;
  tradingState: string;
  engine: string;
  openOrders: number;
  openDiffs: number;
  positions: Array<{ symbol: string; qty: number; realizedPnl: number }>;
  account: { cash: Record<string, number> };
  stats: { accepted: number; fills: number; denied: number };
}

const num = (s: string) => Number(s.replace(/,/g, ''));

describe.skipIf(chromium === undefined)('the ops page in a browser', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-ops-page-'));
  let run: RunProcess | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    if (run !== undefined && run.proc.exitCode === null) {
      run.proc.kill('SIGTERM');
      await run.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console error, shows what /status says, and Halt moves the trading state', async () => {
    writeFileSync(path.join(dir, 'tc.yaml'), CONFIG);
    run = spawnCli(['run', '--config', path.join(dir, 'tc.yaml'), '--data', path.join(dir, 'data'), '--strategy', FIXED], { TRADECORE_OPS_TOKEN: TOKEN, FIXED_ORDERS: '2', FIXED_THROW: '1' });
    const s = await started(run);
    const port = s.opsPort;
    // the strategy's orders are all filled: the state is still from here on
    const status = await eventually(async () => {
      const st = (await getJson<Status>(port, '/status')).body;
      return st.stats.fills === 6 && st.openOrders === 0 ? st : undefined;
    }, 'six fills');

    browser = new Browser(chromium!);
    const page = await browser.newPage();
    await page.goto(s.opsUrl);
    await page.until(`document.getElementById('updated').textContent.startsWith('updated')`);
    expect(page.errors()).toEqual([]);
    // nothing but the endpoint itself: no CDN, no font, no image from elsewhere
    const origin = `http://127.0.0.1:${port}/`;
    expect(page.requests().length).toBeGreaterThan(1);
    expect(page.requests().filter((u) => !u.startsWith(origin))).toEqual([]);

    const shown = await page.eval<{ pills: string[]; counts: Record<string, string>; positions: string[][]; cash: string[][]; orders: string; diffs: string; latencyRows: number }>(`(() => {
      const t = (id) => document.getElementById(id).textContent;
      const rows = (id) => [...document.getElementById(id).querySelectorAll('tr')].map((tr) => [...tr.children].map((td) => td.textContent));
      return {
        pills: ['engine', 'connection', 'tradingState'].map(t),
        counts: { openOrders: t('openOrders'), accepted: t('accepted'), denied: t('denied'), fills: t('fills'), openDiffs: t('openDiffs') },
        positions: rows('positions'), cash: rows('cash'), orders: t('orders'), diffs: t('diffs'),
        latencyRows: document.getElementById('latency').querySelectorAll('tr').length,
      };
    })()`);
    expect(shown.pills).toEqual([status.engine, status.connection, status.tradingState]);
    expect(num(shown.counts.openOrders!)).toBe(status.openOrders);
    expect(num(shown.counts.accepted!)).toBe(status.stats.accepted);
    expect(num(shown.counts.denied!)).toBe(status.stats.denied);
    expect(num(shown.counts.fills!)).toBe(status.stats.fills);
    expect(num(shown.counts.openDiffs!)).toBe(status.openDiffs);
    expect(shown.positions.map((r) => [r[0], num(r[1]!), num(r[3]!)])).toEqual(status.positions.map((p) => [p.symbol, p.qty, p.realizedPnl]));
    // a symbol with markup in it is text on the page, not markup
    expect(shown.positions.map((r) => r[0])).toContain('D<&>');
    expect(shown.cash).toEqual([['USD', status.account.cash.USD!.toLocaleString('en-US', { maximumFractionDigits: 2 }), expect.any(String)]]);
    expect(shown.orders).toBe('no open orders');
    // the strategy threw once: one open alert, shown with its acknowledge button
    const alerts = (await getJson<{ open: Array<{ id: string; code: string }> }>(port, '/alerts')).body.open;
    expect(alerts.map((a) => a.code)).toEqual(['CALLBACK_ERROR']);
    expect(await page.eval<string[]>(`[...document.querySelectorAll('#alerts tr')].map((tr) => tr.children[1].textContent)`)).toEqual(['CALLBACK_ERROR']);
    expect(shown.diffs).toBe('no open diffs');
    expect(shown.latencyRows).toBe(4);

    // the chart draws the samples of /history
    await page.until(`document.querySelectorAll('#chart polyline')[0]?.getAttribute('points').split(' ').length >= 5`);
    const shot = process.env.TRADECORE_OPS_SCREENSHOT;
    if (shot !== undefined && shot !== '') writeFileSync(shot, await page.screenshot());
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    // without the token the page refuses to send; with it, Halt moves the state
    await page.eval(`document.getElementById('reason').value = 'browser test'; document.getElementById('do-halt').click()`);
    await page.until(`document.getElementById('message').textContent.includes('ops token')`);
    expect((await getJson<Status>(port, '/status')).body.tradingState).toBe('Active');
    await page.eval(`(() => { const t = document.getElementById('token'); t.value = ${JSON.stringify(TOKEN)}; t.dispatchEvent(new Event('input')); document.getElementById('do-halt').click(); })()`);
    await page.until(`document.getElementById('tradingState').textContent === 'Halted'`);
    expect((await getJson<Status>(port, '/status')).body.tradingState).toBe('Halted');
    expect(await page.eval<string>(`document.getElementById('message').textContent`)).toBe('halt: trading state Halted');
    // acknowledge the alert from the page: it closes, with who and why
    await page.eval(`document.querySelector('#alerts button[data-alert]').click()`);
    await page.until(`document.getElementById('alerts').textContent === 'no open alerts'`);
    const after = (await getJson<{ open: unknown[]; recent: Array<{ id: string; state: string; closedBy: string; closeNote: string }> }>(port, '/alerts')).body;
    expect(after.open).toEqual([]);
    expect(after.recent.find((a) => a.id === alerts[0]!.id)).toMatchObject({ state: 'acknowledged', closedBy: 'ops page', closeNote: 'browser test' });
    // the token is in the page's memory only
    expect(await page.eval<number>('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.eval<string>('document.cookie')).toBe('');
    expect(page.errors()).toEqual([]);
  }, 90_000);
});
