import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { loadCifar10, loadDataset, loadMnist, loadNpy } from '../src/analysis/data.ts';
import { parseNpy, readNpz } from '../src/analysis/arrays.ts';
import { pythonHas } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-data-'));

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  return new Uint8Array([...header, ...data]);
}

/** A .npy file as numpy writes it (format 1.0, header padded to a multiple of 64 bytes). */
export function npy(descr: string, shape: number[], payload: Uint8Array, fortran = false): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(payload, total);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function write(name: string, content: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('MNIST IDX', () => {
  const pixels = Uint8Array.from({ length: 5 * 6 }, (_, k) => (k * 37) % 256);
  const labels = Uint8Array.from([3, 0, 1, 3, 2]);
  for (const gz of [false, true]) {
    it.concurrent(`reads images and labels ${gz ? 'gzipped' : 'raw'}, pixels scaled to [0, 1]`, () => {
      const d = join(dir, gz ? 'mnist-gz' : 'mnist-raw');
      mkdirSync(d);
      const put = (name: string, b: Uint8Array) => writeFileSync(join(d, gz ? `${name}.gz` : name), gz ? gzipSync(b) : b);
      put('train-images-idx3-ubyte', idx([5, 2, 3], pixels));
      put('train-labels-idx1-ubyte', idx([5], labels));
      put('t10k-images-idx3-ubyte', idx([2, 2, 3], pixels.subarray(0, 12)));
      put('t10k-labels-idx1-ubyte', idx([2], labels.subarray(0, 2)));
      const train = loadMnist(d, 'train');
      expect([train.count, train.dim, train.classes, train.name]).toEqual([5, 6, 10, 'mnist-train']);
      expect(Array.from(train.labels)).toEqual([3, 0, 1, 3, 2]);
      expect(train.features[7]).toBeCloseTo(pixels[7] / 255, 7);
      expect(Math.max(...train.features)).toBeLessThanOrEqual(1);
      const test = loadDataset(d, 'test');
      expect([test.count, test.dim]).toEqual([2, 6]);
    });
  }

  it.concurrent('names the expected files when they are missing, and rejects a truncated file', () => {
    const d = join(dir, 'mnist-missing');
    mkdirSync(d);
    writeFileSync(join(d, 'train-images-idx3-ubyte'), idx([5, 2, 3], pixels));
    expect(() => loadMnist(d, 'train')).toThrow(/expected train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\]/);
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([6], labels));
    expect(() => loadMnist(d, 'train')).toThrow(/header says 6 = 6 bytes of data, the file has 5/);
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([4], labels.subarray(0, 4)));
    expect(() => loadMnist(d, 'train')).toThrow(/5 images but .* has 4 labels/);
    expect(() => loadDataset(join(dir, 'nothing-here'), 'train')).toThrow(/no such file or directory/);
  });

  const real = [join(import.meta.dirname, '..', '..', 'shared', 'data', 'mnist'), '/work/shared/data/mnist'].find((p) => existsSync(p));
  it.skipIf(!real)('reads the real MNIST files: 60000 + 10000 images of 784 pixels, the known label counts', () => {
    const train = loadMnist(real!, 'train');
    const test = loadMnist(real!, 'test');
    expect([train.count, train.dim, train.classes, test.count, test.dim, test.classes]).toEqual([60000, 784, 10, 10000, 784, 10]);
    const histogram = (l: Int32Array) => l.reduce((h, c) => (h[c]++, h), new Array<number>(10).fill(0));
    // The class counts published with MNIST.
    expect(histogram(train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(histogram(test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.features) [min, max] = [Math.min(min, v), Math.max(max, v)];
    expect([min, max]).toEqual([0, 1]);
  });
});

describe('CIFAR-10 binary', () => {
  const record = (label: number, seed: number) => Uint8Array.from({ length: 3073 }, (_, k) => (k === 0 ? label : (k * seed) % 251));
  it.concurrent('reads every data_batch_*.bin in order, a label byte then the R, G, B planes', () => {
    const d = join(dir, 'cifar');
    mkdirSync(d);
    writeFileSync(join(d, 'data_batch_1.bin'), new Uint8Array([...record(7, 3), ...record(2, 5)]));
    writeFileSync(join(d, 'data_batch_2.bin'), record(9, 11));
    writeFileSync(join(d, 'test_batch.bin'), record(0, 13));
    const train = loadDataset(d, 'train');
    expect([train.count, train.dim, train.name]).toEqual([3, 3072, 'cifar10-train']);
    expect(Array.from(train.labels)).toEqual([7, 2, 9]);
    // Row 1 (the second record), blue plane, pixel 5: byte 1 + 2·1024 + 5 of that record.
    expect(train.features[3072 + 2048 + 5]).toBeCloseTo(((1 + 2048 + 5) * 5) % 251 / 255, 7);
    const test = loadCifar10(d, 'test');
    expect([test.count, Array.from(test.labels)]).toEqual([1, [0]]);
    writeFileSync(join(d, 'data_batch_3.bin'), new Uint8Array(3000));
    expect(() => loadCifar10(d, 'train')).toThrow(/3000 bytes is not a whole number of CIFAR-10 records \(3073 bytes each\)/);
    expect(() => loadCifar10(join(dir, 'mnist-raw'), 'test')).toThrow(/expected test_batch\.bin/);
  });
});

describe('NumPy .npy and .npz', () => {
  const values = [1.5, -2.25, 3, 0, 7.125, -0.5];
  const cases: [string, ArrayBufferView][] = [
    ['<f4', Float32Array.from(values)],
    ['<f8', Float64Array.from(values)],
    ['<i8', BigInt64Array.from([5n, -3n, 0n, 7n, 1n, 2n])],
    ['|u1', Uint8Array.from([0, 255, 3, 4, 5, 6])],
  ];
  for (const [descr, data] of cases)
    it.concurrent(`reads ${descr} in C order`, () => {
      const a = parseNpy(npy(descr, [2, 3], bytesOf(data)), descr);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual(Array.from(data as unknown as ArrayLike<number | bigint>, Number));
    });

  it.concurrent('rejects Fortran order, big-endian and unsupported dtypes with what to do instead', () => {
    expect(() => parseNpy(npy('<f8', [2, 3], bytesOf(Float64Array.from(values)), true), 'a.npy')).toThrow(/Fortran order; save it in C order/);
    expect(() => parseNpy(npy('>f8', [2, 3], bytesOf(Float64Array.from(values))), 'a.npy')).toThrow(/dtype ">f8" is not supported; expected a little-endian/);
    expect(() => parseNpy(npy('<c16', [1], new Uint8Array(16)), 'a.npy')).toThrow(/dtype "<c16" is not supported/);
    expect(() => parseNpy(npy('<f8', [4, 3], bytesOf(Float64Array.from(values))), 'a.npy')).toThrow(/needs 96 bytes of data, the file has 48/);
    expect(() => parseNpy(new Uint8Array(20), 'a.npy')).toThrow(/not a \.npy file/);
  });

  it.concurrent('loads features and labels from a .npy pair and from a .npz archive', () => {
    const x = write('x.npy', npy('<f4', [3, 2], bytesOf(Float32Array.from(values))));
    const y = write('y.npy', npy('<i8', [3], bytesOf(BigInt64Array.from([1n, 0n, 2n]))));
    const d = loadNpy(x, y);
    expect([d.count, d.dim, d.classes, Array.from(d.labels)]).toEqual([3, 2, 3, [1, 0, 2]]);
    expect(Array.from(d.features)).toEqual(values);
    expect(loadDataset(`${x},${y}`, 'test').count).toBe(3);
    const bad = write('ybad.npy', npy('<f8', [3], bytesOf(Float64Array.from([1, 0.5, 2]))));
    expect(() => loadNpy(x, bad)).toThrow(/label 0\.5 at row 1 is not a class index/);
    const short = write('yshort.npy', npy('|u1', [2], Uint8Array.from([1, 0])));
    expect(() => loadDataset(`${x},${short}`, 'train')).toThrow(/2 labels for 3 feature rows/);

    const archive = write('d.npz', zipSync({
      'x_train.npy': npy('<f4', [3, 2], bytesOf(Float32Array.from(values))),
      'y_train.npy': npy('|u1', [3], Uint8Array.from([0, 1, 1])),
      'x_test.npy': npy('<f8', [1, 2], bytesOf(Float64Array.from([9, 8]))),
      'y_test.npy': npy('|u1', [1], Uint8Array.from([1])),
    }));
    expect(readNpz(archive).size).toBe(4);
    const train = loadDataset(archive, 'train');
    const test = loadDataset(archive, 'test');
    expect([train.count, test.count, Array.from(test.features)]).toEqual([3, 1, [9, 8]]);
  });

  const numpy = pythonHas('python3', ['numpy']);
  it.skipIf(!numpy)('reads what numpy.save and numpy.savez_compressed write', () => {
    const script = `
import numpy as np, sys
d = sys.argv[1]
a = np.arange(24).reshape(2, 3, 4)
np.save(d + '/f4.npy', (a / 8).astype('<f4'))
np.save(d + '/f8.npy', (a / 3).astype('<f8'))
np.save(d + '/i8.npy', (a - 12).astype('<i8'))
np.save(d + '/u1.npy', a.astype('|u1'))
np.save(d + '/fortran.npy', np.asfortranarray(a.astype('<f8')))
np.savez_compressed(d + '/z.npz', x=(a.reshape(6, 4) / 8).astype('<f4'), y=np.array([0, 1, 2, 0, 1, 2]))
`;
    const d = join(dir, 'numpy');
    mkdirSync(d);
    execFileSync('python3', ['-c', script, d]);
    const expected = Array.from({ length: 24 }, (_, k) => k);
    const read = (name: string) => parseNpy(readFileSync(join(d, name)), name);
    expect(read('f4.npy').shape).toEqual([2, 3, 4]);
    expect(Array.from(read('f4.npy').data)).toEqual(expected.map((k) => Math.fround(k / 8)));
    expect(Array.from(read('f8.npy').data)).toEqual(expected.map((k) => k / 3));
    expect(Array.from(read('i8.npy').data)).toEqual(expected.map((k) => k - 12));
    expect(Array.from(read('u1.npy').data)).toEqual(expected);
    expect(() => read('fortran.npy')).toThrow(/Fortran order/);
    const z = loadDataset(join(d, 'z.npz'), 'train');
    expect([z.count, z.dim, Array.from(z.labels)]).toEqual([6, 4, [0, 1, 2, 0, 1, 2]]);
  });
});
