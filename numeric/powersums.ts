/**
 * Mergeable Monte Carlo accumulators. A batch is summarised by its sample count, a shift vector c
 * and the power sums Σ_s Π_k (x_{s,i_k} − c_{i_k}) over sorted index tuples of orders 1…4. A run is
 * a list of batches indexed by their position in the run; merging two shards concatenates their
 * batch lists, so a run split into shards (worker threads, machines) gives bit-for-bit the
 * estimates of one run. Estimates: unbiased k-statistics per batch from the shifted power sums,
 * then the mean over batches and the batch standard error sd/√B (docs/theory.md §Monte Carlo estimators).
 */
import type { Estimate } from './montecarlo.ts';
import { Cumulants, fillSymmetric, forEachSortedTuple, offsetOf } from './tensor.ts';

export const MAX_ESTIMATED_ORDER = 4;

/** One batch: n samples, the shift c, and power sums by order (sorted-tuple layout, index 0 unused). */
export interface BatchSums {
  readonly index: number;
  readonly count: number;
  readonly shift: Float64Array;
  readonly sums: readonly Float64Array[];
}

/** Number of sorted index tuples of length r over N values: C(N + r − 1, r). */
export function sortedTupleCount(n: number, r: number): number {
  let c = 1;
  for (let k = 0; k < r; k++) c = (c * (n + k)) / (k + 1);
  return Math.round(c);
}

/** Position of each sorted tuple in the sorted-tuple layout, as a dense lookup over all N^r offsets. */
const positionCache = new Map<string, Int32Array>();
export function sortedPositions(n: number, r: number): Int32Array {
  const key = `${n}/${r}`;
  let pos = positionCache.get(key);
  if (pos) return pos;
  pos = new Int32Array(n ** r).fill(-1);
  let k = 0;
  forEachSortedTuple(n, r, (t) => (pos![offsetOf(t, n)] = k++));
  positionCache.set(key, pos);
  return pos;
}

export class PowerSums {
  private readonly batchList: BatchSums[] = [];

  constructor(
    readonly width: number,
    readonly maxOrder: number,
  ) {
    if (!(maxOrder >= 1 && maxOrder <= MAX_ESTIMATED_ORDER)) throw new RangeError(`power sums of order 1…${MAX_ESTIMATED_ORDER}, not ${maxOrder}`);
  }

  get batches(): readonly BatchSums[] {
    return this.batchList;
  }

  get samples(): number {
    return this.batchList.reduce((s, b) => s + b.count, 0);
  }

  add(batch: BatchSums): void {
    if (batch.shift.length !== this.width) throw new RangeError(`batch shift has width ${batch.shift.length}, expected ${this.width}`);
    for (let r = 1; r <= this.maxOrder; r++)
      if (batch.sums[r]?.length !== sortedTupleCount(this.width, r)) throw new RangeError(`batch power sums of order ${r} have the wrong length`);
    if (this.batchList.some((b) => b.index === batch.index)) throw new RangeError(`batch ${batch.index} is already present`);
    this.batchList.push(batch);
    this.batchList.sort((a, b) => a.index - b.index);
  }

  /** Combine with another shard of the same run (exact: the batch lists are concatenated). */
  merge(other: PowerSums): PowerSums {
    if (other.width !== this.width || other.maxOrder !== this.maxOrder) throw new RangeError('cannot merge power sums of different width or order');
    const out = new PowerSums(this.width, this.maxOrder);
    for (const b of [...this.batchList, ...other.batchList]) out.add(b);
    return out;
  }

  /**
   * Estimates of the cumulants of orders 1…maxOrder as dense symmetric tensors: per batch the
   * k-statistics (mean, k2 = n m2/(n−1), k3 = n² m3/((n−1)(n−2)),
   * k4 = n²[(n+1) m4 − (n−1) Σ_pairings m2 m2]/((n−1)(n−2)(n−3)), the sum over the three pairings),
   * then mean and standard error over batches.
   */
  estimates(): Estimate[] {
    const B = this.batchList.length;
    if (B < 2) throw new RangeError(`standard errors need at least 2 batches, have ${B}`);
    const w = this.width;
    const R = this.maxOrder;
    const sum: Float64Array[] = [];
    const sq: Float64Array[] = [];
    for (let r = 0; r <= R; r++) {
      sum.push(new Float64Array(r === 0 ? 0 : sortedTupleCount(w, r)));
      sq.push(new Float64Array(r === 0 ? 0 : sortedTupleCount(w, r)));
    }
    for (const batch of this.batchList) {
      const k = batchCumulants(batch, w, R, true);
      for (let r = 1; r <= R; r++)
        for (let e = 0; e < k[r].length; e++) {
          sum[r][e] += k[r][e];
          sq[r][e] += k[r][e] * k[r][e];
        }
    }
    const out: Estimate[] = [{ value: new Float64Array(1), standardError: new Float64Array(1) }];
    for (let r = 1; r <= R; r++) {
      const pos = sortedPositions(w, r);
      const value = sum[r].map((s) => s / B);
      const se = sq[r].map((q, e) => Math.sqrt((Math.max(q / B - value[e] ** 2, 0) * (B / (B - 1))) / B));
      out.push({ value: fillSymmetric(w, r, (t) => value[pos[offsetOf(t, w)]]), standardError: fillSymmetric(w, r, (t) => se[pos[offsetOf(t, w)]]) });
    }
    return out;
  }
}

/**
 * The exact cumulants of the finite population a batch holds (its empirical distribution: divisor
 * n, κ4 = m4 − Σ_pairings m2 m2), as dense tensors: e.g. the input cumulants of a data set.
 */
export function populationCumulants(batch: BatchSums, w: number, maxOrder: number): Cumulants {
  const c = batchCumulants(batch, w, maxOrder, false);
  return new Cumulants(w, c.map((t, r) => {
    if (r === 0) return undefined;
    const pos = sortedPositions(w, r);
    return fillSymmetric(w, r, (tuple) => t[pos[offsetOf(tuple, w)]]);
  }));
}

/**
 * Cumulants of one batch from its shifted power sums, in the sorted-tuple layout: unbiased
 * k-statistics, or (unbiased = false) the cumulants of the batch as a population.
 */
function batchCumulants(batch: BatchSums, w: number, R: number, unbiased: boolean): Float64Array[] {
  const n = batch.count;
  const S = batch.sums;
  const a = S[1].map((s) => s / n); // mean of the shifted data
  const pos = [undefined, undefined, R >= 2 ? sortedPositions(w, 2) : undefined, R >= 3 ? sortedPositions(w, 3) : undefined];
  const s2 = (i: number, j: number) => S[2][pos[2]![i <= j ? i * w + j : j * w + i]] / n;
  const s3 = (i: number, j: number, k: number) => {
    const t = [i, j, k].sort((x, y) => x - y);
    return S[3][pos[3]![(t[0] * w + t[1]) * w + t[2]]] / n;
  };
  const m2 = (i: number, j: number) => s2(i, j) - a[i] * a[j];
  const out: Float64Array[] = [new Float64Array(0), Float64Array.from(a, (v, i) => v + batch.shift[i])];
  if (R >= 2) {
    const k2 = new Float64Array(S[2].length);
    let e = 0;
    const c2 = unbiased ? n / (n - 1) : 1;
    forEachSortedTuple(w, 2, ([i, j]) => (k2[e++] = m2(i, j) * c2));
    out.push(k2);
  }
  if (R >= 3) {
    const k3 = new Float64Array(S[3].length);
    const c3 = unbiased ? (n * n) / ((n - 1) * (n - 2)) : 1;
    let e = 0;
    forEachSortedTuple(w, 3, ([i, j, k]) => {
      const m3 = S[3][e] / n - a[i] * s2(j, k) - a[j] * s2(i, k) - a[k] * s2(i, j) + 2 * a[i] * a[j] * a[k];
      k3[e++] = m3 * c3;
    });
    out.push(k3);
  }
  if (R >= 4) {
    const k4 = new Float64Array(S[4].length);
    const c = (n * n) / ((n - 1) * (n - 2) * (n - 3));
    let e = 0;
    forEachSortedTuple(w, 4, ([i, j, k, l]) => {
      const m4 =
        S[4][e] / n -
        (a[i] * s3(j, k, l) + a[j] * s3(i, k, l) + a[k] * s3(i, j, l) + a[l] * s3(i, j, k)) +
        (a[i] * a[j] * s2(k, l) + a[i] * a[k] * s2(j, l) + a[i] * a[l] * s2(j, k) + a[j] * a[k] * s2(i, l) + a[j] * a[l] * s2(i, k) + a[k] * a[l] * s2(i, j)) -
        3 * a[i] * a[j] * a[k] * a[l];
      const pairs = m2(i, j) * m2(k, l) + m2(i, k) * m2(j, l) + m2(i, l) * m2(j, k);
      k4[e++] = unbiased ? c * ((n + 1) * m4 - (n - 1) * pairs) : m4 - pairs;
    });
    out.push(k4);
  }
  return out;
}

/**
 * Power sums of one batch computed on the host in float64 (rows × w, row-major), about `shift`
 * (default: the batch's own mean).
 */
export function hostBatchSums(index: number, data: Float64Array, rows: number, w: number, maxOrder: number, about?: Float64Array): BatchSums {
  const shift = about ? Float64Array.from(about) : new Float64Array(w);
  if (!about) {
    for (let s = 0; s < rows; s++) for (let i = 0; i < w; i++) shift[i] += data[s * w + i];
    for (let i = 0; i < w; i++) shift[i] /= rows;
  }
  const centred = new Float64Array(rows * w);
  for (let s = 0; s < rows; s++) for (let i = 0; i < w; i++) centred[s * w + i] = data[s * w + i] - shift[i];
  const sums: Float64Array[] = [new Float64Array(0)];
  for (let r = 1; r <= maxOrder; r++) {
    const out = new Float64Array(sortedTupleCount(w, r));
    let e = 0;
    forEachSortedTuple(w, r, (t) => {
      let total = 0;
      for (let s = 0; s < rows; s++) {
        let p = 1;
        for (const i of t) p *= centred[s * w + i];
        total += p;
      }
      out[e++] = total;
    });
    sums.push(out);
  }
  return { index, count: rows, shift, sums };
}
