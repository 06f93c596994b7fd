import { defineAtom } from './atom.ts';

/** ELU with α = 1: z for z > 0, e^z − 1 otherwise; its second derivative jumps at 0. No closed-form G. */
export const elu = defineAtom({
  name: 'elu',
  float64: (x: number) => (x > 0 ? x : Math.expm1(x)),
  definition: 'relu(z) + expm1(-relu(-z))',
  kinks: [0],
});
