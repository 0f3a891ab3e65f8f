/**
 * A tiny corpus and a tiny trained model for tests: real MIDI files written with our writer, a real
 * (small) LSTM trained through the production pipeline. Seconds, not minutes.
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMidi } from '../../src/music/midi-io.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { trainModel, type TrainModelOptions } from '../../src/ml/training/train-model.js';

/** A little C-major tune with varied rhythm, transposed per piece so the corpus is not one tune. */
export function tinyTune(transposeSemitones: number, stepsPerQuarter = 4): NoteSequence {
  const seq = emptySequence({ stepsPerQuarter, qpm: 100 });
  const melody = [60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 64, 60];
  const lengths = [2, 2, 4, 2, 2, 4, 1, 1, 2, 4, 2, 6];
  let step = 0;
  melody.forEach((pitch, i) => {
    const length = lengths[i]! * (stepsPerQuarter / 4);
    seq.notes.push({ pitch: pitch + transposeSemitones, velocity: 80, startStep: step, endStep: step + length, program: 0, isDrum: false, track: 0 });
    if (i % 4 === 0) {
      seq.notes.push({ pitch: pitch + transposeSemitones - 12, velocity: 70, startStep: step, endStep: step + length, program: 0, isDrum: false, track: 0 });
    }
    step += length;
  });
  seq.totalSteps = step;
  return seq;
}

/**
 * Writes `pieces` tunes into `dir`, or into a fresh folder always named `tiny-corpus`: a piece's id
 * (and so its train/validation split, a hash of it) includes the folder's name, and a random one
 * made the split differ from run to run.
 */
export async function writeTinyCorpus(dir?: string, pieces = 6): Promise<string> {
  const root = dir ?? join(await mkdtemp(join(tmpdir(), 'motif-corpus-')), 'tiny-corpus');
  await mkdir(root, { recursive: true });
  for (let i = 0; i < pieces; i++) await writeFile(join(root, `tune-${i}.mid`), writeMidi(tinyTune(i - 3)));
  return root;
}

export const TINY_NETWORK: Partial<TrainModelOptions> & { epochs: number } = {
  hiddenSize: 16,
  embeddingSize: 8,
  batchSize: 4,
  sequenceLength: 16,
  epochs: 2,
  maxStepsPerEpoch: 4,
  randomSeed: 3,
};

/** Trains a tiny model into a fresh temp folder and returns its path. */
export async function trainTinyModel(overrides: Partial<TrainModelOptions> = {}): Promise<string> {
  const corpus = await writeTinyCorpus();
  const outDir = join(await mkdtemp(join(tmpdir(), 'motif-model-')), 'model');
  await trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, epochs: 2, ...overrides });
  return outDir;
}
