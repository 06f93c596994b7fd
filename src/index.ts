/**
 * corrmap as a library: the three commands as async functions of plain objects (the JSON the CLI
 * reads), returning the JSON the CLI prints with --json, plus the building blocks they are made of.
 * Bad input throws InputError with the one-line message the CLI would print.
 */
import { InputError } from '../symbolic/errors.ts';
import { DEFAULT_MAX_MEMORY, MAX_INPUT_ORDER, MAX_OUTPUT_ORDER } from '../symbolic/rule.ts';
import { BACKENDS, DEFAULT_BACKEND, type BackendName } from '../numeric/backend.ts';
import { defaultWorkers } from '../numeric/simulate.ts';
import { networkFromJson, propagationInputsFromJson } from './io.ts';
import { derivation, type Derivation } from './cli/derive.ts';
import { propagateAll, propagationJson } from './cli/propagate.ts';
import { DEFAULT_MAX_SECONDS, MAX_SECONDS_OPTION } from '../numeric/work.ts';
import { readRun, validateNetwork, validateSettings, validationJson } from './cli/validate.ts';
import { CORES } from './cli/command.ts';

export { InputError };
export type { Derivation };

/** A network as in network.json: {"layers": [{"weight": [[…]], "bias": […], "activation": "z + a*z^2", "params": {…}}]}. */
export interface NetworkJson {
  layers: { weight: number[][]; bias?: number[]; activation?: string; params?: Record<string, number> }[];
}

/** Input statistics as in stats.json: mean, cov and optional k3…k8 (nested arrays). */
export interface StatsJson {
  mean: number[];
  cov: number[][];
  k3?: unknown;
  k4?: unknown;
  k5?: unknown;
  k6?: unknown;
  k7?: unknown;
  k8?: unknown;
}

/** An input distribution validate can sample: Gaussian stats, an exponential mixture, or data rows. */
export type DistributionJson = { mean: number[]; cov: number[][] } | { mean: number[]; mixing: number[][] } | { data: number[][] };

function integer(value: number | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

function backendOf(value: string | undefined): BackendName {
  if (value === undefined) return DEFAULT_BACKEND;
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InputError(`backend must be one of ${BACKENDS.join(', ')}, got "${value}"`);
  return value as BackendName;
}

export interface DeriveOptions {
  /** φ as an expression in z, e.g. "z + a*z^2" or "tanh(z)". */
  expression: string;
  /** Highest output cumulant order (default 2). */
  order?: number;
  /** Highest input cumulant kept (default: d·n, the exact rule, at most 8). */
  inputOrder?: number;
  /** Parameter values; others stay symbolic. */
  params?: Record<string, number>;
  /** Memory the rules may take, in bytes (default 4e9). */
  maxMemory?: number;
}

/** The cumulant transfer rules of an activation (corrmap derive): text, LaTeX, JSON and the rule IR. */
export async function derive(options: DeriveOptions): Promise<Derivation> {
  if (typeof options?.expression !== 'string') throw new InputError('derive needs {expression: "…"}, e.g. {expression: "z + a*z^2"}');
  const order = integer(options.order, 'order', 1, MAX_OUTPUT_ORDER, 2);
  const inputOrder = options.inputOrder === undefined ? undefined : integer(options.inputOrder, 'inputOrder', 1, MAX_INPUT_ORDER, 2);
  const params = Object.assign(Object.create(null) as Record<string, number>, options.params ?? {});
  return derivation(options.expression, params, { order, inputOrder, maxMemory: options.maxMemory ?? DEFAULT_MAX_MEMORY });
}

export interface PropagateOptions {
  network: NetworkJson;
  /** One input ({mean, cov, …} or {data}), or several (a list, or {classes: …}). */
  input: StatsJson | { data: number[][] } | { classes: unknown } | (StatsJson | { data: number[][] })[];
  inputOrder?: number;
  outputOrder?: number;
  backend?: BackendName;
  maxMemory?: number;
  /** Seconds the propagation may take (default 3600): refused up front above it (corrmap propagate --max-seconds). */
  maxSeconds?: number;
}

/**
 * Cumulants of every layer (corrmap propagate --json): for one input, {backend, truncation, layers};
 * for several, {classes: [{name, …}]}. Every layer's "post" object is itself a valid stats input.
 */
export async function propagate(options: PropagateOptions): Promise<Record<string, unknown>> {
  const inputOrder = integer(options.inputOrder, 'inputOrder', 1, MAX_INPUT_ORDER, 2);
  const outputOrder = integer(options.outputOrder, 'outputOrder', 1, MAX_OUTPUT_ORDER, 2);
  const backend = backendOf(options.backend);
  const notes: string[] = [];
  const list = Array.isArray(options.input) ? options.input : [options.input];
  if (list.length === 0) throw new InputError('propagate needs at least one input');
  const inputs = list.flatMap((json, k) =>
    propagationInputsFromJson(json, list.length > 1 ? `input ${k + 1}` : 'input', Math.max(inputOrder, outputOrder), notes).map((c) => ({
      ...c,
      name: list.length > 1 ? `${k + 1}${c.name ? `: ${c.name}` : ''}` : c.name,
    })),
  );
  const network = networkFromJson(options.network, 'network', inputs[0].cumulants.size);
  const { results } = await propagateAll(network, inputs, { inputOrder, outputOrder, backend, maxMemory: options.maxMemory, maxSeconds: integer(options.maxSeconds, 'maxSeconds', 1, MAX_SECONDS_OPTION, DEFAULT_MAX_SECONDS), notes });
  const one = (k: number) => propagationJson(network, results[k], inputOrder, outputOrder, backend);
  const body = inputs.length === 1 ? one(0) : { classes: inputs.map((c, k) => ({ name: c.name, ...one(k) })) };
  return { ...body, ...(notes.length ? { notes } : {}) };
}

export interface ValidateOptions {
  network: NetworkJson;
  input: DistributionJson;
  samples?: number;
  batches?: number;
  seed?: number;
  backend?: BackendName;
  inputOrder?: number;
  outputOrder?: number;
  workers?: number;
}

/** Theory against Monte Carlo for every layer (corrmap validate --json): z-scores, verdicts and `passed`. */
export async function validate(options: ValidateOptions): Promise<ReturnType<typeof validationJson>> {
  const { samples, batches, seed, inputOrder, outputOrder } = validateSettings((key, min, max, fallback) => integer(options[key], key, min, max, fallback), (key) => key);
  const backend = backendOf(options.backend);
  const given = (json: unknown, label: string) => ({ json: () => json, label });
  const { input, network } = readRun(given(options.input, 'input'), given(options.network, 'network'), inputOrder, (key) => key);
  const workers = integer(options.workers, 'workers', 1, CORES, defaultWorkers(samples, network.layers.length, batches));
  const { validation, run } = await validateNetwork(network, input, { samples, batches, seed, backend, inputOrder, outputOrder, workers });
  return validationJson(network, input, validation, run);
}

// Building blocks.
export { parseActivation, type ParsedExpression } from '../symbolic/expression.ts';
export { polynomialActivation, type PolynomialActivation } from '../symbolic/taylor.ts';
export { transferRule, transferRules, ruleTermCount, requiredInputOrder, MAX_INPUT_ORDER, MAX_OUTPUT_ORDER, type TransferRule, type RuleTerm } from '../symbolic/rule.ts';
export { gaussianRule, MAX_GAUSSIAN_ORDER, type GaussianRule } from '../symbolic/gaussian.ts';
export { activationOf, smoothedDerivatives, type Activation } from '../symbolic/activations.ts';
export { TextPrinter } from '../symbolic/print/text.ts';
export { LatexPrinter } from '../symbolic/print/latex.ts';
export { Cumulants } from '../numeric/tensor.ts';
export { makeLayer, propagateReference, type Layer, type Network, type LayerResult } from '../numeric/network.ts';
export { propagateCompiled } from '../numeric/propagate.ts';
export { sampleNetwork, gaussianSampler, exponentialMixtureSampler, type LayerEstimates } from '../numeric/montecarlo.ts';
export { simulateNetwork, type InputDistribution } from '../numeric/simulate.ts';
export { validateLayers, type Validation } from '../numeric/validation.ts';
export { networkFromJson, statsFromJson, statsToJson, distributionFromJson } from './io.ts';
export { BACKENDS, type BackendName } from '../numeric/backend.ts';
