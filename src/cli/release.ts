/**
 * Releases (docs/release.md): `tradecore release pack` writes a self-contained release
 * directory; `activate` and `rollback` switch a `current` link between releases under a root
 * after the release's own start-up check; `list` shows them; `check` is that start-up check.
 *
 *   <root>/releases/<name>/         one release, as packed (never changed once there)
 *     app/                          the package (npm pack, unpacked) with its production
 *                                   node_modules and the native addon built for this platform
 *     tradecore-<version>.tgz       the package tarball
 *     package-lock.json             the lock file it was installed from
 *     config.json                   the config snapshot it runs with (canonical JSON)
 *     manifest.json                 versions and sha256 hashes of all of the above
 *   <root>/current -> releases/<name>    the release a service (systemd: docs/release.md) runs
 *   <root>/history.jsonl            every activate and rollback: who, why, from, to
 *
 * A release carries its dependencies: activating or rolling back needs neither the registry
 * nor a compiler, which is when they tend to be missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config-file.js';
import { checkDataFormat, JournalFormatError } from '../journal/data-format.js';
import { FORMAT_VERSION } from '../journal/format.js';
import { SNAPSHOT_VERSION } from '../journal/snapshot-file.js';
import { loadNative } from '../native/loader.js';
import { canonicalJson, configHash } from './config-store.js';
import { UsageError } from './net-commands.js';
import { DRILL_USAGE, drillCommand } from './release-drill.js';

export const RELEASE_USAGE = `  release pack --out DIR [--config FILE] [--label TEXT] [--json]
            write a self-contained release directory: the package tarball (npm pack),
            the lock file, the package unpacked with its production dependencies and the
            native addon built here, the config snapshot, and manifest.json (versions,
            sha256 of every file)
  release activate DIR --root ROOT --note TEXT [--who NAME] [--data D] [--restart-cmd CMD] [--json]
            verify the release (hashes, platform, node ABI), run its start-up check
            (addon, config, the data directory's journal format), copy it under
            ROOT/releases/ and point ROOT/current at it; then run CMD (for example
            "systemctl restart tradecore") so the service restarts from its journal
  release rollback --root ROOT --note TEXT [--to NAME] [--who NAME] [--data D] [--restart-cmd CMD] [--json]
            point ROOT/current back at the release active before the current one
            (or NAME), after its start-up check, then run CMD
  release list --root ROOT [--json]
            the releases under ROOT, the current one marked, and the history
  release check [--config FILE] [--data D] [--json]
            this release's start-up check: the native addon it ships loads, the config
            passes, and the data directory's journal is in a format this release reads
            exit status: 0 done; 1 refused (the reason is printed: nothing was switched);
            2 usage
${DRILL_USAGE}`;

/** What `manifest.json` says of a release. */
export interface ReleaseManifest {
  readonly manifest: 1;
  readonly name: string;
  readonly package: string;
  readonly version: string;
  readonly label: string;
  readonly createdAt: string;
  readonly node: string;
  /** The node ABI (process.versions.modules) the addon was built for. */
  readonly abi: string;
  readonly platform: string;
  readonly arch: string;
  readonly formats: { readonly journal: number; readonly snapshot: number };
  /** The config snapshot's hash (config-store's), or null when none was packed. */
  readonly config: string | null;
  readonly addon: boolean;
  /** sha256 of every file of the release but manifest.json, by path relative to the release. */
  readonly files: Readonly<Record<string, string>>;
}

export interface ReleaseEvent {
  readonly at: string;
  readonly action: 'activate' | 'rollback';
  readonly release: string;
  readonly from: string | null;
  readonly who: string;
  readonly note: string;
}

/** A refusal: printed, exit 1, nothing switched. */
export class ReleaseError extends Error {}

/** The package root of this build (where package.json says name tradecore). */
export function packageRoot(): string {
  for (const up of ['../../', '../../../']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'tradecore') return path.resolve(dir);
    } catch {
      // not here
    }
  }
  throw new ReleaseError('cannot find the package root (no package.json of tradecore above this file)');
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every file under `dir`, relative paths with `/`, sorted. Symlinks are followed only at the top. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}

/** The production dependencies installed in `root`'s node_modules, top-level package directories. */
function productionDeps(root: string): string[] {
  let text: string;
  try {
    text = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    // npm ls exits 1 on extraneous packages but still lists the tree
    if (typeof e.stdout !== 'string' || e.stdout === '') throw new ReleaseError(`npm ls failed in ${root}: ${e.message}`);
    text = e.stdout;
  }
  const top = new Set<string>();
  for (const line of text.split('\n')) {
    const rel = path.relative(root, line.trim()).split(path.sep);
    if (rel[0] !== 'node_modules' || rel.length < 2) continue;
    top.add(rel[1]!.startsWith('@') ? rel.slice(0, 3).join('/') : rel.slice(0, 2).join('/'));
  }
  return [...top].sort();
}

export interface PackResult {
  readonly dir: string;
  readonly manifest: ReleaseManifest;
}

/** `release pack`: see RELEASE_USAGE. */
export function packRelease(out: string, options: { config?: string; label?: string; progress?: (line: string) => void } = {}): PackResult {
  const say = options.progress ?? (() => {});
  const root = packageRoot();
  const dir = path.resolve(out);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new ReleaseError(`${dir} exists and is not empty: pack into a new directory`);
  let config: unknown;
  if (options.config !== undefined) {
    const loaded = loadConfigFile(options.config);
    if (loaded.config === undefined) throw new ReleaseError(`${options.config}: ${loaded.problems.length} problem(s), no release packed:\n  - ${loaded.problems.join('\n  - ')}`);
    config = loaded.config;
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) throw new ReleaseError(`${root}/dist is not built: run npm run build first`);
  fs.mkdirSync(dir, { recursive: true });
  say('npm pack');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string }>;
  const tarball = path.basename(packed[0]!.filename);
  say(`unpack ${tarball}`);
  const staging = path.join(dir, '.unpack');
  fs.mkdirSync(staging);
  execFileSync('tar', ['-xzf', path.join(dir, tarball), '-C', staging]);
  fs.renameSync(path.join(staging, 'package'), path.join(dir, 'app'));
  fs.rmSync(staging, { recursive: true, force: true });
  const deps = productionDeps(root);
  say(`copy ${deps.length} production dependencies`);
  for (const d of deps) fs.cpSync(path.join(root, d), path.join(dir, 'app', d), { recursive: true, dereference: true });
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'app', 'package-lock.json'));
  const addonFile = path.join(root, 'build', 'Release', 'tradecore.node');
  const addon = fs.existsSync(addonFile);
  if (addon) {
    fs.mkdirSync(path.join(dir, 'app', 'build', 'Release'), { recursive: true });
    fs.copyFileSync(addonFile, path.join(dir, 'app', 'build', 'Release', 'tradecore.node'));
  } else say('no native addon built here: the release runs on the TypeScript backend');
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), `${canonicalJson(config)}\n`);
  say('hash files');
  const files: Record<string, string> = {};
  for (const f of walk(dir)) files[f] = sha256File(path.join(dir, f));
  const createdAt = new Date().toISOString();
  const label = options.label ?? createdAt.replace(/[-:]/g, '').slice(0, 15);
  const manifest: ReleaseManifest = {
    manifest: 1, name: `${pkg.version}-${label}`.replace(/[^A-Za-z0-9._-]/g, '_'), package: pkg.name, version: pkg.version, label, createdAt,
    node: process.version, abi: process.versions.modules, platform: process.platform, arch: process.arch,
    formats: { journal: FORMAT_VERSION, snapshot: SNAPSHOT_VERSION }, config: config === undefined ? null : configHash(config), addon, files,
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifest };
}

/** Read and verify a release directory: manifest, every hash, nothing added; this machine can run it. */
export function verifyRelease(dir: string): ReleaseManifest {
  const file = path.join(dir, 'manifest.json');
  let m: ReleaseManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as ReleaseManifest;
  } catch (err) {
    throw new ReleaseError(`${dir} is not a release: ${file}: ${(err as Error).message}`);
  }
  if (m.manifest !== 1 || typeof m.files !== 'object' || m.files === null) throw new ReleaseError(`${file}: not a release manifest this build reads (manifest ${String(m.manifest)})`);
  const problems: string[] = [];
  const present = new Set(walk(dir).filter((f) => f !== 'manifest.json'));
  for (const [f, want] of Object.entries(m.files)) {
    if (!present.has(f)) problems.push(`${f}: missing`);
    else if (sha256File(path.join(dir, f)) !== want) problems.push(`${f}: changed since it was packed (sha256 differs)`);
    present.delete(f);
  }
  for (const f of present) problems.push(`${f}: not in the manifest`);
  if (m.platform !== process.platform || m.arch !== process.arch) problems.push(`built for ${m.platform}-${m.arch}, this machine is ${process.platform}-${process.arch}`);
  if (m.addon && m.abi !== process.versions.modules) problems.push(`its native addon is for node ABI ${m.abi} (${m.node}); this node is ABI ${process.versions.modules} (${process.version})`);
  if (problems.length > 0) throw new ReleaseError(`release ${m.name ?? dir} refused:\n  - ${problems.slice(0, 20).join('\n  - ')}${problems.length > 20 ? `\n  - … ${problems.length - 20} more` : ''}`);
  return m;
}

/** The start-up check, run by the release itself (its own node modules, its own addon) in a child process. */
export function startupCheck(dir: string, dataDir: string | undefined): { ok: boolean; output: string } {
  const main = path.join(dir, 'app', 'dist', 'src', 'cli', 'main.js');
  const args = [main, 'release', 'check', '--json', ...(fs.existsSync(path.join(dir, 'config.json')) ? ['--config', path.join(dir, 'config.json')] : []), ...(dataDir !== undefined ? ['--data', dataDir] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TRADECORE_RELEASE_ADDON: fs.existsSync(path.join(dir, 'app', 'build', 'Release', 'tradecore.node')) ? '1' : '0' } });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? `exit ${r.status}`) };
}

/** `release check`: this build, from inside its release. */
export function checkThisRelease(options: { config?: string; data?: string }): { ok: boolean; checks: Array<{ check: string; ok: boolean; detail: string }> } {
  const checks: Array<{ check: string; ok: boolean; detail: string }> = [];
  const native = loadNative();
  const wantAddon = process.env.TRADECORE_RELEASE_ADDON === '1';
  checks.push({ check: 'native addon', ok: native.addon !== undefined || !wantAddon, detail: native.addon !== undefined ? 'loaded' : `${wantAddon ? 'shipped but does not load: ' : 'not used: '}${native.reason}` });
  if (options.config !== undefined) {
    const loaded = loadConfigFile(options.config);
    checks.push({ check: 'config', ok: loaded.config !== undefined, detail: loaded.config !== undefined ? `${options.config} passes` : loaded.problems.join('; ') });
  }
  if (options.data !== undefined) {
    const journal = path.join(options.data, 'journal');
    try {
      const f = fs.existsSync(journal) ? checkDataFormat(journal) : undefined;
      checks.push({ check: 'data format', ok: true, detail: f === undefined ? (fs.existsSync(journal) ? `${journal}: no FORMAT marker (journal 1, readable)` : `${journal}: none yet`) : `${journal}: journal ${f.journal}, snapshot ${f.snapshot}, written by ${f.writtenBy}` });
    } catch (err) {
      checks.push({ check: 'data format', ok: false, detail: err instanceof JournalFormatError ? err.message : `${journal}: ${(err as Error).message}` });
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}

function readHistory(root: string): ReleaseEvent[] {
  const file = path.join(root, 'history.jsonl');
  if (!fs.existsSync(file)) return [];
  const out: ReleaseEvent[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as ReleaseEvent);
    } catch {
      // a line cut by a crash (the last)
    }
  }
  return out;
}

/** The release `current` points at, or null. */
export function currentRelease(root: string): string | null {
  try {
    return path.basename(fs.readlinkSync(path.join(root, 'current')));
  } catch {
    return null;
  }
}

/** Point `current` at releases/<name>, atomically (a new link renamed over the old). */
function pointCurrent(root: string, name: string): void {
  const tmp = path.join(root, `.current-${process.pid}`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(path.join('releases', name), tmp);
  fs.renameSync(tmp, path.join(root, 'current'));
}

export interface SwitchOutcome {
  readonly release: string;
  readonly from: string | null;
  readonly check: string;
  readonly restarted: { command: string; status: number | null; output: string } | null;
}

function switchTo(root: string, name: string, action: 'activate' | 'rollback', cmd: { note: string; who: string; data?: string; restartCmd?: string }): SwitchOutcome {
  const dir = path.join(root, 'releases', name);
  verifyRelease(dir);
  const check = startupCheck(dir, cmd.data);
  if (!check.ok) throw new ReleaseError(`release ${name} failed its start-up check; current is unchanged:\n${check.output}`);
  const from = currentRelease(root);
  pointCurrent(root, name);
  const ev: ReleaseEvent = { at: new Date().toISOString(), action, release: name, from, who: cmd.who, note: cmd.note };
  fs.appendFileSync(path.join(root, 'history.jsonl'), `${JSON.stringify(ev)}\n`);
  let restarted: SwitchOutcome['restarted'] = null;
  if (cmd.restartCmd !== undefined) {
    const r = spawnSync('/bin/sh', ['-c', cmd.restartCmd], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TRADECORE_RELEASE: name, TRADECORE_RELEASE_DIR: dir } });
    restarted = { command: cmd.restartCmd, status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
  }
  return { release: name, from, check: check.output, restarted };
}

/** `release activate DIR --root ROOT`. */
export function activateRelease(src: string, root: string, cmd: { note: string; who: string; data?: string; restartCmd?: string }): SwitchOutcome {
  const m = verifyRelease(path.resolve(src));
  const dest = path.join(root, 'releases', m.name);
  fs.mkdirSync(path.join(root, 'releases'), { recursive: true });
  if (path.resolve(src) !== path.resolve(dest)) {
    if (fs.existsSync(dest)) {
      const have = verifyRelease(dest);
      if (JSON.stringify(have.files) !== JSON.stringify(m.files)) throw new ReleaseError(`${dest} already holds a different release named ${m.name}; pack with another --label`);
    } else {
      const tmp = `${dest}.tmp-${process.pid}`;
      fs.cpSync(path.resolve(src), tmp, { recursive: true });
      fs.renameSync(tmp, dest);
    }
  }
  return switchTo(root, m.name, 'activate', cmd);
}

/** `release rollback --root ROOT [--to NAME]`: back to the release active before the current one. */
export function rollbackRelease(root: string, cmd: { note: string; who: string; to?: string; data?: string; restartCmd?: string }): SwitchOutcome {
  const current = currentRelease(root);
  let target = cmd.to;
  if (target === undefined) {
    // the release current replaced when it became current
    const h = readHistory(root).filter((e) => e.release === current);
    target = h.at(-1)?.from ?? undefined;
    if (target === undefined) throw new ReleaseError(`no release before ${current ?? '(none)'} in ${path.join(root, 'history.jsonl')}: name one with --to`);
  }
  if (!fs.existsSync(path.join(root, 'releases', target))) throw new ReleaseError(`no release ${target} under ${path.join(root, 'releases')}`);
  if (target === current) throw new ReleaseError(`${target} is already current`);
  return switchTo(root, target, 'rollback', cmd);
}

export function listReleases(root: string): { current: string | null; releases: Array<{ name: string; version: string; label: string; createdAt: string; config: string | null }>; history: ReleaseEvent[] } {
  const dir = path.join(root, 'releases');
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, 'manifest.json'))).sort() : [];
  const releases = names.map((n) => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, n, 'manifest.json'), 'utf8')) as ReleaseManifest;
    return { name: n, version: m.version, label: m.label, createdAt: m.createdAt, config: m.config };
  });
  return { current: currentRelease(root), releases, history: readHistory(root) };
}

function whoOf(v: string | undefined): string {
  if (v !== undefined && v.trim() !== '') return v.trim();
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}

/** `tradecore release ...`. */
export function releaseCommand(argv: string[]): number | Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'drill') return drillCommand(rest);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest, strict: true, allowPositionals: true,
      options: {
        out: { type: 'string' }, config: { type: 'string' }, label: { type: 'string' }, root: { type: 'string' }, note: { type: 'string' }, who: { type: 'string' },
        to: { type: 'string' }, data: { type: 'string' }, 'restart-cmd': { type: 'string' }, json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const pos = parsed.positionals;
  const print = (obj: unknown, text: string) => process.stdout.write(`${v.json === true ? JSON.stringify(obj, null, 2) : text}\n`);
  const needRoot = () => {
    if (v.root === undefined) throw new UsageError(`release ${sub} needs --root ROOT`);
    return path.resolve(v.root);
  };
  const needNote = () => {
    const note = v.note?.trim() ?? '';
    if (note === '') throw new UsageError(`release ${sub} needs --note TEXT: say why (it is kept in the release history)`);
    return note;
  };
  try {
    switch (sub) {
      case 'pack': {
        if (v.out === undefined || pos.length > 0) throw new UsageError('usage: tradecore release pack --out DIR [--config FILE] [--label TEXT]');
        const r = packRelease(v.out, { ...(v.config !== undefined ? { config: v.config } : {}), ...(v.label !== undefined ? { label: v.label } : {}), progress: (l) => process.stderr.write(`release pack: ${l}\n`) });
        print(r, `release ${r.manifest.name} packed in ${r.dir}: ${Object.keys(r.manifest.files).length} files, addon ${r.manifest.addon ? 'included' : 'none'}, config ${r.manifest.config ?? 'none'}`);
        return 0;
      }
      case 'activate': {
        if (pos.length !== 1) throw new UsageError('usage: tradecore release activate DIR --root ROOT --note TEXT');
        const root = needRoot();
        const r = activateRelease(pos[0]!, root, { note: needNote(), who: whoOf(v.who), ...(v.data !== undefined ? { data: v.data } : {}), ...(v['restart-cmd'] !== undefined ? { restartCmd: v['restart-cmd'] } : {}) });
        print(r, `current is ${r.release} (was ${r.from ?? 'none'})${r.restarted !== null ? `; restart: ${r.restarted.command} exited ${r.restarted.status}` : '; restart the service to run it'}`);
        return r.restarted !== null && r.restarted.status !== 0 ? 1 : 0;
      }
      case 'rollback': {
        if (pos.length > 0) throw new UsageError('usage: tradecore release rollback --root ROOT --note TEXT [--to NAME]');
        const root = needRoot();
        const r = rollbackRelease(root, { note: needNote(), who: whoOf(v.who), ...(v.to !== undefined ? { to: v.to } : {}), ...(v.data !== undefined ? { data: v.data } : {}), ...(v['restart-cmd'] !== undefined ? { restartCmd: v['restart-cmd'] } : {}) });
        print(r, `rolled back: current is ${r.release} (was ${r.from ?? 'none'})${r.restarted !== null ? `; restart: ${r.restarted.command} exited ${r.restarted.status}` : '; restart the service to run it'}`);
        return r.restarted !== null && r.restarted.status !== 0 ? 1 : 0;
      }
      case 'list': {
        const l = listReleases(needRoot());
        print(l, [...l.releases.map((r) => `${r.name === l.current ? '*' : ' '} ${r.name}  ${r.createdAt}  config ${r.config ?? 'none'}`), ...l.history.map((e) => `  ${e.at}  ${e.action.padEnd(8)} ${e.from ?? 'none'} -> ${e.release} by ${e.who}: ${e.note}`)].join('\n') || 'no releases');
        return 0;
      }
      case 'check': {
        const r = checkThisRelease({ ...(v.config !== undefined ? { config: v.config } : {}), ...(v.data !== undefined ? { data: v.data } : {}) });
        print(r, r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`).join('\n'));
        return r.ok ? 0 : 1;
      }
      default:
        throw new UsageError('usage: tradecore release pack|activate|rollback|list|check|drill ... (tradecore help release)');
    }
  } catch (err) {
    if (err instanceof ReleaseError) {
      process.stderr.write(`tradecore release ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

