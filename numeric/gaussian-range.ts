/**
 * Where a Gaussian expectation E[f(μ + √s X)] has its mass, in standard units x: the integrand
 * |φ(x) f(μ + √s x)| is scanned out to ±38 (past which the normal density underflows), and the
 * range reaches every x where it is above 1e-20 of its largest value. At least ±13 (the normal mass
 * outside is 1e-38). A φ of exponential growth, e^{cz} with c√s = 6, peaks at x = 6 and needs ±17;
 * a fixed ±13 would cut it off and call a finite expectation infinite.
 */
import { normalPdf } from './gauss.ts';

/**
 * The scan: x = −most, −most + step, …, most; kept where the integrand exceeds `floor` × its largest
 * value there, each kept point widening the range by `step`; never less than ±least. Emitted code
 * (src/emit) scans the same grid by the same rule (rangeOfValues).
 */
export const RANGE_SCAN = { least: 13, most: 38, step: 0.5, floor: 1e-20 } as const;
export const LEAST_RANGE = RANGE_SCAN.least;
export const MOST_RANGE = RANGE_SCAN.most;

/** The scan's points x (RANGE_SCAN). */
export function rangeGrid(): Float64Array {
  const { most, step } = RANGE_SCAN;
  return Float64Array.from({ length: Math.round((2 * most) / step) + 1 }, (_, k) => -most + step * k);
}

export function integrandRange(integrand: (x: number) => number): { lo: number; hi: number; fallsOff: boolean } {
  return rangeOfValues(Array.from(rangeGrid(), (x) => Math.abs(normalPdf(x) * integrand(x))));
}

/** The range of |φ(x) f(x)| from its values on the grid (rangeGrid): ±least where a value is not finite or all are 0. */
export function rangeOfValues(values: readonly number[]): { lo: number; hi: number; fallsOff: boolean } {
  const { least, most, step, floor } = RANGE_SCAN;
  let largest = 0;
  for (const v of values) if (Number.isFinite(v)) largest = Math.max(largest, v);
  if (!(largest > 0) || values.some((v) => !Number.isFinite(v))) return { lo: -least, hi: least, fallsOff: true };
  const above = values.map((v, k) => (v > floor * largest ? k : -1)).filter((k) => k >= 0);
  const lo = Math.min(-least, -most + step * (above[0] - 1));
  const hi = Math.max(least, -most + step * (above[above.length - 1] + 1));
  const fallsOff = values[0] <= floor * largest && values[values.length - 1] <= floor * largest;
  return { lo: Math.max(lo, -most), hi: Math.min(hi, most), fallsOff };
}

/**
 * Whether Gauss–Hermite nodes can see f change where it changes fast (at `transitions`, in z): false
 * where f moves by more than a tenth of its swing over μ ± 4√s within 0.05 √s of a transition inside
 * the mass — about the spacing of 2048 nodes near the centre. A sharper change falls between the
 * nodes, and the estimates agree with each other on the wrong value (sigmoid at variance 2.5e5 read as a
 * step loses 0.3 % of its variance); piecewise Gauss–Legendre cut there resolves it.
 */
export function hermiteResolves(f: (z: number) => number, mu: number, s: number, transitions: readonly number[]): boolean {
  const sigma = Math.sqrt(s);
  const inside = transitions.filter((b) => Math.abs(b - mu) < 8 * sigma);
  if (inside.length === 0) return true;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = -40; k <= 40; k++) {
    const v = f(mu + (k / 10) * sigma);
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const swing = hi - lo;
  const h = 0.05 * sigma;
  return inside.every((b) => !(Math.abs(f(b + h) - f(b - h)) > 0.1 * swing));
}
