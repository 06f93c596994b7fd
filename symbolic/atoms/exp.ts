import { defineAtom } from './atom.ts';

/**
 * exp of an affine argument (the moment generating function); exp of a quadratic in z, the Gaussian
 * bump e^{α z² + β z + γ}, is recognised as one atom too: its G is `gaussianBump` below.
 */
export const exp = defineAtom({
  name: 'exp',
  float64: Math.exp,
  derivative: 'exp(z)',
  latex: '\\exp',
  smoothing: {
    G: 'exp(M + V / 2)',
    source: 'exp: moment generating function E[e^{b z + c}] = e^{b mu + c + b² s/2}, z ~ N(mu, s)',
  },
});

/** G of e^{A z² + B z + C}, z ~ N(mu, s), finite while 1 − 2As > 0. */
export const gaussianBump = {
  G: 'exp((A * mu ^ 2 + B * mu + B ^ 2 * s / 2) / (1 - 2 * A * s) + C) / sqrt(1 - 2 * A * s)',
  source:
    'exp of a quadratic: completing the square, E[e^{α z² + β z + γ}] = e^{γ + (α mu² + β mu + β² s/2)/(1 − 2αs)}/√(1 − 2αs), z ~ N(mu, s), 2αs < 1',
} as const;
