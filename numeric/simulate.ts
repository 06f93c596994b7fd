/**
 * Monte Carlo on a tfjs backend (docs/theory.md §Monte Carlo estimators): draw inputs of a known distribution, run the network
 * forward in chunks on the device, and accumulate shifted power sums of every layer's pre- and
 * post-activation in float64 on the host (numeric/powersums.ts). The run is a fixed list of batches
 * whose random streams depend only on (seed, batch, chunk), so any split of the batches into shards
 * (worker threads) gives the same numbers, bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { InputError } from '../symbolic/errors.ts';
import { useBackend, withBackend, type TfBackendName } from './backend.ts';
import { compileExpression } from './kernels.ts';
import type { LayerEstimates } from './montecarlo.ts';
import { exponentialMixtureSampler, gaussianFactor, gaussianSampler, type InputSampler } from './montecarlo.ts';
import { checkParameterValues, hasActivation, type Network } from './network.ts';
import { networkSpec, runAllInWorkers, sharedSpec, type NetworkSpec } from './workers.ts';
import { MAX_ESTIMATED_ORDER, PowerSums, sortedPositions, sortedTupleCount, type BatchSums, hostBatchSums, populationCumulants } from './powersums.ts';
import { uploadWeights } from './propagate.ts';
import { Random } from './random.ts';
import { Cumulants, forEachSortedTuple } from './tensor.ts';

/** An input distribution that can be sampled and whose cumulants are known exactly. */
export type InputDistribution =
  | { readonly kind: 'gaussian'; readonly mean: Float64Array; readonly cov: Float64Array }
  /** x = m + A s, s_j independent centred exponentials (κ_n(s) = (n−1)!); mixing is width × sources. */
  | { readonly kind: 'exponential-mixture'; readonly mean: Float64Array; readonly mixing: Float64Array; readonly sources: number }
  /** The empirical distribution of `count` data rows (sampled uniformly with replacement). */
  | { readonly kind: 'data'; readonly rows: Float64Array; readonly count: number; readonly width: number };

export function distributionWidth(d: InputDistribution): number {
  return d.kind === 'data' ? d.width : d.mean.length;
}

/**
 * The exact cumulants of the distribution up to `maxOrder`: Gaussian (orders > 2 vanish), the
 * exponential mixture (every order), the data's population cumulants (orders ≤ 4).
 */
export function distributionCumulants(d: InputDistribution, maxOrder: number): Cumulants {
  switch (d.kind) {
    case 'gaussian':
      return new Cumulants(d.mean.length, [undefined, Float64Array.from(d.mean), ...(maxOrder >= 2 ? [Float64Array.from(d.cov)] : [])]);
    case 'exponential-mixture':
      return exponentialMixtureSampler(d.mean, d.mixing, d.sources).cumulants(maxOrder);
    case 'data': {
      const order = Math.min(maxOrder, MAX_ESTIMATED_ORDER);
      return populationCumulants(hostBatchSums(0, d.rows, d.count, d.width, order), d.width, order);
    }
  }
}

/** A float64 host sampler of the distribution (numeric/montecarlo.ts sampleNetwork, the reference path). */
export function hostSampler(d: InputDistribution): InputSampler {
  switch (d.kind) {
    case 'gaussian':
      return gaussianSampler(d.mean, d.cov);
    case 'exponential-mixture':
      return exponentialMixtureSampler(d.mean, d.mixing, d.sources);
    case 'data':
      return {
        size: d.width,
        cumulants: (maxOrder) => distributionCumulants(d, maxOrder),
        draw(rng, out) {
          const row = Math.floor(rng.uniform() * d.count);
          for (let i = 0; i < d.width; i++) out[i] = d.rows[row * d.width + i];
        },
      };
  }
}

/** Orders above this vanish for the distribution (Infinity: not known to vanish). */
export function distributionZeroAbove(d: InputDistribution): number {
  return d.kind === 'gaussian' ? 2 : Infinity;
}

export interface SimulationOptions {
  readonly samples: number;
  readonly batches: number;
  readonly seed: number;
  /** Highest cumulant order estimated, 1…4. */
  readonly maxOrder: number;
  readonly backend: TfBackendName;
  /** Worker threads (shards); 1 runs in this thread. Default: 1. */
  readonly workers?: number;
  /** Largest number of samples pushed through the network at once (default: from the widths). */
  readonly chunk?: number;
  /**
   * Run only batches [first, end) of the run (a shard: another process or machine runs the rest;
   * their power sums merge into the run's, bit for bit). Default: every batch.
   */
  readonly batchRange?: readonly [number, number];
  readonly onProgress?: (fraction: number) => void;
}

export interface Simulation {
  /** Power sums of the pre- and post-activation of every layer (2 per layer), mergeable. */
  readonly stages: PowerSums[];
  /** Samples in the batches run (the shard's share when options.batchRange is given). */
  readonly samples: number;
  readonly seconds: number;
  estimates(): LayerEstimates[];
}

/** Largest width at which order-3/4 power sums are computed (the pair products have N(N+1)/2 columns). */
const MAX_WIDTH_BY_ORDER = [Infinity, Infinity, 4096, 256, 64];

/** What a shard needs to run its batches; structured-cloneable for worker threads. */
export interface ShardSpec {
  readonly network: NetworkSpec;
  readonly input: InputDistribution;
  readonly seed: number;
  readonly maxOrder: number;
  readonly backend: TfBackendName;
  readonly perBatch: number;
  readonly chunk: number;
  /** Per-stage shift vectors (float32 values), the same for every shard. */
  readonly shifts: Float64Array[];
  readonly firstBatch: number;
  readonly endBatch: number;
}

/**
 * Estimate the cumulants (orders 1…maxOrder) of every layer's pre- and post-activation by sampling
 * the network on a tfjs backend. Batches are split into `workers` shards run in worker threads.
 */
export function simulateNetwork(network: Network, input: InputDistribution, options: SimulationOptions): Promise<Simulation> {
  return withBackend(options.backend, () => simulate(network, input, options));
}

async function simulate(network: Network, input: InputDistribution, options: SimulationOptions): Promise<Simulation> {
  const start = performance.now();
  checkParameterValues(network);
  const { batches, maxOrder } = options;
  if (!(maxOrder >= 1 && maxOrder <= MAX_ESTIMATED_ORDER)) throw new InputError(`Monte Carlo estimates cumulants of order 1…${MAX_ESTIMATED_ORDER}, not ${maxOrder}`);
  if (distributionWidth(input) !== network.inputSize) throw new InputError(`the input distribution has width ${distributionWidth(input)}, the network takes ${network.inputSize}`);
  const widths = network.layers.map((l) => l.rows);
  const widest = Math.max(...widths);
  if (widest > MAX_WIDTH_BY_ORDER[maxOrder])
    throw new InputError(`Monte Carlo cumulants of order ${maxOrder} are limited to layers of width ≤ ${MAX_WIDTH_BY_ORDER[maxOrder]} (this network has a layer of width ${widest}); lower --output-order`);
  if (!Number.isInteger(batches) || batches < 2) throw new InputError(`at least 2 batches are needed for standard errors, got ${batches}`);
  const perBatch = Math.floor(options.samples / batches);
  if (perBatch < 16) throw new InputError(`${options.samples} samples are too few for ${batches} batches (at least 16 per batch)`);
  const columns = Math.max(network.inputSize, ...widths.map((w) => (maxOrder >= 3 ? sortedTupleCount(w, 2) + w : w)));
  const chunk = Math.min(options.chunk ?? Math.max(256, Math.min(8192, Math.floor(4e6 / columns))), perBatch);

  const spec0: Omit<ShardSpec, 'shifts' | 'firstBatch' | 'endBatch'> = {
    network: networkSpec(network), input, seed: options.seed, maxOrder, backend: options.backend, perBatch, chunk,
  };
  const shifts = await pilotShifts(network, { ...spec0, shifts: [], firstBatch: 0, endBatch: 0 });
  const [first, end] = options.batchRange ?? [0, batches];
  if (!(Number.isInteger(first) && Number.isInteger(end) && first >= 0 && first < end && end <= batches))
    throw new RangeError(`batch range [${first}, ${end}) is not within the run's ${batches} batches`);
  const share = end - first;
  const workers = Math.max(1, Math.min(options.workers ?? 1, share));
  const stages = [...widths.flatMap((w) => [w, w])].map((w) => new PowerSums(w, maxOrder));
  let done = 0;
  const progress = () => options.onProgress?.(++done / share);
  const record = (result: BatchSums[][]) => result.forEach((perStage) => perStage.forEach((b, k) => stages[k].add(b)));
  if (workers === 1) record(await runBatches(network, { ...spec0, shifts, firstBatch: first, endBatch: end }, progress));
  else {
    const bounds = shareBounds(first, end, workers);
    // The weights go to the workers in shared memory (posting them copies them once per worker).
    const tasks = bounds.slice(0, -1).map((from, k) => ({ kind: 'simulate', spec: { ...spec0, network: sharedSpec(network), shifts, firstBatch: from, endBatch: bounds[k + 1] } }));
    const shards = await runAllInWorkers<BatchSums[][]>(tasks, progress);
    for (const s of shards) record(s);
  }
  const samples = perBatch * share;
  return {
    stages,
    samples,
    seconds: (performance.now() - start) / 1000,
    estimates: () => network.layers.map((_, l) => ({ pre: stages[2 * l].estimates(), post: stages[2 * l + 1].estimates() })),
  };
}

/**
 * Split batches [first, end) into `parts` contiguous shares as even as possible: parts + 1 bounds.
 * Shard k of n of a run of B batches is [bounds[k], bounds[k + 1]) of shareBounds(0, B, n).
 */
export function shareBounds(first: number, end: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, k) => first + Math.round((k * (end - first)) / parts));
}

/** A well-mixed 32-bit seed for (seed, batch, chunk). */
function streamSeed(seed: number, batch: number, chunk: number): number {
  // Each value is mixed in on its own, so (seed, batch) pairs such as (2, b) and (3, b ^ 1) differ.
  let h = 0x3c6ef372;
  for (const v of [seed, batch, chunk]) {
    h = Math.imul(h ^ (v >>> 0), 0x9e3779b1) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

/**
 * x = mean + B s with B (n × m, row-major) and s_j i.i.d. from `next`: the source draws come from
 * the seeded host stream, the map runs on the device (s Bᵀ as a plain matMul).
 */
function linearSampler(mean: Float64Array, b: Float64Array, m: number, next: (rng: Random) => number): { draw(rng: Random, rows: number): tf.Tensor2D; dispose(): void } {
  const n = mean.length;
  const bT = tf.tensor2d(Float32Array.from({ length: m * n }, (_, k) => b[(k % n) * m + Math.floor(k / n)]), [m, n]);
  const shift = tf.tensor1d(Float32Array.from(mean));
  return {
    draw(rng, rows) {
      const s = new Float32Array(rows * m);
      for (let k = 0; k < s.length; k++) s[k] = next(rng);
      return tf.add(tf.matMul(tf.tensor2d(s, [rows, m]), bT), shift);
    },
    dispose: () => tf.dispose([bT, shift]),
  };
}

/** Device-side sampler: rows × width inputs from a seeded host stream, mapped on the device. */
function inputSampler(input: InputDistribution): { draw(rng: Random, rows: number): tf.Tensor2D; dispose(): void } {
  switch (input.kind) {
    case 'gaussian':
      return linearSampler(input.mean, gaussianFactor(input.cov, input.mean.length), input.mean.length, (rng) => rng.normal());
    case 'exponential-mixture':
      return linearSampler(input.mean, input.mixing, input.sources, (rng) => rng.centredExponential());
    case 'data': {
      const w = input.width;
      return {
        draw(rng, rows) {
          const x = new Float32Array(rows * w);
          for (let s = 0; s < rows; s++) {
            const row = Math.floor(rng.uniform() * input.count);
            for (let i = 0; i < w; i++) x[s * w + i] = input.rows[row * w + i];
          }
          return tf.tensor2d(x, [rows, w]);
        },
        dispose: () => {},
      };
    }
  }
}

/** The network forward on a chunk: pre- and post-activation of every layer (2 stages per layer). */
function forward(network: Network, weights: ReturnType<typeof uploadWeights>, activations: (((x: tf.Tensor) => tf.Tensor) | undefined)[], x: tf.Tensor2D): tf.Tensor2D[] {
  const stages: tf.Tensor2D[] = [];
  let y: tf.Tensor2D = x;
  network.layers.forEach((_, l) => {
    const pre = tf.add(tf.matMul(y, weights[l].weightT), weights[l].bias) as tf.Tensor2D;
    const act = activations[l];
    const post = act ? (act(pre) as tf.Tensor2D) : pre;
    stages.push(pre, post);
    y = post;
  });
  return stages;
}

/** Means of every stage on a pilot chunk with its own stream: the shifts every shard uses. */
async function pilotShifts(network: Network, spec: ShardSpec): Promise<Float64Array[]> {
  const activations = network.layers.map((l) => (hasActivation(l) ? compileExpression(l.expression.node) : undefined));
  const held: tf.Tensor[] = [];
  const sampler = inputSampler(spec.input);
  try {
    const weights = uploadWeights(network);
    for (const w of weights) held.push(w.weightT, w.bias);
    const means = tf.tidy(() => forward(network, weights, activations, sampler.draw(new Random(streamSeed(spec.seed, 0xffffffff, 0)), Math.min(spec.chunk, 4096))).map((s) => tf.mean(s, 0)));
    held.push(...means);
    const data = await Promise.all(means.map((m) => m.data()));
    return data.map((d, k) => {
      if (!d.every(Number.isFinite)) throw new InputError(`the network's ${stageName(k)} overflows float32 on sampled inputs; scale the weights or the input down`);
      return Float64Array.from(d);
    });
  } finally {
    sampler.dispose();
    tf.dispose(held);
  }
}

function stageName(k: number): string {
  return `layer ${Math.floor(k / 2) + 1} ${k % 2 === 0 ? 'pre-activation' : 'post-activation'}`;
}

/** Where the entries of each sorted tuple sit in the dense device results of order r. */
const layoutCache = new Map<string, Int32Array>();
function deviceLayout(w: number, r: number): Int32Array {
  const key = `${w}/${r}`;
  let out = layoutCache.get(key);
  if (out) return out;
  out = new Int32Array(sortedTupleCount(w, r));
  const pairs = w * (w + 1) / 2;
  const pairPos = r >= 3 ? sortedPositions(w, 2) : undefined;
  const pair = (i: number, j: number) => pairPos![i * w + j];
  let e = 0;
  forEachSortedTuple(w, r, (t) => {
    if (r === 1) out![e++] = t[0];
    else if (r === 2) out![e++] = t[0] * w + t[1];
    else if (r === 3) out![e++] = t[0] * pairs + pair(t[1], t[2]);
    else out![e++] = pair(t[0], t[1]) * pairs + pair(t[2], t[3]);
  });
  layoutCache.set(key, out);
  return out;
}

/**
 * Power sums of a shifted chunk Y (rows × w) on the device: S1 = Σ y, S2 = YᵀY, and with the pair
 * products P_{s,(j≤k)} = y_sj y_sk: S3 = YᵀP, S4 = PᵀP. Every product is a plain matMul with
 * explicit transposes (transposed operands are slow on wasm); the pairs are selected by one-hot
 * matrices E_j, E_k (Pᵀ = (E_j Yᵀ) ⊙ (E_k Yᵀ), exact), which on wasm is several times faster
 * than a gather.
 */
function devicePowerSums(y: tf.Tensor2D, maxOrder: number, pairSelectors: [tf.Tensor2D, tf.Tensor2D] | undefined): tf.Tensor[] {
  const out: tf.Tensor[] = [tf.sum(y, 0)];
  if (maxOrder >= 2) {
    const yT = tf.transpose(y) as tf.Tensor2D;
    out.push(tf.matMul(yT, y));
    if (maxOrder >= 3) {
      const pT = tf.mul(tf.matMul(pairSelectors![0], yT), tf.matMul(pairSelectors![1], yT)) as tf.Tensor2D;
      const p = tf.transpose(pT) as tf.Tensor2D;
      out.push(tf.matMul(yT, p));
      if (maxOrder >= 4) out.push(tf.matMul(pT, p));
    }
  }
  return out;
}

/** Run batches [firstBatch, endBatch) of a shard in this thread; returns, per batch, one BatchSums per stage. */
export async function runBatches(network: Network, spec: ShardSpec, onBatch?: () => void): Promise<BatchSums[][]> {
  await useBackend(spec.backend);
  const activations = network.layers.map((l) => (hasActivation(l) ? compileExpression(l.expression.node) : undefined));
  const widths = network.layers.flatMap((l) => [l.rows, l.rows]);
  const linearPost = network.layers.flatMap((l) => [false, !hasActivation(l)]);
  const sampler = inputSampler(spec.input);
  const weights = uploadWeights(network);
  const shiftTensors = spec.shifts.map((s) => tf.tensor1d(Float32Array.from(s)));
  const pairSelectors = new Map<number, [tf.Tensor2D, tf.Tensor2D]>();
  if (spec.maxOrder >= 3)
    for (const w of new Set(widths)) {
      const pairs = (w * (w + 1)) / 2;
      const ej = new Float32Array(pairs * w);
      const ek = new Float32Array(pairs * w);
      let p = 0;
      for (let j = 0; j < w; j++)
        for (let k = j; k < w; k++, p++) {
          ej[p * w + j] = 1;
          ek[p * w + k] = 1;
        }
      pairSelectors.set(w, [tf.tensor2d(ej, [pairs, w]), tf.tensor2d(ek, [pairs, w])]);
    }
  const results: BatchSums[][] = [];
  try {
    for (let b = spec.firstBatch; b < spec.endBatch; b++) {
      const sums = widths.map((w) => Array.from({ length: spec.maxOrder + 1 }, (_, r) => new Float64Array(r === 0 ? 0 : sortedTupleCount(w, r))));
      for (let done = 0, c = 0; done < spec.perBatch; c++) {
        const rows = Math.min(spec.chunk, spec.perBatch - done);
        done += rows;
        const rng = new Random(streamSeed(spec.seed, b, c));
        // A layer without activation has post = pre: its power sums are computed once.
        const device = tf.tidy(() => {
          const stages = forward(network, weights, activations, sampler.draw(rng, rows));
          return stages.flatMap((s, k) => (linearPost[k] ? [] : devicePowerSums(tf.sub(s, shiftTensors[k]) as tf.Tensor2D, spec.maxOrder, pairSelectors.get(widths[k]))));
        });
        const host = await Promise.all(device.map((t) => t.data()));
        tf.dispose(device);
        let at = 0;
        widths.forEach((w, k) => {
          if (linearPost[k]) at -= spec.maxOrder;
          for (let r = 1; r <= spec.maxOrder; r++) {
            const data = host[at++];
            const layout = deviceLayout(w, r);
            const acc = sums[k][r];
            for (let e = 0; e < layout.length; e++) acc[e] += data[layout[e]];
          }
        });
      }
      results.push(
        widths.map((_, k) => {
          for (let r = 1; r <= spec.maxOrder; r++)
            if (!sums[k][r].every(Number.isFinite)) throw new InputError(`the network's ${stageName(k)} overflows float32 on sampled inputs; scale the weights or the input down`);
          return { index: b, count: spec.perBatch, shift: spec.shifts[k], sums: sums[k] };
        }),
      );
      onBatch?.();
    }
    return results;
  } finally {
    sampler.dispose();
    for (const w of weights) tf.dispose([w.weightT, w.bias]);
    tf.dispose(shiftTensors);
    for (const p of pairSelectors.values()) tf.dispose(p);
  }
}

/**
 * Default number of worker threads: the cores (at most 8) for runs long enough to repay starting
 * them (about 5·10^6 sample·layers, several seconds on one core), else 1.
 */
export function defaultWorkers(samples: number, layers: number, batches: number): number {
  if (samples * layers < 5e6) return 1;
  return Math.max(1, Math.min(availableParallelism(), 8, batches));
}
