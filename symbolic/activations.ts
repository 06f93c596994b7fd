/**
 * The activation library (DESIGN §5). An Activation bundles what φ does to samples (`fn`) with what
 * it does to Gaussian statistics: the Gaussian-smoothed form G(mu, s) = E[φ(mu + √s X)], X ~ N(0,1),
 * where a closed form exists, and its mu-derivatives g_k = ∂^k G/∂mu^k = E[φ^(k)(z)], z ~ N(mu, s),
 * which feed the Mehler/Price series of the covariance and of higher cumulants.
 *
 * Closed forms are assembled from atoms, because G is linear in φ: a sum of scalar multiples of
 * atoms and a polynomial has the sum of their G. An atom with an affine argument is the atom of z
 * taken at shifted statistics, G_{φ(az+c)}(mu, s) = G_φ(a mu + c, a² s); max and min reduce to ReLU,
 * max(u, v) = u + relu(v − u). Anything else has no closed form: its g_k come from the Stein form
 * g_k = s^{−k/2} E[φ(mu + √s X) He_k(X)] by quadrature.
 */
import nerdamer from 'nerdamer-prime';
import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { NAMED_CONSTANTS, VARIABLE, treeDegree, type ParsedExpression } from './expression.ts';
import { polynomialActivation } from './taylor.ts';
import { erf, erfc, normalCdf, normalPdf } from './special.ts';
import { ATOMS, FLOAT64_FUNCTIONS, KINKED_FUNCTIONS, atomNamed, gaussianBump, smoothedAtom, type AtomName, type AtomSpec } from './atoms/index.ts';

export { erf, erfc, normalCdf, normalPdf };

/**
 * Float64 implementations for evaluating activation expressions and the trees G, g_k: pass them in
 * the scope of `node.compile().evaluate(scope)` (symbolic/math.ts knows only elementary functions).
 * A view of the atom registry (symbolic/atoms); conventions follow the tfjs kernels:
 * heaviside(0) = step(0) = 0, elu with α = 1, gelu(z) = z Φ(z).
 */
export const SMOOTHED_FUNCTIONS = FLOAT64_FUNCTIONS;

// ---------------------------------------------------------------------------------------------
// The API.

/** The symbols of G and g_k: the mean and the variance of the pre-activation. */
export const MEAN = 'mu';
export const VARIANCE = 's';
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

// ---------------------------------------------------------------------------------------------
// Trees.

interface AnyNode {
  type: string;
  name?: string;
  value?: unknown;
  op?: string;
  fn?: string | AnyNode;
  args?: MathNode[];
  content?: MathNode;
}
const view = (n: MathNode) => n as unknown as AnyNode;

function functionName(n: MathNode): string | undefined {
  const v = view(n);
  return v.type === 'FunctionNode' && typeof v.fn === 'object' && v.fn.type === 'SymbolNode' ? v.fn.name : undefined;
}

function dependsOn(node: MathNode, symbol: string): boolean {
  return node.filter((n) => n.type === 'SymbolNode' && view(n).name === symbol).length > 0;
}

function stripParentheses(node: MathNode): MathNode {
  while (node.type === 'ParenthesisNode') node = view(node).content!;
  return node;
}

/** A tree from a template whose upper-case symbols are replaced by the given trees. */
function template(text: string, bindings: Readonly<Record<string, MathNode>>): MathNode {
  return parse(text).transform((n) => (n.type === 'SymbolNode' && view(n).name! in bindings ? bindings[view(n).name!] : n));
}

function call(name: string, args: readonly MathNode[]): MathNode {
  const bindings: Record<string, MathNode> = {};
  args.forEach((a, i) => (bindings[`A${i}`] = a));
  return template(`${name}(${args.map((_, i) => `A${i}`).join(', ')})`, bindings);
}

function compact(node: MathNode): string {
  return node.toString().replace(/\s+/g, '');
}

/** A coefficient free of z (or of mu): a float when it is a plain number, a tree otherwise. */
type Coefficient = number | MathNode;

function numberNode(x: number): MathNode {
  if (!Number.isFinite(x)) throw new Error(`internal: non-finite coefficient ${x}`);
  return x < 0 ? template('-A', { A: parse(String(-x)) }) : parse(String(x));
}

function asNode(c: Coefficient): MathNode {
  return typeof c === 'number' ? numberNode(c) : c;
}

/** Fold a tree made of numbers and arithmetic only into a float; keep anything with symbols or functions. */
function coefficientOf(node: MathNode): Coefficient {
  const symbolic = node.filter((n) => n.type === 'SymbolNode' || n.type === 'FunctionNode').length > 0;
  if (symbolic) return stripParentheses(node);
  const v = node.compile().evaluate({});
  if (typeof v !== 'number') throw new Error(`internal: "${node.toString()}" is not a number`);
  if (!Number.isFinite(v)) throw new InputError(`"${node.toString()}" evaluates to ${v}`);
  return v;
}

/** −x, or a product or quotient whose first factor is one (−2 * s, −x / y): printed with a leading minus. */
function isNegation(c: Coefficient): c is MathNode {
  if (typeof c === 'number') return false;
  const v = view(c);
  if (v.type !== 'OperatorNode') return false;
  if (v.fn === 'unaryMinus') return true;
  return (v.fn === 'multiply' || v.fn === 'divide') && v.args!.length === 2 && isNegation(v.args![0]);
}

/** The positive form of a negation. */
function negated(c: MathNode): MathNode {
  const v = view(c);
  if (v.fn === 'unaryMinus') return v.args![0];
  const first = negated(v.args![0]);
  const firstView = view(first);
  if (v.fn === 'multiply' && firstView.type === 'ConstantNode' && firstView.value === 1) return v.args![1];
  return template(v.fn === 'multiply' ? 'A * B' : 'A / B', { A: first, B: v.args![1] });
}

function cNeg(a: Coefficient): Coefficient {
  if (typeof a === 'number') return -a;
  if (isNegation(a)) return negated(a);
  const v = view(a);
  // −(x * y) reads −x * y.
  if (v.type === 'OperatorNode' && (v.fn === 'multiply' || v.fn === 'divide') && v.args!.length === 2)
    return template(v.fn === 'multiply' ? 'A * B' : 'A / B', { A: asNode(cNeg(v.args![0])), B: v.args![1] });
  return template('-A', { A: a });
}

function cAdd(a: Coefficient, b: Coefficient): Coefficient {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  if (typeof b === 'number' && b < 0) return template('A - B', { A: asNode(a), B: numberNode(-b) });
  if (isNegation(b)) return template('A - B', { A: asNode(a), B: negated(b) });
  return template('A + B', { A: asNode(a), B: asNode(b) });
}

function cMul(a: Coefficient, b: Coefficient): Coefficient {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (typeof b === 'number') [a, b] = [b, a];
  if (a === 0) return 0;
  if (a === 1) return b;
  if (a === -1) return cNeg(b);
  if (typeof a === 'number' && isNegation(b)) return cMul(-a, negated(b));
  if (isNegation(b)) return cMul(cNeg(a), negated(b));
  const bv = view(asNode(b));
  const lead = bv.fn === 'multiply' && bv.args!.length === 2 ? view(bv.args![0]) : undefined;
  if (typeof a === 'number' && lead?.type === 'ConstantNode' && typeof lead.value === 'number') return cMul(a * lead.value, bv.args![1]);
  return template('A * B', { A: asNode(a), B: asNode(b) });
}

function cDiv(a: Coefficient, b: Coefficient): Coefficient {
  if (typeof b === 'number') {
    if (b === 0) throw new InputError(`division by zero in "${asNode(a).toString()} / 0"`);
    return cMul(1 / b, a);
  }
  if (a === 0) return 0;
  return template('A / B', { A: asNode(a), B: b });
}

function cAbs(a: Coefficient): Coefficient {
  return typeof a === 'number' ? Math.abs(a) : call('abs', [isNegation(a) ? negated(a) : a]);
}

function cSquare(a: Coefficient): Coefficient {
  if (typeof a === 'number') return a * a;
  return template('A ^ 2', { A: isNegation(a) ? negated(a) : a });
}

/**
 * Coefficients of a polynomial in z of degree ≤ maxDegree (index = power), or undefined when the
 * tree is not one. The bound keeps symbolic expansions small; it is used for arguments of atoms.
 */
function polynomialInZ(node: MathNode, maxDegree: number): Coefficient[] | undefined {
  const trim = (p: Coefficient[]) => {
    while (p.length > 1 && p[p.length - 1] === 0) p.pop();
    return p;
  };
  const add = (p: Coefficient[], q: Coefficient[]) =>
    trim(Array.from({ length: Math.max(p.length, q.length) }, (_, k) => cAdd(p[k] ?? 0, q[k] ?? 0)));
  const mul = (p: Coefficient[], q: Coefficient[]): Coefficient[] | undefined => {
    if (p.length + q.length - 2 > maxDegree) return undefined;
    const out: Coefficient[] = new Array(p.length + q.length - 1).fill(0);
    p.forEach((a, i) => q.forEach((b, j) => (out[i + j] = cAdd(out[i + j], cMul(a, b)))));
    return trim(out);
  };
  const rec = (n: MathNode): Coefficient[] | undefined => {
    if (!dependsOn(n, VARIABLE)) return [coefficientOf(n)];
    const v = view(n);
    switch (v.type) {
      case 'SymbolNode':
        return maxDegree >= 1 ? [0, 1] : undefined;
      case 'ParenthesisNode':
        return rec(v.content!);
      case 'OperatorNode': {
        const args = v.args!;
        switch (v.fn) {
          case 'unaryPlus':
            return rec(args[0]);
          case 'unaryMinus': {
            const p = rec(args[0]);
            return p && p.map(cNeg);
          }
          case 'add':
          case 'subtract': {
            let acc: Coefficient[] | undefined = [0];
            args.forEach((a, i) => {
              const p = acc && rec(a);
              acc = p && add(acc!, v.fn === 'subtract' && i > 0 ? p.map(cNeg) : p);
            });
            return acc;
          }
          case 'multiply': {
            let acc: Coefficient[] | undefined = [1];
            for (const a of args) {
              const p = rec(a);
              acc = p && mul(acc, p);
              if (!acc) return undefined;
            }
            return acc;
          }
          case 'divide': {
            if (dependsOn(args[1], VARIABLE)) return undefined;
            const den = coefficientOf(args[1]);
            const p = rec(args[0]);
            return p && p.map((c) => cDiv(c, den));
          }
          case 'pow': {
            if (dependsOn(args[1], VARIABLE)) return undefined;
            const e = exponentOf(args[1]);
            if (e === undefined) return undefined;
            const base = rec(args[0]);
            let acc: Coefficient[] | undefined = [1];
            for (let k = 0; k < e && acc; k++) acc = base && mul(acc, base);
            return acc;
          }
        }
        return undefined;
      }
    }
    return undefined;
  };
  return rec(node);
}

/** A whole-number exponent 0…64 (the range polynomial rules accept), or undefined. */
function exponentOf(node: MathNode): number | undefined {
  if (node.filter((n) => n.type === 'FunctionNode').length > 0) return undefined;
  if (node.filter((n) => n.type === 'SymbolNode' && !(view(n).name! in NAMED_CONSTANTS)).length > 0) return undefined;
  const e = node.compile().evaluate({ ...NAMED_CONSTANTS });
  return typeof e === 'number' && Number.isInteger(e) && e >= 0 && e <= 64 ? e : undefined;
}

/** Whether the tree is a polynomial in z (degree ≤ 64 after expansion), without expanding it. */
function isPolynomialInZ(node: MathNode): boolean {
  const shape = treeDegree(node);
  return 'degree' in shape && shape.degree <= 64;
}

// ---------------------------------------------------------------------------------------------
// Recognition: φ = polynomial + Σ c_t · atom_t.

/** The name of an atom with a closed-form G of an affine argument (symbolic/atoms), exp aside. */
type ArgumentKind = Exclude<AtomName, 'exp'>;
/** Atoms whose kinks sit at 0 and that are positively homogeneous (degree 1 or 0), so a numeric slope can be pulled out. */
const homogeneous = (kind: ArgumentKind) => atomNamed(kind)?.homogeneity !== undefined;
/** Atoms with a kink or a jump: G divides by the spread of the argument. */
const kinked = (kind: ArgumentKind) => !!atomNamed(kind)?.kinks?.length;

/** kind(slope · z + offset). */
interface ArgumentAtom {
  readonly kind: ArgumentKind;
  readonly slope: Coefficient;
  readonly offset: Coefficient;
  readonly text: string;
}
/** exp(alpha z² + beta z + gamma). */
interface ExponentialAtom {
  readonly kind: 'exp';
  readonly alpha: Coefficient;
  readonly beta: Coefficient;
  readonly gamma: Coefficient;
  readonly text: string;
}
type Atom = ArgumentAtom | ExponentialAtom;

interface Decomposition {
  /** Terms that are polynomials in z (constants included), coefficients applied. */
  readonly polynomial: readonly MathNode[];
  readonly terms: ReadonlyArray<{ readonly coefficient: Coefficient; readonly atom: Atom }>;
  /** Whether max or min was rewritten through relu. */
  readonly usesMax: boolean;
}

function scaled(d: Decomposition | undefined, c: Coefficient): Decomposition | undefined {
  if (!d) return undefined;
  return {
    polynomial: d.polynomial.map((p) => asNode(cMul(c, coefficientOrNode(p)))),
    terms: d.terms.map((t) => ({ coefficient: cMul(c, t.coefficient), atom: t.atom })),
    usesMax: d.usesMax,
  };
}

function divided(d: Decomposition | undefined, c: Coefficient): Decomposition | undefined {
  if (!d) return undefined;
  return {
    polynomial: d.polynomial.map((p) => asNode(cDiv(coefficientOrNode(p), c))),
    terms: d.terms.map((t) => ({ coefficient: cDiv(t.coefficient, c), atom: t.atom })),
    usesMax: d.usesMax,
  };
}

function coefficientOrNode(node: MathNode): Coefficient {
  return dependsOn(node, VARIABLE) ? node : coefficientOf(node);
}

function summed(parts: ReadonlyArray<Decomposition | undefined>): Decomposition | undefined {
  if (parts.some((p) => !p)) return undefined;
  const ds = parts as Decomposition[];
  return {
    polynomial: ds.flatMap((d) => d.polynomial),
    terms: ds.flatMap((d) => d.terms),
    usesMax: ds.some((d) => d.usesMax),
  };
}

const polynomialPart = (node: MathNode): Decomposition => ({ polynomial: [node], terms: [], usesMax: false });

/** An atom whose argument is constant (a zero slope after parameter substitution) is a constant term. */
function constantAtom(name: string, arg: Coefficient): Decomposition {
  if (typeof arg === 'number') {
    const f = SMOOTHED_FUNCTIONS[name] ?? (Math as unknown as Record<string, (x: number) => number>)[name];
    return polynomialPart(numberNode(f(arg)));
  }
  return polynomialPart(call(name, [arg]));
}

function argumentAtom(name: string, kind: ArgumentKind, argument: MathNode, text: string): Decomposition | undefined {
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

function exponentialAtom(exponent: MathNode, text: string): Decomposition | undefined {
  const p = polynomialInZ(exponent, 2);
  if (!p) return undefined;
  const [gamma, beta = 0, alpha = 0] = p;
  if (alpha === 0 && beta === 0) return polynomialPart(call('exp', [asNode(gamma)]));
  return { polynomial: [], terms: [{ coefficient: 1, atom: { kind: 'exp', alpha, beta, gamma, text } }], usesMax: false };
}

/** max(u, v) = u + relu(v − u) = v + relu(u − v); min(u, v) = u − relu(u − v) = v − relu(v − u). */
function extremumAtom(isMax: boolean, u: MathNode, v: MathNode): Decomposition | undefined {
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

function decompose(node: MathNode): Decomposition | undefined {
  if (isPolynomialInZ(node)) return polynomialPart(node);
  const v = view(node);
  switch (v.type) {
    case 'ParenthesisNode':
      return decompose(v.content!);
    case 'OperatorNode': {
      const args = v.args!;
      switch (v.fn) {
        case 'unaryPlus':
          return decompose(args[0]);
        case 'unaryMinus':
          return scaled(decompose(args[0]), -1);
        case 'add':
          return summed(args.map(decompose));
        case 'subtract':
          return summed([decompose(args[0]), scaled(decompose(args[1]), -1)]);
        case 'multiply': {
          const dependent = args.filter((a) => dependsOn(a, VARIABLE));
          if (dependent.length !== 1) return undefined;
          const factor = args.filter((a) => !dependsOn(a, VARIABLE)).reduce<Coefficient>((c, a) => cMul(c, coefficientOf(a)), 1);
          return scaled(decompose(dependent[0]), factor);
        }
        case 'divide':
          if (dependsOn(args[1], VARIABLE)) return undefined;
          return divided(decompose(args[0]), coefficientOf(args[1]));
        case 'pow': {
          const base = stripParentheses(args[0]);
          if (base.type === 'SymbolNode' && view(base).name === 'e') return exponentialAtom(args[1], compact(node));
          return undefined;
        }
      }
      return undefined;
    }
    case 'FunctionNode': {
      const name = functionName(node)!;
      const args = v.args!;
      if (name === 'exp' && args.length === 1) return exponentialAtom(args[0], compact(node));
      const atom = smoothedAtom(name);
      if (atom && args.length === 1) return argumentAtom(name, atom.name as ArgumentKind, args[0], compact(node));
      if ((name === 'max' || name === 'min') && args.length === 2) return extremumAtom(name === 'max', args[0], args[1]);
      return undefined;
    }
  }
  return undefined;
}

function nameOf(node: MathNode, d: Decomposition | undefined): ActivationName {
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

// ---------------------------------------------------------------------------------------------
// Closed forms.

const MU = () => parse(MEAN);
const S = () => parse(VARIANCE);

/** Sources of the assembly rules; each atom's own G carries its source (symbolic/atoms). */
const SOURCES = {
  polynomial:
    'Gaussian moments: φ(mu + δ) = Σ_q b_q(mu) δ^q with b_q = φ^(q)(mu)/q! (docs/theory.md §Polynomial activations) and E[(√s X)^q] = (q − 1)!! s^(q/2) for even q, 0 for odd q',
  affine: 'affine argument: E[φ(a z + c)] = G_φ(a mu + c, a² s)',
  max: 'max(u, v) = u + relu(v − u), min(u, v) = u − relu(u − v)',
} as const;

/**
 * G of kind(slope · z + offset): the atom's template (symbolic/atoms) at M = slope · mu + offset,
 * V = slope² s, D = |slope| √s and R = M/D.
 */
function argumentAtomG(atom: { readonly kind: AtomName; readonly slope: Coefficient; readonly offset: Coefficient }): MathNode {
  const { kind, slope, offset } = atom;
  const M = asNode(cAdd(cMul(slope, MU()), offset));
  const V = asNode(cMul(cSquare(slope), S()));
  const D = asNode(cMul(cAbs(slope), call('sqrt', [S()])));
  const R = template('A / B', { A: M, B: D });
  return template(smoothedAtom(kind)!.smoothing.G, { M, V, D, R });
}

function exponentialAtomG(atom: ExponentialAtom): MathNode {
  const { alpha, beta, gamma } = atom;
  if (alpha === 0) return argumentAtomG({ kind: 'exp', slope: beta, offset: gamma });
  return template(gaussianBump.G, { A: asNode(alpha), B: asNode(beta), C: asNode(gamma) });
}

/** The Taylor coefficients b_q(mu) = φ^(q)(mu)/q! of the polynomial part (taylor.ts, checked there); [] when there is none. */
function polynomialTaylor(expr: ParsedExpression, terms: readonly MathNode[]): Coefficient[] {
  if (terms.length === 0) return [];
  const node = asNode(terms.reduce<Coefficient>((acc, t) => cAdd(acc, coefficientOrNode(t)), 0));
  if (!dependsOn(node, VARIABLE)) return [coefficientOf(node)];
  const text = node.toString();
  const part: ParsedExpression = { source: expr.source, text, original: node, node, parameters: expr.parameters, values: {} };
  return polynomialActivation(part).taylor.map((bq) =>
    coefficientOrNode(tidy(bq.transform((n) => (n.type === 'SymbolNode' && view(n).name === VARIABLE ? MU() : n)))),
  );
}

/**
 * g_k of the polynomial part: φ^(k)(mu + δ) = Σ_q (q + k)!/q! b_{q+k}(mu) δ^q and E[δ^q] = (q − 1)!! s^{q/2}
 * for even q, so g_k = Σ_{q even} (q − 1)!! (q + k)!/q! s^{q/2} b_{q+k}(mu); k = 0 gives G.
 */
function polynomialSmoothed(taylor: readonly Coefficient[], k: number): Coefficient {
  let g: Coefficient = 0;
  let doubleFactorial = 1;
  for (let q = 0; q + k < taylor.length; q += 2) {
    if (q > 0) doubleFactorial *= q - 1;
    let falling = 1;
    for (let j = q + 1; j <= q + k; j++) falling *= j;
    const moment = q === 0 ? falling : cMul(doubleFactorial * falling, q === 2 ? S() : template(`S ^ ${q / 2}`, { S: S() }));
    g = cAdd(g, cMul(taylor[q + k], moment));
  }
  return g;
}

/**
 * How G was assembled: the polynomial part (by its Taylor coefficients), the exp parts
 * (differentiated as they stand) and the atoms with an affine argument (whose g_k follow from the
 * atom's own by the chain rule).
 */
interface SmoothedParts {
  readonly taylor: readonly Coefficient[];
  readonly residual: Coefficient;
  readonly composed: ReadonlyArray<{ readonly coefficient: Coefficient; readonly atom: ArgumentAtom }>;
}
const smoothedParts = new WeakMap<GaussianSmoothed, SmoothedParts>();

function smoothedOf(expr: ParsedExpression, d: Decomposition): GaussianSmoothed {
  const taylor = polynomialTaylor(expr, d.polynomial);
  let residual: Coefficient = 0;
  const composed: Array<{ coefficient: Coefficient; atom: ArgumentAtom }> = [];
  let G: Coefficient = 0;
  const sources: string[] = [];
  const notes: string[] = ['s is the variance of the pre-activation: s ≥ 0'];
  const hasPolynomial = d.polynomial.some((p) => dependsOn(p, VARIABLE));
  if (hasPolynomial) sources.push(SOURCES.polynomial);
  let affine = false;
  const kinks: string[] = [];
  for (const { coefficient, atom } of d.terms) {
    if (atom.kind === 'exp') {
      residual = cAdd(residual, cMul(coefficient, exponentialAtomG(atom)));
      const source = atom.alpha === 0 ? smoothedAtom('exp')!.smoothing.source : gaussianBump.source;
      if (!sources.includes(source)) sources.push(source);
      if (atom.alpha !== 0) {
        const alpha = compact(asNode(atom.alpha));
        notes.push(
          typeof atom.alpha === 'number' && atom.alpha < 0
            ? `${atom.text}: finite for every s ≥ 0 (α = ${alpha} < 0)`
            : `${atom.text}: finite only while 1 − 2αs > 0, α = ${alpha} the coefficient of z² (smoothedValidity says where)`,
        );
      }
    } else {
      G = cAdd(G, cMul(coefficient, argumentAtomG(atom)));
      composed.push({ coefficient, atom });
      const source = smoothedAtom(atom.kind)!.smoothing.source;
      if (!sources.includes(source)) sources.push(source);
      if (atom.slope !== 1 || atom.offset !== 0) affine = true;
      if (kinked(atom.kind)) kinks.push(atom.text);
    }
  }
  G = cAdd(cAdd(polynomialSmoothed(taylor, 0), residual), G);
  if (affine) sources.push(SOURCES.affine);
  if (d.usesMax) {
    sources.push(SOURCES.max);
    notes.push('max and min through relu hold for any slopes: no range restriction on the parameters');
  }
  if (d.terms.length + (hasPolynomial ? 1 : 0) > 1) sources.unshift('G is linear in φ: the G of a sum is the sum of the G of its terms');
  if (!sources.length) sources.push('a constant: G = φ');
  if (kinks.length)
    notes.push(`${[...new Set(kinks)].join(', ')}: needs s > 0 (the closed form divides by √s; at s = 0, G(mu, 0) = φ(mu))`);
  const smoothed: GaussianSmoothed = { G: asNode(G), source: sources.join('; '), notes };
  smoothedParts.set(smoothed, { taylor, residual, composed });
  return smoothed;
}

/** Recognise an activation and attach its closed-form Gaussian smoothing where one exists. */
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
export type SingleAtomKind = 'relu' | 'heaviside' | 'sign' | 'abs' | 'erf';

/** φ(z) = coefficient · kind(slope · z + offset) + linear[0] + linear[1] · z. */
export interface SingleAtom {
  readonly kind: SingleAtomKind;
  readonly coefficient: number;
  readonly slope: number;
  readonly offset: number;
  readonly linear: [number, number];
}

/** A coefficient free of z and of parameters as a float (named constants and functions evaluated), or undefined. */
function numericValue(c: Coefficient): number | undefined {
  if (typeof c === 'number') return c;
  if (dependsOn(c, VARIABLE)) return undefined;
  let v: unknown;
  try {
    v = c.compile().evaluate({ ...NAMED_CONSTANTS, ...SMOOTHED_FUNCTIONS });
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
export function smoothedEvaluator(node: MathNode, parameters: Readonly<Record<string, number>> = {}): (mu: number, s: number) => number {
  const code = node.compile();
  const scope: Record<string, unknown> = { ...NAMED_CONSTANTS, ...SMOOTHED_FUNCTIONS, ...parameters, [MEAN]: 0, [VARIANCE]: 0 };
  return (mu: number, s: number) => {
    scope[MEAN] = mu;
    scope[VARIANCE] = s;
    return Number(code.evaluate(scope));
  };
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(12)));
}

/**
 * Why G (or any g_k) is undefined at (mu, s), or undefined where it is defined: a negative variance,
 * s = 0 for kinks, an infinite expectation (exp(α z²) for 2αs ≥ 1), a float64 overflow.
 */
export function smoothedValidity(
  a: Activation,
  mu: number,
  s: number,
  parameters: Readonly<Record<string, number>> = {},
): string | undefined {
  const expr = a.expression;
  if (!a.smoothed) return `"${expr.source}" has no closed-form G(mu, s); its g_k come from the Stein form by quadrature`;
  if (!Number.isFinite(mu) || !Number.isFinite(s)) return `G needs finite mu and s, got mu = ${mu}, s = ${s}`;
  if (s < 0) return `s is a variance and must be ≥ 0, got s = ${s}`;
  const missing = expr.parameters.filter((p) => typeof parameters[p] !== 'number' || !Number.isFinite(parameters[p]));
  if (missing.length) throw new InputError(`expression "${expr.source}": G needs values for ${missing.join(', ')}`);
  const scope = { ...NAMED_CONSTANTS, ...SMOOTHED_FUNCTIONS, ...parameters };
  const d = decompose(expr.node);
  for (const { atom } of d?.terms ?? []) {
    if (atom.kind === 'exp') {
      const alpha = typeof atom.alpha === 'number' ? atom.alpha : Number(atom.alpha.compile().evaluate({ ...scope }));
      if (alpha > 0 && 1 - 2 * alpha * s <= 0)
        return `E[${atom.text}] is infinite for s ≥ 1/(2α) = ${formatNumber(1 / (2 * alpha))} (α = ${formatNumber(alpha)}, the coefficient of z²), got s = ${s}`;
    } else if (kinked(atom.kind) && s === 0) {
      return `G of ${atom.text} needs s > 0: the closed form divides by √s (at s = 0, G(mu, 0) = φ(mu))`;
    }
  }
  const value = smoothedEvaluator(a.smoothed.G, parameters)(mu, s);
  if (!Number.isFinite(value)) return `G evaluates to ${value} at mu = ${mu}, s = ${s} (beyond float64)`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// g_k = ∂^k G/∂mu^k.

/**
 * The functions of mu whose derivatives corrmap supplies, by the atoms' derivative rules
 * (symbolic/atoms): every function of a closed form G, and those their rules bring in. Their
 * coefficients and arguments are left to nerdamer, so nerdamer only ever differentiates and expands
 * polynomials in mu.
 */
type Special = string;
const SPECIALS: ReadonlySet<string> = (() => {
  const names = new Set<string>();
  const visit = (text: string) =>
    parse(text).traverse((n) => {
      const name = functionName(n);
      if (!name || names.has(name)) return;
      names.add(name);
      const rule = atomNamed(name)?.derivative;
      if (!rule) throw new Error(`internal: '${name}' appears in a closed form but has no derivative rule`);
      visit(rule);
    });
  for (const atom of ATOMS as readonly AtomSpec[]) if (atom.smoothing) visit(atom.smoothing.G);
  visit(gaussianBump.G);
  return names;
})();

/** F′ of each special F as linear parts in z (coefficient × special(argument)), parsed once. */
const ruleParts = new Map<string, LinearPart[]>();
function derivativeRule(special: Special): LinearPart[] {
  let parts = ruleParts.get(special);
  if (!parts) ruleParts.set(special, (parts = splitLinear(parse(atomNamed(special)!.derivative!), VARIABLE)));
  return parts;
}

/**
 * nerdamer sees only mu, small integers and opaque symbols q<i> for the mu-free parts (s, √s,
 * parameters, π, non-integer numbers, sums such as 1 + 2s). Products, quotients and whole powers of
 * those stay visible, so √s and 2√s are powers of one symbol. nerdamer-prime mis-differentiates
 * products with square roots, of constants (π, DESIGN §11) and of symbols alike:
 * d/dmu mu/√(1+s) came out as (1+s)^(1/4).
 */
class OpaqueSymbols {
  private readonly byText = new Map<string, string>();
  private readonly trees: Record<string, MathNode> = {};

  symbolFor(node: MathNode): MathNode {
    const key = node.toString();
    let name = this.byText.get(key);
    if (!name) {
      name = `q${this.byText.size}`;
      this.byText.set(key, name);
      this.trees[name] = node;
    }
    return parse(name);
  }

  hide(node: MathNode): MathNode {
    const v = view(node);
    if (v.type === 'SymbolNode' && v.name! in this.trees) return node;
    if (!dependsOn(node, MEAN)) {
      if (v.type === 'ConstantNode') {
        const small = typeof v.value === 'number' && Number.isInteger(v.value) && Math.abs(v.value) < 1e6;
        return small ? node : this.symbolFor(node);
      }
      if (v.type === 'ParenthesisNode') return this.hide(v.content!);
      const visible =
        v.type === 'OperatorNode' &&
        (['multiply', 'divide', 'unaryMinus', 'unaryPlus'].includes(v.fn as string) ||
          (v.fn === 'pow' && view(v.args![1]).type === 'ConstantNode' && Number.isInteger(view(v.args![1]).value)));
      return visible ? node.map((child) => this.hide(child)) : this.symbolFor(node);
    }
    switch (v.type) {
      case 'SymbolNode':
        return node;
      case 'ParenthesisNode':
        return this.hide(v.content!);
      case 'FunctionNode':
        return call(functionName(node)!, v.args!.map((a) => this.hide(a)));
      default:
        return node.map((child) => this.hide(child));
    }
  }

  /** Back to the original sub-trees; nerdamer's e^x becomes exp(x). */
  reveal(node: MathNode): MathNode {
    return node.transform((n): MathNode => {
      const v = view(n);
      if (v.type === 'SymbolNode' && v.name! in this.trees) return this.reveal(this.trees[v.name!]);
      if (v.type === 'OperatorNode' && v.fn === 'pow') {
        const base = stripParentheses(v.args![0]);
        if (base.type === 'SymbolNode' && view(base).name === 'e') return call('exp', [this.reveal(v.args![1])]);
      }
      return n;
    });
  }
}

/** One part of G: coefficient × special(argument), or a plain coefficient (no special). Trees carry opaque symbols. */
interface LinearPart {
  readonly special?: Special;
  readonly argument?: MathNode;
  readonly coefficient: MathNode;
}

function isSpecialIn(node: MathNode, variable: string): boolean {
  return node.filter((n) => SPECIALS.has(functionName(n) ?? '') && dependsOn(n, variable)).length > 0;
}

/** G = Σ_j c_j special_j(m_j) + plain (in mu; a derivative rule in z); every g_k keeps that shape. */
function splitLinear(node: MathNode, variable: string = MEAN): LinearPart[] {
  const containsSpecial = (n: MathNode) => isSpecialIn(n, variable);
  const linearParts = (n: MathNode): LinearPart[] => splitLinear(n, variable);
  if (!containsSpecial(node)) return [{ coefficient: node }];
  const v = view(node);
  const times = (parts: LinearPart[], f: (c: MathNode) => MathNode) => parts.map((p) => ({ ...p, coefficient: f(p.coefficient) }));
  const nonLinear = () => new Error(`internal: G is not linear in ${[...SPECIALS].join(', ')}: ${node.toString()}`);
  switch (v.type) {
    case 'ParenthesisNode':
      return linearParts(v.content!);
    case 'FunctionNode': {
      const name = functionName(node)!;
      if (!SPECIALS.has(name) || v.args!.length !== 1 || containsSpecial(v.args![0])) throw nonLinear();
      return [{ special: name as Special, argument: v.args![0], coefficient: parse('1') }];
    }
    case 'OperatorNode': {
      const args = v.args!;
      switch (v.fn) {
        case 'unaryPlus':
          return linearParts(args[0]);
        case 'unaryMinus':
          return times(linearParts(args[0]), (c) => template('-C', { C: c }));
        case 'add':
          return args.flatMap(linearParts);
        case 'subtract':
          return [...linearParts(args[0]), ...times(linearParts(args[1]), (c) => template('-C', { C: c }))];
        case 'multiply': {
          const carriers = args.filter(containsSpecial);
          if (carriers.length !== 1) throw nonLinear();
          const others = args.filter((a) => !containsSpecial(a));
          return times(linearParts(carriers[0]), (c) => others.reduce((acc, o) => template('A * B', { A: o, B: acc }), c));
        }
        case 'divide':
          if (containsSpecial(args[1])) throw nonLinear();
          return times(linearParts(args[0]), (c) => template('C / D', { C: c, D: args[1] }));
      }
    }
  }
  throw nonLinear();
}

const nerdamerText = (node: MathNode) => node.toString({ parenthesis: 'all', implicit: 'show' });
/** nerdamer results longer than this are taken as a blow-up. */
const BLOW_UP_CHARACTERS = 200_000;

/** coefficient × special(argument); the plain part has neither. Texts are nerdamer input with opaque symbols. */
interface StatePart {
  readonly special?: Special;
  readonly argument?: MathNode;
  readonly argumentText?: string;
  coefficient: string;
}
/** Keyed by special and argument text; '' is the plain part. */
type DerivativeState = Map<string, StatePart>;

/** Run nerdamer and leave its expression history as it was (nerdamer keeps every parsed expression). */
function withNerdamer<T>(work: () => T): T {
  const before = nerdamer.numExpressions();
  try {
    return work();
  } finally {
    while (nerdamer.numExpressions() > before) nerdamer.clear('last');
  }
}

function guarded(text: string): string {
  if (text.length > BLOW_UP_CHARACTERS) throw new Error(`internal: nerdamer blew up (${text.length} characters)`);
  return text;
}

/** Expanded: nerdamer leaves products such as q^(-1)*q^(-1) uncombined otherwise, and the terms grow geometrically with k. */
function simplified(text: string): string {
  return guarded(nerdamer(`expand(${text})`).toString());
}

function derivativeOf(cache: Map<string, string>, text: string): string {
  let d = cache.get(text);
  if (d === undefined) cache.set(text, (d = guarded(nerdamer.diff(nerdamer(text), MEAN).toString())));
  return d;
}

const keyOf = (special: Special | undefined, argumentText: string | undefined) => (special ? `${special}|${argumentText}` : '');

function initialState(G: MathNode, opaque: OpaqueSymbols): DerivativeState {
  const pieces = new Map<string, { part: Omit<StatePart, 'coefficient'>; texts: string[] }>();
  for (const p of splitLinear(opaque.hide(G))) {
    const argumentText = p.argument && nerdamerText(p.argument);
    const key = keyOf(p.special, argumentText);
    let entry = pieces.get(key);
    if (!entry) pieces.set(key, (entry = { part: { special: p.special, argument: p.argument, argumentText }, texts: [] }));
    entry.texts.push(`(${nerdamerText(p.coefficient)})`);
  }
  const state: DerivativeState = new Map();
  for (const [key, { part, texts }] of pieces) {
    const coefficient = simplified(texts.join('+'));
    if (coefficient !== '0') state.set(key, { ...part, coefficient });
  }
  return state;
}

/**
 * (C F(u))′ = C′ F(u) + C u′ F′(u), with F′ from the atom's derivative rule (symbolic/atoms), its
 * z replaced by u: nerdamer differentiates only the polynomials C and u.
 */
function differentiate(derivatives: Map<string, string>, opaque: OpaqueSymbols, state: DerivativeState): DerivativeState {
  const next = new Map<string, { part: Omit<StatePart, 'coefficient'>; texts: string[] }>();
  const add = (special: Special | undefined, argument: MathNode | undefined, text: string) => {
    const argumentText = argument && nerdamerText(argument);
    const key = keyOf(special, argumentText);
    let entry = next.get(key);
    if (!entry) next.set(key, (entry = { part: { special, argument, argumentText }, texts: [] }));
    entry.texts.push(`(${text})`);
  };
  for (const part of state.values()) {
    const c = part.coefficient;
    const dc = derivativeOf(derivatives, c);
    if (!part.special) {
      add(undefined, undefined, dc);
      continue;
    }
    add(part.special, part.argument, dc);
    const du = derivativeOf(derivatives, part.argumentText!);
    const atU = (node: MathNode) =>
      opaque.hide(node.transform((n) => (n.type === 'SymbolNode' && view(n).name === VARIABLE ? part.argument! : n)));
    for (const rule of derivativeRule(part.special))
      add(rule.special, rule.argument && atU(rule.argument), `(${c})*(${du})*(${nerdamerText(atU(rule.coefficient))})`);
  }
  const out: DerivativeState = new Map();
  for (const [key, { part, texts }] of next) {
    const coefficient = simplified(texts.join('+'));
    if (coefficient !== '0') out.set(key, { ...part, coefficient });
  }
  return out;
}

function assemble(opaque: OpaqueSymbols, state: DerivativeState): MathNode {
  let tree: Coefficient = 0;
  for (const part of state.values()) {
    const coefficient = coefficientOrMuNode(tidy(opaque.reveal(parse(part.coefficient))));
    const term = part.special ? cMul(coefficient, call(part.special, [tidy(opaque.reveal(part.argument!))])) : coefficient;
    tree = cAdd(tree, term);
  }
  return asNode(tree);
}

/**
 * Readable output: no redundant parentheses, numeric sub-trees folded, products written as one
 * fraction with one numeric factor (x * q^(-3) * 2 → 2 * x / q^3), sqrt(x)^2 as x.
 */
function tidy(node: MathNode): MathNode {
  const v = view(node);
  if (v.type === 'ParenthesisNode') return tidy(v.content!);
  if (v.type === 'ConstantNode' || v.type === 'SymbolNode') return node;
  if (v.type === 'OperatorNode' && !node.filter((n) => n.type === 'SymbolNode' || n.type === 'FunctionNode').length) {
    const folded = coefficientOf(node);
    if (typeof folded === 'number') return numberNode(folded);
  }
  if (v.type === 'FunctionNode') return call(functionName(node)!, v.args!.map(tidy));
  const t = node.map((child) => tidy(child));
  const tv = view(t);
  if (tv.type !== 'OperatorNode') return t;
  if (tv.fn === 'pow') {
    const base = tv.args![0];
    const exponent = coefficientOrMuNode(tv.args![1]);
    if (functionName(base) === 'sqrt' && typeof exponent === 'number' && exponent % 2 === 0 && exponent !== 0) {
      const inner = view(base).args![0];
      return Math.abs(exponent) === 2 && exponent > 0 ? inner : tidy(template('B ^ E', { B: inner, E: numberNode(exponent / 2) }));
    }
    if (!(typeof exponent === 'number' && exponent < 0)) return t;
  } else if (tv.fn !== 'multiply' && tv.fn !== 'divide') return t;
  let k = 1;
  const numerator: MathNode[] = [];
  const denominator: MathNode[] = [];
  const collect = (n: MathNode, above: boolean) => {
    const nv = view(n);
    if (nv.type === 'ConstantNode' && typeof nv.value === 'number') {
      k = above ? k * nv.value : k / nv.value;
      return;
    }
    if (nv.type === 'OperatorNode') {
      if (nv.fn === 'multiply') return nv.args!.forEach((a) => collect(a, above));
      if (nv.fn === 'divide') {
        collect(nv.args![0], above);
        collect(nv.args![1], !above);
        return;
      }
      if (nv.fn === 'unaryMinus') {
        k = -k;
        collect(nv.args![0], above);
        return;
      }
      if (nv.fn === 'pow') {
        const e = coefficientOrMuNode(nv.args![1]);
        if (typeof e === 'number' && e < 0) {
          collect(e === -1 ? nv.args![0] : template('B ^ E', { B: nv.args![0], E: numberNode(-e) }), !above);
          return;
        }
      }
    }
    (above ? numerator : denominator).push(n);
  };
  collect(t, true);
  const product = (list: MathNode[]) => list.reduce((acc, f) => template('A * B', { A: acc, B: f }));
  let out: MathNode = numerator.length ? product(numerator) : parse('1');
  if (denominator.length) out = template('N / D', { N: out, D: product(denominator) });
  if (!numerator.length) return denominator.length ? template('K / D', { K: numberNode(k), D: product(denominator) }) : numberNode(k);
  return asNode(cMul(k, out));
}

function coefficientOrMuNode(node: MathNode): Coefficient {
  return dependsOn(node, MEAN) || node.filter((n) => n.type === 'SymbolNode' || n.type === 'FunctionNode').length ? stripParentheses(node) : coefficientOf(node);
}

/** A small deterministic generator for the numeric checks. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

interface CheckPoint {
  readonly mu: number;
  readonly s: number;
  readonly parameters: Readonly<Record<string, number>>;
}

/** Points (mu, s) and parameter values where G is defined: the numeric checks run there. */
function checkPoints(a: Activation, count: number): CheckPoint[] {
  const random = lcg(20240531);
  const out: CheckPoint[] = [];
  for (let attempt = 0; attempt < 400 && out.length < count; attempt++) {
    const parameters: Record<string, number> = {};
    // Magnitudes away from 0 and 1 (where a leaky slope a − 1 would vanish), both signs.
    for (const p of a.expression.parameters) {
      const u = random();
      const magnitude = u < 0.5 ? 0.55 + 0.8 * u : 1.15 + 0.9 * (u - 0.5);
      parameters[p] = random() < 0.5 ? -magnitude : magnitude;
    }
    const mu = 3 * random() - 1.5;
    const s = 0.25 + 1.25 * random();
    if (smoothedValidity(a, mu, s, parameters) === undefined) out.push({ mu, s, parameters });
  }
  if (out.length < count) throw new Error(`internal: found no points where G of "${a.expression.source}" is defined to check g_k at`);
  return out;
}

/** Points for the atoms of z themselves (no parameters; every atom is defined for s > 0). */
const CANONICAL_POINTS: readonly CheckPoint[] = [
  { mu: 0.37, s: 0.61, parameters: {} },
  { mu: -1.13, s: 1.37, parameters: {} },
  { mu: 0.052, s: 0.29, parameters: {} },
];

/**
 * g_k is checked against d/dmu of g_{k−1} (already checked, g_0 = G) by Richardson-extrapolated
 * central differences over a sweep of step sizes; it must agree at every point for some step.
 */
function checkDerivative(label: string, points: readonly CheckPoint[], previous: MathNode, next: MathNode, k: number): void {
  for (const { mu, s, parameters } of points) {
    const f = smoothedEvaluator(previous, parameters);
    const g = smoothedEvaluator(next, parameters)(mu, s);
    const f0 = Math.abs(f(mu, s));
    let best = Infinity;
    let ok = false;
    for (let h = 0.1; h > 2e-5 && !ok; h /= 2) {
      const central = (step: number) => (f(mu + step, s) - f(mu - step, s)) / (2 * step);
      const richardson = (4 * central(h / 2) - central(h)) / 3;
      const error = Math.abs(richardson - g);
      best = Math.min(best, error);
      ok = error <= 1e-7 * (Math.abs(g) + Math.abs(richardson)) + (1e-13 * f0) / h;
    }
    if (!ok || !Number.isFinite(g))
      throw new Error(
        `internal: g_${k} of ${label} fails the finite-difference check at mu = ${mu}, s = ${s}` +
          ` (${JSON.stringify(parameters)}): ${g}, difference ${best}; derived ${next.toString()}`,
      );
  }
}

/** Successive mu-derivatives of one tree G by nerdamer and the rules for the special functions. */
class Derivation {
  private readonly opaque = new OpaqueSymbols();
  private readonly derivatives = new Map<string, string>();
  private state: DerivativeState;
  private readonly trees: MathNode[];

  constructor(
    G: MathNode,
    private readonly label: string,
    /** Check each new g_k against g_{k−1} here (omitted where the caller checks the sum). */
    private readonly points?: readonly CheckPoint[],
  ) {
    this.trees = [G];
    try {
      this.state = withNerdamer(() => initialState(G, this.opaque));
    } catch (err) {
      if ((err as Error).message.startsWith('internal:')) throw err;
      throw new Error(`internal: nerdamer failed on G of ${label}: ${(err as Error).message}`);
    }
  }

  upTo(kmax: number): readonly MathNode[] {
    if (this.trees.length <= kmax)
      withNerdamer(() => {
        while (this.trees.length <= kmax) {
          const k = this.trees.length;
          let state: DerivativeState;
          try {
            state = differentiate(this.derivatives, this.opaque, this.state);
          } catch (err) {
            if ((err as Error).message.startsWith('internal:')) throw err;
            throw new Error(`internal: nerdamer failed on g_${k} of ${this.label}: ${(err as Error).message}`);
          }
          const tree = assemble(this.opaque, state);
          if (this.points) checkDerivative(this.label, this.points, this.trees[k - 1], tree, k);
          this.state = state;
          this.trees.push(tree);
        }
      });
    return this.trees;
  }
}

/** The g_k of each atom of z, derived once (and checked) for all activations that use it. */
const atomDerivations = new Map<ArgumentKind, Derivation>();

function atomDerivatives(kind: ArgumentKind, kmax: number): readonly MathNode[] {
  let d = atomDerivations.get(kind);
  if (!d) {
    const G = argumentAtomG({ kind, slope: 1, offset: 0 });
    atomDerivations.set(kind, (d = new Derivation(G, `${kind}(z)`, CANONICAL_POINTS)));
  }
  return d.upTo(kmax);
}

/**
 * The k-th derivative of c·atom(p z + q) from the atom's own g_k: c p^k g_k(p mu + q, p² s),
 * where √s becomes |p| √s (as in the atom's G).
 */
function composedDerivative(coefficient: Coefficient, atom: ArgumentAtom, k: number): Coefficient {
  const gk = atomDerivatives(atom.kind, k)[k];
  const { slope, offset } = atom;
  const m = asNode(cAdd(cMul(slope, MU()), offset));
  const v = asNode(cMul(cSquare(slope), S()));
  const sd = asNode(cMul(cAbs(slope), call('sqrt', [S()])));
  const substituted = gk.transform((n): MathNode => {
    const nv = view(n);
    if (functionName(n) === 'sqrt' && view(nv.args![0]).type === 'SymbolNode' && view(nv.args![0]).name === VARIANCE) return sd;
    if (nv.type === 'SymbolNode' && nv.name === MEAN) return m;
    if (nv.type === 'SymbolNode' && nv.name === VARIANCE) return v;
    return n;
  });
  const power = typeof slope === 'number' ? slope ** k : k === 0 ? 1 : k === 1 ? slope : template(`P ^ ${k}`, { P: slope });
  return coefficientOrMuNode(tidy(asNode(cMul(cMul(coefficient, power), coefficientOrMuNode(substituted)))));
}

interface ActivationDerivation {
  readonly taylor: readonly Coefficient[];
  readonly residual?: Derivation;
  readonly composed: SmoothedParts['composed'];
  readonly trees: MathNode[];
}
const activationDerivations = new WeakMap<Activation, ActivationDerivation>();

/**
 * g_k(mu, s) = ∂^k G/∂mu^k as mathjs trees for k = 0…kmax (g_0 = G). The polynomial part takes its
 * g_k from its Taylor coefficients (nerdamer, taylor.ts); atoms with an affine argument take theirs
 * from the atom of z by the chain rule; the atom's own and the exp parts are differentiated by nerdamer in the form Σ_j c_j(mu) F_j(u_j(mu)) + plain(mu), F one of
 * Φ, φ, erf, exp, sin, cos, sinh, cosh: nerdamer differentiates and expands the polynomials c_j, u_j
 * and the plain part (everything free of mu opaque) and the rules for F supply the rest. Every g_k
 * is checked against Richardson-extrapolated central differences of g_{k−1} before it is returned.
 */
export function smoothedDerivatives(a: Activation, kmax: number): MathNode[] {
  if (!Number.isInteger(kmax) || kmax < 0) throw new InputError(`the derivative order must be a whole number ≥ 0, got ${kmax}`);
  const smoothed = a.smoothed;
  if (!smoothed)
    throw new InputError(
      `expression "${a.expression.source}" has no closed-form Gaussian smoothing; its g_k come from the Stein form by quadrature`,
    );
  const label = `"${a.expression.source}"`;
  let d = activationDerivations.get(a);
  if (!d) {
    // A G made elsewhere (not by activationOf) is differentiated as it stands.
    const parts = smoothedParts.get(smoothed) ?? { taylor: [], residual: smoothed.G, composed: [] };
    const residual = parts.residual === 0 ? undefined : new Derivation(asNode(parts.residual), label);
    activationDerivations.set(a, (d = { taylor: parts.taylor, residual, composed: parts.composed, trees: [smoothed.G] }));
  }
  const points = d.trees.length <= kmax ? checkPoints(a, 3) : [];
  while (d.trees.length <= kmax) {
    const k = d.trees.length;
    let g = polynomialSmoothed(d.taylor, k);
    if (d.residual) g = cAdd(g, coefficientOrMuNode(d.residual.upTo(k)[k]));
    for (const { coefficient, atom } of d.composed) g = cAdd(g, composedDerivative(coefficient, atom, k));
    const tree = asNode(g);
    checkDerivative(label, points, d.trees[k - 1], tree, k);
    d.trees.push(tree);
  }
  return d.trees.slice(0, kmax + 1);
}

/**
 * Where φ is not a real number (z^1.5, log(z), sqrt(z) for z < 0): a Gaussian expectation needs φ on
 * the whole real line. Probes a grid of z in [−8, 8] and returns the first bad point, or undefined.
 */
export function undefinedPoint(a: Activation): number | undefined {
  for (let k = 0; k <= 320; k++) {
    const z = -8 + k * 0.05;
    if (!Number.isFinite(a.fn(z))) return z;
  }
  return undefined;
}
