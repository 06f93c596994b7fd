/**
 * Julia: plain loops over units (1-based, arrays indexed by row-major offsets of the flattened
 * tensors, as corrmap stores them), erf and erfc from SpecialFunctions.jl. Checked by golden files
 * and structure only: no Julia runs where corrmap is tested.
 */
import { MEAN, VARIANCE } from '../../symbolic/activations.ts';
import { VARIABLE } from '../../symbolic/expression.ts';
import { parse } from '../../symbolic/math.ts';
import type { JuliaPrinter } from '../../symbolic/print/julia.ts';
import { LOCAL_EXPANSION, THIRD_SERIES } from '../../numeric/general.ts';
import type { MathNode } from '../../symbolic/math.ts';
import { seriesProgram } from './series.ts';
import { JULIA_SERIES, juliaSeriesHelpers } from './series-runtime.ts';
import { ORDER_KEYS } from '../io.ts';
import { thirdTable, type ActivationPlan, type GaussianPlan, type PolynomialPlan, type RangeIntegrand } from './activation.ts';
import { RANGE_SCAN } from '../../numeric/gaussian-range.ts';
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
    `    b = zeros(Float64, ${plan.activation.taylor.length} * n)`,
    '    for i in 1:n',
    '        mu = mean[i]',
    ...plan.activation.taylor.map((node, q) => `        b[${q} * n + i] = ${p.code(node, { [VARIABLE]: 'mu' })}`),
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

/** The emitted series program of one expansion for one unit. */
function juliaSeries(node: MathNode, variable: string, length: number, values: Record<string, string>, p: JuliaPrinter, prefix: string, helpers: Set<string>, indent: string): { lines: string[]; result: string } {
  const program = seriesProgram(node, variable, { point: 'mu', step: 'sd', length }, values, p, JULIA_SERIES, prefix, 'mu');
  for (const h of program.helpers) helpers.add(h);
  return { lines: program.lines.map((l) => `${indent}${l}`), result: program.result };
}

/**
 * `name_range(mu, sd)`: where the piecewise rule integrates for one unit, as corrmap's quadrature
 * decides it (src/emit/activation.ts RangeScan; numeric/gaussian-range.ts rangeOfValues): the union
 * over the integrands of the grid points above the floor × their largest value, widened by a step,
 * within ±least…±most; an integrand not finite on the grid, or 0, leaves ±least.
 */
function juliaRange(plan: GaussianPlan, name: string, p: JuliaPrinter): string[] {
  const scan = plan.quadrature.range!;
  const { least, most, step, floor } = RANGE_SCAN;
  const integrand = (r: RangeIntegrand) => {
    const base = r.centred ? '(f[t] - c)' : 'f[t]';
    return [`${name}_scan_density[t]`, ...Array.from({ length: r.power }, () => base), ...(r.hermite ? [`${name}_scan_hermite[t]`] : [])].join(' * ');
  };
  return [
    `const ${name}_scan_grid = ${floats(scan.grid)}`,
    `const ${name}_scan_density = ${floats(scan.density)}`,
    ...(scan.integrands.some((r) => r.hermite) ? [`const ${name}_scan_hermite = ${floats(scan.hermite)}`] : []),
    '',
    `"""The normal range (lo, hi) the piecewise rule covers for one unit, as corrmap's quadrature decides it."""`,
    `function ${name}_range(mu, sd)`,
    `    f = [${p.code(plan.expression.node, { [VARIABLE]: '(mu + sd * x)' })} for x in ${name}_scan_grid]`,
    `    c = ${p.code(plan.expression.node, { [VARIABLE]: 'mu' })}`,
    '    c = isfinite(c) ? c : 0.0',
    `    lo, hi = ${p.number(-least)}, ${p.number(least)}`,
    `    for v in (${[...scan.integrands.map((r) => `[abs(${integrand(r)}) for t in eachindex(f)]`), ''].join(', ')})`,
    // Not finite on the grid: corrmap refuses such a unit; no range, so its expectations are NaN and refused.
    '        all(isfinite, v) || return NaN, NaN',
    '        largest = maximum(v)',
    '        largest > 0 || continue',
    `        kept = findall(x -> x > ${p.number(floor)} * largest, v)`,
    `        lo = min(lo, max(min(${p.number(-least)}, ${name}_scan_grid[first(kept)] - ${p.number(step)}), ${p.number(-most)}))`,
    `        hi = max(hi, min(max(${p.number(least)}, ${name}_scan_grid[last(kept)] + ${p.number(step)}), ${p.number(most)}))`,
    '    end',
    '    return lo, hi',
    'end',
  ];
}

/**
 * The Gaussian closure of one general activation, as corrmap computes it (numeric/general.ts
 * smoothedTable, covarianceTruncationOrder): normalised ĝ_k from the closed form's Taylor
 * coefficients or the Stein form, the local expansion where the quadrature does not resolve a unit's
 * spread, the variance about φ(μ), the Mehler series in ρ.
 */
function gaussianFunction(plan: GaussianPlan, name: string, p: JuliaPrinter, helpers: Set<string>): string[] {
  const K = plan.kmax;
  const q = plan.quadrature;
  const phi = (arg: string) => p.code(plan.expression.node, { [VARIABLE]: arg });
  const lines = [
    `const ${name}_nodes = ${floats(q.nodes)}`,
    `const ${name}_weights = ${floats(q.weights)}`,
    `const ${name}_coarse_nodes = ${floats(q.coarse.nodes)}`,
    `const ${name}_coarse_weights = ${floats(q.coarse.weights)}`,
    '',
    `"""Quadrature points and weights of E[f(mu + sd X)] for one unit (coarse: the rule with half the nodes)."""`,
    `function ${name}_points(mu, sd, coarse)`,
    `    nodes, weights = coarse ? (${name}_coarse_nodes, ${name}_coarse_weights) : (${name}_nodes, ${name}_weights)`,
  ];
  if (q.kind === 'hermite') lines.push(`    return nodes, weights`, 'end');
  else {
    lines.splice(lines.length - 3, 0, ...juliaRange(plan, name, p), '');
    lines.push(
      `    lo, hi = ${name}_range(mu, sd)`,
      `    cuts = [lo; [${p.code(parse('min(max((k - m) / d, lo), hi)'), { k: 'k', m: 'mu', d: 'sd', lo: 'lo', hi: 'hi' })} for k in ${floats(q.kinks)}]; hi]`,
      '    x = Float64[]; w = Float64[]',
      '    for piece in 1:length(cuts) - 1',
      '        half = (cuts[piece + 1] - cuts[piece]) / 2; mid = (cuts[piece + 1] + cuts[piece]) / 2',
      `        for t in eachindex(nodes)`,
      `            at = mid + half * nodes[t]`,
      '            push!(x, at)',
      `            push!(w, half * weights[t] * ${p.code(parse('phi(x)'), { x: 'at' })})`,
      '        end',
      '    end',
      '    return x, w',
      'end',
    );
  }
  lines.push(...exactPair(plan, name, p));
  if (!plan.smoothed)
    lines.push(
      '',
      `"""ĝ_k = E[phi(mu + sd X) He_k(X)] / sqrt(k!), k = 0…K (Stein form), on the rule or the coarse rule."""`,
      `function ${name}_stein(mu, sd, K, coarse)`,
      `    x, w = ${name}_points(mu, sd, coarse)`,
      '    g = zeros(Float64, K + 1)',
      '    for t in eachindex(x)',
      `        f = w[t] * ${phi('(mu + sd * x[t])')}`,
      '        he_prev, he = 0.0, 1.0',
      '        for k in 0:K',
      '            g[k + 1] += f * he / sqrt(prod(1.0:k))',
      '            he_prev, he = he, x[t] * he - k * he_prev',
      '        end',
      '    end',
      '    return g',
      'end',
    );
  if (plan.third) lines.push('', ...juliaThirdTables(plan, name));
  if (plan.local) lines.push('', `const ${name}_local = ${floatMatrix(plan.local.weights)}  # w[k + 1, m + 1] of the local expansion`);
  lines.push(
    '',
    `"""Mean${plan.order >= 3 ? ', covariance and third cumulant' : plan.order >= 2 ? ' and covariance' : ''} of y = phi(z) for Gaussian z; the last value gives the series order P and its bound${plan.third ? ", and for κ3 the three-vertex series' last shell (order), its size (estimate) and whether it converged" : ''}."""`,
    signature(plan, name),
    '    n = length(mean)',
    `    K = ${K}`,
    '    gn = zeros(Float64, K + 1, n)  # normalised ĝ_k = g_k s^(k/2) / sqrt(k!)',
    '    var = zeros(Float64, n)',
    '    k2 = k2 === nothing ? zeros(Float64, n^2) : k2  # a missing covariance is zero',
    '    for i in 1:n',
    '        mu = mean[i]',
    '        s = k2[(i - 1) * n + i]',
    '        spread = s > 0  # variance 0: a constant, y_i = phi(mu_i); any other is spread, however little',
    '        s_ = spread ? s : 1.0',
    '        sd = sqrt(s_)',
    '        gerr = zeros(Float64, K + 1)',
    '        is_local = false',
  );
  if (plan.smoothed) {
    const series = juliaSeries(plan.smoothed, MEAN, K + 1, { [VARIANCE]: 's_' }, p, 'c', helpers, '        ');
    lines.push('        # ĝ_k = c_k sqrt(k!), c_k the Taylor coefficients of G(mu + sd t, s) in t (closed form)', ...series.lines, `        gn[:, i] .= ${series.result} .* [sqrt(prod(1.0:k)) for k in 0:K]`);
  } else
    lines.push(`        gn[:, i] .= ${name}_stein(mu, sd, K, false)`, `        gerr .= abs.(gn[:, i] .- ${name}_stein(mu, sd, K, true))`);
  if (plan.local) {
    const series = juliaSeries(plan.expression.node, VARIABLE, K + 2 * plan.local.terms + 1, {}, p, 'l', helpers, '            ');
    const M = plan.local.terms;
    const clear = plan.quadrature.kinks.map((k) => ` && abs(${p.number(k)} - mu) > ${LOCAL_EXPANSION.kinkClearance} * sd`).join('');
    lines.push(
      '        # Where the quadrature does not resolve the spread (phi(mu + sd x) rounds to phi(mu)): the local expansion in derivatives at mu.',
      '        noise = sqrt(sum(abs2, gerr[2:end]))',
      `        if noise > ${LOCAL_EXPANSION.noiseRatio} * sqrt(sum(abs2, gn[2:end, i]))${clear}`,
      ...series.lines,
      `            terms = [${name}_local[k + 1, m + 1] * ${series.result}[k + 2m + 1] for k in 0:K, m in 0:${M}]`,
      '            expanded = vec(sum(terms, dims = 2))',
      `            expanded_error = ${LOCAL_EXPANSION.lastTerm} .* abs.(terms[:, end]) .+ ${LOCAL_EXPANSION.rounding} * eps(Float64) .* vec(sum(abs.(terms), dims = 2))`,
      '            if all(isfinite, expanded) && sqrt(sum(abs2, expanded_error[2:end])) < noise',
      '                gn[:, i] .= expanded',
      '                gerr .= expanded_error',
      '                is_local = true',
      '            end',
      '        end',
    );
  }
  lines.push(`        if !spread; gn[:, i] .= 0.0; gn[1, i] = ${phi('mu')}; end`, '        all(isfinite, gn[:, i]) || error("the Gaussian expectation of phi or of one of its derivatives is not finite in float64 at unit $i")');
  if (plan.order >= 2)
    lines.push(
      `        centre = isfinite(${phi('mu')}) ? ${phi('mu')} : 0.0  # Var about phi(mu): no cancellation when the spread is small next to the mean`,
      `        x, w = ${name}_points(mu, sd, false)`,
      `        var[i] = !spread ? 0.0 : is_local ? sum(abs2, gn[2:end, i]) : max(sum(w[t] * (${phi('(mu + sd * x[t])')} - centre)^2 for t in eachindex(x)) - (gn[1, i] - centre)^2, 0.0)`,
      '        isfinite(var[i]) || error("E[phi(z)^2] is not finite in float64 at unit $i: the variance of y cannot be represented")',
    );
  lines.push('    end', '    out1 = gn[1, :]');
  if (plan.order < 2) return [...lines, '    return (out1, (order = 0, bound = 0.0))', 'end'];
  lines.push(
    '    function scale(i, j)',
    '        return k2[(i - 1) * n + i] > 0 && k2[(j - 1) * n + j] > 0 ? sqrt(k2[(i - 1) * n + i]) * sqrt(k2[(j - 1) * n + j]) : 0.0',
    '    end',
    '    max_rho = 0.0',
    '    for i in 1:n, j in i + 1:n',
    '        if scale(i, j) > 0; max_rho = max(max_rho, min(1.0, abs(k2[(i - 1) * n + j]) / scale(i, j))); end',
    '    end',
    '    partial = zeros(Float64, n)',
    '    P, bound = K, 0.0',
    '    for p in 1:K',
    '        worst = 0.0',
    '        for i in 1:n',
    '            partial[i] += gn[p + 1, i]^2',
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
    '        rho = scale(i, j) > 0 ? clamp(k2[(i - 1) * n + j] / scale(i, j), -1.0, 1.0) : 0.0',
    '        out2[(i - 1) * n + j] = sum(rho^p * gn[p + 1, i] * gn[p + 1, j] for p in 1:P)',
    '    end',
  );
  if (!plan.third) return [...lines, '    return (out1, out2, (order = P, bound = bound))', 'end'];
  return [
    ...lines,
    ...juliaThird(plan, name, p),
    '    return (out1, out2, out3, (order = P, bound = bound, third = (order = third_order, estimate = third_estimate, converged = third_converged)))',
    'end',
  ];
}

/** The shells of κ3's three-vertex series as constants: coefficients, rows (q_i, q_j, q_k, powers of S_ij, S_ik, S_jk), shell starts (0-based). */
function juliaThirdTables(plan: GaussianPlan, name: string): string[] {
  const { coefficients, rows, starts } = thirdTable(plan.third!);
  // One shell a line: within brackets a line break continues the vector and starts a new row of the matrix.
  const shell = <T>(items: readonly T[], s: number) => items.slice(starts[s], starts[s + 1]);
  const lines = (print: (s: number) => string) => starts.slice(0, -1).map((_, s) => `    ${print(s)}`);
  return [
    `const ${name}_third_coefficient = [`,
    ...lines((s) => `${floats(shell(coefficients, s)).slice(1, -1)},`),
    ']',
    `const ${name}_third_index = [`,
    ...lines((s) => shell(rows, s).map((r) => r.join(' ')).join('; ')),
    ']',
    `const ${name}_third_start = [${starts.join(', ')}]`,
  ];
}

/** The row-major element of the n³ tensor at 1-based (i, j, k). */
const CUBE = `${rowMajor(['i', 'j', 'k'], SYNTAX)} + 1`;
const DISTINCT = 'i != j && j != k && i != k';

/**
 * κ3 as corrmap computes it (numeric/general.ts thirdCumulant): distinct i, j, k by the three-vertex
 * series shell by shell until two shells in a row are below the tolerance (else the smallest shell's
 * sum, marked not converged); κ(y_i, y_i, y_i) = E[(φ − m)³] by quadrature and
 * κ(y_i, y_i, y_j) = Cov(φ²(z_i), φ(z_j)) − 2 m_i Cov(φ(z_i), φ(z_j)) by the Mehler series, or for a
 * pure step (numeric/general.ts pureJump) as (λ − 2 m_i) C_ij with C_ij the exact bivariate form.
 */
function juliaThird(plan: GaussianPlan, name: string, p: JuliaPrinter): string[] {
  const third = plan.third!;
  const S = third.shells.length;
  const { quietShells, growingShells, growth } = THIRD_SERIES;
  return [
    '    # g_k = ĝ_k sqrt(k!) / s^(k/2); Cov(phi^2(z_i), .) needs the g_k of phi^2 (Stein form)',
    '    g = zeros(Float64, K + 1, n)',
    '    square = zeros(Float64, K + 1, n)',
    '    out3 = zeros(Float64, n^3)',
    '    for i in 1:n',
    '        mu = mean[i]',
    '        s = k2[(i - 1) * n + i]',
    '        sd = s > 0 ? sqrt(s) : 1.0',
    '        for k in 0:K',
    '            g[k + 1, i] = gn[k + 1, i] * sqrt(prod(1.0:k)) / sd^k',
    '        end',
    `        all(isfinite, g[:, i]) || error("the third cumulant needs g_k = E[phi^(k)(z)] up to k = ${plan.kmax}, which leave float64 range at unit $i (tiny or huge variance): report orders <= 2")`,
    '        m = g[1, i]',
    '        if !(s > 0); square[1, i] = m * m; continue; end',
    `        x, w = ${name}_points(mu, sd, false)`,
    '        cube = 0.0',
    '        for t in eachindex(x)',
    `            f = ${p.code(plan.expression.node, { [VARIABLE]: '(mu + sd * x[t])' })}`,
    '            he_prev, he = 0.0, 1.0',
    '            for k in 0:K',
    '                square[k + 1, i] += w[t] * f * f * he',
    '                he_prev, he = he, x[t] * he - k * he_prev',
    '            end',
    '            cube += w[t] * (f - m) * (f - m) * (f - m)',
    '        end',
    '        for k in 0:K',
    '            square[k + 1, i] /= sd^k',
    '        end',
    '        out3[((i - 1) * n + (i - 1)) * n + i] = cube',
    '    end',
    '    power = ones(Float64, K + 1, n^2)  # power[q + 1, e] = k2[e]^q',
    '    for q in 1:K, e in 1:n^2',
    '        power[q + 1, e] = power[q, e] * k2[e]',
    '    end',
    '    # Distinct i, j, k: shells of the three-vertex series; the entries with repeated indices are replaced below.',
    '    series_sum = zeros(Float64, n^3)',
    '    third_order, third_estimate, third_converged = 0, 0.0, true',
    '    if n >= 3',
    '        third_scale = maximum(v^1.5 for v in var)',
    '        smallest, quiet, growing, best, best_order = Inf, 0, 0, copy(series_sum), 0',
    `        for shell in 1:${S}`,
    '            part = zeros(Float64, n^3)',
    `            for t in ${name}_third_start[shell] + 1:${name}_third_start[shell + 1]`,
    `                qi, qj, qk, pij, pik, pjk = ${name}_third_index[t, :]`,
    `                c = ${name}_third_coefficient[t]`,
    '                for i in 1:n, j in 1:n, k in 1:n',
    `                    part[${CUBE}] += c * g[qi + 1, i] * g[qj + 1, j] * g[qk + 1, k] * power[pij + 1, (i - 1) * n + j] * power[pik + 1, (i - 1) * n + k] * power[pjk + 1, (j - 1) * n + k]`,
    '                end',
    '            end',
    '            shell_size = 0.0',
    '            for i in 1:n, j in 1:n, k in 1:n',
    `                e = ${CUBE}`,
    '                series_sum[e] += part[e]',
    `                if ${DISTINCT}; shell_size = max(shell_size, abs(part[e])); third_scale = max(third_scale, abs(series_sum[e])); end`,
    '            end',
    '            if shell_size < smallest',
    '                smallest, best, best_order, growing = shell_size, copy(series_sum), shell + 1, 0',
    '            else',
    '                growing += 1',
    '            end',
    '            third_order, third_estimate = shell + 1, shell_size',
    `            quiet = third_scale > 0 && shell_size <= ${p.number(plan.tolerance)} * third_scale ? quiet + 1 : 0`,
    `            if quiet >= ${quietShells} || (growing >= ${growingShells} && shell_size > ${p.number(growth)} * smallest); break; end`,
    '        end',
    `        if quiet < ${quietShells}`,
    '            # Only asymptotic here (strong correlations): the smallest shell is the usual size of the error, not a bound.',
    '            series_sum = best',
    '            third_order, third_estimate, third_converged = best_order, smallest, false',
    '        end',
    '    end',
    '    # Repeated indices: E[(phi - m)^3] (set above) and Cov(phi^2(z_i), phi(z_j)) - 2 m_i Cov(phi(z_i), phi(z_j)) by the Mehler series.',
    '    for i in 1:n, j in 1:n, k in 1:n',
    `        e = ${CUBE}`,
    `        if ${DISTINCT}; out3[e] = series_sum[e]; continue; end`,
    '        if i == j && j == k; continue; end',
    '        a = i == j ? i : i == k ? i : j',
    '        b = i == j ? k : i == k ? j : i',
    ...(third.jump === undefined
      ? [
          '        with_square, with_phi, factorial_q = 0.0, 0.0, 1.0',
          '        for q in 1:K',
          '            factorial_q *= q',
          '            weight = power[q + 1, (a - 1) * n + b] / factorial_q * g[q + 1, b]',
          '            with_square += weight * square[q + 1, a]',
          '            with_phi += weight * g[q + 1, a]',
          '        end',
          '        out3[e] = with_square - 2 * g[1, a] * with_phi',
        ]
      : [
          '        # A pure jump (phi^2 = lambda phi + const): Cov(phi^2(z_a), phi(z_b)) = lambda C_ab with C_ab the exact bivariate form (numeric/general.ts pureJump).',
          `        pair_cov = ${name}_pair(mean[a], mean[b], k2[(a - 1) * n + a], k2[(b - 1) * n + b], k2[(a - 1) * n + b])`,
          `        out3[e] = ${p.number(third.jump)} * pair_cov - 2 * g[1, a] * pair_cov`,
        ]),
    '    end',
  ];
}

/**
 * Cov(φ_i, φ_j) by the atom's exact bivariate form (docs/theory.md §Bivariate forms), used where the
 * series' bound exceeds the tolerance (numeric/general.ts exactBivariateAtom); 0 for a unit of variance 0.
 */
function exactPair(plan: GaussianPlan, name: string, p: JuliaPrinter): string[] {
  const b = plan.bivariate;
  if (!b) return [];
  const i = argumentCode(b, p, 'mui', 'sqrt(si)');
  const j = argumentCode(b, p, 'muj', 'sqrt(sj)');
  const names = { hi: 'hi', hj: 'hj', taui: 'taui', tauj: 'tauj', nui: 'nui', nuj: 'nuj', rho: 'rho' };
  return [
    '',
    `"""Cov(phi(z_i), phi(z_j)) by the exact bivariate form; 0 for a unit of variance 0."""`,
    `function ${name}_pair(mui, muj, si, sj, cij)`,
    '    # Only a variance of 0 makes a unit constant (numeric/bivariate.ts exactPairCovariance); a tiny one is spread.',
    '    if !(si > 0) || !(sj > 0); return 0.0; end',
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

/** A Julia matrix literal, rows separated by semicolons. */
const floatMatrix = (rows: readonly Float64Array[]) => `[${rows.map((r) => floats(r).slice(1, -1).replace(/,/g, '')).join('; ')}]`;

function definitions(plan: ActivationPlan, name: string, p: JuliaPrinter, helpers: Set<string>): string[] {
  return plan.kind === 'polynomial' ? polynomialFunction(plan, name, p) : gaussianFunction(plan, name, p, helpers);
}

export function juliaActivationModule(plan: ActivationPlan, p: JuliaPrinter, header: readonly string[]): string {
  const helpers = new Set<string>();
  const body = definitions(plan, 'cumulants', p, helpers);
  return [comment(header), '', 'using SpecialFunctions: erf, erfc', '', ...juliaSeriesHelpers(helpers), ...withBivariateHelpers(body, p), ''].join('\n');
}

/** A propagator for a network: weights embedded, tensors flattened row-major (as corrmap's JSON nests them). */
export function juliaNetworkModule(layers: readonly EmittedLayer[], outputOrder: number, inputOrder: number, p: JuliaPrinter, header: readonly string[]): string {
  const helpers = new Set<string>();
  const definitionLines = layers.flatMap((l, k) => (l.plan ? [...definitions(l.plan, `layer_${k + 1}`, p, helpers), ''] : []));
  const lines = [comment(header), '', 'using SpecialFunctions: erf, erfc', '', ...juliaSeriesHelpers(helpers), ...withBivariateHelpers(definitionLines, p)];
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
