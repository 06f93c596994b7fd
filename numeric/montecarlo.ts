import type { Network } from './network.ts';
import { Random } from './random.ts';
import { Cumulants, fillSymmetric, forEachSortedTuple, offsetOf } from './tensor.ts';
import { taylorTable } from './reference.ts';
import { cholesky } from './linalg.ts';

/** Draws input vectors of a known distribution. */
export interface InputSampler {
  readonly size: number;
  /** Exact cumulants of the distribution, up to `maxOrder`. */
  cumulants(maxOrder: number): Cumulants;
  draw(rng: Random, out: Float64Array): void;
}

/** x ~ N(mean, cov), drawn as mean + L ε with the Cholesky factor L of cov. */
export function gaussianSampler(mean: Float64Array, cov: Float64Array): InputSampler {
  const n = mean.length;
  const l = cholesky(cov, n).factor;
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
 * and the batch standard error sd/√B (DESIGN §8). Activations are evaluated from their Taylor
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
  const accumulators = stages.map((w) => new BatchAccumulator(w, maxOrder));
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
          if (!c) post[o] = v;
          else {
            let h = 0;
            for (let q = c.length - 1; q >= 0; q--) h = h * v + c[q];
            post[o] = h;
          }
        }
        y = post;
      });
    }
    stages.forEach((_, k) => accumulators[k].addBatch(buffers[k], perBatch));
    options.onProgress?.((b + 1) / batches);
  }
  return network.layers.map((_, l) => ({ pre: accumulators[2 * l].estimates(), post: accumulators[2 * l + 1].estimates() }));
}

/** Collects per-batch k-statistics of orders 1…maxOrder; estimates() gives mean ± SE over batches. */
class BatchAccumulator {
  private readonly sums: Float64Array[] = [];
  private readonly squares: Float64Array[] = [];
  private count = 0;

  constructor(
    private readonly width: number,
    private readonly maxOrder: number,
  ) {
    for (let r = 0; r <= maxOrder; r++) {
      this.sums.push(new Float64Array(width ** r));
      this.squares.push(new Float64Array(width ** r));
    }
  }

  addBatch(data: Float64Array, n: number): void {
    const w = this.width;
    const mean = new Float64Array(w);
    for (let s = 0; s < n; s++) for (let i = 0; i < w; i++) mean[i] += data[s * w + i];
    for (let i = 0; i < w; i++) mean[i] /= n;
    const centred = new Float64Array(n * w);
    for (let s = 0; s < n; s++) for (let i = 0; i < w; i++) centred[s * w + i] = data[s * w + i] - mean[i];
    // Central sample moments (divisor n) of orders 2…maxOrder, on sorted tuples.
    const moment = (tuple: readonly number[]) => {
      let sum = 0;
      for (let s = 0; s < n; s++) {
        let p = 1;
        for (const a of tuple) p *= centred[s * w + a];
        sum += p;
      }
      return sum / n;
    };
    const m2 = this.maxOrder >= 2 ? fillSymmetric(w, 2, moment) : undefined;
    const stats: Float64Array[] = [new Float64Array(1), mean];
    if (this.maxOrder >= 2) stats.push(m2!.map((v) => (v * n) / (n - 1)));
    if (this.maxOrder >= 3) stats.push(fillSymmetric(w, 3, moment).map((v) => (v * n * n) / ((n - 1) * (n - 2))));
    if (this.maxOrder >= 4) {
      const m4 = fillSymmetric(w, 4, moment);
      const c = (n * n) / ((n - 1) * (n - 2) * (n - 3));
      stats.push(
        fillSymmetric(w, 4, (t) => {
          const [a, b, cc, d] = t;
          const pairs = m2![a * w + b] * m2![cc * w + d] + m2![a * w + cc] * m2![b * w + d] + m2![a * w + d] * m2![b * w + cc];
          return c * ((n + 1) * m4[offsetOf(t, w)] - (n - 1) * pairs);
        }),
      );
    }
    for (let r = 1; r <= this.maxOrder; r++) {
      const s = stats[r];
      for (let k = 0; k < s.length; k++) {
        this.sums[r][k] += s[k];
        this.squares[r][k] += s[k] * s[k];
      }
    }
    this.count++;
  }

  estimates(): Estimate[] {
    const b = this.count;
    const out: Estimate[] = [{ value: new Float64Array(1), standardError: new Float64Array(1) }];
    for (let r = 1; r <= this.maxOrder; r++) {
      const value = this.sums[r].map((s) => s / b);
      const standardError = this.squares[r].map((q, k) => Math.sqrt(Math.max(q / b - value[k] ** 2, 0) * (b / (b - 1)) / b));
      out.push({ value, standardError });
    }
    return out;
  }
}

export interface Agreement {
  /** Largest |theory − MC| / (SE + floor) over the unique entries compared. */
  readonly maxZ: number;
  /** Where the largest |z| occurs (sorted index tuple). */
  readonly worstAt: number[];
  readonly entries: number;
}

/**
 * Compare a theory tensor with a Monte Carlo estimate on unique entries (sorted tuples):
 * z = |theory − MC| / sqrt(SE² + floor²), floor covering float rounding in the theory.
 */
export function agreement(theory: Float64Array, estimate: Estimate, width: number, order: number, floor = 0): Agreement {
  let maxZ = 0;
  let worstAt: number[] = [];
  let entries = 0;
  forEachSortedTuple(width, order, (tuple) => {
    const k = offsetOf(tuple, width);
    const z = Math.abs(theory[k] - estimate.value[k]) / Math.sqrt(estimate.standardError[k] ** 2 + floor ** 2);
    entries++;
    if (!(z <= maxZ)) {
      maxZ = z;
      worstAt = [...tuple];
    }
  });
  return { maxZ, worstAt, entries };
}
