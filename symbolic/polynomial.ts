import type { MathNode } from './math.ts';
import { Rational } from './rational.ts';

/** A monomial: variable names with positive exponents, sorted by name. */
export type Monomial = ReadonlyArray<readonly [string, number]>;

interface PolyTerm {
  readonly monomial: Monomial;
  readonly coefficient: Rational;
}

function monomialKey(m: Monomial): string {
  return m.map(([v, e]) => (e === 1 ? v : `${v}^${e}`)).join('*');
}

function multiplyMonomials(a: Monomial, b: Monomial): Monomial {
  const out: Array<readonly [string, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i][0] < b[j][0])) out.push(a[i++]);
    else if (i >= a.length || b[j][0] < a[i][0]) out.push(b[j++]);
    else {
      out.push([a[i][0], a[i][1] + b[j][1]]);
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Sparse multivariate polynomial with exact rational coefficients. Used where an identity must
 * hold exactly: polynomial activations, certificates, and comparisons of derived rules.
 */
export class Polynomial {
  private readonly terms: Map<string, PolyTerm>;

  private constructor(terms: Map<string, PolyTerm>) {
    this.terms = terms;
  }

  static zero(): Polynomial {
    return new Polynomial(new Map());
  }
  static constant(c: Rational | number): Polynomial {
    const r = typeof c === 'number' ? Rational.fromDecimal(c) : c;
    return Polynomial.fromTerms([{ monomial: [], coefficient: r }]);
  }
  static variable(name: string, exponent = 1): Polynomial {
    return Polynomial.fromTerms([{ monomial: exponent === 0 ? [] : [[name, exponent]], coefficient: Rational.ONE }]);
  }
  static fromTerms(list: Iterable<PolyTerm>): Polynomial {
    const map = new Map<string, PolyTerm>();
    for (const t of list) accumulate(map, t.monomial, t.coefficient);
    return new Polynomial(map);
  }

  isZero(): boolean {
    return this.terms.size === 0;
  }
  size(): number {
    return this.terms.size;
  }
  entries(): PolyTerm[] {
    return [...this.terms.values()];
  }
  variables(): string[] {
    const names = new Set<string>();
    for (const t of this.terms.values()) for (const [v] of t.monomial) names.add(v);
    return [...names].sort();
  }
  /** Degree in one variable (−∞ for the zero polynomial). */
  degreeIn(name: string): number {
    let d = -Infinity;
    for (const t of this.terms.values()) d = Math.max(d, t.monomial.find(([v]) => v === name)?.[1] ?? 0);
    return d;
  }
  /** The constant term, or undefined if any other monomial is present. */
  asConstant(): Rational | undefined {
    if (this.terms.size === 0) return Rational.ZERO;
    if (this.terms.size === 1) {
      const t = [...this.terms.values()][0];
      if (t.monomial.length === 0) return t.coefficient;
    }
    return undefined;
  }

  add(o: Polynomial): Polynomial {
    return Polynomial.sum([this, o]);
  }
  /** Σ of many polynomials into one map (adding one at a time would copy the map each time). */
  static sum(list: Iterable<Polynomial>): Polynomial {
    const map = new Map<string, PolyTerm>();
    for (const p of list) for (const t of p.terms.values()) accumulate(map, t.monomial, t.coefficient);
    return new Polynomial(map);
  }
  sub(o: Polynomial): Polynomial {
    return this.add(o.scale(Rational.of(-1)));
  }
  scale(c: Rational): Polynomial {
    if (c.isZero()) return Polynomial.zero();
    const map = new Map<string, PolyTerm>();
    for (const [k, t] of this.terms) map.set(k, { monomial: t.monomial, coefficient: t.coefficient.mul(c) });
    return new Polynomial(map);
  }
  mul(o: Polynomial): Polynomial {
    const map = new Map<string, PolyTerm>();
    for (const a of this.terms.values())
      for (const b of o.terms.values())
        accumulate(map, multiplyMonomials(a.monomial, b.monomial), a.coefficient.mul(b.coefficient));
    return new Polynomial(map);
  }
  pow(e: number): Polynomial {
    let result = Polynomial.constant(Rational.ONE);
    for (let k = 0; k < e; k++) result = result.mul(this);
    return result;
  }
  /** Replace variables by polynomials (simultaneously). */
  substitute(values: ReadonlyMap<string, Polynomial>): Polynomial {
    return Polynomial.sum(
      [...this.terms.values()].map((t) =>
        t.monomial.reduce((term, [v, e]) => {
          const value = values.get(v);
          return term.mul(value ? value.pow(e) : Polynomial.variable(v, e));
        }, Polynomial.constant(t.coefficient)),
      ),
    );
  }
  /** Coefficients of powers of one variable: result[p] multiplies name^p. */
  coefficientsIn(name: string): Polynomial[] {
    const byPower: PolyTerm[][] = [];
    for (const t of this.terms.values()) {
      const p = t.monomial.find(([v]) => v === name)?.[1] ?? 0;
      while (byPower.length <= p) byPower.push([]);
      byPower[p].push({ monomial: t.monomial.filter(([v]) => v !== name), coefficient: t.coefficient });
    }
    return byPower.map((terms) => Polynomial.fromTerms(terms));
  }
  evaluate(values: Readonly<Record<string, number>>): number {
    let s = 0;
    for (const t of this.terms.values()) {
      let p = t.coefficient.toNumber();
      for (const [v, e] of t.monomial) {
        const x = values[v];
        if (x === undefined) throw new Error(`no value for ${v}`);
        p *= x ** e;
      }
      s += p;
    }
    return s;
  }
  equals(o: Polynomial): boolean {
    return this.sub(o).isZero();
  }
  toString(): string {
    if (this.terms.size === 0) return '0';
    const keys = [...this.terms.keys()].sort();
    return keys
      .map((k, idx) => {
        const { coefficient: c } = this.terms.get(k)!;
        const mag = c.abs();
        const body = k === '' ? mag.toString() : mag.isOne() ? k : `${mag}*${k}`;
        return (c.sign() < 0 ? (idx === 0 ? '-' : ' - ') : idx === 0 ? '' : ' + ') + body;
      })
      .join('');
  }

  /**
   * Read a mathjs expression tree as a polynomial. Throws NotPolynomialError naming the
   * offending sub-expression where the tree is not polynomial in its symbols.
   */
  static fromMathNode(node: MathNode, constants: Readonly<Record<string, Rational>> = {}): Polynomial {
    const n = node as MathNode & Record<string, any>;
    switch (n.type) {
      case 'ConstantNode':
        if (typeof n.value !== 'number') throw new NotPolynomialError(node, 'a non-numeric constant');
        return Polynomial.constant(Rational.fromDecimal(n.value));
      case 'SymbolNode': {
        const c = constants[n.name];
        return c ? Polynomial.constant(c) : Polynomial.variable(n.name);
      }
      case 'ParenthesisNode':
        return Polynomial.fromMathNode(n.content, constants);
      case 'OperatorNode': {
        const args: MathNode[] = n.args;
        const p = (k: number) => Polynomial.fromMathNode(args[k], constants);
        switch (n.fn) {
          case 'unaryMinus':
            return p(0).scale(Rational.of(-1));
          case 'unaryPlus':
            return p(0);
          case 'add':
            return Polynomial.sum(args.map((_a, k) => p(k)));
          case 'subtract':
            return p(0).sub(p(1));
          case 'multiply':
            return args.reduce((acc, _a, k) => acc.mul(p(k)), Polynomial.constant(Rational.ONE));
          case 'divide': {
            const d = p(1).asConstant();
            if (!d || d.isZero()) throw new NotPolynomialError(node, 'division by a non-constant or zero');
            return p(0).scale(Rational.ONE.div(d));
          }
          case 'pow': {
            const e = p(1).asConstant();
            if (!e || !e.isInteger() || e.sign() < 0 || e.num > 64n)
              throw new NotPolynomialError(node, 'a power that is not a small non-negative integer');
            return p(0).pow(Number(e.num));
          }
        }
        throw new NotPolynomialError(node, `the operator ${n.op}`);
      }
    }
    throw new NotPolynomialError(node, `a ${n.type}`);
  }
}

export class NotPolynomialError extends Error {
  constructor(
    readonly node: MathNode,
    readonly reason: string,
  ) {
    super(`not a polynomial: ${reason} in ${node.toString()}`);
  }
}

function accumulate(map: Map<string, PolyTerm>, monomial: Monomial, c: Rational): void {
  if (c.isZero()) return;
  const key = monomialKey(monomial);
  const prev = map.get(key);
  if (!prev) {
    map.set(key, { monomial, coefficient: c });
    return;
  }
  const sum = prev.coefficient.add(c);
  if (sum.isZero()) map.delete(key);
  else map.set(key, { monomial, coefficient: sum });
}
