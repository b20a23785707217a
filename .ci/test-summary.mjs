// Prints the closing test summary line ("N passed, N failed, N skipped") from one or more of
// vitest's JSON reports (summed; a test file that failed outside its tests counts as one failure),
// and exits non-zero when a test failed, a report is missing or none ran.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = false;
for (const path of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    console.error(`no test report at ${path}: ${error.message}`);
    missing = true;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  // A file that failed with no failed test in it (an import error, a failing hook) counts once.
  const fileErrors = (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
  ).length;
  failed += (report.numFailedTests ?? 0) + fileErrors;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(missing || failed > 0 || passed === 0 ? 1 : 0);
