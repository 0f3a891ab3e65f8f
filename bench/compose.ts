/**
 * End-to-end latency of one `/compose length:100`: sample + MIDI + piano roll (the first post,
 * `compose100_first_post_ms_p50`) + render + MP3 (`compose100_ms_p50`), warm (model and SoundFont
 * already loaded), with the shipped default model and Discord's default 10 MiB attachment limit.
 * Median of N runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composePiece, DEFAULT_MODEL_DIR } from '../src/jobs/compose.js';

export async function benchCompose(opts: { runs?: number; modelDir?: string } = {}): Promise<Record<string, number>> {
  const outDir = await mkdtemp(join(tmpdir(), 'motif-bench-compose-'));
  const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
  try {
    const maxAudioBytes = 10 * 1024 * 1024;
    await composePiece({ length: 100, modelDir, outDir, randomSeed: 0, maxAudioBytes });
    const totals: number[] = [];
    const firstPosts: number[] = [];
    const samples: number[] = [];
    const audioSeconds: number[] = [];
    for (let i = 1; i <= (opts.runs ?? 5); i++) {
      const result = await composePiece({ length: 100, modelDir, outDir, randomSeed: i, baseName: `run-${i}`, maxAudioBytes });
      totals.push(result.timingsMs.total);
      firstPosts.push(result.timingsMs.firstFiles);
      samples.push(result.timingsMs.sample);
      audioSeconds.push(result.durationSeconds);
    }
    return {
      compose100_ms_p50: median(totals),
      compose100_first_post_ms_p50: median(firstPosts),
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
