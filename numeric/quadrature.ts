/**
 * Gaussian expectations of an activation in float64 for the Gaussian closure (docs/theory.md
 * §Gaussian closure): where φ has kinks and fast transitions (points where its affine atom arguments
 * reach a kink or zero), piecewise Gauss–Legendre between them, and the Stein-form coefficients
 * E[φ(μ + √s X) He_k(X)] by Gauss–Hermite with that piecewise fallback; failures explained.
 */
import type { Activation } from '../symbolic/activations.ts';
import { FLOAT64_FUNCTIONS, atomNamed, type AtomSpec } from '../symbolic/atoms/index.ts';
import { InputError } from '../symbolic/errors.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import type { MathNode } from '../symbolic/math.ts';
import { gaussLegendre, gaussianExpectation, hermiteHe, normalPdf, steinCoefficients, steinNormalized } from './gauss.ts';
import { LEAST_RANGE, hermiteResolves, integrandRange } from './gaussian-range.ts';

/**
 * Half-width of the normal range piecewise quadrature covers at least (the mass outside ±13 is 1e-38);
 * corrmap widens it for a φ of exponential growth (numeric/gaussian-range.ts), and emitted code does
 * too, by the same scan (src/emit/activation.ts RangeScan).
 */
export const PIECEWISE_RANGE = LEAST_RANGE;

/**
 * Where φ is not smooth (in z): where the argument of relu, abs, heaviside, … hits one of the
 * atom's kink points (symbolic/atoms; u − v = 0 for max(u, v)), found where it is affine in z. Quadrature splits its range there, so each piece is
 * smooth and converges exponentially.
 */
export function kinkPoints(act: Activation): number[] {
  return affineRoots(act, (atom) => atom.kinks);
}

/**
 * The z where an atom's argument (u − v for two arguments) takes one of the `levels` chosen for that
 * atom, for every atom call in φ whose argument is affine in z (three points on a line); sorted,
 * without repeats.
 */
function affineRoots(act: Activation, levels: (atom: AtomSpec, arity: number) => readonly number[] | undefined): number[] {
  const points: number[] = [];
  const scope = { ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS };
  act.expression.node.traverse((node) => {
    const n = node as unknown as { type: string; fn?: { name?: string }; args?: MathNode[] };
    const atom = n.type === 'FunctionNode' ? atomNamed(n.fn?.name ?? '') : undefined;
    const targets = atom && levels(atom, n.args?.length ?? 0);
    if (!targets?.length) return;
    const args = n.args!.map((a) => a.compile());
    const at = (z: number) => {
      const v = args.map((a) => Number(a.evaluate({ ...scope, z })));
      return v.length === 2 ? v[0] - v[1] : v[0];
    };
    const f0 = at(0);
    const slope = at(1) - f0;
    if (Math.abs(at(-1) - (f0 - slope)) > 1e-12 * (1 + Math.abs(f0) + Math.abs(slope)) || slope === 0 || !Number.isFinite(slope)) return;
    for (const level of targets) points.push((level - f0) / slope);
  });
  return [...new Set(points)].sort((a, b) => a - b);
}

/**
 * E[f(μ + √s X)] for f smooth between `breakpoints` (in z): Gauss–Legendre on each piece of
 * x where the integrand has its mass (numeric/gaussian-range.ts: at least ±13, where the normal mass
 * outside is 1e-38; further for a φ of exponential growth), doubling the nodes until two estimates
 * agree. Returns the value and the last difference. `weight` multiplies the integrand as a function of
 * x itself (He_k(x) of the Stein form: x recovered from z = μ + √s x loses |μ|ε/√s to rounding).
 */
export function piecewiseExpectation(
  f: (z: number) => number,
  mu: number,
  s: number,
  breakpoints: readonly number[],
  tolerance: number,
  weight?: (x: number) => number,
): { value: number; error: number } {
  const sigma = Math.sqrt(s);
  const { lo, hi } = integrandRange((x) => f(mu + sigma * x) * (weight ? weight(x) : 1));
  const cuts = [lo, ...breakpoints.map((b) => (b - mu) / sigma).filter((x) => x > lo && x < hi), hi];
  // Each estimate with Σ|terms|: rounding in the sum is ~1e-16 of it, whatever the cancellation.
  const estimate = (n: number): [number, number] => {
    const { nodes, weights } = gaussLegendre(n);
    let total = 0;
    let magnitude = 0;
    for (let p = 0; p + 1 < cuts.length; p++) {
      const a = cuts[p];
      const b = cuts[p + 1];
      const half = (b - a) / 2;
      const mid = (a + b) / 2;
      for (let k = 0; k < n; k++) {
        const x = mid + half * nodes[k];
        const term = half * weights[k] * normalPdf(x) * f(mu + sigma * x) * (weight ? weight(x) : 1);
        total += term;
        magnitude += Math.abs(term);
      }
    }
    return [total, magnitude];
  };
  // What lies beyond the range: the integrand there falls at least like a Gaussian's tail for f of less
  // than Gaussian growth, ∫_hi^∞ ≤ |integrand(hi)|/(hi − growth); a growing f that has not fallen off
  // by ±38 (exp(z²) at s ≥ 1/4) is caught here instead of being cut off silently.
  const end = (x: number) => Math.abs(normalPdf(x) * f(mu + sigma * x) * (weight ? weight(x) : 1));
  const tail = Math.max(end(lo), end(hi));
  let [previous] = estimate(32);
  for (let n = 64; n <= 2048; n *= 2) {
    const [next, magnitude] = estimate(n);
    if (!Number.isFinite(next) || !(tail <= tolerance * Math.max(1, Math.abs(next)) + 1e-13 * magnitude)) break;
    const error = Math.abs(next - previous);
    if (error <= tolerance * Math.max(1, Math.abs(next)) + 1e-13 * magnitude) return { value: next, error: error + tail };
    previous = next;
  }
  throw new InputError(`the Gaussian expectation of an activation does not converge at mean ${mu.toPrecision(4)}, variance ${s.toPrecision(4)}; does E[φ(z)²] exist?`);
}

/**
 * g_k = E[f^{(k)}(z)], z ~ N(μ, s), k = 0…K, without derivatives: the Stein form
 * g_k = s^{−k/2} E[f(μ + √s X) He_k(X)], by Gauss–Hermite quadrature for smooth f and piece by
 * piece between the kinks otherwise, or between `splits` where Gauss–Hermite does not settle.
 */
export function steinDerivatives(
  f: (z: number) => number,
  kinks: readonly number[],
  mu: number,
  s: number,
  K: number,
  tolerance: number,
  splits: readonly number[] = kinks,
): { g: Float64Array; errors: Float64Array } {
  if (kinks.length === 0 && hermiteResolves(f, mu, s, splits))
    try {
      const r = steinCoefficients(f, mu, s, K, { tolerance });
      return { g: r.g, errors: r.errors };
    } catch (err) {
      // Gauss–Hermite does not settle (a variance large next to f's scale): split quadrature below.
      if (!(err instanceof RangeError)) throw err;
    }
  const sigma = Math.sqrt(s);
  return piecewiseStein(f, mu, s, kinks.length ? kinks : splits, K, tolerance, (k) => sigma ** k);
}

/**
 * E[f(μ + √s X) He_k(X)]/divisor(k), k = 0…K, piece by piece between `splits` (Gauss–Legendre): the
 * fallback of the Stein forms where Gauss–Hermite does not settle or f has kinks. With `what`, a
 * failure is explained (overflow, or no convergence) under that name.
 */
function piecewiseStein(
  f: (z: number) => number,
  mu: number,
  s: number,
  splits: readonly number[],
  K: number,
  tolerance: number,
  divisor: (k: number) => number,
  what?: string,
): { g: Float64Array; errors: Float64Array } {
  const g = new Float64Array(K + 1);
  const errors = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    let r: { value: number; error: number };
    try {
      r = piecewiseExpectation(f, mu, s, splits, tolerance, (x) => hermiteHe(k, x));
    } catch (err) {
      if (!(err instanceof InputError) || what === undefined) throw err;
      throw new InputError(quadratureFailure(f, mu, s, what));
    }
    g[k] = r.value / divisor(k);
    errors[k] = r.error / divisor(k);
  }
  return { g, errors };
}

/**
 * Points where φ changes fast or not smoothly: the kinks, and the zeros of every atom's affine
 * argument (tanh, sigmoid, erf, … switch there). Piecewise quadrature split there cannot fail for a
 * bounded φ however large the variance: each piece is smooth up to a boundary layer at its end.
 */
export function transitionPoints(act: Activation): number[] {
  return affineRoots(act, (atom, arity) => (arity === 1 ? [...(atom.kinks ?? []), 0] : atom.kinks));
}

/**
 * Where f is not finite in float64 while the Gaussian still has weight (|x| ≤ 38, past which the
 * normal density underflows), if anywhere: the point nearest the mean.
 */
function overflowPoint(f: (z: number) => number, mu: number, s: number): { z: number; x: number } | undefined {
  const sigma = Math.sqrt(s);
  for (let k = 0; k <= 3800; k++)
    for (const x of [k * 0.01, -k * 0.01]) {
      const z = mu + sigma * x;
      if (!Number.isFinite(f(z))) return { z, x };
    }
  return undefined;
}

/**
 * E[f(μ + √s X)] for a smooth f: Gauss–Hermite first; where it does not settle (a large variance
 * next to the scale on which f changes), piecewise Gauss–Legendre split at `splits`. A failure of
 * both is reported for what it is: f overflows float64 in the range that carries the mass, or the
 * estimates do not settle.
 */
export function robustExpectation(f: (z: number) => number, mu: number, s: number, splits: readonly number[], smooth: boolean, tolerance: number, what: string): { value: number; error: number } {
  if (smooth && hermiteResolves(f, mu, s, splits))
    try {
      return gaussianExpectation(f, mu, s, { tolerance });
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  try {
    return piecewiseExpectation(f, mu, s, splits, tolerance);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(quadratureFailure(f, mu, s, what));
  }
}

function quadratureFailure(f: (z: number) => number, mu: number, s: number, what: string): string {
  const at = overflowPoint(f, mu, s);
  const where = `mean ${mu.toPrecision(4)}, variance ${s.toPrecision(4)}`;
  if (at !== undefined) {
    // log|f| on three points short of the overflow: no curvature means at most exponential growth,
    // which the Gaussian dominates, so the expectation exists and only its size is the trouble.
    const sigma = Math.sqrt(s);
    const [l1, l2, l3] = [0.7, 0.8, 0.9].map((t) => Math.log(Math.abs(f(mu + sigma * t * at.x))));
    const exponential = [l1, l2, l3].every(Number.isFinite) && l1 - 2 * l2 + l3 <= 1e-6 * (Math.abs(l1) + Math.abs(l3)) + 1e-9;
    const verdict = exponential
      ? 'φ grows no faster than exponentially there, so the expectation exists but exceeds float64\'s range (about 1.8e308)'
      : 'the expectation exceeds float64\'s range (about 1.8e308) or is infinite';
    return `${what} at ${where}: the integrand overflows float64 at z = ${at.z.toPrecision(4)}, ${Math.abs(at.x).toFixed(1)} standard deviations from the mean where the Gaussian still has weight; ${verdict}; scale the weights or inputs down, or report only the mean (--output-order 1)`;
  }
  const sigma = Math.sqrt(s);
  if (integrandRange((x) => f(mu + sigma * x)).fallsOff)
    return `${what} at ${where}: the integrand falls off, but the estimates do not settle with 2048 Gauss–Legendre nodes per piece: φ varies too fast next to the spread (it oscillates, or is unbounded near a pole, where the expectation does not exist) in the range that carries the mass; a smaller variance (scale the weights or inputs down) resolves an oscillating φ`;
  return `${what} at ${where}: the integrand has not fallen off 38 standard deviations from the mean: φ grows too fast for the expectation to exist, so it is infinite there; only the mean (--output-order 1) is defined`;
}

/** The normalised Stein coefficients ĝ_k = E[φ(μ + √s X) He_k(X)]/√k! (numeric/gauss.ts steinNormalized). */
export function normalizedStein(f: (z: number) => number, splits: readonly number[], smooth: boolean, mu: number, s: number, K: number, tolerance: number, what: string): { g: Float64Array; errors: Float64Array } {
  if (smooth && hermiteResolves(f, mu, s, splits))
    try {
      const r = steinNormalized(f, mu, s, K, { tolerance });
      return { g: r.g, errors: r.errors };
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  const factorials = [1];
  for (let k = 1; k <= K; k++) factorials.push(factorials[k - 1] * k);
  return piecewiseStein(f, mu, s, splits, K, tolerance, (k) => Math.sqrt(factorials[k]), what);
}
