import { defineAtom } from './atom.ts';

/** The unit step, H(0) = 0 (as tf.step). */
export const heaviside = defineAtom({
  name: 'heaviside',
  aliases: ['step'],
  float64: (x: number) => (x > 0 ? 1 : 0),
  kinks: [0],
  homogeneity: 0,
  bivariate: true,
  smoothing: {
    G: 'Phi(R)',
    source: 'Heaviside: E[H(mu + σX)] = P(X > −mu/σ) = Φ(mu/σ)',
  },
});
