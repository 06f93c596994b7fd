/**
 * An independent derivation of every polynomial transfer rule (docs/theory.md §Proofs): moments from the
 * moment generating function exp(C(t)) on explicit scalar variables, converted to the joint
 * cumulant over set partitions, compared with the rule instantiated on the same variables.
 *
 * Nothing here uses Taylor coefficients, connected diagrams or the enumeration in rule.ts and
 * partitions.ts: the activation is expanded from its expression tree, moments come from the
 * cumulant generating function, and the only place the rule enters is its instantiation.
 */
import { parseActivation, VARIABLE, type ParsedExpression } from '../symbolic/expression.ts';
import { Polynomial } from '../symbolic/polynomial.ts';
import { Rational, factorial } from '../symbolic/rational.ts';
import type { TransferRule } from '../symbolic/rule.ts';

/** Mean of the formal input variable z_a (a = 1…n). */
export function meanSymbol(slot: number): string {
  return `m${slot}`;
}

/** Joint cumulant κ(z_{a_1}, …, z_{a_r}) for a sorted tuple of 1-based slots, e.g. k3_112. */
export function cumulantSymbol(slots: readonly number[]): string {
  const sorted = [...slots].sort((a, b) => a - b);
  return `k${sorted.length}_${sorted.join('')}`;
}

/** The formal input variable z_a inside the derivation (never left in a result). */
function inputSymbol(slot: number): string {
  return `z${slot}`;
}

/** A parameter of the activation at slot a, when each slot gets its own activation. */
export function slotParameter(name: string, slot: number): string {
  return `${name}_${slot}`;
}

const RESERVED = /^(?:[mzt]\d+|k\d+_\d+)$/;

/** A generic polynomial of degree d with symbolic coefficients: c0 + c1*z + … + cd*z^d. */
export function genericActivationSource(degree: number): string {
  return Array.from({ length: degree + 1 }, (_, q) => (q === 0 ? 'c0' : q === 1 ? 'c1*z' : `c${q}*z^${q}`)).join(' + ');
}

export function genericActivation(degree: number): ParsedExpression {
  return parseActivation(genericActivationSource(degree));
}

/** All α ∈ {0…hi}^n, grouped by total degree |α|. */
function exponentTuplesByDegree(n: number, hi: number): number[][][] {
  const groups: number[][][] = Array.from({ length: n * hi + 1 }, () => []);
  const alpha = new Array<number>(n).fill(0);
  const rec = (k: number, total: number) => {
    if (k === n) {
      groups[total].push([...alpha]);
      return;
    }
    for (let v = 0; v <= hi; v++) {
      alpha[k] = v;
      rec(k + 1, total + v);
    }
    alpha[k] = 0;
  };
  rec(0, 0);
  return groups;
}

/** All β ≤ α (componentwise) with β ≠ 0. */
function subTuples(alpha: readonly number[]): number[][] {
  const out: number[][] = [];
  const beta = new Array<number>(alpha.length).fill(0);
  const rec = (k: number) => {
    if (k === alpha.length) {
      if (beta.some((v) => v > 0)) out.push([...beta]);
      return;
    }
    for (let v = 0; v <= alpha[k]; v++) {
      beta[k] = v;
      rec(k + 1);
    }
    beta[k] = 0;
  };
  rec(0);
  return out;
}

const key = (alpha: readonly number[]) => alpha.join(',');
const multiFactorial = (alpha: readonly number[]) => alpha.reduce((acc, v) => acc * factorial(v), 1n);

/** Sum many polynomials in one pass (Polynomial.add copies its map each time). */
function sumAll(parts: readonly Polynomial[]): Polynomial {
  return Polynomial.fromTerms(parts.flatMap((p) => p.entries()));
}

/**
 * The coefficient of t^β in the cumulant generating function
 * C(t) = Σ_a m_a t_a + Σ_{r=2..K} (1/r!) Σ_{a_1..a_r} κ_{a_1..a_r} t_{a_1}⋯t_{a_r}:
 * the r!/β! ordered tuples with multiset β share one symmetric entry, so the coefficient is κ_β/β!.
 * Zero for |β| > K (the CGF is truncated at the input order).
 */
function cgfCoefficient(beta: readonly number[], inputOrder: number): Polynomial {
  const r = beta.reduce((a, b) => a + b, 0);
  if (r === 1) return Polynomial.variable(meanSymbol(beta.indexOf(1) + 1));
  if (r > inputOrder) return Polynomial.zero();
  const slots = beta.flatMap((c, a) => new Array<number>(c).fill(a + 1));
  return Polynomial.variable(cumulantSymbol(slots)).scale(new Rational(1n, multiFactorial(beta)));
}

/**
 * Raw moments E[z_1^{α_1} ⋯ z_n^{α_n}] for all α with every α_a ≤ maxExponent, as polynomials in
 * the means m_a and cumulant symbols k{r}_{…}. With G(λ) = exp(C(λt)) = Σ_s λ^s F_s(t) and
 * C(λt) = Σ_j λ^j C_j(t) (C_j homogeneous of degree j), G' = (Σ_j j λ^{j−1} C_j) G gives
 * F_s = (1/s) Σ_{j=1..s} j C_j F_{s−j}, F_0 = 1; then E[z^α] = α! [t^α] F_{|α|}.
 * The coefficient of t^α only involves t^{α−β} with β ≤ α, so dropping every t-monomial with an
 * exponent above maxExponent (never computing it) is exact for the moments returned.
 */
export function momentsFromCgf(n: number, inputOrder: number, maxExponent: number): Map<string, Polynomial> {
  const groups = exponentTuplesByDegree(n, maxExponent);
  const F = new Map<string, Polynomial>();
  F.set(key(groups[0][0]), Polynomial.constant(Rational.ONE));
  const cgf = new Map<string, Polynomial>();
  for (let s = 1; s < groups.length; s++) {
    for (const alpha of groups[s]) {
      const parts: Polynomial[] = [];
      for (const beta of subTuples(alpha)) {
        const j = beta.reduce((a, b) => a + b, 0);
        const kb = key(beta);
        let c = cgf.get(kb);
        if (!c) cgf.set(kb, (c = cgfCoefficient(beta, inputOrder)));
        if (c.isZero()) continue;
        const rest = F.get(key(alpha.map((v, a) => v - beta[a])))!;
        parts.push(rest.mul(c).scale(Rational.of(j)));
      }
      F.set(key(alpha), sumAll(parts).scale(Rational.of(1, s)));
    }
  }
  const moments = new Map<string, Polynomial>();
  for (const group of groups)
    for (const alpha of group) moments.set(key(alpha), F.get(key(alpha))!.scale(new Rational(multiFactorial(alpha))));
  return moments;
}

/** Set partitions of {0…n−1}, enumerated here independently of symbolic/partitions.ts. */
export function allSetPartitions(n: number): number[][][] {
  if (n === 0) return [[]];
  const out: number[][][] = [];
  for (const p of allSetPartitions(n - 1)) {
    for (let b = 0; b < p.length; b++) out.push(p.map((block, k) => (k === b ? [...block, n - 1] : block)));
    out.push([...p, [n - 1]]);
  }
  return out;
}

/** How parameters of the activation enter: shared by all slots, or one copy per slot. */
export interface CertifyOptions {
  /**
   * Give every slot its own copy of each parameter (c0 → c0_1, c0_2, …). Both sides are then
   * multilinear in the per-slot activations, the identity is checked for independent activations
   * φ_1, …, φ_n, and setting the copies equal recovers the rule for one φ. Default true.
   */
  readonly perSlotParameters?: boolean;
}

function parameterRenaming(parameters: readonly string[], slot: number, perSlot: boolean): Map<string, Polynomial> {
  const map = new Map<string, Polynomial>();
  if (perSlot) for (const p of parameters) map.set(p, Polynomial.variable(slotParameter(p, slot)));
  return map;
}

function checkNames(parameters: readonly string[]): void {
  for (const p of parameters)
    if (RESERVED.test(p) || /_\d+$/.test(p))
      throw new Error(`parameter '${p}' clashes with the certificate's variable names (m1, k2_12, z1, t1, name_1)`);
}

/**
 * κ(φ(z_1), …, φ(z_n)) (E[φ(z_1)] for n = 1) with the CGF truncated at order K, from moments and the
 * moment-to-cumulant formula κ(y_1,…,y_n) = Σ_π (−1)^{|π|−1} (|π|−1)! Π_{B∈π} E[Π_{a∈B} y_a].
 * φ is expanded from its expression tree; no Taylor coefficient is used.
 */
export function independentCumulant(expr: ParsedExpression, n: number, inputOrder: number, options: CertifyOptions = {}): {
  cumulant: Polynomial;
  moments: number;
} {
  const perSlot = options.perSlotParameters ?? true;
  checkNames(expr.parameters);
  const phi = Polynomial.fromMathNode(expr.node);
  const degree = Math.max(0, phi.degreeIn(VARIABLE));
  const slotPhi = Array.from({ length: n }, (_, a) => {
    const values = parameterRenaming(expr.parameters, a + 1, perSlot);
    values.set(VARIABLE, Polynomial.variable(inputSymbol(a + 1)));
    return phi.substitute(values);
  });
  const moments = momentsFromCgf(n, inputOrder, degree);
  const zNames = new Map(Array.from({ length: n }, (_, a) => [inputSymbol(a + 1), a] as const));

  // E[Π_{a∈B} φ_a(z_a)] for every non-empty subset B (bit mask), by linearity over z-monomials.
  const expectation = new Map<number, Polynomial>();
  const expect = (mask: number): Polynomial => {
    const cached = expectation.get(mask);
    if (cached) return cached;
    let product = Polynomial.constant(Rational.ONE);
    for (let a = 0; a < n; a++) if (mask & (1 << a)) product = product.mul(slotPhi[a]);
    const byAlpha = new Map<string, { monomial: [string, number][]; coefficient: Rational }[]>();
    for (const term of product.entries()) {
      const alpha = new Array<number>(n).fill(0);
      const rest: [string, number][] = [];
      for (const [v, e] of term.monomial) {
        const a = zNames.get(v);
        if (a === undefined) rest.push([v, e]);
        else alpha[a] = e;
      }
      const k = key(alpha);
      let list = byAlpha.get(k);
      if (!list) byAlpha.set(k, (list = []));
      list.push({ monomial: rest, coefficient: term.coefficient });
    }
    const parts: Polynomial[] = [];
    for (const [k, list] of byAlpha) parts.push(Polynomial.fromTerms(list).mul(moments.get(k)!));
    const result = sumAll(parts);
    expectation.set(mask, result);
    return result;
  };

  const parts: Polynomial[] = [];
  for (const partition of allSetPartitions(n)) {
    const blocks = partition.length;
    const weight = new Rational((blocks % 2 === 1 ? 1n : -1n) * factorial(blocks - 1));
    // Multiply the smaller factors first: the full-size block is the largest polynomial.
    const factors = partition.map((block) => expect(block.reduce((m, a) => m | (1 << a), 0))).sort((x, y) => x.size() - y.size());
    parts.push(factors.reduce((acc, f) => acc.mul(f), Polynomial.constant(weight)));
  }
  return { cumulant: sumAll(parts), moments: moments.size };
}

/** Inconsistencies of the rule IR itself (they would make the instantiation ambiguous). */
export function structuralIssues(rule: TransferRule): string[] {
  const issues: string[] = [];
  rule.terms.forEach((term, t) => {
    for (const f of term.factors) {
      if (f.slot < 0 || f.slot >= rule.order) issues.push(`term ${t}: Taylor factor on slot ${f.slot} outside 0…${rule.order - 1}`);
      if (f.q < 0 || f.q >= rule.activation.taylor.length) issues.push(`term ${t}: b_${f.q} does not exist`);
    }
    for (const c of term.cumulants) {
      if (c.slots.length !== c.order) issues.push(`term ${t}: cumulant of order ${c.order} with ${c.slots.length} slots`);
      if (c.slots.some((s, k) => k > 0 && s < c.slots[k - 1])) issues.push(`term ${t}: cumulant slots ${c.slots.join(',')} not sorted`);
      if (c.slots.some((s) => s < 0 || s >= rule.order)) issues.push(`term ${t}: cumulant slot outside 0…${rule.order - 1}`);
      if (c.order < 2 || c.order > rule.inputOrder) issues.push(`term ${t}: cumulant of order ${c.order} outside 2…K=${rule.inputOrder}`);
      if (!Number.isInteger(c.power) || c.power < 1) issues.push(`term ${t}: cumulant power ${c.power}`);
    }
  });
  return issues;
}

/**
 * The rule on the same variables: b_q(μ_{i_a}) from the rule's own Taylor trees with z ↦ m_a,
 * cumulant factors ↦ k{r}_{sorted 1-based slots}.
 */
export function instantiateRule(rule: TransferRule, options: CertifyOptions = {}): Polynomial {
  const perSlot = options.perSlotParameters ?? true;
  const parameters = rule.activation.expression.parameters;
  checkNames(parameters);
  const taylor = rule.activation.taylor.map((node) => Polynomial.fromMathNode(node));
  const b = Array.from({ length: rule.order }, (_, a) => {
    const values = parameterRenaming(parameters, a + 1, perSlot);
    values.set(VARIABLE, Polynomial.variable(meanSymbol(a + 1)));
    return taylor.map((p) => p.substitute(values));
  });
  const parts: Polynomial[] = [];
  for (const term of rule.terms) {
    let p = Polynomial.constant(term.coefficient);
    for (const f of term.factors) p = p.mul(b[f.slot]?.[f.q] ?? Polynomial.zero());
    for (const c of term.cumulants) p = p.mul(Polynomial.variable(cumulantSymbol(c.slots.map((s) => s + 1)), c.power));
    parts.push(p);
  }
  return sumAll(parts);
}

/** Every cumulant symbol the CGF can contribute to the moments needed (slot a at most d times). */
export function cumulantVariables(n: number, inputOrder: number, degree: number): string[] {
  const names: string[] = [];
  const rec = (slots: number[], from: number) => {
    if (slots.length >= 2) names.push(cumulantSymbol(slots));
    if (slots.length === inputOrder) return;
    for (let a = from; a <= n; a++) {
      if (slots.filter((s) => s === a).length >= degree) continue;
      rec([...slots, a], a);
    }
  };
  rec([], 1);
  return names.sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
}

export interface CertificateResult {
  readonly ok: boolean;
  readonly degree: number;
  readonly order: number;
  readonly inputOrder: number;
  readonly activation: string;
  readonly perSlotParameters: boolean;
  readonly ruleTerms: number;
  /** Monomials of the independent result and of the instantiated rule. */
  readonly independentMonomials: number;
  readonly ruleMonomials: number;
  /** Monomials of (independent − rule); 0 when the certificate holds. */
  readonly differenceMonomials: number;
  /** Up to a few monomials of the difference, for diagnosis. */
  readonly differenceSample: string[];
  readonly structuralIssues: readonly string[];
  readonly moments: number;
  readonly variables: { readonly means: string[]; readonly cumulants: string[]; readonly parameters: string[] };
  readonly elapsedMs: number;
}

/** Certify one rule: (independent − rule) must be the zero polynomial. */
export function certifyRule(rule: TransferRule, options: CertifyOptions = {}): CertificateResult {
  const started = performance.now();
  const perSlot = options.perSlotParameters ?? true;
  const expr = rule.activation.expression;
  const independent = independentCumulant(expr, rule.order, rule.inputOrder, options);
  const instantiated = instantiateRule(rule, options);
  const difference = independent.cumulant.sub(instantiated);
  const issues = structuralIssues(rule);
  const elapsedMs = performance.now() - started;
  const sample = difference
    .entries()
    .slice(0, 5)
    .map((t) => `${t.coefficient} · ${t.monomial.map(([v, e]) => (e === 1 ? v : `${v}^${e}`)).join('·') || '1'}`);
  const degree = Math.max(0, Polynomial.fromMathNode(expr.node).degreeIn(VARIABLE));
  const parameters = perSlot
    ? Array.from({ length: rule.order }, (_, a) => expr.parameters.map((p) => slotParameter(p, a + 1))).flat()
    : [...expr.parameters];
  return {
    ok: difference.isZero() && issues.length === 0,
    degree,
    order: rule.order,
    inputOrder: rule.inputOrder,
    activation: expr.source,
    perSlotParameters: perSlot,
    ruleTerms: rule.terms.length,
    independentMonomials: independent.cumulant.size(),
    ruleMonomials: instantiated.size(),
    differenceMonomials: difference.size(),
    differenceSample: sample,
    structuralIssues: issues,
    moments: independent.moments,
    variables: {
      means: Array.from({ length: rule.order }, (_, a) => meanSymbol(a + 1)),
      cumulants: cumulantVariables(rule.order, rule.inputOrder, degree),
      parameters,
    },
    elapsedMs,
  };
}
