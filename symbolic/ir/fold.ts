/**
 * The one walk over expression trees. Every target — printed text and LaTeX, source code for other
 * tools, float32 tfjs kernels, Taylor-mode series — is a table of what it does per node kind
 * (constants, symbols, operators, its known functions) plus a few overrides, as SymPy's printers
 * are one `_print` dispatch over `_print_<Class>` methods and known-functions tables. What every
 * target does alike lives here once: parentheses and unary plus are transparent; sub-trees free of
 * variables are evaluated once in float64 where the target folds constants (so a tfjs kernel, a
 * series and emitted code use the very same numbers as the reference evaluator); and a function the
 * target's table lacks is expanded through its definition in the atom registry (symbolic/atoms), or
 * by the target's own policy (series: an antiderivative from the atom's derivative rule).
 */
import { atomDefinition, atomNamed, type AtomSpec } from '../atoms/index.ts';
import { NAMED_CONSTANTS } from '../expression.ts';
import type { MathNode } from '../math.ts';

/** Binary operators of the expression vocabulary (comparisons only inside where(…)). */
export type BinaryOperator = 'add' | 'subtract' | 'multiply' | 'divide' | 'pow' | 'smaller' | 'larger' | 'smallerEq' | 'largerEq';

/** One summand of a flattened sum: a − (b − c) is +a, −b, +c. */
export interface SignedTerm<T> {
  readonly sign: 1 | -1;
  readonly value: T;
}

/** What a target does per node kind; T is what it makes of a sub-tree (text, a kernel, a series). */
export interface TreeTarget<T> {
  /** How messages name the target ("the NumPy printer", "Taylor arithmetic"). */
  readonly name: string;
  constant(value: number): T;
  /** A symbol the environment does not bind: a named constant (π, e) or a parameter. */
  symbol(name: string): T;
  negate(a: T): T;
  /** The target's binary operators; one it lacks is reported, not guessed. */
  readonly operators: Readonly<Partial<Record<BinaryOperator, (a: T, b: T) => T>>>;
  /** a^p for an exponent free of variables (folded to p); absent: operators.pow with the exponent walked. */
  powConst?(a: T, p: number): T;
  /** A whole sum at once, its nested sums, differences and negations flattened (printers' a − b + c). */
  sum?(terms: readonly SignedTerm<T>[]): T;
  /** The target's own implementation of a function (its known-functions table), or undefined. */
  function(name: string): ((args: readonly T[]) => T) | undefined;
  /**
   * A function the table lacks; undefined to expand it through its atom's definition (the default).
   * `args` are the arguments already walked; `walk` walks another tree in another environment.
   */
  expand?(name: string, atom: AtomSpec | undefined, args: readonly T[], walk: (node: MathNode, bound: (name: string) => T | undefined) => T): T | undefined;
  /**
   * Constant folding: the float64 functions sub-trees free of variables are evaluated with, and what
   * a non-finite value means ('throw' it as an error, or 'keep' the sub-tree as written). Absent: a
   * target that prints trees as written (text, LaTeX) folds nothing.
   */
  readonly folding?: { readonly scope: Readonly<Record<string, unknown>>; readonly nonFinite: 'throw' | 'keep' };
  /** A sub-tree the target takes whole (emitted series: one free of the expansion variable), if any. */
  leaf?(node: MathNode, bound: (name: string) => T | undefined): T | undefined;
}

interface AnyNode {
  type: string;
  name?: string;
  value?: unknown;
  fn?: string | { name: string };
  args?: MathNode[];
  content?: MathNode;
}
const view = (n: MathNode) => n as unknown as AnyNode;

/** Definitions refer to one another (gelu → Φ → erfc); deeper than this is a cycle in the registry. */
const MAX_EXPANSION_DEPTH = 16;

/** Whether a tree has no symbols but named constants (a function's name is not a symbol). */
const freeCache = new WeakMap<MathNode, boolean>();
export function isConstantTree(node: MathNode): boolean {
  let free = freeCache.get(node);
  if (free !== undefined) return free;
  const v = view(node);
  if (v.type === 'SymbolNode') free = Object.hasOwn(NAMED_CONSTANTS, v.name!);
  else if (v.type === 'ConstantNode') free = true;
  else if (v.type === 'ParenthesisNode') free = isConstantTree(v.content!);
  else if (v.type === 'OperatorNode' || v.type === 'FunctionNode') free = v.args!.every(isConstantTree);
  else free = false;
  freeCache.set(node, free);
  return free;
}

/** float64 values of constant sub-trees, per scope of functions (trees and scopes are long-lived). */
const values = new WeakMap<object, WeakMap<MathNode, number>>();
/** The float64 value of a tree free of variables, the functions taken from `scope`. */
export function constantValue(node: MathNode, scope: Readonly<Record<string, unknown>>): number {
  let byNode = values.get(scope);
  if (!byNode) values.set(scope, (byNode = new WeakMap()));
  let value = byNode.get(node);
  if (value === undefined) byNode.set(node, (value = Number(node.compile().evaluate({ ...scope, ...NAMED_CONSTANTS }))));
  return value;
}

/**
 * Walk `node` for `target`; `bound` gives the target's value of each variable (symbols it leaves
 * undefined go to target.symbol).
 */
export function foldTree<T>(node: MathNode, target: TreeTarget<T>, bound: (name: string) => T | undefined): T {
  return fold(node, target, bound, 0);
}

/** foldTree inside `depth` expansions of definitions. */
function fold<T>(node: MathNode, target: TreeTarget<T>, bound: (name: string) => T | undefined, depth: number): T {
  const walkIn = (tree: MathNode, inner: (name: string) => T | undefined) => fold(tree, target, inner, depth + 1);

  /** The folded value of a compound constant sub-tree, or undefined where the target keeps it as written. */
  const folded = (n: MathNode): number | undefined => {
    const f = target.folding;
    const type = view(n).type;
    if (!f || (type !== 'OperatorNode' && type !== 'FunctionNode' && type !== 'ParenthesisNode') || !isConstantTree(n)) return undefined;
    const value = constantValue(n, f.scope);
    if (Number.isFinite(value)) return value;
    if (f.nonFinite === 'throw') throw new RangeError(`"${n.toString()}" evaluates to ${value}`);
    return undefined;
  };

  const terms = (n: MathNode, sign: 1 | -1, out: SignedTerm<T>[], level = depth): SignedTerm<T>[] => {
    const v = view(n);
    const flip: 1 | -1 = sign === 1 ? -1 : 1;
    const value = folded(n) ?? (v.type === 'ConstantNode' ? Number(v.value) : undefined);
    const name = v.type === 'FunctionNode' ? (v.fn as { name: string }).name : undefined;
    if (value !== undefined) out.push(value < 0 ? { sign: flip, value: target.constant(-value) } : { sign, value: target.constant(value) });
    // A function the target lacks joins the sum as its definition does: a − softplus(z) is a − max(z, 0) − log1p(…).
    else if (name !== undefined && !target.expand && !target.function(name)) terms(definition(name, v.args!, level), sign, out, level + 1);
    else if (v.type === 'ParenthesisNode') terms(v.content!, sign, out, level);
    else if (v.type === 'OperatorNode' && (v.fn === 'add' || v.fn === 'subtract') && v.args!.length === 2) {
      terms(v.args![0], sign, out, level);
      terms(v.args![1], v.fn === 'subtract' ? flip : sign, out, level);
    } else if (v.type === 'OperatorNode' && v.fn === 'unaryMinus') terms(v.args![0], flip, out, level);
    else out.push({ sign, value: walk(n) });
    return out;
  };

  /** The atom's definition applied to `args` (the default expansion of a function the target lacks). */
  const definition = (name: string, args: readonly MathNode[], level: number): MathNode => {
    const atom = atomNamed(name);
    if (!atom?.definition) throw new RangeError(`${target.name} knows no function "${name}" and the atom registry gives no definition of it`);
    if (level > MAX_EXPANSION_DEPTH) throw new Error(`internal: the definitions of "${name}" refer to one another in a cycle`);
    return atomDefinition(atom, args);
  };

  const operator = (fn: string, args: readonly MathNode[]): T => {
    if (fn === 'unaryPlus') return walk(args[0]);
    if (fn === 'unaryMinus') return target.negate(walk(args[0]));
    if ((fn === 'add' || fn === 'subtract') && target.sum && args.length === 2)
      return target.sum(terms(args[1], fn === 'subtract' ? -1 : 1, terms(args[0], 1, [])));
    const f = target.operators[fn as BinaryOperator];
    if (!f) throw new RangeError(`${target.name} has no operator "${fn}"`);
    if (fn === 'pow' && target.powConst) {
      const p = exponent(args[1]);
      if (p !== undefined) return target.powConst(walk(args[0]), p);
    }
    // mathjs reads a + b + c as nested pairs; an n-ary node (built in code) folds left to right.
    return args.slice(1).reduce((acc, a) => f(acc, walk(a)), walk(args[0]));
  };
  /** An exponent free of variables, as a number (2, −1.5, π, sqrt(2)), else undefined. */
  const exponent = (n: MathNode): number | undefined => {
    const v = view(n);
    if (v.type === 'ConstantNode') return Number(v.value);
    if (v.type === 'SymbolNode' && bound(v.name!) === undefined && Object.hasOwn(NAMED_CONSTANTS, v.name!)) return NAMED_CONSTANTS[v.name!];
    return folded(n);
  };

  const call = (name: string, args: readonly MathNode[]): T => {
    const own = target.function(name);
    if (own) return own(args.map(walk));
    if (target.expand) {
      const expanded = target.expand(name, atomNamed(name), args.map(walk), walkIn);
      if (expanded !== undefined) return expanded;
    }
    return walkIn(definition(name, args, depth), bound);
  };

  const walk = (n: MathNode): T => {
    const value = folded(n);
    if (value !== undefined) return target.constant(value);
    const leaf = target.leaf?.(n, bound);
    if (leaf !== undefined) return leaf;
    const v = view(n);
    switch (v.type) {
      case 'ConstantNode':
        return target.constant(Number(v.value));
      case 'SymbolNode':
        return bound(v.name!) ?? target.symbol(v.name!);
      case 'ParenthesisNode':
        return walk(v.content!);
      case 'OperatorNode':
        return operator(v.fn as string, v.args!);
      case 'FunctionNode':
        return call((v.fn as { name: string }).name, v.args!);
    }
    throw new RangeError(`${target.name} cannot take a ${v.type} ("${n.toString()}")`);
  };
  return walk(node);
}
