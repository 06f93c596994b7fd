import { InputError } from '../../symbolic/errors.ts';
import { parseActivation } from '../../symbolic/expression.ts';
import { LatexPrinter } from '../../symbolic/print/latex.ts';
import { TextPrinter } from '../../symbolic/print/text.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER, requiredInputOrder, transferRule, type TransferRule } from '../../symbolic/rule.ts';
import { polynomialActivation, type PolynomialActivation } from '../../symbolic/taylor.ts';
import { integerOption, oneOf, parameterOptions, parseOptions, type Command } from './command.ts';

export const deriveCommand: Command = {
  name: 'derive',
  summary: 'derive the cumulant transfer rules of an activation',
  usage: `Usage: corrmap derive <expr> [--order n] [--input-order K] [--param a=0.5 …] [--format text|latex|json]

Derive how the cumulants of the pre-activation z map to those of y = φ(z) (DESIGN §4): the mean
and every output cumulant up to order n, in terms of the input mean μ and cumulants Σ, T, Q, … up
to order K. Exact for polynomial activations whenever K ≥ d·n (degree d).

Arguments:
  <expr>               φ as an expression in z (mathjs syntax), e.g. "z + a*z^2", "z^3 - z"

Options:
  --order n            highest output cumulant order, 1…${MAX_OUTPUT_ORDER} (default 2)
  --input-order K      highest input cumulant kept, 1…${MAX_INPUT_ORDER} (default: d·n, the exact rule,
                       at most ${MAX_INPUT_ORDER}); K = 2 is the Gaussian closure
  --param name=value   give a parameter a value (repeatable); others stay symbolic
  --format f           text (default), latex or json
  -h, --help           show this help

Examples:
  corrmap derive "z + a*z^2" --order 2 --input-order 4
  corrmap derive "c0 + c1*z + c2*z^2 + c3*z^3" --order 3 --format latex
  corrmap derive "z + a*z^2" --param a=0.1 --input-order 2 --format json`,
  run(argv, out) {
    const { values, positionals } = parseOptions('derive', argv, {
      order: { type: 'string', short: 'n' },
      'input-order': { type: 'string', short: 'K' },
      param: { type: 'string', multiple: true, short: 'p' },
      format: { type: 'string', short: 'f' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1)
      throw new InputError(`derive takes one expression, got ${positionals.length} (quote it: corrmap derive "z + a*z^2")`);
    const order = integerOption(values.order, 'order', 1, MAX_OUTPUT_ORDER, 2);
    const format = oneOf(values.format, 'format', ['text', 'latex', 'json'] as const, 'text');
    const started = performance.now();
    const activation = polynomialActivation(parseActivation(positionals[0], parameterOptions(values.param)));
    const inputOrder = integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, Math.min(MAX_INPUT_ORDER, requiredInputOrder(activation.degree, order)));
    const rules = Array.from({ length: order }, (_, k) => transferRule(activation, k + 1, inputOrder));
    const elapsed = performance.now() - started;
    if (format === 'json') out.log(JSON.stringify(ruleSetJson(activation, rules, elapsed), null, 1));
    else if (format === 'latex') out.log(ruleSetLatex(activation, rules));
    else out.log(ruleSetText(activation, rules, elapsed));
  },
};

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
      terms: rule.terms.map((t) => ({
        coefficient: t.coefficient.toString(),
        taylor: t.factors.map((f) => ({ q: f.q, index: rule.indices[f.slot] })),
        cumulants: t.cumulants.map((c) => ({ order: c.order, indices: c.slots.map((s) => rule.indices[s]).join(''), power: c.power })),
      })),
    })),
    ...(elapsedMs !== undefined ? { elapsedMs: Math.round(elapsedMs * 10) / 10 } : {}),
  };
}
