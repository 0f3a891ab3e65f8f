import { describe, expect, it } from 'vitest';
import { MOTIF_ATTEMPTS, MOTIF_JOB_SCHEMAS, MOTIF_RESULT_CHECKS } from '../../src/jobs/job-schemas.js';
import { MOTIF_LANES, MOTIF_PROCESSORS } from '../../src/jobs/motif-jobs.js';
import { emptySequence } from '../../src/music/note-sequence.js';

const sequence = { ...emptySequence({ stepsPerQuarter: 4, qpm: 100 }), notes: [{ pitch: 60, velocity: 80, startStep: 0, endStep: 4, program: 0, isDrum: false, track: 0 }], totalSteps: 4 };

/** What the bot really enqueues for each kind (shapes from src/guild/compose.ts, train-flow, corpus-service, uploads, voice). */
const EXAMPLES = {
  compose: { length: 100, temperature: 0.9, topP: 0.95, program: 0, qpm: 96, style: 'piano', seed: sequence, modelDir: '/m/default', randomSeed: 7, outDir: '/d/r/1', baseName: 'motif-1', withOpus: false, maxAudioBytes: 10_485_760, soundfontDir: '/s', maxLength: 2000, maxSeedBytes: 8_388_608 },
  train: {
    guildId: '123', corpusKeys: ['guilds/123/corpus/ab12cd34.mid'], modelPrefix: 'guilds/123/models/v1/', blobs: { url: 'postgresql://motif@db:5432/motif', dataDir: '/d', modelCacheSize: 3 },
    epochs: 5, fromModelDir: '/m/default', timeBudgetSeconds: 3600,
  },
  transcribe: { inputPath: '/d/tmp/upload.mp3', outDir: '/d/tmp/corpus-1', maxBytes: 26_214_400, maxDurationSeconds: 600 },
  'voice-audio': { source: { id: 'r1', dir: '/d/r/1', midiPath: '/d/r/1/a.mid', sequence }, settings: { soundfont: 'FluidR3Mono' } },
  'read-midi': { path: '/d/tmp/upload.mid', maxBytes: 8_388_608, withSequence: true },
} as const;

describe('job data schemas (what a BullMQ worker accepts back from Redis)', () => {
  it('GIVEN every job kind WHEN listed THEN each has a schema, a lane and a retry policy', () => {
    const kinds = Object.keys(MOTIF_PROCESSORS).sort();
    expect(Object.keys(MOTIF_JOB_SCHEMAS).sort()).toEqual(kinds);
    expect(Object.keys(MOTIF_LANES).sort()).toEqual(kinds);
    expect(Object.keys(MOTIF_ATTEMPTS).sort()).toEqual(kinds);
    expect(MOTIF_ATTEMPTS.compose).toBe(2);
    // A crashed or killed worker's training run gets one more try, resumed from its stored checkpoint.
    expect(MOTIF_ATTEMPTS.train).toBe(2);
  });

  it.each(Object.entries(EXAMPLES))('GIVEN real %s data WHEN read back THEN it is accepted unchanged', (kind, data) => {
    const schema = MOTIF_JOB_SCHEMAS[kind as keyof typeof EXAMPLES]!;
    expect(schema.parse(JSON.parse(JSON.stringify(data)))).toEqual(data);
  });

  it('GIVEN a blob URL carrying a password WHEN read back from Redis THEN the job is refused (passwords never travel in job data)', () => {
    const blobs = { ...EXAMPLES.train.blobs, url: 'postgresql://motif:hunter2@db:5432/motif' };
    expect(MOTIF_JOB_SCHEMAS.train!.safeParse({ ...EXAMPLES.train, blobs }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.compose!.safeParse({ ...EXAMPLES.compose, blobs }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.compose!.safeParse({ ...EXAMPLES.compose, blobs: EXAMPLES.train.blobs }).success).toBe(true);
  });

  it('GIVEN data someone else wrote into Redis WHEN read back THEN wrong shapes are refused', () => {
    expect(MOTIF_JOB_SCHEMAS.compose!.safeParse({ ...EXAMPLES.compose, length: 1e9 }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.compose!.safeParse({ ...EXAMPLES.compose, outDir: '' }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.train!.safeParse({ ...EXAMPLES.train, epochs: 'many' }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.train!.safeParse({ ...EXAMPLES.train, corpusKeys: ['../../etc/passwd'] }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS.train!.safeParse({ ...EXAMPLES.train, modelPrefix: '/d/g/models/x' }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS['read-midi']!.safeParse({ path: '/x' }).success).toBe(false);
    expect(MOTIF_JOB_SCHEMAS['voice-audio']!.safeParse({ ...EXAMPLES['voice-audio'], source: { ...EXAMPLES['voice-audio'].source, sequence: { notes: 'x' } } }).success).toBe(false);
  });
});

describe('result checks (what the bot accepts back from Redis before it reads and posts files)', () => {
  const compose = {
    midiPath: '/d/r/1/motif-1.mid', mp3Path: '/d/r/1/motif-1.mp3', pngPath: '/d/r/1/motif-1.png', generatedEvents: 100, noteCount: 120,
    durationSeconds: 36, qpm: 96, program: 0, keyGuess: 'C major', modelName: 'default', randomSeed: 7, sequence,
    timingsMs: { sample: 1, midi: 1, render: 1, encode: 1, pianoRoll: 1, firstFiles: 1, total: 5 },
  };

  it('GIVEN results naming the files each job was asked to write WHEN checked THEN they pass unchanged', () => {
    expect(MOTIF_RESULT_CHECKS.compose!(compose, EXAMPLES.compose)).toEqual(compose);
    expect(MOTIF_RESULT_CHECKS.compose!({ ...compose, mp3Path: '' }, EXAMPLES.compose)).toMatchObject({ mp3Path: '' });
    const train = { modelPrefix: 'guilds/123/models/v1/', metrics: { bestEpoch: 1 }, lossCurveKey: 'guilds/123/models/v1/loss-curve.png', summary: 's', stoppedAtTimeBudget: true, completedEpochs: 0 };
    expect(MOTIF_RESULT_CHECKS.train!(train, EXAMPLES.train)).toEqual(train);
    expect(MOTIF_RESULT_CHECKS['voice-audio']!({ oggPath: '/d/r/1/a.voice.ogg', rendered: true }, EXAMPLES['voice-audio'])).toEqual({ oggPath: '/d/r/1/a.voice.ogg', rendered: true });
    expect(MOTIF_RESULT_CHECKS.transcribe!({ midiPath: '/d/tmp/corpus-1/x.mid', noteCount: 3, durationSeconds: 2 }, EXAMPLES.transcribe)).toMatchObject({ noteCount: 3 });
  });

  it('GIVEN a result that points elsewhere (a Redis someone else writes to) WHEN checked THEN it is refused before any file is read', () => {
    expect(() => MOTIF_RESULT_CHECKS.compose!({ ...compose, mp3Path: '/etc/passwd' }, EXAMPLES.compose)).toThrow(/mp3Path is outside/);
    expect(() => MOTIF_RESULT_CHECKS.compose!({ ...compose, pngPath: '/d/r/1/../../../etc/x.png' }, EXAMPLES.compose)).toThrow(/pngPath is outside/);
    expect(() => MOTIF_RESULT_CHECKS.compose!({ ...compose, sequence: undefined }, EXAMPLES.compose)).toThrow();
    const otherVersion = { modelPrefix: 'guilds/123/models/v0/', metrics: {}, lossCurveKey: 'guilds/123/models/v0/l.png', summary: '', stoppedAtTimeBudget: false, completedEpochs: 1 };
    expect(() => MOTIF_RESULT_CHECKS.train!(otherVersion, EXAMPLES.train)).toThrow(/modelPrefix/);
    expect(() => MOTIF_RESULT_CHECKS.train!({ ...otherVersion, modelPrefix: 'guilds/123/models/v1/' }, EXAMPLES.train)).toThrow(/lossCurveKey/);
    expect(() => MOTIF_RESULT_CHECKS['voice-audio']!({ oggPath: '/d/other/x.ogg', rendered: true }, EXAMPLES['voice-audio'])).toThrow(/oggPath is outside/);
    expect(() => MOTIF_RESULT_CHECKS['read-midi']!({ noteCount: 0, totalSteps: 0 }, EXAMPLES['read-midi'])).toThrow();
  });
});
