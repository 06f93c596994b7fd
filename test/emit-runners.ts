/**
 * Running emitted code in the tests: the Python interpreter that has a module (CORRMAP_PYTHON, else
 * the first of python3, /usr/bin/python3 that imports it), one Python process for a batch of emitted
 * modules, a JAX stand-in (jax.numpy bound to NumPy, jax.scipy.special to SciPy, only names JAX has),
 * and gcc.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { propagateReference } from '../numeric/network.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { ORDER_KEYS, networkFromJson } from '../src/io.ts';
import { maxAbs } from './helpers.ts';
import { CPrinter } from '../symbolic/print/c.ts';
import { cActivationFiles } from '../src/emit/c.ts';
import type { GaussianPlan } from '../src/emit/activation.ts';

/** The first interpreter that imports every module, or undefined with the reason. */
export function pythonWith(modules: readonly string[]): { python?: string; reason: string } {
  const candidates = process.env.CORRMAP_PYTHON ? [process.env.CORRMAP_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    if (r.status === 0) return { python, reason: '' };
  }
  return { reason: `no interpreter among ${candidates.join(', ')} imports ${modules.join(', ')}` };
}

export function hasGcc(): boolean {
  return spawnSync('gcc', ['--version']).status === 0;
}

const DRIVER = `import importlib, json, sys
sys.path.insert(0, sys.argv[1])
def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v.tolist() if hasattr(v, 'tolist') else v
out = []
with open(sys.argv[2]) as f:
    jobs = json.load(f)
for job in jobs:
    module = importlib.import_module(job['module'])
    if 'stats' in job:
        out.append(module.as_json(module.propagate(job['stats'])))
    else:
        out.append(plain(module.cumulants(**job['args'])))
print(json.dumps(out))
`;

/** Names of jax.numpy and jax.scipy.special that the stand-in provides: each exists in JAX. */
export const JAX_NUMPY_NAMES = [
  'abs', 'all', 'arcsin', 'arctan', 'asarray', 'concatenate', 'cos', 'cosh', 'diag', 'diagonal', 'e', 'einsum', 'exp', 'expm1', 'eye', 'float64', 'isfinite', 'log', 'log1p',
  'max', 'maximum', 'minimum', 'moveaxis', 'pi', 'sign', 'sin', 'sinh', 'sqrt', 'tan', 'tanh', 'tensordot', 'where', 'zeros',
];
export const JAX_SPECIAL_NAMES = ['erf', 'erfc', 'ndtr', 'expit'];

/** A package `jax` in dir whose numpy and scipy.special are NumPy's and SciPy's functions of the same names. */
export function fakeJax(dir: string): string {
  const root = join(dir, 'fakejax');
  mkdirSync(join(root, 'jax', 'scipy', 'special'), { recursive: true });
  writeFileSync(
    join(root, 'jax', '__init__.py'),
    'from . import numpy, scipy\nclass _Config:\n    def update(self, name, value):\n        assert name == "jax_enable_x64"\nconfig = _Config()\n',
  );
  writeFileSync(join(root, 'jax', 'numpy.py'), `import numpy as _np\n${JAX_NUMPY_NAMES.map((n) => `${n} = _np.${n}`).join('\n')}\n`);
  writeFileSync(join(root, 'jax', 'scipy', '__init__.py'), 'from . import special\n');
  writeFileSync(join(root, 'jax', 'scipy', 'special', '__init__.py'), `from scipy.special import ${JAX_SPECIAL_NAMES.join(', ')}\n`);
  return root;
}

/** Run cumulants(**args) of each module (files dir/<module>.py), or a network module's propagate(stats), in one process. */
export function runPythonJobs(
  python: string,
  dir: string,
  jobs: ReadonlyArray<{ module: string; args: Record<string, unknown> } | { module: string; stats: unknown }>,
  pythonPath?: string,
): any[] {
  writeFileSync(join(dir, 'driver.py'), DRIVER);
  writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs));
  const env = { ...process.env, ...(pythonPath ? { PYTHONPATH: pythonPath } : {}) };
  const r = spawnSync(python, [join(dir, 'driver.py'), dir, join(dir, 'jobs.json')], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Run a command; throw with its stderr when it fails. */
export function run(command: string, args: readonly string[], options: { cwd?: string } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return r.stdout;
}

/** Input statistics as a stats file holds them: nested arrays. */
export interface StatsJson {
  readonly mean: readonly number[];
  readonly cov: readonly (readonly number[])[];
  readonly k3?: unknown;
  readonly k4?: unknown;
}

/** corrmap's reference propagation as flat tensors per layer, pre and post. */
export function referenceLayers(json: unknown, input: StatsJson, K: number, n: number) {
  const network = networkFromJson(json, 'network');
  const flat = (t: unknown) => Float64Array.from([t].flat(Infinity) as number[]);
  const tensors: (Float64Array | undefined)[] = [undefined, flat(input.mean), flat(input.cov)];
  if (input.k3 !== undefined) tensors.push(flat(input.k3), input.k4 === undefined ? undefined : flat(input.k4));
  return { network, layers: propagateReference(network, new Cumulants(input.mean.length, tensors), { inputOrder: K, outputOrder: n }) };
}

/** Each layer's printed pre- and post-activation cumulants of orders 1…n against the reference, relative to its largest entry. */
export function compareLayers(label: string, printed: any, expected: ReturnType<typeof referenceLayers>, n: number, allowed: (l: number) => number) {
  expect(printed.layers.length).toBe(expected.layers.length);
  expected.layers.forEach((layer, l) => {
    for (const side of ['pre', 'post'] as const)
      for (let r = 1; r <= n; r++) {
        const want = layer[side].order(r) ?? new Float64Array(layer[side].size ** r);
        const got = [printed.layers[l][side][ORDER_KEYS[r]]].flat(Infinity) as number[];
        expect(got.length).toBe(want.length);
        let worst = 0;
        for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(got[e] - want[e]));
        expect(worst / Math.max(maxAbs(want), 1e-300), `${label} layer ${l + 1} ${side} order ${r}`).toBeLessThanOrEqual(allowed(l));
      }
  });
}

/** A general layer may differ by the errors its code states (quadrature; tanh's 160-node rule), summed over the layers so far. */
export const statedBound = (printed: any) => (l: number) => {
  const s = printed.layers.slice(0, l + 1).map((x: any) => (x.series ? x.series.quadrature.mean + (x.series.quadrature.cov ?? 0) : 0));
  return 1e-10 + 10 * s.reduce((a: number, b: number) => a + b, 0);
};

/** One general activation's C99 function run on one Gaussian input: `edit` rewrites its source first. */
export interface CJob {
  readonly plan: GaussianPlan;
  readonly input: Cumulants;
  readonly edit?: (text: string) => string;
}

/**
 * The C99 functions of `jobs` compiled with gcc -std=c99 -Wall -Werror into one program and run: per
 * job its outputs of orders 1…order (flat, row-major) and its series array. Jobs with the same plan
 * and edit share one function.
 */
export function runCJobs(dir: string, tag: string, jobs: readonly CJob[]): Array<{ tensors: number[][]; series: number[] }> {
  const driver = ['#include <stdio.h>'];
  const sources: string[] = [];
  const calls: string[] = [];
  const functions = new Map<GaussianPlan, Map<CJob['edit'], string>>();
  jobs.forEach(({ plan, input, edit }, k) => {
    const n = input.size;
    if (!functions.has(plan)) functions.set(plan, new Map());
    let fn = functions.get(plan)!.get(edit);
    if (!fn) {
      fn = `${tag}_${sources.length}`;
      functions.get(plan)!.set(edit, fn);
      const [h, c] = cActivationFiles(plan, new CPrinter(), ['test'], `${fn}.h`, fn);
      writeFileSync(join(dir, `${fn}.h`), h.text);
      writeFileSync(join(dir, `${fn}.c`), edit ? edit(c.text) : c.text);
      sources.push(`${fn}.c`);
      const outs = Array.from({ length: plan.order }, (_, m) => `double *out${m + 1}`);
      driver.push(`int ${fn}(${[...outs, 'double *series', 'int n', 'const double *in1', 'const double *in2'].join(', ')});`);
    }
    driver.push(
      `static const double ${tag}_in1_${k}[${n}] = {${Array.from(input.mean).join(', ')}};`,
      `static const double ${tag}_in2_${k}[${n * n}] = {${Array.from(input.order(2)!).join(', ')}};`,
    );
    calls.push('  {', ...Array.from({ length: plan.order }, (_, m) => `    static double o${m + 1}[${n ** (m + 1)}];`), '    double s[7];');
    calls.push(`    if (${fn}(${[...Array.from({ length: plan.order }, (_, m) => `o${m + 1}`), 's', String(n), `${tag}_in1_${k}`, `${tag}_in2_${k}`].join(', ')}) != 0) return 1;`);
    calls.push(`    printf("%s{\\"tensors\\":[", ${k} ? "," : "");`);
    for (let m = 1; m <= plan.order; m++)
      calls.push(`    printf("%s[", ${m > 1 ? '","' : '""'});`, `    for (int e = 0; e < ${n ** m}; e++) printf("%s%.17g", e ? "," : "", o${m}[e]);`, '    printf("]");');
    calls.push('    printf("],\\"series\\":[");', '    for (int e = 0; e < 7; e++) printf("%s%.17g", e ? "," : "", s[e]);', '    printf("]}");', '  }');
  });
  driver.push('int main(void) {', '  printf("[");', ...calls, '  printf("]\\n");', '  return 0;', '}');
  writeFileSync(join(dir, `${tag}_driver.c`), driver.join('\n'));
  run('gcc', ['-std=c99', '-Wall', '-Werror', `${tag}_driver.c`, ...sources, '-lm', '-o', `${tag}_driver`], { cwd: dir });
  return JSON.parse(run(join(dir, `${tag}_driver`), []));
}
