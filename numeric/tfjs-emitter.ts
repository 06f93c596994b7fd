/**
 * The tfjs (float32) target for expression trees: a known-functions table (the atoms tfjs has as
 * ops, plus Φ and φ in float32) over the one tree walk (symbolic/ir/fold.ts); any other atom is
 * compiled from its definition in simpler functions (symbolic/atoms). Callers may overlay the table
 * (the bivariate forms add Φ₂).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS, VARIABLE } from '../symbolic/expression.ts';
import { FLOAT64_FUNCTIONS, atomNamed } from '../symbolic/atoms/index.ts';
import { foldTree, type BinaryOperator, type TreeTarget } from '../symbolic/ir/fold.ts';
import { normalCdfTensor, normalPdfTensor } from './special-tensor.ts';

export type TensorFunction = (...args: tf.Tensor[]) => tf.Tensor;
export type TensorKernel = (...inputs: tf.Tensor[]) => tf.Tensor;

export const TF_FUNCTIONS: Readonly<Record<string, TensorFunction>> = {
  abs: tf.abs, atan: tf.atan, cos: tf.cos, cosh: tf.cosh, erf: tf.erf, exp: tf.exp, log: tf.log, sin: tf.sin, sinh: tf.sinh,
  sqrt: tf.sqrt, tan: tf.tan, tanh: tf.tanh, sign: tf.sign, relu: tf.relu, elu: tf.elu, softplus: tf.softplus,
  sigmoid: (x) => tf.sigmoid(x),
  heaviside: (x) => tf.step(x),
  max: (a, b) => tf.maximum(a, b),
  min: (a, b) => tf.minimum(a, b),
  Phi: normalCdfTensor,
  phi: normalPdfTensor,
  asin: tf.asin,
  where: (c, a, b) => tf.where(c, a, b),
};

/** A compiled sub-tree: a tensor, or a plain number where the sub-tree is free of the symbols (broadcast by the op). */
type Compiled = (...x: tf.Tensor[]) => tf.Tensor | number;

const OPERATORS: Readonly<Record<BinaryOperator, (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor>> = {
  add: tf.add, subtract: tf.sub, multiply: tf.mul, divide: tf.div, pow: tf.pow,
  smaller: tf.less, larger: tf.greater, smallerEq: tf.lessEqual, largerEq: tf.greaterEqual,
};

/** x^e by repeated squaring. */
export function integerPower(x: tf.Tensor, e: number): tf.Tensor {
  let result: tf.Tensor | undefined;
  let base = x;
  for (let k = e; k > 0; k >>= 1) {
    if (k & 1) result = result ? tf.mul(result, base) : base;
    if (k > 1) base = tf.mul(base, base);
  }
  return result!;
}

/** The tfjs target of the tree walk (symbolic/ir/fold.ts), its table overlaid by `overlay`. */
function tfjsTarget(overlay: Readonly<Record<string, TensorFunction>>): TreeTarget<Compiled> {
  const lookup = (name: string): TensorFunction | undefined => overlay[name] ?? TF_FUNCTIONS[name];
  const binary = (op: (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor) => (a: Compiled, b: Compiled): Compiled => (...x) => op(a(...x), b(...x));
  return {
    name: 'the tfjs target',
    constant: (value) => () => value,
    symbol: (name) => {
      const value = NAMED_CONSTANTS[name];
      if (value === undefined) throw new RangeError(`no tfjs kernel for the symbol "${name}": give every parameter a value`);
      return () => value;
    },
    negate: (a) => (...x) => tf.neg(a(...x)),
    operators: Object.fromEntries(Object.entries(OPERATORS).map(([fn, op]) => [fn, binary(op)])),
    // Small integer powers by repeated squaring.
    powConst: (base, e) => (Number.isInteger(e) && e >= 1 && e <= 16 ? (...x) => integerPower(base(...x) as tf.Tensor, e) : (...x) => tf.pow(base(...x), e)),
    function: (name) => {
      const atom = atomNamed(name);
      const f = lookup(name) ?? (atom && lookup(atom.name));
      // Scalars become tensors here: the special functions of the table take tensors only.
      return f && ((args) => (...x) => f(...args.map((a) => { const v = a(...x); return typeof v === 'number' ? tf.scalar(v) : v; })));
    },
    folding: { scope: FLOAT64_FUNCTIONS, nonFinite: 'throw' },
  };
}

/** A tree in z as an elementwise tfjs function (the activation φ of a layer). */
export function compileExpression(node: MathNode): (x: tf.Tensor) => tf.Tensor {
  const kernel = compileTree(node, [VARIABLE]);
  return (x) => kernel(x);
}

/**
 * Compile a tree in `symbols` (parameter values already substituted) into an elementwise tfjs
 * function of one tensor per symbol (broadcasting). Sub-trees free of the symbols are folded to
 * float64 constants first, so coefficients such as sqrt(b)/3 are exactly the numbers the reference
 * evaluator uses, rounded once to float32.
 */
export function compileTree(node: MathNode, symbols: readonly string[], overlay: Readonly<Record<string, TensorFunction>> = {}): TensorKernel {
  const bound = (name: string): Compiled | undefined => {
    const k = symbols.indexOf(name);
    return k < 0 ? undefined : (...x) => x[k];
  };
  const kernel = foldTree(node, tfjsTarget(overlay), bound);
  return (...x) => {
    const value = kernel(...x);
    return typeof value === 'number' ? tf.fill(x[0].shape, value) : value;
  };
}
