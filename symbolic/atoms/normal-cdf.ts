import { defineAtom } from './atom.ts';
import { normalCdf } from '../special.ts';

/** Φ, the standard normal distribution function: a node of G, not written by users. */
export const Phi = defineAtom({
  name: 'Phi',
  callable: false,
  float64: normalCdf,
  definition: '(1 + erf(z / sqrt(2))) / 2',
  derivative: 'phi(z)',
  antiderivative: true,
  latex: '\\Phi',
  text: 'Φ',
});
