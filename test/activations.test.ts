import { describe, expect, it } from 'vitest';
import { nerdamer } from '../symbolic/nerdamer.ts';
import { parseActivation } from '../symbolic/expression.ts';
import {
  SMOOTHED_FUNCTIONS, activationOf, erf, erfc, normalCdf, normalPdf, smoothedDerivatives, smoothedEvaluator, smoothedValidity,
  type Activation, type ActivationName,
} from '../symbolic/activations.ts';
import { InputError } from '../symbolic/errors.ts';
import { parse } from '../symbolic/math.ts';
import { Random } from '../numeric/random.ts';

// ---------------------------------------------------------------------------------------------
// Independent references: an erf by its everywhere-positive series, Hermite polynomials by their
// recurrence, Gaussian expectations by composite Simpson split at the kinks of φ.

/** erf(x) = 2/√π e^{−x²} Σ_n 2^n x^{2n+1}/(2n+1)!! (all terms positive: no cancellation). */
function seriesErf(x: number): number {
  const y = Math.abs(x);
  if (y > 6.5) return Math.sign(x);
  let term = y;
  let sum = y;
  for (let n = 1; n < 400 && term > 1e-18 * sum; n++) {
    term *= (2 * y * y) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-y * y) * sum;
}
const seriesCdf = (x: number) => 0.5 * (1 + seriesErf(x / Math.SQRT2));

/** Probabilists' Hermite polynomials: He_{k+1} = x He_k − k He_{k−1}. */
function hermite(k: number, x: number): number {
  let [p0, p1] = [1, x];
  if (k === 0) return 1;
  for (let j = 1; j < k; j++) [p0, p1] = [p1, x * p1 - j * p0];
  return p1;
}

/**
 * E[f(mu + √s X) w(X)], X ~ N(0,1), by composite Simpson on x ∈ [−L, L] split where mu + √s x hits
 * a kink; endpoints are nudged inside each piece, so a jump is seen from its own side. Also returns
 * E[|f w|], the scale of the integrand.
 */
function gaussianIntegral(
  f: (z: number) => number,
  mu: number,
  s: number,
  kinks: readonly number[] = [],
  w: (x: number) => number = () => 1,
  L = 16,
  panels = 6000,
): { value: number; scale: number } {
  const sigma = Math.sqrt(s);
  const cuts = [-L, ...kinks.map((k) => (k - mu) / sigma).filter((x) => x > -L && x < L).sort((a, b) => a - b), L];
  let value = 0;
  let scale = 0;
  for (let piece = 0; piece + 1 < cuts.length; piece++) {
    const [a, b] = [cuts[piece], cuts[piece + 1]];
    const h = (b - a) / panels;
    const nudge = 1e-12 * (b - a);
    for (let i = 0; i <= panels; i++) {
      const x = i === 0 ? a + nudge : i === panels ? b - nudge : a + i * h;
      const weight = i === 0 || i === panels ? 1 : i % 2 === 1 ? 4 : 2;
      const g = f(mu + sigma * x) * w(x) * normalDensity(x);
      value += (weight * h * g) / 3;
      scale += (weight * h * Math.abs(g)) / 3;
    }
  }
  return { value, scale };
}
const normalDensity = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

function activation(source: string, values: Record<string, number> = {}): Activation {
  return activationOf(parseActivation(source, values));
}

function G(a: Activation, parameters: Record<string, number> = {}): (mu: number, s: number) => number {
  expect(a.smoothed, `${a.expression.source} has a closed form`).toBeDefined();
  return smoothedEvaluator(a.smoothed!.G, parameters);
}

// ---------------------------------------------------------------------------------------------
// The forms corrmap recognises, each with φ written out independently and its kinks.

interface Case {
  readonly source: string;
  readonly values?: Record<string, number>;
  readonly name: ActivationName;
  readonly phi: (z: number) => number;
  readonly kinks?: readonly number[];
  /** Range of the variance drawn in the checks (default [0.1, 2]). */
  readonly s?: readonly [number, number];
}

const relu = (z: number) => Math.max(z, 0);
const CASES: readonly Case[] = [
  { source: 'relu(z)', name: 'relu', phi: relu, kinks: [0] },
  { source: 'max(z, 0)', name: 'relu', phi: relu, kinks: [0] },
  { source: 'max(0, z)', name: 'relu', phi: relu, kinks: [0] },
  { source: 'max(z, 0.1*z)', name: 'leaky-relu', phi: (z) => Math.max(z, 0.1 * z), kinks: [0] },
  { source: 'max(a*z, z)', values: { a: 0.3 }, name: 'leaky-relu', phi: (z) => Math.max(0.3 * z, z), kinks: [0] },
  { source: 'heaviside(z)', name: 'heaviside', phi: (z) => (z > 0 ? 1 : 0), kinks: [0] },
  { source: 'step(z)', name: 'heaviside', phi: (z) => (z > 0 ? 1 : 0), kinks: [0] },
  { source: 'abs(z)', name: 'abs', phi: Math.abs, kinks: [0] },
  { source: 'sign(z)', name: 'sign', phi: Math.sign, kinks: [0] },
  { source: 'hardtanh(z)', name: 'hardtanh', phi: (z) => Math.min(Math.max(z, -1), 1), kinks: [-1, 1] },
  { source: 'hardtanh(1.5*z - 0.3)', name: 'hardtanh', phi: (z) => Math.min(Math.max(1.5 * z - 0.3, -1), 1), kinks: [-0.7 / 1.5, 1.3 / 1.5] },
  { source: 'hardtanh(-z/2)', name: 'hardtanh', phi: (z) => Math.min(Math.max(-z / 2, -1), 1), kinks: [-2, 2] },
  { source: 'erf(z)', name: 'erf', phi: seriesErf },
  { source: 'erf(b*z)', values: { b: 0.8 }, name: 'erf', phi: (z) => seriesErf(0.8 * z) },
  { source: 'gelu(z)', name: 'gelu', phi: (z) => z * seriesCdf(z) },
  { source: 'exp(z)', name: 'exp', phi: Math.exp },
  { source: 'exp(c*z)', values: { c: -0.7 }, name: 'exp', phi: (z) => Math.exp(-0.7 * z) },
  { source: 'sin(z)', name: 'sin', phi: Math.sin },
  { source: 'cos(z)', name: 'cos', phi: Math.cos },
  { source: 'sin(w*z)', values: { w: 2.5 }, name: 'sin', phi: (z) => Math.sin(2.5 * z) },
  { source: 'cos(w*z)', values: { w: 1.7 }, name: 'cos', phi: (z) => Math.cos(1.7 * z) },
  { source: 'sinh(z)', name: 'sinh', phi: Math.sinh },
  { source: 'cosh(0.5*z)', name: 'cosh', phi: (z) => Math.cosh(0.5 * z) },
  { source: 'exp(-z^2/2)', name: 'gaussian-bump', phi: (z) => Math.exp(-0.5 * z * z) },
  { source: 'exp(-c*z^2)', values: { c: 0.8 }, name: 'gaussian-bump', phi: (z) => Math.exp(-0.8 * z * z) },
  { source: 'exp(z^2)', name: 'gaussian-bump', phi: (z) => Math.exp(z * z), s: [0.05, 0.25] },
  { source: 'exp(-0.3*z^2 + 0.2*z + 0.1)', name: 'gaussian-bump', phi: (z) => Math.exp(-0.3 * z * z + 0.2 * z + 0.1) },
  { source: 'z', name: 'polynomial', phi: (z) => z },
  { source: 'z + a*z^2', values: { a: 0.5 }, name: 'polynomial', phi: (z) => z + 0.5 * z * z },
  { source: 'z^3 - 2*z', name: 'polynomial', phi: (z) => z ** 3 - 2 * z },
  { source: 'z + 0.5*relu(z)', name: 'combination', phi: (z) => z + 0.5 * relu(z), kinks: [0] },
  { source: '2*sin(z) - z^2', name: 'combination', phi: (z) => 2 * Math.sin(z) - z * z },
  { source: 'relu(2*z - 1) - 0.3*abs(z + 1)', name: 'combination', phi: (z) => relu(2 * z - 1) - 0.3 * Math.abs(z + 1), kinks: [0.5, -1] },
  { source: 'min(z, 0.2*z)', name: 'combination', phi: (z) => Math.min(z, 0.2 * z), kinks: [0] },
  {
    source: '3*gelu(z) - 0.25*abs(z) + exp(-z^2/2) + cosh(z/2)',
    name: 'combination',
    phi: (z) => 3 * z * seriesCdf(z) - 0.25 * Math.abs(z) + Math.exp(-0.5 * z * z) + Math.cosh(z / 2),
    kinks: [0],
  },
];

function points(seed: number, count: number, range: readonly [number, number] = [0.1, 2]): Array<[number, number]> {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => [4 * rng.uniform() - 2, range[0] + (range[1] - range[0]) * rng.uniform()]);
}

// ---------------------------------------------------------------------------------------------

describe('float64 special functions', () => {
  it('erf, erfc, Φ and φ agree with tabulated values, deep tails included', () => {
    const close = (got: number, want: number, rel = 2e-15) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));
    close(erf(0.5), 0.5204998778130465);
    close(erf(1), 0.8427007929497149);
    close(erf(-2), -0.9953222650189527);
    close(erfc(5), 1.5374597944280349e-12, 1e-14);
    close(erfc(-1), 1.8427007929497148);
    close(normalCdf(-5), 2.866515718791939e-7, 1e-14);
    close(normalCdf(-10), 7.619853024160527e-24, 1e-13);
    close(normalCdf(0), 0.5);
    close(normalPdf(1), Math.exp(-0.5) / Math.sqrt(2 * Math.PI));
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalCdf(-Infinity)).toBe(0);
  });

  it('erf agrees with its positive series to 1e-15 on [−6, 6]', () => {
    for (let x = -6; x <= 6; x += 0.0137) expect(Math.abs(erf(x) - seriesErf(x))).toBeLessThanOrEqual(1e-15 * Math.max(1e-3, Math.abs(x)));
  });

  it('activation functions follow the kernels’ conventions', () => {
    const f = SMOOTHED_FUNCTIONS;
    expect([f.heaviside(0), f.step(0), f.relu(0), f.sign(0)]).toEqual([0, 0, 0, 0]);
    expect(f.gelu(1.3)).toBeCloseTo(1.3 * seriesCdf(1.3), 15);
    expect(f.softplus(800)).toBe(800);
    expect(f.softplus(-3)).toBeCloseTo(Math.log1p(Math.exp(-3)), 15);
    expect(f.sigmoid(-800)).toBe(0);
    expect(f.silu(2)).toBeCloseTo(2 / (1 + Math.exp(-2)), 15);
    expect(f.elu(-1)).toBeCloseTo(Math.expm1(-1), 15);
  });
});

describe('recognition', () => {
  it.each(CASES)('$source → $name', (c) => {
    const a = activation(c.source, c.values);
    expect(a.name).toBe(c.name);
    expect(a.smoothed).toBeDefined();
    expect(a.smooth).toBe(!c.kinks?.length);
    expect(a.smoothed!.source.length).toBeGreaterThan(10);
    // fn is φ itself.
    for (const z of [-1.7, -0.3, 0.4, 2.2]) expect(a.fn(z)).toBeCloseTo(c.phi(z), 12);
  });

  it('leaves everything else to quadrature', () => {
    for (const source of ['tanh(z)', 'sigmoid(z)', 'softplus(z)', 'silu(z)', 'z*relu(z)', 'relu(z)^2', 'exp(z^3)', 'sin(z^2)', 'elu(z)', 'softsign(z)']) {
      const a = activation(source);
      expect(a.name, source).toBe('expression');
      expect(a.smoothed, source).toBeUndefined();
      expect(() => smoothedDerivatives(a, 2)).toThrow(InputError);
      expect(smoothedValidity(a, 0, 1)).toMatch(/quadrature/);
    }
    expect(activation('tanh(z)').smooth).toBe(true);
    expect(activation('elu(z)').smooth).toBe(false);
    expect(activation('softsign(z)').smooth).toBe(false);
    expect(activation('z*relu(z)').smooth).toBe(false);
  });

  it('keeps parameters symbolic and agrees with their substituted values', () => {
    const forms: Array<[string, Record<string, number>, ActivationName]> = [
      ['max(a*z, z)', { a: 0.3 }, 'leaky-relu'],
      ['max(z, a*z)', { a: 0.05 }, 'leaky-relu'],
      ['erf(b*z)', { b: -1.3 }, 'erf'],
      ['exp(c*z)', { c: 0.4 }, 'exp'],
      ['sin(w*z + p)', { w: 1.5, p: 0.3 }, 'sin'],
      ['cos(w*z)', { w: 3 }, 'cos'],
      ['exp(-c*z^2)', { c: 0.7 }, 'gaussian-bump'],
      ['z + a*z^2', { a: -0.2 }, 'polynomial'],
      ['a*relu(b*z + c) + d*gelu(z)', { a: 1.5, b: -0.8, c: 0.4, d: 0.6 }, 'combination'],
      ['abs(a*z - b)', { a: -2, b: 0.5 }, 'abs'],
    ];
    for (const [source, values, name] of forms) {
      const symbolic = activation(source);
      const valued = activation(source, values);
      expect(symbolic.name, source).toBe(name);
      expect(symbolic.expression.parameters).toEqual(Object.keys(values).sort());
      expect(() => symbolic.fn(0.5)).toThrow(InputError);
      const [gs, gv] = [G(symbolic, values), G(valued)];
      for (const [mu, s] of points(7, 4)) expect(gs(mu, s), `${source} at (${mu}, ${s})`).toBeCloseTo(gv(mu, s), 12);
      const [ds, dv] = [smoothedDerivatives(symbolic, 3), smoothedDerivatives(valued, 3)];
      for (let k = 0; k <= 3; k++) {
        const [fs, fv] = [smoothedEvaluator(ds[k], values), smoothedEvaluator(dv[k])];
        for (const [mu, s] of points(8, 3)) expect(fs(mu, s), `${source}: g_${k}`).toBeCloseTo(fv(mu, s), 10);
      }
    }
  });

  it('names a leaky ReLU only for slopes between 0 and 1', () => {
    expect(activation('max(z, a*z)', { a: 0.2 }).name).toBe('leaky-relu');
    expect(activation('max(z, a*z)', { a: 0 }).name).toBe('relu');
    expect(activation('max(z, 2*z)').name).toBe('combination');
    expect(activation('2*relu(z)').name).toBe('relu');
    expect(activation('relu(z) + 1').name).toBe('combination');
  });

  it('rejects parameters that clash with the symbols of G', () => {
    expect(() => activation('relu(z) + s*z')).toThrow(/parameter 's' clashes/);
    expect(() => activation('mu*gelu(z)')).toThrow(InputError);
    expect(() => activation('z + s*z^2', { s: 0.5 })).not.toThrow();
  });
});

describe('G against a brute-force Gaussian integral', () => {
  it.each(CASES)('$source', (c) => {
    const g = G(activation(c.source, c.values));
    for (const [mu, s] of points(c.source.length * 31 + 1, 6, c.s)) {
      const { value } = gaussianIntegral(c.phi, mu, s, c.kinks);
      expect(Math.abs(g(mu, s) - value), `${c.source} at mu = ${mu}, s = ${s}: ${g(mu, s)} vs ${value}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(value)),
      );
    }
  });

  it('can fail: a wrong closed form (σ replaced by s) misses the integral', () => {
    const wrong = smoothedEvaluator(parse('mu * Phi(mu / s) + s * phi(mu / s)'));
    const misses = points(3, 6).filter(([mu, s]) => Math.abs(wrong(mu, s) - gaussianIntegral(relu, mu, s, [0]).value) > 1e-3);
    expect(misses.length).toBeGreaterThan(3);
  });
});

describe('identities', () => {
  const grid = points(11, 8);

  it('ReLU(z) − ReLU(−z) = z: G_relu(mu, s) − G_relu(−mu, s) = mu', () => {
    const g = G(activation('relu(z)'));
    for (const [mu, s] of grid) expect(g(mu, s) - g(-mu, s)).toBeCloseTo(mu, 13);
  });

  it('|z| = 2 ReLU(z) − z in G', () => {
    const [abs, r] = [G(activation('abs(z)')), G(activation('relu(z)'))];
    for (const [mu, s] of grid) expect(abs(mu, s)).toBeCloseTo(2 * r(mu, s) - mu, 13);
  });

  it('leaky ReLU = a z + (1 − a) ReLU(z) in G, for any a', () => {
    const r = G(activation('relu(z)'));
    for (const a of [0.1, 0.7, 1.6, -0.4]) {
      const leaky = G(activation('max(z, a*z)', { a }));
      for (const [mu, s] of grid) expect(leaky(mu, s), `a = ${a}`).toBeCloseTo(a <= 1 ? a * mu + (1 - a) * r(mu, s) : mu + (a - 1) * r(mu, s), 13);
    }
  });

  it('erf is odd: G(−mu) = −G(mu)', () => {
    for (const b of [1, 0.3, -2]) {
      const g = G(activation('erf(b*z)', { b }));
      for (const [mu, s] of grid) expect(g(-mu, s)).toBeCloseTo(-g(mu, s), 14);
    }
  });

  it('GELU(z) = z Φ(z): G_gelu = mu E[Φ(z)] + s E[φ(z)] (Stein), with E[Φ] and E[φ] from erf and the Gaussian bump', () => {
    const gelu = activation('gelu(z)');
    for (const z of [-2, -0.5, 0.7, 3]) expect(gelu.fn(z)).toBeCloseTo(z * seriesCdf(z), 14);
    const cdf = G(activation(`0.5 + 0.5*erf(z/sqrt(2))`));
    const pdf = G(activation(`exp(-z^2/2)/sqrt(2*pi)`));
    const g = G(gelu);
    for (const [mu, s] of grid) expect(g(mu, s)).toBeCloseTo(mu * cdf(mu, s) + s * pdf(mu, s), 13);
  });

  it('sin and cos: G_sin² + G_cos² = e^{−s}', () => {
    const [sin, cos] = [G(activation('sin(z)')), G(activation('cos(z)'))];
    for (const [mu, s] of grid) expect(sin(mu, s) ** 2 + cos(mu, s) ** 2).toBeCloseTo(Math.exp(-s), 14);
  });

  it('d/dmu E[ReLU] = E[H]: g_1 of ReLU is G of the Heaviside step', () => {
    const g1 = smoothedEvaluator(smoothedDerivatives(activation('relu(z)'), 1)[1]);
    const h = G(activation('heaviside(z)'));
    for (const [mu, s] of grid) expect(g1(mu, s)).toBeCloseTo(h(mu, s), 14);
  });

  it('ReLU: g_k = σ^{1−k} He_{k−2}(−m) φ(m), m = mu/σ, for k = 2…8 (docs/theory.md §Gaussian closure)', () => {
    const g = smoothedDerivatives(activation('relu(z)'), 8).map((t) => smoothedEvaluator(t));
    for (const [mu, s] of grid) {
      const sigma = Math.sqrt(s);
      const m = mu / sigma;
      for (let k = 2; k <= 8; k++) {
        const want = sigma ** (1 - k) * hermite(k - 2, -m) * normalDensity(m);
        expect(Math.abs(g[k](mu, s) - want), `k = ${k}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('an affine argument shifts the statistics: G_{φ(az+c)}(mu, s) = G_φ(a mu + c, a² s)', () => {
    for (const [inner, outer] of [['gelu(z)', 'gelu(-1.5*z + 0.25)'], ['relu(z)', 'relu(-1.5*z + 0.25)'], ['erf(z)', 'erf(-1.5*z + 0.25)']]) {
      const [g, h] = [G(activation(inner)), G(activation(outer))];
      for (const [mu, s] of grid) expect(h(mu, s), outer).toBeCloseTo(g(-1.5 * mu + 0.25, 2.25 * s), 13);
    }
  });
});

describe('polynomials', () => {
  /** Raw moments of N(mu, s) by M_{n+1} = mu M_n + n s M_{n−1}. */
  function moments(mu: number, s: number, n: number): number[] {
    const m = [1, mu];
    for (let k = 1; k < n; k++) m.push(mu * m[k] + k * s * m[k - 1]);
    return m;
  }

  it('G of z^n is the Gaussian moment E[z^n], exactly at integer mu and s', () => {
    for (const [mu, s] of [[2, 3], [-1, 5], [0, 1], [3, 0]]) {
      const m = moments(mu, s, 10);
      for (let n = 0; n <= 10; n++) expect(G(activation(n === 0 ? '1' : `z^${n}`))(mu, s), `n = ${n}, mu = ${mu}, s = ${s}`).toBe(m[n]);
    }
  });

  it('G of z + a z² is mu + a (mu² + s), and g_k vanishes above the degree', () => {
    const a = activation('z + a*z^2');
    const g = G(a, { a: 0.25 });
    expect(g(2, 3)).toBe(2 + 0.25 * (4 + 3));
    const d = smoothedDerivatives(a, 5).map((t) => smoothedEvaluator(t, { a: 0.25 }));
    expect([d[1](2, 3), d[2](2, 3), d[3](2, 3), d[5](2, 3)]).toEqual([2, 0.5, 0, 0]);
  });
});

describe('g_k = ∂^k G/∂mu^k', () => {
  it.each(CASES)('$source: every g_k, k ≤ 8, against the Stein form E[φ(mu + √s X) He_k(X)]/s^{k/2}', (c) => {
    const a = activation(c.source, c.values);
    const started = process.cpuUsage();
    const g = smoothedDerivatives(a, 8).map((t) => smoothedEvaluator(t));
    // A blow-up guard, not a benchmark (typically well under 1 s of CPU): CPU time, which a busy machine does not inflate.
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(5000);
    expect(g.length).toBe(9);
    for (const [mu, s] of points(c.source.length * 17 + 5, 3, c.s ?? [0.3, 2])) {
      for (let k = 0; k <= 8; k++) {
        const { value, scale } = gaussianIntegral(c.phi, mu, s, c.kinks, (x) => hermite(k, x), 24, 8000);
        const want = value / s ** (k / 2);
        expect(Math.abs(g[k](mu, s) - want), `${c.source}: g_${k}(${mu}, ${s}) = ${g[k](mu, s)} vs ${want}`).toBeLessThanOrEqual(
          1e-8 * Math.max(1, scale / s ** (k / 2)),
        );
      }
    }
  });

  it('g_k against finite differences of g_{k−1}', () => {
    const h = 1e-3;
    for (const c of CASES) {
      const g = smoothedDerivatives(activation(c.source, c.values), 6).map((t) => smoothedEvaluator(t));
      for (const [mu, s] of points(19, 2, c.s ?? [0.3, 2])) {
        for (let k = 1; k <= 6; k++) {
          const f = (x: number) => g[k - 1](x, s);
          const fd = (-f(mu + 2 * h) + 8 * f(mu + h) - 8 * f(mu - h) + f(mu - 2 * h)) / (12 * h);
          expect(Math.abs(g[k](mu, s) - fd), `${c.source}: g_${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
        }
      }
    }
  });

  it('can fail: the Stein check rejects g_3 in place of g_2, and a ReLU g_2 with the wrong sign', () => {
    const g = smoothedDerivatives(activation('relu(z)'), 3).map((t) => smoothedEvaluator(t));
    const stein2 = (mu: number, s: number) => gaussianIntegral(relu, mu, s, [0], (x) => hermite(2, x)).value / s;
    const [mu, s] = [0.4, 0.8];
    expect(Math.abs(g[2](mu, s) - stein2(mu, s))).toBeLessThan(1e-9);
    expect(Math.abs(g[3](mu, s) - stein2(mu, s))).toBeGreaterThan(1e-2);
    expect(Math.abs(-g[2](mu, s) - stein2(mu, s))).toBeGreaterThan(1e-2);
  });

  it('the combination rule: g_k of α A + β B is α g_k(A) + β g_k(B)', () => {
    const pairs: Array<[string, string, number, number]> = [
      ['relu(z)', 'z', 0.5, 1],
      ['sin(z)', 'z^2', 2, -1],
      ['gelu(z)', 'abs(z)', 3, -0.25],
      ['exp(-z^2/2)', 'erf(z)', -1.5, 0.5],
    ];
    for (const [A, B, alpha, beta] of pairs) {
      const sum = activation(`${alpha}*${A} + ${beta}*${B}`);
      expect(sum.name).toBe('combination');
      const [gs, ga, gb] = [sum, activation(A), activation(B)].map((x) => smoothedDerivatives(x, 4).map((t) => smoothedEvaluator(t)));
      for (const [mu, s] of points(23, 3)) {
        for (let k = 0; k <= 4; k++) expect(gs[k](mu, s), `${alpha} ${A} + ${beta} ${B}: g_${k}`).toBeCloseTo(alpha * ga[k](mu, s) + beta * gb[k](mu, s), 11);
      }
    }
  });

  it('leaves nerdamer’s expression history as it found it', () => {
    const before = nerdamer().numExpressions();
    smoothedDerivatives(activation('gelu(0.3*z - 1) + exp(-0.4*z^2 + z)'), 4);
    expect(nerdamer().numExpressions()).toBe(before);
  });

  it('rejects a bad order', () => {
    expect(() => smoothedDerivatives(activation('relu(z)'), -1)).toThrow(InputError);
    expect(() => smoothedDerivatives(activation('relu(z)'), 1.5)).toThrow(InputError);
  });
});

describe('validity', () => {
  it('E[exp(z²)] is infinite for s ≥ 1/2, and says so instead of returning NaN', () => {
    const a = activation('exp(z^2)');
    expect(smoothedValidity(a, 0.3, 0.3)).toBeUndefined();
    for (const s of [0.5, 0.7, 3]) {
      expect(smoothedValidity(a, 0.3, s)).toMatch(/E\[exp\(z\^2\)\] is infinite for s ≥ 1\/\(2α\) = 0\.5/);
      expect(Number.isFinite(G(a)(0.3, s))).toBe(false);
    }
  });

  it('exp(c z²) depends on the value of c', () => {
    const a = activation('exp(c*z^2)');
    expect(smoothedValidity(a, 0, 1, { c: 0.25 })).toBeUndefined();
    expect(smoothedValidity(a, 0, 2, { c: 0.25 })).toMatch(/infinite for s ≥ 1\/\(2α\) = 2/);
    expect(smoothedValidity(a, 0, 50, { c: -3 })).toBeUndefined();
    expect(() => smoothedValidity(a, 0, 1)).toThrow(/needs values for c/);
    expect(activation('exp(-c*z^2)').smoothed!.notes.join(' ')).toMatch(/1 − 2αs > 0/);
  });

  it('kinks need s > 0; a variance is never negative; overflow is reported', () => {
    for (const source of ['relu(z)', 'heaviside(z)', 'abs(z)', 'max(z, 0.1*z)']) {
      expect(smoothedValidity(activation(source), 0, 0), source).toMatch(/needs s > 0/);
      expect(activation(source).smoothed!.notes.join(' '), source).toMatch(/needs s > 0/);
    }
    expect(smoothedValidity(activation('gelu(z)'), 0, 0)).toBeUndefined();
    expect(smoothedValidity(activation('relu(z)'), 0, -1)).toMatch(/variance/);
    expect(smoothedValidity(activation('relu(z)'), NaN, 1)).toMatch(/finite/);
    expect(smoothedValidity(activation('exp(50*z)'), 0, 1000)).toMatch(/Infinity/);
    expect(smoothedValidity(activation('exp(50*z)'), 0, 0.01)).toBeUndefined();
  });
});
