/**
 * The image experiments (docs/theory.md §Paper experiments): MLPs 784-N-…-10 (MNIST) or
 * 3072-N-…-10 (CIFAR-10) with φ = z + a z² are trained and analysed; the report states the gap
 * between the theory and the network when the Gaussian closure starts at the input and inside.
 */
import { networkFromJson } from '../../io.ts';
import { analyseNetwork, type Analysis } from '../analyse.ts';
import { loadCifar10, loadMnist, type Dataset } from '../data.ts';
import { analysisFigures, analysisMarkdown, figureMarkdown, withError, writeReport, type Figure } from '../report.ts';
import { trainAsStated } from './training.ts';

export type ImageSet = 'mnist' | 'cifar10';

export interface ImageOptions {
  readonly dataset: ImageSet;
  readonly data: string;
  readonly quick: boolean;
  readonly seed: number;
  readonly out: string;
  readonly onProgress?: (task: string, fraction: number) => void;
  /** Called with one-line estimates of the time the next step will take. */
  readonly onNote?: (line: string) => void;
}

/** The networks trained and the sizes used (stated in the report). */
export function imageSettings(dataset: ImageSet, quick: boolean) {
  const input = dataset === 'mnist' ? 784 : 3072;
  return {
    activation: 'z + a*z^2',
    a: 0.1,
    hidden: quick ? [[64]] : dataset === 'mnist' ? [[100], [100, 100]] : [[256], [512, 512]],
    input,
    epochs: quick ? 1 : 2,
    batch: 128,
    lr: 1e-3,
    /** Examples used (undefined: the whole split). */
    train: quick ? 3000 : undefined,
    test: quick ? 1000 : undefined,
    samples: quick ? 5000 : 50_000,
    /** Widest stage given covariance classifiers (N³ host work per class): quick runs skip the input. */
    maxCovarianceWidth: quick ? 128 : 1024,
  };
}

/** The first `count` examples of a split (the files' order), or all of it. */
export function firstExamples(data: Dataset, count: number | undefined): Dataset {
  if (count === undefined || count >= data.count) return data;
  return { ...data, features: data.features.slice(0, count * data.dim), labels: data.labels.slice(0, count), count, name: `${data.name} (first ${count})` };
}

export interface ImageRun {
  readonly layers: number[];
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
  readonly trainingSeconds: number;
  readonly analysis: Analysis;
}

export async function reproduceImages(options: ImageOptions): Promise<{ runs: ImageRun[]; files: string[] }> {
  const started = performance.now();
  const s = imageSettings(options.dataset, options.quick);
  const load = options.dataset === 'mnist' ? loadMnist : loadCifar10;
  const train = firstExamples(load(options.data, 'train'), s.train);
  const test = firstExamples(load(options.data, 'test'), s.test);
  const progress = options.onProgress ?? (() => {});
  const runs: ImageRun[] = [];
  for (const hidden of s.hidden) {
    const layers = [train.dim, ...hidden, 10];
    const t0 = performance.now();
    const trained = await trainAsStated(train, test, layers, s, options.seed, `training ${layers.join('-')}`, progress, options.onNote);
    const trainingSeconds = (performance.now() - t0) / 1000;
    const network = networkFromJson(trained.network, `the trained ${layers.join('-')} network`);
    const analysis = await analyseNetwork(network, train, test, { backend: 'wasm', samples: s.samples, seed: options.seed, maxCovarianceWidth: s.maxCovarianceWidth, onEstimate: (e) => options.onNote?.(`analysing ${layers.join('-')}: about ${e.seconds.toFixed(0)} s of matrix products, ${e.megabytes.toFixed(0)} MB`), onProgress: (t, f) => progress(`${layers.join('-')}: ${t}`, f) });
    runs.push({ layers, trainAccuracy: trained.trainAccuracy, testAccuracy: trained.testAccuracy, trainingSeconds, analysis });
  }
  const seconds = (performance.now() - started) / 1000;
  const figures = runs.flatMap((r) => analysisFigures(r.analysis, `${r.layers.join('-')}-`));
  const title = options.dataset === 'mnist' ? 'MNIST' : 'CIFAR-10';
  const body = [
    `MLPs ${runs.map((r) => r.layers.join('–')).join(', ')} with φ(z) = z + ${s.a} z² on the hidden layers and a linear output, trained with Adam (${s.epochs} epoch${s.epochs > 1 ? 's' : ''}, batch ${s.batch}, learning rate ${s.lr}, seed ${options.seed}) on ${train.count} training examples (${train.name}); accuracies on ${test.count} test examples (${test.name}).`,
  ];
  const summary = [
    '| network | test accuracy | theory from the input | gap at the input | theory from layer 1 (post) | gap there | training |',
    '|---|---|---|---|---|---|---|',
    ...runs.map((r) => {
      const input = r.analysis.startingPoints[0];
      const inner = r.analysis.startingPoints.find((p) => p.stage === 'post 1') ?? r.analysis.startingPoints[r.analysis.startingPoints.length - 1];
      return `| ${r.layers.join('–')} | ${withError(r.analysis.network.overall)} | ${withError(input.theory.overall)} | ${(100 * input.gap.value).toFixed(1)} ± ${(100 * input.gap.standardError).toFixed(1)} points | ${withError(inner.theory.overall)} | ${(100 * inner.gap.value).toFixed(1)} ± ${(100 * inner.gap.standardError).toFixed(1)} points | ${r.trainingSeconds.toFixed(0)} s |`;
    }),
  ];
  const sections = runs.flatMap((r) => {
    const named = (suffix: string) => figures.find((f: Figure) => f.name === `${r.layers.join('-')}-${suffix}`)!;
    return [`## Network ${r.layers.join('–')}`, ...analysisMarkdown(r.analysis), figureMarkdown(named('theory-accuracy')), figureMarkdown(named('class-information'))];
  });
  const files = await writeReport(options.out, {
    title: `${title}: Gaussian closure from the input vs from inside the network`,
    body: [body[0], summary.join('\n'), `Total run time: ${seconds.toFixed(0)} s.`, ...sections],
    figures,
    json: { dataset: options.dataset, settings: s, seed: options.seed, train: { name: train.name, count: train.count }, test: { name: test.name, count: test.count }, runs, seconds },
  });
  return { runs, files };
}
