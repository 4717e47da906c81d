/**
 * The package as a user gets it: the README's embedding example runs as written against the
 * package's own entry point, `require` fails the way the README says, and what `npm pack` ships
 * holds the license and every file the README and the docs link to.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function node(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 60_000, env: { ...process.env, TRADECORE_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

describe('the package as a user gets it', () => {
  // a project of its own with tradecore in node_modules, resolved through package.json "exports"
  const project = mkdtempSync(path.join(tmpdir(), 'tc-user-'));
  mkdirSync(path.join(project, 'node_modules'));
  symlinkSync(ROOT, path.join(project, 'node_modules', 'tradecore'), 'dir');
  // releases hold installed node_modules trees: on a loaded 2-core machine their removal took over the 10 s default
  afterAll(() => rm(project, { recursive: true, force: true }), 120_000);

  it("runs the README's embedding example as written, and it prints what its comments say", async () => {
    const code = /## Embedding the engine\n\n```ts\n([\s\S]*?)```/.exec(README)![1]!;
    expect(code).toContain("from 'tradecore'");
    // the example is TypeScript that is also plain JavaScript: it runs unchanged as a module
    writeFileSync(path.join(project, 'example.mjs'), code);
    const r = await node(['example.mjs'], project);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // every `// comment` after a console.log is that line's output, in order
    const promised = [...code.matchAll(/console\.log\([^\n]*?\/\/ (.+)$/gm)].map((m) => m[1]!);
    expect(promised).toEqual(['accepted', 'TICK_SIZE symbol=BOLT price=20.02 tickSize=0.05', 'MAX_ORDER_QTY', '100']);
    expect(lines.filter((l) => !l.startsWith('fill '))).toEqual(promised);
    expect(lines.filter((l) => l.startsWith('fill o-1 SIM-1 100 '))).toHaveLength(1);
  });

  it('is ESM only, as the README says: require fails with ERR_REQUIRE_ESM, import works', async () => {
    expect(README).toMatch(/\*\*ESM only\.\*\*/);
    const req = await node(['-e', "try { require('tradecore'); console.log('loaded') } catch (e) { console.log(e.code + ': ' + e.message) }"], project);
    expect(req.stdout.trim()).toMatch(/^ERR_REQUIRE_ESM: tradecore is an ES module .*await import\('tradecore'\)/);
    const imp = await node(['--input-type=module', '-e', "const m = await import('tradecore'); console.log(typeof m.createEngine)"], project);
    expect(imp.stdout.trim()).toBe('function');
  });

  it('ships a LICENSE and every file the README and the docs link to; the README names no internal issue', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', ROOT], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(packed[0]!.files.map((f) => f.path));
    for (const f of ['LICENSE', 'README.md', 'cjs/index.cjs', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'examples/strategy.mjs', 'docs/ops-page.png', 'docs/example-config.yaml']) expect(files.has(f), f).toBe(true);
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const docs = ['README.md', ...[...files].filter((f) => /^docs\/.*\.md$/.test(f))];
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/.test(target)) continue;
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(doc), target));
        if (!files.has(resolved) && ![...files].some((f) => f.startsWith(`${resolved}/`))) broken.push(`${doc}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
    expect(README).not.toMatch(/\bissues? \d+/i);
  });
});
