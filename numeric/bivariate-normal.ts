/**
 * The node kinds of the bivariate forms per target (docs/theory.md §Bivariate forms):
 * Phi2excess(h, k, ρ) = E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k), reluCovariance(h, k, ρ) =
 * Cov((X + h)⁺, (Y + k)⁺) and reluVariance(h) = Var((X + h)⁺), X, Y standard normals with
 * correlation ρ. Each is defined once: E by Genz's routine (symbolic/bivariate-normal.ts), the relu
 * forms as trees over E, Φ and φ (symbolic/atoms/bivariate-kinds.ts). Float64 compiles exactly those.
 *
 * Float32 has named variants where the float64 arrangement loses too much:
 *   E: the same two forms of Genz on every element, chosen with tf.where (bivariateNormalExcessTensor).
 *   reluCovariance: the float64 form still cancels where h, k ≪ 0 (its terms exceed the result by
 *   ~(1 + h²)(1 + k²)), so for ρ > −0.925 it comes from Price's theorem instead, ∂Cov/∂ρ = Φ₂:
 *   Cov = ∫_0^ρ Φ₂(h, k; r) dr = ρΦ(h)Φ(k) + (1/2π) ∫_0^{asin ρ} (ρ − sin θ) e^{−(h² + k² − 2hk sin θ)/(2cos²θ)} dθ,
 *   whose terms share the sign of ρ; for ρ ≤ −0.925 the definition itself.
 *   reluVariance: the same Price integral at ρ = 1, Φ(h)² + (1/8) Σ_i w_i (1 − sin θ_i) e^{−h²/(1 + sin θ_i)},
 *   θ = π/4 (1 + x), all terms positive, where the closed form loses h⁴ε for h ≪ 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BIVARIATE_NORMAL, gaussLegendre } from './gauss.ts';
import { normalCdfTensor, scaledUpperTail } from './special-tensor.ts';
import { compileTree } from './tfjs-emitter.ts';
import { atomNamed, type AtomSpec } from '../symbolic/atoms/index.ts';
import { BIVARIATE_NODES as NODES, HIGH_CORRELATION } from '../symbolic/bivariate-normal.ts';
import { compileScalar } from '../symbolic/print/js.ts';
import { parse, type MathNode } from '../symbolic/math.ts';

const SQRT_2PI = 2.5066282746310002;

// ---------------------------------------------------------------------------------------------
// Float64
// ---------------------------------------------------------------------------------------------

/**
 * E(h, k; ρ) = Φ₂(h, k; ρ) − Φ(h)Φ(k) = Cov(1{X < h}, 1{Y < k}) in float64, Genz's routine
 * (no subtraction for |ρ| < 0.925; else at the sign of (h, k) with h + k ≤ 0). Exact at ρ = 0, ±1
 * and infinite limits.
 */
export function bivariateNormalExcess(h: number, k: number, rho: number): number {
  if (Number.isNaN(h) || Number.isNaN(k)) throw new RangeError(`bivariate normal limits must be numbers, got h = ${h}, k = ${k}`);
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`a correlation must lie in [−1, 1], got ${rho}`);
  if (rho === 0 || !Number.isFinite(h) || !Number.isFinite(k)) return 0;
  return BIVARIATE_NORMAL.phi2_excess(h, k, rho);
}

/** A node kind's definition tree (symbolic/atoms/bivariate-kinds.ts). */
export function nodeKindTree(name: string): { atom: AtomSpec; tree: MathNode } {
  const atom = atomNamed(name)!;
  return { atom, tree: parse(atom.definition!) };
}

/** A tree over the node kinds as a float64 function: the definitions expanded, E by Genz's routine. */
export function float64Tree(tree: MathNode, symbols: readonly string[]): (...x: number[]) => number {
  return compileScalar(tree, symbols, BIVARIATE_NORMAL);
}

/** Cov((X + h)⁺, (Y + k)⁺) for standard normals with correlation ρ, in float64: the definition. */
export const reluCovarianceStandard = float64Tree(nodeKindTree('reluCovariance').tree, ['h', 'k', 'rho']);

// ---------------------------------------------------------------------------------------------
// tfjs, float32
// ---------------------------------------------------------------------------------------------

type T = tf.Tensor;

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
 * BVNU (as the routine phi2_high of symbolic/bivariate-normal.ts: the expansion in x = √(1 − r²), its leading terms in closed
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

/** Var((X + h)⁺) in float32: the Price integral at ρ = 1 (the header). */
export function reluVarianceTensor(h: T): T {
  const h2 = tf.square(h);
  const [sum] = legendreSums((x, w) => {
    const sn = Math.sin((Math.PI / 4) * (1 + x));
    return [tf.mul(tf.exp(tf.div(h2, -(1 + sn))), w * (1 - sn))];
  });
  return tf.add(tf.square(normalCdfTensor(h)), tf.mul(sum, 0.125));
}

/** The definition of reluCovariance in float32, E given (the node Phi2excess(h, k, rho) replaced by the symbol E). */
const reluClosedTensor = (() => {
  const tree = nodeKindTree('reluCovariance').tree.transform((n) =>
    n.type === 'FunctionNode' && (n as unknown as { fn: { name: string } }).fn.name === 'Phi2excess' ? parse('E') : n,
  );
  return compileTree(tree, ['h', 'k', 'rho', 'E']);
})();

/**
 * Cov((X + h)⁺, (Y + k)⁺) elementwise (h, k, ρ broadcast), float32: the relu core of the float32 target. ρ > −0.925: the integral form of excessParts, for
 * ρ ≥ 0.925 completed over t = sin θ ∈ [0.925, ρ] in the variable x = √(1 − t²) ∈ [√(1 − ρ²), x₀],
 * x₀ = √(1 − 0.925²), where φ₂(h, k; t) dt = −e^{−(h − k)²/(2x²) − hk/(1 + t)}/(2π t) dx, by
 * 20-point Gauss–Legendre (the weight ρ − t = (x² − x_ρ²)/(ρ + t) vanishes where the integrand
 * turns sharp, at x → 0: 2e-8 of √(Var_i Var_j) measured in float64 for ρ ∈ [0.925, 1], |h|, |k| ≤ 6).
 * For ρ > 0 all terms are positive, where the closed form loses ~ε(1 + h²)(1 + k²) to cancellation for
 * h, k ≪ 0 (6e-5 at h, k ≈ −4 in float32). ρ ≤ −0.925: the definition, ρ = −1 as the limit.
 */
export function reluCoreTensor(h: T, k: T, rho: T): T {
  const [Ph, Pk] = [normalCdfTensor(h), normalCdfTensor(k)];
  const { E, low, reluIntegral } = excessParts(h, k, rho, true);
  const closed = reluClosedTensor(h, k, rho, E);
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

