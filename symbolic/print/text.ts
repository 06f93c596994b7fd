import type { CumulantFactor, RuleShape } from '../rule.ts';
import { atomNamed } from '../atoms/index.ts';
import { CUMULANT_LETTERS, Precedence, Printer, indexString, type Printed } from './printer.ts';

const GREEK: Readonly<Record<string, string>> = { pi: 'π', alpha: 'α', beta: 'β', gamma: 'γ', sigma: 'σ', lambda: 'λ', mu: 'μ' };

/** Plain-text (Unicode) printer: b_1(μ_i) b_1(μ_j) Σ_ij + … */
export class TextPrinter extends Printer {
  symbol(name: string): string {
    return GREEK[name] ?? name;
  }
  number(value: number): string {
    return String(value);
  }
  fraction(numerator: Printed, denominator: Printed): Printed {
    return { text: `${this.wrap(numerator, Precedence.Product)}/${this.wrap(denominator, Precedence.Power)}`, precedence: Precedence.Product };
  }
  power(base: Printed, exponent: Printed): Printed {
    return { text: `${this.wrap(base, Precedence.Atom)}^${this.wrap(exponent, Precedence.Atom)}`, precedence: Precedence.Power };
  }
  product(factors: readonly Printed[]): string {
    return factors.map((f) => f.text).join(' ');
  }
  call(name: string, args: readonly string[]): string {
    return `${atomNamed(name)?.text ?? name}(${args.join(', ')})`;
  }
  paren(text: string): string {
    return `(${text})`;
  }
  cumulant(c: CumulantFactor, indices: readonly string[]): string {
    const letter = CUMULANT_LETTERS[c.order]?.text ?? `κ${c.order}`;
    const base = `${letter}_${indexString(c, indices)}`;
    return c.power === 1 ? base : `${base}^${c.power}`;
  }
  taylorName(q: number, index: string): string {
    return `b_${q}(${this.mean(index)})`;
  }
  smoothedName(k: number, index: string): string {
    return `g_${k}(${index})`;
  }
  mean(index: string): string {
    return `μ_${index}`;
  }
  lhs(rule: RuleShape): string {
    return rule.order === 1 ? `E[y_${rule.indices[0]}]` : `κ(${rule.indices.map((i) => `y_${i}`).join(', ')})`;
  }
}
