/**
 * Truncated Taylor series arithmetic (Taylor-mode automatic differentiation) over expression trees:
 * the coefficients c_0…c_K of f(x0 + t) in t, so f^{(k)}(x0) = k! c_k for every k ≤ K at once. Used
 * to evaluate g_k = ∂^k_μ G(μ, s) of a closed-form Gaussian-smoothed activation to high k without
 * expanding symbolic derivatives (whose size grows with k).
 */
import { parse, type MathNode } from '../symbolic/math.ts';
import { FLOAT64_FUNCTIONS, atomNamed } from '../symbolic/atoms/index.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { add, constant, cos, div, exp, integrate, log, mul, negate, powConst, sin, subtract, tanh, type Series } from './series-arithmetic.ts';

export type { Series };

/** Functions with series arithmetic of their own (every other function comes from its atom). */
export const SERIES_PRIMITIVES = ['exp', 'log', 'sqrt', 'sin', 'cos', 'tanh'] as const;
export type SeriesPrimitive = (typeof SERIES_PRIMITIVES)[number];

/**
 * The operations of truncated series arithmetic. Float64 series evaluate them; emitted code
 * (src/emit/series.ts) writes them as calls of the target's series helpers, so one tree walk decides
 * for both which function is expanded how.
 */
export interface SeriesAlgebra<S> {
  constant(value: number): S;
  /** The value of a series known to be constant, else undefined. */
  constantValue(a: S): number | undefined;
  add(a: S, b: S): S;
  subtract(a: S, b: S): S;
  negate(a: S): S;
  mul(a: S, b: S): S;
  div(a: S, b: S): S;
  powConst(a: S, p: number): S;
  primitive(name: SeriesPrimitive, a: S): S;
  /** Whether the function's float64 value at a point is available (for antiderivatives). */
  hasValue(name: string): boolean;
  /** F with F′ = derivative · a′ and F_0 = F(a_0) (Φ, erf: functions defined as integrals). */
  antiderivative(name: string, derivative: S, a: S): S;
  /** A sub-tree the algebra takes whole (emitted code: one free of the expansion variable), if any. */
  leaf?(node: MathNode, bound: (name: string) => S | undefined): S | undefined;
}

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
  };
}

/** Parsed definitions and derivative rules of the atoms (symbolic/atoms), parsed once. */
const parsedRules = new Map<string, MathNode>();
function parsedRule(text: string): MathNode {
  let node = parsedRules.get(text);
  if (!node) parsedRules.set(text, (node = parse(text)));
  return node;
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

/** The series of a tree whose symbols are `bound`, in any series algebra. */
export function walkSeries<S>(node: MathNode, bound: (name: string) => S | undefined, algebra: SeriesAlgebra<S>): S {
  const walk = (n: MathNode): S => {
    const leaf = algebra.leaf?.(n, bound);
    if (leaf !== undefined) return leaf;
    const any = n as unknown as { type: string; name?: string; value?: unknown; fn?: string | { name: string }; args?: MathNode[]; content?: MathNode };
    switch (n.type) {
      case 'ConstantNode':
        return algebra.constant(Number(any.value));
      case 'SymbolNode': {
        const name = any.name!;
        const series = bound(name);
        if (series !== undefined) return series;
        const v = NAMED_CONSTANTS[name];
        if (v === undefined) throw new RangeError(`no value for the symbol "${name}"`);
        return algebra.constant(v);
      }
      case 'ParenthesisNode':
        return walk(any.content!);
      case 'OperatorNode': {
        const args = any.args!.map(walk);
        switch (any.fn) {
          case 'add':
            return algebra.add(args[0], args[1]);
          case 'subtract':
            return algebra.subtract(args[0], args[1]);
          case 'unaryMinus':
            return algebra.negate(args[0]);
          case 'unaryPlus':
            return args[0];
          case 'multiply':
            return algebra.mul(args[0], args[1]);
          case 'divide':
            return algebra.div(args[0], args[1]);
          case 'pow': {
            const p = algebra.constantValue(args[1]);
            if (p === undefined) return algebra.primitive('exp', algebra.mul(args[1], algebra.primitive('log', args[0])));
            if (Number.isInteger(p) && p >= 0 && p <= 64) {
              let out = algebra.constant(1);
              for (let k = 0; k < p; k++) out = algebra.mul(out, args[0]);
              return out;
            }
            return algebra.powConst(args[0], p);
          }
        }
        throw new RangeError(`no Taylor arithmetic for the operator "${any.fn}"`);
      }
      case 'FunctionNode': {
        const name = (any.fn as { name: string }).name;
        const args = any.args!.map(walk);
        const a = args[0];
        if ((SERIES_PRIMITIVES as readonly string[]).includes(name) && args.length === 1) return algebra.primitive(name as SeriesPrimitive, a);
        const atom = atomNamed(name);
        const argument = (symbol: string) => (symbol === 'z' ? a : undefined);
        if (atom?.antiderivative && atom.derivative && algebra.hasValue(name))
          return algebra.antiderivative(name, walkSeries(parsedRule(atom.derivative), argument, algebra), a);
        if (atom?.definition && (atom.arity ?? 1) === 1) return walkSeries(parsedRule(atom.definition), argument, algebra);
        throw new RangeError(`no Taylor arithmetic for the function "${name}"`);
      }
    }
    throw new RangeError(`no Taylor arithmetic for "${n.toString()}"`);
  };
  return walk(node);
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
