import { NAMED_CONSTANTS, VARIABLE } from '../symbolic/expression.ts';
import type { RuleShape, TransferRule } from '../symbolic/rule.ts';
import type { PolynomialActivation } from '../symbolic/taylor.ts';
import { fillSymmetric } from './tensor.ts';
import type { Cumulants } from './tensor.ts';

/** Per-term arrays, so the inner loop touches numbers only. */
interface CompiledTerm {
  coefficient: number;
  taylor: { q: number; slot: number }[];
  cumulants: { order: number; slots: number[]; power: number }[];
}

/**
 * Float64 reference evaluator of a transfer rule: the output cumulant tensor of order n for
 * concrete input cumulants, every index tuple, symmetric. Used to check compiled kernels and as
 * the `reference` backend.
 */
export function evaluateRule(rule: TransferRule, input: Cumulants): Float64Array {
  return evaluateTerms(rule, taylorTable(rule.activation, input.mean), input);
}

/**
 * The same for any rule in the IR, given its per-index table: perIndex[q][i] is the value of the
 * per-index factor q at unit i (b_q(μ_i), or g_q(i) under the Gaussian closure).
 */
export function evaluateTerms(rule: RuleShape, perIndex: readonly Float64Array[], input: Cumulants): Float64Array {
  const n = input.size;
  const taylorValues = perIndex;
  const terms: CompiledTerm[] = rule.terms
    .filter((t) => t.cumulants.every((c) => input.order(c.order) !== undefined))
    .map((t) => ({
      coefficient: t.coefficient.toNumber(),
      taylor: t.factors.map((f) => ({ q: f.q, slot: f.slot })),
      cumulants: t.cumulants.map((c) => ({ order: c.order, slots: [...c.slots], power: c.power })),
    }));
  const tensors = input.tensors;
  return fillSymmetric(n, rule.order, (tuple) => {
    let sum = 0;
    for (const term of terms) {
      let v = term.coefficient;
      for (const f of term.taylor) v *= taylorValues[f.q][tuple[f.slot]];
      for (const c of term.cumulants) {
        let o = 0;
        for (const s of c.slots) o = o * n + tuple[s];
        const x = tensors[c.order]![o];
        v *= c.power === 1 ? x : x ** c.power;
      }
      sum += v;
    }
    return sum;
  });
}

/**
 * One entry of a rule whose slots carry different per-index tables: tables[slot][q] is factor q at
 * the slot's unit (tuple[slot]). Cov(φ²(z_i), φ(z_j)) is the Mehler rule with g_q of φ² at one slot
 * and of φ at the other.
 */
export function evaluateEntry(rule: RuleShape, tables: readonly ArrayLike<number>[], tuple: readonly number[], input: Cumulants): number {
  const n = input.size;
  let sum = 0;
  for (const t of rule.terms) {
    if (!t.cumulants.every((c) => input.order(c.order) !== undefined)) continue;
    let v = t.coefficient.toNumber();
    for (const f of t.factors) v *= tables[f.slot][f.q];
    for (const c of t.cumulants) {
      let o = 0;
      for (const slot of c.slots) o = o * n + tuple[slot];
      const x = input.order(c.order)![o];
      v *= c.power === 1 ? x : x ** c.power;
    }
    sum += v;
  }
  return sum;
}

/** b_q(μ_i) for every q and unit i, evaluated from the activation's Taylor coefficient trees. */
export function taylorTable(act: PolynomialActivation, mean: Float64Array): Float64Array[] {
  if (act.expression.parameters.length > 0)
    throw new RangeError(`parameter${act.expression.parameters.length > 1 ? 's' : ''} ${act.expression.parameters.join(', ')} of "${act.expression.source}" need values`);
  return act.taylor.map((node) => {
    const f = node.compile();
    const out = new Float64Array(mean.length);
    for (let i = 0; i < mean.length; i++) out[i] = Number(f.evaluate({ ...NAMED_CONSTANTS, [VARIABLE]: mean[i] }));
    return out;
  });
}
