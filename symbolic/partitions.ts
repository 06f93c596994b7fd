import { factorial } from './rational.ts';

/** A set partition of {0, …, n−1}: blocks of element indices, each block sorted, blocks by first element. */
export type SetPartition = number[][];

const setPartitionCache = new Map<number, SetPartition[]>();

/** All set partitions of n elements (Bell(n) of them), in restricted-growth order. Memoised. */
export function setPartitions(n: number): readonly SetPartition[] {
  const cached = setPartitionCache.get(n);
  if (cached) return cached;
  const out: SetPartition[] = [];
  const blocks: number[][] = [];
  const place = (element: number) => {
    if (element === n) {
      out.push(blocks.map((b) => [...b]));
      return;
    }
    for (const b of blocks) {
      b.push(element);
      place(element + 1);
      b.pop();
    }
    blocks.push([element]);
    place(element + 1);
    blocks.pop();
  };
  place(0);
  setPartitionCache.set(n, out);
  return out;
}

/**
 * Pair partitions of n elements (Isserlis/Wick): the terms of a Gaussian moment E[δ_1…δ_n],
 * (n−1)!! of them for even n, none for odd n.
 */
export function pairPartitions(n: number): SetPartition[] {
  return setPartitions(n).filter((p) => p.every((b) => b.length === 2));
}

/**
 * Connected partitions (Leonov–Shiryaev) of the legs of κ(δ_1^{q_1}, …, δ_n^{q_n}), one set
 * partition at a time: legs 0…Σq−1, the first q_1 on vertex 0 and so on; blocks of size 2…K that
 * join all vertices. The literal definition, Bell(Σq) work: rules use blockPatterns, which groups
 * these by the cumulant factor they produce.
 */
export function connectedPartitions(q: readonly number[], maxBlock: number): SetPartition[] {
  const vertexOf = q.flatMap((qk, k) => new Array<number>(qk).fill(k));
  return setPartitions(vertexOf.length).filter((p) => {
    if (p.some((b) => b.length < 2 || b.length > maxBlock)) return false;
    const blocks = p.map((b) => {
      const counts = new Array<number>(q.length).fill(0);
      for (const leg of b) counts[vertexOf[leg]]++;
      return counts;
    });
    return connects(blocks, q.length);
  });
}

/** A multiset of legs-per-vertex count vectors: one diagram class of a joint cumulant of products. */
export interface BlockPattern {
  /** Distinct blocks, each a count vector over the vertices (how many legs of vertex k it holds). */
  readonly blocks: ReadonlyArray<{ readonly counts: readonly number[]; readonly multiplicity: number }>;
  /**
   * How many set partitions of the legs share this pattern: Π_k q_k! / (Π_B Π_k c_B[k]! · Π mult!),
   * as a float64 (rounded above 2^53; exactWeight is exact).
   */
  readonly weight: number;
  readonly exactWeight: bigint;
}

const patternCache = new Map<string, BlockPattern[]>();

/**
 * Diagram classes of the joint cumulant κ(δ_1^{q_1}, …, δ_n^{q_n}) (Leonov–Shiryaev): set partitions
 * of the Σq legs (q_k legs on vertex k) into blocks of size 2…K that connect all vertices, grouped
 * by what the cumulant factor sees (per block, the number of legs from each vertex). Each class is
 * enumerated once as a multiset of count vectors, with its number of set partitions as weight, so
 * nothing is listed that canonicalisation would merge.
 *
 * With connected = false (any n), all partitions into blocks of size 2…K: the moment E[Π δ_k^{q_k}].
 */
export function blockPatterns(q: readonly number[], maxBlock: number, connected = true): readonly BlockPattern[] {
  const { patterns, vertexPosition } = blockPatternsUpToPermutation(q, maxBlock, connected);
  if (vertexPosition.every((pos, k) => pos === k)) return patterns;
  return patterns.map((p) => ({
    weight: p.weight,
    exactWeight: p.exactWeight,
    blocks: p.blocks.map((b) => ({ counts: vertexPosition.map((pos) => b.counts[pos]), multiplicity: b.multiplicity })),
  }));
}

/**
 * The diagram classes of q computed (and memoised) for q sorted in decreasing order, with the
 * position of each original vertex in that order: vertex k's count in a block is
 * block.counts[vertexPosition[k]]. Lets callers read permuted patterns without copying them.
 */
export function blockPatternsUpToPermutation(
  q: readonly number[],
  maxBlock: number,
  connected = true,
): { patterns: readonly BlockPattern[]; vertexPosition: readonly number[] } {
  const order = q.map((_, k) => k).sort((a, b) => q[b] - q[a] || a - b);
  const sorted = order.map((k) => q[k]);
  const key = `${sorted.join(',')}|${maxBlock}|${connected ? 1 : 0}`;
  let patterns = patternCache.get(key);
  if (!patterns) {
    patterns = enumeratePatterns(sorted, maxBlock, connected);
    patternCache.set(key, patterns);
  }
  const vertexPosition = new Array<number>(q.length);
  order.forEach((k, pos) => (vertexPosition[k] = pos));
  return { patterns, vertexPosition };
}

/** Candidate blocks: every count vector c ≤ q (legs taken from each vertex) with 2 ≤ |c| ≤ maxBlock. */
function candidateBlocks(q: readonly number[], maxBlock: number): number[][] {
  const n = q.length;
  const candidates: number[][] = [];
  const c = new Array<number>(n).fill(0);
  const build = (k: number, size: number) => {
    if (k === n) {
      if (size >= 2 && size <= maxBlock) candidates.push([...c]);
      return;
    }
    for (let v = 0; v <= q[k] && size + v <= maxBlock; v++) {
      c[k] = v;
      build(k + 1, size + v);
    }
    c[k] = 0;
  };
  build(0, 0);
  return candidates;
}

function enumeratePatterns(q: readonly number[], maxBlock: number, connected: boolean): BlockPattern[] {
  const n = q.length;
  const total = q.reduce((a, b) => a + b, 0);
  const candidates = candidateBlocks(q, maxBlock);
  const sizes = candidates.map((v) => v.reduce((a, b) => a + b, 0));

  const out: BlockPattern[] = [];
  const chosen: number[] = [];
  const remaining = [...q];
  const qFactorials = q.reduce((acc, v) => acc * factorial(v), 1n);
  // Choose candidate indices in non-decreasing order, so each multiset appears once.
  const choose = (start: number, left: number) => {
    if (left === 0) {
      if (connected && !connects(chosen.map((i) => candidates[i]), n)) return;
      out.push(makePattern(chosen.map((i) => candidates[i]), qFactorials));
      return;
    }
    if (left < 2) return;
    for (let i = start; i < candidates.length; i++) {
      const v = candidates[i];
      if (sizes[i] > left) continue;
      let fits = true;
      for (let k = 0; k < n; k++) if (v[k] > remaining[k]) fits = false;
      if (!fits) continue;
      for (let k = 0; k < n; k++) remaining[k] -= v[k];
      chosen.push(i);
      choose(i, left - sizes[i]);
      chosen.pop();
      for (let k = 0; k < n; k++) remaining[k] += v[k];
    }
  };
  if (total === 0) {
    // The empty partition: E[1] = 1 (a disconnected "diagram" unless there is a single vertex).
    if (!connected || n <= 1) out.push({ blocks: [], weight: 1, exactWeight: 1n });
    return out;
  }
  choose(0, total);
  return out;
}

function connects(blocks: readonly number[][], n: number): boolean {
  if (n <= 1) return true;
  const parent = Array.from({ length: n }, (_, k) => k);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (const b of blocks) {
    let first = -1;
    for (let k = 0; k < n; k++) {
      if (b[k] === 0) continue;
      if (first < 0) first = k;
      else parent[find(k)] = find(first);
    }
  }
  const root = find(0);
  for (let k = 1; k < n; k++) if (find(k) !== root) return false;
  return true;
}

function makePattern(blocks: readonly number[][], qFactorials: bigint): BlockPattern {
  const grouped: { counts: number[]; multiplicity: number }[] = [];
  for (const b of blocks) {
    const last = grouped[grouped.length - 1];
    if (last && last.counts.every((v, k) => v === b[k])) last.multiplicity++;
    else grouped.push({ counts: b, multiplicity: 1 });
  }
  let denominator = 1n;
  for (const g of grouped) {
    denominator *= factorial(g.multiplicity);
    for (const v of g.counts) denominator *= factorial(v) ** BigInt(g.multiplicity);
  }
  const weight = qFactorials / denominator;
  if (weight * denominator !== qFactorials) throw new Error(`partition weight is not an integer: ${qFactorials}/${denominator}`);
  return { blocks: grouped, weight: Number(weight), exactWeight: weight };
}

/**
 * How many diagram classes blockPatterns(q, maxBlock, connected) lists, without listing them: the
 * multisets of blocks summing to q are counted by an unbounded-knapsack recursion over the vectors
 * v ≤ q (every sub-vector's count comes with it), and the connected ones by Möbius inversion over
 * the set partitions of the vertices (a multiset splits uniquely into connected components on
 * disjoint vertex sets). Float64 counts: exact below 2^53, an estimate above. Returns Infinity
 * when the recursion itself would take more than `maxWork` steps.
 */
export function countBlockPatterns(q: readonly number[], maxBlock: number, connected = true, maxWork = 5e7, work?: { done: number }): number {
  const n = q.length;
  const total = q.reduce((a, b) => a + b, 0);
  if (total === 0) return !connected || n <= 1 ? 1 : 0;
  const strides: number[] = [];
  let states = 1;
  for (let k = n - 1; k >= 0; k--) {
    strides[k] = states;
    states *= q[k] + 1;
  }
  if (states > maxWork) return Infinity;
  const candidates = candidateBlocks(q, maxBlock);
  if (states * candidates.length > maxWork) return Infinity;
  if (work) work.done += states * candidates.length;
  const ways = new Float64Array(states);
  ways[0] = 1;
  const digits = new Array<number>(n);
  for (const v of candidates) {
    const offset = v.reduce((s, x, k) => s + x * strides[k], 0);
    // States in increasing index order: ways[s − v] already counts multisets using v any number of times.
    for (let s = offset; s < states; s++) {
      let rest = s;
      let fits = true;
      for (let k = 0; k < n; k++) {
        digits[k] = Math.floor(rest / strides[k]);
        rest -= digits[k] * strides[k];
        if (digits[k] < v[k]) fits = false;
      }
      if (fits) ways[s] += ways[s - offset];
    }
  }
  const index = (subset: readonly number[]) => subset.reduce((s, k) => s + q[k] * strides[k], 0);
  if (!connected || n <= 1) return ways[index(q.map((_, k) => k))];
  // Connected counts on every vertex subset, smallest first: all = Σ over set partitions of the
  // subset of the product of connected counts on its blocks.
  const connectedOn = new Map<number, number>();
  for (let mask = 1; mask < 1 << n; mask++) {
    const vertices = q.map((_, k) => k).filter((k) => mask & (1 << k));
    let rest = ways[index(vertices)];
    for (const p of setPartitions(vertices.length)) {
      if (p.length < 2) continue;
      rest -= p.reduce((prod, block) => prod * connectedOn.get(block.reduce((m, at) => m | (1 << vertices[at]), 0))!, 1);
    }
    connectedOn.set(mask, rest);
  }
  return connectedOn.get((1 << n) - 1)!;
}
