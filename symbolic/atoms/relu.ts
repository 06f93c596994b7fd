import { defineAtom } from './atom.ts';

export const relu = defineAtom({
  name: 'relu',
  float64: (x: number) => (x > 0 ? x : 0),
  definition: 'max(z, 0)',
  derivative: 'heaviside(z)',
  kinks: [0],
  homogeneity: 1,
  bivariate: true,
  smoothing: {
    G: 'M * Phi(R) + D * phi(R)',
    source: 'ReLU: E[max(0, mu + σX)] = ∫_{−mu/σ}^∞ (mu + σx) φ(x) dx = mu Φ(mu/σ) + σ φ(mu/σ), σ = √s, since φ′(x) = −x φ(x)',
  },
});
