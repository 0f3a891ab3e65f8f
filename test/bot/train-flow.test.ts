import { describe, expect, it } from 'vitest';
import { trainProgressText } from '../../src/bot/train-flow.js';

describe('trainProgressText', () => {
  const p = { epoch: 2, epochs: 50, step: 3, steps: 10, loss: 2.3456, tokensPerSecond: 1000, etaSeconds: 7200 };

  it('GIVEN an ETA inside the time budget WHEN shown THEN it is the ETA', () => {
    expect(trainProgressText({ ...p, etaSeconds: 300 }, { leftSeconds: 3000, minutes: 60 })).toBe('Training: epoch 2/50, step 3/10, loss 2.346, about 5 min left.');
  });

  it('GIVEN an ETA past the time budget WHEN shown THEN it says when the budget stops the run instead of promising epochs it will not reach', () => {
    expect(trainProgressText(p, { leftSeconds: 1500, minutes: 60 })).toBe(
      'Training: epoch 2/50, step 3/10, loss 2.346; stops at its 60-minute time budget in about 25 min, keeping its best epoch.',
    );
  });
});
