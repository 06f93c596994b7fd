/**
 * Third cumulants of a general activation by direct quadrature (docs/theory.md §Gaussian closure,
 * §Truncation and error bounds): for Gaussian pre-activations,
 *   κ3(y_i, y_j, y_k) = E[(φ(z_i) − m_i)(φ(z_j) − m_j)(φ(z_k) − m_k)],   m = E[φ(z)],
 * a central moment, so no cancellation between large moments. This route converges at any
 * correlation, where the three-vertex series is only asymptotic (strong correlations under a kink).
 *
 * z = μ + L x with L the Cholesky factor of the 3×3 covariance and x ~ N(0, I): nested Gauss–Legendre
 * over x₁, then x₂ given x₁, then x₃ given both, each on [−R, R], cut where the argument of a φ — or
 * the conditional mean of a later one — crosses a kink or transition point of φ, so that every piece
 * is smooth (or smoothed only by a Gaussian, whose scale the cut then resolves). A direction with no
 * variance left (ρ = ±1, or a repeated index) is not integrated. Where φ has a closed-form smoothing G,
 * the innermost integral is G(conditional mean, conditional variance) − m. The error estimate is the
 * difference between n and 2n nodes per piece, plus the Gaussian mass beyond ±R times the integrand's size.
 */
import type { Activation } from '../symbolic/activations.ts';
import { InputError } from '../symbolic/errors.ts';
import { DEFAULT_MAX_SECONDS, currentWork, secondsPerCall } from './work.ts';
import type { Cumulants } from './tensor.ts';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { gaussLegendre, normalPdf } from './gauss.ts';

/** Half-width of the integration box in standard units: the normal mass outside is 1.2e-15. */
const RANGE = 8;
/** Where the Gaussian weight has fallen to e^{-2}: a cut there keeps pieces short next to its scale. */
const HUMP = 2;
/** Nodes per piece of the first, and of the finest, Gauss–Legendre rule. */
const FIRST_NODES = 6;
const MOST_NODES = 24;
/** A conditional variance below this fraction of the unconditional one is taken as none (a determined direction). */
const DETERMINED = 1e-12;

export interface TrivariateMoment {
  readonly value: number;
  /** Estimated absolute error. */
  readonly error: number;
}

/**
 * Lower-triangular L (row-major 3×3) with L Lᵀ = C for a positive semidefinite C; a pivot with no
 * variance left is 0 with its column below it (the direction is determined by the earlier ones).
 */
export function semidefiniteCholesky(C: ArrayLike<number>): Float64Array {
  const L = new Float64Array(9);
  for (let v = 0; v < 3; v++) {
    for (let w = 0; w <= v; w++) {
      let sum = C[v * 3 + w];
      for (let m = 0; m < w; m++) sum -= L[v * 3 + m] * L[w * 3 + m];
      if (v === w) L[v * 3 + v] = sum > DETERMINED * C[v * 3 + v] ? Math.sqrt(sum) : 0;
      else L[v * 3 + w] = L[w * 3 + w] > 0 ? sum / L[w * 3 + w] : 0;
    }
  }
  return L;
}

export interface TrivariateSetup {
  /** φ in float64. */
  readonly f: (z: number) => number;
  /** Points in z where φ has a kink, a jump or a fast transition (numeric/general.ts transitionPoints ∪ kinkPoints). */
  readonly breakpoints: readonly number[];
  /** G(μ, s) = E[φ(μ + √s X)] in closed form, if φ has one. */
  readonly smoothed?: (mu: number, s: number) => number;
}

/** The float64 setup of an activation: φ, its break points and its closed-form smoothing, compiled once. */
export function trivariateSetup(act: Activation, breakpoints: readonly number[]): TrivariateSetup {
  let smoothed: TrivariateSetup['smoothed'];
  if (act.smoothed) {
    const code = act.smoothed.G.compile();
    const scope: Record<string, unknown> = { ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS, mu: 0, s: 0 };
    smoothed = (mu, s) => {
      scope.mu = mu;
      scope.s = s;
      return Number(code.evaluate(scope));
    };
  }
  return { f: act.fn, breakpoints, smoothed };
}

/**
 * E[(φ(z_1) − c_1)(φ(z_2) − c_2)(φ(z_3) − c_3)] for z ~ N(mean, C) (C row-major 3×3), with the nodes
 * per piece doubled until two estimates agree to `tolerance` · `scale` or MOST_NODES is reached.
 * Also returns how many evaluations of φ (or G) it took.
 */
export function centralTripleMoment(setup: TrivariateSetup, mean: ArrayLike<number>, C: ArrayLike<number>, centres: ArrayLike<number>, scale: number, tolerance: number): TrivariateMoment & { evaluations: number } {
  const L = semidefiniteCholesky(C);
  const x = new Float64Array(3);
  let evaluations = 0;
  const { f, breakpoints, smoothed } = setup;
  // z_v with the later coordinates at 0: the argument of φ_v (v = level) or its conditional mean (v > level).
  const partial = (v: number, level: number) => {
    let z = mean[v];
    for (let m = 0; m <= Math.min(level, v); m++) z += L[v * 3 + m] * x[m];
    return z;
  };
  // Returns [value, magnitude]: the magnitude Σ|w · factor| · magnitude(inner) bounds what rounding
  // in the sums can do, level by level, however much the signed terms cancel.
  const integrate = (level: number, n: number): [number, number] => {
    if (level === 3) return [1, 1];
    const sd = L[level * 3 + level];
    if (!(sd > 0)) {
      // A determined direction: z_level is fixed by the earlier coordinates.
      x[level] = 0;
      evaluations++;
      const factor = f(partial(level, level)) - centres[level];
      const [inner, size] = integrate(level + 1, n);
      return [factor * inner, Math.abs(factor) * size];
    }
    if (level === 2 && smoothed) {
      x[2] = 0;
      evaluations++;
      const inner = smoothed(partial(2, 1), sd * sd);
      if (Number.isFinite(inner)) return [inner - centres[2], Math.abs(inner) + Math.abs(centres[2])];
    }
    // Cuts: where z_level, or the conditional mean of a later z_v, crosses a break point; a later
    // z_v's kink is smoothed over w = (its remaining spread)/slope in x_level, so cuts at t ± 3w
    // give that feature pieces of its own size. ±HUMP resolves the Gaussian weight itself.
    const cuts = [-RANGE, -HUMP, HUMP, RANGE];
    x[level] = 0;
    for (let v = level; v < 3; v++) {
      const slope = L[v * 3 + level];
      if (!(Math.abs(slope) > 1e-14 * Math.sqrt(C[v * 3 + v]))) continue;
      const base = partial(v, level);
      let rest = 0;
      for (let m = level + 1; m <= v; m++) rest += L[v * 3 + m] ** 2;
      const w = Math.sqrt(rest) / Math.abs(slope);
      for (const b of breakpoints) {
        const t = (b - base) / slope;
        for (const c of v > level && w < RANGE / 4 ? [t - 3 * w, t, t + 3 * w] : [t]) if (c > -RANGE && c < RANGE) cuts.push(c);
      }
    }
    cuts.sort((a, b) => a - b);
    const { nodes, weights } = gaussLegendre(n);
    let total = 0;
    let magnitude = 0;
    for (let p = 0; p + 1 < cuts.length; p++) {
      const half = (cuts[p + 1] - cuts[p]) / 2;
      if (!(half > 0)) continue;
      const mid = (cuts[p] + cuts[p + 1]) / 2;
      for (let q = 0; q < n; q++) {
        const t = mid + half * nodes[q];
        x[level] = t;
        evaluations++;
        const factor = f(partial(level, level)) - centres[level];
        if (factor === 0) continue;
        const weight = half * weights[q] * normalPdf(t);
        const [inner, size] = integrate(level + 1, n);
        total += weight * factor * inner;
        magnitude += weight * Math.abs(factor) * size;
      }
    }
    return [total, magnitude];
  };
  let [previous] = integrate(0, FIRST_NODES);
  let value = previous;
  let magnitude = 0;
  let difference = Infinity;
  for (let n = 2 * FIRST_NODES; n <= MOST_NODES; n *= 2) {
    [value, magnitude] = integrate(0, n);
    difference = Math.abs(value - previous);
    if (difference <= tolerance * scale) break;
    previous = value;
  }
  // Rounding of the sums and the mass beyond ±RANGE (3 · 1.2e-15 of the integrand's size there).
  const rounding = 64 * Number.EPSILON * magnitude;
  const tail = 1e-14 * scale;
  return { value, error: difference + rounding + tail, evaluations };
}

/**
 * Evaluations of φ one entry of centralTripleMoment takes at most, with `breakpoints` break points in
 * its range and `determined` of its three directions not integrated (1 for κ(y_i, y_i, y_j), 2 for
 * κ(y_i, y_i, y_i)): the route's cost estimate.
 */
export function tripleMomentEvaluations(smoothed: boolean, breakpoints: number, determined = 0): number {
  const pieces = (level: number) => 3 + (1 + 3 * (2 - level)) * breakpoints;
  let total = 0;
  for (let n = FIRST_NODES; n <= MOST_NODES; n *= 2) {
    const levels = [pieces(0) * n, pieces(1) * n, smoothed ? 1 : pieces(2) * n].slice(0, 3 - determined);
    total += levels.reduce((sum, _, l) => sum + levels.slice(0, l + 1).reduce((p, v) => p * v, 1), 0);
  }
  return total;
}

/** Relative accuracy asked of each entry: well inside what an exact label allows (numeric/general.ts MAX_EXACT_NUMERICAL_ERROR). */
const ENTRY_TOLERANCE = 1e-6;

/**
 * Every entry of κ3 of φ(z), z ~ N(pre.mean, pre.cov), by centralTripleMoment (i ≤ j ≤ k, the rest by
 * symmetry), with `centres` = E[φ(z_i)] and their errors. `why` the series cannot serve: it is only
 * asymptotic (then, when the estimated time exceeds what the run's budget has left, undefined with a
 * note: the series stays, labelled approximate), or its coefficients left float64's range (then an
 * input error: there is nothing else to report).
 */
export function thirdCumulantByQuadrature(
  act: Activation,
  pre: Cumulants,
  centres: { value: ArrayLike<number>; error: ArrayLike<number> },
  variance: ArrayLike<number>,
  breakpoints: readonly number[],
  tolerance: number,
  why: 'asymptotic' | 'out of range',
): { tensor: Float64Array; error: number } | undefined {
  const n = pre.size;
  const cov = pre.order(2) ?? new Float64Array(n * n);
  const setup = trivariateSetup(act, breakpoints);
  const entries = (n * (n + 1) * (n + 2)) / 6;
  // Break points within reach of an entry's units (8 standard deviations) cut its pieces.
  const reach = (i: number) => breakpoints.filter((b) => Math.abs(b - pre.mean[i]) <= RANGE * Math.sqrt(Math.max(cov[i * n + i], 0))).length;
  const near = Array.from({ length: n }, (_, i) => reach(i));
  let evaluations = 0;
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++)
      for (let k = j; k < n; k++) evaluations += tripleMomentEvaluations(setup.smoothed !== undefined, Math.max(near[i], near[j], near[k]), (i === j ? 1 : 0) + (j === k ? 1 : 0));
  const seconds = evaluations * secondsPerCall(setup.f);
  const work = currentWork();
  const left = work ? work.secondsLeft() : DEFAULT_MAX_SECONDS;
  if (seconds > left) {
    const budget = work ? `the ${Math.max(0, Math.floor(left))} s left of ${work.option} ${work.maxSeconds}; raise ${work.option} to compute it` : `${DEFAULT_MAX_SECONDS} s`;
    if (why === 'out of range')
      throw new InputError(
        `the third cumulant of "${act.expression.source}" at width ${n}: at these pre-activation variances the three-vertex series needs E[(φ²)^(k)(z)], which leave float64's range, and trivariate quadrature would take about ${Math.ceil(seconds)} s, more than ${budget}; or report orders ≤ 2`,
      );
    work?.notes.push(
      `the third cumulant of "${act.expression.source}" at width ${n} comes from the three-vertex series, which is only asymptotic at these correlations (labelled approximate): trivariate quadrature would take about ${Math.ceil(seconds)} s, more than ${budget}`,
    );
    return undefined;
  }
  const tensor = new Float64Array(n ** 3);
  const index = [0, 0, 0];
  const mean = new Float64Array(3);
  const C = new Float64Array(9);
  const centre = new Float64Array(3);
  let error = 0;
  let done = 0;
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++)
      for (let k = j; k < n; k++) {
        index[0] = i;
        index[1] = j;
        index[2] = k;
        for (let a = 0; a < 3; a++) {
          mean[a] = pre.mean[index[a]];
          centre[a] = centres.value[index[a]];
          for (let b = 0; b < 3; b++) C[a * 3 + b] = cov[index[a] * n + index[b]];
        }
        const sd = index.map((v) => Math.sqrt(Math.max(variance[v], 0)));
        const scale = sd[0] * sd[1] * sd[2];
        let value = 0;
        if (scale > 0) {
          const r = centralTripleMoment(setup, mean, C, centre, scale, Math.max(tolerance, ENTRY_TOLERANCE));
          // A factor φ_a − m_a off by δ_a (the centre's error, and rounding of φ and m at their own
          // size, which a spread tiny next to the mean makes count) shifts the moment by at most
          // δ_a · E|(φ_b − m_b)(φ_c − m_c)| ≤ δ_a sd_b sd_c (Cauchy–Schwarz).
          const centring = index.reduce((e, v, a) => e + (centres.error[v] + 4 * Number.EPSILON * Math.abs(centres.value[v])) * (scale / sd[a] || 0), 0);
          value = r.value;
          error = Math.max(error, r.error + centring);
        }
        for (const [a, b, c] of [[i, j, k], [i, k, j], [j, i, k], [j, k, i], [k, i, j], [k, j, i]]) tensor[(a * n + b) * n + c] = value;
        work?.onProgress?.('third cumulants by trivariate quadrature', ++done / entries);
      }
  return { tensor, error };
}
