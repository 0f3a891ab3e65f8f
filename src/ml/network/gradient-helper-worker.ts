/**
 * Worker thread body of {@link GradientHelper}: a replica of the network that, on each request,
 * loads new weights if they changed and writes the gradients of its half-batch's summed loss.
 * It blocks in Atomics.wait between requests; it has nothing else to do.
 */
import { workerData } from 'node:worker_threads';
import { HELPER_SLOTS, type HelperInit } from './gradient-helper.js';
import { LanguageModel } from './language-model.js';
import type { NamedWeights } from '../weights.js';

const { config, layout, buffers } = workerData as HelperInit;
const control = new Int32Array(buffers.control);
const stats = new Float64Array(buffers.stats);
const ids = new Int32Array(buffers.ids);
const targets = new Int32Array(buffers.targets);
const positions = new Int32Array(buffers.positions);
const weights = new Float32Array(buffers.weights);
const grads = new Float32Array(buffers.grads);

// A different dropout stream from the owner's, still fixed by the model seed.
const model = await LanguageModel.create({ ...config, seed: config.seed + 0.5, trainingThreads: 1 });
let seenRequest = 0;
let seenWeights = 0;
for (;;) {
  Atomics.wait(control, HELPER_SLOTS.REQUEST, seenRequest);
  const request = Atomics.load(control, HELPER_SLOTS.REQUEST);
  if (request < 0) break;
  if (request === seenRequest) continue;
  seenRequest = request;
  try {
    const version = Atomics.load(control, HELPER_SLOTS.WEIGHTS_VERSION);
    if (version !== seenWeights) {
      const named: NamedWeights = {};
      const shapes = model.weightShapes();
      for (const { name, offset, length } of layout.offsets) {
        named[name] = { shape: shapes[name]!, values: weights.slice(offset, offset + length) };
      }
      model.setWeights(named);
      seenWeights = version;
    }
    const batch = Atomics.load(control, HELPER_SLOTS.BATCH);
    const steps = Atomics.load(control, HELPER_SLOTS.STEPS);
    const n = batch * steps;
    model.reseedDropout(Atomics.load(control, HELPER_SLOTS.UPDATE));
    const result = model.computeGradients(ids.slice(0, n), targets.slice(0, n), batch, steps, { training: true, positions: positions.slice(0, n) });
    for (const { name, offset } of layout.offsets) {
      const g = result.grads[name]!;
      const values = g.dataSync();
      for (let i = 0; i < values.length; i++) grads[offset + i] = values[i]! * result.count;
      g.dispose();
    }
    stats[0] = result.loss * result.count;
    stats[1] = result.count;
    Atomics.store(control, HELPER_SLOTS.FAILED, 0);
  } catch (error) {
    process.stderr.write(`[gradient-helper] ${(error as Error).stack ?? String(error)}\n`);
    Atomics.store(control, HELPER_SLOTS.FAILED, 1);
  }
  Atomics.store(control, HELPER_SLOTS.DONE, request);
  Atomics.notify(control, HELPER_SLOTS.DONE);
}
model.dispose();
