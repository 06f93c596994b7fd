import { defineAtom } from './atom.ts';
import { erf as erfFloat64 } from '../special.ts';

export const erf = defineAtom({
  name: 'erf',
  float64: erfFloat64,
  definition: '2 * Phi(sqrt(2) * z) - 1',
  derivative: '2 / sqrt(pi) * exp(-z ^ 2)',
  antiderivative: true,
  bivariate: true,
  smoothing: {
    G: 'erf(M / sqrt(1 + 2 * V))',
    source: 'erf: erf(u) = 2Φ(√2 u) − 1 and E[Φ(a + bX)] = Φ(a/√(1 + b²)) give E[erf(mu + √s X)] = erf(mu/√(1 + 2s))',
  },
});
