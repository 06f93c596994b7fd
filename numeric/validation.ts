/**
 * Theory against sampling (docs/theory.md §Monte Carlo estimators): every unique entry of every reported cumulant of every layer,
 * z = |theory − MC| / √(SE² + ε²) with ε covering float rounding in the theory, against a
 * Bonferroni bound over all entries compared. An entry the truncation bookkeeping marks exact must
 * agree; an approximate one reports how far the closure is from sampling.
 */
import { compareEntries, type EntryComparison, type LayerEstimates } from './montecarlo.ts';
import type { LayerResult } from './network.ts';
import { bonferroniCritical } from './statistics.ts';

export type { EntryComparison };

import { MAX_EXACT_NUMERICAL_ERROR } from './general.ts';

export { MAX_EXACT_NUMERICAL_ERROR };

export type Verdict = 'agrees' | 'disagrees' | 'approximate';

export interface BlockComparison {
  readonly layer: number;
  readonly stage: 'pre' | 'post';
  readonly order: number;
  /** Whether the theory is exact for this block under the truncation. */
  readonly exact: boolean;
  readonly maxZ: number;
  readonly worst: readonly number[];
  readonly verdict: Verdict;
  readonly entries: readonly EntryComparison[];
}

export interface Validation {
  readonly blocks: readonly BlockComparison[];
  /** Bonferroni-corrected bound on |z| for the family of all entries compared. */
  readonly critical: number;
  readonly alpha: number;
  readonly entries: number;
  /** True when every exact block agrees with sampling. */
  readonly passed: boolean;
}

export interface ValidationOptions {
  /** Family-wise false-rejection probability (default 1e-3). */
  readonly alpha?: number;
  /** Batches behind each standard error (Student-t degrees of freedom B − 1). */
  readonly batches: number;
  /** Highest order compared (≤ the orders estimated). */
  readonly maxOrder: number;
  /** ε per block: rounding allowance of the theory, relative to the block's largest |entry|. */
  readonly relativeFloor: number;
}

/** max_i |μ_i| + √Σ_ii: the size of a draw, whose powers set the rounding of every cumulant. */
function momentScale(mean: Float64Array, cov: Float64Array | undefined, width: number): number {
  let scale = 0;
  for (let i = 0; i < width; i++) scale = Math.max(scale, Math.abs(mean[i]) + Math.sqrt(Math.max(cov ? cov[i * width + i] : 0, 0)));
  return scale;
}

/**
 * Compare theory with Monte Carlo estimates, layer by layer, pre- and post-activation.
 * z = |theory − MC| / √(SE² + ε²) with ε = relativeFloor · (the block's largest |entry| or
 * (|μ| + σ)^r, whichever is larger). Where SE = 0 (no sampling spread: constant data, a
 * deterministic unit) z measures the difference against float rounding alone, and |z| within the
 * bound means agreement to float tolerance.
 */
export function validateLayers(theory: readonly LayerResult[], mc: readonly LayerEstimates[], options: ValidationOptions): Validation {
  const alpha = options.alpha ?? 1e-3;
  const raw: Omit<BlockComparison, 'verdict'>[] = [];
  theory.forEach((layer, l) => {
    const width = layer.pre.size;
    const preExact = l === 0 ? Infinity : theory[l - 1].exactOrder;
    for (const stage of ['pre', 'post'] as const) {
      const exactOrder = stage === 'pre' ? preExact : layer.exactOrder;
      // A series' truncation and quadrature error (general activations) widens the allowance; the
      // affine map after a layer passes it on to the next pre-activation.
      const numerical = (stage === 'pre' ? theory[l - 1]?.numericalError : layer.numericalError) ?? [];
      // Cumulants come from moments of size (|μ| + σ)^r: their rounding is relative to that, not
      // to the cumulant itself (a zero covariance of constant data is computed from μ² − μ²).
      const moments = momentScale(layer[stage].mean, layer[stage].order(2), width);
      for (let r = 1; r <= options.maxOrder; r++) {
        const t = layer[stage].order(r) ?? new Float64Array(width ** r);
        let scale = moments ** r;
        for (const v of t) scale = Math.max(scale, Math.abs(v));
        const allowance = (numerical[r] ?? 0) <= MAX_EXACT_NUMERICAL_ERROR ? (numerical[r] ?? 0) : 0;
        const floor = (options.relativeFloor + allowance) * scale + Number.MIN_VALUE;
        const { entries, maxZ, worstAt: worst } = compareEntries(t, mc[l][stage][r], width, r, floor);
        // A theory whose own numerical error (an asymptotic series stopped early) is large is an
        // approximation, whatever the bookkeeping of cumulant orders says.
        raw.push({ layer: l + 1, stage, order: r, exact: r <= exactOrder && (numerical[r] ?? 0) <= MAX_EXACT_NUMERICAL_ERROR, maxZ, worst, entries });
      }
    }
  });
  const entries = raw.reduce((s, b) => s + b.entries.length, 0);
  const critical = bonferroniCritical(alpha, entries, options.batches - 1);
  const blocks = raw.map((b) => ({ ...b, verdict: (!b.exact ? 'approximate' : b.maxZ <= critical ? 'agrees' : 'disagrees') as Verdict }));
  return { blocks, critical, alpha, entries, passed: blocks.every((b) => b.verdict !== 'disagrees') };
}
