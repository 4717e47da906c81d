/**
 * The journal directory's format marker (src/journal/data-format.ts): a directory a newer release
 * wrote is refused before anything in it is read or changed, never half-read; one the previous
 * release wrote (no marker, format-1 snapshots) opens, and is marked with this build's formats.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { FORMAT_VERSION, FRAME_HEADER, JournalFormatError, snapshotName, writeFrame, type JournalRecord } from '../src/journal/format.js';
import { FORMAT_FILE, readDataFormat, thisRelease } from '../src/journal/data-format.js';
import { SNAPSHOT_VERSION } from '../src/journal/snapshot-file.js';
import { Journal, type JournalOptions, type RecoverySink } from '../src/journal/journal.js';
import { parseJournal } from '../src/journal/replay.js';
import { NATIVE, quiet } from './helpers.js';

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-jformat-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const records: Array<JournalRecord> = [];
const sink: RecoverySink = { snapshot() {}, record: (r) => void records.push(r) };
const open = (o: JournalOptions) => Journal.open(o, quiet(), NATIVE.addon, sink);
const rec = (i: number): JournalRecord => ({ k: 'intent', t: 1000 + i, id: `o-${i}`, i: 0, side: 1, type: 0, tif: 0, qty: 100, px: 1005 });

/** Every file of `dir` with its bytes: to show nothing changed. */
const contents = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));

async function journalWith(n: number): Promise<string> {
  const dir = tmpDir();
  const j = open({ dir, snapshotEveryRecords: 0, snapshotEveryMs: 0 });
  for (let i = 0; i < n; i++) j.append(rec(i));
  await j.close();
  return dir;
}

describe('journal format marker', () => {
  it('a journal this build writes says its formats and release', async () => {
    const dir = await journalWith(3);
    expect(readDataFormat(dir)).toEqual({ journal: FORMAT_VERSION, snapshot: SNAPSHOT_VERSION, writtenBy: thisRelease() });
    expect(thisRelease()).toMatch(/^tradecore \d+\.\d+\.\d+/);
  });

  for (const [what, marker] of [['journal', { journal: FORMAT_VERSION + 1, snapshot: SNAPSHOT_VERSION }], ['snapshot', { journal: FORMAT_VERSION, snapshot: SNAPSHOT_VERSION + 1 }]] as const) {
    it(`a directory in a newer ${what} format is refused naming the release that wrote it, and nothing in it changes`, async () => {
      const dir = await journalWith(3);
      fs.writeFileSync(path.join(dir, FORMAT_FILE), JSON.stringify({ ...marker, writtenBy: 'tradecore 9.0.0' }));
      // what an open would otherwise clean up: a temporary file a crash left
      fs.writeFileSync(path.join(dir, 'snapshot-x.tcs.tmp'), 'partial');
      const before = contents(dir);
      let err: unknown;
      try {
        open({ dir });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JournalFormatError);
      expect((err as Error).message).toMatch(new RegExp(`written by tradecore 9\\.0\\.0 in ${what} format ${marker[what]} \\(this build reads up to ${what === 'journal' ? FORMAT_VERSION : SNAPSHOT_VERSION}\\)`));
      expect((err as Error).message).toMatch(/changed nothing/);
      expect(contents(dir)).toEqual(before);
      // replay does not read it either
      const parsed = parseJournal(dir);
      expect(parsed.records).toEqual([]);
      expect(parsed.problems[0]!.reason).toMatch(/written by tradecore 9\.0\.0/);
    });
  }

  it('a snapshot in a newer format is refused, not skipped for an older one', async () => {
    const dir = await journalWith(2);
    fs.rmSync(path.join(dir, FORMAT_FILE));
    const payload = new Packr().pack({ seq: 1, t: 5, v: SNAPSHOT_VERSION + 1, chunks: 1, bytes: 1 });
    const buf = Buffer.alloc(FRAME_HEADER + payload.length);
    writeFrame(buf, 0, payload);
    fs.writeFileSync(path.join(dir, snapshotName(1)), buf);
    expect(() => open({ dir })).toThrow(JournalFormatError);
    expect(() => open({ dir })).toThrow(/written by a newer release/);
  });

  it('a marker that cannot be read is refused: it is what says the directory can be read', async () => {
    const dir = await journalWith(1);
    fs.writeFileSync(path.join(dir, FORMAT_FILE), 'not json');
    expect(() => open({ dir })).toThrow(/FORMAT is not JSON/);
    fs.writeFileSync(path.join(dir, FORMAT_FILE), '{"writtenBy":"x"}');
    expect(() => open({ dir })).toThrow(/no journal and snapshot format numbers/);
  });

  it("the previous release's directory (no marker, a format-1 snapshot) opens, keeps every record, and is marked with this build's formats", async () => {
    const dir = await journalWith(4);
    fs.rmSync(path.join(dir, FORMAT_FILE));
    const payload = new Packr().pack({ seq: 2, t: 3, v: 1, state: { old: true } });
    const buf = Buffer.alloc(FRAME_HEADER + payload.length);
    writeFrame(buf, 0, payload);
    fs.writeFileSync(path.join(dir, snapshotName(2)), buf);
    let restored: unknown;
    records.length = 0;
    const j = Journal.open({ dir }, quiet(), NATIVE.addon, { snapshot: (s) => (restored = s), record: (r) => void records.push(r) });
    expect(restored).toEqual({ old: true });
    expect(records.map((r) => (r as { id: string }).id)).toEqual(['o-2', 'o-3']);
    expect(j.seq).toBe(4);
    await j.close();
    expect(readDataFormat(dir)).toMatchObject({ journal: FORMAT_VERSION, snapshot: SNAPSHOT_VERSION });
  });
});
