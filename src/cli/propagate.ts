import { InputError } from '../../symbolic/errors.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER } from '../../symbolic/rule.ts';
import { DENSE_BYTES_PER_ENTRY, hasActivation, highestGiven, planPropagation, type LayerResult, type Network } from '../../numeric/network.ts';
import { estimatePropagation, type PropagationEstimate } from '../../numeric/estimate.ts';
import { DEFAULT_MAX_SECONDS, MAX_SECONDS_OPTION, withWork } from '../../numeric/work.ts';
import { propagate, propagateCompiled } from '../../numeric/propagate.ts';
import { DEFAULT_MAX_MEMORY, bytesText } from '../../symbolic/rule.ts';
import { MAX_EXPRESSION_LENGTH } from '../../symbolic/expression.ts';
import { MAX_ESTIMATED_ORDER } from '../../numeric/powersums.ts';
import { BACKENDS, BACKEND_NOTES, DEFAULT_BACKEND } from '../../numeric/backend.ts';
import type { Cumulants } from '../../numeric/tensor.ts';
import { FLOAT32_SYMMETRY, networkFromJson, propagationInputsFromJson, readJson, statsToJson, type NamedInput } from '../io.ts';
import { TextPrinter } from '../../symbolic/print/text.ts';
import { cumulantsText, taskProgress } from './format.ts';
import { integerOption, memoryOption, oneOf, parseOptions, type Command } from './command.ts';

export const propagateCommand: Command = {
  name: 'propagate',
  summary: 'propagate input cumulants through a network',
  usage: `Usage: corrmap propagate <network.json> --input <stats.json> [--input <more.json> …] [--input-order K]
                         [--output-order n] [--backend b] [--max-memory m] [--max-seconds t] [--json]

Propagate the input distribution, described by its cumulants, through every layer: exact affine
maps (docs/theory.md §Affine layers) and the transfer rules of each activation (docs/theory.md
§Polynomial activations). Each layer reads its pre-activation cumulants up to order K and passes
cumulants up to max(K, n) on; every layer reports pre- and post-activation cumulants up to order n
and which orders are exact under the truncation. Several inputs (classes) go through together.

Files:
  network.json   {"layers": [{"weight": [[…]], "bias": […], "activation": "z + a*z^2", "params": {"a": 0.5}}]}
                 rows of weight are outputs; bias missing = 0; activation missing, "z" or "linear"
                 means none (the layer is affine)
  stats.json     {"mean": […], "cov": [[…]], "k3": [[[…]]], "k4": …}  (k3…k8 optional, missing = 0;
                 tensors must be symmetric to ${FLOAT32_SYMMETRY} of their largest entry: float32
                 output of propagate --json reads back, with a note)
                 or {"data": [[…], …]}: the population cumulants of the rows (orders ≤ ${MAX_ESTIMATED_ORDER})
                 or {"classes": [stats or data, …]} / {"classes": {"name": stats or data, …}}
                 unknown keys are errors

Options:
  --input <file>       input statistics (required; repeat for several inputs)
  --input-order K      input cumulant order kept by each layer, 1…${MAX_INPUT_ORDER} (default 2: Gaussian closure)
  --output-order n     cumulant orders reported, 1…${MAX_OUTPUT_ORDER} (default 2)
  --backend b          where to compute (default ${DEFAULT_BACKEND}):
${BACKENDS.map((b) => `                         ${b.padEnd(11)}${BACKEND_NOTES[b]}`).join('\n')}
  --max-memory m       memory the propagation may take, e.g. 8GB (default ${bytesText(DEFAULT_MAX_MEMORY)}): dense
                       cumulants count ${DENSE_BYTES_PER_ENTRY} bytes per entry of width^order, rules about
                       1 kB per term; larger work is refused before it starts
  --max-seconds t      time the propagation may take (default ${DEFAULT_MAX_SECONDS}): work estimated above it is
                       refused before it starts; a third cumulant of a general activation whose
                       series is only asymptotic is computed by trivariate quadrature only within
                       what is left (else it stays labelled approximate, with a note)
  --json               machine-readable output (its "post" objects read back as stats files)
  -h, --help           show this help

Limits: activations of at most ${MAX_EXPRESSION_LENGTH} characters; every number finite; an overflow in
any layer (float64 beyond ±1.8e308, float32 beyond ±3.4e38) is an error naming the layer. The
estimated time (an upper bound) and peak memory are printed before long work, and a progress bar
follows it, on a terminal (stderr); --json carries them as "estimate".

Example:
  corrmap propagate examples/network.json --input examples/stats.json --input-order 4 --json`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('propagate', argv, {
      input: { type: 'string', short: 'i', multiple: true },
      'input-order': { type: 'string', short: 'K' },
      'output-order': { type: 'string', short: 'n' },
      backend: { type: 'string', short: 'b' },
      'max-memory': { type: 'string' },
      'max-seconds': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`propagate takes one network file, got ${positionals.length} (see corrmap propagate --help)`);
    if (!values.input?.length) throw new InputError('--input <stats.json> is required: the mean, covariance and optional higher cumulants of the input');
    const inputOrder = integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, 2);
    const outputOrder = integerOption(values['output-order'], 'output-order', 1, MAX_OUTPUT_ORDER, 2);
    const backend = oneOf(values.backend, 'backend', BACKENDS, DEFAULT_BACKEND);
    const maxMemory = memoryOption(values['max-memory'], DEFAULT_MAX_MEMORY);
    const maxSeconds = integerOption(values['max-seconds'], 'max-seconds', 1, MAX_SECONDS_OPTION, DEFAULT_MAX_SECONDS);
    const notes: string[] = [];
    const inputs = values.input.flatMap((path) => {
      const read = propagationInputsFromJson(readJson(path, 'stats file'), `stats file "${path}"`, Math.max(inputOrder, outputOrder), notes);
      return read.map((c) => ({ ...c, name: values.input!.length > 1 || read.length > 1 ? (c.name ? `${path}: ${c.name}` : path) : '' }));
    });
    const widths = new Set(inputs.map((c) => c.cumulants.size));
    if (widths.size > 1) throw new InputError(`the inputs have different widths (${[...widths].join(', ')}); every input must have the network's input width`);
    const network = networkFromJson(readJson(positionals[0], 'network file'), `network file "${positionals[0]}"`, inputs[0].cumulants.size);
    const started = performance.now();
    const bar = taskProgress();
    const { results, estimate } = await propagateAll(network, inputs, {
      inputOrder, outputOrder, backend, maxMemory, maxSeconds, notes, onProgress: bar.update,
      // Printed before the work, where someone is waiting for it.
      onEstimate: (e) => {
        if (process.stderr.isTTY && e.seconds >= 2) process.stderr.write(`propagate: estimated at most ${Math.ceil(e.seconds)} s and ${bytesText(e.bytes)} (limit --max-seconds ${maxSeconds})\n`);
      },
    });
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      const one = (r: LayerResult[]) => propagationJson(network, r, inputOrder, outputOrder, backend);
      const body = inputs.length === 1 ? one(results[0]) : { classes: inputs.map((c, k) => ({ name: c.name, ...one(results[k]) })) };
      out.log(JSON.stringify({ ...body, ...(notes.length ? { notes } : {}), estimate: { seconds: estimate.seconds, bytes: estimate.bytes }, seconds }));
    } else {
      const text = inputs.map((c, k) => `${inputs.length > 1 ? `input ${c.name}\n` : ''}${propagationText(network, c.cumulants, results[k], inputOrder, outputOrder, backend)}`);
      out.log([...notes.map((n) => `note: ${n}`), ...text].join('\n\n'));
    }
  },
};

export interface PropagateAllOptions {
  inputOrder: number;
  outputOrder: number;
  backend: (typeof BACKENDS)[number];
  maxMemory?: number;
  /** Seconds the propagation may take (default DEFAULT_MAX_SECONDS): refused up front above it. */
  maxSeconds?: number;
  /** Notes for the user (a route skipped to stay within maxSeconds). */
  notes?: string[];
  onProgress?: (task: string, fraction: number) => void;
  /** Called with the estimate before any work. */
  onEstimate?: (estimate: PropagationEstimate) => void;
}

/**
 * Every input through the network: on a tfjs backend, inputs that share what is known about them
 * (the order above which their cumulants vanish) go through as one batch. The time is estimated
 * before any work and refused above maxSeconds; the work runs under that budget (numeric/work.ts).
 */
export async function propagateAll(network: Network, inputs: readonly NamedInput[], options: PropagateAllOptions): Promise<{ results: LayerResult[][]; estimate: PropagationEstimate }> {
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const plan = planPropagation(network, options, Math.max(...inputs.map((c) => highestGiven(c.cumulants))));
  const estimate = estimatePropagation(network, plan, options.inputOrder, inputs.length);
  if (estimate.seconds > maxSeconds) {
    const worst = estimate.layers.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    throw new InputError(
      `the propagation is estimated to take up to ${Math.ceil(estimate.seconds)} s (layer ${estimate.layers.indexOf(worst) + 1}: ${worst.what}, up to ${Math.ceil(worst.seconds)} s), more than --max-seconds ${maxSeconds}; lower --output-order or the width, or raise --max-seconds`,
    );
  }
  options.onEstimate?.(estimate);
  const results = await withWork({ maxSeconds, option: '--max-seconds', notes: options.notes ?? [], onProgress: options.onProgress }, () => propagateGroups(network, inputs, options));
  return { results, estimate };
}

async function propagateGroups(network: Network, inputs: readonly NamedInput[], options: PropagateAllOptions): Promise<LayerResult[][]> {
  const results = new Array<LayerResult[]>(inputs.length);
  const groups = new Map<number, number[]>();
  inputs.forEach((c, k) => {
    const zeroAbove = c.zeroAbove ?? highestGiven(c.cumulants);
    groups.set(zeroAbove, [...(groups.get(zeroAbove) ?? []), k]);
  });
  for (const [zeroAbove, members] of groups) {
    const common = { inputOrder: options.inputOrder, outputOrder: options.outputOrder, inputZeroAbove: zeroAbove, maxMemory: options.maxMemory };
    if (options.backend === 'reference' || members.length === 1) {
      for (const k of members) results[k] = await propagate(network, inputs[k].cumulants, { ...common, backend: options.backend });
      continue;
    }
    const batch = await propagateCompiled(network, members.map((k) => inputs[k].cumulants), { ...common, backend: options.backend });
    members.forEach((k, b) => {
      results[k] = batch.map((r) => ({ pre: r.pre[b], post: r.post[b], exactOrder: r.exactOrder, ...(r.numericalError ? { numericalError: r.numericalError } : {}) }));
    });
  }
  return results;
}

export function exactnessText(exactOrder: number, reported: number): string {
  if (exactOrder >= reported) return 'exact';
  if (exactOrder === 0) return 'approximate at every order';
  return `exact up to order ${exactOrder}, approximate above`;
}

export function propagationJson(network: Network, results: readonly LayerResult[], inputOrder: number, outputOrder: number, backend: string) {
  return {
    backend,
    truncation: {
      inputOrder,
      outputOrder,
      closure: inputOrder === 2 ? 'gaussian' : `cumulants up to order ${inputOrder}`,
      exact: results.every((r) => r.exactOrder >= outputOrder),
    },
    layers: results.map((r, l) => ({
      activation: network.layers[l].expression.source,
      exactOrder: Number.isFinite(r.exactOrder) ? r.exactOrder : null,
      // Relative numerical error bound of the post-activation cumulants, orders 1…n (series truncation
      // and quadrature of general activations; 0 where the arithmetic is exact up to rounding).
      numericalError: Array.from({ length: outputOrder }, (_, k) => r.numericalError?.[k + 1] ?? 0),
      pre: statsToJson(r.pre, outputOrder),
      post: statsToJson(r.post, outputOrder),
    })),
  };
}

export function propagationText(network: Network, input: Cumulants, results: readonly LayerResult[], inputOrder: number, outputOrder: number, backend: string): string {
  const p = new TextPrinter();
  const closure = inputOrder === 2 ? 'Gaussian closure (K = 2)' : `input cumulants up to K = ${inputOrder}`;
  const precision = backend === 'reference' ? 'float64' : 'float32';
  const lines = [`network ${[input.size, ...network.layers.map((l) => l.rows)].join(' → ')}; ${closure}; reporting orders 1…${outputOrder}; backend ${backend} (${precision})`];
  results.forEach((r, l) => {
    const layer = network.layers[l];
    const act = hasActivation(layer) ? `φ(z) = ${p.expression(layer.expression.node)}` : 'no activation';
    lines.push('', `layer ${l + 1}: ${layer.cols} → ${layer.rows}, ${act}; post-activation ${exactnessText(r.exactOrder, outputOrder)}`);
    lines.push('  pre-activation z = W y + b:', cumulantsText(r.pre, outputOrder, '      '));
    lines.push('  post-activation y = φ(z):', cumulantsText(r.post, outputOrder, '      '));
  });
  return lines.join('\n');
}
