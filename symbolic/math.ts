/**
 * The one mathjs instance corrmap uses: the expression parser and only the functions an
 * activation may evaluate, with plain double arithmetic. Keeping it small keeps CLI start-up fast.
 */
import {
  absDependencies, addDependencies, atanDependencies, compileDependencies, cosDependencies, coshDependencies, create,
  divideDependencies, eDependencies, erfDependencies, expDependencies, logDependencies, maxDependencies, minDependencies,
  multiplyDependencies, parseDependencies, piDependencies, powDependencies, signDependencies, sinDependencies, sinhDependencies,
  sqrtDependencies, subtractDependencies, tanDependencies, tanhDependencies, unaryMinusDependencies, unaryPlusDependencies,
  type MathNode,
} from 'mathjs';

const math = create(
  {
    parseDependencies, compileDependencies, addDependencies, subtractDependencies, multiplyDependencies, divideDependencies,
    powDependencies, unaryMinusDependencies, unaryPlusDependencies, sqrtDependencies, expDependencies, logDependencies,
    sinDependencies, cosDependencies, tanDependencies, sinhDependencies, coshDependencies, tanhDependencies, absDependencies,
    atanDependencies, erfDependencies, maxDependencies, minDependencies, signDependencies, piDependencies, eDependencies,
  },
  { number: 'number', predictable: true },
);

export const parse: (expr: string) => MathNode = (expr) => math.parse(expr);
export type { MathNode };
