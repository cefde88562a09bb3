/**
 * The test suite's time from vitest's JSON report, file by file:
 *   node scripts/suite-time.mjs REPORT.json [WALL_SECONDS] [TOP]
 * Prints the sum of per-file durations (the work, whatever ran beside it), the
 * files' time by folder, and the heaviest files. Wall time depends on how many
 * files overlap (maxWorkers) and on the neighbours; the per-file sum divided by
 * the workers is what a quiet machine's wall time comes close to.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

const [reportPath, wallText, topText] = process.argv.slice(2);
if (!reportPath) {
  console.error("usage: node scripts/suite-time.mjs REPORT.json [WALL_SECONDS] [TOP]");
  process.exit(1);
}
const report = JSON.parse(readFileSync(reportPath, "utf8"));
const files = report.testResults.map((file) => ({
  name: relative(process.cwd(), file.name),
  seconds: Math.max(0, (file.endTime - file.startTime) / 1000),
  tests: file.assertionResults.length,
  failed: file.assertionResults.filter((a) => a.status === "failed").length,
}));
const sum = (items) => items.reduce((total, f) => total + f.seconds, 0);
const total = sum(files);
const byFolder = new Map();
for (const file of files) {
  const folder = file.name.split("/").slice(0, 2).join("/");
  byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
}
const fmt = (s) => `${s.toFixed(1).padStart(7)} s`;
console.log(`suite: ${files.length} files, ${report.numTotalTests} tests (${report.numFailedTests} failed); per-file durations sum to ${total.toFixed(1)} s${wallText ? `, wall ${Number(wallText).toFixed(0)} s` : ""}`);
for (const [folder, items] of [...byFolder].sort((a, b) => sum(b[1]) - sum(a[1]))) console.log(`  ${fmt(sum(items))}  ${folder} (${items.length} files)`);
console.log("heaviest files:");
for (const file of [...files].sort((a, b) => b.seconds - a.seconds).slice(0, Number(topText ?? 15))) {
  console.log(`  ${fmt(file.seconds)}  ${file.name} (${file.tests} tests${file.failed ? `, ${file.failed} failed` : ""})`);
}
