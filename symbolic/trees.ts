/**
 * Small tree algebra for the closed forms: mathjs trees built from templates, coefficients that
 * stay numbers while they can (number | tree), polynomials in z, and a tidy printer-friendly form.
 */
import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { NAMED_CONSTANTS, VARIABLE, treeDegree } from './expression.ts';

/** The symbols of G and g_k: the mean and the variance of the pre-activation. */
export const MEAN = 'mu';
export const VARIANCE = 's';

// ---------------------------------------------------------------------------------------------
// Trees.

export interface AnyNode {
  type: string;
  name?: string;
  value?: unknown;
  op?: string;
  fn?: string | AnyNode;
  args?: MathNode[];
  content?: MathNode;
}
export const view = (n: MathNode) => n as unknown as AnyNode;

export function functionName(n: MathNode): string | undefined {
  const v = view(n);
  return v.type === 'FunctionNode' && typeof v.fn === 'object' && v.fn.type === 'SymbolNode' ? v.fn.name : undefined;
}

export function dependsOn(node: MathNode, symbol: string): boolean {
  return node.filter((n) => n.type === 'SymbolNode' && view(n).name === symbol).length > 0;
}

export function stripParentheses(node: MathNode): MathNode {
  while (node.type === 'ParenthesisNode') node = view(node).content!;
  return node;
}

/** A tree from a template whose upper-case symbols are replaced by the given trees. */
export function template(text: string, bindings: Readonly<Record<string, MathNode>>): MathNode {
  return parse(text).transform((n) => (n.type === 'SymbolNode' && view(n).name! in bindings ? bindings[view(n).name!] : n));
}

export function call(name: string, args: readonly MathNode[]): MathNode {
  const bindings: Record<string, MathNode> = {};
  args.forEach((a, i) => (bindings[`A${i}`] = a));
  return template(`${name}(${args.map((_, i) => `A${i}`).join(', ')})`, bindings);
}

export function compact(node: MathNode): string {
  return node.toString().replace(/\s+/g, '');
}

/** A coefficient free of z (or of mu): a float when it is a plain number, a tree otherwise. */
export type Coefficient = number | MathNode;

export function numberNode(x: number): MathNode {
  if (!Number.isFinite(x)) throw new Error(`internal: non-finite coefficient ${x}`);
  return x < 0 ? template('-A', { A: parse(String(-x)) }) : parse(String(x));
}

export function asNode(c: Coefficient): MathNode {
  return typeof c === 'number' ? numberNode(c) : c;
}

/** Fold a tree made of numbers and arithmetic only into a float; keep anything with symbols or functions. */
export function coefficientOf(node: MathNode): Coefficient {
  const symbolic = node.filter((n) => n.type === 'SymbolNode' || n.type === 'FunctionNode').length > 0;
  if (symbolic) return stripParentheses(node);
  const v = node.compile().evaluate({});
  if (typeof v !== 'number') throw new Error(`internal: "${node.toString()}" is not a number`);
  if (!Number.isFinite(v)) throw new InputError(`"${node.toString()}" evaluates to ${v}`);
  return v;
}

/** −x, or a product or quotient whose first factor is one (−2 * s, −x / y): printed with a leading minus. */
export function isNegation(c: Coefficient): c is MathNode {
  if (typeof c === 'number') return false;
  const v = view(c);
  if (v.type !== 'OperatorNode') return false;
  if (v.fn === 'unaryMinus') return true;
  return (v.fn === 'multiply' || v.fn === 'divide') && v.args!.length === 2 && isNegation(v.args![0]);
}

/** The positive form of a negation. */
export function negated(c: MathNode): MathNode {
  const v = view(c);
  if (v.fn === 'unaryMinus') return v.args![0];
  const first = negated(v.args![0]);
  const firstView = view(first);
  if (v.fn === 'multiply' && firstView.type === 'ConstantNode' && firstView.value === 1) return v.args![1];
  return template(v.fn === 'multiply' ? 'A * B' : 'A / B', { A: first, B: v.args![1] });
}

export function cNeg(a: Coefficient): Coefficient {
  if (typeof a === 'number') return -a;
  if (isNegation(a)) return negated(a);
  const v = view(a);
  // −(x * y) reads −x * y.
  if (v.type === 'OperatorNode' && (v.fn === 'multiply' || v.fn === 'divide') && v.args!.length === 2)
    return template(v.fn === 'multiply' ? 'A * B' : 'A / B', { A: asNode(cNeg(v.args![0])), B: v.args![1] });
  return template('-A', { A: a });
}

export function cAdd(a: Coefficient, b: Coefficient): Coefficient {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  if (typeof b === 'number' && b < 0) return template('A - B', { A: asNode(a), B: numberNode(-b) });
  if (isNegation(b)) return template('A - B', { A: asNode(a), B: negated(b) });
  return template('A + B', { A: asNode(a), B: asNode(b) });
}

export function cMul(a: Coefficient, b: Coefficient): Coefficient {
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

export function cDiv(a: Coefficient, b: Coefficient): Coefficient {
  if (typeof b === 'number') {
    if (b === 0) throw new InputError(`division by zero in "${asNode(a).toString()} / 0"`);
    return cMul(1 / b, a);
  }
  if (a === 0) return 0;
  return template('A / B', { A: asNode(a), B: b });
}

export function cAbs(a: Coefficient): Coefficient {
  return typeof a === 'number' ? Math.abs(a) : call('abs', [isNegation(a) ? negated(a) : a]);
}

export function cSquare(a: Coefficient): Coefficient {
  if (typeof a === 'number') return a * a;
  return template('A ^ 2', { A: isNegation(a) ? negated(a) : a });
}

/**
 * A map L over trees that is linear in their arithmetic: L((a)) = L(+a) = L(a), L(−a) = −L(a),
 * L(a ± b) = L(a) ± L(b), L(a / c) = L(a) / c where the denominator c does not carry what L is
 * linear in, and (with `scale`) L(c₁ ⋯ a ⋯ c_m) = L(a) · c₁ ⋯ c_m for exactly one carrying factor a.
 * Recognition of φ, the polynomial walk and the split of G into special functions are such maps;
 * each gives its own arithmetic and handles every other node (leaves, functions, powers) in `other`.
 */
export interface LinearMap<T> {
  /** L itself on a sub-tree (a map checks its own base cases first, then calls linearMap). */
  readonly of: (node: MathNode) => T;
  readonly negate: (t: T) => T;
  readonly sum: (terms: T[]) => T;
  /** Whether a factor or a denominator carries what L is linear in. */
  readonly carries: (node: MathNode) => boolean;
  /** L(a) times the other factors; a map without it (a polynomial ring) handles products in `other`. */
  readonly scale?: (t: T, factors: MathNode[]) => T;
  readonly divide: (t: T, denominator: MathNode) => T;
  /** A product of several carrying factors, or a carrying denominator. */
  readonly nonLinear: () => T;
  readonly other: (node: MathNode) => T;
}

export function linearMap<T>(node: MathNode, map: LinearMap<T>): T {
  const v = view(node);
  if (v.type === 'ParenthesisNode') return map.of(v.content!);
  if (v.type !== 'OperatorNode') return map.other(node);
  const args = v.args!;
  switch (v.fn) {
    case 'unaryPlus':
      return map.of(args[0]);
    case 'unaryMinus':
      return map.negate(map.of(args[0]));
    case 'add':
      return map.sum(args.map((a) => map.of(a)));
    case 'subtract':
      return map.sum([map.of(args[0]), map.negate(map.of(args[1]))]);
    case 'multiply': {
      if (!map.scale) break;
      const carriers = args.filter(map.carries);
      if (carriers.length !== 1) return map.nonLinear();
      return map.scale(map.of(carriers[0]), args.filter((a) => !map.carries(a)));
    }
    case 'divide':
      if (map.carries(args[1])) return map.nonLinear();
      return map.divide(map.of(args[0]), args[1]);
  }
  return map.other(node);
}

/**
 * Coefficients of a polynomial in z of degree ≤ maxDegree (index = power), or undefined when the
 * tree is not one. The bound keeps symbolic expansions small; it is used for arguments of atoms.
 */
export function polynomialInZ(node: MathNode, maxDegree: number): Coefficient[] | undefined {
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
  type Polynomial = Coefficient[] | undefined;
  const rec = (n: MathNode): Polynomial => (dependsOn(n, VARIABLE) ? linearMap(n, walk) : [coefficientOf(n)]);
  const walk: LinearMap<Polynomial> = {
    of: rec,
    negate: (p) => p && p.map(cNeg),
    sum: (terms) => terms.reduce<Polynomial>((acc, p) => acc && p && add(acc, p), [0]),
    carries: (n) => dependsOn(n, VARIABLE),
    divide: (p, denominator) => {
      const den = coefficientOf(denominator);
      return p && p.map((c) => cDiv(c, den));
    },
    nonLinear: () => undefined,
    other: (n) => {
      const v = view(n);
      if (v.type === 'SymbolNode') return maxDegree >= 1 ? [0, 1] : undefined;
      if (v.type !== 'OperatorNode') return undefined;
      const args = v.args!;
      if (v.fn === 'multiply') {
        let acc: Polynomial = [1];
        for (const a of args) {
          const p = rec(a);
          acc = p && mul(acc, p);
          if (!acc) return undefined;
        }
        return acc;
      }
      if (v.fn === 'pow') {
        if (dependsOn(args[1], VARIABLE)) return undefined;
        const e = exponentOf(args[1]);
        if (e === undefined) return undefined;
        const base = rec(args[0]);
        let acc: Polynomial = [1];
        for (let k = 0; k < e && acc; k++) acc = base && mul(acc, base);
        return acc;
      }
      return undefined;
    },
  };
  return rec(node);
}

/** A whole-number exponent 0…64 (the range polynomial rules accept), or undefined. */
export function exponentOf(node: MathNode): number | undefined {
  if (node.filter((n) => n.type === 'FunctionNode').length > 0) return undefined;
  if (node.filter((n) => n.type === 'SymbolNode' && !(view(n).name! in NAMED_CONSTANTS)).length > 0) return undefined;
  const e = node.compile().evaluate({ ...NAMED_CONSTANTS });
  return typeof e === 'number' && Number.isInteger(e) && e >= 0 && e <= 64 ? e : undefined;
}

/** Whether the tree is a polynomial in z (degree ≤ 64 after expansion), without expanding it. */
export function isPolynomialInZ(node: MathNode): boolean {
  const shape = treeDegree(node);
  return 'degree' in shape && shape.degree <= 64;
}


/**
 * Readable output: no redundant parentheses, numeric sub-trees folded, products written as one
 * fraction with one numeric factor (x * q^(-3) * 2 → 2 * x / q^3), sqrt(x)^2 as x.
 */
export function tidy(node: MathNode): MathNode {
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

export function coefficientOrMuNode(node: MathNode): Coefficient {
  return dependsOn(node, MEAN) || node.filter((n) => n.type === 'SymbolNode' || n.type === 'FunctionNode').length ? stripParentheses(node) : coefficientOf(node);
}


export function coefficientOrNode(node: MathNode): Coefficient {
  return dependsOn(node, VARIABLE) ? node : coefficientOf(node);
}

/**
 * A template (a formula of the atom registry) with its upper-case symbols bound, folded as it is
 * built: numbers combine, zeros and ones drop out (1 − 2·(−0.3)·s becomes 1 + 0.6 * s), so the
 * trees handed to nerdamer and to the printers stay small.
 */
export function instantiate(text: string, bindings: Readonly<Record<string, Coefficient>>): MathNode {
  const fold = (node: MathNode): Coefficient => {
    const v = view(node);
    switch (v.type) {
      case 'ConstantNode':
        return Number(v.value);
      case 'SymbolNode':
        return v.name! in bindings ? bindings[v.name!] : node;
      case 'ParenthesisNode':
        return fold(v.content!);
      case 'FunctionNode':
        return call(functionName(node)!, v.args!.map((a) => asNode(fold(a))));
      case 'OperatorNode': {
        const args = v.args!.map(fold);
        switch (v.fn) {
          case 'unaryPlus':
            return args[0];
          case 'unaryMinus':
            return cNeg(args[0]);
          case 'add':
            return cAdd(args[0], args[1]);
          case 'subtract':
            return cAdd(args[0], cNeg(args[1]));
          case 'multiply':
            return cMul(args[0], args[1]);
          case 'divide':
            return cDiv(args[0], args[1]);
          case 'pow':
            if (args[1] === 2) return cSquare(args[0]);
            if (typeof args[0] === 'number' && typeof args[1] === 'number') return args[0] ** args[1];
            return template('A ^ B', { A: asNode(args[0]), B: asNode(args[1]) });
        }
      }
    }
    throw new Error(`internal: cannot instantiate "${node.toString()}"`);
  };
  return asNode(fold(parse(text)));
}
