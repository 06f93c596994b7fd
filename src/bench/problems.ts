/**
 * The problems the benchmarks share: the MNIST-sized network with quadratic (or other) hidden layers,
 * class-conditional Gaussian inputs made on the device, and the plain matMul rate of a backend.
 */
import { tf, useBackend } from '../../numeric/backend.ts';
import { makeLayer, type Network } from '../../numeric/network.ts';
import { Random } from '../../numeric/random.ts';
import { Cumulants } from '../../numeric/tensor.ts';
import { parseActivation } from '../../symbolic/expression.ts';

export function timed<T>(f: () => T): [T, number] {
  const t = performance.now();
  const v = f();
  return [v, (performance.now() - t) / 1000];
}
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The hidden activation of the quadratic closure: the benchmark's baseline. */
export const QUADRATIC = 'z + 0.1*z^2';

export function wideNetwork(widths: readonly number[], seed: number, hidden = QUADRATIC): Network {
  const r = new Random(seed);
  const quadratic = parseActivation(hidden);
  const linear = parseActivation('z');
  const layers = widths.slice(1).map((rows, l) => {
    const cols = widths[l];
    const w = Float64Array.from({ length: rows * cols }, () => r.normal() / Math.sqrt(cols));
    return makeLayer(w, rows, cols, new Float64Array(rows), l === widths.length - 2 ? linear : quadratic);
  });
  return { inputSize: widths[0], layers };
}

/** Per class a mean ~ N(0, 0.25) and a covariance AᵀA/N + 0.1·I (A with N(0, 1) entries), made on the device. */
export function classInputs(classes: number, n: number, seed: number): { mean: tf.Tensor; cov: tf.Tensor } {
  return tf.tidy(() => {
    const ridge = tf.mul(tf.eye(n), 0.1);
    const covs = Array.from({ length: classes }, (_, c) => {
      const a = tf.randomNormal([n, n], 0, 1, 'float32', seed + 1 + c) as tf.Tensor2D;
      // AᵀA with an explicit transposed copy: matMul's transpose flags are slow on wasm.
      return tf.add(tf.div(tf.matMul(tf.transpose(a), a), n), ridge);
    });
    return { mean: tf.randomNormal([classes, n], 0, 0.5, 'float32', seed), cov: tf.stack(covs) };
  });
}

export async function sequential<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let k = 0; k < n; k++) out.push(await f());
  return out;
}

/** Seconds of wall clock and of this process's CPU time (all its threads) that `f` takes. */
export async function wallAndCpu<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const t = performance.now();
  const c = process.cpuUsage();
  const value = await f();
  const used = process.cpuUsage(c);
  return { value, seconds: (performance.now() - t) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * FLOP/s of one plain m×m×m matMul on the active backend: warm-up, then the median of `runs`, per
 * second of wall clock (`rate`) and per second of process CPU time (`cpuRate`: what a core gives
 * when the machine is shared).
 */
export async function plainMatMulRate(m: number, runs: number): Promise<{ size: number; runs: number; rate: number; cpuRate: number }> {
  const [a, b] = [tf.randomNormal([m, m], 0, 1, 'float32', 1), tf.randomNormal([m, m], 0, 1, 'float32', 2)] as tf.Tensor2D[];
  const once = () =>
    wallAndCpu(async () => {
      const c = tf.tidy(() => tf.slice(tf.matMul(a, b), [0, 0], [1, 1]));
      await c.data();
      c.dispose();
    });
  await once();
  const times = await sequential(runs, once);
  tf.dispose([a, b]);
  return { size: m, runs, rate: (2 * m ** 3) / median(times.map((t) => t.seconds)), cpuRate: (2 * m ** 3) / median(times.map((t) => t.cpuSeconds)) };
}

/** classInputs read back as float64 Cumulants, for the public API. */
export async function hostClassInputs(classes: number, n: number): Promise<Cumulants[]> {
  await useBackend('wasm');
  const { mean, cov } = classInputs(classes, n, 5);
  const [m, c] = await Promise.all([mean.data(), cov.data()]);
  tf.dispose([mean, cov]);
  return Array.from({ length: classes }, (_, k) => new Cumulants(n, [undefined, Float64Array.from(m.subarray(k * n, (k + 1) * n)), Float64Array.from(c.subarray(k * n * n, (k + 1) * n * n))]));
}
