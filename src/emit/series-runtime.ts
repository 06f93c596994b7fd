/**
 * The series helpers emitted code calls (src/emit/series.ts): the specs of
 * symbolic/series-recurrences.ts, which numeric/taylorseries.ts also runs, written in each target's
 * idiom. Python helpers act on lists of per-unit arrays (sums over j as `sum(… for j in range(…))`);
 * C and Julia on one unit's coefficients (loops over doubles; Julia's arrays start at 1). Each
 * module carries only the helpers its programs call, each after the ones it calls.
 */
import { CPrinter } from '../../symbolic/print/c.ts';
import { JuliaPrinter } from '../../symbolic/print/julia.ts';
import type { NumPyPrinter } from '../../symbolic/print/python.ts';
import { braceLoops, loopRecurrence, seriesHelperSource, type PrintedComposite, type PrintedOutput, type PrintedRecurrence, type PrintedValue, type SeriesHelperSyntax } from '../../symbolic/print/series.ts';
import { seriesHelper, seriesHelpersUsed } from '../../symbolic/series-recurrences.ts';
import type { SeriesSyntax } from './series.ts';

/** Helpers without a series argument take the number of coefficients last. */
const sized = (helper: string, args: readonly string[], length: number) => (seriesHelper(helper).series.length === 0 ? [...args, String(length)] : args);
const names = (outputs: readonly { name: string }[]) => outputs.map((o) => o.name).join(', ');

export const PYTHON_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `${name} = _s_${helper}(${sized(helper, args, length).join(', ')})`, first: (name) => `${name}[0]` };

/** Coefficient k of a Python output: the sum over j with its offset as start, so terms add in the order the other targets add them. */
function pythonCoefficient(o: PrintedOutput, shaped: (v: PrintedValue) => string, zero: string): string {
  if (!o.sum) {
    const v = o.value('');
    return v ? shaped(v) : zero;
  }
  const { from, until, term, offset } = o.sum;
  const terms = `${term.text} for j in range(${from === '0' ? '' : `${from}, `}${until})`;
  return o.value(offset ? `sum((${terms}), ${offset.text})` : `sum(${terms})`)!.text;
}

const PYTHON_HELPERS: SeriesHelperSyntax = {
  origin: 0,
  recurrence: (r: PrintedRecurrence) => {
    const h = r.helper;
    const length = h.sized ? 'n' : `len(${h.series[0]})`;
    // Values that read no coefficient (numbers, scalar arguments) take the units' shape.
    const shape = r.shape?.text;
    const shaped = (v: PrintedValue) => (v.reads.size > 0 || shape === undefined || v.text === shape ? v.text : `${v.text} + 0.0 * ${shape}`);
    const zero = shape === undefined ? '0.0' : `0.0 * ${shape}`;
    const lines = [`def _s_${h.name}(${[...h.args, ...(h.sized ? ['n'] : [])].join(', ')}):`, `    """${h.summary}"""`];
    const [single] = r.outputs;
    if (r.outputs.length === 1 && single.leading.length === 0 && !single.recurs) return [...lines, `    return [${pythonCoefficient(single, shaped, zero)} for k in range(${length})]`];
    const start = single.leading.length;
    for (const o of r.outputs) lines.push(`    ${o.name} = [${o.leading.map(shaped).join(', ')}]${start > 1 ? `[:${length}]` : ''}`);
    lines.push(`    for k in range(${start === 0 ? '' : `${start}, `}${length}):`);
    for (const o of r.outputs) lines.push(`        ${o.name}.append(${pythonCoefficient(o, shaped, zero)})`);
    return [...lines, `    return ${names(r.outputs)}`];
  },
  composite: (c: PrintedComposite) => [
    `def _s_${c.helper.name}(${c.helper.args.join(', ')}):`,
    `    """${c.helper.summary}"""`,
    ...c.steps.map((s) => ('call' in s ? `    ${s.let.join(', ')} = _s_${s.call}(${s.args.join(', ')})` : `    ${s.let} = ${s.value}`)),
    `    return ${c.helper.result}`,
  ],
};

/** Python helpers (lists of arrays, one per coefficient; loops over orders only). */
export function pythonSeriesHelpers(used: Iterable<string>, p: NumPyPrinter): string[] {
  return seriesHelpersUsed(used).flatMap((h) => [...seriesHelperSource(h, p, PYTHON_HELPERS), '']);
}

/** C: one unit's N coefficients; the result is written last. */
export const C_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `double ${name}[${length}]; s_${helper}(${length}, ${args.join(', ')}, ${name});`, first: (name) => `${name}[0]` };

const cParameters = (h: { args: readonly string[]; series: readonly string[] }, outputs: readonly string[]) =>
  ['int N', ...h.args.map((a) => (h.series.includes(a) ? `const double *${a}` : `double ${a}`)), ...outputs.map((o) => `double *${o}`)].join(', ');

const C_HELPERS: SeriesHelperSyntax = {
  origin: 0,
  recurrence: loopRecurrence({
    open: (r) => [
      `/* ${r.helper.summary} */`,
      `static void s_${r.helper.name}(${cParameters(r.helper, r.outputs.map((o) => o.name))}) {`,
      ...r.unused.map((a) => `  (void)${a};`),
    ],
    ...braceLoops({ int: 'int', double: 'double' }),
    zeroed: false,
    end: () => ['}'],
  }),
  composite: (c) => {
    // The result is written to the output argument; every other series is a local array.
    const rename = (name: string) => (name === c.helper.result ? 'out' : name);
    const lines = [`/* ${c.helper.summary} */`, `static void s_${c.helper.name}(${cParameters(c.helper, ['out'])}) {`];
    for (const s of c.steps) {
      if (!('call' in s)) {
        lines.push(`  const double ${s.let} = ${s.value};`);
        continue;
      }
      const locals = s.let.filter((name) => name !== c.helper.result);
      if (locals.length > 0) lines.push(`  double ${locals.map((name) => `${name}[N]`).join(', ')};`);
      lines.push(`  s_${s.call}(N, ${[...s.args.map(rename), ...s.let.map(rename)].join(', ')});`);
    }
    return [...lines, '}'];
  },
};

export function cSeriesHelpers(used: Iterable<string>, p: CPrinter = new CPrinter()): string[] {
  return seriesHelpersUsed(used).flatMap((h) => [...seriesHelperSource(h, p, C_HELPERS), '']);
}

export const JULIA_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `${name} = s_${helper}(${sized(helper, args, length).join(', ')})`, first: (name) => `${name}[1]` };

const JULIA_HELPERS: SeriesHelperSyntax = {
  origin: 1,
  recurrence: loopRecurrence({
    open: (r) => [
      `"""${r.helper.summary}"""`,
      `function s_${r.helper.name}(${[...r.helper.args, ...(r.helper.sized ? ['N'] : [])].join(', ')})`,
      ...(r.helper.sized ? [] : [`    N = length(${r.helper.series[0]})`]),
      ...r.outputs.map((o) => `    ${o.name} = zeros(Float64, N)`),
    ],
    zeroed: true,
    set: (target, value) => `${target} = ${value}`,
    guard: (n, statement) => `if N > ${n}; ${statement}; end`,
    loop: (start) => `for k in ${start}:N - 1`,
    loopLine: (start, statement) => `for k in ${start}:N - 1; ${statement}; end`,
    declare: (name, value) => `${name} = ${value}`,
    accumulate: (name, value) => `${name} += ${value}`,
    sum: (from, to, statements) => `for j in ${from}:${to}; ${statements.join('; ')}; end`,
    close: ['end'],
    end: (r) => [`    return ${names(r.outputs)}`, 'end'],
    indent: '    ',
  }),
  composite: (c) => [
    `"""${c.helper.summary}"""`,
    `function s_${c.helper.name}(${c.helper.args.join(', ')})`,
    ...c.steps.map((s) => ('call' in s ? `    ${s.let.join(', ')} = s_${s.call}(${s.args.join(', ')})` : `    ${s.let} = ${s.value}`)),
    `    return ${c.helper.result}`,
    'end',
  ],
};

/** Julia: vectors of coefficients, 1-based (a[k + 1] is the coefficient of t^k). */
export function juliaSeriesHelpers(used: Iterable<string>, p: JuliaPrinter = new JuliaPrinter()): string[] {
  return seriesHelpersUsed(used).flatMap((h) => [...seriesHelperSource(h, p, JULIA_HELPERS), '']);
}
