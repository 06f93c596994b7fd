import { defineAtom } from './atom.ts';

export const cos = defineAtom({
  name: 'cos',
  float64: Math.cos,
  derivative: '-sin(z)',
  latex: '\\cos',
  smoothing: {
    G: 'cos(M) * exp(-V / 2)',
    source: 'cos: characteristic function E[e^{i(mu + √s X)}] = e^{i mu − s/2}, so G = cos(mu) e^{−s/2}',
  },
});
