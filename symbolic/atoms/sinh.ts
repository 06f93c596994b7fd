import { defineAtom } from './atom.ts';

export const sinh = defineAtom({
  name: 'sinh',
  float64: Math.sinh,
  definition: '(exp(z) - exp(-z)) / 2',
  derivative: 'cosh(z)',
  latex: '\\sinh',
  smoothing: {
    G: 'sinh(M) * exp(V / 2)',
    source: 'sinh: moment generating function E[e^{±(mu + √s X)}] = e^{±mu + s/2}, so G = sinh(mu) e^{s/2}',
  },
});
