import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One temporary folder per run, removed at the end (see the file).
    globalSetup: ['test/support/run-tmpdir.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores on CI: keep heavy suites (WASM, ffmpeg, training) from starving each other.
    maxWorkers: 2,
    pool: 'forks',
  },
});
