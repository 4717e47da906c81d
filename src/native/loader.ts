import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the C++ addon exports (native/gate.cc). */
export interface NativeAddon {
  /** Returns an opaque handle, or a negative status code for bad arrays. */
  createGate(shared: Record<string, unknown>): unknown;
  /** 0 on success, a negative status code otherwise (see native/gate.cc). */
  runGate(handle: unknown, n: number): number;
  /** An empty call, for measuring the N-API call cost. */
  noop(): void;
  /**
   * Map `size` bytes of a file (created or grown to that size) read-write and shared
   * (native/journal.cc); with `pretouchFrom`, a thread takes the first-write fault of every
   * page from that offset on, ahead of the writer. Throws with the errno text.
   */
  mapFile(path: string, size: number, pretouchFrom?: number): ArrayBuffer;
  /** msync the pages holding [offset, offset+length): 0, or the errno. */
  syncRange(buffer: ArrayBuffer, offset: number, length: number): number;
  /** Detach and unmap a buffer from mapFile; false when it is not one. */
  unmapFile(buffer: ArrayBuffer): boolean;
  /**
   * A function that writes the monotonic clock (CLOCK_MONOTONIC, integer ns) into `out[0]` and
   * returns nothing (native/clock.cc): a reading without the 16 B box of a returned double.
   */
  clockBind(out: Float64Array): () => void;
  readonly abiVersion: number;
}

export interface NativeStatus {
  readonly addon?: NativeAddon;
  /** Where it was loaded from, or why it was not. */
  readonly reason: string;
}

const ABI_VERSION = 4;
const require = createRequire(import.meta.url);

function defaultPaths(): string[] {
  // src/native/loader.ts (tests) and dist/src/native/loader.js (built) sit at different depths
  return ['../../build/Release/tradecore.node', '../../../build/Release/tradecore.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
}

/**
 * Load the native addon. `TRADECORE_NATIVE=0` forces the TypeScript backend;
 * `TRADECORE_NATIVE_PATH` points at another build (tests hide it this way). Never throws.
 */
export function loadNative(): NativeStatus {
  if (process.env.TRADECORE_NATIVE === '0') return { reason: 'disabled by TRADECORE_NATIVE=0' };
  const override = process.env.TRADECORE_NATIVE_PATH;
  const path = override ?? defaultPaths().find((p) => existsSync(p));
  if (path === undefined) return { reason: 'not built (no build/Release/tradecore.node; npm install builds it when a compiler is present)' };
  try {
    const addon = require(path) as NativeAddon;
    if (addon.abiVersion !== ABI_VERSION) return { reason: `${path} has abiVersion ${String(addon.abiVersion)}, expected ${ABI_VERSION}: rebuild it` };
    return { addon, reason: `loaded ${path}` };
  } catch (err) {
    return { reason: `cannot load ${path}: ${(err as Error).message.split('\n')[0]}` };
  }
}
