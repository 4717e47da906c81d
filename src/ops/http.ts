/**
 * What the ops endpoint (src/ops/server.ts) and central's (src/scale/central-server.ts) share:
 * an error with its HTTP status, the bearer-token check and the JSON body reader.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A request refused with `code` and a message for the caller. */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The SHA-256 of a token: compared in constant time over equal lengths. */
export const tokenDigest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whether the request carries `Authorization: Bearer <token>` for the token of `digest` (none: never). */
export function bearerMatches(req: IncomingMessage, digest: Buffer | undefined): boolean {
  const h = req.headers.authorization;
  if (digest === undefined || typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
  return timingSafeEqual(tokenDigest(h.slice(7)), digest);
}

/** The request's body as a JSON object (empty: `{}`); 413 past `maxBytes`, 400 for anything but an object. */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `body over ${maxBytes} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new HttpError(400, `body must be a JSON object: ${(err as Error).message}`);
  }
}

/**
 * An HTTP server on `host:port` (0: a free port) that runs `handle` for each request; a
 * rejection of `handle` goes to `failed`, which answers it. Resolves once listening; rejects
 * when the port cannot be had.
 */
export async function listenHttp(
  host: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  failed: (err: unknown, req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => failed(err, req, res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
