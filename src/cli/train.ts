import { writeFileSync } from 'node:fs';
import { InputError } from '../../symbolic/errors.ts';
import { SEED_OPTION, integerOption, parameterOptions, parseOptions, seedOption, type Command } from './command.ts';
import { num, progressBar } from './format.ts';

const DEFAULTS = { activation: 'z + 0.1*z^2', epochs: 5, batch: 64, lr: 1e-3, seed: 1, out: 'network.json' };

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a fully connected classifier in tfjs and save it as network.json',
  usage: `Usage: corrmap train --data <data> --layers 784,512,512,10 [--activation φ] [--param a=…]
                     [--epochs E] [--batch B] [--lr η] [--seed s] [--subset N] [--out network.json] [--json]

Trains a fully connected network x → φ(W₁x + b₁) → … → W_L y + b_L (the last layer linear, its
outputs the logits) with Adam on shuffled minibatches and the softmax cross-entropy, on the wasm
backend (float32). φ is any activation corrmap reads (a polynomial such as "z + 0.1*z^2", relu(z),
tanh(z), erf(z), …), compiled from the same expression tree the cumulant rules use; tfjs autodiff
gives its gradients. Weights start as W ~ N(0, 1/N_in), biases at 0. The same seed gives the same
weights. A progress bar with the running loss and accuracy is shown on a terminal, the expected
duration after the first steps; the accuracy on the test split is reported at the end.

--data (one of):
  DIR                        MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
                             t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), pixels scaled to [0, 1],
                             or CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin)
  x.npy,y.npy                NumPy features (count × …) and labels (count); the test split from
                             "x.npy,y.npy;xt.npy,yt.npy" or x_test.npy/y_test.npy beside x_train.npy/y_train.npy
  data.npz                   arrays x_train, y_train, x_test, y_test (or x, y for both splits)

Options:
  --data <data>        training and test data (required)
  --layers w0,…,wL     widths from the input (the data's feature count) to the output (≥ classes) (required)
  --activation φ       φ of every hidden layer, an expression in z (default "${DEFAULTS.activation}")
  --param name=value   a parameter of φ (repeatable), e.g. --activation "z + a*z^2" --param a=0.1
  --epochs E           passes over the training split (default ${DEFAULTS.epochs})
  --batch B            minibatch size (default ${DEFAULTS.batch})
  --lr η               Adam learning rate (default ${DEFAULTS.lr})
  --seed s             seed of the initial weights and the minibatch order (default ${DEFAULTS.seed})
  --subset N           train on the first N training examples only (quick runs)
  --out <file>         where to write the network (default ${DEFAULTS.out}; the format of corrmap propagate)
  --json               print the accuracies and the loss history as JSON
  -h, --help           show this help

Limits: fully connected layers only; float32 training; the whole data set is held in memory (MNIST:
about 200 MB). A training run that diverges (non-finite loss) stops with an error naming the step.

Example:
  corrmap train --data ../shared/data/mnist --layers 784,512,512,10 --activation "z + 0.1*z^2" --epochs 5`,
  async run(argv, out) {
    const { values } = parseOptions(
      'train',
      argv,
      {
        data: { type: 'string' },
        layers: { type: 'string' },
        activation: { type: 'string' },
        param: { type: 'string', multiple: true },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        ...SEED_OPTION,
        subset: { type: 'string' },
        out: { type: 'string', short: 'o' },
        json: { type: 'boolean' },
      },
      false,
    );
    if (values.help) return void out.log(this.usage);
    if (!values.data) throw new InputError('--data is required: a directory with MNIST or CIFAR-10 files, x.npy,y.npy, or a .npz (see corrmap train --help)');
    if (!values.layers) throw new InputError('--layers is required, e.g. --layers 784,512,512,10 (input width, hidden widths, output width)');
    const layers = values.layers.split(',').map((w) => {
      const v = Number(w.trim());
      if (!Number.isInteger(v) || v < 1 || v > 100_000) throw new InputError(`--layers: "${w}" is not a width from 1 to 100000`);
      return v;
    });
    const lr = values.lr === undefined ? DEFAULTS.lr : Number(values.lr);
    if (!(lr > 0 && lr < 10)) throw new InputError(`--lr must be a number between 0 and 10 (exclusive), got "${values.lr}"`);
    const options = {
      layers,
      activation: values.activation ?? DEFAULTS.activation,
      params: parameterOptions(values.param),
      epochs: integerOption(values.epochs, 'epochs', 1, 10_000, DEFAULTS.epochs),
      batch: integerOption(values.batch, 'batch', 1, 1_000_000, DEFAULTS.batch),
      lr,
      seed: seedOption(values.seed, DEFAULTS.seed),
    };
    const subset = integerOption(values.subset, 'subset', 1, 1e9, 0);
    const target = values.out ?? DEFAULTS.out;
    const { loadDataset, firstRows } = await import('../analysis/data.ts');
    const { trainNetwork } = await import('../analysis/train.ts');
    const full = loadDataset(values.data, 'train');
    const train = subset ? firstRows(full, subset) : full;
    const test = loadDataset(values.data, 'test');
    const bar = progressBar('training');
    const started = performance.now();
    if (!values.json)
      process.stderr.write(`${train.name}: ${train.count} examples of ${train.dim} features, ${train.classes} classes; test ${test.count}\n`);
    const result = await trainNetwork(train, test, {
      ...options,
      onEstimate: (e) => {
        if (e.seconds > 5 || !values.json) process.stderr.write(`${e.steps} steps, about ${duration(e.seconds)} (${(e.secondsPerStep * 1000).toFixed(0)} ms a step)\n`);
      },
      onProgress: (p) => bar.update(((p.epoch - 1) * p.steps + p.step) / (options.epochs * p.steps), `epoch ${p.epoch}/${options.epochs}  loss ${p.loss.toFixed(4)}  accuracy ${(100 * p.accuracy).toFixed(1)}%`),
    });
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    try {
      writeFileSync(target, JSON.stringify(result.network));
    } catch (err) {
      throw new InputError(`cannot write the network "${target}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
    }
    const summary = { network: target, layers, activation: options.activation, params: options.params, epochs: options.epochs, batch: options.batch, lr, seed: options.seed,
      trainExamples: train.count, testExamples: test.count, trainAccuracy: result.trainAccuracy, testAccuracy: result.testAccuracy, history: result.history, seconds };
    if (values.json) return void out.log(JSON.stringify(summary));
    const lines = [`network ${layers.join(' → ')}, φ(z) = ${options.activation}${Object.keys(options.params).length ? ` with ${Object.entries(options.params).map(([k, v]) => `${k} = ${v}`).join(', ')}` : ''}; Adam η = ${lr}, batch ${options.batch}, seed ${options.seed}`];
    for (const h of result.history) lines.push(`  epoch ${h.epoch}: loss ${num(h.loss, 4)}, training accuracy ${(100 * h.accuracy).toFixed(2)}% (running, during the epoch)`);
    lines.push(`accuracy: training ${(100 * result.trainAccuracy).toFixed(2)}%, test ${(100 * result.testAccuracy).toFixed(2)}% (${test.count} test examples)`);
    lines.push(`wrote ${target} (${duration(seconds)})`);
    out.log(lines.join('\n'));
  },
};

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
