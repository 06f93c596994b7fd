/**
 * The XOR experiment (docs/theory.md §Paper experiments): both classes have mean zero and differ only
 * in the sign of their inputs' correlation. A small network with φ = z + a z² solves the task
 * because the quadratic part moves the class information from the covariance into the mean; the
 * report shows this stage by stage, from the theory, from sampling and from the data.
 */
import { Cumulants, bonferroniCritical, gaussianSampler, propagateReference, sampleNetwork, type Network } from '../../../numeric/index.ts';
import { networkFromJson } from '../../io.ts';
import { analyseNetwork, type Analysis } from '../analyse.ts';
import { analysisFigures, analysisMarkdown, figureMarkdown, percent, withError, writeReport, type Figure } from '../report.ts';
import { classStatistics, networkStages, type ClassMoments } from '../statistics.ts';
import { xorBlobs } from './blobs.ts';
import { trainAsStated } from './training.ts';

export interface XorOptions {
  readonly quick: boolean;
  readonly seed: number;
  readonly out: string;
  readonly onProgress?: (task: string, fraction: number) => void;
}

/** The settings of the quick and full runs (stated in the report). */
export function xorSettings(quick: boolean) {
  return {
    train: quick ? 2000 : 8000,
    test: quick ? 2000 : 8000,
    sd: 0.4,
    hidden: 8,
    activation: 'z + a*z^2',
    a: 0.5,
    epochs: quick ? 40 : 80,
    batch: 32,
    lr: 0.02,
    samples: quick ? 20_000 : 100_000,
    monteCarlo: quick ? 100_000 : 1_000_000,
    batches: 20,
  };
}

/** Mean and covariance of every stage for one class: theory, Gaussian-input Monte Carlo, data. */
export interface StageMoments {
  readonly stage: string;
  readonly class: number;
  readonly theory: { mean: number[]; cov: number[] };
  readonly monteCarlo: { mean: number[]; meanSE: number[]; cov: number[]; covSE: number[] };
  readonly data: { mean: number[]; cov: number[] };
}

export interface XorResult {
  readonly settings: ReturnType<typeof xorSettings>;
  readonly seed: number;
  readonly trainedAccuracy: { train: number; test: number };
  readonly analysis: Analysis;
  readonly moments: StageMoments[];
  /** Largest |theory − Monte Carlo| / SE over every unique entry of every stage and class, and its Bonferroni bound. */
  readonly agreement: { readonly maxZ: number; readonly critical: number; readonly entries: number };
  /** Per stage: |μ_0 − μ_1| and ‖Σ_0 − Σ_1‖_F between the classes, from the theory and from the data. */
  readonly separation: { stage: string; source: 'theory' | 'data'; meanDistance: number; covarianceDistance: number }[];
  readonly network: unknown;
  readonly seconds: number;
}

export async function reproduceXor(options: XorOptions): Promise<{ result: XorResult; files: string[] }> {
  const started = performance.now();
  const s = xorSettings(options.quick);
  const progress = options.onProgress ?? (() => {});
  const train = xorBlobs(s.train, s.sd, options.seed, 'xor-train');
  const test = xorBlobs(s.test, s.sd, options.seed + 1, 'xor-test');
  const trained = await trainAsStated(train, test, [2, s.hidden, 2], s, options.seed, 'training', progress);
  const network = networkFromJson(trained.network, 'the trained XOR network');
  const analysis = await analyseNetwork(network, train, test, { backend: 'wasm', samples: s.samples, seed: options.seed, onProgress: progress });
  const measured = await classStatistics(network, train);
  const { moments, agreement } = stageMoments(network, measured.moments, s.monteCarlo, s.batches, options.seed);
  const separation = classSeparation(moments);
  const result: XorResult = {
    settings: s,
    seed: options.seed,
    trainedAccuracy: { train: trained.trainAccuracy, test: trained.testAccuracy },
    analysis,
    moments,
    agreement,
    separation,
    network: trained.network,
    seconds: (performance.now() - started) / 1000,
  };
  const figures = [...analysisFigures(analysis), separationFigure(separation)];
  const files = await writeReport(options.out, { title: 'XOR: class information moves from the covariance into the mean', body: xorMarkdown(result, figures), figures, json: result });
  return { result, files };
}

/**
 * Per class: the theory (Gaussian closure from the class's measured input mean and covariance),
 * Monte Carlo of the same Gaussian input through the network (float64, batch standard errors), and
 * the statistics measured on the data (each class is a mixture of two blobs, not a Gaussian).
 */
function stageMoments(network: Network, measured: ClassMoments[][], samples: number, batches: number, seed: number) {
  const stages = networkStages(network);
  const moments: StageMoments[] = [];
  let maxZ = 0;
  let entries = 0;
  measured[0].forEach((input, c) => {
    const theory = propagateReference(network, new Cumulants(2, [undefined, input.mean, input.cov]), { inputOrder: 2, outputOrder: 2 });
    const mc = sampleNetwork(network, gaussianSampler(input.mean, input.cov), { samples, batches, seed: seed + 101 * c, maxOrder: 2 });
    stages.forEach((stage, k) => {
      const layer = stage.layer - 1;
      const t = stage.point === 'input' ? { mean: input.mean, cov: input.cov } : (() => {
        const r = stage.point === 'pre' ? theory[layer].pre : theory[layer].post;
        return { mean: r.mean, cov: r.order(2)! };
      })();
      const est = stage.point === 'input' ? undefined : stage.point === 'pre' ? mc[layer].pre : mc[layer].post;
      const n = stage.width;
      if (est) {
        for (let i = 0; i < n; i++) {
          maxZ = Math.max(maxZ, Math.abs(t.mean[i] - est[1].value[i]) / est[1].standardError[i]);
          entries++;
          for (let j = i; j < n; j++) {
            const e = i * n + j;
            maxZ = Math.max(maxZ, Math.abs(t.cov[e] - est[2].value[e]) / est[2].standardError[e]);
            entries++;
          }
        }
      }
      moments.push({
        stage: stage.label,
        class: c,
        theory: { mean: Array.from(t.mean), cov: Array.from(t.cov) },
        monteCarlo: est
          ? { mean: Array.from(est[1].value), meanSE: Array.from(est[1].standardError), cov: Array.from(est[2].value), covSE: Array.from(est[2].standardError) }
          : { mean: Array.from(input.mean), meanSE: new Array<number>(n).fill(0), cov: Array.from(input.cov), covSE: new Array<number>(n * n).fill(0) },
        data: { mean: Array.from(measured[k][c].mean), cov: Array.from(measured[k][c].cov) },
      });
    });
  });
  return { moments, agreement: { maxZ, critical: bonferroniCritical(1e-3, entries, batches - 1), entries } };
}

function classSeparation(moments: StageMoments[]): XorResult['separation'] {
  const out: XorResult['separation'] = [];
  const stages = [...new Set(moments.map((m) => m.stage))];
  for (const stage of stages) {
    const [m0, m1] = [0, 1].map((c) => moments.find((m) => m.stage === stage && m.class === c)!);
    for (const source of ['theory', 'data'] as const) {
      const d = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0));
      out.push({ stage, source, meanDistance: d(m0[source].mean, m1[source].mean), covarianceDistance: d(m0[source].cov, m1[source].cov) });
    }
  }
  return out;
}

function separationFigure(separation: XorResult['separation']): Figure {
  const values = separation.flatMap((s) => [
    { stage: s.stage, quantity: `|μ₀ − μ₁| (${s.source})`, value: s.meanDistance },
    { stage: s.stage, quantity: `‖Σ₀ − Σ₁‖ (${s.source})`, value: s.covarianceDistance },
  ]);
  return {
    name: 'class-separation',
    title: 'Difference between the two classes in mean and in covariance at each stage (theory and data)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      width: 420,
      height: 260,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'stage', type: 'ordinal', sort: [...new Set(separation.map((s) => s.stage))], axis: { labelAngle: 0 } },
        y: { field: 'value', type: 'quantitative', title: 'distance between the classes' },
        color: { field: 'quantity', type: 'nominal', title: null, legend: { labelLimit: 400, orient: 'bottom', columns: 2 } },
      },
    },
  };
}

function xorMarkdown(r: XorResult, figures: Figure[]): string[] {
  const a = r.analysis;
  const s = r.settings;
  const first = a.classifiers[0];
  const last = a.classifiers[a.classifiers.length - 1];
  const input = a.startingPoints[0];
  const sepInput = r.separation.find((x) => x.stage === 'input' && x.source === 'theory')!;
  const sepOutput = r.separation.filter((x) => x.source === 'theory').at(-1)!;
  const byName = (n: string) => figures.find((f) => f.name === n)!;
  const k4 = 'byInputOrder' in a.higherOrders ? a.higherOrders.byInputOrder.find((k) => k.inputOrder === 4) : undefined;
  const post1 = a.startingPoints.find((p) => p.stage === 'post 1');
  return [
    `Inputs are drawn from four Gaussian blobs at (±1, ±1) with standard deviation ${s.sd}; the label is 1 where the two signs differ. ` +
      `Each class is a mixture of two blobs: its mean is zero and its covariance has off-diagonal entries of about ±1 (the two classes differ only in that sign). ` +
      `The theory starts from each class's mean and covariance measured on the training split and treats the class as a Gaussian (Gaussian closure, docs/theory.md §Gaussian closure).`,
    `A 2–${s.hidden}–2 network with φ(z) = z + ${s.a} z² (linear output) was trained with Adam (${s.epochs} epochs, batch ${s.batch}, learning rate ${s.lr}, seed ${r.seed}) on ${s.train} examples; ` +
      `its accuracy is ${percent(r.trainedAccuracy.train)} on the training split and ${withError(a.network.overall)} on ${s.test} test examples.`,
    `**The class information moves from the covariance into the mean.** A nearest-class-mean classifier, which sees only the class means, reaches ${withError(first.meanOnly)} at the input (chance is 50 %), ` +
      `while a classifier that sees only the class covariances reaches ${withError(first.covarianceOnly)}. At the output the nearest-class-mean classifier reaches ${withError(last.meanOnly)}. ` +
      `In the theory, the distance between the class means grows from ${sepInput.meanDistance.toPrecision(3)} at the input to ${sepOutput.meanDistance.toPrecision(3)} at the output.`,
    figureMarkdown(byName('class-separation')),
    figureMarkdown(byName('class-information')),
    `**Theory vs network.** Propagating each class's input Gaussian to the output and computing P(argmax = c | c) under the output Gaussian (${a.samples} draws per class) predicts ${withError(input.theory.overall)}, ` +
      `against the network's ${withError(a.network.overall)}. With the covariance dropped the prediction falls to ${percent(input.meanOnly.overall)}: without the covariance the theory sees no difference between the classes. ` +
      (k4 && post1
        ? `The Gaussian closure from the input misses what the blob mixture has beyond its covariance: started from the measured post-activation of layer 1 it predicts ${withError(post1.theory.overall)}, and the first layer's rules with the pre-activation's measured cumulants up to order 4 give ${withError(k4.theory.overall)}.`
        : ''),
    figureMarkdown(byName('theory-accuracy')),
    `**Theory vs sampling.** For each class, the Gaussian input with the measured mean and covariance was also pushed through the network ${r.settings.monteCarlo} times (${r.settings.batches} batches): ` +
      `over ${r.agreement.entries} unique mean and covariance entries of every stage and class, the largest |theory − Monte Carlo| / SE is ${r.agreement.maxZ.toFixed(2)} (Bonferroni bound at family-wise 0.1 %: ${r.agreement.critical.toFixed(2)}). ` +
      `The statistics measured on the data (report.json, "moments") differ from both where the blob mixture is not Gaussian: its fourth cumulant enters the first layer's covariance.`,
    '## Analysis',
    ...analysisMarkdown(a),
    `Run time: ${r.seconds.toFixed(1)} s.`,
  ];
}
