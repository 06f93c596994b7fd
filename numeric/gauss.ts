/**
 * Gaussian quadrature and normal probabilities in float64: Gauss–Hermite rules for E[f(X)],
 * X ~ N(0, 1); the Gaussian expectations and Stein-form coefficients g_k (docs/theory.md §Gaussian closure); the
 * univariate and bivariate normal CDF Φ, Φ₂ that the exact closed forms (ReLU, erf, Heaviside) need.
 */

import { normalCdf, normalPdf } from '../symbolic/special.ts';
import { compileRoutines } from '../symbolic/print/js.ts';
import { BIVARIATE_ROUTINES } from '../symbolic/bivariate-normal.ts';

export { normalCdf, normalPdf };

const EPSILON = Number.EPSILON;
const TWO_PI = 2 * Math.PI;

// ---------------------------------------------------------------------------------------------
// Hermite polynomials
// ---------------------------------------------------------------------------------------------

function checkOrder(k: number, name: string): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`${name} must be a non-negative integer, got ${k}`);
}

/** Probabilists' Hermite polynomial He_k(x), by He_{j+1} = x He_j − j He_{j−1}, He_0 = 1, He_1 = x. */
export function hermiteHe(k: number, x: number): number {
  checkOrder(k, 'the Hermite order k');
  if (k === 0) return 1;
  let previous = 1;
  let current = x;
  for (let j = 1; j < k; j++) {
    const next = x * current - j * previous;
    previous = current;
    current = next;
  }
  return current;
}

/** He_0(x), …, He_kmax(x) into out (allocated when absent; needs length ≥ kmax + 1). */
export function hermiteHeAll(kmax: number, x: number, out?: Float64Array): Float64Array {
  checkOrder(kmax, 'the highest Hermite order kmax');
  const values = out ?? new Float64Array(kmax + 1);
  if (values.length < kmax + 1) throw new RangeError(`hermiteHeAll needs an output of length ≥ ${kmax + 1}, got ${values.length}`);
  values[0] = 1;
  if (kmax >= 1) values[1] = x;
  for (let j = 1; j < kmax; j++) values[j + 1] = x * values[j] - j * values[j - 1];
  return values;
}

// ---------------------------------------------------------------------------------------------
// Gauss–Hermite rules
// ---------------------------------------------------------------------------------------------

/** An n-point rule: Σ weights[i] f(nodes[i]) ≈ E[f(X)], X ~ N(0, 1). Shared by the cache: do not modify. */
export interface GaussHermiteRule {
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix with diagonal d and off-diagonal e (e[i] couples
 * i and i+1; e[n−1] unused), in place into d, by the implicit QL method with Wilkinson shifts
 * (Numerical Recipes 3rd ed. §11.4, eigenvalues only: O(n²)).
 */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= EPSILON * dd) break;
      }
      if (m !== l) {
        if (iterations++ === 100) throw new Error('tridiagonal QL did not converge');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        let s = 1;
        let c = 1;
        let p = 0;
        let deflated = false;
        for (let i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            deflated = true;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (deflated) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}

/**
 * The orthonormal Hermite polynomials h_j = He_j/√(j!) at x, by
 * h_{j+1} = (x h_j − √j h_{j−1})/√(j+1): returns h_n and h_{n−1} scaled by a common 2^{−scale}
 * (rescaled whenever they grow past 2^{400}, so n = 1000 at x = 60 does not overflow) and log|h_{n−1}|.
 * roots[j] = √j, j = 0 … n.
 */
function orthonormalHermite(n: number, x: number, roots: Float64Array): { hn: number; hn1: number; logAbsHn1: number } {
  let previous = 0;
  let current = 1;
  let logScale = 0;
  const big = 2 ** 400;
  const LN_BIG = 400 * Math.LN2;
  for (let j = 0; j < n; j++) {
    const next = (x * current - roots[j] * previous) / roots[j + 1];
    previous = current;
    current = next;
    if (Math.abs(current) > big) {
      current /= big;
      previous /= big;
      logScale += LN_BIG;
    }
  }
  return { hn: current, hn1: previous, logAbsHn1: Math.log(Math.abs(previous)) + logScale };
}

const hermiteCache = new Map<number, GaussHermiteRule>();

/**
 * The n-point Gauss–Hermite rule for the probabilists' weight φ(x) = e^{−x²/2}/√(2π): exact for
 * polynomials of degree ≤ 2n − 1, weights summing to 1. Nodes: eigenvalues of the Jacobi matrix of
 * He (zero diagonal, off-diagonal √1, …, √(n−1); Golub & Welsch 1969), found as square roots of a
 * half-size block of its square, each polished by Newton steps on h_n (h_n' = √n h_{n−1}) and
 * mirrored so the rule is exactly symmetric. Weights from the Christoffel numbers
 * w_i = 1/(n h_{n−1}(x_i)²), formed in log space and normalised to sum 1. Past n ≈ 300 the
 * outermost weights fall below the normal float64 range (subnormal, then 0), so for large n
 * exactness holds only for polynomials whose values there stay representable (at n = 512, degree
 * up to about 600 of the 1023). Cached by n.
 */
export function gaussHermite(n: number): GaussHermiteRule {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a Gauss–Hermite rule needs a positive integer number of nodes, got ${n}`);
  const cached = hermiteCache.get(n);
  if (cached) return cached;
  const roots = new Float64Array(n + 1);
  for (let j = 0; j <= n; j++) roots[j] = Math.sqrt(j);
  const half = Math.floor(n / 2);
  // The Jacobi matrix J has zero diagonal, so J maps even-indexed vectors to odd-indexed ones and J²
  // splits into two tridiagonal blocks. The block on indices n−2, n−4, … (size ⌊n/2⌋; for odd n
  // the other one also carries the eigenvalue 0 of the middle node) has exactly the squares of the
  // positive nodes as eigenvalues: a quarter of the work. There (J²)_{ii} = i + (i + 1) and
  // (J²)_{i,i+2} = √((i+1)(i+2)).
  const d = new Float64Array(half);
  const e = new Float64Array(half);
  for (let m = 0; m < half; m++) {
    const i = (n % 2) + 2 * m;
    d[m] = 2 * i + 1;
    if (m + 1 < half) e[m] = roots[i + 1] * roots[i + 2];
  }
  tridiagonalEigenvalues(d, e);
  d.sort();
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  const logWeights = new Float64Array(n);
  // Polish the positive half by Newton on h_n (the squared eigenvalues are good to ε‖J‖², ample to
  // start from), mirror, and keep x = 0 for odd n.
  for (let m = 0; m < half; m++) {
    const i = n - half + m;
    let x = Math.sqrt(Math.max(d[m], 0));
    for (let step = 0; step < 20; step++) {
      const { hn, hn1 } = orthonormalHermite(n, x, roots);
      const dx = hn / (roots[n] * hn1);
      x -= dx;
      if (Math.abs(dx) <= 2 * EPSILON * Math.abs(x)) break;
    }
    nodes[i] = x;
    nodes[n - 1 - i] = -x;
  }
  let maxLog = -Infinity;
  for (let i = n - 1; i >= n - half - (n % 2); i--) {
    const { logAbsHn1 } = orthonormalHermite(n, nodes[i], roots);
    const lw = -Math.log(n) - 2 * logAbsHn1;
    logWeights[i] = lw;
    logWeights[n - 1 - i] = lw;
    maxLog = Math.max(maxLog, lw);
  }
  for (let i = 0; i < n; i++) weights[i] = Math.exp(logWeights[i] - maxLog);
  // Smallest first, so the tail weights are not lost against the central ones.
  let total = 0;
  for (let i = 0; i < half; i++) total += weights[i] + weights[n - 1 - i];
  if (n % 2 === 1) total += weights[half];
  for (let i = 0; i < n; i++) weights[i] /= total;
  const rule: GaussHermiteRule = { nodes, weights };
  hermiteCache.set(n, rule);
  return rule;
}

// ---------------------------------------------------------------------------------------------
// Gauss–Legendre rules
// ---------------------------------------------------------------------------------------------

const legendreCache = new Map<number, GaussHermiteRule>();

/**
 * The n-point Gauss–Legendre rule on [−1, 1] (weights sum to 2): roots of P_n by Newton from
 * x ≈ cos(π(i + 3/4)/(n + 1/2)), P_n by (j+1)P_{j+1} = (2j+1)x P_j − j P_{j−1},
 * w_i = 2/((1 − x_i²) P_n'(x_i)²). Cached by n.
 */
export function gaussLegendre(n: number): GaussHermiteRule {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a Gauss–Legendre rule needs a positive integer number of nodes, got ${n}`);
  const cached = legendreCache.get(n);
  if (cached) return cached;
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 1;
    for (let step = 0; step < 100; step++) {
      let p0 = 1;
      let p1 = x;
      for (let j = 1; j < n; j++) {
        const p2 = ((2 * j + 1) * x * p1 - j * p0) / (j + 1);
        p0 = p1;
        p1 = p2;
      }
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / derivative;
      x -= dx;
      if (Math.abs(dx) <= EPSILON) break;
    }
    if (n % 2 === 1 && i === (n - 1) / 2) x = 0;
    const w = 2 / ((1 - x * x) * derivative * derivative);
    nodes[n - 1 - i] = x;
    nodes[i] = -x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  const rule: GaussHermiteRule = { nodes, weights };
  legendreCache.set(n, rule);
  return rule;
}

// ---------------------------------------------------------------------------------------------
// Adaptive Gaussian expectations
// ---------------------------------------------------------------------------------------------

export interface QuadratureOptions {
  /** Relative agreement asked of successive estimates (default 1e-10); three in a row must agree. */
  tolerance?: number;
  /** Absolute agreement asked of successive estimates (default 1e-14), added to the relative one. */
  absoluteTolerance?: number;
  /** Nodes of the first rule (default 16); each further rule doubles them. */
  minNodes?: number;
  /**
   * Most nodes tried before giving up (default 4096). Gauss–Hermite error falls like e^{−c√n}
   * with c proportional to the distance of f's nearest complex singularity from the real axis in
   * units of √s, so the nodes needed grow ∝ s: E[tanh] at the default tolerance takes 256 nodes
   * at s = 0.5, 1024 at s = 2, 4096 at s = 10, and does not settle by 4096 at s = 25.
   */
  maxNodes?: number;
  /**
   * Judge every component against the Euclidean norm of the whole vector instead of its own size
   * (default false): for orthonormal-basis coefficients, whose norm is √E[f²], this is the absolute
   * accuracy that matters, and a coefficient that is itself nearly 0 need not settle to 1e-10 of
   * itself.
   */
  jointScale?: boolean;
}

export interface GaussianExpectation {
  value: number;
  /** Nodes of the rule whose estimate is returned. */
  nodes: number;
  /** Larger |difference| among the last three estimates, or the rounding level of the sum if larger. */
  error: number;
}

export interface SteinCoefficients {
  /** g_k = E[f^{(k)}(z)], z ~ N(μ, s), k = 0 … kmax. */
  g: Float64Array;
  nodes: number;
  /** Largest of errors. */
  error: number;
  /** Per k: larger |difference| among the last three estimates of g_k, or its rounding level if larger. */
  errors: Float64Array;
}

const NON_CONVERGENT = 'the Gaussian expectation does not exist or does not converge';

interface Settings {
  tolerance: number;
  absoluteTolerance: number;
  minNodes: number;
  maxNodes: number;
  jointScale: boolean;
}

function settings(options: QuadratureOptions | undefined, start = 16): Settings {
  const tolerance = options?.tolerance ?? 1e-10;
  const absoluteTolerance = options?.absoluteTolerance ?? 1e-14;
  const minNodes = Math.max(options?.minNodes ?? 16, start);
  const maxNodes = options?.maxNodes ?? 4096;
  if (!(tolerance >= 0) || !(absoluteTolerance >= 0) || !(tolerance > 0 || absoluteTolerance > 0))
    throw new RangeError(`quadrature tolerances must be non-negative and not both zero, got ${tolerance} relative and ${absoluteTolerance} absolute`);
  if (!Number.isInteger(minNodes) || minNodes < 1) throw new RangeError(`minNodes must be a positive integer, got ${minNodes}`);
  if (!Number.isInteger(maxNodes) || maxNodes < minNodes) throw new RangeError(`maxNodes must be an integer ≥ ${minNodes}, got ${maxNodes}`);
  return { tolerance, absoluteTolerance, minNodes, maxNodes, jointScale: options?.jointScale ?? false };
}

function checkMoments(mu: number, s: number): void {
  if (!Number.isFinite(mu)) throw new RangeError(`the mean of a Gaussian expectation must be finite, got ${mu}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`the variance of a Gaussian expectation must be finite and ≥ 0, got ${s}`);
}

/**
 * Runs Gauss–Hermite rules with n = minNodes, 2·minNodes, … ≤ maxNodes on the vector of sums
 * m_c = Σ_i w_i f(μ + √s x_i) P_c(x_i), c = 0 … dimension−1 (P_c supplied by `basis`), and stops
 * when, for every c, three successive estimates of scale_c·m_c agree: both differences within
 * tolerance·|value| + absoluteTolerance, or within the rounding level 16ε·scale_c·Σ_i w_i |f P_c|
 * below which two sums cannot be told apart. One agreeing pair is not enough for non-smooth f:
 * for ReLU at μ = 0.3σ the 16- and 32-point estimates agree to 2e-4 while both are 1.3% off.
 * The error reported is the larger of the two differences (or the rounding level), an estimate:
 * rounding of the nodes themselves, amplified by f', can exceed it by a few ulps.
 */
function adaptiveSums(
  f: (z: number) => number,
  mu: number,
  s: number,
  dimension: number,
  basis: (x: number, out: Float64Array) => void,
  scale: Float64Array,
  opts: Settings,
): { values: Float64Array; error: Float64Array; nodes: number } {
  const root = Math.sqrt(s);
  const p = new Float64Array(dimension);
  let previous: Float64Array | undefined;
  // Per c: the previous difference, or its rounding level if larger, and whether it was acceptable.
  let previousError: Float64Array | undefined;
  let previousAgreed: Uint8Array | undefined;
  const history: string[] = [];
  let lastDifference = Infinity;
  let largest = opts.minNodes;
  for (let n = opts.minNodes; n <= opts.maxNodes; n *= 2) {
    largest = n;
    const { nodes, weights } = gaussHermite(n);
    const sums = new Float64Array(dimension);
    const magnitudes = new Float64Array(dimension);
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (w === 0) continue; // an underflowed weight carries nothing, even where f overflows
      const z = mu + root * nodes[i];
      const fz = f(z);
      if (!Number.isFinite(fz))
        throw new RangeError(
          `${NON_CONVERGENT}: f(${z}) = ${fz} at node ${i + 1} of the ${n}-point Gauss–Hermite rule ` +
            `(mean ${mu}, variance ${s}${history.length ? `; estimates ${history.join(', ')}` : ''})`,
        );
      basis(nodes[i], p);
      for (let c = 0; c < dimension; c++) {
        const term = w * fz * p[c];
        sums[c] += term;
        magnitudes[c] += Math.abs(term);
      }
    }
    const values = new Float64Array(dimension);
    for (let c = 0; c < dimension; c++) values[c] = scale[c] * sums[c];
    if (!values.every(Number.isFinite))
      throw new RangeError(`${NON_CONVERGENT}: the ${n}-point Gauss–Hermite sum overflows (mean ${mu}, variance ${s}; estimates ${history.join(', ')})`);
    history.push(`${n}: ${values[0].toPrecision(6)}`);
    if (previous) {
      const error = new Float64Array(dimension);
      const agreed = new Uint8Array(dimension);
      let converged = previousAgreed !== undefined;
      lastDifference = 0;
      const norm = opts.jointScale ? Math.hypot(...values) : 0;
      for (let c = 0; c < dimension; c++) {
        const difference = Math.abs(values[c] - previous[c]);
        const rounding = 16 * EPSILON * Math.abs(scale[c]) * magnitudes[c];
        error[c] = Math.max(difference, rounding);
        lastDifference = Math.max(lastDifference, difference);
        agreed[c] = difference <= opts.tolerance * Math.max(Math.abs(values[c]), norm) + opts.absoluteTolerance + rounding ? 1 : 0;
        if (!agreed[c] || !previousAgreed?.[c]) converged = false;
      }
      if (converged) {
        for (let c = 0; c < dimension; c++) error[c] = Math.max(error[c], previousError![c]);
        return { values, error, nodes: n };
      }
      previousError = error;
      previousAgreed = agreed;
    }
    previous = values;
  }
  throw new RangeError(
    `${NON_CONVERGENT}: Gauss–Hermite estimates with up to ${largest} nodes still differ by ${lastDifference.toPrecision(3)} ` +
      `(estimates ${history.join(', ')}; mean ${mu}, variance ${s}). Either f grows too fast for E[f] to exist, ` +
      `or it is not smooth enough for Gauss–Hermite quadrature: use a closed form, or loosen the tolerance or raise maxNodes.`,
  );
}

/**
 * E[f(μ + √s X)], X ~ N(0, 1), by Gauss–Hermite rules of doubling size until three successive
 * estimates agree (docs/theory.md §Gaussian closure: the Gaussian-smoothed activation G(μ, s)). s = 0 gives f(μ).
 * Throws a RangeError when f is not finite at a node, or when the estimates have not settled by
 * maxNodes — which is what happens when E[f] does not exist (e.g. f = exp(z²), s ≥ 1/2: the
 * estimates grow without bound until f overflows at a node) and when f has kinks or jumps
 * (Gauss–Hermite error then falls only like 1/n: ReLU reaches 1e-3 relative at 1000–2000 nodes;
 * use a closed form, or loosen the tolerance).
 */
export function gaussianExpectation(f: (z: number) => number, mu: number, s: number, options?: QuadratureOptions): GaussianExpectation {
  checkMoments(mu, s);
  const opts = settings(options);
  if (s === 0) {
    const value = f(mu);
    if (!Number.isFinite(value)) throw new RangeError(`${NON_CONVERGENT}: f(${mu}) = ${value} at zero variance`);
    return { value, nodes: 1, error: 0 };
  }
  const one = (_x: number, out: Float64Array) => {
    out[0] = 1;
  };
  const { values, error, nodes } = adaptiveSums(f, mu, s, 1, one, Float64Array.of(1), opts);
  return { value: values[0], nodes, error: error[0] };
}

/**
 * g_k = E[f^{(k)}(z)], z ~ N(μ, s), k = 0 … kmax, for an activation f (φ in docs/theory.md §Gaussian closure) without
 * derivatives, by Stein's lemma (Gaussian integration by parts):
 * g_k = s^{−k/2} E[f(μ + √s X) He_k(X)]. One set of function values serves every k; rules double
 * (starting at ≥ kmax + 1 nodes, so He_k is resolved) until every g_k settles. The division by
 * s^{k/2} amplifies rounding: the reported error includes the rounding level
 * 16ε s^{−k/2} E[|f He_k|], which is what limits small s and large k (sin at s = 0.05: g_12 good
 * to only 1e-4).
 */
export function steinCoefficients(f: (z: number) => number, mu: number, s: number, kmax: number, options?: QuadratureOptions): SteinCoefficients {
  checkMoments(mu, s);
  checkOrder(kmax, 'the highest derivative order kmax');
  if (s === 0)
    throw new RangeError(
      `the marginal variance is zero, so g_k = φ^{(k)}(${mu}) would need derivatives of the activation φ at a point; the Stein form needs a variance s > 0`,
    );
  let start = 16;
  while (start < kmax + 1) start *= 2;
  const opts = settings(options, start);
  const scale = new Float64Array(kmax + 1);
  for (let k = 0; k <= kmax; k++) scale[k] = s ** (-k / 2);
  const basis = (x: number, out: Float64Array) => {
    hermiteHeAll(kmax, x, out);
  };
  const { values, error, nodes } = adaptiveSums(f, mu, s, kmax + 1, basis, scale, opts);
  return { g: values, nodes, error: Math.max(...error), errors: error };
}

/**
 * The normalised Stein coefficients ĝ_k = E[f(μ + √s X) He_k(X)]/√k! = g_k s^{k/2}/√k!, k = 0 … kmax:
 * the coefficients of f(μ + √s X) in the orthonormal Hermite basis, so Σ_k ĝ_k² = E[f²] and Mehler's
 * series reads Cov = Σ_k ρ^k ĝ_k(i) ĝ_k(j) (docs/theory.md §Gaussian closure). Unlike g_k they neither
 * overflow for tiny s nor underflow for huge s. Components are judged against the vector's norm
 * (jointScale) unless options say otherwise.
 */
export function steinNormalized(f: (z: number) => number, mu: number, s: number, kmax: number, options?: QuadratureOptions): SteinCoefficients {
  checkMoments(mu, s);
  checkOrder(kmax, 'the highest derivative order kmax');
  let start = 16;
  while (start < kmax + 1) start *= 2;
  const opts = settings({ jointScale: true, ...options }, start);
  const scale = new Float64Array(kmax + 1);
  let factorial = 1;
  for (let k = 0; k <= kmax; k++) {
    if (k > 0) factorial *= k;
    scale[k] = 1 / Math.sqrt(factorial);
  }
  const basis = (x: number, out: Float64Array) => {
    hermiteHeAll(kmax, x, out);
  };
  const { values, error, nodes } = adaptiveSums(f, mu, s, kmax + 1, basis, scale, opts);
  return { g: values, nodes, error: Math.max(...error), errors: error };
}

// ---------------------------------------------------------------------------------------------
// Bivariate normal
// ---------------------------------------------------------------------------------------------

function checkCorrelation(h: number, k: number, rho: number): void {
  if (Number.isNaN(h) || Number.isNaN(k)) throw new RangeError(`bivariate normal limits must be numbers, got h = ${h}, k = ${k}`);
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`a correlation must lie in [−1, 1], got ${rho}`);
}

/**
 * Density φ₂(h, k; ρ) of two standard normals with correlation ρ:
 * exp(−[(h − ρk)²/(1 − ρ²) + k²]/2) / (2π √(1 − ρ²)), the exponent written so that it does not
 * cancel as ρ → ±1. At ρ = ±1 the law lives on the line h = ±k: 0 off it, +∞ on it.
 */
export function bivariateNormalPdf(h: number, k: number, rho: number): number {
  checkCorrelation(h, k, rho);
  const oneMinus = (1 - rho) * (1 + rho);
  if (oneMinus === 0) return h === rho * k && Number.isFinite(h) ? Infinity : 0;
  const u = h - rho * k;
  const q = (u * u) / oneMinus + k * k;
  return Math.exp(-0.5 * q) / (TWO_PI * Math.sqrt(oneMinus));
}

/**
 * Genz's bivariate normal routines (symbolic/bivariate-normal.ts: the Drezner–Wesolowsky excess
 * phi2_low, the high-correlation form phi2_high, the upper orthant phi2_upper, the excess phi2_excess) compiled to float64 functions, the
 * same routines the code printers emit.
 */
export const BIVARIATE_NORMAL = compileRoutines(BIVARIATE_ROUTINES, gaussLegendre);

/**
 * Φ₂(h, k; ρ) = P(X < h, Y < k) for standard normals X, Y with correlation ρ ∈ [−1, 1]
 * (Genz 2004, symbolic/bivariate-normal.ts; Φ₂(h, k; ρ) = P(−X > −h, −Y > −k)). Infinite limits, ρ = 0 and
 * ρ = ±1 are exact: Φ₂(h, k; 1) = Φ(min(h, k)), Φ₂(h, k; −1) = max(0, Φ(h) − Φ(−k)).
 * Accuracy (against 40-digit quadrature): ≤ 2e-16 absolute everywhere measured; ~1e-15 relative in
 * the lower tail for ρ ≥ 0.5 (down to Φ₂ ≈ 1e-24). Where Φ₂ ≪ Φ(h)Φ(k) — ρ below about 0.2 with
 * both limits negative — the result is a difference of nearly equal terms and only its absolute
 * accuracy holds: Φ₂(−6, −5.5; −0.5) ≈ 2e-32 comes out as 4e-30, Φ₂(−1.73, −5.65; −0.8) ≈ 2e-34
 * as 2e-25.
 */
export function bivariateNormalCdf(h: number, k: number, rho: number): number {
  checkCorrelation(h, k, rho);
  if (h === -Infinity || k === -Infinity) return 0;
  if (h === Infinity) return normalCdf(k);
  if (k === Infinity) return normalCdf(h);
  if (rho === 0) return normalCdf(h) * normalCdf(k);
  if (rho === 1) return normalCdf(Math.min(h, k));
  if (rho === -1) {
    if (h <= -k) return 0;
    // P(−k < X < h), written as a difference of two small tail probabilities where possible.
    if (h <= 0) return normalCdf(h) - normalCdf(-k);
    if (k <= 0) return normalCdf(k) - normalCdf(-h);
    return 1 - normalCdf(-h) - normalCdf(-k);
  }
  return Math.max(0, Math.min(1, BIVARIATE_NORMAL.phi2_upper(-h, -k, rho)));
}
