import { InputError } from '../../symbolic/errors.ts';
import { parseActivation, polynomialDegree } from '../../symbolic/expression.ts';
import { activationOf, smoothedDerivatives, undefinedPoint, type Activation } from '../../symbolic/activations.ts';
import { MAX_GAUSSIAN_ORDER, gaussianRule, type GaussianRule } from '../../symbolic/gaussian.ts';
import { LatexPrinter } from '../../symbolic/print/latex.ts';
import { TextPrinter } from '../../symbolic/print/text.ts';
import { DEFAULT_MAX_MEMORY, MAX_INPUT_ORDER, MAX_OUTPUT_ORDER, bytesText, checkRuleCost, requiredInputOrder, ruleCost, transferRule, type TransferRule } from '../../symbolic/rule.ts';
import { MAX_EXPRESSION_LENGTH, MAX_NESTING, NUMBER_RANGE, RESERVED_SYMBOLS } from '../../symbolic/expression.ts';
import { polynomialActivation, type PolynomialActivation } from '../../symbolic/taylor.ts';
import { integerOption, memoryOption, oneOf, parameterOptions, parseOptions, type Command } from './command.ts';

export const deriveCommand: Command = {
  name: 'derive',
  summary: 'derive the cumulant transfer rules of an activation',
  usage: `Usage: corrmap derive <expr> [--order n] [--input-order K] [--param a=0.5 …] [--format text|latex|json]

Derive how the cumulants of the pre-activation z map to those of y = φ(z) (docs/theory.md §Polynomial activations): the mean
and every output cumulant up to order n, in terms of the input mean μ and cumulants Σ, T, Q, … up
to order K. Exact for polynomial activations whenever K ≥ d·n (degree d).

Any other activation (relu(z), tanh(z), erf(b*z), gelu(z), …) is derived under the Gaussian closure
(docs/theory.md §Gaussian closure, n ≤ ${MAX_GAUSSIAN_ORDER}): its Gaussian-smoothed form G(μ, s) = E[φ(μ + √s X)] where a closed form exists,
g_k = ∂^k G/∂μ^k, and the series for the mean, covariance and third cumulant in g_k(i) and Σ_ij.

Arguments:
  <expr>               φ as an expression in z (mathjs syntax), e.g. "z + a*z^2", "z^3 - z"

Options:
  --order n            highest output cumulant order, 1…${MAX_OUTPUT_ORDER} (default 2)
  --input-order K      highest input cumulant kept, 1…${MAX_INPUT_ORDER} (default: d·n, the exact rule,
                       at most ${MAX_INPUT_ORDER}); K = 2 is the Gaussian closure
  --param name=value   give a parameter a value (repeatable); others stay symbolic
  --format f           text (default), latex or json
  --max-memory m       memory the rules may take (default ${bytesText(DEFAULT_MAX_MEMORY)}; about 1 kB per term);
                       larger rules are refused before any work, with their size
  -h, --help           show this help

Limits: expressions of at most ${MAX_EXPRESSION_LENGTH} characters and ${MAX_NESTING} levels of brackets; numbers and
parameter values 0 or of magnitude ${NUMBER_RANGE.min}…${NUMBER_RANGE.max}; parameters may not be named like
the rules' own symbols (${Object.keys(RESERVED_SYMBOLS).join(', ')}).

Examples:
  corrmap derive "z + a*z^2" --order 2 --input-order 4
  corrmap derive "c0 + c1*z + c2*z^2 + c3*z^3" --order 3 --format latex
  corrmap derive "z + a*z^2" --param a=0.1 --input-order 2 --format json
  corrmap derive "relu(z)" --order 3
  corrmap derive "tanh(z)" --format json`,
  run(argv, out) {
    const { values, positionals } = parseOptions('derive', argv, {
      order: { type: 'string', short: 'n' },
      'input-order': { type: 'string', short: 'K' },
      param: { type: 'string', multiple: true, short: 'p' },
      format: { type: 'string', short: 'f' },
      'max-memory': { type: 'string' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1)
      throw new InputError(`derive takes one expression, got ${positionals.length} (quote it: corrmap derive "z + a*z^2")`);
    const order = integerOption(values.order, 'order', 1, MAX_OUTPUT_ORDER, 2);
    const format = oneOf(values.format, 'format', ['text', 'latex', 'json'] as const, 'text');
    const inputOrder = values['input-order'] === undefined ? undefined : integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, 2);
    const maxMemory = memoryOption(values['max-memory'], DEFAULT_MAX_MEMORY);
    const started = performance.now();
    const result = derivation(positionals[0], parameterOptions(values.param), { order, inputOrder, maxMemory });
    const elapsed = performance.now() - started;
    if (format === 'json') out.log(JSON.stringify({ ...result.json, ...(result.estimate ? { estimate: result.estimate } : {}), elapsedMs: Math.round(elapsed * 10) / 10 }, null, 1));
    else if (format === 'latex') out.log(`${result.latex}${result.estimate && result.estimate.seconds >= 1 ? `\n% derived in ${elapsed.toFixed(1)} ms (estimated ${result.estimate.seconds.toFixed(1)} s for ${result.estimate.terms} terms)` : ''}`);
    else out.log(`${result.text}\n\nderived in ${elapsed.toFixed(1)} ms${result.estimate && result.estimate.seconds >= 1 ? ` (estimated ${result.estimate.seconds.toFixed(1)} s for ${result.estimate.terms} terms)` : ''}`);
  },
};

/** What derive computes, in every format: rules of a polynomial, or the Gaussian closure of another φ. */
export interface Derivation {
  readonly kind: 'polynomial' | 'gaussian-closure';
  readonly text: string;
  readonly latex: string;
  readonly json: Record<string, unknown>;
  /** The exact rules, orders 1…n (polynomial activations). */
  readonly rules?: readonly TransferRule[];
  /** What the rules were estimated to take before they were derived (polynomial activations). */
  readonly estimate?: { terms: number; bytes: number; seconds: number };
}

/**
 * The transfer rules of φ given as text: exact rules for a polynomial (K defaults to d·n, at most
 * ${MAX_INPUT_ORDER}), the Gaussian closure otherwise (K = 2). Rules larger than maxMemory are refused
 * before any work.
 */
export function derivation(source: string, params: Readonly<Record<string, number>>, options: { order: number; inputOrder?: number; maxMemory?: number }): Derivation {
  const { order } = options;
  const maxMemory = options.maxMemory ?? DEFAULT_MAX_MEMORY;
  const expression = parseActivation(source, params);
  if (!('degree' in polynomialDegree(expression))) {
    if (order > MAX_GAUSSIAN_ORDER) throw new InputError(`--order ${order}: for a non-polynomial activation the Gaussian closure gives orders up to ${MAX_GAUSSIAN_ORDER}`);
    if (options.inputOrder !== undefined && options.inputOrder !== 2)
      throw new InputError(`--input-order ${options.inputOrder}: a non-polynomial activation is derived under the Gaussian closure (K = 2); leave --input-order out or give 2`);
    const activation = activationOf(expression);
    const bad = expression.parameters.length === 0 ? undefinedPoint(activation) : undefined;
    if (bad !== undefined)
      throw new InputError(`φ(z) = ${expression.source} is not a real number at z = ${Number(bad.toFixed(2))}: a Gaussian expectation needs φ defined on the whole real line`);
    return { kind: 'gaussian-closure', ...generalDerivation(activation, order) };
  }
  const activation = polynomialActivation(expression);
  const inputOrder = options.inputOrder ?? Math.min(MAX_INPUT_ORDER, requiredInputOrder(activation.degree, order));
  for (let k = order; k >= 1; k--) checkRuleCost(activation.degree, k, inputOrder, maxMemory);
  const costs = Array.from({ length: order }, (_, k) => ruleCost(activation.degree, k + 1, inputOrder, maxMemory));
  const estimate = { terms: costs.reduce((s, c) => s + c.terms, 0), bytes: costs.reduce((s, c) => s + c.bytes, 0), seconds: costs.reduce((s, c) => s + c.seconds, 0) };
  const rules = Array.from({ length: order }, (_, k) => transferRule(activation, k + 1, inputOrder, maxMemory));
  // Each format on demand: a rule of 10⁶ terms prints in seconds.
  return {
    kind: 'polynomial',
    rules,
    estimate,
    get text() {
      return ruleSetText(activation, rules);
    },
    get latex() {
      return ruleSetLatex(activation, rules);
    },
    get json() {
      return ruleSetJson(activation, rules) as Record<string, unknown>;
    },
  };
}

function describeActivation(a: PolynomialActivation): string {
  const e = a.expression;
  const given = Object.entries(e.values).map(([k, v]) => `${k} = ${v}`);
  const parts = [`polynomial of degree ${a.degree}`];
  if (e.parameters.length) parts.push(`symbolic: ${e.parameters.join(', ')}`);
  if (given.length) parts.push(given.join(', '));
  return parts.join('; ');
}

function truncationNote(rule: TransferRule): string {
  const need = requiredInputOrder(rule.activation.degree, rule.order);
  if (rule.exact) return `exact for any input (K = ${rule.inputOrder} ≥ d·n = ${need})`;
  const closure = rule.inputOrder === 2 ? 'Gaussian closure: ' : '';
  return `${closure}input cumulants above order K = ${rule.inputOrder} dropped (exact needs K ≥ ${need})`;
}

export function ruleSetText(activation: PolynomialActivation, rules: readonly TransferRule[], elapsedMs?: number): string {
  const p = new TextPrinter();
  const lines = [`φ(z) = ${p.expression(activation.expression.node)}    (${describeActivation(activation)})`, '', 'Taylor coefficients b_q(μ) = φ^(q)(μ)/q!:'];
  activation.taylor.forEach((node, q) => lines.push(`  b_${q}(μ) = ${p.expression(node, 'μ')}`));
  for (const rule of rules) {
    lines.push('', `Order ${rule.order}: ${rule.terms.length} term${rule.terms.length === 1 ? '' : 's'}; ${truncationNote(rule)}`);
    lines.push(layout(p.lhs(rule), p.structureTerms(rule)), layout(p.lhs(rule), p.explicitTerms(rule)));
  }
  if (elapsedMs !== undefined) lines.push('', `derived in ${elapsedMs.toFixed(1)} ms`);
  return lines.join('\n');
}

/** A rule on one line when short, else one summand per line under its left-hand side. */
function layout(lhs: string, terms: readonly { sign: 1 | -1; text: string }[]): string {
  const oneLine = terms.length <= 8 ? `  ${lhs} = ${new TextPrinter().sum(terms)}` : undefined;
  if (oneLine && oneLine.length <= 400) return oneLine;
  return [`  ${lhs} =`, ...terms.map((t, k) => `      ${k === 0 ? (t.sign < 0 ? '- ' : '  ') : t.sign < 0 ? '- ' : '+ '}${t.text}`)].join('\n');
}

export function ruleSetLatex(activation: PolynomialActivation, rules: readonly TransferRule[]): string {
  const p = new LatexPrinter();
  const t = new TextPrinter();
  const lines = [`% corrmap: cumulant transfer rules of phi(z) = ${t.expression(activation.expression.node)} (${describeActivation(activation)})`, '\\begin{align}'];
  activation.taylor.forEach((node, q) => lines.push(`  b_{${q}}(\\mu) &= ${p.expression(node, '\\mu')} \\\\`));
  rules.forEach((rule, k) => {
    lines.push(`  % order ${rule.order}: ${truncationNote(rule)}`);
    lines.push(`  ${p.ruleStructure(rule).replace(' = ', ' &= ')} \\\\`);
    lines.push(`  ${p.ruleExplicit(rule).replace(/^.*? = /, '&= ')}${k === rules.length - 1 ? '' : ' \\\\'}`);
  });
  lines.push('\\end{align}');
  return lines.join('\n');
}

export function ruleSetJson(activation: PolynomialActivation, rules: readonly TransferRule[], elapsedMs?: number): unknown {
  const text = new TextPrinter();
  const latex = new LatexPrinter();
  return {
    activation: {
      expression: activation.expression.source,
      parameters: activation.expression.parameters,
      values: activation.expression.values,
      degree: activation.degree,
      taylor: activation.taylor.map((node, q) => ({ q, text: text.expression(node, 'μ'), latex: latex.expression(node, '\\mu'), expression: node.toString() })),
    },
    rules: rules.map((rule) => ({
      order: rule.order,
      inputOrder: rule.inputOrder,
      exact: rule.exact,
      indices: rule.indices,
      text: text.ruleExplicit(rule),
      latex: latex.ruleExplicit(rule),
      structure: text.ruleStructure(rule),
      terms: termsJson(rule, 'taylor'),
    })),
    ...(elapsedMs !== undefined ? { elapsedMs: Math.round(elapsedMs * 10) / 10 } : {}),
  };
}

/**
 * A rule's terms as JSON. Their factors are Taylor coefficients b_q (exact rules, key "taylor", {q,
 * index}) or smoothed derivatives g_k (Gaussian closure, key "g", {k, index}); the rest is common.
 */
function termsJson(rule: TransferRule | GaussianRule, factors: 'taylor' | 'g') {
  return rule.terms.map((t) => ({
    coefficient: t.coefficient.toString(),
    [factors]: t.factors.map((f) => (factors === 'taylor' ? { q: f.q, index: rule.indices[f.slot] } : { k: f.q, index: rule.indices[f.slot] })),
    cumulants: t.cumulants.map((c) => ({ order: c.order, indices: c.slots.map((s) => rule.indices[s]).join(''), power: c.power })),
  }));
}

/** Terms of the Gaussian-closure series printed before "+ …". */
const SHOWN_TRUNCATION = { 2: 4, 3: 3 } as Readonly<Record<number, number>>;

/**
 * A non-polynomial activation: its Gaussian-smoothed form G(μ, s), the g_k = ∂^k_μ G (closed form)
 * or how they are computed (quadrature), and the Gaussian-closure rules of docs/theory.md §Gaussian closure with their
 * first terms.
 */
export function generalDerivation(a: Activation, order: number): { text: string; latex: string; json: Record<string, unknown> } {
  const t = new TextPrinter();
  const l = new LatexPrinter();
  const kShown = Math.max(3, order >= 2 ? SHOWN_TRUNCATION[2] : 0);
  const g = a.smoothed ? smoothedDerivatives(a, kShown) : undefined;
  const rules = Array.from({ length: order }, (_, k) => gaussianRule(k + 1, k === 0 ? 1 : SHOWN_TRUNCATION[k + 1]));
  const seriesNote = (n: number) =>
    n === 1 ? 'exact for Gaussian z' : n === 2 ? 'Mehler series; numerically truncated for a tolerance with a bound on the rest; the diagonal is E[φ²] − g_0²' : 'connected three-vertex diagrams; repeated indices computed directly';
  const kind = a.smoothed ? `closed form (${a.smoothed.source})` : 'no closed form: g_k = s^(−k/2) E[φ(μ + √s X) He_k(X)] by Gauss–Hermite quadrature (split at kinks)';
  const text = [
    `φ(z) = ${t.expression(a.expression.node)}    (${a.name}; ${a.smooth ? 'smooth' : 'with kinks or jumps'})`,
    '',
    `Gaussian-smoothed form, z ~ N(μ, s): ${kind}`,
    ...(a.smoothed ? [`  G(μ, s) = ${t.expression(a.smoothed.G)}`, ...a.smoothed.notes.map((n) => `  note: ${n}`)] : []),
    ...(g ? ['', 'g_k(μ, s) = ∂^k G/∂μ^k = E[φ^(k)(z)]:', ...g.map((node, k) => `  g_${k} = ${t.expression(node)}`)] : []),
    '',
    'Rules under the Gaussian closure (K = 2; exact for Gaussian z up to the series\' truncation):',
    ...rules.map((r) => `  ${t.ruleStructure(r)}${r.order > 1 ? ' + …' : ''}\n      (${seriesNote(r.order)})`),
  ].join('\n');
  const latex = [
    `% corrmap: Gaussian-closure transfer rules of phi(z) = ${t.expression(a.expression.node)}`,
    '\\begin{align}',
    ...(a.smoothed ? [`  G(\\mu, s) &= ${l.expression(a.smoothed.G)} \\\\`] : []),
    ...(g ? g.map((node, k) => `  g_{${k}}(\\mu, s) &= ${l.expression(node)} \\\\`) : []),
    ...rules.map((r, k) => `  ${l.ruleStructure(r).replace(' = ', ' &= ')}${r.order > 1 ? ' + \\dots' : ''}${k === rules.length - 1 ? '' : ' \\\\'}`),
    '\\end{align}',
  ].join('\n');
  const json = {
    activation: { expression: a.expression.source, name: a.name, smooth: a.smooth, values: a.expression.values },
    smoothed: a.smoothed
      ? { G: { text: t.expression(a.smoothed.G), latex: l.expression(a.smoothed.G), expression: a.smoothed.G.toString() }, source: a.smoothed.source, notes: a.smoothed.notes }
      : { method: 'quadrature of the Stein form g_k = s^(-k/2) E[phi(mu + sqrt(s) X) He_k(X)]' },
    g: g?.map((node, k) => ({ k, text: t.expression(node), latex: l.expression(node), expression: node.toString() })),
    rules: rules.map((r) => ({
      order: r.order,
      closure: 'gaussian',
      shownTerms: r.terms.length,
      series: seriesNote(r.order),
      structure: t.ruleStructure(r),
      latex: l.ruleStructure(r),
      terms: termsJson(r, 'g'),
    })),
  };
  return { text, latex, json };
}
