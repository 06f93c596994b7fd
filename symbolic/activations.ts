/**
 * The activation library (docs/theory.md §Gaussian closure). An Activation bundles what φ does to samples (`fn`) with what
 * it does to Gaussian statistics: the Gaussian-smoothed form G(mu, s) = E[φ(mu + √s X)], X ~ N(0,1),
 * where a closed form exists, and its mu-derivatives g_k = ∂^k G/∂mu^k = E[φ^(k)(z)], z ~ N(mu, s),
 * which feed the Mehler/Price series of the covariance and of higher cumulants.
 *
 * Closed forms are assembled from atoms, because G is linear in φ: a sum of scalar multiples of
 * atoms and a polynomial has the sum of their G. An atom with an affine argument is the atom of z
 * taken at shifted statistics, G_{φ(az+c)}(mu, s) = G_φ(a mu + c, a² s); max and min reduce to ReLU,
 * max(u, v) = u + relu(v − u). Anything else has no closed form: its g_k come from the Stein form
 * g_k = s^{−k/2} E[φ(mu + √s X) He_k(X)] by quadrature.
 *
 * The atoms live in symbolic/atoms (one file each); recognition is symbolic/recognition.ts, the
 * assembly of G symbolic/smoothing.ts, the g_k symbolic/derivation.ts, tree algebra symbolic/trees.ts.
 */
import type { MathNode } from './math.ts';
import { VARIABLE, NAMED_CONSTANTS, type ParsedExpression } from './expression.ts';
import { InputError } from './errors.ts';
import { erf, erfc, normalCdf, normalPdf } from './special.ts';
import { FLOAT64_FUNCTIONS, KINKED_FUNCTIONS, type AtomName } from './atoms/index.ts';
import { MEAN, VARIANCE, dependsOn, functionName } from './trees.ts';
import { decompose, nameOf } from './recognition.ts';
import { smoothedOf } from './smoothing.ts';

export { erf, erfc, normalCdf, normalPdf };
export { MEAN, VARIANCE };
export { singleAtom, type SingleAtom, type SingleAtomKind } from './recognition.ts';
export { smoothedEvaluator, smoothedValidity } from './smoothing.ts';
export { smoothedDerivatives } from './derivation.ts';

/**
 * Float64 implementations for evaluating activation expressions and the trees G, g_k: pass them in
 * the scope of `node.compile().evaluate(scope)` (symbolic/math.ts knows only elementary functions).
 * A view of the atom registry (symbolic/atoms); conventions follow the tfjs kernels:
 * heaviside(0) = step(0) = 0, elu with α = 1, gelu(z) = z Φ(z).
 */
export const SMOOTHED_FUNCTIONS = FLOAT64_FUNCTIONS;

// ---------------------------------------------------------------------------------------------
// The API.

/** Names a parameter of a recognised activation cannot take: they are the variables and functions of G. */
const RESERVED = new Set([MEAN, VARIANCE, 'Phi', 'phi']);

export interface GaussianSmoothed {
  /** G(mu, s) = E[φ(mu + √s X)], X ~ N(0,1), as a mathjs tree in the symbols mu and s (s = variance). */
  readonly G: MathNode;
  /** Where the closed form comes from (a citation or a one-line derivation). */
  readonly source: string;
  /** Validity notes (e.g. s > 0 needed; parameter ranges). */
  readonly notes: readonly string[];
}

/** An atom's own name (symbolic/atoms), or one of the assembled forms. */
export type ActivationName = AtomName | 'leaky-relu' | 'gaussian-bump' | 'polynomial' | 'combination' | 'expression';

export interface Activation {
  /**
   * One recognised atom (any scalar multiple, any affine argument): its name ('heaviside' also for
   * step; 'gaussian-bump' for exp of a quadratic in z); a polynomial: 'polynomial'; max(z, a z):
   * 'leaky-relu'; sums of atoms and a polynomial: 'combination'; anything else: 'expression'.
   */
  readonly name: ActivationName;
  /** From parseActivation (parameter values substituted). */
  readonly expression: ParsedExpression;
  /** φ in float64, for sampling and quadrature (throws an InputError while parameters are symbolic). */
  readonly fn: (z: number) => number;
  /** The closed form where one exists; undefined: g_k come from the Stein form by quadrature. */
  readonly smoothed?: GaussianSmoothed;
  /** False for kinks and jumps (relu, abs, heaviside, sign, max, min, elu): quadrature of the Stein form is inaccurate there. */
  readonly smooth: boolean;
}


export function activationOf(expr: ParsedExpression): Activation {
  const d = decompose(expr.node);
  const name = nameOf(expr.node, d);
  if (d) {
    const clash = expr.parameters.filter((p) => RESERVED.has(p));
    if (clash.length)
      throw new InputError(
        `expression "${expr.source}": parameter '${clash[0]}' clashes with the Gaussian-smoothed form G(${MEAN}, ${VARIANCE}), which uses ${[...RESERVED].join(', ')}; rename it`,
      );
  }
  const smooth = !expr.node.filter((n) => KINKED_FUNCTIONS.has(functionName(n) ?? '') && dependsOn(n, VARIABLE)).length;
  return { name, expression: expr, fn: samplingFunction(expr), smoothed: d && smoothedOf(expr, d), smooth };
}

function samplingFunction(expr: ParsedExpression): (z: number) => number {
  if (expr.parameters.length) {
    const missing = expr.parameters.join(', ');
    return () => {
      throw new InputError(`expression "${expr.source}": give values to ${missing} to evaluate it`);
    };
  }
  const code = expr.node.compile();
  const scope: Record<string, unknown> = { ...NAMED_CONSTANTS, ...SMOOTHED_FUNCTIONS, [VARIABLE]: 0 };
  return (z: number) => {
    scope[VARIABLE] = z;
    return Number(code.evaluate(scope));
  };
}

/** The atoms whose pair covariance has an exact bivariate form (numeric/bivariate.ts). */

export function undefinedPoint(a: Activation): number | undefined {
  for (let k = 0; k <= 320; k++) {
    const z = -8 + k * 0.05;
    if (!Number.isFinite(a.fn(z))) return z;
  }
  return undefined;
}
