/**
 * End-to-end latency of one `/compose length:100`: sample + MIDI + render + mp3 (+ piano roll),
 * warm (model and SoundFont already loaded), with the shipped default model. Median of N runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composePiece, DEFAULT_MODEL_DIR } from '../src/jobs/compose.js';

export async function benchCompose(opts: { runs?: number; modelDir?: string } = {}): Promise<Record<string, number>> {
  const outDir = await mkdtemp(join(tmpdir(), 'motif-bench-compose-'));
  const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
  try {
    await composePiece({ length: 100, modelDir, outDir, randomSeed: 0 });
    const totals: number[] = [];
    const samples: number[] = [];
    const audioSeconds: number[] = [];
    for (let i = 1; i <= (opts.runs ?? 5); i++) {
      const result = await composePiece({ length: 100, modelDir, outDir, randomSeed: i, baseName: `run-${i}` });
      totals.push(result.timingsMs.total);
      samples.push(result.timingsMs.sample);
      audioSeconds.push(result.durationSeconds);
    }
    return {
      compose100_ms_p50: median(totals),
      compose100_sample_ms_p50: median(samples),
      compose100_audio_seconds_p50: Math.round(median(audioSeconds) * 10) / 10,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
