import { defineAtom } from './atom.ts';

export const abs = defineAtom({
  name: 'abs',
  float64: (x: number) => Math.abs(x),
  definition: 'relu(z) + relu(-z)',
  derivative: 'sign(z)',
  kinks: [0],
  homogeneity: 1,
  bivariate: true,
  smoothing: {
    G: 'M * (2 * Phi(R) - 1) + 2 * D * phi(R)',
    source: 'abs: |x| = relu(x) + relu(−x), so G = mu (2Φ(mu/σ) − 1) + 2σ φ(mu/σ)',
  },
});
