/**
 * Every crash or hang the fuzz harness found, as a small file: each must now end in the typed
 * error its manifest names, inside the harness's per-file time bound (a hang is a failed case
 * here, not a stuck test run, because the harness kills the case process).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import type { FuzzTarget } from '../../src/fuzz/mutations.js';
import { runFuzz, type FuzzCase } from '../../src/fuzz/runner.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/fuzz');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { file: string; target: FuzzTarget; code: string }[];

describe('fuzz reproducers', () => {
  it('GIVEN every saved reproducer WHEN run through its upload path THEN each ends in its typed error within the time bound', async () => {
    const config = loadCoreConfig({});
    const cases: FuzzCase[] = manifest.map((m, index) => ({
      index,
      mutation: m.file,
      source: `test/fixtures/fuzz/${m.file}`,
      target: m.target,
      fileName: m.file,
      bytes: new Uint8Array(readFileSync(join(FIXTURES, m.file))),
    }));
    const summary = await runFuzz({
      n: cases.length,
      seed: 0,
      cases,
      pool: { midi: [], audio: [], tenHourSilence: { source: 'none', bytes: new Uint8Array(0), ext: '.flac' } },
      limits: { maxMidiBytes: config.maxMidiBytes, maxAudioBytes: config.maxAudioBytes, maxAudioSeconds: config.maxAudioSeconds },
      modelDir: config.defaultModelDir,
      workDir: join(tmpdir(), `motif-fuzz-repro-${process.pid}`),
      // Generous for a loaded machine: each of these takes well under a millisecond once fixed.
      timeoutMs: { midi: 20_000, audio: 120_000 },
      memoryLimitMb: 1536,
      audioShare: 0,
      onCase: (r) => {
        expect({ file: r.mutation, outcome: r.outcome, code: r.code }).toEqual({ file: r.mutation, outcome: 'typed', code: manifest[r.index]!.code });
      },
    });
    expect(summary.files).toBe(manifest.length);
    expect(summary.findings).toEqual([]);
  });
});
