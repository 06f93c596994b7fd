/**
 * Float64 truncated Taylor series arithmetic: the helpers of symbolic/series-recurrences.ts compiled
 * once to JavaScript over Float64Arrays (as symbolic/print/js.ts compiles routines), so the evaluator
 * runs the recurrences the emitted code runs, at the speed of hand-written loops.
 */
import { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
import { JsPrinter } from '../symbolic/print/js.ts';
import { braceLoops, loopRecurrence, seriesHelperSource, type PrintedRecurrence, type SeriesHelperSyntax } from '../symbolic/print/series.ts';
import { SERIES_HELPERS, type SeriesHelper } from '../symbolic/series-recurrences.ts';

export type Series = Float64Array;

const parameters = (r: { helper: { args: readonly string[]; sized?: boolean } }) => [...r.helper.args, ...(r.helper.sized ? ['n'] : [])].join(', ');

const JS_SERIES: SeriesHelperSyntax = {
  origin: 0,
  recurrence: loopRecurrence({
    open: (r: PrintedRecurrence) => [
      `$s.${r.helper.name} = (${parameters(r)}) => {`,
      `  const N = ${r.helper.sized ? 'n' : `${r.helper.series[0]}.length`};`,
      ...r.outputs.map((o) => `  const ${o.name} = new Float64Array(N);`),
    ],
    ...braceLoops({ int: 'let', double: 'let' }),
    zeroed: true,
    end: (r) => [`  return ${r.outputs.length === 1 ? r.outputs[0].name : `[${r.outputs.map((o) => o.name).join(', ')}]`};`, '};'],
  }),
  composite: (c) => [
    `$s.${c.helper.name} = (${c.helper.args.join(', ')}) => {`,
    ...c.steps.map((s) =>
      'call' in s
        ? s.let.length === 1
          ? `  const ${s.let[0]} = $s.${s.call}(${s.args.join(', ')});`
          : `  const ${s.let.join('_')} = $s.${s.call}(${s.args.join(', ')}), ${s.let.map((name, i) => `${name} = ${s.let.join('_')}[${i}]`).join(', ')};`
        : `  const ${s.let} = ${s.value};`,
    ),
    `  return ${c.helper.result};`,
    '};',
  ],
};

/** The helpers' JavaScript: `$s.name = (…) => …` each, with the registry's float64 functions bound as `f_name`. */
export function seriesArithmeticSource(helpers: readonly SeriesHelper[] = SERIES_HELPERS): string {
  const body = helpers.flatMap((h) => seriesHelperSource(h, new JsPrinter(), JS_SERIES)).join('\n');
  const locals = [...new Set([...body.matchAll(/\bf_(\w+)/g)].map((m) => m[1]))].map((n) => `const f_${n} = f.${n};`);
  return [...locals, 'const $s = {};', body, 'return $s;'].join('\n');
}

type Helper = (...args: never[]) => unknown;

/** The helpers compiled to JavaScript functions over Float64Arrays, by name. */
export function compileSeriesHelpers(helpers: readonly SeriesHelper[] = SERIES_HELPERS): Readonly<Record<string, Helper>> {
  return new Function('f', seriesArithmeticSource(helpers))(FLOAT64_FUNCTIONS);
}

const compiled = compileSeriesHelpers();
const helper = <T extends Helper>(name: string) => compiled[name] as unknown as T;

/** The constant v as K + 1 coefficients. */
export const constant = (v: number, K: number): Series => helper<(v: number, like: number, n: number) => Series>('const')(v, 0, K + 1);
/** x0 + h t as K + 1 coefficients. */
export const variable = (x0: number, h: number, K: number): Series => helper<(x0: number, h: number, n: number) => Series>('var')(x0, h, K + 1);
export const add = helper<(a: Series, b: Series) => Series>('add');
export const scale = helper<(a: Series, c: number) => Series>('scale');
export const negate = (a: Series): Series => scale(a, -1);
export const subtract = (a: Series, b: Series): Series => add(a, scale(b, -1));
export const mul = helper<(a: Series, b: Series) => Series>('mul');
export const div = helper<(a: Series, b: Series) => Series>('div');
export const exp = helper<(a: Series) => Series>('exp');
export const log = helper<(a: Series) => Series>('log');
/** a^p for a constant p. */
export const powConst = helper<(a: Series, p: number) => Series>('pow');
export const sinCos = helper<(a: Series) => [Series, Series]>('sincos');
export const sin = helper<(a: Series) => Series>('sin');
export const cos = helper<(a: Series) => Series>('cos');
export const tanh = helper<(a: Series) => Series>('tanh');
/** F with F′ = derivative · a′ and F_0 = value0 (functions defined by their derivative: Φ, erf). */
export const integrate = helper<(value0: number, derivative: Series, a: Series) => Series>('integrate');
