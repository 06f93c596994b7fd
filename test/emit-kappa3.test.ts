/**
 * κ3 of a pure step in emitted code: φ = c·H(pz + q) or c·sign(pz + q) takes κ(y_i, y_i, y_j) from the
 * exact bivariate form of the pair, as corrmap does (numeric/general.ts pureJump), instead of Mehler
 * series that converge slowly as ρ → 1. Two units at ρ = 0.995 and at ρ = 1 (every entry of κ3 has a
 * repeated index there), and four units at |ρ| ≤ 0.3 (the three-vertex series converges for the distinct
 * entries): NumPy, the JAX output over a NumPy stand-in, PyTorch and C99 reproduce the float64
 * reference to 1e-10 relative. The same emitter with the pure-jump rule taken out of the plan (the
 * Mehler series for those entries) must not.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf } from '../symbolic/activations.ts';
import { gaussianLayer } from '../numeric/general.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { Random } from '../numeric/random.ts';
import { nestedArray } from '../src/io.ts';
import { planActivation, type GaussianPlan } from '../src/emit/activation.ts';
import { emitActivation } from '../src/emit/targets.ts';
import { JAX_NUMPY_NAMES, fakeJax, hasGcc, pythonWith, runCJobs, runPythonJobs, type CJob } from './emit-runners.ts';
import { maxAbs } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-kappa3-'));

/** Pure steps, plain and with a coefficient and an affine argument (a negative slope among them). */
const STEPS: Record<string, string> = { heaviside: 'heaviside(z)', sign: 'sign(z)', affine_heaviside: '2*heaviside(0.5*z - 0.3)', affine_sign: '-1.5*sign(0.4 - 2*z)' };

/** Units with standard deviations sd, means m and correlations rho (row-major n × n). */
function gaussian(m: readonly number[], sd: readonly number[], rho: readonly number[]): Cumulants {
  const n = m.length;
  const cov = Float64Array.from({ length: n * n }, (_, e) => sd[Math.floor(e / n)] * sd[e % n] * rho[e]);
  return new Cumulants(n, [undefined, Float64Array.from(m), cov]);
}

function weakCorrelations(rng: Random, n: number): Cumulants {
  const rho = Array.from({ length: n * n }, () => 0);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) rho[i * n + j] = rho[j * n + i] = i === j ? 1 : 0.6 * (rng.uniform() - 0.5);
  return gaussian(
    Array.from({ length: n }, () => rng.uniform() - 0.5),
    Array.from({ length: n }, () => 0.5 + rng.uniform()),
    rho,
  );
}

const rng = new Random(20261202);
const INPUTS: Record<string, Cumulants> = {
  strong: gaussian([0.2, -0.1], [0.9, 1.3], [1, 0.995, 0.995, 1]),
  // The same unit twice: ρ = 1 exactly.
  duplicate: gaussian([0.15, 0.15], [1.1, 1.1], [1, 1, 1, 1]),
  weak: weakCorrelations(rng, 4),
};

interface Case {
  readonly label: string;
  readonly step: string;
  readonly plan: GaussianPlan;
  /** The same plan without the pure-jump rule: the Mehler series for κ(y_i, y_i, y_j). */
  readonly series: GaussianPlan;
  readonly input: Cumulants;
  readonly want: Float64Array[];
}

const cases: Case[] = [];
beforeAll(() => {
  for (const [name, source] of Object.entries(STEPS)) {
    const plan = planActivation(parseActivation(source), 3);
    if (plan.kind !== 'gaussian') throw new Error(`${source} should be a Gaussian-closure plan`);
    expect(plan.third?.jump, `${source} is a pure step`).toBeDefined();
    const series = { ...plan, third: { shells: plan.third!.shells } };
    for (const [at, input] of Object.entries(INPUTS)) {
      const r = gaussianLayer(activationOf(parseActivation(source)), input, 3);
      // The series for the distinct entries converged (no trivariate quadrature in the reference).
      expect(r.thirdTruncation?.converged, `${source} at ${at}`).toBe(true);
      if (input.size >= 3) expect(r.thirdTruncation?.order, `${source} at ${at}`).toBeGreaterThan(0);
      cases.push({ label: `${name} at ${at}`, step: name, plan, series, input, want: [1, 2, 3].map((m) => r.post.order(m)!) });
    }
  }
}, 120_000);

/** Largest error of each order relative to that order's largest reference entry. */
function errors(c: Case, got: readonly number[][]): number[] {
  return c.want.map((want, m) => {
    expect(got[m].length, c.label).toBe(want.length);
    let worst = 0;
    for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(got[m][e] - want[e]));
    return worst / Math.max(maxAbs(want), 1e-300);
  });
}

/** One module per step (written once), one job per case. */
function pythonJobs(target: 'numpy' | 'jax' | 'torch', tag: string, chosen: readonly Case[] = cases, planOf: (c: Case) => GaussianPlan = (c) => c.plan) {
  const written = new Set<string>();
  return chosen.map((c) => {
    const module = `${tag}_${target}_${c.step}`;
    if (!written.has(module)) {
      const [file] = emitActivation(planOf(c), target, `corrmap emit '${c.plan.expression.source}' --target ${target} --order 3`);
      writeFileSync(join(dir, `${module}.py`), file.text);
      written.add(module);
    }
    return { module, args: { mean: Array.from(c.input.mean), cov: nestedArray(c.input.order(2)!, c.input.size, 2) } };
  });
}

/** The cases at strong correlation (two units), where the Mehler series is far off. */
const strong = () => cases.filter((c) => c.input.size === 2);

/** κ3 of the same code without the pure-jump rule must miss the reference by more than 1e-6. */
function expectMissed(label: string, chosen: readonly Case[], results: number[][][]): void {
  chosen.forEach((c, k) => {
    const e = errors(c, results[k]);
    console.log(`${label} ${c.label}: κ3 by the Mehler series off by ${e[2].toExponential(2)}`);
    expect(e[2], `${label} ${c.label}`).toBeGreaterThan(1e-6);
  });
}

const fromPython = (out: any): number[][] => [[out.mean].flat(), [out.cov].flat(Infinity) as number[], [out.k3].flat(Infinity) as number[]];

function check(results: number[][][], label: string): void {
  let worst = 0;
  cases.forEach((c, k) => {
    const e = errors(c, results[k]);
    e.forEach((err, m) => expect(err, `${label} ${c.label}, order ${m + 1}: ${err.toExponential(2)}`).toBeLessThanOrEqual(1e-10));
    worst = Math.max(worst, ...e);
  });
  console.log(`${label}: largest relative error over ${cases.length} cases, orders 1–3: ${worst.toExponential(2)}`);
}

const numpy = pythonWith(['numpy', 'scipy.special']);
const torch = pythonWith(['torch', 'numpy']);

describe('emitted κ3 of a pure step by the exact pair form', () => {
  it.skipIf(!numpy.python)(`NumPy reproduces the reference to 1e-10; without the pure-jump rule it does not${numpy.python ? '' : ` — skipped: ${numpy.reason}`}`, () => {
    const out = runPythonJobs(numpy.python!, dir, [...pythonJobs('numpy', 'now'), ...pythonJobs('numpy', 'series', strong(), (c) => c.series)]);
    const now = out.slice(0, cases.length);
    now.forEach((o, k) => expect(Boolean(o.truncation.third.converged), cases[k].label).toBe(true));
    check(now.map(fromPython), 'numpy');
    expectMissed('numpy', strong(), out.slice(cases.length).map(fromPython));
  });

  it.skipIf(!numpy.python)('JAX output over the NumPy stand-in reproduces it and uses only JAX names', () => {
    const jobs = pythonJobs('jax', 'now');
    for (const { module } of jobs)
      for (const [, name] of readFileSync(join(dir, `${module}.py`), 'utf8').matchAll(/\bjnp\.([A-Za-z_0-9]+)/g)) expect(JAX_NUMPY_NAMES, `jnp.${name} in ${module}`).toContain(name);
    check(runPythonJobs(numpy.python!, dir, jobs, fakeJax(dir)).map(fromPython), 'jax');
  });

  it.skipIf(!torch.python)(`PyTorch reproduces it${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
    check(runPythonJobs(torch.python!, dir, pythonJobs('torch', 'now')).map(fromPython), 'torch');
  });

  it.skipIf(!hasGcc())('C99 compiles with gcc -std=c99 -Wall -Werror and reproduces it; without the pure-jump rule it does not', () => {
    const jobs = [...cases.map((c): CJob => ({ plan: c.plan, input: c.input })), ...strong().map((c): CJob => ({ plan: c.series, input: c.input }))];
    const out = runCJobs(dir, 'jump', jobs);
    const now = out.slice(0, cases.length);
    now.forEach((o, k) => expect(o.series[6], `${cases[k].label}: converged`).toBe(1));
    check(now.map((o) => o.tensors), 'c');
    expectMissed('c', strong(), out.slice(cases.length).map((o) => o.tensors));
  });
});
