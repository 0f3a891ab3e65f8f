/**
 * End-to-end latency of one `/compose length:100`: sample + MIDI + piano roll (the first post,
 * `compose100_first_post_ms_p50`) + render + MP3 (`compose100_ms_p50`), warm (model and SoundFont
 * already loaded), in the default style as a user gets it (its model, sampling and rules: up to
 * five tries, one key) and Discord's default 10 MiB attachment limit. Median of N runs.
 * Rendering and MP3 encoding grow with the piece's duration, which the style's tempo decides, so
 * `compose100_ms_per_audio_second_p50` gives the cost per second of music too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { composePiece, DEFAULT_MODEL_DIR } from '../src/jobs/compose.js';
import type { ComposeJobData } from '../src/jobs/compose-contract.js';
import { DEFAULT_STYLE, STYLES, styleModelDir, styleRequestFields } from '../src/jobs/styles.js';

export async function benchCompose(opts: { runs?: number; modelDir?: string } = {}): Promise<Record<string, number>> {
  const outDir = await mkdtemp(join(tmpdir(), 'motif-bench-compose-'));
  const style = STYLES[DEFAULT_STYLE];
  // The default style's model among the shipped ones (models/), as a fresh install composes.
  const modelDir = opts.modelDir ?? styleModelDir(dirname(DEFAULT_MODEL_DIR), style);
  try {
    const request: ComposeJobData = {
      length: 100,
      modelDir,
      outDir,
      maxAudioBytes: 10 * 1024 * 1024,
      style: style.name,
      ...styleRequestFields(style, {}, false),
    };
    await composePiece({ ...request, randomSeed: 0 });
    const totals: number[] = [];
    const firstPosts: number[] = [];
    const samples: number[] = [];
    const audioSeconds: number[] = [];
    const msPerAudioSecond: number[] = [];
    for (let i = 1; i <= (opts.runs ?? 5); i++) {
      const result = await composePiece({ ...request, randomSeed: i, baseName: `run-${i}` });
      totals.push(result.timingsMs.total);
      firstPosts.push(result.timingsMs.firstFiles);
      samples.push(result.timingsMs.sample);
      audioSeconds.push(result.durationSeconds);
      msPerAudioSecond.push(result.timingsMs.total / result.durationSeconds);
    }
    return {
      compose100_ms_p50: median(totals),
      compose100_first_post_ms_p50: median(firstPosts),
      compose100_sample_ms_p50: median(samples),
      compose100_audio_seconds_p50: Math.round(median(audioSeconds) * 10) / 10,
      compose100_ms_per_audio_second_p50: Math.round(median(msPerAudioSecond) * 10) / 10,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
