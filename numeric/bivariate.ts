/**
 * Exact covariances of y = φ(z) between two jointly Gaussian pre-activations (docs/theory.md
 * §Bivariate forms; the accurate route where the Mehler series converges slowly: kinks and jumps at
 * |ρ| → 1), for φ(z) = c · a(p z + q) + l₀ + l₁ z with a an atom that has a bivariate form in the
 * registry (symbolic/atoms: relu, heaviside, sign, abs, erf; symbolic/recognition.ts singleAtom).
 * In float64 on numbers, and in float32 tfjs ops on a batch, both generated from the atom's trees.
 *
 * Notation: for z_i ~ N(μ_i, s_i) with Cov(z_i, z_j) = c_ij, the atom's argument u = p z + q has
 * mean ν = p μ + q, standard deviation τ = |p| √s and standardised mean h = ν/τ;
 * corr(u_i, u_j) = ρ = c_ij/√(s_i s_j) (p² > 0). The atom supplies
 *   the mean        its G (the same tree as the Gaussian closure) at (ν, τ²);
 *   D = E[a′(u)]     its g_1 = ∂G/∂mu at (ν, τ²);
 *   Var, Cov         its bivariate templates in h, τ, ν (and ρ), written in Φ, φ and the node kinds
 *                    of symbolic/atoms/bivariate-kinds.ts (Φ₂ excess, the standardised ReLU covariance).
 * The linear part enters by Stein's lemma Cov(z_j, f(u_i)) = p c_ij E[f′(u_i)]:
 *   Cov(φ_i, φ_j) = c² Cov(a_i, a_j) + c l₁ p c_ij (D_i + D_j) + l₁² c_ij.
 * A unit with s = 0 is deterministic: its covariances vanish.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EvalFunction } from 'mathjs';
import { parse, type MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { FLOAT64_FUNCTIONS, atomNamed, type AtomSpec } from '../symbolic/atoms/index.ts';
import type { SingleAtom } from '../symbolic/recognition.ts';
import { atomDerivatives } from '../symbolic/derivation.ts';
import { MEAN, VARIANCE } from '../symbolic/trees.ts';
import { compileTree, type TensorKernel } from './tfjs-emitter.ts';
import { bivariateNormalExcessTensor, float64Tree, reluCoreTensor, reluVarianceTensor } from './bivariate-normal.ts';

export type { SingleAtom, SingleAtomKind } from '../symbolic/recognition.ts';
export { bivariateNormalExcess, bivariateNormalExcessTensor, reluCovarianceStandard } from './bivariate-normal.ts';
export { normalCdfTensor } from './special-tensor.ts';

/** The float32 target: the tfjs table (symbolic Φ, φ included) overlaid with the node kinds' float32 variants. */
const FLOAT32_BIVARIATE = { Phi2excess: bivariateNormalExcessTensor, reluCovariance: reluCoreTensor, reluVariance: reluVarianceTensor };

const UNIT = ['h', 'tau', 'nu'] as const;
const PAIR = ['hi', 'hj', 'taui', 'tauj', 'nui', 'nuj', 'rho'] as const;
const MOMENTS = [MEAN, VARIANCE] as const;

/** A tree evaluated in float64 with a scope made once (values written before each call). */
function float64Of(node: MathNode, symbols: readonly string[]): (...values: number[]) => number {
  const code: EvalFunction = node.compile();
  const scope: Record<string, unknown> = { ...NAMED_CONSTANTS, ...FLOAT64_FUNCTIONS };
  return (...values) => {
    symbols.forEach((s, k) => (scope[s] = values[k]));
    return Number(code.evaluate(scope));
  };
}

interface Forms {
  readonly spec: AtomSpec;
  readonly mean: (mu: number, s: number) => number;
  readonly derivative: (mu: number, s: number) => number;
  readonly variance: (h: number, tau: number, nu: number) => number;
  readonly covariance: (hi: number, hj: number, taui: number, tauj: number, nui: number, nuj: number, rho: number) => number;
  readonly derivativeTensor: TensorKernel;
  readonly varianceTensor: TensorKernel;
  readonly covarianceTensor: TensorKernel;
}

/**
 * The trees of an atom's covariance (its template, in hi, hj, taui, tauj, nui, nuj, rho) and of
 * D = E[a′(u)] (g_1, in mu and s): what every target evaluates, emitted code included.
 */
export function bivariateTrees(kind: string): { covariance: MathNode; derivative: MathNode } {
  const spec = atomNamed(kind);
  if (!spec?.bivariate) throw new RangeError(`the atom '${kind}' has no bivariate form`);
  return { covariance: parse(spec.bivariate.covariance), derivative: atomDerivatives(kind as SingleAtom['kind'], 1)[1] };
}

/** Each atom's trees compiled once per target. */
const compiled = new Map<string, Forms>();
function formsOf(kind: string): Forms {
  let forms = compiled.get(kind);
  if (forms) return forms;
  const spec = atomNamed(kind);
  if (!spec?.bivariate) throw new RangeError(`the atom '${kind}' has no bivariate form`);
  const [G] = atomDerivatives(kind as SingleAtom['kind'], 0);
  const variance = parse(spec.bivariate.variance);
  const { covariance, derivative: g1 } = bivariateTrees(kind);
  forms = {
    spec,
    mean: float64Of(G, MOMENTS),
    derivative: float64Of(g1, MOMENTS),
    variance: float64Tree(variance, UNIT),
    covariance: float64Tree(covariance, PAIR),
    derivativeTensor: compileTree(g1, MOMENTS),
    varianceTensor: compileTree(variance, UNIT, FLOAT32_BIVARIATE),
    covarianceTensor: compileTree(covariance, PAIR, FLOAT32_BIVARIATE),
  };
  compiled.set(kind, forms);
  return forms;
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

function checkAtom(atom: SingleAtom): void {
  const numbers = [atom.coefficient, atom.slope, atom.offset, atom.linear[0], atom.linear[1]];
  if (!numbers.every(Number.isFinite)) throw new RangeError(`an atom needs finite numbers, got ${JSON.stringify(atom)}`);
  if (atom.slope === 0) throw new RangeError('an atom with slope 0 is a constant');
  formsOf(atom.kind);
}

function checkMoments(mu: number, s: number, which: string): void {
  if (!Number.isFinite(mu)) throw new RangeError(`the mean of ${which} must be finite, got ${mu}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`the variance of ${which} must be finite and ≥ 0, got ${s}`);
}

/** D = E[a′(u)] = g_1 of the atom at (ν, τ²), the Stein factor of the linear part. */
function derivativeMean(atom: SingleAtom, u: Unit): number {
  return formsOf(atom.kind).derivative(u.nu, u.tau * u.tau);
}

/** E[φ(z)], z ~ N(μ, s): c G_a(ν, τ²) + l₀ + l₁ μ, G the atom's closed form. */
export function exactMean(atom: SingleAtom, mu: number, s: number): number {
  checkAtom(atom);
  checkMoments(mu, s, 'the unit');
  const [l0, l1] = atom.linear;
  const u = unitOf(atom, mu, s);
  const forms = formsOf(atom.kind);
  // A deterministic unit: a(ν), with the conventions of the float64 atoms (heaviside(0) = sign(0) = 0).
  const g = u.tau === 0 ? forms.spec.float64!(u.nu) : forms.mean(u.nu, u.tau * u.tau);
  return atom.coefficient * g + l0 + l1 * mu;
}

/** Var(φ(z)), z ~ N(μ, s), in closed form: the atom's variance template plus the linear part 2 c l₁ p s D + l₁² s. 0 at s = 0. */
export function exactVariance(atom: SingleAtom, mu: number, s: number): number {
  checkAtom(atom);
  checkMoments(mu, s, 'the unit');
  if (s === 0) return 0;
  const u = unitOf(atom, mu, s);
  const v = formsOf(atom.kind).variance(u.h, u.tau, u.nu);
  const c = atom.coefficient;
  const l1 = atom.linear[1];
  return c * c * v + 2 * c * l1 * atom.slope * s * derivativeMean(atom, u) + l1 * l1 * s;
}

/**
 * Cov(φ(z_i), φ(z_j)) for (z_i, z_j) bivariate normal with means μ_i, μ_j, variances s_i, s_j and
 * covariance c_ij, exactly (ρ = c_ij/√(s_i s_j) clamped to [−1, 1]). 0 where s_i = 0 or s_j = 0.
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
  let cov = c * c * formsOf(atom.kind).covariance(ui.h, uj.h, ui.tau, uj.tau, ui.nu, uj.nu, rho);
  if (l1 !== 0) cov += c * l1 * atom.slope * cIJ * (derivativeMean(atom, ui) + derivativeMean(atom, uj)) + l1 * l1 * cIJ;
  return cov;
}

// ---------------------------------------------------------------------------------------------
// tfjs, float32
// ---------------------------------------------------------------------------------------------

type T = tf.Tensor;

/**
 * Cov(φ(z_i), φ(z_j)) for a batch: mean [B, N], variance [B, N], cov [B, N, N] → [B, N, N] in
 * float32, the atom's templates compiled to tfjs (E, the ReLU core and Φ in their float32
 * arrangements, numeric/bivariate-normal.ts); the diagonal holds the exact variance, rows and
 * columns of units with s = 0 are 0. ρ = c_ij/√(s_i s_j) is clamped to [−1, 1]. Accuracy against
 * exactPairCovariance on the same (float32) inputs, relative to √(Var_i Var_j), measured on wasm and
 * cpu for every kind at ρ ∈ [−1, 1]: ≤ 2e-6 for standardised means |ν/τ| ≤ 6, ≤ 4e-6 out to 8 —
 * mostly the float32 rounding of h = ν/τ itself, amplified by |h| in the tails. The caller runs it
 * inside tf.tidy (intermediates are released here, the result is not).
 */
export function exactPairCovarianceTensor(atom: SingleAtom, mean: T, variance: T, cov: T): tf.Tensor3D {
  checkAtom(atom);
  if (mean.rank !== 2 || variance.rank !== 2 || cov.rank !== 3) throw new RangeError(`expected mean and variance [B, N] and cov [B, N, N], got ${mean.shape}, ${variance.shape}, ${cov.shape}`);
  const [B, N] = mean.shape;
  if (variance.shape[0] !== B || variance.shape[1] !== N || cov.shape[0] !== B || cov.shape[1] !== N || cov.shape[2] !== N)
    throw new RangeError(`expected mean and variance [B, N] and cov [B, N, N], got ${mean.shape}, ${variance.shape}, ${cov.shape}`);
  const forms = formsOf(atom.kind);
  return tf.tidy(() => {
    const { slope, offset, coefficient: c } = atom;
    const l1 = atom.linear[1];
    const s = tf.maximum(tf.cast(variance, 'float32'), 0);
    const alive = tf.greater(s, 0);
    const sSafe = tf.where(alive, s, tf.onesLike(s));
    const root = tf.sqrt(sSafe);
    const nu = tf.add(tf.mul(tf.cast(mean, 'float32'), slope), offset);
    const tau = tf.mul(root, Math.abs(slope));
    const h = tf.div(nu, tau);
    const C = tf.cast(cov, 'float32');
    const col = (x: T) => tf.expandDims(x, 2); // unit i
    const row = (x: T) => tf.expandDims(x, 1); // unit j
    // √(s_i s_j) as in exactPairCovariance (ρ = 1 exactly for a duplicated unit) while s_i s_j is a
    // normal float32; √s_i √s_j where it would overflow (s ≳ 1e19) or underflow (s ≲ 1e-19).
    const product = tf.mul(col(sSafe), row(sSafe));
    const inRange = tf.logicalAnd(tf.isFinite(product), tf.greater(product, 1e-37));
    const rho = tf.clipByValue(tf.div(C, tf.where(inRange, tf.sqrt(product), tf.mul(col(root), row(root)))), -1, 1);

    const atomCov = forms.covarianceTensor(col(h), row(h), col(tau), row(tau), col(nu), row(nu), rho);
    let full = tf.mul(atomCov, c * c);
    const D = l1 !== 0 ? forms.derivativeTensor(nu, tf.square(tau)) : undefined;
    if (D) full = tf.add(full, tf.mul(C, tf.add(tf.mul(tf.add(col(D), row(D)), c * l1 * slope), l1 * l1)));
    const pairAlive = tf.logicalAnd(col(alive), row(alive));
    const off = tf.where(pairAlive, full, tf.zerosLike(full));
    let unitVariance = tf.mul(forms.varianceTensor(h, tau, nu), c * c);
    if (D) unitVariance = tf.add(unitVariance, tf.mul(sSafe, tf.add(tf.mul(D, 2 * c * l1 * slope), l1 * l1)));
    const diagonal = tf.where(alive, unitVariance, tf.zerosLike(s));
    const eye = tf.cast(tf.eye(N), 'bool');
    return tf.where(tf.broadcastTo(tf.expandDims(eye, 0), [B, N, N]), tf.broadcastTo(col(diagonal), [B, N, N]), off) as tf.Tensor3D;
  });
}
