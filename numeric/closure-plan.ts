/**
 * The Gaussian closure of a general activation as batched tensor work (docs/theory.md §Gaussian
 * closure, §Truncation and error bounds): per layer, the table ĝ_0…ĝ_K of every unit of every member
 * is one matMul of the integrand at Gauss–Hermite nodes ([units × nodes], compiled from the
 * activation's tree by numeric/tfjs-emitter.ts) against weighted normalised Hermite values
 * ([nodes × (K+1)]); E[φ²] is a weighted sum at the same or at per-unit Gauss–Legendre nodes split
 * at the kinks. Everything the truncation decision needs — max_i R_i(p)/Var_i per p, the errors,
 * max|ρ| — is reduced on the device and read back once per layer as one small tensor; the host then
 * picks P and the route (Mehler series or the exact bivariate form).
 *
 * The integrand: φ itself where φ is smooth and has no closed form; where the registry has the
 * closed form G(μ, s), the smoothed G(·, αs) at nodes of the remaining variance (1 − α)s, which is
 * smooth even when φ has kinks: with z = μ + σ₂X₂ + σ₁X₁,
 * ĝ_k = (1 − α)^{−k/2} E[G(μ + σ₂X₂, αs) He_k(X₂)]/√k!.
 * Kinked φ without a closed form (and φ whose kinks are not at affine arguments) are left to the
 * float64 host route (numeric/general.ts), as are layers whose float32 table is not finite or whose
 * errors exceed MAX_EXACT_NUMERICAL_ERROR.
 */
import * as tf from '@tensorflow/tfjs-core';
import { singleAtom, type Activation } from '../symbolic/activations.ts';
import { MEAN, VARIANCE } from '../symbolic/trees.ts';
import { gaussianRule } from '../symbolic/gaussian.ts';
import { compileExpression, compileTree } from './tfjs-emitter.ts';
import { gaussHermite, gaussLegendre, hermiteHeAll, normalPdf } from './gauss.ts';
import { kinkPoints } from './quadrature.ts';
import { exactPairCovarianceTensor } from './bivariate.ts';
import { compileRule, type RuleKernel } from './kernels.ts';
import { MAX_EXACT_NUMERICAL_ERROR, MAX_SMOOTHED_K } from './general.ts';

type T = tf.Tensor;

/** Highest k of the device table: that of the float64 quadrature route. */
export const DEVICE_K = MAX_SMOOTHED_K.quadrature;
/**
 * The Gauss–Hermite rules; the largest difference of the last from the others estimates its error.
 * Two are not enough: for φ with poles near the real axis at large s (tanh at s = 9) the 64- and
 * 128-point errors oscillate with n, and two rules can agree closer than either is right.
 */
export const DEVICE_RULES = [48, 64, 128] as const;
/**
 * The rules for the smoothed closed form G(·, αs): an entire function of the node, whose
 * coefficients the 40-point rule already resolves as well as the 128-point rule resolves φ's
 * (test/closure-plan.test.ts states the errors over a grid of means and spreads), at 152 instead of
 * 240 evaluations of G per unit.
 */
export const SMOOTHED_RULES = [40, 48, 64] as const;
/**
 * Gauss–Legendre nodes per piece of the kinked variance integral (two rules, as above): between
 * the kinks the integrand is a smooth function times the normal density, which 24 nodes resolve.
 */
const PIECE_RULES = [24, 32] as const;
/** Share α of the variance that the closed form G(·, αs) smooths over. */
const SMOOTHING_SHARE = 0.25;
/**
 * The series is summed until what it leaves is below this (relative to √(Var_i Var_j)), the
 * resolution of its float32 sum, when the tolerance asks for less.
 */
const SERIES_RESOLUTION = 2 ** -20;
/** float32 unit roundoff. */
const U = 2 ** -24;
/** float32's smallest normal number. */
const FLOAT32_SMALLEST_NORMAL = 2 ** -126;
/** The variance integral over x ∈ [−L, L]: the normal mass outside is below float32's range. */
const L = 13;

/** How φ is integrated on the device. */
interface DeviceIntegrand {
  /** φ as an elementwise tensor function. */
  readonly phi: (z: T) => T;
  /** The integrand of the Stein coefficients at (z, s·α): G(z, αs) or φ(z). */
  readonly stein: (z: T, share: T) => T;
  /** α: 0 for φ itself. */
  readonly alpha: number;
  /** Kinks of φ in z (affine arguments), where the variance integral is split; empty for smooth φ. */
  readonly kinks: readonly number[];
  /** The Gauss–Hermite rules, coarse to fine. */
  readonly rules: readonly number[];
}

const integrands = new WeakMap<Activation, DeviceIntegrand | null>();

/** The device integrand of φ, or undefined where the host route must do (see the module comment). */
export function deviceIntegrand(act: Activation): DeviceIntegrand | undefined {
  let d = integrands.get(act);
  if (d === undefined) integrands.set(act, (d = makeIntegrand(act) ?? null));
  return d ?? undefined;
}

function makeIntegrand(act: Activation): DeviceIntegrand | undefined {
  const kinks = act.smooth ? [] : kinkPoints(act);
  if (!act.smooth && (!act.smoothed || kinks.length === 0)) return undefined;
  try {
    const phi = compileExpression(act.expression.node);
    if (!act.smoothed) return { phi, stein: (z) => phi(z), alpha: 0, kinks, rules: DEVICE_RULES };
    const G = compileTree(act.smoothed.G, [MEAN, VARIANCE]);
    return { phi, stein: (z, share) => G(z, share), alpha: SMOOTHING_SHARE, kinks, rules: SMOOTHED_RULES };
  } catch (err) {
    // A function without a tfjs kernel, or a parameter left symbolic: the host route explains it.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/** A Gauss–Hermite rule with its Hermite matrix H[n, k] = w_n He_k(x_n)/√k! · (1 − α)^{−k/2}. */
interface HermiteRule {
  readonly nodes: Float32Array;
  readonly weights: Float32Array;
  /** [n × (K+1)], row-major. */
  readonly matrix: Float32Array;
  readonly n: number;
}

const hermiteRules = new Map<string, HermiteRule>();

/**
 * The n-point rule without the nodes whose weight is below 1e-30 (their terms are below float32's
 * resolution of any sum they join, and φ may overflow there), with H formed in float64.
 */
function hermiteRule(n: number, K: number, alpha: number): HermiteRule {
  const key = `${n}/${K}/${alpha}`;
  let rule = hermiteRules.get(key);
  if (rule) return rule;
  const { nodes, weights } = gaussHermite(n);
  const kept = [...nodes.keys()].filter((i) => weights[i] >= 1e-30);
  const matrix = new Float32Array(kept.length * (K + 1));
  const he = new Float64Array(K + 1);
  kept.forEach((i, row) => {
    hermiteHeAll(K, nodes[i], he);
    let factorial = 1;
    for (let k = 0; k <= K; k++) {
      if (k > 0) factorial *= k;
      matrix[row * (K + 1) + k] = (weights[i] * he[k]) / Math.sqrt(factorial) / (1 - alpha) ** (k / 2);
    }
  });
  rule = {
    nodes: Float32Array.from(kept.map((i) => nodes[i])),
    weights: Float32Array.from(kept.map((i) => weights[i])),
    matrix,
    n: kept.length,
  };
  hermiteRules.set(key, rule);
  return rule;
}

/** The device table of one layer, in rows r = (member, unit) of R = B·N. */
export interface DeviceTable {
  /** ĝ_k(i), k = 0…K, as [R, K+1]. */
  readonly normalized: T;
  /** Estimated absolute errors of ĝ_k, [R, K+1]. */
  readonly normalizedErrors: T;
  /** Var(y_i) = E[(φ − c)²] − (ĝ_0 − c)², c = φ(μ_i), [R, 1]. */
  readonly variance: T;
  readonly varianceErrors: T;
}

/** The [rows × n] matrix Σ_c columns[c] ⊗ lines[c]: a broadcast as one matMul (wasm's broadcasting ops are slow). */
function spread(columns: readonly T[], lines: readonly ArrayLike<number>[]): T {
  // One rank-1 product per column: concatenating [R, 1] columns is itself slow on wasm.
  const terms = columns.map((c, k) => tf.matMul(c as tf.Tensor2D, tf.tensor2d(Float32Array.from(lines[k]), [1, lines[k].length])));
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

const ones = (n: number) => new Float32Array(n).fill(1);
const column = (values: ArrayLike<number>) => tf.tensor2d(Float32Array.from(values), [values.length, 1]);

/**
 * ĝ_k and Var(y) of every unit (call inside tf.tidy). `mean` and `variance` are the pre-activation
 * μ and s, [R, 1]. Units with s = 0 get ĝ_0 = φ(μ) and nothing else.
 *
 * Errors: the difference of the two rules, plus float32 rounding bounded through the table itself
 * (Cauchy–Schwarz with E[h_k²] = 1 and E[X² h_k²] = 2k + 1, b_k the coefficients of the integrand):
 * of the sums, (n + 4)u ‖f − f(μ)‖; of the values, 2u ‖f‖; of the arguments z = μ + σ₂x, rounded
 * by 4u(|μ| + σ₂|x|), 4u ‖∂f/∂x‖ (|μ|/σ₂ + √(2k + 1)) with ‖∂f/∂x‖² = Σ_k k b_k²; all times the
 * factor (1 − α)^{−k/2} the smoothing puts on ĝ_k.
 */
export function deviceTable(d: DeviceIntegrand, mean: T, variance: T, K: number = DEVICE_K): DeviceTable {
  const alive = tf.cast(tf.greater(variance, 0), 'float32');
  const dead = tf.sub(1, alive);
  const s = tf.add(tf.mul(variance, alive), dead);
  const sigma = tf.sqrt(s);
  const share = tf.mul(s, d.alpha);
  const sigma2 = tf.mul(sigma, Math.sqrt(1 - d.alpha));
  const absMean = tf.abs(mean);
  // f − f(μ): He_k, k ≥ 1, sum to zero over the rule, so the offset joins ĝ_0 alone, and the
  // rounding of the sums scales with the spread of f rather than with its size.
  const offset = d.stein(mean, share);
  const centre = d.phi(mean);
  const firstColumn = Float32Array.from({ length: K + 1 }, (_, k) => (k === 0 ? 1 : 0));
  const amplification = Float32Array.from({ length: K + 1 }, (_, k) => (1 - d.alpha) ** (-k / 2));
  const estimates = d.rules.map((n) => {
    const rule = hermiteRule(n, K, d.alpha);
    const z = spread([mean, sigma2], [ones(rule.n), rule.nodes]);
    const f = d.stein(z, d.alpha ? spread([share], [ones(rule.n)]) : z);
    const deviation = tf.sub(f, spread([offset], [ones(rule.n)]));
    const coefficients = tf.add(tf.matMul(deviation as tf.Tensor2D, tf.tensor2d(rule.matrix, [rule.n, K + 1])), spread([offset], [firstColumn]));
    return { coefficients, f, rule };
  });
  const fine = estimates[estimates.length - 1];
  const difference = tf.maximum(tf.abs(tf.sub(fine.coefficients, estimates[0].coefficients)), tf.abs(tf.sub(fine.coefficients, estimates[1].coefficients)));
  const live = spread([alive], [ones(K + 1)]);
  const normalized = tf.add(tf.mul(fine.coefficients, live), spread([tf.mul(centre, dead)], [firstColumn]));
  // Norms of the integrand from its coefficients b_k = ĝ_k (1 − α)^{k/2}.
  const squares = tf.square(fine.coefficients);
  const norm = (weights: (k: number) => number) => tf.sqrt(tf.matMul(squares as tf.Tensor2D, column(Array.from({ length: K + 1 }, (_, k) => weights(k) / amplification[k] ** 2))));
  const b0 = tf.slice(fine.coefficients, [0, 0], [-1, 1]);
  const spreadNorm = tf.sqrt(tf.add(tf.square(norm((k) => (k === 0 ? 0 : 1))), tf.square(tf.sub(b0, offset))));
  const slopeNorm = norm((k) => k);
  const n = fine.rule.n;
  const perRow = tf.add(tf.mul(tf.add(tf.mul(spreadNorm, n + 4), tf.mul(norm(() => 1), 2)), U), tf.mul(tf.mul(slopeNorm, tf.divNoNan(absMean, sigma2)), 4 * U));
  const rounding = spread([perRow, tf.mul(slopeNorm, 4 * U)], [amplification, amplification.map((c, k) => c * Math.sqrt(2 * k + 1))]);
  // A unit with s = 0 carries only φ(μ), rounded in float32.
  const normalizedErrors = tf.add(tf.mul(tf.add(difference, rounding), live), spread([tf.mul(tf.abs(tf.mul(centre, dead)), 4 * U)], [firstColumn]));
  const ghat0 = tf.slice(normalized, [0, 0], [-1, 1]);
  const ghat0Error = tf.slice(normalizedErrors, [0, 0], [-1, 1]);
  // E[(φ − c)²] by the same two resolutions: Gauss–Hermite at the nodes of σ for smooth φ, and
  // Gauss–Legendre between the kinks otherwise.
  const second = d.kinks.length
    ? PIECE_RULES.map((m) => piecewiseSquare(d, mean, sigma, centre, m))
    : estimates.map((e) => {
        const phiAt = d.alpha === 0 ? e.f : d.phi(spread([mean, sigma], [ones(e.rule.n), e.rule.nodes]));
        const deviation = tf.sub(phiAt, spread([centre], [ones(e.rule.n)]));
        return tf.matMul(tf.square(deviation) as tf.Tensor2D, column(e.rule.weights));
      });
  // Its rounding as above, with the norms of φ(μ + σx) from ĝ: (n + 4)u E[(φ − c)²] for the sum, and
  // 2 ‖φ − c‖ times the values' own error 2u‖φ‖ + 4u ‖∂φ/∂x‖ (|μ|/σ + 2).
  const phiSquares = tf.square(normalized);
  const phiNorm = (weights: (k: number) => number) => tf.sqrt(tf.matMul(phiSquares as tf.Tensor2D, column(Array.from({ length: K + 1 }, (_, k) => weights(k)))));
  const valueError = tf.add(tf.mul(phiNorm(() => 1), 2 * U), tf.mul(tf.mul(phiNorm((k) => k), tf.add(tf.divNoNan(absMean, sigma), 2)), 4 * U));
  const nodes = d.kinks.length ? (d.kinks.length + 1) * PIECE_RULES[PIECE_RULES.length - 1] : n;
  const last = second[second.length - 1];
  const squareRounding = tf.add(tf.mul(last, (nodes + 4) * U), tf.mul(tf.mul(tf.sqrt(last), 2), valueError));
  const offsetOfMean = tf.sub(ghat0, centre);
  const varianceFull = tf.relu(tf.sub(last, tf.square(offsetOfMean)));
  const spreadOfRules = second.slice(0, -1).map((v) => tf.abs(tf.sub(last, v))).reduce((a, b) => tf.maximum(a, b));
  // Plus what float32 cannot hold at all: a variance below its smallest normal number (2^-126) is
  // flushed or loses its digits (relu far below its kink: Var ~ 1e-202 reads 0).
  const varianceError = tf.add(tf.add(tf.add(spreadOfRules, squareRounding), tf.mul(tf.mul(tf.abs(offsetOfMean), 2), ghat0Error)), FLOAT32_SMALLEST_NORMAL);
  return { normalized, normalizedErrors, variance: tf.mul(varianceFull, alive), varianceErrors: tf.mul(varianceError, alive) };
}

/**
 * E[(φ − c)²] for a kinked φ: Gauss–Legendre with m nodes on each piece of x ∈ [−L, L] between the
 * kinks (x = (κ − μ)/σ per unit, so every piece is smooth and converges fast).
 */
function piecewiseSquare(d: DeviceIntegrand, mean: T, sigma: T, centre: T, m: number): T {
  const { nodes, weights } = gaussLegendre(m);
  const cuts: T[] = [tf.fill(mean.shape, -L), ...d.kinks.map((k) => tf.clipByValue(tf.div(tf.sub(k, mean), sigma), -L, L)), tf.fill(mean.shape, L)];
  let value: T | undefined;
  for (let p = 0; p + 1 < cuts.length; p++) {
    const half = tf.div(tf.sub(cuts[p + 1], cuts[p]), 2);
    const mid = tf.div(tf.add(cuts[p + 1], cuts[p]), 2);
    const x = spread([mid, half], [ones(m), nodes]);
    const w = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), spread([tf.mul(half, normalPdf(0))], [weights]));
    const z = spread([tf.add(mean, tf.mul(sigma, mid)), tf.mul(sigma, half)], [ones(m), nodes]);
    const deviation = tf.sub(d.phi(z), spread([centre], [ones(m)]));
    const v = tf.sum(tf.mul(tf.square(deviation), w), 1, true);
    value = value ? tf.add(value, v) : v;
  }
  return value!;
}

/** What the host reads back per layer to choose the truncation and the route. */
export interface ClosureStatistics {
  /**
   * worst[p] = max over members and units of m_i^{p+1} (R_i(p) + δR_i(p))/Var_i, p = 0…K, with
   * m_i = max_{j≠i} |ρ_ij| the unit's largest correlation.
   */
  readonly worst: Float64Array;
  /**
   * Relative errors of the mean, and of the covariance for the series to order p (index p), that the
   * table's errors cause (as numeric/general.ts tableErrors: 2 √Var √D(p) + δVar over the largest Var).
   */
  readonly quadrature: { mean: number; covariance: Float64Array };
  /** Units (over the batch) whose table is not finite. */
  readonly failures: number;
}

/**
 * Reduce the table to what the truncation decision needs and read it back in one transfer:
 * per member, max_i T_i(p)/Var_i for p = 1…K (below), the parts of the table's error bounds, and
 * the failures. With m_i = max_{j≠i} |ρ_ij| (`rowRho`, [R, 1]), |ρ_ij| ≤ √(m_i m_j), so by
 * Cauchy–Schwarz the pair (i, j) leaves |Σ_{k>p} ĝ_k(i) ĝ_k(j) ρ_ij^k| ≤ √(T_i(p) T_j(p)) with
 * T_i(p) = Σ_{k>p} ĝ_k(i)² m_i^k, and relative to √(Var_i Var_j) at most the larger of T_i/Var_i and
 * T_j/Var_j. T_i(p) is bounded two ways, the smaller kept: m_i^{p+1} (R_i(p) + δR_i(p)), and
 * Σ_{k=p+1}^{K} (|ĝ_k| + δĝ_k)² m_i^k + m_i^{K+1} (R_i(K) + δR_i(K)), where R_i(p) = Var_i − Σ_{q≤p} ĝ_q(i)²
 * and δR_i(p) = δVar_i + Σ_{q≤p} (2|ĝ_q| δĝ_q + δĝ_q²) (float32 and quadrature errors are part of the
 * bound). The second weighs each term by its own power of m_i: where ĝ_k² falls slowly (a kink:
 * ~k^{−3/2}), R_i(p) is many times ĝ_{p+1}², and the layer's largest |ρ| no longer counts for every unit.
 */
export function closureStatistics(table: DeviceTable, rowRho: T, batch: number, K: number = DEVICE_K): ClosureStatistics {
  const R = table.variance.shape[0];
  const N = R / batch;
  const packed = tf.tidy(() => {
    const g = table.normalized;
    const dg = table.normalizedErrors;
    const v = table.variance;
    const dv = table.varianceErrors;
    // Partial sums over q = 1…p (and the rest, q = p+1…K) as matMuls with triangular matrices.
    const m = new Float32Array((K + 1) * K);
    const rest = new Float32Array((K + 1) * K);
    for (let p = 1; p <= K; p++) for (let q = 1; q <= K; q++) (q <= p ? m : rest)[q * K + p - 1] = 1;
    const triangle = tf.tensor2d(m, [K + 1, K]);
    const partial = (t: T) => tf.matMul(t as tf.Tensor2D, triangle);
    const remainder = tf.relu(tf.sub(spread([v], [ones(K)]), partial(tf.square(g))));
    const owed = tf.add(partial(tf.add(tf.mul(tf.mul(tf.abs(g), 2), dg), tf.square(dg))), spread([dv], [ones(K)]));
    const owedInAll = tf.add(remainder, owed); // R_i(p) + δR_i(p)
    // m_i^k for k = 1…K+1 (column k − 1) as exp(k ln m_i): a broadcast pow is slow on wasm. The
    // exponent k ln m_i ≤ 0 carries a float32 rounding below 3u k |ln m_i|, so shrinking it by 8u
    // and enlarging the result by 8u (exp's own error and the sums') keeps every power an upper bound.
    const exponents = Float32Array.from({ length: K + 1 }, (_, c) => (c + 1) * (1 - 8 * U));
    const powers = tf.mul(tf.exp(spread([tf.log(tf.clipByValue(rowRho, 0, 1))], [exponents])), 1 + 8 * U);
    const power = (k: number, count: number) => tf.slice(powers, [0, k - 1], [-1, count]);
    const byRemainder = tf.mul(owedInAll, power(2, K));
    const tail = tf.mul(tf.slice(owedInAll, [0, K - 1], [-1, 1]), power(K + 1, 1));
    const terms = tf.mul(tf.square(tf.add(tf.abs(tf.slice(g, [0, 1], [-1, K])), tf.slice(dg, [0, 1], [-1, K]))), power(1, K));
    const byTerms = tf.add(tf.matMul(terms as tf.Tensor2D, tf.tensor2d(rest.subarray(K), [K, K])), spread([tail], [ones(K)]));
    const relative = tf.mul(tf.minimum(byRemainder, byTerms), spread([tf.divNoNan(tf.onesLike(v), v)], [ones(K)]));
    const partialError = partial(tf.square(dg)); // D_i(p) = Σ_{q≤p} δĝ_q²
    const perMember = (t: T, width: number) => tf.max(tf.reshape(t, [batch, N, width]), 1);
    const sd = tf.sqrt(v);
    const unitError = tf.slice(partialError, [0, K - 1], [-1, 1]);
    const rowError = tf.add(tf.mul(tf.mul(sd, tf.sqrt(unitError)), 2), dv);
    const bad = tf.logicalNot(tf.isFinite(tf.add(tf.add(tf.sum(g, 1, true), v), rowError)));
    const columns = [
      perMember(relative, K),
      perMember(tf.slice(dg, [0, 0], [-1, 1]), 1),
      perMember(tf.maximum(tf.abs(tf.slice(g, [0, 0], [-1, 1])), sd), 1),
      perMember(sd, 1),
      perMember(partialError, K),
      perMember(dv, 1),
      perMember(v, 1),
      tf.sum(tf.reshape(tf.cast(bad, 'float32'), [batch, N]), 1, true),
      perMember(rowRho, 1),
    ];
    return tf.concat(columns, 1);
  });
  const data = packed.dataSync();
  packed.dispose();
  const width = 2 * K + 7;
  const worst = new Float64Array(K + 1);
  let mean = 0;
  const covariance = new Float64Array(K + 1);
  let failures = 0;
  for (let b = 0; b < batch; b++) {
    const row = data.subarray(b * width, (b + 1) * width);
    const [meanError, meanScale, maxSd] = row.subarray(K);
    const [maxVarError, maxVar, bad, rho] = row.subarray(2 * K + 3);
    mean = Math.max(mean, meanScale > 0 ? meanError / meanScale : meanError);
    for (let p = 1; p <= K; p++) {
      worst[p] = Math.max(worst[p], row[p - 1]);
      const maxD = row[K + 2 + p];
      covariance[p] = Math.max(covariance[p], maxVar > 0 ? (2 * maxSd * Math.sqrt(maxD) + maxVarError) / maxVar : maxD > 0 || maxVarError > 0 ? Infinity : 0);
    }
    failures += bad;
    if (!Number.isFinite(rho)) failures += N;
  }
  worst[0] = Infinity;
  covariance[0] = covariance[1];
  return { worst, quadrature: { mean, covariance }, failures };
}

const mehlerKernels = new Map<number, RuleKernel>();
function mehlerKernel(P: number): RuleKernel {
  let k = mehlerKernels.get(P);
  if (!k) mehlerKernels.set(P, (k = compileRule(gaussianRule(2, P, true))));
  return k;
}

/** The post-activation mean and covariance of a layer on the device, with the error bounds by order. */
export interface DeviceClosure {
  readonly mean: T;
  readonly covariance?: T;
  /** Relative numerical error by order (index 1 = mean). */
  readonly numericalError: number[];
  /** The route taken: the Mehler series to order P, or the exact bivariate form. */
  readonly route: { kind: 'mehler'; order: number; bound: number } | { kind: 'bivariate' };
}

/**
 * The Gaussian closure of one layer on the device (call inside tf.tidy), or undefined where the
 * float64 host route must do it: no device integrand, a table that is not finite, or errors above
 * MAX_EXACT_NUMERICAL_ERROR. The truncation P is the smallest with worst[P] ≤ max(tolerance,
 * SERIES_RESOLUTION); where that is not met and φ is one kink/jump atom, the exact bivariate form
 * replaces the series.
 */
export function gaussianLayerOnDevice(act: Activation, mean: T, cov: T | undefined, postOrder: number, tolerance: number): DeviceClosure | undefined {
  const d = deviceIntegrand(act);
  if (!d) return undefined;
  const [B, N] = mean.shape as [number, number];
  const covariance = cov ?? tf.zeros([B, N, N]);
  const variance = tf.reshape(tf.gather(tf.reshape(covariance, [B, N * N]), tf.tensor1d(Int32Array.from({ length: N }, (_, i) => i * (N + 1)), 'int32'), 1), [B, N]);
  const table = deviceTable(d, tf.reshape(mean, [B * N, 1]), tf.reshape(variance, [B * N, 1]), postOrder >= 2 ? DEVICE_K : 0);
  const K = table.normalized.shape[1]! - 1;
  // ρ with a zero diagonal: the series then leaves the diagonal to the direct variances.
  const inverse = tf.divNoNan(1, tf.sqrt(tf.relu(variance)));
  const rho = postOrder >= 2 ? tf.mul(tf.mul(tf.mul(covariance, tf.reshape(inverse, [B, N, 1])), tf.reshape(inverse, [B, 1, N])), tf.sub(1, tf.eye(N))) : undefined;
  // Each unit's largest |ρ_ij|: the same two reductions as the layer's largest, kept per row.
  const rowRho = rho ? tf.reshape(tf.minimum(tf.maximum(tf.max(rho, 2), tf.neg(tf.min(rho, 2))), 1), [B * N, 1]) : undefined;
  const stats = K >= 1 && rowRho ? closureStatistics(table, rowRho, B, K) : meanOnlyStatistics(table);
  // Not finite, or not accurate enough to count as exact (MAX_EXACT_NUMERICAL_ERROR): the host in float64.
  if (stats.failures > 0 || !(stats.quadrature.mean <= MAX_EXACT_NUMERICAL_ERROR)) return undefined;
  const g0 = tf.reshape(tf.slice(table.normalized, [0, 0], [-1, 1]), [B, N]);
  const numericalError = [0, stats.quadrature.mean];
  if (postOrder < 2 || !rho) return { mean: g0, numericalError, route: { kind: 'mehler', order: 0, bound: 0 } };
  const limit = Math.max(tolerance, SERIES_RESOLUTION);
  let P = 1;
  while (P < K && stats.worst[P] > limit) P++;
  if (!(stats.quadrature.covariance[P] <= MAX_EXACT_NUMERICAL_ERROR)) return undefined;
  const bound = stats.worst[P];
  const atom = bound > limit ? singleAtom(act) : undefined;
  if (atom) return { mean: g0, covariance: exactPairCovarianceTensor(atom, mean, variance, covariance), numericalError: [...numericalError, 0], route: { kind: 'bivariate' } };
  const coefficients = tf.unstack(tf.reshape(tf.transpose(tf.slice(table.normalized, [0, 0], [-1, P + 1])), [P + 1, B, N]));
  const series = mehlerKernel(P).run(coefficients, [undefined, mean, rho]);
  // The series is 0 on the diagonal (ρ_ii = 0): writing the direct variances there is one pass.
  const covarianceOut = tf.tensorScatterUpdate(series, diagonalIndices(B, N), tf.reshape(table.variance, [B * N]));
  return { mean: g0, covariance: covarianceOut, numericalError: [...numericalError, bound + stats.quadrature.covariance[P]], route: { kind: 'mehler', order: P, bound } };
}

const diagonals = new Map<string, Int32Array>();
/** The positions (b, i, i) of a batch of N × N matrices, as [B·N, 3]. */
function diagonalIndices(B: number, N: number): tf.Tensor2D {
  const key = `${B}/${N}`;
  let idx = diagonals.get(key);
  if (!idx) {
    idx = new Int32Array(B * N * 3);
    for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) idx.set([b, i, i], (b * N + i) * 3);
    diagonals.set(key, idx);
  }
  return tf.tensor2d(idx, [B * N, 3], 'int32');
}

/** The mean alone (output order 1): its error and the failures, read back once. */
function meanOnlyStatistics(table: DeviceTable): ClosureStatistics {
  const packed = tf.tidy(() => {
    const g0 = table.normalized;
    const scale = tf.maximum(tf.max(tf.abs(g0)), tf.max(tf.sqrt(table.variance)));
    return tf.stack([tf.divNoNan(tf.max(table.normalizedErrors), scale), tf.sum(tf.cast(tf.logicalNot(tf.isFinite(g0)), 'float32'))]);
  });
  const [mean, failures] = packed.dataSync();
  packed.dispose();
  return { worst: Float64Array.of(Infinity), quadrature: { mean, covariance: Float64Array.of(0) }, failures };
}
