import { parse, type MathNode } from '../math.ts';
import { Polynomial, type Monomial } from '../polynomial.ts';
import { Rational } from '../rational.ts';
import type { CumulantFactor, RuleShape, RuleTerm, TransferRule } from '../rule.ts';
import { VARIABLE, substituteSymbols } from '../expression.ts';
import { foldTree, type TreeTarget } from '../ir/fold.ts';

/** Binding strength of a printed fragment: parentheses are added where a weaker one sits in a stronger place. */
export const enum Precedence {
  Sum = 1,
  Product = 2,
  Unary = 3,
  Power = 4,
  Atom = 5,
}

export interface Printed {
  readonly text: string;
  readonly precedence: Precedence;
}

/**
 * Prints mathjs trees (through the one tree walk, symbolic/ir/fold.ts, with one small method per
 * node kind) and transfer rules; a target (plain text, LaTeX, code for other tools) overrides the
 * methods that differ.
 */
export abstract class Printer {
  /** How the variable z is printed (μ with the index of the factor's slot). */
  protected variableName = VARIABLE;

  abstract symbol(name: string): string;
  abstract number(value: number): string;
  abstract fraction(numerator: Printed, denominator: Printed): Printed;
  abstract power(base: Printed, exponent: Printed): Printed;
  abstract product(factors: readonly Printed[]): string;
  abstract call(name: string, args: readonly string[]): string;
  abstract paren(text: string): string;
  abstract cumulant(factor: CumulantFactor, indices: readonly string[]): string;
  abstract taylorName(q: number, index: string): string;
  /** g_k(i) = E[φ^{(k)}(z_i)], z_i ~ N(μ_i, Σ_ii). */
  abstract smoothedName(k: number, index: string): string;
  abstract mean(index: string): string;
  abstract lhs(rule: RuleShape): string;

  sum(terms: readonly { sign: 1 | -1; text: string }[]): string {
    if (terms.length === 0) return '0';
    // A leading minus before a term that starts with one (−(−0.25·z)) is bracketed: "--" decrements in C and JavaScript.
    const lead = (t: { sign: 1 | -1; text: string }) => (t.sign > 0 ? t.text : t.text.startsWith('-') ? `-${this.paren(t.text)}` : `-${t.text}`);
    return terms.map((t, k) => (k === 0 ? lead(t) : (t.sign < 0 ? ' - ' : ' + ') + t.text)).join('');
  }

  wrap(p: Printed, at: Precedence): string {
    return p.precedence < at ? this.paren(p.text) : p.text;
  }

  /** An expression tree, with z printed as `variable`. */
  expression(node: MathNode, variable: string = VARIABLE): string {
    const saved = this.variableName;
    this.variableName = variable;
    try {
      return this.node(node).text;
    } finally {
      this.variableName = saved;
    }
  }

  /** Whether the target writes the function itself (else the walk expands it through its atom's definition). */
  knows(_name: string): boolean {
    return true;
  }

  /** Constant folding of the walk (symbolic/ir/fold.ts): none here, trees print as written. */
  protected readonly folding: TreeTarget<Printed>['folding'] = undefined;

  /** Names the printer in messages. */
  protected get description(): string {
    return 'the printer';
  }

  private walkTarget: TreeTarget<Printed> | undefined;
  /** This printer as a target of the one tree walk: its methods per node kind. */
  private get treeTarget(): TreeTarget<Printed> {
    const atom = (text: string): Printed => ({ text, precedence: Precedence.Atom });
    const compare = (symbol: string) => (a: Printed, b: Printed) => atom(this.paren(`${a.text} ${symbol} ${b.text}`));
    return (this.walkTarget ??= {
      name: this.description,
      constant: (value) => ({ text: this.number(value), precedence: value < 0 ? Precedence.Unary : Precedence.Atom }),
      symbol: (name) => atom(this.symbol(name)),
      negate: (a) => ({ text: `-${this.wrap(a, Precedence.Power)}`, precedence: Precedence.Unary }),
      operators: {
        multiply: (a, b) => ({ text: this.product([a, b].map((f) => ({ text: this.wrap(f, Precedence.Product), precedence: f.precedence }))), precedence: Precedence.Product }),
        divide: (a, b) => this.fraction(a, b),
        pow: (a, b) => this.power(a, b),
        // Comparisons (in the conditions of where), spelled alike by every target.
        smaller: compare('<'),
        larger: compare('>'),
        smallerEq: compare('<='),
        largerEq: compare('>='),
      },
      sum: (terms) => ({ text: this.sum(terms.map((t) => ({ sign: t.sign, text: this.wrap(t.value, Precedence.Sum) }))), precedence: Precedence.Sum }),
      function: (name) => (this.knows(name) ? (args) => atom(this.call(name, args.map((a) => a.text))) : undefined),
      folding: this.folding,
    });
  }

  protected node(node: MathNode): Printed {
    return foldTree(node, this.treeTarget, (name) => (name === VARIABLE ? { text: this.variableName, precedence: Precedence.Atom } : undefined));
  }

  /** The rule with b_q(μ_i) kept as named factors: the diagram structure. */
  ruleStructure(rule: RuleShape): string {
    return `${this.lhs(rule)} = ${this.sum(this.structureTerms(rule))}`;
  }

  /** The signed summands of ruleStructure, for layouts of one term per line. */
  structureTerms(rule: RuleShape): { sign: 1 | -1; text: string }[] {
    return rule.terms.map((t) => {
      const factors = t.factors.map((f) => (f.kind === 'smoothed' ? this.smoothedName(f.q, rule.indices[f.slot]) : this.taylorName(f.q, rule.indices[f.slot])));
      return { sign: 1 as const, text: this.termText(t.coefficient, factors, t, rule) };
    });
  }

  /**
   * The rule with every b_q(μ_i) written out: the formula a paper would print. Numbers and
   * monomials of the b_q are gathered into the term's coefficient; sums stay as factors.
   */
  ruleExplicit(rule: TransferRule): string {
    return `${this.lhs(rule)} = ${this.sum(this.explicitTerms(rule))}`;
  }

  /** The signed summands of ruleExplicit. */
  explicitTerms(rule: TransferRule): { sign: 1 | -1; text: string }[] {
    const taylor = rule.activation.taylor;
    const parts: { sign: 1 | -1; text: string }[] = [];
    // b_q at slot s, the same few for every term: a monomial (its coefficient and its power
    // product) where the exact polynomial is one term, else the printed sum.
    type Factor = { zero: true } | { coefficient: Rational; powers: Monomial } | { printed: Printed };
    const factorOf = new Map<string, Factor>();
    const taylorFactor = (q: number, slot: number): Factor => {
      const key = `${q}:${slot}`;
      let factor = factorOf.get(key);
      if (factor) return factor;
      const poly = polynomialOf(substituteSymbols(taylor[q], { [VARIABLE]: parse(slotSymbol(slot)) }));
      if (poly && poly.size() <= 1) {
        const [term] = poly.entries();
        factor = term ? { coefficient: term.coefficient, powers: term.monomial } : { zero: true };
      } else factor = { printed: { text: this.expression(taylor[q], this.mean(rule.indices[slot])), precedence: this.node(taylor[q]).precedence } };
      factorOf.set(key, factor);
      return factor;
    };
    for (const t of rule.terms) {
      let coefficient = t.coefficient;
      // The term's monomial: exponents by symbol, printed in the symbols' order.
      const powers = new Map<string, number>();
      const sums = new Map<string, { printed: Printed; count: number }>();
      for (const f of t.factors) {
        const factor = taylorFactor(f.q, f.slot);
        if ('zero' in factor) {
          coefficient = Rational.ZERO;
          break;
        }
        if ('coefficient' in factor) {
          if (!factor.coefficient.isOne()) coefficient = coefficient.mul(factor.coefficient);
          for (const [name, e] of factor.powers) powers.set(name, (powers.get(name) ?? 0) + e);
          continue;
        }
        const { printed } = factor;
        const seen = sums.get(printed.text);
        if (seen) seen.count++;
        else sums.set(printed.text, { printed, count: 1 });
      }
      if (coefficient.isZero()) continue;
      const factors: string[] = [];
      for (const name of [...powers.keys()].sort()) {
        const e = powers.get(name)!;
        const slot = slotOf(name);
        const base = slot === undefined ? this.symbol(name) : this.mean(rule.indices[slot]);
        factors.push(e === 1 ? base : this.power({ text: base, precedence: Precedence.Atom }, { text: String(e), precedence: Precedence.Atom }).text);
      }
      const bare = factors.length === 0 && t.cumulants.length === 0 && coefficient.isOne();
      for (const { printed, count } of sums.values()) {
        if (bare && sums.size === 1 && count === 1) factors.push(printed.text);
        else if (count === 1) factors.push(this.wrap(printed, Precedence.Product));
        else factors.push(this.power({ text: this.wrap(printed, Precedence.Power), precedence: Precedence.Atom }, { text: String(count), precedence: Precedence.Atom }).text);
      }
      const sign = coefficient.sign() < 0 ? -1 : 1;
      const lone = t.cumulants.length === 0 && factors.length === 0;
      parts.push({ sign, text: lone ? this.rational(coefficient.abs()) : this.termText(coefficient.abs(), factors, t, rule) });
    }
    return parts;
  }

  protected termText(coefficient: Rational, factors: readonly string[], term: RuleTerm, rule: RuleShape): string {
    // A rule's terms share their cumulant factors (interned by the rule): each is printed once.
    let printed = this.cumulantTexts.get(rule);
    if (!printed) this.cumulantTexts.set(rule, (printed = new Map()));
    const parts: Printed[] = coefficient.isOne() ? [] : [{ text: this.rational(coefficient), precedence: Precedence.Atom }];
    for (const text of factors) parts.push({ text, precedence: Precedence.Atom });
    for (const c of term.cumulants) {
      let text = printed.get(c);
      if (text === undefined) printed.set(c, (text = this.cumulant(c, rule.indices)));
      parts.push({ text, precedence: Precedence.Atom });
    }
    if (parts.length === 0) return this.rational(coefficient);
    return parts.length === 1 && !coefficient.isOne() ? parts[0].text : this.product(parts);
  }
  private readonly cumulantTexts = new WeakMap<RuleShape, Map<CumulantFactor, string>>();

  rational(r: Rational): string {
    if (r.isInteger()) return r.num.toString();
    return this.fraction({ text: r.num.toString(), precedence: Precedence.Atom }, { text: r.den.toString(), precedence: Precedence.Atom }).text;
  }
}

/** The tree as an exact polynomial in its symbols, or undefined where it is not one. */
function polynomialOf(node: MathNode): Polynomial | undefined {
  try {
    return Polynomial.fromMathNode(node);
  } catch {
    return undefined;
  }
}

const SLOT_PREFIX = 'mu__slot';
function slotSymbol(slot: number): string {
  return `${SLOT_PREFIX}${slot}`;
}
function slotOf(name: string): number | undefined {
  return name.startsWith(SLOT_PREFIX) ? Number(name.slice(SLOT_PREFIX.length)) : undefined;
}

/** Letters used for the cumulant tensors of orders 2, 3, 4 (docs/theory.md §Notation). */
export const CUMULANT_LETTERS: Readonly<Record<number, { text: string; latex: string }>> = {
  2: { text: 'Σ', latex: '\\Sigma' },
  3: { text: 'T', latex: 'T' },
  4: { text: 'Q', latex: 'Q' },
};

export function indexString(c: CumulantFactor, indices: readonly string[]): string {
  return c.slots.map((s) => indices[s]).join('');
}
