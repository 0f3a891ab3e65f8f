/**
 * NoteSequence → stereo float PCM with spessasynth_core, offline, in bounded-size chunks.
 *
 * Notes are scheduled straight onto the synthesizer at exact sample positions instead of going
 * through an in-memory MIDI file and spessasynth's sequencer: a NoteSequence carries nothing a
 * MIDI file would add (no CCs, no bends), and direct scheduling avoids the sequencer's
 * "skip to first note" and end-of-track rules, so the audio lasts exactly the piece plus the tail.
 */
import { SpessaSynthProcessor } from 'spessasynth_core';
import { MotifError, assertInRange } from '../errors.js';
import { durationSeconds, stepToSeconds, type NoteSequence } from '../music/note-sequence.js';
import { LightReverb } from './light-reverb.js';
import type { LoadedSoundfont } from './soundfonts.js';

export const DEFAULT_SAMPLE_RATE_HZ = 44_100;
export const DEFAULT_TAIL_SECONDS = 1.5;
/** 16,384 frames ≈ 0.37 s: large enough to amortise per-chunk work, small enough for smooth progress. */
export const DEFAULT_CHUNK_FRAMES = 16_384;
/** spessasynth recomputes envelopes and LFOs once per process() call; 128 is its recommended quantum. */
const QUANTUM_FRAMES = 128;
const MIDI_CHANNELS_PER_PORT = 16;
const GM_DRUM_CHANNEL = 9;

export interface SynthOptions {
  soundfont: LoadedSoundfont;
  /** Output rate, 8,000–96,000 Hz (default 44,100). */
  sampleRateHz?: number;
  /** Silence rendered after the piece's end so releases and reverb ring out, 0–10 s (default 1.5). */
  tailSeconds?: number;
  /** Light room reverb (default true). */
  reverb?: boolean;
  /** Frames per yielded chunk, a multiple of 128 (default 16,384); does not change the audio. */
  chunkFrames?: number;
}

/** One block of stereo audio; both arrays have the same length (the last chunk may be shorter). */
export interface PcmChunk {
  left: Float32Array;
  right: Float32Array;
}

interface ScheduledEvent {
  frame: number;
  /** Note-offs sort before note-ons at the same frame so a repeated pitch re-sounds. */
  kind: 0 | 1;
  channel: number;
  pitch: number;
  velocity: number;
}

/** Exact number of frames {@link synthesizeChunks} yields for `seq` (piece + tail). */
export function renderedFrameCount(seq: NoteSequence, opts: Pick<SynthOptions, 'sampleRateHz' | 'tailSeconds'> = {}): number {
  const sampleRateHz = opts.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ;
  const tailSeconds = opts.tailSeconds ?? DEFAULT_TAIL_SECONDS;
  return Math.max(1, Math.round((durationSeconds(seq) + tailSeconds) * sampleRateHz));
}

/**
 * Renders `seq` chunk by chunk. Each chunk is freshly allocated, so callers may keep them.
 * Deterministic: the same sequence and options give bit-identical audio (the two-pass loudness
 * normalisation relies on it). Peak level is raw synth output (~0.1–0.3 for typical pieces).
 * @throws MotifError OPTION_OUT_OF_RANGE for bad options.
 */
export function* synthesizeChunks(seq: NoteSequence, opts: SynthOptions): Generator<PcmChunk, void, void> {
  const sampleRateHz = opts.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ;
  const tailSeconds = opts.tailSeconds ?? DEFAULT_TAIL_SECONDS;
  const chunkFrames = opts.chunkFrames ?? DEFAULT_CHUNK_FRAMES;
  assertInRange('sampleRateHz', sampleRateHz, 8_000, 96_000, { integer: true });
  assertInRange('tailSeconds', tailSeconds, 0, 10);
  assertInRange('chunkFrames', chunkFrames, QUANTUM_FRAMES, 1 << 20, { integer: true });
  if (chunkFrames % QUANTUM_FRAMES !== 0) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `\`chunkFrames\` must be a multiple of ${QUANTUM_FRAMES}.`);
  }

  const synth = new SpessaSynthProcessor(sampleRateHz, {
    effectsEnabled: true,
    eventsEnabled: false,
    maxBufferSize: QUANTUM_FRAMES,
    reverbProcessor: opts.reverb === false ? undefined : new LightReverb({ sampleRateHz }),
  });
  if (opts.reverb === false) synth.setSystemParameter('reverbGain', 0);
  synth.soundBankManager.addSoundBank(opts.soundfont.bank, 'main');
  // No await of synth.processorInitialized here: loadSoundfont already waited for the SF3 decoder.

  const events = scheduleEvents(seq, synth, sampleRateHz);
  const totalFrames = renderedFrameCount(seq, { sampleRateHz, tailSeconds });
  const sounding = new Map<number, number>(); // channel*128+pitch → overlapping note count
  let eventIndex = 0;

  try {
    for (let chunkStart = 0; chunkStart < totalFrames; chunkStart += chunkFrames) {
      const frames = Math.min(chunkFrames, totalFrames - chunkStart);
      const left = new Float32Array(frames);
      const right = new Float32Array(frames);
      let offset = 0;
      while (offset < frames) {
        const now = chunkStart + offset;
        for (let e = events[eventIndex]; e !== undefined && e.frame <= now; e = events[++eventIndex]) {
          applyEvent(synth, e, sounding);
        }
        // Quanta sit on a fixed 128-frame grid (so the chunk size cannot change the audio) and
        // are split at the next event so it lands on its exact sample.
        const nextEventFrame = events[eventIndex]?.frame ?? Number.POSITIVE_INFINITY;
        const count = Math.min(QUANTUM_FRAMES - (now % QUANTUM_FRAMES), frames - offset, nextEventFrame - now);
        synth.process(left, right, offset, count);
        offset += count;
      }
      yield { left, right };
    }
  } finally {
    // Not destroySynthProcessor(): it would also destroy the shared, cached sound bank.
    synth.stopAllChannels(true);
    synth.clearCache();
  }
}

/**
 * One MIDI channel per distinct instrument (program, or "drums"); tracks sharing a program share
 * a channel, which is fine because a NoteSequence has no per-track controllers.
 */
function scheduleEvents(seq: NoteSequence, synth: SpessaSynthProcessor, sampleRateHz: number): ScheduledEvent[] {
  const channelOf = new Map<string, number>();
  let nextMelodic = 0;
  const channelFor = (isDrum: boolean, program: number): number => {
    const key = isDrum ? 'drums' : `p${program}`;
    const known = channelOf.get(key);
    if (known !== undefined) return known;
    let channel: number;
    if (isDrum) channel = GM_DRUM_CHANNEL;
    else {
      // Skip the GM drum channel of each 16-channel port so melodic parts never land on a kit.
      if (nextMelodic % MIDI_CHANNELS_PER_PORT === GM_DRUM_CHANNEL) nextMelodic++;
      channel = nextMelodic++;
    }
    while (synth.midiChannels.length <= channel) synth.createMIDIChannel();
    const midiChannel = synth.midiChannels[channel];
    if (midiChannel) {
      midiChannel.setDrums(isDrum);
      if (!isDrum) synth.programChange(channel, program);
    }
    channelOf.set(key, channel);
    return channel;
  };

  const toFrame = (step: number): number => Math.round(stepToSeconds(seq, step) * sampleRateHz);
  const events: ScheduledEvent[] = [];
  for (const note of seq.notes) {
    const channel = channelFor(note.isDrum, note.program);
    const pitch = Math.min(127, Math.max(0, Math.round(note.pitch)));
    const velocity = Math.min(127, Math.max(1, Math.round(note.velocity)));
    const on = toFrame(note.startStep);
    const off = Math.max(on + 1, toFrame(note.endStep));
    events.push({ frame: on, kind: 1, channel, pitch, velocity });
    events.push({ frame: off, kind: 0, channel, pitch, velocity: 0 });
  }
  events.sort((a, b) => a.frame - b.frame || a.kind - b.kind);
  return events;
}

/**
 * A note-on for a pitch that is still sounding on its channel re-strikes it (note-off first), and
 * only the last overlapping note's end releases it: MIDI cannot tell overlapping equal pitches apart.
 */
function applyEvent(synth: SpessaSynthProcessor, e: ScheduledEvent, sounding: Map<number, number>): void {
  const key = e.channel * 128 + e.pitch;
  const count = sounding.get(key) ?? 0;
  if (e.kind === 1) {
    if (count > 0) synth.noteOff(e.channel, e.pitch);
    synth.noteOn(e.channel, e.pitch, e.velocity);
    sounding.set(key, count + 1);
  } else if (count > 0) {
    if (count === 1) {
      synth.noteOff(e.channel, e.pitch);
      sounding.delete(key);
    } else sounding.set(key, count - 1);
  }
}
