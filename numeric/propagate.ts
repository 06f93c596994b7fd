/**
 * Network propagation on a tfjs backend: a batch of input distributions (e.g. one per class) goes
 * through every layer in one call, with no host round trip between layers; results are read back
 * once at the end. The float64 reference path (numeric/network.ts) follows the same plan.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TransferRule } from '../symbolic/rule.ts';
import { withBackend, type BackendName, type TfBackendName } from './backend.ts';
import { affineKernel, compileRule, compileTaylor, type RuleKernel } from './kernels.ts';
import {
  cachedRule, checkFinite, checkInputWidths, highestGiven, planPropagation, propagateReference, type LayerResult, type Network, type PropagateOptions,
  type PropagationPlan,
} from './network.ts';
import { Cumulants } from './tensor.ts';
import type { Activation } from '../symbolic/activations.ts';
import { exactPairCovarianceTensor } from './bivariate.ts';
import { gaussianRule } from '../symbolic/gaussian.ts';
import {
  MAX_SMOOTHED_K, covarianceTruncationOrder, exactBivariateAtom, exactOrderOf, gaussianLayer, gaussianLayerErrors, requireDerivatives, smoothedTable, tableErrors, thirdCumulant, thirdCumulantError, type SmoothedTable,
} from './general.ts';
import { gaussianLayerOnDevice, type DeviceClosure } from './closure-plan.ts';
import { networkFromSpec, runAllInWorkers, sharedCopy, sharedSpec, type NetworkSpec } from './workers.ts';

/** Cumulant tensors of a batch by order (index 1 = mean [B, N]; r ≥ 2: [B, N, …, N]; undefined = zero). */
export type CumulantTensors = (tf.Tensor | undefined)[];

export interface LayerTensors {
  readonly pre: CumulantTensors;
  readonly post: CumulantTensors;
  /** Relative numerical error of the post-activation theory by order (general activations). */
  readonly numericalError?: number[];
  /** False when the κ3 series was only asymptotic (numeric/general.ts thirdCumulant). */
  readonly thirdConverged?: boolean;
  /** How a general layer's closure was computed: on the device (Mehler series to order P, or the bivariate form) or on the host. */
  readonly closure?: DeviceClosure['route'] | { kind: 'host' };
}

const kernels = new WeakMap<TransferRule, RuleKernel>();
function kernelFor(rule: TransferRule): RuleKernel {
  let k = kernels.get(rule);
  if (!k) kernels.set(rule, (k = compileRule(rule)));
  return k;
}

/** Per-layer device data: Wᵀ (the layout the fast matMul path wants) and b. */
export interface LayerWeights {
  readonly weightT: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

export function uploadWeights(network: Network): LayerWeights[] {
  return network.layers.map((layer) => {
    const wT = new Float32Array(layer.rows * layer.cols);
    for (let o = 0; o < layer.rows; o++) for (let i = 0; i < layer.cols; i++) wT[i * layer.rows + o] = layer.weight[o * layer.cols + i];
    return { weightT: tf.tensor2d(wT, [layer.cols, layer.rows]), bias: tf.tensor1d(Float32Array.from(layer.bias)) };
  });
}

/**
 * Propagate cumulant tensors through every layer (call inside tf.tidy). Each layer: the exact affine
 * map of every order, then, for an activation, its transfer rules of orders 1…postOrders[l] applied
 * to the pre-activation cumulants truncated at K.
 */
export function propagateTensors(network: Network, weights: readonly LayerWeights[], plan: PropagationPlan, inputOrder: number, input: CumulantTensors): LayerTensors[] {
  let current = input;
  return network.layers.map((layer, l) => {
    const affine = affineKernel(weights[l].weightT, weights[l].bias);
    const pre: CumulantTensors = [undefined, affine.mean(current[1]!)];
    for (let r = 2; r <= plan.preOrders[l]; r++) pre.push(current[r] ? affine.cumulant(current[r]!, r) : undefined);
    let post = pre;
    let numericalError: number[] | undefined;
    let thirdConverged = true;
    let closure: LayerTensors['closure'];
    if (layer.general) ({ post, numericalError, thirdConverged, closure } = gaussianLayerTensors(layer.general, pre.slice(0, Math.min(inputOrder, 4) + 1), plan.postOrders[l]));
    else if (layer.activation) {
      const taylor = compileTaylor(layer.activation.taylor)(pre[1]!);
      const truncated = pre.slice(0, inputOrder + 1);
      post = [undefined];
      for (let m = 1; m <= plan.postOrders[l]; m++) post.push(kernelFor(cachedRule(layer.activation, m, inputOrder)).run(taylor, truncated));
    }
    current = post;
    return numericalError ? { pre, post, numericalError, thirdConverged, closure } : { pre, post };
  });
}

const gaussianRules = new Map<string, RuleKernel>();
function gaussianKernel(order: number, truncation: number, normalized = false): RuleKernel {
  const key = `${order}/${truncation}/${normalized}`;
  let k = gaussianRules.get(key);
  if (!k) gaussianRules.set(key, (k = compileRule(gaussianRule(order, truncation, normalized))));
  return k;
}

/** Non-Gaussian input (orders 3, 4; small widths, since Q has N⁴ entries): the float64 layer on the host. */
type GeneralLayerTensors = { post: CumulantTensors; numericalError: number[]; thirdConverged: boolean; closure?: LayerTensors['closure'] };

function gaussianLayerOnHost(act: Activation, pre: CumulantTensors, postOrder: number, tolerance: number): GeneralLayerTensors {
  const [batch, width] = pre[1]!.shape as [number, number];
  const host = pre.map((t) => t?.dataSync());
  const orders = Array.from({ length: postOrder + 1 }, (_, r) => (r === 0 ? undefined : new Float32Array(batch * width ** r)));
  let errors: number[] = [];
  let thirdConverged = true;
  for (let b = 0; b < batch; b++) {
    const member = new Cumulants(width, host.map((d, r) => (d && r >= 1 ? Float64Array.from(d.subarray(b * width ** r, (b + 1) * width ** r)) : undefined)));
    const result = gaussianLayer(act, member, postOrder, tolerance);
    const e = gaussianLayerErrors(result);
    if (result.thirdTruncation?.converged === false) thirdConverged = false;
    errors = e.map((v, r) => Math.max(v, errors[r] ?? 0));
    for (let r = 1; r <= postOrder; r++) orders[r]!.set(result.post.order(r)!, b * width ** r);
  }
  return { post: orders.map((d, r) => (d ? tf.tensor(d, [batch, ...new Array<number>(r).fill(width)]) : undefined)), numericalError: errors, thirdConverged };
}

/**
 * A general activation on the device (Gaussian closure, docs/theory.md §Gaussian closure). The per-index work — g_k(i) from
 * closed forms or quadrature, the direct variances, the truncation P — is float64 on the host and
 * needs only μ_i, Σ_ii and max|ρ| per member (O(N) numbers read back); the N² work, the Mehler
 * series Σ_p Σ_ij^p/p! g_p(i) g_p(j), is the compiled rule on the device, with the diagonal replaced
 * by the direct variances. κ3 (N³ entries, small layers) is computed on the host.
 */
function gaussianLayerTensors(act: Activation, pre: CumulantTensors, postOrder: number, tolerance = 1e-8): GeneralLayerTensors {
  if (pre[3] !== undefined || pre[4] !== undefined) return gaussianLayerOnHost(act, pre, postOrder, tolerance);
  // The closure plan as batched tensor work (numeric/closure-plan.ts); κ3 and what it cannot do on the host.
  const device = postOrder <= 2 ? gaussianLayerOnDevice(act, pre[1]!, pre[2], postOrder, tolerance) : undefined;
  if (device) return { post: [undefined, device.mean, ...(device.covariance ? [device.covariance] : [])], numericalError: device.numericalError, thirdConverged: true, closure: device.route };
  const mean = pre[1]!;
  const [batch, width] = mean.shape as [number, number];
  const cov = pre[2] ?? tf.zeros([batch, width, width]);
  const diagonal = tf.tensor1d(Int32Array.from({ length: width }, (_, i) => i * width + i), 'int32');
  const variance = tf.gather(tf.reshape(cov, [batch, width * width]), diagonal, 1);
  // √s_i · √s_j, not √(s_i s_j): the product leaves float32's range for s ≳ 1e19 or ≲ 1e-19.
  const root = tf.sqrt(tf.relu(variance));
  const scale = tf.mul(tf.reshape(root, [batch, width, 1]), tf.reshape(root, [batch, 1, width]));
  const offDiagonal = tf.sub(1, tf.eye(width));
  const rho = tf.mul(tf.divNoNan(tf.abs(cov), scale), offDiagonal);
  const maxRho = tf.max(tf.reshape(rho, [batch, width * width]), 1);
  const [meanHost, varianceHost, rhoHost] = [mean.dataSync(), variance.dataSync(), maxRho.dataSync()];
  const means = Array.from({ length: batch }, (_, b) => Float64Array.from(meanHost.subarray(b * width, (b + 1) * width)));
  const variances = Array.from({ length: batch }, (_, b) => Float64Array.from(varianceHost.subarray(b * width, (b + 1) * width)));
  const kmax = postOrder >= 2 ? (act.smoothed ? MAX_SMOOTHED_K.closedForm : MAX_SMOOTHED_K.quadrature) : 0;
  const tables = means.map((m, b) => smoothedTable(act, m, variances[b], kmax, tolerance));
  if (postOrder >= 3) for (const t of tables) requireDerivatives(act, t, 'the third cumulant');
  const perIndex = (values: (t: SmoothedTable, b: number) => Float64Array) => {
    const data = new Float32Array(batch * width);
    tables.forEach((t, b) => data.set(values(t, b), b * width));
    return tf.tensor2d(data, [batch, width]);
  };
  const post: CumulantTensors = [undefined, perIndex((t) => t.g[0])];
  const quadrature = tables.map((t, b) => tableErrors(t, variances[b]));
  const numericalError = [0, Math.max(...quadrature.map((q) => q.mean))];
  let thirdConverged = true;
  if (postOrder >= 2) {
    const { order: P, bound } = covarianceTruncationOrder(tables, variances, Array.from(rhoHost), tolerance);
    const atom = exactBivariateAtom(act, bound, tolerance);
    if (atom) {
      // Strong correlations under a kink or a jump: the exact bivariate form through Φ₂ in float32
      // (numeric/bivariate.ts); its diagonal is the exact variance.
      numericalError.push(0);
      post.push(exactPairCovarianceTensor(atom, mean, variance, cov));
      return { post, numericalError: thirdOrder(post, numericalError), thirdConverged, closure: { kind: 'host' } };
    }
    numericalError.push(bound + Math.max(...quadrature.map((q) => q.covariance)));
    // ĝ_p = g_p s^{p/2}/√p! and ρ for Σ: float32 never sees g_40 ~ 1e25 next to Σ^40 ~ 1e-30.
    const normalized = Array.from({ length: P + 1 }, (_, p) => perIndex((t) => t.normalized[p]));
    const correlation = tf.mul(tf.divNoNan(cov, scale), offDiagonal);
    const series = gaussianKernel(2, P, true).run(normalized, [undefined, mean, correlation]);
    const directVariance = perIndex((t) => t.variance);
    const direct = tf.mul(tf.reshape(directVariance, [batch, width, 1]), tf.eye(width));
    post.push(tf.add(tf.mul(series, offDiagonal), direct));
  }
  return { post, numericalError: thirdOrder(post, numericalError), thirdConverged, closure: { kind: 'host' } };

  /** κ3 (N³ entries, small layers) on the host, appended to post; returns the errors with its own. */
  function thirdOrder(out: CumulantTensors, errors: number[]): number[] {
    if (postOrder < 3) return errors;
    const covHost = cov.dataSync();
    const third = new Float32Array(batch * width ** 3);
    let worst = 0;
    means.forEach((m, b) => {
      const c = Float64Array.from(covHost.subarray(b * width * width, (b + 1) * width * width));
      const result = thirdCumulant(act, new Cumulants(width, [undefined, m, c]), tables[b], tolerance);
      worst = Math.max(worst, thirdCumulantError(result.tensor, result.truncation.estimate, tables[b].variance));
      if (!result.truncation.converged) thirdConverged = false;
      third.set(result.tensor, b * width ** 3);
    });
    out.push(tf.tensor(third, [batch, width, width, width]));
    return [...errors, worst];
  }
}

/** Stack a batch of Cumulants (same width) into device tensors, orders 1…maxOrder. */
export function uploadCumulants(inputs: readonly Cumulants[], maxOrder: number): CumulantTensors {
  const n = inputs[0].size;
  const out: CumulantTensors = [undefined];
  for (let r = 1; r <= maxOrder; r++) {
    if (r > 1 && inputs.every((c) => !c.order(r))) {
      out.push(undefined);
      continue;
    }
    const block = n ** r;
    const data = new Float32Array(inputs.length * block);
    inputs.forEach((c, b) => {
      const t = r === 1 ? c.mean : c.order(r);
      if (t) data.set(t, b * block);
    });
    out.push(tf.tensor(data, [inputs.length, ...new Array<number>(r).fill(n)]));
  }
  return out;
}

async function download(tensors: CumulantTensors, batch: number, width: number): Promise<Cumulants[]> {
  const perOrder = await Promise.all(tensors.map((t) => (t ? t.data() : undefined)));
  return Array.from({ length: batch }, (_, b) => {
    const orders = perOrder.map((data, r) => {
      if (!data || r === 0) return undefined;
      const block = width ** r;
      return Float64Array.from(data.subarray(b * block, (b + 1) * block) as Float32Array);
    });
    return new Cumulants(width, orders);
  });
}

export interface BatchLayerResult {
  /** One entry per input distribution. */
  readonly pre: Cumulants[];
  readonly post: Cumulants[];
  readonly exactOrder: number;
  /** Relative numerical error of the post-activation theory by order, over the batch (general activations). */
  readonly numericalError?: readonly number[];
}

export interface CompiledOptions extends PropagateOptions {
  readonly backend: TfBackendName;
  /** Layers whose cumulants are read back: every layer (default) or only the output layer. */
  readonly keep?: 'all' | 'output';
  /**
   * Worker threads: the inputs are split into this many groups, each propagated in its own thread
   * with its own tfjs instance (default 1: this thread).
   */
  readonly workers?: number;
}

/**
 * Propagate a batch of input distributions (all of the same width and truncation) on a tfjs
 * backend. Everything between upload and download runs inside one tf.tidy; no tensor outlives it.
 * Returns one result per layer kept (`keep`), each with one entry per input distribution.
 */
export async function propagateCompiled(network: Network, inputs: readonly Cumulants[], options: CompiledOptions): Promise<BatchLayerResult[]> {
  if (inputs.length === 0) throw new RangeError('propagateCompiled needs at least one input distribution');
  checkInputWidths(network, inputs);
  const workers = Math.min(options.workers ?? 1, inputs.length);
  if (workers <= 1) return withBackend(options.backend, () => propagateBatch(network, inputs, options));
  planPropagation(network, options, Math.max(...inputs.map(highestGiven)));
  const bounds = Array.from({ length: workers + 1 }, (_, k) => Math.round((k * inputs.length) / workers));
  const { workers: _, ...rest } = options;
  // Weights and inputs go to the workers in shared memory: posting them would copy every array
  // once per worker on this thread (about 0.1 s for 10 classes of width 784 and 2.8·10⁶ weights).
  const spec = sharedSpec(network);
  const tasks = bounds.slice(0, -1).map((first, k) => ({
    kind: 'propagate',
    network: spec,
    inputs: inputs.slice(first, bounds[k + 1]).map((c) => ({ size: c.size, tensors: c.tensors.map((t) => t && sharedCopy(t)) })),
    options: rest,
  }));
  const groups = await runAllInWorkers<PlainLayerResult[]>(tasks, () => {});
  return groups[0].map((layer, l) => {
    const errors = groups.map((g) => g[l].numericalError).filter((e): e is number[] => !!e);
    return {
      pre: groups.flatMap((g) => g[l].pre.map(fromPlain)),
      post: groups.flatMap((g) => g[l].post.map(fromPlain)),
      exactOrder: Math.min(...groups.map((g) => g[l].exactOrder)),
      ...(errors.length ? { numericalError: errors[0].map((_, r) => Math.max(...errors.map((e) => e[r]))) } : {}),
    };
  });
}

/** A BatchLayerResult after structured cloning (Cumulants lose their class). */
type PlainCumulants = { size: number; tensors: (Float64Array | undefined)[] };
type PlainLayerResult = { pre: PlainCumulants[]; post: PlainCumulants[]; exactOrder: number; numericalError?: number[] };
const fromPlain = (c: PlainCumulants) => new Cumulants(c.size, c.tensors);

/** The worker side of propagateCompiled: one group of inputs, in this thread. */
export async function propagateGroup(task: { network: NetworkSpec; inputs: PlainCumulants[]; options: Omit<CompiledOptions, 'workers'> }): Promise<BatchLayerResult[]> {
  return propagateCompiled(networkFromSpec(task.network), task.inputs.map(fromPlain), task.options);
}

async function propagateBatch(network: Network, inputs: readonly Cumulants[], options: CompiledOptions): Promise<BatchLayerResult[]> {
  const plan = planPropagation(network, options, Math.max(...inputs.map(highestGiven)));
  const last = network.layers.length - 1;
  const first = options.keep === 'output' ? last : 0;
  const layers = tf.tidy(() => {
    const weights = uploadWeights(network);
    const maxIn = Math.max(1, plan.preOrders[0]);
    return propagateTensors(network, weights, plan, options.inputOrder, uploadCumulants(inputs, maxIn)).slice(first) as unknown as tf.TensorContainer;
  }) as unknown as LayerTensors[];
  try {
    const results: BatchLayerResult[] = [];
    for (const [k, layer] of layers.entries()) {
      const l = first + k;
      const width = network.layers[l].rows;
      const pre = await download(layer.pre, inputs.length, width);
      const post = layer.post === layer.pre ? pre : await download(layer.post, inputs.length, width);
      pre.forEach((p, b) => checkFinite({ pre: p, post: post[b] }, l, 'float32', inputs.length > 1 ? `input ${b + 1}` : undefined));
      const exactOrder = layer.numericalError ? exactOrderOf(plan.exactOrders[l], layer.numericalError, layer.thirdConverged) : plan.exactOrders[l];
      results.push({ pre, post, exactOrder, ...(layer.numericalError ? { numericalError: layer.numericalError } : {}) });
    }
    return results;
  } finally {
    for (const layer of layers) for (const t of [...layer.pre, ...layer.post]) t?.dispose();
  }
}

/** Propagate one input distribution on any backend, the float64 reference included. */
export async function propagate(network: Network, input: Cumulants, options: PropagateOptions & { backend: BackendName }): Promise<LayerResult[]> {
  if (options.backend === 'reference') return propagateReference(network, input, options);
  const batch = await propagateCompiled(network, [input], { ...options, backend: options.backend });
  return batch.map((r) => ({ pre: r.pre[0], post: r.post[0], exactOrder: r.exactOrder, ...(r.numericalError ? { numericalError: r.numericalError } : {}) }));
}
