import { blockPatternsUpToPermutation, countBlockPatterns } from './partitions.ts';
import { InputError } from './errors.ts';
import { Rational } from './rational.ts';
import type { PolynomialActivation } from './taylor.ts';

/**
 * A per-index factor: entry q of the layer's per-index table at output index `slot`: the Taylor
 * coefficient b_q(μ_i) of a polynomial φ (kind 'taylor'), or g_q(i) = E[φ^{(q)}(z_i)] under the
 * Gaussian closure (kind 'smoothed', symbolic/gaussian.ts).
 */
export interface TaylorFactor {
  readonly kind: 'taylor' | 'smoothed';
  readonly q: number;
  readonly slot: number;
}

/** κ_order(z_{i_{s1}}, …, z_{i_{s_order}})^power, slots sorted (a symmetric tensor entry). */
export interface CumulantFactor {
  readonly order: number;
  readonly slots: readonly number[];
  readonly power: number;
}

/** One term: coefficient × per-index factors × cumulant factors (docs/theory.md §Polynomial activations). */
export interface RuleTerm {
  readonly coefficient: Rational;
  readonly factors: readonly TaylorFactor[];
  readonly cumulants: readonly CumulantFactor[];
}

/**
 * A transfer rule: the output cumulant κ(y_{i_1}, …, y_{i_n}) of y = φ(z) in terms of the input
 * cumulants of z up to order K. Formal indices: the rule holds whether or not indices coincide.
 */
export interface TransferRule {
  readonly activation: PolynomialActivation;
  /** Output cumulant order n (1 = mean). */
  readonly order: number;
  /** Highest input cumulant kept, K (2 = Gaussian closure). */
  readonly inputOrder: number;
  readonly indices: readonly string[];
  readonly terms: readonly RuleTerm[];
  /** True when K ≥ d·n: the rule is exact for any input distribution. */
  readonly exact: boolean;
}

/** What printers, kernels and evaluators read of a rule. */
export type RuleShape = Pick<TransferRule, 'order' | 'indices' | 'terms'>;

/** Output orders supported: rules of order 5 and more run to 10^4…10^6 terms. */
export const MAX_OUTPUT_ORDER = 4;
export const MAX_INPUT_ORDER = 8;
const INDEX_NAMES = ['i', 'j', 'k', 'l', 'm', 'p', 'r', 's'];

/**
 * What deriving a rule costs, measured on the enumeration in transferRule: bytes held per term (the
 * term with its interned factors, plus its printed text) and seconds per term.
 */
export const RULE_COST = { bytesPerTerm: 1000, secondsPerTerm: 6e-5, bytesPerTuple: 200, secondsPerTuple: 1e-4 } as const;
/** Default memory a rule may take (raise it with --max-memory). */
export const DEFAULT_MAX_MEMORY = 4e9;

/**
 * Number of terms of transferRule(φ of degree d, order, K), counted from the diagram classes
 * without building them (symbolic/partitions.ts countBlockPatterns); stops counting, and returns
 * a number above `stopAbove`, as soon as the count passes it, and Infinity when counting itself
 * takes more than `maxWork` steps (about a second).
 */
export function ruleTermCount(degree: number, order: number, inputOrder: number, stopAbove = Infinity, maxWork = 3e7): number {
  const work = { done: 0 };
  const lo = order === 1 ? 0 : 1;
  if (inputOrder < 2) degree = 0;
  if (degree < lo) return 0;
  let count = 0;
  const q = new Array<number>(order);
  // Non-increasing tuples by total degree (cheapest first), each standing for its permutations.
  for (let total = lo * order; total <= degree * order; total++) {
    const visit = (k: number, left: number, max: number): boolean => {
      if (k === order) {
        if (left !== 0) return true;
        const classes = countBlockPatterns(q, inputOrder, true, maxWork, work);
        count += classes * permutations(q);
        // A count that takes this long belongs to a rule far beyond any memory limit: stop.
        if (work.done > maxWork) count = Infinity;
        return count <= stopAbove;
      }
      for (let v = Math.min(max, left - lo * (order - k - 1)); v >= lo && v * (order - k) >= left; v--) {
        q[k] = v;
        if (!visit(k + 1, left - v, v)) return false;
      }
      return true;
    };
    if (!visit(0, total, degree)) return count;
  }
  return count;
}

function permutations(q: readonly number[]): number {
  let p = 1;
  for (let k = 2; k <= q.length; k++) p *= k;
  const runs = new Map<number, number>();
  for (const v of q) runs.set(v, (runs.get(v) ?? 0) + 1);
  for (const m of runs.values()) for (let k = 2; k <= m; k++) p /= k;
  return p;
}

/** Memory and time a rule would take, for a clear error before any work when it is too large. */
export function ruleCost(degree: number, order: number, inputOrder: number, maxBytes = DEFAULT_MAX_MEMORY): RuleCost {
  // Asked for again by checkRuleCost before each rule is derived: counted once.
  const key = `${degree}:${order}:${inputOrder}:${maxBytes}`;
  let cost = ruleCosts.get(key);
  if (!cost) ruleCosts.set(key, (cost = countedRuleCost(degree, order, inputOrder, maxBytes)));
  return cost;
}
type RuleCost = Readonly<{ terms: number; bytes: number; seconds: number; fits: boolean }>;
const ruleCosts = new Map<string, RuleCost>();

function countedRuleCost(degree: number, order: number, inputOrder: number, maxBytes: number): RuleCost {
  // Every exponent tuple q ∈ {lo…d}^n is visited once, with or without terms.
  const tuples = inputOrder < 2 ? 1 : (degree + (order === 1 ? 1 : 0)) ** order;
  const fixed = tuples * RULE_COST.bytesPerTuple;
  const maxTerms = Math.max(0, (maxBytes - fixed) / RULE_COST.bytesPerTerm);
  const terms = fixed > maxBytes ? Infinity : ruleTermCount(degree, order, inputOrder, maxTerms);
  return { terms, bytes: fixed + terms * RULE_COST.bytesPerTerm, seconds: tuples * RULE_COST.secondsPerTuple + terms * RULE_COST.secondsPerTerm, fits: terms <= maxTerms };
}

/** Bytes as text: 1.5 GB, 300 MB. */
export function bytesText(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unbounded';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let k = 0;
  while (bytes >= 1000 && k < units.length - 1) {
    bytes /= 1000;
    k++;
  }
  return `${Number(bytes.toPrecision(3))} ${units[k]}`;
}

/** Throws an input error naming the rule, its size and the limit when it would not fit in maxBytes. */
export function checkRuleCost(degree: number, order: number, inputOrder: number, maxBytes = DEFAULT_MAX_MEMORY): void {
  const cost = ruleCost(degree, order, inputOrder, maxBytes);
  if (cost.fits) return;
  throw new InputError(
    `the order-${order} rule of a degree-${degree} polynomial with input order K = ${inputOrder} has ${Number.isFinite(cost.terms) ? `more than ${Math.floor(cost.terms - 1).toLocaleString('en')} terms` : 'too many terms to count in a second'} ` +
      `(over ${bytesText(Math.min(cost.bytes, maxBytes))} and ${Math.round(Math.min(cost.seconds, 1e6))} s to derive; limit --max-memory ${bytesText(maxBytes)}); lower --order or --input-order, or raise --max-memory`,
  );
}

/** Highest input cumulant order a rule can use: blocks hold at most d·n legs. */
export function requiredInputOrder(degree: number, order: number): number {
  return Math.max(1, degree * order);
}

/**
 * The exact transfer rule for a polynomial activation (docs/theory.md §Polynomial activations). Mean: E[y_i] = Σ_q b_q(μ_i) E[δ_i^q]
 * with E[δ^q] over all partitions into blocks of size ≥ 2. Order n ≥ 2: Σ over q_1…q_n ≥ 1 of
 * Π b_{q_k}(μ_{i_k}) times the connected diagrams of κ(δ_{i_1}^{q_1}, …, δ_{i_n}^{q_n})
 * (Leonov–Shiryaev); blocks larger than K are dropped.
 */
export function transferRule(activation: PolynomialActivation, order: number, inputOrder: number, maxBytes = DEFAULT_MAX_MEMORY): TransferRule {
  if (!Number.isInteger(order) || order < 1 || order > MAX_OUTPUT_ORDER)
    throw new RangeError(`output order must be an integer 1…${MAX_OUTPUT_ORDER}, got ${order}`);
  if (!Number.isInteger(inputOrder) || inputOrder < 1 || inputOrder > MAX_INPUT_ORDER)
    throw new RangeError(`input order must be an integer 1…${MAX_INPUT_ORDER}, got ${inputOrder}`);
  const d = activation.degree;
  checkRuleCost(d, order, inputOrder, maxBytes);
  const terms: RuleTerm[] = [];
  // Large rules share few distinct factors: intern them (a degree-4, n = 4, K = 8 rule has 757k terms).
  const cumulantFactors = new Map<string, CumulantFactor>();
  const coefficients = new Map<bigint, Rational>();
  // With K = 1 no diagram has a block (blocks hold 2…K legs): only b_0 survives, in the mean.
  for (const q of exponentTuples(order, order === 1 ? 0 : 1, inputOrder < 2 ? 0 : d)) {
    const factors: TaylorFactor[] = q.map((qk, slot) => ({ kind: 'taylor', q: qk, slot }));
    const { patterns, vertexPosition } = blockPatternsUpToPermutation(q, inputOrder);
    for (const pattern of patterns) {
      const cumulants = pattern.blocks.map((b) => {
        let key = `${b.multiplicity}:`;
        for (const pos of vertexPosition) key += b.counts[pos];
        let factor = cumulantFactors.get(key);
        if (!factor) {
          const slots: number[] = [];
          vertexPosition.forEach((pos, slot) => {
            for (let c = 0; c < b.counts[pos]; c++) slots.push(slot);
          });
          factor = { order: slots.length, slots, power: b.multiplicity };
          cumulantFactors.set(key, factor);
        }
        return factor;
      });
      cumulants.sort(compareCumulants);
      let coefficient = coefficients.get(pattern.exactWeight);
      if (!coefficient) coefficients.set(pattern.exactWeight, (coefficient = Rational.of(pattern.exactWeight)));
      terms.push({ coefficient, factors, cumulants });
    }
  }
  return {
    activation,
    order,
    inputOrder,
    indices: INDEX_NAMES.slice(0, order),
    terms,
    exact: inputOrder >= requiredInputOrder(d, order),
  };
}

/** All q ∈ {lo…hi}^n, by total degree, then lexicographically. */
function exponentTuples(n: number, lo: number, hi: number): number[][] {
  const out: number[][] = [];
  const q = new Array<number>(n).fill(lo);
  const rec = (k: number) => {
    if (k === n) {
      out.push([...q]);
      return;
    }
    for (let v = lo; v <= hi; v++) {
      q[k] = v;
      rec(k + 1);
    }
  };
  if (hi >= lo) rec(0);
  const total = (t: number[]) => t.reduce((a, b) => a + b, 0);
  return out.sort((a, b) => total(a) - total(b));
}

function compareCumulants(a: CumulantFactor, b: CumulantFactor): number {
  if (a.order !== b.order) return a.order - b.order;
  for (let k = 0; k < a.slots.length; k++) if (a.slots[k] !== b.slots[k]) return a.slots[k] - b.slots[k];
  return 0;
}

/** All rules of orders 1…n for one activation and input order, as a layer needs them. */
export function transferRules(activation: PolynomialActivation, maxOrder: number, inputOrder: number): TransferRule[] {
  return Array.from({ length: maxOrder }, (_, k) => transferRule(activation, k + 1, inputOrder));
}
