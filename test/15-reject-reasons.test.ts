import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REJECT_REASONS } from '../src/domain/reject-reason.js';

describe('reject reasons', () => {
  it('are SCREAMING_SNAKE_CASE and unique', () => {
    const codes = REJECT_REASONS.map((r) => r.code);
    for (const c of codes) expect(c).toMatch(/^[A-Z][A-Z_]*[A-Z]$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('match the table in docs/reject-reasons.md, meaning and retryable flag included', () => {
    const doc = readFileSync(new URL('../docs/reject-reasons.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (.+) \| (yes|no) \|$/gm)].map((m) => ({ code: m[1], meaning: m[2], retryable: m[3] === 'yes' }));
    expect(rows).toEqual(REJECT_REASONS.filter((r) => r.code !== 'NONE').map((r) => ({ ...r })));
  });
});
