import { defineConfig } from 'vitest/config';

// Runs the conformance suite against the faulty drivers of fixtures/, for
// suite-catches.int.test.ts, which reads the outcome from the JSON report.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['fixtures/*.conformance.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
