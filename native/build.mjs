// npm install step: build the native addon with node-gyp. A failed build (no compiler, no
// headers) never fails the install: the engine then runs on its TypeScript backend and says
// so once in its log. TRADECORE_SKIP_NATIVE_BUILD=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.env.TRADECORE_SKIP_NATIVE_BUILD === '1') {
  console.log('tradecore: native build skipped (TRADECORE_SKIP_NATIVE_BUILD=1); the TypeScript backend will be used');
  process.exit(0);
}
// npm tells its scripts where its bundled node-gyp is; outside npm, look beside node.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
// Build against the headers installed beside node (nothing is downloaded: the network may
// reach only the package registry). npm passes its `nodedir` setting to scripts.
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = ['rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = candidates.length > 0
  ? spawnSync(process.execPath, [candidates[0], ...args], { stdio: 'inherit' })
  : spawnSync(process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp', args, { stdio: 'inherit' });
if (r.status === 0) {
  console.log('tradecore: native addon built (build/Release/tradecore.node)');
} else {
  const why = r.error ? r.error.message : `node-gyp exited with ${r.status}`;
  console.warn(`tradecore: native addon not built (${why}); the TypeScript backend will be used`);
}
process.exit(0);
