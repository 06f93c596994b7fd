import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { transferRule, type TransferRule } from '../symbolic/rule.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { evaluateRule } from '../numeric/reference.ts';
import { Cumulants, affineCumulants, asymmetry, modeProduct } from '../numeric/tensor.ts';
import { makeLayer, propagateReference, type Network } from '../numeric/network.ts';
import { Random } from '../numeric/random.ts';
import {
  allTuples,
  discreteCumulants,
  formalOutputCumulants,
  gaussianGrid,
  horner,
  mapDiscrete,
  maxAbs,
  offset,
  polynomialActivationOf,
  polynomialSource,
  randomCumulants,
  randomDiscrete,
  randomMatrix,
  taylorCoefficient,
  type Discrete,
} from './helpers.ts';

/**
 * Relative agreement of two tensors, measured against the larger of their max-norms or `floor`
 * (a tensor that vanishes exactly, such as κ_3 of a constant, is compared in absolute terms).
 */
function relativeError(got: Float64Array, want: Float64Array, floor = 1e-300): number {
  const scale = Math.max(maxAbs(want), maxAbs(got), floor);
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]));
  return worst / scale;
}

/** Output orders n ≤ MAX_OUTPUT_ORDER (4) whose exact rule fits K = d·n ≤ MAX_INPUT_ORDER (8). */
const exactOrders = (d: number) => Array.from({ length: Math.min(4, Math.floor(8 / Math.max(d, 1))) }, (_, k) => k + 1);

/** A polynomial with coefficients of magnitude 0.1…1 (so its degree is what it says). */
const polynomialArb = (maxDegree: number) =>
  fc.integer({ min: 1, max: maxDegree }).chain((d) =>
    // Coefficients within the magnitudes activations accept (0 or 1e-100…1e100; subnormals are refused).
    fc.array(fc.double({ min: -1, max: 1, noNaN: true }).map((v) => (Math.abs(v) < 1e-100 ? 0 : v)), { minLength: d + 1, maxLength: d + 1 }).map((c) => {
      const lead = c[d];
      c[d] = Math.sign(lead || 1) * (0.1 + 0.9 * Math.abs(lead));
      return c;
    }),
  );

const pushThrough = (law: Discrete, coefficients: readonly number[]) => mapDiscrete(law, (x) => x.map((v) => horner(coefficients, v)));

const ruleCache = new Map<string, TransferRule>();
function cachedRule(coefficients: readonly number[], n: number, K: number): TransferRule {
  const key = `${coefficients.join(',')}|${n}|${K}`;
  let r = ruleCache.get(key);
  if (!r) ruleCache.set(key, (r = transferRule(polynomialActivationOf(coefficients), n, K)));
  return r;
}

describe('evaluateRule against exact cumulants of discrete laws (no sampling noise)', () => {
  it('K = d·n reproduces the output cumulants of φ(x) for random laws on a few points of R^N', () => {
    fc.assert(
      fc.property(polynomialArb(4), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 3, max: 7 }), fc.integer(), (coefficients, N, support, seed) => {
        const rng = new Random(seed);
        const law = randomDiscrete(rng, N, support, 0.6, Array.from({ length: N }, () => 0.4 * rng.normal()));
        const d = coefficients.length - 1;
        const input = discreteCumulants(law, 8);
        const output = discreteCumulants(pushThrough(law, coefficients), 4);
        for (const n of exactOrders(d)) {
          const r = cachedRule(coefficients, n, d * n);
          expect(r.exact).toBe(true);
          const err = relativeError(evaluateRule(r, input.truncate(d * n)), output.order(n)!);
          expect(err, `φ = [${coefficients}], N = ${N}, n = ${n}`).toBeLessThan(1e-9);
        }
      }),
      { seed: 20240601, numRuns: 40 },
    );
  });

  it('K = d·n − 1 misses them: the comparison above has the power to reject a truncated rule', () => {
    const rng = new Random(99);
    for (const coefficients of [[0.1, 1, 0.5], [0.2, -0.7, 0.4, 0.3], [0.1, 1, -0.4, 0.3, 0.2]]) {
      const d = coefficients.length - 1;
      const law = randomDiscrete(rng, 2, 6, 0.6, [0.3, -0.2]);
      const input = discreteCumulants(law, 8);
      const output = discreteCumulants(pushThrough(law, coefficients), 4);
      for (const n of exactOrders(d)) {
        const K = d * n - 1;
        const err = relativeError(evaluateRule(cachedRule(coefficients, n, K), input.truncate(K)), output.order(n)!);
        expect(err, `φ = [${coefficients}], n = ${n}, K = ${K}`).toBeGreaterThan(1e-6);
      }
    }
  });

  it('the Gaussian closure K = 2 is exact for Gaussian inputs (Gauss–Hermite grids reproduce N(μ, Σ) moments)', () => {
    const rng = new Random(5);
    // Orders d·n up to 9 need the 5-point rule (exact to degree 2·5 − 1 = 9).
    const cases: [number[], number[]][] = [
      [[0.1, 1, 0.5], [1, 2, 3, 4]],
      [[0.2, -0.7, 0.4, 0.3], [1, 2, 3]],
      [[0.1, 1, -0.4, 0.3, 0.2], [1, 2]],
    ];
    for (const N of [1, 2, 3]) {
      const mean = Array.from({ length: N }, () => 0.5 * rng.normal());
      // A random lower-triangular L with a positive diagonal: Σ = L Lᵀ.
      const chol = new Float64Array(N * N);
      for (let a = 0; a < N; a++) for (let b = 0; b <= a; b++) chol[a * N + b] = a === b ? 0.3 + 0.5 * rng.uniform() : 0.4 * rng.normal();
      const grid = gaussianGrid(mean, chol, 5);
      const gridCumulants = discreteCumulants(grid, 8);
      // Self-check of the grid: cumulants 3…8 vanish (orders ≤ 9 are Gaussian).
      for (let r = 3; r <= 8; r++) expect(maxAbs(gridCumulants.order(r)!)).toBeLessThan(1e-12);
      const gaussian = gridCumulants.truncate(2);
      for (const [coefficients, orders] of cases) {
        const output = discreteCumulants(pushThrough(grid, coefficients), 4);
        for (const n of orders) {
          const r = cachedRule(coefficients, n, 2);
          expect(relativeError(evaluateRule(r, gaussian), output.order(n)!), `φ = [${coefficients}], N = ${N}, n = ${n}`).toBeLessThan(1e-9);
        }
      }
    }
  });
});

describe('truncated rules: blocks larger than K vanish', () => {
  it('rule(φ, n, K) on κ_1…κ_K equals the output cumulants of an input whose cumulants above K are zero, for every K', () => {
    const rng = new Random(31);
    const cases: [number[], number][] = [
      [[0.3, 1, 0.5], 4],
      [[0.2, -0.7, 0.4, 0.3], 3],
      [[0.1, 1, -0.4, 0.3, 0.2], 3],
    ];
    for (const [coefficients, maxN] of cases) {
      const N = 2;
      const input = randomCumulants(rng, N, 8, 0.4);
      for (let n = 1; n <= maxN; n++)
        for (let K = 1; K <= 8; K++) {
          const got = evaluateRule(cachedRule(coefficients, n, K), input.truncate(K));
          const want = formalOutputCumulants(coefficients, input, K, n);
          // At K = 1 the input is a point mass: the outputs of order ≥ 2 vanish, and the moment route
          // leaves only rounding (of the O(1) moments), so compare against a unit floor of 1e-3.
          expect(relativeError(got, want, 1e-3), `φ = [${coefficients}], n = ${n}, K = ${K}`).toBeLessThan(1e-9);
        }
    }
  });

  it('a missing input order counts as zero: a rule at K = 8 on κ_1…κ_4 equals the rule at K = 4', () => {
    const rng = new Random(37);
    const coefficients = [0.1, 1, -0.4, 0.3];
    const input = randomCumulants(rng, 3, 4);
    for (let n = 1; n <= 2; n++)
      expect(Array.from(evaluateRule(cachedRule(coefficients, n, 8), input))).toEqual(Array.from(evaluateRule(cachedRule(coefficients, n, 4), input)));
  });
});

describe('the rule is a symmetric formula', () => {
  /** Direct sum over terms at one (possibly unsorted) index tuple, b_q from the coefficients. */
  function evaluateAt(rule: TransferRule, coefficients: readonly number[], input: Cumulants, tuple: readonly number[]): number {
    const n = input.size;
    let sum = 0;
    for (const t of rule.terms) {
      let v = t.coefficient.toNumber();
      for (const f of t.factors) v *= taylorCoefficient(coefficients, f.q, input.mean[tuple[f.slot]]);
      for (const c of t.cumulants) {
        const tensor = input.order(c.order);
        v *= tensor ? tensor[offset(c.slots.map((s) => tuple[s]), n)] ** c.power : 0;
      }
      sum += v;
    }
    return sum;
  }

  it('evaluated directly at every unsorted index tuple, it gives evaluateRule\'s value there', () => {
    const rng = new Random(41);
    for (const [coefficients, n, K] of [
      [[0.1, 1, 0.5], 2, 4],
      [[0.1, 1, 0.5], 3, 6],
      [[0.1, 1, 0.5], 3, 3],
      [[0.2, -0.7, 0.4, 0.3], 2, 6],
      [[0.2, -0.7, 0.4, 0.3], 3, 4],
      [[0.1, 1, -0.4, 0.3, 0.2], 2, 8],
    ] as [number[], number, number][]) {
      const N = 3;
      const input = randomCumulants(rng, N, K);
      const r = cachedRule(coefficients, n, K);
      const dense = evaluateRule(r, input);
      const scale = Math.max(1, maxAbs(dense));
      for (const t of allTuples(N, n))
        expect(Math.abs(evaluateAt(r, coefficients, input, t) - dense[offset(t, N)]) / scale, `φ = [${coefficients}], n = ${n}, K = ${K}, at ${t}`).toBeLessThan(1e-12);
    }
  });
});

describe('affine layer (docs/theory.md §Affine layers)', () => {
  /** κ'_{a1…ar} = Σ_{i1…ir} W_{a1 i1}…W_{ar ir} κ_{i1…ir}, summed over every tuple (W⊗…⊗W explicitly). */
  function explicitAffine(input: Cumulants, w: Float64Array, rows: number, r: number): Float64Array {
    const cols = input.size;
    const t = input.order(r)!;
    const out = new Float64Array(rows ** r);
    for (const a of allTuples(rows, r))
      for (const i of allTuples(cols, r)) {
        let p = t[offset(i, cols)];
        for (let k = 0; k < r; k++) p *= w[a[k] * cols + i[k]];
        out[offset(a, rows)] += p;
      }
    return out;
  }

  it('matches the explicit sum over W⊗…⊗W for orders ≤ 4, with μ\' = Wμ + b', () => {
    const rng = new Random(43);
    for (const [rows, cols] of [[2, 3], [4, 3], [3, 3], [1, 4], [3, 1]]) {
      const input = randomCumulants(rng, cols, 4);
      const w = randomMatrix(rng, rows, cols);
      const bias = Float64Array.from({ length: rows }, () => rng.normal());
      const out = affineCumulants(input, w, rows, bias, 4);
      const mean = Float64Array.from({ length: rows }, (_, a) => bias[a] + Array.from(input.mean).reduce((s, m, i) => s + w[a * cols + i] * m, 0));
      expect(relativeError(out.mean, mean), `${rows}×${cols} mean`).toBeLessThan(1e-14);
      for (let r = 2; r <= 4; r++) {
        expect(relativeError(out.order(r)!, explicitAffine(input, w, rows, r)), `${rows}×${cols}, order ${r}`).toBeLessThan(1e-13);
        // Mode products of a symmetric tensor stay symmetric (up to rounding).
        expect(asymmetry(out.order(r)!, rows, r).relative).toBeLessThan(1e-13);
      }
    }
  });

  it('equals the cumulants of the law pushed through z = W x + b, orders ≤ 6', () => {
    const rng = new Random(47);
    const law = randomDiscrete(rng, 3, 7, 0.7, [0.2, -0.1, 0.4]);
    const [rows, cols] = [2, 3];
    const w = randomMatrix(rng, rows, cols);
    const bias = Float64Array.from([0.3, -0.5]);
    const pushed = mapDiscrete(law, (x) => Float64Array.from({ length: rows }, (_, a) => bias[a] + x.reduce((s, v, i) => s + w[a * cols + i] * v, 0)));
    const want = discreteCumulants(pushed, 6);
    const got = affineCumulants(discreteCumulants(law, 6), w, rows, bias, 6);
    for (let r = 1; r <= 6; r++) expect(relativeError(got.order(r)!, want.order(r)!), `order ${r}`).toBeLessThan(1e-10);
  });

  it('modeProduct contracts the named axis only', () => {
    const rng = new Random(53);
    const dims = [2, 3, 4];
    const t = Float64Array.from({ length: 24 }, () => rng.normal());
    const w = randomMatrix(rng, 5, 3);
    const out = modeProduct(t, dims, 1, w, 5, 3);
    for (let a = 0; a < 2; a++)
      for (let o = 0; o < 5; o++)
        for (let c = 0; c < 4; c++) {
          let s = 0;
          for (let i = 0; i < 3; i++) s += w[o * 3 + i] * t[(a * 3 + i) * 4 + c];
          expect(out[(a * 5 + o) * 4 + c]).toBeCloseTo(s, 13);
        }
  });
});

describe('propagateReference on discrete laws: what it calls exact is exact', () => {
  function network(rng: Random, widths: number[], coefficients: readonly number[]): Network {
    const { source, params } = polynomialSource(coefficients);
    const layers = widths.slice(1).map((rows, l) => {
      const cols = widths[l];
      return makeLayer(randomMatrix(rng, rows, cols, 0.8 / Math.sqrt(cols)), rows, cols, Float64Array.from({ length: rows }, () => 0.2 * rng.normal()), parseActivation(source, params));
    });
    return { inputSize: widths[0], layers };
  }
  /** Push every support point through the network; per layer, the law of the post-activations. */
  function pushNetwork(law: Discrete, net: Network, coefficients: readonly number[]): Discrete[] {
    const out: Discrete[] = [];
    let current = law;
    for (const layer of net.layers) {
      current = mapDiscrete(current, (x) =>
        Float64Array.from({ length: layer.rows }, (_, a) => {
          let z = layer.bias[a];
          for (let i = 0; i < layer.cols; i++) z += layer.weight[a * layer.cols + i] * x[i];
          return horner(coefficients, z);
        }),
      );
      out.push(current);
    }
    return out;
  }

  it('non-Gaussian input, quadratic φ, K = 4, depth 2: layer 1 exact to order 2, layer 2 to order 1, and no further', () => {
    const rng = new Random(59);
    const coefficients = [0.1, 1, 0.6];
    const net = network(rng, [3, 3, 2], coefficients);
    const law = randomDiscrete(rng, 3, 7, 0.7, [0.2, -0.3, 0.1]);
    // The law has cumulants of every order; give all that a rule can read (up to 8).
    const results = propagateReference(net, discreteCumulants(law, 8), { inputOrder: 4, outputOrder: 4 });
    const truth = pushNetwork(law, net, coefficients).map((d) => discreteCumulants(d, 4));
    // Layer 1: order m needs input orders ≤ 2m ≤ K = 4 ⇒ m ≤ 2. Layer 2: order m needs layer-1 orders ≤ 2m, exact only up to 2 ⇒ m ≤ 1.
    expect(results.map((r) => r.exactOrder)).toEqual([2, 1]);
    results.forEach((r, l) => {
      for (let m = 1; m <= 4; m++) {
        const err = relativeError(r.post.order(m)!, truth[l].order(m)!);
        if (m <= r.exactOrder) expect(err, `layer ${l + 1}, order ${m} (claimed exact)`).toBeLessThan(1e-9);
        else expect(err, `layer ${l + 1}, order ${m} (not claimed exact)`).toBeGreaterThan(1e-6);
      }
    });
  });

  it('Gaussian input, Gaussian closure, depth 2: layer 1 exact; layer 2 mean exact for a quadratic, not for a cubic', () => {
    const rng = new Random(61);
    const chol = Float64Array.from([0.6, 0, 0.2, 0.5]);
    // Layer-2 covariance of a cubic has degree 18 in x; the 10-point rule is exact to degree 19.
    const grid = gaussianGrid([0.2, -0.1], chol, 10);
    // Layer 1: Gaussian pre-activations, so K = 2 loses nothing. Layer 2: its mean needs its
    // pre-activation cumulants up to order d (E[δ^d] has κ_d), which K = 2 keeps only for d = 2.
    for (const [coefficients, layer2] of [
      [[0.05, 0.9, 0.3], 1],
      [[0.05, 0.9, 0.3, -0.2], 0],
    ] as [number[], number][]) {
      const net = network(rng, [2, 3, 2], coefficients);
      const results = propagateReference(net, discreteCumulants(grid, 2), { inputOrder: 2, outputOrder: 2 });
      const truth = pushNetwork(grid, net, coefficients).map((d) => discreteCumulants(d, 2));
      expect(results.map((r) => r.exactOrder), `φ = [${coefficients}]`).toEqual([2, layer2]);
      results.forEach((r, l) => {
        for (let m = 1; m <= 2; m++) {
          const err = relativeError(r.post.order(m)!, truth[l].order(m)!);
          if (m <= r.exactOrder) expect(err, `φ = [${coefficients}], layer ${l + 1}, order ${m} (claimed exact)`).toBeLessThan(1e-9);
          else expect(err, `φ = [${coefficients}], layer ${l + 1}, order ${m} (not claimed exact)`).toBeGreaterThan(1e-6);
        }
      });
    }
  });
});
