/**
 * The tfjs (float32) target for expression trees: a known-functions table (the atoms tfjs has as
 * ops, plus Φ and φ in float32) and one walker; any other atom is compiled from its definition in
 * simpler functions (symbolic/atoms). Callers may overlay the table (the bivariate forms add Φ₂).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS, VARIABLE } from '../symbolic/expression.ts';
import { FLOAT64_FUNCTIONS, atomDefinition, atomNamed } from '../symbolic/atoms/index.ts';
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

interface AnyNode {
  type: string;
  name?: string;
  fn?: string | AnyNode;
  args?: MathNode[];
  content?: MathNode;
}

/** The float64 value of a tree free of the compiled symbols (NaN or ±∞ is an error). */
function constantValue(node: MathNode): number {
  const value = Number(node.compile().evaluate({ ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS }));
  if (!Number.isFinite(value)) throw new RangeError(`"${node.toString()}" evaluates to ${value}`);
  return value;
}

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

/**
 * Compile a tree in `symbols` (parameter values already substituted) into an elementwise tfjs
 * function of one tensor per symbol (broadcasting). Sub-trees free of the symbols are folded to
 * float64 constants first, so coefficients such as sqrt(b)/3 are exactly the numbers the reference
 * evaluator uses, rounded once to float32.
 */
/** A tree in z as an elementwise tfjs function (the activation φ of a layer). */
export function compileExpression(node: MathNode): (x: tf.Tensor) => tf.Tensor {
  const kernel = compileTree(node, [VARIABLE]);
  return (x) => kernel(x);
}

export function compileTree(node: MathNode, symbols: readonly string[], overlay: Readonly<Record<string, TensorFunction>> = {}): TensorKernel {
  const depends = (n: MathNode) => n.filter((s) => s.type === 'SymbolNode' && symbols.includes((s as unknown as AnyNode).name!)).length > 0;
  const lookup = (name: string): TensorFunction | undefined => overlay[name] ?? TF_FUNCTIONS[name];
  /** A symbol-free operand stays a scalar (broadcast by the op). */
  const operand = (n: MathNode): ((...x: tf.Tensor[]) => tf.Tensor | number) => {
    if (depends(n)) return rec(n);
    const value = constantValue(n);
    return () => value;
  };
  const rec = (node: MathNode): TensorKernel => {
    if (!depends(node)) {
      const value = constantValue(node);
      return (...x) => tf.fill(x[0].shape, value);
    }
    const n = node as unknown as AnyNode;
    switch (node.type) {
      case 'SymbolNode': {
        const k = symbols.indexOf(n.name!);
        return (...x) => x[k];
      }
      case 'ParenthesisNode':
        return rec(n.content!);
      case 'OperatorNode': {
        const args = n.args!;
        if (n.fn === 'unaryPlus') return rec(args[0]);
        if (n.fn === 'unaryMinus') {
          const a = rec(args[0]);
          return (...x) => tf.neg(a(...x));
        }
        if (n.fn === 'pow' && !depends(args[1])) {
          const base = rec(args[0]);
          const e = constantValue(args[1]);
          if (Number.isInteger(e) && e >= 1 && e <= 16) return (...x) => integerPower(base(...x), e);
          return (...x) => tf.pow(base(...x), e);
        }
        const [a, b] = args.map(operand);
        const ops: Record<string, (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor> = {
          add: tf.add, subtract: tf.sub, multiply: tf.mul, divide: tf.div, pow: tf.pow,
          smaller: tf.less, larger: tf.greater, smallerEq: tf.lessEqual, largerEq: tf.greaterEqual,
        };
        const op = ops[n.fn as string];
        if (!op) throw new RangeError(`no tfjs kernel for operator "${n.fn}"`);
        return (...x) => op(a(...x), b(...x));
      }
      case 'FunctionNode': {
        const name = (n.fn as AnyNode).name!;
        const atom = atomNamed(name);
        const f = lookup(name) ?? (atom && lookup(atom.name));
        if (!f) {
          if (!atom?.definition) throw new RangeError(`no tfjs kernel for function "${name}"`);
          return rec(atomDefinition(atom, n.args!));
        }
        const args = n.args!.map(operand);
        // Scalars become tensors here: the special functions of the table take tensors only.
        return (...x) => f(...args.map((a) => { const v = a(...x); return typeof v === 'number' ? tf.scalar(v) : v; }));
      }
      default:
        throw new RangeError(`no tfjs kernel for "${node.toString()}"`);
    }
  };
  return rec(node);
}
