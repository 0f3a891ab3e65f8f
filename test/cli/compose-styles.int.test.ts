/**
 * `npm run compose -- --style NAME` with the shipped models: each style composes with its own model
 * and defaults, ends on the tonic with no silent beat (a chorale's shared breath: a beat at most),
 * and an unknown style is one line and exit 2.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures } from '../../src/music/analysis/features.js';
import { computeStructure } from '../../src/music/analysis/structure.js';
import { readMidi } from '../../src/music/midi-io.js';
import { countNoteEvents, type NoteSequence } from '../../src/music/note-sequence.js';
import { STYLE_NAMES, STYLES } from '../../src/jobs/styles.js';
import { runCli } from '../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-compose-styles-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The longest stretch, in grid steps, where nothing sounds between the first onset and the last note's end. */
function longestSilenceSteps(seq: NoteSequence): number {
  const end = seq.notes.reduce((e, n) => Math.max(e, n.endStep), 0);
  const sounding = new Uint8Array(end);
  for (const n of seq.notes) sounding.fill(1, n.startStep, n.endStep);
  let longest = 0;
  let run = 0;
  for (let step = Math.min(...seq.notes.map((n) => n.startStep)); step < end; step++) {
    run = sounding[step] ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe('npm run compose --style', () => {
  it.each(STYLE_NAMES)('GIVEN --style %s WHEN run THEN its model composes exactly the length asked, at the style’s tempo, ending on the tonic', async (style) => {
    const out = join(dir, style);
    const { code, stdout, stderr } = await runCli('compose', ['--style', style, '--length', '48', '--json', '--out', out, '--random-seed', '5']);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { midiPath: string; modelName: string; style: string; qpm: number; program: number };
    expect(summary.style).toBe(style);
    expect(summary.qpm).toBe(STYLES[style].qpm);
    expect(summary.program).toBe(STYLES[style].program);
    const midi = readMidi(new Uint8Array(await readFile(summary.midiPath)));
    expect(countNoteEvents(midi)).toBe(48);
    expect(computeStructure(midi).endsOnTonic).toBe(1);
    // No dead beats (the sampling guard); a chorale's four voices may breathe together, for a beat
    // at most, as Bach's do now and then. A style that writes melodies keeps them one line.
    if (STYLES[style].rules.unbrokenVoices) expect(longestSilenceSteps(midi)).toBeLessThanOrEqual(midi.stepsPerQuarter);
    else expect(computeFeatures(midi).emptyBeatRate).toBe(0);
    const onsets = new Map<number, number>();
    for (const n of midi.notes) onsets.set(n.startStep, (onsets.get(n.startStep) ?? 0) + 1);
    if (STYLES[style].rules.monophonic) expect(Math.max(...onsets.values())).toBe(1);
  });

  it('GIVEN an unknown style WHEN run THEN one line naming the choices, exit 2, nothing written', async () => {
    const { code, stderr } = await runCli('compose', ['--style', 'polka', '--out', join(dir, 'bad')]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--style must be one of piano, chorale, folk/);
  });
});
