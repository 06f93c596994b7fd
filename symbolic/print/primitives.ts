/**
 * Activation atoms written in primitive functions, for targets that have no function of that name:
 * one tree per atom, shared by every code target (a target whose table names the function natively,
 * such as SciPy's ndtr for Φ, prints its own). `ifpositive(x, a, b)` is a where x > 0 takes a, else b,
 * following corrmap's conventions (heaviside(0) = 0, elu with α = 1, gelu(z) = z Φ(z)).
 */
import { parse, type MathNode } from '../math.ts';

const DEFINITIONS: Readonly<Record<string, string>> = {
  relu: 'max(x, 0)',
  heaviside: 'ifpositive(x, 1, 0)',
  step: 'heaviside(x)',
  sign: 'ifpositive(x, 1, 0) - ifpositive(-x, 1, 0)',
  phi: 'exp(-(x ^ 2) / 2) / sqrt(2 * pi)',
  Phi: 'erfc(-x / sqrt(2)) / 2',
  gelu: 'x * Phi(x)',
  sigmoid: 'ifpositive(x, 1 / (1 + exp(-x)), exp(x) / (1 + exp(x)))',
  silu: 'x * sigmoid(x)',
  swish: 'silu(x)',
  softplus: 'max(x, 0) + log1p(exp(-abs(x)))',
  elu: 'ifpositive(x, x, expm1(min(x, 0)))',
};

const trees = new Map<string, MathNode>();

/** The definition of `name` in primitives, as a tree in the symbol x; undefined for a primitive. */
export function primitiveDefinition(name: string): MathNode | undefined {
  const text = DEFINITIONS[name];
  if (text === undefined) return undefined;
  let tree = trees.get(name);
  if (!tree) trees.set(name, (tree = parse(text)));
  return tree;
}
