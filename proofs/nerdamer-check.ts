/**
 * A second, slower route for small rules (docs/theory.md §Proofs): every moment is taken literally as
 * ∂^α exp(C(t)) at t = 0 with nerdamer's own calculus, the joint cumulant is assembled as text over
 * set partitions, and nerdamer expands (independent − rule). It shares no arithmetic with mgf.ts
 * (no Polynomial products, no recurrence), so an error in one engine shows up as a disagreement.
 */
import nerdamer from 'nerdamer-prime';
import { parse } from 'mathjs';
import { VARIABLE, substituteSymbols } from '../symbolic/expression.ts';
import { Polynomial } from '../symbolic/polynomial.ts';
import { factorial } from '../symbolic/rational.ts';
import type { TransferRule } from '../symbolic/rule.ts';
import { allSetPartitions, cumulantSymbol, meanSymbol } from './mgf.ts';

const tSymbol = (slot: number) => `t${slot}`;

/** C(t) = Σ_a m_a t_a + Σ_{r=2..K} (1/r!) Σ_{a_1..a_r} κ_{a_1..a_r} t_{a_1}⋯t_{a_r}, over all ordered tuples. */
export function cgfText(n: number, inputOrder: number): string {
  const parts: string[] = [];
  for (let a = 1; a <= n; a++) parts.push(`${meanSymbol(a)}*${tSymbol(a)}`);
  for (let r = 2; r <= inputOrder; r++) {
    const tuples: string[] = [];
    const rec = (slots: number[]) => {
      if (slots.length === r) {
        tuples.push([cumulantSymbol(slots), ...slots.map(tSymbol)].join('*'));
        return;
      }
      for (let a = 1; a <= n; a++) rec([...slots, a]);
    };
    rec([]);
    parts.push(`(1/${factorial(r)})*(${tuples.join('+')})`);
  }
  return parts.join('+');
}

const momentCache = new Map<string, string>();

/** E[z_1^{α_1} ⋯ z_n^{α_n}] = ∂_{t_1}^{α_1} ⋯ ∂_{t_n}^{α_n} exp(C(t)) at t = 0, expanded by nerdamer. */
export function nerdamerMoment(alpha: readonly number[], inputOrder: number): string {
  const n = alpha.length;
  const key = `${n}|${inputOrder}|${alpha.join(',')}`;
  const cached = momentCache.get(key);
  if (cached !== undefined) return cached;
  let expr = nerdamer(`e^(${cgfText(n, inputOrder)})`);
  alpha.forEach((e, a) => {
    if (e > 0) expr = nerdamer.diff(expr, tSymbol(a + 1), e);
  });
  const zero: Record<string, string> = {};
  for (let a = 1; a <= n; a++) zero[tSymbol(a)] = '0';
  const value = nerdamer(`expand(${nerdamer(expr.toString(), zero).toString()})`).toString();
  momentCache.set(key, value);
  return value;
}

export interface NerdamerCheck {
  readonly ok: boolean;
  readonly order: number;
  readonly inputOrder: number;
  readonly activation: string;
  /** The expanded difference as nerdamer prints it ("0" when the rule holds). */
  readonly difference: string;
  readonly moments: number;
  readonly elapsedMs: number;
}

/** Check one rule through nerdamer: expand(κ from ∂^α e^C − rule) must print as 0. */
export function nerdamerCrossCheck(rule: TransferRule): NerdamerCheck {
  const started = performance.now();
  const n = rule.order;
  const K = rule.inputOrder;
  const expr = rule.activation.expression;
  // Coefficients of φ(z) = Σ_p c_p z^p, read from the expression tree (not from b_q).
  const coefficients = Polynomial.fromMathNode(expr.node).coefficientsIn(VARIABLE).map((c) => `(${c.toString()})`);
  const used = new Set<string>();

  const expectation = (block: readonly number[]): string => {
    const terms: string[] = [];
    const powers = new Array<number>(n).fill(0);
    const rec = (k: number, factors: string[]) => {
      if (k === block.length) {
        const moment = nerdamerMoment(powers, K);
        used.add(powers.join(','));
        terms.push([...factors, `(${moment})`].join('*'));
        return;
      }
      coefficients.forEach((c, p) => {
        powers[block[k]] = p;
        rec(k + 1, [...factors, c]);
      });
      powers[block[k]] = 0;
    };
    rec(0, []);
    return `(${terms.join('+')})`;
  };

  const independent = allSetPartitions(n)
    .map((partition) => {
      const b = partition.length;
      const weight = `${b % 2 === 1 ? '' : '-'}${factorial(b - 1)}`;
      return [weight, ...partition.map(expectation)].join('*');
    })
    .join('+');

  const taylor = rule.activation.taylor;
  const ruleText =
    rule.terms
      .map((term) => {
        const factors = term.factors.map((f) => `(${substituteSymbols(taylor[f.q], { [VARIABLE]: parse(meanSymbol(f.slot + 1)) }).toString()})`);
        const cumulants = term.cumulants.map((c) => `${cumulantSymbol(c.slots.map((s) => s + 1))}^${c.power}`);
        return [`(${term.coefficient.toString()})`, ...factors, ...cumulants].join('*');
      })
      .join('+') || '0';

  const difference = nerdamer(`expand((${independent})-(${ruleText}))`).toString();
  return {
    ok: difference === '0',
    order: n,
    inputOrder: K,
    activation: expr.source,
    difference,
    moments: used.size,
    elapsedMs: performance.now() - started,
  };
}
