// Reads vitest's JSON report and prints the closing line "N passed, N failed"
// (", N skipped" when any were). Exits 1 when a test failed, when no test ran,
// or when CI=true and a test was skipped: in CI the root-only tests must run.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`no test report at ${file}: ${error.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A test file that failed without a failed test (it did not load, or a hook
// failed) counts as one failure: its tests never ran.
const failed = (report.numFailedTests ?? 0) + countFilesFailedOutsideTests(report);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);

let status = failed > 0 || passed === 0 ? 1 : 0;
if (process.env.CI === 'true' && skipped > 0) {
  console.error(`${skipped} tests were skipped; with CI=true every test must run (are the tests running as root?)`);
  status = 1;
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(status);

function countFilesFailedOutsideTests(r) {
  return (r.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
  ).length;
}
