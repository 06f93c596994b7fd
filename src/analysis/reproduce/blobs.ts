/**
 * The XOR task: two-dimensional inputs from four Gaussian blobs centred at (±1, ±1), label 1 where
 * the signs of the two centre coordinates differ. Both classes have mean zero; their covariances
 * differ in the sign of the off-diagonal entry (±1 from the centres, plus sd² on the diagonal).
 */
import { Random } from '../../../numeric/index.ts';
import type { Dataset } from '../data.ts';

export function xorBlobs(count: number, sd: number, seed: number, name: string): Dataset {
  const rng = new Random(seed);
  const features = new Float32Array(2 * count);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    // Equal blob counts in every split: row r is blob r mod 4.
    const blob = r % 4;
    const s1 = blob & 1 ? 1 : -1;
    const s2 = blob & 2 ? 1 : -1;
    features[2 * r] = s1 + sd * rng.normal();
    features[2 * r + 1] = s2 + sd * rng.normal();
    labels[r] = s1 !== s2 ? 1 : 0;
  }
  return { features, labels, count, dim: 2, classes: 2, name };
}
