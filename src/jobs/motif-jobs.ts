/**
 * Motif's job kinds, their types, and where their processors run. Every kind is CPU-heavy, so
 * each runs in a worker thread.
 */
import type { ComposeFirstFiles, ComposeJobData, ComposeResult } from './compose-contract.js';
import type { TrainProgress } from '../ml/training/train-loop.js';
import type { ProcessorRef } from './processor.js';
import type { GuildTrainRequest, GuildTrainResult } from './train.js';
import type { JobQueue, LaneMap } from './queue.js';
import type { TranscribeJobRequest, TranscribeJobResult, TranscribeProgress } from './transcribe-job.js';
import type { VoiceAudioJobRequest } from './voice-audio-job.js';
import type { VoiceAudio } from '../audio/voice-audio.js';
import type { ReadMidiJobRequest, ReadMidiJobResult } from './read-midi-job.js';

export type { ComposeJobData } from './compose-contract.js';

export interface ComposeProgress {
  stage: string;
  /** 0–1 within the whole job. */
  fraction: number;
  /** Present once: the MIDI and the piano roll exist and can be posted while the audio renders. */
  firstFiles?: ComposeFirstFiles;
}

/** The /train job: its request, progress and result are the training pipeline's own types. */
export type TrainJobRequest = GuildTrainRequest;
export type TrainJobResult = GuildTrainResult;
export type { TrainProgress };

export type MotifJobs = {
  compose: { data: ComposeJobData; result: ComposeResult; progress: ComposeProgress };
  train: { data: TrainJobRequest; result: TrainJobResult; progress: TrainProgress };
  transcribe: { data: TranscribeJobRequest; result: TranscribeJobResult; progress: TranscribeProgress };
  'voice-audio': { data: VoiceAudioJobRequest; result: VoiceAudio; progress: never };
  'read-midi': { data: ReadMidiJobRequest; result: ReadMidiJobResult; progress: never };
};

export type MotifQueue = JobQueue<MotifJobs>;

const here = (file: string): string => new URL(file, import.meta.url).href;
/** Sibling modules are .ts from sources (tsx, vitest) and .js once compiled. */
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Loads the model and SoundFont in each worker before the first job (see warm-up.ts). */
export const WARM_UP_PROCESSOR = Object.freeze({ kind: 'worker' as const, moduleUrl: here(`./warm-up${ext}`), exportName: 'warmUp' });

/**
 * Lanes (queue.ts): someone waits for the interactive kinds in the channel; train and transcribing
 * corpus audio take minutes, so they run in the batch lane and never hold a compose behind them.
 * `read-midi` reads an uploaded seed for /compose (and for /seed save, /corpus add): light, and a
 * compose may wait on it, so it is interactive. `transcribe` is only ever corpus audio today.
 */
export const MOTIF_LANES: LaneMap<MotifJobs> = Object.freeze({
  compose: 'interactive',
  'voice-audio': 'interactive',
  'read-midi': 'interactive',
  transcribe: 'batch',
  train: 'batch',
});

/** The production processors: compose-job.ts (the compose pipeline and its files' transport), train.ts, transcribe-job.ts, voice-audio-job.ts, read-midi-job.ts. */
export const MOTIF_PROCESSORS: { readonly [K in keyof MotifJobs]: ProcessorRef } = Object.freeze({
  compose: { kind: 'worker', moduleUrl: here(`./compose-job${ext}`), exportName: 'composeJob' },
  train: { kind: 'worker', moduleUrl: here(`./train${ext}`), exportName: 'trainGuildModel' },
  transcribe: { kind: 'worker', moduleUrl: here(`./transcribe-job${ext}`), exportName: 'transcribeJob' },
  'voice-audio': { kind: 'worker', moduleUrl: here(`./voice-audio-job${ext}`), exportName: 'voiceAudioJob' },
  // Uploaded MIDI is parsed here, never on the gateway thread.
  'read-midi': { kind: 'worker', moduleUrl: here(`./read-midi-job${ext}`), exportName: 'readMidiJob' },
});
