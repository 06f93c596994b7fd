/**
 * The range of the emitted piecewise quadrature: a kinked φ of exponential growth (relu(z)·e^z,
 * relu(z) + sinh(z)) at a standard deviation of 4 has mass beyond ±13 standard deviations, so a
 * fixed ±13 misses it; emitted code widens the range per unit as corrmap's quadrature does
 * (numeric/gaussian-range.ts). The reference is first checked against SciPy's adaptive quadrature
 * on the whole line (and ±13 is shown to be off by more than the tolerance); then NumPy, PyTorch and
 * C99 must reproduce the reference within 1e-10 plus ten times the quadrature errors both state, and
 * the same code with the range fixed at ±13 must not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseActivation } from '../symbolic/expression.ts';
import { activationOf } from '../symbolic/activations.ts';
import { NumPyPrinter } from '../symbolic/print/python.ts';
import { VARIABLE } from '../symbolic/expression.ts';
import { gaussianLayer, type GaussianLayerResult } from '../numeric/general.ts';
import { LEAST_RANGE } from '../numeric/gaussian-range.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { nestedArray } from '../src/io.ts';
import { planActivation, type GaussianPlan } from '../src/emit/activation.ts';
import { emitActivation } from '../src/emit/targets.ts';
import { hasGcc, pythonWith, run, runCJobs, runPythonJobs, type CJob } from './emit-runners.ts';
import { maxAbs } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-range-'));

const CASES = [
  { name: 'relu_exp', source: 'relu(z)*exp(z)', order: 3 },
  { name: 'relu_sinh', source: 'relu(z) + sinh(z)', order: 2 },
] as const;

const MEAN = [0.3, -0.2, 0.1];
const SD = [4, 3, 2.5];
const RHO = [1, 0.5, 0.2, 0.5, 1, -0.3, 0.2, -0.3, 1];
const input = new Cumulants(3, [undefined, Float64Array.from(MEAN), Float64Array.from(RHO, (r, e) => SD[Math.floor(e / 3)] * SD[e % 3] * r)]);
const args = { mean: MEAN, cov: nestedArray(input.order(2)!, 3, 2) };

const plans = new Map<string, GaussianPlan>();
const references = new Map<string, GaussianLayerResult>();
beforeAll(() => {
  for (const c of CASES) {
    const plan = planActivation(parseActivation(c.source), c.order);
    if (plan.kind !== 'gaussian' || plan.quadrature.kind !== 'legendre') throw new Error(`${c.source} should take the piecewise rule`);
    plans.set(c.name, plan);
    references.set(c.name, gaussianLayer(activationOf(parseActivation(c.source)), input, c.order));
  }
}, 120_000);

/** The code with the range fixed at ±13, as emitted code had it. */
const FIXED_PYTHON = (text: string) => {
  const call = /lo, hi = \w+_range\(mu, sd\)/;
  expect(text).toMatch(call);
  return text.replace(call, `lo, hi = -${LEAST_RANGE}.0 + 0.0 * mu, ${LEAST_RANGE}.0 + 0.0 * mu`);
};
const FIXED_C = (text: string) => {
  const call = /(\w+_range\(mu, sd, &lo, &hi\);)/;
  expect(text).toMatch(call);
  return text.replace(call, `$1 lo = -${LEAST_RANGE}.0; hi = ${LEAST_RANGE}.0;`);
};

/** Per order, the largest error relative to the largest reference entry, and what is allowed: 1e-10 + 10 × the stated quadrature errors. */
function agreement(name: string, got: readonly number[][], stated: { mean: number; cov: number }) {
  const r = references.get(name)!;
  const quadrature = [r.quadrature.mean + stated.mean, r.quadrature.covariance + stated.cov];
  return got.map((g, m) => {
    const want = r.post.order(m + 1)!;
    expect(g.length).toBe(want.length);
    let worst = 0;
    for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(g[e] - want[e]));
    return { error: worst / maxAbs(want), allowed: 1e-10 + 10 * (m === 0 ? quadrature[0] : quadrature[1]) };
  });
}

const numpy = pythonWith(['numpy', 'scipy.integrate']);
const torch = pythonWith(['torch', 'numpy']);

function pythonJobs(target: 'numpy' | 'torch', tag: string, edit?: (text: string) => string) {
  return CASES.map((c) => {
    const module = `${tag}_${target}_${c.name}`;
    const [file] = emitActivation(plans.get(c.name)!, target, `corrmap emit '${c.source}' --target ${target} --order ${c.order}`);
    writeFileSync(join(dir, `${module}.py`), edit ? edit(file.text) : file.text);
    return { module, args };
  });
}

const fromPython = (out: any) => ({
  tensors: [[out.mean].flat(), [out.cov].flat(Infinity) as number[], ...(out.k3 ? [[out.k3].flat(Infinity) as number[]] : [])],
  stated: { mean: out.truncation.quadrature.mean, cov: out.truncation.quadrature.cov },
});
const fromC = (out: { tensors: number[][]; series: number[] }) => ({ tensors: out.tensors, stated: { mean: out.series[2], cov: out.series[3] } });

function expectAgreement(label: string, results: ReadonlyArray<ReturnType<typeof fromC>>, agree: boolean): void {
  CASES.forEach((c, k) => {
    agreement(c.name, results[k].tensors, results[k].stated).forEach(({ error, allowed }, m) => {
      const what = `${label} ${c.source}, order ${m + 1}: error ${error.toExponential(2)}, allowed ${allowed.toExponential(2)}`;
      console.log(what);
      if (agree) expect(error, what).toBeLessThanOrEqual(allowed);
      else if (m > 0) expect(error, what).toBeGreaterThan(allowed);
    });
  });
}

describe('the emitted piecewise range for a kinked φ of exponential growth', () => {
  it.skipIf(!numpy.python)('the reference agrees with SciPy on the whole line, and ±13 standard deviations miss mass', () => {
    const p = new NumPyPrinter();
    const script = [
      'import json, math, sys',
      'import numpy as np',
      'from scipy import integrate',
      'out = []',
      ...CASES.map((c) => `out.append([])\nphi = lambda z: float(${p.code(parseActivation(c.source).node, { [VARIABLE]: 'z' })})`).flatMap((l, k) => [
        l,
        `mu, sd = ${MEAN[0]}, ${SD[0]}`,
        'for lo, hi in [(-math.inf, math.inf), (-13.0, 13.0)]:',
        '    pieces = [(lo, -mu / sd), (-mu / sd, hi)]',
        '    density = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)',
        // Where the density underflows the integrand is 0 (φ's powers may overflow there).
        '    E = lambda f: sum(integrate.quad(lambda x: f(phi(mu + sd * x)) * density(x) if density(x) > 0 else 0.0, a, b, epsabs=0, epsrel=1e-13, limit=400)[0] for a, b in pieces)',
        '    m = E(lambda y: y)',
        '    v = E(lambda y: (y - m) ** 2)',
        `    out[${k}].append([m, v, E(lambda y: (y - m) ** 3)])`,
      ]),
      'print(json.dumps(out))',
    ].join('\n');
    writeFileSync(join(dir, 'scipy_moments.py'), script);
    const moments = JSON.parse(run(numpy.python!, [join(dir, 'scipy_moments.py')]));
    CASES.forEach((c, k) => {
      const r = references.get(c.name)!.post;
      const want = [r.order(1)![0], r.order(2)![0], ...(c.order >= 3 ? [r.order(3)![0]] : [])];
      const [whole, cut] = moments[k];
      want.forEach((w, m) => {
        const off = Math.abs(whole[m] - w) / Math.abs(w);
        const missed = Math.abs(cut[m] - whole[m]) / Math.abs(whole[m]);
        console.log(`${c.source}, unit 1 (sd ${SD[0]}), moment ${m + 1}: reference vs SciPy ${off.toExponential(2)}; ±13 misses ${missed.toExponential(2)}`);
        expect(off, `${c.source} moment ${m + 1}`).toBeLessThanOrEqual(1e-9);
        if (m > 0) expect(missed, `${c.source} moment ${m + 1} on ±13`).toBeGreaterThan(1e-7);
      });
    });
  });

  it.skipIf(!numpy.python)(`NumPy reproduces the reference; with the range fixed at ±13 it does not${numpy.python ? '' : ` — skipped: ${numpy.reason}`}`, () => {
    const results = runPythonJobs(numpy.python!, dir, [...pythonJobs('numpy', 'now'), ...pythonJobs('numpy', 'fixed', FIXED_PYTHON)]).map(fromPython);
    expectAgreement('numpy', results.slice(0, CASES.length), true);
    expectAgreement('numpy ±13', results.slice(CASES.length), false);
  });

  it.skipIf(!torch.python)(`PyTorch reproduces it${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
    expectAgreement('torch', runPythonJobs(torch.python!, dir, pythonJobs('torch', 'now')).map(fromPython), true);
  });

  it.skipIf(!hasGcc())('C99 compiles with gcc -std=c99 -Wall -Werror and reproduces it; with the range fixed at ±13 it does not', () => {
    const jobs = (edit?: (text: string) => string) => CASES.map((c): CJob => ({ plan: plans.get(c.name)!, input, edit }));
    expectAgreement('c', runCJobs(dir, 'range', jobs()).map(fromC), true);
    expectAgreement('c ±13', runCJobs(dir, 'fixed', jobs(FIXED_C)).map(fromC), false);
  });

  it.skipIf(!numpy.python || !hasGcc())('where φ overflows float64 on the scanned grid (standard deviation 19) corrmap refuses, and so does the emitted code; with the range fixed at ±13 it returned a finite variance (negative control)', () => {
    const c = CASES[1];
    const sd = [19, 3, 2.5];
    const wide = new Cumulants(3, [undefined, Float64Array.from(MEAN), Float64Array.from(RHO, (r, e) => sd[Math.floor(e / 3)] * sd[e % 3] * r)]);
    expect(() => gaussianLayer(activationOf(parseActivation(c.source)), wide, 2)).toThrow(/overflows float64/);
    const job = (tag: string, edit?: (text: string) => string) => {
      const module = `${tag}_overflow`;
      const [file] = emitActivation(plans.get(c.name)!, 'numpy', 'corrmap emit');
      writeFileSync(join(dir, `${module}.py`), edit ? edit(file.text) : file.text);
      return [{ module, args: { mean: MEAN, cov: nestedArray(wide.order(2)!, 3, 2) } }];
    };
    expect(() => runPythonJobs(numpy.python!, dir, job('now'))).toThrow(/FloatingPointError: E\[phi\(z\)\^2\] of relu\(z\) \+ sinh\(z\) is not finite/);
    expect(() => runCJobs(dir, 'overflow', [{ plan: plans.get(c.name)!, input: wide }])).toThrow(/failed \(1\)/);
    const [old] = runPythonJobs(numpy.python!, dir, job('fixed', FIXED_PYTHON));
    expect(Math.min(...(old.cov as number[][]).map((row, i) => row[i])), 'a finite variance, silently').toBeGreaterThan(0);
    expect(Number.isFinite(old.cov[0][0])).toBe(true);
  });

  it.skipIf(!hasGcc())('C99 of the mean alone of a kinked φ with a closed form (no quadrature used) compiles with -Wall -Werror and agrees', () => {
    const sources = ['relu(z)', 'heaviside(z - 0.2)'];
    const out = runCJobs(dir, 'mean', sources.map((s): CJob => ({ plan: planActivation(parseActivation(s), 1) as GaussianPlan, input })));
    sources.forEach((s, k) => {
      const want = gaussianLayer(activationOf(parseActivation(s)), input, 1).post.mean;
      const error = Math.max(...Array.from(want, (w, i) => Math.abs(out[k].tensors[0][i] - w))) / maxAbs(want);
      expect(error, s).toBeLessThanOrEqual(1e-10);
    });
  });
});
