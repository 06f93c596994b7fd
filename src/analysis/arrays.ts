/**
 * Numeric arrays from the files other frameworks write: NumPy .npy and .npz, and safetensors.
 * Values come back as float32 (from float32 storage) or float64 (everything else), C order.
 */
import { unzipSync } from 'fflate';
import { InputError } from '../../symbolic/errors.ts';
import { readInputFile } from '../io.ts';

export interface NumericArray {
  readonly shape: readonly number[];
  /** Row-major (C order) values. */
  readonly data: Float32Array | Float64Array;
  /** The stored element type as the file names it (e.g. '<f4', 'F32'). */
  readonly dtype: string;
}

/** Element types a reader understands: bytes per element and how to read one (little-endian). */
interface ElementType {
  readonly size: number;
  read(view: DataView, offset: number): number;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function int64(view: DataView, offset: number, unsigned: boolean): number {
  const v = unsigned ? view.getBigUint64(offset, true) : view.getBigInt64(offset, true);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InputError(`a 64-bit integer ${v} is too large to represent exactly as a double`);
  return n;
}

const ELEMENT_TYPES: Readonly<Record<string, ElementType>> = {
  f2: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  f4: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  f8: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  bf16: { size: 2, read: (v, o) => new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0] },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  i2: { size: 2, read: (v, o) => v.getInt16(o, true) },
  i4: { size: 4, read: (v, o) => v.getInt32(o, true) },
  i8: { size: 8, read: (v, o) => int64(v, o, false) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o) => v.getUint16(o, true) },
  u4: { size: 4, read: (v, o) => v.getUint32(o, true) },
  u8: { size: 8, read: (v, o) => int64(v, o, true) },
  b1: { size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0) },
};

/** Decode `count` elements of `type` starting at `offset`. */
function decode(bytes: Uint8Array, offset: number, count: number, type: string): Float32Array | Float64Array {
  const t = ELEMENT_TYPES[type];
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * t.size);
  if (type === 'f4') {
    const out = new Float32Array(count);
    for (let k = 0; k < count; k++) out[k] = view.getFloat32(4 * k, true);
    return out;
  }
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) out[k] = t.read(view, k * t.size);
  return out;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The header dictionary of a .npy file: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. */
function parseNpyHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new InputError(`${where}: unreadable .npy header ${JSON.stringify(text.trim())}; expected descr, fortran_order and shape`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) throw new InputError(`${where}: shape entry "${s}" is not a size`);
      return n;
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** Parse the bytes of a .npy file (format versions 1, 2 and 3). */
export function parseNpy(bytes: Uint8Array, where: string): NumericArray {
  if (bytes.length < 10 || !NPY_MAGIC.every((b, k) => bytes[k] === b)) throw new InputError(`${where} is not a .npy file (it does not start with \\x93NUMPY)`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3) throw new InputError(`${where}: .npy format version ${major} is not supported (1, 2 or 3)`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const { descr, fortran, shape } = parseNpyHeader(header, where);
  if (fortran)
    throw new InputError(`${where}: the array is stored in Fortran order; save it in C order (numpy.save(path, numpy.ascontiguousarray(a)))`);
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const type = m?.[2];
  const bigEndian = m?.[1] === '>' && type !== undefined && ELEMENT_TYPES[type]?.size > 1;
  if (!m || !type || !(type in ELEMENT_TYPES) || type === 'bf16' || bigEndian)
    throw new InputError(
      `${where}: dtype "${descr}" is not supported; expected a little-endian number type: <f2 <f4 <f8, |i1 <i2 <i4 <i8, |u1 <u2 <u4 <u8 or |b1 (convert with a.astype(numpy.float32))`,
    );
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  const need = count * ELEMENT_TYPES[type].size;
  if (bytes.length - dataStart < need) throw new InputError(`${where}: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes of data, the file has ${bytes.length - dataStart}`);
  return { shape, data: decode(bytes, dataStart, count, type), dtype: descr };
}

/**
 * A .npy file (format version 1.0) of little-endian float64 in C order: what numpy.load reads back
 * bit for bit. The header is padded with spaces so the data starts at a multiple of 64 bytes.
 */
export function formatNpy(data: Float64Array, shape: readonly number[]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new RangeError(`shape (${shape.join(', ')}) does not hold ${data.length} numbers`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${dims}), }`;
  const padded = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const bytes = new Uint8Array(10 + padded.length + 8 * data.length);
  bytes.set(NPY_MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  view.setUint16(8, padded.length, true);
  for (let k = 0; k < padded.length; k++) bytes[10 + k] = padded.charCodeAt(k);
  for (let k = 0; k < data.length; k++) view.setFloat64(10 + padded.length + 8 * k, data[k], true);
  return bytes;
}

export function readNpy(path: string): NumericArray {
  return parseNpy(readInputFile(path, '.npy file'), path);
}

/** The arrays of a .npz archive (numpy.savez or savez_compressed), by name without ".npy". */
export function parseNpz(bytes: Uint8Array, where: string): Map<string, NumericArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (err) {
    throw new InputError(`${where} is not a readable .npz (zip) archive: ${(err as Error).message}`);
  }
  const out = new Map<string, NumericArray>();
  for (const [name, content] of Object.entries(files)) {
    if (!name.endsWith('.npy')) continue;
    out.set(name.slice(0, -4), parseNpy(content, `${where}:${name}`));
  }
  if (out.size === 0) throw new InputError(`${where}: the archive holds no .npy arrays`);
  return out;
}

export function readNpz(path: string): Map<string, NumericArray> {
  return parseNpz(readInputFile(path, '.npz file'), path);
}

const SAFETENSORS_TYPES: Readonly<Record<string, string>> = {
  F16: 'f2', BF16: 'bf16', F32: 'f4', F64: 'f8', I8: 'i1', I16: 'i2', I32: 'i4', I64: 'i8', U8: 'u1', U16: 'u2', U32: 'u4', U64: 'u8', BOOL: 'b1',
};

/**
 * safetensors: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}, then the data.
 * Returns the tensors in the order of their data offsets (the order they were written).
 */
export function parseSafetensors(bytes: Uint8Array, where: string): Map<string, NumericArray> {
  if (bytes.length < 8) throw new InputError(`${where} is not a safetensors file (shorter than its 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw new InputError(`${where} is not a safetensors file (header length ${headerLength} exceeds the file)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new InputError(`${where} is not a safetensors file (its header is not JSON)`);
  }
  const base = 8 + headerLength;
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  const out = new Map<string, NumericArray>();
  for (const [name, t] of entries) {
    const type = SAFETENSORS_TYPES[t.dtype];
    if (!type) throw new InputError(`${where}: tensor "${name}" has dtype ${t.dtype}; supported: ${Object.keys(SAFETENSORS_TYPES).join(', ')}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = t.data_offsets;
    if (end - begin !== count * ELEMENT_TYPES[type].size || base + end > bytes.length)
      throw new InputError(`${where}: tensor "${name}" (${t.dtype}, shape [${t.shape.join(', ')}]) has data offsets [${begin}, ${end}] that do not fit its size or the file`);
    out.set(name, { shape: t.shape, data: decode(bytes, base + begin, count, type), dtype: t.dtype });
  }
  return out;
}

export function readSafetensors(path: string): Map<string, NumericArray> {
  return parseSafetensors(readInputFile(path, 'safetensors file'), path);
}
