import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf, type Activation } from '../symbolic/activations.ts';
import { InputError } from '../symbolic/errors.ts';
import { gaussianLayer } from '../numeric/general.ts';
import { makeLayer, type Network } from '../numeric/network.ts';
import { propagate } from '../numeric/propagate.ts';
import { withWork } from '../numeric/work.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { runCli } from '../src/cli/run.ts';

/**
 * The Gaussian closure for general activations at scales far from 1 (numeric/general.ts): a spread
 * tiny next to the mean (the unit is nearly deterministic only relative to φ's own scale), huge
 * variances (ReLU is homogeneous; a bounded φ tends to its sign function), bounded activations at
 * ordinary large variances, and the messages where an expectation overflows float64.
 */

const act = (source: string): Activation => activationOf(parseActivation(source));
const gaussian = (mean: readonly number[], cov: readonly number[]) => new Cumulants(mean.length, [undefined, Float64Array.from(mean), Float64Array.from(cov)]);
const oneLayer = (activation: string, weight: number[], rows: number, cols: number, bias: number[]): Network => ({
  inputSize: cols,
  layers: [makeLayer(Float64Array.from(weight), rows, cols, Float64Array.from(bias), parseActivation(activation))],
});
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  let scale = 0;
  for (let k = 0; k < a.length; k++) scale = Math.max(scale, Math.abs(b[k]));
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]) / scale);
  return worst;
};

/** E[f(z1) g(z2)] − E[f]E[g] for a bivariate normal, by the trapezoid rule on a fine grid (exponentially accurate for analytic f, g). */
function trapezoidCovariance(f: (z: number) => number, mu: [number, number], s: [number, number], c: number, points = 1601): { cov: number; var1: number } {
  const L = 12;
  const h = (2 * L) / (points - 1);
  const x = Float64Array.from({ length: points }, (_, k) => -L + k * h);
  const w = Float64Array.from(x, (v) => (h * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI));
  const [s1, s2] = [Math.sqrt(s[0]), Math.sqrt(s[1])];
  const rho = c / (s1 * s2);
  const root = Math.sqrt(1 - rho * rho);
  let m1 = 0;
  let m11 = 0;
  for (let a = 0; a < points; a++) {
    const v = f(mu[0] + s1 * x[a]);
    m1 += w[a] * v;
    m11 += w[a] * v * v;
  }
  let m2 = 0;
  let m12 = 0;
  for (let a = 0; a < points; a++) {
    const f1 = f(mu[0] + s1 * x[a]);
    for (let b = 0; b < points; b++) {
      const f2 = f(mu[1] + s2 * (rho * x[a] + root * x[b]));
      m2 += w[a] * w[b] * f2;
      m12 += w[a] * w[b] * f1 * f2;
    }
  }
  return { cov: m12 - m1 * m2, var1: m11 - m1 * m1 };
}

describe('a spread tiny next to the mean is not a constant', () => {
  // ReLU with bias 1e6 and unit input variance: the unit is linear on all the mass, so Cov(y) = Σ.
  const relu = oneLayer('relu(z)', [1, 0, 0.5, 1], 2, 2, [1e6, 1e6]);
  const input = gaussian([0, 0], [1, 0.5, 0.5, 1]);
  const sigma = [1, 1, 1, 1.75];

  it('ReLU with biases 1e6: Cov(y) = Σ on the float64 reference and on wasm', async () => {
    const ref = (await propagate(relu, input, { inputOrder: 2, outputOrder: 2, backend: 'reference' }))[0].post.order(2)!;
    const wasm = (await propagate(relu, input, { inputOrder: 2, outputOrder: 2, backend: 'wasm' }))[0].post.order(2)!;
    expect(relDiff(ref, sigma)).toBeLessThan(1e-10);
    expect(relDiff(wasm, sigma)).toBeLessThan(1e-6);
  });

  it('negative control: biases −1e6 switch the unit off, and Cov(y) = 0 there', async () => {
    const off = oneLayer('relu(z)', [1, 0, 0.5, 1], 2, 2, [-1e6, -1e6]);
    for (const backend of ['reference', 'wasm'] as const) {
      const cov = (await propagate(off, input, { inputOrder: 2, outputOrder: 2, backend }))[0].post.order(2)!;
      expect(Math.max(...cov.map(Math.abs))).toBe(0);
    }
  });

  it('tanh at μ = 2 with s = 1e-30 (values of φ cannot resolve it): Cov = φ′(μ_i)φ′(μ_j)Σ_ij from derivatives, on reference and wasm', async () => {
    const network = oneLayer('tanh(z)', [1, 0, 0, 1], 2, 2, [2, 1.5]);
    const s = 1e-30;
    const d = [1 - Math.tanh(2) ** 2, 1 - Math.tanh(1.5) ** 2];
    const linear = [d[0] * d[0] * s, d[0] * d[1] * 0.5 * s, d[0] * d[1] * 0.5 * s, d[1] * d[1] * s];
    for (const backend of ['reference', 'wasm'] as const) {
      const [layer] = await propagate(network, gaussian([0, 0], [s, 0.5 * s, 0.5 * s, s]), { inputOrder: 2, outputOrder: 2, backend });
      expect(relDiff(layer.post.order(2)!, linear)).toBeLessThan(backend === 'reference' ? 1e-12 : 1e-5);
      expect(layer.numericalError![2]).toBeLessThan(1e-10);
    }
  });

  it('a unit whose variance is exactly 0 is a constant: its covariances vanish', () => {
    const post = gaussianLayer(act('tanh(z)'), gaussian([0.3, 0.1], [0, 0, 0, 0.5]), 2).post;
    expect(post.mean[0]).toBeCloseTo(Math.tanh(0.3), 14);
    expect([0, 1, 2].map((k) => post.order(2)![k])).toEqual([0, 0, 0]);
  });

  // 200 tanh layers that shrink the variance by about 0.81 each: the closure must follow the
  // linearised map Σ → W Σ Wᵀ (tanh′(0) = 1, error O(s)) down to s ~ 1e-24 instead of snapping to 0.
  it('200 tanh layers: the covariance stays positive and follows the float64 linear iteration', async () => {
    const [c, sn] = [0.9 * Math.cos(0.3), 0.9 * Math.sin(0.3)];
    const weight = [c, -sn, 0, sn, c, 0, 0.3, 0.3, 0.8];
    const layers = Array.from({ length: 200 }, () => makeLayer(Float64Array.from(weight), 3, 3, new Float64Array(3), parseActivation('tanh(z)')));
    const network: Network = { inputSize: 3, layers };
    const start = [1e-6, 4e-7, 2e-7, 4e-7, 1e-6, 3e-7, 2e-7, 3e-7, 1e-6];
    const ref = await propagate(network, gaussian([0, 0, 0], start), { inputOrder: 2, outputOrder: 2, backend: 'reference' });
    const wasm = await propagate(network, gaussian([0, 0, 0], start), { inputOrder: 2, outputOrder: 2, backend: 'wasm' });
    let linear = Float64Array.from(start);
    let drift = 2 * 1e-6;
    for (let l = 0; l < 200; l++) {
      const next = new Float64Array(9);
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) next[a * 3 + b] += weight[a * 3 + i] * linear[i * 3 + j] * weight[b * 3 + j];
      linear = next;
      // tanh(z) = z − z³/3 + …: each layer moves Cov by a relative O(s) ≤ 2 max_i s_i, summed over layers.
      drift += 2 * Math.max(linear[0], linear[4], linear[8]);
      const cov = ref[l].post.order(2)!;
      expect(relDiff(cov, linear)).toBeLessThan(drift);
      for (const d of [0, 4, 8]) expect(cov[d]).toBeGreaterThan(0.5 * linear[d]);
      if (l % 20 === 19 || l === 199) expect(relDiff(wasm[l].post.order(2)!, cov)).toBeLessThan(1e-4);
    }
    expect(linear[0]).toBeLessThan(1e-20);
  }, 120_000);
});

describe('huge variances', () => {
  const weight = [1, 0, 0.5, 1];
  const cases = [1e20, 1e30];

  it('ReLU is homogeneous: Cov(y) at Σ·c equals c · Cov(y) at Σ, on reference and wasm alike', async () => {
    const network = oneLayer('relu(z)', weight, 2, 2, [0, 0]);
    const unit = (await propagate(network, gaussian([0, 0], [1, 0.3, 0.3, 1]), { inputOrder: 2, outputOrder: 2, backend: 'reference' }))[0].post.order(2)!;
    for (const c of cases) {
      const scaled = gaussian([0, 0], [c, 0.3 * c, 0.3 * c, c]);
      for (const backend of ['reference', 'wasm'] as const) {
        const cov = (await propagate(network, scaled, { inputOrder: 2, outputOrder: 2, backend }))[0].post.order(2)!;
        expect(cov.every(Number.isFinite)).toBe(true);
        expect(relDiff(cov.map((v) => v / c), unit)).toBeLessThan(backend === 'reference' ? 1e-9 : 1e-5);
      }
    }
  });

  it('tanh tends to the sign function: Cov → (2/π) asin ρ, Var → 1, on reference and wasm alike', async () => {
    const network = oneLayer('tanh(z)', [1, 0, 0, 1], 2, 2, [0, 0]);
    const rho = 0.6;
    const sign = [1, (2 / Math.PI) * Math.asin(rho), (2 / Math.PI) * Math.asin(rho), 1];
    for (const c of cases) {
      const input = gaussian([0.1, -0.2], [c, rho * c, rho * c, c]);
      for (const backend of ['reference', 'wasm'] as const) {
        const layer = (await propagate(network, input, { inputOrder: 2, outputOrder: 2, backend }))[0];
        // The Mehler series of a nearly discontinuous φ converges like |ρ|^P: its bound is reported,
        // and it must cover the distance to the limit (which is itself ~1/σ away).
        const bound = layer.numericalError![2];
        expect(bound).toBeLessThan(1e-6);
        expect(relDiff(layer.post.order(2)!, sign)).toBeLessThan(bound + (backend === 'reference' ? 1e-9 : 1e-5));
      }
    }
  });
});

describe('bounded activations at ordinary large variances', () => {
  // Independent reference: the trapezoid rule on a 1601² grid, whose error for these analytic
  // integrands is below 1e-12 here.
  const cases: [string, number][] = [
    ['tanh(z)', 30],
    ['tanh(z)', 100],
    ['sigmoid(z)', 100],
    ['gelu(z)', 100],
  ];
  for (const [source, s] of cases)
    it(`${source} at variance ${s}: converges, and agrees with direct integration`, () => {
      const a = act(source);
      const c = 0.4 * s;
      const post = gaussianLayer(a, gaussian([0.3, -0.2], [s, c, c, s]), 2).post;
      const direct = trapezoidCovariance(a.fn, [0.3, -0.2], [s, s], c);
      const cov = post.order(2)!;
      expect(Math.abs(cov[1] - direct.cov) / direct.var1).toBeLessThan(1e-7);
      expect(Math.abs(cov[0] - direct.var1) / direct.var1).toBeLessThan(1e-7);
    });
});

describe('through corrmap propagate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corrmap-scales-'));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { log: (t) => out.push(t) }, { log: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const net = (activation: string) => file(`${activation.replace(/\W/g, '_')}.json`, { layers: [{ weight: [[1, 0], [0.5, 1]], bias: [0, 0], activation }] });
  const stats = (s: number) => file(`stats-${s}.json`, { mean: [0.1, 0], cov: [[s, 0], [0, s]] });

  it('tanh(2z) on examples/gaussian.json, tanh at variance 30, sigmoid and GELU at 100: exit 0, finite numbers, on both backends', async () => {
    const tanh2 = file('tanh2.json', { layers: [{ weight: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0], activation: 'tanh(2*z)' }] });
    const jobs: [string, string][] = [[tanh2, 'examples/gaussian.json'], [net('tanh(z)'), stats(30)], [net('sigmoid(z)'), stats(100)], [net('gelu(z)'), stats(100)]];
    for (const [network, input] of jobs)
      for (const backend of ['reference', 'wasm']) {
        const r = await run(['propagate', network, '--input', input, '--backend', backend, '--json']);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        const cov: number[][] = JSON.parse(r.out).layers[0].post.cov;
        expect(cov.flat().every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      }
  }, 60_000);

  it('tanh at variance 30 with κ3 and with input order 4 (the Stein form of φ² and E[(φ − m)³]): exit 0, finite, on both backends', async () => {
    const network = file('tanh3.json', { layers: [{ weight: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0], activation: 'tanh(z)' }] });
    const input = file('stats3.json', { mean: [0.1, 0, 0.2], cov: [[30, 10, 5], [10, 30, 8], [5, 8, 30]] });
    for (const extra of [['--output-order', '3'], ['--input-order', '4']])
      for (const backend of ['reference', 'wasm']) {
        const r = await run(['propagate', network, '--input', input, '--backend', backend, '--json', ...extra]);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        const post = JSON.parse(r.out).layers[0].post;
        expect([post.cov, post.k3 ?? []].flat(3).every((v: unknown) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      }
  }, 120_000);

  it('exp(10z) at variance 5: one line saying E[φ²] exists but overflows float64, exit 2', async () => {
    const r = await run(['propagate', net('exp(10*z)'), '--input', stats(5), '--backend', 'reference']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/exists but exceeds float64's range/);
    expect(r.err).not.toMatch(/maxNodes|loosen the tolerance/);
  });

  it('z^1000: one line saying it overflows float64 and why it is not a polynomial, exit 2', async () => {
    const r = await run(['propagate', net('z^1000'), '--input', stats(1), '--backend', 'reference']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/overflows float64/);
    expect(r.err).toMatch(/exponent 1000/);
    expect(r.err).not.toMatch(/not a real number/);
  });

  it('the library says the same: an InputError for exp(10z) at variance 5, none for tanh at 30', () => {
    expect(() => gaussianLayer(act('exp(10*z)'), gaussian([0.1], [5]), 2)).toThrow(InputError);
    expect(() => gaussianLayer(act('exp(10*z)'), gaussian([0.1], [5]), 2)).toThrow(/exists but exceeds/);
    expect(gaussianLayer(act('tanh(z)'), gaussian([0.1], [30]), 2).post.order(2)![0]).toBeGreaterThan(0.8);
  });
});

describe('κ3 of general activations: exact only where its series converged', () => {
  const identity3 = (activation: string): Network => oneLayer(activation, [1, 0, 0, 0, 1, 0, 0, 0, 1], 3, 3, [0, 0, 0]);
  const equicorrelated = (rho: number) => gaussian([0, 0, 0], [1, rho, rho, rho, 1, rho, rho, rho, 1]);

  it('a sum of atoms at ρ = 0.99: the three-vertex series is only asymptotic, so κ3 comes from trivariate quadrature, exact with its error bound, on every backend; with no time for it, approximate', async () => {
    for (const backend of ['reference', 'wasm'] as const) {
      const [layer] = await propagate(identity3('tanh(z) + 0.5*relu(z)'), equicorrelated(0.99), { inputOrder: 2, outputOrder: 3, backend });
      expect(layer.exactOrder).toBeGreaterThanOrEqual(3);
      expect(layer.numericalError![3]).toBeLessThan(1e-3);
    }
    const notes: string[] = [];
    const [hurried] = await withWork({ maxSeconds: 0, option: '--max-seconds', notes }, () => propagate(identity3('tanh(z) + 0.5*relu(z)'), equicorrelated(0.99), { inputOrder: 2, outputOrder: 3, backend: 'reference' }));
    expect(hurried.exactOrder).toBe(2);
    expect(notes.join('\n')).toMatch(/only asymptotic .*raise --max-seconds/);
  });

  it('negative control: the same activation at ρ = 0.3 converges, and κ3 is exact', async () => {
    for (const backend of ['reference', 'wasm'] as const) {
      const [layer] = await propagate(identity3('tanh(z) + 0.5*relu(z)'), equicorrelated(0.3), { inputOrder: 2, outputOrder: 3, backend });
      expect(layer.exactOrder).toBeGreaterThanOrEqual(3);
      expect(layer.numericalError![3]).toBeLessThan(1e-6);
    }
  });

  it('tanh at μ = 0 (κ3 = 0 off the diagonal): propagate calls it exact, and its --json carries every order\'s error bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-k3-'));
    const network = join(dir, 'net.json');
    const input = join(dir, 'in.json');
    writeFileSync(network, JSON.stringify({ layers: [{ weight: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0], activation: 'tanh(z)' }] }));
    writeFileSync(input, JSON.stringify({ mean: [0, 0, 0], cov: [[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]] }));
    const out: string[] = [];
    const code = await runCli(['propagate', network, '--input', input, '--output-order', '3', '--backend', 'reference', '--json'], { log: (t) => out.push(t) }, { log: () => {} });
    expect(code).toBe(0);
    const layer = JSON.parse(out.join('\n')).layers[0];
    expect(layer.exactOrder).toBeGreaterThanOrEqual(3);
    expect(layer.numericalError).toHaveLength(3);
    expect(layer.numericalError.every((e: number) => e >= 0 && e < 1e-3)).toBe(true);
  });
});

describe('propagate and validate agree on what is exact', () => {
  it('tanh at μ = 0 and a sum of atoms at ρ = 0.99: validate\'s exact post-activation blocks are the orders propagate calls exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-agree-'));
    const cases: [string, number][] = [['tanh(z)', 0.5], ['tanh(z) + 0.5*relu(z)', 0.99]];
    for (const [activation, rho] of cases) {
      const network = join(dir, 'net.json');
      const input = join(dir, 'in.json');
      writeFileSync(network, JSON.stringify({ layers: [{ weight: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0], activation }] }));
      writeFileSync(input, JSON.stringify({ mean: [0, 0, 0], cov: [[1, rho, rho], [rho, 1, rho], [rho, rho, 1]] }));
      const common = [network, '--input', input, '--output-order', '3', '--backend', 'reference', '--json'];
      const outP: string[] = [];
      const outV: string[] = [];
      expect(await runCli(['propagate', ...common], { log: (t) => outP.push(t) }, { log: () => {} })).toBe(0);
      await runCli(['validate', ...common, '--samples', '100000'], { log: (t) => outV.push(t) }, { log: () => {} });
      const exactOrder: number = JSON.parse(outP.join('\n')).layers[0].exactOrder ?? Infinity;
      const blocks: { stage: string; order: number; exact: boolean }[] = JSON.parse(outV.join('\n')).blocks;
      for (const b of blocks.filter((b) => b.stage === 'post')) expect([activation, b.order, b.exact]).toEqual([activation, b.order, b.order <= exactOrder]);
    }
  }, 60_000);
});
