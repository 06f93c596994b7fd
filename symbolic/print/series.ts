/**
 * The series helpers (symbolic/series-recurrences.ts) as source code. Their trees are printed by the
 * target's CodePrinter with each coefficient a(i) written as the target indexes it (0- or 1-based);
 * the loops around them are written by the target in its own idiom: `sum(… for j in range(…))` over
 * lists of arrays in Python, loops over doubles in JavaScript, C and Julia (loopRecurrence).
 */
import { parse, type MathNode } from '../math.ts';
import { isCall, isComposite, type SeriesComposite, type SeriesHelper, type SeriesRecurrence } from '../series-recurrences.ts';
import type { CodePrinter } from './code.ts';

/** A printed tree, the series whose coefficients it reads and the other symbols it uses. */
export interface PrintedValue {
  readonly text: string;
  readonly reads: ReadonlySet<string>;
  readonly uses: ReadonlySet<string>;
}

export interface PrintedOutput {
  readonly name: string;
  readonly leading: readonly PrintedValue[];
  /** Σ term for j = from…to, started at the offset (if any); bounds as integer code, `until` = to + 1. */
  readonly sum?: { readonly from: string; readonly to: string; readonly until: string; readonly term: PrintedValue; readonly offset?: PrintedValue };
  /** Coefficient k, given the accumulated sum as code (ignored without a sum); undefined where it is 0. */
  readonly value: (accumulated: string) => PrintedValue | undefined;
  /** Whether a coefficient reads earlier coefficients of the outputs. */
  readonly recurs: boolean;
  /** Coefficient i (a number or an integer expression of k) as the target indexes it. */
  readonly at: (i: number | string) => string;
}

export interface PrintedRecurrence {
  readonly helper: SeriesRecurrence;
  readonly outputs: readonly PrintedOutput[];
  readonly shape?: PrintedValue;
  /** Scalar arguments no tree reads (C declares them used). */
  readonly unused: readonly string[];
}

export type PrintedStep = { readonly let: string; readonly value: string } | { readonly let: readonly string[]; readonly call: string; readonly args: readonly string[] };

export interface PrintedComposite {
  readonly helper: SeriesComposite;
  readonly steps: readonly PrintedStep[];
}

interface AnyNode {
  type: string;
  name?: string;
  fn?: string | { name: string };
  args?: MathNode[];
  value?: unknown;
  content?: MathNode;
}

/** An integer expression (symbols, integers, +, −, integer ×) as symbol → coefficient, '' the constant. */
function affine(node: MathNode): Map<string, number> {
  const n = node as unknown as AnyNode;
  const scaled = (m: Map<string, number>, c: number) => new Map([...m].map(([s, v]) => [s, c * v]));
  const plus = (a: Map<string, number>, b: Map<string, number>) => {
    const out = new Map(a);
    for (const [s, v] of b) out.set(s, (out.get(s) ?? 0) + v);
    return out;
  };
  if (n.type === 'ConstantNode' && Number.isInteger(Number(n.value))) return new Map([['', Number(n.value)]]);
  if (n.type === 'SymbolNode') return new Map([[n.name!, 1]]);
  if (n.type === 'ParenthesisNode') return affine(n.content!);
  if (n.type === 'OperatorNode') {
    const args = n.args!.map(affine);
    if (n.fn === 'add') return plus(args[0], args[1]);
    if (n.fn === 'subtract') return plus(args[0], scaled(args[1], -1));
    if (n.fn === 'unaryMinus') return scaled(args[0], -1);
    const constant = (m: Map<string, number>) => ([...m].every(([s]) => s === '') ? (m.get('') ?? 0) : undefined);
    if (n.fn === 'multiply' && constant(args[0]) !== undefined) return scaled(args[1], constant(args[0])!);
    if (n.fn === 'multiply' && constant(args[1]) !== undefined) return scaled(args[0], constant(args[1])!);
  }
  throw new Error(`internal: "${node.toString()}" is not an integer index`);
}

/** An integer expression plus `offset`, as code: `k - j + 1`. */
export function indexText(node: MathNode, offset = 0): string {
  const terms = affine(node);
  terms.set('', (terms.get('') ?? 0) + offset);
  const parts: string[] = [];
  for (const [s, c] of terms) {
    if (c === 0 || s === '') continue;
    const magnitude = Math.abs(c) === 1 ? s : `${Math.abs(c)} * ${s}`;
    parts.push(parts.length === 0 ? (c < 0 ? `-${magnitude}` : magnitude) : `${c < 0 ? '-' : '+'} ${magnitude}`);
  }
  const constant = terms.get('')!;
  if (parts.length === 0) return String(constant);
  if (constant !== 0) parts.push(`${constant < 0 ? '-' : '+'} ${Math.abs(constant)}`);
  return parts.join(' ');
}

/** A sum or difference of the indices k, j and integers. */
function isIndexSum(node: MathNode): boolean {
  const v = node as unknown as AnyNode;
  const sum = v.type === 'OperatorNode' && (v.fn === 'add' || v.fn === 'subtract');
  if (!sum && !(v.type === 'ParenthesisNode' && isIndexSum(v.content!))) return false;
  let integer = true;
  node.traverse((n) => {
    const w = n as unknown as AnyNode;
    if (w.type === 'SymbolNode') integer &&= w.name === 'k' || w.name === 'j';
    else if (w.type === 'ConstantNode') integer &&= Number.isInteger(Number(w.value));
    else if (w.type === 'OperatorNode') integer &&= ['add', 'subtract', 'unaryMinus', 'multiply'].includes(w.fn as string);
    else integer &&= w.type === 'ParenthesisNode';
  });
  return integer;
}

/** Prints a helper's trees: coefficients indexed from `origin`, the other symbols by their names. */
function treePrinter(p: CodePrinter, origin: 0 | 1, series: readonly string[], names: readonly string[]): (text: string, renamed?: Readonly<Record<string, string>>) => PrintedValue {
  const isSeries = new Set(series);
  return (text, renamed = {}) => {
    const reads = new Set<string>();
    const symbols: Record<string, string> = { ...Object.fromEntries(names.map((n) => [n, n])), ...renamed };
    let count = 0;
    const placeholder = (code: string) => {
      const name = `placeholder__${count++}`;
      symbols[name] = code;
      return parse(name);
    };
    const uses = new Set<string>();
    const node = parse(text).transform((n) => {
      const v = n as unknown as AnyNode;
      if (v.type === 'FunctionNode' && isSeries.has((v.fn as { name: string }).name)) {
        reads.add((v.fn as { name: string }).name);
        return placeholder(`${(v.fn as { name: string }).name}[${indexText(v.args![0], origin)}]`);
      }
      // Integer index arithmetic as written: p j − (k − j) is not p j − k + j in floating point.
      if (isIndexSum(n)) return placeholder(`(${indexText(n)})`);
      if (v.type === 'SymbolNode') uses.add(v.name!);
      return n;
    });
    return { text: p.code(node, symbols), reads, uses };
  };
}

export function printRecurrence(h: SeriesRecurrence, p: CodePrinter, origin: 0 | 1): PrintedRecurrence {
  const outputs = h.outputs.map((o) => o.name);
  const accumulated = 'accumulated__';
  const print = treePrinter(p, origin, [...h.series, ...outputs], [...h.args, 'k', 'j', accumulated]);
  const used = new Set<string>();
  const value = (text: string, symbols: Record<string, string> = {}) => {
    const printed = print(text, symbols);
    for (const name of printed.uses) used.add(name);
    return printed;
  };
  const printed = h.outputs.map((o): PrintedOutput => {
    const term = o.sum && value(o.sum.term);
    const offset = o.offset === undefined ? undefined : value(o.offset);
    const divisor = o.divisor === undefined ? undefined : value(o.divisor);
    const numerator = o.sum ? accumulated : o.offset;
    const finish = (acc: string) => (numerator === undefined ? undefined : value(o.divisor ? `(${numerator}) / (${o.divisor})` : numerator, { [accumulated]: acc }));
    const parts = [term, offset, divisor].filter((v) => v !== undefined);
    return {
      name: o.name,
      leading: (o.leading ?? []).map((text) => value(text)),
      sum: o.sum && { from: indexText(parse(o.sum.from)), to: indexText(parse(o.sum.to)), until: indexText(parse(o.sum.to), 1), term: term!, offset },
      value: finish,
      recurs: parts.some((v) => outputs.some((name) => v.reads.has(name))),
      at: (i) => `${o.name}[${indexText(parse(String(i)), origin)}]`,
    };
  });
  const unused = h.args.filter((a) => !h.series.includes(a) && !used.has(a));
  return { helper: h, outputs: printed, shape: h.shape === undefined ? undefined : print(h.shape), unused };
}

export function printComposite(h: SeriesComposite, p: CodePrinter, origin: 0 | 1): PrintedComposite {
  const scalars = h.args.filter((a) => !h.series.includes(a));
  const lets = h.steps.filter((s) => !isCall(s)).map((s) => s.let as string);
  const print = treePrinter(p, origin, h.series, [...scalars, ...lets]);
  const seriesNames = new Set([...h.series, ...h.steps.filter(isCall).flatMap((s) => (typeof s.let === 'string' ? [s.let] : [...s.let]))]);
  const steps = h.steps.map((s): PrintedStep => {
    if (!isCall(s)) return { let: s.let, value: print(s.value).text };
    return { let: typeof s.let === 'string' ? [s.let] : [...s.let], call: s.call, args: s.args.map((a) => (seriesNames.has(a) ? a : print(a).text)) };
  });
  return { helper: h, steps };
}

/** How a target writes the helpers: each recurrence and each composite as a whole function. */
export interface SeriesHelperSyntax {
  readonly origin: 0 | 1;
  readonly recurrence: (r: PrintedRecurrence) => string[];
  readonly composite: (c: PrintedComposite) => string[];
}

export function seriesHelperSource(h: SeriesHelper, p: CodePrinter, syntax: SeriesHelperSyntax): string[] {
  return isComposite(h) ? syntax.composite(printComposite(h, p, syntax.origin)) : syntax.recurrence(printRecurrence(h, p, syntax.origin));
}

/** How a language with loops over doubles (JavaScript, C, Julia) writes a recurrence's parts. */
export interface LoopSyntax {
  /** Lines opening the function (indented): its header, N (the number of coefficients) and the outputs allocated. */
  readonly open: (r: PrintedRecurrence) => string[];
  /** Whether outputs start as zeros (zero coefficients are not written). */
  readonly zeroed: boolean;
  /** `target = value`. */
  readonly set: (target: string, value: string) => string;
  /** A statement run only where N > n. */
  readonly guard: (n: number, statement: string) => string;
  /** The line opening the loop over k from `start` to N − 1. */
  readonly loop: (start: number) => string;
  /** One line: `statement` for k from `start` to N − 1. */
  readonly loopLine: (start: number, statement: string) => string;
  /** `name = value` for a new accumulator. */
  readonly declare: (name: string, value: string) => string;
  /** `name += value`. */
  readonly accumulate: (name: string, value: string) => string;
  /** One line: the statements for j = from…to. */
  readonly sum: (from: string, to: string, statements: readonly string[]) => string;
  /** Lines closing the loop over k. */
  readonly close: readonly string[];
  /** Lines closing the function (returning the outputs). */
  readonly end: (r: PrintedRecurrence) => string[];
  readonly indent: string;
}

/** The loops of a language with braces (JavaScript, C), given how it declares an integer and a double. */
export function braceLoops(types: { readonly int: string; readonly double: string }): Omit<LoopSyntax, 'open' | 'zeroed' | 'end'> {
  const loop = (start: number) => `for (${types.int} k = ${start}; k < N; k++)`;
  return {
    set: (target, value) => `${target} = ${value};`,
    guard: (n, statement) => `if (N > ${n}) ${statement}`,
    loop: (start) => `${loop(start)} {`,
    loopLine: (start, statement) => `${loop(start)} ${statement}`,
    declare: (name, value) => `${types.double} ${name} = ${value};`,
    accumulate: (name, value) => `${name} += ${value};`,
    sum: (from, to, statements) => `for (${types.int} j = ${from}; j <= ${to}; j++) ${statements.length === 1 ? statements[0] : `{ ${statements.join(' ')} }`}`,
    close: ['}'],
    indent: '  ',
  };
}

/**
 * A recurrence as a loop over k: every output's leading coefficients, then per k an accumulator per
 * output set to its offset and summed over j (outputs with the same range of j in one loop).
 */
export function loopRecurrence(syntax: LoopSyntax): (r: PrintedRecurrence) => string[] {
  return (r) => {
    const at = syntax.indent;
    const lines = syntax.open(r);
    const start = r.outputs[0].leading.length;
    if (r.outputs.some((o) => o.leading.length !== start)) throw new Error(`internal: the outputs of ${r.helper.name} differ in their leading coefficients`);
    for (const o of r.outputs) o.leading.forEach((v, i) => lines.push(at + (i === 0 ? syntax.set(o.at(0), v.text) : syntax.guard(i, syntax.set(o.at(i), v.text)))));
    const accumulator = (i: number) => `t${i}`;
    const computed = r.outputs.map((o, i) => ({ o, value: o.value(accumulator(i))?.text ?? (syntax.zeroed ? undefined : '0.0'), i })).filter((c) => c.value !== undefined);
    if (computed.length === 0) return [...lines, ...syntax.end(r)];
    if (computed.length === 1 && !computed[0].o.sum) return [...lines, at + syntax.loopLine(start, syntax.set(computed[0].o.at('k'), computed[0].value!)), ...syntax.end(r)];
    const inner = at + at;
    lines.push(at + syntax.loop(start));
    for (const { o, i } of computed) if (o.sum) lines.push(inner + syntax.declare(accumulator(i), o.sum.offset?.text ?? '0.0'));
    const ranges = new Map<string, { from: string; to: string; statements: string[] }>();
    for (const { o, i } of computed) {
      if (!o.sum) continue;
      const key = `${o.sum.from}:${o.sum.to}`;
      if (!ranges.has(key)) ranges.set(key, { from: o.sum.from, to: o.sum.to, statements: [] });
      ranges.get(key)!.statements.push(syntax.accumulate(accumulator(i), o.sum.term.text));
    }
    for (const { from, to, statements } of ranges.values()) lines.push(inner + syntax.sum(from, to, statements));
    for (const { o, value } of computed) lines.push(inner + syntax.set(o.at('k'), value!));
    lines.push(...syntax.close.map((l) => at + l));
    return [...lines, ...syntax.end(r)];
  };
}
