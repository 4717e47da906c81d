// piscina worker: journal compaction (see compaction.ts).
import { compactSegments, type CompactTask } from './compaction.js';

export default function run(task: CompactTask) {
  return compactSegments(task);
}
