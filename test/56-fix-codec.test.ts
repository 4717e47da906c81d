/** The FIX codec: framing with BodyLength and CheckSum, the in-place field view, the encoder. */
import { describe, expect, it } from 'vitest';
import { FixFrameError, FixFramer, FixView, encodeFix, fixText, numberText, parseUtcTimestamp, utcTimestamp } from '../src/brokers/fix/codec.js';
import { Prng } from '../src/brokers/sim/prng.js';

const fix = (s: string) => Buffer.from(s.replaceAll('|', '\x01'), 'latin1');
// the logon example of the FIX specification's session chapter, checksum and all
const SPEC_LOGON = '8=FIX.4.2|9=65|35=A|49=SERVER|56=CLIENT|34=177|52=20090107-18:15:16|98=0|108=30|10=062|';

function frames(chunks: Buffer[]): string[] {
  const f = new FixFramer();
  const out: string[] = [];
  for (const c of chunks) f.push(c, (b, s, e) => out.push(b.toString('latin1', s, e).replaceAll('\x01', '|')));
  return out;
}

describe('FIX codec', () => {
  it('encodes BodyLength and CheckSum as the specification example has them', () => {
    const m = encodeFix('FIX.4.2', [[35, 'A'], [49, 'SERVER'], [56, 'CLIENT'], [34, 177], [52, '20090107-18:15:16'], [98, 0], [108, 30]]);
    expect(m.toString('latin1').replaceAll('\x01', '|')).toBe(SPEC_LOGON);
  });

  it('frames messages split at every byte, several in one chunk, and skips one with a bad checksum', () => {
    const a = fix(SPEC_LOGON);
    const b = encodeFix('FIX.4.4', [[35, '0'], [49, 'A'], [56, 'B'], [34, 2]]);
    const both = Buffer.concat([a, b]);
    for (let cut = 1; cut < both.length; cut++) {
      expect(frames([both.subarray(0, cut), both.subarray(cut)]), `cut at ${cut}`).toEqual([SPEC_LOGON, b.toString('latin1').replaceAll('\x01', '|')]);
    }
    // a garbled checksum: framed, then refused by the view's one pass, and the next message is fine
    const bad = fix(SPEC_LOGON.replace('10=062', '10=063'));
    const f = new FixFramer();
    const v = new FixView();
    const seen: Array<[boolean, boolean]> = [];
    f.push(Buffer.concat([bad, b]), (buf, s, e) => seen.push([v.parse(buf, s, e), v.badChecksum]));
    expect(seen).toEqual([[false, true], [true, false]]);
    // a byte changed anywhere in the body is caught
    const flipped = fix(SPEC_LOGON.replace('SERVER', 'SERVES'));
    expect(v.parse(flipped, 0, flipped.length)).toBe(false);
    expect(v.badChecksum).toBe(true);
  });

  it('refuses a stream that breaks the framing: not 8= first, no BodyLength, a length that misses the CheckSum', () => {
    expect(() => frames([fix('9=5|35=0|10=000|')])).toThrow(FixFrameError);
    expect(() => frames([fix('8=FIX.4.2|35=0|10=000|')])).toThrow(/BodyLength/);
    expect(() => frames([fix('8=FIX.4.2|9=4|35=0|49=X|10=000|')])).toThrow(/does not end where CheckSum/);
    expect(() => frames([fix('8=FIX.4.2|9=x|35=0|10=000|')])).toThrow(/not a number/);
  });

  it('reads fields in place: strings, integers, decimals, one-character enums, exact comparisons', () => {
    const m = encodeFix('FIX.4.4', [[35, '8'], [34, 12], [37, 'ORD-1'], [11, 'c-1'], [17, 'E1'], [150, 'F'], [39, '2'], [32, 100], [31, 10.05], [14, -3], [6, '0.000123']]);
    const v = new FixView();
    expect(v.parse(m, 0, m.length)).toBe(true);
    expect(v.str(8)).toBe('FIX.4.4');
    expect(v.str(37)).toBe('ORD-1');
    expect(v.is(35, '8')).toBe(true);
    expect(v.is(35, '80')).toBe(false);
    expect(v.char(150)).toBe('F'.charCodeAt(0));
    expect(v.int(34)).toBe(12);
    expect(v.num(31)).toBe(10.05);
    expect(v.int(14)).toBe(-3);
    expect(v.num(6)).toBe(0.000123);
    expect(v.str(9999)).toBeUndefined();
    expect(v.int(37)).toBeNaN();
    expect(v.parse(fix('35=8|x=1|'), 0, 9)).toBe(false);
  });

  it('reads string values of every length (0 to 40 bytes, any byte but SOH) exactly as latin1 decoding does', () => {
    const rng = new Prng(5);
    const v = new FixView();
    for (let len = 0; len <= 40; len++) {
      for (let k = 0; k < 50; k++) {
        const bytes = Array.from({ length: len }, () => rng.int(2, 255));
        const value = Buffer.from(bytes);
        const m = Buffer.concat([Buffer.from('58='), value, Buffer.from([1])]);
        expect(v.parse(m, 0, m.length)).toBe(true);
        expect(v.str(58), `length ${len}`).toBe(value.toString('latin1'));
      }
    }
  });

  it('parses decimals to the same double as Number() does (20,000 seeded values)', () => {
    const rng = new Prng(11);
    const v = new FixView();
    for (let k = 0; k < 20_000; k++) {
      const digits = rng.int(1, 15);
      const decimals = rng.int(0, Math.min(digits, 9));
      let text = String(rng.int(1, 9));
      for (let d = 1; d < digits; d++) text += String(rng.int(0, 9));
      if (decimals > 0) text = `${text.slice(0, text.length - decimals) || '0'}.${text.slice(text.length - decimals)}`;
      if (rng.chance(0.1)) text = `-${text}`;
      const m = fix(`44=${text}|`);
      v.parse(m, 0, m.length);
      expect(v.num(44), text).toBe(Number(text));
    }
  });

  it('reads UTCTimestamps in place, across days and months (20,000 seeded values)', () => {
    const rng = new Prng(5);
    const v = new FixView();
    for (let k = 0; k < 20_000; k++) {
      const t = Date.UTC(2020, 0, 1) + rng.int(0, 10 * 365) * 86_400_000 + rng.int(0, 86_399_999);
      const m = fix(`60=${utcTimestamp(t)}|52=${utcTimestamp(t).slice(0, 17)}|`);
      v.parse(m, 0, m.length);
      expect(v.time(60)).toBe(t);
      expect(v.time(52)).toBe(t - (t % 1000));
    }
    for (const bad of ['20261301-10:00:00', '20261201-25:00:00', '2026120-10:00:00', '20261201 10:00:00', '20261201-10:00:00.']) {
      const m = fix(`60=${bad}|`);
      v.parse(m, 0, m.length);
      expect(v.time(60), bad).toBeNaN();
    }
  });

  it('writes numbers without exponents, timestamps to the millisecond, and redacts passwords in logs', () => {
    expect(numberText(1e-7)).toBe('0.0000001');
    expect(numberText(100)).toBe('100');
    expect(numberText(10.05)).toBe('10.05');
    const t = Date.UTC(2026, 11, 1, 9, 30, 5, 7);
    expect(utcTimestamp(t)).toBe('20261201-09:30:05.007');
    expect(parseUtcTimestamp('20261201-09:30:05.007')).toBe(t);
    expect(parseUtcTimestamp('20261201-09:30:05')).toBe(t - 7);
    expect(parseUtcTimestamp('yesterday')).toBeNaN();
    const logon = encodeFix('FIX.4.4', [[35, 'A'], [553, 'me'], [554, 'hunter2'], [108, 30]]);
    expect(fixText(logon)).toContain('554=***|');
    expect(fixText(logon)).not.toContain('hunter2');
    expect(() => encodeFix('FIX.4.4', [[58, 'a\x01b']])).toThrow(/SOH/);
  });
});
