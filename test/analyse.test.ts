/**
 * The class-conditional analysis: cumulant slices and the K = 4 rules against brute-force sample
 * statistics, the Gaussian argmax probability against its closed form, the mean/covariance
 * classifiers on XOR data, and a whole analysis of a hand-made XOR network.
 */
import { describe, expect, it } from 'vitest';
import { Random, makeLayer, normalCdf, parseActivation } from '../numeric/index.ts';
import { polynomialActivation } from '../symbolic/taylor.ts';
import { analyseNetwork } from '../src/analysis/analyse.ts';
import { gaussianArgmaxProbability, stageClassifiers } from '../src/analysis/classifier.ts';
import { cumulantSlice, slicedMeanCovariance } from '../src/analysis/sliced.ts';
import { classStatistics, type ClassHigherMoments } from '../src/analysis/statistics.ts';
import { xorBlobs } from '../src/analysis/reproduce/blobs.ts';

/** Skewed, correlated samples: x = A s with centred exponential sources (non-zero κ3, κ4). */
function skewedSamples(count: number, n: number, seed: number): Float64Array[] {
  const rng = new Random(seed);
  const a = Array.from({ length: n * n }, () => rng.normal() / Math.sqrt(n));
  return Array.from({ length: count }, () => {
    const s = Array.from({ length: n }, () => rng.centredExponential());
    return Float64Array.from({ length: n }, (_, i) => 0.3 * i + s.reduce((acc, v, k) => acc + a[i * n + k] * v, 0));
  });
}

/** Brute-force population moments of the samples (float64, independent of the code under test). */
function bruteMoments(xs: Float64Array[]): { mean: Float64Array; higher: ClassHigherMoments; cov: Float64Array } {
  const n = xs[0].length;
  const mean = new Float64Array(n);
  for (const x of xs) for (let i = 0; i < n; i++) mean[i] += x[i] / xs.length;
  const d = xs.map((x) => x.map((v, i) => v - mean[i]));
  const bivariate = new Map<string, Float64Array>();
  for (let a = 1; a <= 3; a++)
    for (let b = 1; a + b <= 4; b++) {
      const m = new Float64Array(n * n);
      for (const v of d) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] += (v[i] ** a * v[j] ** b) / xs.length;
      bivariate.set(`${a},${b}`, m);
    }
  const diagonal = [0, 1, 2, 3, 4].map((r) => Float64Array.from({ length: n }, (_, i) => d.reduce((acc, v) => acc + v[i] ** r, 0) / xs.length));
  return { mean, higher: { width: n, bivariate, diagonal }, cov: bivariate.get('1,1')! };
}

describe('cumulant slices', () => {
  const xs = skewedSamples(4000, 3, 11);
  const { higher, cov } = bruteMoments(xs);
  const n = 3;
  it('Q_iijj = E[δ_i²δ_j²] − Σ_iiΣ_jj − 2Σ_ij² and T_iij = E[δ_i²δ_j]', () => {
    const q = cumulantSlice(higher, 2, 2);
    const t = cumulantSlice(higher, 2, 1);
    const m22 = higher.bivariate.get('2,2')!;
    const m21 = higher.bivariate.get('2,1')!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const e = i * n + j;
        expect(q[e]).toBeCloseTo(m22[e] - cov[i * n + i] * cov[j * n + j] - 2 * cov[e] ** 2, 10);
        expect(t[e]).toBeCloseTo(m21[e], 10);
      }
    // The sources are skewed: the slices are far from zero (the check above is not 0 = 0).
    expect(Math.max(...Array.from(t, Math.abs))).toBeGreaterThan(0.1);
  });

  it('the K = 4 rules on measured slices give the measured post-activation moments of a quadratic exactly; K = 2 does not', () => {
    const act = polynomialActivation(parseActivation('z + a*z^2', { a: 0.7 }));
    const { mean } = bruteMoments(xs);
    const post = xs.map((x) => x.map((z) => z + 0.7 * z * z));
    const measured = bruteMoments(post);
    const k4 = slicedMeanCovariance(act, mean, higher, 4);
    const k2 = slicedMeanCovariance(act, mean, higher, 2);
    let worst4 = 0;
    let worst2 = 0;
    for (let e = 0; e < n * n; e++) {
      worst4 = Math.max(worst4, Math.abs(k4.cov[e] - measured.cov[e]));
      worst2 = Math.max(worst2, Math.abs(k2.cov[e] - measured.cov[e]));
    }
    for (let i = 0; i < n; i++) expect(k4.mean[i]).toBeCloseTo(measured.mean[i], 10);
    expect(worst4).toBeLessThan(1e-9);
    expect(worst2).toBeGreaterThan(0.1);
  });
});

describe('Gaussian argmax probability', () => {
  it('matches Φ((μ₀ − μ₁)/√(Σ₀₀ + Σ₁₁ − 2Σ₀₁)) within 4 standard errors, and detects a shifted mean', () => {
    const mean = Float64Array.of(0.3, 0);
    const cov = Float64Array.of(1, 0.4, 0.4, 0.5);
    const exact = normalCdf(0.3 / Math.sqrt(1 + 0.5 - 0.8));
    const p = gaussianArgmaxProbability(mean, cov, 0, 40_000, 3);
    expect(Math.abs(p.value - exact)).toBeLessThan(4 * p.standardError);
    const shifted = gaussianArgmaxProbability(Float64Array.of(0.5, 0), cov, 0, 40_000, 3);
    expect(Math.abs(shifted.value - exact)).toBeGreaterThan(4 * shifted.standardError);
  });
});

/** A 2-4-2 network that computes ±8a·x₁x₂ with φ = z + a z² (φ(u) + φ(−u) = 2a u²). */
function xorNetwork(a: number) {
  const phi = parseActivation('z + a*z^2', { a });
  const w1 = Float64Array.from([1, 1, -1, -1, 1, -1, -1, 1]);
  const w2 = Float64Array.from([1, 1, -1, -1, -1, -1, 1, 1]);
  return { inputSize: 2, layers: [makeLayer(w1, 4, 2, new Float64Array(4), phi), makeLayer(w2, 2, 4, new Float64Array(2), parseActivation('z'))] };
}

describe('analysis of a hand-made XOR network', () => {
  it('class information: in the covariance at the input, in the mean at the output; K = 4 at layer 1 reproduces the measured statistics', async () => {
    const train = xorBlobs(4000, 0.4, 1, 'xor-train');
    const test = xorBlobs(4000, 0.4, 2, 'xor-test');
    const net = xorNetwork(0.5);
    const r = await analyseNetwork(net, train, test, { backend: 'wasm', samples: 20_000, seed: 5 });
    expect(r.network.overall.value).toBeGreaterThan(0.95);
    const [input, , , output] = r.classifiers;
    expect(Math.abs(input.meanOnly.value - 0.5)).toBeLessThan(4 * input.meanOnly.standardError);
    expect(input.covarianceOnly.value).toBeGreaterThan(0.95);
    expect(output.meanOnly.value).toBeGreaterThan(0.95);
    // With the covariance dropped the theory cannot tell the classes apart at the input.
    expect(r.startingPoints[0].meanOnly.overall.value).toBe(0.5);
    if (!('byInputOrder' in r.higherOrders)) throw new Error('the K = 4 ablation should run for a quadratic first layer');
    expect(r.higherOrders.k4Deviation).toBeLessThan(1e-4);
    const k4 = r.higherOrders.byInputOrder.find((k) => k.inputOrder === 4)!.theory.overall;
    const post = r.startingPoints.find((p) => p.stage === 'post 1')!.theory.overall;
    expect(Math.abs(k4.value - post.value)).toBeLessThan(4 * Math.hypot(k4.standardError, post.standardError) + 1e-3);
    // The blob mixture's fourth cumulant matters: the Gaussian closure from the input is far worse.
    expect(post.value - r.startingPoints[0].theory.overall.value).toBeGreaterThan(0.1);
  });

  it('measured class statistics are those of the data (float32 products, float64 results)', async () => {
    const data = xorBlobs(400, 0.4, 3, 'xor');
    const stats = await classStatistics(xorNetwork(0.5), data);
    const rows = Array.from({ length: data.count }, (_, r) => r).filter((r) => data.labels[r] === 1);
    const m = [0, 1].map((i) => rows.reduce((a, r) => a + data.features[2 * r + i], 0) / rows.length);
    const c01 = rows.reduce((a, r) => a + (data.features[2 * r] - m[0]) * (data.features[2 * r + 1] - m[1]), 0) / rows.length;
    expect(stats.moments[0][1].mean[0]).toBeCloseTo(m[0], 5);
    expect(stats.moments[0][1].cov[1]).toBeCloseTo(c01, 4);
    expect(c01).toBeLessThan(-0.8);
  });

  it('covariance classifiers see the XOR classes, the nearest-mean classifier does not', async () => {
    const train = xorBlobs(2000, 0.4, 4, 'train');
    const test = xorBlobs(2000, 0.4, 5, 'test');
    const stats = await classStatistics(xorNetwork(0.5), train);
    const c = await stageClassifiers(stats.moments[0], test.features, test.labels, 0.05);
    expect(Math.abs(c.meanOnly.value - 0.5)).toBeLessThan(4 * c.meanOnly.standardError);
    expect(c.covarianceOnly.value).toBeGreaterThan(0.95);
    expect(c.gaussian.value).toBeGreaterThan(0.95);
  });
});
