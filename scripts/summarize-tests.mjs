// Reads one or more vitest JSON reports (the workspace's run, the driver
// package checked outside it, and the package checks, which write the same shape) and prints the closing line "N passed, N failed"
// (", N skipped" when any were), counting them all. Exits 1 when a test
// failed, when a report is missing or ran no test, or when CI=true and a test
// was skipped: in CI the root-only tests must run.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: summarize-tests.mjs REPORT.json [REPORT.json…]');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // Its run never got as far as a report (a failed install, a type error):
    // one failure, so the closing line cannot look clean.
    console.error(`no test report at ${file}: ${error.message}`);
    failed += 1;
    continue;
  }
  const filePassed = report.numPassedTests ?? 0;
  if (filePassed === 0) {
    console.error(`no test passed in ${file}`);
    status = 1;
  }
  passed += filePassed;
  // A test file that failed without a failed test (it did not load, or a hook
  // failed) counts as one failure: its tests never ran.
  failed += (report.numFailedTests ?? 0) + countFilesFailedOutsideTests(report);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}

if (failed > 0 || passed === 0) status = 1;
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
