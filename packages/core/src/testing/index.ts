/**
 * `@netmode/core/testing`: the kit for testing netmode and its drivers.
 *
 * - {@link RecordingRunner}: a runner that starts nothing and records every
 *   command, for unit tests that compare exact scripts.
 * - {@link createNetnsFixture}: a throwaway host namespace for integration
 *   tests, removed with everything else carrying its prefix at cleanup.
 * - {@link FaultInjectingRunner}, {@link CountingRunner}: wrappers that fail
 *   or count commands, to prove rollback step by step.
 *
 * It loads no test runner, so it serves vitest, `node:test`, mocha or jest
 * alike. The conformance suite every driver runs, `testNetworkDriver()`, is a
 * set of vitest tests and lives in its own entry,
 * `@netmode/core/testing/conformance`.
 *
 * @module
 */
export { RecordingRunner, commandMatches, type CommandMatcher, type CommandReply } from './recording-runner.js';
export { FaultInjectingRunner, CountingRunner, type FaultTiming } from './fault-runner.js';
export {
  createNetnsFixture,
  integrationAvailable,
  type HostSnapshot,
  type NetnsFixture,
  type NetnsFixtureOptions,
} from './netns-fixture.js';
