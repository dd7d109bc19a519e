import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: faults, crashes, replicas, fuzzed input and security checks. Its files end in
 * `.reliability.ts`, so the default `vitest.config.ts` (which takes `*.test.ts`) never runs them twice; the run
 * writes RELIABILITY.md.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.reliability.ts'],
    globalSetup: ['test/reliability/report-setup.ts'],
    reporters: ['default', './test/reliability/report.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Service processes and a shared PostgreSQL server: two files at a time fits a 2-core machine.
    maxWorkers: 2,
  },
});
