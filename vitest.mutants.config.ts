import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutants` runs against each mutant: the in-process ones
 * (unit, contract and HTTP tests on SQLite). Browser tests and tests that
 * spawn dist/ processes are left out: a spawned process runs the built code,
 * not the mutant, so they could kill nothing.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/integration/**/*.test.ts'],
    exclude: [
      'test/integration/cli.test.ts',
      'test/integration/workers.test.ts',
      'test/integration/production.test.ts',
      'test/integration/shutdown-bounded.test.ts',
      'test/integration/stop-with-parent.test.ts',
    ],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
