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
import type { GaussianPlan, PolynomialPlan, ActivationPlan } from './activation.ts';
import { PIECEWISE_RANGE } from './activation.ts';
import type { RoutineSyntax } from '../../symbolic/print/routine.ts';
import { argumentCode, bivariateHelpers, derivativeCode, pairCovariance } from './bivariate.ts';

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
    `    b = [${plan.taylor.map((node) => `${p.code(node, { [VARIABLE]: 'mu' })} + 0.0 * mu`).join(', ')}]`,
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

function gaussianFunction(plan: GaussianPlan, name: string, p: NumPyPrinter, quadratureName: string): string[] {
  const { xp } = p.api;
  const phiAt = (arg: string) => `(${p.code(plan.expression.node, { [VARIABLE]: arg })})`;
  const K = plan.kmax;
  const lines = [
    signature(name, 2),
    `    """Mean${plan.order >= 2 ? ' and covariance' : ''} of y = phi(z) for Gaussian z (mean, cov); the result's 'truncation' states the series order P, its bound and the quadrature error."""`,
    `    mu = ${p.api.asarray('mean')}`,
    `    n = mu.shape[0]`,
    `    cov = ${p.api.zeros('(n, n)')} if cov is None else ${p.api.asarray('cov')}`,
    `    s = ${p.api.diagonal('cov')}`,
    '    # Units whose variance is rounding noise next to the mean are constants: y_i = phi(mu_i).',
    `    det = s <= 1e-10 * (1.0 + mu * mu)`,
    `    s_ = ${xp}.where(det, 1.0 + 0.0 * s, s)`,
    `    sd = ${xp}.sqrt(s_)`,
  ];
  if (plan.smoothed) {
    lines.push(`    # g_k = d^k G / d mu^k, closed form, k = 0…${K}`);
    lines.push(`    g = [${plan.smoothed.map((node) => `${p.code(node, { [MEAN]: 'mu', [VARIANCE]: 's_' })} + 0.0 * mu`).join(',\n         ')}]`);
  } else {
    lines.push(`    x, w = ${quadratureName}(mu, sd, False)`);
    lines.push(`    f = ${phiAt('(mu[:, None] + sd[:, None] * x)')}`);
    lines.push(`    g = _stein(f, x, w, sd, ${K})`);
    lines.push(`    xc, wc = ${quadratureName}(mu, sd, True)`);
    lines.push(`    gc = _stein(${phiAt('(mu[:, None] + sd[:, None] * xc)')}, xc, wc, sd, ${K})`);
    lines.push(`    g_error = [${xp}.abs(a - c) for a, c in zip(g, gc)]`);
  }
  lines.push(`    g = [${xp}.where(det, ${phiAt('mu')} + 0.0 * mu if k == 0 else 0.0 * mu, gk) for k, gk in enumerate(g)]`);
  lines.push(`    out = {'mean': g[0]}`);
  lines.push(`    quadrature = ${plan.smoothed ? '0.0' : `${p.api.maxFloat(`g_error[0]`)} / max(${p.api.maxFloat(`${xp}.abs(g[0])`)}, 1e-300)`}`);
  if (plan.order >= 2) {
    lines.push(
      `    x, w = ${quadratureName}(mu, sd, False)`,
      `    second = (w * ${phiAt('(mu[:, None] + sd[:, None] * x)')} ** 2).sum(-1)`,
      `    xc, wc = ${quadratureName}(mu, sd, True)`,
      `    second_error = ${xp}.abs(second - (wc * ${phiAt('(mu[:, None] + sd[:, None] * xc)')} ** 2).sum(-1))`,
      `    var = ${xp}.where(det, 0.0 * mu, ${p.code(parse('max(v, 0)'), { v: 'second - g[0] ** 2' })})`,
      '    # Mehler series truncated as corrmap truncates it (numeric/general.ts covarianceTruncationOrder).',
      `    den = s[:, None] * s[None, :]`,
      `    rho = ${xp}.where(den > 0, ${xp}.abs(cov) / ${xp}.sqrt(${xp}.where(den > 0, den, 1.0 + 0.0 * den)), 0.0 * den) * (1.0 - ${p.api.eye('n')})`,
      `    max_rho = min(1.0, ${p.api.maxFloat('rho')}) if n > 1 else 0.0`,
      `    alive = var > 0`,
      `    var_ = ${xp}.where(alive, var, 1.0 + 0.0 * var)`,
      `    partial = 0.0 * mu`,
      `    term = 1.0 + 0.0 * mu`,
      `    P, bound = ${K}, 0.0`,
      `    for p in range(1, ${K + 1}):`,
      `        term = term * s / p`,
      `        partial = partial + term * g[p] ** 2`,
      `        relative = ${xp}.where(alive, ${p.code(parse('max(v, 0)'), { v: 'var - partial' })} / var_, 0.0 * var)`,
      `        bound = max_rho ** (p + 1) * ${p.api.maxFloat('relative')}`,
      `        if bound <= ${p.number(plan.tolerance)}:`,
      `            P = p`,
      `            break`,
      ...exactOrSeries(plan, p, [
        `    k2 = ${p.api.zeros('(n, n)')}`,
        `    power = 1.0 + 0.0 * cov`,
        `    for p in range(1, P + 1):`,
        `        power = power * cov / p`,
        `        k2 = k2 + power * (g[p][:, None] * g[p][None, :])`,
      ]),
      `    k2 = k2 - ${xp}.diag(${xp}.diagonal(k2)) + ${xp}.diag(var)`,
      `    out['cov'] = k2`,
      `    covariance = 2.0 * ${p.api.maxFloat(`${xp}.sqrt(var)`)} * ${plan.smoothed ? '0.0' : `${p.api.maxFloat(`${xp}.sqrt(sum(s ** k / float(math.factorial(k)) * g_error[k] ** 2 for k in range(1, ${K + 1})))`)}`}`,
      `    covariance = (covariance + ${p.api.maxFloat('second_error')}) / max(${p.api.maxFloat('var')}, 1e-300)`,
      `    out['truncation'] = {'order': P, 'bound': bound, 'quadrature': {'mean': quadrature, 'cov': covariance}}`,
    );
  } else lines.push(`    out['truncation'] = {'order': 0, 'bound': 0.0, 'quadrature': {'mean': quadrature}}`);
  lines.push('    return out');
  return lines;
}

/**
 * The covariance off the diagonal: where φ has an exact bivariate form, that form when the series'
 * bound exceeds the tolerance (numeric/general.ts exactBivariateAtom), else the series.
 */
function exactOrSeries(plan: GaussianPlan, p: NumPyPrinter, series: readonly string[]): string[] {
  if (!plan.bivariate) return [...series];
  const { xp } = p.api;
  const b = plan.bivariate;
  const { nu, tau } = argumentCode(b, p, 'mu', 'sd');
  const col = (x: string) => `${x}[:, None]`;
  const row = (x: string) => `${x}[None, :]`;
  const names = { hi: col('h'), hj: row('h'), taui: col('tau'), tauj: row('tau'), nui: col('nu'), nuj: row('nu'), rho: 'r_' };
  const linear = b.atom.linear[1] !== 0;
  return [
    `    if bound > ${p.number(plan.tolerance)}:`,
    '        # The exact bivariate form of the atom (docs/theory.md §Bivariate forms): the series would converge too slowly.',
    `        nu = ${nu}`,
    `        tau = ${tau}`,
    '        h = nu / tau',
    `        r_ = ${p.code(parse('max(-1, min(1, c / sqrt(d)))'), { c: 'cov', d: `${xp}.where(den > 0, den, 1.0 + 0.0 * den)` })}`,
    ...(linear ? [`        d1 = ${derivativeCode(b, p, 'nu', 'tau')}`] : []),
    `        k2 = ${pairCovariance(b, p, names, { i: col('d1'), j: row('d1') }, 'cov')}`,
    `        k2 = ${xp}.where(${col('det')} | ${row('det')}, 0.0 * k2, k2)`,
    '        P, bound = 0, 0.0',
    '    else:',
    ...series.map((l) => `    ${l}`),
  ];
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
  const L = PIECEWISE_RANGE;
  lines.push(
    `    cuts = [-${L}.0 + 0.0 * mu] + [${p.code(parse('min(max(c, -L), L)'), { c: '(k - mu) / sd', L: p.number(L) })} for k in ${floatList(q.kinks)}] + [${L}.0 + 0.0 * mu]`,
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

/** Helpers shared by the general activations of a module. */
function steinHelper(p: NumPyPrinter): string[] {
  return [
    'def _stein(f, x, w, sd, kmax):',
    '    """g_k = s^(-k/2) E[f He_k(X)] (Stein form), He_k by its three-term recurrence."""',
    '    he_prev, he = 0.0 * x, 1.0 + 0.0 * x',
    '    g = []',
    '    for k in range(kmax + 1):',
    '        g.append((w * f * he).sum(-1) / sd ** k)',
    '        he_prev, he = he, x * he - k * he_prev',
    '    return g',
  ];
}

/** The definitions of a module: one function per activation plan, with the helpers they need. */
export function pythonDefinitions(plans: ReadonlyArray<{ plan: ActivationPlan; name: string }>, p: NumPyPrinter): string[] {
  const lines: string[] = [];
  if (plans.some(({ plan }) => plan.kind === 'gaussian' && !plan.smoothed)) lines.push(...steinHelper(p), '');
  for (const { plan, name } of plans) {
    if (plan.kind === 'polynomial') lines.push(...polynomialFunction(plan, name, p), '');
    else lines.push(...quadratureHelpers(plan, `_${name}`, p), '', ...gaussianFunction(plan, name, p, `_${name}_points`), '');
  }
  return [...bivariateHelpers(lines, p, ROUTINE_SYNTAX), ...lines];
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

function matrixLiteral(w: Float64Array, rows: number, cols: number): string {
  return `[${Array.from({ length: rows }, (_, r) => floatList(w.subarray(r * cols, (r + 1) * cols))).join(',\n     ')}]`;
}

/**
 * A propagator for a whole network (affine maps as successive mode products, then each layer's
 * activation function), runnable as `python3 prop.py stats.json`: prints the layers' pre- and
 * post-activation cumulants as JSON in the layout of `corrmap propagate --json`.
 */
export function pythonNetworkModule(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number, p: NumPyPrinter, header: readonly string[]): string {
  const { xp } = p.api;
  const plans = layers.flatMap((l, k) => (l.plan ? [{ plan: l.plan, name: `layer_${k + 1}` }] : []));
  const lines = [pythonComment(header), '', ...pythonImports(p), 'import json', 'import sys', '', '', ...pythonDefinitions(plans, p)];
  lines.push(`KEYS = ${JSON.stringify(ORDER_KEYS.slice(0, 9))}`, `OUTPUT_ORDER = ${outputOrder}`, `INPUT_ORDER = ${inputOrder}`, 'LAYERS = [');
  layers.forEach((l, k) => {
    lines.push(
      `    {'activation': ${JSON.stringify(l.source)}, 'apply': ${l.plan ? `layer_${k + 1}` : 'None'}, 'pre_order': ${l.preOrder}, 'reads': ${l.reads},`,
      `     'weight': ${p.api.asarray(matrixLiteral(l.weight, l.rows, l.cols))},`,
      `     'bias': ${p.api.asarray(floatList(l.bias))}},`,
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
