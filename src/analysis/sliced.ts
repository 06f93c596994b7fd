/**
 * The polynomial transfer rules of output orders 1 and 2 evaluated on diagonal slices of the input
 * cumulants. A rule of order n ≤ 2 reads every cumulant factor at index tuples made of i and j only
 * (κ_r(z_i, …, z_i, z_j, …, z_j): Σ_ij, T_iij, T_ijj, Q_iijj, …), so the factor is an N × N matrix
 * and a layer's K = 4 mean and covariance cost O(N²) memory instead of the N⁴ of a dense Q.
 * The slices are joint cumulants of the empirical distribution, from its bivariate central moments
 * E[δ_i^a δ_j^b] by the moment-to-cumulant sum over set partitions (docs/theory.md §Notation).
 */
import { cachedRule, taylorTable } from '../../numeric/index.ts';
import type { PolynomialActivation } from '../../symbolic/taylor.ts';
import { setPartitions } from '../../symbolic/partitions.ts';
import type { ClassHigherMoments } from './statistics.ts';

/**
 * κ_r(z_i ×c0, z_j ×c1) for every (i, j) as an N × N row-major matrix:
 * Σ_π (−1)^{|π|−1} (|π|−1)! Π_{B∈π} E[Π_{legs in B} δ], blocks of one leg vanishing (central moments).
 */
export function cumulantSlice(moments: ClassHigherMoments, c0: number, c1: number): Float64Array {
  const n = moments.width;
  const order = c0 + c1;
  if (order > moments.diagonal.length - 1) throw new RangeError(`cumulants of order ${order} need moments of that order; measured up to ${moments.diagonal.length - 1}`);
  const out = new Float64Array(n * n);
  const block = new Float64Array(n * n);
  let factorial = 1;
  const factorials = [1];
  for (let k = 1; k <= order; k++) factorials.push((factorial *= k));
  for (const partition of setPartitions(order)) {
    if (partition.some((b) => b.length < 2)) continue;
    const sign = (partition.length % 2 === 1 ? 1 : -1) * factorials[partition.length - 1];
    block.fill(sign);
    for (const legs of partition) {
      const a = legs.filter((leg) => leg < c0).length;
      const b = legs.length - a;
      if (a > 0 && b > 0) {
        const m = moments.bivariate.get(`${a},${b}`)!;
        for (let e = 0; e < n * n; e++) block[e] *= m[e];
      } else if (a > 0) {
        const d = moments.diagonal[a];
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) block[i * n + j] *= d[i];
      } else {
        const d = moments.diagonal[b];
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) block[i * n + j] *= d[j];
      }
    }
    for (let e = 0; e < n * n; e++) out[e] += block[e];
  }
  return out;
}

/**
 * Post-activation mean and covariance of y = φ(z) from the rules of order 1 and 2 at input order K,
 * with z's mean and the cumulant slices measured from data. Slices are computed once per pattern.
 */
export function slicedMeanCovariance(activation: PolynomialActivation, mean: Float64Array, moments: ClassHigherMoments, inputOrder: number): { mean: Float64Array; cov: Float64Array } {
  const n = moments.width;
  const perIndex = taylorTable(activation, mean);
  const slices = new Map<string, Float64Array>();
  const slice = (slots: readonly number[]) => {
    const c0 = slots.filter((s) => s === 0).length;
    const key = `${c0},${slots.length - c0}`;
    let s = slices.get(key);
    if (!s) slices.set(key, (s = cumulantSlice(moments, c0, slots.length - c0)));
    return s;
  };
  const evaluate = (order: number) => {
    const out = new Float64Array(order === 1 ? n : n * n);
    for (const term of cachedRule(activation, order, inputOrder).terms) {
      if (term.cumulants.some((c) => c.order > inputOrder)) continue;
      const coefficient = term.coefficient.toNumber();
      const factors = term.cumulants.map((c) => ({ values: slice(c.slots), power: c.power }));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < (order === 1 ? 1 : n); j++) {
          let v = coefficient;
          for (const f of term.factors) v *= perIndex[f.q][f.slot === 0 ? i : j];
          // An order-1 rule has slots 0 only: its slices are read on their diagonal (i, i).
          const e = order === 1 ? i * n + i : i * n + j;
          for (const f of factors) v *= f.power === 1 ? f.values[e] : f.values[e] ** f.power;
          out[order === 1 ? i : e] += v;
        }
    }
    return out;
  };
  return { mean: evaluate(1), cov: evaluate(2) };
}
