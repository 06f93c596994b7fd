/**
 * Cumulants of a random vector of width N, stored densely: order 1 is the mean (length N),
 * order r ≥ 2 a symmetric tensor of N^r entries in row-major order. A missing order means zero.
 */
export class Cumulants {
  constructor(
    readonly size: number,
    /** tensors[r] is the order-r cumulant; tensors[0] is unused. */
    readonly tensors: ReadonlyArray<Float64Array | undefined>,
  ) {
    tensors.forEach((t, r) => {
      if (r >= 1 && t && t.length !== size ** r) throw new Error(`order-${r} tensor has ${t.length} entries, expected ${size ** r}`);
    });
  }

  get maxOrder(): number {
    return this.tensors.length - 1;
  }
  get mean(): Float64Array {
    return this.tensors[1] ?? new Float64Array(this.size);
  }
  order(r: number): Float64Array | undefined {
    return this.tensors[r];
  }
  /** Keep orders 1…r (higher ones dropped: the truncation of docs/theory.md §Notation). */
  truncate(r: number): Cumulants {
    return new Cumulants(this.size, this.tensors.slice(0, r + 1));
  }
}

/**
 * Visit every index tuple of a dense order-r tensor in row-major order. Because the sorted
 * (non-decreasing) permutation of a tuple has the smallest offset, a symmetric tensor can be
 * filled by computing sorted tuples and copying every other tuple from its sorted twin.
 */
export function fillSymmetric(n: number, r: number, valueAt: (sortedTuple: readonly number[]) => number): Float64Array {
  const out = new Float64Array(n ** r);
  const tuple = new Array<number>(r).fill(0);
  const sorted = new Array<number>(r);
  for (let offset = 0; offset < out.length; offset++) {
    let isSorted = true;
    for (let k = 1; k < r; k++) if (tuple[k] < tuple[k - 1]) isSorted = false;
    if (isSorted) out[offset] = valueAt(tuple);
    else {
      for (let k = 0; k < r; k++) sorted[k] = tuple[k];
      sorted.sort((a, b) => a - b);
      out[offset] = out[offsetOf(sorted, n)];
    }
    for (let k = r - 1; k >= 0; k--) {
      if (++tuple[k] < n) break;
      tuple[k] = 0;
    }
  }
  return out;
}

/** Visit every non-decreasing index tuple of length r over 0…n−1 (the unique entries of a symmetric tensor). */
export function forEachSortedTuple(n: number, r: number, visit: (tuple: readonly number[]) => void): void {
  const tuple = new Array<number>(r).fill(0);
  const rec = (k: number, from: number) => {
    if (k === r) return visit(tuple);
    for (let i = from; i < n; i++) {
      tuple[k] = i;
      rec(k + 1, i);
    }
  };
  rec(0, 0);
}

export function offsetOf(tuple: readonly number[], n: number): number {
  let o = 0;
  for (const i of tuple) o = o * n + i;
  return o;
}

/** Largest |T[π(t)] − T[t]| over transpositions of adjacent indices, relative to max |T|, and where. */
export function asymmetry(t: Float64Array, n: number, r: number): { relative: number; at: number[] } {
  let worst = 0;
  let at: number[] = [];
  let scale = 0;
  for (const v of t) scale = Math.max(scale, Math.abs(v));
  if (r < 2 || scale === 0) return { relative: 0, at };
  const tuple = new Array<number>(r).fill(0);
  for (let offset = 0; offset < t.length; offset++) {
    for (let k = 0; k + 1 < r; k++) {
      if (tuple[k] === tuple[k + 1]) continue;
      const swapped = [...tuple];
      [swapped[k], swapped[k + 1]] = [swapped[k + 1], swapped[k]];
      const d = Math.abs(t[offset] - t[offsetOf(swapped, n)]);
      if (d > worst) {
        worst = d;
        at = [...tuple];
      }
    }
    for (let k = r - 1; k >= 0; k--) {
      if (++tuple[k] < n) break;
      tuple[k] = 0;
    }
  }
  return { relative: worst / scale, at };
}

/**
 * Mode-k product: contract axis k of a dense tensor with W (rows × cols, row-major), axis k of
 * length cols becoming rows. dims are the current axis lengths.
 */
export function modeProduct(t: Float64Array, dims: readonly number[], k: number, w: Float64Array, rows: number, cols: number): Float64Array {
  if (dims[k] !== cols) throw new Error(`mode product: axis ${k} has length ${dims[k]}, W has ${cols} columns`);
  let before = 1;
  for (let a = 0; a < k; a++) before *= dims[a];
  let after = 1;
  for (let a = k + 1; a < dims.length; a++) after *= dims[a];
  const out = new Float64Array(before * rows * after);
  for (let a = 0; a < before; a++) {
    const inBase = a * cols * after;
    const outBase = a * rows * after;
    for (let o = 0; o < rows; o++) {
      const outRow = outBase + o * after;
      for (let i = 0; i < cols; i++) {
        const wi = w[o * cols + i];
        if (wi === 0) continue;
        const inRow = inBase + i * after;
        for (let b = 0; b < after; b++) out[outRow + b] += wi * t[inRow + b];
      }
    }
  }
  return out;
}

/**
 * Cumulants of z = W x + b (docs/theory.md §Affine layers): μ' = Wμ + b, and for order r the r-fold mode product
 * κ'_{a1…ar} = Σ W_{a1 i1}…W_{ar ir} κ_{i1…ir}, as r successive mode products (never W⊗…⊗W).
 */
export function affineCumulants(input: Cumulants, w: Float64Array, rows: number, bias: Float64Array, maxOrder: number): Cumulants {
  const cols = input.size;
  const tensors: (Float64Array | undefined)[] = [undefined];
  const mean = modeProduct(input.mean, [cols], 0, w, rows, cols);
  for (let o = 0; o < rows; o++) mean[o] += bias[o];
  tensors.push(mean);
  for (let r = 2; r <= maxOrder; r++) {
    let t = input.order(r);
    if (t) {
      const dims = new Array<number>(r).fill(cols);
      for (let k = 0; k < r; k++) {
        t = modeProduct(t, dims, k, w, rows, cols);
        dims[k] = rows;
      }
      // Successive mode products sum in different orders for permuted entries; keep them identical.
      const raw = t;
      t = fillSymmetric(rows, r, (tuple) => raw[offsetOf(tuple, rows)]);
    }
    tensors.push(t);
  }
  return new Cumulants(rows, tensors);
}
