/**
 * Printers of source code for other tools (NumPy, JAX, PyTorch, Julia, C): each is a table of the
 * functions the target knows plus a few overrides, as in SymPy's code printers. Before printing, a
 * tree loses what the target cannot say: atoms it lacks are expanded through their definitions in
 * the atom registry (symbolic/atoms), and sub-trees free of variables are folded to float64 numbers,
 * so emitted code never calls a special function on a plain number. A target's table holds only its
 * own spelling of functions it has (SciPy's ndtr for Φ, libm's erfc): a new atom needs no printer.
 */
import { FLOAT64_FUNCTIONS, atomDefinition, atomNamed } from '../atoms/index.ts';
import { NAMED_CONSTANTS, VARIABLE } from '../expression.ts';
import { parse, type MathNode } from '../math.ts';
import { BIVARIATE_ROUTINES } from '../bivariate-normal.ts';
import type { CumulantFactor, RuleShape } from '../rule.ts';
import { Precedence, Printer, indexString, type Printed } from './printer.ts';

/** How a target writes a call of a known function, given its printed arguments. */
export type FunctionTable = Readonly<Record<string, (args: readonly string[]) => string>>;

/** A function with the same name under a module prefix: `prefixed('np.')('exp')`. */
export const prefixed = (prefix: string) => (name: string) => (args: readonly string[]) => `${prefix}${name}(${args.join(', ')})`;

interface AnyNode {
  type: string;
  name?: string;
  fn?: { name?: string } | string;
  args?: MathNode[];
  value?: number;
}
const view = (n: MathNode) => n as unknown as AnyNode;

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
      return this.node(this.lower(node)).text;
    } finally {
      [this.symbols, this.variableName] = saved;
    }
  }

  /** The tree in the target's vocabulary: atoms it lacks expanded, constant sub-trees folded. */
  lower(node: MathNode): MathNode {
    return fold(this.expand(node));
  }

  private expand(node: MathNode, depth = 0): MathNode {
    return node.transform((n) => {
      const v = view(n);
      if (v.type !== 'FunctionNode') return n;
      const name = (v.fn as { name: string }).name;
      if (name in this.functions || this.own(name)) return n.map((child) => this.expand(child, depth)) as MathNode;
      const atom = atomNamed(name);
      if (!atom?.definition) throw new RangeError(`the ${this.target} printer knows no function "${name}" and the atom registry gives no definition of it`);
      // Definitions refer to one another (gelu → Φ → erfc); a cycle would be a registry error.
      if (depth > 16) throw new Error(`internal: the definitions of "${name}" refer to one another in a cycle`);
      return this.expand(atomDefinition(atom, v.args!), depth + 1);
    });
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

const FOLD_SCOPE: Record<string, unknown> = { ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS };

function isFree(node: MathNode): boolean {
  let free = true;
  node.traverse((n, path) => {
    const v = view(n);
    // A function's name is a SymbolNode at path 'fn': not a variable.
    if (v.type === 'SymbolNode' && path !== 'fn' && !(v.name! in NAMED_CONSTANTS)) free = false;
  });
  return free;
}

/** Sub-trees without variables, evaluated in float64 (calls and operators alike). */
function fold(node: MathNode): MathNode {
  const v = view(node);
  if (v.type === 'ConstantNode') return node;
  if (v.type === 'SymbolNode') return node;
  if ((v.type === 'FunctionNode' || v.type === 'OperatorNode' || v.type === 'ParenthesisNode') && isFree(node)) {
    const value = Number(node.compile().evaluate({ ...FOLD_SCOPE }));
    if (Number.isFinite(value)) return value < 0 ? parse(`-${String(-value)}`) : parse(String(value));
  }
  return node.map((child) => fold(child)) as MathNode;
}
