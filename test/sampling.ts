/**
 * Monte Carlo cumulants of y = φ(z), z ~ N(mean, cov), in float64, independent of the closure:
 * `batches` batches of `size` samples, unbiased k-statistics per batch, their mean and standard error.
 */
import { Random } from '../numeric/random.ts';
import { gaussLegendre } from '../numeric/gauss.ts';

export interface SampledEntry {
  /** (i), (i, j) with i ≤ j, or (i, j, k) with i ≤ j ≤ k. */
  readonly index: number[];
  readonly value: number;
  readonly se: number;
}

/** Sampled cumulants of orders 1…maxOrder (≤ 3) of φ applied to each unit of a Gaussian vector. */
export function sampleCumulants(phi: (z: number) => number, mean: readonly number[], cov: ArrayLike<number>, maxOrder: number, seed: number, batches = 40, size = 5000): SampledEntry[][] {
  const n = mean.length;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = cov[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 0)) : L[j * n + j] > 0 ? s / L[j * n + j] : 0;
    }
  const indices: number[][][] = [[], [], [], []];
  for (let i = 0; i < n; i++) {
    indices[1].push([i]);
    for (let j = i; j < n; j++) {
      indices[2].push([i, j]);
      for (let k = j; k < n; k++) indices[3].push([i, j, k]);
    }
  }
  const rng = new Random(seed);
  const perBatch = indices.map((list) => list.map(() => new Float64Array(batches)));
  const y = new Float64Array(size * n);
  const x = new Float64Array(n);
  const centred = new Float64Array(size * n);
  for (let b = 0; b < batches; b++) {
    for (let s = 0; s < size; s++) {
      for (let i = 0; i < n; i++) x[i] = rng.normal();
      for (let i = 0; i < n; i++) {
        let z = mean[i];
        for (let k = 0; k <= i; k++) z += L[i * n + k] * x[k];
        y[s * n + i] = phi(z);
      }
    }
    const m = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let t = 0;
      for (let s = 0; s < size; s++) t += y[s * n + i];
      m[i] = t / size;
      perBatch[1][i][b] = m[i];
      for (let s = 0; s < size; s++) centred[s * n + i] = y[s * n + i] - m[i];
    }
    for (let r = 2; r <= maxOrder; r++)
      indices[r].forEach((index, e) => {
        let t = 0;
        for (let s = 0; s < size; s++) {
          let p = 1;
          for (const i of index) p *= centred[s * n + i];
          t += p;
        }
        // Unbiased k-statistics: Σ/(size − 1) for the covariance, size Σ/((size − 1)(size − 2)) for κ3.
        perBatch[r][e][b] = r === 2 ? t / (size - 1) : (t * size) / ((size - 1) * (size - 2));
      });
  }
  return indices.map((list, r) =>
    r === 0 || r > maxOrder
      ? []
      : list.map((index, e) => {
          const v = perBatch[r][e];
          const avg = v.reduce((a, c) => a + c, 0) / batches;
          const se = Math.sqrt(v.reduce((a, c) => a + (c - avg) ** 2, 0) / (batches - 1) / batches);
          return { index, value: avg, se };
        }),
  );
}

/** The entry of a flat row-major tensor of width n at a multi-index. */
export function entryAt(tensor: ArrayLike<number>, index: readonly number[], n: number): number {
  return tensor[index.reduce((o, i) => o * n + i, 0)];
}

/**
 * E[f(z_i)] and E[(f(z_i) − m_i)(f(z_j) − m_j)] for z ~ N(mean, cov) by composite Gauss–Legendre in
 * the Cholesky coordinates of (z_i, z_j), on [−R, R]² with `panels` panels of 16 nodes per axis; the
 * value at `panels` and at twice as many, so the difference states the error. Where the output is too
 * heavy-tailed for sampling to judge (φ growing exponentially), this is the independent check.
 */
export function quadratureCovariance(f: (z: number) => number, mean: readonly number[], cov: ArrayLike<number>, i: number, j: number, R = 30, panels = 60): { mean: [number, number]; cov: number; error: number } {
  const n = mean.length;
  const a = Math.sqrt(cov[i * n + i]);
  const b = a > 0 ? cov[i * n + j] / a : 0;
  const c = Math.sqrt(Math.max(cov[j * n + j] - b * b, 0));
  const rule = (p: number) => {
    const { nodes, weights } = gaussLegendre(16);
    const x: number[] = [];
    const w: number[] = [];
    const width = (2 * R) / p;
    for (let k = 0; k < p; k++)
      for (let q = 0; q < 16; q++) {
        const t = -R + width * (k + (nodes[q] + 1) / 2);
        x.push(t);
        w.push((width / 2) * weights[q] * Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI));
      }
    return { x, w };
  };
  const at = (p: number) => {
    const { x, w } = rule(p);
    const fi = x.map((t) => f(mean[i] + a * t));
    let mi = 0;
    let mj = 0;
    for (let p1 = 0; p1 < x.length; p1++) {
      mi += w[p1] * fi[p1];
      for (let p2 = 0; p2 < x.length; p2++) mj += w[p1] * w[p2] * f(mean[j] + b * x[p1] + c * x[p2]);
    }
    let second = 0;
    for (let p1 = 0; p1 < x.length; p1++) {
      let inner = 0;
      for (let p2 = 0; p2 < x.length; p2++) inner += w[p2] * (f(mean[j] + b * x[p1] + c * x[p2]) - mj);
      second += w[p1] * (fi[p1] - mi) * inner;
    }
    return { mean: [mi, mj] as [number, number], cov: second };
  };
  const coarse = at(panels);
  const fine = at(2 * panels);
  return { ...fine, error: Math.abs(fine.cov - coarse.cov) + Math.abs(fine.mean[0] - coarse.mean[0]) + Math.abs(fine.mean[1] - coarse.mean[1]) };
}
