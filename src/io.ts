import { readFileSync } from 'node:fs';
import { InputError } from '../symbolic/errors.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { makeLayer, type Layer, type Network } from '../numeric/network.ts';
import { Cumulants, asymmetry } from '../numeric/tensor.ts';
import { semidefiniteness } from '../numeric/linalg.ts';
import { distributionCumulants, type InputDistribution } from '../numeric/simulate.ts';
import { MAX_ESTIMATED_ORDER } from '../numeric/powersums.ts';

/** Names of the cumulant orders in stats files (docs/theory.md §Notation): mean, cov, k3, k4, … */
export const ORDER_KEYS = ['', 'mean', 'cov', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'] as const;
const MAX_FILE_ORDER = ORDER_KEYS.length - 1;

/** The bytes of an input file; a file that cannot be read is bad input, said in one line. */
export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new InputError(`cannot read ${what} "${path}": ${why}`);
  }
}

export function readJson(path: string, what: string): unknown {
  return parseJson(readInputFile(path, what).toString('utf8'), `${what} "${path}"`);
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const special = /(?<![\w"])(NaN|-?Infinity)(?![\w"])/.exec(text);
    if (special) {
      const { line, column } = lineColumn(text, special.index);
      throw new InputError(`${what}: ${special[1]} at line ${line} column ${column} is not allowed; every entry must be a finite number`);
    }
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    const near = text.slice(offset, offset + 12).split('\n')[0];
    throw new InputError(`${what}: invalid JSON at line ${line} column ${column}${near ? ` near ${JSON.stringify(near)}` : ' (unexpected end)'}`);
  }
}

/** Offset of the first character a JSON parser cannot accept (JSON.parse does not always say). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  class Stop {
    constructor(readonly at: number) {}
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const expect = (ch: string) => {
    if (text[i] !== ch) throw new Stop(i);
    i++;
  };
  // An object or array after its opening bracket: items separated by commas, then `close`.
  const items = (close: string, item: () => void): void => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (text[i] === ',') i++;
      else return expect(close);
    }
  };
  const member = () => {
    ws();
    string();
    ws();
    expect(':');
    value();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') return items('}', member);
    if (c === '[') return items(']', value);
    if (c === '"') return string();
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!lit) throw new Stop(i);
    i += lit[0].length;
  };
  const string = () => {
    if (text[i] !== '"') throw new Stop(i);
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) throw new Stop(i);
    i += m[0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (e) {
    if (e instanceof Stop) return e.at;
    throw e;
  }
}

function lineColumn(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v);
  return typeof v === 'object' ? 'an object' : String(v);
}

/** A nested array of depth `depth`, every level of length n (or `dims`), as a dense row-major array. */
export function denseArray(value: unknown, dims: readonly number[], path: string): Float64Array {
  const total = dims.reduce((a, b) => a * b, 1);
  const out = new Float64Array(total);
  let k = 0;
  const walk = (v: unknown, level: number, at: string) => {
    if (level === dims.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${at} is ${describe(v)}; expected a finite number`);
      out[k++] = v;
      return;
    }
    const shape = dims.slice(level).join('×');
    if (!Array.isArray(v)) throw new InputError(`${at} is ${describe(v)}; expected a ${dims.length - level}-d array of shape ${shape}`);
    if (v.length !== dims[level]) throw new InputError(`${at} has ${v.length} entries; expected ${dims[level]} (shape ${shape})`);
    v.forEach((x, i) => walk(x, level + 1, `${at}[${i}]`));
  };
  walk(value, 0, path);
  return out;
}

/** Dense row-major data back to nested arrays (for JSON output). */
export function nestedArray(data: Float64Array, n: number, r: number): unknown {
  if (r === 0) return data[0];
  const build = (offset: number, level: number): unknown => {
    if (level === r) return data[offset];
    const stride = n ** (r - level - 1);
    return Array.from({ length: n }, (_, i) => build(offset + i * stride, level + 1));
  };
  return build(0, 0);
}

/**
 * Largest asymmetry accepted in a stats file, relative to the tensor's largest entry: float32
 * rounding of sums (a float32 backend's output) stays well below it; a wrong tensor does not.
 */
export const FLOAT32_SYMMETRY = 1e-5;

/** The symmetric part of an order-r tensor: each entry the mean over the permutations of its indices. */
export function symmetrized(t: Float64Array, n: number, r: number): Float64Array {
  if (r < 2) return Float64Array.from(t);
  const sums = new Map<number, { sum: number; count: number }>();
  const canonical = new Int32Array(t.length);
  const tuple = new Array<number>(r).fill(0);
  for (let offset = 0; offset < t.length; offset++) {
    const key = [...tuple].sort((a, b) => a - b).reduce((o, i) => o * n + i, 0);
    canonical[offset] = key;
    const acc = sums.get(key);
    if (acc) {
      acc.sum += t[offset];
      acc.count++;
    } else sums.set(key, { sum: t[offset], count: 1 });
    for (let k = r - 1; k >= 0; k--) {
      if (++tuple[k] < n) break;
      tuple[k] = 0;
    }
  }
  return Float64Array.from(canonical, (key) => {
    const acc = sums.get(key)!;
    return acc.sum / acc.count;
  });
}

/**
 * Read and check input statistics: mean, covariance (symmetric, PSD) and optional k3…k8
 * (symmetric). Tensors symmetric only to float32 rounding are replaced by their symmetric part,
 * with a note pushed to `notes`.
 */
export function statsFromJson(json: unknown, where: string, notes?: string[]): Cumulants {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InputError(`${where}: expected an object {"mean": […], "cov": [[…]], "k3": …}, got ${describe(json)}`);
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj))
    if (!(ORDER_KEYS as readonly string[]).includes(key) || key === '')
      throw new InputError(`${where}: unknown key "${key}"; expected ${ORDER_KEYS.slice(1).join(', ')}`);
  if (!Array.isArray(obj.mean) || obj.mean.length === 0) throw new InputError(`${where}: "mean" must be a non-empty array of numbers, got ${describe(obj.mean)}`);
  if (obj.cov === undefined) throw new InputError(`${where}: "cov" is missing; give the covariance as an N×N array (zeros for a deterministic input)`);
  const n = obj.mean.length;
  const tensors: (Float64Array | undefined)[] = [undefined, denseArray(obj.mean, [n], `${where}: mean`)];
  for (let r = 2; r <= MAX_FILE_ORDER; r++) {
    const key = ORDER_KEYS[r];
    if (obj[key] === undefined) {
      tensors.push(undefined);
      continue;
    }
    const t = denseArray(obj[key], new Array<number>(r).fill(n), `${where}: ${key}`);
    const asym = asymmetry(t, n, r);
    if (asym.relative > FLOAT32_SYMMETRY)
      throw new InputError(
        `${where}: ${key} is not symmetric (entry [${asym.at.join('][')}] differs from a transposed entry by ${asym.relative.toExponential(2)} of the largest entry; at most ${FLOAT32_SYMMETRY} is accepted); cumulant tensors are symmetric`,
      );
    if (asym.relative > 0) {
      // Within float32 rounding (a float32 backend's output read back): use the symmetric part.
      if (asym.relative > 1e-12) notes?.push(`${where}: ${key} is symmetric only to ${asym.relative.toExponential(1)} of its largest entry (float32 rounding); its symmetric part is used`);
      tensors.push(symmetrized(t, n, r));
    } else tensors.push(t);
  }
  while (tensors.length > 2 && tensors[tensors.length - 1] === undefined) tensors.pop();
  checkPsd(tensors[2]!, n, `${where}: cov`);
  return new Cumulants(n, tensors);
}

function checkPsd(cov: Float64Array, n: number, where: string): void {
  const { semidefinite, lambda } = semidefiniteness(cov, n);
  if (!semidefinite)
    throw new InputError(`${where} is not positive semidefinite (smallest eigenvalue ${lambda.toPrecision(3)}); a covariance must have no negative eigenvalues`);
}

/** Read and check a network: {"layers": [{"weight": [[…]], "bias": […], "activation": "…", "params": {…}}]}. */
export function networkFromJson(json: unknown, where: string, inputSize?: number): Network {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { layers?: unknown }).layers))
    throw new InputError(`${where}: expected {"layers": [{"weight": [[…]], "bias": […], "activation": "z + a*z^2"}, …]}`);
  for (const key of Object.keys(json)) if (key !== 'layers') throw new InputError(`${where}: unknown key "${key}"; a network file holds only "layers"`);
  const list = (json as { layers: unknown[] }).layers;
  if (list.length === 0) throw new InputError(`${where}: "layers" is empty; give at least one layer`);
  const layers: Layer[] = [];
  let width = inputSize;
  list.forEach((raw, index) => {
    const at = `${where}: layers[${index}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${at} is ${describe(raw)}; expected an object with "weight"`);
    const layer = raw as Record<string, unknown>;
    for (const key of Object.keys(layer))
      if (!['weight', 'bias', 'activation', 'params'].includes(key)) throw new InputError(`${at}: unknown key "${key}"; expected weight, bias, activation, params`);
    const w = layer.weight;
    if (!Array.isArray(w) || w.length === 0 || !Array.isArray(w[0]) || (w[0] as unknown[]).length === 0)
      throw new InputError(`${at}.weight must be a non-empty 2-d array (rows are outputs), got ${describe(w)}`);
    const rows = w.length;
    const cols = (w[0] as unknown[]).length;
    if (width !== undefined && cols !== width)
      throw new InputError(
        `${at}.weight has ${cols} columns but its input has width ${width} (${index === 0 ? 'the length of the input mean' : `layer ${index - 1} has ${width} outputs`})`,
      );
    const weight = denseArray(w, [rows, cols], `${at}.weight`);
    const bias = layer.bias === undefined ? new Float64Array(rows) : denseArray(layer.bias, [rows], `${at}.bias`);
    const source = layer.activation === undefined ? 'z' : layer.activation;
    if (typeof source !== 'string') throw new InputError(`${at}.activation is ${describe(source)}; expected an expression in z such as "z + a*z^2"`);
    const params: Record<string, number> = {};
    if (layer.params !== undefined) {
      if (typeof layer.params !== 'object' || layer.params === null || Array.isArray(layer.params))
        throw new InputError(`${at}.params must be an object such as {"a": 0.5}`);
      for (const [k, v] of Object.entries(layer.params)) {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${at}.params.${k} is ${describe(v)}; expected a finite number`);
        params[k] = v;
      }
    }
    try {
      const expression = parseActivation(source, params);
      if (expression.parameters.length)
        throw new InputError(`parameter${expression.parameters.length > 1 ? 's' : ''} ${expression.parameters.join(', ')} need values in "params"`);
      layers.push(makeLayer(weight, rows, cols, bias, expression));
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`${at}.activation: ${err.message}`);
      throw err;
    }
    width = rows;
  });
  return { inputSize: inputSize ?? layers[0].cols, layers };
}

/** Cumulants as a JSON object {"mean": […], "cov": [[…]], "k3": …} up to `maxOrder`. */
export function statsToJson(c: Cumulants, maxOrder: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let r = 1; r <= maxOrder; r++) {
    const t = c.order(r) ?? new Float64Array(c.size ** r);
    // float32 kernels round the entries of a symmetric tensor differently: write its symmetric part.
    out[ORDER_KEYS[r]] = nestedArray(symmetrized(t, c.size, r), c.size, r);
  }
  return out;
}

/**
 * An input distribution that can be sampled, from a JSON object:
 * - {"mean": […], "cov": [[…]]}: Gaussian;
 * - {"mean": […], "mixing": [[…]]}: x = mean + A s with independent centred exponentials s
 *   (A is width × sources; every cumulant is known: κ_n = (n−1)! Σ_j A_{a1 j}…A_{an j});
 * - {"data": [[…], …]}: the empirical distribution of the rows (sampled with replacement).
 */
export function distributionFromJson(json: unknown, where: string): InputDistribution {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InputError(`${where}: expected an object {"mean": […], "cov": [[…]]}, {"mean": […], "mixing": [[…]]} or {"data": [[…], …]}, got ${describe(json)}`);
  const obj = json as Record<string, unknown>;
  if (obj.data !== undefined) {
    const extra = Object.keys(obj).filter((k) => k !== 'data');
    if (extra.length) throw new InputError(`${where}: "data" stands alone (the rows define the distribution); remove ${extra.map((k) => `"${k}"`).join(', ')}`);
    const rows = obj.data;
    if (!Array.isArray(rows) || rows.length < 2 || !Array.isArray(rows[0]) || (rows[0] as unknown[]).length === 0)
      throw new InputError(`${where}: "data" must be an array of at least 2 rows, each an array of numbers, got ${describe(rows)}`);
    const width = (rows[0] as unknown[]).length;
    return { kind: 'data', rows: denseArray(rows, [rows.length, width], `${where}: data`), count: rows.length, width };
  }
  if (obj.mixing !== undefined) {
    const extra = Object.keys(obj).filter((k) => k !== 'mean' && k !== 'mixing');
    if (extra.length) throw new InputError(`${where}: with "mixing" the cumulants follow from it; remove ${extra.map((k) => `"${k}"`).join(', ')}`);
    if (!Array.isArray(obj.mean) || obj.mean.length === 0) throw new InputError(`${where}: "mean" must be a non-empty array of numbers, got ${describe(obj.mean)}`);
    const n = obj.mean.length;
    const m = obj.mixing;
    if (!Array.isArray(m) || !Array.isArray(m[0]) || (m[0] as unknown[]).length === 0)
      throw new InputError(`${where}: "mixing" must be a ${n}×sources array (x = mean + A s), got ${describe(m)}`);
    const sources = (m[0] as unknown[]).length;
    return { kind: 'exponential-mixture', mean: denseArray(obj.mean, [n], `${where}: mean`), mixing: denseArray(m, [n, sources], `${where}: mixing`), sources };
  }
  const stats = statsFromJson(json, where);
  if (stats.maxOrder > 2)
    throw new InputError(
      `${where}: cannot sample a distribution given only by its cumulants (${ORDER_KEYS[stats.maxOrder]} given); give {"mean", "cov"} for a Gaussian, {"mean", "mixing"} for x = mean + A s with exponential sources, or {"data": rows}`,
    );
  return { kind: 'gaussian', mean: stats.mean, cov: stats.order(2)! };
}

/** One input distribution of a propagation: its cumulants, a name, and above which order they vanish. */
export interface NamedInput {
  readonly name: string;
  readonly cumulants: Cumulants;
  /** True cumulants above this order vanish (Infinity for data: nothing is known above its estimates). */
  readonly zeroAbove?: number;
}

/**
 * The inputs of a propagation from one file: a stats object {"mean", "cov", "k3", …}, a data set
 * {"data": rows} (its population cumulants up to order 4), or several classes {"classes": [ … ]}
 * or {"classes": {"name": …}} of either kind.
 */
export function propagationInputsFromJson(json: unknown, where: string, maxOrder: number, notes?: string[]): NamedInput[] {
  const one = (value: unknown, name: string, at: string): NamedInput => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'data' in value) {
      if (maxOrder > MAX_ESTIMATED_ORDER)
        throw new InputError(`${at}: the cumulants of a data set are computed up to order ${MAX_ESTIMATED_ORDER}; use --input-order and --output-order ≤ ${MAX_ESTIMATED_ORDER}`);
      return { name, cumulants: distributionCumulants(distributionFromJson(value, at), maxOrder), zeroAbove: Infinity };
    }
    return { name, cumulants: statsFromJson(value, at, notes) };
  };
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'classes' in json) {
    const extra = Object.keys(json).filter((k) => k !== 'classes');
    if (extra.length) throw new InputError(`${where}: "classes" stands alone; remove ${extra.map((k) => `"${k}"`).join(', ')}`);
    const classes = (json as { classes: unknown }).classes;
    const list: [string, unknown][] = Array.isArray(classes)
      ? classes.map((c, k) => [String(k + 1), c])
      : typeof classes === 'object' && classes !== null
        ? Object.entries(classes)
        : [];
    if (list.length === 0) throw new InputError(`${where}: "classes" must be a non-empty array or object of stats objects {"mean", "cov", …} or data sets {"data": rows}`);
    return list.map(([name, value]) => one(value, name, `${where}: classes[${JSON.stringify(name)}]`));
  }
  return [one(json, '', where)];
}
