/**
 * Printers of source code for other tools (NumPy, JAX, PyTorch, Julia, C): each is a table of the
 * functions the target knows plus a few overrides, as in SymPy's code printers. Before printing, a
 * tree loses what the target cannot say: atoms it lacks are expanded through their definitions in
 * the atom registry (symbolic/atoms), and sub-trees free of variables are folded to float64 numbers,
 * so emitted code never calls a special function on a plain number. A target's table holds only its
 * own spelling of functions it has (SciPy's ndtr for Φ, libm's erfc): a new atom needs no printer.
 */
import { FLOAT64_FUNCTIONS, atomNamed } from '../atoms/index.ts';
import { VARIABLE } from '../expression.ts';
import type { MathNode } from '../math.ts';
import { BIVARIATE_ROUTINES } from '../bivariate-normal.ts';
import type { CumulantFactor, RuleShape } from '../rule.ts';
import { Precedence, Printer, indexString, type Printed } from './printer.ts';

/** How a target writes a call of a known function, given its printed arguments. */
export type FunctionTable = Readonly<Record<string, (args: readonly string[]) => string>>;

/** A function with the same name under a module prefix: `prefixed('np.')('exp')`. */
export const prefixed = (prefix: string) => (name: string) => (args: readonly string[]) => `${prefix}${name}(${args.join(', ')})`;

export abstract class CodePrinter extends Printer {
  /** The target's name, for messages. */
  abstract readonly target: string;
  /** Functions the target writes itself. */
  protected abstract readonly functions: FunctionTable;
  /** How the target writes π and e. */
  protected abstract readonly constants: Readonly<Record<'pi' | 'e', string>>;
  /** Names of the variables of the trees printed (mu, s, z, …) in the code. */
  protected symbols: Readonly<Record<string, string>> = {};

  /** A tree as code, with its symbols renamed (e.g. {mu: 'mu', s: 's'}). */
  code(node: MathNode, symbols: Readonly<Record<string, string>>): string {
    const saved = [this.symbols, this.variableName] as const;
    this.symbols = symbols;
    this.variableName = symbols[VARIABLE] ?? VARIABLE;
    try {
      return this.node(node).text;
    } finally {
      [this.symbols, this.variableName] = saved;
    }
  }

  /** Sub-trees without variables are printed as their float64 value, so code never calls a special function on a plain number. */
  protected override readonly folding = { scope: FLOAT64_FUNCTIONS, nonFinite: 'keep' } as const;
  protected override get description(): string {
    return `the ${this.target} printer`;
  }
  override knows(name: string): boolean {
    return name in this.functions || this.own(name) !== undefined;
  }

  symbol(name: string): string {
    if (name === 'pi' || name === 'e') return this.constants[name];
    const mapped = this.symbols[name];
    if (mapped === undefined) throw new RangeError(`cannot print the symbol "${name}" as ${this.target} code: give every parameter a value`);
    return mapped;
  }
  number(value: number): string {
    if (!Number.isFinite(value)) throw new RangeError(`cannot print ${value} as ${this.target} code`);
    const text = String(value);
    return /[.e]/.test(text) ? text : `${text}.0`;
  }
  fraction(numerator: Printed, denominator: Printed): Printed {
    return { text: `${this.wrap(numerator, Precedence.Product)} / ${this.wrap(denominator, Precedence.Power)}`, precedence: Precedence.Product };
  }
  product(factors: readonly Printed[]): string {
    return factors.map((f) => f.text).join(' * ');
  }
  /**
   * How the target writes the functions every code target has in the same place: where(c, a, b),
   * and the routines of symbolic/bivariate-normal.ts (their code is emitted once per file as helpers).
   */
  private own(name: string): ((args: readonly string[]) => string) | undefined {
    if (name === 'where') return ([c, a, b]) => this.where(c, a, b);
    const routine = ROUTINES.has(name) ? name : atomNamed(name)?.routine;
    if (routine) return (args) => `${this.helperName(routine)}(${args.join(', ')})`;
    return undefined;
  }
  /** a where c holds, else b, elementwise. */
  protected abstract where(c: string, a: string, b: string): string;
  /** The name of an emitted helper function (a routine) in this target. */
  helperName(name: string): string {
    return `_${name}`;
  }
  call(name: string, args: readonly string[]): string {
    const write = this.functions[name] ?? this.own(name);
    if (!write) throw new RangeError(`the ${this.target} printer knows no function "${name}"`);
    return write(args);
  }
  paren(text: string): string {
    return `(${text})`;
  }
  // The rule-level names below are only used in comments of emitted code.
  cumulant(c: CumulantFactor, indices: readonly string[]): string {
    return `k${c.order}[${indexString(c, indices)}]${c.power === 1 ? '' : `^${c.power}`}`;
  }
  taylorName(q: number, index: string): string {
    return `b${q}[${index}]`;
  }
  smoothedName(k: number, index: string): string {
    return `g${k}[${index}]`;
  }
  mean(index: string): string {
    return `mu[${index}]`;
  }
  lhs(rule: RuleShape): string {
    return `out${rule.order}[${rule.indices.join('')}]`;
  }
}

const ROUTINES: ReadonlySet<string> = new Set(BIVARIATE_ROUTINES.map((r) => r.name));
