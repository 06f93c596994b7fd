/**
 * Report folders: report.json (every number), figures as SVG and PNG (vega-lite, src/analysis/plot.ts)
 * and report.md, which embeds the figures and states the numbers in sentences. Also the figures and
 * sentences of an analysis (src/analysis/analyse.ts), which every preset reuses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Accuracy } from './classifier.ts';
import type { Analysis } from './analyse.ts';
import { renderVegaLite } from './plot.ts';

export interface Figure {
  /** File name without extension. */
  readonly name: string;
  readonly title: string;
  readonly spec: object;
}

export interface Report {
  readonly title: string;
  /** Markdown paragraphs (figures are referenced with figureMarkdown). */
  readonly body: string[];
  readonly figures: Figure[];
  readonly json: unknown;
}

/** Markdown that embeds a figure of the report (SVG, with a link to the PNG). */
export function figureMarkdown(figure: Figure): string {
  return `![${figure.title}](${figure.name}.svg)\n\n*${figure.title}* ([PNG](${figure.name}.png))`;
}

/** Write the report folder; returns the absolute paths written. */
export async function writeReport(dir: string, report: Report): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    const path = resolve(join(dir, name));
    writeFileSync(path, data);
    written.push(path);
  };
  write('report.json', JSON.stringify(report.json, rounded, 1));
  for (const figure of report.figures) {
    const { svg, png } = await renderVegaLite(figure.spec);
    write(`${figure.name}.svg`, svg);
    write(`${figure.name}.png`, png);
  }
  write('report.md', [`# ${report.title}`, ...report.body].join('\n\n') + '\n');
  return written;
}

/** JSON numbers to 6 significant digits; typed arrays as plain arrays; non-finite as null. */
function rounded(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(6)) : null;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as Float64Array);
  return value;
}

export function percent(a: Accuracy | number, digits = 1): string {
  const v = typeof a === 'number' ? a : a.value;
  return `${(100 * v).toFixed(digits)} %`;
}

export function withError(a: Accuracy | { value: number; standardError: number }, digits = 1): string {
  if (!Number.isFinite(a.value)) return '— (not computed)';
  // Small errors keep a significant digit (sampled theory accuracies have SE ≈ 0.01–0.05 %).
  if (100 * a.standardError < 0.05 && a.standardError > 0) digits = Math.max(digits, 2);
  return `${(100 * a.value).toFixed(digits)} ± ${(100 * a.standardError).toFixed(digits)} %`;
}

const signedPoints = (g: { value: number; standardError: number }) => `${g.value >= 0 ? '+' : '−'}${(100 * Math.abs(g.value)).toFixed(1)} ± ${(100 * g.standardError).toFixed(1)} points`;

/** Figures of an analysis: accuracy by starting point, and where the class information sits by stage. */
export function analysisFigures(a: Analysis, prefix = ''): Figure[] {
  const order = a.startingPoints.map((s) => s.stage);
  const theory = a.startingPoints.flatMap((s) => [
    { stage: s.stage, series: 'Gaussian closure (mean + covariance)', accuracy: s.theory.overall.value, low: s.theory.overall.value - 2 * s.theory.overall.standardError, high: s.theory.overall.value + 2 * s.theory.overall.standardError },
    { stage: s.stage, series: 'mean only (covariance dropped)', accuracy: s.meanOnly.overall.value, low: s.meanOnly.overall.value, high: s.meanOnly.overall.value },
    { stage: s.stage, series: 'network (test split)', accuracy: a.network.overall.value, low: a.network.overall.value - 2 * a.network.overall.standardError, high: a.network.overall.value + 2 * a.network.overall.standardError },
  ]);
  if ('byInputOrder' in a.higherOrders) {
    const start = a.higherOrders.stage;
    for (const k of a.higherOrders.byInputOrder.filter((k) => k.inputOrder > 2))
      theory.push({ stage: start, series: `first layer with κ up to order ${k.inputOrder}`, accuracy: k.theory.overall.value, low: k.theory.overall.value - 2 * k.theory.overall.standardError, high: k.theory.overall.value + 2 * k.theory.overall.standardError });
  }
  const classifiers = a.classifiers.flatMap((c) => [
    { stage: c.stage, classifier: 'nearest class mean', accuracy: c.meanOnly.value },
    { stage: c.stage, classifier: 'covariance only (common mean)', accuracy: c.covarianceOnly.value },
    { stage: c.stage, classifier: 'Gaussian (means + covariances)', accuracy: c.gaussian.value },
  ]).filter((v) => Number.isFinite(v.accuracy));
  const x = { field: 'stage', type: 'ordinal', sort: order, title: 'where the theory starts / stage', axis: { labelAngle: 0 } };
  const y = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } };
  return [
    {
      name: `${prefix}theory-accuracy`,
      title: 'Accuracy predicted by the Gaussian closure started at each stage, vs the network (bars: ±2 SE)',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        width: 420,
        height: 260,
        data: { values: theory },
        layer: [
          { mark: { type: 'line', point: true }, encoding: { x, y, color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400, orient: 'bottom', columns: 1 } } } },
          { mark: 'rule', encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'series', type: 'nominal' } } },
        ],
      },
    },
    {
      name: `${prefix}class-information`,
      title: 'Where the class information sits: classifiers from the class statistics of each stage (test split)',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        width: 420,
        height: 260,
        data: { values: classifiers },
        mark: { type: 'line', point: true },
        encoding: { x: { ...x, title: 'stage' }, y, color: { field: 'classifier', type: 'nominal', title: null, legend: { labelLimit: 400, orient: 'bottom', columns: 1 } } },
      },
    },
  ];
}

/** Sentences and a table that state an analysis' numbers. */
export function analysisMarkdown(a: Analysis): string[] {
  const input = a.startingPoints[0];
  const inner = a.startingPoints.slice(1, -1);
  const out: string[] = [];
  out.push(
    `Network ${a.widths.join('–')} (activations ${a.activations.map((s) => `\`${s}\``).join(', ')}), statistics from ${a.train.count} training examples (${a.train.name}), accuracies on ${a.test.count} test examples (${a.test.name}). ` +
      `The network's test accuracy is ${withError(a.network.overall)} (training split: ${withError(a.train.accuracy)}).`,
  );
  out.push(
    `Started at the input from each class's mean and covariance, the Gaussian closure predicts an accuracy of ${withError(input.theory.overall)}: ${signedPoints(input.gap)} relative to the network. ` +
      (inner.length
        ? `Started inside the network it predicts ${inner.map((s) => `${withError(s.theory.overall)} from ${s.stage} (${signedPoints(s.gap)})`).join(', ')}.`
        : ''),
  );
  out.push(
    `With the covariance dropped (each class reduced to its mean), the prediction is ${percent(input.meanOnly.overall)} from the input` +
      (inner.length ? ` and ${inner.map((s) => `${percent(s.meanOnly.overall)} from ${s.stage}`).join(', ')}.` : '.'),
  );
  if ('byInputOrder' in a.higherOrders) {
    const h = a.higherOrders;
    out.push(
      `At the first layer, measuring the pre-activation's cumulants up to order K from the data and applying the exact polynomial rules gives ${h.byInputOrder
        .map((k) => `${withError(k.theory.overall)} with K = ${k.inputOrder} (${signedPoints(k.gap)})`)
        .join(', ')}. The K = 4 post-activation covariance differs from the measured one by at most ${h.k4Deviation.toExponential(1)} of its largest entry.`,
    );
  } else out.push(`The K = 3, 4 ablation was skipped: ${a.higherOrders.skipped}.`);
  const first = a.classifiers[0];
  const last = a.classifiers[a.classifiers.length - 1];
  out.push(
    `Where the class information sits (classifiers built from the training split's class statistics, scored on the test split): at the input, nearest class mean ${withError(first.meanOnly)}, covariance only ${withError(first.covarianceOnly)}, Gaussian ${withError(first.gaussian)}; ` +
      `at the output, nearest class mean ${withError(last.meanOnly)}, covariance only ${withError(last.covarianceOnly)}, Gaussian ${withError(last.gaussian)}.`,
  );
  const rows = [
    '| stage | width | theory (mean + cov) | gap to network | mean only | nearest mean | covariance only | Gaussian |',
    '|---|---|---|---|---|---|---|---|',
    ...a.startingPoints.map((s, k) => {
      const c = a.classifiers[k];
      return `| ${s.stage} | ${s.width} | ${withError(s.theory.overall)} | ${signedPoints(s.gap)} | ${percent(s.meanOnly.overall)} | ${withError(c.meanOnly)} | ${withError(c.covarianceOnly)} | ${withError(c.gaussian)} |`;
    }),
  ];
  out.push(rows.join('\n'));
  const perClass = [
    `| class | ${a.network.perClass.map((_, c) => c).join(' | ')} |`,
    `|---|${a.network.perClass.map(() => '---').join('|')}|`,
    `| network | ${a.network.perClass.map((p) => percent(p)).join(' | ')} |`,
    `| theory from input | ${input.theory.perClass.map((p) => percent(p)).join(' | ')} |`,
    ...inner.map((s) => `| theory from ${s.stage} | ${s.theory.perClass.map((p) => percent(p)).join(' | ')} |`),
  ];
  out.push('Per class (P(argmax = c | c) under each class\'s output Gaussian, ' + `${a.samples} draws per class, seed ${a.seed}):\n\n` + perClass.join('\n'));
  out.push(
    `Covariance classifiers use Σ_c + λ I with λ = ${a.shrinkage} · tr(Σ_c)/N (stages wider than ${a.maxCovarianceWidth} are skipped). The analysis took ${a.seconds.toFixed(1)} s (estimated beforehand: ${a.estimate.seconds.toFixed(1)} s of matrix products, ${a.estimate.megabytes.toFixed(0)} MB).`,
  );
  return out;
}
