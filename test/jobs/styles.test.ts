import { describe, expect, it } from 'vitest';
import { STYLES, styleRequestFields } from '../../src/jobs/styles.js';

describe('styleRequestFields', () => {
  const folk = STYLES.folk;

  it('GIVEN a style and nothing asked WHEN a piece starts from scratch THEN it takes the style’s sampling, instrument and tempo', () => {
    expect(styleRequestFields(folk, {}, false)).toEqual({ temperature: folk.temperature, topP: folk.topP, program: folk.program, qpm: folk.qpm });
  });

  it('GIVEN a seed to continue WHEN nothing else is asked THEN the seed keeps its own instrument and tempo, the style still samples', () => {
    expect(styleRequestFields(folk, {}, true)).toEqual({ temperature: folk.temperature, topP: folk.topP, program: undefined, qpm: undefined });
  });

  it('GIVEN values asked for WHEN combined with a style THEN each asked value wins, seed or not', () => {
    const asked = { temperature: 0.7, topP: 0.5, program: 40, qpm: 90 };
    expect(styleRequestFields(folk, asked, false)).toEqual(asked);
    expect(styleRequestFields(folk, asked, true)).toEqual(asked);
  });

  it('GIVEN no style (a guild’s own model) WHEN only a tempo is asked THEN nothing else is filled in', () => {
    expect(styleRequestFields(undefined, { qpm: 100 }, false)).toEqual({ temperature: undefined, topP: undefined, program: undefined, qpm: 100 });
  });
});
