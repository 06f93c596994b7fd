import type { ParsedExpression } from '../symbolic/expression.ts';
import { VARIABLE } from '../symbolic/expression.ts';
import { MAX_OUTPUT_ORDER, transferRule, type TransferRule } from '../symbolic/rule.ts';
import { polynomialActivation, type PolynomialActivation } from '../symbolic/taylor.ts';
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
  /** undefined for the identity (no nonlinearity). */
  readonly activation: PolynomialActivation | undefined;
}

export interface Network {
  readonly inputSize: number;
  readonly layers: readonly Layer[];
}

export function isIdentity(expr: ParsedExpression): boolean {
  return expr.node.type === 'SymbolNode' && (expr.node as unknown as { name: string }).name === VARIABLE;
}

export function makeLayer(weight: Float64Array, rows: number, cols: number, bias: Float64Array, expression: ParsedExpression): Layer {
  return { weight, rows, cols, bias, expression, activation: isIdentity(expression) ? undefined : polynomialActivation(expression) };
}

export interface PropagateOptions {
  /** K: each layer reads its input cumulants up to this order (2 = Gaussian closure). */
  readonly inputOrder: number;
  /** Orders reported for every layer (default 2). */
  readonly outputOrder: number;
  /** Largest dense tensor the reference backend may allocate, in entries. */
  readonly maxEntries?: number;
}

export interface LayerResult {
  readonly pre: Cumulants;
  readonly post: Cumulants;
  /** Post-activation cumulants of orders ≤ exactOrder are exact (Infinity: all). */
  readonly exactOrder: number;
}

/**
 * What is known exactly about a distribution: cumulants of order ≤ exactOrder are exact, and the
 * true cumulants of order > zeroAbove vanish (Infinity where nothing is known).
 */
interface Exactness {
  exactOrder: number;
  zeroAbove: number;
}

/**
 * Propagate cumulants through the network with the float64 reference evaluator. Every layer reads
 * pre-activation cumulants up to K and passes on max(K, n) orders; the result records which orders
 * are exact under this truncation.
 */
export function propagateReference(network: Network, input: Cumulants, options: PropagateOptions): LayerResult[] {
  const K = options.inputOrder;
  const stored = Math.max(K, options.outputOrder);
  const maxEntries = options.maxEntries ?? 2e7;
  const widths = [network.inputSize, ...network.layers.map((l) => l.rows)];
  const widest = Math.max(...widths);
  if (widest ** stored > maxEntries)
    throw new InputError(
      `order-${stored} cumulants of width ${widest} need ${widest ** stored} dense entries (limit ${maxEntries}); lower --input-order/--output-order or the width`,
    );
  if (network.layers.length > 1 && stored > MAX_OUTPUT_ORDER && network.layers.slice(0, -1).some((l) => l.activation))
    throw new InputError(
      `a hidden layer passes cumulants up to order max(K, n) = ${stored} on, but transfer rules go up to order ${MAX_OUTPUT_ORDER}; use --input-order ≤ ${MAX_OUTPUT_ORDER} for networks with more than one layer`,
    );
  const rules = new Map<string, TransferRule>();
  const ruleFor = (activation: PolynomialActivation, order: number): TransferRule => {
    const key = `${activation.expression.node.toString()}|${order}|${K}`;
    let rule = rules.get(key);
    if (!rule) rules.set(key, (rule = transferRule(activation, order, K)));
    return rule;
  };

  let current = input;
  let known: Exactness = { exactOrder: Infinity, zeroAbove: highestGiven(input) };
  const results: LayerResult[] = [];
  for (const [index, layer] of network.layers.entries()) {
    // The last layer computes only the orders it reports; hidden layers pass max(K, n) orders on.
    const orders = index === network.layers.length - 1 ? options.outputOrder : stored;
    const pre = affineCumulants(current, layer.weight, layer.rows, layer.bias, stored);
    let post: Cumulants;
    if (!layer.activation) {
      post = pre;
      known = { exactOrder: known.zeroAbove <= stored ? known.exactOrder : Math.min(known.exactOrder, stored), zeroAbove: known.zeroAbove };
    } else {
      const act = layer.activation;
      const truncated = pre.truncate(K);
      const tensors: (Float64Array | undefined)[] = [undefined];
      for (let m = 1; m <= orders; m++) tensors.push(evaluateRule(ruleFor(act, m), truncated));
      post = new Cumulants(layer.rows, tensors);
      known = afterActivation(known, act.degree, K, orders);
    }
    results.push({ pre, post, exactOrder: known.exactOrder });
    current = post;
  }
  return results;
}

function highestGiven(c: Cumulants): number {
  let r = 1;
  for (let k = 2; k <= c.maxOrder; k++) if (c.order(k)) r = k;
  return r;
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
