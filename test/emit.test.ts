/**
 * Emitted code is executed, not only looked at: NumPy, the JAX output over a NumPy stand-in,
 * PyTorch and C99 (gcc -std=c99 -Wall -Werror) reproduce corrmap's float64 reference evaluator on
 * random inputs — the exact polynomial rules to 1e-10 relative, Gaussian-closure layers to 1e-10
 * plus the quadrature and series errors the emitted code itself states — for the quadratic, the
 * cubic and every atom; whole-network propagators print what `corrmap propagate --json` prints;
 * a perturbed coefficient is caught.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf } from '../symbolic/activations.ts';
import { CPrinter } from '../symbolic/print/c.ts';
import { gaussianLayer } from '../numeric/general.ts';
import { evaluateRule } from '../numeric/reference.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { Random } from '../numeric/random.ts';
import { nestedArray, networkFromJson, ORDER_KEYS } from '../src/io.ts';
import { planActivation, type ActivationPlan } from '../src/emit/activation.ts';
import { cActivationFiles } from '../src/emit/c.ts';
import { emitActivation, emitNetwork } from '../src/emit/targets.ts';
import { JAX_NUMPY_NAMES, JAX_SPECIAL_NAMES, compareLayers, fakeJax, hasGcc, pythonWith, referenceLayers, run, runPythonJobs, statedBound } from './emit-runners.ts';
import { maxAbs, randomSymmetric } from './helpers.ts';

const N = 3;
const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-'));

interface Case {
  readonly name: string;
  readonly source: string;
  readonly order: number;
  readonly inputOrder?: number;
  readonly input: Cumulants;
}

/** Gaussian input with correlations up to about ±0.3, where corrmap's own series stays below its tolerance. */
function gaussianInput(rng: Random, scale = 1): Cumulants {
  const mean = Float64Array.from({ length: N }, () => rng.uniform() - 0.5);
  const sd = Float64Array.from({ length: N }, () => scale * (0.6 + 0.8 * rng.uniform()));
  const cov = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) cov[i * N + j] = i === j ? sd[i] ** 2 : sd[i] * sd[j] * 0.3 * (rng.uniform() * 2 - 1) * (i < j ? 1 : 1);
  for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) cov[i * N + j] = cov[j * N + i];
  return new Cumulants(N, [undefined, mean, cov]);
}

/** Any symmetric tensors: the polynomial rules are identities in them. */
function anyCumulants(rng: Random, K: number): Cumulants {
  const tensors: (Float64Array | undefined)[] = [undefined];
  for (let r = 1; r <= K; r++) tensors.push(randomSymmetric(rng, N, r, r === 1 ? 0.8 : 0.5));
  return new Cumulants(N, tensors);
}

const rng = new Random(20260801);
const POLYNOMIALS: Case[] = [
  { name: 'quadratic', source: 'z + 0.5*z^2', order: 3, inputOrder: 6, input: anyCumulants(rng, 6) },
  { name: 'quadratic_closure', source: 'z + 0.5*z^2', order: 2, inputOrder: 2, input: anyCumulants(rng, 4) },
  { name: 'cubic', source: 'z^3 - 0.5*z + 0.2', order: 2, inputOrder: 6, input: anyCumulants(rng, 6) },
  { name: 'cubic_k3', source: 'z^3 - 0.5*z + 0.2', order: 3, inputOrder: 4, input: anyCumulants(rng, 4) },
];
const ATOMS: Record<string, string> = {
  relu: 'relu(z)',
  leaky_relu: 'max(z, 0.1*z)',
  heaviside: 'heaviside(z)',
  sign: 'sign(z)',
  abs: 'abs(z)',
  erf: 'erf(z)',
  gelu: 'gelu(z)',
  exp: 'exp(0.5*z)',
  sin: 'sin(z)',
  cos: 'cos(z)',
  sinh: 'sinh(0.5*z)',
  cosh: 'cosh(0.5*z)',
  bump: 'exp(-z^2)',
  tanh: 'tanh(z)',
  sigmoid: 'sigmoid(z)',
  softplus: 'softplus(z)',
  silu: 'silu(z)',
  elu: 'elu(z)',
  hardtanh: 'hardtanh(1.5*z)',
  softsign: 'softsign(z)',
};
const GENERAL: Case[] = Object.entries(ATOMS).map(([name, source]) => ({ name, source, order: 2, input: gaussianInput(rng) }));
/** κ3 of the Gaussian closure: closed forms, quadrature with and without kinks. */
const THIRD: Case[] = ['tanh', 'relu', 'erf', 'softplus', 'elu', 'sin'].map((name) => ({ name: `${name}_k3`, source: ATOMS[name], order: 3, input: gaussianInput(rng) }));
const CASES = [...POLYNOMIALS, ...GENERAL, ...THIRD];

/** corrmap's float64 reference: the exact rules, or the Gaussian-closure layer with its truncation order. */
function reference(c: Case): { tensors: Float64Array[]; seriesOrder: number; third?: { order: number; converged: boolean } } {
  const plan = plans.get(c.name)!;
  if (plan.kind === 'polynomial') return { tensors: plan.rules.map((r) => evaluateRule(r, c.input.truncate(plan.inputOrder))), seriesOrder: 0 };
  const r = gaussianLayer(activationOf(parseActivation(c.source)), c.input, c.order);
  return { tensors: Array.from({ length: c.order }, (_, m) => r.post.order(m + 1)!), seriesOrder: r.covarianceTruncation.order, third: r.thirdTruncation };
}

const plans = new Map<string, ActivationPlan>();
const references = new Map<string, ReturnType<typeof reference>>();
beforeAll(() => {
  for (const c of CASES) plans.set(c.name, planActivation(parseActivation(c.source), c.order, c.inputOrder));
  for (const c of CASES) references.set(c.name, reference(c));
}, 120_000);

interface Emitted {
  /** Flat output tensors of orders 1…n. */
  readonly tensors: number[][];
  /** The series order P, its bound and the quadrature errors of mean and covariance. */
  readonly series: { order: number; bound: number; mean: number; cov: number };
  /** κ3's three-vertex series: its last shell and whether it converged. */
  readonly third?: { order: number; converged: boolean };
}

/**
 * Largest error of each order relative to the largest reference entry, and the error allowed:
 * 1e-10, plus (general φ) the quadrature errors the code states, plus the series bound where its
 * truncation order differs from corrmap's.
 */
function agreement(c: Case, e: Emitted): { errors: number[]; allowed: number[] } {
  const ref = references.get(c.name)!;
  const plan = plans.get(c.name)!;
  const errors = ref.tensors.map((t, m) => {
    const got = e.tensors[m];
    expect(got.length).toBe(t.length);
    let worst = 0;
    for (let k = 0; k < t.length; k++) worst = Math.max(worst, Math.abs(got[k] - t[k]));
    return worst / Math.max(maxAbs(t), 1e-300);
  });
  const allowed = errors.map((_, m) => {
    if (plan.kind === 'polynomial') return 1e-10;
    if (m === 0) return 1e-10 + e.series.mean;
    if (m === 1) return 1e-10 + e.series.cov + (e.series.order === ref.seriesOrder ? 0 : e.series.bound);
    // κ3 is made of the same g_k: the quadrature errors they carry, amplified by at most 10.
    return 1e-10 + 10 * (e.series.mean + e.series.cov);
  });
  return { errors, allowed };
}

function check(c: Case, e: Emitted, target: string): void {
  const { errors, allowed } = agreement(c, e);
  // A stated error is a claim, not a licence: it must itself be small.
  for (const a of allowed) expect(a, `${target} ${c.name}: stated error`).toBeLessThan(1e-4);
  errors.forEach((err, m) => expect(err, `${target} ${c.name}, order ${m + 1}: error ${err.toExponential(2)} > ${allowed[m].toExponential(2)}`).toBeLessThanOrEqual(allowed[m]));
  const third = references.get(c.name)!.third;
  if (third) expect(e.third, `${target} ${c.name}: κ3 series`).toEqual({ order: third.order, converged: third.converged });
}

function pythonArgs(c: Case): Record<string, unknown> {
  const plan = plans.get(c.name)!;
  const reads = plan.kind === 'polynomial' ? plan.inputOrder : 2;
  const args: Record<string, unknown> = {};
  for (let r = 1; r <= reads; r++) {
    const t = c.input.order(r);
    if (t) args[ORDER_KEYS[r]] = nestedArray(t, N, r);
  }
  return args;
}

function fromPython(c: Case, out: any): Emitted {
  const tensors = Array.from({ length: c.order }, (_, m) => [out[ORDER_KEYS[m + 1]]].flat(Infinity) as number[]);
  const t = out.truncation ?? { order: 0, bound: 0, quadrature: { mean: 0, cov: 0 } };
  const third = t.third && { order: t.third.order, converged: t.third.converged };
  return { tensors, series: { order: t.order, bound: t.bound, mean: t.quadrature.mean, cov: t.quadrature.cov ?? 0 }, third };
}

function pythonTarget(target: 'numpy' | 'jax' | 'torch', cases: readonly Case[], tag: string): Array<{ module: string; args: Record<string, unknown> }> {
  return cases.map((c) => {
    const module = `${tag}_${target}_${c.name}`;
    const [file] = emitActivation(plans.get(c.name)!, target, `corrmap emit '${c.source}' --target ${target}`);
    writeFileSync(join(dir, `${module}.py`), file.text);
    return { module, args: pythonArgs(c) };
  });
}

const numpy = pythonWith(['numpy', 'scipy.special']);
const torch = pythonWith(['torch', 'numpy']);

// Whole networks: a general network at K = 2 and a polynomial one at K = 4, order 3.
const networkJson = {
  layers: [
    { weight: [[0.9, -0.3, 0.2], [0.1, 0.8, -0.4], [0.3, 0.2, 0.7]], bias: [0.1, -0.2, 0.05], activation: 'tanh(z)' },
    { weight: [[0.6, -0.5, 0.4], [0.2, 0.7, 0.3]], bias: [0, 0.1], activation: 'relu(z)' },
    { weight: [[1.1, -0.4], [0.3, 0.9]], bias: [0.2, -0.1], activation: 'z + 0.3*z^2' },
  ],
};
const polynomialJson = {
  layers: [
    { weight: [[0.9, -0.3, 0.2], [0.1, 0.8, -0.4]], bias: [0.1, -0.2], activation: 'z + 0.4*z^2' },
    { weight: [[0.7, 0.5], [-0.2, 0.9]], activation: 'z' },
    { weight: [[1.0, -0.6]], bias: [0.3], activation: 'z^3 - z' },
  ],
};
const stats = { mean: [0.2, -0.1, 0.3], cov: [[0.8, 0.1, -0.05], [0.1, 0.5, 0.12], [-0.05, 0.12, 0.6]] };
const k3 = randomSymmetric(new Random(7), 3, 3, 0.05);
const k4 = randomSymmetric(new Random(8), 3, 4, 0.02);
const statsK4 = { ...stats, k3: nestedArray(k3, 3, 3), k4: nestedArray(k4, 3, 4) };

function emitted(json: unknown, target: 'numpy' | 'torch' | 'c', K: number, n: number, file: string) {
  const files = emitNetwork(networkFromJson(json, 'network'), target, K, n, 'corrmap emit-network net.json', target === 'c' ? `${file}.h` : undefined);
  for (const f of files) writeFileSync(join(dir, target === 'c' ? `${file}${f.extension}` : file), f.text);
}

/** Network modules for a Python target, as jobs for the batch runner; their checks. */
function networkJobs(target: 'numpy' | 'torch') {
  emitted(networkJson, target, 2, 2, `net_${target}.py`);
  emitted(polynomialJson, target, 4, 3, `poly_${target}.py`);
  return [
    { module: `net_${target}`, stats },
    { module: `poly_${target}`, stats: statsK4 },
  ];
}
function checkNetworks(label: string, printed: any[]) {
  compareLayers(label, printed[0], referenceLayers(networkJson, stats, 2, 2), 2, statedBound(printed[0]));
  compareLayers(`${label} polynomial`, printed[1], referenceLayers(polynomialJson, statsK4, 4, 3), 3, () => 1e-10);
}

describe('emitted Python', () => {
  it.skipIf(!numpy.python)(`NumPy reproduces the reference evaluator (quadratic, cubic, ${GENERAL.length} atoms; network propagators)${numpy.python ? '' : ` — skipped: ${numpy.reason}`}`, () => {
    const jobs = pythonTarget('numpy', CASES, 'a');
    const results = runPythonJobs(numpy.python!, dir, [...jobs, ...networkJobs('numpy')]);
    CASES.forEach((c, k) => check(c, fromPython(c, results[k]), 'numpy'));
    checkNetworks('numpy', results.slice(CASES.length));
  });

  it.skipIf(!numpy.python)('JAX output, run with jax.numpy bound to NumPy, reproduces it and uses only JAX API', () => {
    const jobs = pythonTarget('jax', CASES, 'a');
    for (const { module } of jobs) {
      const text = readFileSync(join(dir, `${module}.py`), 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n');
      for (const [, name] of text.matchAll(/\bjnp\.([A-Za-z_0-9]+)/g)) expect(JAX_NUMPY_NAMES, `jnp.${name} in ${module}`).toContain(name);
      for (const [, name] of text.matchAll(/\bspecial\.([A-Za-z_0-9]+)/g)) expect(JAX_SPECIAL_NAMES, `special.${name} in ${module}`).toContain(name);
      // JAX arrays are immutable: no item assignment.
      expect(text.replace(/out\['\w+'\] = /g, '')).not.toMatch(/\]\s*(=|\+=|-=|\*=)[^=]/);
      expect(text).not.toMatch(/\bnp\.(?!asarray\(.*\)\.tolist)/);
    }
    const results = runPythonJobs(numpy.python!, dir, jobs, fakeJax(dir));
    CASES.forEach((c, k) => check(c, fromPython(c, results[k]), 'jax'));
  });

  it.skipIf(!torch.python)(`PyTorch reproduces the reference evaluator (atoms and network propagators)${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
    const results = runPythonJobs(torch.python!, dir, [...pythonTarget('torch', CASES, 'a'), ...networkJobs('torch')]);
    CASES.forEach((c, k) => check(c, fromPython(c, results[k]), 'torch'));
    checkNetworks('torch', results.slice(CASES.length));
  });

  it.skipIf(!numpy.python)('a perturbed emitted coefficient is caught (negative control)', () => {
    const c = POLYNOMIALS[0];
    const [file] = emitActivation(plans.get(c.name)!, 'numpy', 'corrmap emit');
    const perturbed = file.text.replace(/(\d\.\d+) \* np\.einsum/, (_, c) => `${Number(c) * (1 + 1e-7)} * np.einsum`);
    expect(perturbed).not.toBe(file.text);
    writeFileSync(join(dir, 'perturbed.py'), perturbed);
    const [out] = runPythonJobs(numpy.python!, dir, [{ module: 'perturbed', args: pythonArgs(c) }]);
    const { errors, allowed } = agreement(c, fromPython(c, out));
    expect(errors.some((e, m) => e > allowed[m])).toBe(true);
  });
});

describe('emitted C99', () => {
  it.skipIf(!hasGcc())('compiles with gcc -std=c99 -Wall -Werror and reproduces the reference evaluator', () => {
    const driver = ['#include <stdio.h>', '#include <stdlib.h>'];
    const objects: string[] = [];
    const mains: string[] = [];
    CASES.forEach((c, k) => {
      const plan = plans.get(c.name)!;
      const name = `act_${k}`;
      const [h, src] = cActivationFiles(plan, new CPrinter(), ['test'], `${name}.h`, name);
      writeFileSync(join(dir, `${name}.h`), h.text);
      writeFileSync(join(dir, `${name}.c`), src.text);
      objects.push(`${name}.c`);
      const reads = plan.kind === 'polynomial' ? Math.max(plan.inputOrder, 2) : 2;
      const outs = Array.from({ length: c.order }, (_, m) => `double *out${m + 1}`);
      driver.push(`int ${name}(${[...outs, 'double *series', 'int n', ...Array.from({ length: reads }, (_, r) => `const double *in${r + 1}`)].join(', ')});`);
      const inputs = Array.from({ length: reads }, (_, r) => {
        const t = c.input.order(r + 1);
        if (!t) return 'NULL';
        driver.push(`static const double ${name}_in${r + 1}[] = {${Array.from(t).join(', ')}};`);
        return `${name}_in${r + 1}`;
      });
      const body = [`  {`, ...Array.from({ length: c.order }, (_, m) => `    double o${m + 1}[${N ** (m + 1)}];`), '    double series[7];'];
      body.push(`    ${name}(${[...Array.from({ length: c.order }, (_, m) => `o${m + 1}`), 'series', String(N), ...inputs].join(', ')});`);
      body.push(`    printf("%s{", ${k} ? "," : "");`);
      for (let m = 1; m <= c.order; m++) {
        body.push(`    printf("\\"o${m}\\":[");`, `    for (int e = 0; e < ${N ** m}; e++) printf("%s%.17g", e ? "," : "", o${m}[e]);`, '    printf("],");');
      }
      body.push('    printf("\\"series\\":[%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g]}", series[0], series[1], series[2], series[3], series[4], series[5], series[6]);', '  }');
      mains.push(...body);
    });
    driver.push('int main(void) {', '  printf("[");', ...mains, '  printf("]\\n");', '  return 0;', '}');
    writeFileSync(join(dir, 'driver.c'), driver.join('\n'));
    run('gcc', ['-std=c99', '-Wall', '-Werror', 'driver.c', ...objects, '-lm', '-o', 'driver'], { cwd: dir });
    const results = JSON.parse(run(join(dir, 'driver'), []));
    CASES.forEach((c, k) => {
      const r = results[k];
      const [order, bound, mean, cov, thirdOrder, , converged] = r.series;
      const third = plans.get(c.name)!.kind === 'gaussian' && c.order >= 3 ? { order: thirdOrder, converged: converged === 1 } : undefined;
      check(c, { tensors: Array.from({ length: c.order }, (_, m) => r[`o${m + 1}`]), series: { order, bound, mean, cov }, third }, 'c');
    });
  });
});

describe('emitted network propagators', () => {
  it.skipIf(!numpy.python)('python3 prop.py stats.json prints the layers as corrmap propagate --json does', () => {
    writeFileSync(join(dir, 'stats.json'), JSON.stringify(stats));
    emitted(networkJson, 'numpy', 2, 2, 'prop.py');
    const printed = JSON.parse(run(numpy.python!, [join(dir, 'prop.py'), join(dir, 'stats.json')]));
    compareLayers('numpy script', printed, referenceLayers(networkJson, stats, 2, 2), 2, statedBound(printed));
  });

  it.skipIf(!numpy.python || !hasGcc())('with --output-order 3, NumPy and C propagators print κ3 of general layers as corrmap does', () => {
    const network = {
      layers: [
        networkJson.layers[0],
        { weight: [[0.6, -0.5, 0.4], [0.2, 0.7, 0.3], [0.1, 0.2, 0.9]], bias: [0, 0.1, 0.2], activation: 'relu(z)' },
        { weight: [[1.1, -0.4, 0.2], [0.3, 0.9, 0.1], [0.2, 0.2, 0.5]], bias: [0.2, -0.1, 0], activation: 'z + 0.3*z^2' },
      ],
    };
    writeFileSync(join(dir, 'stats.json'), JSON.stringify(stats));
    const expected = referenceLayers(network, stats, 2, 3);
    emitted(network, 'numpy', 2, 3, 'third.py');
    emitted(network, 'c', 2, 3, 'third');
    run('gcc', ['-std=c99', '-Wall', '-Werror', '-DCORRMAP_MAIN', 'third.c', '-lm', '-o', 'third'], { cwd: dir });
    for (const [label, printed] of [
      ['numpy', JSON.parse(run(numpy.python!, [join(dir, 'third.py'), join(dir, 'stats.json')]))],
      ['c', JSON.parse(run(join(dir, 'third'), [join(dir, 'stats.json')]))],
    ]) {
      compareLayers(`${label} κ3`, printed, expected, 2, statedBound(printed));
      // The relu layer's series is only asymptotic at these correlations: the code says so. corrmap
      // computes that layer's κ3 by trivariate quadrature instead, so there the emitted κ3 may be off by
      // ten times its smallest shell (the usual size of what an asymptotic series misses).
      expect(printed.layers.slice(0, 2).map((l: any) => l.series.third.converged), label).toEqual([true, false]);
      expected.layers.forEach((layer, l) => {
        const want = layer.post.order(3)!;
        const got = [printed.layers[l].post.k3].flat(Infinity) as number[];
        let worst = 0;
        for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(got[e] - want[e]));
        const asymptotic = printed.layers.slice(0, l + 1).reduce((a: number, x: any) => a + (x.series && !x.series.third.converged ? 10 * x.series.third.estimate : 0), 0);
        expect(worst, `${label} κ3 layer ${l + 1}`).toBeLessThanOrEqual(statedBound(printed)(l) * maxAbs(want) + asymptotic);
      });
    }
  });

  it.skipIf(!hasGcc())('the C propagator compiled with -DCORRMAP_MAIN reads a stats file and prints the same', () => {
    writeFileSync(join(dir, 'stats.json'), JSON.stringify(stats));
    writeFileSync(join(dir, 'stats4.json'), JSON.stringify(statsK4));
    emitted(networkJson, 'c', 2, 2, 'prop');
    run('gcc', ['-std=c99', '-Wall', '-Werror', '-DCORRMAP_MAIN', 'prop.c', '-lm', '-o', 'prop'], { cwd: dir });
    const printed = JSON.parse(run(join(dir, 'prop'), [join(dir, 'stats.json')]));
    compareLayers('c', printed, referenceLayers(networkJson, stats, 2, 2), 2, statedBound(printed));
    emitted(polynomialJson, 'c', 4, 3, 'poly');
    run('gcc', ['-std=c99', '-Wall', '-Werror', '-DCORRMAP_MAIN', 'poly.c', '-lm', '-o', 'poly'], { cwd: dir });
    const exact = JSON.parse(run(join(dir, 'poly'), [join(dir, 'stats4.json')]));
    compareLayers('c polynomial', exact, referenceLayers(polynomialJson, statsK4, 4, 3), 3, () => 1e-10);
  });
});
