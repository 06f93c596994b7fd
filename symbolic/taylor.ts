import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { NAMED_CONSTANTS, VARIABLE, polynomialDegree, substituteSymbols, type ParsedExpression } from './expression.ts';
import { nerdamer } from './nerdamer.ts';
import { NotPolynomialError, Polynomial } from './polynomial.ts';
import { Rational, factorial } from './rational.ts';

/** A polynomial activation: φ(μ + δ) = Σ_q b_q(μ) δ^q with b_q = φ^(q)(μ)/q! (docs/theory.md §Polynomial activations). */
export interface PolynomialActivation {
  readonly expression: ParsedExpression;
  readonly degree: number;
  /** b_q as expressions in z (read z as μ), q = 0…degree; mathjs trees of the expanded b_q as nerdamer writes them. */
  readonly taylor: readonly MathNode[];
}

/**
 * Derive the Taylor coefficients of a polynomial activation: by exact polynomial arithmetic where
 * φ is a polynomial with numbers nerdamer reads exactly (almost always), else with nerdamer; both
 * give the same expanded text. Neither sees parameters, named constants or functions of them
 * (nerdamer mis-simplifies, e.g. d/dz √b·z → b^(1/4)): those become opaque symbols and are
 * restored afterwards. Every result is checked numerically against φ itself before it is returned.
 */
export function polynomialActivation(expr: ParsedExpression): PolynomialActivation {
  const shape = polynomialDegree(expr);
  if ('reason' in shape) {
    const at = shape.column !== undefined ? ` at column ${shape.column}` : '';
    throw new InputError(
      `expression "${expr.source}": not a polynomial in z (${shape.reason}${at}); general activations are not yet supported — use a polynomial such as "z + a*z^2"`,
    );
  }
  // nerdamer sees only z, plain symbols and arithmetic: parameters, named constants and z-free
  // sub-expressions with functions or fractional powers (sqrt(b), a^0.5) become opaque symbols.
  const fromPlain: Record<string, MathNode> = {};
  const plainNames = new Map<string, string>();
  const opaque = (node: MathNode): MathNode => {
    const key = node.toString();
    let name = plainNames.get(key);
    if (!name) {
      name = `p${plainNames.size}`;
      plainNames.set(key, name);
      fromPlain[name] = node;
    }
    return parse(name);
  };
  const hide = (node: MathNode): MathNode => {
    if (node.type === 'SymbolNode') return (node as unknown as { name: string }).name === VARIABLE ? node : opaque(node);
    if (node.type === 'ConstantNode') return node;
    if (!dependsOnVariable(node) && needsOpaque(node)) return opaque(node);
    return node.map((child) => hide(child));
  };
  const plain = hide(expr.node);
  const texts = exactTaylorTexts(plain, shape.degree) ?? nerdamerTaylorTexts(expr, plain, shape.degree);
  const taylor = texts.map((bq) => substituteSymbols(parse(bq), fromPlain));
  while (taylor.length > 1 && isZeroNode(taylor[taylor.length - 1])) taylor.pop();
  checkTaylor(expr, taylor);
  return { expression: expr, degree: taylor.length - 1, taylor };
}

/** b_q = φ^(q)/q!, q = 0…degree, expanded by nerdamer. */
export function nerdamerTaylorTexts(expr: ParsedExpression, plain: MathNode, degree: number): string[] {
  const text = plain.toString({ implicit: 'show', parenthesis: 'all' });
  const n = nerdamer();
  return Array.from({ length: degree + 1 }, (_, q) => {
    try {
      const derivative = q === 0 ? n(text) : n.diff(n(text), VARIABLE, q);
      return n(`(${derivative.toString()})/${factorial(q)}`).expand().toString();
    } catch (err) {
      throw new InputError(`expression "${expr.source}": cannot expand it as a polynomial (${(err as Error).message})`);
    }
  });
}

/**
 * b_q(z) = Σ_{p ≥ q} C(p, q) a_p z^(p−q) for φ = Σ_p a_p z^p, in exact rational arithmetic, written
 * as nerdamer writes an expanded polynomial; undefined where φ is not a polynomial of this kind
 * (a division by a parameter, a number nerdamer does not read as its exact decimal), which is left
 * to nerdamer.
 */
export function exactTaylorTexts(plain: MathNode, degree: number): string[] | undefined {
  if (plain.filter((n) => n.type === 'ConstantNode' && !readExactly((n as unknown as { value: unknown }).value)).length > 0) return undefined;
  let phi: Polynomial;
  try {
    phi = Polynomial.fromMathNode(plain);
  } catch (err) {
    if (err instanceof NotPolynomialError) return undefined;
    throw err;
  }
  const a = phi.coefficientsIn(VARIABLE);
  return Array.from({ length: degree + 1 }, (_, q) =>
    nerdamerText(
      Polynomial.sum(
        a.slice(q).map((ap, k) => ap.mul(Polynomial.variable(VARIABLE, k)).scale(new Rational(factorial(q + k), factorial(q) * factorial(k)))),
      ),
    ),
  );
}

/**
 * An expanded polynomial as nerdamer's text() writes it. A term's factors are sorted as text and a
 * coefficient that is a fraction stands in brackets; the powers of one variable alone form one
 * summand (nerdamer's polynomial group) when there are several; summands are sorted as text and
 * joined by + (+- as -).
 */
function nerdamerText(p: Polynomial): string {
  const summands: string[] = [];
  const powersOf = new Map<string, string[]>();
  for (const { monomial, coefficient: c } of p.entries()) {
    const number = c.isInteger() ? c.num.toString() : `${c.num}/${c.den}`;
    if (monomial.length === 0) {
      summands.push(number);
      continue;
    }
    const factors = monomial.map(([v, e]) => (e === 1 ? v : `${v}^${e}`)).sort().join('*');
    const text = c.isOne() ? factors : c.num === -1n && c.isInteger() ? `-${factors}` : `${c.isInteger() ? number : `(${number})`}*${factors}`;
    if (monomial.length > 1) summands.push(text);
    else powersOf.set(monomial[0][0], [...(powersOf.get(monomial[0][0]) ?? []), text]);
  }
  for (const texts of powersOf.values()) summands.push(joined(texts));
  return summands.length === 0 ? '0' : joined(summands);
}

const joined = (texts: string[]) => texts.sort().join('+').replace(/\+-/g, '-');

/**
 * Whether nerdamer reads this constant as the exact value of its decimal: integers, and decimals in
 * 10⁻⁶…10²⁰ whose continued fraction, run as nerdamer runs it in float64, ends at that value
 * (0.1 → 1/10, but 0.123456789 → 13566680/109890109).
 */
function readExactly(value: unknown): boolean {
  if (typeof value !== 'number') return false;
  if (Number.isSafeInteger(value)) return true;
  const x = Math.abs(value);
  if (!(x >= 1e-6 && x <= 1e20)) return false;
  const [num, den] = continuedFraction(x);
  return Number.isSafeInteger(num) && Number.isSafeInteger(den) && den > 0 && new Rational(BigInt(num), BigInt(den)).equals(Rational.fromDecimal(x));
}

/** nerdamer's Fraction.fullConversion (nerdamer.core.js): convergents of x until one is within ε or the 31st. */
function continuedFraction(x: number): [number, number] {
  const epsilon = x > 1e10 ? 1e-16 : 1e-30;
  let [n1, d1, n2, d2] = [0, 1, 1, 0];
  let q = x;
  for (let n = 1; ; n++) {
    let a = Math.floor(q);
    if (Math.abs(q) > 1e10) {
      const rounded = Math.round(q);
      if (Math.abs(q - rounded) / Math.abs(rounded) < 1e-14) a = rounded;
    }
    const num = n1 + a * n2;
    const den = d1 + a * d2;
    const e = q - a;
    q = 1 / e;
    [n1, d1, n2, d2] = [n2, d2, num, den];
    if (e < epsilon || Math.abs(num / den - x) < epsilon || n > 30) return [num, den];
  }
}

function dependsOnVariable(node: MathNode): boolean {
  return node.filter((n) => n.type === 'SymbolNode' && (n as unknown as { name: string }).name === VARIABLE).length > 0;
}

function needsOpaque(node: MathNode): boolean {
  return (
    node.filter((n) => {
      if (n.type === 'FunctionNode') return true;
      const op = n as unknown as { type: string; fn: string; args: MathNode[] };
      if (op.type !== 'OperatorNode' || op.fn !== 'pow') return false;
      const e = op.args[1];
      return !(e.type === 'ConstantNode' && Number.isInteger((e as unknown as { value: unknown }).value));
    }).length > 0
  );
}

function isZeroNode(node: MathNode): boolean {
  return node.type === 'ConstantNode' && (node as unknown as { value: unknown }).value === 0;
}

/** φ(μ + δ) must equal Σ b_q(μ) δ^q at random points and random parameter values. */
function checkTaylor(expr: ParsedExpression, taylor: readonly MathNode[]): void {
  const phi = expr.node.compile();
  const b = taylor.map((t) => t.compile());
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  for (let trial = 0; trial < 5; trial++) {
    const scope: Record<string, number> = { ...NAMED_CONSTANTS };
    for (const p of expr.parameters) scope[p] = 1 + 0.5 * rand();
    const mu = rand();
    const delta = rand();
    const direct = Number(phi.evaluate({ ...scope, [VARIABLE]: mu + delta }));
    const terms = b.map((bq, q) => Number(bq.evaluate({ ...scope, [VARIABLE]: mu })) * delta ** q);
    const series = terms.reduce((s, t) => s + t, 0);
    if (!Number.isFinite(direct) || !terms.every(Number.isFinite))
      throw new InputError(`expression "${expr.source}": its coefficients overflow float64 near z = ${mu.toFixed(2)}; use smaller coefficients`);
    // Rounding in the sum is relative to the sum of the terms' magnitudes (binomials reach C(64, 32)).
    const scale = Math.max(1, Math.abs(direct), terms.reduce((s, t) => s + Math.abs(t), 0));
    if (!(Math.abs(direct - series) <= 1e-9 * scale))
      throw new Error(`internal: Taylor coefficients of "${expr.source}" fail the numeric check (${direct} vs ${series})`);
  }
}
