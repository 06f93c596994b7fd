/**
 * Closed-form Gaussian smoothing G(mu, s) = E[φ(mu + √s X)] of a recognised activation, assembled
 * from the atoms' own G (symbolic/atoms) and the Gaussian moments of its polynomial part; its
 * float64 evaluation and where it is defined.
 */
import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { NAMED_CONSTANTS, VARIABLE, type ParsedExpression } from './expression.ts';
import { polynomialActivation } from './taylor.ts';
import { FLOAT64_FUNCTIONS, gaussianBump, smoothedAtom, type AtomName } from './atoms/index.ts';
import type { Activation, GaussianSmoothed } from './activations.ts';
import { decompose, kinked, type ArgumentAtom, type Decomposition, type ExponentialAtom } from './recognition.ts';
import {
  MEAN, VARIANCE, asNode, call, cAbs, cAdd, cMul, cSquare, coefficientOf, coefficientOrNode, compact, dependsOn, template,
  instantiate, tidy, view, type Coefficient,
} from './trees.ts';

// ---------------------------------------------------------------------------------------------
// Closed forms.

export const MU = () => parse(MEAN);
export const S = () => parse(VARIANCE);

/** Sources of the assembly rules; each atom's own G carries its source (symbolic/atoms). */
export const SOURCES = {
  polynomial:
    'Gaussian moments: φ(mu + δ) = Σ_q b_q(mu) δ^q with b_q = φ^(q)(mu)/q! (docs/theory.md §Polynomial activations) and E[(√s X)^q] = (q − 1)!! s^(q/2) for even q, 0 for odd q',
  affine: 'affine argument: E[φ(a z + c)] = G_φ(a mu + c, a² s)',
  max: 'max(u, v) = u + relu(v − u), min(u, v) = u − relu(u − v)',
} as const;

/**
 * G of kind(slope · z + offset): the atom's template (symbolic/atoms) at M = slope · mu + offset,
 * V = slope² s, D = |slope| √s and R = M/D.
 */
export function argumentAtomG(atom: { readonly kind: AtomName; readonly slope: Coefficient; readonly offset: Coefficient }): MathNode {
  const { kind, slope, offset } = atom;
  const M = cAdd(cMul(slope, MU()), offset);
  const V = cMul(cSquare(slope), S());
  const D = cMul(cAbs(slope), call('sqrt', [S()]));
  const R = template('A / B', { A: asNode(M), B: asNode(D) });
  return instantiate(smoothedAtom(kind)!.smoothing.G, { M, V, D, R });
}

export function exponentialAtomG(atom: ExponentialAtom): MathNode {
  const { alpha, beta, gamma } = atom;
  if (alpha === 0) return argumentAtomG({ kind: 'exp', slope: beta, offset: gamma });
  return instantiate(gaussianBump.G, { A: alpha, B: beta, C: gamma });
}

/** The Taylor coefficients b_q(mu) = φ^(q)(mu)/q! of the polynomial part (taylor.ts, checked there); [] when there is none. */
export function polynomialTaylor(expr: ParsedExpression, terms: readonly MathNode[]): Coefficient[] {
  if (terms.length === 0) return [];
  const node = asNode(terms.reduce<Coefficient>((acc, t) => cAdd(acc, coefficientOrNode(t)), 0));
  if (!dependsOn(node, VARIABLE)) return [coefficientOf(node)];
  const text = node.toString();
  const part: ParsedExpression = { source: expr.source, text, original: node, node, parameters: expr.parameters, values: {} };
  return polynomialActivation(part).taylor.map((bq) =>
    coefficientOrNode(tidy(bq.transform((n) => (n.type === 'SymbolNode' && view(n).name === VARIABLE ? MU() : n)))),
  );
}

/**
 * g_k of the polynomial part: φ^(k)(mu + δ) = Σ_q (q + k)!/q! b_{q+k}(mu) δ^q and E[δ^q] = (q − 1)!! s^{q/2}
 * for even q, so g_k = Σ_{q even} (q − 1)!! (q + k)!/q! s^{q/2} b_{q+k}(mu); k = 0 gives G.
 */
export function polynomialSmoothed(taylor: readonly Coefficient[], k: number): Coefficient {
  let g: Coefficient = 0;
  let doubleFactorial = 1;
  for (let q = 0; q + k < taylor.length; q += 2) {
    if (q > 0) doubleFactorial *= q - 1;
    let falling = 1;
    for (let j = q + 1; j <= q + k; j++) falling *= j;
    const moment = q === 0 ? falling : cMul(doubleFactorial * falling, q === 2 ? S() : template(`S ^ ${q / 2}`, { S: S() }));
    g = cAdd(g, cMul(taylor[q + k], moment));
  }
  return g;
}

/**
 * How G was assembled: the polynomial part (by its Taylor coefficients), the exp parts
 * (differentiated as they stand) and the atoms with an affine argument (whose g_k follow from the
 * atom's own by the chain rule).
 */
export interface SmoothedParts {
  readonly taylor: readonly Coefficient[];
  readonly residual: Coefficient;
  readonly composed: ReadonlyArray<{ readonly coefficient: Coefficient; readonly atom: ArgumentAtom }>;
}
export const smoothedParts = new WeakMap<GaussianSmoothed, SmoothedParts>();

export function smoothedOf(expr: ParsedExpression, d: Decomposition): GaussianSmoothed {
  const taylor = polynomialTaylor(expr, d.polynomial);
  let residual: Coefficient = 0;
  const composed: Array<{ coefficient: Coefficient; atom: ArgumentAtom }> = [];
  let G: Coefficient = 0;
  const sources: string[] = [];
  const notes: string[] = ['s is the variance of the pre-activation: s ≥ 0'];
  const hasPolynomial = d.polynomial.some((p) => dependsOn(p, VARIABLE));
  if (hasPolynomial) sources.push(SOURCES.polynomial);
  let affine = false;
  const kinks: string[] = [];
  for (const { coefficient, atom } of d.terms) {
    if (atom.kind === 'exp') {
      residual = cAdd(residual, cMul(coefficient, exponentialAtomG(atom)));
      const source = atom.alpha === 0 ? smoothedAtom('exp')!.smoothing.source : gaussianBump.source;
      if (!sources.includes(source)) sources.push(source);
      if (atom.alpha !== 0) {
        const alpha = compact(asNode(atom.alpha));
        notes.push(
          typeof atom.alpha === 'number' && atom.alpha < 0
            ? `${atom.text}: finite for every s ≥ 0 (α = ${alpha} < 0)`
            : `${atom.text}: finite only while 1 − 2αs > 0, α = ${alpha} the coefficient of z² (smoothedValidity says where)`,
        );
      }
    } else {
      G = cAdd(G, cMul(coefficient, argumentAtomG(atom)));
      composed.push({ coefficient, atom });
      const source = smoothedAtom(atom.kind)!.smoothing.source;
      if (!sources.includes(source)) sources.push(source);
      if (atom.slope !== 1 || atom.offset !== 0) affine = true;
      if (kinked(atom.kind)) kinks.push(atom.text);
    }
  }
  G = cAdd(cAdd(polynomialSmoothed(taylor, 0), residual), G);
  if (affine) sources.push(SOURCES.affine);
  if (d.usesMax) {
    sources.push(SOURCES.max);
    notes.push('max and min through relu hold for any slopes: no range restriction on the parameters');
  }
  if (d.terms.length + (hasPolynomial ? 1 : 0) > 1) sources.unshift('G is linear in φ: the G of a sum is the sum of the G of its terms');
  if (!sources.length) sources.push('a constant: G = φ');
  if (kinks.length)
    notes.push(`${[...new Set(kinks)].join(', ')}: needs s > 0 (the closed form divides by √s; at s = 0, G(mu, 0) = φ(mu))`);
  const smoothed: GaussianSmoothed = { G: asNode(G), source: sources.join('; '), notes };
  smoothedParts.set(smoothed, { taylor, residual, composed });
  return smoothed;
}

/** Recognise an activation and attach its closed-form Gaussian smoothing where one exists. */

export function smoothedEvaluator(node: MathNode, parameters: Readonly<Record<string, number>> = {}): (mu: number, s: number) => number {
  const code = node.compile();
  const scope: Record<string, unknown> = { ...NAMED_CONSTANTS, ...FLOAT64_FUNCTIONS, ...parameters, [MEAN]: 0, [VARIANCE]: 0 };
  return (mu: number, s: number) => {
    scope[MEAN] = mu;
    scope[VARIANCE] = s;
    return Number(code.evaluate(scope));
  };
}

export function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(12)));
}

/**
 * Why G (or any g_k) is undefined at (mu, s), or undefined where it is defined: a negative variance,
 * s = 0 for kinks, an infinite expectation (exp(α z²) for 2αs ≥ 1), a float64 overflow.
 */
export function smoothedValidity(
  a: Activation,
  mu: number,
  s: number,
  parameters: Readonly<Record<string, number>> = {},
): string | undefined {
  const expr = a.expression;
  if (!a.smoothed) return `"${expr.source}" has no closed-form G(mu, s); its g_k come from the Stein form by quadrature`;
  if (!Number.isFinite(mu) || !Number.isFinite(s)) return `G needs finite mu and s, got mu = ${mu}, s = ${s}`;
  if (s < 0) return `s is a variance and must be ≥ 0, got s = ${s}`;
  const missing = expr.parameters.filter((p) => typeof parameters[p] !== 'number' || !Number.isFinite(parameters[p]));
  if (missing.length) throw new InputError(`expression "${expr.source}": G needs values for ${missing.join(', ')}`);
  const scope = { ...NAMED_CONSTANTS, ...FLOAT64_FUNCTIONS, ...parameters };
  const d = decompose(expr.node);
  for (const { atom } of d?.terms ?? []) {
    if (atom.kind === 'exp') {
      const alpha = typeof atom.alpha === 'number' ? atom.alpha : Number(atom.alpha.compile().evaluate({ ...scope }));
      if (alpha > 0 && 1 - 2 * alpha * s <= 0)
        return `E[${atom.text}] is infinite for s ≥ 1/(2α) = ${formatNumber(1 / (2 * alpha))} (α = ${formatNumber(alpha)}, the coefficient of z²), got s = ${s}`;
    } else if (kinked(atom.kind) && s === 0) {
      return `G of ${atom.text} needs s > 0: the closed form divides by √s (at s = 0, G(mu, 0) = φ(mu))`;
    }
  }
  const value = smoothedEvaluator(a.smoothed.G, parameters)(mu, s);
  if (!Number.isFinite(value)) return `G evaluates to ${value} at mu = ${mu}, s = ${s} (beyond float64)`;
  return undefined;
}

