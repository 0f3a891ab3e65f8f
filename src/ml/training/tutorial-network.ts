/**
 * Lets the tutorial's network train in the shared epoch loop: a language-model batch of rows of
 * `windowSize` ids becomes `batch` tutorial windows whose single target is each row's last target
 * (the token right after the window), exactly the tutorial's one-target-per-window regime.
 */
import type { TutorialModel } from '../network/tutorial-model.js';
import type { NamedWeights } from '../weights.js';
import type { Batch } from './batches.js';
import type { TrainableNetwork } from './train-loop.js';

export function tutorialTrainable(model: TutorialModel): TrainableNetwork {
  const lastTargets = (batch: Batch): Int32Array => {
    const targets = new Int32Array(batch.batch);
    for (let row = 0; row < batch.batch; row++) targets[row] = batch.targets[row * batch.time + batch.time - 1]!;
    return targets;
  };
  const check = (batch: Batch): void => {
    if (batch.time !== model.config.windowSize) {
      throw new RangeError(`tutorial windows must be ${model.config.windowSize} long, got ${batch.time}`);
    }
  };
  return {
    trainBatch: (batch) => {
      check(batch);
      return model.trainStep(batch.inputs, lastTargets(batch));
    },
    evaluateBatch: (batch) => {
      // The evaluation tail may be shorter than a window; the tutorial cannot score it.
      if (batch.time !== model.config.windowSize) return { nll: 0, count: 0 };
      const { nll, count } = model.evaluate(batch.inputs, lastTargets(batch));
      return { nll, count };
    },
    getWeights: (): NamedWeights => model.getWeights(),
    setWeights: (weights) => model.setWeights(weights),
  };
}
