import { describe, expect, it } from 'vitest';
import { blockPatterns, countBlockPatterns, connectedPartitions, pairPartitions, setPartitions, type BlockPattern } from '../symbolic/partitions.ts';
import { DEFAULT_MAX_MEMORY, RULE_COST, ruleTermCount, transferRule } from '../symbolic/rule.ts';
import { polynomialActivation } from '../symbolic/taylor.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { bruteSetPartitions, gaussHermite } from './helpers.ts';

/** Bell numbers B_0…B_8 (OEIS A000110). */
const BELL = [1, 1, 2, 5, 15, 52, 203, 877, 4140];
/** Set partitions of n elements without singleton blocks, n = 0…9 (OEIS A000296): the terms of E[δ^n] in cumulants. */
const SINGLETON_FREE = [1, 0, 1, 1, 4, 11, 41, 162, 715, 3425];

function doubleFactorial(n: number): number {
  let f = 1;
  for (let k = n; k > 1; k -= 2) f *= k;
  return f;
}

/** A set partition written canonically, so that two enumerations can be compared as sets. */
function partitionKey(p: readonly (readonly number[])[]): string {
  return p
    .map((b) => [...b].sort((x, y) => x - y).join('.'))
    .sort()
    .join('|');
}

describe('setPartitions', () => {
  it('counts Bell(n) partitions for n = 0…8', () => {
    for (let n = 0; n <= 8; n++) expect(setPartitions(n).length, `n = ${n}`).toBe(BELL[n]);
  });

  it('lists each partition of {0…n−1} once, as disjoint sorted blocks covering every element', () => {
    for (let n = 0; n <= 7; n++) {
      const keys = new Set<string>();
      for (const p of setPartitions(n)) {
        const elements = p.flat().sort((a, b) => a - b);
        expect(elements).toEqual(Array.from({ length: n }, (_, k) => k));
        for (const b of p) expect([...b].sort((x, y) => x - y)).toEqual(b);
        // Blocks ordered by their first element (the documented layout).
        for (let k = 1; k < p.length; k++) expect(p[k][0]).toBeGreaterThan(p[k - 1][0]);
        keys.add(partitionKey(p));
      }
      expect(keys.size, `n = ${n}: duplicates`).toBe(setPartitions(n).length);
      // The same set as an enumeration by a different recursion.
      expect([...keys].sort()).toEqual(bruteSetPartitions(n).map(partitionKey).sort());
    }
  });
});

describe('pairPartitions (Isserlis/Wick)', () => {
  it('has (n−1)!! pairings for even n and none for odd n, n ≤ 10', () => {
    for (let n = 1; n <= 10; n++) {
      const pairs = pairPartitions(n);
      expect(pairs.length, `n = ${n}`).toBe(n % 2 === 0 ? doubleFactorial(n - 1) : 0);
      for (const p of pairs) expect(p.every((b) => b.length === 2)).toBe(true);
    }
  });

  it('reproduces the Gaussian moments E[g^n] = (n−1)!! that a Gauss–Hermite rule integrates exactly', () => {
    const { nodes, weights } = gaussHermite(6);
    for (let n = 2; n <= 10; n += 2) {
      const quadrature = nodes.reduce((s, x, k) => s + weights[k] * x ** n, 0);
      expect(Math.abs(quadrature - pairPartitions(n).length)).toBeLessThan(1e-9 * quadrature);
    }
  });
});

/**
 * Brute force for κ(δ_1^{q_1}, …, δ_n^{q_n}) and E[Π δ_k^{q_k}]: every set partition of the Σq legs
 * (legs q_1 + … + q_{k−1} … on vertex k), kept when all blocks have 2…K legs, grouped by the
 * multiset of per-block leg-count vectors. A class is connected when its blocks join all vertices.
 */
function bruteClasses(q: readonly number[]): Map<string, { counts: number[][]; weight: number }> {
  const vertexOf: number[] = q.flatMap((qk, k) => new Array<number>(qk).fill(k));
  const classes = new Map<string, { counts: number[][]; weight: number }>();
  for (const p of bruteSetPartitions(vertexOf.length)) {
    const counts = p.map((b) => {
      const c = new Array<number>(q.length).fill(0);
      for (const leg of b) c[vertexOf[leg]]++;
      return c;
    });
    const key = counts
      .map((c) => c.join(','))
      .sort()
      .join('|');
    const entry = classes.get(key);
    if (entry) entry.weight++;
    else classes.set(key, { counts, weight: 1 });
  }
  return classes;
}

function connectsAll(blocks: readonly number[][], n: number): boolean {
  // Breadth-first search over vertices, two vertices adjacent when a block touches both.
  const seen = new Set<number>([0]);
  const queue = [0];
  while (queue.length) {
    const v = queue.pop()!;
    for (const b of blocks) {
      if (b[v] === 0) continue;
      for (let w = 0; w < n; w++)
        if (b[w] > 0 && !seen.has(w)) {
          seen.add(w);
          queue.push(w);
        }
    }
  }
  return seen.size === n;
}

function patternKey(p: BlockPattern): string {
  return p.blocks
    .flatMap((b) => new Array<string>(b.multiplicity).fill(b.counts.join(',')))
    .sort()
    .join('|');
}

function* exponentVectors(n: number, lo: number, hi: number): Generator<number[]> {
  const q = new Array<number>(n).fill(lo);
  for (;;) {
    yield [...q];
    let k = n - 1;
    while (k >= 0 && q[k] === hi) q[k--] = lo;
    if (k < 0) return;
    q[k]++;
  }
}

describe('blockPatterns (Leonov–Shiryaev diagram classes)', () => {
  const maxBlocks = [2, 3, 4, 6];

  it('agrees with brute-force enumeration of set partitions of the legs (n ≤ 3, q_k ≤ 3, K ∈ {2,3,4,6})', () => {
    let compared = 0;
    for (let n = 1; n <= 3; n++)
      for (const q of exponentVectors(n, 0, 3)) {
        const classes = bruteClasses(q);
        for (const K of maxBlocks)
          for (const connected of [true, false]) {
            const expected = new Map<string, number>();
            for (const [key, c] of classes) {
              if (!c.counts.every((v) => {
                const size = v.reduce((a, b) => a + b, 0);
                return size >= 2 && size <= K;
              }))
                continue;
              if (connected && !connectsAll(c.counts, n)) continue;
              expected.set(key, c.weight);
            }
            const got = new Map<string, number>();
            for (const p of blockPatterns(q, K, connected)) {
              const key = patternKey(p);
              expect(got.has(key), `q = [${q}], K = ${K}: class ${key} listed twice`).toBe(false);
              got.set(key, p.weight);
            }
            expect(got, `q = [${q}], K = ${K}, connected = ${connected}`).toEqual(expected);
            compared++;
          }
      }
    expect(compared).toBe((4 + 16 + 64) * maxBlocks.length * 2);
  });

  it('reports each block\'s counts over the vertices in the caller\'s order, not sorted by q', () => {
    // q unsorted on purpose: the code works on q sorted decreasingly and maps positions back.
    for (const q of [[1, 3], [2, 1, 3], [1, 1, 2], [3, 1, 2]])
      for (const p of blockPatterns(q, 6)) {
        const legs = new Array<number>(q.length).fill(0);
        for (const b of p.blocks) b.counts.forEach((c, k) => (legs[k] += c * b.multiplicity));
        expect(legs, `q = [${q}]`).toEqual(q);
      }
  });

  it('weights of all patterns with K = ∞ sum to the number of singleton-free set partitions (E[δ^m] has A000296(m) terms)', () => {
    for (let n = 1; n <= 3; n++)
      for (const q of exponentVectors(n, 0, 3)) {
        const total = q.reduce((a, b) => a + b, 0);
        const sum = blockPatterns(q, Infinity, false).reduce((s, p) => s + p.weight, 0);
        expect(sum, `q = [${q}]`).toBe(SINGLETON_FREE[total]);
      }
    // And for one vertex with many legs, checked against the enumeration of partitions of 10 legs.
    for (let m = 0; m <= 9; m++) expect(blockPatterns([m], Infinity, false).reduce((s, p) => s + p.weight, 0)).toBe(SINGLETON_FREE[m]);
    expect(blockPatterns([10], Infinity, false).reduce((s, p) => s + p.weight, 0)).toBe(
      setPartitions(10).filter((p) => p.every((b) => b.length >= 2)).length,
    );
  });

  it('connected weights obey the moment–cumulant relation: E[Π δ_k^{q_k}] classes = unions of connected classes over vertex partitions', () => {
    // Σ_{all π} 1 = Σ_{partitions σ of the vertices} Π_{S∈σ} (number of connected π on S): counted, not listed.
    const connectedCount = (q: number[]) => blockPatterns(q, Infinity, true).reduce((s, p) => s + p.weight, 0);
    for (let n = 1; n <= 4; n++)
      for (const q of exponentVectors(n, 1, 3)) {
        let viaVertices = 0;
        for (const sigma of bruteSetPartitions(n)) viaVertices += sigma.reduce((prod, S) => prod * connectedCount(S.map((k) => q[k])), 1);
        const all = blockPatterns(q, Infinity, false).reduce((s, p) => s + p.weight, 0);
        expect(viaVertices, `q = [${q}]`).toBe(all);
      }
  });
});

describe('connectedPartitions (the literal Leonov–Shiryaev sum)', () => {
  it('has as many set partitions as the blockPatterns weights add up to', () => {
    for (const q of [[2, 2], [1, 2], [2, 1, 1], [3, 2], [1, 1, 2], [2, 2, 2]])
      for (const K of [2, 3, 4, 6]) {
        const partitions = connectedPartitions(q, K);
        const total = blockPatterns(q, K).reduce((s, p) => s + p.weight, 0);
        expect(partitions.length, `q=${q} K=${K}`).toBe(total);
      }
    // κ(δ_i², δ_j²) at K = 4: {i1 j1}{i2 j2}, {i1 j2}{i2 j1} and {i1 i2 j1 j2} (docs/theory.md §Polynomial activations).
    expect(connectedPartitions([2, 2], 4)).toHaveLength(3);
  });
});

describe('countBlockPatterns and ruleTermCount (sizes before any enumeration)', () => {
  it('count exactly the classes blockPatterns lists, connected or not (n ≤ 4, q_k ≤ 4, K ∈ {2,3,5,8})', () => {
    for (const q of [[3], [2, 2], [1, 3], [4, 2, 1], [2, 2, 2], [1, 1, 1, 1], [2, 1, 3, 1], [4, 4]])
      for (const K of [2, 3, 5, 8])
        for (const connected of [true, false]) expect(countBlockPatterns(q, K, connected), `${q} K=${K} ${connected}`).toBe(blockPatterns(q, K, connected).length);
  });
  it('ruleTermCount equals the number of terms transferRule derives', () => {
    for (const [d, n, K] of [[2, 2, 4], [3, 3, 8], [4, 3, 8], [5, 2, 6], [16, 1, 8]]) {
      const activation = polynomialActivation(parseActivation(`z^${d} + z`));
      expect(ruleTermCount(d, n, K), `d=${d} n=${n} K=${K}`).toBe(transferRule(activation, n, K).terms.length);
    }
  });
  it('refuses a rule beyond --max-memory before building it (z^8 at order 3: 22 million terms)', () => {
    expect(ruleTermCount(8, 3, 8)).toBeGreaterThan(DEFAULT_MAX_MEMORY / RULE_COST.bytesPerTerm);
    const started = performance.now();
    expect(() => transferRule(polynomialActivation(parseActivation('z^8')), 3, 8)).toThrow(/more than .* terms .*raise --max-memory/);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
