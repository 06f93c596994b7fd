/**
 * Gaussian closure for a general activation (docs/theory.md §Gaussian closure), float64: the per-index table
 * g_k(i) = E[φ^{(k)}(z_i)] from the closed-form G (Taylor-mode derivatives in μ) or, where there is
 * none, from the Stein form by Gauss–Hermite quadrature; then the rules of symbolic/gaussian.ts
 * with the truncation chosen for a tolerance and a rigorous bound on what it leaves out.
 */
import type { Activation } from '../symbolic/activations.ts';
import { singleAtom, smoothedValidity, undefinedPoint } from '../symbolic/activations.ts';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { exactPairCovariance, type SingleAtom } from './bivariate.ts';
import { InputError } from '../symbolic/errors.ts';
import { gaussianRule, nonGaussianCorrection } from '../symbolic/gaussian.ts';
import { VARIABLE, polynomialDegree } from '../symbolic/expression.ts';
import { kinkPoints, normalizedStein, robustExpectation, steinDerivatives, transitionPoints } from './quadrature.ts';
import { evaluateEntry, evaluateTerms } from './reference.ts';
import { taylorCoefficients } from './taylorseries.ts';
import { Cumulants } from './tensor.ts';
import { thirdCumulantByQuadrature } from './trivariate.ts';
import { currentWork } from './work.ts';

/** What the series of the Gaussian closure may leave out (relative): the Mehler truncation's target. */
export const CLOSURE_TOLERANCE = 1e-8;

export { PIECEWISE_RANGE, kinkPoints, piecewiseExpectation, steinDerivatives, transitionPoints } from './quadrature.ts';

/** Largest k of g_k: closed forms (Taylor-mode, stable to k ≈ 40) and quadrature (He_k grows). */
export const MAX_SMOOTHED_K = { closedForm: 40, quadrature: 24 } as const;

export interface SmoothedTable {
  /** g[k][i] = E[φ^{(k)}(z_i)], k = 0…kmax. */
  readonly g: Float64Array[];
  /** Var(y_i) = E[φ(z_i)²] − g_0(i)², computed directly. */
  readonly variance: Float64Array;
  /** How g was obtained, for the output. */
  readonly method: 'closed form' | 'quadrature';
  /** Estimated absolute error of g_k(i) (quadrature; 0 for closed forms), errors[k][i]. */
  readonly errors: Float64Array[];
  /** Estimated absolute error of the direct variances (E[φ²] is always a quadrature). */
  readonly varianceErrors: Float64Array;
  /**
   * ĝ_k(i) = g_k(i) s_i^{k/2}/√k!, the coefficients of φ(μ_i + √s_i X) in the orthonormal Hermite
   * basis: Mehler's series is Σ_k ρ_ij^k ĝ_k(i) ĝ_k(j) at any scale of s.
   */
  readonly normalized: Float64Array[];
  /** Estimated absolute error of ĝ_k(i) (0 for closed forms). */
  readonly normalizedErrors: Float64Array[];
  /** False when some g_k overflowed or underflowed (tiny or huge variances); ĝ_k are still good. */
  readonly derivativesInRange: boolean;
}


/**
 * The local expansion of ĝ_k in derivatives of φ at μ: M further even orders per k; it is tried where
 * the quadrature's noise exceeds `noiseRatio` of the spread it resolves and no kink lies within
 * `kinkClearance` standard deviations; its error is `lastTerm` × the last term kept plus `rounding` ε ×
 * the sum of the terms' sizes. Emitted code (src/emit) reads the same numbers.
 */
export const LOCAL_EXPANSION = { terms: 6, noiseRatio: 1e-6, kinkClearance: 40, lastTerm: 2, rounding: 16 } as const;

/**
 * w[k][m] = √k! C(k + 2m, k) (2m − 1)!!: ĝ_k = Σ_m w[k][m] c̃_{k+2m} (localExpansion), computed once.
 */
export function localExpansionWeights(K: number, M: number = LOCAL_EXPANSION.terms): Float64Array[] {
  const out: Float64Array[] = [];
  let factorial = 1;
  for (let k = 0; k <= K; k++) {
    if (k > 0) factorial *= k;
    const w = new Float64Array(M + 1);
    let binomial = 1; // C(k + 2m, k)
    let doubleFactorial = 1; // (2m − 1)!!
    for (let m = 0; m <= M; m++) {
      if (m > 0) {
        binomial = (binomial * (k + 2 * m - 1) * (k + 2 * m)) / ((2 * m - 1) * (2 * m));
        doubleFactorial *= 2 * m - 1;
      }
      w[m] = Math.sqrt(factorial) * binomial * doubleFactorial;
    }
    out.push(w);
  }
  return out;
}

/**
 * ĝ_k from derivatives of φ at μ, for a spread so small next to φ's own scale that values of φ no
 * longer resolve it (tanh at μ = 2, s = 1e-30: φ(μ + √s x) rounds to φ(μ)). With c̃_j the Taylor
 * coefficients of φ(μ + σt) in t, E[φ^{(k)}(μ + σX)] σ^k/k! = Σ_m c̃_{k+2m} C(k+2m, k) (2m−1)!!, so
 * ĝ_k = √k! Σ_m …; the sum is the local linearisation (m = 0, k = 1) and its corrections. Its error
 * is estimated by the last term kept; undefined where φ has no Taylor arithmetic or the terms do not
 * fall off.
 */
function localExpansion(act: Activation, mu: number, sigma: number, K: number): { g: Float64Array; errors: Float64Array } | undefined {
  const M = LOCAL_EXPANSION.terms;
  let series: Float64Array;
  try {
    series = taylorCoefficients(act.expression.node, VARIABLE, mu, K + 2 * M, {}, FLOAT64_FUNCTIONS, sigma);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
  const weights = localExpansionWeights(K, M);
  const g = new Float64Array(K + 1);
  const errors = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    let sum = 0;
    let magnitude = 0;
    let last = 0;
    for (let m = 0; m <= M; m++) {
      last = series[k + 2 * m] * weights[k][m];
      sum += last;
      magnitude += Math.abs(last);
    }
    if (!Number.isFinite(sum)) return undefined;
    g[k] = sum;
    errors[k] = LOCAL_EXPANSION.lastTerm * Math.abs(last) + LOCAL_EXPANSION.rounding * Number.EPSILON * magnitude;
  }
  return { g, errors };
}

/** The per-index table at the pre-activation means and variances. */
export function smoothedTable(act: Activation, mean: Float64Array, variance: Float64Array, kmax: number, tolerance: number): SmoothedTable {
  const n = mean.length;
  const closed = act.smoothed !== undefined;
  const K = Math.min(kmax, closed ? MAX_SMOOTHED_K.closedForm : MAX_SMOOTHED_K.quadrature);
  const g = Array.from({ length: K + 1 }, () => new Float64Array(n));
  const normalized = Array.from({ length: K + 1 }, () => new Float64Array(n));
  const out = new Float64Array(n);
  const errors = Array.from({ length: K + 1 }, () => new Float64Array(n));
  const normalizedErrors = Array.from({ length: K + 1 }, () => new Float64Array(n));
  const varianceErrors = new Float64Array(n);
  let derivativesInRange = true;
  const kinks = kinkPoints(act);
  const splits = transitionPoints(act);
  const bad = undefinedPoint(act);
  if (bad !== undefined) {
    // Not real (log of a negative number), a singularity (infinite at a point, finite or not real just
    // past it: log(2 − z) at z = 2, 1/z at 0), or an overflow (infinite from there on: z^1000, exp(1000z)).
    const value = act.fn(bad);
    const after = act.fn(bad + 1e-3);
    const polynomial = polynomialDegree(act.expression);
    const why = 'reason' in polynomial ? `; it is not taken as a polynomial because of ${polynomial.reason}` : '';
    const at = `z = ${Number(bad.toFixed(2))}`;
    throw new InputError(
      Number.isNaN(value) || Number.isNaN(after)
        ? `φ(z) = ${act.expression.source} is not a real number ${Number.isNaN(value) ? 'at' : 'past'} ${at}: a Gaussian expectation needs φ defined on the whole real line`
        : Number.isFinite(after)
          ? `φ(z) = ${act.expression.source} is infinite at ${at} (a singularity): a Gaussian expectation needs φ finite on the whole real line`
          : `φ(z) = ${act.expression.source} overflows float64 at ${at} (|φ| > 1.8e308), so its Gaussian expectations cannot be computed in float64${why}`,
    );
  }
  for (let i = 0; i < n; i++) {
    const mu = mean[i];
    const s = Math.max(variance[i], 0);
    const what = `activation "${act.expression.source}" at unit ${i + 1}`;
    if (s === 0) {
      // A constant pre-activation: y_i = φ(μ_i), and every Σ_ij with it vanishes (|Σ_ij| ≤ √(s_i s_j)).
      g[0][i] = normalized[0][i] = act.fn(mu);
      continue;
    }
    const sigma = Math.sqrt(s);
    let expanded = false;
    if (closed) {
      const why = smoothedValidity(act, mu, s);
      if (why) throw new InputError(`${what} (mean ${mu.toPrecision(4)}, variance ${s.toPrecision(4)}): ${why}`);
      // Coefficients of G(μ + σt) in t: c̃_k = g_k σ^k/k!, so ĝ_k = c̃_k √k! stays in range at any s.
      const series = taylorCoefficients(act.smoothed!.G, 'mu', mu, K, { s }, FLOAT64_FUNCTIONS, sigma);
      let factorial = 1;
      for (let k = 0; k <= K; k++) {
        if (k > 0) factorial *= k;
        normalized[k][i] = series[k] * Math.sqrt(factorial);
        g[k][i] = (series[k] * factorial) / sigma ** k;
      }
    } else {
      let r = normalizedStein(act.fn, kinks.length ? kinks : splits, kinks.length === 0, mu, s, K, tolerance, what);
      // Where the quadrature's own error is not small next to the spread it resolves, the local
      // expansion in derivatives may do better: keep whichever states the smaller error. A kink
      // within 40 standard deviations rules it out (the expansion does not see it).
      const noise = Math.hypot(...r.errors.subarray(1));
      const spread = Math.hypot(...r.g.subarray(1));
      if (noise > LOCAL_EXPANSION.noiseRatio * spread && kinks.every((k) => Math.abs(k - mu) > LOCAL_EXPANSION.kinkClearance * sigma)) {
        const local = localExpansion(act, mu, sigma, K);
        if (local && Math.hypot(...local.errors.subarray(1)) < noise) {
          r = local;
          expanded = true;
        }
      }
      let factorial = 1;
      for (let k = 0; k <= K; k++) {
        if (k > 0) factorial *= k;
        normalized[k][i] = r.g[k];
        normalizedErrors[k][i] = r.errors[k];
        const root = Math.sqrt(factorial) / sigma ** k;
        g[k][i] = r.g[k] * root;
        errors[k][i] = r.errors[k] * root;
      }
    }
    for (let k = 0; k <= K; k++) {
      if (!Number.isFinite(normalized[k][i]))
        throw new InputError(`the Gaussian expectation of "${act.expression.source}" (or of its derivative of order ${k}) is not finite at mean ${mu.toPrecision(4)}, variance ${s.toPrecision(4)}`);
      if (!Number.isFinite(g[k][i])) derivativesInRange = false;
    }
    if (kmax === 0) continue; // the mean alone: E[φ²] is not needed (and may not exist)
    if (expanded) {
      // Values of φ do not resolve this spread, so neither would E[(φ − c)²]: Var = Σ_{k≥1} ĝ_k²
      // (Parseval), with the error of the ĝ_k and the size of the last one for the rest.
      let sum = 0;
      let noise = 0;
      for (let k = 1; k <= K; k++) {
        sum += normalized[k][i] ** 2;
        noise += normalizedErrors[k][i] ** 2;
      }
      out[i] = sum;
      varianceErrors[i] = 2 * Math.sqrt(sum * noise) + noise + normalized[K][i] ** 2;
      continue;
    }
    // Var = E[(φ − c)²] − (g_0 − c)² with c = φ(μ): no cancellation of E[φ²] against g_0² when the
    // spread is small next to the mean (a ReLU unit with bias 1e6 and variance 1 keeps all its variance).
    const centre = Number.isFinite(act.fn(mu)) ? act.fn(mu) : 0;
    const square = (z: number) => (act.fn(z) - centre) ** 2;
    const second = robustExpectation(square, mu, s, splits, kinks.length === 0, tolerance, `${what}: E[φ(z)²], needed for the variance of y,`);
    const offset = g[0][i] - centre;
    if (!Number.isFinite(second.value) || !Number.isFinite(offset ** 2))
      throw new InputError(
        `${what} (mean ${mu.toPrecision(4)}, variance ${s.toPrecision(4)}): E[φ(z)²] exceeds float64's range (about 1.8e308), so the variance of y cannot be represented; scale the weights or inputs down, or report only the mean (--output-order 1)`,
      );
    const rounding = 4 * Number.EPSILON * Math.sqrt(second.value) * (2 * Math.abs(centre) + Math.sqrt(second.value));
    varianceErrors[i] = second.error + rounding + 2 * Math.abs(offset) * normalizedErrors[0][i];
    out[i] = Math.max(second.value - offset ** 2, 0);
  }
  return { g, normalized, variance: out, method: closed ? 'closed form' : 'quadrature', errors, normalizedErrors, varianceErrors, derivativesInRange };
}

/** g_k themselves (not only ĝ_k) are needed for κ3 and for non-Gaussian corrections: say when they left float64's range. */
export function requireDerivatives(act: Activation, table: SmoothedTable, purpose: string): void {
  if (!table.derivativesInRange)
    throw new InputError(
      `activation "${act.expression.source}": ${purpose} needs g_k = E[φ^(k)(z)] up to k = ${table.g.length - 1}, which leave float64's range at these pre-activation variances (tiny or huge); report orders ≤ 2 of Gaussian input instead`,
    );
}

/**
 * Relative error bounds of the mean and the covariance that the table's own errors cause: the mean
 * by max δg_0 / max|g_0|; the covariance through Mehler's terms, |Σ_p ρ_ij^p (ĝ_p δĝ_p + δĝ_p ĝ_p)|
 * ≤ 2 √Var_i √D_j with D_j = Σ_p δĝ_p(j)² (Cauchy–Schwarz, |ρ_ij| ≤ 1), plus the
 * direct variances' errors; both relative to the largest variance.
 */
export function tableErrors(table: SmoothedTable, _variance?: Float64Array): { mean: number; covariance: number } {
  const n = table.variance.length;
  let meanScale = 0;
  let meanError = 0;
  let maxVar = 0;
  let maxSd = 0;
  let maxD = 0;
  let maxVarError = 0;
  for (let i = 0; i < n; i++) {
    meanScale = Math.max(meanScale, Math.abs(table.g[0][i]));
    meanError = Math.max(meanError, table.errors[0][i]);
    maxVar = Math.max(maxVar, table.variance[i]);
    maxSd = Math.max(maxSd, Math.sqrt(table.variance[i]));
    maxVarError = Math.max(maxVarError, table.varianceErrors[i]);
    let d = 0;
    for (let p = 1; p < table.g.length; p++) d += table.normalizedErrors[p][i] ** 2;
    maxD = Math.max(maxD, d);
  }
  // The mean's error relative to the larger of |mean| and the spread: a mean of 1e-16 next to a
  // standard deviation of 1 (tanh at huge variance) is 0 to the accuracy anyone can use.
  meanScale = Math.max(meanScale, maxSd);
  return {
    mean: meanScale > 0 ? meanError / meanScale : meanError,
    // No variance to measure against, yet coefficients with errors: nothing is bounded.
    covariance: maxVar > 0 ? (2 * maxSd * Math.sqrt(maxD) + maxVarError) / maxVar : maxD > 0 || maxVarError > 0 ? Infinity : 0,
  };
}

export interface GaussianLayerResult {
  readonly post: Cumulants;
  /** Truncation of the Mehler series: order P and the largest bound on what it leaves out. */
  readonly covarianceTruncation: { order: number; bound: number };
  /** The three-vertex series for κ3: its last order, the size of its last (or smallest) shell, and whether it converged. */
  readonly thirdTruncation?: { order: number; estimate: number; converged: boolean };
  readonly method: SmoothedTable['method'];
  /** Relative errors of the mean and covariance caused by quadrature (numeric/general.ts tableErrors). */
  readonly quadrature: { mean: number; covariance: number };
}

/**
 * The truncation P of the Mehler series for a batch of distributions (one table per member): the
 * smallest P with max|ρ|^{P+1} · max_i R_i(P)/Var_i ≤ tolerance, where
 * R_i(P) = Var_i − Σ_{p≤P} ĝ_p(i)² (= s_i^p g_p(i)²/p!) is what the series still owes the exact variance; by
 * Cauchy–Schwarz |Σ_{p>P} Σ_ij^p g_p(i) g_p(j)/p!| ≤ |ρ_ij|^{P+1} √(R_i R_j). Returns P and the bound
 * (relative to √(Var_i Var_j)) it leaves.
 */
export function covarianceTruncationOrder(tables: readonly SmoothedTable[], variances: readonly Float64Array[], maxRho: readonly number[], tolerance: number): { order: number; bound: number } {
  const K = Math.min(...tables.map((t) => t.g.length - 1));
  // worst[P] = max over members of max|ρ|^{P+1} · max_i R_i(P)/Var_i.
  const worst = new Float64Array(K + 1);
  tables.forEach((table, b) => {
    const s = variances[b];
    for (let i = 0; i < s.length; i++) {
      if (!(table.variance[i] > 0)) continue;
      let partial = 0;
      for (let p = 1; p <= K; p++) {
        partial += table.normalized[p][i] ** 2;
        const relative = Math.max(table.variance[i] - partial, 0) / table.variance[i];
        worst[p] = Math.max(worst[p], maxRho[b] ** (p + 1) * relative);
      }
    }
  });
  let P = 1;
  while (P < K && worst[P] > tolerance) P++;
  return { order: P, bound: worst[P] };
}

/**
 * Where the exact bivariate form replaces the Mehler series for the covariance: the series' bound
 * (covarianceTruncationOrder, at the largest |ρ|) above the tolerance — strong correlations under a
 * kink or a jump — and φ one atom with a bivariate form plus a linear part (singleAtom). The series
 * is exact enough, and cheaper, elsewhere. The tfjs layer and emitted code decide by this rule too.
 */
export function exactBivariateAtom(act: Activation, bound: number, tolerance: number): SingleAtom | undefined {
  return bound > tolerance ? singleAtom(act) : undefined;
}

/**
 * Post-activation cumulants of orders 1…outputOrder (≤ 3) for Gaussian pre-activations. The
 * covariance off the diagonal is the Mehler series truncated at the smallest P with
 * |ρ_ij|^{P+1} √(R_i(P) R_j(P)) ≤ tolerance·√(Var_i Var_j), where R_i(P) = Var_i − Σ_{p≤P} s_i^p g_p(i)²/p!
 * is what the series still owes the exact variance (Cauchy–Schwarz bounds the remainder by it);
 * the diagonal is Var_i itself.
 */
export function gaussianLayer(act: Activation, pre: Cumulants, outputOrder: number, tolerance = CLOSURE_TOLERANCE): GaussianLayerResult {
  const n = pre.size;
  const mean = pre.mean;
  const cov = pre.order(2) ?? new Float64Array(n * n);
  const variance = Float64Array.from({ length: n }, (_, i) => cov[i * n + i]);
  const closed = act.smoothed !== undefined;
  const kmax = closed ? MAX_SMOOTHED_K.closedForm : MAX_SMOOTHED_K.quadrature;
  const nonGaussian = pre.order(3) !== undefined || pre.order(4) !== undefined;
  const table = smoothedTable(act, mean, variance, outputOrder >= 2 ? kmax : nonGaussian ? 4 : 0, tolerance);
  if (nonGaussian) requireDerivatives(act, table, 'the correction for non-Gaussian input');
  if (outputOrder >= 3) requireDerivatives(act, table, 'the third cumulant');
  const tensors: (Float64Array | undefined)[] = [undefined, Float64Array.from(table.g[0])];
  // First-order corrections for input cumulants of orders 3 and 4 (symbolic/gaussian.ts).
  const meanShift = nonGaussian ? evaluateTerms(nonGaussianCorrection(1, 0), table.g, pre) : undefined;
  if (meanShift) for (let i = 0; i < n; i++) tensors[1]![i] += meanShift[i];
  let covarianceTruncation = { order: 0, bound: 0 };
  let thirdTruncation: GaussianLayerResult['thirdTruncation'];
  if (outputOrder >= 2) {
    let maxRho = 0;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const scale = Math.sqrt(variance[i]) * Math.sqrt(variance[j]);
        if (scale > 0) maxRho = Math.max(maxRho, Math.min(1, Math.abs(cov[i * n + j]) / scale));
      }
    const { order: P, bound } = covarianceTruncationOrder([table], [variance], [maxRho], tolerance);
    // The exact bivariate form where the series' bound is not below the tolerance (strong
    // correlations under a kink or a jump); the series is exact enough, and cheaper, elsewhere.
    const atom = exactBivariateAtom(act, bound, tolerance);
    let c2: Float64Array;
    if (atom) {
      // One kink/jump atom plus a linear part: the exact bivariate form through Φ₂ (numeric/bivariate.ts).
      covarianceTruncation = { order: 0, bound: 0 };
      c2 = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++)
          c2[i * n + j] = c2[j * n + i] = i === j ? table.variance[i] : exactPairCovariance(atom, mean[i], mean[j], variance[i], variance[j], cov[i * n + j]);
    } else {
      covarianceTruncation = { order: P, bound };
      // Σ_p ρ_ij^p ĝ_p(i) ĝ_p(j): the normalised rule never forms Σ_ij^p or g_p, which leave float64's
      // range at tiny or huge variances where their product does not.
      const rho = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const scale = Math.sqrt(variance[i]) * Math.sqrt(variance[j]);
          if (i !== j && scale > 0) rho[i * n + j] = Math.max(-1, Math.min(1, cov[i * n + j] / scale));
        }
      c2 = evaluateTerms(gaussianRule(2, P, true), table.normalized.slice(0, P + 1), new Cumulants(n, [undefined, mean, rho]));
      for (let i = 0; i < n; i++) c2[i * n + i] = table.variance[i];
    }
    if (meanShift) {
      const K = table.g.length - 1;
      const shift = evaluateTerms(nonGaussianCorrection(2, Math.max(0, Math.min(P, K - 4))), table.g, pre);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) c2[i * n + j] += shift[i * n + j];
      const shifted = varianceShift(act, pre, table, meanShift, tolerance);
      for (let i = 0; i < n; i++) c2[i * n + i] = Math.max(c2[i * n + i] + shifted[i], 0);
    }
    tensors.push(c2);
    if (outputOrder >= 3) {
      const third = thirdCumulant(act, pre, table, tolerance);
      thirdTruncation = third.truncation;
      tensors.push(third.tensor);
    }
  }
  return { post: new Cumulants(n, tensors), covarianceTruncation, thirdTruncation, method: table.method, quadrature: tableErrors(table, variance) };
}

/** Sum of the powers of Σ in a term: its number of edges. */
const edges = (t: { cumulants: readonly { power: number }[] }) => t.cumulants.reduce((e, c) => e + c.power, 0);

/** The connected three-vertex diagrams with `total` edges (symbolic/gaussian.ts): one shell of κ3's series. */
export function thirdShell(total: number) {
  return { order: 3, indices: ['i', 'j', 'k'], terms: gaussianRule(3, total).terms.filter((t) => edges(t) === total) };
}

/**
 * When the three-vertex series for κ3 stops: after `quietShells` shells in a row below the tolerance
 * (converged), or once `growingShells` shells in a row have grown past `growth` × the smallest
 * (only asymptotic), and at shell `maxShell` at the latest. Emitted code (src/emit) reads the same numbers.
 */
export const THIRD_SERIES = { quietShells: 2, growingShells: 4, growth: 1e4, maxShell: 40 } as const;

/**
 * A pure jump, φ = c·H(pz + q) or c·sign(pz + q) without a linear part: φ² = c·φ or c², so
 * Cov(φ_i², φ_j) = λ Cov(φ_i, φ_j) with λ = c or 0, and κ(y_i, y_i, y_j) = λ C_ij − 2 m_i C_ij takes
 * the exact bivariate form C_ij = Cov(φ_i, φ_j) (numeric/bivariate.ts exactPairCovariance) instead of
 * Mehler series that converge slowly as ρ → 1. Emitted code (src/emit) decides by this rule too.
 */
export function pureJump(act: Activation): { atom: SingleAtom; square: number } | undefined {
  const atom = singleAtom(act);
  if (!atom || (atom.kind !== 'heaviside' && atom.kind !== 'sign') || atom.linear[0] !== 0 || atom.linear[1] !== 0) return undefined;
  return { atom, square: atom.kind === 'heaviside' ? atom.coefficient : 0 };
}

/**
 * κ3 of the outputs. Distinct i, j, k: the connected three-vertex diagrams, shell by shell (a + b + c
 * edges), until two shells in a row add less than the tolerance; what the next shell would add is
 * not bounded, so the last shell's size is reported as the estimate. Entries with repeated indices
 * are computed without the series' slowly converging self-correlations (ρ_ii = 1):
 * κ(y_i, y_i, y_i) = E[(φ − m)³] by quadrature, and
 * κ(y_i, y_i, y_j) = Cov(φ²(z_i), φ(z_j)) − 2 m_i Cov(φ(z_i), φ(z_j)), both by the Mehler series.
 */
export function thirdCumulant(act: Activation, pre: Cumulants, table: SmoothedTable, tolerance: number): { tensor: Float64Array; truncation: { order: number; estimate: number; converged: boolean } } {
  const n = pre.size;
  const mean = pre.mean;
  const cov = pre.order(2) ?? new Float64Array(n * n);
  const K = table.g.length - 1;
  const kinks = kinkPoints(act);
  const splits = transitionPoints(act);
  const tensor = new Float64Array(n ** 3);
  let order = 0;
  let estimate = 0;
  let converged = true;
  if (n >= 3) {
    const distinct = new Uint8Array(n ** 3);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) distinct[(i * n + j) * n + k] = i !== j && j !== k && i !== k ? 1 : 0;
    // Shell by shell; for strong correlations the series is only asymptotic (the three g's grow
    // faster than a! b! c!), so it is stopped at its smallest shell when shells start to grow.
    // κ3 entries are measured against Var^{3/2} as well as against themselves: an odd φ at μ = 0 has
    // κ3 = 0 off the diagonal, and shells of rounding noise must count as converged there.
    let scale = cubeScale(table.variance);
    let quiet = 0;
    let growing = 0;
    let smallest = Infinity;
    let best = new Float64Array(tensor.length);
    let bestOrder = 0;
    const last = Math.min(K, THIRD_SERIES.maxShell);
    for (let total = 2; total <= last; total++) {
      const shell = thirdShell(total);
      const work = currentWork();
      work?.onProgress?.('third cumulants: three-vertex series', (total - 1) / (last - 1));
      if (work && total > 2 && work.secondsLeft() < 0) {
        work.notes.push(`the three-vertex series for the third cumulant of "${act.expression.source}" stopped at ${total - 1} edges when ${work.option} ${work.maxSeconds} ran out (labelled approximate); raise ${work.option} to let it finish`);
        break;
      }
      const part = evaluateTerms(shell, table.g, pre);
      let size = 0;
      for (let e = 0; e < part.length; e++) {
        tensor[e] += part[e];
        // Convergence is judged on distinct triples only: repeated indices are replaced below.
        if (distinct[e]) {
          size = Math.max(size, Math.abs(part[e]));
          scale = Math.max(scale, Math.abs(tensor[e]));
        }
      }
      if (size < smallest) {
        smallest = size;
        best = Float64Array.from(tensor);
        bestOrder = total;
        growing = 0;
      } else growing++;
      order = total;
      estimate = size;
      // Quiet only once something has been summed: a polynomial's first shells can vanish.
      quiet = scale > 0 && size <= tolerance * scale ? quiet + 1 : 0;
      // Stop when converged, or when shells have grown for a while and far past the smallest one
      // (a polynomial's shells may grow before they vanish; an asymptotic series' keep growing).
      if (quiet >= THIRD_SERIES.quietShells || (growing >= THIRD_SERIES.growingShells && size > THIRD_SERIES.growth * smallest)) break;
    }
    if (quiet < THIRD_SERIES.quietShells) {
      // Only asymptotic here (strong correlations): the smallest shell is the usual size of the
      // error, not a bound, so the block is an approximation (numeric/general.ts exactOrderOf).
      converged = false;
      tensor.set(best);
      order = bestOrder;
      estimate = smallest;
    }
  }
  // Repeated indices.
  const m = table.g[0];
  const square = (z: number) => act.fn(z) ** 2;
  const gSquare: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = cov[i * n + i];
    if (!(s > 0)) {
      gSquare.push(Float64Array.of(square(mean[i])));
      continue;
    }
    gSquare.push(steinDerivatives(square, kinks, mean[i], s, K, tolerance, splits).g);
    const third = robustExpectation((z) => (act.fn(z) - m[i]) ** 3, mean[i], s, kinks.length ? kinks : splits, kinks.length === 0, tolerance, `activation "${act.expression.source}" at unit ${i + 1}: E[(φ(z) − E φ)³], needed for κ3,`).value;
    tensor[(i * n + i) * n + i] = third;
  }
  // Cov(a(z_i), φ(z_j)) by the Mehler rule (symbolic/gaussian.ts), a's table at slot i and φ's at slot j.
  const mehler = new Map<number, ReturnType<typeof gaussianRule>>();
  const crossCovariance = (a: ArrayLike<number>, i: number, j: number) => {
    const P = Math.min(a.length - 1, K);
    if (P < 1) return 0;
    let rule = mehler.get(P);
    if (!rule) mehler.set(P, (rule = gaussianRule(2, P)));
    return evaluateEntry(rule, [a, table.g.map((g) => g[j])], [i, j], pre);
  };
  const jump = pureJump(act);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let value: number;
      if (jump) {
        const c = exactPairCovariance(jump.atom, mean[i], mean[j], cov[i * n + i], cov[j * n + j], cov[i * n + j]);
        value = jump.square * c - 2 * m[i] * c;
      } else value = crossCovariance(gSquare[i], i, j) - 2 * m[i] * crossCovariance(table.g.map((g) => g[i]), i, j);
      for (const [a, b, c] of [[i, i, j], [i, j, i], [j, i, i]]) tensor[(a * n + b) * n + c] = value;
    }
  const inRange = tensor.every(Number.isFinite);
  if (!converged || !inRange) {
    // The convergent route where the series is only asymptotic, or where g_k of φ² left float64's
    // range (tiny or huge variances): every entry by trivariate quadrature (numeric/trivariate.ts),
    // when its estimated time fits the run's budget; else the series stays, labelled approximate.
    const direct = thirdCumulantByQuadrature(act, pre, { value: m, error: table.errors[0] }, table.variance, [...new Set([...kinks, ...splits])], tolerance, inRange ? 'asymptotic' : 'out of range');
    if (direct) return { tensor: direct.tensor, truncation: { order: 0, estimate: direct.error, converged: true } };
  }
  return { tensor, truncation: { order, estimate, converged } };
}

/**
 * Relative error bounds of a Gaussian-closure layer by order (index 1 = mean): quadrature for the
 * mean; the Mehler truncation bound (relative to √(Var_i Var_j) ≤ the largest variance) plus
 * quadrature for the covariance; the last shell of the three-vertex series for κ3.
 */
/**
 * First-order correction of Var(y_i) for input cumulants T, Q: δE[φ²] − 2 g_0 δm with
 * δE[φ²] = T_iii E_G[(φ²)‴]/6 + Q_iiii E_G[(φ²)⁗]/24 (Stein form of φ², by quadrature).
 */
export function varianceShift(act: Activation, pre: Cumulants, table: SmoothedTable, meanShift: Float64Array, tolerance: number): Float64Array {
  const n = pre.size;
  const cov = pre.order(2)!;
  const kinks = kinkPoints(act);
  const splits = transitionPoints(act);
  // g_k of φ² (k ≤ 4) per unit, then the mean correction of symbolic/gaussian.ts applied to φ².
  const square = Array.from({ length: 5 }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const s = cov[i * n + i];
    if (!(s > 0)) continue;
    const g = steinDerivatives((z) => act.fn(z) ** 2, kinks, pre.mean[i], s, 4, tolerance, splits).g;
    for (let k = 0; k <= 4; k++) square[k][i] = g[k];
  }
  const shift = evaluateTerms(nonGaussianCorrection(1, 0), square, pre);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) if (cov[i * n + i] > 0) out[i] = shift[i] - 2 * table.g[0][i] * meanShift[i];
  return out;
}

/** Relative numerical error up to which a block counts as exact (its error joins validate's allowance). */
export const MAX_EXACT_NUMERICAL_ERROR = 1e-3;

/**
 * The highest order that is exact, given what the truncation bookkeeping allows (`planned`), the
 * numerical errors by order and whether the κ3 series converged: one rule for propagate's labels
 * and validate's verdicts.
 */
export function exactOrderOf(planned: number, errors: readonly number[] | undefined, thirdConverged = true): number {
  let exact = planned;
  if (!thirdConverged) exact = Math.min(exact, 2);
  if (errors)
    for (let r = 1; r < errors.length; r++)
      if (!((errors[r] ?? 0) <= MAX_EXACT_NUMERICAL_ERROR)) {
        exact = Math.min(exact, r - 1);
        break;
      }
  return exact;
}

export function gaussianLayerErrors(r: GaussianLayerResult): number[] {
  const errors = [0, r.quadrature.mean];
  if (r.post.order(2)) errors.push(r.covarianceTruncation.bound + r.quadrature.covariance);
  const k3 = r.post.order(3);
  const n = r.post.size;
  const k2 = r.post.order(2);
  const variance = k2 ? Array.from({ length: n }, (_, i) => k2[i * n + i]) : [];
  if (k3 && r.thirdTruncation) errors.push(thirdCumulantError(k3, r.thirdTruncation.estimate, variance));
  return errors;
}

/** max_i Var_i^{3/2}: the size κ3 entries are judged against (with their own largest). */
function cubeScale(variance: ArrayLike<number>): number {
  let v = 0;
  for (let i = 0; i < variance.length; i++) v = Math.max(v, variance[i]);
  return v ** 1.5;
}

/** κ3's estimated series error relative to its largest entry or max Var^{3/2}, whichever is larger. */
export function thirdCumulantError(k3: Float64Array, estimate: number, variance: ArrayLike<number> = []): number {
  let scale = cubeScale(variance);
  for (const v of k3) scale = Math.max(scale, Math.abs(v));
  return scale > 0 ? estimate / scale : 0;
}
