/**
 * Independent float64 machinery for the tests: set partitions, exact cumulants of discrete
 * distributions, Gauss–Hermite nodes, polynomials given by their power-series coefficients.
 * None of it calls the code under test, so a test that compares against it compares two routes.
 * At the end, what several test files share: random single layers for the property tests, the
 * command line run in this process, and whether Python has numpy or torch.
 */
import { parseActivation } from '../symbolic/expression.ts';
import { polynomialActivation, type PolynomialActivation } from '../symbolic/taylor.ts';
import { Cumulants } from '../numeric/tensor.ts';
import { Random } from '../numeric/random.ts';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { runCli } from '../src/cli/run.ts';

/** Whether CORRMAP_LONG asks for the slow, more thorough runs. */
export const LONG = Boolean(process.env.CORRMAP_LONG);

/**
 * All set partitions of {0, …, n−1}, built by the recursion B(n) = Σ: element n−1 either joins one
 * block of a partition of {0, …, n−2} or opens its own (a different route from the code under test,
 * which grows restricted-growth strings from element 0 upwards).
 */
export function bruteSetPartitions(n: number): number[][][] {
  if (n === 0) return [[]];
  const out: number[][][] = [];
  for (const p of bruteSetPartitions(n - 1)) {
    for (let b = 0; b < p.length; b++) out.push(p.map((block, k) => (k === b ? [...block, n - 1] : [...block])));
    out.push([...p.map((block) => [...block]), [n - 1]]);
  }
  return out;
}

export function factorialNumber(n: number): number {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return f;
}

export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let b = 1;
  for (let j = 1; j <= k; j++) b = (b * (n - k + j)) / j;
  return Math.round(b);
}

/** Every index tuple of length r over 0…n−1 in row-major order (the dense layout of docs/theory.md §Affine layers). */
export function allTuples(n: number, r: number): number[][] {
  const out: number[][] = [];
  const total = n ** r;
  for (let o = 0; o < total; o++) {
    const t = new Array<number>(r);
    let x = o;
    for (let k = r - 1; k >= 0; k--) {
      t[k] = x % n;
      x = Math.floor(x / n);
    }
    out.push(t);
  }
  return out;
}

export function offset(tuple: readonly number[], n: number): number {
  return tuple.reduce((o, i) => o * n + i, 0);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
  return m;
}

/** A symmetric dense tensor with entries drawn at random (one draw per unique entry). */
export function randomSymmetric(rng: Random, n: number, r: number, scale = 1): Float64Array {
  const out = new Float64Array(n ** r);
  const unique = new Map<string, number>();
  for (const t of allTuples(n, r)) {
    const key = [...t].sort((a, b) => a - b).join(',');
    let v = unique.get(key);
    if (v === undefined) unique.set(key, (v = scale * (2 * rng.uniform() - 1)));
    out[offset(t, n)] = v;
  }
  return out;
}

/** Random cumulant tensors of orders 1…maxOrder (any symmetric tensors: rules are identities in them). */
export function randomCumulants(rng: Random, n: number, maxOrder: number, scale = 1): Cumulants {
  const tensors: (Float64Array | undefined)[] = [undefined];
  for (let r = 1; r <= maxOrder; r++) tensors.push(randomSymmetric(rng, n, r, scale));
  return new Cumulants(n, tensors);
}

export function randomMatrix(rng: Random, rows: number, cols: number, scale = 1): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => scale * rng.normal());
}

// ---------------------------------------------------------------------------------------------
// Polynomial activations given by power-series coefficients φ(z) = Σ_k c_k z^k.

/** The source text and parameter values of φ(z) = Σ_k c_k z^k. */
export function polynomialSource(coefficients: readonly number[]): { source: string; params: Record<string, number> } {
  const params: Record<string, number> = {};
  const parts = coefficients.map((c, k) => {
    params[`c${k}`] = c;
    return k === 0 ? 'c0' : k === 1 ? 'c1*z' : `c${k}*z^${k}`;
  });
  return { source: parts.join(' + '), params };
}

export function polynomialActivationOf(coefficients: readonly number[]): PolynomialActivation {
  const { source, params } = polynomialSource(coefficients);
  return polynomialActivation(parseActivation(source, params));
}

export function horner(coefficients: readonly number[], x: number): number {
  let h = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) h = h * x + coefficients[k];
  return h;
}

/** b_q(μ) = φ^(q)(μ)/q! = Σ_k C(k, q) c_k μ^(k−q) (docs/theory.md §Polynomial activations), from the coefficients directly. */
export function taylorCoefficient(coefficients: readonly number[], q: number, mu: number): number {
  let s = 0;
  for (let k = q; k < coefficients.length; k++) s += binomial(k, q) * coefficients[k] * mu ** (k - q);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Discrete distributions: exact moments, hence exact cumulants, with no sampling noise.

/** A distribution on finitely many points of R^N: P(x = points[s]) = probabilities[s]. */
export interface Discrete {
  readonly size: number;
  readonly points: readonly Float64Array[];
  readonly probabilities: readonly number[];
}

export function randomDiscrete(rng: Random, size: number, support: number, spread: number, centre: readonly number[]): Discrete {
  const raw = Array.from({ length: support }, () => 0.2 + rng.uniform());
  const total = raw.reduce((a, b) => a + b, 0);
  const points = Array.from({ length: support }, () => Float64Array.from({ length: size }, (_, a) => centre[a] + spread * rng.normal()));
  return { size, points, probabilities: raw.map((p) => p / total) };
}

export function mapDiscrete(d: Discrete, f: (x: Float64Array) => Float64Array): Discrete {
  const points = d.points.map(f);
  return { size: points[0].length, points, probabilities: d.probabilities };
}

const singletonFreeCache = new Map<number, number[][][]>();
function singletonFreePartitions(r: number): number[][][] {
  let p = singletonFreeCache.get(r);
  if (!p) singletonFreeCache.set(r, (p = bruteSetPartitions(r).filter((q) => q.every((b) => b.length >= 2))));
  return p;
}

/**
 * Exact cumulants of a discrete distribution up to maxOrder. Cumulants of order ≥ 2 do not see the
 * mean, so with central moments M the moment–cumulant inversion
 * κ(x_{a1}, …, x_{ar}) = Σ_π (−1)^{|π|−1} (|π|−1)! Π_{B∈π} M(a_B) runs over singleton-free π only.
 */
export function discreteCumulants(d: Discrete, maxOrder: number): Cumulants {
  const n = d.size;
  const mean = new Float64Array(n);
  d.points.forEach((x, s) => x.forEach((v, a) => (mean[a] += d.probabilities[s] * v)));
  const centred = d.points.map((x) => x.map((v, a) => v - mean[a]));
  const moments = new Map<string, number>();
  const moment = (indices: number[]): number => {
    const key = [...indices].sort((a, b) => a - b).join(',');
    let m = moments.get(key);
    if (m === undefined) {
      m = 0;
      centred.forEach((x, s) => {
        let p = d.probabilities[s];
        for (const a of indices) p *= x[a];
        m! += p;
      });
      moments.set(key, m);
    }
    return m;
  };
  const tensors: (Float64Array | undefined)[] = [undefined, mean];
  for (let r = 2; r <= maxOrder; r++) tensors.push(cumulantTensor(n, r, singletonFreePartitions(r), moment));
  return new Cumulants(n, tensors);
}

/**
 * The order-r cumulant tensor from the joint moments M of index lists by the moment–cumulant
 * inversion κ(x_{a1}, …, x_{ar}) = Σ_π (−1)^{|π|−1} (|π|−1)! Π_{B∈π} M(a_B) over `partitions` of the
 * r legs, computed once per unique (sorted) index tuple.
 */
function cumulantTensor(n: number, r: number, partitions: readonly number[][][], moment: (indices: number[]) => number): Float64Array {
  const unique = new Map<string, number>();
  const t = new Float64Array(n ** r);
  for (const tuple of allTuples(n, r)) {
    const key = [...tuple].sort((a, b) => a - b).join(',');
    let v = unique.get(key);
    if (v === undefined) {
      v = 0;
      for (const p of partitions) {
        let term = (p.length % 2 === 1 ? 1 : -1) * factorialNumber(p.length - 1);
        for (const block of p) term *= moment(block.map((k) => tuple[k]));
        v += term;
      }
      unique.set(key, v);
    }
    t[offset(tuple, n)] = v;
  }
  return t;
}

/**
 * Gauss–Hermite nodes and weights for the standard normal (probabilists' He_m): the m-point rule
 * reproduces E[g^k] for k ≤ 2m − 1. Roots by Newton iteration on the three-term recurrence
 * He_{k+1} = x He_k − k He_{k−1}; weights m!/(m He_{m−1}(x)²)/m, normalised to sum 1.
 */
export function gaussHermite(m: number): { nodes: number[]; weights: number[] } {
  const he = (x: number) => {
    let p0 = 1;
    let p1 = x;
    if (m === 0) return { value: 1, previous: 0 };
    for (let k = 1; k < m; k++) [p0, p1] = [p1, x * p1 - k * p0];
    return { value: p1, previous: p0 };
  };
  const nodes: number[] = [];
  for (let i = 0; i < m; i++) {
    // Initial guesses from the asymptotic spacing; Newton with deflation by the roots found so far.
    let x = Math.sqrt(4 * m + 2) * Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    for (let it = 0; it < 200; it++) {
      const { value, previous } = he(x);
      const derivative = m * previous; // He_m' = m He_{m−1}
      let correction = 0;
      for (const r of nodes) correction += 1 / (x - r);
      const step = value / derivative / (1 - (value / derivative) * correction);
      x -= step;
      if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(x))) break;
    }
    nodes.push(x);
  }
  const raw = nodes.map((x) => 1 / (m * he(x).previous ** 2));
  const total = raw.reduce((a, b) => a + b, 0);
  return { nodes, weights: raw.map((w) => w / total) };
}

/**
 * A product Gauss–Hermite grid mapped through x = μ + L g (L lower-triangular, LLᵀ = Σ): a discrete
 * distribution whose moments agree with N(μ, Σ) up to order 2m − 1, so its cumulants of orders
 * 3…2m−1 vanish.
 */
export function gaussianGrid(mean: readonly number[], chol: Float64Array, m: number): Discrete {
  const n = mean.length;
  const { nodes, weights } = gaussHermite(m);
  const points: Float64Array[] = [];
  const probabilities: number[] = [];
  for (const idx of allTuples(m, n)) {
    const g = idx.map((k) => nodes[k]);
    const x = Float64Array.from(mean);
    for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) x[a] += chol[a * n + b] * g[b];
    points.push(x);
    probabilities.push(idx.reduce((p, k) => p * weights[k], 1));
  }
  return { size: n, points, probabilities };
}

// ---------------------------------------------------------------------------------------------
// Formal cumulants: any symmetric tensors κ_2…κ_K, with every cumulant above K set to zero.

/**
 * Moments E[Π_a δ_a^{c_a}] of the centred variable δ = x − μ whose cumulants are those of `input`
 * up to order K and zero above, by the recursion that splits off the block holding one leg of the
 * first index a with c_a > 0: M(c) = Σ_j C(c_a − 1, j_a − 1) Π_{b≠a} C(c_b, j_b) κ(j) M(c − j).
 */
export function formalMoments(input: Cumulants, K: number): (counts: readonly number[]) => number {
  const n = input.size;
  const memo = new Map<string, number>();
  const kappa = (j: readonly number[]): number => {
    const order = j.reduce((s, v) => s + v, 0);
    if (order < 2 || order > K) return 0;
    const t = input.order(order);
    if (!t) return 0;
    const tuple = j.flatMap((v, a) => new Array<number>(v).fill(a));
    return t[offset(tuple, n)];
  };
  const moment = (c: readonly number[]): number => {
    const a = c.findIndex((v) => v > 0);
    if (a < 0) return 1;
    const key = c.join(',');
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let total = 0;
    const j = new Array<number>(n).fill(0);
    const rec = (b: number, ways: number) => {
      if (b === n) {
        const k = kappa(j);
        if (k !== 0) total += ways * k * moment(c.map((v, x) => v - j[x]));
        return;
      }
      if (b === a) {
        for (let v = 1; v <= c[a]; v++) {
          j[a] = v;
          rec(b + 1, ways * binomial(c[a] - 1, v - 1));
        }
      } else {
        for (let v = 0; v <= c[b]; v++) {
          j[b] = v;
          rec(b + 1, ways * binomial(c[b], v));
        }
      }
      j[b] = 0;
    };
    rec(0, 1);
    memo.set(key, total);
    return total;
  };
  return moment;
}

/**
 * The order-n output cumulant tensor of y_i = φ(x_i) = Σ_q b_q(μ_i) δ_i^q (docs/theory.md §Polynomial activations) when the input
 * has exactly the cumulants of `input` up to K and none above: moments of y from formalMoments,
 * then the moment–cumulant inversion over partitions of the n output legs.
 */
export function formalOutputCumulants(coefficients: readonly number[], input: Cumulants, K: number, order: number): Float64Array {
  const n = input.size;
  const d = coefficients.length - 1;
  const mu = input.mean;
  const b = Array.from({ length: d + 1 }, (_, q) => Array.from(mu, (m) => taylorCoefficient(coefficients, q, m)));
  const moment = formalMoments(input, K);
  // E[Π_{k} y_{t_k}] over a list of output indices t.
  const yMoment = (t: readonly number[]): number => {
    let total = 0;
    const q = new Array<number>(t.length).fill(0);
    const rec = (k: number, coefficient: number) => {
      if (coefficient === 0) return;
      if (k === t.length) {
        const counts = new Array<number>(n).fill(0);
        t.forEach((i, s) => (counts[i] += q[s]));
        total += coefficient * moment(counts);
        return;
      }
      for (let v = 0; v <= d; v++) {
        q[k] = v;
        rec(k + 1, coefficient * b[v][t[k]]);
      }
    };
    rec(0, 1);
    return total;
  };
  return cumulantTensor(n, order, bruteSetPartitions(order), yMoment);
}

/** A validate/merge --json output without what legitimately differs between runs (timings, workers, shards). */
export function comparableValidation(json: string): unknown {
  const v = JSON.parse(json);
  for (const key of ['theorySeconds', 'monteCarloSeconds', 'workers', 'shards']) delete v.run[key];
  return v;
}

// ---------------------------------------------------------------------------------------------
// Random single layers for the property tests of sampling against the exact rules.

/**
 * Reals on a grid of 2·10⁴ steps over [min, max]: random magnitudes of order one, without the
 * subnormals and other float edge cases fc.double favours (they test IEEE arithmetic, not cumulants).
 */
export const gridReal = (min: number, max: number) => fc.integer({ min: 0, max: 20_000 }).map((k) => min + ((max - min) * k) / 20_000);
export const gridReals = (length: number, min: number, max: number) => fc.array(gridReal(min, max), { minLength: length, maxLength: length });

/** z = W x + b, y = φ(z) with φ the polynomial Σ_q coefficients[q] z^q, x = mean + mixing · s; seed of the sampling. */
export interface LayerCase {
  readonly coefficients: number[];
  readonly rows: number;
  readonly cols: number;
  readonly weight: number[];
  readonly bias: number[];
  readonly mean: number[];
  readonly mixing: number[];
  readonly seed: number;
}

/**
 * A layer of the given shape: lower coefficients of φ in [−1, 1], the leading one of magnitude
 * 0.1…0.5 (so the degree is real), W in [−1, 1]/√cols, b in [−0.3, 0.3], the input mean in
 * [−0.5, 0.5] and the mixing A in [−mixing, mixing]. test/montecarlo.test.ts says why these bounds.
 */
export function layerCase(degree: number, rows: number, cols: number, mixing: number): fc.Arbitrary<LayerCase> {
  return fc.record({
    coefficients: fc.tuple(gridReals(degree, -1, 1), gridReal(0.1, 0.5), fc.boolean()).map(([lower, lead, negative]) => [...lower, negative ? -lead : lead]),
    rows: fc.constant(rows),
    cols: fc.constant(cols),
    weight: gridReals(rows * cols, -1, 1).map((w) => w.map((v) => v / Math.sqrt(cols))),
    bias: gridReals(rows, -0.3, 0.3),
    mean: gridReals(cols, -0.5, 0.5),
    mixing: gridReals(cols * cols, -mixing, mixing),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
}

/** Σ = A Aᵀ + 0.01 I for a square A (row-major): positive definite whatever A is. */
export function covarianceOf(a: readonly number[], n: number): number[] {
  return Array.from({ length: n * n }, (_, k) => {
    const i = Math.floor(k / n);
    const j = k % n;
    let s = i === j ? 0.01 : 0;
    for (let q = 0; q < n; q++) s += a[i * n + q] * a[j * n + q];
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// The command line in this process, and the Python the cross-checks need.

/** corrmap with these arguments, run in this process; stdout and stderr as the lines written, joined. */
export async function runInProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, { log: (t) => stdout.push(t) }, { log: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

/** Whether `python` can import every one of `modules` (tests that compare with numpy or torch skip otherwise). */
export function pythonHas(python: string, modules: readonly string[]): boolean {
  try {
    execFileSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
