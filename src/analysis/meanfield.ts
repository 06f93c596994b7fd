/**
 * Signal propagation through wide random networks, W_ij ~ N(0, σ_w²/N), b_i ~ N(0, σ_b²)
 * (Poole et al. 2016; Schoenholz et al. 2017), from corrmap's Gaussian closure: the length map
 * q ↦ σ_w² E[φ(z)²] + σ_b², z ~ N(0, q), uses the direct variance and g_0 of the smoothed table
 * (numeric/general.ts), and the correlation map c ↦ (σ_w² E[φ(u_1)φ(u_2)] + σ_b²)/q* uses the
 * Gaussian-closure layer on two units with correlation c (its Mehler series or exact bivariate
 * form). χ₁ = σ_w² E[φ′(z)²] is its own expectation, of φ′ from Taylor mode on φ's tree, by the same
 * quadrature: a difference quotient of the correlation map would divide the series' truncation error
 * (≈ 10⁻⁷ near c = 1 for tanh) by its step. Nothing here restates those expectations by hand.
 */
import { Cumulants, FLOAT64_FUNCTIONS, VARIABLE, gaussianLayer, robustExpectation, smoothedTable, taylorCoefficients, transitionPoints } from '../../numeric/index.ts';
import type { Activation } from '../../symbolic/activations.ts';
import { richardsonSlope } from '../../symbolic/derivation.ts';

export interface MeanFieldNetwork {
  readonly activation: Activation;
  /** σ_w², σ_b². */
  readonly weightVariance: number;
  readonly biasVariance: number;
}

const TOLERANCE = 1e-10;
/** Below this q the pre-activations are treated as at the origin's linearisation. */
const SMALLEST_Q = 1e-9;

/**
 * The point where `below` stops holding, for a `below` that holds at lo and fails at hi: the
 * midpoint of the bracket after at most `iterations` halvings, or once it is no wider than
 * max(absolute, relative · hi). Every fixed point and critical line here is found by it.
 */
export function bisect(
  below: (x: number) => boolean, lo: number, hi: number, stop: { iterations?: number; absolute?: number; relative?: number },
): number {
  const { iterations = Infinity, absolute = 0, relative = 0 } = stop;
  for (let it = 0; it < iterations && hi - lo > Math.max(absolute, relative * hi); it++) {
    const mid = (lo + hi) / 2;
    if (below(mid)) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** E[φ(z)²] and E[φ(z)] for z ~ N(0, q). */
export function secondMoment(act: Activation, q: number): { mean: number; square: number } {
  const t = smoothedTable(act, Float64Array.of(0), Float64Array.of(Math.max(q, 0)), 1, TOLERANCE);
  return { mean: t.g[0][0], square: t.variance[0] + t.g[0][0] ** 2 };
}

/** The length map q ↦ σ_w² E[φ(√q x)²] + σ_b². */
export function lengthMap(net: MeanFieldNetwork, q: number): number {
  return net.weightVariance * secondMoment(net.activation, q).square + net.biasVariance;
}

/** E[φ(u_1) φ(u_2)] for (u_1, u_2) Gaussian with zero means, variances q and correlation c. */
export function pairMoment(act: Activation, q: number, c: number): number {
  const cov = Float64Array.of(q, q * c, q * c, q);
  const post = gaussianLayer(act, new Cumulants(2, [undefined, Float64Array.of(0, 0), cov]), 2, TOLERANCE).post;
  return post.order(2)![1] + post.mean[0] * post.mean[1];
}

/** The correlation map at the length q: c ↦ (σ_w² E[φ(u_1)φ(u_2)] + σ_b²)/q. */
export function correlationMap(net: MeanFieldNetwork, q: number, c: number): number {
  const qq = Math.max(q, SMALLEST_Q);
  if (c >= 1) return lengthMap(net, qq) / qq;
  return (net.weightVariance * pairMoment(net.activation, qq, c) + net.biasVariance) / qq;
}

/**
 * The stable fixed point q* of the length map: the first crossing of L(q) − q from above to below
 * on a logarithmic grid, refined by bisection. 0 when L(q) < q from the smallest q on (σ_b² = 0 in
 * the ordered phase); undefined when q grows without bound (e.g. an unbounded φ with large σ_w²).
 */
export function lengthFixedPoint(net: MeanFieldNetwork, largest = 1e4): number | undefined {
  const f = (q: number) => lengthMap(net, q) - q;
  const grid = 48;
  let previous = SMALLEST_Q;
  if (f(previous) <= 0) return 0;
  for (let k = 1; k <= grid; k++) {
    const q = SMALLEST_Q * (largest / SMALLEST_Q) ** (k / grid);
    if (f(q) < 0) return bisect((x) => f(x) > 0, previous, q, { iterations: 60, relative: 1e-13 });
    previous = q;
  }
  return undefined;
}

/** The slope of the correlation map at c (χ_c); at c = 1 a one-sided second-order difference. */
export function correlationSlope(net: MeanFieldNetwork, q: number, c: number, h = 1e-3): number {
  const map = (x: number) => correlationMap(net, q, x);
  if (c > 1 - 2 * h) return (3 * map(1) - 4 * map(1 - h) + map(1 - 2 * h)) / (2 * h);
  return (map(c + h) - map(c - h)) / (2 * h);
}

/**
 * φ′(z) by Taylor mode on φ's tree (the registry's derivative rules); for a φ with kinks, which Taylor
 * mode does not take, a Richardson-extrapolated central difference whose step stays clear of the
 * kinks (the quadrature splits there, so its nodes lie inside smooth pieces): error O(h⁴) + O(ε/h).
 */
function slopeOf(act: Activation, kinks: readonly number[]): (z: number) => number {
  const taylor = (z: number) => taylorCoefficients(act.expression.node, VARIABLE, z, 1, {}, FLOAT64_FUNCTIONS)[1];
  try {
    taylor(0.5);
    return taylor;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
  }
  return (z) => richardsonSlope(act.fn, z, Math.min(...kinks.map((k) => Math.abs(k - z) / 2), 1e-3 * (1 + Math.abs(z))));
}

/**
 * χ₁ = σ_w² E[φ′(z)²], z ~ N(0, q*): the slope of the correlation map at c = 1, by quadrature split
 * where φ′ jumps or changes fast; q* below SMALLEST_Q is taken as SMALLEST_Q, as the maps take it.
 */
export function chiOne(net: MeanFieldNetwork, q: number): number {
  const splits = transitionPoints(net.activation);
  const slope = slopeOf(net.activation, splits);
  const square = (z: number) => slope(z) ** 2;
  return net.weightVariance * robustExpectation(square, 0, Math.max(q, SMALLEST_Q), splits, net.activation.smooth, TOLERANCE, `χ₁ of "${net.activation.expression.source}"`).value;
}

/**
 * The stable fixed point c* of the correlation map: 1 when χ₁ ≤ 1 (ordered phase), else the
 * crossing of C(c) − c below 1, by bisection (chaotic phase).
 */
export function correlationFixedPoint(net: MeanFieldNetwork, q: number): number {
  if (chiOne(net, q) <= 1) return 1;
  const f = (c: number) => correlationMap(net, q, c) - c;
  const lo = -1 + 1e-9;
  if (f(lo) < 0) return lo;
  return bisect((c) => f(c) > 0, lo, 1 - 1e-6, { iterations: 60 });
}

export interface DepthScales {
  readonly qStar: number | undefined;
  readonly cStar: number | undefined;
  readonly chi1: number | undefined;
  /** Slope of the correlation map at c*. */
  readonly chiC: number | undefined;
  /** ξ_c = −1/ln χ_c (infinite at criticality). */
  readonly xiC: number | undefined;
  readonly phase: 'ordered' | 'chaotic' | 'critical' | 'unbounded';
}

export function depthScales(net: MeanFieldNetwork): DepthScales {
  const qStar = lengthFixedPoint(net);
  if (qStar === undefined) return { qStar, cStar: undefined, chi1: undefined, chiC: undefined, xiC: undefined, phase: 'unbounded' };
  const chi1 = chiOne(net, qStar);
  const cStar = correlationFixedPoint(net, qStar);
  const chiC = cStar >= 1 ? chi1 : correlationSlope(net, qStar, cStar);
  const xiC = chiC > 0 && chiC !== 1 ? -1 / Math.log(chiC) : Infinity;
  const phase = Math.abs(chi1 - 1) < 1e-9 ? 'critical' : chi1 < 1 ? 'ordered' : 'chaotic';
  return { qStar, cStar, chi1, chiC, xiC, phase };
}

/** σ_w² on the order-to-chaos line (χ₁ = 1) at the given σ_b², by bisection in [lo, hi]. */
export function criticalWeightVariance(act: Activation, biasVariance: number, lo = 0.25, hi = 8, tolerance = 1e-6): number | undefined {
  const chi = (w: number) => {
    const net = { activation: act, weightVariance: w, biasVariance };
    const q = lengthFixedPoint(net);
    return q === undefined ? Infinity : chiOne(net, q);
  };
  if (chi(lo) > 1 || chi(hi) < 1) return undefined;
  return bisect((w) => chi(w) < 1, lo, hi, { absolute: tolerance });
}
