import type { CumulantFactor, RuleShape } from '../rule.ts';
import { atomNamed } from '../atoms/index.ts';
import { CUMULANT_LETTERS, Precedence, Printer, indexString, type Printed } from './printer.ts';

const GREEK = new Set(['mu', 'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'lambda', 'sigma', 'tau', 'theta', 'omega', 'pi', 'rho', 'nu', 'eta', 'xi']);

/** LaTeX printer: b_{1}(\mu_i)\,\Sigma_{ij} + … */
export class LatexPrinter extends Printer {
  symbol(name: string): string {
    const m = /^([A-Za-z]+?)_?(\d+)$/.exec(name);
    const stem = m ? m[1] : name;
    const head = GREEK.has(stem) ? `\\${stem}` : stem.length > 1 ? `\\mathrm{${stem}}` : stem;
    return m ? `${head}_{${m[2]}}` : head;
  }
  number(value: number): string {
    return String(value);
  }
  fraction(numerator: Printed, denominator: Printed): Printed {
    // A fraction raised to a power needs parentheses: (\frac{a}{b})^{2}, not \frac{a}{b}^{2}.
    return { text: `\\frac{${numerator.text}}{${denominator.text}}`, precedence: Precedence.Product };
  }
  power(base: Printed, exponent: Printed): Printed {
    return { text: `${this.wrap(base, Precedence.Atom)}^{${exponent.text}}`, precedence: Precedence.Power };
  }
  product(factors: readonly Printed[]): string {
    return factors.map((f) => f.text).join(' \\, ');
  }
  call(name: string, args: readonly string[]): string {
    if (name === 'sqrt') return `\\sqrt{${args.join(', ')}}`;
    const head = atomNamed(name)?.latex ?? `\\operatorname{${name}}`;
    return `${head}\\left(${args.join(', ')}\\right)`;
  }
  paren(text: string): string {
    return `\\left(${text}\\right)`;
  }
  cumulant(c: CumulantFactor, indices: readonly string[]): string {
    const letter = CUMULANT_LETTERS[c.order]?.latex ?? `\\kappa^{(${c.order})}`;
    const base = `${letter}_{${indexString(c, indices)}}`;
    return c.power === 1 ? base : `${base}^{${c.power}}`;
  }
  taylorName(q: number, index: string): string {
    return `b_{${q}}(${this.mean(index)})`;
  }
  smoothedName(k: number, index: string): string {
    return `g_{${k}}(${index})`;
  }
  mean(index: string): string {
    return `\\mu_{${index}}`;
  }
  lhs(rule: RuleShape): string {
    return rule.order === 1 ? `\\mathbb{E}[y_{${rule.indices[0]}}]` : `\\kappa(${rule.indices.map((i) => `y_{${i}}`).join(', ')})`;
  }
}
