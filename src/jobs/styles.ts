/**
 * The composing styles: one model per style, each trained on one corpus, with its own sampling
 * defaults. One model per style rather than one conditioned model, because the styles do not share
 * an encoding (chorales are scored and sampled voice by voice, `voices`; piano and folk use `event`)
 * and because a per-style model is what beat the mixed model on every style's held-out pieces (see
 * each model card). Nothing here knows Discord; the CLI and the bot both read this table.
 */
import { join } from 'node:path';
import { MotifError } from '../errors.js';
import type { StyleRules } from '../ml/generate.js';

export type { StyleRules };

export const STYLE_NAMES = ['piano', 'chorale', 'folk'] as const;
export type StyleName = (typeof STYLE_NAMES)[number];

/** What a new user gets without choosing: solo piano, the broadest of the three. */
export const DEFAULT_STYLE: StyleName = 'piano';

export interface Style {
  name: StyleName;
  /** Shown to users, e.g. in the result message and the /compose choices. */
  label: string;
  /** Folder under MODELS_DIR. */
  modelFolder: string;
  /** Sampling defaults, chosen by measurement (see the model cards). */
  temperature: number;
  topP: number;
  /** Tempo and General MIDI program of a piece composed from scratch. */
  qpm: number;
  program: number;
  /** Sampling rules beyond the model (see ContinuationOptions in src/ml/generate.ts), chosen by measurement. */
  rules: StyleRules;
}

export const STYLES: Readonly<Record<StyleName, Style>> = Object.freeze({
  // T 1.1 / top-p 0.9 by a grid (T 0.9–1.2 × top-p 0.9–0.95, 100 samples each, 3 December): mean
  // overlap 0.849 against 0.808 at the earlier T 0.9 / 0.95, whose samples were narrower in range and
  // slower than the pieces (mean inter-onset 0.69 quarters against 0.43). T 1.0 left a degenerate sample.
  // Temperature on pitches only, and each piece kept loosely in one key (out-of-key pitches 0.8 times
  // as likely), since 3 December's fourth session: 100 samples each on seeds 1 / 2, mean overlap
  // 0.900 / 0.901 against 0.889 / 0.889. At T 1.1 for every token the samples' chords were too thick
  // (polyphony 3.57 notes sounding per onset against the pieces' 2.75; overlap 0.79 / 0.77, now
  // 0.89 / 0.87), and they strayed from their key more than the pieces do.
  // Out-of-key pitches less likely since 4 December: at 0.8 key stability scored 0.78 / 0.83 / 0.73 /
  // 0.73 on seeds 1–4, too many samples leaving their key in every 4-bar window; 0.6 gave 0.86 / 0.83 /
  // 0.798 / 0.87, but 0.5 cost the pitch-class histogram (0.78 on seed 3) while pieces landed on any of
  // the twelve signatures. With the training pieces' signatures (keyPalette: 184 pieces, their
  // Krumhansl–Schmuckler keys, a minor one as its relative major; mean pitch 63.9) that row is
  // 0.87–0.90 at 0.5, and key stability 0.82–0.87 on seeds 1–4 (every row >= 0.82; the model card).
  piano: {
    name: 'piano',
    label: 'Piano (Mutopia public-domain piano music)',
    modelFolder: 'default',
    temperature: 1.1,
    topP: 0.9,
    qpm: 96,
    program: 0,
    rules: {
      monophonic: false,
      temperPitchesOnly: true,
      inOneKey: true,
      outOfKeyWeight: 0.5,
      keyPalette: { majorRoots: [[0, 0.207], [7, 0.174], [5, 0.125], [3, 0.098], [2, 0.087], [10, 0.087], [8, 0.087], [9, 0.06], [6, 0.033], [1, 0.027], [4, 0.011], [11, 0.005]], meanPitch: 63.9 },
    },
  },
  // Four voices; the JSB data has no tempo, 80 quarter notes a minute is a usual chorale pace.
  // Chosen by 100-sample runs with the pitch-spelled model (see models/chorale/MODEL_CARD.md):
  // - no voice rests alone, as in the chorales (polyphony 3.999): polyphony overlap 0.23 -> 0.75;
  //   all four may breathe together between phrases, as 7 of the 77 test chorales do, for a beat at most;
  // - 87 of the 229 training chorales repeat bars, about a quarter of them (a 4-bar Stollen of ~16);
  // - in one key, but an out-of-key pitch 0.1 times as likely rather than refused: the chorales are
  //   chromatic now and then (scale consistency 0.93), refused the samples had 0.98 and too few
  //   pitch classes (entropy overlap 0.61 -> 0.92);
  // - T 1.1 on pitches (under the pitch spelling a held note is a pitch too), against 1.0 and 1.05:
  //   at 1.0 the voices held too long (mean inter-onset 0.85 quarters against 0.67).
  chorale: {
    name: 'chorale',
    label: 'Chorale (Bach, four voices)',
    modelFolder: 'chorale',
    temperature: 1.1,
    topP: 1,
    qpm: 80,
    program: 19,
    // The key signature: the one key the piece is kept in is drawn from all 24, then the piece is
    // moved to a signature drawn as often as the 229 training chorales have it (keys as for folk
    // below): G 19.2%, C 17.9%, F 15.7%, D 15.3%, Bb 14%, A 9.2%, Eb, E 3.9%, Ab, B 0.4%. In all
    // 24 keys alike, the samples' (absolute) pitch-class histogram overlapped Bach's by 0.79.
    rules: {
      monophonic: false,
      unbrokenVoices: true,
      repeatOpening: { probability: 0.38, bars: 4 },
      temperPitchesOnly: true,
      inOneKey: true,
      outOfKeyWeight: 0.1,
      keyPalette: { majorRoots: [[7, 0.192], [0, 0.179], [5, 0.157], [2, 0.153], [10, 0.14], [9, 0.092], [3, 0.039], [4, 0.039], [8, 0.004], [11, 0.004]], meanPitch: 60.6 },
    },
  },
  // The median tempo of the CRÉ tunes is 180 quarter notes a minute; a flute carries the melody.
  // Not one note per onset any more: since its last 21 epochs (its place in the bar as input, a real
  // 1e-3) the model writes the tunes' occasional double stops at about their rate (polyphony 1.10
  // against 1.07; the rule gave 1.00, and the model before, left alone, 1.44).
  folk: {
    name: 'folk',
    label: 'Folk (Irish dance tunes)',
    modelFolder: 'folk',
    temperature: 1,
    topP: 0.95,
    qpm: 180,
    program: 73,
    // The training tunes' key signatures (Krumhansl–Schmuckler keys, a minor one as its relative
    // major) and mean pitch, over the 925 training tunes: D 42.7%, G 41.7%, A 9.5%, C 4.4%, E, F, Bb.
    // Since 3 December's fifth session each tune is also kept loosely in one key (out-of-key pitches
    // 0.6 times as likely): the samples left their key more often than the tunes (key stability
    // overlap 0.79 / 0.79 on seeds 1 / 2, now 0.82 / 0.81; mean 0.932 / 0.940 -> 0.938 / 0.939).
    // At 0.8 the row was 0.81 / 0.75: it is the noisiest of the table.
    rules: {
      monophonic: false,
      inOneKey: true,
      outOfKeyWeight: 0.6,
      keyPalette: { majorRoots: [[2, 0.427], [7, 0.417], [9, 0.095], [0, 0.044], [4, 0.01], [5, 0.004], [10, 0.002]], meanPitch: 70.1 },
    },
  },
});

export function isStyleName(text: string): text is StyleName {
  return (STYLE_NAMES as readonly string[]).includes(text);
}

/**
 * @throws MotifError OPTION_OUT_OF_RANGE naming the styles there are.
 */
export function parseStyle(text: string): Style {
  const name = text.trim().toLowerCase();
  if (!isStyleName(name)) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `There is no style “${text.slice(0, 40)}”. Choose one of: ${STYLE_NAMES.join(', ')}.`);
  }
  return STYLES[name];
}

/** The sampling and playback fields of a compose request that a style has defaults for. */
export interface StyleRequestFields {
  temperature?: number;
  topP?: number;
  program?: number;
  qpm?: number;
}

/**
 * A compose request's sampling and playback fields under a style: what was asked wins, then the
 * style's defaults; a piece continuing a seed keeps the seed's own instrument and tempo unless asked.
 * Without a style (a guild's own model), only what was asked. The CLI, the bot and the bench all
 * build their requests with it, so a style sounds the same from each.
 */
export function styleRequestFields(
  style: Style | undefined,
  asked: StyleRequestFields,
  continuesSeed: boolean,
): StyleRequestFields {
  return {
    temperature: asked.temperature ?? style?.temperature,
    topP: asked.topP ?? style?.topP,
    program: asked.program ?? (continuesSeed ? undefined : style?.program),
    qpm: asked.qpm ?? (continuesSeed ? undefined : style?.qpm),
  };
}

export function styleModelDir(modelsDir: string, style: Style): string {
  return join(modelsDir, style.modelFolder);
}
