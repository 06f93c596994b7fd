import { defineAtom } from './atom.ts';

export const sin = defineAtom({
  name: 'sin',
  float64: Math.sin,
  derivative: 'cos(z)',
  latex: '\\sin',
  smoothing: {
    G: 'sin(M) * exp(-V / 2)',
    source: 'sin: characteristic function E[e^{i(mu + √s X)}] = e^{i mu − s/2}, so G = sin(mu) e^{−s/2}',
  },
});
