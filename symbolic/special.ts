/**
 * Special functions in float64, one implementation each, for the symbolic layer (evaluating G and
 * g_k), the numeric layer (quadrature, Φ₂) and the statistics: erf, erfc, the standard normal
 * density φ and distribution function Φ.
 */

const EPSILON = Number.EPSILON;
const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
// 631–637; coefficients of the netlib specfun routine CALERF (as in mathjs' erf). erfc is computed
// directly for x ≥ 0.46875, so Φ keeps its relative accuracy deep in the lower tail.
const ERF_THRESHOLD = 0.46875;
const ONE_OVER_SQRT_PI = 5.6418958354775628695e-1;
const ERF_P = [
  [3.1611237438705656, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1],
  [
    5.64188496988670089e-1, 8.88314979438837594, 6.61191906371416295e1, 2.98635138197400131e2, 8.8195222124176909e2,
    1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8,
  ],
  [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2],
];
const ERF_Q = [
  [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3],
  [
    1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3, 3.29079923573345963e3,
    4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3,
  ],
  [2.56852019228982242, 1.87295284992346047, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3],
];

/** erf(y) for 0 ≤ y ≤ 0.46875. */
function erfSmall(y: number): number {
  const ysq = y * y;
  let num = ERF_P[0][4] * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + ERF_P[0][i]) * ysq;
    den = (den + ERF_Q[0][i]) * ysq;
  }
  return (y * (num + ERF_P[0][3])) / (den + ERF_Q[0][3]);
}

/** erfc(y) for y > 0.46875; exp(−y²) is split as exp(−y₁²)·exp(−(y − y₁)(y + y₁)) to keep its accuracy. */
function erfcLarge(y: number): number {
  let r: number;
  if (y <= 4) {
    let num = ERF_P[1][8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERF_P[1][i]) * y;
      den = (den + ERF_Q[1][i]) * y;
    }
    r = (num + ERF_P[1][7]) / (den + ERF_Q[1][7]);
  } else {
    if (y >= 27) return 0;
    const z = 1 / (y * y);
    let num = ERF_P[2][5] * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + ERF_P[2][i]) * z;
      den = (den + ERF_Q[2][i]) * z;
    }
    r = (ONE_OVER_SQRT_PI - (z * (num + ERF_P[2][4])) / (den + ERF_Q[2][4])) / y;
  }
  const y1 = Math.trunc(y * 16) / 16;
  return Math.exp(-y1 * y1) * Math.exp(-(y - y1) * (y + y1)) * r;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= ERF_THRESHOLD) return x < 0 ? -erfSmall(y) : erfSmall(y);
  const v = 1 - erfcLarge(y);
  return x < 0 ? -v : v;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= ERF_THRESHOLD) return 1 - erf(x);
  return x < 0 ? 2 - erfcLarge(y) : erfcLarge(y);
}

// ---------------------------------------------------------------------------------------------
// Standard normal density and distribution function
// ---------------------------------------------------------------------------------------------

/**
 * exp(−x²/2) with x² formed exactly: x = a + r with a = trunc(16x)/16, so a² is exact and
 * x² = a² + (x − a)(x + a) (Cody's splitting). A rounded x² would cost x²·ε of relative accuracy,
 * 1e-13 at x = 30.
 */
function gaussianKernel(x: number): number {
  const a = Math.trunc(x * 16) / 16;
  const rest = (x - a) * (x + a);
  return Math.exp(-0.5 * a * a) * Math.exp(-0.5 * rest);
}

/** Standard normal density φ(x) = e^{−x²/2}/√(2π), to a few ulp relative wherever it is normal. */
export function normalPdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!(Math.abs(x) < 40)) return 0; // φ(40) ≈ 1e-348 underflows
  return INV_SQRT_2PI * gaussianKernel(x);
}

/**
 * Mills ratio R(t) = (1 − Φ(t))/φ(t) for t ≥ 1 by Laplace's continued fraction
 * R(t) = 1/(t + 1/(t + 2/(t + 3/(t + …)))) (Abramowitz & Stegun 26.2.14), evaluated backwards from
 * depth N (stable: every partial numerator and denominator is positive). Its truncation error
 * falls roughly like exp(−2t√(2N)), so N ≈ 170/t² would reach ε; N = 12 + 800/t² leaves a wide
 * margin (measured: ≤ 4e-16 relative for 1 ≤ t ≤ 38 against 40-digit values).
 */
function millsRatio(t: number): number {
  const depth = 12 + Math.ceil(800 / (t * t));
  let tail = t;
  for (let j = depth; j >= 1; j--) tail = t + j / tail;
  return 1 / tail;
}

/**
 * Standard normal CDF Φ(x), accurate to ~1e-15 relative in both tails (down to Φ ≈ 1e-308, where
 * subnormals begin). |x| ≤ 1: Φ = 1/2 + φ(x) Σ_{n≥0} x^{2n+1}/(2n+1)!! (A&S 26.2.11), whose terms
 * share the sign of x; the cancellation for x < 0 costs at most a factor 1/(2Φ(−1)) ≈ 3.2.
 * |x| > 1: Φ(x) = φ(x) R(−x) for x < 0 and 1 − φ(x) R(x) for x > 0, with the Mills ratio above.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= -40) return 0;
  if (x >= 40) return 1;
  const ax = Math.abs(x);
  if (ax <= 1) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 40; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (Math.abs(term) < 0.25 * EPSILON * Math.abs(sum)) break;
    }
    return 0.5 + normalPdf(x) * sum;
  }
  const tail = normalPdf(ax) * millsRatio(ax);
  return x < 0 ? tail : 1 - tail;
}

