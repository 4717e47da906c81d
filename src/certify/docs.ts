/**
 * The case list of docs/certify.md and docs/go-live.md, generated from the suite so the docs
 * cannot drift: `node dist/src/certify/docs.js` rewrites the text between the markers, and
 * test/98-certify checks that it is what the suite says.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CAPABILITIES } from './harness.js';
import { SUITE, SUITE_VERSION } from './suite.js';

export const BEGIN = '<!-- cases:begin (generated from src/certify/suite.ts: node dist/src/certify/docs.js) -->';
export const END = '<!-- cases:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The generated part: the suite's version and one row per case. */
export function caseList(): string {
  return [
    `Suite version ${SUITE_VERSION}: ${SUITE.length} cases.`,
    '',
    '| id | case | checklist line | needs |',
    '| --- | --- | --- | --- |',
    ...SUITE.map((c) => `| ${c.id} | ${cell(c.title)} | ${cell(c.checklist)} | ${c.needs.length > 0 ? c.needs.join(', ') : '-'} |`),
    '',
    `Capabilities: ${CAPABILITIES.join(', ')}.`,
  ].join('\n');
}

/** `text` with the part between the markers replaced by `caseList()`; throws when a marker is missing. */
export function withCaseList(text: string, file: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file}: the case list markers are missing`);
  return `${text.slice(0, a + BEGIN.length)}\n${caseList()}\n${text.slice(b)}`;
}

export const DOCS = ['docs/certify.md', 'docs/go-live.md'];

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const root = new URL('../../../', import.meta.url);
  for (const d of DOCS) {
    const file = fileURLToPath(new URL(d, root));
    fs.writeFileSync(file, withCaseList(fs.readFileSync(file, 'utf8'), d));
    process.stdout.write(`${d}: case list written\n`);
  }
}
