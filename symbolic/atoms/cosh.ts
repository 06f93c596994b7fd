import { defineAtom } from './atom.ts';

export const cosh = defineAtom({
  name: 'cosh',
  float64: Math.cosh,
  definition: '(exp(z) + exp(-z)) / 2',
  derivative: 'sinh(z)',
  latex: '\\cosh',
  smoothing: {
    G: 'cosh(M) * exp(V / 2)',
    source: 'cosh: moment generating function E[e^{±(mu + √s X)}] = e^{±mu + s/2}, so G = cosh(mu) e^{s/2}',
  },
});
