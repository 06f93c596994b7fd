/** Small dense symmetric linear algebra in float64 (row-major n×n arrays). */

/** Smallest eigenvalue by cyclic Jacobi rotations (exact enough for the PSD check). */
export function smallestEigenvalue(a: Float64Array, n: number): number {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k];
          const aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  let min = Infinity;
  for (let i = 0; i < n; i++) min = Math.min(min, m[i * n + i]);
  return min;
}

/**
 * Cholesky factor L (A + jitter·max(diag)·I = L Lᵀ) of a symmetric positive semidefinite matrix.
 * A negative pivot means A is not PSD: the first one is returned as negativePivot and its column
 * of L is left at zero, so a semidefinite A still gets a usable factor.
 */
export function cholesky(a: Float64Array, n: number, jitter = 0): { factor: Float64Array; negativePivot?: number } {
  const l = new Float64Array(n * n);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, a[i * n + i]);
  let negativePivot: number | undefined;
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] + jitter * scale;
    for (let k = 0; k < j; k++) d -= l[j * n + k] ** 2;
    if (d < 0 && negativePivot === undefined) negativePivot = d;
    const ljj = Math.sqrt(Math.max(d, 0));
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = ljj > 0 ? s / ljj : 0;
    }
  }
  return { factor: l, negativePivot };
}

/**
 * Whether a symmetric matrix is positive semidefinite up to rounding, with its smallest eigenvalue
 * (n ≤ 256, Jacobi) or, above that, the first negative Cholesky pivot under a small jitter.
 */
export function semidefiniteness(a: Float64Array, n: number): { semidefinite: boolean; lambda: number } {
  let scale = 0;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  if (scale === 0) return { semidefinite: true, lambda: 0 };
  const lambda = n <= 256 ? smallestEigenvalue(a, n) : (cholesky(a, n, 1e-12 * n).negativePivot ?? 0);
  return { semidefinite: lambda >= -1e-10 * scale * n, lambda };
}
