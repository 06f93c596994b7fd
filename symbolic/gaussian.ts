/**
 * Transfer rules of a general activation under the Gaussian closure (docs/theory.md §Gaussian closure), in the rule IR.
 * Per-index factors are g_k(i) = E[φ^{(k)}(z_i)], z_i ~ N(μ_i, Σ_ii) (kind 'smoothed'); cumulant
 * factors are powers of Σ_ij. The series are truncated at a total edge count P; the numeric side
 * chooses P for a tolerance and bounds what is left out.
 */
import { Rational, factorial } from './rational.ts';
import type { CumulantFactor, RuleTerm } from './rule.ts';

/** Output orders with a Gaussian-closure rule: mean, covariance (Mehler), third cumulant. */
export const MAX_GAUSSIAN_ORDER = 3;
const INDEX_NAMES = ['i', 'j', 'k'];

export interface GaussianRule {
  readonly order: number;
  /** Largest total power of Σ kept (the series' truncation). */
  readonly truncation: number;
  readonly indices: readonly string[];
  readonly terms: readonly RuleTerm[];
}

const sigma = (a: number, b: number, power: number): CumulantFactor => ({ order: 2, slots: a <= b ? [a, b] : [b, a], power });
const g = (k: number, slot: number) => ({ kind: 'smoothed' as const, q: k, slot });

/**
 * n = 1: E[y_i] = g_0(i).
 * n = 2 (Mehler / Price): κ(y_i, y_j) = Σ_{p=1…P} Σ_ij^p / p! · g_p(i) g_p(j).
 *   normalized: Σ_p ρ_ij^p ĝ_p(i) ĝ_p(j) with ĝ_p = g_p s^{p/2}/√p! and ρ the correlation in place of Σ —
 *   the same sum, with every factor of moderate size (Σ_p ĝ_p(i)² = Var y_i), for float32 kernels.
 * n = 3: the connected three-vertex diagrams without self-loops,
 *   Σ_{a,b,c ≥ 0, at least two > 0, a+b+c ≤ P} g_{a+c}(i) g_{a+b}(j) g_{b+c}(k) Σ_ij^a Σ_jk^b Σ_ki^c / (a! b! c!).
 */
export function gaussianRule(order: number, truncation: number, normalized = false): GaussianRule {
  if (!Number.isInteger(order) || order < 1 || order > MAX_GAUSSIAN_ORDER)
    throw new RangeError(`Gaussian-closure rules exist for output orders 1…${MAX_GAUSSIAN_ORDER}, not ${order}`);
  if (!Number.isInteger(truncation) || truncation < 1) throw new RangeError(`the truncation must be a positive integer, not ${truncation}`);
  const terms: RuleTerm[] = [];
  if (order === 1) terms.push({ coefficient: Rational.ONE, factors: [g(0, 0)], cumulants: [] });
  else if (order === 2) {
    for (let p = 1; p <= truncation; p++)
      terms.push({ coefficient: normalized ? Rational.ONE : new Rational(1n, factorial(p)), factors: [g(p, 0), g(p, 1)], cumulants: [sigma(0, 1, p)] });
  } else {
    for (let total = 2; total <= truncation; total++)
      for (let a = 0; a <= total; a++)
        for (let b = 0; a + b <= total; b++) {
          const c = total - a - b;
          if ((a > 0 ? 1 : 0) + (b > 0 ? 1 : 0) + (c > 0 ? 1 : 0) < 2) continue;
          const cumulants = [a && sigma(0, 1, a), c && sigma(0, 2, c), b && sigma(1, 2, b)].filter((x): x is CumulantFactor => !!x);
          terms.push({ coefficient: new Rational(1n, factorial(a) * factorial(b) * factorial(c)), factors: [g(a + c, 0), g(a + b, 1), g(b + c, 2)], cumulants });
        }
  }
  return { order, truncation, indices: INDEX_NAMES.slice(0, order), terms };
}

/**
 * First-order corrections of a non-Gaussian input (docs/theory.md §Non-Gaussian corrections) to the mean and the covariance:
 * E[F] ≈ E_G[F] + (1/3!) Σ T_abc E_G[∂_a∂_b∂_c F] + (1/4!) Σ Q_abcd E_G[∂_a∂_b∂_c∂_d F], with
 * E_G[φ_i^(p) φ_j^(q)] = Σ_k Σ_ij^k/k! g_{p+k}(i) g_{q+k}(j) (Mehler with shifted indices).
 * n = 1: T_iii g_3(i)/6 + Q_iiii g_4(i)/24.
 * n = 2: the derivatives split between the two units; the terms with all of them on one unit and no
 * Σ_ij (k = 0) are the mean's own correction times the other mean and cancel in the covariance:
 *   Σ_k Σ_ij^k/k! [ (1/6) Σ_{p+q=3} C(3,p) T_{i^p j^q} g_{p+k}(i) g_{q+k}(j)
 *                 + (1/24) Σ_{p+q=4} C(4,p) Q_{i^p j^q} g_{p+k}(i) g_{q+k}(j) ],  k = 0 only for 0 < p < m.
 * For a polynomial φ of degree ≤ 2 this is the exact rule (docs/theory.md §Polynomial activations) at K = 4.
 */
export function nonGaussianCorrection(order: 1 | 2, truncation: number): GaussianRule {
  const terms: RuleTerm[] = [];
  if (order === 1) {
    terms.push({ coefficient: new Rational(1n, 6n), factors: [g(3, 0)], cumulants: [{ order: 3, slots: [0, 0, 0], power: 1 }] });
    terms.push({ coefficient: new Rational(1n, 24n), factors: [g(4, 0)], cumulants: [{ order: 4, slots: [0, 0, 0, 0], power: 1 }] });
  } else {
    const binomial = (m: number, p: number) => Number(factorial(m) / (factorial(p) * factorial(m - p)));
    for (const [m, weight] of [[3, 6n], [4, 24n]] as const)
      for (let p = 0; p <= m; p++)
        for (let k = 0; k <= truncation; k++) {
          if (k === 0 && (p === 0 || p === m)) continue;
          const slots = [...new Array<number>(p).fill(0), ...new Array<number>(m - p).fill(1)];
          const cumulants: CumulantFactor[] = [{ order: m, slots, power: 1 }];
          if (k > 0) cumulants.unshift(sigma(0, 1, k));
          terms.push({ coefficient: new Rational(BigInt(binomial(m, p)), weight * factorial(k)), factors: [g(p + k, 0), g(m - p + k, 1)], cumulants });
        }
  }
  return { order, truncation, indices: INDEX_NAMES.slice(0, order), terms };
}
