/**
 * `@netmode/core/testing`: the kit for testing netmode and its drivers.
 *
 * - {@link RecordingRunner}: a runner that starts nothing and records every
 *   command, for unit tests that compare exact scripts.
 * - {@link createNetnsFixture}: a throwaway host namespace for integration
 *   tests, removed with everything else carrying its prefix at cleanup.
 * - {@link testNetworkDriver}: the conformance suite every driver runs.
 * - {@link FaultInjectingRunner}, {@link CountingRunner}: wrappers that fail
 *   or count commands, to prove rollback step by step.
 *
 * This entry imports `vitest`; install it as a dev dependency to use it.
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
export { testNetworkDriver, type DriverConformanceOptions } from './conformance.js';
