import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import the packages' TypeScript sources, not their build output, so a
// change to core is seen by the driver tests without a rebuild. Child
// processes that tests start (lock and IPAM races) use the built dist instead.
const alias = {
  // Longest first: an alias also matches the paths below it.
  '@netmode/core/testing/conformance': src('./packages/core/src/testing/conformance.ts'),
  '@netmode/core/testing': src('./packages/core/src/testing/index.ts'),
  '@netmode/core': src('./packages/core/src/index.ts'),
  '@netmode/driver-none': src('./packages/driver-none/src/index.ts'),
  '@netmode/driver-host': src('./packages/driver-host/src/index.ts'),
  '@netmode/driver-bridge': src('./packages/driver-bridge/src/index.ts'),
  '@netmode/driver-container': src('./packages/driver-container/src/index.ts'),
  '@netmode/api': src('./packages/api/src/index.ts'),
};

// Integration files that look at the whole machine, not only at what they
// made: they run alone, after the others. The demo's test counts every
// process of the CLI's probe script (the other CLI tests start them too).
const ALONE = ['packages/cli/test/demo.int.test.ts'];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          // The same as the integration files' (one group shares one pool of workers).
          maxWorkers: 2,
          // Some unit tests start child processes (lock and IPAM races); a
          // loaded 2-core machine needs more than the default 5 s for them.
          testTimeout: 30_000,
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'examples/*/test/**/*.int.test.ts'],
          exclude: [...ALONE, '**/node_modules/**'],
          // Integration tests change kernel state in namespaces they create,
          // each file under a random prefix of its own, so two files can run
          // at once: one waits on the kernel, on timeouts or on a Node process
          // per CLI command while the other works (one file at a time kept
          // one of the two cores idle, and the suite took 22 minutes).
          fileParallelism: true,
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration-alone',
          include: ALONE,
          fileParallelism: false,
          // After the files that run two at a time, with the daemon's below.
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // The CLI's own integration tests a second time, each world behind
          // a netmode daemon of its own and every command through -H (#14).
          // multi-network.int.test.ts passed this way too (161 s in CI); it
          // runs only with NETMODE_THROUGH_DAEMON_ALL=1, to keep the whole
          // suite within 20 minutes on 2 cores.
          name: 'integration-through-daemon',
          include: [
            'packages/cli/test/cli.int.test.ts',
            'packages/cli/test/names.int.test.ts',
            'packages/cli/test/network.int.test.ts',
            ...(process.env['NETMODE_THROUGH_DAEMON_ALL'] === '1' ? ['packages/cli/test/multi-network.int.test.ts'] : []),
          ],
          env: { NETMODE_TEST_THROUGH_DAEMON: '1' },
          fileParallelism: false,
          // After the two above, not beside them: a third stream would overload two cores.
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
