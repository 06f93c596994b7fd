/** Julia printer: scalar code (the emitted loops call it per entry); erf and erfc from SpecialFunctions. */
import { CodePrinter, prefixed, type FunctionTable } from './code.ts';
import { Precedence, type Printed } from './printer.ts';

const SAME = ['exp', 'expm1', 'log', 'log1p', 'sqrt', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh', 'atan', 'asin', 'abs', 'sign', 'max', 'min', 'erf', 'erfc'];

export class JuliaPrinter extends CodePrinter {
  readonly target = 'Julia';
  protected readonly constants = { pi: 'pi', e: 'MathConstants.e' };
  protected readonly functions: FunctionTable = {
    ...Object.fromEntries(SAME.map((name) => [name, prefixed('')(name)])),
  };
  power(base: Printed, exponent: Printed): Printed {
    return { text: `${this.wrap(base, Precedence.Atom)} ^ ${this.wrap(exponent, Precedence.Atom)}`, precedence: Precedence.Power };
  }
  protected where(c: string, a: string, b: string): string {
    return `ifelse(${c}, ${a}, ${b})`;
  }
  override helperName(name: string): string {
    return name;
  }
}
