/**
 * Exact covariances of y = φ(z) between two jointly Gaussian pre-activations (DESIGN §5, the
 * accurate route where the Mehler series converges slowly: kinks and jumps at |ρ| → 1), for
 * φ(z) = c · a(p z + q) + l₀ + l₁ z with a one of relu, heaviside, sign, abs, erf
 * (symbolic/activations.ts singleAtom). In float64 on numbers, and in float32 tfjs ops on a batch.
 *
 * Notation: for z_i ~ N(μ_i, s_i) with Cov(z_i, z_j) = c_ij, the atom's argument u = p z + q has
 * mean ν = p μ + q, standard deviation τ = |p| √s and standardised mean h = ν/τ;
 * corr(u_i, u_j) = ρ = c_ij/√(s_i s_j) (p² > 0). X, Y are standard normals with correlation ρ,
 * Φ, φ the standard normal CDF and density, Φ₂(h, k; ρ) = P(X < h, Y < k), and
 * E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) = ∫_0^ρ φ₂(h, k; t) dt (Plackett 1954: ∂Φ₂/∂ρ = φ₂).
 *
 *   heaviside  Cov(H(u_i), H(u_j)) = E(h_i, h_j; ρ);  sign = 2H − 1: 4 E(h_i, h_j; ρ).
 *   relu       Cov(u_i⁺, u_j⁺) = τ_i τ_j [R(h_i, h_j; ρ) − m(h_i) m(h_j)], m(h) = hΦ(h) + φ(h), where by
 *              the moments of the truncated bivariate normal (Rosenbaum 1961, JRSS B 23, 405–408)
 *              R(h, k; ρ) = E[(X + h)(Y + k); X > −h, Y > −k]
 *                         = (hk + ρ) Φ₂(h, k; ρ) + h φ(k) Φ((h − ρk)/√(1 − ρ²)) + k φ(h) Φ((k − ρh)/√(1 − ρ²))
 *                           + √(1 − ρ²) φ(h) φ((k − ρh)/√(1 − ρ²));
 *              the last term is (1 − ρ²) φ₂(h, k; ρ). Subtracting m(h)m(k) term by term leaves
 *              hk E + ρ Φ₂ + h φ(k)[Φ((h − ρk)/√(1 − ρ²)) − Φ(h)] + k φ(h)[Φ((k − ρh)/√(1 − ρ²)) − Φ(k)]
 *              + φ(h)[√(1 − ρ²) φ((k − ρh)/√(1 − ρ²)) − φ(k)], each bracket O(ρ): no O(1) cancellation.
 *              At ρ = ±1 the ratios (k ∓ h)/√(1 − ρ²) → ±∞ (→ 0 where k = ±h: the limit along ρ).
 *   abs        |u| = 2u⁺ − u and Cov(u_i, u_j⁺) = ρτ_iτ_j Φ(h_j) (Stein):
 *              τ_iτ_j [4(R − m m) − 2ρ(Φ(h_i) + Φ(h_j)) + ρ].
 *   erf        erf(u) = 2Φ(√2 u) − 1 and Φ(√2 u) = P(W < √2 u), W ~ N(0, 1) independent:
 *              E[Φ(√2u_i)Φ(√2u_j)] = Φ₂(h'_i, h'_j; ρ'), h' = √2 ν/√(1 + 2τ²),
 *              ρ' = 2 ρ τ_iτ_j/√((1 + 2τ_i²)(1 + 2τ_j²)); Cov = 4 E(h'_i, h'_j; ρ') (also for i = j).
 *   linear part by Stein's lemma Cov(z_j, f(u_i)) = p c_ij E[f′(u_i)]:
 *              Cov(φ_i, φ_j) = c² Cov(a_i, a_j) + c l₁ p c_ij (D_i + D_j) + l₁² c_ij, D = E[a′(u)]:
 *              relu Φ(h), heaviside φ(h)/τ, sign 2φ(h)/τ, abs 2Φ(h) − 1, erf 2/√(π(1 + 2τ²)) e^{−ν²/(1+2τ²)}.
 * A unit with s = 0 is deterministic: its covariances vanish.
 *
 * E is computed without forming Φ₂ − Φ(h)Φ(k) where that would cancel: for |ρ| < 0.925 as the
 * Drezner–Wesolowsky integral (1/2π) ∫_0^{asin ρ} exp(−(h² + k² − 2hk sin θ)/(2cos²θ)) dθ itself
 * (Genz 2004, Statistics and Computing 14, 251–260, §2.1), by 20-point Gauss–Legendre; for
 * |ρ| ≥ 0.925 as Φ₂ − Φ(h)Φ(k) by Genz's high-correlation form, with (h, k) → (−h, −k) (E is even)
 * so that h + k ≤ 0 and the probabilities subtracted are the small ones.
 *
 * In float32 (tfjs) the closed relu form cancels too much where h, k ≪ 0 (its terms exceed the
 * result by ~(1 + h²)(1 + k²)), so for ρ > −0.925 the relu covariance comes from Price's theorem
 * instead, ∂Cov/∂ρ = E[H(u_i)H(u_j)] = Φ₂: Cov((X + h)⁺, (Y + k)⁺) = ∫_0^ρ Φ₂(h, k; r) dr
 * = ρΦ(h)Φ(k) + (1/2π) ∫_0^{asin ρ} (ρ − sin θ) e^{−(h² + k² − 2hk sin θ)/(2cos²θ)} dθ, whose terms
 * share the sign of ρ (reluCoreTensor), and the relu variance as its value at ρ = 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SingleAtom } from '../symbolic/activations.ts';
import { bivariateNormalCdf, gaussLegendre, normalCdf, normalPdf } from './gauss.ts';

export type { SingleAtom, SingleAtomKind } from '../symbolic/activations.ts';

const SQRT2 = Math.SQRT2;
const SQRT_2PI = 2.5066282746310002;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
/** Genz's switch from the Drezner–Wesolowsky integral to the high-correlation form. */
const HIGH_CORRELATION = 0.925;
/** Gauss–Legendre nodes for both forms (Genz uses 6/12/20 by |ρ| in the first; 20 is never less accurate). */
const NODES = 20;

// ---------------------------------------------------------------------------------------------
// Float64
// ---------------------------------------------------------------------------------------------

/**
 * E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) = Cov(1{X < h}, 1{Y < k}) in float64. |ρ| < 0.925: the
 * Drezner–Wesolowsky integral by 20-point Gauss–Legendre (no subtraction); else Φ₂ (gauss.ts,
 * Genz) minus the product at the sign of (h, k) with h + k ≤ 0. Exact at ρ = 0, ±1 and infinite limits.
 */
export function bivariateNormalExcess(h: number, k: number, rho: number): number {
  if (Number.isNaN(h) || Number.isNaN(k)) throw new RangeError(`bivariate normal limits must be numbers, got h = ${h}, k = ${k}`);
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`a correlation must lie in [−1, 1], got ${rho}`);
  if (rho === 0 || !Number.isFinite(h) || !Number.isFinite(k)) return 0;
  if (Math.abs(rho) < HIGH_CORRELATION) {
    const { nodes, weights } = gaussLegendre(NODES);
    const hk = h * k;
    const hs = (h * h + k * k) / 2;
    const asr = Math.asin(rho);
    let sum = 0;
    for (let i = 0; i < NODES; i++) {
      const sn = Math.sin((asr * (1 + nodes[i])) / 2);
      sum += weights[i] * Math.exp((sn * hk - hs) / ((1 - sn) * (1 + sn)));
    }
    return (sum * asr) / (4 * Math.PI);
  }
  if (h + k > 0) {
    h = -h;
    k = -k;
  }
  return bivariateNormalCdf(h, k, rho) - normalCdf(h) * normalCdf(k);
}

/** x/y for y ≥ 0, with the limit along y → 0⁺ at y = 0 (±∞, or 0 where x = 0). */
function ratio(x: number, y: number): number {
  if (y > 0) return x / y;
  return x > 0 ? Infinity : x < 0 ? -Infinity : 0;
}

/**
 * x − ρy, as (x − y) + (1 − ρ)y for ρ ≥ 1/2 and (x + y) − (1 + ρ)y for ρ ≤ −1/2, where 1 ∓ ρ is
 * exact (Sterbenz): as |ρ| → 1 the ratio (x − ρy)/√(1 − ρ²) is O(√(1 ∓ ρ)) where x = ±y, and the
 * rounding of ρy (ε|y|) would dominate it; the √(1 ∓ ρ) parts of the relu form cancel only when
 * it is accurate.
 */
function shiftedDifference(x: number, y: number, rho: number): number {
  if (rho >= 0.5) return x - y + (1 - rho) * y;
  if (rho <= -0.5) return x + y - (1 + rho) * y;
  return x - rho * y;
}

/**
 * Cov((X + h)⁺, (Y + k)⁺) for standard normals with correlation ρ: R(h, k; ρ) − m(h) m(k) in the
 * cancellation-free arrangement of the header.
 */
export function reluCovarianceStandard(h: number, k: number, rho: number): number {
  const E = bivariateNormalExcess(h, k, rho);
  const [Ph, Pk, ph, pk] = [normalCdf(h), normalCdf(k), normalPdf(h), normalPdf(k)];
  const r = Math.sqrt((1 - rho) * (1 + rho));
  const a = ratio(shiftedDifference(k, h, rho), r);
  const b = ratio(shiftedDifference(h, k, rho), r);
  return h * k * E + rho * (E + Ph * Pk) + h * pk * (normalCdf(b) - Ph) + k * ph * (normalCdf(a) - Pk) + ph * (r * normalPdf(a) - pk);
}

interface Unit {
  /** Mean and standard deviation of u = p z + q, and h = ν/τ. */
  readonly nu: number;
  readonly tau: number;
  readonly h: number;
}

function unitOf(atom: SingleAtom, mu: number, s: number): Unit {
  const nu = atom.slope * mu + atom.offset;
  const tau = Math.abs(atom.slope) * Math.sqrt(s);
  return { nu, tau, h: nu / tau };
}

/** D = E[a′(u)], the Stein factor of the linear part. */
function derivativeMean(atom: SingleAtom, u: Unit): number {
  switch (atom.kind) {
    case 'relu':
      return normalCdf(u.h);
    case 'heaviside':
      return normalPdf(u.h) / u.tau;
    case 'sign':
      return (2 * normalPdf(u.h)) / u.tau;
    case 'abs':
      return 2 * normalCdf(u.h) - 1;
    case 'erf': {
      const w = 1 + 2 * u.tau * u.tau;
      return (TWO_OVER_SQRT_PI * Math.exp((-u.nu * u.nu) / w)) / Math.sqrt(w);
    }
  }
}

/** (h', scale) of erf: h' = √2 ν/√(1 + 2τ²), and √2 τ/√(1 + 2τ²) so that ρ' = ρ · scale_i · scale_j. */
function erfArguments(u: Unit): { h: number; scale: number } {
  const root = Math.sqrt(1 + 2 * u.tau * u.tau);
  return { h: (SQRT2 * u.nu) / root, scale: (SQRT2 * u.tau) / root };
}

/** Cov(a(u_i), a(u_j)) at correlation ρ of u_i, u_j. */
function atomCovariance(atom: SingleAtom, ui: Unit, uj: Unit, rho: number): number {
  switch (atom.kind) {
    case 'heaviside':
      return bivariateNormalExcess(ui.h, uj.h, rho);
    case 'sign':
      return 4 * bivariateNormalExcess(ui.h, uj.h, rho);
    case 'relu':
      return ui.tau * uj.tau * reluCovarianceStandard(ui.h, uj.h, rho);
    case 'abs':
      return ui.tau * uj.tau * (4 * reluCovarianceStandard(ui.h, uj.h, rho) - 2 * rho * (normalCdf(ui.h) + normalCdf(uj.h)) + rho);
    case 'erf': {
      const [a, b] = [erfArguments(ui), erfArguments(uj)];
      return 4 * bivariateNormalExcess(a.h, b.h, Math.max(-1, Math.min(1, rho * a.scale * b.scale)));
    }
  }
}

function checkAtom(atom: SingleAtom): void {
  const numbers = [atom.coefficient, atom.slope, atom.offset, atom.linear[0], atom.linear[1]];
  if (!numbers.every(Number.isFinite)) throw new RangeError(`an atom needs finite numbers, got ${JSON.stringify(atom)}`);
  if (atom.slope === 0) throw new RangeError('an atom with slope 0 is a constant');
}

function checkMoments(mu: number, s: number, which: string): void {
  if (!Number.isFinite(mu)) throw new RangeError(`the mean of ${which} must be finite, got ${mu}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`the variance of ${which} must be finite and ≥ 0, got ${s}`);
}

/** E[φ(z)], z ~ N(μ, s): c G_a(ν, τ²) + l₀ + l₁ μ with G of DESIGN §5. */
export function exactMean(atom: SingleAtom, mu: number, s: number): number {
  checkAtom(atom);
  checkMoments(mu, s, 'the unit');
  const [l0, l1] = atom.linear;
  const u = unitOf(atom, mu, s);
  let g: number;
  if (u.tau === 0) {
    // A deterministic unit: a(ν), with heaviside(0) = sign(0) = 0 as in SMOOTHED_FUNCTIONS.
    const x = u.nu;
    const values = { relu: Math.max(x, 0), heaviside: x > 0 ? 1 : 0, sign: Math.sign(x), abs: Math.abs(x), erf: normalCdf(SQRT2 * x) - normalCdf(-SQRT2 * x) };
    g = values[atom.kind];
  } else
    switch (atom.kind) {
      case 'relu':
        g = u.nu * normalCdf(u.h) + u.tau * normalPdf(u.h);
        break;
      case 'heaviside':
        g = normalCdf(u.h);
        break;
      case 'sign':
        g = normalCdf(u.h) - normalCdf(-u.h);
        break;
      case 'abs':
        g = u.nu * (normalCdf(u.h) - normalCdf(-u.h)) + 2 * u.tau * normalPdf(u.h);
        break;
      case 'erf': {
        const { h } = erfArguments(u);
        g = normalCdf(h) - normalCdf(-h);
        break;
      }
    }
  return atom.coefficient * g + l0 + l1 * mu;
}

/**
 * Var(φ(z)), z ~ N(μ, s), in closed form: heaviside Φ(h)Φ(−h), sign 4Φ(h)Φ(−h),
 * relu τ²[h²Φ(h)Φ(−h) + Φ(h) + hφ(h)(Φ(−h) − Φ(h)) − φ(h)²] (= E[u⁺²] − E[u⁺]²),
 * abs τ²[1 − (E|u|/τ − |h|)(E|u|/τ + |h|)] with E|u|/τ − |h| = 2(φ(h) − |h|Φ(−|h|)),
 * erf 4E(h', h'; 2τ²/(1 + 2τ²)); plus the linear part 2 c l₁ p s D + l₁² s. 0 at s = 0.
 */
export function exactVariance(atom: SingleAtom, mu: number, s: number): number {
  checkAtom(atom);
  checkMoments(mu, s, 'the unit');
  if (s === 0) return 0;
  const u = unitOf(atom, mu, s);
  const { h, tau } = u;
  const [P, Q, d] = [normalCdf(h), normalCdf(-h), normalPdf(h)];
  let v: number;
  switch (atom.kind) {
    case 'heaviside':
      v = P * Q;
      break;
    case 'sign':
      v = 4 * P * Q;
      break;
    case 'relu':
      v = tau * tau * Math.max(0, h * h * P * Q + P + h * d * (Q - P) - d * d);
      break;
    case 'abs': {
      const a = Math.abs(h);
      const excess = 2 * (d - a * normalCdf(-a));
      v = tau * tau * Math.max(0, 1 - excess * (excess + 2 * a));
      break;
    }
    case 'erf': {
      const e = erfArguments(u);
      v = 4 * bivariateNormalExcess(e.h, e.h, e.scale * e.scale);
      break;
    }
  }
  const c = atom.coefficient;
  const l1 = atom.linear[1];
  return c * c * v + 2 * c * l1 * atom.slope * s * derivativeMean(atom, u) + l1 * l1 * s;
}

/**
 * Cov(φ(z_i), φ(z_j)) for (z_i, z_j) bivariate normal with means μ_i, μ_j, variances s_i, s_j and
 * covariance c_ij, exactly (the forms of the header; ρ = c_ij/√(s_i s_j) clamped to [−1, 1]).
 * 0 where s_i = 0 or s_j = 0.
 */
export function exactPairCovariance(atom: SingleAtom, muI: number, muJ: number, sI: number, sJ: number, cIJ: number): number {
  checkAtom(atom);
  checkMoments(muI, sI, 'unit i');
  checkMoments(muJ, sJ, 'unit j');
  if (!Number.isFinite(cIJ)) throw new RangeError(`the covariance must be finite, got ${cIJ}`);
  if (sI === 0 || sJ === 0) return 0;
  // √(s_i s_j), not √s_i √s_j: √(s²) = s exactly, so c_ij = s_i = s_j gives ρ = 1 exactly (the
  // Heaviside covariance moves by O(√(1 − ρ)) there).
  const scale = Math.sqrt(sI * sJ);
  if (Math.abs(cIJ) > scale * (1 + 1e-9)) throw new RangeError(`|covariance| ${Math.abs(cIJ)} exceeds √(s_i s_j) = ${scale}`);
  const rho = Math.max(-1, Math.min(1, cIJ / scale));
  const [ui, uj] = [unitOf(atom, muI, sI), unitOf(atom, muJ, sJ)];
  const c = atom.coefficient;
  const l1 = atom.linear[1];
  let cov = c * c * atomCovariance(atom, ui, uj, rho);
  if (l1 !== 0) cov += c * l1 * atom.slope * cIJ * (derivativeMean(atom, ui) + derivativeMean(atom, uj)) + l1 * l1 * cIJ;
  return cov;
}

// ---------------------------------------------------------------------------------------------
// tfjs, float32
// ---------------------------------------------------------------------------------------------

type T = tf.Tensor;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * Φ(−x) = erfc(x/√2)/2 for x ≥ 0 as (t/2) e^{−a²/2} e^{P(t) − (x − a)(x + a)/2}: erfc(z) = t e^{−z² + P(t)},
 * t = 1/(1 + z/2), P of degree 9, is the Chebyshev fit of Numerical Recipes (Press et al., 2nd ed.,
 * §6.2, erfcc; relative error < 1.2e-7 for every z ≥ 0), and x²/2 is split at a = ⌊16x⌋/16 (Cody's
 * device: a² is exact in float32 for x < 256, and (x − a)(x + a) carries a rounding of only
 * ε x/16), since a rounded x²/2 would cost x²ε/2 of relative accuracy. `logScale` is added to the
 * exponent of the first factor, so exp(logScale) Φ(−x) neither overflows nor underflows early.
 */
function scaledUpperTail(x: T, logScale?: T): T {
  const t = tf.div(1, tf.add(1, tf.mul(x, INV_SQRT2 / 2)));
  const c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
  let p: T = tf.scalar(c[9]);
  for (let i = 8; i >= 0; i--) p = tf.add(tf.mul(p, t), c[i]);
  const a = tf.div(tf.floor(tf.mul(x, 16)), 16);
  const big = tf.mul(tf.square(a), -0.5);
  const small = tf.sub(p, tf.mul(tf.mul(tf.sub(x, a), tf.add(x, a)), 0.5));
  return tf.mul(tf.mul(t, 0.5), tf.mul(tf.exp(logScale ? tf.add(big, logScale) : big), tf.exp(small)));
}

/**
 * Standard normal CDF in float32: Φ(x) = erfc(−x/√2)/2 by scaledUpperTail, so the smaller tail
 * (Φ(x) for x < 0, 1 − Φ(x) for x > 0) keeps its relative accuracy: measured ≤ 4e-7 for |x| ≤ 8
 * (down to Φ ≈ 1e-38, where float32 ends); Φ itself to 2e-7 absolute.
 */
export function normalCdfTensor(x: T): T {
  return tf.tidy(() => {
    const q = scaledUpperTail(tf.abs(x));
    return tf.where(tf.less(x, 0), q, tf.sub(1, q));
  });
}

function normalPdfTensor(x: T): T {
  return tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
}

/**
 * Σ over the Gauss–Legendre nodes of terms(x_i, w_i) (one or more sums at once), each step in its
 * own tidy, so memory stays that of one step.
 */
function legendreSums(terms: (x: number, w: number) => T[]): T[] {
  const { nodes, weights } = gaussLegendre(NODES);
  let sums: T[] | undefined;
  for (let i = 0; i < NODES; i++) {
    const previous = sums;
    sums = tf.tidy(() => {
      const next = terms(nodes[i], weights[i]);
      return previous ? next.map((t, j) => tf.add(previous[j], t)) : next;
    });
    previous?.forEach((t) => t.dispose());
  }
  return sums!;
}

/**
 * E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) elementwise (broadcasting), float32: both of Genz's forms
 * on every element, chosen by |ρ| < 0.925 with tf.where. The low form is the Drezner–Wesolowsky
 * integral itself; the high form Φ₂ − Φ(h)Φ(k) at the sign of (h, k) with h + k ≤ 0, Φ₂ by Genz's
 * BVNU (as in gauss.ts upperOrthant: the expansion in x = √(1 − r²), its leading terms in closed
 * form, the remainder by Gauss–Legendre), written with combined exponentials so no intermediate
 * overflows; ρ = ±1 is reached as the limit (1 − ρ² is floored at 1e-30).
 */
export function bivariateNormalExcessTensor(h: T, k: T, rho: T): T {
  return tf.tidy(() => excessParts(h, k, rho, false).E);
}

/**
 * E(h, k; ρ) as above (`low`: the mask |ρ| < 0.925); with `relu`, also the part over
 * θ ∈ [0, asin min(|ρ|, 0.925)] of the integral in
 * Cov((X + h)⁺, (Y + k)⁺) = ρΦ(h)Φ(k) + (1/2π) ∫_0^{asin ρ} (ρ − sin θ) e^{−(h² + k² − 2hk sin θ)/(2cos²θ)} dθ
 * (Price: ∂Cov/∂ρ = E[H(X + h)H(Y + k)] = Φ₂(h, k; ρ), so Cov = ∫_0^ρ Φ₂ = ρΦ(h)Φ(k) + ∫_0^ρ (ρ − t)φ₂(h, k; t) dt,
 * and t = sin θ), on the same nodes as (ρ Σ w e − Σ w sin θ e): for ρ > 0 every term is positive.
 */
function excessParts(h: T, k: T, rho: T, relu: boolean): { E: T; low: T; reluIntegral?: T } {
  const { assertAndGetBroadcastShape } = tf.broadcast_util;
  const shape = assertAndGetBroadcastShape(assertAndGetBroadcastShape(h.shape, k.shape), rho.shape);
  const [H0, K0, R] = [tf.broadcastTo(h, shape), tf.broadcastTo(k, shape), tf.broadcastTo(rho, shape)];
  const absR = tf.abs(R);
  const low = tf.less(absR, HIGH_CORRELATION);

  // |ρ| < 0.925: (asin ρ / 4π) Σ_i w_i exp((sin θ_i hk − (h² + k²)/2)/cos² θ_i), θ_i = asin ρ (1 + x_i)/2.
  const RL = tf.clipByValue(R, -HIGH_CORRELATION, HIGH_CORRELATION);
  const asr = tf.asin(RL);
  const hk = tf.mul(H0, K0);
  const hs = tf.mul(tf.add(tf.square(H0), tf.square(K0)), 0.5);
  const lowSums = legendreSums((x, w) => {
    const sn = tf.sin(tf.mul(asr, (1 + x) / 2));
    const term = tf.mul(tf.exp(tf.div(tf.sub(tf.mul(sn, hk), hs), tf.sub(1, tf.square(sn)))), w);
    return relu ? [term, tf.mul(term, sn)] : [term];
  });
  const factor = tf.div(asr, 4 * Math.PI);
  const lowValue = tf.mul(lowSums[0], factor);
  const reluIntegral = relu ? tf.mul(tf.sub(tf.mul(R, lowSums[0]), lowSums[1]), factor) : undefined;

  // |ρ| ≥ 0.925: Φ₂(h, k; ρ) = P(X > −h, Y > −k) with h + k ≤ 0 (E is even in (h, k)).
  const flip = tf.greater(tf.add(H0, K0), 0);
  const hf = tf.where(flip, tf.neg(H0), H0);
  const kf = tf.where(flip, tf.neg(K0), K0);
  const negative = tf.less(R, 0);
  const upperH = tf.neg(hf);
  const upperK = tf.where(negative, kf, tf.neg(kf)); // Genz: k → −k for ρ < 0
  const ar = tf.maximum(absR, HIGH_CORRELATION);
  const as = tf.maximum(tf.mul(tf.sub(1, ar), tf.add(1, ar)), 1e-30);
  const a = tf.sqrt(as);
  const hkU = tf.mul(upperH, upperK);
  const bs = tf.square(tf.sub(upperH, upperK));
  const c = tf.div(tf.sub(4, hkU), 8);
  const d = tf.div(tf.sub(12, hkU), 16);
  const dbs5 = tf.sub(1, tf.div(tf.mul(d, bs), 5));
  // a e^{−(bs/as + hk)/2} (1 − c(bs − as)(1 − d bs/5)/3 + c d as²/5)
  const first = tf.mul(
    tf.mul(a, tf.exp(tf.mul(tf.add(tf.div(bs, as), hkU), -0.5))),
    tf.add(tf.sub(1, tf.div(tf.mul(tf.mul(c, tf.sub(bs, as)), dbs5), 3)), tf.div(tf.mul(tf.mul(c, d), tf.square(as)), 5)),
  );
  // − e^{−hk/2} √(2π) Φ(−b/a) b (1 − c bs (1 − d bs/5)/3), b = √bs
  const b = tf.sqrt(bs);
  const second = tf.mul(
    tf.mul(scaledUpperTail(tf.div(b, a), tf.mul(hkU, -0.5)), SQRT_2PI),
    tf.mul(b, tf.sub(1, tf.div(tf.mul(tf.mul(c, bs), dbs5), 3))),
  );
  const half = tf.mul(a, 0.5);
  // Σ_i (a/2) w_i e^{−(bs/x² + hk)/2} (e^{−hk x²/(2(1 + r)²)}/r − (1 + c x²(1 + d x²))), x = (a/2)(x_i + 1), r = √(1 − x²)
  const [remainder] = legendreSums((x, w) => {
    const t = tf.mul(half, x + 1);
    const xs = tf.square(t);
    const rs = tf.sqrt(tf.sub(1, xs));
    const e = tf.mul(tf.add(tf.div(bs, xs), hkU), -0.5);
    const sp = tf.add(1, tf.mul(tf.mul(c, xs), tf.add(1, tf.mul(d, xs))));
    const ep = tf.div(tf.exp(tf.sub(e, tf.div(tf.mul(hkU, xs), tf.mul(tf.square(tf.add(1, rs)), 2)))), rs);
    return [tf.mul(tf.sub(ep, tf.mul(sp, tf.exp(e))), tf.mul(half, w))];
  });
  const bvn = tf.div(tf.add(tf.sub(first, second), remainder), -2 * Math.PI);
  const positive = tf.add(bvn, normalCdfTensor(tf.neg(tf.maximum(upperH, upperK))));
  const between = tf.where(
    tf.less(upperH, 0),
    tf.sub(normalCdfTensor(upperK), normalCdfTensor(upperH)),
    tf.sub(normalCdfTensor(tf.neg(upperH)), normalCdfTensor(tf.neg(upperK))),
  );
  const negativeValue = tf.sub(tf.where(tf.less(upperH, upperK), between, tf.zerosLike(bvn)), bvn);
  const phi2 = tf.where(negative, negativeValue, positive);
  const highValue = tf.sub(phi2, tf.mul(normalCdfTensor(hf), normalCdfTensor(kf)));
  return { E: tf.where(low, lowValue, highValue), low, reluIntegral };
}

/** Per-unit tensors [B, N]. */
interface UnitTensors {
  nu: T;
  tau: T;
  h: T;
  P: T;
  p: T;
}

/**
 * Cov(φ(z_i), φ(z_j)) for a batch: mean [B, N], variance [B, N], cov [B, N, N] → [B, N, N] in
 * float32, the forms of the header with E by bivariateNormalExcessTensor and Φ by normalCdfTensor
 * (relu and abs through reluCoreTensor); the diagonal holds the exact variance (exactVariance's
 * forms; relu by its integral form), rows and columns of units with s = 0 are 0.
 * ρ = c_ij/√(s_i s_j) is clamped to [−1, 1]. Accuracy against exactPairCovariance on the same
 * (float32) inputs, relative to √(Var_i Var_j), measured on wasm and cpu for every kind at
 * ρ ∈ [−1, 1]: ≤ 2e-6 for standardised means |ν/τ| ≤ 6, ≤ 4e-6 out to 8 — mostly the float32
 * rounding of h = ν/τ itself, amplified by |h| in the tails. The caller runs it inside tf.tidy
 * (intermediates are released here, the result is not).
 */
export function exactPairCovarianceTensor(atom: SingleAtom, mean: T, variance: T, cov: T): tf.Tensor3D {
  checkAtom(atom);
  if (mean.rank !== 2 || variance.rank !== 2 || cov.rank !== 3) throw new RangeError(`expected mean and variance [B, N] and cov [B, N, N], got ${mean.shape}, ${variance.shape}, ${cov.shape}`);
  const [B, N] = mean.shape;
  if (variance.shape[0] !== B || variance.shape[1] !== N || cov.shape[0] !== B || cov.shape[1] !== N || cov.shape[2] !== N)
    throw new RangeError(`expected mean and variance [B, N] and cov [B, N, N], got ${mean.shape}, ${variance.shape}, ${cov.shape}`);
  return tf.tidy(() => {
    const { kind, slope, offset, coefficient: c } = atom;
    const l1 = atom.linear[1];
    const s = tf.maximum(tf.cast(variance, 'float32'), 0);
    const alive = tf.greater(s, 0);
    const sSafe = tf.where(alive, s, tf.onesLike(s));
    const root = tf.sqrt(sSafe);
    const nu = tf.add(tf.mul(tf.cast(mean, 'float32'), slope), offset);
    const tau = tf.mul(root, Math.abs(slope));
    const h = tf.div(nu, tau);
    const unit: UnitTensors = { nu, tau, h, P: normalCdfTensor(h), p: normalPdfTensor(h) };
    const C = tf.cast(cov, 'float32');
    // √(s_i s_j) as in exactPairCovariance (ρ = 1 exactly for a duplicated unit).
    const rho = tf.clipByValue(tf.div(C, tf.sqrt(tf.mul(tf.expandDims(sSafe, 2), tf.expandDims(sSafe, 1)))), -1, 1);
    const col = (x: T) => tf.expandDims(x, 2); // unit i
    const row = (x: T) => tf.expandDims(x, 1); // unit j

    let atomCov: T;
    switch (kind) {
      case 'heaviside':
      case 'sign': {
        const E = bivariateNormalExcessTensor(col(h), row(h), rho);
        atomCov = kind === 'sign' ? tf.mul(E, 4) : E;
        break;
      }
      case 'relu':
      case 'abs': {
        const core = reluCoreTensor(unit, rho);
        const ts = tf.mul(col(tau), row(tau));
        atomCov =
          kind === 'relu'
            ? tf.mul(ts, core)
            : tf.mul(ts, tf.add(tf.sub(tf.mul(core, 4), tf.mul(tf.mul(rho, 2), tf.add(col(unit.P), row(unit.P)))), rho));
        break;
      }
      case 'erf': {
        const w = tf.sqrt(tf.add(1, tf.mul(tf.square(tau), 2)));
        const hp = tf.div(tf.mul(nu, SQRT2), w);
        const scale = tf.div(tf.mul(tau, SQRT2), w);
        const rhoP = tf.clipByValue(tf.mul(rho, tf.mul(col(scale), row(scale))), -1, 1);
        atomCov = tf.mul(bivariateNormalExcessTensor(col(hp), row(hp), rhoP), 4);
        break;
      }
    }
    let full = tf.mul(atomCov, c * c);
    const D = l1 !== 0 ? derivativeMeanTensor(atom, unit) : undefined;
    if (D) full = tf.add(full, tf.mul(C, tf.add(tf.mul(tf.add(col(D), row(D)), c * l1 * slope), l1 * l1)));
    const pairAlive = tf.logicalAnd(col(alive), row(alive));
    const off = tf.where(pairAlive, full, tf.zerosLike(full));
    const diagonal = tf.where(alive, varianceTensor(atom, unit, sSafe, D), tf.zerosLike(s));
    const eye = tf.cast(tf.eye(N), 'bool');
    return tf.where(tf.broadcastTo(tf.expandDims(eye, 0), [B, N, N]), tf.broadcastTo(col(diagonal), [B, N, N]), off) as tf.Tensor3D;
  });
}

/**
 * Cov((X + h_i)⁺, (Y + h_j)⁺) for all pairs. ρ > −0.925: the integral form of excessParts, for
 * ρ ≥ 0.925 completed over t = sin θ ∈ [0.925, ρ] in the variable x = √(1 − t²) ∈ [√(1 − ρ²), x₀],
 * x₀ = √(1 − 0.925²), where φ₂(h, k; t) dt = −e^{−(h − k)²/(2x²) − hk/(1 + t)}/(2π t) dx, by
 * 20-point Gauss–Legendre (the weight ρ − t = (x² − x_ρ²)/(ρ + t) vanishes where the integrand
 * turns sharp, at x → 0: 2e-8 of √(Var_i Var_j) measured in float64 for ρ ∈ [0.925, 1], |h|, |k| ≤ 6).
 * For ρ > 0 all terms are positive, where the closed form loses ~ε(1 + h²)(1 + k²) to cancellation for
 * h, k ≪ 0 (6e-5 at h, k ≈ −4 in float32). ρ ≤ −0.925: the arrangement of the header, ρ = −1 as the limit.
 */
function reluCoreTensor(u: UnitTensors, rho: T): T {
  const col = (x: T) => tf.expandDims(x, 2);
  const row = (x: T) => tf.expandDims(x, 1);
  const [h, k, Ph, Pk, ph, pk] = [col(u.h), row(u.h), col(u.P), row(u.P), col(u.p), row(u.p)];
  const { E, low, reluIntegral } = excessParts(h, k, rho, true);
  const r = tf.sqrt(tf.maximum(tf.mul(tf.sub(1, rho), tf.add(1, rho)), 1e-30));
  // x − ρy as in shiftedDifference.
  const [high, negative] = [tf.greaterEqual(rho, 0.5), tf.lessEqual(rho, -0.5)];
  const shifted = (x: T, y: T) =>
    tf.where(
      high,
      tf.add(tf.sub(x, y), tf.mul(tf.sub(1, rho), y)),
      tf.where(negative, tf.sub(tf.add(x, y), tf.mul(tf.add(1, rho), y)), tf.sub(x, tf.mul(rho, y))),
    );
  const a = tf.div(shifted(k, h), r);
  const b = tf.div(shifted(h, k), r);
  const closed = tf.addN([
    tf.mul(tf.mul(h, k), E),
    tf.mul(rho, tf.add(E, tf.mul(Ph, Pk))),
    tf.mul(tf.mul(h, pk), tf.sub(normalCdfTensor(b), Ph)),
    tf.mul(tf.mul(k, ph), tf.sub(normalCdfTensor(a), Pk)),
    tf.mul(ph, tf.sub(tf.mul(r, normalPdfTensor(a)), pk)),
  ]);
  const x0 = Math.sqrt((1 - HIGH_CORRELATION) * (1 + HIGH_CORRELATION));
  const rhoHigh = tf.maximum(rho, HIGH_CORRELATION);
  const xr = tf.sqrt(tf.mul(tf.sub(1, rhoHigh), tf.add(1, rhoHigh)));
  const half = tf.div(tf.sub(x0, xr), 2);
  const hMinusK2 = tf.mul(tf.square(tf.sub(h, k)), -0.5);
  const hk = tf.mul(h, k);
  const [tail] = legendreSums((x, w) => {
    const offset = tf.mul(half, 1 + x); // x − x_ρ
    const xs = tf.add(xr, offset);
    const t = tf.sqrt(tf.sub(1, tf.square(xs)));
    const weight = tf.div(tf.mul(offset, tf.add(xs, xr)), tf.mul(tf.add(rhoHigh, t), t)); // (ρ − t)/t
    return [tf.mul(tf.mul(weight, tf.exp(tf.sub(tf.div(hMinusK2, tf.square(xs)), tf.div(hk, tf.add(1, t))))), w)];
  });
  const lowPart = tf.add(tf.mul(rho, tf.mul(Ph, Pk)), reluIntegral!);
  const highPart = tf.add(lowPart, tf.mul(tail, tf.div(half, 2 * Math.PI)));
  return tf.where(low, lowPart, tf.where(tf.greater(rho, 0), highPart, closed));
}

function derivativeMeanTensor(atom: SingleAtom, u: UnitTensors): T {
  switch (atom.kind) {
    case 'relu':
      return u.P;
    case 'heaviside':
      return tf.div(u.p, u.tau);
    case 'sign':
      return tf.div(tf.mul(u.p, 2), u.tau);
    case 'abs':
      return tf.sub(tf.mul(u.P, 2), 1);
    case 'erf': {
      const w = tf.add(1, tf.mul(tf.square(u.tau), 2));
      return tf.mul(tf.div(tf.exp(tf.neg(tf.div(tf.square(u.nu), w))), tf.sqrt(w)), TWO_OVER_SQRT_PI);
    }
  }
}

/** exactVariance per unit, [B, N]. */
function varianceTensor(atom: SingleAtom, u: UnitTensors, s: T, D: T | undefined): T {
  const { h, tau } = u;
  const P = u.P;
  const Q = normalCdfTensor(tf.neg(h));
  const d = u.p;
  let v: T;
  switch (atom.kind) {
    case 'heaviside':
      v = tf.mul(P, Q);
      break;
    case 'sign':
      v = tf.mul(tf.mul(P, Q), 4);
      break;
    case 'relu': {
      // The integral form at ρ = 1 (θ = π/4 (1 + x)): Var/τ² = Φ(h)² + (1/8) Σ_i w_i (1 − sin θ_i) e^{−h²/(1 + sin θ_i)},
      // all terms positive, where the closed form loses h⁴ε for h ≪ 0.
      const h2 = tf.square(h);
      const [sum] = legendreSums((x, w) => {
        const sn = Math.sin((Math.PI / 4) * (1 + x));
        return [tf.mul(tf.exp(tf.div(h2, -(1 + sn))), w * (1 - sn))];
      });
      v = tf.mul(tf.square(tau), tf.add(tf.square(P), tf.mul(sum, 0.125)));
      break;
    }
    case 'abs': {
      const a = tf.abs(h);
      const excess = tf.mul(tf.sub(d, tf.mul(a, normalCdfTensor(tf.neg(a)))), 2);
      v = tf.mul(tf.square(tau), tf.relu(tf.sub(1, tf.mul(excess, tf.add(excess, tf.mul(a, 2))))));
      break;
    }
    case 'erf': {
      const w = tf.sqrt(tf.add(1, tf.mul(tf.square(tau), 2)));
      const hp = tf.div(tf.mul(u.nu, SQRT2), w);
      const scale = tf.div(tf.mul(tau, SQRT2), w);
      v = tf.mul(bivariateNormalExcessTensor(hp, hp, tf.square(scale)), 4);
      break;
    }
  }
  const c = atom.coefficient;
  const l1 = atom.linear[1];
  let out = tf.mul(v, c * c);
  if (D) out = tf.add(out, tf.mul(s, tf.add(tf.mul(D, 2 * c * l1 * atom.slope), l1 * l1)));
  return out;
}
