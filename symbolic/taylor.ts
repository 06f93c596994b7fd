import nerdamer from 'nerdamer-prime';
import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { NAMED_CONSTANTS, VARIABLE, polynomialDegree, substituteSymbols, type ParsedExpression } from './expression.ts';
import { factorial } from './rational.ts';

/** A polynomial activation: φ(μ + δ) = Σ_q b_q(μ) δ^q with b_q = φ^(q)(μ)/q! (docs/theory.md §Polynomial activations). */
export interface PolynomialActivation {
  readonly expression: ParsedExpression;
  readonly degree: number;
  /** b_q as expressions in z (read z as μ), q = 0…degree; trees are mathjs, derived by nerdamer. */
  readonly taylor: readonly MathNode[];
}

/**
 * Derive the Taylor coefficients of a polynomial activation with nerdamer. nerdamer never sees
 * parameters, named constants or functions of them (it mis-simplifies, e.g. d/dz √b·z → b^(1/4)):
 * those become opaque symbols and are restored afterwards. Every result is checked numerically
 * against φ itself before it is returned.
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
  const plain = hide(expr.node).toString({ implicit: 'show', parenthesis: 'all' });

  const taylor: MathNode[] = [];
  for (let q = 0; q <= shape.degree; q++) {
    let bq: string;
    try {
      const derivative = q === 0 ? nerdamer(plain) : nerdamer.diff(nerdamer(plain), VARIABLE, q);
      bq = nerdamer(`(${derivative.toString()})/${factorial(q)}`).expand().toString();
    } catch (err) {
      throw new InputError(`expression "${expr.source}": cannot expand it as a polynomial (${(err as Error).message})`);
    }
    taylor.push(substituteSymbols(parse(bq), fromPlain));
  }
  while (taylor.length > 1 && isZeroNode(taylor[taylor.length - 1])) taylor.pop();
  checkTaylor(expr, taylor);
  return { expression: expr, degree: taylor.length - 1, taylor };
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
