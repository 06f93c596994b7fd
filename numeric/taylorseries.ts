/**
 * Truncated Taylor series arithmetic (Taylor-mode automatic differentiation) over expression trees:
 * the coefficients c_0…c_K of f(x0 + t) in t, so f^{(k)}(x0) = k! c_k for every k ≤ K at once. Used
 * to evaluate g_k = ∂^k_μ G(μ, s) of a closed-form Gaussian-smoothed activation to high k without
 * expanding symbolic derivatives (whose size grows with k).
 */
import type { MathNode } from '../symbolic/math.ts';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { walkSeries, type SeriesAlgebra, type SeriesPrimitive } from './series-walk.ts';

export { SERIES_PRIMITIVES, walkSeries, type SeriesAlgebra, type SeriesPrimitive } from './series-walk.ts';

export type Series = Float64Array;

function constant(v: number, K: number): Series {
  const out = new Float64Array(K + 1);
  out[0] = v;
  return out;
}

export function mul(a: Series, b: Series): Series {
  const K = a.length - 1;
  const out = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    let s = 0;
    for (let j = 0; j <= k; j++) s += a[j] * b[k - j];
    out[k] = s;
  }
  return out;
}

/** Coefficients that recur on themselves: out_0 given, out_k = (c_k + Σ_{j=1..k} w_j out_{k−j}) / d_k. */
function recurrence(K: number, first: number, c: (k: number) => number, w: (j: number, k: number) => number, d: (k: number) => number): Series {
  const out = new Float64Array(K + 1);
  out[0] = first;
  for (let k = 1; k <= K; k++) {
    let s = c(k);
    for (let j = 1; j <= k; j++) s += w(j, k) * out[k - j];
    out[k] = s / d(k);
  }
  return out;
}

/** a / b: b q = a, i.e. b_0 q_k = a_k − Σ_{j=1..k} b_j q_{k−j}. */
export function div(a: Series, b: Series): Series {
  return recurrence(a.length - 1, a[0] / b[0], (k) => a[k], (j) => -b[j], () => b[0]);
}

/** exp(a): e' = a' e, i.e. k e_k = Σ_{j=1..k} j a_j e_{k−j}. */
export function exp(a: Series): Series {
  return recurrence(a.length - 1, Math.exp(a[0]), () => 0, (j) => j * a[j], (k) => k);
}

/** log(a): a l' = a', i.e. k l_k a_0 = k a_k − Σ_{j=1..k−1} j l_j a_{k−j}. */
export function log(a: Series): Series {
  const K = a.length - 1;
  const out = new Float64Array(K + 1);
  out[0] = Math.log(a[0]);
  for (let k = 1; k <= K; k++) {
    let s = k * a[k];
    for (let j = 1; j < k; j++) s -= j * out[j] * a[k - j];
    out[k] = s / (k * a[0]);
  }
  return out;
}

/** a^p for a constant p: a q' = p a' q. */
export function powConst(a: Series, p: number): Series {
  const K = a.length - 1;
  const out = new Float64Array(K + 1);
  out[0] = a[0] ** p;
  for (let k = 1; k <= K; k++) {
    let s = 0;
    for (let j = 1; j <= k; j++) s += (p * j - (k - j)) * a[j] * out[k - j];
    out[k] = s / (k * a[0]);
  }
  return out;
}

/** sin and cos together: s' = a' c, c' = −a' s. */
export function sinCos(a: Series): [Series, Series] {
  const K = a.length - 1;
  const s = new Float64Array(K + 1);
  const c = new Float64Array(K + 1);
  s[0] = Math.sin(a[0]);
  c[0] = Math.cos(a[0]);
  for (let k = 1; k <= K; k++) {
    let ss = 0;
    let cc = 0;
    for (let j = 1; j <= k; j++) {
      ss += j * a[j] * c[k - j];
      cc -= j * a[j] * s[k - j];
    }
    s[k] = ss / k;
    c[k] = cc / k;
  }
  return [s, c];
}

/** Integrate: F' = f · a' with F_0 given (for functions defined by their derivative, e.g. Φ, erf). */
function integrate(value0: number, derivative: Series, a: Series): Series {
  const K = a.length - 1;
  const out = new Float64Array(K + 1);
  out[0] = value0;
  for (let k = 1; k <= K; k++) {
    let s = 0;
    for (let j = 1; j <= k; j++) s += j * a[j] * derivative[k - j];
    out[k] = s / k;
  }
  return out;
}

/** tanh(a) = (1 − e^{−2a})/(1 + e^{−2a}) for a ≥ 0 (odd otherwise): no overflow for large |a|. */
function tanh(a: Series): Series {
  if (a[0] < 0) return tanh(a.map((v) => -v)).map((v) => -v);
  const e = exp(a.map((v) => -2 * v));
  return div(e.map((v, k) => (k === 0 ? 1 : 0) - v), e.map((v, k) => (k === 0 ? 1 : 0) + v));
}

const PRIMITIVES: Readonly<Record<SeriesPrimitive, (a: Series) => Series>> = {
  exp,
  log,
  sqrt: (a) => powConst(a, 0.5),
  sin: (a) => sinCos(a)[0],
  cos: (a) => sinCos(a)[1],
  tanh,
};

/** Float64 series of K + 1 coefficients; `scalar` gives functions' values at the expansion point. */
export function float64Series(K: number, scalar: Readonly<Record<string, (x: number) => number>> = FLOAT64_FUNCTIONS): SeriesAlgebra<Series> {
  return {
    constant: (v) => constant(v, K),
    constantValue: (a) => (a.some((v, k) => k > 0 && v !== 0) ? undefined : a[0]),
    add: (a, b) => a.map((v, k) => v + b[k]),
    subtract: (a, b) => a.map((v, k) => v - b[k]),
    negate: (a) => a.map((v) => -v),
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
  const start = constant(x0, K);
  if (K >= 1) start[1] = step;
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
