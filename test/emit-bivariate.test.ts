/**
 * Emitted code takes the exact bivariate (Φ₂) forms where corrmap does: relu, heaviside, sign, abs
 * and erf layers (and an atom with an affine argument plus a linear part) on inputs correlated to
 * |ρ| ≥ 0.99 — one pair a duplicated unit, ρ = 1 exactly — where the Mehler series does not reach
 * its tolerance. NumPy, the JAX output over a NumPy stand-in, PyTorch and C99 must reproduce the
 * float64 reference evaluator to 1e-10 relative; the same code with the switch to the exact form
 * removed, or with the emitted Φ₂ reduced to its Drezner–Wesolowsky form (Genz's high-correlation branch
 * dropped), must not. A unit of tiny variance next to a large mean (s = 1e-6 at μ = 1000) is spread,
 * not constant, in the exact form as in corrmap's: NumPy and C reproduce its pairs, and the same code
 * with a unit made constant below s = 1e-10 (1 + μ²) does not.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf } from '../symbolic/activations.ts';
import { CPrinter } from '../symbolic/print/c.ts';
import { gaussianLayer } from '../numeric/general.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { Random } from '../numeric/random.ts';
import { nestedArray, networkFromJson, ORDER_KEYS } from '../src/io.ts';
import { propagateReference } from '../numeric/network.ts';
import { planActivation, type GaussianPlan } from '../src/emit/activation.ts';
import { cActivationFiles } from '../src/emit/c.ts';
import { emitActivation, emitNetwork } from '../src/emit/targets.ts';
import { JAX_NUMPY_NAMES, fakeJax, hasGcc, pythonWith, run, runPythonJobs } from './emit-runners.ts';
import { maxAbs } from './helpers.ts';

const N = 5;
const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-bivariate-'));

const ATOMS: Record<string, string> = {
  relu: 'relu(z)',
  heaviside: 'heaviside(z)',
  sign: 'sign(z)',
  abs: 'abs(z)',
  erf: 'erf(2*z)',
  affine_relu: '2*relu(0.5*z - 0.3) + z - 0.1',
};

/**
 * Units z_i = m_i + σ_i (±a w + √(1 − a²) e_i), a² = 0.995, so |ρ_ij| = 0.995 between the first
 * four; the fifth is the first again (ρ = 1 exactly), or with `tiny` a unit at ρ = 0.995 to the others
 * with mean 1000 and variance 1e-6.
 */
function correlatedInput(rng: Random, tiny = false): Cumulants {
  const mean = Float64Array.from({ length: N }, () => 0.6 * (rng.uniform() - 0.5));
  const sd = Float64Array.from({ length: N }, () => 0.5 + rng.uniform());
  const signs = [1, -1, 1, 1, 1];
  const a2 = 0.995;
  [mean[4], sd[4]] = tiny ? [1000, 1e-3] : [mean[0], sd[0]];
  const unit = (i: number) => (i === 4 && !tiny ? 0 : i);
  const cov = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) cov[i * N + j] = sd[i] * sd[j] * (unit(i) === unit(j) ? 1 : signs[unit(i)] * signs[unit(j)] * a2);
  return new Cumulants(N, [undefined, mean, cov]);
}

const input = correlatedInput(new Random(20261202));
const plans = new Map<string, GaussianPlan>();
const references = new Map<string, Float64Array[]>();
beforeAll(() => {
  for (const [name, source] of Object.entries(ATOMS)) {
    const plan = planActivation(parseActivation(source), 2);
    if (plan.kind !== 'gaussian') throw new Error(`${source} should be a Gaussian-closure plan`);
    plans.set(name, plan);
    const r = gaussianLayer(activationOf(parseActivation(source)), input, 2);
    // The reference took the exact form: the series would not have reached its tolerance here.
    expect(r.covarianceTruncation.order, source).toBe(0);
    references.set(name, [r.post.order(1)!, r.post.order(2)!]);
  }
}, 120_000);

/** Largest error of mean and covariance relative to the largest reference entry. */
function errors(name: string, mean: number[], cov: number[], from = references): number[] {
  return from.get(name)!.map((want, m) => {
    const got = m === 0 ? mean : cov;
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]));
    return worst / Math.max(maxAbs(want), 1e-300);
  });
}

const args = { mean: Array.from(input.mean), cov: nestedArray(input.order(2)!, N, 2) };

function pythonJobs(target: 'numpy' | 'jax' | 'torch', edit: (text: string) => string = (t) => t, tag = 'b', names = Object.keys(ATOMS), at = args) {
  return names.map((name) => {
    const module = `${tag}_${target}_${name}`;
    const [file] = emitActivation(plans.get(name)!, target, `corrmap emit '${ATOMS[name]}' --target ${target}`);
    writeFileSync(join(dir, `${module}.py`), edit(file.text));
    return { module, args: at };
  });
}

function checkPython(results: any[], label: string): void {
  Object.keys(ATOMS).forEach((name, k) => {
    const out = results[k];
    expect(out.truncation.order, `${label} ${name}: the exact form was used`).toBe(0);
    const e = errors(name, [out.mean].flat(), [out.cov].flat(Infinity) as number[]);
    e.forEach((err, m) => expect(err, `${label} ${name}, order ${m + 1}: ${err.toExponential(2)}`).toBeLessThanOrEqual(1e-10));
  });
}

/**
 * The C99 functions of `names` compiled with gcc -std=c99 -Wall -Werror (each source through `edit`)
 * and a driver run on `at`: per name the series order, the mean and the covariance.
 */
function runC(names: readonly string[], at: Cumulants, tag: string, edit: (text: string) => string = (t) => t): Array<{ order: number; mean: number[]; cov: number[] }> {
  const driver = ['#include <stdio.h>', `static const double in1[${N}] = {${Array.from(at.mean).join(', ')}};`, `static const double in2[${N * N}] = {${Array.from(at.order(2)!).join(', ')}};`];
  const sources: string[] = [];
  const calls: string[] = [];
  names.forEach((name, k) => {
    const fn = `${tag}_${name}`;
    const [h, c] = cActivationFiles(plans.get(name)!, new CPrinter(), ['test'], `${fn}.h`, fn);
    writeFileSync(join(dir, `${fn}.h`), h.text);
    writeFileSync(join(dir, `${fn}.c`), edit(c.text));
    sources.push(`${fn}.c`);
    driver.push(`int ${fn}(double *out1, double *out2, double *series, int n, const double *in1, const double *in2);`);
    calls.push(
      '  {',
      `    double o1[${N}], o2[${N * N}], s[7];`,
      `    ${fn}(o1, o2, s, ${N}, in1, in2);`,
      `    printf("%s{\\"order\\":%.17g,\\"mean\\":[", ${k} ? "," : "", s[0]);`,
      `    for (int e = 0; e < ${N}; e++) printf("%s%.17g", e ? "," : "", o1[e]);`,
      '    printf("],\\"cov\\":[");',
      `    for (int e = 0; e < ${N * N}; e++) printf("%s%.17g", e ? "," : "", o2[e]);`,
      '    printf("]}");',
      '  }',
    );
  });
  driver.push('int main(void) {', '  printf("[");', ...calls, '  printf("]\\n");', '  return 0;', '}');
  writeFileSync(join(dir, `${tag}_driver.c`), driver.join('\n'));
  run('gcc', ['-std=c99', '-Wall', '-Werror', `${tag}_driver.c`, ...sources, '-lm', '-o', `${tag}_driver`], { cwd: dir });
  return JSON.parse(run(join(dir, `${tag}_driver`), []));
}

const numpy = pythonWith(['numpy', 'scipy.special']);
const torch = pythonWith(['torch', 'numpy']);

describe('emitted Φ₂ forms at |ρ| ≥ 0.99', () => {
  it.skipIf(!numpy.python)(`NumPy reproduces the reference to 1e-10${numpy.python ? '' : ` — skipped: ${numpy.reason}`}`, () => {
    checkPython(runPythonJobs(numpy.python!, dir, pythonJobs('numpy')), 'numpy');
  });

  it.skipIf(!numpy.python)('JAX output over the NumPy stand-in reproduces it and uses only JAX names', () => {
    const jobs = pythonJobs('jax');
    for (const { module } of jobs) {
      const text = readFileSync(join(dir, `${module}.py`), 'utf8');
      for (const [, name] of text.matchAll(/\bjnp\.([A-Za-z_0-9]+)/g)) expect(JAX_NUMPY_NAMES, `jnp.${name} in ${module}`).toContain(name);
    }
    checkPython(runPythonJobs(numpy.python!, dir, jobs, fakeJax(dir)), 'jax');
  });

  it.skipIf(!torch.python)(`PyTorch reproduces it${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
    checkPython(runPythonJobs(torch.python!, dir, pythonJobs('torch')), 'torch');
  });

  it.skipIf(!numpy.python)('without the switch to the exact form, or without Genz\'s high-correlation branch, the same check fails (negative controls)', () => {
    const tolerance = `if bound > ${plans.get('relu')!.tolerance}:`;
    const series = runPythonJobs(numpy.python!, dir, pythonJobs('numpy', (t) => (expect(t).toContain(tolerance), t.replace(tolerance, 'if False:')), 'series'));
    const perturbed = runPythonJobs(
      numpy.python!,
      dir,
      pythonJobs('numpy', (t) => (expect(t).toContain('< 0.925)'), t.replaceAll('< 0.925)', '< 1.01)')), 'perturbed'),
    );
    Object.keys(ATOMS).forEach((name, k) => {
      expect(Math.max(...errors(name, [series[k].mean].flat(), [series[k].cov].flat(Infinity) as number[])), `series ${name}`).toBeGreaterThan(1e-10);
      // erf's bivariate form meets Φ₂ at ρ′ = 2ρτ_iτ_j/√((1 + 2τ_i²)(1 + 2τ_j²)) < 0.925 here: the low form is the right one.
      if (name !== 'erf') expect(Math.max(...errors(name, [perturbed[k].mean].flat(), [perturbed[k].cov].flat(Infinity) as number[])), `perturbed ${name}`).toBeGreaterThan(1e-10);
    });
  });

  it.skipIf(!hasGcc())('C99 compiles with gcc -std=c99 -Wall -Werror and reproduces it', () => {
    const results = runC(Object.keys(ATOMS), input, 'bivariate');
    Object.keys(ATOMS).forEach((name, k) => {
      expect(results[k].order, `c ${name}: the exact form was used`).toBe(0);
      errors(name, results[k].mean, results[k].cov).forEach((err, m) => expect(err, `c ${name}, order ${m + 1}: ${err.toExponential(2)}`).toBeLessThanOrEqual(1e-10));
    });
  });

  it.skipIf(!numpy.python)('a network of relu and sign layers with nearly collinear rows: Φ₂ emitted once, every layer to 1e-10', () => {
    const json = {
      layers: [
        { weight: [[1, 0.02], [1, -0.02], [0.5, 0.01]], bias: [0.1, -0.2, 0.05], activation: 'relu(z)' },
        { weight: [[1, 1, 0.1], [1, 1.02, 0.1]], bias: [-0.3, 0.1], activation: 'sign(z)' },
      ],
    };
    const stats = { mean: [0.2, -0.1], cov: [[0.8, 0.1], [0.1, 0.5]] };
    const [file] = emitNetwork(networkFromJson(json, 'network'), 'numpy', 2, 2, 'corrmap emit-network net.json --target numpy');
    expect(file.text.match(/^def _phi2_excess\(/gm)).toHaveLength(1);
    writeFileSync(join(dir, 'bivariate_net.py'), file.text);
    const [printed] = runPythonJobs(numpy.python!, dir, [{ module: 'bivariate_net', stats }]);
    const network = networkFromJson(json, 'network');
    const want = propagateReference(network, new Cumulants(2, [undefined, Float64Array.from(stats.mean), Float64Array.from(stats.cov.flat())]), { inputOrder: 2, outputOrder: 2 });
    want.forEach((layer, l) => {
      expect(printed.layers[l].series.order, `layer ${l + 1}: the exact form was used`).toBe(0);
      for (const side of ['pre', 'post'] as const)
        for (let r = 1; r <= 2; r++) {
          const t = layer[side].order(r)!;
          const got = [printed.layers[l][side][ORDER_KEYS[r]]].flat(Infinity) as number[];
          let worst = 0;
          for (let e = 0; e < t.length; e++) worst = Math.max(worst, Math.abs(got[e] - t[e]));
          expect(worst / maxAbs(t), `layer ${l + 1} ${side} order ${r}`).toBeLessThanOrEqual(1e-10);
        }
    });
  });

  it.skipIf(!numpy.python)('κ3 where the covariance takes the exact form: the three-vertex series as corrmap sums it to 1e-10 where it converges, flagged where corrmap needs quadrature', () => {
    const names = ['relu', 'affine_relu'];
    const jobs = names.map((name) => {
      const module = `third_${name}`;
      const [file] = emitActivation(planActivation(parseActivation(ATOMS[name]), 3), 'numpy', `corrmap emit '${ATOMS[name]}' --target numpy --order 3`);
      writeFileSync(join(dir, `${module}.py`), file.text);
      return { module, args };
    });
    const results = runPythonJobs(numpy.python!, dir, jobs);
    names.forEach((name, k) => {
      const r = gaussianLayer(activationOf(parseActivation(ATOMS[name])), input, 3);
      const out = results[k];
      expect(out.truncation.order, `${name}: the exact form was used`).toBe(0);
      const want = r.post.order(3)!;
      const got = [out.k3].flat(Infinity) as number[];
      let worst = 0;
      for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(got[e] - want[e]));
      if (r.thirdTruncation!.order === 0) {
        // corrmap replaced the asymptotic series by trivariate quadrature; emitted code keeps the
        // series and must say that it did not converge, its smallest shell the size of what it misses.
        console.log(`${name}: emitted series off by ${(worst / maxAbs(want)).toExponential(2)} (relative), its estimate ${out.truncation.third.estimate}`);
        expect(Boolean(out.truncation.third.converged), name).toBe(false);
        expect(worst, `${name} κ3 against the quadrature`).toBeLessThanOrEqual(100 * out.truncation.third.estimate);
        return;
      }
      expect(out.truncation.third.order, name).toBe(r.thirdTruncation!.order);
      expect(Boolean(out.truncation.third.converged), name).toBe(r.thirdTruncation!.converged);
      expect(worst / maxAbs(want), `${name} κ3`).toBeLessThanOrEqual(1e-10);
    });
  });

  describe('a unit of tiny variance next to a large mean takes the exact form as in corrmap', () => {
    const TINY = ['relu', 'affine_relu'];
    const tinyInput = correlatedInput(new Random(20261203), true);
    const tinyArgs = { mean: Array.from(tinyInput.mean), cov: nestedArray(tinyInput.order(2)!, N, 2) };
    /** The constant-unit cut-off emitted code once had: s ≤ 1e-10 (1 + μ²) returned 0 for the pair. */
    const OLD_PYTHON = (t: string) => {
      const exact = '& spread[None, :], k2, 0.0 * k2)';
      expect(t).toContain(exact);
      return t.replace('spread[:, None] ' + exact, '(s > 1e-10 * (1.0 + mu * mu))[:, None] & (s > 1e-10 * (1.0 + mu * mu))[None, :], k2, 0.0 * k2)');
    };
    const OLD_C = (t: string) => {
      const exact = 'if (!(si > 0) || !(sj > 0)) return 0.0;';
      expect(t).toContain(exact);
      return t.replace(exact, 'if (!(si > 1e-10 * (1.0 + mui * mui)) || !(sj > 1e-10 * (1.0 + muj * muj))) return 0.0;');
    };
    const want = new Map<string, Float64Array[]>();
    beforeAll(() => {
      for (const name of TINY) {
        const r = gaussianLayer(activationOf(parseActivation(ATOMS[name])), tinyInput, 2);
        expect(r.covarianceTruncation.order, name).toBe(0);
        want.set(name, [r.post.order(1)!, r.post.order(2)!]);
      }
      // The pairs with the tiny unit carry weight: the cut-off's 0 would be far off.
      const c = want.get('relu')![1];
      expect(Math.abs(c[0 * N + 4]) / maxAbs(c)).toBeGreaterThan(1e-4);
    });
    const worst = (name: string, mean: number[], cov: number[]) => Math.max(...errors(name, mean, cov, want));

    it.skipIf(!numpy.python)('NumPy reproduces the reference to 1e-10; with the old cut-off it does not', () => {
      const good = runPythonJobs(numpy.python!, dir, pythonJobs('numpy', (t) => t, 'now_tiny', TINY, tinyArgs));
      const old = runPythonJobs(numpy.python!, dir, pythonJobs('numpy', OLD_PYTHON, 'old_tiny', TINY, tinyArgs));
      TINY.forEach((name, k) => {
        expect(good[k].truncation.order, name).toBe(0);
        const e = worst(name, [good[k].mean].flat(), [good[k].cov].flat(Infinity) as number[]);
        expect(e, `numpy ${name}: ${e.toExponential(2)}`).toBeLessThanOrEqual(1e-10);
        expect(worst(name, [old[k].mean].flat(), [old[k].cov].flat(Infinity) as number[]), `old cut-off ${name}`).toBeGreaterThan(1e-6);
      });
    });

    it.skipIf(!hasGcc())('C reproduces the reference to 1e-10; with the old cut-off it does not', () => {
      const good = runC(TINY, tinyInput, 'now_tiny');
      const old = runC(TINY, tinyInput, 'old_tiny', OLD_C);
      TINY.forEach((name, k) => {
        expect(good[k].order, name).toBe(0);
        const e = worst(name, good[k].mean, good[k].cov);
        expect(e, `c ${name}: ${e.toExponential(2)}`).toBeLessThanOrEqual(1e-10);
        expect(worst(name, old[k].mean, old[k].cov), `old cut-off ${name}`).toBeGreaterThan(1e-6);
      });
    });
  });
});
