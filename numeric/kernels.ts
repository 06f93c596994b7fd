/**
 * Compilation of the rule IR into tfjs kernels (DESIGN §6). A kernel is a plain function of
 * tensors, backend-agnostic; callers run it inside tf.tidy. Layout: a batch of B distributions of
 * width N keeps its order-r cumulant as a tensor of shape [B, N, …, N] (r axes of length N).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS, VARIABLE } from '../symbolic/expression.ts';
import type { CumulantFactor, TransferRule } from '../symbolic/rule.ts';

type Unary = (x: tf.Tensor) => tf.Tensor;

const SQRT1_2 = Math.SQRT1_2;
const sigmoid: Unary = (x) => tf.sigmoid(x);
/** tfjs counterparts of the functions an activation may call (symbolic/expression.ts KNOWN_FUNCTIONS). */
const TF_FUNCTIONS: Readonly<Record<string, (...args: tf.Tensor[]) => tf.Tensor>> = {
  abs: tf.abs, atan: tf.atan, cos: tf.cos, cosh: tf.cosh, erf: tf.erf, exp: tf.exp, log: tf.log, sin: tf.sin, sinh: tf.sinh,
  sqrt: tf.sqrt, tan: tf.tan, tanh: tf.tanh, sign: tf.sign, relu: tf.relu, elu: tf.elu, softplus: tf.softplus, sigmoid,
  silu: (x) => tf.mul(x, sigmoid(x)),
  swish: (x) => tf.mul(x, sigmoid(x)),
  // GELU(z) = z Φ(z) = z (1 + erf(z/√2)) / 2.
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, SQRT1_2)))),
  heaviside: (x) => tf.step(x),
  step: (x) => tf.step(x),
  max: (a, b) => tf.maximum(a, b),
  min: (a, b) => tf.minimum(a, b),
};

interface AnyNode {
  type: string;
  name?: string;
  fn?: string | AnyNode;
  args?: MathNode[];
  content?: MathNode;
}

function dependsOnVariable(node: MathNode): boolean {
  return node.filter((n) => n.type === 'SymbolNode' && (n as unknown as AnyNode).name === VARIABLE).length > 0;
}

/**
 * Compile an expression tree in z (parameter values already substituted) into an elementwise tfjs
 * function. Sub-trees free of z are folded to float64 constants first, so coefficients such as
 * sqrt(b)/3 are exactly the numbers the reference evaluator uses, rounded once to float32.
 */
export function compileExpression(node: MathNode): Unary {
  if (!dependsOnVariable(node)) {
    const value = Number(node.compile().evaluate({ ...NAMED_CONSTANTS }));
    if (!Number.isFinite(value)) throw new RangeError(`"${node.toString()}" evaluates to ${value}`);
    return (x) => tf.fill(x.shape, value);
  }
  const n = node as unknown as AnyNode;
  switch (node.type) {
    case 'SymbolNode':
      return (x) => x;
    case 'ParenthesisNode':
      return compileExpression(n.content!);
    case 'OperatorNode': {
      const args = n.args!;
      if (n.fn === 'unaryPlus') return compileExpression(args[0]);
      if (n.fn === 'unaryMinus') {
        const a = compileExpression(args[0]);
        return (x) => tf.neg(a(x));
      }
      if (n.fn === 'pow' && !dependsOnVariable(args[1])) {
        const base = compileExpression(args[0]);
        const e = Number(args[1].compile().evaluate({ ...NAMED_CONSTANTS }));
        if (Number.isInteger(e) && e >= 1 && e <= 16) return (x) => integerPower(base(x), e);
        return (x) => tf.pow(base(x), e);
      }
      const [a, b] = args.map((arg) => operand(arg));
      const ops: Record<string, (a: tf.Tensor | number, b: tf.Tensor | number) => tf.Tensor> = { add: tf.add, subtract: tf.sub, multiply: tf.mul, divide: tf.div, pow: tf.pow };
      const op = ops[n.fn as string];
      if (!op) throw new RangeError(`no tfjs kernel for operator "${n.fn}"`);
      return (x) => op(a(x), b(x));
    }
    case 'FunctionNode': {
      const name = (n.fn as AnyNode).name!;
      const f = TF_FUNCTIONS[name];
      if (!f) throw new RangeError(`no tfjs kernel for function "${name}"`);
      const args = n.args!.map((arg) => compileExpression(arg));
      return (x) => f(...args.map((a) => a(x)));
    }
    default:
      throw new RangeError(`no tfjs kernel for "${node.toString()}"`);
  }
}

/** Like compileExpression, but a z-free operand stays a scalar (broadcast by the op). */
function operand(node: MathNode): (x: tf.Tensor) => tf.Tensor | number {
  if (dependsOnVariable(node)) return compileExpression(node);
  const value = Number(node.compile().evaluate({ ...NAMED_CONSTANTS }));
  if (!Number.isFinite(value)) throw new RangeError(`"${node.toString()}" evaluates to ${value}`);
  return () => value;
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
 * Affine map of every order (DESIGN §3) for a batch: μ' = W μ + b, and the order-r cumulant by r
 * successive mode products. Each mode product contracts the last axis with Wᵀ as one plain 2-D
 * matMul ([B·N^{r−1}, N_in] × [N_in, N_out], the fast path of every backend; transposed operands
 * are an order of magnitude slower on wasm) and rotates the new axis to the front, so after r
 * steps the axes are back in order. The last rotation is skipped: the result is symmetric.
 */
export function affineKernel(weightT: tf.Tensor2D, bias: tf.Tensor1D) {
  const [cols, rows] = weightT.shape;
  return {
    mean(mean: tf.Tensor): tf.Tensor {
      return tf.add(tf.matMul(mean as tf.Tensor2D, weightT), bias);
    },
    cumulant(kappa: tf.Tensor, r: number): tf.Tensor {
      const batch = kappa.shape[0];
      let t = kappa;
      let dims = new Array<number>(r).fill(cols);
      for (let step = 0; step < r; step++) {
        const flat = tf.matMul(tf.reshape(t, [-1, cols]) as tf.Tensor2D, weightT);
        dims = [...dims.slice(0, r - 1), rows];
        t = tf.reshape(flat, [batch, ...dims]);
        if (step < r - 1) {
          t = tf.transpose(t, [0, r, ...Array.from({ length: r - 1 }, (_, k) => k + 1)]);
          dims = [rows, ...dims.slice(0, r - 1)];
        }
      }
      return t;
    },
  };
}

/** Per-term data, so the kernel touches tensors and numbers only. */
interface KernelTerm {
  coefficient: number;
  taylor: { q: number; slot: number }[];
  cumulants: CumulantFactor[];
}

/**
 * A compiled transfer rule: given b_q(μ_i) as [B, N] tensors (index q) and the input cumulants as
 * [B, N, …] tensors (index = order, undefined = zero), returns the order-n output cumulant
 * [B, N, …, N]. Per-index factors are broadcast vectors; a cumulant factor with repeated slots is a
 * gathered generalized diagonal (T_ijj → M_ij = T[i, j, j]); powers are elementwise.
 */
export interface RuleKernel {
  readonly order: number;
  run(taylor: readonly tf.Tensor[], cumulants: readonly (tf.Tensor | undefined)[]): tf.Tensor;
}

export function compileRule(rule: TransferRule): RuleKernel {
  const n = rule.order;
  const terms: KernelTerm[] = rule.terms.map((t) => ({
    coefficient: t.coefficient.toNumber(),
    taylor: t.factors.map((f) => ({ q: f.q, slot: f.slot })),
    cumulants: [...t.cumulants],
  }));
  const gatherIndices = new Map<string, Int32Array>();
  return {
    order: n,
    run(taylor, cumulants) {
      const batch = taylor[0].shape[0];
      const width = taylor[0].shape[1]!;
      const full = [batch, ...new Array<number>(n).fill(width)];
      // Gathered diagonals and their powers, shared by the terms of this call.
      const factorCache = new Map<string, tf.Tensor>();
      const factorTensor = (c: CumulantFactor): tf.Tensor => {
        const key = `${c.slots.join(',')}^${c.power}`;
        let t = factorCache.get(key);
        if (t) return t;
        const distinct = [...new Set(c.slots)];
        const source = cumulants[c.order]!;
        let base: tf.Tensor;
        if (distinct.length === c.order) base = source;
        else {
          const ikey = `${c.slots.join(',')}/${width}`;
          let idx = gatherIndices.get(ikey);
          if (!idx) gatherIndices.set(ikey, (idx = diagonalOffsets(c.slots, distinct, width)));
          base = tf.gather(tf.reshape(source, [batch, -1]), tf.tensor1d(idx, 'int32'), 1);
        }
        const shape = full.map((d, axis) => (axis === 0 || distinct.includes(axis - 1) ? d : 1));
        t = tf.reshape(base, shape);
        if (c.power > 1) t = integerPower(t, c.power);
        factorCache.set(key, t);
        return t;
      };
      const vectorShape = (slot: number) => full.map((d, axis) => (axis === 0 || axis === slot + 1 ? d : 1));
      let sum: tf.Tensor | undefined;
      for (const term of terms) {
        if (term.cumulants.some((c) => !cumulants[c.order])) continue;
        // Multiply the per-index vectors first (small), the coefficient into the first of them.
        const parts: tf.Tensor[] = term.taylor.map((f) => tf.reshape(taylor[f.q], vectorShape(f.slot)));
        for (const c of term.cumulants) parts.push(factorTensor(c));
        parts.sort((a, b) => a.size - b.size);
        let value: tf.Tensor = term.coefficient === 1 ? parts[0] : tf.mul(parts[0], term.coefficient);
        for (let k = 1; k < parts.length; k++) value = tf.mul(value, parts[k]);
        sum = sum ? tf.add(sum, value) : value;
      }
      if (!sum) return tf.zeros(full);
      return sum.shape.every((d, k) => d === full[k]) ? sum : tf.broadcastTo(sum, full);
    },
  };
}

/** Flat offsets into an N^r tensor of the entries κ[slots → index], over the grid of the distinct slots. */
function diagonalOffsets(slots: readonly number[], distinct: readonly number[], n: number): Int32Array {
  const u = distinct.length;
  const out = new Int32Array(n ** u);
  const idx = new Array<number>(u).fill(0);
  for (let g = 0; g < out.length; g++) {
    let o = 0;
    for (const s of slots) o = o * n + idx[distinct.indexOf(s)];
    out[g] = o;
    for (let k = u - 1; k >= 0; k--) {
      if (++idx[k] < n) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** b_q(μ) for q = 0…d as [B, N] tensors, from the activation's Taylor coefficient trees. */
export function compileTaylor(taylor: readonly MathNode[]): (mean: tf.Tensor) => tf.Tensor[] {
  const fs = taylor.map((node) => compileExpression(node));
  return (mean) => fs.map((f) => f(mean));
}
