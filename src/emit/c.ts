/**
 * C99 (libm only): a header and a source; every function writes its output arrays, given first, from
 * dense row-major input arrays (NULL for a cumulant that is zero). Plain loops over units.
 */
import { MEAN, VARIANCE } from '../../symbolic/activations.ts';
import { VARIABLE } from '../../symbolic/expression.ts';
import { parse } from '../../symbolic/math.ts';
import type { CPrinter } from '../../symbolic/print/c.ts';
import { ORDER_KEYS } from '../io.ts';
import { LOCAL_EXPANSION, THIRD_SERIES } from '../../numeric/general.ts';
import type { MathNode } from '../../symbolic/math.ts';
import { seriesProgram } from './series.ts';
import { C_SERIES, cSeriesHelpers } from './series-runtime.ts';
import { thirdTable, type ActivationPlan, type GaussianPlan, type PolynomialPlan, type RangeIntegrand } from './activation.ts';
import { RANGE_SCAN } from '../../numeric/gaussian-range.ts';
import type { EmittedFile } from './targets.ts';
import type { EmittedLayer } from './python.ts';
import type { RoutineSyntax } from '../../symbolic/print/routine.ts';
import { argumentCode, bivariateHelpers, derivativeCode, pairCovariance } from './bivariate.ts';
import { LOOP_INDICES, accumulateTerms, rowMajor, tensorName, type ArraySyntax, type BlockSyntax } from './scalar.ts';

const SYNTAX: ArraySyntax = { element: (a, o) => `${a}[${o}]`, index: (x) => x };
const BLOCK: BlockSyntax = { given: tensorName, open: (c) => `if (${c}) {`, close: '}', end: ';', step: '  ' };

function comment(lines: readonly string[]): string {
  return ['/*', ...lines.map((l) => ` * ${l.replace(/\*\//g, '* /')}`.trimEnd()), ' */'].join('\n');
}

const doubles = (v: ArrayLike<number>) => Array.from(v, (x) => String(x)).join(', ');

/** Entries of the series array per activation: P, bound, quadrature errors of mean and covariance, κ3's last shell, its size, converged. */
const SERIES = 7;

/** Parameters of an activation function: outputs first (out1…outN, series), then n and the inputs. */
function parameters(plan: ActivationPlan): string {
  const reads = plan.kind === 'polynomial' ? Math.max(plan.inputOrder, 2) : 2;
  const outs = Array.from({ length: plan.order }, (_, m) => `double *out${m + 1}`);
  const ins = Array.from({ length: reads }, (_, r) => `const double *${tensorName(r + 1)}`);
  return [...outs, 'double *series', 'int n', ...ins].join(', ');
}

function prototypeComment(plan: ActivationPlan): string {
  const reads = plan.kind === 'polynomial' ? Math.max(plan.inputOrder, 2) : 2;
  return comment([
    `Output cumulants of y = phi(z): out1[n] the mean${plan.order >= 2 ? `, out2[n*n] the covariance` : ''}${plan.order >= 3 ? ', out3[n^3] …' : ''} (row-major; NULL: not computed);`,
    `series[${SERIES}] (may be NULL): the series order P, its bound, the quadrature errors of the mean and the covariance (0 where exact),`,
    "and for κ3 (out3) the three-vertex series' last shell, the size of that shell (its error estimate) and 1 if it converged, else 0.",
    `Inputs: mean[n], k2[n*n] the covariance${reads >= 3 ? `, k3…k${reads}: cumulant tensors of orders 3…${reads} (NULL = zero)` : ''}.`,
    'Returns 0, -1 when memory runs out, or -2 when a Gaussian expectation is not finite in float64 (non-polynomial φ).',
  ]);
}

function polynomialBody(plan: PolynomialPlan, name: string, p: CPrinter): string[] {
  const d = plan.activation.taylor.length;
  const lines = [
    `int ${name}(${parameters(plan)}) {`,
    `  double *b = (double *)malloc(sizeof(double) * ${d} * (size_t)(n > 0 ? n : 1));`,
    '  if (!b) return -1;',
    '  /* Taylor coefficients b_q(mu_i) = phi^(q)(mu_i)/q! */',
    '  for (int i = 0; i < n; i++) {',
    '    const double mu = mean[i];',
    ...plan.activation.taylor.map((node, q) => `    b[${q} * n + i] = ${p.code(node, { [VARIABLE]: 'mu' })};`),
    '    (void)mu;',
    '  }',
  ];
  for (const rule of plan.rules) {
    const idx = LOOP_INDICES.slice(0, rule.order);
    lines.push(`  if (out${rule.order}) {`);
    let indent = '    ';
    for (const x of idx) {
      lines.push(`${indent}for (int ${x} = 0; ${x} < n; ${x}++) {`);
      indent += '  ';
    }
    lines.push(`${indent}double acc = 0.0;`);
    lines.push(...accumulateTerms(rule, p, SYNTAX, BLOCK, indent));
    lines.push(`${indent}out${rule.order}[${rowMajor(idx, SYNTAX)}] = acc;`);
    for (let x = idx.length; x > 0; x--) {
      indent = indent.slice(2);
      lines.push(`${indent}}`);
    }
    lines.push('  }');
  }
  lines.push(`  if (series) for (int e = 0; e < ${SERIES}; e++) series[e] = e == 6 ? 1.0 : 0.0;`, '  free(b);', '  return 0;', '}');
  return lines;
}

/** Static helpers of one general activation: φ, its quadrature rule, the points of a unit. */
function gaussianHelpers(plan: GaussianPlan, prefix: string, p: CPrinter): string[] {
  const q = plan.quadrature;
  const lines = [
    `static double ${prefix}_phi(double z) { return ${p.code(plan.expression.node, { [VARIABLE]: 'z' })}; }`,
    `static const double ${prefix}_nodes[${q.nodes.length}] = {${doubles(q.nodes)}};`,
    `static const double ${prefix}_weights[${q.nodes.length}] = {${doubles(q.weights)}};`,
    `static const double ${prefix}_coarse_nodes[${q.coarse.nodes.length}] = {${doubles(q.coarse.nodes)}};`,
    `static const double ${prefix}_coarse_weights[${q.coarse.nodes.length}] = {${doubles(q.coarse.weights)}};`,
  ];
  // The local expansion's weights w[k][m] (numeric/general.ts localExpansionWeights), row by row.
  if (plan.third) lines.push(...cThirdTables(plan, prefix, p));
  if (plan.local) lines.push(`static const double ${prefix}_local[${plan.local.weights.length * (plan.local.terms + 1)}] = {${plan.local.weights.map((r) => Array.from(r, (v) => p.number(v)).join(", ")).join(', ')}};`);
  const pieces = q.kind === 'hermite' ? 1 : q.kinks.length + 1;
  lines.push(
    `#define ${prefix.toUpperCase()}_POINTS ${pieces * q.nodes.length}`,
    `/* Quadrature points x and weights w of E[f(mu + sd X)] for one unit; returns their number. */`,
    `static int ${prefix}_points(double mu, double sd, int coarse, double *x, double *w) {`,
    `  const double *nodes = coarse ? ${prefix}_coarse_nodes : ${prefix}_nodes;`,
    `  const double *weights = coarse ? ${prefix}_coarse_weights : ${prefix}_weights;`,
    `  const int m = coarse ? ${q.coarse.nodes.length} : ${q.nodes.length};`,
  );
  if (q.kind === 'hermite') {
    lines.push('  (void)mu; (void)sd;', '  for (int t = 0; t < m; t++) { x[t] = nodes[t]; w[t] = weights[t]; }', '  return m;', '}');
    return lines;
  }
  lines.splice(lines.length - 6, 0, ...cRange(plan, prefix, p));
  lines.push(
    `  double cuts[${pieces + 1}], lo, hi;`,
    `  ${prefix}_range(mu, sd, &lo, &hi);`,
    `  cuts[0] = lo;`,
    ...q.kinks.map((k, c) => `  cuts[${c + 1}] = ${p.code(parse('min(max((k - m) / d, lo), hi)'), { k: p.number(k), m: 'mu', d: 'sd', lo: 'lo', hi: 'hi' })};`),
    `  cuts[${pieces}] = hi;`,
    '  int count = 0;',
    `  for (int piece = 0; piece < ${pieces}; piece++) {`,
    '    const double half = (cuts[piece + 1] - cuts[piece]) / 2, mid = (cuts[piece + 1] + cuts[piece]) / 2;',
    '    for (int t = 0; t < m; t++) {',
    '      const double at = mid + half * nodes[t];',
    '      x[count] = at;',
    `      w[count] = half * weights[t] * ${p.code(parse('phi(x)'), { x: 'at' })};`,
    '      count++;',
    '    }',
    '  }',
    '  return count;',
    '}',
  );
  return lines;
}

/**
 * `prefix_range(mu, sd, &lo, &hi)`: where the piecewise rule integrates for one unit, as corrmap's
 * quadrature decides it (src/emit/activation.ts RangeScan; numeric/gaussian-range.ts rangeOfValues):
 * the union over the integrands of the grid points above the floor × their largest value, widened by
 * a step, within ±least…±most; an integrand not finite on the grid, or 0, leaves ±least.
 */
function cRange(plan: GaussianPlan, prefix: string, p: CPrinter): string[] {
  const scan = plan.quadrature.range!;
  const { least, most, step, floor } = RANGE_SCAN;
  const T = scan.grid.length;
  const literals = (v: ArrayLike<number>) => Array.from(v, (x) => p.number(x)).join(', ');
  const integrand = (r: RangeIntegrand) => {
    const base = r.centred ? '(f[t] - c)' : 'f[t]';
    return [`${prefix}_scan_density[t]`, ...Array.from({ length: r.power }, () => base), ...(r.hermite ? [`${prefix}_scan_hermite[t]`] : [])].join(' * ');
  };
  const open = `static void ${prefix}_range(double mu, double sd, double *lo, double *hi) {`;
  // Only what is used: gcc -Wall rejects unused static functions and tables.
  if (!scan.integrands.length) return [open, '  (void)mu; (void)sd;', `  *lo = ${p.number(-least)}; *hi = ${p.number(least)};`, '}'];
  return [
    `static const double ${prefix}_scan_grid[${T}] = {${literals(scan.grid)}};`,
    `static const double ${prefix}_scan_density[${T}] = {${literals(scan.density)}};`,
    ...(scan.integrands.some((r) => r.hermite) ? [`static const double ${prefix}_scan_hermite[${T}] = {${literals(scan.hermite)}};`] : []),
    `static int ${prefix}_widen(const double *v, double *lo, double *hi) {`,
    '  double largest = 0.0;',
    `  for (int t = 0; t < ${T}; t++) { if (!isfinite(v[t])) return 0; largest = fmax(largest, v[t]); }`,
    '  if (!(largest > 0)) return 1;',
    '  int first = -1, last = -1;',
    `  for (int t = 0; t < ${T}; t++) if (v[t] > ${p.number(floor)} * largest) { if (first < 0) first = t; last = t; }`,
    `  *lo = fmin(*lo, fmax(fmin(${p.number(-least)}, ${prefix}_scan_grid[first] - ${p.number(step)}), ${p.number(-most)}));`,
    `  *hi = fmax(*hi, fmin(fmax(${p.number(least)}, ${prefix}_scan_grid[last] + ${p.number(step)}), ${p.number(most)}));`,
    '  return 1;',
    '}',
    open,
    `  double f[${T}], v[${T}], c = ${prefix}_phi(mu);`,
    '  if (!isfinite(c)) c = 0.0;',
    `  *lo = ${p.number(-least)}; *hi = ${p.number(least)};`,
    `  for (int t = 0; t < ${T}; t++) f[t] = ${prefix}_phi(mu + sd * ${prefix}_scan_grid[t]);`,
    '  int ok = 1;',
    ...scan.integrands.flatMap((r) => [`  for (int t = 0; t < ${T}; t++) v[t] = fabs(${integrand(r)});`, `  ok = ${prefix}_widen(v, lo, hi) && ok;`]),
    "  /* Not finite on the grid: corrmap refuses such a unit (the integrand at the range's ends is not small); no range, so its expectations are NaN and the code returns -2. */",
    '  if (!ok) *lo = *hi = NAN;',
    '  (void)c;',
    '}',
  ];
}

/** The emitted series program of one expansion for one unit, in a block of its own. */
function cSeries(node: MathNode, variable: string, length: number, values: Record<string, string>, p: CPrinter, prefix: string, helpers: Set<string>, indent: string): { lines: string[]; result: string } {
  const program = seriesProgram(node, variable, { point: 'mu', step: 'sd', length }, values, p, C_SERIES, prefix, 'mu');
  for (const h of program.helpers) helpers.add(h);
  return { lines: program.lines.map((l) => `${indent}${l}`), result: program.result };
}

/**
 * The Gaussian closure of one general activation, as corrmap computes it (numeric/general.ts
 * smoothedTable, covarianceTruncationOrder, tableErrors): normalised ĝ_k from the closed form's
 * Taylor coefficients or the Stein form, the local expansion where the quadrature does not resolve a
 * unit's spread, the variance about φ(μ), the Mehler series in ρ.
 */
function gaussianBody(plan: GaussianPlan, name: string, prefix: string, p: CPrinter, helpers: Set<string>): string[] {
  const K = plan.kmax;
  const P = `${prefix.toUpperCase()}_POINTS`;
  const lines = [
    `int ${name}(${parameters(plan)}) {`,
    `  const int K = ${K};`,
    '  const size_t units = (size_t)(n > 0 ? n : 1);',
    '  double *gn = (double *)malloc(sizeof(double) * (K + 1) * units), *ge = (double *)malloc(sizeof(double) * (K + 1) * units);',
    '  double *var = (double *)malloc(sizeof(double) * units), *var_error = (double *)malloc(sizeof(double) * units), *partial = (double *)malloc(sizeof(double) * units);',
    '  /* A missing covariance is zero: every unit a constant. */',
    '  double *zero = k2 ? NULL : (double *)calloc(units * units, sizeof(double));',
    '  if (!gn || !ge || !var || !var_error || !partial || (!k2 && !zero)) { free(gn); free(ge); free(var); free(var_error); free(partial); free(zero); return -1; }',
    '  if (!k2) k2 = zero;',
    `  double x[${P}], w[${P}], he[${K + 2}], gc[${K + 1}];`,
    '  int finite = 1;',
    '  for (int i = 0; i < n; i++) {',
    '    const double mu = mean[i], s = k2[i * n + i];',
    '    /* A unit of variance 0 is a constant, y_i = phi(mu_i); any other is spread, however little. */',
    '    const int spread = s > 0;',
    '    const double s_ = spread ? s : 1.0, sd = sqrt(s_), phi_mu = ' + `${prefix}_phi(mu);`,
    '    int local = 0;',
    '    (void)s_; (void)local;',
  ];
  if (plan.smoothed) {
    const series = cSeries(plan.smoothed, MEAN, K + 1, { [VARIANCE]: 's_' }, p, 'c', helpers, '      ');
    lines.push(
      `    /* ĝ_k = c_k sqrt(k!), c_k the Taylor coefficients of G(mu + sd t, s) in t (closed form), k = 0…${K} */`,
      '    {',
      ...series.lines,
      '      double factorial = 1.0;',
      `      for (int k = 0; k <= K; k++) { if (k > 0) factorial *= k; gn[k * n + i] = ${series.result}[k] * sqrt(factorial); ge[k * n + i] = 0.0; }`,
      '    }',
    );
  } else {
    lines.push(
      '    /* ĝ_k = E[phi(mu + sd X) He_k(X)] / sqrt(k!) (Stein form), on the rule and on the coarse rule */',
      '    for (int pass = 1; pass >= 0; pass--) {',
      `      const int m = ${prefix}_points(mu, sd, pass == 0, x, w);`,
      '      for (int k = 0; k <= K; k++) gc[k] = 0.0;',
      '      for (int t = 0; t < m; t++) {',
      `        const double f = w[t] * ${prefix}_phi(mu + sd * x[t]);`,
      '        he[0] = 1.0; he[1] = x[t];',
      '        for (int k = 1; k < K; k++) he[k + 1] = x[t] * he[k] - k * he[k - 1];',
      '        for (int k = 0; k <= K; k++) gc[k] += f * he[k];',
      '      }',
      '      double factorial = 1.0;',
      '      for (int k = 0; k <= K; k++) { if (k > 0) factorial *= k; gc[k] /= sqrt(factorial); }',
      '      if (pass == 1) for (int k = 0; k <= K; k++) gn[k * n + i] = gc[k];',
      '      else for (int k = 0; k <= K; k++) ge[k * n + i] = fabs(gn[k * n + i] - gc[k]);',
      '    }',
    );
  }
  if (plan.local) lines.push(...cLocalExpansion(plan, prefix, p, helpers));
  lines.push(
    `    if (!spread) { gn[i] = phi_mu; ge[i] = 0.0; for (int k = 1; k <= K; k++) gn[k * n + i] = ge[k * n + i] = 0.0; }`,
    '    for (int k = 0; k <= K; k++) if (!isfinite(gn[k * n + i])) finite = 0;',
    '    if (out1) out1[i] = gn[i];',
    '    var[i] = var_error[i] = 0.0;',
  );
  if (plan.order >= 2) {
    lines.push(
      '    /* Var = E[(phi - c)^2] - (g_0 - c)^2 about c = phi(mu): no cancellation when the spread is small next to the mean. */',
      '    const double centre = isfinite(phi_mu) ? phi_mu : 0.0;',
      '    double second[2];',
      '    for (int pass = 0; pass < 2; pass++) {',
      `      const int m = ${prefix}_points(mu, sd, pass, x, w);`,
      '      second[pass] = 0.0;',
      `      for (int t = 0; t < m; t++) { const double f = ${prefix}_phi(mu + sd * x[t]) - centre; second[pass] += w[t] * f * f; }`,
      '    }',
      '    const double offset = gn[i] - centre;',
      '    var[i] = fmax(second[0] - offset * offset, 0.0);',
      `    var_error[i] = fabs(second[0] - second[1]) + 4 * ${Number.EPSILON} * sqrt(second[0]) * (2 * fabs(centre) + sqrt(second[0])) + 2 * fabs(offset) * ge[i];`,
    );
    if (plan.local)
      lines.push(
        '    if (local) {',
        '      /* Values of phi do not resolve the spread: Var = sum_k ĝ_k^2 (Parseval). */',
        '      double parseval = 0.0, noise = 0.0;',
        '      for (int k = 1; k <= K; k++) { parseval += gn[k * n + i] * gn[k * n + i]; noise += ge[k * n + i] * ge[k * n + i]; }',
        '      var[i] = parseval;',
        `      var_error[i] = 2 * sqrt(parseval * noise) + noise + gn[K * n + i] * gn[K * n + i];`,
        '    }',
      );
    lines.push('    if (!spread) var[i] = var_error[i] = 0.0;', '    else if (!local && !isfinite(second[0])) finite = 0; /* E[phi^2] overflows: the variance cannot be represented */');
  }
  lines.push(
    '  }',
    `  if (!finite) { free(gn); free(ge); free(var); free(var_error); free(partial); free(zero); return -2; }`,
    '  int P = 0;',
    '  double bound = 0.0;',
    '  /* The scale of the correlations: sqrt(s_i s_j), 0 for a constant unit. */',
    '#define SCALE(i, j) (k2[(i) * n + (i)] > 0 && k2[(j) * n + (j)] > 0 ? sqrt(k2[(i) * n + (i)]) * sqrt(k2[(j) * n + (j)]) : 0.0)',
  );
  if (plan.order >= 2) {
    lines.push(
      '  if (out2 || series) {',
      '    /* The Mehler series in the correlations, truncated as corrmap truncates it: the first P whose Cauchy-Schwarz bound is below the tolerance. */',
      '    double max_rho = 0.0;',
      '    for (int i = 0; i < n; i++)',
      '      for (int j = i + 1; j < n; j++) {',
      '        const double scale = SCALE(i, j);',
      '        if (scale > 0) max_rho = fmax(max_rho, fmin(1.0, fabs(k2[i * n + j]) / scale));',
      '      }',
      '    for (int i = 0; i < n; i++) partial[i] = 0.0;',
      '    P = K;',
      '    for (int p = 1; p <= K; p++) {',
      '      double worst = 0.0;',
      '      for (int i = 0; i < n; i++) {',
      '        partial[i] += gn[p * n + i] * gn[p * n + i];',
      '        if (var[i] > 0) worst = fmax(worst, fmax(var[i] - partial[i], 0.0) / var[i]);',
      '      }',
      '      bound = pow(max_rho, p + 1) * worst;',
      `      if (bound <= ${p.number(plan.tolerance)}) { P = p; break; }`,
      '    }',
      '  }',
      ...(plan.bivariate
        ? [
            `  /* The exact bivariate form where the series would converge too slowly (the bound exceeds the tolerance). */`,
            `  const int exact = bound > ${p.number(plan.tolerance)};`,
            '  if (exact) { P = 0; bound = 0.0; }',
          ]
        : []),
      '  if (out2)',
      '    for (int i = 0; i < n; i++)',
      '      for (int j = 0; j < n; j++) {',
      '        if (i == j) { out2[i * n + i] = var[i]; continue; }',
      ...(plan.bivariate ? [`        if (exact) { out2[i * n + j] = ${prefix}pair(mean[i], mean[j], k2[i * n + i], k2[j * n + j], k2[i * n + j]); continue; }`] : []),
      '        const double scale = SCALE(i, j);',
      '        const double rho = scale > 0 ? fmax(-1.0, fmin(1.0, k2[i * n + j] / scale)) : 0.0;',
      '        double acc = 0.0, power = 1.0;',
      '        for (int p = 1; p <= P; p++) { power *= rho; acc += power * gn[p * n + i] * gn[p * n + j]; }',
      '        out2[i * n + j] = acc;',
      '      }',
    );
  }
  lines.push('#undef SCALE');
  if (plan.third) lines.push(...cThird(plan, prefix, p));
  else lines.push('  const double third_order = 0.0, third_estimate = 0.0, third_converged = 1.0;');
  lines.push(
    '  if (series) {',
    '    /* Relative errors the quadrature causes (numeric/general.ts tableErrors). */',
    '    double mean_scale = 0.0, mean_error = 0.0, max_var = 0.0, max_sd = 0.0, max_d = 0.0, max_var_error = 0.0;',
    '    for (int i = 0; i < n; i++) {',
    '      double d = 0.0;',
    '      for (int k = 1; k <= K; k++) d += ge[k * n + i] * ge[k * n + i];',
    '      mean_scale = fmax(mean_scale, fabs(gn[i]));',
    '      mean_error = fmax(mean_error, ge[i]);',
    '      max_var = fmax(max_var, var[i]);',
    '      max_sd = fmax(max_sd, sqrt(var[i]));',
    '      max_d = fmax(max_d, d);',
    '      max_var_error = fmax(max_var_error, var_error[i]);',
    '    }',
    '    mean_scale = fmax(mean_scale, max_sd);',
    '    series[0] = P;',
    '    series[1] = bound;',
    '    series[2] = mean_scale > 0 ? mean_error / mean_scale : mean_error;',
    `    series[3] = ${plan.order >= 2 ? 'max_var > 0 ? (2.0 * max_sd * sqrt(max_d) + max_var_error) / max_var : (max_d > 0 || max_var_error > 0 ? HUGE_VAL : 0.0)' : '0.0'};`,
    '    series[4] = third_order; series[5] = third_estimate; series[6] = third_converged;',
    '  }',
    // A closed form at order 1 takes no quadrature: the points helper stays unused (gcc -Wall).
    `  (void)x; (void)w; (void)he; (void)gc; (void)${prefix}_points;`,
    '  free(gn); free(ge); free(var); free(var_error); free(partial); free(zero);',
    '  return 0;',
    '}',
  );
  return lines;
}

/** The shells of κ3's three-vertex series as static tables: coefficients, (q_i, q_j, q_k, powers of S_ij, S_ik, S_jk), shell starts. */
function cThirdTables(plan: GaussianPlan, prefix: string, p: CPrinter): string[] {
  const { coefficients, rows, starts } = thirdTable(plan.third!);
  return [
    `static const double ${prefix}_third_coefficient[${coefficients.length}] = {${coefficients.map((c) => p.number(c)).join(', ')}};`,
    `static const int ${prefix}_third_index[${rows.length * 6}] = {${rows.map((r) => r.join(', ')).join(', ')}};`,
    `static const int ${prefix}_third_start[${starts.length}] = {${starts.join(', ')}};`,
  ];
}

/**
 * κ3 as corrmap computes it (numeric/general.ts thirdCumulant): distinct i, j, k by the three-vertex
 * series shell by shell until two shells in a row are below the tolerance (else the smallest shell's
 * sum, marked not converged); κ(y_i, y_i, y_i) = E[(φ − m)³] by quadrature and
 * κ(y_i, y_i, y_j) = Cov(φ²(z_i), φ(z_j)) − 2 m_i Cov(φ(z_i), φ(z_j)) by the Mehler series, or for a
 * pure step (numeric/general.ts pureJump) as (λ − 2 m_i) C_ij with C_ij the exact bivariate form.
 */
function cThird(plan: GaussianPlan, prefix: string, p: CPrinter): string[] {
  const shells = plan.third!.shells.length;
  const free = 'free(g); free(square); free(power); free(part); free(best);';
  return [
    '  double third_order = 0.0, third_estimate = 0.0, third_converged = 1.0;',
    '  if (out3) {',
    '    const size_t cube = units * units * units;',
    '    double *g = (double *)malloc(sizeof(double) * (K + 1) * units), *square = (double *)malloc(sizeof(double) * (K + 1) * units);',
    '    double *power = (double *)malloc(sizeof(double) * (K + 1) * units * units), *part = (double *)malloc(sizeof(double) * cube), *best = (double *)malloc(sizeof(double) * cube);',
    `    if (!g || !square || !power || !part || !best) { ${free} free(gn); free(ge); free(var); free(var_error); free(partial); free(zero); return -1; }`,
    '    /* g_k = ĝ_k sqrt(k!) / s^(k/2); Cov(phi^2(z_i), .) needs the g_k of phi^2 (Stein form) */',
    '    for (int i = 0; i < n; i++) {',
    '      const double mu = mean[i], s = k2[i * n + i], sd = s > 0 ? sqrt(s) : 1.0;',
    '      double factorial = 1.0;',
    '      for (int k = 0; k <= K; k++) {',
    '        if (k > 0) factorial *= k;',
    '        g[k * n + i] = gn[k * n + i] * sqrt(factorial) / pow(sd, k);',
    '        if (!isfinite(g[k * n + i])) finite = 0;',
    '        square[k * n + i] = 0.0;',
    '      }',
    '      const double m = g[i];',
    '      if (!(s > 0)) { square[i] = m * m; out3[(i * n + i) * n + i] = 0.0; continue; }',
    `      const int count = ${prefix}_points(mu, sd, 0, x, w);`,
    '      double cube_ = 0.0;',
    '      for (int t = 0; t < count; t++) {',
    `        const double f = ${prefix}_phi(mu + sd * x[t]);`,
    '        he[0] = 1.0; he[1] = x[t];',
    '        for (int k = 1; k < K; k++) he[k + 1] = x[t] * he[k] - k * he[k - 1];',
    '        for (int k = 0; k <= K; k++) square[k * n + i] += w[t] * f * f * he[k];',
    '        cube_ += w[t] * (f - m) * (f - m) * (f - m);',
    '      }',
    '      for (int k = 0; k <= K; k++) square[k * n + i] /= pow(sd, k);',
    '      out3[(i * n + i) * n + i] = cube_;',
    '    }',
    `    if (!finite) { ${free} free(gn); free(ge); free(var); free(var_error); free(partial); free(zero); return -2; }`,
    '    for (int i = 0; i < n * n; i++) { power[i] = 1.0; for (int q = 1; q <= K; q++) power[q * n * n + i] = power[(q - 1) * n * n + i] * k2[i]; }',
    '#define DISTINCT(i, j, k) ((i) != (j) && (j) != (k) && (i) != (k))',
    '    /* Distinct i, j, k: shells of the three-vertex series; the entries with repeated indices are replaced below. */',
    '    double *sum = (double *)calloc(cube, sizeof(double));',
    `    if (!sum) { ${free} free(gn); free(ge); free(var); free(var_error); free(partial); free(zero); return -1; }`,
    '    if (n >= 3) {',
    '      double scale = 0.0, smallest = HUGE_VAL;',
    '      int quiet = 0, growing = 0, best_order = 0;',
    '      for (int i = 0; i < n; i++) scale = fmax(scale, pow(var[i], 1.5));',
    `      for (int shell = 0; shell < ${shells}; shell++) {`,
    '        for (size_t e = 0; e < cube; e++) part[e] = 0.0;',
    `        for (int t = ${prefix}_third_start[shell]; t < ${prefix}_third_start[shell + 1]; t++) {`,
    `          const int *q = ${prefix}_third_index + 6 * t;`,
    `          const double c = ${prefix}_third_coefficient[t];`,
    '          for (int i = 0; i < n; i++)',
    '            for (int j = 0; j < n; j++)',
    '              for (int k = 0; k < n; k++)',
    '                part[(i * n + j) * n + k] += c * g[q[0] * n + i] * g[q[1] * n + j] * g[q[2] * n + k] * power[q[3] * n * n + i * n + j] * power[q[4] * n * n + i * n + k] * power[q[5] * n * n + j * n + k];',
    '        }',
    '        double size = 0.0;',
    '        for (int i = 0; i < n; i++)',
    '          for (int j = 0; j < n; j++)',
    '            for (int k = 0; k < n; k++) {',
    '              const size_t e = (i * n + j) * n + k;',
    '              sum[e] += part[e];',
    '              if (DISTINCT(i, j, k)) { size = fmax(size, fabs(part[e])); scale = fmax(scale, fabs(sum[e])); }',
    '            }',
    '        if (size < smallest) { smallest = size; for (size_t e = 0; e < cube; e++) best[e] = sum[e]; best_order = shell + 2; growing = 0; }',
    '        else growing++;',
    '        third_order = shell + 2; third_estimate = size;',
    `        quiet = scale > 0 && size <= ${p.number(plan.tolerance)} * scale ? quiet + 1 : 0;`,
    `        if (quiet >= ${THIRD_SERIES.quietShells} || (growing >= ${THIRD_SERIES.growingShells} && size > ${p.number(THIRD_SERIES.growth)} * smallest)) break;`,
    '      }',
    `      if (quiet < ${THIRD_SERIES.quietShells}) {`,
    '        /* Only asymptotic here (strong correlations): the smallest shell is the usual size of the error, not a bound. */',
    '        for (size_t e = 0; e < cube; e++) sum[e] = best[e];',
    '        third_order = best_order; third_estimate = smallest; third_converged = 0.0;',
    '      }',
    '    }',
    '    /* Repeated indices: E[(phi - m)^3] (set above) and Cov(phi^2(z_i), phi(z_j)) - 2 m_i Cov(phi(z_i), phi(z_j)) by the Mehler series. */',
    '    for (int i = 0; i < n; i++)',
    '      for (int j = 0; j < n; j++)',
    '        for (int k = 0; k < n; k++) {',
    '          const size_t e = (i * n + j) * n + k;',
    '          if (DISTINCT(i, j, k)) { out3[e] = sum[e]; continue; }',
    '          if (i == j && j == k) continue;',
    '          const int a = i == j ? i : i == k ? i : j, b = i == j ? k : i == k ? j : i;',
    ...(plan.third!.jump === undefined
      ? []
      : [
          '          /* A pure jump (phi^2 = lambda phi + const): Cov(phi^2(z_a), phi(z_b)) = lambda C_ab with C_ab the exact bivariate form (numeric/general.ts pureJump). */',
          `          const double exact = ${prefix}pair(mean[a], mean[b], k2[a * n + a], k2[b * n + b], k2[a * n + b]);`,
          `          out3[e] = ${p.number(plan.third!.jump)} * exact - 2 * g[a] * exact;`,
          '          continue;',
        ]),
    '          double with_square = 0.0, with_phi = 0.0, factorial = 1.0;',
    '          for (int q = 1; q <= K; q++) {',
    '            factorial *= q;',
    '            const double weight = power[q * n * n + a * n + b] / factorial * g[q * n + b];',
    '            with_square += weight * square[q * n + a];',
    '            with_phi += weight * g[q * n + a];',
    '          }',
    '          out3[e] = with_square - 2 * g[a] * with_phi;',
    '        }',
    '#undef DISTINCT',
    `    ${free} free(sum);`,
    '  }',
  ];
}

/**
 * ĝ_k of one unit from the Taylor coefficients of φ(μ + σt) (numeric/general.ts localExpansion, weights
 * computed by corrmap), kept where the quadrature's noise exceeds its threshold, no kink is near, and
 * the expansion states the smaller error; sets `local`.
 */
function cLocalExpansion(plan: GaussianPlan, prefix: string, p: CPrinter, helpers: Set<string>): string[] {
  const local = plan.local!;
  const K = plan.kmax;
  const M = local.terms;
  const series = cSeries(plan.expression.node, VARIABLE, K + 2 * M + 1, {}, p, 'l', helpers, '      ');
  const clear = plan.quadrature.kinks.map((k) => ` && fabs(${p.number(k)} - mu) > ${LOCAL_EXPANSION.kinkClearance} * sd`).join('');
  return [
    '    /* Where the quadrature does not resolve the spread (phi(mu + sd x) rounds to phi(mu)): the local expansion in derivatives at mu. */',
    '    double noise = 0.0, resolved = 0.0;',
    '    for (int k = 1; k <= K; k++) { noise += ge[k * n + i] * ge[k * n + i]; resolved += gn[k * n + i] * gn[k * n + i]; }',
    '    noise = sqrt(noise); resolved = sqrt(resolved);',
    `    if (noise > ${LOCAL_EXPANSION.noiseRatio} * resolved${clear}) {`,
    ...series.lines,
    `      double expanded[${K + 1}], expanded_error[${K + 1}], size = 0.0;`,
    '      int usable = 1;',
    '      for (int k = 0; k <= K; k++) {',
    '        double sum = 0.0, magnitude = 0.0, last = 0.0;',
    `        for (int m = 0; m <= ${M}; m++) { last = ${prefix}_local[k * ${M + 1} + m] * ${series.result}[k + 2 * m]; sum += last; magnitude += fabs(last); }`,
    '        if (!isfinite(sum)) usable = 0;',
    '        expanded[k] = sum;',
    `        expanded_error[k] = ${LOCAL_EXPANSION.lastTerm} * fabs(last) + ${LOCAL_EXPANSION.rounding} * ${Number.EPSILON} * magnitude;`,
    '        if (k > 0) size += expanded_error[k] * expanded_error[k];',
    '      }',
    '      if (usable && sqrt(size) < noise) {',
    '        local = 1;',
    '        for (int k = 0; k <= K; k++) { gn[k * n + i] = expanded[k]; ge[k * n + i] = expanded_error[k]; }',
    '      }',
    '    }',
  ];
}

function definitions(plan: ActivationPlan, name: string, p: CPrinter, helpers: Set<string>): string[] {
  if (plan.kind === 'polynomial') return polynomialBody(plan, name, p);
  return [...gaussianHelpers(plan, `${name}_`, p), '', ...exactPair(plan, `${name}_`, p), ...gaussianBody(plan, name, `${name}_`, p, helpers)];
}

const ROUTINE_SYNTAX: RoutineSyntax = {
  open: (name, args) => [`static double ${name}(${args.map((a) => `double ${a}`).join(', ')}) {`],
  bind: (name, value) => `const double ${name} = ${value};`,
  loop: (name, n) => [`double ${name} = 0.0;`, `for (int i = 0; i < ${n}; i++) {`, `  const double x = corrmap_gl${n}_x[i];`],
  accumulate: (name, n, term) => `${name} += corrmap_gl${n}_w[i] * ${term};`,
  close: ['}'],
  ret: (value) => `return ${value};`,
  end: ['}'],
  table: (n, nodes, weights) => [`static const double corrmap_gl${n}_x[${n}] = {${doubles(nodes)}};`, `static const double corrmap_gl${n}_w[${n}] = {${doubles(weights)}};`],
  indent: '  ',
};

/** Genz's routines ahead of the code, where it calls them. */
function withBivariateHelpers(body: readonly string[], p: CPrinter): string[] {
  return [...bivariateHelpers(body, p, ROUTINE_SYNTAX), ...body];
}

/**
 * Cov(φ_i, φ_j) by the atom's exact bivariate form (docs/theory.md §Bivariate forms), used where the
 * series' bound exceeds the tolerance (numeric/general.ts exactBivariateAtom); 0 for a unit of variance 0.
 */
function exactPair(plan: GaussianPlan, prefix: string, p: CPrinter): string[] {
  const b = plan.bivariate;
  if (!b) return [];
  const i = argumentCode(b, p, 'mui', 'sqrt(si)');
  const j = argumentCode(b, p, 'muj', 'sqrt(sj)');
  const linear = b.atom.linear[1] !== 0;
  const names = { hi: 'hi', hj: 'hj', taui: 'taui', tauj: 'tauj', nui: 'nui', nuj: 'nuj', rho: 'rho' };
  return [
    `static double ${prefix}pair(double mui, double muj, double si, double sj, double cij) {`,
    '  /* Only a variance of 0 makes a unit constant (numeric/bivariate.ts exactPairCovariance); a tiny one is spread. */',
    '  if (!(si > 0) || !(sj > 0)) return 0.0;',
    `  const double nui = ${i.nu}, nuj = ${j.nu}, taui = ${i.tau}, tauj = ${j.tau};`,
    '  const double hi = nui / taui, hj = nuj / tauj, rho = fmax(-1.0, fmin(1.0, cij / sqrt(si * sj)));',
    ...(linear ? [`  const double di = ${derivativeCode(b, p, 'nui', 'taui')}, dj = ${derivativeCode(b, p, 'nuj', 'tauj')};`] : []),
    '  (void)nui; (void)nuj; (void)taui; (void)tauj; (void)hi; (void)hj;',
    `  return ${pairCovariance(b, p, names, { i: 'di', j: 'dj' }, 'cij')};`,
    '}',
    '',
  ];
}

const INCLUDES = ['#include <math.h>', '#include <stdlib.h>'];

/**
 * A header and a source for one activation: int corrmap_cumulants(…). Without a header name, one
 * file that holds both (for printing).
 */
export function cActivationFiles(plan: ActivationPlan, p: CPrinter, header: readonly string[], headerName?: string, name = 'corrmap_cumulants'): EmittedFile[] {
  const declarations = [
    `#define CORRMAP_ORDER ${plan.order}`,
    `#define CORRMAP_INPUT_ORDER ${plan.kind === 'polynomial' ? plan.inputOrder : 2}`,
    prototypeComment(plan),
    `int ${name}(${parameters(plan)});`,
  ];
  const helpers = new Set<string>();
  const body = definitions(plan, name, p, helpers);
  return cFiles(header, declarations, [...cSeriesHelpers(helpers), ...withBivariateHelpers(body, p)], headerName);
}

function cFiles(header: readonly string[], declarations: readonly string[], body: readonly string[], headerName: string | undefined): EmittedFile[] {
  const guard = `CORRMAP_${(headerName ?? 'emitted').replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
  const h = [comment(header), `#ifndef ${guard}`, `#define ${guard}`, ...declarations, '#endif'].join('\n');
  if (headerName === undefined) return [{ extension: '.c', text: [h, ...INCLUDES, '', ...body].join('\n') + '\n' }];
  const c = [comment(header), ...INCLUDES, `#include "${headerName}"`, '', ...body].join('\n');
  return [
    { extension: '.h', text: `${h}\n` },
    { extension: '.c', text: `${c}\n` },
  ];
}

/**
 * A propagator for a whole network: int corrmap_propagate(pre, post, series, input), the weights
 * embedded, and under -DCORRMAP_MAIN a main that reads a corrmap stats file and prints the layers'
 * cumulants as JSON in the layout of `corrmap propagate --json`.
 */
export function cNetworkFiles(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number, p: CPrinter, header: readonly string[], headerName?: string): EmittedFile[] {
  const L = layers.length;
  const widths = [layers[0].cols, ...layers.map((l) => l.rows)];
  const maxPre = Math.max(...layers.map((l) => l.preOrder));
  const postOrder = (l: number) => (l + 1 < L ? Math.max(outputOrder, layers[l + 1].preOrder) : outputOrder);
  const body: string[] = [];
  const helpers = new Set<string>();
  layers.forEach((l, k) => {
    body.push(`static const double layer${k + 1}_weight[${l.rows * l.cols}] = {${doubles(l.weight)}};`, `static const double layer${k + 1}_bias[${l.rows}] = {${doubles(l.bias)}};`);
    if (l.plan) body.push('', ...definitions(l.plan, `layer${k + 1}_cumulants`, p, helpers));
    body.push('');
  });
  body.unshift(...cSeriesHelpers(helpers));
  body.push(
    `static const int corrmap_widths[${L + 1}] = {${widths.join(', ')}};`,
    '',
    '/* Order-r cumulants of W y + b (r successive mode products; the bias shifts the mean only). */',
    'static int affine(const double *W, const double *bias, int rows, int cols, int r, const double *in, double *out) {',
    '  size_t size = 1;',
    '  for (int a = 0; a < r; a++) size *= (size_t)(rows > cols ? rows : cols);',
    '  double *t = (double *)malloc(sizeof(double) * size), *u = (double *)malloc(sizeof(double) * size);',
    '  if (!t || !u) { free(t); free(u); return -1; }',
    '  size_t count = 1;',
    '  for (int a = 0; a < r; a++) count *= (size_t)cols;',
    '  for (size_t e = 0; e < count; e++) t[e] = in[e];',
    '  for (int mode = 0; mode < r; mode++) {',
    '    size_t before = 1, after = 1;',
    '    for (int a = 0; a < mode; a++) before *= (size_t)rows;',
    '    for (int a = mode + 1; a < r; a++) after *= (size_t)cols;',
    '    for (size_t b = 0; b < before; b++)',
    '      for (int o = 0; o < rows; o++)',
    '        for (size_t c = 0; c < after; c++) {',
    '          double acc = 0.0;',
    '          for (int i = 0; i < cols; i++) acc += W[o * cols + i] * t[(b * cols + i) * after + c];',
    '          u[(b * rows + o) * after + c] = acc;',
    '        }',
    '    double *swap = t; t = u; u = swap;',
    '  }',
    '  count = 1;',
    '  for (int a = 0; a < r; a++) count *= (size_t)rows;',
    '  for (size_t e = 0; e < count; e++) out[e] = t[e] + (r == 1 ? bias[e] : 0.0);',
    '  free(t); free(u);',
    '  return 0;',
    '}',
    '',
    'static size_t power_of(int n, int r) { size_t s = 1; for (int a = 0; a < r; a++) s *= (size_t)n; return s; }',
    '',
    'int corrmap_propagate(double **pre, double **post, double *series, const double *const *input) {',
    `  double *current[${Math.max(maxPre, outputOrder, inputOrder) + 1}] = {0}, *next[${Math.max(maxPre, outputOrder, inputOrder) + 1}] = {0}, *z[${maxPre + 1}] = {0};`,
    `  const int slots = ${Math.max(maxPre, outputOrder, inputOrder) + 1};`,
    '  int status = 0;',
    `  for (int r = 1; r <= ${maxPre}; r++) current[r] = (double *)input[r - 1];`,
  );
  layers.forEach((l, k) => {
    const rows = l.rows;
    const post = postOrder(k);
    body.push(
      `  /* layer ${k + 1}: ${l.cols} -> ${rows}, phi = ${l.source.replace(/\*\//g, '* /')} */`,
      `  for (int r = 1; r <= ${l.preOrder}; r++) {`,
      `    z[r] = NULL;`,
      `    if (!current[r] && r > 1) continue;`,
      `    z[r] = (double *)calloc(power_of(${rows}, r), sizeof(double));`,
      `    if (!z[r] || affine(layer${k + 1}_weight, layer${k + 1}_bias, ${rows}, ${l.cols}, r, current[r] ? current[r] : z[r], z[r])) { status = -1; goto done; }`,
      '  }',
      `  for (int r = 1; r <= ${outputOrder}; r++) {`,
      `    const size_t size = power_of(${rows}, r);`,
      `    for (size_t e = 0; e < size; e++) pre[${k * outputOrder} + r - 1][e] = r <= ${l.preOrder} && z[r] ? z[r][e] : 0.0;`,
      '  }',
    );
    if (l.plan) {
      const reads = l.plan.kind === 'polynomial' ? Math.max(l.plan.inputOrder, 2) : 2;
      body.push(
        `  for (int r = 1; r <= ${post}; r++) { next[r] = (double *)calloc(power_of(${rows}, r), sizeof(double)); if (!next[r]) { status = -1; goto done; } }`,
        `  if ((status = layer${k + 1}_cumulants(${Array.from({ length: l.plan.order }, (_, m) => `next[${m + 1}]`).join(', ')}, series ? series + ${SERIES * k} : NULL, ${rows}, ${Array.from({ length: reads }, (_, r) => (r + 1 <= Math.min(l.preOrder, l.reads) ? `z[${r + 1}]` : 'NULL')).join(', ')})) != 0) goto done;`,
      );
    } else {
      body.push(`  for (int r = 1; r <= ${post}; r++) { next[r] = ${`r <= ${l.preOrder} ? z[r] : NULL`}; if (r <= ${l.preOrder}) z[r] = NULL; }`);
      body.push(`  if (series) for (int e = 0; e < ${SERIES}; e++) series[${SERIES * k} + e] = e == 6 ? 1.0 : 0.0;`);
    }
    body.push(
      `  for (int r = 1; r <= ${outputOrder}; r++) {`,
      `    const size_t size = power_of(${rows}, r);`,
      `    for (size_t e = 0; e < size; e++) post[${k * outputOrder} + r - 1][e] = next[r] ? next[r][e] : 0.0;`,
      '  }',
      `  for (int r = 1; r < slots; r++) { if (${k === 0 ? '0' : '1'}) free(current[r]); current[r] = next[r]; next[r] = NULL; }`,
      `  for (int r = 1; r <= ${maxPre}; r++) { free(z[r]); z[r] = NULL; }`,
    );
  });
  body.push(
    'done:',
    `  for (int r = 1; r <= ${maxPre}; r++) free(z[r]);`,
    '  for (int r = 1; r < slots; r++) free(next[r]);',
    `  if (status == 0) for (int r = 1; r < slots; r++) free(current[r]);`,
    '  return status;',
    '}',
  );
  body.push(...cMain(layers, outputOrder, inputOrder));
  const declarations = [
    `#define CORRMAP_LAYERS ${L}`,
    `#define CORRMAP_OUTPUT_ORDER ${outputOrder}`,
    `#define CORRMAP_INPUT_ORDER ${inputOrder}`,
    `#define CORRMAP_READ_ORDER ${maxPre}`,
    comment([
      `Propagate input cumulants through the ${L} layers (widths ${widths.join(', ')}).`,
      `pre[l * ${outputOrder} + r - 1], post[l * ${outputOrder} + r - 1]: the caller's arrays of width_l^r doubles for layer l = 0…${L - 1}, order r = 1…${outputOrder} (row-major);`,
      `series[${SERIES} * ${L}] (may be NULL): per layer the series order P, its bound, the quadrature errors and κ3's series (as the layer functions);`,
      `input[r - 1], r = 1…${maxPre}: the input mean, covariance and higher cumulants (NULL = zero). Returns 0, -1 when memory runs out, or -2 when a layer's Gaussian expectation is not finite in float64.`,
    ]),
    'int corrmap_propagate(double **pre, double **post, double *series, const double *const *input);',
  ];
  return cFiles(header, declarations, withBivariateHelpers(body, p), headerName);
}

/** main under CORRMAP_MAIN: a minimal reader of the stats format and a JSON writer. */
function cMain(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number): string[] {
  const L = layers.length;
  const maxPre = Math.max(...layers.map((l) => l.preOrder));
  const keys = ORDER_KEYS.slice(1, maxPre + 1).map((k) => JSON.stringify(k));
  const outKeys = ORDER_KEYS.slice(1, outputOrder + 1).map((k) => JSON.stringify(k));
  const activations = layers.map((l) => JSON.stringify(JSON.stringify(l.source)));
  return [
    '',
    '#ifdef CORRMAP_MAIN',
    '#include <stdio.h>',
    '#include <string.h>',
    `static const char *const input_keys[${maxPre}] = {${keys.join(', ')}};`,
    `static const char *const output_keys[${outputOrder}] = {${outKeys.join(', ')}};`,
    `static const char *const activations[${L}] = {${activations.join(', ')}};`,
    '',
    '/* The numbers of the array after "key": in the stats text (depth-first), or -1 where the key is absent. */',
    'static long read_numbers(const char *text, const char *key, double **values) {',
    '  char quoted[16];',
    '  sprintf(quoted, "\\"%s\\"", key);',
    '  const char *at = strstr(text, quoted);',
    '  if (!at) return -1;',
    '  at = strchr(at + strlen(quoted), \'[\');',
    '  if (!at) return -1;',
    '  long count = 0, capacity = 64;',
    '  double *v = (double *)malloc(sizeof(double) * capacity);',
    '  int depth = 0;',
    '  while (*at && v) {',
    "    if (*at == '[') { depth++; at++; }",
    "    else if (*at == ']') { depth--; at++; if (depth == 0) break; }",
    "    else if (*at == '-' || *at == '+' || *at == '.' || (*at >= '0' && *at <= '9')) {",
    '      char *end;',
    '      const double x = strtod(at, &end);',
    '      if (count == capacity) { capacity *= 2; v = (double *)realloc(v, sizeof(double) * capacity); if (!v) break; }',
    '      v[count++] = x;',
    '      at = end;',
    '    } else at++;',
    '  }',
    '  *values = v;',
    '  return v ? count : -1;',
    '}',
    '',
    'static void print_tensor(const double *t, int n, int r) {',
    '  if (r == 0) { printf("%.17g", t[0]); return; }',
    '  const size_t stride = power_of(n, r - 1);',
    '  printf("[");',
    '  for (int i = 0; i < n; i++) { if (i) printf(","); print_tensor(t + i * stride, n, r - 1); }',
    '  printf("]");',
    '}',
    '',
    'int main(int argc, char **argv) {',
    '  if (argc != 2) { fprintf(stderr, "usage: %s stats.json\\n", argv[0]); return 2; }',
    '  FILE *file = fopen(argv[1], "rb");',
    '  if (!file) { fprintf(stderr, "cannot open %s\\n", argv[1]); return 2; }',
    '  fseek(file, 0, SEEK_END);',
    '  const long length = ftell(file);',
    '  fseek(file, 0, SEEK_SET);',
    '  char *text = (char *)malloc(length + 1);',
    '  if (!text || fread(text, 1, length, file) != (size_t)length) { fprintf(stderr, "cannot read %s\\n", argv[1]); return 2; }',
    '  text[length] = 0;',
    '  fclose(file);',
    `  double *input[${maxPre}] = {0};`,
    `  for (int r = 1; r <= ${maxPre}; r++) {`,
    '    const long count = read_numbers(text, input_keys[r - 1], &input[r - 1]);',
    '    if (count < 0) { if (r <= 2) { fprintf(stderr, "%s: \\"%s\\" is missing\\n", argv[1], input_keys[r - 1]); return 2; } input[r - 1] = NULL; continue; }',
    '    if ((size_t)count != power_of(corrmap_widths[0], r)) { fprintf(stderr, "%s: \\"%s\\" has %ld numbers, expected %d^%d\\n", argv[1], input_keys[r - 1], count, corrmap_widths[0], r); return 2; }',
    '  }',
    `  double *pre[${L * outputOrder}], *post[${L * outputOrder}], series[${SERIES * L}];`,
    `  for (int l = 0; l < ${L}; l++)`,
    `    for (int r = 1; r <= ${outputOrder}; r++) {`,
    `      pre[l * ${outputOrder} + r - 1] = (double *)calloc(power_of(corrmap_widths[l + 1], r), sizeof(double));`,
    `      post[l * ${outputOrder} + r - 1] = (double *)calloc(power_of(corrmap_widths[l + 1], r), sizeof(double));`,
    '    }',
    '  const int status = corrmap_propagate(pre, post, series, (const double *const *)input);',
    '  if (status == -2) { fprintf(stderr, "a Gaussian expectation of a layer is not finite in float64 at these means and variances\\n"); return 1; }',
    '  if (status) { fprintf(stderr, "out of memory\\n"); return 1; }',
    `  printf("{\\"truncation\\":{\\"inputOrder\\":${inputOrder},\\"outputOrder\\":${outputOrder}},\\"layers\\":[");`,
    `  for (int l = 0; l < ${L}; l++) {`,
    '    printf("%s{\\"activation\\":%s", l ? "," : "", activations[l]);',
    '    for (int side = 0; side < 2; side++) {',
    '      printf(",\\"%s\\":{", side ? "post" : "pre");',
    `      for (int r = 1; r <= ${outputOrder}; r++) {`,
    '        printf("%s\\"%s\\":", r > 1 ? "," : "", output_keys[r - 1]);',
    `        print_tensor((side ? post : pre)[l * ${outputOrder} + r - 1], corrmap_widths[l + 1], r);`,
    '      }',
    '      printf("}");',
    '    }',
    `    const double *s = series + ${SERIES} * l;`,
    '    printf(",\\"series\\":{\\"order\\":%.17g,\\"bound\\":%.17g,\\"quadrature\\":{\\"mean\\":%.17g,\\"cov\\":%.17g}", s[0], s[1], s[2], s[3]);',
    ...(outputOrder >= 3 ? ['    printf(",\\"third\\":{\\"order\\":%.17g,\\"estimate\\":%.17g,\\"converged\\":%s}", s[4], s[5], s[6] ? "true" : "false");'] : []),
    '    printf("}}");',
    '  }',
    '  printf("]}\\n");',
    '  return 0;',
    '}',
    '#endif',
  ];
}
