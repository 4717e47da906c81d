/** QuickFIX's example acceptors for the FIX tests (test/fixtures/fix/quickfix.sh unpacks them), and a raw FIX test client. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixFramer, FixView, encodeFix, utcTimestamp, type FixField } from '../src/brokers/fix/codec.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const QUICKFIX_DIR = process.env.TRADECORE_QUICKFIX_DIR ?? path.join(ROOT, '.ci', 'quickfix');
export const HAVE_QUICKFIX = existsSync(path.join(QUICKFIX_DIR, 'bin', 'executor')) && existsSync(path.join(QUICKFIX_DIR, 'bin', 'ordermatch'));
if (process.env.TRADECORE_REQUIRE_QUICKFIX === '1' && !HAVE_QUICKFIX) throw new Error(`TRADECORE_REQUIRE_QUICKFIX=1 but QuickFIX's examples are not in ${QUICKFIX_DIR} (bash test/fixtures/fix/quickfix.sh)`);

/** A free port on 127.0.0.1 (bound and let go). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const ACCEPTOR_SOURCE = path.join(ROOT, 'test', 'fixtures', 'fix', 'acceptor.cpp');

/**
 * Build the test acceptor (test/fixtures/fix/acceptor.cpp, on QuickFIX's session layer) into
 * QUICKFIX_DIR/bin/tc-acceptor when it is missing or older than its source; returns its path.
 * g++ with -std=c++11 (QuickFIX 1.15's headers fail under C++17). Written under a temporary name
 * and renamed, so test files building at once never run a half-written binary.
 */
export function buildTestAcceptor(): string {
  const bin = path.join(QUICKFIX_DIR, 'bin', 'tc-acceptor');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(ACCEPTOR_SOURCE).mtimeMs) return bin;
  mkdirSync(path.dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync('g++', ['-std=c++11', '-O1', '-w', '-I', path.join(QUICKFIX_DIR, 'include'), '-o', tmp, ACCEPTOR_SOURCE, '-L', path.join(QUICKFIX_DIR, 'lib'), '-lquickfix', '-lpthread'], { stdio: 'pipe' });
  renameSync(tmp, bin);
  return bin;
}

export interface Acceptor {
  readonly port: number;
  readonly dir: string;
  /** What the acceptor printed: QuickFIX's examples and tc-acceptor log every message in and out on stdout. */
  output(): string;
  /** tc-acceptor only: send one command line and wait for its `OK` (see acceptor.cpp). */
  command(line: string): Promise<string>;
  /** Wait until the output holds `text` (or matches it), from `from` on. */
  waitFor(text: string | RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** SIGKILL, keeping its directory (its store and book) for a restart. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export type AcceptorProgram = 'executor' | 'ordermatch' | 'tc-acceptor';

/**
 * Start `executor`, `ordermatch` or our `tc-acceptor` as an acceptor for TRADECORE, with the
 * sessions given; resolves once it listens. `dir` and `port` reuse a killed acceptor's store
 * and book (a restart).
 */
export async function startAcceptor(program: AcceptorProgram, beginStrings: string[], options: { senderCompId?: string; resetOnLogon?: boolean; targets?: string[]; dir?: string; port?: number; startup?: string[] } = {}): Promise<Acceptor> {
  const binary = program === 'tc-acceptor' ? buildTestAcceptor() : path.join(QUICKFIX_DIR, 'bin', program);
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), `tc-${program}-`));
  const port = options.port ?? (await freePort());
  const cfg = path.join(dir, 'acceptor.cfg');
  writeFileSync(cfg, [
    '[DEFAULT]', 'ConnectionType=acceptor', `SocketAcceptPort=${port}`, `FileStorePath=${dir}/store`, `FileLogPath=${dir}/log`,
    'StartTime=00:00:00', 'EndTime=00:00:00', 'UseDataDictionary=N', `SenderCompID=${options.senderCompId ?? program.toUpperCase()}`,
    `ResetOnLogon=${options.resetOnLogon === false ? 'N' : 'Y'}`,
    ...beginStrings.flatMap((b) => (options.targets ?? ['TRADECORE']).flatMap((t) => ['[SESSION]', `BeginString=${b}`, `TargetCompID=${t}`])), '',
  ].join('\n'));
  const args = [cfg];
  if (options.startup !== undefined) {
    if (program !== 'tc-acceptor') throw new Error(`${program} takes no startup commands`);
    writeFileSync(path.join(dir, 'startup.txt'), `${options.startup.join('\n')}\n`);
    args.push(path.join(dir, 'startup.txt'));
  }
  const proc: ChildProcess = spawn(binary, args, {
    cwd: dir, env: { ...process.env, LD_LIBRARY_PATH: path.join(QUICKFIX_DIR, 'lib') }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const end = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`${program} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const waitFor = async (text: string | RegExp, timeoutMs = 10_000, from = 0) => {
    const end = Date.now() + timeoutMs;
    const hit = () => (typeof text === 'string' ? out.indexOf(text, from) >= 0 : text.test(out.slice(from)));
    while (!hit()) {
      if (Date.now() > end) throw new Error(`${program}: no ${String(text)} in ${timeoutMs} ms; output:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    port, dir,
    output: () => out,
    waitFor,
    async command(line: string) {
      if (program !== 'tc-acceptor') throw new Error(`${program} takes no commands`);
      const from = out.length;
      proc.stdin!.write(`${line}\n`);
      await waitFor(new RegExp(`^(OK ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|ERR .*)$`, 'm'), 10_000, from);
      const tail = out.slice(from);
      const err = /^ERR (.*)$/m.exec(tail);
      if (err !== null) throw new Error(`tc-acceptor ${line}: ${err[1]}`);
      return tail;
    },
    async kill() {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A received message as tag → value (the first of each tag), for assertions. */
export type FixFields = Record<number, string>;

/** A bare FIX client over a socket: it sends what it is told and hands over what comes back, for tests of the codec against QuickFIX. */
export class RawFixClient {
  private readonly socket: net.Socket;
  private seq = 1;
  private readonly inbox: FixFields[] = [];
  private readonly waiting: Array<{ test: (m: FixFields) => boolean; resolve: (m: FixFields) => void }> = [];
  readonly view = new FixView();
  private readonly raw = new WeakMap<FixFields, Buffer>();

  constructor(port: number, readonly beginString: string, readonly target: string, readonly sender = 'TRADECORE') {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    const framer = new FixFramer();
    this.socket.on('data', (chunk: Buffer) => framer.push(chunk, (b, s, e) => {
      const v = this.view;
      if (!v.parse(b, s, e)) throw new Error(`bad message from ${target}: ${b.toString('latin1', s, e)}`);
      const m: FixFields = {};
      for (let k = 0; k < v.count; k++) if (m[v.tags[k]!] === undefined) m[v.tags[k]!] = b.toString('latin1', v.vstart[k]!, v.vend[k]!);
      this.raw.set(m, Buffer.from(b.subarray(s, e)));
      const w = this.waiting.findIndex((x) => x.test(m));
      if (w >= 0) this.waiting.splice(w, 1)[0]!.resolve(m);
      else this.inbox.push(m);
    }));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(msgType: string, fields: FixField[] = []): void {
    this.socket.write(encodeFix(this.beginString, [[35, msgType], [49, this.sender], [56, this.target], [34, this.seq++], [52, utcTimestamp(Date.now())], ...fields]));
  }

  /** The next message that passes `test` (already received, or to come). */
  next(test: (m: FixFields) => boolean, timeoutMs = 10_000): Promise<FixFields> {
    const i = this.inbox.findIndex(test);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching message from ${this.target} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({ test, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  /** A view of message `m` (parsed again from its bytes), as the adapter would see it. */
  viewOf(m: FixFields): FixView {
    const b = this.raw.get(m)!;
    const v = new FixView();
    v.parse(b, 0, b.length);
    return v;
  }

  close(): void {
    this.socket.destroy();
  }
}
