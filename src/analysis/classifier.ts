/**
 * Where the class information sits at one stage: classifiers built from the class statistics
 * alone, evaluated on held-out activations. Nearest class mean (only the means differ), covariance
 * only (a common mean, the class covariances), and the full Gaussian (QDA: class means and class
 * covariances). And the theory's accuracy: P(argmax y = c | class c) under a class's output
 * Gaussian, by sampling it with a fixed seed.
 */
import { Random, cholesky, tf } from '../../numeric/index.ts';
import type { ClassMoments } from './statistics.ts';

/** An accuracy (fraction correct) with its binomial standard error. */
export interface Accuracy {
  readonly value: number;
  readonly standardError: number;
  readonly count: number;
}

export function accuracy(correct: number, count: number): Accuracy {
  const value = count > 0 ? correct / count : NaN;
  return { value, standardError: count > 0 ? Math.sqrt(Math.max(value * (1 - value), 0) / count) : NaN, count };
}

/** Accuracy pooled over classes from per-class accuracies (weighted by their counts). */
export function pooledAccuracy(parts: readonly Accuracy[], weights?: readonly number[]): Accuracy {
  const w = weights ?? parts.map((p) => p.count);
  const total = w.reduce((a, b) => a + b, 0);
  let value = 0;
  let variance = 0;
  parts.forEach((p, k) => {
    value += (w[k] / total) * p.value;
    variance += (w[k] / total) ** 2 * p.standardError ** 2;
  });
  return { value, standardError: Math.sqrt(variance), count: parts.reduce((a, p) => a + p.count, 0) };
}

export interface StageClassifiers {
  /** Nearest class mean (Euclidean): information in the class means. */
  readonly meanOnly: Accuracy;
  /** Common mean, class covariances (Gaussian likelihood): information in the covariances. NaN with count 0 where the stage is too wide. */
  readonly covarianceOnly: Accuracy;
  /** Class means and covariances (QDA). */
  readonly gaussian: Accuracy;
}

/**
 * Regularised class covariance Σ_c + λ_c I with λ_c = shrinkage · tr(Σ_c)/N (dead pixels and
 * saturated units make Σ_c singular), its Cholesky factor's inverse A (AᵀA = Σ⁻¹) and log det.
 */
function whitening(cov: Float64Array, n: number, shrinkage: number): { inverse: Float64Array; logDet: number } {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += cov[i * n + i];
  const ridge = Math.max((shrinkage * trace) / n, 1e-12);
  const a = Float64Array.from(cov);
  for (let i = 0; i < n; i++) a[i * n + i] += ridge;
  const { factor } = cholesky(a, n, 1e-12);
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += 2 * Math.log(factor[i * n + i]);
  // Inverse of the lower-triangular factor, column by column (forward substitution).
  const inverse = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    for (let i = col; i < n; i++) {
      let s = i === col ? 1 : 0;
      for (let k = col; k < i; k++) s -= factor[i * n + k] * inverse[k * n + col];
      inverse[i * n + col] = s / factor[i * n + i];
    }
  }
  return { inverse, logDet };
}

/**
 * The three classifiers of a stage from its class moments (training split), scored on the given
 * activations (count × width rows, test split) with their labels. Runs on the active tfjs backend.
 */
export async function stageClassifiers(moments: readonly ClassMoments[], activations: Float32Array, labels: Int32Array, shrinkage: number, maxCovarianceWidth = Infinity): Promise<StageClassifiers> {
  const classes = moments.length;
  const n = moments[0].mean.length;
  const count = labels.length;
  // The covariance classifiers factor one N × N matrix per class on the host (N³/2 operations each).
  const withCovariances = n <= maxCovarianceWidth;
  const total = moments.reduce((a, m) => a + m.count, 0);
  const common = new Float64Array(n);
  for (const m of moments) for (let i = 0; i < n; i++) common[i] += (m.count / total) * m.mean[i];
  const meanScores = new Float32Array(count * classes);
  const covScores = new Float32Array(count * classes);
  const gaussScores = new Float32Array(count * classes);
  const x = tf.tensor2d(activations, [count, n]);
  try {
    // Nearest mean: −|x − m_c|² up to a term common to all classes = 2 x·m_c − |m_c|².
    const means = Float32Array.from(moments.flatMap((m) => Array.from(m.mean)));
    const norms = moments.map((m) => m.mean.reduce((a, v) => a + v * v, 0));
    const scores = tf.tidy(() => tf.sub(tf.mul(2, tf.matMul(x, tf.tensor2d(means, [classes, n]), false, true)), tf.tensor1d(norms)));
    meanScores.set(await scores.data());
    scores.dispose();
    for (const [c, m] of withCovariances ? moments.entries() : []) {
      const { inverse, logDet } = whitening(m.cov, n, shrinkage);
      const a = tf.tensor2d(Float32Array.from(inverse), [n, n]);
      const shifted = (centre: Float64Array) => {
        const ac = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let k = 0; k <= i; k++) s += inverse[i * n + k] * centre[k];
          ac[i] = s;
        }
        return ac;
      };
      const [qda, cov] = tf.tidy(() => {
        const y = tf.matMul(x, a, false, true);
        const quad = (centre: Float32Array) => tf.add(tf.mul(-0.5, tf.sum(tf.square(tf.sub(y, tf.tensor1d(centre))), 1)), -0.5 * logDet);
        return [quad(shifted(m.mean)), quad(shifted(common))];
      });
      const [q, v] = await Promise.all([qda.data(), cov.data()]);
      tf.dispose([qda, cov, a]);
      for (let r = 0; r < count; r++) {
        gaussScores[r * classes + c] = q[r];
        covScores[r * classes + c] = v[r];
      }
    }
  } finally {
    x.dispose();
  }
  const score = (s: Float32Array) => {
    let correct = 0;
    for (let r = 0; r < count; r++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (s[r * classes + c] > s[r * classes + best]) best = c;
      if (best === labels[r]) correct++;
    }
    return accuracy(correct, count);
  };
  const skipped = { value: NaN, standardError: NaN, count: 0 };
  return { meanOnly: score(meanScores), covarianceOnly: withCovariances ? score(covScores) : skipped, gaussian: withCovariances ? score(gaussScores) : skipped };
}

/**
 * P(argmax_k y_k = c) for y ~ N(mean, cov), from `samples` draws with a fixed seed; a covariance
 * that is not positive semidefinite (a truncated closure can produce one) is used through its
 * factor with the negative directions dropped, and reported.
 */
export function gaussianArgmaxProbability(mean: Float64Array, cov: Float64Array, target: number, samples: number, seed: number): Accuracy & { readonly negativePivot?: number } {
  const n = mean.length;
  const { factor, negativePivot } = cholesky(cov, n, 1e-12);
  const rng = new Random(seed);
  const z = new Float64Array(n);
  const y = new Float64Array(n);
  let correct = 0;
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < n; i++) z[i] = rng.normal();
    for (let i = 0; i < n; i++) {
      let v = mean[i];
      for (let k = 0; k <= i; k++) v += factor[i * n + k] * z[k];
      y[i] = v;
    }
    let best = 0;
    for (let k = 1; k < n; k++) if (y[k] > y[best]) best = k;
    if (best === target) correct++;
  }
  return { ...accuracy(correct, samples), ...(negativePivot !== undefined ? { negativePivot } : {}) };
}
