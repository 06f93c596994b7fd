/**
 * Worker threads: shards of a Monte Carlo run, or groups of input distributions propagated in
 * parallel. Each worker is a fresh thread with its own tfjs instance; wasm runs single-threaded in
 * Node, so threads are how corrmap uses several cores. The entry is numeric/shard-worker.ts
 * (dist/shard-worker.mjs in the bundle).
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { freshBundle } from '../bin/bundle.mjs';
import { dirname, join } from 'node:path';
import { parseActivation } from '../symbolic/expression.ts';
import { InputError } from '../symbolic/errors.ts';
import { makeLayer, type Network } from './network.ts';

/** A network as plain data (structured-cloneable): weights, biases and activation sources. */
export interface NetworkSpec {
  readonly inputSize: number;
  readonly layers: readonly { weight: Float64Array; rows: number; cols: number; bias: Float64Array; source: string; values: Record<string, number> }[];
}

export function networkSpec(network: Network): NetworkSpec {
  return {
    inputSize: network.inputSize,
    layers: network.layers.map((l) => ({ weight: l.weight, rows: l.rows, cols: l.cols, bias: l.bias, source: l.expression.text, values: { ...l.expression.values } })),
  };
}

export function networkFromSpec(spec: NetworkSpec): Network {
  return { inputSize: spec.inputSize, layers: spec.layers.map((l) => makeLayer(l.weight, l.rows, l.cols, l.bias, parseActivation(l.source, l.values))) };
}

/** A copy of `a` in shared memory: posted to a worker, it is shared, not copied. */
export function sharedCopy(a: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** The network's spec with its weights and biases in shared memory, made once per network. */
const sharedSpecs = new WeakMap<Network, NetworkSpec>();
export function sharedSpec(network: Network): NetworkSpec {
  let spec = sharedSpecs.get(network);
  if (!spec) {
    const plain = networkSpec(network);
    spec = { ...plain, layers: plain.layers.map((l) => ({ ...l, weight: sharedCopy(l.weight), bias: sharedCopy(l.bias) })) };
    sharedSpecs.set(network, spec);
  }
  return spec;
}

/** URL of tsx's ESM register API (the "import" export of tsx/esm/api). */
function tsxEsmApi(from: string): string {
  const manifest = createRequire(from).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'];
  return pathToFileURL(join(dirname(manifest), exported.import.default)).href;
}

let cachedEntry: { entry: string | URL; evaluate: boolean } | undefined;

/**
 * The worker's entry: inside the bundle, dist/shard-worker.mjs next to it; from the TypeScript
 * sources, the same bundle when it is newer than every source file (it starts in a fraction of a
 * second), else the source entry behind tsx's loader (seconds: every module is transformed).
 */
function workerEntry(): { entry: string | URL; evaluate: boolean } {
  if (cachedEntry) return cachedEntry;
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return (cachedEntry = { entry: new URL('./shard-worker.mjs', here), evaluate: false });
  const bundle = freshBundle(join(dirname(fileURLToPath(here)), '..'), 'shard-worker.mjs');
  if (bundle) return (cachedEntry = { entry: pathToFileURL(bundle), evaluate: false });
  const source = new URL('./shard-worker.ts', here);
  const entry = `import(${JSON.stringify(tsxEsmApi(here))}).then((m) => { m.register(); return import(${JSON.stringify(source.href)}); });`;
  return (cachedEntry = { entry, evaluate: true });
}


/** Messages a worker posts about a task: progress ticks, then one result or one error. */
export type WorkerMessage = { id: number } & ({ progress: true } | { result: unknown } | { error: string; input: boolean });

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onProgress(): void;
}

/** A worker thread that runs tasks one after another and stays warm between them. */
class PooledWorker {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  broken = false;

  constructor() {
    const { entry, evaluate } = workerEntry();
    this.worker = new Worker(entry, { eval: evaluate });
    // Idle pool workers must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) return p.onProgress();
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('result' in m) p.resolve(m.result);
      else p.reject(m.input ? new InputError(m.error) : new Error(m.error));
    });
    const fail = (err: Error) => {
      this.broken = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`corrmap worker thread exited with code ${code}`)));
  }

  run<T>(task: unknown, onProgress: () => void): Promise<T> {
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.worker.postMessage({ id, task });
    });
  }
}

const pool: PooledWorker[] = [];

/**
 * Run tasks in parallel on the pool of worker threads (grown to the number of tasks, reused across
 * calls: a warm worker has its backend, its wasm heap and its derived rules ready). If one task
 * fails, the workers still busy are stopped and replaced on the next call.
 */
export async function runAllInWorkers<T>(tasks: readonly unknown[], onProgress: () => void): Promise<T[]> {
  for (let k = pool.length - 1; k >= 0; k--) if (pool[k].broken) pool.splice(k, 1);
  while (pool.length < tasks.length) pool.push(new PooledWorker());
  const used = pool.slice(0, tasks.length);
  try {
    return await Promise.all(tasks.map((task, k) => used[k].run<T>(task, onProgress)));
  } catch (err) {
    for (const w of used) {
      w.broken = true;
      void w.worker.terminate();
    }
    throw err;
  }
}

/** Stop every pooled worker (they are also stopped when the process exits). */
export async function closeWorkers(): Promise<void> {
  const all = pool.splice(0);
  await Promise.all(all.map((w) => w.worker.terminate()));
}

/** The (unshared) array buffers inside a result: handed over to the receiver instead of copied. */
function ownBuffers(value: unknown, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (Array.isArray(value)) for (const v of value) ownBuffers(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) ownBuffers(v, out);
  return [...out];
}

/**
 * The worker side: answer each task message, one task at a time in arrival order, with its result
 * (its arrays transferred, not copied) or its error (an InputError stays one).
 */
export function serveTasks(
  port: { on(event: 'message', f: (m: { id: number; task: unknown }) => void): void; postMessage(m: WorkerMessage, transfer: ArrayBuffer[]): void },
  work: (task: unknown, progress: () => void) => Promise<unknown>,
): void {
  let queue = Promise.resolve();
  port.on('message', ({ id, task }) => {
    queue = queue.then(async () => {
      try {
        const result = await work(task, () => port.postMessage({ id, progress: true }, []));
        try {
          port.postMessage({ id, result }, ownBuffers(result));
        } catch {
          // A buffer that cannot be handed over (e.g. a view of a wasm heap): copy instead.
          port.postMessage({ id, result }, []);
        }
      } catch (err) {
        port.postMessage({ id, error: (err as Error).message, input: err instanceof InputError }, []);
      }
    });
  });
}
