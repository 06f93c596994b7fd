/**
 * What emitted code computes for one activation: the exact transfer rules of a polynomial φ
 * (docs/theory.md §Polynomial activations), or the Gaussian closure of any other φ
 * (docs/theory.md §Gaussian closure) with g_k from the closed form — derivative trees emitted as
 * they stand — or from the Stein form by a quadrature rule computed here once and embedded.
 */
import { InputError } from '../../symbolic/errors.ts';
import { polynomialDegree, type ParsedExpression } from '../../symbolic/expression.ts';
import { activationOf, undefinedPoint, type Activation } from '../../symbolic/activations.ts';
import type { MathNode } from '../../symbolic/math.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER, transferRule, type TransferRule } from '../../symbolic/rule.ts';
import { polynomialActivation, type PolynomialActivation } from '../../symbolic/taylor.ts';
import { CLOSURE_TOLERANCE, LOCAL_EXPANSION, MAX_SMOOTHED_K, THIRD_SERIES, kinkPoints, localExpansionWeights, pureJump, thirdShell } from '../../numeric/general.ts';
import { float64Series, walkSeries } from '../../numeric/taylorseries.ts';
import { VARIABLE } from '../../symbolic/expression.ts';
import { gaussHermite, gaussLegendre, hermiteHe, normalPdf } from '../../numeric/gauss.ts';
import { rangeGrid } from '../../numeric/gaussian-range.ts';
import { bivariatePlan, type BivariatePlan } from './bivariate.ts';

/** Emitted rules larger than this would be source files of megabytes. */
export const MAX_EMITTED_TERMS = 20_000;
/** Output orders emitted for a general activation: the mean, the covariance and κ3. */
export const MAX_EMITTED_GAUSSIAN_ORDER = 3;
/** Quadrature: Gauss–Hermite nodes for smooth φ; Gauss–Legendre nodes per piece between kinks, on each unit's range (RangeScan). */
export const QUADRATURE_NODES = { hermite: 160, legendre: 96 } as const;
/** The normal range the piecewise rule covers at least, as corrmap's own quadrature (numeric/general.ts). */

/**
 * |φ(x) (f − c)^power He_K(x)| with f = φ(μ + √s x): one integrand whose range the piecewise rule must
 * cover; c = φ(μ) where `centred` (0 where that is not finite), He_K where `hermite`.
 */
export interface RangeIntegrand {
  readonly power: number;
  readonly centred: boolean;
  readonly hermite: boolean;
}

/**
 * Where the piecewise rule integrates, per unit at run time, as corrmap's quadrature decides it
 * (numeric/gaussian-range.ts integrandRange, RANGE_SCAN): on the scan's grid, the union of the
 * ranges of the integrands emitted code takes expectations of — the Stein form φ He_k (He_K, of the
 * highest degree, standing for all k), (φ − c)² for the variance, (φ − c)³ and φ² He_k for κ3.
 */
export interface RangeScan {
  readonly grid: Float64Array;
  /** The normal density at the grid points. */
  readonly density: Float64Array;
  /** He_K at the grid points, K = kmax. */
  readonly hermite: Float64Array;
  readonly integrands: readonly RangeIntegrand[];
}

export interface QuadratureRule {
  /** 'hermite': E[f(X)] ≈ Σ w f(x); 'legendre': per piece of [−L, L] between the kinks, with the normal density. */
  readonly kind: 'hermite' | 'legendre';
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
  /** A rule with half the nodes: the difference of the two is the stated quadrature error. */
  readonly coarse: { readonly nodes: Float64Array; readonly weights: Float64Array };
  /** Kinks of φ in z (legendre only). */
  readonly kinks: readonly number[];
  /** Each unit's range (legendre only). */
  readonly range?: RangeScan;
}

export interface PolynomialPlan {
  readonly kind: 'polynomial';
  readonly expression: ParsedExpression;
  /** φ's Taylor coefficients b_q(μ) and degree, as the rules were derived from. */
  readonly activation: PolynomialActivation;
  readonly rules: readonly TransferRule[];
  readonly order: number;
  readonly inputOrder: number;
}

export interface GaussianPlan {
  readonly kind: 'gaussian';
  readonly expression: ParsedExpression;
  readonly activation: Activation;
  readonly order: number;
  /**
   * G(mu, s), the closed form whose Taylor coefficients in mu give ĝ_0…ĝ_kmax (as corrmap computes
   * them); undefined: the Stein form by quadrature.
   */
  readonly smoothed?: MathNode;
  /** Highest k of ĝ_k: the order corrmap uses (numeric/general.ts MAX_SMOOTHED_K), 0 for the mean alone. */
  readonly kmax: number;
  /**
   * The local expansion of ĝ_k in derivatives of φ at μ (numeric/general.ts localExpansion) for units
   * whose spread the quadrature does not resolve: weights w[k][m] of the Taylor coefficients
   * c̃_{k+2m}; undefined where φ has no Taylor arithmetic (a kink) or no quadrature is used.
   */
  readonly local?: { readonly weights: readonly Float64Array[]; readonly terms: number };
  /**
   * κ3 (order 3): the shells of the three-vertex series (numeric/general.ts thirdShell), shell by
   * shell from 2 edges, each term as [coefficient, q_i, q_j, q_k, power of Σ_ij, of Σ_ik, of Σ_jk].
   */
  readonly third?: {
    readonly shells: ReadonlyArray<ReadonlyArray<readonly [number, number, number, number, number, number, number]>>;
    /**
     * A pure jump (numeric/general.ts pureJump): λ with κ(y_i, y_i, y_j) = λ C_ij − 2 m_i C_ij, C_ij
     * the exact bivariate form of the pair (`bivariate`); undefined: the Mehler series.
     */
    readonly jump?: number;
  };
  /** The rule for E[φ²] (the diagonal) and, without a closed form, for g_k. */
  readonly quadrature: QuadratureRule;
  readonly tolerance: number;
  /** The exact covariance used where the series' bound exceeds the tolerance, where φ has one. */
  readonly bivariate?: BivariatePlan;
}

export type ActivationPlan = PolynomialPlan | GaussianPlan;

/** The plan for φ at output order `order` and input order K (undefined: exact for polynomials, 2 otherwise). */
export function planActivation(expression: ParsedExpression, order: number, inputOrder?: number): ActivationPlan {
  if (expression.parameters.length)
    throw new InputError(`expression "${expression.source}": emitted code needs numbers for ${expression.parameters.join(', ')} (--param name=value)`);
  if (!Number.isInteger(order) || order < 1 || order > MAX_OUTPUT_ORDER) throw new InputError(`the output order must be 1…${MAX_OUTPUT_ORDER}, got ${order}`);
  if ('degree' in polynomialDegree(expression)) {
    const activation = polynomialActivation(expression);
    const K = inputOrder ?? Math.min(MAX_INPUT_ORDER, Math.max(1, activation.degree * order));
    if (!Number.isInteger(K) || K < 1 || K > MAX_INPUT_ORDER) throw new InputError(`the input order must be 1…${MAX_INPUT_ORDER}, got ${K}`);
    const rules = Array.from({ length: order }, (_, m) => transferRule(activation, m + 1, K));
    const terms = rules.reduce((t, r) => t + r.terms.length, 0);
    if (terms > MAX_EMITTED_TERMS)
      throw new InputError(
        `the rules of "${expression.source}" up to order ${order} at input order ${K} have ${terms} terms; emitted code is limited to ${MAX_EMITTED_TERMS} (lower --order or --input-order)`,
      );
    return { kind: 'polynomial', expression, activation, rules, order, inputOrder: K };
  }
  if (order > MAX_EMITTED_GAUSSIAN_ORDER)
    throw new InputError(
      `--order ${order}: emitted code for a non-polynomial activation gives the mean, the covariance and the third cumulant (order ≤ ${MAX_EMITTED_GAUSSIAN_ORDER}) of the Gaussian closure`,
    );
  if (inputOrder !== undefined && inputOrder !== 2)
    throw new InputError(`--input-order ${inputOrder}: emitted code for a non-polynomial activation is the Gaussian closure (K = 2); leave --input-order out or give 2`);
  const activation = activationOf(expression);
  const bad = undefinedPoint(activation);
  if (bad !== undefined)
    throw new InputError(`φ(z) = ${expression.source} is not a real number at z = ${Number(bad.toFixed(2))}: a Gaussian expectation needs φ defined on the whole real line`);
  const closed = activation.smoothed !== undefined;
  const kmax = order === 1 ? 0 : closed ? MAX_SMOOTHED_K.closedForm : MAX_SMOOTHED_K.quadrature;
  return {
    kind: 'gaussian',
    expression,
    activation,
    order,
    smoothed: closed ? activation.smoothed!.G : undefined,
    kmax,
    local: !closed && kmax > 0 && hasTaylorArithmetic(activation) ? { weights: localExpansionWeights(kmax), terms: LOCAL_EXPANSION.terms } : undefined,
    quadrature: quadratureRule(activation, order, kmax, closed),
    tolerance: CLOSURE_TOLERANCE,
    bivariate: order >= 2 ? bivariatePlan(activation, CLOSURE_TOLERANCE) : undefined,
    third: order >= 3 ? { shells: thirdShells(kmax), jump: pureJump(activation)?.square } : undefined,
  };
}

/** The shells of κ3's three-vertex series that corrmap may sum at truncation K, as plain numbers. */
function thirdShells(K: number): Array<Array<[number, number, number, number, number, number, number]>> {
  const shells = [];
  for (let total = 2; total <= Math.min(K, THIRD_SERIES.maxShell); total++)
    shells.push(
      thirdShell(total).terms.map((t) => {
        const q = [0, 0, 0];
        for (const f of t.factors) q[f.slot] = f.q;
        const power = (a: number, b: number) => t.cumulants.find((c) => c.slots[0] === a && c.slots[1] === b)?.power ?? 0;
        return [t.coefficient.toNumber(), q[0], q[1], q[2], power(0, 1), power(0, 2), power(1, 2)] as [number, number, number, number, number, number, number];
      }),
    );
  return shells;
}

/**
 * κ3's shells laid out for loops over a flat table (the C and Julia targets): the coefficients and
 * the rows (q_i, q_j, q_k, powers of Σ_ij, Σ_ik, Σ_jk) in shell order, and where each shell starts
 * (0-based, one more entry than shells: shell s covers terms starts[s] … starts[s + 1] − 1).
 */
export function thirdTable(third: NonNullable<GaussianPlan['third']>): { coefficients: number[]; rows: number[][]; starts: number[] } {
  const terms = third.shells.flat();
  const starts = third.shells.reduce((acc, s) => [...acc, acc[acc.length - 1] + s.length], [0]);
  return { coefficients: terms.map((t) => t[0]), rows: terms.map((t) => t.slice(1)), starts };
}

/** Whether corrmap's Taylor arithmetic covers φ (no kinked atom, no two-argument function): then its local expansion exists. */
function hasTaylorArithmetic(activation: Activation): boolean {
  try {
    walkSeries(activation.expression.node, (name) => (name === VARIABLE ? Float64Array.of(0.5, 1) : undefined), float64Series(1));
    return true;
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
}

/** The rule for φ at output order `order`, Stein forms to k = kmax; `closed`: g_k come from the closed form instead. */
function quadratureRule(activation: Activation, order: number, kmax: number, closed: boolean): QuadratureRule {
  const kinks = kinkPoints(activation);
  if (kinks.length === 0 && activation.smooth) {
    const n = QUADRATURE_NODES.hermite;
    const { nodes, weights } = gaussHermite(n);
    return { kind: 'hermite', nodes, weights, coarse: gaussHermite(n / 2), kinks };
  }
  const n = QUADRATURE_NODES.legendre;
  const { nodes, weights } = gaussLegendre(n);
  const integrands: RangeIntegrand[] = [];
  if (!closed) integrands.push({ power: 1, centred: false, hermite: true });
  if (order >= 2) integrands.push({ power: 2, centred: true, hermite: false });
  if (order >= 3) integrands.push({ power: 3, centred: true, hermite: false }, { power: 2, centred: false, hermite: true });
  const grid = rangeGrid();
  const range = { grid, density: grid.map((x) => normalPdf(x)), hermite: grid.map((x) => hermiteHe(kmax, x)), integrands };
  return { kind: 'legendre', nodes, weights, coarse: gaussLegendre(n / 2), kinks, range };
}

/** A name for the emitted function: letters, digits, underscores. */
export function identifier(text: string, fallback: string): string {
  const id = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z_]/.test(id) ? id : fallback;
}
