import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule of shared/ARCHITECTURE.md, checked on the sources: dependencies point down.
 * `core/` imports only `domain/`, `risk/` and `native/` (and itself); `domain/` imports nothing
 * of the project above it; `risk/` and `native/` nothing above `domain/`. Type-only imports,
 * re-exports and dynamic imports count: a type from an upper layer ties the core to it too.
 */
const SRC = path.resolve(__dirname, '../src');

const ALLOWED: Record<string, readonly string[]> = {
  core: ['core', 'domain', 'risk', 'native'],
  domain: ['domain'],
  risk: ['risk', 'domain'],
  native: ['native', 'domain'],
};

/** Every module specifier in a source text: import/export ... from '...', import '...', import('...'). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** The top folder under src/ a relative specifier of `file` resolves to ('' for src/ itself, undefined for a package). */
function layerOf(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const rel = path.relative(SRC, path.resolve(path.dirname(file), spec));
  if (rel.startsWith('..')) return `outside src (${rel})`;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? `src/${parts[0]}` : parts[0]!;
}

/** Breaches of the rule in one file's text. */
function breaches(file: string, text: string, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const spec of specifiers(text)) {
    const layer = layerOf(file, spec);
    if (layer !== undefined && !allowed.includes(layer)) out.push(`${path.relative(SRC, file)} imports ${spec} (layer ${layer})`);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('layers: dependencies point down', () => {
  it('the scanner finds every kind of import, so a breach cannot hide', () => {
    const file = path.join(SRC, 'core', 'x.ts');
    const text = [
      "import { a } from '../journal/journal.js';",
      "import type { B } from '../recon/reconciler.js';",
      "export { c } from '../ops/logger.js';",
      "export type { D } from '../connectivity/supervisor.js';",
      "import '../brokers/sim/sim-broker.js';",
      "const m = await import('../engine.js');",
      'import {\n  e,\n  type F,\n} from "../brokers/adapter.js";',
      "import { ok } from '../domain/order.js';",
      "import { fine } from './order-table.js';",
      "import { z } from 'zod';",
    ].join('\n');
    expect(breaches(file, text, ALLOWED.core!)).toEqual([
      'core/x.ts imports ../journal/journal.js (layer journal)',
      'core/x.ts imports ../recon/reconciler.js (layer recon)',
      'core/x.ts imports ../ops/logger.js (layer ops)',
      'core/x.ts imports ../connectivity/supervisor.js (layer connectivity)',
      'core/x.ts imports ../brokers/sim/sim-broker.js (layer brokers)',
      'core/x.ts imports ../engine.js (layer src/engine.js)',
      'core/x.ts imports ../brokers/adapter.js (layer brokers)',
    ]);
  });

  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    it(`${layer}/ imports only ${allowed.join(', ')}`, () => {
      const files = sources(path.join(SRC, layer));
      expect(files.length).toBeGreaterThan(0);
      const found = files.flatMap((f) => breaches(f, readFileSync(f, 'utf8'), allowed));
      expect(found).toEqual([]);
    });
  }

  it('one composition module knows every layer: src/engine.ts wires core, brokers, connectivity, journal, recon and ops', () => {
    const file = path.join(SRC, 'engine.ts');
    const layers = new Set(specifiers(readFileSync(file, 'utf8')).map((s) => layerOf(file, s)));
    for (const l of ['core', 'brokers', 'connectivity', 'journal', 'recon', 'ops']) expect(layers).toContain(l);
  });
});
