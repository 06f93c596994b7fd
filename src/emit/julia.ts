/**
 * Julia: plain loops over units (1-based, arrays indexed by row-major offsets of the flattened
 * tensors, as corrmap stores them), erf and erfc from SpecialFunctions.jl. Checked by golden files
 * and structure only: no Julia runs where corrmap is tested.
 */
import { MEAN, VARIANCE } from '../../symbolic/activations.ts';
import { VARIABLE } from '../../symbolic/expression.ts';
import { parse } from '../../symbolic/math.ts';
import type { JuliaPrinter } from '../../symbolic/print/julia.ts';
import { ORDER_KEYS } from '../io.ts';
import { PIECEWISE_RANGE, type ActivationPlan, type GaussianPlan, type PolynomialPlan } from './activation.ts';
import type { EmittedLayer } from './python.ts';
import type { RoutineSyntax } from '../../symbolic/print/routine.ts';
import { argumentCode, bivariateHelpers, derivativeCode, pairCovariance } from './bivariate.ts';
import { LOOP_INDICES, accumulateTerms, rowMajor, tensorName, type ArraySyntax, type BlockSyntax } from './scalar.ts';

// Loop indices run 1…n; offsets are computed 0-based from (i − 1) and read at offset + 1.
const SYNTAX: ArraySyntax = { element: (a, o) => `${a}[${o} + 1]`, index: (x) => `(${x} - 1)` };
const BLOCK: BlockSyntax = { given: (o) => `${tensorName(o)} !== nothing`, open: (c) => `if ${c}`, close: 'end', end: '', step: '    ' };

const comment = (lines: readonly string[]) => lines.map((l) => (l ? `# ${l}` : '#')).join('\n');
/** Float64 literals (1.0, not the Int 1). */
const floats = (v: ArrayLike<number>) => `[${Array.from(v, (x) => (/[.e]/.test(String(x)) ? String(x) : `${x}.0`)).join(', ')}]`;

function signature(plan: ActivationPlan, name: string): string {
  const reads = plan.kind === 'polynomial' ? Math.max(plan.inputOrder, 2) : 2;
  const args = ['mean::AbstractVector{Float64}', ...Array.from({ length: reads - 1 }, (_, r) => `${tensorName(r + 2)}=nothing`)];
  return `function ${name}(${args.join(', ')})`;
}

function polynomialFunction(plan: PolynomialPlan, name: string, p: JuliaPrinter): string[] {
  const lines = [
    `"""Output cumulants (flattened row-major tensors of orders 1…${plan.order}) of y = phi(z) from the flattened cumulants of z (nothing = 0)."""`,
    signature(plan, name),
    '    n = length(mean)',
    `    b = zeros(Float64, ${plan.taylor.length} * n)`,
    '    for i in 1:n',
    '        mu = mean[i]',
    ...plan.taylor.map((node, q) => `        b[${q} * n + i] = ${p.code(node, { [VARIABLE]: 'mu' })}`),
    '    end',
  ];
  const outs: string[] = [];
  for (const rule of plan.rules) {
    const idx = LOOP_INDICES.slice(0, rule.order);
    const out = `out${rule.order}`;
    outs.push(out);
    lines.push(`    ${out} = zeros(Float64, n^${rule.order})`, `    for ${idx.map((x) => `${x} in 1:n`).join(', ')}`, '        acc = 0.0');
    lines.push(...accumulateTerms(rule, p, SYNTAX, BLOCK, '        '));
    lines.push(`        ${out}[${rowMajor(idx, SYNTAX)} + 1] = acc`, '    end');
  }
  lines.push(`    return (${outs.join(', ')}, (order = 0, bound = 0.0))`, 'end');
  return lines;
}

function gaussianFunction(plan: GaussianPlan, name: string, p: JuliaPrinter): string[] {
  const K = plan.kmax;
  const q = plan.quadrature;
  const phi = (arg: string) => p.code(plan.expression.node, { [VARIABLE]: arg });
  const lines = [
    `const ${name}_nodes = ${floats(q.nodes)}`,
    `const ${name}_weights = ${floats(q.weights)}`,
    '',
    `"""Quadrature points and weights of E[f(mu + sd X)] for one unit."""`,
    `function ${name}_points(mu, sd)`,
  ];
  if (q.kind === 'hermite') lines.push(`    return ${name}_nodes, ${name}_weights`, 'end');
  else {
    const L = p.number(PIECEWISE_RANGE);
    lines.push(
      `    cuts = [-${L}; [${p.code(parse('min(max((k - m) / d, -L), L)'), { k: 'k', m: 'mu', d: 'sd', L })} for k in ${floats(q.kinks)}]; ${L}]`,
      '    x = Float64[]; w = Float64[]',
      '    for piece in 1:length(cuts) - 1',
      '        half = (cuts[piece + 1] - cuts[piece]) / 2; mid = (cuts[piece + 1] + cuts[piece]) / 2',
      `        for t in eachindex(${name}_nodes)`,
      `            at = mid + half * ${name}_nodes[t]`,
      '            push!(x, at)',
      `            push!(w, half * ${name}_weights[t] * ${p.code(parse('phi(x)'), { x: 'at' })})`,
      '        end',
      '    end',
      '    return x, w',
      'end',
    );
  }
  lines.push(...exactPair(plan, name, p));
  lines.push(
    '',
    `"""Mean${plan.order >= 2 ? ' and covariance' : ''} of y = phi(z) for Gaussian z; the last value gives the series order P and its bound."""`,
    signature(plan, name),
    '    n = length(mean)',
    `    K = ${K}`,
    '    g = zeros(Float64, K + 1, n)',
    '    var = zeros(Float64, n)',
    '    k2 = k2 === nothing ? zeros(Float64, n^2) : k2  # a missing covariance is zero',
    '    for i in 1:n',
    '        mu = mean[i]',
    '        s = k2[(i - 1) * n + i]',
    '        det = !(s > 1e-10 * (1 + mu^2))',
    '        s_ = det ? 1.0 : s',
    '        sd = sqrt(s_)',
    `        x, w = ${name}_points(mu, sd)`,
  );
  if (plan.smoothed) plan.smoothed.forEach((node, k) => lines.push(`        g[${k + 1}, i] = ${p.code(node, { [MEAN]: 'mu', [VARIANCE]: 's_' })}`));
  else
    lines.push(
      '        for t in eachindex(x)',
      `            f = w[t] * ${phi('(mu + sd * x[t])')}`,
      '            he_prev, he = 0.0, 1.0',
      '            for k in 0:K',
      '                g[k + 1, i] += f * he / sd^k',
      '                he_prev, he = he, x[t] * he - k * he_prev',
      '            end',
      '        end',
    );
  lines.push(`        if det; g[:, i] .= 0.0; g[1, i] = ${phi('mu')}; end`);
  if (plan.order >= 2) lines.push(`        var[i] = det ? 0.0 : max(sum(w[t] * ${phi('(mu + sd * x[t])')}^2 for t in eachindex(x)) - g[1, i]^2, 0.0)`);
  lines.push('    end', '    out1 = g[1, :]');
  if (plan.order < 2) return [...lines, '    return (out1, (order = 0, bound = 0.0))', 'end'];
  lines.push(
    '    max_rho = 0.0',
    '    for i in 1:n, j in i + 1:n',
    '        scale = sqrt(k2[(i - 1) * n + i] * k2[(j - 1) * n + j])',
    '        if scale > 0; max_rho = max(max_rho, min(1.0, abs(k2[(i - 1) * n + j]) / scale)); end',
    '    end',
    '    partial = zeros(Float64, n); term = ones(Float64, n)',
    '    P, bound = K, 0.0',
    '    for p in 1:K',
    '        worst = 0.0',
    '        for i in 1:n',
    '            term[i] *= k2[(i - 1) * n + i] / p',
    '            partial[i] += term[i] * g[p + 1, i]^2',
    '            if var[i] > 0; worst = max(worst, max(var[i] - partial[i], 0.0) / var[i]); end',
    '        end',
    '        bound = max_rho^(p + 1) * worst',
    `        if bound <= ${p.number(plan.tolerance)}; P = p; break; end`,
    '    end',
    ...(plan.bivariate
      ? [
          '    # The exact bivariate form where the series would converge too slowly (the bound exceeds the tolerance).',
          `    exact = bound > ${p.number(plan.tolerance)}`,
          '    if exact; P, bound = 0, 0.0; end',
        ]
      : []),
    '    out2 = zeros(Float64, n^2)',
    '    for i in 1:n, j in 1:n',
    '        if i == j; out2[(i - 1) * n + i] = var[i]; continue; end',
    ...(plan.bivariate
      ? [`        if exact; out2[(i - 1) * n + j] = ${name}_pair(mean[i], mean[j], k2[(i - 1) * n + i], k2[(j - 1) * n + j], k2[(i - 1) * n + j]); continue; end`]
      : []),
    '        acc = 0.0; power = 1.0',
    '        for p in 1:P',
    '            power *= k2[(i - 1) * n + j] / p',
    '            acc += power * g[p + 1, i] * g[p + 1, j]',
    '        end',
    '        out2[(i - 1) * n + j] = acc',
    '    end',
    '    return (out1, out2, (order = P, bound = bound))',
    'end',
  );
  return lines;
}

/**
 * Cov(φ_i, φ_j) by the atom's exact bivariate form (docs/theory.md §Bivariate forms), used where the
 * series' bound exceeds the tolerance (numeric/general.ts exactBivariateAtom); 0 for a constant unit.
 */
function exactPair(plan: GaussianPlan, name: string, p: JuliaPrinter): string[] {
  const b = plan.bivariate;
  if (!b) return [];
  const i = argumentCode(b, p, 'mui', 'sqrt(si)');
  const j = argumentCode(b, p, 'muj', 'sqrt(sj)');
  const names = { hi: 'hi', hj: 'hj', taui: 'taui', tauj: 'tauj', nui: 'nui', nuj: 'nuj', rho: 'rho' };
  return [
    '',
    `"""Cov(phi(z_i), phi(z_j)) by the exact bivariate form; 0 for a constant unit."""`,
    `function ${name}_pair(mui, muj, si, sj, cij)`,
    '    if !(si > 1e-10 * (1 + mui^2)) || !(sj > 1e-10 * (1 + muj^2)); return 0.0; end',
    `    nui = ${i.nu}; nuj = ${j.nu}; taui = ${i.tau}; tauj = ${j.tau}`,
    '    hi = nui / taui; hj = nuj / tauj; rho = max(-1.0, min(1.0, cij / sqrt(si * sj)))',
    ...(b.atom.linear[1] !== 0 ? [`    di = ${derivativeCode(b, p, 'nui', 'taui')}; dj = ${derivativeCode(b, p, 'nuj', 'tauj')}`] : []),
    `    return ${pairCovariance(b, p, names, { i: 'di', j: 'dj' }, 'cij')}`,
    'end',
  ];
}

const ROUTINE_SYNTAX: RoutineSyntax = {
  open: (name, args) => [`function ${name}(${args.join(', ')})`],
  bind: (name, value) => `${name} = ${value}`,
  loop: (name, n) => [`${name} = 0.0`, `for i in 1:${n}`, `    x = GL${n}_X[i]`],
  accumulate: (name, n, term) => `${name} += GL${n}_W[i] * ${term}`,
  close: ['end'],
  ret: (value) => `return ${value}`,
  end: ['end'],
  table: (n, nodes, weights) => [`const GL${n}_X = ${floats(nodes)}`, `const GL${n}_W = ${floats(weights)}`],
  indent: '    ',
};

/** Genz's routines ahead of the code, where it calls them. */
function withBivariateHelpers(body: readonly string[], p: JuliaPrinter): string[] {
  return [...bivariateHelpers(body, p, ROUTINE_SYNTAX), ...body];
}

function definitions(plan: ActivationPlan, name: string, p: JuliaPrinter): string[] {
  return plan.kind === 'polynomial' ? polynomialFunction(plan, name, p) : gaussianFunction(plan, name, p);
}

export function juliaActivationModule(plan: ActivationPlan, p: JuliaPrinter, header: readonly string[]): string {
  return [comment(header), '', 'using SpecialFunctions: erf, erfc', '', ...withBivariateHelpers(definitions(plan, 'cumulants', p), p), ''].join('\n');
}

/** A propagator for a network: weights embedded, tensors flattened row-major (as corrmap's JSON nests them). */
export function juliaNetworkModule(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number, p: JuliaPrinter, header: readonly string[]): string {
  const layerCode = layers.flatMap((l, k) => (l.plan ? [...definitions(l.plan, `layer_${k + 1}`, p), ''] : []));
  const lines = [comment(header), '', 'using SpecialFunctions: erf, erfc', '', ...withBivariateHelpers(layerCode, p)];
  lines.push(
    `const OUTPUT_ORDER = ${outputOrder}`,
    `const INPUT_ORDER = ${inputOrder}`,
    `const KEYS = ${JSON.stringify(ORDER_KEYS.slice(1, 9))}`,
    '',
    '"""Order-r cumulants of W y + b from row-major flattened ones: r successive mode products."""',
    'function affine(W::Matrix{Float64}, bias::Vector{Float64}, t::Vector{Float64}, r::Int)',
    '    rows, cols = size(W)',
    '    for mode in 0:r - 1',
    '        before = rows^mode; after = cols^(r - mode - 1)',
    '        u = zeros(Float64, before * rows * after)',
    '        for b in 0:before - 1, o in 0:rows - 1, c in 0:after - 1',
    '            u[(b * rows + o) * after + c + 1] = sum(W[o + 1, i + 1] * t[(b * cols + i) * after + c + 1] for i in 0:cols - 1)',
    '        end',
    '        t = u',
    '    end',
    '    return r == 1 ? t .+ bias : t',
    'end',
    '',
    'const LAYERS = [',
    ...layers.map(
      (l, k) =>
        `    (activation = ${JSON.stringify(l.source)}, apply = ${l.plan ? `layer_${k + 1}` : 'nothing'}, pre_order = ${l.preOrder}, reads = ${l.reads},\n     weight = permutedims(reshape(${floats(l.weight)}, ${l.cols}, ${l.rows})), bias = ${floats(l.bias)}),`,
    ),
    ']',
    '',
    '"""Per layer (pre, post): vectors of flattened cumulant tensors of orders 1…, from the input cumulants (nothing = 0)."""',
    'function propagate(stats::Vector)',
    '    current = stats',
    '    result = []',
    '    for layer in LAYERS',
    '        pre = [r <= length(current) && current[r] !== nothing ? affine(layer.weight, layer.bias, current[r], r) : nothing for r in 1:layer.pre_order]',
    '        if layer.apply === nothing',
    '            post = pre',
    '        else',
    '            values = layer.apply([r <= min(length(pre), layer.reads) ? pre[r] : nothing for r in 1:max(layer.reads, 2)]...)',
    '            post = collect(values[1:end - 1])',
    '        end',
    '        push!(result, (pre, post))',
    '        current = post',
    '    end',
    '    return result',
    'end',
    '',
  );
  return lines.join('\n');
}
