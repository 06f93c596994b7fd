import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../symbolic/errors.ts';
import { parseActivation } from '../../symbolic/expression.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER } from '../../symbolic/rule.ts';
import { networkFromJson, readJson } from '../io.ts';
import { CLOSURE_TOLERANCE, LOCAL_EXPANSION, MAX_SMOOTHED_K } from '../../numeric/general.ts';
import { MAX_EMITTED_GAUSSIAN_ORDER, MAX_EMITTED_TERMS, QUADRATURE_NODES, planActivation } from '../emit/activation.ts';
import { RANGE_SCAN } from '../../numeric/gaussian-range.ts';
import { commandLine } from '../emit/header.ts';
import { BIVARIATE_NODES, HIGH_CORRELATION } from '../../symbolic/bivariate-normal.ts';
import { NETWORK_TARGETS, TARGETS, WEIGHT_FORMATS, emitActivation, emitNetwork, type EmittedFile } from '../emit/targets.ts';

/** Networks with more weights and biases than this, written with --out, get .npy weight files by default (Python targets). */
const EMBEDDED_WEIGHTS = 100_000;
import { integerOption, oneOf, parameterOptions, parseOptions, type Command, type Output } from './command.ts';

const LIMITS = `Limits:
  polynomial φ: exact rules of output orders 1…${MAX_OUTPUT_ORDER} at input orders K = 1…${MAX_INPUT_ORDER}, at most
    ${MAX_EMITTED_TERMS} terms in all (a cubic reaches order 4 at K = 8; a quartic only lower)
  any other φ: the Gaussian closure (K = 2): mean, covariance and third cumulant (orders ≤ ${MAX_EMITTED_GAUSSIAN_ORDER}; κ3 by the
    three-vertex series shell by shell as corrmap propagate sums it, with the last shell's size as its
    estimate and whether it converged, also where the covariance takes the exact bivariate form (at
    strong correlations that series may be only asymptotic: converged false); for a pure step
    (c·heaviside or c·sign of an affine argument) the entries with a repeated index from the exact
    bivariate form of the pair, as corrmap; in every target, Julia included); g_k to
    the order corrmap uses: from the Taylor coefficients of the closed form G (series arithmetic
    emitted into the code) up to k = ${MAX_SMOOTHED_K.closedForm}, else by
    quadrature up to k = ${MAX_SMOOTHED_K.quadrature} (${QUADRATURE_NODES.hermite}-node Gauss–Hermite for smooth φ, ${QUADRATURE_NODES.legendre}-node Gauss–Legendre per piece
    between kinks, on a normal range chosen per unit at run time as corrmap chooses it: at least
    ±${RANGE_SCAN.least}, up to ±${RANGE_SCAN.most} standard deviations for a φ of exponential growth; where φ overflows
    float64 there, or E[φ²] does, the code refuses, as corrmap does: Python raises FloatingPointError,
    C returns -2, Julia throws); a unit whose spread the quadrature does not resolve (tiny variance
    next to its mean) takes the local expansion in derivatives of φ at μ with its error, as corrmap
    does (noise above ${LOCAL_EXPANSION.noiseRatio} of the spread, no kink within ${LOCAL_EXPANSION.kinkClearance} standard deviations); only a variance of exactly 0 makes a
    unit constant; the Mehler series in ρ stops, at run time, at the
    first order whose Cauchy–Schwarz bound is ≤ ${CLOSURE_TOLERANCE} (relative), and the code returns that order and bound
    with the quadrature errors; where the bound stays above it (|ρ| → 1 under a kink or jump) and φ is
    one atom with a bivariate form (relu, heaviside, sign, abs, erf, with an affine argument) plus a
    linear part, the code switches to that exact form as corrmap propagate does (order 0, bound 0),
    Φ₂ by Genz's algorithm (${BIVARIATE_NODES}-point Gauss–Legendre, the high-correlation form from |ρ| = ${HIGH_CORRELATION}) emitted once per file; other φ keep the series
    and return its bound
  parameters must have values (--param); every target computes in float64`;

const TARGET_NOTES = `Targets:
  numpy    Python module, NumPy + SciPy (scipy.special: erf, erfc, ndtr, expit); einsum and broadcasting
  jax      the same with jax.numpy and jax.scipy.special (enables float64)
  torch    the same with torch and torch.special (float64 tensors)
  julia    Julia loops over units; SpecialFunctions.jl for erf, erfc
  c        C99 with libm only: a header and a source (one file on stdout), outputs first
  latex    the rules in LaTeX (as corrmap derive --format latex) with the truncation used
  json     the rules as JSON (as corrmap derive --format json) with the truncation used
  An atom a target has no function for is written through its definition in corrmap's atom registry
  (gelu as z Φ(z), Φ through erfc, softplus as max(z, 0) + log1p(exp(-|z|)), hardtanh as min(max(z, -1), 1)).
  No target has Φ₂: the bivariate normal excess Φ₂(h, k; ρ) − Φ(h)Φ(k) is emitted as helper functions
  (phi2_low, phi2_high, phi2_excess) printed from the routines corrmap itself evaluates.`;

export const emitCommand: Command = {
  name: 'emit',
  summary: 'generate code (NumPy, JAX, PyTorch, Julia, C, LaTeX, JSON) for an activation\'s rules',
  usage: `Usage: corrmap emit <expr> --target numpy|jax|torch|julia|c|latex|json [--order n] [--input-order K] [--param a=0.5 …] [--out FILE]

Generate a self-contained function from the cumulants of z to those of y = φ(z): the exact rules of
a polynomial φ (docs/theory.md §Polynomial activations), the Gaussian closure of any other
(docs/theory.md §Gaussian closure). The file starts with a comment: the rule in LaTeX, the
truncation and its error bound, the corrmap version and this command.

Python: cumulants(mean, cov=None, k3=None, …) returns {"mean", "cov", …} (general φ: also
"truncation"). C: int corrmap_cumulants(out1, out2, …, series, n, mean, k2, k3, …), row-major arrays.
Julia: cumulants(mean, k2, …) on row-major flattened tensors; general φ: (out1, out2[, out3], (order, bound[, third])).

${TARGET_NOTES}

Options:
  --target t           one of ${TARGETS.join(', ')} (required)
  --order n            highest output cumulant order, 1…${MAX_OUTPUT_ORDER} (default 2)
  --input-order K      input cumulants read, 1…${MAX_INPUT_ORDER} (default: the exact rule, d·n, at most ${MAX_INPUT_ORDER}; 2 for non-polynomial φ)
  --param name=value   give a parameter a value (repeatable; all are needed)
  --out FILE           write FILE (C: FILE.c and FILE.h, FILE without .c); default stdout
  -h, --help           show this help

${LIMITS}

Examples:
  corrmap emit "z + a*z^2" --param a=0.5 --input-order 4 --target numpy --out quadratic.py
  corrmap emit "relu(z)" --target c --out relu
  corrmap emit "tanh(z)" --target torch`,
  run(argv, out) {
    const { values, positionals } = parseOptions('emit', argv, {
      target: { type: 'string', short: 't' },
      order: { type: 'string', short: 'n' },
      'input-order': { type: 'string', short: 'K' },
      param: { type: 'string', multiple: true, short: 'p' },
      out: { type: 'string', short: 'o' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`emit takes one expression, got ${positionals.length} (quote it: corrmap emit "z + a*z^2" --target numpy)`);
    if (values.target === undefined) throw new InputError(`--target is required: one of ${TARGETS.join(', ')}`);
    const target = oneOf(values.target, 'target', TARGETS, 'numpy');
    const order = integerOption(values.order, 'order', 1, MAX_OUTPUT_ORDER, 2);
    const inputOrder = values['input-order'] === undefined ? undefined : integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, 2);
    const expression = parseActivation(positionals[0], parameterOptions(values.param));
    const plan = planActivation(expression, order, inputOrder);
    const command = commandLine(['emit', ...argv]);
    const stem = target === 'c' && values.out !== undefined ? values.out.replace(/\.[ch]$/, '') : undefined;
    write(emitActivation(plan, target, command, stem === undefined ? undefined : `${basename(stem)}.h`), stem ?? values.out, out);
  },
};

export const emitNetworkCommand: Command = {
  name: 'emit-network',
  summary: 'generate a cumulant propagator for a network (NumPy, JAX, PyTorch, Julia, C)',
  usage: `Usage: corrmap emit-network <network.json> --target numpy|jax|torch|julia|c [--input-order K] [--output-order n] [--out FILE] [--weights embedded|npy]

Generate a propagator for a whole network: each layer's affine map (docs/theory.md §Affine layers)
and its activation's rules (as corrmap emit), layer by layer, with the weights embedded. Each layer
reads its pre-activation cumulants up to K and passes up to max(K, n) on, as corrmap propagate does.

Python output also runs as a script: python3 prop.py stats.json prints the layers' cumulants as JSON
in the layout of corrmap propagate --json (layers[i].pre/post.mean/cov/…; general layers add
"series": the Mehler order, its bound and the quadrature errors). C output has int
corrmap_propagate(pre, post, series, input) and, compiled with -DCORRMAP_MAIN, a main that does the
same (gcc -std=c99 -DCORRMAP_MAIN prop.c -lm; ./a.out stats.json). Julia output has propagate(stats).

Files:
  network.json   {"layers": [{"weight": [[…]], "bias": […], "activation": "relu(z)", "params": {…}}]}
  stats.json     {"mean": […], "cov": [[…]], "k3": [[[…]]], …}  (read by the generated program)

Options:
  --target t           one of ${NETWORK_TARGETS.join(', ')} (required)
  --input-order K      input cumulant order kept by each layer, 1…${MAX_INPUT_ORDER} (default 2: Gaussian closure;
                       non-polynomial layers need 2)
  --output-order n     cumulant orders reported, 1…${MAX_OUTPUT_ORDER} (default 2; ≤ ${MAX_EMITTED_GAUSSIAN_ORDER} with non-polynomial layers)
  --out FILE           write FILE (C: FILE.c and FILE.h, FILE without .c); default stdout
  --weights embedded|npy
                       numpy, jax, torch: npy writes each layer's weight and bias to FILE_layer<k>_weight.npy and
                       FILE_layer<k>_bias.npy beside FILE.py (float64), which the code loads with numpy.load
                       (torch: torch.from_numpy, jax: jnp.asarray); embedded writes them into the source as decimal
                       literals. Default: embedded, or npy with --out when the network has more than ${EMBEDDED_WEIGHTS}
                       weights and biases. julia and c always embed them.
  -h, --help           show this help

${LIMITS}
  embedded weights are decimal literals (the file grows with the network)

Example:
  corrmap emit-network examples/network.json --target numpy --out prop.py && python3 prop.py examples/stats.json`,
  run(argv, out) {
    const { values, positionals } = parseOptions('emit-network', argv, {
      target: { type: 'string', short: 't' },
      'input-order': { type: 'string', short: 'K' },
      'output-order': { type: 'string', short: 'n' },
      out: { type: 'string', short: 'o' },
      weights: { type: 'string' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`emit-network takes one network file, got ${positionals.length} (see corrmap emit-network --help)`);
    if (values.target === undefined) throw new InputError(`--target is required: one of ${NETWORK_TARGETS.join(', ')}`);
    const target = oneOf(values.target, 'target', NETWORK_TARGETS, 'numpy');
    const inputOrder = integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, 2);
    const outputOrder = integerOption(values['output-order'], 'output-order', 1, MAX_OUTPUT_ORDER, 2);
    const network = networkFromJson(readJson(positionals[0], 'network file'), `network file "${positionals[0]}"`);
    const command = commandLine(['emit-network', ...argv]);
    const stem = target === 'c' && values.out !== undefined ? values.out.replace(/\.[ch]$/, '') : undefined;
    const python = target === 'numpy' || target === 'jax' || target === 'torch';
    const count = network.layers.reduce((a, l) => a + l.weight.length + l.bias.length, 0);
    // Small networks keep their weights in the source; large ones written to a file get .npy files.
    const format = values.weights === undefined ? (python && values.out !== undefined && count > EMBEDDED_WEIGHTS ? 'npy' : 'embedded') : oneOf(values.weights, 'weights', WEIGHT_FORMATS, 'embedded');
    if (format === 'npy' && values.out === undefined) throw new InputError('--weights npy writes .npy files beside the code: give --out FILE.py');
    const weights = { format, stem: basename(values.out ?? '').replace(/\.py$/, '') } as const;
    const files = emitNetwork(network, target, inputOrder, outputOrder, command, stem === undefined ? undefined : `${basename(stem)}.h`, weights);
    write(files, stem ?? values.out, out);
  },
};

/** Print the files, or write them: one file to `path`, several to path + their extensions; data files beside it under their names. */
function write(all: readonly EmittedFile[], path: string | undefined, out: Output): void {
  const files = all.filter((f) => f.name === undefined);
  if (path === undefined) return void out.log(files.map((f) => f.text).join('\n'));
  try {
    for (const f of all) if (f.name !== undefined) writeFileSync(join(dirname(path), f.name), f.bytes ?? f.text);
    if (files.length === 1) writeFileSync(path, files[0].text);
    else for (const f of files) writeFileSync(`${path}${f.extension}`, f.text);
  } catch (err) {
    throw new InputError(`cannot write "${path}": ${(err as Error).message}`);
  }
}
