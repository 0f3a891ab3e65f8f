/**
 * Data-parallel training on a second core. tfjs-wasm's threaded build is not enabled in Node, so
 * the only way to use the second core is a second tfjs instance: a worker thread holding a replica
 * of the network computes the gradients of half the batch while the owner computes the other half.
 *
 * The exchange is synchronous over SharedArrayBuffers and Atomics (no event-loop round trips), so
 * `LanguageModel.trainStep` stays a plain synchronous call:
 *   owner: write weights (when changed) + the helper's ids → bump `request` → compute own half →
 *          Atomics.wait for `done` → read the helper's gradient sums.
 * Determinism: the split, both replicas' dropout streams and the reduction order are fixed.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LanguageModelConfig } from './language-model.js';

/** Control slots (Int32). */
const REQUEST = 0;
const DONE = 1;
const BATCH = 2;
const STEPS = 3;
const WEIGHTS_VERSION = 4;
const FAILED = 5;
/** The owner's update number: the replica re-seeds its dropout from it, as the owner does. */
const UPDATE = 6;
const CONTROL_SLOTS = 8;
/** DONE value meaning the worker never came up. */
const START_FAILED = -2;

export interface HelperLayout {
  /** name → [offset, length] in the flat weight / gradient buffers, in weightShapes() order. */
  offsets: Array<{ name: string; offset: number; length: number }>;
  totalValues: number;
  maxTokens: number;
}

export interface HelperBuffers {
  control: SharedArrayBuffer;
  /** [0] = summed loss (nats), [1] = scored targets. */
  stats: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  targets: SharedArrayBuffer;
  /** Each input's index within its piece (see LanguageModel.trainStep). */
  positions: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
}

export interface HelperInit {
  config: LanguageModelConfig;
  layout: HelperLayout;
  buffers: HelperBuffers;
}

/** Owner side of one helper replica. */
export class GradientHelper {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly stats: Float64Array;
  private readonly ids: Int32Array;
  private readonly targets: Int32Array;
  private readonly positions: Int32Array;
  readonly weights: Float32Array;
  readonly grads: Float32Array;
  private sequence = 0;
  private weightsVersion = 0;
  private pending = false;

  constructor(config: LanguageModelConfig, readonly layout: HelperLayout) {
    const buffers: HelperBuffers = {
      control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
      stats: new SharedArrayBuffer(16),
      ids: new SharedArrayBuffer(layout.maxTokens * 4),
      targets: new SharedArrayBuffer(layout.maxTokens * 4),
      positions: new SharedArrayBuffer(layout.maxTokens * 4),
      weights: new SharedArrayBuffer(layout.totalValues * 4),
      grads: new SharedArrayBuffer(layout.totalValues * 4),
    };
    this.control = new Int32Array(buffers.control);
    this.stats = new Float64Array(buffers.stats);
    this.ids = new Int32Array(buffers.ids);
    this.targets = new Int32Array(buffers.targets);
    this.positions = new Int32Array(buffers.positions);
    this.weights = new Float32Array(buffers.weights);
    this.grads = new Float32Array(buffers.grads);
    // The helper body is TypeScript: register tsx's loader inside the worker, then import it. A
    // failure to start is reported through the control block, because the owner blocks in
    // Atomics.wait and would never see the worker's 'error' event.
    const require = createRequire(import.meta.url);
    // require.resolve picks the CommonJS build of tsx's API; its ESM twin sits beside it.
    const tsxApi = pathToFileURL(join(dirname(require.resolve('tsx/esm/api')), 'index.mjs')).href;
    const body = new URL('./gradient-helper-worker.ts', import.meta.url).href;
    const bootstrap = `
      const { workerData } = require('node:worker_threads');
      import(${JSON.stringify(tsxApi)})
        .then((api) => { api.register(); return import(${JSON.stringify(body)}); })
        .catch((error) => {
          process.stderr.write('[gradient-helper] could not start: ' + (error && error.stack || error) + '\\n');
          const control = new Int32Array(workerData.buffers.control);
          Atomics.store(control, ${FAILED}, 1);
          Atomics.store(control, ${DONE}, ${START_FAILED});
          Atomics.notify(control, ${DONE});
        });`;
    this.worker = new Worker(bootstrap, { eval: true, workerData: { config, layout, buffers } satisfies HelperInit });
    this.worker.unref();
  }

  /**
   * Starts the helper on [batch × steps] ids and their positions within their pieces (row-major).
   * When `weightsChanged`, `this.weights` must already hold the current weights.
   */
  start(inputIds: Int32Array, targetIds: Int32Array, positions: Int32Array, batch: number, steps: number, weightsChanged: boolean, update: number): void {
    if (batch * steps > this.layout.maxTokens) throw new RangeError(`helper batch ${batch}×${steps} exceeds ${this.layout.maxTokens} tokens`);
    this.ids.set(inputIds);
    this.targets.set(targetIds);
    this.positions.set(positions);
    Atomics.store(this.control, BATCH, batch);
    Atomics.store(this.control, STEPS, steps);
    Atomics.store(this.control, UPDATE, update);
    if (weightsChanged) Atomics.store(this.control, WEIGHTS_VERSION, ++this.weightsVersion);
    Atomics.store(this.control, REQUEST, ++this.sequence);
    Atomics.notify(this.control, REQUEST);
    this.pending = true;
  }

  /**
   * Blocks until the helper has finished; its gradients (of the SUMMED loss) are then in `grads`.
   * @throws Error when the helper failed or did not answer within `timeoutMs`.
   */
  finish(timeoutMs = 600_000): { nllSum: number; count: number } {
    if (!this.pending) throw new Error('gradient helper was not started');
    this.pending = false;
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.control, DONE) !== this.sequence) {
      if (Atomics.load(this.control, DONE) === START_FAILED) throw new Error('gradient helper could not start (see its log)');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('gradient helper did not answer');
      Atomics.wait(this.control, DONE, Atomics.load(this.control, DONE), Math.min(left, 1000));
    }
    if (Atomics.load(this.control, FAILED) !== 0) throw new Error('gradient helper failed (see its log)');
    return { nllSum: this.stats[0]!, count: this.stats[1]! };
  }

  dispose(): void {
    Atomics.store(this.control, REQUEST, -1);
    Atomics.notify(this.control, REQUEST);
    void this.worker.terminate();
  }
}

/** Worker side: exported for gradient-helper-worker.ts. */
export const HELPER_SLOTS = { REQUEST, DONE, BATCH, STEPS, WEIGHTS_VERSION, FAILED, UPDATE } as const;
