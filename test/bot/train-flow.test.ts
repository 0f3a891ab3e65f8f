import { describe, expect, it } from 'vitest';
import { worthSwitchingTo } from '../../src/bot/train-flow.js';

describe('worthSwitchingTo (what a /train run stopped by TRAIN_MAX_MINUTES leaves the guild with)', () => {
  it('GIVEN a run that finished WHEN judged THEN the guild switches to it, from scratch or not', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: false, completedEpochs: 1 }, { from: 'scratch' })).toBe(true);
    expect(worthSwitchingTo({ stoppedAtTimeBudget: false, completedEpochs: 5 }, { from: 'default' })).toBe(true);
  });

  it('GIVEN a fine-tune of the shipped model cut short in its first epoch WHEN judged THEN it is kept: it started from trained weights', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 0 }, { from: 'default' })).toBe(true);
  });

  it('GIVEN a from-scratch run cut short WHEN judged THEN it is kept only after one whole pass over the corpus', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 0 }, { from: 'scratch' })).toBe(false);
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 1 }, { from: 'scratch' })).toBe(true);
  });
});
