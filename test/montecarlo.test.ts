import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseActivation } from '../symbolic/expression.ts';
import { Rational } from '../symbolic/rational.ts';
import { transferRule, type TransferRule } from '../symbolic/rule.ts';
import { polynomialActivation } from '../symbolic/taylor.ts';
import { agreement, exponentialMixtureSampler, gaussianSampler, sampleNetwork, type Estimate, type InputSampler, type LayerEstimates } from '../numeric/montecarlo.ts';
import { makeLayer, propagateReference, type LayerResult, type Network } from '../numeric/network.ts';
import { evaluateRule } from '../numeric/reference.ts';
import { bonferroniCritical } from '../numeric/statistics.ts';
import { LONG, covarianceOf, layerCase, maxAbs, polynomialSource, type LayerCase } from './helpers.ts';

/**
 * Theory vs sampling (docs/theory.md §Monte Carlo estimators). Every comparison is one entry of a symmetric tensor, judged by
 * |theory − MC| ≤ z_crit · SE (+ a float64 rounding floor far below any SE), with z_crit the
 * Bonferroni bound over all entries a test compares, so that each test wrongly fails with
 * probability ≤ ALPHA when the theory is right. The negative controls show the same comparison
 * rejects theories that are wrong by realistic amounts.
 */
const ALPHA = 1e-3;
const BATCHES = 50;
const SCALE = LONG ? 4 : 1;

/** Rounding floor: the reference evaluator is float64, so relative 1e-10 is far above its error. */
const floorFor = (theory: Float64Array) => 1e-10 * Math.max(1, maxAbs(theory));

interface Comparison {
  readonly label: string;
  readonly theory: Float64Array;
  readonly estimate: Estimate;
  readonly width: number;
  readonly order: number;
}

interface Verdict {
  readonly critical: number;
  readonly entries: number;
  readonly worst: { label: string; maxZ: number; worstAt: number[] };
  readonly all: { label: string; maxZ: number }[];
}

/** Compare every unique entry of every tensor; the critical value is Bonferroni over all of them. */
function judge(comparisons: readonly Comparison[], alpha: number): Verdict {
  const results = comparisons.map((c) => ({ label: c.label, ...agreement(c.theory, c.estimate, c.width, c.order, floorFor(c.theory)) }));
  const entries = results.reduce((s, r) => s + r.entries, 0);
  const critical = bonferroniCritical(alpha, entries, BATCHES - 1);
  const worst = results.reduce((a, b) => (b.maxZ > a.maxZ ? b : a));
  return { critical, entries, worst, all: results.map((r) => ({ label: r.label, maxZ: r.maxZ })) };
}

function describeVerdict(v: Verdict): string {
  return `max z = ${v.worst.maxZ.toFixed(2)} at ${v.worst.label} [${v.worst.worstAt}] over ${v.entries} entries; bound ${v.critical.toFixed(2)}`;
}

/** Pre- and post-activation comparisons of one layer, orders 1…maxOrder. */
function layerComparisons(l: number, theory: LayerResult, mc: { pre: Estimate[]; post: Estimate[] }, width: number, maxOrder: number): Comparison[] {
  const out: Comparison[] = [];
  // A missing order is zero (Gaussian input: the pre-activation has no κ3).
  const orZero = (t: Float64Array | undefined, m: number) => t ?? new Float64Array(width ** m);
  for (let m = 1; m <= maxOrder; m++) {
    out.push({ label: `layer ${l + 1} pre κ${m}`, theory: orZero(theory.pre.order(m), m), estimate: mc.pre[m], width, order: m });
    out.push({ label: `layer ${l + 1} post κ${m}`, theory: orZero(theory.post.order(m), m), estimate: mc.post[m], width, order: m });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random single layers: z = W x + b, y = φ(z), x = m + A s (centred exponentials) or Gaussian.

/**
 * A layer with a polynomial of degree in [minDegree, maxDegree]: lower coefficients in [−1, 1], the
 * leading one of magnitude 0.1…0.5 (so the degree is real); W with entries in [−1, 1]/√cols; mixing
 * A with entries in [−0.3, 0.3]. Why these bounds: batch estimates of κ3 of a quadratic (or κ2 of a
 * cubic) of exponentials involve moments of s up to order 12 and are strongly skewed; with a leading
 * coefficient up to 1 and A up to 0.4, 4 of 600 runs of the degree-≤2 property exceeded the bound
 * of this file (nominally 1 in 12 000). With these bounds, 1 000 runs each of the degree-≤2 and cubic
 * properties (500 000 samples, 50 batches) gave none, and false-rejection rates below the nominal
 * 5 % and 1 % at those Bonferroni levels.
 */
function layerCases(minDegree: number, maxDegree: number): fc.Arbitrary<LayerCase> {
  return fc
    .record({ degree: fc.integer({ min: minDegree, max: maxDegree }), rows: fc.integer({ min: 1, max: 4 }), cols: fc.integer({ min: 1, max: 4 }) })
    .chain(({ degree, rows, cols }) => layerCase(degree, rows, cols, 0.3));
}

function singleLayer(c: LayerCase): Network {
  const { source, params } = polynomialSource(c.coefficients);
  return { inputSize: c.cols, layers: [makeLayer(Float64Array.from(c.weight), c.rows, c.cols, Float64Array.from(c.bias), parseActivation(source, params))] };
}

function exponentialInput(c: LayerCase): InputSampler {
  return exponentialMixtureSampler(Float64Array.from(c.mean), Float64Array.from(c.mixing), c.cols);
}

/** Gaussian input with Σ = A Aᵀ + 0.01 I (positive definite whatever A is). */
function gaussianInput(c: LayerCase): InputSampler {
  return gaussianSampler(Float64Array.from(c.mean), Float64Array.from(covarianceOf(c.mixing, c.cols)));
}

/**
 * One property run: the exact rule (K = d·n for every reported order n ≤ maxOrder) against the
 * sampled layer, pre- and post-activation, every unique entry.
 */
function exactLayerAgrees(c: LayerCase, input: InputSampler, maxOrder: number, inputOrder: number, alpha: number, samples: number): void {
  const network = singleLayer(c);
  const degree = network.layers[0].activation?.degree ?? 1;
  const theory = propagateReference(network, input.cumulants(8), { inputOrder, outputOrder: maxOrder });
  // The bookkeeping must call every reported order exact here (the premise of this comparison).
  expect(theory[0].exactOrder, `degree ${degree}, K = ${inputOrder}`).toBeGreaterThanOrEqual(maxOrder);
  const mc = sampleNetwork(network, input, { samples, batches: BATCHES, seed: c.seed, maxOrder });
  const verdict = judge(layerComparisons(0, theory[0], mc[0], c.rows, maxOrder), alpha);
  expect(verdict.worst.maxZ, `φ = [${c.coefficients}], ${c.cols} → ${c.rows}: ${describeVerdict(verdict)}`).toBeLessThanOrEqual(verdict.critical);
}

describe('exact rules agree with sampling (fast-check, fixed seeds)', () => {
  it('non-Gaussian inputs, degree ≤ 2, orders n ≤ 3 at K = d·n', { timeout: 120_000 }, () => {
    // Order 4 is left to Gaussian inputs: batch k4 of exponentials (8th moments) is too skewed for
    // a t-based bound at this sample size.
    const numRuns = 12 * SCALE;
    fc.assert(
      fc.property(layerCases(1, 2), (c) => {
        const d = c.coefficients.length - 1;
        exactLayerAgrees(c, exponentialInput(c), 3, 3 * d, ALPHA / numRuns, 500_000);
      }),
      { seed: 0x5eed01, numRuns, endOnFailure: true },
    );
  });

  it('non-Gaussian inputs, cubic polynomials, orders n ≤ 2 at K = 6', { timeout: 120_000 }, () => {
    const numRuns = 12 * SCALE;
    fc.assert(
      fc.property(layerCases(3, 3), (c) => exactLayerAgrees(c, exponentialInput(c), 2, 6, ALPHA / numRuns, 500_000)),
      { seed: 0x5eed02, numRuns, endOnFailure: true },
    );
  });

  it('Gaussian inputs, degree ≤ 3, the Gaussian closure K = 2 is exact (orders ≤ 4 for d = 1, ≤ 3 for d = 2, ≤ 2 for d = 3)', { timeout: 120_000 }, () => {
    const numRuns = 12 * SCALE;
    fc.assert(
      fc.property(layerCases(1, 3), (c) => {
        const d = c.coefficients.length - 1;
        exactLayerAgrees(c, gaussianInput(c), 5 - d, 2, ALPHA / numRuns, 500_000);
      }),
      { seed: 0x5eed03, numRuns, endOnFailure: true },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Negative controls: the same comparison must reject theories that are wrong.

describe('negative controls: the comparison rejects wrong theories', () => {
  // φ = z + a z² on x = m + A s, the setting of the worked example in docs/theory.md §Polynomial activations.
  const a = 0.5;
  const quadratic = parseActivation('z + a*z^2', { a });
  const net: Network = {
    inputSize: 3,
    layers: [makeLayer(Float64Array.from([0.9, -0.4, 0.3, 0.2, 0.7, -0.5, -0.3, 0.4, 0.8]), 3, 3, Float64Array.from([0.1, -0.2, 0.0]), quadratic)],
  };
  const input = exponentialMixtureSampler(Float64Array.from([0.3, -0.2, 0.1]), Float64Array.from([0.6, 0.2, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]), 3);
  let mc: LayerEstimates[];
  let exact: LayerResult[];
  beforeAll(() => {
    mc = sampleNetwork(net, input, { samples: 1_000_000, batches: BATCHES, seed: 2024, maxOrder: 2 });
    exact = propagateReference(net, input.cumulants(8), { inputOrder: 4, outputOrder: 2 });
  }, 60_000);

  const postOnly = (theory: Float64Array[], label: string): Comparison[] =>
    [1, 2].map((m) => ({ label: `${label} κ${m}`, theory: theory[m - 1], estimate: mc[0].post[m], width: 3, order: m }));

  it('the exact rule (K = 4) passes on this sample', () => {
    const v = judge(postOnly([exact[0].post.order(1)!, exact[0].post.order(2)!], 'K = 4'), ALPHA);
    expect(v.worst.maxZ, describeVerdict(v)).toBeLessThanOrEqual(v.critical);
  });

  it('the Gaussian closure (K = 2) on this non-Gaussian input is rejected, for its covariance only', () => {
    const closure = propagateReference(net, input.cumulants(8), { inputOrder: 2, outputOrder: 2 });
    // Its mean is still exact (E[y] needs only Σ); its covariance misses a(1+2aμ)T and a²Q.
    const v = judge(postOnly([closure[0].post.order(1)!, closure[0].post.order(2)!], 'K = 2'), ALPHA);
    console.info(`Gaussian closure vs Monte Carlo: ${describeVerdict(v)}`);
    const z = Object.fromEntries(v.all.map((r) => [r.label, r.maxZ]));
    expect(z['K = 2 κ1']).toBeLessThanOrEqual(v.critical);
    expect(z['K = 2 κ2']).toBeGreaterThan(v.critical);
  });

  it('the exact covariance rule with one coefficient perturbed is rejected (a²Q_iijj × 3/2; a(1+2aμ_i)T_iij × 5/4)', () => {
    const act = polynomialActivation(quadratic);
    const rule = transferRule(act, 2, 4);
    const pre = exact[0].pre.truncate(4);
    const right = judge(postOnly([exact[0].post.order(1)!, evaluateRule(rule, pre)], 'rule'), ALPHA);
    expect(right.worst.maxZ, describeVerdict(right)).toBeLessThanOrEqual(right.critical);
    // The terms of the worked example (docs/theory.md §Polynomial activations) that carry the input's fourth and third cumulants.
    const targets: [string, (t: TransferRule['terms'][number]) => boolean, Rational][] = [
      ['a²Q_iijj × 3/2', (t) => t.cumulants.length === 1 && t.cumulants[0].order === 4, Rational.of(3, 2)],
      ['a(1+2aμ_i)T_iij × 5/4', (t) => t.cumulants.length === 1 && t.cumulants[0].order === 3 && t.cumulants[0].slots.join() === '0,0,1', Rational.of(5, 4)],
    ];
    for (const [label, pick, factor] of targets) {
      const target = rule.terms.findIndex(pick);
      expect(target, label).toBeGreaterThanOrEqual(0);
      const perturbed: TransferRule = {
        ...rule,
        terms: rule.terms.map((t, k) => (k === target ? { ...t, coefficient: t.coefficient.mul(factor) } : t)),
      };
      const theory = evaluateRule(perturbed, pre);
      // Premise of the control: the shift is several bounds wide in units of SE, so rejection does
      // not hinge on luck (a shift of one bound would be rejected only about half the time).
      const exactCov = exact[0].post.order(2)!;
      const shift = Math.max(...Array.from(theory, (v, k) => Math.abs(v - exactCov[k]) / mc[0].post[2].standardError[k]));
      const wrong = judge(postOnly([exact[0].post.order(1)!, theory], label), ALPHA);
      console.info(`${label}: shift ${shift.toFixed(1)} SE; ${describeVerdict(wrong)}`);
      expect(shift, label).toBeGreaterThan(2 * wrong.critical);
      expect(wrong.worst.maxZ, label).toBeGreaterThan(wrong.critical);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Depth: truncation errors accumulate; the bookkeeping says which orders stay exact.

describe('multi-layer networks: exactOrder bookkeeping against sampling', () => {
  /** 3 → 4 → 3 → 2 with φ = z + 0.4 z², weights of scale 1/√fan-in. */
  function deepNetwork(): Network {
    const act = parseActivation('z + a*z^2', { a: 0.4 });
    const w1 = [0.7, -0.3, 0.4, 0.2, 0.6, -0.5, -0.4, 0.3, 0.5, 0.3, 0.4, 0.2];
    const w2 = [0.5, -0.2, 0.3, 0.1, 0.2, 0.4, -0.3, 0.5, -0.1, 0.3, 0.4, 0.2];
    const w3 = [0.6, -0.3, 0.2, 0.1, 0.5, -0.4];
    return {
      inputSize: 3,
      layers: [
        makeLayer(Float64Array.from(w1), 4, 3, Float64Array.from([0.1, -0.1, 0.0, 0.2]), act),
        makeLayer(Float64Array.from(w2), 3, 4, Float64Array.from([0.0, 0.1, -0.1]), act),
        makeLayer(Float64Array.from(w3), 2, 3, Float64Array.from([0.05, -0.05]), act),
      ],
    };
  }
  const network = deepNetwork();
  const widths = network.layers.map((l) => l.rows);

  /**
   * Compare every order a layer claims exact (post) and the orders its pre-activation inherits from
   * the layer before (pre of layer 1 is an affine image of the input: exact at every order); report
   * the others without judging them.
   */
  function check(label: string, results: LayerResult[], mc: ReturnType<typeof sampleNetwork>, maxOrder: number): Verdict | undefined {
    const claimed: Comparison[] = [];
    const report: string[] = [];
    results.forEach((r, l) => {
      const preExact = l === 0 ? Infinity : results[l - 1].exactOrder;
      for (let m = 1; m <= maxOrder; m++) {
        for (const [stage, theory, estimate, exactHere] of [
          ['pre', r.pre.order(m)!, mc[l].pre[m], m <= preExact],
          ['post', r.post.order(m)!, mc[l].post[m], m <= r.exactOrder],
        ] as const) {
          const c = { label: `layer ${l + 1} ${stage} κ${m}`, theory, estimate, width: widths[l], order: m };
          const z = agreement(theory, estimate, widths[l], m, floorFor(theory)).maxZ;
          report.push(`${c.label}: max z ${z.toFixed(1)}${exactHere ? ' (claimed exact)' : ''}`);
          if (exactHere) claimed.push(c);
        }
      }
    });
    console.info(`${label}; exactOrder by layer [${results.map((r) => r.exactOrder)}]\n  ${report.join('\n  ')}`);
    return claimed.length ? judge(claimed, ALPHA) : undefined;
  }

  it('non-Gaussian input, depth 3: K = 2 claims [1, 0, 0], K = 4 claims [2, 1, 0], and the claims hold', { timeout: 60_000 }, () => {
    const input = exponentialMixtureSampler(Float64Array.from([0.3, -0.2, 0.1]), Float64Array.from([0.5, 0.2, 0.1, 0.1, 0.4, 0.3, 0.2, 0.1, 0.3]), 3);
    const mc = sampleNetwork(network, input, { samples: 600_000 * SCALE, batches: BATCHES, seed: 77, maxOrder: 2 });
    // Input cumulants of every order a rule can read are given (the exponential mixture has all).
    const closure = propagateReference(network, input.cumulants(8), { inputOrder: 2, outputOrder: 2 });
    const exact4 = propagateReference(network, input.cumulants(8), { inputOrder: 4, outputOrder: 2 });
    // Layer 1 order m needs input orders ≤ 2m ≤ K; layer l+1 order m needs layer-l orders ≤ 2m exact.
    expect(closure.map((r) => r.exactOrder)).toEqual([1, 0, 0]);
    expect(exact4.map((r) => r.exactOrder)).toEqual([2, 1, 0]);
    for (const [label, results] of [['Gaussian closure K = 2', closure], ['K = 4', exact4]] as const) {
      const v = check(`non-Gaussian input, ${label}`, results, mc, 2);
      expect(v, label).toBeDefined();
      expect(v!.worst.maxZ, `${label}: ${describeVerdict(v!)}`).toBeLessThanOrEqual(v!.critical);
    }
  });

  it('Gaussian input, depth 3, Gaussian closure: claims [2, 1, 0], and the claims hold', { timeout: 60_000 }, () => {
    const cov = Float64Array.from([0.3, 0.1, 0.05, 0.1, 0.25, 0.08, 0.05, 0.08, 0.2]);
    const input = gaussianSampler(Float64Array.from([0.3, -0.2, 0.1]), cov);
    const mc = sampleNetwork(network, input, { samples: 600_000 * SCALE, batches: BATCHES, seed: 78, maxOrder: 2 });
    const closure = propagateReference(network, input.cumulants(8), { inputOrder: 2, outputOrder: 2 });
    expect(closure.map((r) => r.exactOrder)).toEqual([2, 1, 0]);
    const v = check('Gaussian input, Gaussian closure K = 2', closure, mc, 2);
    expect(v!.worst.maxZ, describeVerdict(v!)).toBeLessThanOrEqual(v!.critical);
  });
});
