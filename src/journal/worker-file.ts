import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built JavaScript file of a worker in `src/<folder>/`. Worker threads load plain
 * JavaScript: when this module runs from the TypeScript sources (the tests), the build in
 * dist/ is used.
 */
export function workerFile(name: string, folder = 'journal'): string {
  const here = fileURLToPath(new URL(`../${folder}/${name}`, import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL(`../../dist/src/${folder}/${name}`, import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`worker ${name} not found (looked at ${here} and ${built}; run npm run build)`);
}
