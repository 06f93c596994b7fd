import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError } from '../symbolic/errors.ts';
import { NAMED_CONSTANTS, VARIABLE, parseActivation } from '../symbolic/expression.ts';
import type { MathNode } from '../symbolic/math.ts';
import { Rational } from '../symbolic/rational.ts';
import type { TransferRule } from '../symbolic/rule.ts';
import { tf, useBackend } from '../numeric/backend.ts';
import { compileRule, compileTaylor } from '../numeric/kernels.ts';
import { exponentialMixtureSampler } from '../numeric/montecarlo.ts';
import { cachedRule, highestGiven, makeLayer, planPropagation, propagateReference, type LayerResult, type Network, type PropagateOptions } from '../numeric/network.ts';
import { propagate, propagateCompiled, uploadCumulants } from '../numeric/propagate.ts';
import { evaluateRule } from '../numeric/reference.ts';
import { Random } from '../numeric/random.ts';
import { Cumulants, affineCumulants, fillSymmetric } from '../numeric/tensor.ts';
import { LONG, maxAbs, polynomialActivationOf, polynomialSource } from './helpers.ts';

/**
 * Compiled tfjs kernels (docs/theory.md §Polynomial activations, §Truncation and error bounds) against the float64 reference evaluator: every layer, pre-
 * and post-activation, every order the plan computes, on the wasm and cpu backends; batches of
 * distributions; tensor leaks; and what useBackend says about backends that cannot run here.
 *
 * Tolerance, per entry. Stage by stage (the affine map of a layer, then its rules), the compiled
 * path is a straight-line program of float32 conversions, additions and multiplications (matMul,
 * elementwise add and mul, integer powers by squaring; gathers, reshapes, transposes and broadcasts
 * move values without rounding); with polynomial activations it stays one. Each float32 operation
 * returns exact × (1 + δ), |δ| ≤ u = 2^-24. Expanding a stage g fed with x̂ = x + e, |e| ≤ E,
 *
 *   |ĝ(x̂) − g(x)| ≤ γ_k · G(|x| + E) + [G(|x| + E) − G(|x|)],   γ_k = k u / (1 − k u) ≥ (1 + u)^k − 1,
 *
 * where G is the stage evaluated exactly on |inputs|, |weights|, |coefficients| with every
 * subtraction read as an addition (a polynomial with non-negative coefficients: the magnitude
 * without cancellation, whose increment bounds the propagated error), and k is the largest number
 * of roundings one monomial of the stage meets:
 *   a conversion (weight, bias, constant, coefficient): 1;  a·b: k_a + k_b + 1;  a ± b: max(k_a, k_b) + 1;
 *   a matMul entry over c inputs: one product and at most c − 1 additions in any order, so the
 *   mean costs c + 2 (with the bias) and an order-r cumulant r (c + 1) (r mode products);
 *   a rule of T terms: the largest term (its factors, one multiplication per further factor, two
 *   for a coefficient ≠ 1) plus T − 1 additions, one after another.
 * The input starts with E = u |x| (its conversion to float32); each stage is anchored at the
 * reference values, so cancellation in earlier layers does not inflate later bounds. The cpu
 * backend computes in float64 and stores float32, a double rounding with |δ| ≤ 2^-24 + 2^-53; the
 * float64 reference obeys the same bound with u = 2^-53. The bound is convex in u and vanishes at
 * u = 0, so one evaluation with u = 2^-24 + 2 · 2^-53 covers the compiled and the reference error
 * together. Anchoring at the reference instead of the exact values, and evaluating the bound in
 * float64, change it by relative amounts far below the slack of 2^-20 added on top. The bound is
 * rigorous, and tight: the worst entry of a random case typically reaches 10–70 % of it. A relative
 * change of 1e-3 in one weight or in one rule coefficient exceeds it (negative controls below).
 */
const U = 2 ** -24 + 2 * 2 ** -53;
const gamma = (k: number) => {
  if (k * U >= 0.5) throw new Error(`rounding count ${k} too large for a bound`);
  return (k * U) / (1 - k * U);
};
/** Covers float32 underflow (absolute error ≤ 2^-149 per operation); far below any entry here. */
const FLOOR = 1e-30;

const SCALE = LONG ? 6 : 1;

// ---------------------------------------------------------------------------------------------
// Magnitudes, rounding counts, error bounds.

/** Per-entry error bounds by order (undefined where the order is absent). */
type Errors = (Float64Array | undefined)[];
interface LayerErrors {
  readonly pre: Errors;
  readonly post: Errors;
}

const absolute = (a: Float64Array) => a.map(Math.abs);
const absCumulants = (c: Cumulants) => new Cumulants(c.size, c.tensors.map((t) => t && absolute(t)));
const plus = (c: Cumulants, e: Errors) => new Cumulants(c.size, c.tensors.map((t, r) => t && t.map((v, k) => v + (e[r]?.[k] ?? 0))));

/** Bound of one stage from its magnitude with and without the incoming errors (see the top). */
function stageError(count: number, withErrors: Float64Array, without: Float64Array): Float64Array {
  const g = gamma(count);
  return withErrors.map((a2, k) => g * a2 + (a2 - without[k]) + 2 ** -40 * a2);
}

interface AnyNode {
  type: string;
  name?: string;
  fn?: string;
  args?: MathNode[];
  content?: MathNode;
}

const zFree = (node: MathNode) => node.filter((n) => n.type === 'SymbolNode' && (n as unknown as AnyNode).name === VARIABLE).length === 0;
const constantOf = (node: MathNode) => Number(node.compile().evaluate({ ...NAMED_CONSTANTS }));

/**
 * Magnitude and rounding count of a Taylor-coefficient tree evaluated elementwise in float32 at a
 * float32 point of magnitude z. A z-free sub-tree is one float64 constant rounded once; x^e
 * (integer e) by squaring costs e·k + e − 1; a division by a constant counts its rounded inverse,
 * |1/(1 + δ) − 1| ≤ (1 + u)² − 1, as two.
 */
function treeBound(node: MathNode, z: number): { value: number; count: number } {
  if (zFree(node)) return { value: Math.abs(constantOf(node)), count: 1 };
  const n = node as unknown as AnyNode;
  if (node.type === 'SymbolNode') return { value: z, count: 0 };
  if (node.type === 'ParenthesisNode') return treeBound(n.content!, z);
  if (node.type === 'OperatorNode') {
    const [a, b] = n.args!;
    if (n.fn === 'unaryPlus' || n.fn === 'unaryMinus') return treeBound(a, z);
    if (n.fn === 'pow' && zFree(b)) {
      const e = constantOf(b);
      if (Number.isInteger(e) && e >= 1 && e <= 16) {
        const base = treeBound(a, z);
        return { value: base.value ** e, count: e * base.count + e - 1 };
      }
    }
    const x = treeBound(a, z);
    const y = treeBound(b, z);
    if (n.fn === 'add' || n.fn === 'subtract') return { value: x.value + y.value, count: Math.max(x.count, y.count) + 1 };
    if (n.fn === 'multiply') return { value: x.value * y.value, count: x.count + y.count + 1 };
    if (n.fn === 'divide' && zFree(b)) return { value: x.value / y.value, count: x.count + 2 + 1 };
  }
  throw new Error(`no float32 rounding bound for "${node.toString()}"`);
}

/** Magnitudes of b_q at the mean magnitudes, q = 0…d, with their rounding counts. */
function taylorBounds(taylor: readonly MathNode[], meanMagnitude: Float64Array): { value: Float64Array; count: number }[] {
  return taylor.map((node) => ({ value: meanMagnitude.map((m) => treeBound(node, m).value), count: treeBound(node, 0).count }));
}

/**
 * A rule evaluated on magnitudes: Σ over the terms the kernel runs (those whose cumulants exist) of
 * |coefficient| · Π |b_q| · Π |κ|^power, and the rule's rounding count (κ^p by squaring: p − 1).
 */
function ruleBound(rule: TransferRule, taylor: readonly { value: Float64Array; count: number }[], magnitude: Cumulants): { value: Float64Array; count: number } {
  const width = magnitude.size;
  const used = rule.terms.filter((t) => t.cumulants.every((c) => magnitude.order(c.order)));
  if (used.length === 0) return { value: new Float64Array(width ** rule.order), count: 0 };
  let count = 0;
  const terms = used.map((t) => {
    let k = t.coefficient.toNumber() === 1 ? 0 : 2;
    for (const f of t.factors) k += taylor[f.q].count;
    for (const c of t.cumulants) k += c.power - 1;
    k += t.factors.length + t.cumulants.length - 1;
    count = Math.max(count, k);
    return { coefficient: Math.abs(t.coefficient.toNumber()), factors: t.factors, cumulants: t.cumulants.map((c) => ({ ...c, tensor: magnitude.order(c.order)! })) };
  });
  const value = fillSymmetric(width, rule.order, (tuple) => {
    let sum = 0;
    for (const t of terms) {
      let v = t.coefficient;
      for (const f of t.factors) v *= taylor[f.q].value[tuple[f.slot]];
      for (const c of t.cumulants) {
        let o = 0;
        for (const s of c.slots) o = o * width + tuple[s];
        v *= c.tensor[o] ** c.power;
      }
      sum += v;
    }
    return sum;
  });
  return { value, count: count + used.length - 1 };
}

/** Error bound of a rule applied to computed cumulants: `values` (reference) within `errors`. */
function ruleError(rule: TransferRule, values: Cumulants, errors: Errors): Float64Array {
  const x = absCumulants(values);
  const xe = plus(x, errors);
  const taylor = rule.activation.taylor;
  const without = ruleBound(rule, taylorBounds(taylor, x.mean), x);
  const withErrors = ruleBound(rule, taylorBounds(taylor, xe.mean), xe);
  return stageError(withErrors.count, withErrors.value, without.value);
}

/** Per-entry error bounds of every layer of the compiled propagation, stage by stage. */
function errorBounds(network: Network, input: Cumulants, reference: readonly LayerResult[], options: PropagateOptions): LayerErrors[] {
  const plan = planPropagation(network, options, highestGiven(input));
  const K = options.inputOrder;
  let values = input;
  let errors: Errors = input.tensors.map((t) => t && t.map((v) => U * Math.abs(v)));
  return network.layers.map((layer, l) => {
    const w = absolute(layer.weight);
    const b = absolute(layer.bias);
    const x = absCumulants(values);
    const without = affineCumulants(x, w, layer.rows, b, plan.preOrders[l]);
    const withErrors = affineCumulants(plus(x, errors), w, layer.rows, b, plan.preOrders[l]);
    const pre: Errors = withErrors.tensors.map((t, r) => t && stageError(r === 1 ? layer.cols + 2 : r * (layer.cols + 1), t, without.order(r)!));
    let post = pre;
    if (layer.activation) {
      const truncated = reference[l].pre.truncate(K);
      post = [undefined];
      for (let m = 1; m <= plan.postOrders[l]; m++) post.push(ruleError(cachedRule(layer.activation, m, K), truncated, pre));
    }
    values = reference[l].post;
    errors = post;
    return { pre, post };
  });
}

// ---------------------------------------------------------------------------------------------
// Comparison.

/** The worst entry of one tensor: |got − want| / tolerance (≤ 1 passes). */
interface TensorCheck {
  readonly label: string;
  readonly ratio: number;
  readonly detail: string;
}

const SLACK = 1 + 2 ** -20;

/**
 * Worst entry of one tensor against its error bound. A missing tensor is an error unless
 * `missingIsZero` (inside a batch, an order one member lacks is stored as zeros).
 */
function checkTensor(label: string, got: Float64Array | undefined, want: Float64Array | undefined, error: Float64Array | undefined, factor = 1, missingIsZero = false): TensorCheck {
  if (!got !== !want) {
    if (!missingIsZero) return { label, ratio: Infinity, detail: `computed ${got ? 'present' : 'missing'}, reference ${want ? 'present' : 'missing'}` };
    got ??= new Float64Array(want!.length);
    want ??= new Float64Array(got.length);
  }
  if (!got || !want) return { label, ratio: 0, detail: 'absent in both' };
  error ??= new Float64Array(want.length);
  if (got.length !== want.length || error.length !== want.length) return { label, ratio: Infinity, detail: `sizes ${got.length}, ${want.length}, ${error.length}` };
  let worst: TensorCheck = { label, ratio: 0, detail: '' };
  for (let e = 0; e < want.length; e++) {
    const tol = factor * (SLACK * error[e] + FLOOR);
    const ratio = Math.abs(got[e] - want[e]) / tol;
    if (!(ratio <= worst.ratio)) worst = { label, ratio, detail: `entry ${e}: ${got[e]} vs ${want[e]}, tolerance ${tol.toExponential(2)}` };
  }
  return worst;
}

/** Every layer, pre and post, every order either side holds; the tolerance is `factor` × the bound. */
function compareNetworks(got: readonly LayerResult[], want: readonly LayerResult[], errors: readonly LayerErrors[], factor = 1, missingIsZero = false): TensorCheck[] {
  const out: TensorCheck[] = [];
  expect(got.length).toBe(want.length);
  want.forEach((w, l) => {
    expect(got[l].exactOrder, `layer ${l + 1} exactOrder`).toBe(w.exactOrder);
    for (const side of ['pre', 'post'] as const) {
      const orders = Math.max(got[l][side].maxOrder, w[side].maxOrder);
      for (let r = 1; r <= orders; r++)
        out.push(checkTensor(`layer ${l + 1} ${side} κ${r}`, got[l][side].order(r), w[side].order(r), errors[l][side][r], factor, missingIsZero));
    }
  });
  return out;
}

const worstOf = (checks: readonly TensorCheck[]) => checks.reduce((a, b) => (b.ratio > a.ratio ? b : a));
const describeCheck = (c: TensorCheck) => `${c.label}: ${c.ratio.toPrecision(3)} of the tolerance; ${c.detail}`;

// ---------------------------------------------------------------------------------------------
// Random networks and inputs.

interface NetworkCase {
  readonly widths: number[];
  /** Per layer: polynomial coefficients c_0…c_d, or [] for the identity. */
  readonly coefficients: number[][];
  readonly weights: number[][];
  readonly biases: number[][];
  readonly mean: number[];
  readonly mixing: number[];
  readonly gaussian: boolean;
  readonly inputOrder: number;
  readonly outputOrder: number;
}

/** Reals on a grid of 2·10⁴ steps (no subnormals or other float edge cases: those test IEEE, not kernels). */
const real = (min: number, max: number) => fc.integer({ min: 0, max: 20_000 }).map((k) => min + ((max - min) * k) / 20_000);
const reals = (length: number, min: number, max: number) => fc.array(real(min, max), { minLength: length, maxLength: length });

/** Degree d polynomial: lower coefficients in [−1, 1], the leading one of magnitude 0.1…0.5. */
const polynomial = (d: number) =>
  d === 0 ? fc.constant([] as number[]) : fc.tuple(reals(d, -1, 1), real(0.1, 0.5), fc.boolean()).map(([lower, lead, negative]) => [...lower, negative ? -lead : lead]);

/**
 * Depth 1…maxDepth, widths 1…maxWidth, per layer a polynomial of degree 1–3 (or, one time in eight,
 * the identity), W entries in [−1, 1]/√fan-in, biases in [−0.3, 0.3], input mean in [−0.5, 0.5],
 * mixing A in [−0.4, 0.4] (Gaussian: Σ = A Aᵀ + 0.01 I; otherwise x = m + A s with centred
 * exponentials, cumulants to order 4). K in 1…4 and n in 1…3: every such combination is valid
 * (hidden layers pass max(K, n) ≤ 4 orders). A hidden cubic layer at K = 4 needs the order-4 rule
 * of 11 164 terms; the property keeps K ≤ 3 there and one fixed case below covers it.
 */
function networkCase(maxDepth: number, maxWidth: number, maxInputOrder: number): fc.Arbitrary<NetworkCase> {
  const degree = fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 7 });
  return fc
    .integer({ min: 1, max: maxDepth })
    .chain((depth) =>
      fc.record({
        widths: fc.array(fc.integer({ min: 1, max: maxWidth }), { minLength: depth + 1, maxLength: depth + 1 }),
        degrees: fc.array(degree, { minLength: depth, maxLength: depth }),
        gaussian: fc.boolean(),
        outputOrder: fc.integer({ min: 1, max: 3 }),
      }),
    )
    .chain(({ widths, degrees, gaussian, outputOrder }) => {
      const hiddenCubic = degrees.slice(0, -1).includes(3);
      const n0 = widths[0];
      return fc.record({
        widths: fc.constant(widths),
        coefficients: fc.tuple(...degrees.map(polynomial)),
        weights: fc.tuple(...degrees.map((_, l) => reals(widths[l + 1] * widths[l], -1, 1).map((w) => w.map((v) => v / Math.sqrt(widths[l]))))),
        biases: fc.tuple(...degrees.map((_, l) => reals(widths[l + 1], -0.3, 0.3))),
        mean: reals(n0, -0.5, 0.5),
        mixing: reals(n0 * n0, -0.4, 0.4),
        gaussian: fc.constant(gaussian),
        inputOrder: fc.integer({ min: 1, max: hiddenCubic ? Math.min(3, maxInputOrder) : maxInputOrder }),
        outputOrder: fc.constant(outputOrder),
      });
    });
}

function activationOf(coefficients: readonly number[]) {
  if (coefficients.length === 0) return parseActivation('z', {});
  const { source, params } = polynomialSource(coefficients);
  return parseActivation(source, params);
}

function buildNetwork(c: Pick<NetworkCase, 'widths' | 'coefficients' | 'weights' | 'biases'>): Network {
  return {
    inputSize: c.widths[0],
    layers: c.coefficients.map((coefficients, l) =>
      makeLayer(Float64Array.from(c.weights[l]), c.widths[l + 1], c.widths[l], Float64Array.from(c.biases[l]), activationOf(coefficients)),
    ),
  };
}

function gaussianInput(mean: readonly number[], mixing: readonly number[]): Cumulants {
  const n = mean.length;
  const cov = new Float64Array(n * n);
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      let s = a === b ? 0.01 : 0;
      for (let j = 0; j < n; j++) s += mixing[a * n + j] * mixing[b * n + j];
      cov[a * n + b] = s;
    }
  return new Cumulants(n, [undefined, Float64Array.from(mean), cov]);
}

const exponentialInput = (mean: readonly number[], mixing: readonly number[]) =>
  exponentialMixtureSampler(Float64Array.from(mean), Float64Array.from(mixing), mean.length).cumulants(4);

/** The non-Gaussian input is known to order 4 only; its higher cumulants do not vanish. */
function inputOf(c: NetworkCase): { input: Cumulants; options: PropagateOptions } {
  const base = { inputOrder: c.inputOrder, outputOrder: c.outputOrder };
  return c.gaussian ? { input: gaussianInput(c.mean, c.mixing), options: base } : { input: exponentialInput(c.mean, c.mixing), options: { ...base, inputZeroAbove: Infinity } };
}

function describeCase(c: NetworkCase): string {
  const acts = c.coefficients.map((p) => (p.length ? `[${p.map((v) => v.toFixed(3))}]` : 'identity'));
  return `${c.widths.join(' → ')}, φ = ${acts.join(', ')}, ${c.gaussian ? 'Gaussian' : 'exponential mixture'}, K = ${c.inputOrder}, n = ${c.outputOrder}`;
}

type TfBackend = 'wasm' | 'cpu' | 'tensorflow' | 'webgpu';

async function compiledAgrees(network: Network, input: Cumulants, options: PropagateOptions, backend: TfBackend, label: string): Promise<TensorCheck> {
  const want = propagateReference(network, input, options);
  const got = await propagate(network, input, { ...options, backend });
  const checks = compareNetworks(got, want, errorBounds(network, input, want, options));
  const worst = worstOf(checks);
  expect(worst.ratio, `${backend}, ${label}: ${describeCheck(worst)}`).toBeLessThanOrEqual(1);
  return worst;
}

// ---------------------------------------------------------------------------------------------

describe('compiled kernels agree with the float64 reference (fast-check, fixed seeds)', () => {
  it('wasm: depth 1–3, widths 1–6, degrees 1–3, K ≤ 4, n ≤ 3, Gaussian and non-Gaussian inputs', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(networkCase(3, 6, 4), async (c) => {
        const { input, options } = inputOf(c);
        await compiledAgrees(buildNetwork(c), input, options, 'wasm', describeCase(c));
      }),
      { seed: 0xc0ffee, numRuns: 60 * SCALE, endOnFailure: true },
    );
  });

  it('cpu: the same property on smaller cases (depth ≤ 2, widths ≤ 3)', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(networkCase(2, 3, 4), async (c) => {
        const { input, options } = inputOf(c);
        await compiledAgrees(buildNetwork(c), input, options, 'cpu', describeCase(c));
      }),
      { seed: 0xbeef, numRuns: 15 * SCALE, endOnFailure: true },
    );
  });

  it('wasm: a hidden cubic layer at K = 4 (its order-4 rule has 11 164 terms)', { timeout: 60_000 }, async () => {
    const c: NetworkCase = {
      widths: [3, 3, 2],
      coefficients: [[0.2, 0.9, -0.4, 0.3], [0.1, -0.8, 0.5]],
      weights: [[0.5, -0.3, 0.4, 0.2, 0.6, -0.1, -0.4, 0.3, 0.5], [0.6, -0.5, 0.3, 0.4, 0.2, -0.6]],
      biases: [[0.1, -0.2, 0.05], [0, 0.1]],
      mean: [0.3, -0.2, 0.1],
      mixing: [0.4, 0.1, -0.2, 0.1, 0.3, 0.2, -0.1, 0.2, 0.35],
      gaussian: false,
      inputOrder: 4,
      outputOrder: 3,
    };
    const { input, options } = inputOf(c);
    const net = buildNetwork(c);
    expect(cachedRule(net.layers[0].activation!, 4, 4).terms.length).toBe(11_164);
    await compiledAgrees(net, input, options, 'wasm', describeCase(c));
  });

  it('wasm and cpu: wide layers take the blocked covariance transform (500 and 750 outputs: 2 and 3 blocks, K = 2)', { timeout: 120_000 }, async () => {
    const rng = new Random(20261121);
    const widths = [5, 500, 750, 3];
    const c = {
      widths,
      coefficients: [[0.05, 1, 0.1], [0, 0.9, -0.1], [0, 1]],
      weights: widths.slice(1).map((rows, l) => Array.from({ length: rows * widths[l] }, () => (2 * rng.uniform() - 1) / Math.sqrt(widths[l]))),
      biases: widths.slice(1).map((rows) => Array.from({ length: rows }, () => 0.1 * (2 * rng.uniform() - 1))),
    };
    const net = buildNetwork(c);
    const input = gaussianInput([0.2, -0.1, 0.3, 0, 0.1], Array.from({ length: 25 }, () => 0.4 * (2 * rng.uniform() - 1)));
    for (const backend of ['wasm', 'cpu'] as const) await compiledAgrees(net, input, { inputOrder: 2, outputOrder: 2 }, backend, 'blocked 5 → 500 → 750 → 3');
  });

  it("backend 'reference' is the float64 evaluator itself", async () => {
    const network = buildNetwork({ widths: [2, 3], coefficients: [[0.1, 1, 0.5]], weights: [[0.8, -0.3, 0.2, 0.6, 0.4, 0.1]], biases: [[0.1, -0.1, 0]] });
    const x = exponentialInput([0.2, -0.1], [0.3, 0.1, -0.1, 0.3]);
    const options: PropagateOptions = { inputOrder: 4, outputOrder: 2, inputZeroAbove: Infinity };
    expect(await propagate(network, x, { ...options, backend: 'reference' })).toEqual(propagateReference(network, x, options));
  });
});

// ---------------------------------------------------------------------------------------------

describe('negative controls: the tolerance rejects small real errors', () => {
  const c: NetworkCase = {
    widths: [3, 4, 3],
    coefficients: [[0.1, 1, 0.4], [0.2, -0.7, 0.3, 0.25]],
    weights: [
      [0.6, -0.3, 0.4, 0.2, 0.5, -0.4, -0.3, 0.4, 0.6, 0.3, 0.2, -0.5],
      [0.5, -0.2, 0.3, 0.1, 0.2, 0.4, -0.3, 0.5, -0.1, 0.3, 0.4, 0.2],
    ],
    biases: [[0.1, -0.1, 0, 0.2], [0, 0.1, -0.1]],
    mean: [0.3, -0.2, 0.1],
    mixing: [0.4, 0.1, -0.2, 0.1, 0.3, 0.2, -0.1, 0.2, 0.35],
    gaussian: false,
    inputOrder: 3,
    outputOrder: 2,
  };
  const { input, options } = inputOf(c);
  const network = buildNetwork(c);

  it('one weight of the first layer × (1 + 1e-3): every later tensor, pre and post, is rejected; unperturbed: accepted', async () => {
    const want = propagateReference(network, input, options);
    const bounds = errorBounds(network, input, want, options);
    for (const backend of ['wasm', 'cpu'] as const) {
      const right = worstOf(compareNetworks(await propagate(network, input, { ...options, backend }), want, bounds));
      expect(right.ratio, `${backend}: ${describeCheck(right)}`).toBeLessThanOrEqual(1);
      const weights = c.weights.map((w) => [...w]);
      weights[0][0] *= 1 + 1e-3;
      const perturbed = buildNetwork({ ...c, weights });
      const checks = compareNetworks(await propagate(perturbed, input, { ...options, backend }), want, bounds);
      // The weight feeds every later tensor; each tensor's comparison, the deepest included, must see it.
      expect(checks).toHaveLength(11);
      for (const check of checks) expect(check.ratio, `${backend}, ${describeCheck(check)}`).toBeGreaterThan(1);
    }
  });

  it('one rule coefficient × (1 + 1e-3), the dominant term of each cubic rule at K = 4: rejected; unperturbed: accepted', async () => {
    const coefficients = [0.2, -0.7, 0.3, 0.25];
    const activation = polynomialActivationOf(coefficients);
    const x = exponentialInput([0.3, -0.2, 0.1], [0.4, 0.1, -0.2, 0.1, 0.3, 0.2, -0.1, 0.2, 0.35]);
    // Straight from the input: every cumulant is converted to float32 once.
    const conversion: Errors = x.tensors.map((t) => t && t.map((v) => U * Math.abs(v)));
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      for (const n of [1, 2, 3]) {
        const rule = cachedRule(activation, n, 4);
        const want = evaluateRule(rule, x);
        const error = ruleError(rule, x, conversion);
        const contribution = rule.terms.map((t) => maxAbs(evaluateRule({ ...rule, terms: [t] }, x)));
        const dominant = contribution.indexOf(Math.max(...contribution));
        const perturbed: TransferRule = {
          ...rule,
          terms: rule.terms.map((t, k) => (k === dominant ? { ...t, coefficient: t.coefficient.mul(Rational.of(1001, 1000)) } : t)),
        };
        const run = (r: TransferRule) => {
          const out = tf.tidy(() => {
            const tensors = uploadCumulants([x], 4);
            return compileRule(r).run(compileTaylor(activation.taylor)(tensors[1]!), tensors);
          });
          try {
            return Float64Array.from(out.dataSync());
          } finally {
            out.dispose();
          }
        };
        const [right, wrong] = [rule, perturbed].map((r) => checkTensor(`${backend}, n = ${n}`, run(r), want, error));
        expect(right.ratio, describeCheck(right)).toBeLessThanOrEqual(1);
        expect(wrong.ratio, describeCheck(wrong)).toBeGreaterThan(1);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('batches: propagateCompiled over several distributions equals one call per distribution', () => {
  const widths = [3, 4, 2];
  const network = buildNetwork({
    widths,
    coefficients: [[0.1, 0.9, 0.35], [-0.1, 0.8, -0.2, 0.15]],
    weights: [
      [0.6, -0.3, 0.4, 0.2, 0.5, -0.4, -0.3, 0.4, 0.6, 0.3, 0.2, -0.5],
      [0.5, -0.2, 0.3, 0.1, 0.2, 0.4, -0.3, 0.5],
    ],
    biases: [[0.1, -0.1, 0, 0.2], [0, 0.1]],
  });
  const inputs = [
    exponentialInput([0.3, -0.2, 0.1], [0.4, 0.1, -0.2, 0.1, 0.3, 0.2, -0.1, 0.2, 0.35]),
    exponentialInput([-0.4, 0.5, 0.0], [0.2, -0.3, 0.1, 0.3, 0.1, -0.2, 0.2, 0.25, 0.1]),
    exponentialInput([0.0, 0.1, -0.3], [0.35, 0, 0, 0.1, 0.3, 0, -0.2, 0.1, 0.3]),
    // A Gaussian member: its orders 3 and 4 are absent, i.e. zero, inside the batch.
    gaussianInput([0.2, 0.2, -0.1], [0.3, 0.1, 0, 0.1, 0.3, 0.1, 0, 0.1, 0.3]),
  ];
  const options: PropagateOptions = { inputOrder: 4, outputOrder: 3, inputZeroAbove: Infinity };

  for (const backend of ['wasm', 'cpu'] as const)
    it(`${backend}: 4 inputs (3 non-Gaussian, 1 Gaussian), 3 → 4 → 2, K = 4, n = 3`, { timeout: 60_000 }, async () => {
      const batch = await propagateCompiled(network, inputs, { ...options, backend });
      expect(batch).toHaveLength(widths.length - 1);
      const plan = planPropagation(network, options, 4);
      for (const [b, x] of inputs.entries()) {
        const member: LayerResult[] = batch.map((r) => ({ pre: r.pre[b], post: r.post[b], exactOrder: r.exactOrder }));
        const single = await propagate(network, x, { ...options, backend });
        const want = propagateReference(network, x, options);
        const bounds = errorBounds(network, x, want, options);
        // Both are within the bound of the exact values, hence within twice the bound of each other.
        const vsSingle = worstOf(compareNetworks(member, single, bounds, 2, true));
        expect(vsSingle.ratio, `input ${b}, batch vs single: ${describeCheck(vsSingle)}`).toBeLessThanOrEqual(1);
        const vsReference = worstOf(compareNetworks(member, want, bounds, 1, true));
        expect(vsReference.ratio, `input ${b}, batch vs reference: ${describeCheck(vsReference)}`).toBeLessThanOrEqual(1);
        expect(member.map((r) => r.exactOrder)).toEqual(plan.exactOrders);
      }
      // The members differ by far more than the tolerance, so a mix-up of batch rows would show.
      const a = batch[1].post[0].order(2)!;
      const d = batch[1].post[3].order(2)!;
      expect(Math.max(...a.map((v, k) => Math.abs(v - d[k])))).toBeGreaterThan(1e-2);
    });

  it('rejects an empty batch', async () => {
    await expect(propagateCompiled(network, [], { ...options, backend: 'wasm' })).rejects.toThrow(RangeError);
  });

  it('split across worker threads: 2 groups give the numbers of one thread, bit for bit; 3 groups agree within the bound; keep: output', { timeout: 60_000 }, async () => {
    const one = await propagateCompiled(network, inputs, { ...options, backend: 'wasm' });
    const two = await propagateCompiled(network, inputs, { ...options, backend: 'wasm', workers: 2 });
    expect(two.map((r) => r.exactOrder)).toEqual(one.map((r) => r.exactOrder));
    two.forEach((layer, l) => (['pre', 'post'] as const).forEach((side) => layer[side].forEach((c, b) => expect(c.tensors, `layer ${l + 1} ${side}, input ${b}`).toEqual(one[l][side][b].tensors))));
    // With 3 groups the Gaussian input is alone: its orders 3 and 4 are absent rather than zeros,
    // so the rules skip those terms and round differently.
    const three = await propagateCompiled(network, inputs, { ...options, backend: 'wasm', workers: 3 });
    for (const [b, x] of inputs.entries()) {
      const member: LayerResult[] = three.map((r) => ({ pre: r.pre[b], post: r.post[b], exactOrder: r.exactOrder }));
      const want = propagateReference(network, x, options);
      const check = worstOf(compareNetworks(member, want, errorBounds(network, x, want, options), 1, true));
      expect(check.ratio, `input ${b}, 3 groups vs reference: ${describeCheck(check)}`).toBeLessThanOrEqual(1);
    }
    const output = await propagateCompiled(network, inputs, { ...options, backend: 'wasm', workers: 2, keep: 'output' });
    expect(output).toHaveLength(1);
    expect(output[0].post.map((c) => c.order(2))).toEqual(one[one.length - 1].post.map((c) => c.order(2)));
    // An input error inside a worker arrives as the same InputError.
    const open = buildNetwork({ widths, coefficients: [[0, 1], [0, 1]], weights: network.layers.map((l) => [...l.weight]), biases: [[0, 0, 0, 0], [0, 0]] });
    await expect(propagateCompiled(open, inputs, { ...options, inputOrder: 9, backend: 'wasm', workers: 2 })).rejects.toThrow(/input order/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('an input of the wrong width is rejected, not misread', () => {
  const identity: Network = { inputSize: 3, layers: [makeLayer(Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3, 3, new Float64Array(3), parseActivation('z'))] };
  const narrow = new Cumulants(2, [undefined, Float64Array.from([7, 8]), Float64Array.from([1, 0, 0, 1])]);
  const wide = new Cumulants(3, [undefined, Float64Array.from([1, 2, 3]), Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1])]);
  for (const backend of ['reference', 'wasm', 'cpu'] as const)
    it(`${backend}: one input of width 2 into a network of width 3`, async () => {
      await expect(propagate(identity, narrow, { backend, inputOrder: 2, outputOrder: 2 })).rejects.toThrow(/input distribution has width 2, but the network takes 3 inputs/);
    });
  it('a batch whose second member has the wrong width', async () => {
    await expect(propagateCompiled(identity, [wide, narrow], { backend: 'wasm', inputOrder: 2, outputOrder: 2 })).rejects.toThrow(/input distribution 2 has width 2/);
  });
});

describe('no tensor outlives a propagation', () => {
  it('tf.memory().numTensors is unchanged after many calls, different networks, both backends', { timeout: 60_000 }, async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const cases = fc.sample(networkCase(2, 3, 3), { seed: 7, numRuns: 6 });
    for (const backend of ['wasm', 'cpu'] as const) {
      for (const c of cases) {
        const { input, options } = inputOf(c);
        const network = buildNetwork(c);
        await propagate(network, input, { ...options, backend });
        await propagateCompiled(network, [input, input], { ...options, backend });
      }
      // An identity layer (post is pre), K = 1 (rules of order ≥ 2 with no term: zeros), and a plan
      // rejected before any tensor exists.
      const identity = buildNetwork({ widths: [2, 2, 2], coefficients: [[], [0, 1, 0.5]], weights: [[1, 0.5, -0.5, 1], [0.7, 0.2, -0.3, 0.6]], biases: [[0, 0], [0.1, 0]] });
      const x = gaussianInput([0.1, -0.1], [0.3, 0.1, 0.1, 0.3]);
      await propagate(identity, x, { inputOrder: 1, outputOrder: 3, backend });
      await propagate(identity, x, { inputOrder: 2, outputOrder: 2, backend });
      const twoActivations = buildNetwork({ widths: [2, 2, 2], coefficients: [[0, 1, 0.5], [0, 1, 0.5]], weights: [[1, 0.5, -0.5, 1], [0.7, 0.2, -0.3, 0.6]], biases: [[0, 0], [0.1, 0]] });
      await expect(propagate(twoActivations, x, { inputOrder: 5, outputOrder: 2, backend })).rejects.toThrow(InputError);
      expect(tf.memory().numTensors, backend).toBe(before);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('backends that cannot run here say what is missing', () => {
  /** Either the backend works (then it must compute) or it fails with an InputError saying why. */
  async function backendOutcome(name: 'tensorflow' | 'webgpu'): Promise<{ ok: true } | { ok: false; error: unknown }> {
    try {
      await useBackend(name);
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  }

  const network = buildNetwork({ widths: [2, 2], coefficients: [[0.1, 1, 0.5]], weights: [[0.8, -0.3, 0.2, 0.6]], biases: [[0.1, -0.1]] });
  const x = exponentialInput([0.2, -0.1], [0.3, 0.1, -0.1, 0.3]);
  const options: PropagateOptions = { inputOrder: 4, outputOrder: 2, inputZeroAbove: Infinity };

  it('tensorflow: not installed → InputError naming @tensorflow/tfjs-node and suggesting --backend wasm', async () => {
    const outcome = await backendOutcome('tensorflow');
    if (outcome.ok) {
      expect(tf.getBackend()).toBe('tensorflow');
      await compiledAgrees(network, x, options, 'tensorflow', 'tensorflow');
    } else {
      expect(outcome.error).toBeInstanceOf(InputError);
      const message = (outcome.error as Error).message;
      expect(message).toMatch(/@tensorflow\/tfjs-node/);
      expect(message).toMatch(/not installed/);
      expect(message).toMatch(/--backend wasm/);
    }
  });

  it('webgpu: no adapter (or no Dawn) → InputError saying so and suggesting --backend wasm', async () => {
    const outcome = await backendOutcome('webgpu');
    if (outcome.ok) {
      expect(tf.getBackend()).toBe('webgpu');
      await compiledAgrees(network, x, options, 'webgpu', 'webgpu');
    } else {
      expect(outcome.error).toBeInstanceOf(InputError);
      const message = (outcome.error as Error).message;
      expect(message).toMatch(/webgpu/i);
      expect(message).toMatch(/adapter|not installed|Dawn/);
      expect(message).toMatch(/--backend wasm/);
    }
  });

  it('after those attempts, wasm still computes and agrees with the reference', async () => {
    await compiledAgrees(network, x, options, 'wasm', 'after failed backends');
    expect(tf.getBackend()).toBe('wasm');
  });
});
