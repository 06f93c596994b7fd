import { defineAtom } from './atom.ts';

/**
 * Node kinds of the bivariate forms (symbolic/atoms/atom.ts Bivariate), each defined once: the Φ₂
 * excess by Genz's routine (symbolic/bivariate-normal.ts), the others as trees over it, Φ and φ.
 * Every target evaluates those definitions (the float64 evaluator, the emitted code); the float32
 * kernels replace the relu forms by named variants where float32 needs another arrangement
 * (numeric/bivariate-normal.ts). docs/theory.md §Bivariate forms.
 */

/** where(c, a, b): a where c holds, else b (both may be evaluated: each must be finite or selected away). */
export const where = defineAtom({ name: 'where', arity: 3, callable: false, float64: (c: number, a: number, b: number) => (c ? a : b) });

/** E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) = Cov(1{X < h}, 1{Y < k}). */
export const Phi2excess = defineAtom({ name: 'Phi2excess', arity: 3, callable: false, routine: 'phi2_excess', latex: '\\mathcal{E}', text: 'E' });

/**
 * (x − ρy)/√(1 − ρ²), x − ρy as (x − y) + (1 − ρ)y for ρ ≥ 1/2 and (x + y) − (1 + ρ)y for ρ ≤ −1/2,
 * where 1 ∓ ρ is exact (Sterbenz): as |ρ| → 1 the ratio is O(√(1 ∓ ρ)) where x = ±y, and the rounding
 * of ρy (ε|y|) would dominate it. 1 − ρ² is floored at 1e-30 (only ρ = ±1 reaches it, in float64), so
 * at ρ = ±1 the ratio is ±huge, or 0 where x = ±y: the limit the relu form needs.
 */
export const shiftedRatio = defineAtom({
  name: 'shiftedRatio',
  arity: 3,
  callable: false,
  parameters: ['x', 'y', 'rho'],
  definition: 'where(rho >= 0.5, x - y + (1 - rho) * y, where(rho <= -0.5, x + y - (1 + rho) * y, x - rho * y)) / sqrt(max((1 - rho) * (1 + rho), 1e-30))',
});

/**
 * Cov((X + h)⁺, (Y + k)⁺) for standard normals with correlation ρ, by the moments of the truncated
 * bivariate normal (Rosenbaum 1961, JRSS B 23, 405–408): R(h, k; ρ) = E[(X + h)(Y + k); X > −h, Y > −k]
 *   = (hk + ρ) Φ₂ + h φ(k) Φ((h − ρk)/√(1 − ρ²)) + k φ(h) Φ((k − ρh)/√(1 − ρ²)) + √(1 − ρ²) φ(h) φ((k − ρh)/√(1 − ρ²))
 * minus m(h) m(k), m(h) = hΦ(h) + φ(h), term by term: (hk + ρ) E + ρ Φ(h)Φ(k) + h φ(k)[Φ((h − ρk)/√(1 − ρ²)) − Φ(h)]
 * + k φ(h)[Φ((k − ρh)/√(1 − ρ²)) − Φ(k)] + φ(h)[√(1 − ρ²) φ((k − ρh)/√(1 − ρ²)) − φ(k)], each bracket O(ρ): no
 * O(1) cancellation in float64.
 */
export const reluCovariance = defineAtom({
  name: 'reluCovariance',
  arity: 3,
  callable: false,
  parameters: ['h', 'k', 'rho'],
  definition:
    '(h * k + rho) * Phi2excess(h, k, rho) + rho * Phi(h) * Phi(k) + h * phi(k) * (Phi(shiftedRatio(h, k, rho)) - Phi(h))' +
    ' + k * phi(h) * (Phi(shiftedRatio(k, h, rho)) - Phi(k)) + phi(h) * (sqrt(max((1 - rho) * (1 + rho), 1e-30)) * phi(shiftedRatio(k, h, rho)) - phi(k))',
  latex: '\\mathcal{R}',
  text: 'R',
});

/** Var((X + h)⁺) = E[(X + h)⁺²] − m(h)² = h²Φ(h)Φ(−h) + Φ(h) + hφ(h)(Φ(−h) − Φ(h)) − φ(h)², clamped at 0 against rounding. */
export const reluVariance = defineAtom({
  name: 'reluVariance',
  callable: false,
  parameters: ['h'],
  definition: 'max(0, h ^ 2 * Phi(h) * Phi(-h) + Phi(h) + h * phi(h) * (Phi(-h) - Phi(h)) - phi(h) ^ 2)',
  latex: '\\mathcal{V}',
  text: 'V',
});
