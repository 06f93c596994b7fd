import type { ParsedExpression } from '../symbolic/expression.ts';
import { VARIABLE, polynomialDegree } from '../symbolic/expression.ts';
import { DEFAULT_MAX_MEMORY, MAX_OUTPUT_ORDER, bytesText, checkRuleCost, transferRule, type TransferRule } from '../symbolic/rule.ts';
import { polynomialActivation, type PolynomialActivation } from '../symbolic/taylor.ts';
import { activationOf, type Activation } from '../symbolic/activations.ts';
import { MAX_GAUSSIAN_ORDER } from '../symbolic/gaussian.ts';
import { exactOrderOf, gaussianLayer, gaussianLayerErrors } from './general.ts';
import { InputError } from '../symbolic/errors.ts';
import { evaluateRule } from './reference.ts';
import { Cumulants, affineCumulants } from './tensor.ts';

/** One layer z = W y + b, y' = φ(z); rows of W are outputs. */
export interface Layer {
  readonly weight: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly bias: Float64Array;
  readonly expression: ParsedExpression;
  /** The exact polynomial engine's view of φ; undefined for the identity and for non-polynomial φ. */
  readonly activation: PolynomialActivation | undefined;
  /** A non-polynomial φ (ReLU, tanh, …): Gaussian closure with g_k = E[φ^(k)(z)] (numeric/general.ts). */
  readonly general: Activation | undefined;
}

/** Whether the layer applies a nonlinearity (polynomial or general). */
export function hasActivation(layer: Layer): boolean {
  return layer.activation !== undefined || layer.general !== undefined;
}

export interface Network {
  readonly inputSize: number;
  readonly layers: readonly Layer[];
}

export function isIdentity(expr: ParsedExpression): boolean {
  return expr.node.type === 'SymbolNode' && (expr.node as unknown as { name: string }).name === VARIABLE;
}

export function makeLayer(weight: Float64Array, rows: number, cols: number, bias: Float64Array, expression: ParsedExpression): Layer {
  if (isIdentity(expression)) return { weight, rows, cols, bias, expression, activation: undefined, general: undefined };
  if ('degree' in polynomialDegree(expression)) return { weight, rows, cols, bias, expression, activation: polynomialActivation(expression), general: undefined };
  return { weight, rows, cols, bias, expression, activation: undefined, general: activationOf(expression) };
}

/**
 * Bytes a dense cumulant entry costs while a layer runs: the float64 tensor and the copies its
 * affine map and rule kernels hold at once (order-r contractions, per-term products).
 */
export const DENSE_BYTES_PER_ENTRY = 128;

export interface PropagateOptions {
  /** K: each layer reads its input cumulants up to this order (2 = Gaussian closure). */
  readonly inputOrder: number;
  /** Orders reported for every layer (default 2). */
  readonly outputOrder: number;
  /**
   * True input cumulants of order above this vanish. Default: the highest order given (a stats
   * file's convention: missing orders are zero). Infinity for a distribution known only up to
   * the orders given, such as a sampled non-Gaussian input.
   */
  readonly inputZeroAbove?: number;
  /** Largest dense tensor the reference backend may allocate, in entries (default: from maxMemory). */
  readonly maxEntries?: number;
  /**
   * Memory the propagation may take, in bytes (default 4 GB): dense cumulant tensors (counted
   * with the kernels' intermediates, DENSE_BYTES_PER_ENTRY each) and the transfer rules
   * (symbolic/rule.ts RULE_COST). Checked before any work.
   */
  readonly maxMemory?: number;
}

export interface LayerResult {
  readonly pre: Cumulants;
  readonly post: Cumulants;
  /** Post-activation cumulants of orders ≤ exactOrder are exact (Infinity: all). */
  readonly exactOrder: number;
  /**
   * Numerical error of the post-activation theory by order, relative to the tensor's largest entry:
   * the truncation bound of the Gaussian-closure series and quadrature (general activations only).
   */
  readonly numericalError?: readonly number[];
}

/**
 * What is known exactly about a distribution: cumulants of order ≤ exactOrder are exact, and the
 * true cumulants of order > zeroAbove vanish (Infinity where nothing is known).
 */
interface Exactness {
  exactOrder: number;
  zeroAbove: number;
}

/** What each layer computes and what of it is exact, fixed by the network and the truncation alone. */
export interface PropagationPlan {
  /** Orders of the pre-activation cumulants each layer computes. */
  readonly preOrders: readonly number[];
  /** Orders of the post-activation cumulants each layer passes on (≥ the reported n). */
  readonly postOrders: readonly number[];
  /** Post-activation cumulants of orders ≤ exactOrders[l] are exact (Infinity: all). */
  readonly exactOrders: readonly number[];
}

/**
 * Orders each layer must produce, from the output backwards: a layer with an activation reads its
 * pre-activation up to K and reports n orders; one without passes on what follows needs. Checks
 * that every rule exists and that dense tensors stay below `maxEntries`.
 */
export function planPropagation(network: Network, options: PropagateOptions, inputHighestOrder: number): PropagationPlan {
  checkParameterValues(network);
  const K = options.inputOrder;
  const n = options.outputOrder;
  const maxMemory = options.maxMemory ?? DEFAULT_MAX_MEMORY;
  const maxEntries = options.maxEntries ?? Math.floor(maxMemory / DENSE_BYTES_PER_ENTRY);
  const preOrders = new Array<number>(network.layers.length);
  const postOrders = new Array<number>(network.layers.length);
  for (let l = network.layers.length - 1; l >= 0; l--) {
    postOrders[l] = l === network.layers.length - 1 ? n : Math.max(n, preOrders[l + 1]);
    const layer = network.layers[l];
    preOrders[l] = layer.activation ? Math.max(K, n) : layer.general ? Math.max(Math.min(K, 4), n) : postOrders[l];
  }
  network.layers.forEach((layer, l) => {
    if (layer.general && postOrders[l] > MAX_GAUSSIAN_ORDER)
      throw new InputError(
        `layer ${l + 1} (φ = ${layer.expression.source}) would have to give cumulants up to order ${postOrders[l]}, but the Gaussian closure of a general activation gives orders up to ${MAX_GAUSSIAN_ORDER}; use --output-order ≤ ${MAX_GAUSSIAN_ORDER} and --input-order ≤ ${MAX_GAUSSIAN_ORDER} around it`,
      );
    if (layer.activation && postOrders[l] > MAX_OUTPUT_ORDER)
      throw new InputError(
        `layer ${l + 1} would have to pass cumulants up to order ${postOrders[l]} to the next layer (its input order K = ${K}), but transfer rules go up to order ${MAX_OUTPUT_ORDER}; use --input-order ≤ ${MAX_OUTPUT_ORDER} when a layer with an activation feeds another`,
      );
  });
  const widths = [network.inputSize, ...network.layers.map((l) => l.rows)];
  network.layers.forEach((layer, l) => {
    const entries = Math.max(widths[l] ** preOrders[l], layer.rows ** preOrders[l]);
    if (entries > maxEntries)
      throw new InputError(
        `layer ${l + 1} needs order-${preOrders[l]} cumulants of width ${Math.max(widths[l], layer.rows)}: ${entries} dense entries, about ${bytesText(entries * DENSE_BYTES_PER_ENTRY)} with the kernels' intermediates (limit ${maxEntries} entries, --max-memory ${bytesText(maxMemory)}); lower --input-order/--output-order or the width, or raise --max-memory`,
      );
    if (layer.activation) for (let m = 1; m <= postOrders[l]; m++) checkRuleCost(layer.activation.degree, m, K, maxMemory);
  });
  let known: Exactness = { exactOrder: Infinity, zeroAbove: options.inputZeroAbove ?? inputHighestOrder };
  const exactOrders = network.layers.map((layer, l) => {
    if (layer.general) known = afterGaussianClosure(known, postOrders[l]);
    else if (!layer.activation) {
      const stored = postOrders[l];
      known = { exactOrder: known.zeroAbove <= stored ? known.exactOrder : Math.min(known.exactOrder, stored), zeroAbove: known.zeroAbove };
    } else known = afterActivation(known, layer.activation.degree, K, postOrders[l]);
    return known.exactOrder;
  });
  return { preOrders, postOrders, exactOrders };
}

/** Every activation parameter must have a value before anything is evaluated. */
export function checkParameterValues(network: Network): void {
  network.layers.forEach((layer, l) => {
    const p = layer.expression.parameters;
    if (p.length) throw new InputError(`layer ${l + 1}: parameter${p.length > 1 ? 's' : ''} ${p.join(', ')} of "${layer.expression.source}" need${p.length > 1 ? '' : 's'} a value`);
  });
}

/** Every input distribution must have the network's input width. */
export function checkInputWidths(network: Network, inputs: readonly Cumulants[]): void {
  for (const [b, input] of inputs.entries())
    if (input.size !== network.inputSize)
      throw new InputError(`input distribution${inputs.length > 1 ? ` ${b + 1}` : ''} has width ${input.size}, but the network takes ${network.inputSize} inputs`);
}

/** One transfer rule per (activation, order, K), derived once per process. */
const ruleCache = new Map<string, TransferRule>();
export function cachedRule(activation: PolynomialActivation, order: number, inputOrder: number): TransferRule {
  const key = `${activation.expression.node.toString()}|${order}|${inputOrder}`;
  let rule = ruleCache.get(key);
  if (!rule) {
    if (ruleCache.size > 256) ruleCache.clear();
    ruleCache.set(key, (rule = transferRule(activation, order, inputOrder, Infinity)));
  }
  return rule;
}

/**
 * Propagate cumulants through the network with the float64 reference evaluator. Every layer reads
 * pre-activation cumulants up to K and passes on the orders the layers after it need (at most
 * max(K, n)); the result records which orders are exact under this truncation.
 */
export function propagateReference(network: Network, input: Cumulants, options: PropagateOptions): LayerResult[] {
  const K = options.inputOrder;
  checkInputWidths(network, [input]);
  const plan = planPropagation(network, options, highestGiven(input));
  let current = input;
  return network.layers.map((layer, l) => {
    const pre = affineCumulants(current, layer.weight, layer.rows, layer.bias, plan.preOrders[l]);
    let post = pre;
    let numericalError: number[] | undefined;
    let exactOrder = plan.exactOrders[l];
    if (layer.general) {
      const result = gaussianLayer(layer.general, pre.truncate(Math.min(K, 4)), plan.postOrders[l]);
      post = result.post;
      numericalError = gaussianLayerErrors(result);
      exactOrder = exactOrderOf(exactOrder, numericalError, result.thirdTruncation?.converged);
    }
    else if (layer.activation) {
      const truncated = pre.truncate(K);
      const tensors: (Float64Array | undefined)[] = [undefined];
      for (let m = 1; m <= plan.postOrders[l]; m++) tensors.push(evaluateRule(cachedRule(layer.activation, m, K), truncated));
      post = new Cumulants(layer.rows, tensors);
    }
    current = post;
    checkFinite({ pre, post }, l, 'float64');
    return { pre, post, exactOrder, ...(numericalError ? { numericalError } : {}) };
  });
}

/**
 * Every cumulant a layer computed must be a finite number: an overflow (weights 1e308, a float32
 * entry beyond 3.4e38) would otherwise print as Infinity or NaN under an "exact" label. Throws an
 * input error naming the layer, the stage and the order.
 */
export function checkFinite(result: Pick<LayerResult, 'pre' | 'post'>, layer: number, precision: 'float64' | 'float32', member?: string): void {
  for (const [stage, c] of [['pre-activation', result.pre], ['post-activation', result.post]] as const)
    for (let r = 1; r <= c.maxOrder; r++) {
      const t = r === 1 ? c.mean : c.order(r);
      if (!t) continue;
      let largest = 0;
      let bad = false;
      for (const v of t) {
        if (!Number.isFinite(v)) bad = true;
        else largest = Math.max(largest, Math.abs(v));
      }
      if (!bad) continue;
      const what = r === 1 ? 'mean' : r === 2 ? 'covariance' : `order-${r} cumulant`;
      const where = `layer ${layer + 1}${member ? ` (${member})` : ''}: the ${stage} ${what}`;
      throw new InputError(
        precision === 'float64'
          ? `${where} overflows float64 (an entry is infinite or NaN; the largest finite one is ${largest.toPrecision(3)}); rescale the weights or the input`
          : `${where} overflows float32 (an entry is beyond ±3.4e38 or NaN); use --backend reference (float64), or rescale the weights or the input`,
      );
    }
}

export function highestGiven(c: Cumulants): number {
  let r = 1;
  for (let k = 2; k <= c.maxOrder; k++) if (c.order(k)) r = k;
  return r;
}

/**
 * A general activation reads μ and Σ only (the Gaussian closure): its outputs are exact, up to the
 * series' truncation, when its input is Gaussian (known exactly up to order 2, zero above).
 */
function afterGaussianClosure(known: Exactness, stored: number): Exactness {
  const gaussian = known.zeroAbove <= 2 && known.exactOrder >= 2;
  return { exactOrder: gaussian ? stored : 0, zeroAbove: Infinity };
}

/**
 * Output order m of a degree-d polynomial uses input cumulants of orders up to d·m; those that are
 * truly non-zero (≤ zeroAbove) must be kept (≤ K) and exact. Affine maps keep zeroAbove.
 */
function afterActivation(known: Exactness, degree: number, K: number, stored: number): Exactness {
  const usable = Math.min(K, known.exactOrder);
  let exact = 0;
  for (let m = 1; m <= stored; m++) {
    if (Math.min(degree * m, known.zeroAbove) > usable) break;
    exact = m;
  }
  const zeroAbove = degree === 0 ? 1 : degree === 1 ? known.zeroAbove : Infinity;
  const all = exact === stored;
  return { exactOrder: all && zeroAbove <= stored ? Infinity : exact, zeroAbove };
}
