import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { KNOWN_FUNCTIONS } from './atoms/index.ts';

/** The variable of every activation expression: φ is a function of the pre-activation z. */
export const VARIABLE = 'z';

/** Named constants understood inside expressions; they are never parameters. */
export const NAMED_CONSTANTS: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, { pi: Math.PI, e: Math.E }));

/**
 * Functions an activation may call (a view of the atom registry, symbolic/atoms). Polynomial rules
 * accept them only in coefficients (functions of parameters, such as sqrt(a)); applied to z they
 * make the activation non-polynomial.
 */
export { KNOWN_FUNCTIONS };
const KNOWN = new Set<string>(KNOWN_FUNCTIONS);

/**
 * Symbols the printed rules use themselves without a subscript or bracket of their own (μ, Σ, T, Q,
 * κ, G(μ, s), Φ, φ): a parameter of the same name would print ambiguously.
 */
export const RESERVED_SYMBOLS: Readonly<Record<string, string>> = {
  mu: 'μ (the input mean)', s: 's (the variance in G(μ, s))', Sigma: 'Σ (the covariance)', T: 'T (the third cumulant)',
  Q: 'Q (the fourth cumulant)', kappa: 'κ (a cumulant)', Phi: 'Φ (the normal distribution function)', phi: 'φ (the activation)',
};

/** Longest expression and deepest nesting accepted: parsing and every later tree walk recurse. */
export const MAX_EXPRESSION_LENGTH = 1000;
export const MAX_NESTING = 64;
/**
 * Magnitudes of numbers (constants and parameter values) the exact rules accept: products of up
 * to d·n of them stay inside float64 and print as written.
 */
export const NUMBER_RANGE = { min: 1e-100, max: 1e100 } as const;

/** Why a number cannot stand in an activation, or undefined if it can. */
export function numberProblem(v: number): string | undefined {
  if (!Number.isFinite(v)) return `${v} is not a finite number`;
  const a = Math.abs(v);
  if (a !== 0 && (a < NUMBER_RANGE.min || a > NUMBER_RANGE.max))
    return `${v} is outside the supported magnitudes 0 or ${NUMBER_RANGE.min}…${NUMBER_RANGE.max} (rescale the weights or the input instead)`;
  return undefined;
}

/** The names the user may write for "no activation". */
const IDENTITY_NAMES = new Set(['z', 'linear', 'identity', 'none']);

export interface ParsedExpression {
  /** The text as the user wrote it. */
  readonly source: string;
  /** The text that was parsed ("z" for the names of the identity). */
  readonly text: string;
  /** The tree as written, before parameter values were substituted. */
  readonly original: MathNode;
  /** The expression tree (mathjs), with given parameter values substituted. */
  readonly node: MathNode;
  /** Parameters left symbolic, sorted. */
  readonly parameters: readonly string[];
  /** Parameters given numeric values. */
  readonly values: Readonly<Record<string, number>>;
}

interface Token {
  kind: 'identifier' | 'number' | 'operator';
  text: string;
  column: number;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(\S)/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const kind = m[1] ? 'identifier' : m[2] ? 'number' : 'operator';
    tokens.push({ kind, text: m[0], column: m.index + 1 });
  }
  return tokens;
}

/**
 * Columns of nodes in the source. mathjs trees carry no positions; an in-order walk visits
 * identifiers and operator symbols in the order they are written, so the k-th visit of a token
 * text is its k-th occurrence in the source.
 */
function locateNodes(source: string, root: MathNode): Map<MathNode, number> {
  const tokens = tokenize(source);
  const seen = new Map<string, number>();
  const where = new Map<MathNode, number>();
  const mark = (node: MathNode, text: string) => {
    const k = seen.get(text) ?? 0;
    seen.set(text, k + 1);
    const hit = tokens.filter((t) => t.text === text)[k];
    if (hit) where.set(node, hit.column);
  };
  const walk = (node: MathNode) => {
    const n = node as MathNode & Record<string, any>;
    switch (n.type) {
      case 'SymbolNode':
        mark(node, n.name);
        return;
      case 'FunctionNode':
        mark(node, n.fn?.name ?? String(n.fn));
        n.args.forEach(walk);
        return;
      case 'ParenthesisNode':
        walk(n.content);
        return;
      case 'OperatorNode':
        if (n.args.length === 1) {
          mark(node, n.op);
          walk(n.args[0]);
        } else {
          walk(n.args[0]);
          if (!n.implicit) mark(node, n.op);
          for (const a of n.args.slice(1)) walk(a);
        }
        return;
      default:
        node.forEach((child: MathNode) => walk(child));
    }
  };
  walk(root);
  return where;
}

function fail(source: string, message: string, column?: number): never {
  const at = column !== undefined ? ` at column ${column}` : '';
  const shown = source.length > 60 ? `${source.slice(0, 57)}…` : source;
  throw new InputError(`expression "${shown}": ${message}${at}`);
}

/** Deepest bracket nesting of a text (mathjs parses by recursion, one frame per level). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text) {
    if (c === '(' || c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
  return deepest;
}

/**
 * Parse an activation written in mathjs syntax as a function of z. Returns the tree with the given
 * parameter values substituted; other free symbols stay symbolic parameters.
 */
export function parseActivation(source: string, values: Readonly<Record<string, number>> = {}): ParsedExpression {
  const text = IDENTITY_NAMES.has(source.trim()) ? VARIABLE : source;
  if (text.trim() === '') fail(source, 'empty expression; expected a function of z such as "z + a*z^2"');
  if (text.length > MAX_EXPRESSION_LENGTH) fail(source, `${text.length} characters; at most ${MAX_EXPRESSION_LENGTH} are accepted (expand fewer terms or use parameters)`);
  const depth = nestingDepth(text);
  if (depth > MAX_NESTING) fail(source, `brackets nested ${depth} deep; at most ${MAX_NESTING} levels are accepted`);
  let node: MathNode;
  try {
    node = parse(text);
  } catch (err) {
    const e = err as Error & { char?: number };
    const msg = e.message.replace(/\s*\(char \d+\)\s*$/, '');
    fail(source, msg.charAt(0).toLowerCase() + msg.slice(1), typeof e.char === 'number' ? e.char : undefined);
  }
  const where = locateNodes(text, node);
  const symbols = new Set<string>();
  // One node at a time; mathjs's traverse visits them parent first (the first problem is reported),
  // with a function's name symbol passed as 'fn' (it is checked with its call, not as a symbol).
  const check = (n: MathNode & Record<string, any>) => {
    switch (n.type) {
      case 'ConstantNode':
        if (typeof n.value !== 'number' || !Number.isFinite(n.value))
          fail(source, `unsupported constant ${n.toString()}; expected a finite number`, where.get(n));
        if (numberProblem(n.value)) fail(source, `the constant ${numberProblem(n.value)}`, where.get(n));
        return;
      case 'SymbolNode':
        if (KNOWN.has(n.name)) fail(source, `function '${n.name}' used without an argument; write ${n.name}(z)`, where.get(n));
        if (!Object.hasOwn(NAMED_CONSTANTS, n.name)) symbols.add(n.name);
        return;
      case 'FunctionNode': {
        const name: string | undefined = n.fn?.type === 'SymbolNode' ? n.fn.name : undefined;
        if (!name) fail(source, 'only named functions can be called', where.get(n));
        if (!KNOWN.has(name))
          fail(source, `unknown function '${name}' (known: ${KNOWN_FUNCTIONS.join(', ')})`, where.get(n));
        return;
      }
      case 'ParenthesisNode':
        return;
      case 'OperatorNode':
        if (!['add', 'subtract', 'multiply', 'divide', 'pow', 'unaryMinus', 'unaryPlus'].includes(n.fn))
          fail(source, `unsupported operator '${n.op}'; use + - * / ^`, where.get(n));
        return;
      default:
        fail(source, `unsupported syntax (${n.type}); expected an arithmetic expression in z`);
    }
  };
  node.traverse((n, path) => {
    if (path !== 'fn') check(n as MathNode & Record<string, any>);
  });

  for (const name of symbols) {
    if (name in Object.prototype || name.startsWith('__'))
      fail(source, `parameter '${name}' is a name the expression evaluator reserves (a property of every JavaScript object); rename it (e.g. ${name.replace(/^_+/, '')}0)`);
    // A parameter given a value prints as that value; one left symbolic prints as its name.
    if (Object.hasOwn(RESERVED_SYMBOLS, name) && !Object.hasOwn(values, name))
      fail(source, `parameter '${name}' clashes with the symbol ${RESERVED_SYMBOLS[name]} printed in the rules; rename it (e.g. ${name}0)`);
  }
  for (const name of Object.keys(values)) {
    if (name === VARIABLE) fail(source, `'${VARIABLE}' is the variable and cannot be given a value`);
    if (!symbols.has(name)) {
      const free = [...symbols].filter((s) => s !== VARIABLE);
      fail(source, `parameter '${name}' does not occur (its parameters: ${free.length ? free.join(', ') : 'none'})`);
    }
    const problem = numberProblem(values[name]);
    if (problem) fail(source, `parameter '${name}' = ${problem}`);
  }
  const substituted = Object.keys(values).length ? substituteSymbols(node, values) : node;
  const parameters = [...symbols].filter((s) => s !== VARIABLE && !Object.hasOwn(values, s)).sort();
  return { source, text, original: node, node: substituted, parameters, values: Object.assign(Object.create(null) as Record<string, number>, values) };
}

/** Replace symbols by numeric constants (or other trees). */
export function substituteSymbols(node: MathNode, values: Readonly<Record<string, number | MathNode>>): MathNode {
  return node.transform((n: MathNode & Record<string, any>) => {
    if (n.type !== 'SymbolNode' || !Object.hasOwn(values, n.name)) return n;
    const v = values[n.name];
    if (typeof v !== 'number') return v;
    return v < 0 ? parse(`(${v})`) : parse(String(v));
  });
}

/**
 * Degree of a tree as a polynomial in z (an upper bound: cancellations are found later by exact
 * expansion), or the first part that is not polynomial, with its node. Parameters take `values`;
 * a parameter left symbolic may stand in coefficients but not in exponents.
 */
export function treeDegree(
  node: MathNode,
  values: Readonly<Record<string, number>> = {},
): { degree: number } | { reason: string; node: MathNode; divisionByZero?: true } {
  class NonPolynomial {
    constructor(
      readonly reason: string,
      readonly node: MathNode,
      readonly divisionByZero?: true,
    ) {}
  }
  const deg = (n: MathNode & Record<string, any>): number => {
    switch (n.type) {
      case 'ConstantNode':
        return 0;
      case 'SymbolNode':
        return n.name === VARIABLE ? 1 : 0;
      case 'ParenthesisNode':
        return deg(n.content);
      case 'FunctionNode': {
        const ds: number[] = n.args.map(deg);
        if (ds.every((d) => d === 0)) return 0;
        throw new NonPolynomial(`${n.fn.name}(…) of z`, n);
      }
      case 'OperatorNode': {
        const ds: number[] = n.args.map(deg);
        switch (n.fn) {
          case 'unaryMinus':
          case 'unaryPlus':
            return ds[0];
          case 'add':
          case 'subtract':
            return Math.max(...ds);
          case 'multiply':
            return ds.reduce((a, b) => a + b, 0);
          case 'divide': {
            if (ds[1] !== 0) throw new NonPolynomial('division by an expression in z', n);
            let d: unknown;
            try {
              d = n.args[1].evaluate({ ...NAMED_CONSTANTS, ...values });
            } catch {
              return ds[0]; // depends on symbolic parameters
            }
            if (d === 0) throw new NonPolynomial('division by zero', n, true);
            return ds[0];
          }
          case 'pow': {
            if (ds[0] === 0 && ds[1] === 0) return 0;
            if (ds[1] !== 0) throw new NonPolynomial('z in an exponent', n);
            let e: unknown;
            try {
              e = n.args[1].evaluate({ ...NAMED_CONSTANTS, ...values });
            } catch {
              throw new NonPolynomial('a symbolic exponent', n);
            }
            if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > 64)
              throw new NonPolynomial(`the exponent ${n.args[1].toString()} (a polynomial needs a whole number 0…64)`, n);
            return ds[0] * e;
          }
        }
      }
    }
    throw new NonPolynomial(`a ${n.type}`, n);
  };
  try {
    return { degree: deg(node as MathNode & Record<string, any>) };
  } catch (err) {
    if (err instanceof NonPolynomial) return { reason: err.reason, node: err.node, ...(err.divisionByZero ? { divisionByZero: true as const } : {}) };
    throw err;
  }
}

/**
 * Degree of an expression as a polynomial in z, or a description of the first non-polynomial part
 * with its column.
 */
export function polynomialDegree(expr: ParsedExpression): { degree: number } | { reason: string; column?: number } {
  const shape = treeDegree(expr.original, expr.values);
  if ('degree' in shape) return shape;
  const column = locateNodes(expr.text, expr.original).get(shape.node);
  if (shape.divisionByZero) fail(expr.source, 'division by zero', column);
  return { reason: shape.reason, column };
}
