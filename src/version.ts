/** This build's version: the `version` of the package.json above this module (from src/ or dist/src/). */
import fs from 'node:fs';

let cached: string | undefined;

export function tradecoreVersion(): string {
  if (cached !== undefined) return cached;
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const p = JSON.parse(fs.readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'tradecore' && typeof p.version === 'string') return (cached = p.version);
    } catch {
      // not there
    }
  }
  return (cached = 'unknown');
}
