import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built JavaScript file of a worker in this folder. Worker threads load plain JavaScript:
 * when this module runs from the TypeScript sources (the tests), the build in dist/ is used.
 */
export function workerFile(name: string): string {
  const here = fileURLToPath(new URL(name, import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL(`../../dist/src/journal/${name}`, import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`worker ${name} not found (looked at ${here} and ${built}; run npm run build)`);
}
