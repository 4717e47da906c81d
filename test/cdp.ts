/**
 * A small Chrome DevTools Protocol client over Chromium's `--remote-debugging-pipe` (fd 3 in,
 * fd 4 out, NUL-terminated JSON): enough to open a page, watch its console and network, read
 * and click its DOM, and take a screenshot. No WebSocket and no extra package needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export function findChromium(): string | undefined {
  for (const cmd of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return undefined;
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

export class Browser {
  private readonly proc: ChildProcess;
  private readonly out: Writable;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered = '';
  private readonly profile: string;
  readonly events: CdpEvent[] = [];
  private readonly waiters: Array<{ test: (e: CdpEvent) => boolean; resolve: (e: CdpEvent) => void }> = [];

  constructor(binary: string) {
    this.profile = mkdtempSync(path.join(tmpdir(), 'tc-cdp-'));
    this.proc = spawn(binary, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-extensions', '--mute-audio', '--hide-scrollbars', `--user-data-dir=${this.profile}`, '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    this.out = this.proc.stdio[3] as Writable;
    const input = this.proc.stdio[4] as Readable;
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.buffered += chunk;
      let at: number;
      while ((at = this.buffered.indexOf('\0')) >= 0) {
        const text = this.buffered.slice(0, at);
        this.buffered = this.buffered.slice(at + 1);
        this.message(JSON.parse(text) as Record<string, unknown>);
      }
    });
    this.proc.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  private message(m: Record<string, unknown>): void {
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (p === undefined) return;
      if (m.error !== undefined) p.reject(new Error(`CDP: ${JSON.stringify(m.error)}`));
      else p.resolve((m.result ?? {}) as Record<string, unknown>);
      return;
    }
    const e: CdpEvent = { method: String(m.method), params: (m.params ?? {}) as Record<string, unknown>, ...(typeof m.sessionId === 'string' ? { sessionId: m.sessionId } : {}) };
    this.events.push(e);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.test(e)) {
        this.waiters[i]!.resolve(e);
        this.waiters.splice(i, 1);
      }
    }
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.out.write(`${JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) })}\0`);
    });
  }

  waitFor(test: (e: CdpEvent) => boolean, timeoutMs = 20_000): Promise<CdpEvent> {
    const seen = this.events.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`CDP: no matching event in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ test, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }

  /** A new page, attached, with Runtime, Log, Page and Network events on. */
  async newPage(): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await page.send(`${domain}.enable`);
    await page.send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // already gone
    }
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGKILL');
      await gone;
    }
    // the browser's helper processes may still write to the profile for a moment
    try {
      rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // left in the temporary directory: harmless
    }
  }
}

export class Page {
  constructor(
    private readonly browser: Browser,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** This page's events so far. */
  events(): CdpEvent[] {
    return this.browser.events.filter((e) => e.sessionId === this.sessionId);
  }

  async goto(url: string): Promise<void> {
    const before = this.events().length;
    await this.send('Page.navigate', { url });
    await this.browser.waitFor((e) => e.sessionId === this.sessionId && e.method === 'Page.loadEventFired' && this.events().indexOf(e) >= before);
  }

  /** Evaluate an expression in the page; its value (JSON-able). Throws on an exception. */
  async eval<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } };
    if (r.exceptionDetails !== undefined) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Poll an expression until it is truthy. */
  async until(expression: string, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await this.eval<boolean>(`Boolean(${expression})`)) return;
      if (Date.now() > end) throw new Error(`page: ${expression} still false after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Console errors, uncaught exceptions, and log entries of level error (CSP refusals among them). */
  errors(): string[] {
    const out: string[] = [];
    for (const e of this.events()) {
      if (e.method === 'Runtime.exceptionThrown') out.push(`exception: ${JSON.stringify((e.params.exceptionDetails as { text?: string })?.text)}`);
      if (e.method === 'Runtime.consoleAPICalled' && (e.params.type === 'error' || e.params.type === 'assert')) out.push(`console.${String(e.params.type)}: ${JSON.stringify(e.params.args)}`);
      if (e.method === 'Log.entryAdded' && (e.params.entry as { level?: string })?.level === 'error') out.push(`log: ${(e.params.entry as { text?: string }).text}`);
    }
    return out;
  }

  /** Every URL the page requested. */
  requests(): string[] {
    return this.events().filter((e) => e.method === 'Network.requestWillBeSent').map((e) => String((e.params.request as { url: string }).url));
  }

  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
    return Buffer.from(data, 'base64');
  }
}
