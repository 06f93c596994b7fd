/**
 * The one mathjs instance corrmap uses: the expression parser and only the functions an
 * activation may evaluate, with plain double arithmetic. It is built from mathjs's number-only
 * factories ('mathjs/number'): their typed functions have one signature each instead of the dozen
 * (BigNumber, Complex, Fraction, matrices) of the full build, which takes most of the CLI's
 * start-up to create. The one place the two builds differ for real numbers is a negative base to a
 * fractional power; `pow` keeps the full build's `predictable` answer there (the real odd root).
 */
import {
  absDependencies, addDependencies, atanDependencies, compileDependencies, cosDependencies, coshDependencies, create,
  divideDependencies, eDependencies, erfDependencies, expDependencies, logDependencies, maxDependencies, minDependencies,
  multiplyDependencies, parseDependencies, piDependencies, powDependencies, signDependencies, sinDependencies, sinhDependencies,
  sqrtDependencies, subtractDependencies, tanDependencies, tanhDependencies, unaryMinusDependencies, unaryPlusDependencies,
} from 'mathjs/number';
import type { MathNode } from 'mathjs';
import Fraction from 'fraction.js';

const math = create({
  parseDependencies, compileDependencies, addDependencies, subtractDependencies, multiplyDependencies, divideDependencies,
  powDependencies, unaryMinusDependencies, unaryPlusDependencies, sqrtDependencies, expDependencies, logDependencies,
  sinDependencies, cosDependencies, tanDependencies, sinhDependencies, coshDependencies, tanhDependencies, absDependencies,
  atanDependencies, erfDependencies, maxDependencies, minDependencies, signDependencies, piDependencies, eDependencies,
});

/**
 * x^y as the full mathjs build computes it for numbers with `predictable: true`: a negative base to
 * a power p/q in lowest terms with q odd is the real root, (−1)^p |x|^y; other non-real results are NaN.
 */
function predictablePow(x: number, y: number): number {
  if (x < 0 && !Number.isInteger(y) && Number.isFinite(y)) {
    const f = new Fraction(y);
    const p = Number(f.s * f.n);
    if ((y === p / Number(f.d) || Math.abs((y - p / Number(f.d)) / y) < 1e-14) && f.d % 2n === 1n) return (f.n % 2n === 0n ? 1 : -1) * Math.pow(-x, y);
  }
  if ((x < -1 && y === Infinity) || (x > -1 && x < 0 && y === -Infinity)) return NaN;
  if ((x * x < 1 && y === Infinity) || (x * x > 1 && y === -Infinity)) return 0;
  return Math.pow(x, y);
}
math.import({ pow: math.typed('pow', { 'number, number': predictablePow }) }, { override: true });

export const parse: (expr: string) => MathNode = (expr) => math.parse(expr);
export type { MathNode };
