import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { importNetwork, LAYERS_ACTIVATIONS } from '../src/analysis/import.ts';
import { parseSafetensors, readNpy } from '../src/analysis/arrays.ts';
import { hostLogits, trainNetwork, type NetworkJson } from '../src/analysis/train.ts';
import { tf, withBackend } from '../numeric/backend.ts';
import { Random } from '../numeric/random.ts';
import { networkFromJson } from '../src/io.ts';
import { pythonHas, runInProcess } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-import-'));

/** Save a tfjs-layers model as model.json + weights.bin in `folder`, as tfjs model.save to files does. */
async function saveLayersModel(model: tfl.LayersModel, folder: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData!;
      const bytes = Array.isArray(data) ? Buffer.concat(data.map((b) => Buffer.from(b))) : Buffer.from(data as ArrayBuffer);
      writeFileSync(join(folder, 'weights.bin'), bytes);
      const manifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs! }];
      writeFileSync(join(folder, 'model.json'), JSON.stringify({ modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy, weightsManifest: manifest }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(folder, 'model.json');
}

/** A tfjs-layers Sequential model with exactly the weights of a corrmap network JSON. */
function layersModelOf(network: NetworkJson, activations: string[]): tfl.Sequential {
  const model = tfl.sequential();
  network.layers.forEach((l, k) => {
    const [rows, cols] = [l.weight.length, l.weight[0].length];
    const dense = tfl.layers.dense({ units: rows, activation: activations[k] as never, ...(k === 0 ? { inputShape: [cols] } : {}) });
    model.add(dense);
    const kernel = Float32Array.from({ length: rows * cols }, (_, m) => l.weight[m % rows][Math.floor(m / rows)]);
    dense.setWeights([tf.tensor2d(kernel, [cols, rows]), tf.tensor1d(l.bias)]);
  });
  return model;
}

function blobs(count: number, seed: number) {
  const rng = new Random(seed);
  const features = new Float32Array(count * 6);
  const labels = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    labels[s] = s % 3;
    for (let i = 0; i < 6; i++) features[s * 6 + i] = 0.6 * rng.normal() + (i === labels[s] ? 2 : 0);
  }
  return { features, labels, count, dim: 6, classes: 3, name: 'blobs' };
}

function predict(model: tfl.LayersModel, x: Float32Array, count: number, dim: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(x, [count, dim])) as tf.Tensor).dataSync() as Float32Array);
}

function softmaxRows(logits: Float64Array, width: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let s = 0; s < logits.length / width; s++) {
    const row = logits.subarray(s * width, (s + 1) * width);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (out[s * width + c] = v / z));
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < actual.length; k++) worst = Math.max(worst, Math.abs(actual[k] - expected[k]) / (1 + Math.abs(expected[k])));
  expect(worst).toBeLessThan(tolerance);
}

describe('import of a tfjs LayersModel', () => {
  it('gives back the identical network after training, exporting with tfjs-layers and importing', async () => {
    const train = blobs(600, 1);
    const test = blobs(200, 2);
    const trained = await trainNetwork(train, test, { layers: [6, 10, 3], activation: 'tanh(z)', epochs: 2, batch: 32, lr: 0.01, seed: 3 });
    const path = await withBackend('wasm', () => saveLayersModel(layersModelOf(trained.network, ['tanh', 'linear']), join(dir, 'roundtrip')));
    const imported = importNetwork(path);
    expect(JSON.stringify(imported.network)).toBe(JSON.stringify(trained.network));
    // And the same outputs as tfjs-layers' own forward pass.
    const network = networkFromJson(imported.network, 'imported');
    const reference = await withBackend('wasm', () => predict(layersModelOf(trained.network, ['tanh', 'linear']), test.features, test.count, 6));
    expectClose(hostLogits(network, test.features, test.count), reference, 1e-5);
  });

  it('maps every activation tfjs-layers names to a corrmap expression with the same values', async () => {
    // silu and exponential are Keras names tfjs-layers does not define (it has swish for silu).
    const names = Object.keys(LAYERS_ACTIVATIONS).filter((n) => n !== 'silu' && n !== 'exponential');
    const rng = new Random(5);
    const width = 4;
    const network: NetworkJson = {
      layers: [...names, 'softmax'].map(() => ({
        weight: Array.from({ length: width }, () => Array.from({ length: width }, () => Math.fround(0.8 * rng.normal()))),
        bias: Array.from({ length: width }, () => Math.fround(0.3 * rng.normal())),
        activation: 'linear',
      })),
    };
    // tfjs-layers builds hard_sigmoid under its class name and serialises it in snake_case.
    const acts = [...names.map((n) => (n === 'hard_sigmoid' ? 'hardSigmoid' : n)), 'softmax'];
    const path = await withBackend('wasm', () => saveLayersModel(layersModelOf(network, acts), join(dir, 'activations')));
    const imported = importNetwork(path);
    expect(imported.network.layers.map((l) => l.activation)).toEqual([...names.map((n) => LAYERS_ACTIVATIONS[n]), 'linear']);
    expect(imported.notes.join(' ')).toMatch(/softmax .* dropped/);
    const x = Float32Array.from({ length: 50 * width }, () => rng.normal());
    const reference = await withBackend('wasm', () => predict(layersModelOf(network, acts), x, 50, width));
    const ours = softmaxRows(hostLogits(networkFromJson(imported.network, 'imported'), x, 50), width);
    expectClose(ours, reference, 1e-4);
  });

  it('names an unsupported layer and its class, and reads Activation and Dropout layers', async () => {
    const bad = await withBackend('wasm', () => {
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4] }), tfl.layers.batchNormalization({ name: 'norm1' }), tfl.layers.dense({ units: 2 })] });
      return saveLayersModel(model, join(dir, 'unsupported'));
    });
    expect(() => importNetwork(bad)).toThrow(/layer "norm1" \(BatchNormalization\) is not supported/);
    const good = await withBackend('wasm', () => {
      const ok = tfl.sequential({
        layers: [tfl.layers.dense({ units: 3, inputShape: [4] }), tfl.layers.activation({ activation: 'elu' }), tfl.layers.dropout({ rate: 0.5 }), tfl.layers.dense({ units: 2 })],
      });
      return saveLayersModel(ok, join(dir, 'activation-layer'));
    });
    expect(importNetwork(good).network.layers.map((l) => l.activation)).toEqual(['elu(z)', 'linear']);
  });

  it('reads a functional model that is a chain, and rejects one that branches', async () => {
    const x = Float32Array.from({ length: 12 }, (_, k) => Math.sin(k));
    const { path, reference } = await withBackend('wasm', async () => {
      const input = tfl.input({ shape: [4] });
      const h = tfl.layers.dense({ units: 3, activation: 'relu', name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
      const chain = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2, name: 'out' }).apply(h) as tfl.SymbolicTensor });
      return { path: await saveLayersModel(chain, join(dir, 'functional')), reference: predict(chain, x, 3, 4) };
    });
    const imported = importNetwork(path).network;
    expect(imported.layers.map((l) => [l.weight.length, l.weight[0].length, l.activation])).toEqual([[3, 4, 'relu(z)'], [2, 3, 'linear']]);
    expectClose(hostLogits(networkFromJson(imported, 'functional'), x, 3), reference, 1e-5);

    const bad = await withBackend('wasm', () => {
      const input = tfl.input({ shape: [4] });
      const a = tfl.layers.dense({ units: 3, name: 'a' }).apply(input) as tfl.SymbolicTensor;
      const b = tfl.layers.dense({ units: 3, name: 'b' }).apply(input) as tfl.SymbolicTensor;
      const branching = tfl.model({ inputs: input, outputs: tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor });
      return saveLayersModel(branching, join(dir, 'branching'));
    });
    expect(() => importNetwork(bad)).toThrow(/layer "(b|sum)" \((Dense|Add)\) does not read only the layer before it/);
  });
});

/** safetensors bytes: 8-byte header length, JSON header, then the tensors' data. */
function safetensors(tensors: Record<string, { dtype: 'F32' | 'F64'; shape: number[]; data: number[] }>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array((t.dtype === 'F32' ? Float32Array.from(t.data) : Float64Array.from(t.data)).buffer);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}

function npy(shape: number[], data: number[]): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const header = `${dict.padEnd(117, ' ')}\n`;
  const payload = new Uint8Array(Float64Array.from(data).buffer);
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(payload, 10 + header.length);
  return out;
}

describe('import of bare weights', () => {
  // PyTorch layout: weight [out, in]. Layer 1: 3 → 2, layer 2: 2 → 1.
  const w1 = [[1, 2, 3], [4, 5, 6]];
  const w2 = [[0.5, -0.5]];

  it('reads safetensors with PyTorch names in natural order (layers.2 before layers.10)', () => {
    const bytes = safetensors({
      'layers.10.weight': { dtype: 'F64', shape: [1, 2], data: w2.flat() },
      'layers.10.bias': { dtype: 'F64', shape: [1], data: [0.25] },
      'layers.2.weight': { dtype: 'F32', shape: [2, 3], data: w1.flat() },
      'layers.2.bias': { dtype: 'F32', shape: [2], data: [0.1, -0.1].map(Math.fround) },
    });
    expect(parseSafetensors(bytes, 'w').size).toBe(4);
    const path = join(dir, 'w.safetensors');
    writeFileSync(path, bytes);
    const { network } = importNetwork(path, { activations: ['relu'] });
    expect(network).toEqual({ layers: [{ weight: w1, bias: [0.1, -0.1].map(Math.fround), activation: 'relu(z)' }, { weight: w2, bias: [0.25], activation: 'linear' }] });
  });

  it('reads numpy.savez positional arrays in Keras layout [in, out], and a directory of .npy', () => {
    const t = (m: number[][]) => m[0].map((_, j) => m.map((r) => r[j]));
    const path = join(dir, 'w.npz');
    writeFileSync(path, zipSync({ 'arr_0.npy': npy([3, 2], t(w1).flat()), 'arr_1.npy': npy([2], [0, 1]), 'arr_2.npy': npy([2, 1], t(w2).flat()), 'arr_3.npy': npy([1], [2]) }));
    const a = importNetwork(path, { activations: ['z + a*z^2'], params: { a: 0.5 } });
    expect(a.network.layers[0]).toEqual({ weight: w1, bias: [0, 1], activation: 'z + a*z^2', params: { a: 0.5 } });
    expect(a.notes).toContain('weights read as [inputs, outputs]');
    const folder = join(dir, 'npy');
    mkdirSync(folder);
    writeFileSync(join(folder, 'W0.npy'), npy([2, 3], w1.flat()));
    writeFileSync(join(folder, 'b0.npy'), npy([2], [0, 1]));
    writeFileSync(join(folder, 'W1.npy'), npy([1, 2], w2.flat()));
    const b = importNetwork(folder, { activations: ['tanh', 'linear'] });
    expect(b.network.layers.map((l) => [l.weight, l.bias, l.activation])).toEqual([[w1, [0, 1], 'tanh(z)'], [w2, [0], 'linear']]);
  });

  it('asks for the layout when square weights leave it open, and for the activations', () => {
    const path = join(dir, 'square.npz');
    writeFileSync(path, zipSync({ 'arr_0.npy': npy([2, 2], [1, 2, 3, 4]), 'arr_1.npy': npy([2, 2], [5, 6, 7, 8]) }));
    expect(() => importNetwork(path, { activations: ['relu'] })).toThrow(/give --layout out-in or --layout in-out/);
    expect(importNetwork(path, { activations: ['relu'], layout: 'in-out' }).network.layers[0].weight).toEqual([[1, 3], [2, 4]]);
    expect(() => importNetwork(path, {})).toThrow(/weight files carry no activations; give --activation/);
    expect(() => importNetwork(path, { activations: ['relu', 'relu', 'relu'], layout: 'out-in' })).toThrow(/3 activations for 2 layers/);
  });

  const torch = existsSync('/usr/bin/python3') && pythonHas('/usr/bin/python3', ['torch', 'numpy']);
  it.skipIf(!torch)('imports a real torch state_dict saved with numpy.savez, with the same outputs as torch', () => {
    const folder = join(dir, 'torch');
    mkdirSync(folder);
    execFileSync('/usr/bin/python3', ['-c', `
import sys, numpy as np, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
d = sys.argv[1]
np.savez(d + '/model.npz', **{k: v.detach().numpy() for k, v in m.state_dict().items()})
x = torch.randn(20, 6)
np.save(d + '/x.npy', x.numpy())
np.save(d + '/y.npy', m(x).detach().numpy())
`, folder]);
    const { network } = importNetwork(join(folder, 'model.npz'), { activations: ['tanh', 'relu'] });
    const x = readNpy(join(folder, 'x.npy'));
    const y = readNpy(join(folder, 'y.npy'));
    expectClose(hostLogits(networkFromJson(network, 'torch'), x.data, 20), y.data, 1e-5);
  });
});

describe('corrmap import', () => {
  const run = runInProcess;
  it('writes network.json, explains itself in --help, and rejects bad input in one line', async () => {
    const path = join(dir, 'cli.safetensors');
    writeFileSync(path, safetensors({ '0.weight': { dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, '0.bias': { dtype: 'F32', shape: [2], data: [0, 0] } }));
    const out = join(dir, 'cli-net.json');
    const modelJson = join(dir, 'cli-model.json');
    writeFileSync(modelJson, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    const r = await run('import', path, '--activation', 'relu', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).widths).toEqual([3, 2]);
    expect(JSON.parse(readFileSync(out, 'utf8')).layers[0].weight).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect((await run('import', '--help')).stdout).toMatch(/Limits: chains of fully connected layers only/);
    for (const [args, pattern] of [
      [['import', join(dir, 'missing.npz')], /no such file or directory/],
      [['import', path, '--layout', 'sideways'], /--layout must be one of auto, out-in, in-out/],
      [['import', modelJson, '--activation', 'relu'], /names its own activations/],
    ] as [string[], RegExp][]) {
      const e = await run(...args);
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(pattern);
      expect(e.stderr.split('\n')).toHaveLength(1);
    }
  });
});
