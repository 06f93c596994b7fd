/**
 * Python modules for NumPy, JAX and PyTorch: one function per activation from input cumulants to
 * output cumulants, vectorised (einsum over the rule's index letters, broadcasting over units; the
 * only Python loops run over orders and series terms, never over units).
 */
import { ORDER_KEYS } from '../io.ts';
import { parse } from '../../symbolic/math.ts';
import { MEAN, VARIANCE } from '../../symbolic/activations.ts';
import { VARIABLE } from '../../symbolic/expression.ts';
import type { NumPyPrinter } from '../../symbolic/print/python.ts';
import type { RuleShape, RuleTerm } from '../../symbolic/rule.ts';
import type { GaussianPlan, PolynomialPlan, ActivationPlan, RangeIntegrand } from './activation.ts';
import { RANGE_SCAN } from '../../numeric/gaussian-range.ts';
import type { RoutineSyntax } from '../../symbolic/print/routine.ts';
import { argumentCode, bivariateHelpers, derivativeCode, pairCovariance } from './bivariate.ts';
import { seriesProgram } from './series.ts';
import { PYTHON_SERIES, pythonSeriesHelpers } from './series-runtime.ts';
import { LOCAL_EXPANSION, THIRD_SERIES } from '../../numeric/general.ts';
import type { MathNode } from '../../symbolic/math.ts';

const LETTERS = 'ijkl';
const key = (r: number) => ORDER_KEYS[r];

export function pythonComment(lines: readonly string[]): string {
  return lines.map((l) => (l ? `# ${l}` : '#')).join('\n');
}

export function floatList(values: ArrayLike<number>): string {
  return `[${Array.from(values, (v) => String(v)).join(', ')}]`;
}

/** One term as coefficient × einsum over the per-index table B and the input cumulants k2…kK. */
function termCode(term: RuleTerm, rule: RuleShape, p: NumPyPrinter, table: string): string {
  const subscripts: string[] = [];
  const operands: string[] = [];
  for (const f of term.factors) {
    subscripts.push(LETTERS[f.slot]);
    operands.push(`${table}[${f.q}]`);
  }
  for (const c of term.cumulants) {
    subscripts.push(c.slots.map((s) => LETTERS[s]).join(''));
    operands.push(c.power === 1 ? key(c.order) : `${key(c.order)}_${c.power}`);
  }
  const product = `${p.api.xp}.einsum('${subscripts.join(',')}->${LETTERS.slice(0, rule.order)}', ${operands.join(', ')})`;
  const c = term.coefficient.toNumber();
  return c === 1 ? product : `${p.number(c)} * ${product}`;
}

/** Keyword arguments of an emitted function reading input cumulants up to order K. */
function signature(name: string, inputOrder: number): string {
  const args = ['mean', ...Array.from({ length: Math.max(inputOrder, 2) - 1 }, (_, r) => `${key(r + 2)}=None`)];
  return `def ${name}(${args.join(', ')}):`;
}

function polynomialFunction(plan: PolynomialPlan, name: string, p: NumPyPrinter): string[] {
  const { xp } = p.api;
  const lines = [
    signature(name, plan.inputOrder),
    `    """Output cumulants {'mean', ${plan.rules.slice(1).map((r) => `'${key(r.order)}'`).join(', ')}} of y = phi(z) from the cumulants of z (orders 1…${plan.inputOrder} read; None = 0)."""`,
    `    mu = ${p.api.asarray('mean')}`,
    `    n = mu.shape[0]`,
    '    # Taylor coefficients b_q(mu_i) = phi^(q)(mu_i)/q!',
    `    b = [${plan.activation.taylor.map((node) => `${p.code(node, { [VARIABLE]: 'mu' })} + 0.0 * mu`).join(', ')}]`,
  ];
  for (let r = 2; r <= Math.max(plan.inputOrder, 2); r++) lines.push(`    ${key(r)} = None if ${key(r)} is None else ${p.api.asarray(key(r))}`);
  const powers = new Set<string>();
  for (const rule of plan.rules) for (const t of rule.terms) for (const c of t.cumulants) if (c.power > 1) powers.add(`${c.order}:${c.power}`);
  for (const pw of [...powers].sort()) {
    const [order, power] = pw.split(':').map(Number);
    lines.push(`    ${key(order)}_${power} = None if ${key(order)} is None else ${key(order)} ** ${power}`);
  }
  lines.push('    out = {}');
  for (const rule of plan.rules) {
    const acc = `y_${key(rule.order)}`;
    lines.push(`    ${acc} = ${p.api.zeros(`(n,) * ${rule.order}`)}`);
    // Terms grouped by the input cumulants they need: a missing order contributes nothing.
    const groups = new Map<string, RuleTerm[]>();
    for (const t of rule.terms) {
      const needs = [...new Set(t.cumulants.map((c) => c.order))].sort().join(',');
      if (!groups.has(needs)) groups.set(needs, []);
      groups.get(needs)!.push(t);
    }
    for (const [needs, terms] of groups) {
      const orders = needs ? needs.split(',').map(Number) : [];
      const indent = orders.length ? '        ' : '    ';
      if (orders.length) lines.push(`    if ${orders.map((o) => `${key(o)} is not None`).join(' and ')}:`);
      for (const t of terms) lines.push(`${indent}${acc} = ${acc} + ${termCode(t, rule, p, 'b')}`);
    }
    lines.push(`    out['${key(rule.order)}'] = ${acc}`);
  }
  lines.push('    return out');
  return lines;
}

/** The emitted series program of one expansion, indented into a function body. */
function pythonSeries(node: MathNode, variable: string, at: { point: string; step: string; length: number }, values: Record<string, string>, p: NumPyPrinter, prefix: string, helpers: Set<string>): { lines: string[]; result: string } {
  const program = seriesProgram(node, variable, at, values, p, PYTHON_SERIES, prefix, 'mu');
  for (const h of program.helpers) helpers.add(h);
  return { lines: program.lines.map((l) => `    ${l}`), result: program.result };
}

/**
 * The Gaussian closure of one general activation, as corrmap computes it (numeric/general.ts
 * smoothedTable, covarianceTruncationOrder, tableErrors): the normalised ĝ_k from the closed form's
 * Taylor coefficients or the Stein form, the local expansion where the quadrature does not resolve a
 * unit's spread, the variance about φ(μ), the Mehler series in ρ.
 */
function gaussianFunction(plan: GaussianPlan, name: string, p: NumPyPrinter, quadratureName: string, helpers: Set<string>): string[] {
  const { xp } = p.api;
  const phiAt = (arg: string) => `(${p.code(plan.expression.node, { [VARIABLE]: arg })})`;
  const K = plan.kmax;
  const where = (c: string, a: string, b: string) => `${xp}.where(${c}, ${a}, ${b})`;
  const nonNegative = (v: string) => p.code(parse('max(v, 0)'), { v });
  const lines = [
    signature(name, 2),
    `    """Mean${plan.order >= 2 ? ' and covariance' : ''} of y = phi(z) for Gaussian z (mean, cov); the result's 'truncation' states the series order P, its bound and the quadrature error."""`,
    `    mu = ${p.api.asarray('mean')}`,
    `    n = mu.shape[0]`,
    `    cov = ${p.api.zeros('(n, n)')} if cov is None else ${p.api.asarray('cov')}`,
    `    s = ${p.api.diagonal('cov')}`,
    '    # A unit of variance 0 is a constant, y_i = phi(mu_i); any other is spread, however little.',
    '    spread = s > 0',
    `    s_ = ${where('spread', 's', '1.0 + 0.0 * s')}`,
    `    sd = ${xp}.sqrt(s_)`,
    `    phi_mu = ${phiAt('mu')} + 0.0 * mu`,
    `    x, w = ${quadratureName}(mu, sd, False)`,
    `    xc, wc = ${quadratureName}(mu, sd, True)`,
  ];
  if (plan.smoothed) {
    const series = pythonSeries(plan.smoothed, MEAN, { point: 'mu', step: 'sd', length: K + 1 }, { [VARIANCE]: 's_' }, p, 'c', helpers);
    lines.push(
      `    # ĝ_k = c_k sqrt(k!), c_k the Taylor coefficients of G(mu + sd t, s) in t (closed form), k = 0…${K}`,
      ...series.lines,
      `    gn = [c * math.sqrt(math.factorial(k)) for k, c in enumerate(${series.result})]`,
      '    gn_error = [0.0 * mu for c in gn]',
    );
  } else {
    lines.push(
      `    # ĝ_k = E[phi(mu + sd X) He_k(X)] / sqrt(k!) (Stein form), k = 0…${K}, on the rule and on the coarse rule`,
      `    gn = _stein(${phiAt('(mu[:, None] + sd[:, None] * x)')}, x, w, ${K})`,
      `    gn_error = [${xp}.abs(a - c) for a, c in zip(gn, _stein(${phiAt('(mu[:, None] + sd[:, None] * xc)')}, xc, wc, ${K}))]`,
    );
  }
  if (plan.local) lines.push(...pythonLocalExpansion(plan, p, helpers));
  lines.push(
    `    gn = [${where('spread', 'g', '(phi_mu if k == 0 else 0.0 * mu)')} for k, g in enumerate(gn)]`,
    `    gn_error = [${where('spread', 'e', '0.0 * mu')} for e in gn_error]`,
    '    for k, g in enumerate(gn):',
    `        if not bool(${xp}.all(${xp}.isfinite(g))):`,
    `            raise FloatingPointError('the Gaussian expectation of ${plan.expression.source.replace(/'/g, '')} (or of its derivative of order %d) is not finite in float64 at these means and variances' % k)`,
    `    out = {'mean': gn[0]}`,
    `    var, var_error = 0.0 * mu, 0.0 * mu`,
  );
  if (plan.order >= 2) {
    lines.push(
      '    # Var = E[(phi - c)^2] - (g_0 - c)^2 about c = phi(mu): no cancellation when the spread is small next to the mean.',
      `    centre = ${where(`${xp}.isfinite(phi_mu)`, 'phi_mu', '0.0 * mu')}`,
      `    second = (w * (${phiAt('(mu[:, None] + sd[:, None] * x)')} - centre[:, None]) ** 2).sum(-1)`,
      `    second_error = ${xp}.abs(second - (wc * (${phiAt('(mu[:, None] + sd[:, None] * xc)')} - centre[:, None]) ** 2).sum(-1))`,
      '    offset = gn[0] - centre',
      `    rounding = 4 * ${Number.EPSILON} * ${xp}.sqrt(second) * (2 * ${xp}.abs(centre) + ${xp}.sqrt(second))`,
      `    var = ${nonNegative('second - offset ** 2')}`,
      `    var_error = second_error + rounding + 2 * ${xp}.abs(offset) * gn_error[0]`,
    );
    if (plan.local)
      lines.push(
        '    # Where the local expansion was used, values of phi do not resolve the spread: Var = sum_k ĝ_k^2 (Parseval).',
        '    parseval = sum(g ** 2 for g in gn[1:])',
        '    noise2 = sum(e ** 2 for e in gn_error[1:])',
        `    var = ${where('local', 'parseval', 'var')}`,
        `    var_error = ${where('local', `2 * ${xp}.sqrt(parseval * noise2) + noise2 + gn[${K}] ** 2`, 'var_error')}`,
      );
    lines.push(
      `    var = ${where('spread', 'var', '0.0 * mu')}`,
      `    var_error = ${where('spread', 'var_error', '0.0 * mu')}`,
      `    if not bool(${xp}.all(${xp}.isfinite(var))):`,
      `        raise FloatingPointError('E[phi(z)^2] of ${plan.expression.source.replace(/'/g, '')} is not finite in float64 at these means and variances (it overflows where the Gaussian has weight), so the variance of y cannot be represented')`,
      '    # The Mehler series in the correlations, truncated as corrmap truncates it (numeric/general.ts covarianceTruncationOrder).',
      `    sd0 = ${xp}.sqrt(${where('spread', 's', '0.0 * s')})`,
      '    scale = sd0[:, None] * sd0[None, :]',
      `    rho = ${where('scale > 0', `cov / ${where('scale > 0', 'scale', '1.0 + 0.0 * scale')}`, '0.0 * scale')} * (1.0 - ${p.api.eye('n')})`,
      `    rho = ${xp}.minimum(${xp}.maximum(rho, -1.0 + 0.0 * rho), 1.0 + 0.0 * rho)`,
      `    max_rho = ${p.api.maxFloat(`${xp}.abs(rho)`)} if n > 1 else 0.0`,
      '    alive = var > 0',
      `    var_ = ${where('alive', 'var', '1.0 + 0.0 * var')}`,
      '    partial = 0.0 * mu',
      `    P, bound = ${K}, 0.0`,
      `    for p in range(1, ${K + 1}):`,
      '        partial = partial + gn[p] ** 2',
      `        relative = ${where('alive', `${nonNegative('var - partial')} / var_`, '0.0 * var')}`,
      `        bound = max_rho ** (p + 1) * ${p.api.maxFloat('relative')}`,
      `        if bound <= ${p.number(plan.tolerance)}:`,
      '            P = p',
      '            break',
      ...exactOrSeries(plan, p, [
        `    k2 = ${p.api.zeros('(n, n)')}`,
        '    power = 1.0 + 0.0 * rho',
        '    for p in range(1, P + 1):',
        '        power = power * rho',
        '        k2 = k2 + power * (gn[p][:, None] * gn[p][None, :])',
      ]),
      `    out['cov'] = k2 - ${xp}.diag(${xp}.diagonal(k2)) + ${xp}.diag(var)`,
    );
  } else lines.push('    P, bound = 0, 0.0');
  if (plan.third) lines.push(...pythonThird(plan, name, p, phiAt));
  lines.push(
    '    # Relative errors the quadrature causes (numeric/general.ts tableErrors).',
    `    max_var = ${p.api.maxFloat('var')}`,
    `    max_sd = ${p.api.maxFloat(`${xp}.sqrt(var)`)}`,
    `    mean_scale = max(${p.api.maxFloat(`${xp}.abs(gn[0])`)}, max_sd)`,
    `    mean_error = ${p.api.maxFloat('gn_error[0]')}`,
    `    max_d = ${p.api.maxFloat('sum(e ** 2 for e in gn_error[1:]) + 0.0 * mu')}`,
    `    max_var_error = ${p.api.maxFloat('var_error')}`,
    "    quadrature = {'mean': mean_error / mean_scale if mean_scale > 0 else mean_error}",
  );
  if (plan.order >= 2)
    lines.push(
      '    cov_error = (2 * max_sd * math.sqrt(max_d) + max_var_error) / max_var if max_var > 0 else (math.inf if max_d > 0 or max_var_error > 0 else 0.0)',
      "    quadrature = {'mean': quadrature['mean'], 'cov': cov_error}",
    );
  lines.push(`    out['truncation'] = {'order': P, 'bound': bound, 'quadrature': quadrature${plan.third ? ", 'third': third" : ''}}`, '    return out');
  return lines;
}

/**
 * The covariance off the diagonal: where φ has an exact bivariate form, that form when the series'
 * bound exceeds the tolerance (numeric/general.ts exactBivariateAtom), else the series.
 */
function exactOrSeries(plan: GaussianPlan, p: NumPyPrinter, series: readonly string[]): string[] {
  if (!plan.bivariate) return [...series];
  return [
    `    if bound > ${p.number(plan.tolerance)}:`,
    '        # The exact bivariate form of the atom (docs/theory.md §Bivariate forms): the series would converge too slowly.',
    ...exactPairs(plan, p, 'k2', '        '),
    '        P, bound = 0, 0.0',
    '    else:',
    ...series.map((l) => `    ${l}`),
  ];
}

/** `target` = Cov(φ_i, φ_j) for every pair by the atom's exact bivariate form (0 where a unit has variance 0). */
function exactPairs(plan: GaussianPlan, p: NumPyPrinter, target: string, indent: string): string[] {
  const { xp } = p.api;
  const b = plan.bivariate!;
  const { nu, tau } = argumentCode(b, p, 'mu', 'sd');
  const col = (x: string) => `${x}[:, None]`;
  const row = (x: string) => `${x}[None, :]`;
  const names = { hi: col('h'), hj: row('h'), taui: col('tau'), tauj: row('tau'), nui: col('nu'), nuj: row('nu'), rho: 'r_' };
  const linear = b.atom.linear[1] !== 0;
  return [
    `nu = ${nu}`,
    `tau = ${tau}`,
    'h = nu / tau',
    '# rho = c_ij / sqrt(s_i s_j) as corrmap forms it (numeric/bivariate.ts exactPairCovariance): exactly 1 for a repeated unit.',
    `r_ = ${p.code(parse('max(-1, min(1, c / sqrt(d)))'), { c: 'cov', d: 's_[:, None] * s_[None, :]' })}`,
    ...(linear ? [`d1 = ${derivativeCode(b, p, 'nu', 'tau')}`] : []),
    `${target} = ${pairCovariance(b, p, names, { i: col('d1'), j: row('d1') }, 'cov')}`,
    '# Only a unit of variance 0 is constant; a tiny variance is spread, however little.',
    `${target} = ${xp}.where(${col('spread')} & ${row('spread')}, ${target}, 0.0 * ${target})`,
  ].map((l) => indent + l);
}

const ROUTINE_SYNTAX: RoutineSyntax = {
  open: (name, args) => [`def ${name}(${args.join(', ')}):`],
  bind: (name, value) => `${name} = ${value}`,
  loop: (name, n) => [`${name} = 0.0`, `for x, w in zip(_GL${n}_X, _GL${n}_W):`],
  accumulate: (name, _n, term) => `${name} = ${name} + w * ${term}`,
  close: [],
  ret: (value) => `return ${value}`,
  end: [''],
  table: (n, nodes, weights) => [`_GL${n}_X = ${floatList(nodes)}`, `_GL${n}_W = ${floatList(weights)}`],
  indent: '    ',
};

/** The module constant with the shells of κ3's three-vertex series for the function `name`. */
const thirdTable = (name: string) => `_${name}_THIRD`;

function thirdShellsLiteral(plan: GaussianPlan, name: string, p: NumPyPrinter): string[] {
  const shells = plan.third!.shells.map((shell) => `    [${shell.map(([c, ...rest]) => `(${p.number(c)}, ${rest.join(', ')})`).join(', ')}],`);
  return [`# The shells of the three-vertex series (2, 3, … edges): (coefficient, q_i, q_j, q_k, powers of S_ij, S_ik, S_jk).`, `${thirdTable(name)} = [`, ...shells, ']'];
}

/**
 * κ3 as corrmap computes it (numeric/general.ts thirdCumulant): distinct i, j, k by the three-vertex
 * series shell by shell until two shells in a row are below the tolerance (else the smallest shell's
 * sum, marked not converged); κ(y_i, y_i, y_i) = E[(φ − m)³] by quadrature and
 * κ(y_i, y_i, y_j) = Cov(φ²(z_i), φ(z_j)) − 2 m_i Cov(φ(z_i), φ(z_j)) by the Mehler series, or for a
 * pure step (numeric/general.ts pureJump) as (λ − 2 m_i) C_ij with C_ij the exact bivariate form.
 */
function pythonThird(plan: GaussianPlan, name: string, p: NumPyPrinter, phiAt: (arg: string) => string): string[] {
  const { xp } = p.api;
  const K = plan.kmax;
  const einsum = (spec: string, ...args: string[]) => `${xp}.einsum('${spec}', ${args.join(', ')})`;
  return [
    '    # g_k = ĝ_k sqrt(k!) / s^(k/2) and the powers of S for the three-vertex series',
    `    factorial = [float(math.factorial(k)) for k in range(${K + 1})]`,
    `    g = [gn[k] * math.sqrt(factorial[k]) / sd ** k for k in range(${K + 1})]`,
    '    for k, gk in enumerate(g):',
    `        if not bool(${xp}.all(${xp}.isfinite(gk))):`,
    `            raise FloatingPointError('the third cumulant needs g_k = E[phi^(k)(z)] up to k = ${K}, which leave float64 range at these variances (tiny or huge): report orders <= 2')`,
    '    powers = [1.0 + 0.0 * cov]',
    `    for q in range(${K}):`,
    '        powers.append(powers[-1] * cov)',
    `    eye = ${p.api.eye('n')}`,
    '    off = 1.0 - eye',
    `    distinct = ${einsum('ij,ik,jk->ijk', 'off', 'off', 'off')}`,
    `    k3 = ${p.api.zeros('(n, n, n)')}`,
    "    third = {'order': 0, 'estimate': 0.0, 'converged': True}",
    '    if n >= 3:',
    `        scale = ${p.api.maxFloat('var')} ** 1.5`,
    '        quiet, growing, smallest, best, best_order = 0, 0, math.inf, k3, 0',
    `        for total, shell in enumerate(${thirdTable(name)}, start=2):`,
    `            part = ${p.api.zeros('(n, n, n)')}`,
    '            for c, qi, qj, qk, pij, pik, pjk in shell:',
    `                part = part + c * ${einsum('i,j,k,ij,ik,jk->ijk', 'g[qi]', 'g[qj]', 'g[qk]', 'powers[pij]', 'powers[pik]', 'powers[pjk]')}`,
    `            size = ${p.api.maxFloat(`${xp}.abs(part) * distinct`)}`,
    '            k3 = k3 + part',
    `            scale = max(scale, ${p.api.maxFloat(`${xp}.abs(k3) * distinct`)})`,
    '            if size < smallest:',
    '                smallest, best, best_order, growing = size, k3, total, 0',
    '            else:',
    '                growing += 1',
    "            third = {'order': total, 'estimate': size, 'converged': True}",
    `            quiet = quiet + 1 if scale > 0 and size <= ${p.number(plan.tolerance)} * scale else 0`,
    `            if quiet >= ${THIRD_SERIES.quietShells} or (growing >= ${THIRD_SERIES.growingShells} and size > ${p.number(THIRD_SERIES.growth)} * smallest):`,
    '                break',
    `        if quiet < ${THIRD_SERIES.quietShells}:`,
    '            # Only asymptotic here (strong correlations): the smallest shell is the usual size of the error, not a bound.',
    "            k3, third = best, {'order': best_order, 'estimate': smallest, 'converged': False}",
    '    # Repeated indices: E[(phi - m)^3] and Cov(phi^2(z_i), phi(z_j)) - 2 m_i Cov(phi(z_i), phi(z_j)).',
    '    m = g[0]',
    `    f = ${phiAt('(mu[:, None] + sd[:, None] * x)')}`,
    `    square = _stein(f ** 2, x, w, ${K})`,
    `    square = [${xp}.where(spread, square[k] * math.sqrt(factorial[k]) / sd ** k, (phi_mu ** 2 if k == 0 else 0.0 * mu)) for k in range(${K + 1})]`,
    `    diagonal = ${xp}.where(spread, (w * (f - m[:, None]) ** 3).sum(-1), 0.0 * mu)`,
    ...(plan.third!.jump === undefined
      ? [
          `    cross = lambda a: sum(powers[q] / factorial[q] * (a[q][:, None] * g[q][None, :]) for q in range(1, ${K + 1}))`,
          '    pair = off * (cross(square) - 2 * m[:, None] * cross(g))',
        ]
      : [
          '    # A pure jump (phi^2 = lambda phi + const): Cov(phi^2(z_i), phi(z_j)) = lambda C_ij with C_ij the exact bivariate form (numeric/general.ts pureJump).',
          ...exactPairs(plan, p, 'exact', '    '),
          `    pair = off * (${p.number(plan.third!.jump)} * exact - 2 * m[:, None] * exact)`,
        ]),
    `    out['k3'] = k3 * distinct + ${einsum('ab,ac->abc', 'eye', 'pair')} + ${einsum('ac,ab->abc', 'eye', 'pair')} + ${einsum('bc,ba->abc', 'eye', 'pair')} + ${einsum('ab,bc,a->abc', 'eye', 'eye', 'diagonal')}`,
  ];
}

/**
 * ĝ_k from the Taylor coefficients of φ(μ + σt) (numeric/general.ts localExpansion, weights computed
 * by corrmap), kept where the quadrature's noise exceeds its threshold, no kink is near, and the
 * expansion states the smaller error; `local` marks those units.
 */
function pythonLocalExpansion(plan: GaussianPlan, p: NumPyPrinter, helpers: Set<string>): string[] {
  const { xp } = p.api;
  const local = plan.local!;
  const K = plan.kmax;
  const M = local.terms;
  const series = pythonSeries(plan.expression.node, VARIABLE, { point: 'mu', step: 'sd', length: K + 2 * M + 1 }, {}, p, 'l', helpers);
  const clear = plan.quadrature.kinks.map((k) => `(${xp}.abs(${p.number(k)} - mu) > ${LOCAL_EXPANSION.kinkClearance} * sd)`);
  return [
    '    # Where the quadrature does not resolve the spread (phi(mu + sd x) rounds to phi(mu)): the local expansion in derivatives at mu.',
    `    noise = ${xp}.sqrt(sum(e ** 2 for e in gn_error[1:]))`,
    `    resolved = ${xp}.sqrt(sum(g ** 2 for g in gn[1:]))`,
    ...series.lines,
    `    weights = ${floatList2(local.weights, p)}`,
    `    terms = [[weights[k][m] * ${series.result}[k + 2 * m] for m in range(${M + 1})] for k in range(${K + 1})]`,
    '    expanded = [sum(t) for t in terms]',
    `    expanded_error = [${LOCAL_EXPANSION.lastTerm} * ${xp}.abs(t[-1]) + ${LOCAL_EXPANSION.rounding * Number.EPSILON} * sum(${xp}.abs(x) for x in t) for t in terms]`,
    `    local = (noise > ${LOCAL_EXPANSION.noiseRatio} * resolved)${clear.map((c) => ` & ${c}`).join('')}`,
    '    for g in expanded:',
    `        local = local & ${xp}.isfinite(g)`,
    `    local = local & (${xp}.sqrt(sum(e ** 2 for e in expanded_error[1:])) < noise)`,
    `    gn = [${xp}.where(local, a, b) for a, b in zip(expanded, gn)]`,
    `    gn_error = [${xp}.where(local, a, b) for a, b in zip(expanded_error, gn_error)]`,
  ];
}

const floatList2 = (rows: readonly Float64Array[], p: NumPyPrinter) => `[${rows.map((r) => `[${Array.from(r, (v) => p.number(v)).join(", ")}]`).join(", ")}]`;

/** The quadrature helpers of one general activation: its rule's nodes and weights (computed once) and the points per unit. */
function quadratureHelpers(plan: GaussianPlan, name: string, p: NumPyPrinter): string[] {
  const q = plan.quadrature;
  const { xp } = p.api;
  const arr = (v: ArrayLike<number>) => p.api.asarray(floatList(v));
  const lines = [`${name}_RULE = (${arr(q.nodes)},`, `    ${arr(q.weights)})`, `${name}_COARSE = (${arr(q.coarse.nodes)},`, `    ${arr(q.coarse.weights)})`];
  lines.push(`def ${name}_points(mu, sd, coarse):`, `    nodes, weights = ${name}_COARSE if coarse else ${name}_RULE`);
  if (q.kind === 'hermite') {
    lines.push(`    return nodes[None, :] + 0.0 * mu[:, None], weights[None, :] + 0.0 * mu[:, None]`);
    return lines;
  }
  lines.splice(4, 0, ...pythonRange(plan, name, p));
  lines.push(
    `    lo, hi = ${name}_range(mu, sd)`,
    `    cuts = [lo] + [${p.code(parse('min(max(c, lo), hi)'), { c: '(k - mu) / sd', lo: 'lo', hi: 'hi' })} for k in ${floatList(q.kinks)}] + [hi]`,
    '    xs, ws = [], []',
    '    for a, b in zip(cuts[:-1], cuts[1:]):',
    '        half, mid = (b - a) / 2, (b + a) / 2',
    '        x = mid[:, None] + half[:, None] * nodes[None, :]',
    `        xs.append(x)`,
    `        ws.append(half[:, None] * weights[None, :] * ${p.code(parse('phi(x)'), { x: 'x' })})`,
    `    return ${p.api.concatenate('xs')}, ${p.api.concatenate('ws')}`,
  );
  return lines;
}

/**
 * `name_range(mu, sd)`: where the piecewise rule integrates, per unit, as corrmap's quadrature decides
 * it (src/emit/activation.ts RangeScan; numeric/gaussian-range.ts rangeOfValues): on the scan's grid,
 * each integrand kept where it exceeds its floor × its largest value, widened by a step, never less
 * than ±least nor more than ±most; the union over the integrands. An integrand that is not finite
 * on the grid, or 0, leaves ±least.
 */
function pythonRange(plan: GaussianPlan, name: string, p: NumPyPrinter): string[] {
  const { xp } = p.api;
  const scan = plan.quadrature.range!;
  const { least, most, step, floor } = RANGE_SCAN;
  const arr = (v: ArrayLike<number>) => `${p.api.asarray(floatList(v))}[None, :]`;
  const integrand = (r: RangeIntegrand) => {
    const base = r.centred ? '(f - c[:, None])' : 'f';
    return `${xp}.abs(density * ${r.power === 1 ? base : `${base} ** ${r.power}`}${r.hermite ? ' * he' : ''})`;
  };
  return [
    `${name}_SCAN = (${arr(scan.grid)},`,
    `    ${arr(scan.density)},`,
    `    ${arr(scan.hermite)})`,
    `def ${name}_range(mu, sd):`,
    `    grid, density, he = ${name}_SCAN`,
    `    f = (${p.code(plan.expression.node, { [VARIABLE]: '(mu[:, None] + sd[:, None] * grid)' })}) + 0.0 * grid`,
    `    c = (${p.code(plan.expression.node, { [VARIABLE]: 'mu' })}) + 0.0 * mu`,
    `    c = ${xp}.where(${xp}.isfinite(c), c, 0.0 * c)`,
    `    lo, hi = ${p.number(-least)} + 0.0 * mu, ${p.number(least)} + 0.0 * mu`,
    '    zero = 0.0 * density + 0.0 * mu[:, None]',
    `    for v in [${scan.integrands.map(integrand).join(', ')}]:`,
    `        finite = ${xp}.isfinite(v)`,
    `        ok = ${p.api.rowMax(`${xp}.where(finite, zero, 1.0 + zero)`)} == 0`,
    `        v = ${xp}.where(finite, v, zero)`,
    `        largest = ${p.api.rowMax('v')}`,
    `        keep = v > ${p.number(floor)} * largest[:, None]`,
    `        good = ok & (largest > 0)`,
    `        first = -${p.api.rowMax(`${xp}.where(keep, -grid + zero, ${p.number(-most - step)} + zero)`)}`,
    `        last = ${p.api.rowMax(`${xp}.where(keep, grid + zero, ${p.number(-most - step)} + zero)`)}`,
    `        lo = ${xp}.where(good, ${p.code(parse('min(lo, max(min(-least, first - step), -most))'), { lo: 'lo', first: 'first', least: p.number(least), step: p.number(step), most: p.number(most) })}, lo)`,
    `        hi = ${xp}.where(good, ${p.code(parse('max(hi, min(max(least, last + step), most))'), { hi: 'hi', last: 'last', least: p.number(least), step: p.number(step), most: p.number(most) })}, hi)`,
    // Not finite on the grid: corrmap's quadrature refuses such a unit (the integrand at the range's ends
    // is not small); no range, so every expectation of the unit is NaN and the code's checks refuse it.
    `        lo = ${xp}.where(ok, lo, math.nan + lo)`,
    `        hi = ${xp}.where(ok, hi, math.nan + hi)`,
    '    return lo, hi',
  ];
}

/** Helpers shared by the general activations of a module. */
function steinHelper(_p: NumPyPrinter): string[] {
  return [
    'def _stein(f, x, w, kmax):',
    '    """ĝ_k = E[f He_k(X)] / sqrt(k!) (Stein form, normalised), He_k by its three-term recurrence."""',
    '    he_prev, he = 0.0 * x, 1.0 + 0.0 * x',
    '    g = []',
    '    for k in range(kmax + 1):',
    '        g.append((w * f * he).sum(-1) / math.sqrt(math.factorial(k)))',
    '        he_prev, he = he, x * he - k * he_prev',
    '    return g',
  ];
}

/** The definitions of a module: one function per activation plan, with the helpers they need. */
export function pythonDefinitions(plans: ReadonlyArray<{ plan: ActivationPlan; name: string }>, p: NumPyPrinter): string[] {
  const lines: string[] = [];
  const helpers = new Set<string>();
  if (plans.some(({ plan }) => plan.kind === 'gaussian' && (!plan.smoothed || plan.third))) lines.push(...steinHelper(p), '');
  for (const { plan, name } of plans) {
    if (plan.kind === 'polynomial') lines.push(...polynomialFunction(plan, name, p), '');
    else lines.push(...quadratureHelpers(plan, `_${name}`, p), '', ...(plan.third ? [...thirdShellsLiteral(plan, name, p), ''] : []), ...gaussianFunction(plan, name, p, `_${name}_points`, helpers), '');
  }
  return [...pythonSeriesHelpers(helpers, p), ...bivariateHelpers(lines, p, ROUTINE_SYNTAX), ...lines];
}

export function pythonImports(p: NumPyPrinter): string[] {
  return ['import math', ...p.api.imports.filter((l) => l !== 'import math')];
}

/** A module with one function `name` for one activation. */
export function pythonActivationModule(plan: ActivationPlan, name: string, p: NumPyPrinter, header: readonly string[]): string {
  return [pythonComment(header), '', ...pythonImports(p), '', '', ...pythonDefinitions([{ plan, name }], p)].join('\n');
}

export interface EmittedLayer {
  readonly source: string;
  readonly weight: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly bias: Float64Array;
  /** undefined: no activation. */
  readonly plan?: ActivationPlan;
  readonly preOrder: number;
  /** Highest input order the activation reads. */
  readonly reads: number;
}

/** The .npy files of layer k's weight and bias, next to the module whose name is `stem`.py. */
export function weightFileNames(stem: string, k: number): [string, string] {
  return [`${stem}_layer${k + 1}_weight.npy`, `${stem}_layer${k + 1}_bias.npy`];
}

function matrixLiteral(w: Float64Array, rows: number, cols: number): string {
  return `[${Array.from({ length: rows }, (_, r) => floatList(w.subarray(r * cols, (r + 1) * cols))).join(',\n     ')}]`;
}

/**
 * A propagator for a whole network (affine maps as successive mode products, then each layer's
 * activation function), runnable as `python3 prop.py stats.json`: prints the layers' pre- and
 * post-activation cumulants as JSON in the layout of `corrmap propagate --json`.
 */
export function pythonNetworkModule(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number, p: NumPyPrinter, header: readonly string[], weightFiles?: string): string {
  const { xp } = p.api;
  const plans = layers.flatMap((l, k) => (l.plan ? [{ plan: l.plan, name: `layer_${k + 1}` }] : []));
  const imports = [...pythonImports(p), 'import json', 'import sys'];
  if (weightFiles !== undefined) imports.push('import os', ...(imports.includes('import numpy as np') ? [] : ['import numpy as np']));
  const lines = [pythonComment(header), '', ...imports, '', '', ...pythonDefinitions(plans, p)];
  if (weightFiles !== undefined)
    lines.push(
      'def _weights(name):',
      '    """A float64 array from a .npy file next to this module (written by corrmap emit-network --weights npy)."""',
      `    return ${p.api.fromNumpy('np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), name))')}`,
      '',
      '',
    );
  lines.push(`KEYS = ${JSON.stringify(ORDER_KEYS.slice(0, 9))}`, `OUTPUT_ORDER = ${outputOrder}`, `INPUT_ORDER = ${inputOrder}`, 'LAYERS = [');
  layers.forEach((l, k) => {
    const [weight, bias] =
      weightFiles === undefined
        ? [p.api.asarray(matrixLiteral(l.weight, l.rows, l.cols)), p.api.asarray(floatList(l.bias))]
        : weightFileNames(weightFiles, k).map((f) => `_weights(${JSON.stringify(f)})`);
    lines.push(
      `    {'activation': ${JSON.stringify(l.source)}, 'apply': ${l.plan ? `layer_${k + 1}` : 'None'}, 'pre_order': ${l.preOrder}, 'reads': ${l.reads},`,
      `     'weight': ${weight},`,
      `     'bias': ${bias}},`,
    );
  });
  lines.push(
    ']',
    '',
    '',
    'def affine(weight, bias, stats, order):',
    '    """Cumulants of W y + b: the mean plus the bias, order r by r successive mode products."""',
    '    out = {}',
    '    for r in range(1, order + 1):',
    '        t = stats.get(KEYS[r])',
    '        if t is None:',
    '            continue',
    '        for mode in range(r):',
    `            t = ${p.api.moveaxis}(${p.api.tensordot}(weight, t, ([1], [mode])), 0, mode)`,
    '        out[KEYS[r]] = t',
    "    out['mean'] = out['mean'] + bias",
    '    return out',
    '',
    '',
    'def propagate(stats):',
    '    """[(pre, post, series)] per layer from the input cumulants {mean, cov, k3, …} (missing orders are zero)."""',
    `    current = {k: ${p.api.asarray('v')} for k, v in stats.items()}`,
    '    result = []',
    '    for layer in LAYERS:',
    "        pre = affine(layer['weight'], layer['bias'], current, layer['pre_order'])",
    "        if layer['apply'] is None:",
    '            post, series = pre, None',
    '        else:',
    "            post = layer['apply'](**{k: v for k, v in pre.items() if KEYS.index(k) <= layer['reads']})",
    "            series = post.pop('truncation', None)",
    '        result.append((pre, post, series))',
    '        current = post',
    '    return result',
    '',
    '',
    'def as_json(result):',
    '    """The layout of `corrmap propagate --json`: layers[i].pre/post.mean/cov/…"""',
    '    def stats(c, n):',
    '        out = {}',
    '        for r in range(1, OUTPUT_ORDER + 1):',
    '            t = c.get(KEYS[r])',
    `            out[KEYS[r]] = ${p.api.tolist('t')} if t is not None else ${p.api.tolist(p.api.zeros('(n,) * r'))}`,
    '        return out',
    '    layers = []',
    '    for layer, (pre, post, series) in zip(LAYERS, result):',
    "        n = pre['mean'].shape[0]",
    "        entry = {'activation': layer['activation'], 'pre': stats(pre, n), 'post': stats(post, n)}",
    '        if series is not None:',
    "            entry['series'] = series",
    '        layers.append(entry)',
    "    return {'truncation': {'inputOrder': INPUT_ORDER, 'outputOrder': OUTPUT_ORDER}, 'layers': layers}",
    '',
    '',
    "if __name__ == '__main__':",
    '    if len(sys.argv) != 2:',
    "        sys.exit('usage: python3 ' + sys.argv[0] + ' stats.json   (a corrmap stats file: {\"mean\": [...], \"cov\": [[...]], \"k3\": ...})')",
    '    with open(sys.argv[1]) as f:',
    '        stats = json.load(f)',
    '    print(json.dumps(as_json(propagate(stats))))',
  );
  void xp;
  return lines.join('\n');
}
