import { InputError } from '../../symbolic/errors.ts';
import { MAX_INPUT_ORDER, MAX_OUTPUT_ORDER } from '../../symbolic/rule.ts';
import { hasActivation, type LayerResult, type Network } from '../../numeric/network.ts';
import { propagate } from '../../numeric/propagate.ts';
import { BACKENDS, BACKEND_NOTES, DEFAULT_BACKEND } from '../../numeric/backend.ts';
import type { Cumulants } from '../../numeric/tensor.ts';
import { networkFromJson, readJson, statsFromJson, statsToJson } from '../io.ts';
import { TextPrinter } from '../../symbolic/print/text.ts';
import { cumulantsText } from './format.ts';
import { integerOption, oneOf, parseOptions, type Command } from './command.ts';

export const propagateCommand: Command = {
  name: 'propagate',
  summary: 'propagate input cumulants through a network',
  usage: `Usage: corrmap propagate <network.json> --input <stats.json> [--input-order K] [--output-order n] [--backend b] [--json]

Propagate the input distribution, described by its cumulants, through every layer: exact affine
maps (DESIGN §3) and the transfer rules of each activation (DESIGN §4). Each layer reads its
pre-activation cumulants up to order K and passes cumulants up to max(K, n) on; every layer reports
pre- and post-activation cumulants up to order n and which orders are exact under the truncation.

Files:
  network.json   {"layers": [{"weight": [[…]], "bias": […], "activation": "z + a*z^2", "params": {"a": 0.5}}]}
                 rows of weight are outputs; activation "z" or "linear" means none
  stats.json     {"mean": […], "cov": [[…]], "k3": [[[…]]], "k4": …}  (k3…k8 optional, missing = 0)

Options:
  --input <file>       input statistics (required)
  --input-order K      input cumulant order kept by each layer, 1…${MAX_INPUT_ORDER} (default 2: Gaussian closure)
  --output-order n     cumulant orders reported, 1…${MAX_OUTPUT_ORDER} (default 2)
  --backend b          where to compute (default ${DEFAULT_BACKEND}):
${BACKENDS.map((b) => `                         ${b.padEnd(11)}${BACKEND_NOTES[b]}`).join('\n')}
  --json               machine-readable output
  -h, --help           show this help

Example:
  corrmap propagate examples/network.json --input examples/stats.json --input-order 4 --json`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('propagate', argv, {
      input: { type: 'string', short: 'i' },
      'input-order': { type: 'string', short: 'K' },
      'output-order': { type: 'string', short: 'n' },
      backend: { type: 'string', short: 'b' },
      json: { type: 'boolean' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`propagate takes one network file, got ${positionals.length} (see corrmap propagate --help)`);
    if (!values.input) throw new InputError('--input <stats.json> is required: the mean, covariance and optional higher cumulants of the input');
    const inputOrder = integerOption(values['input-order'], 'input-order', 1, MAX_INPUT_ORDER, 2);
    const outputOrder = integerOption(values['output-order'], 'output-order', 1, MAX_OUTPUT_ORDER, 2);
    const backend = oneOf(values.backend, 'backend', BACKENDS, DEFAULT_BACKEND);
    const input = statsFromJson(readJson(values.input, 'stats file'), `stats file "${values.input}"`);
    const network = networkFromJson(readJson(positionals[0], 'network file'), `network file "${positionals[0]}"`, input.size);
    const started = performance.now();
    const results = await propagate(network, input, { inputOrder, outputOrder, backend });
    const seconds = (performance.now() - started) / 1000;
    if (values.json) out.log(JSON.stringify({ ...propagationJson(network, results, inputOrder, outputOrder, backend), seconds }));
    else out.log(propagationText(network, input, results, inputOrder, outputOrder, backend));
  },
};

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
