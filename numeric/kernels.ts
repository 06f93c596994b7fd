/**
 * Compilation of the rule IR into tfjs kernels (docs/theory.md §Polynomial activations). A kernel is a plain function of
 * tensors, backend-agnostic; callers run it inside tf.tidy. Layout: a batch of B distributions of
 * width N keeps its order-r cumulant as a tensor of shape [B, N, …, N] (r axes of length N).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathNode } from '../symbolic/math.ts';
import { NAMED_CONSTANTS, VARIABLE } from '../symbolic/expression.ts';
import type { RuleShape } from '../symbolic/rule.ts';

type Unary = (x: tf.Tensor) => tf.Tensor;

function dependsOnVariable(node: MathNode): boolean {
  return node.filter((n) => n.type === 'SymbolNode' && (n as unknown as { name: string }).name === VARIABLE).length > 0;
}

import { compileExpression, integerPower } from './tfjs-emitter.ts';

export { compileExpression, integerPower };

/**
 * Affine map of every order (docs/theory.md §Affine layers) for a batch: μ' = W μ + b, and the order-r cumulant by r
 * successive mode products. Each mode product contracts the last axis with Wᵀ as one plain 2-D
 * matMul ([B·N^{r−1}, N_in] × [N_in, N_out], the fast path of every backend; transposed operands
 * are an order of magnitude slower on wasm) and rotates the new axis to the front, so after r
 * steps the axes are back in order. The last rotation is skipped: the result is symmetric.
 * Covariances of wide layers take the blocked path of `covarianceTransform`.
 */
export function affineKernel(weightT: tf.Tensor2D, bias: tf.Tensor1D) {
  const [cols, rows] = weightT.shape;
  return {
    mean(mean: tf.Tensor): tf.Tensor {
      return tf.add(tf.matMul(mean as tf.Tensor2D, weightT), bias);
    },
    cumulant(kappa: tf.Tensor, r: number): tf.Tensor {
      return tf.tidy(() => {
        const blocks = r === 2 ? covarianceBlocks(rows) : 1;
        if (blocks > 1) return covarianceTransform(kappa, weightT, blocks);
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
      });
    },
  };
}

/**
 * Output blocks per side for W Σ Wᵀ: about one per 250 outputs, at most 8, dividing N_out evenly;
 * 1 (the plain path) for narrow layers.
 */
function covarianceBlocks(rows: number): number {
  for (let m = Math.min(8, Math.floor(rows / 250)); m >= 2; m--) if (rows % m === 0) return m;
  return 1;
}

/**
 * Σ' = W Σ Wᵀ for a batch [B, N_in, N_in] of symmetric Σ, computing only the blocks of Σ' on and
 * above the diagonal (m blocks per side: (m+1)/2m of the second product's work; at N = 1000, m = 4,
 * the transform takes ~12 % less time on wasm, transposes and concatenation included). With Wᵀ
 * split into column blocks Wᵀ_k: T_k = (Σ Wᵀ_k)ᵀ = W_k Σ (Σ is symmetric), Σ'_kj = T_k Wᵀ_j for
 * j ≥ k, and Σ'_jk = Σ'_kjᵀ. Every product is a plain 2-D matMul. Slices are contiguous and of the
 * weights only: a slice copies its whole source on wasm, and goes entry by entry on cpu when it is
 * not contiguous.
 */
function covarianceTransform(kappa: tf.Tensor, weightT: tf.Tensor2D, m: number): tf.Tensor {
  const [cols, rows] = weightT.shape;
  const batch = kappa.shape[0];
  const n = rows / m;
  const stacked = tf.transpose(tf.reshape(weightT, [cols, m, n]), [1, 0, 2]);
  const wT = Array.from({ length: m }, (_, k) => tf.reshape(tf.slice(stacked, [k, 0, 0], [1, cols, n]), [cols, n]) as tf.Tensor2D);
  const flat = tf.reshape(kappa, [-1, cols]) as tf.Tensor2D;
  // T_k as [B·n, N_in]: row (b, o) is W_o Σ_b for the outputs o of block k.
  const t = wT.map((w) => tf.reshape(tf.transpose(tf.reshape(tf.matMul(flat, w), [batch, cols, n]), [0, 2, 1]), [-1, cols]) as tf.Tensor2D);
  const block: tf.Tensor[][] = Array.from({ length: m }, () => []);
  for (let k = 0; k < m; k++)
    for (let j = k; j < m; j++) {
      block[k][j] = tf.reshape(tf.matMul(t[k], wT[j]), [batch, n, n]);
      if (j > k) block[j][k] = tf.transpose(block[k][j], [0, 2, 1]);
    }
  return tf.concat(block.map((row) => tf.concat(row, 2)), 1);
}

/**
 * A term as a multiset of factor keys: per-index vectors `b{q}@{slot}` and cumulant factors
 * `k{order}:{slots}` (a power p appears p times).
 */
interface PlanTerm {
  readonly coefficient: number;
  readonly factors: readonly string[];
}

type FactorInfo = { kind: 'taylor'; q: number; slot: number } | { kind: 'cumulant'; order: number; slots: readonly number[]; distinct: readonly number[] };

/**
 * A compiled transfer rule: given b_q(μ_i) as [B, N] tensors (index q) and the input cumulants as
 * [B, N, …] tensors (index = order, undefined = zero), returns the order-n output cumulant
 * [B, N, …, N]. Per-index factors are broadcast vectors; a cumulant factor with repeated slots is a
 * gathered generalized diagonal (T_ijj → M_ij = T[i, j, j]); powers are elementwise.
 *
 * The sum is evaluated in nested (Horner) form, the factor shared by most terms first:
 * b1_i b1_j Σ_ij + 2 b2_i b2_j Σ_ij² becomes Σ ⊙ (b1 ⊗ b1 + 2 (b2 ⊗ b2) ⊙ Σ), which saves the square
 * and one full-size product. Taylor coefficients that are constants (b_2 = a for z + a z²) come
 * from compileTaylor marked as such and are folded, in float64, into the term's coefficient: with
 * both, Cov(y) of z + a z² at K = 2 costs 4 full-size operations instead of 6. Every monomial still
 * meets at most one multiplication per further factor, one for its coefficient and T − 1 additions.
 */
export interface RuleKernel {
  readonly order: number;
  run(taylor: readonly tf.Tensor[], cumulants: readonly (tf.Tensor | undefined)[]): tf.Tensor;
}

export function compileRule(rule: RuleShape): RuleKernel {
  const n = rule.order;
  const info = new Map<string, FactorInfo>();
  const terms: PlanTerm[] = rule.terms.map((t) => {
    const factors: string[] = [];
    for (const f of t.factors) {
      const key = `b${f.q}@${f.slot}`;
      info.set(key, { kind: 'taylor', q: f.q, slot: f.slot });
      factors.push(key);
    }
    for (const c of t.cumulants) {
      const key = `k${c.order}:${c.slots.join(',')}`;
      info.set(key, { kind: 'cumulant', order: c.order, slots: c.slots, distinct: [...new Set(c.slots)] });
      for (let p = 0; p < c.power; p++) factors.push(key);
    }
    return { coefficient: t.coefficient.toNumber(), factors };
  });
  const gatherIndices = new Map<string, Int32Array>();
  return {
    order: n,
    run(taylor, cumulants) {
      return tf.tidy(() => evaluate(taylor, cumulants));
    },
  };

  function evaluate(taylor: readonly tf.Tensor[], cumulants: readonly (tf.Tensor | undefined)[]): tf.Tensor {
    const batch = taylor[0].shape[0];
    const width = taylor[0].shape[1]!;
    const full = [batch, ...new Array<number>(n).fill(width)];
    const live: PlanTerm[] = [];
    for (const term of terms) {
      let coefficient = term.coefficient;
      const factors: string[] = [];
      let present = true;
      for (const key of term.factors) {
        const f = info.get(key)!;
        if (f.kind === 'cumulant') {
          present &&= cumulants[f.order] !== undefined;
          factors.push(key);
        } else {
          const value = constantTaylor.get(taylor[f.q]);
          if (value === undefined) factors.push(key);
          else coefficient *= value;
        }
      }
      if (present && coefficient !== 0) live.push({ coefficient, factors });
    }
    // Factor tensors (broadcast shapes) and their powers, shared within this call.
    const tensors = new Map<string, tf.Tensor>();
    const factorSize = (key: string): number => {
      const f = info.get(key)!;
      return f.kind === 'taylor' ? width : width ** f.distinct.length;
    };
    const tensor = (key: string, power = 1): tf.Tensor => {
      const cacheKey = `${key}^${power}`;
      let t = tensors.get(cacheKey);
      if (t) return t;
      if (power > 1) t = integerPower(tensor(key), power);
      else {
        const f = info.get(key)!;
        if (f.kind === 'taylor') t = tf.reshape(taylor[f.q], full.map((d, axis) => (axis === 0 || axis === f.slot + 1 ? d : 1)));
        else {
          const source = cumulants[f.order]!;
          let base = source;
          if (f.distinct.length < f.order) {
            const ikey = `${f.slots.join(',')}/${width}`;
            let idx = gatherIndices.get(ikey);
            if (!idx) gatherIndices.set(ikey, (idx = diagonalOffsets(f.slots, f.distinct, width)));
            base = tf.gather(tf.reshape(source, [batch, -1]), tf.tensor1d(idx, 'int32'), 1);
          }
          t = tf.reshape(base, full.map((d, axis) => (axis === 0 || f.distinct.includes(axis - 1) ? d : 1)));
        }
      }
      tensors.set(cacheKey, t);
      return t;
    };
    // One term: its factors smallest first (per-index vectors before full tensors), the coefficient into the first.
    const product = (term: PlanTerm): tf.Tensor | number => {
      const powers = new Map<string, number>();
      for (const key of term.factors) powers.set(key, (powers.get(key) ?? 0) + 1);
      const parts = [...powers].map(([key, p]) => tensor(key, p)).sort((a, b) => a.size - b.size);
      if (parts.length === 0) return term.coefficient;
      let value = term.coefficient === 1 ? parts[0] : tf.mul(parts[0], term.coefficient);
      for (let k = 1; k < parts.length; k++) value = tf.mul(value, parts[k]);
      return value;
    };
    const add = (a: tf.Tensor | number, b: tf.Tensor | number): tf.Tensor | number =>
      typeof a === 'number' && typeof b === 'number' ? a + b : a === 0 ? b : b === 0 ? a : tf.add(a, b);
    const horner = (group: readonly PlanTerm[]): tf.Tensor | number => {
      if (group.length === 0) return 0;
      if (group.length === 1) return product(group[0]);
      const count = new Map<string, number>();
      for (const term of group) for (const key of new Set(term.factors)) count.set(key, (count.get(key) ?? 0) + 1);
      let best: string | undefined;
      for (const [key, c] of count) {
        if (c < 2) continue;
        const b = best === undefined ? 0 : count.get(best)!;
        if (c > b || (c === b && (factorSize(key) > factorSize(best!) || (factorSize(key) === factorSize(best!) && key < best!)))) best = key;
      }
      if (best === undefined) return group.map(product).reduce(add);
      const inner: PlanTerm[] = [];
      const rest: PlanTerm[] = [];
      for (const term of group) {
        const at = term.factors.indexOf(best);
        if (at < 0) rest.push(term);
        else inner.push({ coefficient: term.coefficient, factors: term.factors.filter((_, k) => k !== at) });
      }
      const quotient = horner(inner);
      const shared = quotient === 1 ? tensor(best) : tf.mul(tensor(best), quotient);
      return add(shared, horner(rest));
    };
    const sum = horner(live);
    if (typeof sum === 'number') return sum === 0 ? tf.zeros(full) : tf.fill(full, sum);
    return sum.shape.every((d, k) => d === full[k]) ? sum : tf.broadcastTo(sum, full);
  }
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

/** Taylor coefficient tensors made by compileTaylor that are constants (b_q free of μ), with their value. */
const constantTaylor = new WeakMap<tf.Tensor, number>();

/**
 * b_q(μ) for q = 0…d as [B, N] tensors, from the activation's Taylor coefficient trees. A constant
 * b_q is still a full [B, N] tensor, marked so that compiled rules fold it into coefficients.
 */
export function compileTaylor(taylor: readonly MathNode[]): (mean: tf.Tensor) => tf.Tensor[] {
  const fs = taylor.map((node): Unary => {
    if (dependsOnVariable(node)) return compileExpression(node);
    const value = Number(node.compile().evaluate({ ...NAMED_CONSTANTS }));
    if (!Number.isFinite(value)) throw new RangeError(`"${node.toString()}" evaluates to ${value}`);
    return (x) => {
      const t = tf.fill(x.shape, value);
      constantTaylor.set(t, value);
      return t;
    };
  });
  return (mean) => fs.map((f) => f(mean));
}
