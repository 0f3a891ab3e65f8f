/**
 * The only place that loads TensorFlow.js. Picks a backend once per process:
 * `@tensorflow/tfjs-node` when it is installed (native, fastest), else `@tensorflow/tfjs` on the
 * WASM backend (~30× faster than the pure-JS CPU backend here), else the CPU backend, logged.
 */
import * as tfjs from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Tf = typeof tfjs;
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let ready: Promise<{ tf: Tf; backend: BackendName }> | undefined;

export interface TfInitOptions {
  /** Force a backend (tests and benches compare them). */
  prefer?: BackendName;
  log?: (message: string) => void;
}

/** Resolves once the backend is ready; every later call returns the same instance. */
export function initTf(opts: TfInitOptions = {}): Promise<{ tf: Tf; backend: BackendName }> {
  ready ??= pickBackend(opts);
  return ready;
}

async function pickBackend(opts: TfInitOptions): Promise<{ tf: Tf; backend: BackendName }> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[tf] ${m}\n`));
  const order: BackendName[] = opts.prefer ? [opts.prefer, 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // Optional dependency: absent on machines without internet at install time.
        const moduleName = '@tensorflow/tfjs-node';
        const native = (await import(moduleName)) as unknown as Tf;
        await native.setBackend('tensorflow');
        await native.ready();
        return { tf: native, backend: 'tensorflow' };
      }
      if (name === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        const require = createRequire(import.meta.url);
        const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        // In Node the backend fetches its .wasm by path; point it at the installed package.
        wasm.setWasmPaths(pathToFileURL(join(distDir, '/')).pathname);
        if (!(await tfjs.setBackend('wasm'))) throw new Error('wasm backend refused to initialise');
        await tfjs.ready();
        return { tf: tfjs, backend: 'wasm' };
      }
      await tfjs.setBackend('cpu');
      await tfjs.ready();
      log('falling back to the CPU backend: expect ~30x slower training and transcription');
      return { tf: tfjs, backend: 'cpu' };
    } catch (error) {
      if (name !== 'tensorflow') log(`backend ${name} unavailable: ${(error as Error).message}`);
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}
