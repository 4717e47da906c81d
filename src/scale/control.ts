/**
 * Central's control messages (docs/scale-out.md): `halt`, `reduce` and `resume` for every
 * engine or one, and `share`, the firm's gross-exposure share of one engine, sent every
 * `shareEveryMs` (it is also central's heartbeat). JSON on `<prefix>.control.<engineId|all>`.
 *
 * Signed with the ops token (`auth: token`, the default): `sig` is the HMAC-SHA256 of the
 * message's fields, in a fixed order, keyed with the token. An engine refuses a message with
 * a bad or missing signature, one it has seen (id), and one whose time is outside its window.
 * With `auth: nats` the signature is not checked: NATS's own permissions decide who may
 * publish on the control subjects.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type ControlCommand = 'halt' | 'reduce' | 'resume' | 'share';
export const CONTROL_COMMANDS: readonly ControlCommand[] = ['halt', 'reduce', 'resume', 'share'];

export interface ControlMessage {
  v: 1;
  /** Unique per message (central's epoch and a counter). */
  id: string;
  /** When central sent it, epoch ms. */
  t: number;
  cmd: ControlCommand;
  /** `all` or one engine id. */
  target: string;
  /** Who asked (the operator, or `central` for shares). */
  from: string;
  reason: string;
  /** `share`: the engine's gross-exposure share in the account's gross currency; null: no share (own limits only). */
  share?: number | null;
  sig?: string;
}

function canonical(m: ControlMessage): string {
  return [m.v, m.id, m.t, m.cmd, m.target, m.from, m.reason, m.share === undefined || m.share === null ? '' : String(m.share)].join('\n');
}

export function signControl(m: Omit<ControlMessage, 'sig'>, token: string): ControlMessage {
  const sig = createHmac('sha256', token).update(canonical(m as ControlMessage)).digest('hex');
  return { ...m, sig };
}

/** Whether `m` carries the signature of `token`. */
export function verifyControl(m: ControlMessage, token: string): boolean {
  if (typeof m.sig !== 'string' || !/^[0-9a-f]{64}$/.test(m.sig)) return false;
  const want = createHmac('sha256', token).update(canonical(m)).digest();
  return timingSafeEqual(Buffer.from(m.sig, 'hex'), want);
}

/** The message in `data`, checked for shape; or why it is not one. */
export function parseControl(data: Uint8Array): ControlMessage | string {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (typeof m !== 'object' || m === null) return 'not an object';
  if (m.v !== 1) return `unknown version ${JSON.stringify(m.v)}`;
  if (typeof m.id !== 'string' || m.id === '' || m.id.length > 128) return 'id must be a non-empty string';
  if (typeof m.t !== 'number' || !Number.isFinite(m.t)) return 't must be epoch ms';
  if (!CONTROL_COMMANDS.includes(m.cmd as ControlCommand)) return `unknown command ${JSON.stringify(m.cmd)} (known: ${CONTROL_COMMANDS.join(', ')})`;
  if (typeof m.target !== 'string' || m.target === '') return 'target must be all or an engine id';
  if (typeof m.from !== 'string' || typeof m.reason !== 'string') return 'from and reason must be strings';
  if (m.cmd === 'share' && m.share !== null && !(typeof m.share === 'number' && Number.isFinite(m.share) && m.share >= 0)) return 'share must be a number >= 0 or null';
  return m as unknown as ControlMessage;
}
