/**
 * Taylor-mode series as a target of the one tree walk (symbolic/ir/fold.ts): the operations of a
 * truncated series algebra per node kind. Float64 series (numeric/taylorseries.ts) evaluate them;
 * emitted code (src/emit/series.ts) writes them as calls of the target's series helpers, so one walk
 * decides for both which function is expanded how: the primitives below by their own recurrences,
 * Φ and erf (antiderivatives) by integrating their atom's derivative rule, F′ = f · a′, every other
 * one-argument atom by its definition.
 */
import { parse, type MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { foldTree, type TreeTarget } from '../symbolic/ir/fold.ts';

/** Functions with series arithmetic of their own (every other function comes from its atom). */
export const SERIES_PRIMITIVES = ['exp', 'log', 'sqrt', 'sin', 'cos', 'tanh'] as const;
export type SeriesPrimitive = (typeof SERIES_PRIMITIVES)[number];

/**
 * The operations of truncated series arithmetic. Float64 series evaluate them; emitted code
 * (src/emit/series.ts) writes them as calls of the target's series helpers.
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
  /** The float64 functions constant sub-trees are folded with (the values at the expansion point use the same). */
  readonly scope: Readonly<Record<string, unknown>>;
  /** A sub-tree the algebra takes whole (emitted code: one free of the expansion variable), if any. */
  leaf?(node: MathNode, bound: (name: string) => S | undefined): S | undefined;
}

/** Parsed definitions and derivative rules of the atoms (symbolic/atoms), parsed once. */
const parsedRules = new Map<string, MathNode>();
function parsedRule(text: string): MathNode {
  let node = parsedRules.get(text);
  if (!node) parsedRules.set(text, (node = parse(text)));
  return node;
}

const PRIMITIVE_NAMES: ReadonlySet<string> = new Set(SERIES_PRIMITIVES);

/** The series target of an algebra: its operations as the walk's table. */
function seriesTarget<S>(algebra: SeriesAlgebra<S>): TreeTarget<S> {
  /** a^p: small integer powers by products (exact where the base is a polynomial), others by the recurrence. */
  const powConst = (a: S, p: number): S => {
    if (Number.isInteger(p) && p >= 0 && p <= 64) {
      let out = algebra.constant(1);
      for (let k = 0; k < p; k++) out = algebra.mul(out, a);
      return out;
    }
    return algebra.powConst(a, p);
  };
  return {
    name: 'Taylor arithmetic',
    constant: (value) => algebra.constant(value),
    symbol: (name) => {
      const v = NAMED_CONSTANTS[name];
      if (v === undefined) throw new RangeError(`no value for the symbol "${name}"`);
      return algebra.constant(v);
    },
    negate: (a) => algebra.negate(a),
    operators: {
      add: (a, b) => algebra.add(a, b),
      subtract: (a, b) => algebra.subtract(a, b),
      multiply: (a, b) => algebra.mul(a, b),
      divide: (a, b) => algebra.div(a, b),
      // a^b = exp(b log a) unless b's series is a constant.
      pow: (a, b) => {
        const p = algebra.constantValue(b);
        return p === undefined ? algebra.primitive('exp', algebra.mul(b, algebra.primitive('log', a))) : powConst(a, p);
      },
    },
    powConst,
    function: (name) => (PRIMITIVE_NAMES.has(name) ? (args) => (args.length === 1 ? algebra.primitive(name as SeriesPrimitive, args[0]) : refuse(name)) : undefined),
    expand: (name, atom, [a], walk) => {
      const argument = (symbol: string) => (symbol === 'z' ? a : undefined);
      if (atom?.antiderivative && atom.derivative && algebra.hasValue(name)) return algebra.antiderivative(name, walk(parsedRule(atom.derivative), argument), a);
      if (atom?.definition && (atom.arity ?? 1) === 1) return walk(parsedRule(atom.definition), argument);
      return refuse(name);
    },
    folding: { scope: algebra.scope, nonFinite: 'keep' },
    leaf: algebra.leaf ? (node, bound) => algebra.leaf!(node, bound) : undefined,
  };
}

function refuse(name: string): never {
  throw new RangeError(`no Taylor arithmetic for the function "${name}"`);
}

/** The series of a tree whose symbols are `bound`, in any series algebra. */
export function walkSeries<S>(node: MathNode, bound: (name: string) => S | undefined, algebra: SeriesAlgebra<S>): S {
  return foldTree(node, seriesTarget(algebra), bound);
}
