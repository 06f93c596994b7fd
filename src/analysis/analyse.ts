/**
 * Class-conditional analysis of a trained network (docs/theory.md §Paper experiments): per class and
 * per stage, the network's accuracy, the accuracy the Gaussian closure predicts when started from
 * the class's measured mean and covariance at that stage, ablations (covariance dropped; third and
 * fourth cumulants of the first pre-activation), and classifiers that show whether the class
 * information sits in the means or in the covariances.
 */
import { Cumulants, makeLayer, propagateCompiled, tf, useBackend, type Network, type TfBackendName } from '../../numeric/index.ts';
import { accuracy, gaussianArgmaxProbability, pooledAccuracy, stageClassifiers, type Accuracy, type StageClassifiers } from './classifier.ts';
import type { Dataset } from './data.ts';
import { slicedMeanCovariance } from './sliced.ts';
import { argmaxRows, classStatistics, datasetStages, networkStages, type ClassMoments, type ClassStatistics, type Stage } from './statistics.ts';

export interface AnalyseOptions {
  readonly backend: TfBackendName;
  /** Draws from each class's output Gaussian (default 20000). */
  readonly samples?: number;
  readonly seed?: number;
  /** Ridge of the covariance classifiers, as a fraction of the mean variance (default 0.05). */
  readonly shrinkage?: number;
  /** Measure the first pre-activation's third and fourth cumulants (K = 3, 4 ablation; default true). */
  readonly higherOrders?: boolean;
  /** Widest stage at which the covariance classifiers run (default 1024: N³ host work per class). */
  readonly maxCovarianceWidth?: number;
  /** Called with what is being done and the fraction done. */
  readonly onProgress?: (task: string, fraction: number) => void;
  /** Called once with the estimated cost before the work starts. */
  readonly onEstimate?: (estimate: CostEstimate) => void;
}

export interface CostEstimate {
  readonly flops: number;
  readonly seconds: number;
  readonly megabytes: number;
}

/** Per-class accuracies and their pooled value (weighted by the test split's class counts). */
export interface ClassAccuracies {
  readonly perClass: Accuracy[];
  readonly overall: Accuracy;
}

export interface StartingPoint {
  readonly stage: string;
  readonly width: number;
  /** Gaussian closure from the class's mean and covariance at this stage. */
  readonly theory: ClassAccuracies;
  /** The same with the covariance dropped (each class reduced to its mean). */
  readonly meanOnly: ClassAccuracies;
  /** theory − network (test split), with its standard error. */
  readonly gap: { readonly value: number; readonly standardError: number };
  /** Classes whose output covariance came out not positive semidefinite. */
  readonly indefinite: number[];
}

export interface HigherOrderAblation {
  readonly stage: string;
  /** K = 2 (Gaussian closure), 3 (with T) and 4 (with T and Q) at the first layer, then the closure. */
  readonly byInputOrder: { readonly inputOrder: number; readonly theory: ClassAccuracies; readonly gap: { value: number; standardError: number }; readonly indefinite: number[] }[];
  /**
   * Largest |post-activation covariance from the K = 4 rules − measured covariance| relative to the
   * largest measured entry: 0 up to float32 rounding when φ has degree ≤ 2 (the rule is then exact).
   */
  readonly k4Deviation: number;
}

export interface Analysis {
  readonly widths: number[];
  readonly activations: string[];
  readonly classes: number;
  readonly train: { readonly name: string; readonly count: number; readonly accuracy: Accuracy };
  readonly test: { readonly name: string; readonly count: number; readonly classCounts: number[] };
  readonly network: ClassAccuracies;
  readonly startingPoints: StartingPoint[];
  readonly higherOrders: HigherOrderAblation | { readonly skipped: string };
  readonly classifiers: ({ readonly stage: string; readonly width: number } & StageClassifiers)[];
  readonly samples: number;
  readonly seed: number;
  readonly shrinkage: number;
  readonly maxCovarianceWidth: number;
  readonly estimate: CostEstimate;
  readonly seconds: number;
}

/** Dominant costs: class covariances, higher moments, classifiers on the test split, propagation. */
export function estimateCost(network: Network, train: Pick<Dataset, 'count'>, test: Pick<Dataset, 'count' | 'classes'>, higherOrders: boolean, flopsPerSecond: number, maxCovarianceWidth = 1024): CostEstimate {
  const stages = networkStages(network);
  const classes = test.classes;
  const squares = stages.reduce((a, s) => a + s.width ** 2, 0);
  const first = network.layers[0].rows;
  let flops = 2 * train.count * squares + 2 * test.count * classes * stages.reduce((a, s) => a + (s.width <= maxCovarianceWidth ? s.width ** 2 : 0), 0);
  if (higherOrders) flops += 2 * 4 * train.count * first ** 2;
  // Propagation: the first affine map of the covariance from the input, per class and starting point.
  flops += 2 * classes * stages.length * (network.inputSize * first * (network.inputSize + first));
  const bytes = 4 * test.count * stages.reduce((a, s) => a + s.width, 0) + 8 * 2 * classes * squares + (higherOrders ? 8 * 6 * classes * first ** 2 : 0);
  return { flops, seconds: flops / flopsPerSecond, megabytes: bytes / 2 ** 20 };
}

/** Rough matMul throughput of the active backend (one 384³ product). */
async function measureFlops(): Promise<number> {
  const n = 384;
  const a = tf.randomNormal([n, n]);
  const warm = tf.matMul(a, a);
  await warm.data();
  const start = performance.now();
  const b = tf.matMul(a, a);
  await b.data();
  const seconds = Math.max((performance.now() - start) / 1000, 1e-4);
  tf.dispose([a, warm, b]);
  return (2 * n ** 3) / seconds;
}

/**
 * The network that continues from a stage: from the input, the whole network; from layer l's
 * pre-activation, an identity affine map with layer l's activation followed by layers l+1…L; from
 * its post-activation, layers l+1…L. Undefined at the output.
 */
export function continuation(network: Network, stage: Stage): Network | undefined {
  if (stage.point === 'input') return network;
  const rest = network.layers.slice(stage.layer);
  const layer = network.layers[stage.layer - 1];
  if (stage.point === 'pre' && (layer.activation || layer.general)) {
    const n = layer.rows;
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    return { inputSize: n, layers: [makeLayer(eye, n, n, new Float64Array(n), layer.expression), ...rest] };
  }
  return rest.length ? { inputSize: layer.rows, layers: rest } : undefined;
}

/** Output mean and covariance of every class, propagated from the given stage statistics. */
async function outputGaussians(network: Network | undefined, inputs: { mean: Float64Array; cov?: Float64Array }[], backend: TfBackendName): Promise<{ mean: Float64Array; cov: Float64Array }[]> {
  const width = inputs[0].mean.length;
  // A missing covariance is zero (the mean-only ablation): it is never uploaded.
  if (!network) return inputs.map((m) => ({ mean: m.mean, cov: m.cov ?? new Float64Array(width * width) }));
  const result = await propagateCompiled(
    network,
    inputs.map((m) => new Cumulants(width, m.cov ? [undefined, m.mean, m.cov] : [undefined, m.mean])),
    { backend, inputOrder: 2, outputOrder: 2, keep: 'output', maxEntries: 2e8 },
  );
  const out = result[result.length - 1];
  return out.post.map((c) => ({ mean: Float64Array.from(c.mean), cov: Float64Array.from(c.order(2) ?? new Float64Array(c.size ** 2)) }));
}

function theoryAccuracies(outputs: { mean: Float64Array; cov: Float64Array }[], classCounts: number[], samples: number, seed: number): { accuracies: ClassAccuracies; indefinite: number[] } {
  const indefinite: number[] = [];
  const perClass = outputs.map((o, c) => {
    const p = gaussianArgmaxProbability(o.mean, o.cov, c, samples, seed + 7919 * c);
    if (p.negativePivot !== undefined) indefinite.push(c);
    return { value: p.value, standardError: p.standardError, count: p.count };
  });
  return { accuracies: { perClass, overall: pooledAccuracy(perClass, classCounts) }, indefinite };
}

function gapOf(theory: Accuracy, network: Accuracy) {
  return { value: theory.value - network.value, standardError: Math.hypot(theory.standardError, network.standardError) };
}

/**
 * Analyse a network on a labelled data set: statistics from the training split, accuracies and
 * classifiers on the test split. Runs on the given tfjs backend.
 */
export async function analyseNetwork(network: Network, train: Dataset, test: Dataset, options: AnalyseOptions): Promise<Analysis> {
  const started = performance.now();
  const samples = options.samples ?? 20_000;
  const seed = options.seed ?? 1;
  const shrinkage = options.shrinkage ?? 0.05;
  const first = network.layers[0];
  const higherOrders = (options.higherOrders ?? true) && first.activation !== undefined;
  const progress = options.onProgress ?? (() => {});
  await useBackend(options.backend);
  const estimate = estimateCost(network, train, test, higherOrders, await measureFlops(), options.maxCovarianceWidth ?? 1024);
  options.onEstimate?.(estimate);

  const stages = networkStages(network);
  const stats: ClassStatistics = await classStatistics(network, train, {
    ...(higherOrders ? { higher: { stage: 1, maxOrder: 4 } } : {}),
    onProgress: (f) => progress('class statistics (train)', f),
  });
  const testStages = await datasetStages(network, test, { onProgress: (f) => progress('forward pass (test)', f) });
  const classes = test.classes;
  const classCounts = new Array<number>(classes).fill(0);
  for (const y of test.labels) classCounts[y]++;

  const outputWidth = stages[stages.length - 1].width;
  const predictions = argmaxRows(testStages[testStages.length - 1], test.count, outputWidth);
  const perClassCorrect = new Array<number>(classes).fill(0);
  predictions.forEach((p, r) => {
    if (p === test.labels[r]) perClassCorrect[p]++;
  });
  const networkPerClass = classCounts.map((n, c) => accuracy(perClassCorrect[c], n));
  const networkAccuracy: ClassAccuracies = { perClass: networkPerClass, overall: pooledAccuracy(networkPerClass, classCounts) };
  const trainAccuracy = await splitAccuracy(network, train);

  const startingPoints: StartingPoint[] = [];
  for (const [s, stage] of stages.entries()) {
    const moments = stats.moments[s];
    const rest = continuation(network, stage);
    const full = theoryAccuracies(await outputGaussians(rest, moments.map(meanAndCov), options.backend), classCounts, samples, seed);
    const dropped = theoryAccuracies(await outputGaussians(rest, moments.map((m) => ({ mean: m.mean })), options.backend), classCounts, samples, seed);
    startingPoints.push({
      stage: stage.label,
      width: stage.width,
      theory: full.accuracies,
      meanOnly: dropped.accuracies,
      gap: gapOf(full.accuracies.overall, networkAccuracy.overall),
      indefinite: full.indefinite,
    });
    progress('theory from every stage', (s + 1) / stages.length);
  }

  let higher: Analysis['higherOrders'];
  if (!higherOrders) higher = { skipped: first.activation ? 'not requested' : `the first layer's activation "${first.expression.source}" is not a polynomial; the K = 3, 4 rules exist for polynomial activations` };
  else higher = await higherOrderAblation(network, stats, classCounts, networkAccuracy.overall, samples, seed, options.backend);

  const classifiers: Analysis['classifiers'] = [];
  for (const [s, stage] of stages.entries()) {
    classifiers.push({ stage: stage.label, width: stage.width, ...(await stageClassifiers(stats.moments[s], testStages[s], test.labels, shrinkage, options.maxCovarianceWidth ?? 1024)) });
    progress('classifiers (test)', (s + 1) / stages.length);
  }

  return {
    widths: [network.inputSize, ...network.layers.map((l) => l.rows)],
    activations: network.layers.map((l) => l.expression.source),
    classes,
    train: { name: train.name, count: train.count, accuracy: trainAccuracy },
    test: { name: test.name, count: test.count, classCounts },
    network: networkAccuracy,
    startingPoints,
    higherOrders: higher,
    classifiers,
    samples,
    seed,
    shrinkage,
    maxCovarianceWidth: options.maxCovarianceWidth ?? 1024,
    estimate,
    seconds: (performance.now() - started) / 1000,
  };
}

const meanAndCov = (m: ClassMoments) => ({ mean: m.mean, cov: m.cov });

async function splitAccuracy(network: Network, data: Dataset): Promise<Accuracy> {
  const stages = await datasetStages(network, data, { outputOnly: true });
  const out = stages[stages.length - 1];
  const width = out.length / data.count;
  const predictions = argmaxRows(out, data.count, width);
  let correct = 0;
  predictions.forEach((p, r) => (correct += p === data.labels[r] ? 1 : 0));
  return accuracy(correct, data.count);
}

async function higherOrderAblation(
  network: Network,
  stats: ClassStatistics,
  classCounts: number[],
  networkAccuracy: Accuracy,
  samples: number,
  seed: number,
  backend: TfBackendName,
): Promise<HigherOrderAblation> {
  const activation = network.layers[0].activation!;
  const pre = stats.moments[1];
  const post = stats.stages[2]?.layer === 1 ? stats.moments[2] : undefined;
  const rest = network.layers.length > 1 ? { inputSize: network.layers[0].rows, layers: network.layers.slice(1) } : undefined;
  const byInputOrder: HigherOrderAblation['byInputOrder'] = [];
  let k4Deviation = 0;
  for (const K of [2, 3, 4]) {
    const firstLayer = pre.map((m, c) => slicedMeanCovariance(activation, m.mean, stats.higher![c], K));
    if (K === 4 && post) {
      let scale = 0;
      let worst = 0;
      post.forEach((m, c) => {
        m.cov.forEach((v, e) => {
          scale = Math.max(scale, Math.abs(v));
          worst = Math.max(worst, Math.abs(v - firstLayer[c].cov[e]));
        });
      });
      k4Deviation = scale > 0 ? worst / scale : worst;
    }
    const { accuracies, indefinite } = theoryAccuracies(await outputGaussians(rest, firstLayer, backend), classCounts, samples, seed);
    byInputOrder.push({ inputOrder: K, theory: accuracies, gap: gapOf(accuracies.overall, networkAccuracy), indefinite });
  }
  return { stage: stats.stages[1].label, byInputOrder, k4Deviation };
}
