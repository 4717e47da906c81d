import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CredentialsError, Secret, environmentProblems, loadCredentials, type Credentials, type Environment } from '../src/connectivity/credentials.js';
import { createEngine } from '../src/engine.js';
import { ManualClock } from '../src/core/clock.js';
import { INSTRUMENTS, StubBroker, quiet, thrownBy } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tc-cred-'));
let n = 0;
function file(content: unknown, mode = 0o600): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, mode);
  return path;
}

const message = (fn: () => unknown) => thrownBy(fn, CredentialsError).message;

describe('credentials', () => {
  it('come from TRADECORE_<ENV>_ACCOUNT and _SECRET, tagged with their environment', () => {
    const c = loadCredentials('live', { env: { TRADECORE_LIVE_ACCOUNT: 'L-1', TRADECORE_LIVE_SECRET: 'live-pw', TRADECORE_SIM_SECRET: 'x' } });
    expect(c).toMatchObject({ environment: 'live', account: 'L-1', source: 'env:TRADECORE_LIVE_*' });
    expect(c.secret.reveal()).toBe('live-pw');
    expect(message(() => loadCredentials('sim', { env: { TRADECORE_SIM_ACCOUNT: 'S' } }))).toBe(
      'no sim credentials: set TRADECORE_SIM_SECRET, or TRADECORE_SIM_CREDENTIALS_FILE',
    );
    expect(message(() => loadCredentials('paper', { env: {} }))).toMatch(/needs no credentials/);
  });

  it('come from a file only its owner can read, whose environment must match', () => {
    const good = file({ environment: 'sim', account: 'S-1', secret: 'file-pw' });
    expect(loadCredentials('sim', { file: good, env: {} })).toMatchObject({ environment: 'sim', account: 'S-1', source: good });
    expect(loadCredentials('sim', { env: { TRADECORE_SIM_CREDENTIALS_FILE: good } }).account).toBe('S-1');

    const liveFile = file({ environment: 'live', account: 'L-1', secret: 'file-pw' });
    expect(message(() => loadCredentials('sim', { file: liveFile, env: {} }))).toBe(`credentials file ${liveFile} holds live credentials; refusing to use them in sim`);

    const world = file({ environment: 'sim', account: 'S-1', secret: 'file-pw' }, 0o604);
    expect(message(() => loadCredentials('sim', { file: world, env: {} }))).toBe(`credentials file ${world} is accessible by others (mode 604); run chmod 600 ${world}`);
    const group = file({ environment: 'sim', account: 'S-1', secret: 'file-pw' }, 0o640);
    const warnings: string[] = [];
    expect(loadCredentials('sim', { file: group, env: {}, warn: (m) => warnings.push(m) }).account).toBe('S-1');
    expect(warnings).toEqual([`credentials file ${group} is accessible by its group (mode 640); chmod 600 is advised`]);
    const groupLive = file({ environment: 'live', account: 'L-1', secret: 'file-pw' }, 0o640);
    expect(message(() => loadCredentials('live', { file: groupLive, env: {} }))).toMatch(/accessible by its group \(mode 640\); live credentials must be chmod 600/);
  });

  it('never quote the file when it is broken: a parse error could carry the secret', () => {
    const broken = file('{"environment":"sim","account":"S","secret":"hunter2-in-file",}');
    const m = message(() => loadCredentials('sim', { file: broken, env: {} }));
    expect(m).toBe(`credentials file ${broken}: not valid JSON`);
    expect(message(() => loadCredentials('sim', { file: file({ environment: 'prod', account: '', secret: 3, extra: 1 }), env: {} }))).toMatch(
      /"environment" must be one of paper, sim, live; "account" must be a non-empty string; "secret" must be a non-empty string; unknown keys extra/,
    );
    expect(message(() => loadCredentials('sim', { file: join(dir, 'missing.json'), env: {} }))).toMatch(/missing.json: ENOENT/);
  });

  it('keep the secret out of every printed form', () => {
    const s = new Secret('hunter2');
    const c = { environment: 'sim', account: 'a', secret: s };
    for (const text of [String(s), `${s}`, JSON.stringify(c), inspect(c, { depth: 5 }), inspect(s)]) expect(text).not.toContain('hunter2');
    expect(JSON.stringify(c)).toContain('[redacted]');
  });
});

class CredBroker extends StubBroker {
  override readonly name = 'cred';
  brokerEnvironment: Environment | undefined;
  constructor(readonly credentials: Credentials | undefined) {
    super();
  }
}

const creds = (environment: Environment, account = 'ACC-9'): Credentials => ({ environment, account, secret: new Secret('pw'), source: 'test' });

describe('environments', () => {
  const engine = (environment: Environment, c: Credentials | undefined, extra: object = {}) => {
    const clock = new ManualClock(Date.UTC(2026, 10, 25));
    const broker = new CredBroker(c);
    broker.clock = clock;
    return { broker, engine: createEngine({ instruments: INSTRUMENTS, broker, clock, logger: quiet(), environment, connection: { heartbeatMs: 0 }, ...extra }) };
  };

  it('refuse live credentials in sim and sim credentials in live, before connecting', async () => {
    const a = engine('sim', creds('live'));
    await expect(a.engine.start()).rejects.toThrow('credentials from test belong to live; refusing to use them in sim');
    expect(a.broker.sink).toBeUndefined();
    const b = engine('live', creds('sim'), { live: { armed: true, confirmAccount: 'ACC-9' } });
    await expect(b.engine.start()).rejects.toThrow('credentials from test belong to sim; refusing to use them in live');
    const c = engine('paper', creds('sim'));
    await expect(c.engine.start()).rejects.toThrow(/belong to sim; refusing to use them in paper/);
  });

  it('refuse live without an explicit arm confirming the account', async () => {
    expect(environmentProblems('live', creds('live'), undefined)).toEqual([
      'live is not armed: pass --arm-live <account> or set live: { armed: true, confirmAccount: <account> }',
    ]);
    expect(environmentProblems('live', creds('live'), { armed: true, confirmAccount: 'ACC-1' })).toEqual([
      'live arm confirms account "ACC-1" but the credentials are for "ACC-9"',
    ]);
    expect(environmentProblems('live', undefined, { armed: true, confirmAccount: 'ACC-9' })).toEqual(['live needs credentials: the broker adapter has none']);
    await expect(engine('live', creds('live')).engine.start()).rejects.toThrow(/live is not armed/);
    const armed = engine('live', creds('live'), { live: { armed: true, confirmAccount: 'ACC-9' } });
    armed.broker.brokerEnvironment = 'live';
    await armed.engine.start();
    expect(armed.engine.connectionState).toBe('Ready');
    await armed.engine.stop();
  });

  it('halt when the broker declares another environment at logon', async () => {
    const e = engine('sim', creds('sim'));
    e.broker.brokerEnvironment = 'live';
    await expect(e.engine.start()).rejects.toThrow('fatal error: broker cred declared environment live; the engine runs in sim');
    expect(e.engine.connectionState).toBe('Halted');
  });
});
