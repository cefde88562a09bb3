import { refuseNonRegularTarget } from "../util/output-target.js";
import { writeFileAtomic } from "../util/atomic-write.js";

/**
 * Writes a report a command was asked to write to a file (`--html FILE`):
 * atomically, so a reader never sees half a report and a failed write leaves
 * the old file as it was.
 */
export function writeOutputFile(path: string, content: string, flag: string): void {
  refuseNonRegularTarget(path, flag);
  writeFileAtomic(path, content);
}
