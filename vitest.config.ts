import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores on CI: keep heavy suites (WASM, ffmpeg, training) from starving each other.
    maxWorkers: 2,
    pool: 'forks',
  },
});
