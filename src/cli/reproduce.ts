import { join } from 'node:path';
import { InputError } from '../../symbolic/errors.ts';
import { reproduceDepth } from '../analysis/reproduce/depth.ts';
import { reproduceImages } from '../analysis/reproduce/images.ts';
import { reproduceXor } from '../analysis/reproduce/xor.ts';
import { SEED_OPTION, parseOptions, seedOption, type Command } from './command.ts';
import { taskProgress } from './format.ts';

const EXPERIMENTS = ['xor', 'mnist', 'depth', 'cifar10'] as const;

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'reproduce the paper\'s experiments (xor, mnist, depth, cifar10) as report folders',
  usage: `Usage: corrmap reproduce <xor | mnist | depth | cifar10> [--out DIR] [--quick] [--data DIR] [--seed s]

Each experiment writes a report folder: report.json (every number), figures as SVG and PNG, and
report.md, which embeds the figures and states the numbers in sentences.

  xor      four Gaussian blobs at (±1, ±1), label = XOR of the signs; a 2-8-2 network with
           φ = z + 0.5 z² is trained and analysed: class mean and covariance per stage from the theory,
           from sampling and from the data; the class information moving from the covariance into
           the mean; theory accuracy vs network accuracy.                  (quick: ~15 s; full: ~1 min)
  mnist    MLPs with φ = z + 0.1 z² (784-100-10 and 784-100-100-10, 2 epochs on all 60000 examples;
           quick: 784-64-10 on 3000 examples, 1 epoch) are trained and analysed (corrmap analyse); the
           gap between theory and network with the closure started at the input and inside.
                                                   (quick: under a minute; full: tens of minutes)
  depth    untrained random networks: length and correlation maps, q*, c*, χ₁, ξ_c for z + 0.2 z²,
           erf and tanh from the Gaussian closure vs sampled networks; the order-to-chaos line of
           tanh and erf.                                                  (quick: ~30 s; full: minutes)
  cifar10  as mnist, on CIFAR-10 binary files supplied by the user (--data DIR with
           data_batch_1.bin … data_batch_5.bin and test_batch.bin).

Options:
  --out DIR     report folder (default reports/<experiment>)
  --quick       the small variant (what the tests run)
  --data DIR    data directory (mnist: default ../shared/data/mnist; cifar10: required)
  --seed s      seed of data, training and sampling (default 1)
  -h, --help    show this help`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('reproduce', argv, {
      out: { type: 'string' },
      quick: { type: 'boolean' },
      data: { type: 'string' },
      ...SEED_OPTION,
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1 || !(EXPERIMENTS as readonly string[]).includes(positionals[0]))
      throw new InputError(`reproduce takes one experiment: ${EXPERIMENTS.join(', ')} (see corrmap reproduce --help)`);
    const experiment = positionals[0] as (typeof EXPERIMENTS)[number];
    const seed = seedOption(values.seed);
    const quick = Boolean(values.quick);
    const dir = values.out ?? join('reports', quick ? `${experiment}-quick` : experiment);
    if (values.data && (experiment === 'xor' || experiment === 'depth')) throw new InputError(`reproduce ${experiment} makes its own data; --data is for mnist and cifar10`);
    if (experiment === 'cifar10' && !values.data) throw new InputError('reproduce cifar10 needs --data DIR with the CIFAR-10 binary files (data_batch_1.bin … data_batch_5.bin, test_batch.bin)');
    const started = performance.now();
    const bar = taskProgress();
    const onProgress = bar.update;
    let files: string[];
    if (experiment === 'xor') files = (await reproduceXor({ quick, seed, out: dir, onProgress })).files;
    else if (experiment === 'depth') files = (await reproduceDepth({ quick, seed, out: dir, onProgress })).files;
    else {
      const onNote = (line: string) => {
        bar.done();
        process.stderr.write(`corrmap reproduce ${experiment}: ${line}\n`);
      };
      files = (await reproduceImages({ dataset: experiment, data: values.data ?? join('..', 'shared', 'data', 'mnist'), quick, seed, out: dir, onProgress, onNote })).files;
    }
    bar.done();
    out.log(`corrmap reproduce ${experiment}${quick ? ' --quick' : ''}: report written to ${files.find((f) => f.endsWith('report.md'))} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  },
};
