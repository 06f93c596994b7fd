/**
 * Transfer rules of a general activation under the Gaussian closure (DESIGN §5), in the rule IR.
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
 * n = 3: the connected three-vertex diagrams without self-loops,
 *   Σ_{a,b,c ≥ 0, at least two > 0, a+b+c ≤ P} g_{a+c}(i) g_{a+b}(j) g_{b+c}(k) Σ_ij^a Σ_jk^b Σ_ki^c / (a! b! c!).
 */
export function gaussianRule(order: number, truncation: number): GaussianRule {
  if (!Number.isInteger(order) || order < 1 || order > MAX_GAUSSIAN_ORDER)
    throw new RangeError(`Gaussian-closure rules exist for output orders 1…${MAX_GAUSSIAN_ORDER}, not ${order}`);
  if (!Number.isInteger(truncation) || truncation < 1) throw new RangeError(`the truncation must be a positive integer, not ${truncation}`);
  const terms: RuleTerm[] = [];
  if (order === 1) terms.push({ coefficient: Rational.ONE, factors: [g(0, 0)], cumulants: [] });
  else if (order === 2) {
    for (let p = 1; p <= truncation; p++)
      terms.push({ coefficient: new Rational(1n, factorial(p)), factors: [g(p, 0), g(p, 1)], cumulants: [sigma(0, 1, p)] });
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

/** Highest g_k a rule reads. */
export function highestSmoothed(rule: GaussianRule): number {
  let k = 0;
  for (const t of rule.terms) for (const f of t.factors) k = Math.max(k, f.q);
  return k;
}
