/** C99 printer: scalar double code with libm only. */
import { CodePrinter, prefixed, type FunctionTable } from './code.ts';
import { Precedence, type Printed } from './printer.ts';

const SAME = ['exp', 'expm1', 'log', 'log1p', 'sqrt', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh', 'atan', 'asin', 'erf', 'erfc'];

export class CPrinter extends CodePrinter {
  readonly target = 'C';
  // -std=c99 hides M_PI: the digits themselves.
  protected readonly constants = { pi: '3.141592653589793', e: '2.718281828459045' };
  protected readonly functions: FunctionTable = {
    ...Object.fromEntries(SAME.map((name) => [name, prefixed('')(name)])),
    abs: prefixed('')('fabs'),
    max: prefixed('')('fmax'),
    min: prefixed('')('fmin'),
    // libm has no sign: C's comparisons are 0 or 1, so sign(0) = 0 as corrmap's.
    sign: ([x]) => `((double)((${x}) > 0) - (double)((${x}) < 0))`,
  };
  power(base: Printed, exponent: Printed): Printed {
    return { text: `pow(${base.text}, ${exponent.text})`, precedence: Precedence.Atom };
  }
  protected where(c: string, a: string, b: string): string {
    return `(${c} ? ${a} : ${b})`;
  }
  override helperName(name: string): string {
    return `corrmap_${name}`;
  }
}
