/**
 * Truncated Taylor series in emitted code: the tree walk of numeric/taylorseries.ts (walkSeries)
 * with an algebra that writes each operation as a call of the target's series helpers
 * (src/emit/series-runtime.ts) instead of evaluating it. So emitted code expands G(μ + σt, s) and
 * φ(μ + σt) exactly as corrmap does — the same primitives, the atoms' derivative rules for Φ and erf,
 * their definitions for the rest — to any order.
 */
import { walkSeries, type SeriesAlgebra, type SeriesPrimitive } from '../../numeric/taylorseries.ts';
import { FLOAT64_FUNCTIONS } from '../../symbolic/atoms/index.ts';
import { NAMED_CONSTANTS } from '../../symbolic/expression.ts';
import { parse, type MathNode } from '../../symbolic/math.ts';
import type { CodePrinter } from '../../symbolic/print/code.ts';

/** A value in emitted series code: a number known now, a per-unit value (no t-dependence), or a series variable. */
export type SeriesValue = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'scalar'; readonly text: string } | { readonly kind: 'series'; readonly name: string };

/** How a target writes series statements. */
export interface SeriesSyntax {
  /** A statement that sets the new series `name` of `length` coefficients to helper(args…) (C: declares it first). */
  readonly assign: (name: string, helper: string, args: readonly string[], length: number) => string;
  /** The value (coefficient 0) of a series. */
  readonly first: (name: string) => string;
}

/** The emitted program of one expansion: its statements, the series that holds the result and the helpers it calls. */
export interface SeriesProgram {
  readonly lines: readonly string[];
  readonly result: string;
  readonly helpers: ReadonlySet<string>;
}

const number = (value: number): SeriesValue => ({ kind: 'number', value });

class EmittedSeries implements SeriesAlgebra<SeriesValue> {
  readonly lines: string[] = [];
  readonly helpers = new Set<string>();
  private count = 0;
  readonly scope = FLOAT64_FUNCTIONS;

  constructor(
    private readonly p: CodePrinter,
    private readonly syntax: SeriesSyntax,
    private readonly prefix: string,
    /** The number of coefficients, as code. */
    private readonly length: number,
    /** A per-unit value whose shape constants take (Python: an array of units). */
    private readonly like: string,
  ) {}

  private text(a: SeriesValue): string {
    if (a.kind === 'number') return this.p.number(a.value);
    if (a.kind === 'scalar') return `(${a.text})`;
    throw new Error('internal: a series where a value was expected');
  }

  emit(helper: string, args: readonly string[]): SeriesValue {
    const name = `${this.prefix}${this.count++}`;
    this.helpers.add(helper);
    this.lines.push(this.syntax.assign(name, helper, args, this.length));
    return { kind: 'series', name };
  }

  series(a: SeriesValue): string {
    if (a.kind === 'series') return a.name;
    return (this.emit('const', [this.text(a), this.like]) as { name: string }).name;
  }

  /** A tree evaluated as a value: through the printer, with the bound values in place of its symbols. */
  private scalarCall(name: string, x: string): SeriesValue {
    return { kind: 'scalar', text: this.p.code(parse(`${name}(x)`), { x }) };
  }

  constant(value: number): SeriesValue {
    return number(value);
  }
  constantValue(a: SeriesValue): number | undefined {
    return a.kind === 'number' ? a.value : undefined;
  }
  private combine(a: SeriesValue, b: SeriesValue, op: (x: number, y: number) => number, symbol: string): SeriesValue | undefined {
    if (a.kind === 'series' || b.kind === 'series') return undefined;
    if (a.kind === 'number' && b.kind === 'number') return number(op(a.value, b.value));
    return { kind: 'scalar', text: `${this.text(a)} ${symbol} ${this.text(b)}` };
  }
  add(a: SeriesValue, b: SeriesValue): SeriesValue {
    const c = this.combine(a, b, (x, y) => x + y, '+');
    if (c) return c;
    if (a.kind !== 'series') return this.emit('shift', [this.series(b), this.text(a)]);
    if (b.kind !== 'series') return this.emit('shift', [a.name, this.text(b)]);
    return this.emit('add', [a.name, b.name]);
  }
  subtract(a: SeriesValue, b: SeriesValue): SeriesValue {
    return this.add(a, this.negate(b));
  }
  negate(a: SeriesValue): SeriesValue {
    if (a.kind === 'number') return number(-a.value);
    if (a.kind === 'scalar') return { kind: 'scalar', text: `-${this.text(a)}` };
    return this.emit('scale', [a.name, '-1.0']);
  }
  mul(a: SeriesValue, b: SeriesValue): SeriesValue {
    const c = this.combine(a, b, (x, y) => x * y, '*');
    if (c) return c;
    if (a.kind !== 'series') return this.emit('scale', [this.series(b), this.text(a)]);
    if (b.kind !== 'series') return this.emit('scale', [a.name, this.text(b)]);
    return this.emit('mul', [a.name, b.name]);
  }
  div(a: SeriesValue, b: SeriesValue): SeriesValue {
    const c = this.combine(a, b, (x, y) => x / y, '/');
    if (c) return c;
    return this.emit('div', [this.series(a), this.series(b)]);
  }
  powConst(a: SeriesValue, p: number): SeriesValue {
    if (a.kind !== 'series') return { kind: 'scalar', text: this.p.code(parse(`x ^ ${p}`), { x: this.text(a) }) };
    return this.emit('pow', [a.name, this.p.number(p)]);
  }
  primitive(name: SeriesPrimitive, a: SeriesValue): SeriesValue {
    if (a.kind !== 'series') return this.scalarCall(name, this.text(a));
    if (name === 'sqrt') return this.emit('pow', [a.name, '0.5']);
    return this.emit(name, [a.name]);
  }
  hasValue(): boolean {
    return true;
  }
  antiderivative(name: string, derivative: SeriesValue, a: SeriesValue): SeriesValue {
    if (a.kind !== 'series') return this.scalarCall(name, this.text(a));
    const value = this.scalarCall(name, this.syntax.first(a.name));
    return this.emit('integrate', [this.text(value), this.series(derivative), a.name]);
  }
  /** A sub-tree free of series with per-unit values in it: one value, printed whole (constant ones the walk folds itself). */
  leaf(node: MathNode, bound: (name: string) => SeriesValue | undefined): SeriesValue | undefined {
    const symbols: Record<string, string> = {};
    let free = true;
    node.traverse((n, path) => {
      const v = n as unknown as { type: string; name: string };
      if (v.type !== 'SymbolNode' || path === 'fn' || !free) return;
      const b = bound(v.name);
      // An unknown symbol is reported by the walk; a named constant is a number.
      if (b === undefined) free &&= v.name in NAMED_CONSTANTS;
      else if (b.kind === 'series') free = false;
      else symbols[v.name] = this.text(b);
    });
    if (!free || !Object.values(symbols).length) return undefined;
    return { kind: 'scalar', text: this.p.code(node, symbols) };
  }
}

/**
 * The program that sets `prefix…` to the Taylor coefficients of the tree around `point` with step
 * `step` (the series of f(point + step·t)), `length` coefficients; `values` binds other symbols to
 * per-unit code. Throws RangeError where corrmap's Taylor arithmetic has none for the tree.
 */
export function seriesProgram(
  node: MathNode,
  variable: string,
  at: { point: string; step: string; length: number },
  values: Readonly<Record<string, string>>,
  p: CodePrinter,
  syntax: SeriesSyntax,
  prefix: string,
  like: string,
): SeriesProgram {
  const algebra = new EmittedSeries(p, syntax, prefix, at.length, like);
  const start = algebra.emit('var', [at.point, at.step]);
  const bound = (name: string): SeriesValue | undefined => (name === variable ? start : name in values ? { kind: 'scalar', text: values[name] } : undefined);
  const result = algebra.series(walkSeries(node, bound, algebra));
  return { lines: algebra.lines, result, helpers: algebra.helpers };
}
