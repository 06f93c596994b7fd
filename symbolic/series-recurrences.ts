/**
 * Truncated Taylor series arithmetic (Taylor-mode automatic differentiation), written once as specs
 * that every target renders: the float64 evaluator compiles them to JavaScript
 * (numeric/series-arithmetic.ts), the code emitters print them as the helpers of emitted programs
 * (src/emit/series-runtime.ts: Python over lists of per-unit arrays, C and Julia over one unit's
 * coefficients). A series a holds the coefficients a_0…a_{N−1} of a(x0 + t) in t; in a spec's
 * trees `a(i)` is the coefficient a_i, k the coefficient computed and j the summation index.
 *
 * Each recurrence follows from an ordinary differential equation the result satisfies, compared
 * coefficient by coefficient (Griewank & Walther, Evaluating Derivatives, 2nd ed., §13.2).
 */

/**
 * One output series: the coefficients in `leading` for k < leading.length, then for every further k
 *   out_k = (offset(k) + Σ_{j=from(k)}^{to(k)} term(j, k)) / divisor(k)
 * (a missing offset or sum is 0, a missing divisor 1). Terms may read the outputs' earlier coefficients.
 */
export interface SeriesOutput {
  readonly name: string;
  readonly leading?: readonly string[];
  readonly offset?: string;
  readonly sum?: { readonly from: string; readonly to: string; readonly term: string };
  readonly divisor?: string;
}

/** A helper computed by its own recurrence. */
export interface SeriesRecurrence {
  /** The helper's name in every target. */
  readonly name: string;
  /** Arguments in call order; those in `series` are series, the others scalars. */
  readonly args: readonly string[];
  readonly series: readonly string[];
  readonly outputs: readonly SeriesOutput[];
  /** Whether the number of coefficients is passed (no series argument to read it from). */
  readonly sized?: boolean;
  /** A per-unit value whose shape the coefficients take where a target broadcasts (Python's arrays of units). */
  readonly shape?: string;
  readonly summary: string;
}

/** `let = value` (a scalar), or `let = call(args)` (series; a call with two outputs binds two names). */
export type CompositeStep = { readonly let: string; readonly value: string } | { readonly let: string | readonly [string, string]; readonly call: string; readonly args: readonly string[] };

/** A helper composed of other helpers' calls; its result is the series `result` a step binds. */
export interface SeriesComposite {
  readonly name: string;
  readonly args: readonly string[];
  readonly series: readonly string[];
  readonly steps: readonly CompositeStep[];
  readonly result: string;
  readonly summary: string;
}

export type SeriesHelper = SeriesRecurrence | SeriesComposite;

export const isComposite = (h: SeriesHelper): h is SeriesComposite => 'steps' in h;
export const isCall = (s: CompositeStep): s is Extract<CompositeStep, { call: string }> => 'call' in s;

const FROM_1 = { from: '1', to: 'k' };

/** The helpers, each after the ones it calls. */
export const SERIES_HELPERS: readonly SeriesHelper[] = [
  { name: 'var', summary: 'the expansion variable x0 + h t', args: ['x0', 'h'], series: [], sized: true, shape: 'x0', outputs: [{ name: 'out', leading: ['x0', 'h'] }] },
  { name: 'const', summary: 'a constant', args: ['v', 'like'], series: [], sized: true, shape: 'like', outputs: [{ name: 'out', leading: ['v'] }] },
  { name: 'add', summary: 'a + b', args: ['a', 'b'], series: ['a', 'b'], outputs: [{ name: 'out', offset: 'a(k) + b(k)' }] },
  { name: 'shift', summary: 'a + c for a number c', args: ['a', 'c'], series: ['a'], outputs: [{ name: 'out', leading: ['a(0) + c'], offset: 'a(k)' }] },
  { name: 'scale', summary: 'c a for a number c', args: ['a', 'c'], series: ['a'], outputs: [{ name: 'out', offset: 'c * a(k)' }] },
  { name: 'mul', summary: 'a b: the Cauchy product', args: ['a', 'b'], series: ['a', 'b'], outputs: [{ name: 'out', sum: { from: '0', to: 'k', term: 'a(j) * b(k - j)' } }] },
  {
    name: 'div',
    summary: 'a / b: b q = a, so b_0 q_k = a_k - sum_{j=1..k} b_j q_{k-j}',
    args: ['a', 'b'],
    series: ['a', 'b'],
    outputs: [{ name: 'out', offset: 'a(k)', sum: { ...FROM_1, term: '-b(j) * out(k - j)' }, divisor: 'b(0)' }],
  },
  {
    name: 'integrate',
    summary: "F with F' = d a' and F_0 = v (functions defined by their derivative: Phi, erf)",
    args: ['v', 'd', 'a'],
    series: ['a', 'd'],
    shape: 'a(0)',
    outputs: [{ name: 'out', leading: ['v'], sum: { ...FROM_1, term: 'j * a(j) * d(k - j)' }, divisor: 'k' }],
  },
  {
    name: 'exp',
    summary: "exp(a): e' = a' e, so k e_k = sum_{j=1..k} j a_j e_{k-j}",
    args: ['a'],
    series: ['a'],
    outputs: [{ name: 'out', leading: ['exp(a(0))'], sum: { ...FROM_1, term: 'j * a(j) * out(k - j)' }, divisor: 'k' }],
  },
  {
    name: 'log',
    summary: "log(a): a l' = a', so k a_0 l_k = k a_k - sum_{j=1..k-1} j l_j a_{k-j}",
    args: ['a'],
    series: ['a'],
    outputs: [{ name: 'out', leading: ['log(a(0))'], offset: 'k * a(k)', sum: { from: '1', to: 'k - 1', term: '-j * out(j) * a(k - j)' }, divisor: 'k * a(0)' }],
  },
  {
    name: 'pow',
    summary: "a^p for a number p: a q' = p a' q, so k a_0 q_k = sum_{j=1..k} (p j - (k - j)) a_j q_{k-j}",
    args: ['a', 'p'],
    series: ['a'],
    outputs: [{ name: 'out', leading: ['a(0) ^ p'], sum: { ...FROM_1, term: '(p * j - (k - j)) * a(j) * out(k - j)' }, divisor: 'k * a(0)' }],
  },
  {
    name: 'sincos',
    summary: "sin(a) and cos(a) together: s' = a' c, c' = -a' s",
    args: ['a'],
    series: ['a'],
    outputs: [
      { name: 's', leading: ['sin(a(0))'], sum: { ...FROM_1, term: 'j * a(j) * c(k - j)' }, divisor: 'k' },
      { name: 'c', leading: ['cos(a(0))'], sum: { ...FROM_1, term: '-j * a(j) * s(k - j)' }, divisor: 'k' },
    ],
  },
  { name: 'sin', summary: 'sin(a)', args: ['a'], series: ['a'], steps: [{ let: ['s', 'c'], call: 'sincos', args: ['a'] }], result: 's' },
  { name: 'cos', summary: 'cos(a)', args: ['a'], series: ['a'], steps: [{ let: ['s', 'c'], call: 'sincos', args: ['a'] }], result: 'c' },
  {
    name: 'tanh',
    summary: 'tanh(a) = (1 - e^(-2a))/(1 + e^(-2a)) on |a|, odd: no overflow',
    args: ['a'],
    series: ['a'],
    steps: [
      { let: 'sign', value: 'where(a(0) < 0, -1, 1)' },
      { let: 'm', call: 'scale', args: ['a', '-2 * sign'] },
      { let: 'ex', call: 'exp', args: ['m'] },
      { let: 'ne', call: 'scale', args: ['ex', '-1'] },
      { let: 'num', call: 'shift', args: ['ne', '1'] },
      { let: 'den', call: 'shift', args: ['ex', '1'] },
      { let: 'q', call: 'div', args: ['num', 'den'] },
      { let: 'out', call: 'scale', args: ['q', 'sign'] },
    ],
    result: 'out',
  },
];

const BY_NAME: ReadonlyMap<string, SeriesHelper> = new Map(SERIES_HELPERS.map((h) => [h.name, h]));

export function seriesHelper(name: string): SeriesHelper {
  const h = BY_NAME.get(name);
  if (!h) throw new Error(`internal: no series helper "${name}"`);
  return h;
}

/** The helpers `used` call, directly or through others, with themselves, each after the ones it calls. */
export function seriesHelpersUsed(used: Iterable<string>): SeriesHelper[] {
  const needed = new Set<string>();
  const add = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    const h = seriesHelper(name);
    if (isComposite(h)) for (const s of h.steps) if (isCall(s)) add(s.call);
  };
  for (const name of used) add(name);
  return SERIES_HELPERS.filter((h) => needed.has(h.name));
}
