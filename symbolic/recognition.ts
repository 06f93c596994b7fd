/**
 * Recognition of an activation as φ = polynomial + Σ c_t · atom_t, atoms of an affine argument (or
 * exp of a quadratic), from the registry (symbolic/atoms); max and min enter through relu.
 */
import { parse, type MathNode } from './math.ts';
import { NAMED_CONSTANTS, VARIABLE } from './expression.ts';
import { FLOAT64_FUNCTIONS, atomNamed, smoothedAtom, type AtomName, type BivariateAtomName } from './atoms/index.ts';
import type { Activation, ActivationName } from './activations.ts';
import {
  asNode, call, cAdd, cDiv, cMul, cNeg, coefficientOf, coefficientOrNode, compact, dependsOn, functionName, isPolynomialInZ, numberNode,
  linearMap, polynomialInZ, stripParentheses, template, view, type Coefficient, type LinearMap,
} from './trees.ts';

// ---------------------------------------------------------------------------------------------
// Recognition: φ = polynomial + Σ c_t · atom_t.

/** The name of an atom with a closed-form G of an affine argument (symbolic/atoms), exp aside. */
export type ArgumentKind = Exclude<AtomName, 'exp'>;
/** Atoms whose kinks sit at 0 and that are positively homogeneous (degree 1 or 0), so a numeric slope can be pulled out. */
export const homogeneous = (kind: ArgumentKind) => atomNamed(kind)?.homogeneity !== undefined;
/** Atoms with a kink or a jump: G divides by the spread of the argument. */
export const kinked = (kind: ArgumentKind) => !!atomNamed(kind)?.kinks?.length;

/** kind(slope · z + offset). */
export interface ArgumentAtom {
  readonly kind: ArgumentKind;
  readonly slope: Coefficient;
  readonly offset: Coefficient;
  readonly text: string;
}
/** exp(alpha z² + beta z + gamma). */
export interface ExponentialAtom {
  readonly kind: 'exp';
  readonly alpha: Coefficient;
  readonly beta: Coefficient;
  readonly gamma: Coefficient;
  readonly text: string;
}
export type Atom = ArgumentAtom | ExponentialAtom;

export interface Decomposition {
  /** Terms that are polynomials in z (constants included), coefficients applied. */
  readonly polynomial: readonly MathNode[];
  readonly terms: ReadonlyArray<{ readonly coefficient: Coefficient; readonly atom: Atom }>;
  /** Whether max or min was rewritten through relu. */
  readonly usesMax: boolean;
}

export function scaled(d: Decomposition | undefined, c: Coefficient): Decomposition | undefined {
  if (!d) return undefined;
  return {
    polynomial: d.polynomial.map((p) => asNode(cMul(c, coefficientOrNode(p)))),
    terms: d.terms.map((t) => ({ coefficient: cMul(c, t.coefficient), atom: t.atom })),
    usesMax: d.usesMax,
  };
}

export function divided(d: Decomposition | undefined, c: Coefficient): Decomposition | undefined {
  if (!d) return undefined;
  return {
    polynomial: d.polynomial.map((p) => asNode(cDiv(coefficientOrNode(p), c))),
    terms: d.terms.map((t) => ({ coefficient: cDiv(t.coefficient, c), atom: t.atom })),
    usesMax: d.usesMax,
  };
}


export function summed(parts: ReadonlyArray<Decomposition | undefined>): Decomposition | undefined {
  if (parts.some((p) => !p)) return undefined;
  const ds = parts as Decomposition[];
  return {
    polynomial: ds.flatMap((d) => d.polynomial),
    terms: ds.flatMap((d) => d.terms),
    usesMax: ds.some((d) => d.usesMax),
  };
}

export const polynomialPart = (node: MathNode): Decomposition => ({ polynomial: [node], terms: [], usesMax: false });

/** An atom whose argument is constant (a zero slope after parameter substitution) is a constant term. */
export function constantAtom(name: string, arg: Coefficient): Decomposition {
  if (typeof arg === 'number') {
    const f = FLOAT64_FUNCTIONS[name] ?? (Math as unknown as Record<string, (x: number) => number>)[name];
    return polynomialPart(numberNode(f(arg)));
  }
  return polynomialPart(call(name, [arg]));
}

export function argumentAtom(name: string, kind: ArgumentKind, argument: MathNode, text: string): Decomposition | undefined {
  const p = polynomialInZ(argument, 1);
  if (!p) return undefined;
  let slope = p[1] ?? 0;
  let offset = p[0] ?? 0;
  if (slope === 0) return constantAtom(name, offset);
  let factor: Coefficient = 1;
  if (typeof slope === 'number' && homogeneous(kind)) {
    // relu and abs are homogeneous of degree 1, heaviside and sign of degree 0: pull |slope| out.
    if (atomNamed(kind)!.homogeneity === 1) factor = Math.abs(slope);
    offset = cDiv(offset, Math.abs(slope));
    slope = Math.sign(slope);
  }
  return { polynomial: [], terms: [{ coefficient: factor, atom: { kind, slope, offset, text } }], usesMax: false };
}

export function exponentialAtom(exponent: MathNode, text: string): Decomposition | undefined {
  const p = polynomialInZ(exponent, 2);
  if (!p) return undefined;
  const [gamma, beta = 0, alpha = 0] = p;
  if (alpha === 0 && beta === 0) return polynomialPart(call('exp', [asNode(gamma)]));
  return { polynomial: [], terms: [{ coefficient: 1, atom: { kind: 'exp', alpha, beta, gamma, text } }], usesMax: false };
}

/** max(u, v) = u + relu(v − u) = v + relu(u − v); min(u, v) = u − relu(u − v) = v − relu(v − u). */
export function extremumAtom(isMax: boolean, u: MathNode, v: MathNode): Decomposition | undefined {
  const du = decompose(u);
  const dv = decompose(v);
  const difference = polynomialInZ(template('B - A', { A: u, B: v }), 1);
  if (!du || !dv || !difference) return undefined;
  const slope = difference[1] ?? 0;
  const offset = difference[0] ?? 0;
  // Choose the form whose relu has a positive slope where the slope is a number (a plain ReLU of z).
  const flip = typeof slope === 'number' && (isMax ? slope < 0 : slope > 0);
  const base = flip ? dv : du;
  const argument = asNode(cAdd(cMul(isMax !== flip ? slope : cNeg(slope), parse(VARIABLE)), isMax !== flip ? offset : cNeg(offset)));
  const relu = argumentAtom('relu', 'relu', argument, `relu(${compact(argument)})`);
  const rest = isMax ? relu : scaled(relu, -1);
  const d = summed([base, rest]);
  return d && { ...d, usesMax: true };
}

export function decompose(node: MathNode): Decomposition | undefined {
  return isPolynomialInZ(node) ? polynomialPart(node) : linearMap(node, RECOGNITION);
}

/** φ = polynomial + Σ c_t · atom_t is linear in the atoms: recognition walks φ as a linear map. */
const RECOGNITION: LinearMap<Decomposition | undefined> = {
  of: decompose,
  negate: (d) => scaled(d, -1),
  sum: summed,
  carries: (n) => dependsOn(n, VARIABLE),
  scale: (d, factors) => scaled(d, factors.reduce<Coefficient>((c, a) => cMul(c, coefficientOf(a)), 1)),
  divide: (d, denominator) => divided(d, coefficientOf(denominator)),
  nonLinear: () => undefined,
  other: atomOf,
};

/** A node that is one atom (or exp of a polynomial, or max/min through relu), or undefined. */
function atomOf(node: MathNode): Decomposition | undefined {
  const v = view(node);
  if (v.type === 'OperatorNode' && v.fn === 'pow') {
    const base = stripParentheses(v.args![0]);
    if (base.type === 'SymbolNode' && view(base).name === 'e') return exponentialAtom(v.args![1], compact(node));
    return undefined;
  }
  if (v.type !== 'FunctionNode') return undefined;
  const name = functionName(node)!;
  const args = v.args!;
  if (name === 'exp' && args.length === 1) return exponentialAtom(args[0], compact(node));
  const atom = smoothedAtom(name);
  if (atom && args.length === 1) return argumentAtom(name, atom.name as ArgumentKind, args[0], compact(node));
  if ((name === 'max' || name === 'min') && args.length === 2) return extremumAtom(name === 'max', args[0], args[1]);
  return undefined;
}

export function nameOf(node: MathNode, d: Decomposition | undefined): ActivationName {
  if (!d) return 'expression';
  const top = stripParentheses(node);
  if (functionName(top) === 'max' && view(top).args!.length === 2) {
    // max(z, a z) or max(a z, z): ReLU for a = 0, leaky ReLU for 0 < a < 1 or a symbolic.
    const [p, q] = view(top).args!.map((a) => polynomialInZ(a, 1));
    if (p && q && p.length <= 2 && q.length <= 2 && (p[0] ?? 0) === 0 && (q[0] ?? 0) === 0) {
      const [a, b] = [p[1] ?? 0, q[1] ?? 0];
      const other = a === 1 ? b : b === 1 ? a : undefined;
      if (other === 0) return 'relu';
      if (other !== undefined && (typeof other !== 'number' || (other > 0 && other < 1))) return 'leaky-relu';
    }
  }
  if (d.terms.length === 0) return 'polynomial';
  const polynomialIsZero = d.polynomial.every((p) => !dependsOn(p, VARIABLE) && coefficientOf(p) === 0);
  if (d.terms.length === 1 && polynomialIsZero) {
    const atom = d.terms[0].atom;
    if (atom.kind !== 'exp') return atom.kind;
    return atom.alpha === 0 ? 'exp' : 'gaussian-bump';
  }
  return 'combination';
}


export type SingleAtomKind = BivariateAtomName;

/** φ(z) = coefficient · kind(slope · z + offset) + linear[0] + linear[1] · z. */
export interface SingleAtom {
  readonly kind: SingleAtomKind;
  readonly coefficient: number;
  readonly slope: number;
  readonly offset: number;
  readonly linear: [number, number];
}

/** A coefficient free of z and of parameters as a float (named constants and functions evaluated), or undefined. */
export function numericValue(c: Coefficient): number | undefined {
  if (typeof c === 'number') return c;
  if (dependsOn(c, VARIABLE)) return undefined;
  let v: unknown;
  try {
    v = c.compile().evaluate({ ...NAMED_CONSTANTS, ...FLOAT64_FUNCTIONS });
  } catch {
    return undefined;
  }
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * φ as one atom of an affine argument plus an affine part, φ(z) = c · kind(p z + q) + a + b z, with
 * kind one of relu, heaviside (step), sign, abs, erf and every number known; undefined otherwise
 * (symbolic parameters, two different atoms, other functions, a polynomial part of degree ≥ 2, no
 * atom at all). max and min enter through max(u, v) = u + relu(v − u), so leaky ReLU
 * max(z, a z) = a z + (1 − a) relu(z); terms with the same atom are added. For a plain-number p,
 * relu and abs carry |p| in c and heaviside and sign drop it (homogeneity), leaving p = ±1.
 */
export function singleAtom(a: Activation): SingleAtom | undefined {
  if (a.expression.parameters.length) return undefined;
  const d = decompose(a.expression.node);
  if (!d) return undefined;
  const linear: [number, number] = [0, 0];
  for (const p of d.polynomial) {
    const c = polynomialInZ(p, 1);
    if (!c) return undefined;
    const [c0, c1] = [numericValue(c[0] ?? 0), numericValue(c[1] ?? 0)];
    if (c0 === undefined || c1 === undefined) return undefined;
    linear[0] += c0;
    linear[1] += c1;
  }
  let atom: { kind: SingleAtomKind; coefficient: number; slope: number; offset: number } | undefined;
  for (const { coefficient, atom: t } of d.terms) {
    if (t.kind === 'exp' || !atomNamed(t.kind)?.bivariate) return undefined;
    const [c, slope, offset] = [numericValue(coefficient), numericValue(t.slope), numericValue(t.offset)];
    if (c === undefined || slope === undefined || offset === undefined) return undefined;
    if (!atom) atom = { kind: t.kind as SingleAtomKind, coefficient: c, slope, offset };
    else if (atom.kind === t.kind && atom.slope === slope && atom.offset === offset) atom.coefficient += c;
    else return undefined;
  }
  if (!atom || atom.coefficient === 0 || atom.slope === 0) return undefined;
  return { ...atom, linear };
}

/** A float64 evaluator of a tree in mu and s (G or g_k), with values for the parameters left symbolic. */
