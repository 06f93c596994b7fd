/**
 * Training of fully connected classifiers in tfjs: Adam on minibatches, softmax cross-entropy on the
 * last (linear) layer. The activation is compiled from the same expression tree corrmap's rules
 * read (numeric/kernels.ts compileExpression), so any activation corrmap knows can be trained and
 * the trained network is exactly the one the theory describes; tfjs autodiff supplies gradients.
 */
import { InputError } from '../../symbolic/errors.ts';
import { Random, compileExpression, hasActivation, parseActivation, tf, withBackend, type Network } from '../../numeric/index.ts';
import { activationOf } from '../../symbolic/activations.ts';
import type { Dataset } from './data.ts';

export interface TrainOptions {
  /** Widths from the input to the output, e.g. [784, 512, 512, 10]. */
  layers: number[];
  /** φ of every hidden layer, an expression in z (the output layer is linear). */
  activation: string;
  params?: Record<string, number>;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  onProgress?: (p: { epoch: number; step: number; steps: number; loss: number; accuracy: number }) => void;
  /** Called once, after the first timed steps, with the expected duration of the whole run. */
  onEstimate?: (e: { steps: number; secondsPerStep: number; seconds: number }) => void;
}

/** One layer of the network JSON of src/io.ts: weight is N_out × N_in (rows are outputs). */
export interface NetworkLayerJson {
  weight: number[][];
  bias: number[];
  activation: string;
  params?: Record<string, number>;
}

export interface NetworkJson {
  layers: NetworkLayerJson[];
}

export interface Trained {
  network: NetworkJson;
  testAccuracy: number;
  trainAccuracy: number;
  /** Running loss and accuracy over each epoch's minibatches. */
  history: { epoch: number; loss: number; accuracy: number }[];
}

/** Check the options against the data; returns the compiled activation. */
function prepare(train: Dataset, test: Dataset, o: TrainOptions): (x: tf.Tensor) => tf.Tensor {
  if (o.layers.length < 2) throw new InputError(`--layers needs at least an input and an output width, got ${o.layers.join(',')}`);
  for (const w of o.layers) if (!Number.isInteger(w) || w < 1) throw new InputError(`--layers: width ${w} is not a positive whole number`);
  if (o.layers[0] !== train.dim) throw new InputError(`--layers starts with ${o.layers[0]} but the data have ${train.dim} features per example`);
  if (test.dim !== train.dim) throw new InputError(`the test split has ${test.dim} features, the training split ${train.dim}`);
  const classes = Math.max(train.classes, test.classes);
  const out = o.layers[o.layers.length - 1];
  if (out < classes) throw new InputError(`--layers ends with ${out} outputs but the data have ${classes} classes; the last width must be at least ${classes}`);
  if (!(o.epochs >= 1) || !(o.batch >= 1) || !(o.lr > 0)) throw new InputError('epochs and batch must be at least 1 and the learning rate positive');
  const expression = parseActivation(o.activation, o.params ?? {});
  if (expression.parameters.length)
    throw new InputError(`activation "${o.activation}": give a value for ${expression.parameters.join(', ')} with --param (e.g. --param ${expression.parameters[0]}=0.1)`);
  try {
    return compileExpression(expression.node);
  } catch (err) {
    throw new InputError(`activation "${o.activation}" cannot be trained: ${(err as Error).message}`);
  }
}

/** Rows `indices` of the data as a [B, dim] tensor and their labels one-hot [B, width]. */
function batchTensors(data: Dataset, indices: ArrayLike<number>, from: number, to: number, width: number): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Int32Array } {
  const b = to - from;
  const x = new Float32Array(b * data.dim);
  const labels = new Int32Array(b);
  for (let k = 0; k < b; k++) {
    const row = indices[from + k];
    x.set(data.features.subarray(row * data.dim, (row + 1) * data.dim), k * data.dim);
    labels[k] = data.labels[row];
  }
  return { x: tf.tensor2d(x, [b, data.dim]), y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), width), 'float32')) as tf.Tensor2D, labels };
}

/** Accuracy of the argmax of the logits against the labels. */
function correct(logits: tf.Tensor2D, labels: Int32Array): number {
  const predicted = tf.tidy(() => tf.argMax(logits, 1)).dataSync() as Int32Array;
  let c = 0;
  for (let k = 0; k < labels.length; k++) if (predicted[k] === labels[k]) c++;
  return c;
}

/** The network in tfjs: weights as [N_in, N_out] (so that a layer is x·Wᵀ + b without transposes). */
interface Parameters {
  weightsT: tf.Variable[];
  biases: tf.Variable[];
}

function initialParameters(widths: readonly number[], seed: number): Parameters {
  const random = new Random(seed);
  const weightsT: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const [nIn, nOut] = [widths[l], widths[l + 1]];
    // W ~ N(0, 1/N_in): pre-activations of order one for inputs of order one.
    const w = new Float32Array(nIn * nOut);
    const scale = 1 / Math.sqrt(nIn);
    for (let k = 0; k < w.length; k++) w[k] = scale * random.normal();
    weightsT.push(tf.variable(tf.tensor2d(w, [nIn, nOut]), true, `w${l}`));
    biases.push(tf.variable(tf.zeros([nOut]), true, `b${l}`));
  }
  return { weightsT, biases };
}

/**
 * z = y·W + b with its gradient written as plain matMuls of explicitly transposed operands: the
 * transposed-operand matMuls tfjs's own gradient uses are about ten times slower on wasm. The first
 * layer's input needs no gradient.
 */
function affineLayer(inputGradient: boolean) {
  return tf.customGrad((...args: unknown[]) => {
    const [y, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, (t: tf.Tensor[]) => void];
    save([y, w]);
    return {
      value: tf.add(tf.matMul(y, w), b),
      gradFunc: (dz: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [yy, ww] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = dz as tf.Tensor2D;
        return [inputGradient ? tf.matMul(d, tf.transpose(ww)) : tf.zerosLike(yy), tf.matMul(tf.transpose(yy), d), tf.sum(d, 0)];
      },
    };
  });
}

const firstAffine = affineLayer(false);
const innerAffine = affineLayer(true);

function forward(p: Parameters, phi: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor2D): tf.Tensor2D {
  let y: tf.Tensor2D = x;
  const last = p.weightsT.length - 1;
  p.weightsT.forEach((w, l) => {
    const z = (l === 0 ? firstAffine : innerAffine)(y, w, p.biases[l]) as tf.Tensor2D;
    y = l === last ? z : (phi(z) as tf.Tensor2D);
  });
  return y;
}

/** Accuracy of the network on a whole data set, in chunks. */
function accuracy(p: Parameters, phi: (x: tf.Tensor) => tf.Tensor, data: Dataset, width: number): number {
  const all = Int32Array.from({ length: data.count }, (_, k) => k);
  const chunk = 2048;
  let c = 0;
  for (let from = 0; from < data.count; from += chunk) {
    const to = Math.min(data.count, from + chunk);
    const { x, y, labels } = batchTensors(data, all, from, to, width);
    const logits = tf.tidy(() => forward(p, phi, x));
    c += correct(logits, labels);
    tf.dispose([x, y, logits]);
  }
  return c / data.count;
}

function toJson(p: Parameters, o: TrainOptions): NetworkJson {
  const last = p.weightsT.length - 1;
  return {
    layers: p.weightsT.map((wT, l) => {
      const [nIn, nOut] = wT.shape;
      const flat = wT.dataSync();
      const weight = Array.from({ length: nOut }, (_, i) => Array.from({ length: nIn }, (_, j) => flat[j * nOut + i]));
      const layer: NetworkLayerJson = { weight, bias: Array.from(p.biases[l].dataSync()), activation: l === last ? 'linear' : o.activation };
      if (l !== last && o.params && Object.keys(o.params).length) layer.params = { ...o.params };
      return layer;
    }),
  };
}

/**
 * Train a classifier with widths `options.layers` on `train`; report its accuracy on both splits.
 * The same seed gives the same weights (initialisation and minibatch order come from one seeded
 * generator; the wasm backend's kernels are deterministic).
 */
export async function trainNetwork(train: Dataset, test: Dataset, options: TrainOptions): Promise<Trained> {
  // tfjs-core's Node bundle registers no gradients; tfjs-layers registers those of every op. Loaded
  // here, not at start-up, because it takes seconds.
  await import('@tensorflow/tfjs-layers');
  return withBackend('wasm', () => trainOnActiveBackend(train, test, options));
}

function trainOnActiveBackend(train: Dataset, test: Dataset, o: TrainOptions): Trained {
  const phi = prepare(train, test, o);
  const width = o.layers[o.layers.length - 1];
  const params = initialParameters(o.layers, o.seed);
  const order = new Random(o.seed ^ 0x5bd1e995);
  const optimizer = tf.train.adam(o.lr);
  const batch = Math.min(o.batch, train.count);
  const steps = Math.ceil(train.count / batch);
  const history: Trained['history'] = [];
  const indices = Int32Array.from({ length: train.count }, (_, k) => k);
  const timed = { from: 0, steps: 0, reported: false };
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      // Fisher–Yates with the seeded generator: the minibatch order is part of what the seed fixes.
      for (let k = indices.length - 1; k > 0; k--) {
        const j = Math.floor(order.uniform() * (k + 1));
        [indices[k], indices[j]] = [indices[j], indices[k]];
      }
      let lossSum = 0;
      let hits = 0;
      let seen = 0;
      for (let step = 0; step < steps; step++) {
        if (epoch === 1 && step === 1) timed.from = performance.now();
        const from = step * batch;
        const to = Math.min(train.count, from + batch);
        const { x, y, labels } = batchTensors(train, indices, from, to, width);
        let logits: tf.Tensor2D | undefined;
        const loss = optimizer.minimize(() => {
          const out = forward(params, phi, x);
          logits = tf.keep(out);
          return tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar;
        }, true)!;
        const value = loss.dataSync()[0];
        hits += correct(logits!, labels);
        tf.dispose([x, y, loss, logits!]);
        if (!Number.isFinite(value))
          throw new InputError(
            `training diverged in epoch ${epoch}, step ${step + 1} (loss ${value}); lower --lr (now ${o.lr}) or choose an activation that grows more slowly`,
          );
        lossSum += value * (to - from);
        seen += to - from;
        if (epoch === 1 && step >= 1 && !timed.reported && (step >= 5 || step === steps - 1)) {
          timed.reported = true;
          const secondsPerStep = (performance.now() - timed.from) / 1000 / step;
          o.onEstimate?.({ steps: steps * o.epochs, secondsPerStep, seconds: secondsPerStep * steps * o.epochs });
        }
        o.onProgress?.({ epoch, step: step + 1, steps, loss: lossSum / seen, accuracy: hits / seen });
      }
      history.push({ epoch, loss: lossSum / seen, accuracy: hits / seen });
    }
    return {
      network: toJson(params, o),
      trainAccuracy: accuracy(params, phi, train, width),
      testAccuracy: accuracy(params, phi, test, width),
      history,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([...params.weightsT, ...params.biases]);
  }
}

/**
 * The network's outputs (logits) for `count` rows of features, in float64 on the host: W y + b and
 * φ evaluated from the parsed expression (symbolic/activations.ts), independent of tfjs.
 */
export function hostLogits(network: Network, features: ArrayLike<number>, count: number): Float64Array {
  const phis = network.layers.map((l) => (hasActivation(l) ? activationOf(l.expression).fn : undefined));
  const width = network.layers[network.layers.length - 1].rows;
  const out = new Float64Array(count * width);
  for (let s = 0; s < count; s++) {
    let y = Float64Array.from({ length: network.inputSize }, (_, i) => features[s * network.inputSize + i]);
    network.layers.forEach((layer, l) => {
      const next = new Float64Array(layer.rows);
      for (let o = 0; o < layer.rows; o++) {
        let v = layer.bias[o];
        for (let i = 0; i < layer.cols; i++) v += layer.weight[o * layer.cols + i] * y[i];
        next[o] = phis[l] ? phis[l]!(v) : v;
      }
      y = next;
    });
    out.set(y, s * width);
  }
  return out;
}
