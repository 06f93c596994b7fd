import { InputError } from '../../symbolic/errors.ts';
import { MAX_INPUT_ORDER } from '../../symbolic/rule.ts';
import { BACKENDS, DEFAULT_BACKEND, type BackendName, type TfBackendName } from '../../numeric/backend.ts';
import { sampleNetwork, type LayerEstimates } from '../../numeric/montecarlo.ts';
import type { Network } from '../../numeric/network.ts';
import { MAX_ESTIMATED_ORDER } from '../../numeric/powersums.ts';
import { propagate } from '../../numeric/propagate.ts';
import {
  defaultWorkers, distributionCumulants, distributionWidth, distributionZeroAbove, hostSampler, simulateNetwork, type InputDistribution,
} from '../../numeric/simulate.ts';
import { validateLayers, type Validation } from '../../numeric/validation.ts';
import { distributionFromJson, networkFromJson, readJson, ORDER_KEYS } from '../io.ts';
import { fileDigest, shardRange, writeShard, type RunIdentity } from '../shards.ts';
import { resolve } from 'node:path';
import { num, progressBar } from './format.ts';
import { writeFileSync } from 'node:fs';
import { CORES, SEED, SEED_OPTION, integerOption, oneOf, parseOptions, type Command, type Output } from './command.ts';

/** Exit code when an exact theory disagrees with sampling (2 is bad input, 1 an internal error). */
export const DISAGREES_EXIT_CODE = 3;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'theory vs Monte Carlo for every layer, with z-scores and a verdict',
  usage: `Usage: corrmap validate <network.json> --input <input.json> [--samples N] [--batches B] [--seed s]
                        [--backend b] [--input-order K] [--output-order n] [--workers w] [--entries]
                        [--plot file.svg|png] [--json] [--shard k/n] [--save shard.json]

Propagates the input's cumulants through the network (the theory, on the chosen backend) and samples
the network (Monte Carlo on the same backend), then compares every unique entry of the mean,
covariance, … of every layer, before and after the activation: z = |theory − MC| / SE, with SE
the batch standard error, against a Bonferroni bound over all entries (family-wise α = 0.001).
SE is widened by the float rounding of the theory, ε = 1e-12 (reference) or 1e-5 (float32) of the
size of the block's entries or of (|μ| + σ)^order; where SE = 0 (constant data, a deterministic
unit) z compares the difference with ε alone, so |z| within the bound is agreement to float
tolerance.
Blocks the truncation makes exact must agree; approximate ones (a closure at K) report how far
they are from sampling.

Input (one of):
  {"mean": […], "cov": [[…]]}          Gaussian
  {"mean": […], "mixing": [[…]]}       x = mean + A s, s independent centred exponentials
                                       (non-Gaussian, every cumulant known exactly)
  {"data": [[…], …]}                   the empirical distribution of the rows

Options:
  --input <file>       input distribution (required)
  --samples N          Monte Carlo samples (default 1000000)
  --batches B          batches for the standard errors (default 50)
  --seed s             random seed (default 1); the same seed gives the same numbers
  --backend b          ${BACKENDS.join(', ')} (default ${DEFAULT_BACKEND})
  --input-order K      input cumulant order each layer keeps in the theory, 1…${MAX_INPUT_ORDER} (default 2)
  --output-order n     cumulant orders compared, 1…${MAX_ESTIMATED_ORDER} (default 2)
  --workers w          worker threads for sampling, 1…${CORES} (the cores; default: the cores, for long runs)
  --entries            print every entry, not only the worst of each block
  --plot <file>        draw every entry's |z| against the bound, one row per block (.svg, or .png)
  --json               machine-readable output (every entry with theory, MC, SE and z)
  --shard k/n          run only share k (0 … n−1) of the batches, for another process or machine
                       to run the rest; needs --save, prints a one-line summary, not the validation
  --save <file.json>   save the power sums of the batches run (a shard file) for corrmap merge
  -h, --help           show this help

Shards: the random streams depend only on (seed, batch, chunk), so corrmap merge of all n shard
files (any order) gives bit for bit the validation of one run on the same backend. Each shard
file names the network and input files by path and SHA-256. It holds every batch's power sums:
about 4 MB per batch per layer stage for width 1000 at --output-order 2 (keep a file < 500 MB).

Limits: --samples 1000…1e10 with at least 16 per batch, --batches 2…10000, --workers 1…${CORES};
data inputs give cumulants up to order ${MAX_ESTIMATED_ORDER}; an overflow in any layer is an error naming the layer.

Exit code: 0 when every exact block agrees, ${DISAGREES_EXIT_CODE} when one disagrees, 2 for bad input.

Examples:
  corrmap validate examples/network.json --input examples/mixture.json --input-order 4
  corrmap validate net.json --input in.json --shard 2/8 --save shard-2.json   (then corrmap merge)`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('validate', argv, {
      input: { type: 'string', short: 'i' },
      samples: { type: 'string' },
      batches: { type: 'string' },
      ...SEED_OPTION,
      backend: { type: 'string', short: 'b' },
      'input-order': { type: 'string', short: 'K' },
      'output-order': { type: 'string', short: 'n' },
      workers: { type: 'string' },
      entries: { type: 'boolean' },
      plot: { type: 'string' },
      json: { type: 'boolean' },
      shard: { type: 'string' },
      save: { type: 'string' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`validate takes one network file, got ${positionals.length} (see corrmap validate --help)`);
    if (values.plot !== undefined && !/\.(svg|png)$/i.test(values.plot)) throw new InputError(`--plot "${values.plot}": give a file name ending in .svg or .png`);
    if (!values.input) throw new InputError('--input <input.json> is required: a Gaussian {"mean", "cov"}, a mixture {"mean", "mixing"} or {"data": rows}');
    const { samples, batches, seed, inputOrder, outputOrder } = validateSettings(
      (key, min, max, fallback) => integerOption(values[optionName(key)], optionName(key), min, max, fallback), flagName,
    );
    const backend = oneOf(values.backend, 'backend', BACKENDS, DEFAULT_BACKEND);
    const { input, network } = readRun(runFile(values.input, 'input'), runFile(positionals[0], 'network'), inputOrder, flagName);
    const workers = integerOption(values.workers, 'workers', 1, CORES, defaultWorkers(samples, network.layers.length, batches));
    const shard = shardOption(values.shard, batches);
    if (shard && !values.save) throw new InputError('--shard k/n needs --save <file.json>: a shard alone validates nothing; corrmap merge combines the saved shards');
    if (values.save && backend === 'reference')
      throw new InputError('--shard and --save need a tfjs backend (cpu, wasm, …): the reference sampler draws one random stream through all batches');
    if (shard && values.plot) throw new InputError('--plot draws a whole run: give it to corrmap merge, not to one --shard');
    const identity = (): RunIdentity => ({
      network: { path: resolve(positionals[0]), sha256: fileDigest(positionals[0]) },
      input: { path: resolve(values.input!), sha256: fileDigest(values.input!) },
      samples, batches, seed, backend, inputOrder, outputOrder,
    });
    const [index, count] = shard ?? [0, 1];
    const batchRange = shardRange(index, count, batches);

    if (shard) {
      const bar = values.json ? undefined : progressBar(`sampling shard ${index}/${count}`);
      const sim = await simulateNetwork(network, input, { samples, batches, seed, maxOrder: outputOrder, backend: backend as TfBackendName, workers, batchRange, onProgress: (f) => bar?.update(f) });
      bar?.done();
      writeShard(values.save!, { run: identity(), index, count, batchRange, workers, seconds: sim.seconds, stages: sim.stages });
      const summary = { shard: [index, count], batches: batchRange, samples: sim.samples, seconds: sim.seconds, saved: values.save };
      if (values.json) out.log(JSON.stringify(summary));
      else out.log(`shard ${index}/${count}: batches ${batchRange[0]}…${batchRange[1] - 1} of ${batches}, ${sim.samples} samples in ${sim.seconds.toFixed(1)} s; saved to ${values.save} (merge every shard with corrmap merge)`);
      return 0;
    }

    const bar = values.json ? undefined : progressBar('sampling');
    const result = await validateNetwork(network, input, { samples, batches, seed, backend, inputOrder, outputOrder, workers, onProgress: (f) => bar?.update(f) });
    bar?.done();
    if (values.save && result.stages) writeShard(values.save, { run: identity(), index, count, batchRange, workers, seconds: result.run.monteCarloSeconds, stages: result.stages });
    return await reportValidation(network, input, result.validation, result.run, values, out);
  },
};

/** The ranges of validate's numeric settings, as the library API names them. */
const SETTINGS = {
  samples: [1000, 1e10, 1_000_000],
  batches: [2, 10_000, 50],
  seed: [SEED.min, SEED.max, SEED.fallback],
  inputOrder: [1, MAX_INPUT_ORDER, 2],
  outputOrder: [1, MAX_ESTIMATED_ORDER, 2],
} as const;
export type ValidateSetting = keyof typeof SETTINGS;

/** A setting's command-line option: inputOrder → input-order. */
const optionName = (key: ValidateSetting) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) as 'samples' | 'batches' | 'seed' | 'input-order' | 'output-order';
const flagName = (key: ValidateSetting) => `--${optionName(key)}`;

/**
 * validate's numeric settings, each taken by `read` (which parses it and names it in its message
 * as its caller does: --input-order on the command line, inputOrder in the library API) within its
 * range, and at least 16 samples per batch (the batch estimates' t bound needs them).
 */
export function validateSettings(
  read: (key: ValidateSetting, min: number, max: number, fallback: number) => number, name: (key: ValidateSetting) => string,
): { samples: number; batches: number; seed: number; inputOrder: number; outputOrder: number } {
  const [samples, batches, seed, inputOrder, outputOrder] = (Object.keys(SETTINGS) as ValidateSetting[]).map((key) => {
    const [min, max, fallback] = SETTINGS[key];
    return read(key, min, max, fallback);
  });
  if (samples / batches < 16) throw new InputError(`${name('samples')} ${samples} is too few for ${name('batches')} ${batches}: at least 16 samples per batch`);
  return { samples, batches, seed, inputOrder, outputOrder };
}

/** Where a run's network or input comes from (a file, or JSON given to the library) and what its errors call it. */
export interface RunSource {
  readonly json: () => unknown;
  readonly label: string;
}
export const runFile = (path: string, what: 'network' | 'input'): RunSource => ({ json: () => readJson(path, `${what} file`), label: `${what} file "${path}"` });

/**
 * The input distribution, then the network checked against its width: validate, merge and the
 * library read a run this way. A data set's cumulants are estimated up to MAX_ESTIMATED_ORDER only.
 */
export function readRun(inputSource: RunSource, networkSource: RunSource, inputOrder: number, name: (key: ValidateSetting) => string) {
  const input = distributionFromJson(inputSource.json(), inputSource.label);
  if (input.kind === 'data' && inputOrder > MAX_ESTIMATED_ORDER)
    throw new InputError(`${name('inputOrder')} ${inputOrder}: the cumulants of a data set are computed up to order ${MAX_ESTIMATED_ORDER}; use ${name('inputOrder')} ≤ ${MAX_ESTIMATED_ORDER}`);
  const network = networkFromJson(networkSource.json(), networkSource.label, distributionWidth(input));
  return { input, network };
}

/** Samples a run of `batches` equal batches draws: the remainder of samples / batches is not drawn. */
export const drawnSamples = (samples: number, batches: number) => Math.floor(samples / batches) * batches;

/**
 * Theory (propagate on `backend`) against Monte Carlo (sampling the network on the same backend)
 * for every layer: what validate prints, as data (and, on tfjs backends, the batches' power sums
 * that a shard file holds).
 */
export async function validateNetwork(
  network: Network,
  input: InputDistribution,
  options: { samples: number; batches: number; seed: number; backend: BackendName; inputOrder: number; outputOrder: number; workers: number; onProgress?: (fraction: number) => void },
) {
  const { samples, batches, seed, backend, inputOrder, outputOrder, workers } = options;
  const started = performance.now();
  const theory = await theoryOf(network, input, backend, inputOrder, outputOrder);
  const theorySeconds = (performance.now() - started) / 1000;
  const mcStart = performance.now();
  let estimates: LayerEstimates[];
  let stages: Awaited<ReturnType<typeof simulateNetwork>>['stages'] | undefined;
  if (backend === 'reference')
    estimates = sampleNetwork(network, hostSampler(input), { samples, batches, seed, maxOrder: outputOrder, onProgress: options.onProgress });
  else {
    const sim = await simulateNetwork(network, input, { samples, batches, seed, maxOrder: outputOrder, backend, workers, onProgress: options.onProgress });
    stages = sim.stages;
    estimates = sim.estimates();
  }
  const mcSeconds = (performance.now() - mcStart) / 1000;
  const run: RunInfo = { samples: drawnSamples(samples, batches), batches, seed, backend, workers: backend === 'reference' ? 1 : workers, inputOrder, outputOrder, theorySeconds, monteCarloSeconds: mcSeconds };
  return { validation: compareLayers(theory, estimates, run), run, stages };
}

/** Every entry of theory against its estimate, with the float allowance of the backend. */
export function compareLayers(theory: Awaited<ReturnType<typeof propagate>>, estimates: LayerEstimates[], run: RunInfo): Validation {
  return validateLayers(theory, estimates, { batches: run.batches, maxOrder: run.outputOrder, relativeFloor: run.backend === 'reference' ? 1e-12 : 1e-5 });
}

/** The theory side of a validation: the input's cumulants propagated through the network. */
export function theoryOf(network: Network, input: InputDistribution, backend: BackendName, inputOrder: number, outputOrder: number) {
  return propagate(network, distributionCumulants(input, Math.max(inputOrder, outputOrder)), {
    backend, inputOrder, outputOrder, inputZeroAbove: distributionZeroAbove(input),
  });
}

/** "k/n" with 0 ≤ k < n ≤ batches, or undefined when not given. */
function shardOption(text: string | undefined, batches: number): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || !(n >= 1 && k < n)) throw new InputError(`--shard must be k/n with 0 ≤ k < n (shard k of n, counted from 0, as SLURM's array task id), got "${text}"`);
  if (n > batches) throw new InputError(`--shard ${text}: ${n} shards need at least ${n} batches (--batches ${batches}); every shard runs whole batches`);
  return [k, n];
}

/**
 * Compare theory and estimates and print the validation (text, --json, --plot); returns the exit
 * code. Shared by validate and merge, so a merged run prints exactly what one run prints.
 */
export async function reportValidation(
  network: Network, input: InputDistribution, validation: Validation, run: RunInfo,
  values: { plot?: string; json?: boolean; entries?: boolean }, out: Output,
): Promise<number> {
  const { inputOrder, backend } = run;
  if (values.plot) {
    const title = `validate: network ${[network.inputSize, ...network.layers.map((l) => l.rows)].join('-')}, ${run.samples} samples, K = ${inputOrder}, backend ${backend}`;
    const { validationPlot } = await import('../plot.ts');
    const figure = await validationPlot(validation, title);
    try {
      writeFileSync(values.plot, values.plot.toLowerCase().endsWith('.png') ? figure.png : figure.svg);
    } catch (err) {
      throw new InputError(`cannot write the plot "${values.plot}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
    }
  }
  if (values.json) out.log(JSON.stringify(validationJson(network, input, validation, run)));
  else out.log(validationText(network, input, validation, run, values.entries ?? false));
  return validation.passed ? 0 : DISAGREES_EXIT_CODE;
}

export interface RunInfo {
  samples: number;
  batches: number;
  seed: number;
  backend: string;
  workers: number;
  inputOrder: number;
  outputOrder: number;
  theorySeconds: number;
  monteCarloSeconds: number;
  /** Shard files merged (corrmap merge); absent for one run. */
  shards?: number;
}

function describeInput(input: InputDistribution): string {
  if (input.kind === 'gaussian') return 'Gaussian';
  if (input.kind === 'exponential-mixture') return `non-Gaussian, mean + A s with ${input.sources} exponential sources`;
  return `the empirical distribution of ${input.count} data rows`;
}

export function validationJson(network: Network, input: InputDistribution, v: Validation, run: RunInfo) {
  return {
    run: { ...run, input: input.kind, network: [network.inputSize, ...network.layers.map((l) => l.rows)] },
    critical: v.critical,
    alpha: v.alpha,
    entries: v.entries,
    passed: v.passed,
    blocks: v.blocks.map((b) => ({
      layer: b.layer,
      stage: b.stage,
      order: b.order,
      cumulant: ORDER_KEYS[b.order],
      exact: b.exact,
      verdict: b.verdict,
      maxZ: b.maxZ,
      worst: b.worst,
      entries: b.entries,
    })),
  };
}

function validationText(network: Network, input: InputDistribution, v: Validation, run: RunInfo, all: boolean): string {
  const widths = [network.inputSize, ...network.layers.map((l) => l.rows)].join(' → ');
  const closure = run.inputOrder === 2 ? 'Gaussian closure (K = 2)' : `input cumulants up to K = ${run.inputOrder}`;
  const lines = [
    `network ${widths}; input ${describeInput(input)}; theory: ${closure}`,
    `Monte Carlo: ${run.samples} samples in ${run.batches} batches, seed ${run.seed}, backend ${run.backend}${run.workers > 1 ? `, ${run.workers} workers` : ''}${run.shards ? `, merged from ${run.shards} shards` : ''} (${run.monteCarloSeconds.toFixed(1)} s${run.shards ? ' summed over the shards' : ''}; theory ${run.theorySeconds.toFixed(2)} s)`,
    `Bonferroni bound: |z| ≤ ${v.critical.toFixed(2)} over ${v.entries} entries (family-wise α = ${v.alpha}; z = |theory − MC| / √(SE² + ε²), ε the float rounding)`,
    '',
  ];
  const header = ['layer', 'stage', 'cumulant', 'entries', 'theory is', 'max |z|', 'at', 'verdict'];
  const rows: string[][] = [header];
  for (const b of v.blocks) {
    rows.push([
      String(b.layer), b.stage, ORDER_KEYS[b.order], String(b.entries.length), b.exact ? 'exact' : 'approximate', b.maxZ.toFixed(2), `[${b.worst.map((i) => i + 1).join(',')}]`,
      b.verdict === 'disagrees' ? 'DISAGREES' : b.verdict === 'approximate' ? (b.maxZ > v.critical ? 'closure is off' : 'closure not resolved') : 'agrees',
    ]);
    if (all)
      for (const e of b.entries)
        rows.push(['', '', `  [${e.index.map((i) => i + 1).join(',')}]`, '', num(e.theory), e.z.toFixed(2), `MC ${num(e.estimate)} ± ${num(e.standardError, 2)}`, '']);
  }
  const w = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) lines.push(r.map((cell, c) => (c === 3 || c === 5 ? cell.padStart(w[c]) : cell.padEnd(w[c]))).join('  ').trimEnd());
  const exact = v.blocks.filter((b) => b.exact);
  const approx = v.blocks.filter((b) => !b.exact);
  lines.push('');
  if (!v.passed) lines.push(`verdict: DISAGREES — ${exact.filter((b) => b.verdict === 'disagrees').length} exact block(s) beyond the bound`);
  else lines.push(`verdict: agrees — all ${exact.length} exact blocks within the bound`);
  if (approx.length) {
    const worst = approx.reduce((a, b) => (b.maxZ > a.maxZ ? b : a));
    lines.push(
      `${approx.length} approximate block(s) (the truncation at K = ${run.inputOrder} drops cumulants they depend on, or a Gaussian-closure series is only asymptotic there); largest |z| ${worst.maxZ.toFixed(1)} at layer ${worst.layer} ${worst.stage} ${ORDER_KEYS[worst.order]}${run.inputOrder < 4 && network.layers.every((l) => !l.general) ? '; a higher --input-order makes more layers exact' : ''}`,
    );
  }
  return lines.join('\n');
}
