/**
 * JavaScript as a target: routines and trees compiled to functions of numbers (as SymPy's lambdify),
 * so the float64 evaluator runs the same routine the code printers emit, at the speed of hand-written
 * code. Every function of the registry is called through its float64 implementation.
 */
import { FLOAT64_FUNCTIONS } from '../atoms/index.ts';
import type { MathNode } from '../math.ts';
import type { Routine } from '../routine.ts';
import { CodePrinter, type FunctionTable } from './code.ts';
import { Precedence, type Printed } from './printer.ts';
import { routinesSource, type LegendreRule, type RoutineSyntax } from './routine.ts';

const MATH = Math as unknown as Record<string, unknown>;
/** Math's own function where the registry's float64 is it, else a local bound once (a property lookup per call is measurable). */
const functionName = (name: string) => (MATH[name] === FLOAT64_FUNCTIONS[name] ? `Math.${name}` : `f_${name}`);
const LOCALS = Object.keys(FLOAT64_FUNCTIONS)
  .filter((n) => functionName(n) !== `Math.${n}`)
  .map((n) => `const f_${n} = f.${n};`)
  .join('\n');

export class JsPrinter extends CodePrinter {
  readonly target = 'JavaScript';
  protected readonly constants = { pi: 'Math.PI', e: 'Math.E' };
  protected readonly functions: FunctionTable = Object.fromEntries(
    Object.keys(FLOAT64_FUNCTIONS).filter((n) => n !== 'where').map((name) => [name, (args: readonly string[]) => `${functionName(name)}(${args.join(', ')})`]),
  );
  power(base: Printed, exponent: Printed): Printed {
    return { text: `Math.pow(${base.text}, ${exponent.text})`, precedence: Precedence.Atom };
  }
  protected where(c: string, a: string, b: string): string {
    return `(${c} ? ${a} : ${b})`;
  }
  override helperName(name: string): string {
    return `$r.${name}`;
  }
}

const SYNTAX: RoutineSyntax = {
  open: (name, args) => [`${name} = (${args.join(', ')}) => {`],
  bind: (name, value) => `const ${name} = ${value};`,
  loop: (name, n) => [`let ${name} = 0;`, `for (let i = 0; i < ${n}; i++) {`, `  const x = X${n}[i];`],
  accumulate: (name, n, term) => `${name} += W${n}[i] * ${term};`,
  close: ['}'],
  ret: (value) => `return ${value};`,
  end: ['};'],
  table: (n, nodes, weights) => [`const X${n} = [${nodes.join(', ')}];`, `const W${n} = [${weights.join(', ')}];`],
  indent: '  ',
};

/** The routines as JavaScript functions of numbers, by name. */
export function compileRoutines(routines: readonly Routine[], legendre: LegendreRule): Readonly<Record<string, (...x: number[]) => number>> {
  const body = [LOCALS, ...routinesSource(routines, new JsPrinter(), SYNTAX, legendre), 'return $r;'].join('\n');
  return new Function('f', '$r', body)(FLOAT64_FUNCTIONS, {});
}

/** A tree as a JavaScript function of numbers, its symbols the arguments in the order given; `routines` are the ones it may call. */
export function compileScalar(node: MathNode, symbols: readonly string[], routines: Readonly<Record<string, (...x: number[]) => number>> = {}): (...x: number[]) => number {
  const text = new JsPrinter().code(node, Object.fromEntries(symbols.map((s) => [s, s])));
  return new Function('f', '$r', `${LOCALS}\nreturn (${symbols.join(', ')}) => ${text};`)(FLOAT64_FUNCTIONS, routines);
}
