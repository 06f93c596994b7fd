/**
 * What the loop targets (C, Julia) share: index arithmetic of dense row-major tensors, one rule term
 * as a product of scalars and a rule's guarded sum of terms, in a target's own spelling.
 */
import type { CodePrinter } from '../../symbolic/print/code.ts';
import type { RuleShape, RuleTerm } from '../../symbolic/rule.ts';

export const LOOP_INDICES = ['i', 'j', 'k', 'l'];

/** How a loop target reads arrays: `element(array, offsetExpression)`; base 0 or 1. */
export interface ArraySyntax {
  readonly element: (array: string, offset: string) => string;
  /** Offsets are 0-based expressions in the loop indices (which run 0…n−1 in C, 1…n in Julia). */
  readonly index: (name: string) => string;
}

/** Row-major offset of a tuple of loop indices: ((i n + j) n + k). */
export function rowMajor(indices: readonly string[], syntax: ArraySyntax): string {
  return indices.map((x) => syntax.index(x)).reduce((acc, x) => `(${acc}) * n + ${x}`);
}

/** The order-r input tensor's name in emitted code. */
export const tensorName = (order: number) => (order === 1 ? 'mean' : order === 2 ? 'k2' : `k${order}`);

/** One term of a rule as a scalar product: coefficient × b[q][i] × … × κ entries^power. */
export function scalarTerm(term: RuleTerm, rule: RuleShape, p: CodePrinter, syntax: ArraySyntax, table: string): string {
  const parts: string[] = [];
  const c = term.coefficient.toNumber();
  if (c !== 1) parts.push(p.number(c));
  for (const f of term.factors) parts.push(syntax.element(table, `${f.q} * n + ${syntax.index(LOOP_INDICES[f.slot])}`));
  for (const k of term.cumulants) {
    const entry = syntax.element(tensorName(k.order), rowMajor(k.slots.map((s) => LOOP_INDICES[s]), syntax));
    parts.push(k.power === 1 ? entry : p.power({ text: entry, precedence: 5 }, { text: p.number(k.power), precedence: 5 }).text);
  }
  return parts.length ? parts.join(' * ') : '1.0';
}

/** Terms grouped by the input cumulant orders they need: a missing order contributes nothing. */
export function termGroups(rule: RuleShape): Array<{ orders: number[]; terms: RuleTerm[] }> {
  const groups = new Map<string, { orders: number[]; terms: RuleTerm[] }>();
  for (const t of rule.terms) {
    const orders = [...new Set(t.cumulants.map((c) => c.order))].sort((a, b) => a - b);
    const key = orders.join(',');
    if (!groups.has(key)) groups.set(key, { orders, terms: [] });
    groups.get(key)!.terms.push(t);
  }
  return [...groups.values()];
}

/** How a loop target spells a guarded block: a missing input cumulant skips the terms that need it. */
export interface BlockSyntax {
  /** The condition that the order-r input tensor was given. */
  readonly given: (order: number) => string;
  readonly open: (condition: string) => string;
  readonly close: string;
  /** Ends a statement (';' in C, '' in Julia). */
  readonly end: string;
  /** One level of indentation. */
  readonly step: string;
}

/** `acc += term` for every term of a rule, each group inside the guard on the input orders it needs. */
export function accumulateTerms(rule: RuleShape, p: CodePrinter, syntax: ArraySyntax, block: BlockSyntax, indent: string): string[] {
  const lines: string[] = [];
  for (const g of termGroups(rule)) {
    const guard = g.orders.filter((o) => o >= 2).map(block.given);
    const inner = guard.length ? indent + block.step : indent;
    if (guard.length) lines.push(`${indent}${block.open(guard.join(' && '))}`);
    for (const t of g.terms) lines.push(`${inner}acc += ${scalarTerm(t, rule, p, syntax, 'b')}${block.end}`);
    if (guard.length) lines.push(`${indent}${block.close}`);
  }
  return lines;
}
