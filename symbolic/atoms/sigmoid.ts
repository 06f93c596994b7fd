import { defineAtom } from './atom.ts';

/** The logistic function, evaluated without overflow on either side. No closed-form G. */
export const sigmoid = defineAtom({
  name: 'sigmoid',
  float64: (x: number) => {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    const e = Math.exp(x);
    return e / (1 + e);
  },
  definition: '1 / (1 + exp(-z))',
  derivative: 'sigmoid(z) * (1 - sigmoid(z))',
});
