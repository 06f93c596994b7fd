import { defineAtom } from './atom.ts';

/** The unit step, H(0) = 0 (as tf.step). */
export const heaviside = defineAtom({
  name: 'heaviside',
  aliases: ['step'],
  float64: (x: number) => (x > 0 ? 1 : 0),
  // sign(0) = 0, so H(0) = 0 as above.
  definition: 'relu(sign(z))',
  kinks: [0],
  homogeneity: 0,
  bivariate: {
    covariance: 'Phi2excess(hi, hj, rho)',
    variance: 'Phi(h) * Phi(-h)',
    source: 'Cov(H(u_i), H(u_j)) = P(u_i > 0, u_j > 0) − Φ(h_i)Φ(h_j) = E(h_i, h_j; ρ) (E is even in (h, k)); Var = Φ(h)Φ(−h)',
  },
  smoothing: {
    G: 'Phi(R)',
    source: 'Heaviside: E[H(mu + σX)] = P(X > −mu/σ) = Φ(mu/σ)',
  },
});
