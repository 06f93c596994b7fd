/**
 * Truncated Taylor series arithmetic (Taylor-mode automatic differentiation) over expression trees:
 * the coefficients c_0…c_K of f(x0 + t) in t, so f^{(k)}(x0) = k! c_k for every k ≤ K at once. Used
 * to evaluate g_k = ∂^k_μ G(μ, s) of a closed-form Gaussian-smoothed activation to high k without
 * expanding symbolic derivatives (whose size grows with k).
 */
import type { MathNode } from '../symbolic/math.ts';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { walkSeries, type SeriesAlgebra, type SeriesPrimitive } from './series-walk.ts';
import { add, constant, cos, div, exp, integrate, log, mul, negate, powConst, sin, subtract, tanh, variable as expansionVariable, type Series } from './series-arithmetic.ts';

export { SERIES_PRIMITIVES, walkSeries, type SeriesAlgebra, type SeriesPrimitive } from './series-walk.ts';

export type { Series };

const PRIMITIVES: Readonly<Record<SeriesPrimitive, (a: Series) => Series>> = {
  exp,
  log,
  sqrt: (a) => powConst(a, 0.5),
  sin,
  cos,
  tanh,
};

/** Float64 series of K + 1 coefficients; `scalar` gives functions' values at the expansion point. */
export function float64Series(K: number, scalar: Readonly<Record<string, (x: number) => number>> = FLOAT64_FUNCTIONS): SeriesAlgebra<Series> {
  return {
    constant: (v) => constant(v, K),
    constantValue: (a) => (a.some((v, k) => k > 0 && v !== 0) ? undefined : a[0]),
    add,
    subtract,
    negate,
    mul,
    div,
    powConst,
    primitive: (name, a) => PRIMITIVES[name](a),
    hasValue: (name) => name in scalar,
    antiderivative: (name, derivative, a) => integrate(scalar[name](a[0]), derivative, a),
    scope: scalar,
  };
}

/**
 * Evaluate the Taylor coefficients of a mathjs tree in the variable `variable` around x0, with K
 * coefficients beyond the value. `values` holds the other symbols (numbers); `scalar` evaluates the
 * float64 value of functions at a point (Φ, erf, … at the expansion point; default the registry's).
 * With `step` h the coefficients are those of f(x0 + h t) in t, c_k h^k: for h = √s they stay in
 * range where c_k alone would underflow or overflow.
 * Functions other than the primitives come from their atom (symbolic/atoms): an antiderivative (Φ,
 * erf) by integrating its derivative rule from its value, F′ = f · a′; any other by its definition.
 */
export function taylorCoefficients(
  node: MathNode,
  variable: string,
  x0: number,
  K: number,
  values: Readonly<Record<string, number>>,
  scalar: Readonly<Record<string, (x: number) => number>> = FLOAT64_FUNCTIONS,
  step = 1,
): Series {
  const start = expansionVariable(x0, step, K);
  return walkSeries(node, (name) => (name === variable ? start : name in values ? constant(values[name], K) : undefined), float64Series(K, scalar));
}

/** f^{(k)}(x0) for k = 0…K from Taylor coefficients: k! c_k. */
export function derivativesFromSeries(c: Series): Float64Array {
  const out = new Float64Array(c.length);
  let f = 1;
  for (let k = 0; k < c.length; k++) {
    if (k > 0) f *= k;
    out[k] = c[k] * f;
  }
  return out;
}
