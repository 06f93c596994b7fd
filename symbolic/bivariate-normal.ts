/**
 * The bivariate normal distribution, written once as routines (symbolic/routine.ts) that every
 * target renders: the float64 evaluator (numeric/bivariate-normal.ts compiles them) and the code
 * printers (emitted Φ₂). Genz's algorithm (A. Genz, "Numerical computation of rectangular bivariate
 * and trivariate normal and t probabilities", Statistics and Computing 14 (2004) 251–260, §2.1–2.2),
 * docs/theory.md §Bivariate forms:
 *
 * |ρ| < 0.925: the Drezner–Wesolowsky form (J. Statist. Comput. Simul. 35 (1990) 101–107)
 *   E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) = (1/2π) ∫_0^{asin ρ} exp(−(h² + k² − 2hk sin θ)/(2cos²θ)) dθ,
 *   by 20-point Gauss–Legendre in θ (Genz uses 6/12/20 by |ρ|; 20 is never less accurate).
 * |ρ| ≥ 0.925: that integrand is sharply peaked as ρ → 1. Genz writes P(X > h, Y > k) − Φ(−max(h, k))
 *   as an integral over x = √(1 − r²) ∈ [0, √(1 − ρ²)], subtracts the leading terms of the integrand's
 *   expansion in x, integrates those in closed form (`first`, `second`) and the smooth remainder by
 *   20-point Gauss–Legendre. ρ < 0 is reduced to −ρ by P(X > h, Y > k; ρ) = Φ(−h) − P(X > h, −Y > −k; −ρ).
 *   1 − ρ² is floored at 1e-300: at ρ = ±1 every term of the expansion vanishes and the result is
 *   its limit, Φ(−max(h, k)) or the probability of the interval.
 */
import type { Routine } from './routine.ts';

/** Genz's switch from the Drezner–Wesolowsky integral to the high-correlation form. */
export const HIGH_CORRELATION = 0.925;
/** Gauss–Legendre nodes of both forms. */
export const BIVARIATE_NODES = 20;

/** E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) by the Drezner–Wesolowsky integral (accurate for |ρ| < 0.925; even in (h, k)). */
export const DREZNER_WESOLOWSKY: Routine = {
  name: 'phi2_low',
  summary: `Phi2(h, k; r) - Phi(h) Phi(k) by the Drezner-Wesolowsky integral, ${BIVARIATE_NODES}-point Gauss-Legendre (|r| < ${HIGH_CORRELATION})`,
  args: ['h', 'k', 'r'],
  steps: [
    { let: 'hk', value: 'h * k' },
    { let: 'hs', value: '(h * h + k * k) / 2' },
    { let: 'asr', value: 'asin(r)' },
    { let: 'total', legendre: BIVARIATE_NODES, steps: [{ let: 'sn', value: 'sin(asr * (1 + x) / 2)' }], term: 'exp((sn * hk - hs) / (1 - sn * sn))' },
  ],
  result: 'total * asr / (4 * pi)',
};

/** P(X > h, Y > k) for |r| ≥ 0.925 (to r = ±1), Genz's high-correlation form. */
export const HIGH_CORRELATION_FORM: Routine = {
  name: 'phi2_high',
  summary: `P(X > h, Y > k) for standard normals with correlation |r| >= ${HIGH_CORRELATION} (Genz 2004, BVNU)`,
  args: ['h', 'k', 'r'],
  steps: [
    { let: 'ar', value: 'abs(r)' },
    { let: 'kk', value: 'where(r < 0, -k, k)' },
    { let: 'hk', value: 'h * kk' },
    { let: 'aa', value: 'max((1 - ar) * (1 + ar), 1e-300)' },
    { let: 'a', value: 'sqrt(aa)' },
    { let: 'bs', value: '(h - kk) ^ 2' },
    { let: 'c', value: '(4 - hk) / 8' },
    { let: 'd', value: '(12 - hk) / 16' },
    { let: 'e0', value: '-(bs / aa + hk) / 2' },
    { let: 'first', value: 'where(e0 > -100, a * exp(e0) * (1 - c * (bs - aa) * (1 - d * bs / 5) / 3 + c * d * aa * aa / 5), 0)' },
    { let: 'b', value: 'sqrt(bs)' },
    { let: 'second', value: 'where(hk > -100, exp(-hk / 2) * sqrt(2 * pi) * Phi(-b / a) * b * (1 - c * bs * (1 - d * bs / 5) / 3), 0)' },
    { let: 'half', value: 'a / 2' },
    {
      let: 'rest',
      legendre: BIVARIATE_NODES,
      steps: [
        { let: 't', value: 'half * (x + 1)' },
        { let: 'xs', value: 't * t' },
        { let: 'rs', value: 'sqrt(1 - xs)' },
        { let: 'ex', value: '-(bs / xs + hk) / 2' },
      ],
      // (1 − rs)/(1 + rs) = xs/(1 + rs)²: no cancellation for small xs.
      term: 'where(ex > -100, half * exp(ex) * (exp(-hk * xs / (2 * (1 + rs) ^ 2)) / rs - (1 + c * xs * (1 + d * xs))), 0)',
    },
    { let: 'bvn', value: '-(first - second + rest) / (2 * pi)' },
    { let: 'between', value: 'where(h < 0, Phi(kk) - Phi(h), Phi(-h) - Phi(-kk))' },
    { let: 'negative', value: 'where(h >= kk, -bvn, between - bvn)' },
  ],
  result: 'where(r > 0, bvn + Phi(-max(h, kk)), negative)',
};

/** P(X > h, Y > k) for correlation r ∈ [−1, 1], Genz's BVNU: each form where it is accurate. */
export const UPPER_ORTHANT: Routine = {
  name: 'phi2_upper',
  summary: 'P(X > h, Y > k) for standard normals with correlation r (Genz 2004, BVNU)',
  args: ['h', 'k', 'r'],
  steps: [],
  result: `where(abs(r) < ${HIGH_CORRELATION}, phi2_low(h, k, r) + Phi(-h) * Phi(-k), phi2_high(h, k, r))`,
};

/**
 * E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) without forming the difference where it would cancel: the
 * Drezner–Wesolowsky integral for |ρ| < 0.925, else Φ₂ − Φ(h)Φ(k) at the sign of (h, k) with
 * h + k ≤ 0 (E is even), where the probabilities subtracted are the small ones.
 */
export const EXCESS: Routine = {
  name: 'phi2_excess',
  summary: 'E(h, k; r) = Phi2(h, k; r) - Phi(h) Phi(k), the bivariate normal excess (Genz 2004)',
  args: ['h', 'k', 'r'],
  steps: [
    { let: 'hf', value: 'where(h + k > 0, -h, h)' },
    { let: 'kf', value: 'where(h + k > 0, -k, k)' },
  ],
  result: `where(abs(r) < ${HIGH_CORRELATION}, phi2_low(h, k, r), min(1, max(0, phi2_high(-hf, -kf, r))) - Phi(hf) * Phi(kf))`,
};

/** The routines in dependency order (each uses only the ones before it). */
export const BIVARIATE_ROUTINES: readonly Routine[] = [DREZNER_WESOLOWSKY, HIGH_CORRELATION_FORM, UPPER_ORTHANT, EXCESS];
