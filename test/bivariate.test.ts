import { describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf, erf, normalCdf, normalPdf, singleAtom, type Activation, type SingleAtom } from '../symbolic/activations.ts';
import {
  bivariateNormalExcess, bivariateNormalExcessTensor, exactMean, exactPairCovariance, exactPairCovarianceTensor, exactVariance,
  normalCdfTensor,
} from '../numeric/bivariate.ts';
import { bivariateNormalCdf, bivariateNormalPdf, gaussLegendre } from '../numeric/gauss.ts';
import { smoothedTable } from '../numeric/general.ts';
import { tf, useBackend } from '../numeric/backend.ts';
import { Random } from '../numeric/random.ts';

// ---------------------------------------------------------------------------------------------
// An independent reference: Cov(φ(z_i), φ(z_j)) = E_X[(φ(z_i(X)) − m_i)(E[φ(z_j) | X] − m_j)] with
// z_i = μ_i + √s_i X, X ~ N(0, 1), and z_j | X ~ N(μ_j + (c_ij/√s_i) X, s_j − c_ij²/s_i), whose
// conditional expectation is a univariate closed form. The outer integral is composite 16-point
// Gauss–Legendre on X ∈ [−12, 12] in panels of width ≤ 0.05, cut where φ(z_i(X)) has its kink or
// jump and where the conditional mean crosses φ's kink (sharp when |ρ| → 1). φ(z_i) is evaluated
// by the parsed expression itself, not by its decomposition.

type Kind = SingleAtom['kind'];

/** E[a(ν + σX)], X ~ N(0, 1): the univariate Gaussian smoothing of each atom; σ = 0 gives a(ν). */
function smoothedAtom(kind: Kind, nu: number, sigma: number): number {
  if (sigma === 0) {
    switch (kind) {
      case 'relu': return Math.max(nu, 0);
      case 'heaviside': return nu > 0 ? 1 : 0;
      case 'sign': return Math.sign(nu);
      case 'abs': return Math.abs(nu);
      case 'erf': return erf(nu);
    }
  }
  const m = nu / sigma;
  switch (kind) {
    case 'relu': return nu * normalCdf(m) + sigma * normalPdf(m);
    case 'heaviside': return normalCdf(m);
    case 'sign': return 2 * normalCdf(m) - 1;
    case 'abs': return nu * (2 * normalCdf(m) - 1) + 2 * sigma * normalPdf(m);
    case 'erf': return erf(nu / Math.sqrt(1 + 2 * sigma * sigma));
  }
}

const atomValue = (kind: Kind, u: number) => smoothedAtom(kind, u, 0);

function referenceCovariance(act: Activation, atom: SingleAtom, mi: number, mj: number, si: number, sj: number, c: number): number {
  const root = Math.sqrt(si);
  const beta = c / root;
  const conditionalSd = Math.sqrt(Math.max(sj - (c * c) / si, 0));
  const { kind, slope: p, offset: q, coefficient, linear } = atom;
  const zero = -q / p; // the atom's kink, in z
  const L = 12;
  const cuts = [-L, L];
  if (kind !== 'erf') cuts.push((zero - mi) / root);
  if (beta !== 0) cuts.push((zero - mj) / beta);
  const sorted = [...new Set(cuts.filter((x) => x >= -L && x <= L))].sort((a, b) => a - b);
  const { nodes, weights } = gaussLegendre(16);
  const xs: number[] = [];
  const ws: number[] = [];
  for (let piece = 0; piece + 1 < sorted.length; piece++) {
    const [a, b] = [sorted[piece], sorted[piece + 1]];
    const panels = Math.max(1, Math.ceil((b - a) / 0.05));
    const width = (b - a) / panels;
    for (let k = 0; k < panels; k++) {
      const mid = a + (k + 0.5) * width;
      for (let n = 0; n < nodes.length; n++) {
        const x = mid + (width / 2) * nodes[n];
        xs.push(x);
        ws.push((width / 2) * weights[n] * normalPdf(x));
      }
    }
  }
  const f = xs.map((x) => act.fn(mi + root * x));
  const g = xs.map((x) => {
    const m = mj + beta * x;
    return coefficient * smoothedAtom(kind, p * m + q, Math.abs(p) * conditionalSd) + linear[0] + linear[1] * m;
  });
  let [fi, gj] = [0, 0];
  xs.forEach((_, n) => {
    fi += ws[n] * f[n];
    gj += ws[n] * g[n];
  });
  let cov = 0;
  xs.forEach((_, n) => (cov += ws[n] * (f[n] - fi) * (g[n] - gj)));
  return cov;
}

// ---------------------------------------------------------------------------------------------

const EXPRESSIONS = [
  'relu(z)', 'heaviside(z)', 'sign(z)', 'abs(z)', 'erf(z)',
  'max(z, 0.1*z)', 'z + 0.5*relu(z)', '2*heaviside(z-1)', '3*relu(-2*z+1) - z + 4', 'erf(0.7*z + 0.3) + 0.2*z', 'abs(2*z - 1) - 0.5*z', 'sign(1.5 - z)',
];
const activations = new Map<string, { act: Activation; atom: SingleAtom }>();
function get(source: string): { act: Activation; atom: SingleAtom } {
  let entry = activations.get(source);
  if (!entry) {
    const act = activationOf(parseActivation(source));
    const atom = singleAtom(act);
    if (!atom) throw new Error(`no single atom in ${source}`);
    activations.set(source, (entry = { act, atom }));
  }
  return entry;
}

const RHOS = [-0.995, -0.5, 0, 0.3, 0.9, 0.99, 0.999];

/** Random moments (μ_i, μ_j, s_i, s_j) of a pair. */
function randomPair(random: Random): [number, number, number, number] {
  return [3 * random.uniform() - 1.5, 3 * random.uniform() - 1.5, 0.2 + 1.8 * random.uniform(), 0.2 + 1.8 * random.uniform()];
}

describe('singleAtom', () => {
  it('recognises one atom with an affine argument plus an affine part, and reproduces φ', () => {
    const expected: Record<string, Partial<SingleAtom>> = {
      'relu(z)': { kind: 'relu', coefficient: 1, slope: 1, offset: 0, linear: [0, 0] },
      'max(z, 0.1*z)': { kind: 'relu', coefficient: 0.9, slope: 1, offset: 0, linear: [0, 0.1] },
      'z + 0.5*relu(z)': { kind: 'relu', coefficient: 0.5, linear: [0, 1] },
      '2*heaviside(z-1)': { kind: 'heaviside', coefficient: 2, slope: 1, offset: -1, linear: [0, 0] },
      'erf(0.7*z + 0.3) + 0.2*z': { kind: 'erf', coefficient: 1, slope: 0.7, offset: 0.3, linear: [0, 0.2] },
    };
    for (const source of [...EXPRESSIONS, 'max(0, z)', 'min(z, 0)', 'step(z)', 'relu(z)/pi + sqrt(2)*z', 'relu(z) + relu(z)']) {
      const act = activationOf(parseActivation(source));
      const atom = singleAtom(act)!;
      expect(atom, source).toBeDefined();
      if (expected[source]) expect(atom).toMatchObject(expected[source]);
      for (let z = -4; z <= 4; z += 0.173) {
        const value = atom.coefficient * atomValue(atom.kind, atom.slope * z + atom.offset) + atom.linear[0] + atom.linear[1] * z;
        expect(value, `${source} at ${z}`).toBeCloseTo(act.fn(z), 12);
      }
    }
    expect(singleAtom(activationOf(parseActivation('max(z, a*z)', { a: 0.2 })))).toMatchObject({ kind: 'relu', coefficient: 0.8, linear: [0, 0.2] });
    for (const source of ['max(z, a*z)', 'tanh(z)', 'relu(z) + abs(z)', 'z^2 + relu(z)', 'gelu(z)', 'exp(z)', 'z', 'relu(z) - relu(z)'])
      expect(singleAtom(activationOf(parseActivation(source))), source).toBeUndefined();
  });
});

describe('exact pair covariance (float64)', () => {
  it('agrees with the independent 2-D reference to 1e-10 at ρ ∈ {−0.995, −0.5, 0, 0.3, 0.9, 0.99, 0.999, ±1}', () => {
    const random = new Random(20250611);
    let worst = 0;
    for (const source of EXPRESSIONS) {
      const { act, atom } = get(source);
      for (const rho of [...RHOS, 1, -1]) {
        const [mi, mj, si, sj] = randomPair(random);
        const c = rho * Math.sqrt(si * sj);
        const exact = exactPairCovariance(atom, mi, mj, si, sj, c);
        const reference = referenceCovariance(act, atom, mi, mj, si, sj, c);
        const scale = Math.sqrt(exactVariance(atom, mi, si) * exactVariance(atom, mj, sj));
        const error = Math.abs(exact - reference) / scale;
        worst = Math.max(worst, error);
        expect(error, `${source} at ρ = ${rho}, μ = (${mi}, ${mj}), s = (${si}, ${sj}): ${exact} vs ${reference}`).toBeLessThan(1e-10);
      }
    }
    expect(worst).toBeGreaterThan(0);
  });

  it('mean and variance agree with 1-D quadrature; ρ = 1 with equal marginals gives the variance', () => {
    const random = new Random(7);
    for (const source of EXPRESSIONS) {
      const { act, atom } = get(source);
      for (let trial = 0; trial < 3; trial++) {
        const [mu, , s] = randomPair(random);
        // ρ = 1: z_j = z_i, so the reference (conditional variance 0) is E[(φ − m)²].
        const variance = exactVariance(atom, mu, s);
        expect(Math.abs(referenceCovariance(act, atom, mu, mu, s, s, s) - variance) / variance, source).toBeLessThan(1e-11);
        expect(Math.abs(exactPairCovariance(atom, mu, mu, s, s, s) - variance) / variance, source).toBeLessThan(1e-12);
        // E[φ] by the same Gauss–Legendre panels (ρ = 0: the conditional expectation is the mean).
        const { nodes, weights } = gaussLegendre(16);
        let mean = 0;
        const cuts = [-12, ...(atom.kind === 'erf' ? [] : [(-atom.offset / atom.slope - mu) / Math.sqrt(s)]), 12].sort((a, b) => a - b);
        for (let piece = 0; piece + 1 < cuts.length; piece++)
          for (let k = 0; k < 200; k++) {
            const a = cuts[piece] + ((cuts[piece + 1] - cuts[piece]) * k) / 200;
            const w = (cuts[piece + 1] - cuts[piece]) / 200;
            nodes.forEach((x, n) => {
              const t = a + (w / 2) * (x + 1);
              mean += (w / 2) * weights[n] * normalPdf(t) * act.fn(mu + Math.sqrt(s) * t);
            });
          }
        expect(Math.abs(exactMean(atom, mu, s) - mean), source).toBeLessThan(1e-12 * (1 + Math.abs(mean)));
      }
    }
  });

  it('ρ → 0: the covariance vanishes at c = 0 and is c_ij g_1(i) g_1(j) to first order', () => {
    const random = new Random(99);
    for (const source of EXPRESSIONS) {
      const { act, atom } = get(source);
      const [mi, mj, si, sj] = randomPair(random);
      expect(exactPairCovariance(atom, mi, mj, si, sj, 0), source).toBe(0);
      const table = smoothedTable(act, Float64Array.of(mi, mj), Float64Array.of(si, sj), 2, 1e-12);
      const g1 = table.g[1];
      const g2 = table.g[2];
      for (const c of [1e-4, -1e-4].map((r) => r * Math.sqrt(si * sj))) {
        const cov = exactPairCovariance(atom, mi, mj, si, sj, c);
        // Mehler: c g_1 g_1 + c²/2 g_2 g_2 + O(c³).
        const series = c * g1[0] * g1[1] + ((c * c) / 2) * g2[0] * g2[1];
        expect(Math.abs(cov - series), source).toBeLessThan(1e-11 * Math.sqrt(table.variance[0] * table.variance[1]));
      }
    }
  });

  it('agrees with the Mehler series at |ρ| ≤ 0.5 to 1e-8 (and the series is far off at ρ = 0.99 for Heaviside)', () => {
    const random = new Random(4242);
    const mehler = (g: Float64Array[], c: number, P: number) => {
      let sum = 0;
      let power = 1;
      for (let p = 1; p <= P; p++) {
        power *= c / p;
        sum += power * g[p][0] * g[p][1];
      }
      return sum;
    };
    for (const source of EXPRESSIONS) {
      const { act, atom } = get(source);
      for (const rho of [-0.5, -0.2, 0.1, 0.3, 0.5]) {
        const [mi, mj, si, sj] = randomPair(random);
        const c = rho * Math.sqrt(si * sj);
        const table = smoothedTable(act, Float64Array.of(mi, mj), Float64Array.of(si, sj), 40, 1e-12);
        const scale = Math.sqrt(table.variance[0] * table.variance[1]);
        const exact = exactPairCovariance(atom, mi, mj, si, sj, c);
        expect(Math.abs(exact - mehler(table.g, c, 40)) / scale, `${source} at ρ = ${rho}`).toBeLessThan(1e-8);
      }
    }
    const { act, atom } = get('heaviside(z)');
    const table = smoothedTable(act, Float64Array.of(0.2, -0.1), Float64Array.of(1, 1), 40, 1e-12);
    const exact = exactPairCovariance(atom, 0.2, -0.1, 1, 1, 0.99);
    expect(Math.abs(mehler(table.g, 0.99, 40) - exact) / exact).toBeGreaterThan(0.01);
  });

  it('negative controls: wrong variants of the ReLU and erf forms are rejected by the reference', () => {
    // Rosenbaum's product moment E[(X + h)(Y + k); X > −h, Y > −k] as printed, the last term
    // (1 − ρ²)φ₂; the variant drops the factor (1 − ρ²). The erf variant forgets the 2 in ρ′.
    const rosenbaum = (h: number, k: number, rho: number, right: boolean) => {
      const r = Math.sqrt(1 - rho * rho);
      const last = (right ? 1 - rho * rho : 1) * bivariateNormalPdf(h, k, rho);
      return (h * k + rho) * bivariateNormalCdf(h, k, rho) + h * normalPdf(k) * normalCdf((h - rho * k) / r) + k * normalPdf(h) * normalCdf((k - rho * h) / r) + last;
    };
    const m = (h: number) => h * normalCdf(h) + normalPdf(h);
    const { act, atom } = get('relu(z)');
    const { act: erfAct, atom: erfAtom } = get('erf(z)');
    const random = new Random(5);
    for (const rho of [-0.5, 0.3, 0.9]) {
      const [mi, mj, si, sj] = randomPair(random);
      const c = rho * Math.sqrt(si * sj);
      const [hi, hj, ts] = [mi / Math.sqrt(si), mj / Math.sqrt(sj), Math.sqrt(si * sj)];
      const scale = Math.sqrt(exactVariance(atom, mi, si) * exactVariance(atom, mj, sj));
      const reference = referenceCovariance(act, atom, mi, mj, si, sj, c);
      const right = ts * (rosenbaum(hi, hj, rho, true) - m(hi) * m(hj));
      const wrong = ts * (rosenbaum(hi, hj, rho, false) - m(hi) * m(hj));
      expect(Math.abs(right - reference) / scale).toBeLessThan(1e-10);
      expect(Math.abs(wrong - reference) / scale).toBeGreaterThan(1e-3);

      const erfReference = referenceCovariance(erfAct, erfAtom, mi, mj, si, sj, c);
      const [wi, wj] = [Math.sqrt(1 + 2 * si), Math.sqrt(1 + 2 * sj)];
      const erfWrong = 4 * bivariateNormalExcess((Math.SQRT2 * mi) / wi, (Math.SQRT2 * mj) / wj, c / (wi * wj));
      const erfScale = Math.sqrt(exactVariance(erfAtom, mi, si) * exactVariance(erfAtom, mj, sj));
      expect(Math.abs(exactPairCovariance(erfAtom, mi, mj, si, sj, c) - erfReference) / erfScale).toBeLessThan(1e-10);
      expect(Math.abs(erfWrong - erfReference) / erfScale).toBeGreaterThan(1e-3);
    }
  });

  it('degenerate units and invalid input', () => {
    const { atom } = get('z + 0.5*relu(z)');
    expect(exactPairCovariance(atom, 0.3, 0.1, 0, 1, 0)).toBe(0);
    expect(exactVariance(atom, 0.3, 0)).toBe(0);
    expect(exactMean(atom, -0.3, 0)).toBeCloseTo(-0.3, 15);
    expect(() => exactPairCovariance(atom, 0, 0, 1, 1, 1.5)).toThrow(RangeError);
    expect(() => exactPairCovariance(atom, 0, 0, -1, 1, 0)).toThrow(RangeError);
    expect(() => bivariateNormalExcess(0, 0, 1.2)).toThrow(RangeError);
    // E(h, k; ρ) is even in (h, k), vanishes at ρ = 0 and reaches Φ(min) − Φ(h)Φ(k) at ρ = 1.
    expect(bivariateNormalExcess(0.4, -1.1, 0.6)).toBeCloseTo(bivariateNormalExcess(-0.4, 1.1, 0.6), 15);
    expect(bivariateNormalExcess(0.4, -1.1, 1)).toBeCloseTo(normalCdf(-1.1) - normalCdf(0.4) * normalCdf(-1.1), 15);
  });
});

// ---------------------------------------------------------------------------------------------
// tfjs (float32)

/**
 * Float32 tolerance, relative to √(Var_i Var_j). Measured: ≤ 2e-6 for standardised means
 * |ν/τ| ≤ 6, ≤ 4e-6 out to 8 (the float32 rounding of ν/τ, amplified by |ν/τ| in the tails).
 */
const FLOAT32_TOLERANCE = 1e-5;

/**
 * A batch [B, N] whose covariances cover the cases: a duplicate unit (ρ = 1, equal marginals), a
 * negated one (ρ = −1), ρ ≈ 0.9995, 0.99, 0.95, 0.93, a deterministic unit (s = 0), and generic
 * units; every input rounded to float32 first, so both paths see the same numbers.
 */
function batch(random: Random, B: number, N: number, meanScale = 1.5): { mean: Float64Array; variance: Float64Array; cov: Float64Array } {
  const M = N + 2;
  const mean = new Float64Array(B * N);
  const variance = new Float64Array(B * N);
  const cov = new Float64Array(B * N * N);
  for (let b = 0; b < B; b++) {
    const rows: number[][] = [];
    for (let i = 0; i < N; i++) {
      const base = Array.from({ length: M }, () => random.normal() / Math.sqrt(M));
      const noisy = (eps: number) => rows[0].map((x) => x + eps * (random.normal() / Math.sqrt(M)));
      const row = i === 1 ? [...rows[0]] : i === 2 ? rows[0].map((x) => -x) : i === 3 ? noisy(0.03) : i === 4 ? noisy(0.14) : i === 5 ? noisy(0.35) : i === 6 ? noisy(0.4) : i === 7 ? base.map(() => 0) : base;
      rows.push(row.map((x) => x * (0.5 + random.uniform())));
      mean[b * N + i] = Math.fround(meanScale * (2 * random.uniform() - 1));
    }
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) cov[(b * N + i) * N + j] = Math.fround(rows[i].reduce((acc, x, m) => acc + x * rows[j][m], 0));
    for (let i = 0; i < N; i++) variance[b * N + i] = cov[(b * N + i) * N + i];
  }
  return { mean, variance, cov };
}

function float64Batch(atom: SingleAtom, B: number, N: number, mean: Float64Array, variance: Float64Array, cov: Float64Array): Float64Array {
  const out = new Float64Array(B * N * N);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        const [si, sj] = [variance[b * N + i], variance[b * N + j]];
        const c = cov[(b * N + i) * N + j];
        // The float32 inputs may put |c| a rounding above √(s_i s_j); both paths clamp ρ.
        const clamped = Math.max(-Math.sqrt(si * sj), Math.min(Math.sqrt(si * sj), c));
        out[(b * N + i) * N + j] =
          i === j ? exactVariance(atom, mean[b * N + i], si) : exactPairCovariance(atom, mean[b * N + i], mean[b * N + j], si, sj, clamped);
      }
  return out;
}

describe('exact pair covariance (tfjs, float32)', () => {
  for (const backend of ['wasm', 'cpu'] as const)
    it(`${backend}: matches float64 within ${FLOAT32_TOLERANCE} of √(Var_i Var_j), diagonal included, no tensors left`, async () => {
      await useBackend(backend);
      const random = new Random(backend === 'wasm' ? 31 : 32);
      const [B, N] = [3, 12];
      const before = tf.memory().numTensors;
      for (const [source, meanScale] of EXPRESSIONS.flatMap((e) => [[e, 1.5], [e, 4]] as const)) {
        const { atom } = get(source);
        const { mean, variance, cov } = batch(random, B, N, meanScale);
        const expected = float64Batch(atom, B, N, mean, variance, cov);
        const result = tf.tidy(() =>
          exactPairCovarianceTensor(
            atom,
            tf.tensor2d(Float32Array.from(mean), [B, N]),
            tf.tensor2d(Float32Array.from(variance), [B, N]),
            tf.tensor3d(Float32Array.from(cov), [B, N, N]),
          ).dataSync(),
        );
        for (let b = 0; b < B; b++)
          for (let i = 0; i < N; i++)
            for (let j = 0; j < N; j++) {
              const e = (b * N + i) * N + j;
              const scale = Math.sqrt(expected[(b * N + i) * N + i] * expected[(b * N + j) * N + j]);
              const error = Math.abs(result[e] - expected[e]);
              expect(error, `${source}, b ${b}, (${i}, ${j}): ${result[e]} vs ${expected[e]}`).toBeLessThanOrEqual(FLOAT32_TOLERANCE * scale);
            }
      }
      expect(tf.memory().numTensors).toBe(before);
    });

  it('Φ and E(h, k; ρ) in float32 against float64', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // Inputs exact in float32, so the comparison sees only the error of Φ.
    const xs = Array.from({ length: 521 }, (_, i) => Math.fround(-13 + i * 0.05));
    const phi = tf.tidy(() => normalCdfTensor(tf.tensor1d(xs)).dataSync());
    xs.forEach((x, i) => {
      expect(Math.abs(phi[i] - normalCdf(x)), `Φ(${x})`).toBeLessThan(2.5e-7);
      // The lower tail keeps its relative accuracy down to float32's smallest normal numbers.
      if (x <= 0) expect(Math.abs(phi[i] - normalCdf(x)) / normalCdf(x), `Φ(${x})`).toBeLessThan(6e-7);
    });
    const hs: number[] = [];
    const ks: number[] = [];
    const rs: number[] = [];
    for (const r of [-1, -0.999, -0.95, -0.925, -0.924, -0.6, -0.1, 0, 0.2, 0.5, 0.9, 0.925, 0.93, 0.99, 0.9999, 1])
      for (const h of [-5, -2.5, -0.7, 0, 0.3, 1.9, 4])
        for (const k of [-4, -1.2, 0, 0.3, 2.2, 5]) {
          hs.push(Math.fround(h));
          ks.push(Math.fround(k));
          rs.push(Math.fround(r));
        }
    const E = tf.tidy(() => bivariateNormalExcessTensor(tf.tensor1d(hs), tf.tensor1d(ks), tf.tensor1d(rs)).dataSync());
    hs.forEach((h, i) => {
      const scale = Math.sqrt(normalCdf(h) * normalCdf(-h) * normalCdf(ks[i]) * normalCdf(-ks[i]));
      expect(Math.abs(E[i] - bivariateNormalExcess(h, ks[i], rs[i])), `E(${h}, ${ks[i]}; ${rs[i]})`).toBeLessThan(1e-6 * scale);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
