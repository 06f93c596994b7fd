/**
 * κ3 of general activations by trivariate quadrature (numeric/trivariate.ts): against the three-vertex
 * series where that converges (two independent routes), and against Monte Carlo at strong correlation
 * (ρ ≥ 0.95), where the series is only asymptotic — batch standard errors, a Bonferroni bound over
 * every entry compared, fixed seeds; negative controls show the comparison rejects a wrong activation
 * and the asymptotic series.
 */
import { describe, expect, it } from 'vitest';
import { activationOf, type Activation } from '../symbolic/activations.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { gaussianLayer, gaussianLayerErrors, kinkPoints, transitionPoints } from '../numeric/general.ts';
import { centralTripleMoment, semidefiniteCholesky, trivariateSetup } from '../numeric/trivariate.ts';
import { withWork } from '../numeric/work.ts';
import { bonferroniCritical } from '../numeric/statistics.ts';
import { sampleCumulants } from './sampling.ts';
import { Cumulants } from '../numeric/tensor.ts';

const activation = (source: string) => activationOf(parseActivation(source));

/** Covariance with standard deviations sd and correlation rho between every pair. */
function equicorrelated(sd: readonly number[], rho: number): Float64Array {
  const n = sd.length;
  return Float64Array.from({ length: n * n }, (_, e) => sd[Math.floor(e / n)] * sd[e % n] * (Math.floor(e / n) === e % n ? 1 : rho));
}

/** κ3 entries i ≤ j ≤ k of φ(z), z ~ N(mean, cov), sampled (test/sampling.ts). */
const sampledThirdCumulant = (phi: (z: number) => number, mean: readonly number[], cov: Float64Array, seed: number) => sampleCumulants(phi, mean, cov, 3, seed)[3];

const offset = ([i, j, k]: number[], n: number) => (i * n + j) * n + k;

/** Largest |theory − MC|/(SE + stated error) over the entries. */
function worstZ(k3: Float64Array, n: number, sampled: ReturnType<typeof sampledThirdCumulant>, error = 0): { z: number; at: number[] } {
  let worst = { z: 0, at: [0, 0, 0] };
  for (const s of sampled) {
    const z = Math.max(0, Math.abs(k3[offset(s.index, n)] - s.value) - error) / s.se;
    if (z > worst.z) worst = { z, at: s.index };
  }
  return worst;
}

describe('the trivariate moment itself', () => {
  it('κ3 of z² is 8 Σ_12 Σ_23 Σ_31 at any correlation, ρ = 1 (a determined direction) included', () => {
    const z = activation('z^2');
    const setup = trivariateSetup(z, []);
    for (const rho of [0, 0.5, 0.95, 0.999999, 1]) {
      const C = equicorrelated([1, 2, 0.5], rho);
      // κ3 of z² for zero-mean Gaussians: 8 Σ_12 Σ_23 Σ_31.
      const r = centralTripleMoment(setup, [0, 0, 0], C, [1, 4, 0.25], 2, 1e-12);
      expect(r.value, `ρ = ${rho}`).toBeCloseTo(8 * C[1] * C[5] * C[2], 9);
      expect(r.error).toBeLessThan(1e-6);
    }
    // A repeated index is a determined direction: L has a zero pivot and no NaN.
    const L = semidefiniteCholesky(equicorrelated([1, 1, 1], 1));
    expect([...L].every(Number.isFinite)).toBe(true);
    expect(L[4]).toBe(0);
  });

  it('agrees with the three-vertex series where that converges (moderate correlations), within the stated errors', () => {
    for (const source of ['relu(z) + 0.5*tanh(z)', 'gelu(z) - 0.3*abs(z - 0.5)']) {
      const act = activation(source);
      const n = 3;
      const mean = Float64Array.from([0.2, -0.3, 0.1]);
      const cov = Float64Array.from([1, 0.3, -0.2, 0.3, 0.8, 0.25, -0.2, 0.25, 1.2]);
      const pre = new Cumulants(n, [undefined, mean, cov]);
      const series = gaussianLayer(act, pre, 3);
      expect(series.thirdTruncation?.order, source).toBeGreaterThan(0); // the series converged: not replaced
      const setup = trivariateSetup(act, [...new Set([...kinkPoints(act), ...transitionPoints(act)])]);
      const m = series.post.mean;
      const C = Float64Array.from([cov[0], cov[1], cov[2], cov[3], cov[4], cov[5], cov[6], cov[7], cov[8]]);
      const r = centralTripleMoment(setup, mean, C, [m[0], m[1], m[2]], 1, 1e-9);
      const k3 = series.post.order(3)![offset([0, 1, 2], n)];
      // The series stops when two shells add less than 1e-8 of max Var^{3/2}: its own accuracy.
      const scale = Math.max(...[0, 1, 2].map((i) => series.post.order(2)![i * n + i])) ** 1.5;
      expect(Math.abs(r.value - k3), `${source}: quadrature ${r.value}, series ${k3}, stated error ${r.error}`).toBeLessThanOrEqual(r.error + 1e-8 * scale);
      expect(Math.abs(r.value - k3), source).toBeGreaterThan(0); // two routes, not one value twice
    }
  });
});

describe('κ3 at strong correlation: the series is asymptotic, the quadrature converges and agrees with Monte Carlo', () => {
  const cases = [
    { source: 'relu(z) + erf(z)', rho: 0.97, sd: [1, 1.3, 0.8], mean: [0.1, -0.2, 0.3] },
    { source: 'relu(z) + 0.5*abs(z - 0.3)', rho: 0.99, sd: [1, 0.7, 1.1], mean: [0.3, 0.1, -0.2] },
    { source: 'tanh(2*z) + relu(z)', rho: -0.95, sd: [0.9, 1, 1.2], mean: [0, 0.2, -0.1] },
  ];
  const ALPHA = 1e-3;
  const entriesCompared = cases.length * 10 + 2 * 10; // the cases and the two negative controls' families
  const critical = bonferroniCritical(ALPHA, entriesCompared, 39);
  const run = (act: Activation, mean: number[], cov: Float64Array, maxSeconds = 600) => {
    const notes: string[] = [];
    const result = withWork({ maxSeconds, option: '--max-seconds', notes }, () => gaussianLayer(act, new Cumulants(3, [undefined, Float64Array.from(mean), cov]), 3));
    return { result, notes, k3: result.post.order(3)!, errors: gaussianLayerErrors(result) };
  };

  cases.forEach((c, index) => {
    it(`${c.source} at ρ = ${c.rho}: exact label, stated error, agreement within ${critical.toFixed(2)} SE`, { timeout: 120_000 }, () => {
      const act = activation(c.source);
      // ρ < 0: unit 0 anti-correlated with units 1 and 2 (which stay positively correlated).
      const sign = [c.rho < 0 ? -1 : 1, 1, 1];
      const cov = equicorrelated(c.sd, Math.abs(c.rho)).map((v, e) => v * sign[Math.floor(e / 3)] * sign[e % 3]);
      const { result, k3, errors, notes } = run(act, c.mean, cov);
      expect(result.thirdTruncation, 'the quadrature replaced the asymptotic series').toMatchObject({ order: 0, converged: true });
      expect(notes).toEqual([]);
      expect(errors[3]).toBeLessThan(1e-3);
      const sampled = sampledThirdCumulant(act.fn, c.mean, cov, 0x7717 + index);
      const w = worstZ(k3, 3, sampled, result.thirdTruncation!.estimate);
      expect(w.z, `${c.source}: worst z ${w.z.toFixed(2)} at ${w.at}`).toBeLessThanOrEqual(critical);
    });
  });

  it('negative controls: a slightly different activation, and the asymptotic series kept when the budget is spent, are rejected', { timeout: 120_000 }, () => {
    const c = cases[0];
    const cov = equicorrelated(c.sd, c.rho);
    const sampled = sampledThirdCumulant(activation('relu(z) + erf(1.15*z)').fn, c.mean, cov, 0x7790);
    const { k3 } = run(activation(c.source), c.mean, cov);
    expect(worstZ(k3, 3, sampled).z).toBeGreaterThan(critical);
    // No time left: the series stays, labelled approximate, with a note naming the option that raises the budget.
    const held = cases[1];
    const heldCov = equicorrelated(held.sd, held.rho);
    const series = run(activation(held.source), held.mean, heldCov, 0);
    expect(series.result.thirdTruncation?.converged).toBe(false);
    expect(series.notes.join('\n')).toMatch(/only asymptotic .*trivariate quadrature would take about \d+ s.*raise --max-seconds/);
    const truth = sampledThirdCumulant(activation(held.source).fn, held.mean, heldCov, 0x7791);
    expect(worstZ(series.k3, 3, truth).z, 'the asymptotic series is off by more than sampling explains').toBeGreaterThan(critical);
  });
});
