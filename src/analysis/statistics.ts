/**
 * Class-conditional statistics of a network's activations measured from data: every stage (the
 * input, each layer's pre- and post-activation) of every example is computed on a tfjs backend,
 * and per class the empirical mean and covariance (population normalisation 1/n, the cumulants of
 * the empirical distribution) are read back in float64. At one chosen stage, bivariate moments
 * E[δ_i^a δ_j^b] give the diagonal slices of the third and fourth cumulants the transfer rules
 * read (T_iij, T_ijj, Q_iijj, …) in O(N²) memory.
 */
import { compileExpression, hasActivation, tf, uploadWeights, type Network } from '../../numeric/index.ts';
import { InputError } from '../../symbolic/errors.ts';
import type { Dataset } from './data.ts';

/** A point in the network where activations are measured. */
export interface Stage {
  /** 'input', 'pre 1', 'post 1', …, 'output'. */
  readonly label: string;
  /** 0 for the input, l = 1…L for layer l. */
  readonly layer: number;
  readonly point: 'input' | 'pre' | 'post';
  readonly width: number;
}

/**
 * The stages of a network in forward order: the input, then for every layer its pre-activation
 * and, when it has an activation, its post-activation. The last stage is the output.
 */
export function networkStages(network: Network): Stage[] {
  const stages: Stage[] = [{ label: 'input', layer: 0, point: 'input', width: network.inputSize }];
  const last = network.layers.length;
  network.layers.forEach((layer, k) => {
    const l = k + 1;
    const active = hasActivation(layer);
    stages.push({ label: l === last && !active ? 'output' : `pre ${l}`, layer: l, point: 'pre', width: layer.rows });
    if (active) stages.push({ label: l === last ? 'output' : `post ${l}`, layer: l, point: 'post', width: layer.rows });
  });
  return stages;
}

/** Empirical mean and covariance of one class at one stage. */
export interface ClassMoments {
  readonly count: number;
  readonly mean: Float64Array;
  /** width × width, normalised by the count (the empirical distribution's covariance). */
  readonly cov: Float64Array;
}

/** Bivariate central moments E[δ_i^a δ_j^b] (width × width) and diagonal moments E[δ_i^r] of one class. */
export interface ClassHigherMoments {
  readonly width: number;
  /** key `${a},${b}` with a, b ≥ 1. */
  readonly bivariate: ReadonlyMap<string, Float64Array>;
  /** diagonal[r][i] = E[δ_i^r], r = 0…maxOrder. */
  readonly diagonal: readonly Float64Array[];
}

export interface StatisticsOptions {
  /** Stage index (into networkStages) at which to measure higher moments, and their highest order. */
  readonly higher?: { readonly stage: number; readonly maxOrder: number };
  /** Rows pushed through the network at once (default from the widths). */
  readonly chunk?: number;
  readonly onProgress?: (fraction: number) => void;
}

export interface ClassStatistics {
  readonly stages: Stage[];
  /** moments[s][c]: stage s, class c. */
  readonly moments: ClassMoments[][];
  readonly higher?: ClassHigherMoments[];
}

/** Every stage's activations of a batch of rows (tensors; call inside tf.tidy). */
export function forwardStages(network: Network, x: tf.Tensor2D, weights = uploadWeights(network)): tf.Tensor2D[] {
  const out: tf.Tensor2D[] = [x];
  let current = x;
  network.layers.forEach((layer, l) => {
    const pre = tf.add(tf.matMul(current, weights[l].weightT), weights[l].bias) as tf.Tensor2D;
    out.push(pre);
    current = pre;
    if (hasActivation(layer)) {
      current = compileExpression(layer.expression.node)(pre) as tf.Tensor2D;
      out.push(current);
    }
  });
  return out;
}

/** Row indices of each class. */
export function classRows(data: Dataset): Int32Array[] {
  const counts = new Array<number>(data.classes).fill(0);
  for (const y of data.labels) counts[y]++;
  const rows = counts.map((n) => new Int32Array(n));
  const at = new Array<number>(data.classes).fill(0);
  data.labels.forEach((y, r) => (rows[y][at[y]++] = r));
  return rows;
}

/** The features of the given rows, as one float32 block. */
export function gatherRows(data: Dataset, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * data.dim);
  rows.forEach((r, k) => out.set(data.features.subarray(r * data.dim, (r + 1) * data.dim), k * data.dim));
  return out;
}

function checkWidth(network: Network, data: Dataset): void {
  if (data.dim !== network.inputSize) throw new InputError(`the data "${data.name}" has ${data.dim} features per example, but the network takes ${network.inputSize} inputs`);
}

/**
 * Per class, the empirical mean and covariance of every stage, from all examples of the class
 * (the active tfjs backend; float32 products of centred activations, float64 results).
 */
export async function classStatistics(network: Network, data: Dataset, options: StatisticsOptions = {}): Promise<ClassStatistics> {
  checkWidth(network, data);
  const stages = networkStages(network);
  const rowsByClass = classRows(data);
  const empty = rowsByClass.findIndex((r) => r.length < 2);
  if (empty >= 0) throw new InputError(`class ${empty} of "${data.name}" has ${rowsByClass[empty].length} examples; at least 2 per class are needed for a covariance`);
  const weights = uploadWeights(network);
  const moments: ClassMoments[][] = stages.map(() => []);
  const higher: ClassHigherMoments[] = [];
  try {
    for (const [c, rows] of rowsByClass.entries()) {
      const x = gatherRows(data, rows);
      const device = tf.tidy(() => {
        const acts = forwardStages(network, tf.tensor2d(x, [rows.length, data.dim]), weights);
        const perStage = acts.map((a) => {
          const mean = tf.mean(a, 0);
          const delta = tf.sub(a, mean);
          return [mean, tf.div(tf.matMul(delta, delta, true, false), rows.length)];
        });
        const extra: tf.Tensor[] = [];
        if (options.higher) extra.push(...higherMomentTensors(tf.sub(acts[options.higher.stage], tf.mean(acts[options.higher.stage], 0)) as tf.Tensor2D, options.higher.maxOrder));
        return [...perStage.flat(), ...extra];
      });
      const host = await Promise.all(device.map((t) => t.data()));
      tf.dispose(device);
      stages.forEach((s, k) => {
        const mean = Float64Array.from(host[2 * k]);
        const cov = Float64Array.from(host[2 * k + 1]);
        if (!mean.every(Number.isFinite) || !cov.every(Number.isFinite))
          throw new InputError(`the network's ${s.label} overflows float32 on class ${c} of "${data.name}"; the weights or the data are out of range`);
        moments[k].push({ count: rows.length, mean, cov: symmetrised(cov, s.width) });
      });
      if (options.higher) higher.push(higherMomentsFromHost(host.slice(2 * stages.length), stages[options.higher.stage].width, options.higher.maxOrder));
      options.onProgress?.((c + 1) / rowsByClass.length);
    }
  } finally {
    for (const w of weights) tf.dispose([w.weightT, w.bias]);
  }
  return { stages, moments, ...(options.higher ? { higher } : {}) };
}

/** The bivariate pairs (a, b), a ≥ b ≥ 1, a + b ≤ maxOrder, in a fixed order. */
function bivariatePairs(maxOrder: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let total = 2; total <= maxOrder; total++) for (let b = 1; 2 * b <= total; b++) pairs.push([total - b, b]);
  return pairs;
}

/** E[δ^a ⊗ δ^b] for the pairs, then E[δ^r] for r = 2…maxOrder (device tensors). */
function higherMomentTensors(delta: tf.Tensor2D, maxOrder: number): tf.Tensor[] {
  const n = delta.shape[0];
  const powers = [tf.onesLike(delta), delta];
  for (let r = 2; r <= maxOrder; r++) powers.push(tf.mul(powers[r - 1], delta));
  const out: tf.Tensor[] = bivariatePairs(maxOrder).map(([a, b]) => tf.div(tf.matMul(powers[a], powers[b], true, false), n));
  for (let r = 2; r <= maxOrder; r++) out.push(tf.mean(powers[r], 0));
  return out;
}

function higherMomentsFromHost(host: ArrayLike<number>[], width: number, maxOrder: number): ClassHigherMoments {
  const bivariate = new Map<string, Float64Array>();
  const pairs = bivariatePairs(maxOrder);
  pairs.forEach(([a, b], k) => {
    const m = Float64Array.from(host[k]);
    bivariate.set(`${a},${b}`, m);
    // E[δ_i^b δ_j^a] is the transpose.
    if (a !== b) bivariate.set(`${b},${a}`, transpose(m, width));
    else bivariate.set(`${a},${b}`, symmetrised(m, width));
  });
  const diagonal: Float64Array[] = [new Float64Array(width).fill(1), new Float64Array(width)];
  for (let r = 2; r <= maxOrder; r++) diagonal.push(Float64Array.from(host[pairs.length + r - 2]));
  return { width, bivariate, diagonal };
}

function transpose(m: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}

/** (A + Aᵀ)/2: float32 products are symmetric only up to rounding. */
function symmetrised(m: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = (m[i * n + j] + m[j * n + i]) / 2;
      m[i * n + j] = m[j * n + i] = v;
    }
  return m;
}

/** Every stage's activations of a whole data set on the host (float32 rows), in chunks. */
export async function datasetStages(network: Network, data: Dataset, options: { chunk?: number; outputOnly?: boolean; onProgress?: (fraction: number) => void } = {}): Promise<Float32Array[]> {
  checkWidth(network, data);
  const stages = networkStages(network);
  // outputOnly: only the last stage is read back (the others come back empty).
  const kept = (k: number) => !options.outputOnly || k === stages.length - 1;
  const out = stages.map((s, k) => new Float32Array(kept(k) ? data.count * s.width : 0));
  const widest = Math.max(...stages.map((s) => s.width));
  const chunk = options.chunk ?? Math.max(64, Math.min(4096, Math.floor(4e6 / widest)));
  const weights = uploadWeights(network);
  try {
    for (let start = 0; start < data.count; start += chunk) {
      const rows = Math.min(chunk, data.count - start);
      const device = tf.tidy(() => forwardStages(network, tf.tensor2d(data.features.subarray(start * data.dim, (start + rows) * data.dim), [rows, data.dim]), weights));
      const host = await Promise.all(device.map((t, k) => (kept(k) ? t.data() : undefined)));
      tf.dispose(device);
      host.forEach((h, k) => h && out[k].set(h as Float32Array, start * stages[k].width));
      options.onProgress?.((start + rows) / data.count);
    }
  } finally {
    for (const w of weights) tf.dispose([w.weightT, w.bias]);
  }
  return out;
}

/** argmax of every row of a count × width block. */
export function argmaxRows(values: Float32Array, count: number, width: number): Int32Array {
  const out = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[r * width + k] > values[r * width + best]) best = k;
    out[r] = best;
  }
  return out;
}
