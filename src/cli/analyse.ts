import { InputError } from '../../symbolic/errors.ts';
import { analyseNetwork } from '../analysis/analyse.ts';
import { loadDataset } from '../analysis/data.ts';
import { analysisFigures, analysisMarkdown, writeReport } from '../analysis/report.ts';
import { networkFromJson, readJson } from '../io.ts';
import { SEED_OPTION, integerOption, parseOptions, seedOption, type Command } from './command.ts';
import { taskProgress } from './format.ts';

export const analyseCommand: Command = {
  name: 'analyse',
  summary: 'which cumulant orders carry the class information, layer by layer',
  usage: `Usage: corrmap analyse <network.json> --data <DIR | features.npy,labels.npy> [--json] [--out DIR]
                       [--samples N] [--seed s] [--shrinkage λ] [--covariance-width N] [--no-higher]

Per class and per stage (the input, each layer's pre- and post-activation), with statistics measured
on the training split and accuracies on the test split:
  - the network's accuracy per class;
  - the theory's accuracy: the Gaussian closure started from the class's mean and covariance at the
    stage, propagated to the output, and P(argmax = c | c) under the output Gaussian (sampled with a
    fixed seed; binomial standard errors);
  - ablations: covariance dropped (mean only); at the first layer, the exact polynomial rules with the
    pre-activation's measured cumulants up to order K = 2, 3, 4 (only the slices T_iij, T_ijj, Q_iijj
    the rules read: O(N²) memory);
  - the gap theory − network at every stage, and classifiers built from each stage's class statistics
    (nearest class mean; covariance only with a common mean; Gaussian with both), scored on the test split.

Options:
  --data <spec>     a directory with MNIST (train-images-idx3-ubyte[.gz], …) or CIFAR-10
                    (data_batch_1.bin … test_batch.bin) files, or features.npy,labels.npy (required)
  --json            print every number as JSON
  --out DIR         also write a report folder (report.json, report.md, SVG and PNG figures)
  --samples N       draws from each class's output Gaussian (default 20000; SE ≤ 0.5/√N)
  --seed s          seed of those draws (default 1)
  --shrinkage λ     ridge of the covariance classifiers, λ·tr(Σ_c)/N (default 0.05)
  --covariance-width N
                    widest stage given the covariance classifiers (default 1024; each class costs
                    N³/2 operations on the host, so the 3072 inputs of CIFAR-10 are skipped)
  --no-higher       skip the K = 3, 4 ablation
  -h, --help        show this help

Limits: the network's activations must be ones corrmap knows; the K = 3, 4 ablation needs a
polynomial first-layer activation. Cost grows as (training examples + classes · test examples) ·
Σ width² (the class covariances and the covariance classifiers); the command prints its estimate
first. A 784-512-512-10 MNIST network takes about a minute on one core.`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('analyse', argv, {
      data: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      samples: { type: 'string' },
      ...SEED_OPTION,
      shrinkage: { type: 'string' },
      'no-higher': { type: 'boolean' },
      'covariance-width': { type: 'string' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`analyse takes one network file, got ${positionals.length} (see corrmap analyse --help)`);
    if (!values.data) throw new InputError('--data is required: a directory with MNIST or CIFAR-10 files, or features.npy,labels.npy');
    const samples = integerOption(values.samples, 'samples', 100, 1e8, 20_000);
    const seed = seedOption(values.seed);
    const shrinkage = values.shrinkage === undefined ? 0.05 : Number(values.shrinkage);
    if (!(shrinkage > 0 && shrinkage < 1)) throw new InputError(`--shrinkage must be a number between 0 and 1 (exclusive), got "${values.shrinkage}"`);
    const train = loadDataset(values.data, 'train');
    const test = loadDataset(values.data, 'test');
    const network = networkFromJson(readJson(positionals[0], 'network file'), `network file "${positionals[0]}"`, train.dim);
    const bar = taskProgress();
    const analysis = await analyseNetwork(network, train, test, {
      backend: 'wasm',
      samples,
      seed,
      shrinkage,
      higherOrders: !values['no-higher'],
      maxCovarianceWidth: integerOption(values['covariance-width'], 'covariance-width', 0, 100_000, 1024),
      onEstimate: (e) => process.stderr.write(`corrmap analyse: about ${e.seconds < 1 ? '<1' : e.seconds.toFixed(0)} s of matrix products, ${e.megabytes.toFixed(0)} MB\n`),
      onProgress: bar.update,
    });
    bar.done();
    if (values.out) {
      const files = await writeReport(values.out, { title: `Analysis of ${positionals[0]} on ${train.name}`, body: analysisMarkdown(analysis), figures: analysisFigures(analysis), json: analysis });
      process.stderr.write(`corrmap analyse: report written to ${files.find((f) => f.endsWith('report.md'))}\n`);
    }
    if (values.json) out.log(JSON.stringify(analysis, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));
    else out.log(analysisMarkdown(analysis).join('\n\n'));
  },
};
