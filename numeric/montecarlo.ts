import type { Network } from './network.ts';
import { Random } from './random.ts';
import { Cumulants, fillSymmetric, forEachSortedTuple, offsetOf } from './tensor.ts';
import { taylorTable } from './reference.ts';
import { cholesky, semidefiniteness } from './linalg.ts';
import { InputError } from '../symbolic/errors.ts';
import { PowerSums, hostBatchSums } from './powersums.ts';

/** Draws input vectors of a known distribution. */
export interface InputSampler {
  readonly size: number;
  /** Exact cumulants of the distribution, up to `maxOrder`. */
  cumulants(maxOrder: number): Cumulants;
  draw(rng: Random, out: Float64Array): void;
}

/** The Cholesky factor used to draw N(μ, cov); a covariance that is not PSD is an input error. */
export function gaussianFactor(cov: Float64Array, n: number): Float64Array {
  if (cov.length !== n * n) throw new InputError(`the covariance has ${cov.length} entries; expected ${n}×${n}`);
  const { semidefinite, lambda } = semidefiniteness(cov, n);
  if (!semidefinite) throw new InputError(`the covariance is not positive semidefinite (smallest eigenvalue ${lambda.toPrecision(3)}); it cannot be sampled`);
  return cholesky(cov, n).factor;
}

/** x ~ N(mean, cov), drawn as mean + L ε with the Cholesky factor L of cov. */
export function gaussianSampler(mean: Float64Array, cov: Float64Array): InputSampler {
  const n = mean.length;
  const l = gaussianFactor(cov, n);
  const eps = new Float64Array(n);
  return {
    size: n,
    cumulants: () => new Cumulants(n, [undefined, Float64Array.from(mean), Float64Array.from(cov)]),
    draw(rng, out) {
      for (let k = 0; k < n; k++) eps[k] = rng.normal();
      for (let i = 0; i < n; i++) {
        let s = mean[i];
        for (let k = 0; k <= i; k++) s += l[i * n + k] * eps[k];
        out[i] = s;
      }
    },
  };
}

/**
 * x = m + A s with independent centred exponentials s_j (κ_n(s) = (n−1)!): a non-Gaussian input
 * with every cumulant known exactly, κ_n(x)_{a1…an} = (n−1)! Σ_j A_{a1 j}…A_{an j}.
 */
export function exponentialMixtureSampler(mean: Float64Array, mixing: Float64Array, sources: number): InputSampler {
  const n = mean.length;
  const s = new Float64Array(sources);
  return {
    size: n,
    cumulants(maxOrder) {
      const tensors: (Float64Array | undefined)[] = [undefined, Float64Array.from(mean)];
      let fact = 1;
      for (let r = 2; r <= maxOrder; r++) {
        fact *= r - 1;
        const f = fact;
        tensors.push(
          fillSymmetric(n, r, (tuple) => {
            let sum = 0;
            for (let j = 0; j < sources; j++) {
              let p = f;
              for (const a of tuple) p *= mixing[a * sources + j];
              sum += p;
            }
            return sum;
          }),
        );
      }
      return new Cumulants(n, tensors);
    },
    draw(rng, out) {
      for (let j = 0; j < sources; j++) s[j] = rng.centredExponential();
      for (let i = 0; i < n; i++) {
        let v = mean[i];
        for (let j = 0; j < sources; j++) v += mixing[i * sources + j] * s[j];
        out[i] = v;
      }
    },
  };
}

/** A Monte Carlo estimate of one cumulant tensor: the mean over batches and its standard error. */
export interface Estimate {
  readonly value: Float64Array;
  readonly standardError: Float64Array;
}

export interface LayerEstimates {
  /** estimates by order (index 1 = mean), for pre- and post-activation. */
  readonly pre: Estimate[];
  readonly post: Estimate[];
}

export interface MonteCarloOptions {
  readonly samples: number;
  readonly batches: number;
  readonly seed: number;
  /** Highest cumulant order estimated (1…4). */
  readonly maxOrder: number;
  readonly onProgress?: (fraction: number) => void;
}

/**
 * Sample the network forward in float64 and estimate the cumulants of every layer's pre- and
 * post-activation in B batches: within a batch, unbiased k-statistics; across batches, the mean
 * and the batch standard error sd/√B (docs/theory.md §Monte Carlo estimators). Activations are evaluated from their Taylor
 * coefficients at 0 (the power-series coefficients of φ), the same trees the rules use.
 */
export function sampleNetwork(network: Network, input: InputSampler, options: MonteCarloOptions): LayerEstimates[] {
  const { batches, maxOrder } = options;
  if (maxOrder < 1 || maxOrder > 4) throw new RangeError(`Monte Carlo estimates cumulants of order 1…4, not ${maxOrder}`);
  const perBatch = Math.floor(options.samples / batches);
  if (perBatch < 8) throw new RangeError(`${options.samples} samples are too few for ${batches} batches`);
  const rng = new Random(options.seed);
  const powerCoefficients = network.layers.map((layer) =>
    layer.activation ? taylorTable(layer.activation, new Float64Array(1)).map((t) => t[0]) : undefined,
  );
  const stages = network.layers.flatMap((l) => [l.rows, l.rows]);
  const buffers = stages.map((w) => new Float64Array(perBatch * w));
  const accumulators = stages.map((w) => new PowerSums(w, maxOrder));
  const x = new Float64Array(input.size);
  for (let b = 0; b < batches; b++) {
    for (let s = 0; s < perBatch; s++) {
      input.draw(rng, x);
      let y: Float64Array = x;
      network.layers.forEach((layer, l) => {
        const pre = buffers[2 * l].subarray(s * layer.rows, (s + 1) * layer.rows);
        const post = buffers[2 * l + 1].subarray(s * layer.rows, (s + 1) * layer.rows);
        for (let o = 0; o < layer.rows; o++) {
          let v = layer.bias[o];
          for (let i = 0; i < layer.cols; i++) v += layer.weight[o * layer.cols + i] * y[i];
          pre[o] = v;
          const c = powerCoefficients[l];
          if (layer.general) post[o] = layer.general.fn(v);
          else if (!c) post[o] = v;
          else {
            let h = 0;
            for (let q = c.length - 1; q >= 0; q--) h = h * v + c[q];
            post[o] = h;
          }
        }
        y = post;
      });
    }
    stages.forEach((w, k) => accumulators[k].add(hostBatchSums(b, buffers[k], perBatch, w, maxOrder)));
    options.onProgress?.((b + 1) / batches);
  }
  return network.layers.map((_, l) => ({ pre: accumulators[2 * l].estimates(), post: accumulators[2 * l + 1].estimates() }));
}

export interface Agreement {
  /** Largest |theory − MC| / (SE + floor) over the unique entries compared. */
  readonly maxZ: number;
  /** Where the largest |z| occurs (sorted index tuple). */
  readonly worstAt: number[];
  readonly entries: number;
}

/** One unique entry of a cumulant tensor: theory, estimate, its standard error and the z-score. */
export interface EntryComparison {
  readonly index: readonly number[];
  readonly theory: number;
  readonly estimate: number;
  readonly standardError: number;
  readonly z: number;
}

/**
 * Compare a theory tensor with a Monte Carlo estimate on unique entries (sorted tuples):
 * z = |theory − MC| / sqrt(SE² + floor²), floor covering float rounding in the theory.
 */
export function compareEntries(theory: Float64Array, estimate: Estimate, width: number, order: number, floor = 0): { entries: EntryComparison[]; maxZ: number; worstAt: number[] } {
  let maxZ = 0;
  let worstAt: number[] = [];
  const entries: EntryComparison[] = [];
  forEachSortedTuple(width, order, (tuple) => {
    const k = offsetOf(tuple, width);
    const se = estimate.standardError[k];
    // hypot: SE² + floor² underflows for tiny floors; a zero difference is z = 0 even when both
    // vanish (constant data: SE = 0), a non-zero one with nothing to allow for is z = ∞.
    const difference = Math.abs(theory[k] - estimate.value[k]);
    const z = difference === 0 ? 0 : difference / Math.hypot(se, floor);
    entries.push({ index: [...tuple], theory: theory[k], estimate: estimate.value[k], standardError: se, z });
    if (!(z <= maxZ)) {
      maxZ = z;
      worstAt = [...tuple];
    }
  });
  return { entries, maxZ, worstAt };
}

/** The largest z of compareEntries, where it occurs, and how many entries were compared. */
export function agreement(theory: Float64Array, estimate: Estimate, width: number, order: number, floor = 0): Agreement {
  const c = compareEntries(theory, estimate, width, order, floor);
  return { maxZ: c.maxZ, worstAt: c.worstAt, entries: c.entries.length };
}
