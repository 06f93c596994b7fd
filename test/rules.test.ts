import { describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { polynomialActivation, type PolynomialActivation } from '../symbolic/taylor.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER, transferRule, type RuleTerm, type TransferRule } from '../symbolic/rule.ts';
import { TextPrinter } from '../symbolic/print/text.ts';
import { evaluateRule } from '../numeric/reference.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { Random } from '../numeric/random.ts';
import {
  LONG,
  allTuples,
  formalOutputCumulants,
  maxAbs,
  offset,
  polynomialActivationOf,
  randomCumulants,
} from './helpers.ts';

const activation = (source: string, params: Record<string, number> = {}) => polynomialActivation(parseActivation(source, params));

/** A term written canonically: coefficient | b_q(slot) factors | κ_order(slots)^power factors. */
function termKey(t: RuleTerm): string {
  const factors = t.factors.map((f) => `b${f.q}(${f.slot})`).sort();
  const cumulants = t.cumulants.map((c) => `k${c.order}(${c.slots.join('')})^${c.power}`).sort();
  return `${t.coefficient.toString()} | ${factors.join(' ')} | ${cumulants.join(' ')}`;
}
const ruleKeys = (rule: TransferRule) => rule.terms.map(termKey).sort();

/** Expected terms as written in docs/theory.md §Polynomial activations, in the notation of termKey. */
const term = (coefficient: number, factors: [q: number, slot: number][], cumulants: [order: number, slots: string, power?: number][]) =>
  `${coefficient} | ${factors.map(([q, s]) => `b${q}(${s})`).sort().join(' ')} | ${cumulants
    .map(([o, s, p]) => `k${o}(${s})^${p ?? 1}`)
    .sort()
    .join(' ')}`;

/** Split "A + B - C" at top level (outside parentheses) into its summands. */
function summands(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let k = 0; k < text.length; k++) {
    const ch = text[k];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && (text.startsWith(' + ', k) || text.startsWith(' - ', k))) {
      out.push(text.slice(start, k).trim());
      start = k + 3;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/** Rules are pure functions of (φ, n, K); derive each once for the whole file. */
const ruleCache = new Map<string, TransferRule>();
function rule(act: PolynomialActivation, n: number, K: number): TransferRule {
  const key = `${act.expression.node.toString()}|${n}|${K}`;
  let r = ruleCache.get(key);
  if (!r) ruleCache.set(key, (r = transferRule(act, n, K)));
  return r;
}

describe('worked example of docs/theory.md §Polynomial activations: φ = z + a z²', () => {
  const quadratic = activation('z + a*z^2');

  it('has Taylor coefficients b_0 = μ + aμ², b_1 = 1 + 2aμ, b_2 = a', () => {
    expect(quadratic.degree).toBe(2);
    const rng = new Random(7);
    for (let trial = 0; trial < 10; trial++) {
      const scope = { z: 4 * rng.uniform() - 2, a: 4 * rng.uniform() - 2 };
      const b = quadratic.taylor.map((t) => Number(t.evaluate(scope)));
      expect(b[0]).toBeCloseTo(scope.z + scope.a * scope.z ** 2, 12);
      expect(b[1]).toBeCloseTo(1 + 2 * scope.a * scope.z, 12);
      expect(b[2]).toBeCloseTo(scope.a, 12);
    }
  });

  it('mean at K = 4: E[y_i] = b_0(μ_i) + b_2(μ_i) Σ_ii = μ_i + a(μ_i² + Σ_ii)', () => {
    const r = rule(quadratic, 1, 4);
    expect(ruleKeys(r)).toEqual([term(1, [[0, 0]], []), term(1, [[2, 0]], [[2, '00']])].sort());
    expect(r.exact).toBe(true);
    const printed = new TextPrinter().ruleExplicit(r);
    expect(printed.startsWith('E[y_i] = ')).toBe(true);
    expect(new Set(summands(printed.slice('E[y_i] = '.length)))).toEqual(new Set(['a μ_i^2', 'μ_i', 'a Σ_ii']));
  });

  it('covariance at K = 4 has exactly the five terms of the paper', () => {
    const r = rule(quadratic, 2, 4);
    // (1+2aμ_i)(1+2aμ_j)Σ_ij + a(1+2aμ_i)T_ijj + a(1+2aμ_j)T_iij + a²(2Σ_ij² + Q_iijj)
    const expected = [
      term(1, [[1, 0], [1, 1]], [[2, '01']]),
      term(1, [[1, 0], [2, 1]], [[3, '011']]),
      term(1, [[2, 0], [1, 1]], [[3, '001']]),
      term(2, [[2, 0], [2, 1]], [[2, '01', 2]]),
      term(1, [[2, 0], [2, 1]], [[4, '0011']]),
    ].sort();
    expect(ruleKeys(r)).toEqual(expected);
    expect(r.exact).toBe(true);
    const printed = new TextPrinter().ruleExplicit(r);
    const lhs = 'κ(y_i, y_j) = ';
    expect(printed.startsWith(lhs)).toBe(true);
    expect(new Set(summands(printed.slice(lhs.length)))).toEqual(
      new Set(['(1 + 2 a μ_i) (1 + 2 a μ_j) Σ_ij', 'a (1 + 2 a μ_i) T_ijj', 'a (1 + 2 a μ_j) T_iij', '2 a^2 Σ_ij^2', 'a^2 Q_iijj']),
    );
  });

  it('evaluates to the paper\'s formula entry by entry (a = 0.7, random μ, Σ, T, Q; N = 3)', () => {
    const a = 0.7;
    const numeric = activation('z + a*z^2', { a });
    const rng = new Random(11);
    const N = 3;
    const input = randomCumulants(rng, N, 4);
    const [mu, S, T, Q] = [input.order(1)!, input.order(2)!, input.order(3)!, input.order(4)!];
    const mean = evaluateRule(rule(numeric, 1, 4), input);
    const cov = evaluateRule(rule(numeric, 2, 4), input);
    for (let i = 0; i < N; i++) {
      expect(mean[i]).toBeCloseTo(mu[i] + a * (mu[i] ** 2 + S[i * N + i]), 13);
      for (let j = 0; j < N; j++) {
        const bi = 1 + 2 * a * mu[i];
        const bj = 1 + 2 * a * mu[j];
        const paper =
          bi * bj * S[i * N + j] +
          a * bi * T[offset([i, j, j], N)] +
          a * bj * T[offset([i, i, j], N)] +
          a * a * (2 * S[i * N + j] ** 2 + Q[offset([i, i, j, j], N)]);
        expect(cov[i * N + j], `(${i}, ${j})`).toBeCloseTo(paper, 13);
      }
    }
  });

  it('Gaussian closure K = 2 keeps exactly the Σ-only terms (the mean is unchanged)', () => {
    expect(ruleKeys(rule(quadratic, 1, 2))).toEqual(ruleKeys(rule(quadratic, 1, 4)));
    const sigmaOnly = rule(quadratic, 2, 4).terms.filter((t) => t.cumulants.every((c) => c.order === 2));
    expect(ruleKeys(rule(quadratic, 2, 2))).toEqual(sigmaOnly.map(termKey).sort());
    expect(ruleKeys(rule(quadratic, 2, 2))).toEqual([term(1, [[1, 0], [1, 1]], [[2, '01']]), term(2, [[2, 0], [2, 1]], [[2, '01', 2]])].sort());
    expect(rule(quadratic, 2, 2).exact).toBe(false);
    expect(rule(quadratic, 1, 2).exact).toBe(true);
    expect(new TextPrinter().ruleExplicit(rule(quadratic, 2, 2))).toBe('κ(y_i, y_j) = (1 + 2 a μ_i) (1 + 2 a μ_j) Σ_ij + 2 a^2 Σ_ij^2');
  });
});

describe('affine activations act on cumulants as affine maps', () => {
  const N = 3;
  const relClose = (got: Float64Array, want: Float64Array, tol: number, label: string) => {
    const scale = Math.max(1e-300, maxAbs(want));
    for (let k = 0; k < want.length; k++) expect(Math.abs(got[k] - want[k]) / scale, `${label}, entry ${k}`).toBeLessThanOrEqual(tol);
  };

  it('φ = z leaves every cumulant unchanged: the order-n rule is κ_n(i…) alone', () => {
    const identity = activation('z');
    expect(identity.degree).toBe(1);
    const rng = new Random(3);
    const input = randomCumulants(rng, N, MAX_INPUT_ORDER);
    for (let n = 1; n <= MAX_OUTPUT_ORDER; n++) {
      // Below K = n the only diagram (one block of n legs) is dropped: nothing is left.
      for (let K = 1; K < n; K++) {
        expect(rule(identity, n, K).terms, `n = ${n}, K = ${K}`).toEqual([]);
        expect(rule(identity, n, K).exact).toBe(false);
      }
      for (let K = n; K <= MAX_INPUT_ORDER; K++) {
        const r = rule(identity, n, K);
        // One term: b_0(μ_i) for the mean; b_1(μ_i)…b_1(μ_l) κ_n(i…l) for n ≥ 2.
        const slots = Array.from({ length: n }, (_, s) => s);
        expect(ruleKeys(r), `n = ${n}, K = ${K}`).toEqual(
          n === 1 ? [term(1, [[0, 0]], [])] : [term(1, slots.map((s) => [1, s]), [[n, slots.join('')]])],
        );
        expect(r.exact).toBe(true);
        expect(Array.from(evaluateRule(r, input.truncate(K)))).toEqual(Array.from(input.order(n)!));
      }
    }
  });

  it('φ = z + c changes only the mean, by c', () => {
    const c = -0.37;
    const shifted = activation('z + c', { c });
    const rng = new Random(4);
    const input = randomCumulants(rng, N, 8);
    const mean = evaluateRule(rule(shifted, 1, 8), input);
    relClose(mean, input.mean.map((m) => m + c), 1e-15, 'mean');
    for (let n = 2; n <= MAX_OUTPUT_ORDER; n++) relClose(evaluateRule(rule(shifted, n, 8), input), input.order(n)!, 1e-15, `order ${n}`);
  });

  it('φ = c·z scales the order-n cumulant by c^n; φ = c0 + c1·z scales by c1^n and shifts the mean', () => {
    const rng = new Random(5);
    for (const [c0, c1] of [[0, 1.9], [0, -0.6], [0.25, -1.3]]) {
      const act = c0 === 0 ? activation('c*z', { c: c1 }) : activation('c0 + c1*z', { c0, c1 });
      const input = randomCumulants(rng, N, 8);
      relClose(evaluateRule(rule(act, 1, 8), input), input.mean.map((m) => c0 + c1 * m), 1e-14, `c = ${c1}, mean`);
      for (let n = 2; n <= MAX_OUTPUT_ORDER; n++)
        relClose(evaluateRule(rule(act, n, 8), input), input.order(n)!.map((v) => c1 ** n * v), 1e-14, `c = ${c1}, order ${n}`);
    }
  });
});

describe('structure of derived rules', () => {
  const activations = [activation('z + z^2'), activation('z - z^2/3 + z^3/5'), activation('z^4 + z')];
  const cases = activations.flatMap((act) =>
    Array.from({ length: MAX_OUTPUT_ORDER }, (_, k) => k + 1)
      // Degree 4 at n = 4 has ~10^6 terms; it has its own (long) test below.
      .filter((n) => act.degree * n <= 12 && !(act.degree === 4 && n === 4))
      .map((n) => ({ act, n })),
  );

  it('is flagged exact exactly when K ≥ d·n, and then no term needs a cumulant above d·n', () => {
    for (const { act, n } of cases) {
      const d = act.degree;
      for (let K = 1; K <= MAX_INPUT_ORDER; K++) {
        const r = rule(act, n, K);
        expect(r.exact, `d = ${d}, n = ${n}, K = ${K}`).toBe(K >= d * n);
        const highest = Math.max(0, ...r.terms.flatMap((t) => t.cumulants.map((c) => c.order)));
        expect(highest).toBeLessThanOrEqual(Math.min(K, d * n));
        // Tight: the diagram with all d·n legs in one block exists, so K = d·n − 1 loses a term.
        if (K >= d * n && n > 1) expect(highest).toBe(d * n);
      }
    }
  });

  it('truncation is monotonic: the terms at K are exactly the terms at K+1 whose cumulants have order ≤ K', () => {
    for (const { act, n } of cases)
      for (let K = 1; K < MAX_INPUT_ORDER; K++) {
        const lower = ruleKeys(rule(act, n, K));
        const upper = rule(act, n, K + 1).terms.filter((t) => t.cumulants.every((c) => c.order <= K));
        expect(lower, `${act.expression.source}, n = ${n}, K = ${K}`).toEqual(upper.map(termKey).sort());
      }
  });

  it('every term is a connected diagram: legs per index match b_q, blocks have 2…K legs, no duplicates', () => {
    // Violations are collected and compared with [] once per rule (per-term expect calls are slow).
    for (const { act, n } of cases)
      for (const K of [2, 4, MAX_INPUT_ORDER]) {
        const r = rule(act, n, K);
        const shapes = new Set<string>();
        const violations: string[] = [];
        for (const t of r.terms) {
          const key = termKey(t);
          const bad = (why: string) => violations.push(`${key}: ${why}`);
          if (!(t.coefficient.isInteger() && t.coefficient.sign() > 0)) bad('coefficient is not a positive integer (a count of partitions)');
          if (t.factors.map((f) => f.slot).sort().join() !== Array.from({ length: n }, (_, s) => s).join()) bad('not one b_q per output index');
          const legs = new Array<number>(n).fill(0);
          const parent = Array.from({ length: n }, (_, s) => s);
          const find = (s: number): number => (parent[s] === s ? s : (parent[s] = find(parent[s])));
          for (const c of t.cumulants) {
            if (c.slots.length !== c.order) bad(`κ_${c.order} with ${c.slots.length} indices`);
            if (c.order < 2 || c.order > K) bad(`block of ${c.order} legs outside 2…${K}`);
            if (c.slots.some((s, k) => k > 0 && s < c.slots[k - 1])) bad('indices of a symmetric tensor not sorted');
            for (const s of c.slots) legs[s] += c.power;
            for (const s of c.slots) parent[find(s)] = find(c.slots[0]);
          }
          for (const f of t.factors) {
            if (legs[f.slot] !== f.q) bad(`b_${f.q} on index ${f.slot} but ${legs[f.slot]} legs`);
            if (f.q > act.degree || (n > 1 && f.q < 1)) bad(`b_${f.q} out of range`);
          }
          if (n > 1 && new Set(parent.map((_, s) => find(s))).size !== 1) bad('disconnected diagram');
          // Canonical: one term per (factors, cumulants); the coefficient carries the multiplicity.
          const shape = key.split(' | ').slice(1).join(' | ');
          if (shapes.has(shape)) bad('appears twice');
          shapes.add(shape);
        }
        expect(violations, `${act.expression.source}, n = ${n}, K = ${K}`).toEqual([]);
      }
  });

  it('is symmetric: relabelling the output indices permutes the terms among themselves', () => {
    for (const { act, n } of cases) {
      if (n < 2) continue;
      const r = rule(act, n, Math.min(MAX_INPUT_ORDER, act.degree * n));
      const keys = ruleKeys(r);
      // The transposition of slots 0 and 1 (with the cyclic shift, it generates all of S_n).
      for (const perm of [[1, 0, ...Array.from({ length: n - 2 }, (_, k) => k + 2)], Array.from({ length: n }, (_, k) => (k + 1) % n)]) {
        const relabelled = r.terms.map((t) =>
          termKey({
            coefficient: t.coefficient,
            factors: t.factors.map((f) => ({ ...f, slot: perm[f.slot] })),
            cumulants: t.cumulants.map((c) => ({ ...c, slots: c.slots.map((s) => perm[s]).sort((x, y) => x - y) })),
          }),
        );
        expect(relabelled.sort(), `${act.expression.source}, n = ${n}, perm ${perm}`).toEqual(keys);
      }
    }
  });
});

describe('exact rules compose', () => {
  it('ψ∘φ as one quartic equals φ then ψ: rule_{ψ∘φ}(n = 2, K = 8) = rule_ψ(2, K = 4)[rule_φ(1…4, K = 8)]', () => {
    // φ(z) = z + a z², ψ(u) = b + u + c u²  ⇒  ψ(φ(z)) = b + z + (a + c) z² + 2ac z³ + c a² z⁴.
    const [a, b, c] = [0.45, -0.2, 0.3];
    const phi = polynomialActivationOf([0, 1, a]);
    const psi = polynomialActivationOf([b, 1, c]);
    const composed = polynomialActivationOf([b, 1, a + c, 2 * a * c, c * a * a]);
    expect(composed.degree).toBe(4);
    const rng = new Random(19);
    const N = 2;
    const input = randomCumulants(rng, N, 8, 0.5);
    const middle = new Cumulants(N, [undefined, ...[1, 2, 3, 4].map((m) => evaluateRule(rule(phi, m, 8), input))]);
    for (const n of [1, 2]) {
      const twoSteps = evaluateRule(rule(psi, n, 4), middle);
      const oneStep = evaluateRule(rule(composed, n, 8), input);
      const scale = Math.max(1, maxAbs(oneStep));
      for (let k = 0; k < oneStep.length; k++) expect(Math.abs(twoSteps[k] - oneStep[k]) / scale, `n = ${n}, entry ${k}`).toBeLessThan(1e-12);
    }
  });
});

describe.runIf(LONG)('the largest supported rule (CORRMAP_LONG)', () => {
  it('degree 4, n = 4, K = 8 derives within 120 s and equals the moment route with cumulants above 8 set to zero', { timeout: 300_000 }, () => {
    const coefficients = [0.1, 1, -0.4, 0.3, 0.2];
    const quartic = polynomialActivationOf(coefficients);
    const start = performance.now();
    const r = transferRule(quartic, 4, 8);
    const seconds = (performance.now() - start) / 1000;
    console.info(`degree-4 rule, n = 4, K = 8: ${r.terms.length} terms in ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(120);
    expect(r.exact).toBe(false); // d·n = 16 > 8
    const input = randomCumulants(new Random(23), 2, 8, 0.4);
    const got = evaluateRule(r, input);
    const want = formalOutputCumulants(coefficients, input, 8, 4);
    const scale = Math.max(1, maxAbs(want));
    for (const t of allTuples(2, 4)) {
      const k = offset(t, 2);
      expect(Math.abs(got[k] - want[k]) / scale, `entry ${t}`).toBeLessThan(1e-9);
    }
  });
});
