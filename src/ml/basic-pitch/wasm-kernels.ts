/**
 * Faster WASM kernels for the data-movement ops that dominate Basic Pitch on tfjs-backend-wasm 4.
 *
 * Profiling one 2 s window (389 ms) showed `Concat` 128 ms, `StridedSlice` 96 ms, `Pack` 17 ms
 * and `Equal` 12 ms, against 110 ms for all the convolutions, on tensors of only ~50k floats. The
 * model's harmonic stacking slices and concatenates [1,172,309,1] tensors on the last axis: the
 * stock kernels copy one float at a time through a fresh `subarray()` (~425k allocations per
 * call), and `Equal` against a one-element tensor takes the generic broadcasting path. These are
 * replaced by plain loops with incremental offsets.
 *
 * The replacements keep the stock semantics: anything outside the fast path (strings, shapes the
 * fast path does not cover) is delegated to the original kernel, so the rest of Motif (the LSTM)
 * can share the same registry safely.
 */
import type { Tf } from '../tf.js';

type TypedArray = Float32Array | Int32Array | Uint8Array;

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The parts of tfjs-backend-wasm's BackendWasm these kernels touch. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfoLike;
  typedArrayFromHeap(info: TensorInfoLike): TypedArray;
  disposeData(dataId: object): boolean;
}

type KernelFunc = (args: { inputs: unknown; backend: unknown; attrs?: unknown }) => unknown;

const installed = new WeakSet<object>();

/**
 * Registers the fast `Concat`, `Pack`, `StridedSlice` and `Equal` kernels for the `wasm` backend.
 * Idempotent.
 * Does nothing when the wasm backend is not registered.
 */
export function installFastWasmKernels(tf: Tf): void {
  if (installed.has(tf)) return;
  installed.add(tf);
  const stockConcat = tf.getKernel('Concat', 'wasm');
  const stockSlice = tf.getKernel('StridedSlice', 'wasm');
  const stockPack = tf.getKernel('Pack', 'wasm');
  const stockEqual = tf.getKernel('Equal', 'wasm');
  const stockReshape = tf.getKernel('Reshape', 'wasm');
  if (!stockConcat || !stockSlice || !stockPack || !stockEqual || !stockReshape) return;
  const reshape = stockReshape.kernelFunc as KernelFunc;

  const concatFunc = makeConcat(tf, stockConcat.kernelFunc as KernelFunc);
  const replacements: Array<[typeof stockConcat, KernelFunc]> = [
    [stockConcat, concatFunc],
    [stockPack, makePack(tf, stockPack.kernelFunc as KernelFunc, concatFunc, reshape)],
    [stockSlice, makeStridedSlice(tf, stockSlice.kernelFunc as KernelFunc, reshape)],
    [stockEqual, makeEqualToScalar(tf, stockEqual.kernelFunc as KernelFunc)],
  ];
  for (const [config, kernelFunc] of replacements) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: kernelFunc as never });
  }
}

/** `stack` = expand each input at `axis` (a reshape, no copy) then concatenate on it. */
function makePack(tf: Tf, stock: KernelFunc, concat: KernelFunc, reshape: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as TensorInfoLike[];
    const backend = args.backend as WasmBackendLike;
    const { axis } = args.attrs as { axis: number };
    const first = inputs[0];
    if (!first || inputs.length < 2 || first.dtype === 'string') return stock(args);
    if (inputs.some((t) => t.dtype !== first.dtype || !tf.util.arraysEqual(t.shape, first.shape))) return stock(args);
    const rank = first.shape.length;
    const at = axis < 0 ? axis + rank + 1 : axis;
    const shape = [...first.shape.slice(0, at), 1, ...first.shape.slice(at)];
    const expanded = inputs.map((t) => reshape({ inputs: { x: t }, backend, attrs: { shape } }) as TensorInfoLike);
    const result = concat({ inputs: expanded, backend, attrs: { axis: at } });
    for (const t of expanded) backend.disposeData(t.dataId);
    return result;
  };
}

/** `Equal` where one side holds a single float (DivNoNan's `y == 0`); else the stock kernel. */
function makeEqualToScalar(tf: Tf, stock: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfoLike; b: TensorInfoLike };
    const backend = args.backend as WasmBackendLike;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const aSize = tf.util.sizeFromShape(a.shape);
    const bSize = tf.util.sizeFromShape(b.shape);
    const [scalar, tensor] = aSize === 1 ? [a, b] : bSize === 1 ? [b, a] : [undefined, undefined];
    if (!scalar || !tensor || scalar.shape.length > tensor.shape.length) return stock(args);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (!tf.util.arraysEqual(outShape, tensor.shape)) return stock(args);
    const value = backend.typedArrayFromHeap(scalar)[0] as number;
    const src = backend.typedArrayFromHeap(tensor);
    const out = backend.makeOutput(outShape, 'bool');
    const outVals = backend.typedArrayFromHeap(out);
    for (let i = 0; i < src.length; i++) outVals[i] = src[i] === value ? 1 : 0;
    return out;
  };
}

function makeConcat(tf: Tf, stock: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as TensorInfoLike[];
    const backend = args.backend as WasmBackendLike;
    const attrs = args.attrs as { axis: number | number[] };
    const first = inputs[0];
    const nonEmpty = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
    if (!first || first.dtype === 'string' || nonEmpty.length < 2) return stock(args);
    const axis = tf.util.parseAxisParam(attrs.axis, first.shape)[0] ?? 0;
    tf.backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      axis,
    );
    const outShape = tf.backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      axis,
    );
    const out = backend.makeOutput(outShape, first.dtype);
    const outVals = backend.typedArrayFromHeap(out);
    const outerSize = tf.util.sizeFromShape(first.shape.slice(0, axis));
    const innerSizes = nonEmpty.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const inVals = nonEmpty.map((t) => backend.typedArrayFromHeap(t));
    let outOffset = 0;
    for (let b = 0; b < outerSize; b++) {
      for (let i = 0; i < inVals.length; i++) {
        const inner = innerSizes[i] ?? 0;
        const src = inVals[i] as TypedArray;
        const start = b * inner;
        // Short runs: a scalar loop beats subarray()+set(), which allocates per call.
        if (inner < 64) {
          for (let j = 0; j < inner; j++) outVals[outOffset + j] = src[start + j] as number;
        } else {
          outVals.set(src.subarray(start, start + inner), outOffset);
        }
        outOffset += inner;
      }
    }
    return out;
  };
}

function makeStridedSlice(tf: Tf, stock: KernelFunc, reshape: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfoLike };
    const backend = args.backend as WasmBackendLike;
    const a = args.attrs as {
      begin: number[];
      end: number[];
      strides: number[];
      beginMask: number;
      endMask: number;
      ellipsisMask: number;
      newAxisMask: number;
      shrinkAxisMask: number;
    };
    if (x.dtype !== 'float32') return stock(args);
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    const rank = x.shape.length;
    const sparse = info.finalShapeSparse;
    // The stock kernel is already fast for identity and dim-0 (contiguous) slices; its "simple
    // slice" path is not: it copies runs of one float through subarray().
    if (info.isIdentity || info.sliceDim0) return stock(args);
    if (info.begin.length !== rank || info.strides.length !== rank || sparse.length !== rank) return stock(args);

    const out = backend.makeOutput(sparse, 'float32');
    const outVals = backend.typedArrayFromHeap(out);
    const xVals = backend.typedArrayFromHeap(x);
    const xStrides = [...tf.util.computeStrides(x.shape), 1];
    let outIndex = 0;
    const copy = (dim: number, xOffset: number): void => {
      const n = sparse[dim] ?? 0;
      const step = (info.strides[dim] ?? 1) * (xStrides[dim] ?? 1);
      let offset = xOffset + (info.begin[dim] ?? 0) * (xStrides[dim] ?? 1);
      if (dim === rank - 1) {
        for (let i = 0; i < n; i++, offset += step) outVals[outIndex++] = xVals[offset] as number;
        return;
      }
      for (let i = 0; i < n; i++, offset += step) copy(dim + 1, offset);
    };
    if (tf.util.sizeFromShape(sparse) > 0) copy(0, 0);
    const result = reshape({ inputs: { x: out }, backend, attrs: { shape: info.finalShape } });
    backend.disposeData(out.dataId);
    return result;
  };
}
