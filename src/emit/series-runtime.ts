/**
 * The series helpers emitted code calls (src/emit/series.ts): truncated Taylor arithmetic in each
 * target's own spelling, the recurrences of numeric/taylorseries.ts (product, quotient, e′ = a′e,
 * a l′ = a′, a q′ = p a′ q, s′ = a′c and c′ = −a′s, F′ = f a′). Each module carries only the helpers
 * its programs call. Python helpers act on lists of per-unit arrays; C and Julia on one unit's
 * coefficients.
 */
import type { PythonApi } from '../../symbolic/print/python.ts';
import type { SeriesSyntax } from './series.ts';

/** Helpers that others call. */
const NEEDS: Readonly<Record<string, readonly string[]>> = { tanh: ['exp', 'div'], sin: ['sincos'], cos: ['sincos'] };

function closure(used: Iterable<string>): string[] {
  const all = new Set<string>();
  const add = (h: string) => {
    if (all.has(h)) return;
    all.add(h);
    for (const d of NEEDS[h] ?? []) add(d);
  };
  for (const h of used) add(h);
  return [...all].sort();
}

/** Constants and the expansion variable take their length; every other helper reads it from its arguments. */
const sized = (helper: string, args: readonly string[], length: number) => (helper === 'var' || helper === 'const' ? [...args, String(length)] : args);

export const PYTHON_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `${name} = _s_${helper}(${sized(helper, args, length).join(', ')})`, first: (name) => `${name}[0]` };

/** Python helpers (lists of arrays, one per coefficient; loops over orders only). */
export function pythonSeriesHelpers(used: Iterable<string>, api: PythonApi): string[] {
  const { xp } = api;
  const sum = (body: string, from = 1, to = 'k + 1') => `sum(${body} for j in range(${from}, ${to}))`;
  const defs: Record<string, string[]> = {
    var: ['def _s_var(x0, h, n):', '    return ([x0, h + 0.0 * x0] + [0.0 * x0] * (n - 2))[:n]'],
    const: ['def _s_const(v, like, n):', '    return [v + 0.0 * like] + [0.0 * like] * (n - 1)'],
    add: ['def _s_add(a, b):', '    return [x + y for x, y in zip(a, b)]'],
    shift: ['def _s_shift(a, c):', '    return [a[0] + c] + a[1:]'],
    scale: ['def _s_scale(a, c):', '    return [c * x for x in a]'],
    mul: ['def _s_mul(a, b):', `    return [${sum('a[j] * b[k - j]', 0)} for k in range(len(a))]`],
    div: [
      'def _s_div(a, b):',
      '    out = []',
      '    for k in range(len(a)):',
      '        t = a[k]',
      '        for j in range(1, k + 1):',
      '            t = t - b[j] * out[k - j]',
      '        out.append(t / b[0])',
      '    return out',
    ],
    integrate: [
      'def _s_integrate(v, d, a):',
      '    out = [v + 0.0 * a[0]]',
      '    for k in range(1, len(a)):',
      `        out.append(${sum('j * a[j] * d[k - j]')} / k)`,
      '    return out',
    ],
    exp: ['def _s_exp(a):', `    out = [${xp}.exp(a[0])]`, '    for k in range(1, len(a)):', `        out.append(${sum('j * a[j] * out[k - j]')} / k)`, '    return out'],
    log: [
      'def _s_log(a):',
      `    out = [${xp}.log(a[0])]`,
      '    for k in range(1, len(a)):',
      '        t = k * a[k]',
      '        for j in range(1, k):',
      '            t = t - j * out[j] * a[k - j]',
      '        out.append(t / (k * a[0]))',
      '    return out',
    ],
    pow: ['def _s_pow(a, p):', '    out = [a[0] ** p]', '    for k in range(1, len(a)):', `        out.append(${sum('(p * j - (k - j)) * a[j] * out[k - j]')} / (k * a[0]))`, '    return out'],
    sincos: [
      'def _s_sincos(a):',
      `    s, c = [${xp}.sin(a[0])], [${xp}.cos(a[0])]`,
      '    for k in range(1, len(a)):',
      `        s.append(${sum('j * a[j] * c[k - j]')} / k)`,
      `        c.append(-${sum('j * a[j] * s[k - j]')} / k)`,
      '    return s, c',
    ],
    sin: ['def _s_sin(a):', '    return _s_sincos(a)[0]'],
    cos: ['def _s_cos(a):', '    return _s_sincos(a)[1]'],
    tanh: [
      'def _s_tanh(a):',
      '    """(1 - e^(-2a))/(1 + e^(-2a)) on |a|, odd: no overflow."""',
      `    sign = ${xp}.where(a[0] < 0, -1.0 + 0.0 * a[0], 1.0 + 0.0 * a[0])`,
      '    e = _s_exp([-2.0 * sign * x for x in a])',
      '    return [sign * x for x in _s_div([1.0 - e[0]] + [-x for x in e[1:]], [1.0 + e[0]] + e[1:])]',
    ],
  };
  return closure(used).flatMap((h) => [...defs[h], '']);
}

/** C: one unit's N coefficients; the result is written last. */
export const C_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `double ${name}[${length}]; s_${helper}(${length}, ${args.join(', ')}, ${name});`, first: (name) => `${name}[0]` };

export function cSeriesHelpers(used: Iterable<string>): string[] {
  const loop = (init: string, body: string, end: string) => [`  out[0] = ${init};`, '  for (int k = 1; k < N; k++) {', '    double t = 0.0;', `    ${body}`, `    out[k] = ${end};`, '  }'];
  const defs: Record<string, string[]> = {
    var: ['static void s_var(int N, double x0, double h, double *out) {', '  for (int k = 0; k < N; k++) out[k] = 0.0;', '  out[0] = x0;', '  if (N > 1) out[1] = h;'],
    const: ['static void s_const(int N, double v, double like, double *out) {', '  (void)like;', '  for (int k = 0; k < N; k++) out[k] = 0.0;', '  out[0] = v;'],
    add: ['static void s_add(int N, const double *a, const double *b, double *out) {', '  for (int k = 0; k < N; k++) out[k] = a[k] + b[k];'],
    shift: ['static void s_shift(int N, const double *a, double c, double *out) {', '  for (int k = 0; k < N; k++) out[k] = a[k];', '  out[0] += c;'],
    scale: ['static void s_scale(int N, const double *a, double c, double *out) {', '  for (int k = 0; k < N; k++) out[k] = c * a[k];'],
    mul: [
      'static void s_mul(int N, const double *a, const double *b, double *out) {',
      '  for (int k = 0; k < N; k++) {',
      '    double t = 0.0;',
      '    for (int j = 0; j <= k; j++) t += a[j] * b[k - j];',
      '    out[k] = t;',
      '  }',
    ],
    div: [
      'static void s_div(int N, const double *a, const double *b, double *out) {',
      '  for (int k = 0; k < N; k++) {',
      '    double t = a[k];',
      '    for (int j = 1; j <= k; j++) t -= b[j] * out[k - j];',
      '    out[k] = t / b[0];',
      '  }',
    ],
    integrate: ['static void s_integrate(int N, double v, const double *d, const double *a, double *out) {', ...loop('v', 'for (int j = 1; j <= k; j++) t += j * a[j] * d[k - j];', 't / k')],
    exp: ['static void s_exp(int N, const double *a, double *out) {', ...loop('exp(a[0])', 'for (int j = 1; j <= k; j++) t += j * a[j] * out[k - j];', 't / k')],
    log: ['static void s_log(int N, const double *a, double *out) {', ...loop('log(a[0])', 't = k * a[k]; for (int j = 1; j < k; j++) t -= j * out[j] * a[k - j];', 't / (k * a[0])')],
    pow: ['static void s_pow(int N, const double *a, double p, double *out) {', ...loop('pow(a[0], p)', 'for (int j = 1; j <= k; j++) t += (p * j - (k - j)) * a[j] * out[k - j];', 't / (k * a[0])')],
    sincos: [
      'static void s_sincos(int N, const double *a, double *s, double *c) {',
      '  s[0] = sin(a[0]); c[0] = cos(a[0]);',
      '  for (int k = 1; k < N; k++) {',
      '    double ss = 0.0, cc = 0.0;',
      '    for (int j = 1; j <= k; j++) { ss += j * a[j] * c[k - j]; cc -= j * a[j] * s[k - j]; }',
      '    s[k] = ss / k; c[k] = cc / k;',
      '  }',
    ],
    sin: ['static void s_sin(int N, const double *a, double *out) {', '  double c[N];', '  s_sincos(N, a, out, c);'],
    cos: ['static void s_cos(int N, const double *a, double *out) {', '  double s[N];', '  s_sincos(N, a, s, out);'],
    tanh: [
      '/* (1 - e^(-2a))/(1 + e^(-2a)) on |a|, odd: no overflow. */',
      'static void s_tanh(int N, const double *a, double *out) {',
      '  const double sign = a[0] < 0 ? -1.0 : 1.0;',
      '  double m[N], e[N], num[N], den[N];',
      '  for (int k = 0; k < N; k++) m[k] = -2.0 * sign * a[k];',
      '  s_exp(N, m, e);',
      '  for (int k = 0; k < N; k++) { num[k] = -e[k]; den[k] = e[k]; }',
      '  num[0] += 1.0; den[0] += 1.0;',
      '  s_div(N, num, den, out);',
      '  for (int k = 0; k < N; k++) out[k] *= sign;',
    ],
  };
  // Definitions in dependency order: what a helper calls comes first.
  const order = ['var', 'const', 'add', 'shift', 'scale', 'mul', 'div', 'integrate', 'exp', 'log', 'pow', 'sincos', 'sin', 'cos', 'tanh'];
  const used_ = new Set(closure(used));
  return order.filter((h) => used_.has(h)).flatMap((h) => [...defs[h], '}', '']);
}

export const JULIA_SERIES: SeriesSyntax = { assign: (name, helper, args, length) => `${name} = s_${helper}(${sized(helper, args, length).join(', ')})`, first: (name) => `${name}[1]` };

/** Julia: vectors of coefficients, 1-based (a[k + 1] is the coefficient of t^k). */
export function juliaSeriesHelpers(used: Iterable<string>): string[] {
  const rec = (name: string, args: string, init: string, body: string, end: string) => [
    `function s_${name}(${args})`,
    '    N = length(a)',
    '    out = zeros(Float64, N)',
    `    out[1] = ${init}`,
    '    for k in 1:N - 1',
    '        t = 0.0',
    `        ${body}`,
    `        out[k + 1] = ${end}`,
    '    end',
    '    return out',
  ];
  const defs: Record<string, string[]> = {
    var: ['function s_var(x0, h, N)', '    out = zeros(Float64, N)', '    out[1] = x0', '    if N > 1; out[2] = h; end', '    return out'],
    const: ['function s_const(v, like, N)', '    out = zeros(Float64, N)', '    out[1] = v', '    return out'],
    add: ['function s_add(a, b)', '    return a .+ b'],
    shift: ['function s_shift(a, c)', '    out = copy(a)', '    out[1] += c', '    return out'],
    scale: ['function s_scale(a, c)', '    return c .* a'],
    mul: ['function s_mul(a, b)', '    return [sum(a[j + 1] * b[k - j + 1] for j in 0:k) for k in 0:length(a) - 1]'],
    div: [
      'function s_div(a, b)',
      '    out = zeros(Float64, length(a))',
      '    for k in 0:length(a) - 1',
      '        t = a[k + 1]',
      '        for j in 1:k; t -= b[j + 1] * out[k - j + 1]; end',
      '        out[k + 1] = t / b[1]',
      '    end',
      '    return out',
    ],
    integrate: rec('integrate', 'v, d, a', 'v', 'for j in 1:k; t += j * a[j + 1] * d[k - j + 1]; end', 't / k'),
    exp: rec('exp', 'a', 'exp(a[1])', 'for j in 1:k; t += j * a[j + 1] * out[k - j + 1]; end', 't / k'),
    log: rec('log', 'a', 'log(a[1])', 't = k * a[k + 1]; for j in 1:k - 1; t -= j * out[j + 1] * a[k - j + 1]; end', 't / (k * a[1])'),
    pow: rec('pow', 'a, p', 'a[1]^p', 'for j in 1:k; t += (p * j - (k - j)) * a[j + 1] * out[k - j + 1]; end', 't / (k * a[1])'),
    sincos: [
      'function s_sincos(a)',
      '    N = length(a)',
      '    s = zeros(Float64, N); c = zeros(Float64, N)',
      '    s[1] = sin(a[1]); c[1] = cos(a[1])',
      '    for k in 1:N - 1',
      '        s[k + 1] = sum(j * a[j + 1] * c[k - j + 1] for j in 1:k) / k',
      '        c[k + 1] = -sum(j * a[j + 1] * s[k - j + 1] for j in 1:k) / k',
      '    end',
      '    return s, c',
    ],
    sin: ['function s_sin(a)', '    return s_sincos(a)[1]'],
    cos: ['function s_cos(a)', '    return s_sincos(a)[2]'],
    tanh: [
      '"""(1 - e^(-2a))/(1 + e^(-2a)) on |a|, odd: no overflow."""',
      'function s_tanh(a)',
      '    sign = a[1] < 0 ? -1.0 : 1.0',
      '    e = s_exp(-2.0 * sign .* a)',
      '    num = -e; num[1] += 1.0',
      '    den = copy(e); den[1] += 1.0',
      '    return sign .* s_div(num, den)',
    ],
  };
  return closure(used).flatMap((h) => [...defs[h], 'end', '']);
}
