/**
 * Where a Gaussian expectation E[f(μ + √s X)] has its mass, in standard units x: the integrand
 * |φ(x) f(μ + √s x)| is scanned out to ±38 (past which the normal density underflows), and the
 * range reaches every x where it is above 1e-20 of its largest value. At least ±13 (the normal mass
 * outside is 1e-38). A φ of exponential growth, e^{cz} with c√s = 6, peaks at x = 6 and needs ±17;
 * a fixed ±13 would cut it off and call a finite expectation infinite.
 */
import { normalPdf } from './gauss.ts';

export const LEAST_RANGE = 13;
export const MOST_RANGE = 38;

export function integrandRange(integrand: (x: number) => number): { lo: number; hi: number; fallsOff: boolean } {
  const values: number[] = [];
  let largest = 0;
  for (let x = -MOST_RANGE; x <= MOST_RANGE; x += 0.5) {
    const v = Math.abs(normalPdf(x) * integrand(x));
    values.push(v);
    if (Number.isFinite(v)) largest = Math.max(largest, v);
  }
  if (!(largest > 0) || values.some((v) => !Number.isFinite(v))) return { lo: -LEAST_RANGE, hi: LEAST_RANGE, fallsOff: true };
  const above = values.map((v, k) => (v > 1e-20 * largest ? k : -1)).filter((k) => k >= 0);
  const lo = Math.min(-LEAST_RANGE, -MOST_RANGE + 0.5 * (above[0] - 1));
  const hi = Math.max(LEAST_RANGE, -MOST_RANGE + 0.5 * (above[above.length - 1] + 1));
  const fallsOff = values[0] <= 1e-20 * largest && values[values.length - 1] <= 1e-20 * largest;
  return { lo: Math.max(lo, -MOST_RANGE), hi: Math.min(hi, MOST_RANGE), fallsOff };
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
