/** The HTML page of a certify run (`DIR/index.html`): the same content as its JSON records. */
import { REPORT_STYLE, esc, htmlTable } from '../recon/eod.js';
import type { CaseRecord, CertifySummary } from './run.js';

const EXTRA = '.m-passed{background:#e3f5e6;color:#1c6b2c}.m-failed{background:#fde4e4;color:#9b1c1c}.m-skipped{background:#fff4d6;color:#7a5a00}';

export function certifyHtml(s: CertifySummary, records: readonly CaseRecord[]): string {
  const cases = records.filter((r) => r.kind === 'case');
  const drills = records.filter((r) => r.kind === 'drill');
  const failedDrills = drills.filter((r) => r.verdict !== 'passed');
  const inv = s.invariants;
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Certification ${esc(s.adapter)}</title><style>${REPORT_STYLE}${EXTRA}</style></head><body>`);
  parts.push(`<h1>Certification ${esc(s.adapter)}</h1><p>Suite ${esc(s.suite)}, tradecore ${esc(s.tradecore)}, ${esc(s.startedAt)} to ${esc(s.finishedAt)}.</p>`);
  parts.push(`<p class="sum"><b><span class="m m-${s.ok ? 'passed' : 'failed'}">${s.ok ? 'passed' : 'failed'}</span></b> cases: ${s.cases.passed} passed, ${s.cases.failed} failed, ${s.cases.skipped} skipped; drills: ${s.drills.run} run, ${s.drills.failed} failed</p>`);
  parts.push('<h2>Invariants</h2>');
  parts.push(htmlTable(['lost', 'duplicated', 'double-counted', 'cumQty differs', 'positions differ', 'cash differs', 'recon diffs', 'unaccounted alerts'], [[inv.lost, inv.duplicated, inv.doubleCounted, inv.cumQtyDiffers, inv.positionsDiffer, inv.cashDiffers, inv.reconDiffs, inv.unaccountedAlerts]]));
  parts.push('<h2>Cases</h2>');
  parts.push(htmlTable(['verdict', 'id', 'case', 'checklist', 'needs', 'reason', 'problems', 'not checked', 'ms'], cases.map((r) => [
    r.verdict, r.id, r.title, r.checklist, r.needs.join(', '), r.reason, r.problems.join(' / '), r.notChecked.join(' / '), r.timings.ms,
  ]), 0));
  parts.push('<h2>Drills</h2>');
  parts.push(`<p>${drills.length} seeded drills (seeds ${s.drills.firstSeed} to ${s.drills.firstSeed + Math.max(0, drills.length - 1)}), ${drills.length - failedDrills.length} passed; faults injected: ${drills.reduce((a, r) => a + r.faults.dropped, 0)} reports dropped, ${drills.reduce((a, r) => a + r.faults.duplicated, 0)} duplicated, ${drills.reduce((a, r) => a + r.faults.reordered + r.faults.delayed, 0)} reordered or delayed, ${drills.reduce((a, r) => a + r.faults.cuts, 0)} cuts, ${drills.reduce((a, r) => a + r.faults.engines - 1, 0)} engine restarts.</p>`);
  parts.push(htmlTable(['verdict', 'seed', 'reason', 'replay'], failedDrills.map((r) => [r.verdict, r.seed, r.reason, r.replay]), 0));
  parts.push('</body></html>\n');
  return parts.join('\n');
}
