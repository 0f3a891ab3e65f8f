/**
 * CI's slice of `npm run fuzz`: 500 mutated uploads (fixed seed, so the same 500 every run) through
 * the bot's MIDI and audio upload code. Each must end in a typed MotifError or a valid result; no
 * crash, no hang, no runaway memory. The full 10,000-file run is in the README.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { prepareInputs } from '../../src/fuzz/prepare-inputs.js';
import { runFuzz } from '../../src/fuzz/runner.js';

import { DATASETS_DIR, withDatasets } from '../support/datasets.js';

const { itData } = withDatasets(import.meta.url);

describe('fuzz subset', () => {
  itData('GIVEN 500 mutated uploads (seed 11) WHEN each runs through its upload path THEN every one is a typed error or a valid result', async () => {
    const config = loadCoreConfig({});
    const pool = await prepareInputs({ datasetsDir: DATASETS_DIR, cacheDir: join(tmpdir(), 'motif-fuzz-inputs'), withAudio: true });
    const summary = await runFuzz({
      n: 500,
      seed: 11,
      pool,
      limits: { maxMidiBytes: config.maxMidiBytes, maxAudioBytes: config.maxAudioBytes, maxAudioSeconds: config.maxAudioSeconds },
      modelDir: config.defaultModelDir,
      workDir: join(tmpdir(), `motif-fuzz-ci-${process.pid}`),
      // Bounds with room for a busy CI machine; a real hang never answers at all.
      timeoutMs: { midi: 20_000, audio: 120_000 },
      memoryLimitMb: 1536,
      audioShare: 0.2,
    });
    const findings = summary.findings.map((f) => `${f.index} ${f.mutation} of ${f.source}: ${f.outcome} ${f.error ?? ''}`);
    expect(findings).toEqual([]);
    expect(summary.files).toBe(500);
    expect(summary.ok + summary.typedErrors).toBe(500);
    // The mix really covers both paths and both outcomes.
    expect(summary.ok).toBeGreaterThan(0);
    expect(summary.typedErrors).toBeGreaterThan(0);
    expect(Object.keys(summary.byMutation).length).toBeGreaterThanOrEqual(14);
  }, 900_000);
});
