/** Helpers for tests of `tradecore run` through the real CLI (dist/src/cli/main.js). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
export const TOKEN = 'test-ops-token-0123456789';

export interface RunProcess {
  readonly proc: ChildProcess;
  /** stdout lines, parsed where JSON. */
  readonly lines: unknown[];
  stderr(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
}

/** Spawn `tradecore <args>`; `env` is added to the test's environment. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): RunProcess {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TRADECORE_LOG_LEVEL: 'info', TRADECORE_OPS_TOKEN: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
  const lines: unknown[] = [];
  let err = '';
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    let at: number;
    while ((at = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, at);
      out = out.slice(at + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push(line);
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 128))));
  return { proc, lines, stderr: () => err, exited };
}

export interface Started {
  event: 'started';
  opsPort: number;
  opsUrl: string;
  readOnly: boolean;
  restored: { snapshotSeq: number; replayed: number } | null;
  dataDir: string;
  /** The config snapshot's hash. */
  config: string;
}

/** Wait for the `started` line; throws with stderr when the process exits first. */
export async function started(r: RunProcess, timeoutMs = 30_000): Promise<Started> {
  const end = Date.now() + timeoutMs;
  let code: number | undefined;
  void r.exited.then((c) => (code = c));
  for (;;) {
    const s = r.lines.find((l) => (l as { event?: string })?.event === 'started');
    if (s !== undefined) return s as Started;
    if (code !== undefined) throw new Error(`tradecore exited ${code} before it started:\n${r.stderr()}`);
    if (Date.now() > end) throw new Error(`tradecore did not start in ${timeoutMs} ms:\n${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function getJson<T = Record<string, unknown>>(port: number, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

export async function postJson<T = Record<string, unknown>>(port: number, path: string, body: unknown, token = TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Poll `check` until it returns a value that is not undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
