/**
 * Hard inputs for general (non-polynomial) activations, through the CLI: random compositions of the
 * registry's atoms (symbolic/atoms) with parameters, means and covariances at every scale from
 * 1e-20 to 1e20, correlations up to 0.999, both backends. Every run keeps the contract of
 * test/fuzz-helpers.ts (exit 0 with finite numbers, or exit 2 with one line), and every order a run
 * labels exact is checked against something independent: Monte Carlo of the same φ composed from
 * the registry's float64 atoms (batch standard errors, a Bonferroni bound over all entries the
 * suite compares, fixed seeds) where samples resolve the spread, and the local linearisation by
 * finite differences where the spread is below what float64 resolves at that mean. The named cases
 * at the end are the defects that were seen. CORRMAP_LONG=1 runs ten times as many.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ATOMS, atomNamed, type AtomSpec } from '../symbolic/atoms/index.ts';
import { bonferroniCritical } from '../numeric/statistics.ts';
import { LONG } from './helpers.ts';
import { SEED, corrmap, file, finiteNumbers, honest, scale, tried } from './fuzz-helpers.ts';
import { entryAt, quadratureCovariance, sampleCumulants, type SampledEntry } from './sampling.ts';

/** A generated activation: its text, and the same function composed from the registry's float64 atoms. */
interface Phi {
  readonly text: string;
  readonly f: (z: number) => number;
}

const ONE_ARGUMENT = (ATOMS as readonly AtomSpec[]).filter((a) => a.callable !== false && (a.arity ?? 1) === 1 && a.float64).map((a) => a.name);
const literal = (v: number) => (v < 0 ? `(${v})` : String(v));
const coefficient = fc.oneof(fc.constantFrom(1, -1, 0.5, 2), fc.integer({ min: -300, max: 300 }).map((k) => k / 100));
const affine = fc.tuple(coefficient, coefficient).map(([a, b]): Phi => ({ text: `${literal(a)}*z + ${literal(b)}`, f: (z) => a * z + b }));
const call = (inner: fc.Arbitrary<Phi>) =>
  fc.tuple(fc.constantFrom(...ONE_ARGUMENT), inner).map(([name, arg]): Phi => {
    const g = atomNamed(name)!.float64!;
    return { text: `${name}(${arg.text})`, f: (z) => g(arg.f(z)) };
  });
const leaky = coefficient.map((a): Phi => ({ text: `max(z, ${literal(a)}*z)`, f: (z) => Math.max(z, a * z) }));
const term = fc.oneof({ weight: 5, arbitrary: call(affine) }, { weight: 1, arbitrary: call(call(affine)) }, { weight: 1, arbitrary: leaky });
const activation = fc.array(fc.tuple(coefficient, term), { minLength: 1, maxLength: 3 }).map(
  (terms): Phi => ({ text: terms.map(([c, t]) => `${literal(c)}*${t.text}`).join(' + '), f: (z) => terms.reduce((s, [c, t]) => s + c * t.f(z), 0) }),
);

/** Means and covariances at every scale; ρ < 0 flips the sign of unit 1 (the matrix stays PSD). */
const distribution = fc
  .record({
    width: fc.constantFrom(2, 2, 3),
    muScale: fc.constantFrom(0, 1e-3, 1, 1, 30, 1e6),
    sdScale: fc.constantFrom(1e-10, 1e-4, 1, 1, 1, Math.sqrt(30), 10, 1e3, 1e10),
    rho: fc.constantFrom(0, 0.3, -0.6, 0.9, 0.97, 0.999),
    numbers: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ width, muScale, sdScale, rho, numbers }) => {
    const mean = Array.from({ length: width }, (_, i) => muScale * numbers[i]);
    const sd = Array.from({ length: width }, (_, i) => sdScale * (0.5 + Math.abs(numbers[3 + i])));
    const sign = (i: number) => (rho < 0 && i === 1 ? -1 : 1);
    const cov = Array.from({ length: width }, (_, i) => Array.from({ length: width }, (_, j) => sd[i] * sd[j] * (i === j ? 1 : sign(i) * sign(j) * Math.abs(rho))));
    return { mean, cov };
  });

const RUNS = 50 * scale;
const BATCHES = 40;
/** Entries one run compares at most (width 3: 3 means, 6 covariances, 10 third cumulants). */
const CRITICAL = bonferroniCritical(1e-3, RUNS * 19 + 200, BATCHES - 1);
const general = { inputs: 0, exit0: 0, exit2: 0, ordersChecked: 0, byMonteCarlo: 0, byQuadrature: 0, byLinearisation: 0, labelledApproximate: 0 };

interface Layer {
  exactOrder: number | null;
  numericalError: number[];
  post: { mean: number[]; cov?: number[][]; k3?: number[][][] };
}

/** The size each order's numerical error is relative to (numeric/general.ts tableErrors, thirdCumulantError). */
function scaleOf(layer: Layer, order: number): number {
  const variance = (layer.post.cov ?? []).map((row, i) => row[i]);
  const sd = Math.sqrt(Math.max(0, ...variance));
  if (order === 1) return Math.max(sd, ...layer.post.mean.map(Math.abs));
  if (order === 2) return Math.max(0, ...variance);
  return Math.max(sd ** 3, ...(layer.post.k3 ?? []).flat(2).map(Math.abs));
}

/** Theory's tensor of one order, flat. */
const tensorOf = (layer: Layer, order: number) => (order === 1 ? layer.post.mean : order === 2 ? layer.post.cov!.flat() : layer.post.k3!.flat(2));

/**
 * Every order ≤ n the layer labels exact, against Monte Carlo where samples resolve the spread, else
 * against the local linearisation (φ′ and φ″ by central differences). Returns how it was checked.
 */
function checkExactOrders(phi: Phi, mean: number[], cov: number[][], layer: Layer, n: number, float32: boolean, seed: number, what: string): 'monte carlo' | 'quadrature' | 'linearisation' | 'nothing exact' {
  const exact = layer.exactOrder ?? Infinity;
  if (exact < 1) return 'nothing exact';
  const w = mean.length;
  const sd = cov.map((row, i) => Math.sqrt(row[i]));
  const orders = Array.from({ length: Math.min(exact, n) }, (_, k) => k + 1);
  const floor = (r: number) => (layer.numericalError[r - 1] + (float32 ? 3e-3 : 1e-9)) * scaleOf(layer, r);
  if (sd.every((s, i) => s >= 1e-7 * Math.abs(mean[i]))) {
    // Variances are sampled even for the mean alone: they tell whether sampling can judge at all.
    const sampled = sampleCumulants(phi.f, mean, cov.flat(), Math.max(2, ...orders), seed, BATCHES, 2500);
    // A sampled variance with a relative standard error above 10%: the output is too heavy-tailed
    // (φ growing exponentially) for its standard errors to mean anything; quadrature judges orders 1, 2.
    const heavy = (sampled[2] ?? []).some((e) => e.index[0] === e.index[1] && e.se > 0.1 * Math.abs(e.value));
    if (heavy) {
      for (let i = 0; i < w; i++)
        for (let j = i; j < w; j++) {
          const q = quadratureCovariance(phi.f, mean, cov.flat(), i, j, 30, 40);
          const checks: [number, number, number][] = [[1, layer.post.mean[i], q.mean[0]]];
          if (orders.includes(2)) checks.push([2, layer.post.cov![i][j], q.cov]);
          for (const [r, theory, expected] of checks)
            expect(Math.abs(theory - expected), `${what}: order ${r} at (${i}, ${j}) by quadrature: theory ${theory}, quadrature ${expected} ± ${q.error}`).toBeLessThanOrEqual(q.error + 1e-6 * Math.abs(expected) + floor(r));
        }
      general.ordersChecked += Math.min(orders.length, 2);
      return 'quadrature';
    }
    for (const r of orders) {
      const theory = tensorOf(layer, r);
      for (const e of sampled[r] as SampledEntry[]) {
        const gap = Math.abs(entryAt(theory, e.index, w) - e.value);
        expect(gap, `${what}: order ${r} at (${e.index}): theory ${entryAt(theory, e.index, w)}, MC ${e.value} ± ${e.se}, stated error ${layer.numericalError[r - 1]}`).toBeLessThanOrEqual(CRITICAL * e.se + floor(r));
      }
      general.ordersChecked++;
    }
    return 'monte carlo';
  }
  // Below float64's resolution at this mean: φ(μ + δ) ≈ φ(μ) + φ′(μ) δ + φ″(μ) δ²/2.
  const h = 1e-4 * Math.max(1, Math.abs(mean[0]) * 1e-6);
  const d1 = mean.map((m) => (phi.f(m + h) - phi.f(m - h)) / (2 * h));
  const d2 = mean.map((m) => Math.abs(phi.f(m + h) - 2 * phi.f(m) + phi.f(m - h)) / h ** 2);
  const size = Math.max(...d1.map((d, i) => Math.abs(d) * sd[i]));
  const curvature = Math.max(...d2.map((d, i) => d * sd[i] ** 2));
  const slack = 1e-5 * size + 2 * curvature + 1e-12 * Math.max(...mean.map((m) => Math.abs(phi.f(m))));
  for (const r of orders) {
    const theory = tensorOf(layer, r);
    for (let e = 0; e < w ** r; e++) {
      const index = r === 1 ? [e] : r === 2 ? [Math.floor(e / w), e % w] : [Math.floor(e / w / w), Math.floor(e / w) % w, e % w];
      const expected = r === 1 ? phi.f(mean[e]) : r === 2 ? d1[index[0]] * d1[index[1]] * cov[index[0]][index[1]] : 0;
      const allowed = (r === 1 ? slack + 1e-12 * Math.abs(expected) : r === 2 ? slack * size * 3 : slack * size ** 2 * 3) + floor(r);
      expect(Math.abs(theory[e] - expected), `${what}: order ${r} at (${index}) by linearisation: theory ${theory[e]}, expected ${expected}`).toBeLessThanOrEqual(allowed);
    }
    general.ordersChecked++;
  }
  return 'linearisation';
}

describe('propagate on generated general activations, means and covariances at every scale', () => {
  it(`exit 0 with finite numbers whose exact orders agree with Monte Carlo (within ${CRITICAL.toFixed(2)} SE) or exit 2 with one line`, { timeout: 900_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(activation, distribution, fc.constantFrom(1, 2, 2, 3), fc.constantFrom('reference', 'reference', 'reference', 'wasm'), fc.integer({ min: 1, max: 1e6 }), async (phi, input, order, backend, seed) => {
        const w = input.mean.length;
        const n = w === 3 ? order : Math.min(order, 2);
        const net = { layers: [{ weight: Array.from({ length: w }, (_, i) => Array.from({ length: w }, (_, j) => (i === j ? 1 : 0))), activation: phi.text }] };
        const args = ['propagate', file(net), '--input', file(input), '--backend', backend, '--output-order', String(n), '--max-seconds', '20', '--json'];
        general.inputs++;
        tried.propagate++;
        const r = await corrmap(args);
        const stated = r.code === 0 ? Number(JSON.parse(r.stdout).estimate?.seconds ?? 0) : 0;
        // The trivariate quadrature may use what --max-seconds leaves; a loaded machine: four times the estimate.
        honest(r, args, 40 + 4 * stated);
        if (r.code !== 0) return void general.exit2++;
        general.exit0++;
        const out = JSON.parse(r.stdout);
        finiteNumbers(out);
        const layer = out.layers[0] as Layer;
        if ((layer.exactOrder ?? Infinity) < n) general.labelledApproximate++;
        const how = checkExactOrders(phi, input.mean, input.cov, layer, n, backend !== 'reference', seed, `φ = ${phi.text}, mean ${JSON.stringify(input.mean)}, cov ${JSON.stringify(input.cov)}, ${backend}`);
        if (how === 'monte carlo') general.byMonteCarlo++;
        if (how === 'linearisation') general.byLinearisation++;
        if (how === 'quadrature') general.byQuadrature++;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The named cases.

const identity = (w: number) => Array.from({ length: w }, (_, i) => Array.from({ length: w }, (_, j) => (i === j ? 1 : 0)));

async function propagateJson(layers: unknown[], input: { mean: number[]; cov: number[][] }, extra: string[] = []): Promise<{ layers: Layer[]; notes?: string[] }> {
  const args = ['propagate', file({ layers }), '--input', file(input), '--json', ...extra];
  tried.named++;
  const r = await corrmap(args);
  honest(r, args, 120);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  finiteNumbers(out);
  return out;
}

describe('named hard inputs of general activations', () => {
  it.concurrent('ReLU with biases 1e6 keeps its covariance; a deep tanh network keeps covariance at every layer', async () => {
    const input = { mean: [0.2, -0.1], cov: [[1, 0.5], [0.5, 2]] };
    for (const backend of ['reference', 'wasm']) {
      const out = await propagateJson([{ weight: identity(2), bias: [1e6, 1e6], activation: 'relu(z)' }], input, ['--backend', backend]);
      const cov = out.layers[0].post.cov!;
      const tolerance = backend === 'reference' ? 1e-9 : 1e-3;
      input.cov.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(cov[i][j] - v), `${backend} cov ${i}${j}`).toBeLessThanOrEqual(tolerance * 2)));
      expect(out.layers[0].exactOrder ?? Infinity).toBeGreaterThanOrEqual(2);
    }
    // 100 layers of tanh with gain 1.05: the covariance shrinks but never collapses to an exact 0.
    const deep = Array.from({ length: 100 }, () => ({ weight: [[1.05, 0], [0, 1.05]], bias: [0.5, -0.5], activation: 'tanh(z)' }));
    const out = await propagateJson(deep, input, ['--backend', 'reference']);
    out.layers.forEach((l, k) => {
      const c = l.post.cov!;
      expect(c[0][1], `layer ${k + 1}`).toBeGreaterThan(0);
      expect(c[0][1] ** 2, `layer ${k + 1}`).toBeLessThanOrEqual(c[0][0] * c[1][1] * (1 + 1e-12));
    });
  });

  it.concurrent('relu and tanh at variance 1e20 (and relu at 1e-20), ρ = 0.6 (Mehler series) and 0.97 (exact bivariate form): both backends finite and equal to the scale-free forms', async () => {
    for (const [s, rho, sources] of [[1e20, 0.6, ['relu(z)', 'tanh(z)']], [1e20, 0.97, ['relu(z)', 'tanh(z)']], [1e-20, 0.97, ['relu(z)']]] as const) {
      const input = { mean: [0, 0], cov: [[s, rho * s], [rho * s, s]] };
      // ReLU (arc-cosine kernel): E[relu x relu y] = s (√(1 − ρ²) + ρ(π − arccos ρ))/(2π), mean √(s/2π).
      const relu = { mean: Math.sqrt(s / (2 * Math.PI)), cov: (s * (Math.sqrt(1 - rho * rho) + rho * (Math.PI - Math.acos(rho)))) / (2 * Math.PI) - s / (2 * Math.PI) };
      // tanh at this spread is sign(z) but for a probability of ~1e-9: Cov = (2/π) arcsin ρ.
      const tanh = { mean: 0, cov: (2 / Math.PI) * Math.asin(rho) };
      for (const [source, expected] of [['relu(z)', relu], ['tanh(z)', tanh]] as const)
        for (const backend of ['reference', 'wasm']) {
          if (!(sources as readonly string[]).includes(source)) continue;
          const out = await propagateJson([{ weight: identity(2), activation: source }], input, ['--backend', backend]);
          const post = out.layers[0].post;
          const tolerance = backend === 'reference' ? 1e-6 : 1e-3;
          const what = `${source} ${backend} at variance ${s}, ρ = ${rho}: ${post.cov![0][1]} vs ${expected.cov}`;
          // Exact: to the precision; labelled approximate (tanh's Mehler series at ρ = 0.97): within its stated bound.
          const exact = (out.layers[0].exactOrder ?? Infinity) >= 2;
          const bound = exact ? tolerance * Math.abs(expected.cov) : out.layers[0].numericalError[1] * post.cov![0][0];
          expect(exact || source === 'tanh(z)', `${what}: labelled approximate`).toBe(true);
          expect(Math.abs(post.cov![0][1] - expected.cov), what).toBeLessThanOrEqual(bound);
          expect(Math.abs(post.mean[0] - expected.mean), what).toBeLessThanOrEqual(tolerance * Math.sqrt(post.cov![0][0]));
        }
    }
  });

  it.concurrent('κ3 of a sum of atoms at ρ = 0.97: a convergent route with its error bound, agreeing with Monte Carlo; without time for it, approximate with a note', async () => {
    const input = { mean: [0.1, -0.2, 0.3], cov: [[1, 0.97, 0.97], [0.97, 1, 0.97], [0.97, 0.97, 1]] };
    const layers = [{ weight: identity(3), activation: 'relu(z) + erf(z)' }];
    const out = await propagateJson(layers, input, ['--backend', 'reference', '--output-order', '3']);
    const layer = out.layers[0];
    expect(layer.exactOrder ?? Infinity).toBeGreaterThanOrEqual(3);
    expect(layer.numericalError[2]).toBeLessThan(1e-3);
    const phi = { text: 'relu(z) + erf(z)', f: (z: number) => Math.max(z, 0) + atomNamed('erf')!.float64!(z) };
    expect(checkExactOrders(phi, input.mean, input.cov, layer, 3, false, 0x5eed, 'κ3 at ρ = 0.97')).toBe('monte carlo');
    // Without time for it: more kinks make the quadrature several times dearer than --max-seconds 1
    // (about 6 s estimated on an idle machine), while the series still fits.
    const kinked = [{ weight: identity(3), activation: 'relu(z) + relu(z - 0.5) + relu(z + 0.5) + relu(z - 1) + erf(z)' }];
    const hurried = await propagateJson(kinked, input, ['--backend', 'reference', '--output-order', '3', '--max-seconds', '1']);
    expect(hurried.layers[0].exactOrder).toBe(2);
    expect(hurried.notes?.join('\n')).toMatch(/labelled approximate.*raise --max-seconds/);
  });

  it.concurrent('tanh at variance 30 and 1000, tanh(2z) on the bundled example, sigmoid and GELU at variance 100, sigmoid at 2.5e5: exact, and Monte Carlo agrees', async () => {
    const cases: [string, (z: number) => number, number][] = [
      ['tanh(z)', Math.tanh, 30],
      ['tanh(z)', Math.tanh, 1000],
      ['sigmoid(z)', (z) => 1 / (1 + Math.exp(-z)), 100],
      ['gelu(z)', (z) => z * atomNamed('Phi')!.float64!(z), 100],
      // A transition narrower than Gauss–Hermite's node spacing: read as a step, Var was 0.3 % (19 SE) high.
      ['(-2.02)*sigmoid(z - 0.15)', (z) => -2.02 / (1 + Math.exp(-(z - 0.15))), 2.5e5],
    ];
    for (const [k, [source, f, s]] of cases.entries()) {
      const input = { mean: [0.5, -1], cov: [[s, 0.4 * s], [0.4 * s, s]] };
      const out = await propagateJson([{ weight: identity(2), activation: source }], input, ['--backend', 'reference']);
      expect(out.layers[0].exactOrder ?? Infinity, `${source} at ${s}`).toBeGreaterThanOrEqual(2);
      expect(checkExactOrders({ text: source, f }, input.mean, input.cov, out.layers[0], 2, false, 0x7a11 + k, `${source} at variance ${s}`)).toBe('monte carlo');
    }
    tried.named++;
    const r = await corrmap(['propagate', file({ layers: [{ weight: identity(3), activation: 'tanh(2*z)' }] }), '--input', 'examples/gaussian.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('resources of general activations, stated before the work', () => {
  it.concurrent('κ3 at width 150 is refused up front naming --max-seconds; a small run states its estimate and keeps within it', async () => {
    const w = 150;
    const weight = Array.from({ length: w }, (_, i) => Array.from({ length: w }, (_, j) => (i === j ? 1 : 0.01)));
    const input = { mean: new Array(w).fill(0.1), cov: identity(w) };
    const args = ['propagate', file({ layers: [{ weight, activation: 'relu(z)' }] }), '--input', file(input), '--output-order', '3', '--max-seconds', '60', '--json'];
    tried.named++;
    const r = await corrmap(args);
    honest(r, args, 10);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/estimated to take up to \d+ s \(layer 1: the third cumulant of φ = relu\(z\).*more than --max-seconds 60; .*raise --max-seconds/);
    for (const bad of ['0', '-5', 'soon', '1e9']) {
      tried.named++;
      const e = await corrmap(['propagate', file({ layers: [{ weight: identity(2), activation: 'tanh(z)' }] }), '--input', file({ mean: [0, 0], cov: identity(2) }), `--max-seconds=${bad}`]);
      honest(e, ['--max-seconds', bad]);
      expect(e.stderr).toMatch(/--max-seconds must be a whole number from 1 to/);
    }
    const out = await propagateJson([{ weight: identity(3), activation: 'tanh(z)' }], { mean: [0, 0.1, 0.2], cov: identity(3) }, ['--output-order', '3']);
    const { estimate, seconds } = out as unknown as { estimate: { seconds: number; bytes: number }; seconds: number };
    expect(estimate.bytes).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(4 * estimate.seconds + 5);
  });
});

afterAll(() => {
  console.log(`fuzz (general activations): ${JSON.stringify(general)}; ${JSON.stringify(tried)} (seed ${SEED}${LONG ? ', long run' : ''})`);
});
