// piscina worker: journal compaction and the read-back of snapshots (see compaction.ts).
import { compactSegments, type CompactTask, type VerifyTask } from './compaction.js';
import { verifySnapshotFile } from './snapshot-file.js';

export default function run(task: CompactTask | VerifyTask) {
  return 'verify' in task ? verifySnapshotFile(task.verify) : compactSegments(task);
}
