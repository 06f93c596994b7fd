/**
 * The one tree walk (symbolic/ir/fold.ts) against every target on random trees: code printed for
 * Julia and C and read back by mathjs, and JavaScript compiled and run, give the float64 value;
 * LaTeX renders through KaTeX; tfjs kernels (cpu, float32) agree to float32 rounding; Taylor-mode
 * series give the value as coefficient 0 and the slope (a Richardson-extrapolated central
 * difference) as coefficient 1. Negative controls: one wrong entry in a target's table is caught.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import katex from 'katex';
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { parse, type MathNode } from '../symbolic/math.ts';
import { richardsonSlope } from '../symbolic/derivation.ts';
import { CPrinter } from '../symbolic/print/c.ts';
import { JuliaPrinter } from '../symbolic/print/julia.ts';
import { LatexPrinter } from '../symbolic/print/latex.ts';
import { compileScalar } from '../symbolic/print/js.ts';
import type { CodePrinter, FunctionTable } from '../symbolic/print/code.ts';
import { tf, useBackend } from '../numeric/backend.ts';
import { compileTree, type TensorFunction } from '../numeric/tfjs-emitter.ts';
import { float64Series, walkSeries, type SeriesAlgebra, type Series } from '../numeric/taylorseries.ts';
import { isConstantTree } from '../symbolic/ir/fold.ts';

const POINTS = [-1.3, -0.45, 0.2, 0.85, 1.6];
const SCOPE = { ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS };

/** Smooth functions with Taylor arithmetic. */
const SMOOTH = ['exp', 'sin', 'cos', 'tanh', 'erf', 'erfc', 'Phi', 'phi', 'sigmoid', 'softplus', 'gelu', 'silu', 'sinh', 'cosh', 'expm1', 'log1p'];
/** Functions without (atan, asin) or with kinks in their Taylor arithmetic: value targets only. */
const OTHERS = ['atan', 'softsign', 'elu', 'abs', 'relu', 'heaviside', 'sign', 'hardtanh'];

/** Trees in z: sums, differences, negations, products, quotients, powers (constant and general), calls, constant sub-trees. */
const treesOf = (functions: readonly string[]) => fc.letrec<{ tree: string }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant('z'),
    fc.integer({ min: -12, max: 12 }).map((k) => String(k / 4)),
    fc.constantFrom('pi', 'sqrt(2 * pi)', 'Phi(0.3)', 'exp(-1) / 3', '-(1 - e)'),
    fc.tuple(tie('tree'), fc.constantFrom('+', '-', '*'), tie('tree')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie('tree'), tie('tree')).map(([a, b]) => `(${a}) / (1.5 + (${b})^2)`),
    tie('tree').map((a) => `-(${a})`),
    fc.tuple(tie('tree'), fc.constantFrom('2', '3')).map(([a, p]) => `(${a})^${p}`),
    fc.tuple(tie('tree'), fc.constantFrom('0.5 * 3', '-1', '0.5', '-2.5')).map(([a, p]) => `(1 + tanh(${a})^2)^(${p})`),
    fc.tuple(tie('tree'), tie('tree')).map(([a, b]) => `(1.2 + sin(${a}))^(cos(${b}))`),
    fc.tuple(fc.constantFrom(...functions), tie('tree')).map(([f, a]) => `${f}(${a})`),
  ),
})).tree;

/** The float64 value by mathjs itself, the reference for every target. */
const reference = (node: MathNode) => {
  const f = node.compile();
  return (z: number) => Number(f.evaluate({ ...SCOPE, z }));
};
/**
 * Trees of moderate value and slope at every point, resolved by finite differences (two steps agree),
 * so float32 and the difference quotient are meaningful: sin of a huge argument is neither.
 */
const usable = (node: MathNode) => {
  const f = reference(node);
  return POINTS.every((z) => {
    const [coarse, fine] = [1e-3, 1e-4].map((h) => richardsonSlope(f, z, h));
    return Math.abs(f(z)) < 1e3 && Math.abs(fine) < 1e3 && close(coarse, fine, 1e-4);
  });
};

const close = (got: number, want: number, tolerance: number) => Math.abs(got - want) <= tolerance * (1 + Math.abs(want));

/** Code printed for a target, read back by mathjs with the target's names bound: undefined, or the first disagreement. */
function readBack(p: CodePrinter, names: Readonly<Record<string, unknown>>, node: MathNode): string | undefined {
  const text = p.code(node, { z: 'z' });
  // Julia's MathConstants.e is e; C's cast (double)(c) becomes a call.
  const back = parse(text.replace(/MathConstants\.e/g, 'e').replace(/\(double\)/g, 'double')).compile();
  const f = reference(node);
  for (const z of POINTS) {
    const got = Number(back.evaluate({ ...SCOPE, ...names, z }));
    if (!close(got, f(z), 1e-10)) return `${p.target} ${text} at z = ${z}: ${got} vs ${f(z)}`;
  }
  return undefined;
}
const C_NAMES = { fabs: Math.abs, fmax: Math.max, fmin: Math.min, double: Number };
const JULIA_NAMES = { ifelse: (c: boolean, a: number, b: number) => (c ? a : b) };

function runJs(node: MathNode): string | undefined {
  const g = compileScalar(node, ['z']);
  const f = reference(node);
  for (const z of POINTS) if (!close(g(z), f(z), 1e-12)) return `JavaScript at z = ${z}: ${g(z)} vs ${f(z)}`;
  return undefined;
}

/** tfjs float32 kernel: to a tolerance of float32 rounding amplified by the slope (the input itself is rounded). */
function runTfjs(node: MathNode, overlay: Readonly<Record<string, TensorFunction>> = {}): string | undefined {
  const f = reference(node);
  const got = tf.tidy(() => Array.from(compileTree(node, ['z'], overlay)(tf.tensor1d(POINTS)).dataSync()));
  for (const [k, z] of POINTS.entries()) {
    const slope = richardsonSlope(f, z, 1e-3);
    const tolerance = 1e-4 * (1 + Math.abs(f(z)) + Math.abs(slope) * (1 + Math.abs(z)));
    if (!(Math.abs(got[k] - f(z)) <= tolerance)) return `tfjs at z = ${z}: ${got[k]} vs ${f(z)}`;
  }
  return undefined;
}

function runSeries(node: MathNode, algebra: SeriesAlgebra<Series> = float64Series(1)): string | undefined {
  const f = reference(node);
  for (const z of POINTS) {
    const [c0, c1] = walkSeries(node, (name) => (name === 'z' ? Float64Array.of(z, 1) : undefined), algebra);
    if (!close(c0, f(z), 1e-11)) return `series value at z = ${z}: ${c0} vs ${f(z)}`;
    // The difference is good to O(h⁴ f⁽⁵⁾) + O(ε/h): it must agree at one of a sweep of steps.
    const slopes = [1e-2, 1e-3, 1e-4, 1e-5].map((h) => richardsonSlope(f, z, h));
    if (!slopes.some((slope) => close(c1, slope, 1e-6))) return `series slope at z = ${z}: ${c1} vs ${slopes.join(', ')}`;
  }
  return undefined;
}

/** A printer whose table has one wrong entry. */
class WrongJulia extends JuliaPrinter {
  protected override readonly functions: FunctionTable = { ...new JuliaPrinter()['functions'], tanh: ([x]) => `sinh(${x})` };
}

/** Every target on random trees of `functions`; the number of trees checked (constant or ill-conditioned ones are skipped). */
async function checkRandomTrees(functions: readonly string[], series: boolean, numRuns: number, seed: number): Promise<number> {
  await useBackend('cpu');
  const julia = new JuliaPrinter();
  const c = new CPrinter();
  const latex = new LatexPrinter();
  let checked = 0;
  fc.assert(
    fc.property(treesOf(functions), (text) => {
      const node = parse(text);
      if (isConstantTree(node) || !usable(node)) return;
      checked++;
      expect(readBack(julia, JULIA_NAMES, node)).toBeUndefined();
      expect(readBack(c, C_NAMES, node)).toBeUndefined();
      expect(runJs(node)).toBeUndefined();
      expect(katex.renderToString(latex.expression(node), { throwOnError: true })).toContain('katex');
      expect(runTfjs(node)).toBeUndefined();
      if (series) expect(runSeries(node)).toBeUndefined();
    }),
    { numRuns, seed },
  );
  return checked;
}

describe('one tree walk, every target', () => {
  it('random trees: Julia and C read back, JavaScript run, LaTeX rendered, tfjs float32, series value and slope', async () => {
    expect(await checkRandomTrees(SMOOTH, true, 150, 20261202)).toBeGreaterThan(60);
  });

  it('random trees with kinked functions and ones without series: Julia, C, JavaScript, LaTeX and tfjs', async () => {
    expect(await checkRandomTrees(OTHERS, false, 100, 20261203)).toBeGreaterThan(40);
  });

  it('constant sub-trees are folded alike: the same float64 number in code, tfjs and series', () => {
    const node = parse('z * sqrt(2 * pi) + Phi(0.3)');
    const folded = Math.sqrt(2 * Math.PI);
    expect(new JuliaPrinter().code(node, { z: 'z' })).toBe(`z * ${folded} + ${FLOAT64_FUNCTIONS.Phi(0.3)}`);
    const [c0, c1] = walkSeries(node, (name) => (name === 'z' ? Float64Array.of(0, 1) : undefined), float64Series(1));
    expect([c0, c1]).toEqual([FLOAT64_FUNCTIONS.Phi(0.3), folded]);
    // Text and LaTeX print the tree as written.
    expect(new LatexPrinter().expression(node)).toContain('\\sqrt');
  });

  it('negative controls: one wrong entry in a table is caught', async () => {
    await useBackend('cpu');
    const node = parse('tanh(sin(z) / 2) + z^2');
    expect(readBack(new JuliaPrinter(), {}, node)).toBeUndefined();
    expect(readBack(new WrongJulia(), {}, node)).toMatch(/Julia .*sinh/);
    expect(runTfjs(node)).toBeUndefined();
    expect(runTfjs(node, { sin: (x) => tf.cos(x) })).toMatch(/^tfjs/);
    const base = float64Series(1);
    // sin's series with the wrong sign of its slope: the value agrees, the slope does not.
    const wrong: SeriesAlgebra<Series> = { ...base, primitive: (name, a) => (name === 'sin' ? base.primitive(name, a).map((v, k) => (k === 1 ? -v : v)) : base.primitive(name, a)) };
    expect(runSeries(node)).toBeUndefined();
    expect(runSeries(node, wrong)).toMatch(/^series slope/);
  });
});
