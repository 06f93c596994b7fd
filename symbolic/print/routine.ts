/**
 * Routines (symbolic/routine.ts) as source code: each target states how it writes a function, a
 * binding, a Gauss–Legendre loop and a return; the steps and their trees are printed by the
 * target's CodePrinter. The node tables are emitted once per file beside the routines.
 */
import { parse } from '../math.ts';
import { isSum, legendreOrders, type Routine } from '../routine.ts';
import type { CodePrinter } from './code.ts';

export interface RoutineSyntax {
  /** Lines opening the function. */
  readonly open: (name: string, args: readonly string[]) => string[];
  /** One binding. */
  readonly bind: (name: string, value: string) => string;
  /** Lines starting `name = Σ_i w_i term(x_i)` over the n-point rule: the sum set to 0 and a loop that binds x (and w). */
  readonly loop: (name: string, n: number) => string[];
  /** The loop's accumulation. */
  readonly accumulate: (name: string, n: number, term: string) => string;
  /** Lines closing the loop. */
  readonly close: readonly string[];
  readonly ret: (value: string) => string;
  /** Lines closing the function. */
  readonly end: readonly string[];
  /** The node and weight tables of the n-point rule. */
  readonly table: (n: number, nodes: readonly number[], weights: readonly number[]) => string[];
  readonly indent: string;
}

function names(routine: Routine): Record<string, string> {
  const all = [...routine.args, 'x', ...routine.steps.flatMap((s) => (isSum(s) ? [s.let, ...s.steps.map((t) => t.let)] : [s.let]))];
  return Object.fromEntries(all.map((n) => [n, n]));
}

/** One routine as source lines. */
export function routineSource(routine: Routine, p: CodePrinter, syntax: RoutineSyntax): string[] {
  const symbols = names(routine);
  const code = (text: string) => p.code(parse(text), symbols);
  const lines = syntax.open(p.helperName(routine.name), routine.args);
  const at = syntax.indent;
  for (const step of routine.steps) {
    if (!isSum(step)) {
      lines.push(at + syntax.bind(step.let, code(step.value)));
      continue;
    }
    lines.push(...syntax.loop(step.let, step.legendre).map((l) => at + l));
    for (const inner of step.steps) lines.push(at + at + syntax.bind(inner.let, code(inner.value)));
    lines.push(at + at + syntax.accumulate(step.let, step.legendre, code(step.term)));
    lines.push(...syntax.close.map((l) => at + l));
  }
  lines.push(at + syntax.ret(code(routine.result)), ...syntax.end);
  return lines;
}

/** An n-point Gauss–Legendre rule on [−1, 1] (numeric/gauss.ts gaussLegendre). */
export type LegendreRule = (n: number) => { readonly nodes: ArrayLike<number>; readonly weights: ArrayLike<number> };

/** The routines with the Gauss–Legendre tables they use, in dependency order. */
export function routinesSource(routines: readonly Routine[], p: CodePrinter, syntax: RoutineSyntax, legendre: LegendreRule): string[] {
  const lines: string[] = [];
  for (const n of legendreOrders(routines)) {
    const { nodes, weights } = legendre(n);
    lines.push(...syntax.table(n, Array.from(nodes), Array.from(weights)));
  }
  for (const r of routines) lines.push('', ...routineSource(r, p, syntax));
  return lines;
}
