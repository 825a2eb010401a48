// The import rules of the repository, checked by `pnpm layers` (and so by
// scripts/test.sh): no import cycle anywhere, the rooms of core in the layer
// order of DESIGN.md ("Core, room by room"), drivers and other consumers on
// core's public entry only, and one tsyringe, core's.
//
// Type-only imports count everywhere (`tsPreCompilationDeps: true` keeps them
// in the graph): a loop of types is still a loop between folders, and a type
// that a low room needs belongs below the room that needs a higher one.

/** The rooms of packages/core/src, bottom first; a room imports only from its own layer or below. */
const CORE_LAYERS = [
  // Plain values and names: the error class, the DI tokens (tokens.ts imports
  // nothing: its symbols are used by services and the manager alike), the model.
  { name: 'errors-model', paths: ['errors\\.ts$', 'tokens\\.ts$', 'model/'] },
  // events.ts imports only errors and the model; exec/ is the first room that emits.
  { name: 'net-store', paths: ['net/', 'store/', 'events\\.ts$'] },
  { name: 'exec', paths: ['exec/'] },
  { name: 'services', paths: ['netns/', 'ipam/', 'ports/', 'firewall/', 'names/'] },
  // The driver contract and the driver kit beside it.
  { name: 'driver', paths: ['driver/'] },
  { name: 'manager', paths: ['manager/'] },
  // The companion process's main reads the state as the manager does.
  { name: 'entry', paths: ['create\\.ts$', 'index\\.ts$', 'companion/'] },
  // On top, so that nothing below (the public entry included) can pull vitest in.
  { name: 'testing', paths: ['testing/'] },
];

const CORE = '^packages/core/src/';
const coreLayerPath = (layer) => layer.paths.map((path) => CORE + path);

const names = (layers) => layers.map((layer) => layer.name).join(', ') || 'nothing';

/** One rule per layer: nothing in it imports from any layer above it. */
const layerRules = CORE_LAYERS.slice(0, -1).map((layer, index) => ({
  name: `core-layer-${layer.name}`,
  severity: 'error',
  comment:
    `packages/core/src: ${layer.paths.join(', ')} import only from their own layer or below (${names(CORE_LAYERS.slice(0, index))}), ` +
    `never from ${names(CORE_LAYERS.slice(index + 1))}. Move the value type down (as model/maintenance.ts and model/owner.ts were) or the code up.`,
  from: { path: coreLayerPath(layer) },
  to: { path: CORE_LAYERS.slice(index + 1).flatMap(coreLayerPath) },
}));

// Every module of core's sources is in one layer.
const everyCoreLayerPath = CORE_LAYERS.flatMap(coreLayerPath);

// Packages and examples that use core as a third party would: through
// '@netmode/core' (and '@netmode/core/testing' or '@netmode/core/testing/conformance' in tests), never a path.
const CONSUMERS = '^(packages/(driver-[^/]+|cli|api)|examples|bench)/';
const CONSUMER_SOURCES = [
  '^packages/(driver-[^/]+|cli|api)/src/',
  '^examples/src/',
  '^examples/[^/]+/src/',
  '^examples/external/[^/]+/src/',
  '^bench/src/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports count). Move what both sides need into a module below them.',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'core-room-without-layer',
      severity: 'error',
      comment: 'A module of packages/core/src that no layer of .dependency-cruiser.cjs names: give it its layer.',
      from: { path: CORE, pathNot: everyCoreLayerPath },
      to: {},
    },
    {
      name: 'consumers-use-core-entry',
      severity: 'error',
      comment:
        "Drivers, the CLI, the API server, the examples and the benchmark import '@netmode/core' (and '@netmode/core/testing' or '@netmode/core/testing/conformance' in tests), never a path into core's src or dist.",
      from: { path: CONSUMERS },
      to: { path: '^packages/core/', pathNot: '^packages/core/dist/(index|testing/index|testing/conformance)\\.d\\.ts$' },
    },
    {
      name: 'consumers-no-relative-core',
      severity: 'error',
      comment: 'A relative path into packages/core: import @netmode/core instead.',
      from: { path: CONSUMERS },
      to: { path: '^packages/core/', dependencyTypes: ['local'] },
    },
    {
      name: 'consumer-sources-no-testing',
      severity: 'error',
      comment:
        "'@netmode/core/testing' and '@netmode/core/testing/conformance' (which loads vitest) are for tests; a package's sources import '@netmode/core'.",
      from: { path: CONSUMER_SOURCES },
      to: { path: '^packages/core/dist/testing/' },
    },
    {
      name: 'core-without-vitest',
      severity: 'error',
      comment:
        "Only the conformance suite (@netmode/core/testing/conformance) loads vitest: '@netmode/core' and '@netmode/core/testing' must load without it, under any test runner or none.",
      from: { path: '^packages/core/src/', pathNot: '^packages/core/src/testing/conformance\\.ts$' },
      to: { path: '(^|/)vitest(/|$)' },
    },
    {
      name: 'tsyringe-only-in-core',
      severity: 'error',
      comment:
        "Only packages/core/src imports tsyringe; everyone else takes inject, injectable, Lifecycle and DependencyContainer from '@netmode/core', which loads reflect-metadata first and so hands out the one tsyringe core uses. The exception: the test that proves createNetMode leaves tsyringe's global container empty has to look at that container, which core does not export.",
      from: { pathNot: ['^packages/core/src/', '^packages/core/test/manager/network-manager\\.test\\.ts$'] },
      to: { path: '(^|/)tsyringe(/|$)' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: "An import that does not resolve. '@netmode/*' resolve to the packages' dist (their exports maps): run 'pnpm build' first.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Packages' build output and npm packages are leaves of the graph: what
    // imports them is checked, what they import is not.
    doNotFollow: { path: ['(^|/)node_modules/', '^packages/[^/]+/dist/'] },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'node', 'default'],
      mainFields: ['types', 'module', 'main'],
    },
  },
};
