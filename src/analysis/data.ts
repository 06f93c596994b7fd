/**
 * Labelled data sets for training and analysis: MNIST (IDX), CIFAR-10 (binary batches) and NumPy
 * arrays (.npy pairs or one .npz). Every reader returns features as float32 rows scaled to [0, 1]
 * (images) or as stored (NumPy), and labels as 0…classes−1.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../symbolic/errors.ts';
import { readNpy, readNpz, type NumericArray } from './arrays.ts';

export interface Dataset {
  /** Row-major, count × dim. */
  readonly features: Float32Array;
  /** count labels, values 0…classes−1. */
  readonly labels: Int32Array;
  readonly count: number;
  readonly dim: number;
  readonly classes: number;
  /** e.g. 'mnist-train'. */
  readonly name: string;
}

export type Split = 'train' | 'test';

/** Bytes of a file, gunzipped when it is gzip (magic 1f 8b). */
function readMaybeGzip(path: string): Buffer {
  const bytes = readFileSync(path);
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/** The first of `names` (each also with .gz) that exists in dir. */
function findFile(dir: string, names: readonly string[]): string | undefined {
  for (const name of names) for (const candidate of [name, `${name}.gz`]) if (existsSync(join(dir, candidate))) return join(dir, candidate);
  return undefined;
}

/** IDX: magic 0 0 type ndim, ndim big-endian uint32 sizes, then the data (type 0x08 = ubyte). */
export function parseIdx(bytes: Uint8Array, where: string): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new InputError(`${where} is not an IDX file (the first two bytes must be 0)`);
  if (bytes[2] !== 0x08) throw new InputError(`${where}: IDX element type 0x${bytes[2].toString(16)} is not supported; MNIST files store unsigned bytes (0x08)`);
  const ndim = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * ndim) throw new InputError(`${where}: truncated IDX header`);
  const dims = Array.from({ length: ndim }, (_, k) => view.getUint32(4 + 4 * k, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length - start !== size)
    throw new InputError(`${where}: the header says ${dims.join('×')} = ${size} bytes of data, the file has ${bytes.length - start}`);
  return { dims, data: bytes.subarray(start) };
}

const MNIST_FILES: Readonly<Record<Split, { images: string; labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

function mnistNames(split: Split): string[] {
  const f = MNIST_FILES[split];
  // Some mirrors write the dot before idx: train-images.idx3-ubyte.
  return [f.images, f.images.replace('-idx', '.idx'), f.labels, f.labels.replace('-idx', '.idx')];
}

/** MNIST from its four IDX files (raw or .gz) in dir; pixels scaled to [0, 1]. */
export function loadMnist(dir: string, split: Split): Dataset {
  const f = MNIST_FILES[split];
  const [images, , labelsName] = mnistNames(split);
  const imagesPath = findFile(dir, [images, images.replace('-idx', '.idx')]);
  const labelsPath = findFile(dir, [labelsName, labelsName.replace('-idx', '.idx')]);
  if (!imagesPath || !labelsPath)
    throw new InputError(
      `no MNIST ${split} split in "${dir}": expected ${f.images}[.gz] and ${f.labels}[.gz] (and the same for ${split === 'train' ? 'test: t10k-…' : 'train: train-…'})`,
    );
  const img = parseIdx(readMaybeGzip(imagesPath), imagesPath);
  const lab = parseIdx(readMaybeGzip(labelsPath), labelsPath);
  if (img.dims.length !== 3) throw new InputError(`${imagesPath}: expected 3 dimensions (count × rows × columns), got ${img.dims.length}`);
  if (lab.dims.length !== 1) throw new InputError(`${labelsPath}: expected 1 dimension (count), got ${lab.dims.length}`);
  if (img.dims[0] !== lab.dims[0]) throw new InputError(`${imagesPath} has ${img.dims[0]} images but ${labelsPath} has ${lab.dims[0]} labels`);
  const [count, rows, cols] = img.dims;
  return fromBytes(img.data, Int32Array.from(lab.data), count, rows * cols, `mnist-${split}`, labelsPath);
}

/** Images of the ten-class sets (MNIST, CIFAR-10): pixels scaled to [0, 1], labels checked to be 0…9. */
function fromBytes(pixels: Uint8Array, labels: Int32Array, count: number, dim: number, name: string, where: string): Dataset {
  const features = new Float32Array(count * dim);
  for (let k = 0; k < features.length; k++) features[k] = pixels[k] / 255;
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) throw new InputError(`${where}: label ${labels[bad]} at example ${bad} is out of range 0…9`);
  return { features, labels, count, dim, classes: 10, name };
}

function classCount(labels: Int32Array, where: string): number {
  let max = -1;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0) throw new InputError(`${where}: label ${l} is not a class index 0, 1, 2, …`);
    if (l > max) max = l;
  }
  if (max < 1) throw new InputError(`${where}: every label is ${max}; a classification needs at least two classes`);
  return max + 1;
}

const CIFAR_RECORD = 1 + 3 * 32 * 32;

/** CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32×32). */
export function loadCifar10(dir: string, split: Split): Dataset {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => (split === 'train' ? /^data_batch_\d+\.bin$/.test(f) : f === 'test_batch.bin')).sort();
  } catch {
    throw new InputError(`cannot read the CIFAR-10 directory "${dir}"`);
  }
  if (files.length === 0)
    throw new InputError(`no CIFAR-10 ${split} split in "${dir}": expected ${split === 'train' ? 'data_batch_1.bin … data_batch_5.bin' : 'test_batch.bin'} (the binary version of CIFAR-10)`);
  const parts = files.map((f) => {
    const bytes = readFileSync(join(dir, f));
    if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0)
      throw new InputError(`${join(dir, f)}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each)`);
    return bytes;
  });
  const count = parts.reduce((a, p) => a + p.length / CIFAR_RECORD, 0);
  const dim = CIFAR_RECORD - 1;
  const pixels = new Uint8Array(count * dim);
  const labels = new Int32Array(count);
  let row = 0;
  for (const p of parts)
    for (let off = 0; off < p.length; off += CIFAR_RECORD, row++) {
      labels[row] = p[off];
      pixels.set(p.subarray(off + 1, off + CIFAR_RECORD), row * dim);
    }
  return fromBytes(pixels, labels, count, dim, `cifar10-${split}`, dir);
}

function featureRows(a: NumericArray, where: string): { features: Float32Array; count: number; dim: number } {
  if (a.shape.length < 1) throw new InputError(`${where}: features must have at least one axis (count × …), got a scalar`);
  const count = a.shape[0];
  const dim = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return { features: Float32Array.from(a.data), count, dim };
}

function labelVector(a: NumericArray, count: number, where: string): Int32Array {
  if (a.shape.length !== 1 && !(a.shape.length === 2 && a.shape[1] === 1))
    throw new InputError(`${where}: labels must be a vector of class indices, got shape (${a.shape.join(', ')})`);
  if (a.shape[0] !== count) throw new InputError(`${where}: ${a.shape[0]} labels for ${count} feature rows`);
  const out = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const v = Number(a.data[k]);
    if (!Number.isInteger(v) || v < 0) throw new InputError(`${where}: label ${v} at row ${k} is not a class index 0, 1, 2, …`);
    out[k] = v;
  }
  return out;
}

/**
 * Features and labels from NumPy files: two .npy files, or one .npz (then `labels` is unused and
 * the archive holds x/y, features/labels or X/Y for the features and labels).
 */
export function loadNpy(features: string, labels: string): Dataset {
  if (features.endsWith('.npz')) {
    const arrays = readNpz(features);
    const pick = (names: string[], what: string) => {
      const key = names.find((k) => arrays.has(k));
      if (!key) throw new InputError(`${features}: no ${what} array; expected one of ${names.join(', ')} (found ${[...arrays.keys()].join(', ') || 'none'})`);
      return arrays.get(key)!;
    };
    const x = featureRows(pick(['x', 'X', 'features', 'data', 'images'], 'features'), features);
    const y = labelVector(pick(['y', 'Y', 'labels', 'targets', 'label'], 'labels'), x.count, features);
    return { ...x, labels: y, classes: classCount(y, features), name: features };
  }
  const x = featureRows(readNpy(features), features);
  const y = labelVector(readNpy(labels), x.count, labels);
  return { ...x, labels: y, classes: classCount(y, labels), name: features };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The --data argument: a directory holding MNIST (IDX) or CIFAR-10 (binary) files, recognised by
 * their names; "features.npy,labels.npy" (test split: a second pair after a semicolon, or
 * "…_train.npy" → "…_test.npy"); or one .npz (keys x_train/y_train/x_test/y_test, or x/y).
 */
export function loadDataset(spec: string, split: Split): Dataset {
  if (isDirectory(spec)) {
    if (findFile(spec, mnistNames('train').slice(0, 1)) || findFile(spec, mnistNames('test').slice(0, 1))) return loadMnist(spec, split);
    if (existsSync(join(spec, 'test_batch.bin')) || existsSync(join(spec, 'data_batch_1.bin'))) return loadCifar10(spec, split);
    throw new InputError(
      `"${spec}" holds neither MNIST (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) nor CIFAR-10 (data_batch_1.bin … data_batch_5.bin, test_batch.bin)`,
    );
  }
  if (spec.endsWith('.npz')) {
    if (!existsSync(spec)) throw new InputError(`--data "${spec}": no such file`);
    const arrays = readNpz(spec);
    const suffix = `_${split}`;
    if (arrays.has(`x${suffix}`) && arrays.has(`y${suffix}`)) {
      const x = featureRows(arrays.get(`x${suffix}`)!, spec);
      const y = labelVector(arrays.get(`y${suffix}`)!, x.count, spec);
      return { ...x, labels: y, classes: classCount(y, spec), name: `${spec}:${split}` };
    }
    return loadNpy(spec, spec);
  }
  if (!spec.includes(',') && !existsSync(spec)) throw new InputError(`--data "${spec}": no such file or directory`);
  const pairs = spec.split(';');
  const pair = (pairs.length > 1 ? pairs[split === 'train' ? 0 : 1] : pairs[0]).split(',');
  if (pair.length !== 2 || !pair.every((p) => p.endsWith('.npy')))
    throw new InputError(
      `--data "${spec}": expected a directory with MNIST or CIFAR-10 files, a .npz file, or features.npy,labels.npy (a test pair after ";")`,
    );
  let [xPath, yPath] = pair;
  if (pairs.length === 1 && split === 'test' && /_train\.npy$/.test(xPath)) {
    const tx = xPath.replace(/_train\.npy$/, '_test.npy');
    const ty = yPath.replace(/_train\.npy$/, '_test.npy');
    if (existsSync(tx) && existsSync(ty)) [xPath, yPath] = [tx, ty];
  }
  for (const p of [xPath, yPath]) if (!existsSync(p)) throw new InputError(`--data: "${p}": no such file`);
  return loadNpy(xPath, yPath);
}

/** The first `count` examples of a data set (all of them when it has fewer). */
export function firstRows(data: Dataset, count: number): Dataset {
  const n = Math.min(count, data.count);
  const labels = data.labels.subarray(0, n);
  return { ...data, count: n, features: data.features.subarray(0, n * data.dim), labels, name: `${data.name}[:${n}]` };
}
