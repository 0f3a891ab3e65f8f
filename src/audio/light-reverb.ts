/**
 * A small Freeverb-style room (Jezar's public-domain design: parallel damped combs into series
 * all-passes, per channel) plugged into spessasynth as its reverb processor.
 *
 * Why: spessasynth's stock GS reverb costs ~40 ms of CPU per second of audio on the target machine
 * (it alone made rendering 6× slower); this one costs a few ms and sounds like a modest room,
 * which is all a preview needs. The per-voice reverb sends still come from the SoundFont/MIDI.
 */
import type { ReverbProcessor, ReverbProcessorSnapshot } from 'spessasynth_core';

/** Freeverb's tunings at 44.1 kHz, scaled for other rates. */
const COMB_TUNINGS = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617] as const;
const ALLPASS_TUNINGS = [556, 441, 341, 225] as const;
const STEREO_SPREAD = 23;
const ALLPASS_FEEDBACK = 0.5;
/** Freeverb's input attenuation keeps the comb bank far from overflow. */
const INPUT_GAIN = 0.015;

class Comb {
  private readonly buffer: Float32Array;
  private index = 0;
  private filterStore = 0;
  constructor(length: number) {
    this.buffer = new Float32Array(length);
  }
  process(input: number, feedback: number, damp: number): number {
    const out = this.buffer[this.index]!;
    this.filterStore = out * (1 - damp) + this.filterStore * damp;
    this.buffer[this.index] = input + this.filterStore * feedback;
    if (++this.index >= this.buffer.length) this.index = 0;
    return out;
  }
}

class Allpass {
  private readonly buffer: Float32Array;
  private index = 0;
  constructor(length: number) {
    this.buffer = new Float32Array(length);
  }
  process(input: number): number {
    const buffered = this.buffer[this.index]!;
    this.buffer[this.index] = input + buffered * ALLPASS_FEEDBACK;
    if (++this.index >= this.buffer.length) this.index = 0;
    return buffered - input;
  }
}

export interface LightReverbOptions {
  sampleRateHz: number;
  /** 0–1: longer decay with larger values (Freeverb room size). Default 0.65. */
  roomSize?: number;
  /** 0–1: high-frequency damping in the tail. Default 0.5. */
  damping?: number;
  /** Wet output gain (linear). Default 6: the wet signal sits ~13 dB under the dry one on a FluidR3 piano. */
  wetGain?: number;
}

/** Freeverb as a spessasynth {@link ReverbProcessor}: mono send in, stereo wet added to the output. */
export class LightReverb implements ReverbProcessor {
  // GS-style fields the synth may set through SysEx; kept so snapshots round-trip, mostly unused.
  level = 64;
  preLowpass = 0;
  character = 4;
  time = 64;
  delayFeedback = 0;
  preDelayTime = 0;

  private readonly combsL: Comb[];
  private readonly combsR: Comb[];
  private readonly allpassL: Allpass[];
  private readonly allpassR: Allpass[];
  private readonly feedback: number;
  private readonly damp: number;
  private readonly wetGain: number;

  constructor(opts: LightReverbOptions) {
    const scale = opts.sampleRateHz / 44_100;
    const len = (n: number): number => Math.max(1, Math.round(n * scale));
    this.combsL = COMB_TUNINGS.map((n) => new Comb(len(n)));
    this.combsR = COMB_TUNINGS.map((n) => new Comb(len(n + STEREO_SPREAD)));
    this.allpassL = ALLPASS_TUNINGS.map((n) => new Allpass(len(n)));
    this.allpassR = ALLPASS_TUNINGS.map((n) => new Allpass(len(n + STEREO_SPREAD)));
    this.feedback = (opts.roomSize ?? 0.65) * 0.28 + 0.7;
    this.damp = (opts.damping ?? 0.5) * 0.4;
    this.wetGain = opts.wetGain ?? 6;
  }

  process(input: Float32Array, outputLeft: Float32Array, outputRight: Float32Array, startIndex: number, sampleCount: number): void {
    const { combsL, combsR, allpassL, allpassR, feedback, damp } = this;
    const wet = this.wetGain * (this.level / 64);
    for (let i = 0; i < sampleCount; i++) {
      const x = input[i]! * INPUT_GAIN;
      let l = 0;
      let r = 0;
      for (let c = 0; c < combsL.length; c++) {
        l += combsL[c]!.process(x, feedback, damp);
        r += combsR[c]!.process(x, feedback, damp);
      }
      for (let a = 0; a < allpassL.length; a++) {
        l = allpassL[a]!.process(l);
        r = allpassR[a]!.process(r);
      }
      outputLeft[startIndex + i]! += l * wet;
      outputRight[startIndex + i]! += r * wet;
    }
  }

  getSnapshot(): ReverbProcessorSnapshot {
    return {
      level: this.level,
      preLowpass: this.preLowpass,
      character: this.character,
      time: this.time,
      delayFeedback: this.delayFeedback,
      preDelayTime: this.preDelayTime,
    };
  }
}
