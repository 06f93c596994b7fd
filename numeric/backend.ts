import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../symbolic/errors.ts';

/**
 * Where the numbers are computed. The tfjs backends run in float32; `reference` is the float64
 * evaluator on plain typed arrays (numeric/reference.ts).
 */
export const BACKENDS = ['wasm', 'cpu', 'tensorflow', 'webgpu', 'reference'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type TfBackendName = Exclude<BackendName, 'reference'>;

export const DEFAULT_BACKEND: BackendName = 'wasm';

/** One line per backend, for --help and the README. */
export const BACKEND_NOTES: Readonly<Record<BackendName, string>> = {
  wasm: 'tfjs WebAssembly (XNNPACK, SIMD), float32; the default',
  cpu: 'tfjs plain JavaScript, float32; a fallback, about 40× slower than wasm at matMul',
  tensorflow: 'tfjs-node (libtensorflow), float32; only if @tensorflow/tfjs-node is installed',
  webgpu: 'tfjs WebGPU over Dawn (npm "webgpu"), float32; needs a GPU with a Vulkan driver',
  reference: 'float64 evaluator on plain arrays; exact checks and small networks',
};

async function importOptional(name: string): Promise<unknown | undefined> {
  try {
    return await import(name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * Whether the Vulkan loader Dawn needs on Linux can be found (LD_LIBRARY_PATH, the linker cache,
 * the usual directories). Without it Dawn prints native warnings and finds no adapter.
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const name = 'libvulkan.so.1';
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib'];
  if (dirs.some((d) => existsSync(join(d, name)))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(name);
  } catch {
    return false;
  }
}

/** Dawn's Node bindings provide navigator.gpu; returns why they could not, or undefined. */
async function provideNavigatorGpu(): Promise<string | undefined> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return undefined;
  if (!vulkanLoaderPresent()) return 'no Vulkan loader (libvulkan.so.1) was found, and Dawn needs one with a GPU driver';
  const webgpu = (await importOptional('webgpu')) as { create: (flags: string[]) => unknown; globals: object } | undefined;
  if (!webgpu) return 'the optional package "webgpu" (Dawn for Node) is not installed; run npm install webgpu';
  let gpu: unknown;
  try {
    gpu = webgpu.create([]);
  } catch (err) {
    return `Dawn could not start: ${(err as Error).message.split('\n')[0]}`;
  }
  Object.assign(globalThis, webgpu.globals);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return undefined;
}

async function registerBackend(name: TfBackendName): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'tensorflow':
      if (!(await importOptional('@tensorflow/tfjs-node')))
        throw new InputError(
          'backend "tensorflow" needs @tensorflow/tfjs-node, which is not installed (it downloads libtensorflow when installed: npm install @tensorflow/tfjs-node); use --backend wasm',
        );
      if (!tf.findBackendFactory('tensorflow'))
        throw new InputError('@tensorflow/tfjs-node is installed but registered its backend with another copy of @tensorflow/tfjs-core; install a tfjs-node of the same version as @tensorflow/tfjs-core (4.22.0), or use --backend wasm');
      return;
    case 'webgpu': {
      const why = await provideNavigatorGpu();
      if (why) throw new InputError(`backend "webgpu" is unavailable: ${why}; use --backend wasm`);
      if (!(await importOptional('@tensorflow/tfjs-backend-webgpu')))
        throw new InputError('backend "webgpu" needs the optional package @tensorflow/tfjs-backend-webgpu (npm install @tensorflow/tfjs-backend-webgpu); use --backend wasm meanwhile');
      return;
    }
  }
}

let active: TfBackendName | undefined;

/**
 * Make `name` the active tfjs backend. Throws an InputError with what to do instead when the
 * backend cannot run here (package not installed, no GPU adapter).
 */
export async function useBackend(name: TfBackendName): Promise<typeof tf> {
  if (active === name && tf.getBackend() === name) return tf;
  await registerBackend(name);
  let ok = false;
  // tfjs logs its own failure to stderr; the message below says what to do.
  const warn = console.warn;
  console.warn = () => {};
  try {
    ok = await tf.setBackend(name);
  } catch {
    ok = false;
  } finally {
    console.warn = warn;
  }
  // PROD: no console chatter from tfjs (e.g. the cpu backend's advice to install tfjs-node).
  if (ok) {
    active = name;
    tf.env().set('PROD', true);
  }
  else {
    if (name === 'webgpu')
      throw new InputError('backend "webgpu": no WebGPU adapter was found (it needs a GPU with a Vulkan driver that Dawn can use); use --backend wasm');
    throw new InputError(`backend "${name}" failed to initialise; use --backend ${name === 'wasm' ? 'cpu' : 'wasm'}`);
  }
  return tf;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Run `work` with `name` as the active backend, after every earlier call has finished. tfjs keeps
 * one global active backend, so concurrent callers (e.g. tests, a server) take turns instead of
 * switching the backend under each other's feet. `work` must not call withBackend itself.
 */
export function withBackend<T>(name: TfBackendName, work: () => Promise<T> | T): Promise<T> {
  const turn = queue.then(async () => {
    await useBackend(name);
    return work();
  });
  queue = turn.catch(() => undefined);
  return turn;
}

export { tf };
