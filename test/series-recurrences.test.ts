/**
 * The series recurrences written once (symbolic/series-recurrences.ts): the float64 arithmetic
 * compiled from them agrees with finite differences of known functions and with identities between
 * functions to high order, a deliberately broken spec fails both checks, and the helpers printed for
 * Python (NumPy, PyTorch) and C, executed, reproduce the float64 ones.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../numeric/random.ts';
import { compileSeriesHelpers } from '../numeric/series-arithmetic.ts';
import { cSeriesHelpers, pythonSeriesHelpers } from '../src/emit/series-runtime.ts';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { richardsonSlope } from '../symbolic/derivation.ts';
import { NumPyPrinter, TorchPrinter, type NumPyPrinter as PythonPrinter } from '../symbolic/print/python.ts';
import { SERIES_HELPERS, isComposite, type SeriesHelper } from '../symbolic/series-recurrences.ts';
import { hasGcc, pythonWith, run } from './emit-runners.ts';
import { maxAbs } from './helpers.ts';

type S = Float64Array;
type Helpers = Readonly<Record<string, (...args: any[]) => any>>;

const compiled = (helpers?: readonly SeriesHelper[]) => compileSeriesHelpers(helpers) as unknown as Helpers;
const SPEC = compiled();

/** The spec with exp's divisor k + 1 for k and the sign of cos′ flipped: two wrong recurrences. */
const BROKEN: readonly SeriesHelper[] = SERIES_HELPERS.map((h) => {
  if (isComposite(h)) return h;
  if (h.name === 'exp') return { ...h, outputs: [{ ...h.outputs[0], divisor: 'k + 1' }] };
  if (h.name === 'sincos') return { ...h, outputs: [h.outputs[0], { ...h.outputs[1], sum: { ...h.outputs[1].sum!, term: 'j * a(j) * s(k - j)' } }] };
  return h;
});

/** Series of known functions of x0 + t, built from the helpers, with the function itself. */
function knownFunctions(h: Helpers, K: number): { name: string; x0: number; f: (x: number) => number; series: (x: number) => S }[] {
  const x = (x0: number): S => h.var(x0, 1, K + 1);
  const one = h.const(1, 0, K + 1);
  const phi = (a: S) => h.scale(h.exp(h.scale(h.mul(a, a), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return [
    { name: 'exp', x0: 0.3, f: Math.exp, series: (x0) => h.exp(x(x0)) },
    { name: 'log', x0: 0.7, f: Math.log, series: (x0) => h.log(x(x0)) },
    { name: 'sqrt', x0: 1.3, f: Math.sqrt, series: (x0) => h.pow(x(x0), 0.5) },
    { name: 'x^1.7', x0: 0.9, f: (v) => v ** 1.7, series: (x0) => h.pow(x(x0), 1.7) },
    { name: '1/(1 + x^2)', x0: -0.4, f: (v) => 1 / (1 + v * v), series: (x0) => h.div(one, h.shift(h.mul(x(x0), x(x0)), 1)) },
    { name: 'sin', x0: 0.8, f: Math.sin, series: (x0) => h.sin(x(x0)) },
    { name: 'cos', x0: -2.1, f: Math.cos, series: (x0) => h.cos(x(x0)) },
    { name: 'tanh', x0: 0.4, f: Math.tanh, series: (x0) => h.tanh(x(x0)) },
    { name: 'tanh at a negative point', x0: -1.3, f: Math.tanh, series: (x0) => h.tanh(x(x0)) },
    { name: 'Phi (integrated from phi)', x0: 0.6, f: FLOAT64_FUNCTIONS.Phi, series: (x0) => h.integrate(FLOAT64_FUNCTIONS.Phi(x0), phi(x(x0)), x(x0)) },
  ];
}

/**
 * The worst relative disagreement, over the known functions and k < K, of c_0 with f(x0), c_1 with
 * the Richardson slope of f and (k + 1) c_{k+1} with the Richardson slope of c_k as a function of x0
 * (c_k = f^{(k)}/k!, so d c_k/dx0 = (k + 1) c_{k+1}).
 */
function finiteDifferenceErrors(h: Helpers, K: number): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const { name, x0, f, series } of knownFunctions(h, K)) {
    const c = series(x0);
    const relative = (got: number, want: number) => Math.abs(got - want) / Math.max(1, Math.abs(want));
    let worst = Math.max(relative(c[0], f(x0)), relative(c[1], richardsonSlope(f, x0, 1e-3)));
    for (let k = 1; k < K; k++) worst = Math.max(worst, relative((k + 1) * c[k + 1], richardsonSlope((v) => series(v)[k], x0, 1e-3)));
    errors[name] = worst;
  }
  return errors;
}

/** A series a_0 + Σ a_k t^k with a_0 in ±[0.3, 1.8] (positive where asked) and a_k of size 0.6^k. */
function randomSeries(rng: Random, K: number, positive: boolean): S {
  const a = new Float64Array(K + 1);
  a[0] = (0.3 + 1.5 * rng.uniform()) * (positive || rng.uniform() < 0.5 ? 1 : -1);
  for (let k = 1; k <= K; k++) a[k] = (2 * rng.uniform() - 1) * 0.6 ** k;
  return a;
}

/** The worst disagreement of each identity between series over random arguments, relative to the right side's largest coefficient. */
function identityErrors(h: Helpers, K: number, seed: number): Record<string, number> {
  const rng = new Random(seed);
  const errors: Record<string, number> = {};
  const note = (name: string, left: S, right: S) => {
    let worst = 0;
    for (let k = 0; k < right.length; k++) worst = Math.max(worst, Math.abs(left[k] - right[k]));
    errors[name] = Math.max(errors[name] ?? 0, worst / Math.max(1, maxAbs(right)));
  };
  const derivative = (s: S) => s.slice(1).map((v, k) => (k + 1) * v);
  for (let trial = 0; trial < 20; trial++) {
    const a = randomSeries(rng, K, false);
    const b = randomSeries(rng, K, false);
    const positive = randomSeries(rng, K, true);
    const one = h.const(1, 0, K + 1);
    note('exp(log a) = a', h.exp(h.log(positive)), positive);
    note('sin² + cos² = 1', h.add(h.mul(h.sin(a), h.sin(a)), h.mul(h.cos(a), h.cos(a))), one);
    const [s, c] = h.sincos(a);
    note('sincos = (sin, cos)', h.add(s, h.scale(c, 1e-3)), h.add(h.sin(a), h.scale(h.cos(a), 1e-3)));
    note('(a / b) b = a', h.mul(h.div(a, b), b), a);
    for (const p of [0.5, -1.3, 2.7]) note(`a^p = exp(p log a), p = ${p}`, h.pow(positive, p), h.exp(h.scale(h.log(positive), p)));
    const t = h.tanh(a);
    note("tanh' = (1 − tanh²) a'", derivative(t), h.mul(h.shift(h.scale(h.mul(t, t), -1), 1).subarray(0, K), derivative(a)));
    note('tanh(−a) = −tanh(a)', h.tanh(h.scale(a, -1)), h.scale(t, -1));
    note("F' = exp(a) a' integrates to exp(a)", h.integrate(Math.exp(a[0]), h.exp(a), a), h.exp(a));
    note('a + (b − a) = b', h.add(a, h.add(b, h.scale(a, -1))), b);
  }
  return errors;
}

describe('the series recurrences compiled to float64', () => {
  it('agree with Richardson finite differences of known functions, coefficient by coefficient', () => {
    for (const [name, error] of Object.entries(finiteDifferenceErrors(SPEC, 6))) expect(error, name).toBeLessThan(1e-9);
  });

  it('satisfy identities between functions to order 30', () => {
    for (const [name, error] of Object.entries(identityErrors(SPEC, 30, 11))) expect(error, name).toBeLessThan(1e-12);
  });

  it('tanh has no overflow far from 0 (the odd, e^(−2|a|) form)', () => {
    for (const x0 of [40, -40, 400]) {
      const t = SPEC.tanh(SPEC.var(x0, 1, 9)) as S;
      expect(t[0]).toBe(Math.tanh(x0));
      // tanh′ = 1 − tanh² underflows to 0 here: every higher coefficient is tiny and finite.
      for (let k = 1; k < t.length; k++) expect(Math.abs(t[k])).toBeLessThan(1e-30);
    }
  });

  it('a spec with a wrong divisor in exp and a wrong sign in cos′ fails both checks (negative control)', () => {
    const broken = compiled(BROKEN);
    const differences = finiteDifferenceErrors(broken, 6);
    expect(differences.exp).toBeGreaterThan(1e-2);
    expect(differences.sin).toBeGreaterThan(1e-2);
    const identities = identityErrors(broken, 30, 11);
    expect(identities['exp(log a) = a']).toBeGreaterThan(1e-2);
    expect(identities['sin² + cos² = 1']).toBeGreaterThan(1e-2);
    // The recurrences left intact still pass.
    expect(identities['(a / b) b = a']).toBeLessThan(1e-12);
  });
});

/** One call of every helper on random arguments: the arguments' kinds (series of units, per-unit values, numbers) and values. */
interface Case {
  readonly helper: string;
  readonly kinds: readonly ('series' | 'units' | 'number')[];
  /** Per unit: the arguments as the float64 helpers take them. */
  readonly units: readonly (readonly (S | number)[])[];
}

const N = 9;
const UNITS = 3;

function cases(): Case[] {
  const rng = new Random(5);
  const make = (helper: string, kinds: Case['kinds'], draw: (unit: number) => (S | number)[]): Case => ({ helper, kinds, units: Array.from({ length: UNITS }, (_, u) => draw(u)) });
  const series = (positive = false) => randomSeries(rng, N - 1, positive);
  const shared = { p: 1.7, c: -0.35, v: 2.5 };
  return [
    make('var', ['units', 'number'], () => [rng.normal(), 0.8]),
    make('const', ['number', 'units'], () => [shared.v, rng.normal()]),
    make('add', ['series', 'series'], () => [series(), series()]),
    make('shift', ['series', 'number'], () => [series(), shared.c]),
    make('scale', ['series', 'units'], () => [series(), rng.normal()]),
    make('mul', ['series', 'series'], () => [series(), series()]),
    make('div', ['series', 'series'], () => [series(), series()]),
    make('integrate', ['units', 'series', 'series'], () => [rng.normal(), series(), series()]),
    make('exp', ['series'], () => [series()]),
    make('log', ['series'], () => [series(true)]),
    make('pow', ['series', 'number'], () => [series(true), shared.p]),
    make('sincos', ['series'], () => [series()]),
    make('sin', ['series'], () => [series()]),
    make('cos', ['series'], () => [series()]),
    // Units of both signs: tanh's reflection is taken per unit.
    make('tanh', ['series'], (u) => [((a) => (a[0] = [-0.7, 0.4, -3][u], a))(series())]),
  ];
}

/** The float64 result of a case per unit: its outputs' coefficients. */
const reference = (c: Case) => c.units.map((args) => [SPEC[c.helper](...args, ...(c.kinds.includes('series') ? [] : [N]))].flat() as S[]);

/** The worst difference of emitted results ([case][unit][output][k]) from float64, relative to each output's largest coefficient. */
function worstDifference(all: Case[], emitted: readonly (readonly (readonly ArrayLike<number>[])[])[]): number {
  let worst = 0;
  all.forEach((c, i) =>
    reference(c).forEach((outputs, u) =>
      outputs.forEach((want, o) => {
        const got = emitted[i][u][o];
        expect(got.length, `${c.helper}: the number of coefficients`).toBe(N);
        for (let k = 0; k < N; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]) / Math.max(1e-300, maxAbs(want)));
      }),
    ),
  );
  return worst;
}

function runPython(python: string, p: PythonPrinter, all: Case[]): number[][][][] {
  const dir = mkdtempSync(join(tmpdir(), 'corrmap-series-'));
  const asArray = p.api.asarray('x');
  const program = [
    'import json, sys',
    ...p.api.imports,
    '',
    ...pythonSeriesHelpers(SERIES_HELPERS.map((h) => h.name), p),
    `def array(x):`,
    `    return ${asArray}`,
    'def plain(c):',
    '    return c.tolist() if hasattr(c, "tolist") else c',
    'out = []',
    'for case in json.load(open(sys.argv[1])):',
    "    args = [[array(c) for c in a] if kind == 'series' else array(a) if kind == 'units' else a for kind, a in zip(case['kinds'], case['args'])]",
    "    if 'series' not in case['kinds']:",
    `        args.append(${N})`,
    "    r = globals()['_s_' + case['helper']](*args)",
    '    outputs = r if isinstance(r, tuple) else (r,)',
    '    out.append([[plain(s) for s in o] for o in outputs])',
    'print(json.dumps(out))',
  ];
  writeFileSync(join(dir, 'series.py'), program.join('\n'));
  // Coefficient k of a series argument is an array over the units.
  const json = all.map((c) => ({
    helper: c.helper,
    kinds: c.kinds,
    args: c.kinds.map((kind, a) =>
      kind === 'number' ? c.units[0][a] : kind === 'units' ? c.units.map((u) => u[a]) : Array.from({ length: N }, (_, k) => c.units.map((u) => (u[a] as S)[k])),
    ),
  }));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(json));
  const result: number[][][] [] = JSON.parse(run(python, [join(dir, 'series.py'), join(dir, 'cases.json')]));
  // [case][output][k][unit] → [case][unit][output][k]; a coefficient that is not an array of the units fails here.
  return result.map((outputs) =>
    Array.from({ length: UNITS }, (_, u) =>
      outputs.map((o) =>
        o.map((coefficient) => {
          if (!Array.isArray(coefficient) || coefficient.length !== UNITS) throw new Error(`a coefficient is not an array over the units: ${JSON.stringify(coefficient)}`);
          return coefficient[u];
        }),
      ),
    ),
  );
}

function runC(all: Case[]): number[][][][] {
  const dir = mkdtempSync(join(tmpdir(), 'corrmap-series-'));
  const doubles = (s: ArrayLike<number>) => `{${Array.from(s, (v) => v.toPrecision(17)).join(', ')}}`;
  const outputs = (h: string) => (h === 'sincos' ? ['s', 'c'] : ['out']);
  const body: string[] = [];
  for (const c of all)
    for (const unit of c.units) {
      const args = unit.map((v, a) => (c.kinds[a] === 'series' ? `(const double[${N}])${doubles(v as S)}` : (v as number).toPrecision(17)));
      body.push(
        '  {',
        `    double ${outputs(c.helper).map((o) => `${o}[${N}]`).join(', ')};`,
        `    s_${c.helper}(${N}, ${[...args, ...outputs(c.helper)].join(', ')});`,
        ...outputs(c.helper).map((o) => `    for (int k = 0; k < ${N}; k++) printf("%.17g%c", ${o}[k], k + 1 < ${N} ? ' ' : '\\n');`),
        '  }',
      );
    }
  const source = ['#include <math.h>', '#include <stdio.h>', '', ...cSeriesHelpers(SERIES_HELPERS.map((h) => h.name)), 'int main(void) {', ...body, '  return 0;', '}'];
  writeFileSync(join(dir, 'series.c'), source.join('\n'));
  run('gcc', ['-std=c99', '-Wall', '-Werror', '-O2', '-o', join(dir, 'series'), join(dir, 'series.c'), '-lm']);
  const lines = run(join(dir, 'series'), []).trim().split('\n').map((l) => l.split(' ').map(Number));
  let next = 0;
  return all.map((c) => c.units.map(() => outputs(c.helper).map(() => lines[next++])));
}

describe('the emitted series helpers, executed', () => {
  const all = cases();
  const numpy = pythonWith(['numpy', 'scipy']);
  it.skipIf(!numpy.python)(`NumPy reproduces the float64 helpers${numpy.reason ? ` (${numpy.reason})` : ''}`, () => {
    expect(worstDifference(all, runPython(numpy.python!, new NumPyPrinter(), all))).toBeLessThan(1e-14);
  });
  const torch = pythonWith(['torch']);
  it.skipIf(!torch.python)(`PyTorch reproduces the float64 helpers${torch.reason ? ` (${torch.reason})` : ''}`, () => {
    expect(worstDifference(all, runPython(torch.python!, new TorchPrinter(), all))).toBeLessThan(1e-14);
  });
  it.skipIf(!hasGcc())('C (gcc -std=c99 -Wall -Werror) reproduces the float64 helpers', () => {
    expect(worstDifference(all, runC(all))).toBeLessThan(1e-14);
  });
  it('a wrong result is caught (negative control)', () => {
    const exact = all.map((c) => reference(c));
    exact[9][1][0][4] *= 1 + 1e-9;
    expect(worstDifference(all, exact)).toBeGreaterThan(1e-10);
  });
});
