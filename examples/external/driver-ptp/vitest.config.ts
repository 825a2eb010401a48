import { defineConfig } from 'vitest/config';

// Standalone: nothing here points into another project. vitest transforms
// with oxc, which reads `experimentalDecorators` from the tsconfig.json that
// includes each file, so src/ and test/ must both be in its `include`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The integration tests change the kernel in throwaway namespaces and
    // spawn many short processes; a loaded machine needs more than 5 s.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
