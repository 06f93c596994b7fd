/**
 * What a propagation will cost, known before it starts: an upper bound on the seconds, from
 * operation counts and unit costs measured on a busy two-core machine, and the peak bytes of its
 * dense tensors. The κ3 of a general activation counts every shell of the three-vertex series
 * (it often stops earlier); the trivariate quadrature that replaces an asymptotic series is
 * estimated where it is needed, against the time left (numeric/trivariate.ts).
 */
import { ruleCost } from '../symbolic/rule.ts';
import { MAX_SMOOTHED_K } from './general.ts';
import { DENSE_BYTES_PER_ENTRY, type Network, type PropagationPlan } from './network.ts';

/** Measured unit costs, in seconds. */
export const UNIT_COST = {
  /** One term of a rule evaluated at one tensor entry (float64 evaluator; the series of κ3 and covariances). */
  termEntry: 4e-7,
  /** One unit's table g_0…g_K by quadrature (activations without a closed form), or from a closed form. */
  quadratureUnit: 0.04,
  closedFormUnit: 0.004,
  /** One multiply-add of an affine map. */
  multiplyAdd: 3e-9,
} as const;

/** Terms of the three-vertex series for κ3 up to `shells` edges: (a, b, c) ≥ 0, a + b + c = t, two of them > 0. */
export function thirdSeriesTerms(shells: number): number {
  let terms = 0;
  for (let t = 2; t <= shells; t++) terms += ((t + 2) * (t + 1)) / 2 - 3;
  return terms;
}

export interface LayerEstimate {
  readonly seconds: number;
  readonly bytes: number;
  /** What dominates the layer's time, for messages. */
  readonly what: string;
}

export interface PropagationEstimate {
  /** Upper bound on the wall time. */
  readonly seconds: number;
  /** Peak memory of the dense tensors (the largest layer's). */
  readonly bytes: number;
  readonly layers: readonly LayerEstimate[];
}

/** The cost of propagating `batch` input distributions through the network under `plan`. */
export function estimatePropagation(network: Network, plan: PropagationPlan, inputOrder: number, batch = 1): PropagationEstimate {
  const widths = [network.inputSize, ...network.layers.map((l) => l.rows)];
  const layers = network.layers.map((layer, l): LayerEstimate => {
    const R = layer.rows;
    const C = widths[l];
    const bytes = Math.max(C, R) ** plan.preOrders[l] * DENSE_BYTES_PER_ENTRY;
    let seconds = 0;
    // Affine maps, n mode products per order n.
    for (let r = 1; r <= plan.preOrders[l]; r++) seconds += r * R * Math.max(R, C) ** r * UNIT_COST.multiplyAdd;
    let what = 'the affine map';
    if (layer.activation)
      for (let m = 1; m <= plan.postOrders[l]; m++) {
        const cost = ruleCost(layer.activation.degree, m, inputOrder);
        seconds += cost.seconds + cost.terms * R ** m * UNIT_COST.termEntry;
        what = `the order-${m} rule of φ = ${layer.expression.source}`;
      }
    else if (layer.general) {
      const closed = layer.general.smoothed !== undefined;
      const K = closed ? MAX_SMOOTHED_K.closedForm : MAX_SMOOTHED_K.quadrature;
      seconds += R * (closed ? UNIT_COST.closedFormUnit : UNIT_COST.quadratureUnit) + R * R * K * UNIT_COST.termEntry;
      what = `the Gaussian closure of φ = ${layer.expression.source}`;
      if (plan.postOrders[l] >= 3) {
        // Every shell of the three-vertex series at N³ entries; φ² by quadrature per unit; Mehler at N² pairs.
        seconds += R ** 3 * thirdSeriesTerms(Math.min(K, 40)) * UNIT_COST.termEntry + 2 * R * UNIT_COST.quadratureUnit + 2 * R * R * K * UNIT_COST.termEntry;
        what = `the third cumulant of φ = ${layer.expression.source} (three-vertex series at ${R}³ entries)`;
      }
    }
    return { seconds: seconds * batch, bytes: bytes * batch, what };
  });
  return {
    seconds: layers.reduce((s, l) => s + l.seconds, 0),
    bytes: Math.max(0, ...layers.map((l) => l.bytes)),
    layers,
  };
}
