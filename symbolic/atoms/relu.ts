import { defineAtom } from './atom.ts';

export const relu = defineAtom({
  name: 'relu',
  float64: (x: number) => (x > 0 ? x : 0),
  definition: 'max(z, 0)',
  derivative: 'heaviside(z)',
  kinks: [0],
  homogeneity: 1,
  bivariate: {
    covariance: 'taui * tauj * reluCovariance(hi, hj, rho)',
    variance: 'tau * tau * reluVariance(h)',
    source: 'u⁺ = τ (X + h)⁺: τ_i τ_j times the standardised ReLU covariance (Rosenbaum 1961, truncated bivariate normal moments; numeric/bivariate-normal.ts)',
  },
  smoothing: {
    G: 'M * Phi(R) + D * phi(R)',
    source: 'ReLU: E[max(0, mu + σX)] = ∫_{−mu/σ}^∞ (mu + σx) φ(x) dx = mu Φ(mu/σ) + σ φ(mu/σ), σ = √s, since φ′(x) = −x φ(x)',
  },
});
