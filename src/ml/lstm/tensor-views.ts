/**
 * Reading tfjs results without allocating: the training step reads ~250 small matMul products per
 * batch, and `dataSync()` on the WASM backend copies each into a fresh typed array (garbage that
 * cost ~60 ms of GC per 4,096-token step). On WASM a tensor's values already sit in the module's
 * heap, so a Float32Array view over them is free. Other backends fall back to `dataSync()`.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';

/** The two fields of tfjs-backend-wasm's BackendWasm used here (not part of its public types). */
interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset?: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

/**
 * The float32 values of `tensor`. On WASM this is a VIEW into the module heap: valid only until the
 * tensor is disposed or the next tf op runs (the heap may grow and move); copy out what you keep.
 */
export function tensorValues(tf: Tf, tensor: tfjs.Tensor): Float32Array {
  const backend = tf.backend() as unknown as Partial<WasmBackendInternals>;
  const entry = backend.dataIdMap?.get(tensor.dataId);
  const heap = backend.wasm?.HEAPU8;
  if (tensor.dtype === 'float32' && heap && typeof entry?.memoryOffset === 'number') {
    return new Float32Array(heap.buffer, entry.memoryOffset, tensor.size);
  }
  return tensor.dataSync() as Float32Array;
}

/** Copies `tensor`'s values into `target` at `offset` (no allocation on WASM). */
export function copyTensorInto(tf: Tf, tensor: tfjs.Tensor, target: Float32Array, offset = 0): void {
  target.set(tensorValues(tf, tensor), offset);
}

/**
 * Reusable Float32Array scratch space, by key, so a training step allocates (and the GC frees)
 * nothing large once warm. `get` returns a buffer of exactly `length` values whose contents are
 * whatever the previous user left: callers initialise what they read.
 */
export class ScratchBuffers {
  private readonly buffers = new Map<string, Float32Array>();

  get(key: string, length: number): Float32Array {
    let buffer = this.buffers.get(key);
    if (!buffer || buffer.length < length) {
      buffer = new Float32Array(length);
      this.buffers.set(key, buffer);
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }
}
