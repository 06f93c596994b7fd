import { defineAtom } from './atom.ts';

export const sign = defineAtom({
  name: 'sign',
  float64: (x: number) => Math.sign(x),
  kinks: [0],
  homogeneity: 0,
  bivariate: {
    covariance: '4 * Phi2excess(hi, hj, rho)',
    variance: '4 * Phi(h) * Phi(-h)',
    source: 'sign = 2H − 1: four times the Heaviside forms',
  },
  smoothing: {
    G: '2 * Phi(R) - 1',
    source: 'sign: E[sign(mu + σX)] = 2 P(X > −mu/σ) − 1 = 2Φ(mu/σ) − 1',
  },
});
