import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src/analysis/data.ts';
import { hostLogits, trainNetwork, type TrainOptions } from '../src/analysis/train.ts';
import { Random } from '../numeric/random.ts';
import { networkFromJson } from '../src/io.ts';
import { runInProcess } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-train-'));

/** Four Gaussian blobs in 8 dimensions, centres ±2 on the first two axes: linearly separable up to the tails. */
function blobs(count: number, seed: number, shuffleLabels = false): Dataset {
  const rng = new Random(seed);
  const dim = 8;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const c = s % 4;
    labels[s] = c;
    for (let i = 0; i < dim; i++) features[s * dim + i] = 0.7 * rng.normal();
    features[s * dim] += c & 1 ? 2 : -2;
    features[s * dim + 1] += c & 2 ? 2 : -2;
  }
  if (shuffleLabels)
    for (let k = count - 1; k > 0; k--) {
      const j = Math.floor(rng.uniform() * (k + 1));
      [labels[k], labels[j]] = [labels[j], labels[k]];
    }
  return { features, labels, count, dim, classes: 4, name: 'blobs' };
}

const options: TrainOptions = { layers: [8, 16, 4], activation: 'z + a*z^2', params: { a: 0.1 }, epochs: 3, batch: 32, lr: 0.01, seed: 7 };

function argmaxAccuracy(logits: Float64Array, labels: Int32Array, width: number): number {
  let hits = 0;
  labels.forEach((label, s) => {
    let best = 0;
    for (let c = 1; c < width; c++) if (logits[s * width + c] > logits[s * width + best]) best = c;
    if (best === label) hits++;
  });
  return hits / labels.length;
}

describe('training in tfjs', () => {
  const train = blobs(1200, 1);
  const test = blobs(400, 2);

  it('learns a separable problem to over 90 % test accuracy, and the saved network predicts the same', async () => {
    const r = await trainNetwork(train, test, options);
    expect(r.testAccuracy).toBeGreaterThan(0.9);
    expect(r.trainAccuracy).toBeGreaterThan(0.9);
    expect(r.history).toHaveLength(3);
    expect(r.history[2].loss).toBeLessThan(r.history[0].loss);
    // The JSON is what corrmap reads: hidden layers carry φ and its parameter, the last is linear.
    expect(r.network.layers.map((l) => [l.activation, l.params])).toEqual([['z + a*z^2', { a: 0.1 }], ['linear', undefined]]);
    const network = networkFromJson(r.network, 'trained');
    // Its float64 forward pass (no tfjs) reproduces the float32 accuracy, up to near-ties.
    const host = argmaxAccuracy(hostLogits(network, test.features, test.count), test.labels, 4);
    expect(Math.abs(host - r.testAccuracy)).toBeLessThanOrEqual(2 / test.count);
  });

  it('gives identical weights for the same seed and different ones for another seed', async () => {
    const small = { ...options, epochs: 1 };
    const a = await trainNetwork(train, test, small);
    const b = await trainNetwork(train, test, small);
    const c = await trainNetwork(train, test, { ...small, seed: 8 });
    expect(JSON.stringify(a.network)).toBe(JSON.stringify(b.network));
    expect(JSON.stringify(a.network)).not.toBe(JSON.stringify(c.network));
  });

  it('stays at chance on the test split when the training labels are shuffled (negative control)', async () => {
    const r = await trainNetwork(blobs(1200, 1, true), test, { ...options, epochs: 2 });
    // Chance is 1/4; four binomial standard deviations of 400 test examples above it.
    expect(r.testAccuracy).toBeLessThan(0.25 + 4 * Math.sqrt((0.25 * 0.75) / test.count));
  });

  it('trains a non-polynomial activation from its expression (tanh)', async () => {
    const r = await trainNetwork(train, test, { ...options, activation: 'tanh(z)', params: undefined, epochs: 2 });
    expect(r.testAccuracy).toBeGreaterThan(0.9);
    expect(r.network.layers[0].activation).toBe('tanh(z)');
  });

  it('rejects layers that do not fit the data, missing parameters, and a diverging run', async () => {
    await expect(trainNetwork(train, test, { ...options, layers: [7, 4] })).rejects.toThrow(/--layers starts with 7 but the data have 8 features/);
    await expect(trainNetwork(train, test, { ...options, layers: [8, 3] })).rejects.toThrow(/ends with 3 outputs but the data have 4 classes/);
    await expect(trainNetwork(train, test, { ...options, params: undefined })).rejects.toThrow(/give a value for a with --param/);
    await expect(trainNetwork(train, test, { ...options, activation: 'exp(exp(z))', params: undefined, lr: 5 })).rejects.toThrow(/training diverged in epoch 1, step \d+/);
  });
});

describe('corrmap train', () => {
  const npy = (descr: string, shape: number[], data: ArrayBufferView) => {
    const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    const header = `${dict.padEnd(118 - dict.length > 0 ? 117 : dict.length, ' ')}\n`;
    const out = new Uint8Array(10 + header.length + data.byteLength);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, header.length, true);
    out.set(new TextEncoder().encode(header), 10);
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
    return out;
  };
  const run = runInProcess;

  it('trains from a .npy pair, writes network.json and reports the test accuracy as JSON', async () => {
    const train = blobs(800, 3);
    const test = blobs(200, 4);
    const paths = ['xtr', 'ytr', 'xte', 'yte'].map((n) => join(dir, `${n}.npy`));
    writeFileSync(paths[0], npy('<f4', [train.count, 8], train.features));
    writeFileSync(paths[1], npy('<i4', [train.count], train.labels));
    writeFileSync(paths[2], npy('<f4', [test.count, 8], test.features));
    writeFileSync(paths[3], npy('<i4', [test.count], test.labels));
    const out = join(dir, 'net.json');
    const r = await run('train', '--data', `${paths[0]},${paths[1]};${paths[2]},${paths[3]}`, '--layers', '8,12,4', '--activation', 'z + a*z^2', '--param', 'a=0.1',
      '--epochs', '2', '--batch', '32', '--lr', '0.01', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.testAccuracy).toBeGreaterThan(0.9);
    expect(summary.testExamples).toBe(200);
    const saved = JSON.parse(readFileSync(out, 'utf8'));
    expect(saved.layers.map((l: { weight: number[][] }) => [l.weight.length, l.weight[0].length])).toEqual([[12, 8], [4, 12]]);
  });

  it('has --help with its limits, and one-line errors for bad options', async () => {
    const help = await run('train', '--help');
    expect(help.stdout).toMatch(/Limits: fully connected layers only/);
    for (const [args, pattern] of [
      [['train', '--layers', '784,10'], /--data is required/],
      [['train', '--data', join(dir, 'none'), '--layers', '784,10'], /no such file or directory/],
      [['train', '--data', 'x.npy,y.npy', '--layers', '784,x'], /--layers: "x" is not a width/],
      [['train', '--data', 'x.npy,y.npy', '--layers', '4,2', '--lr=-1'], /--lr must be a number between 0 and 10/],
    ] as [string[], RegExp][]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.split('\n')).toHaveLength(1);
    }
  });
});
