/**
 * The end-of-day HTML page opens in a real browser with no network: headless Chromium, run in
 * a network namespace of its own (`unshare -n`: no interface but loopback, and that down), loads the
 * page from a file and prints the DOM it built. The tables, their rows and the escaped text
 * must all be there. CI installs Chromium and sets TRADECORE_REQUIRE_CHROMIUM=1, so there the
 * test cannot be skipped; elsewhere it is skipped, saying why, when Chromium is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtml, type EodReport } from '../src/recon/eod.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/recon/eod-2026-11-25.json', import.meta.url));

function find(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const chromium = find('chromium') ?? find('chromium-browser') ?? find('google-chrome');
const unshare = find('unshare');
const required = process.env.TRADECORE_REQUIRE_CHROMIUM === '1';
if (required && (chromium === undefined || unshare === undefined)) throw new Error('TRADECORE_REQUIRE_CHROMIUM=1 but chromium or unshare is not installed');
if (chromium === undefined) process.stderr.write('83-eod-browser: skipped, no chromium on this machine (CI installs it)\n');

/** Rows of each table of the dumped DOM, in page order. */
function tableRows(dom: string): number[] {
  return [...dom.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map((m) => (m[1]!.match(/<tr>/g) ?? []).length);
}

describe.skipIf(chromium === undefined || unshare === undefined)('the end-of-day HTML page in a browser with no network', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tc-eod-browser-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Chromium in an empty network namespace builds every table, row and escaped value of the page', () => {
    const report = JSON.parse(readFileSync(FIXTURE, 'utf8')) as EodReport;
    const file = path.join(dir, 'recon.html');
    writeFileSync(file, renderHtml(report));
    // the namespace really has no network: its only interface is loopback (/proc/self/net is per namespace)
    const dev = execFileSync(unshare!, ['-n', 'cat', '/proc/self/net/dev'], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(dev.map((l) => l.trim().split(':')[0])).toEqual(['lo']);
    const dom = execFileSync(
      unshare!,
      ['-n', chromium!, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(dir, 'profile')}`, '--dump-dom', `file://${file}`],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(dom).toContain('<title>Reconciliation report 2026-11-25</title>');
    expect([...dom.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1])).toEqual(['Diffs', 'Totals', 'Orders', 'Trades', 'Positions', 'Cash']);
    expect(tableRows(dom)).toEqual([report.diffs.length, 4, report.orders.length, report.trades.length, report.positions.length, report.cash.length]);
    // a client id with markup in it is text in the page, not markup
    expect(report.orders.map((o) => o.clientOrderId)).toContain('desk<&>"1"');
    expect(dom).toContain('<td>desk&lt;&amp;&gt;"1"</td>');
    for (const m of ['open-diff', 'pending', 'manually-resolved', 'auto-fixed', 'matched']) expect(dom).toContain(`<span class="m m-${m}">${m}</span>`);
    expect(dom).not.toMatch(/<script|<link|<img|<iframe/i);
  });
});
