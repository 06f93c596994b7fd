import { defineAtom } from './atom.ts';
import { normalCdf } from '../special.ts';

/** Φ, the standard normal distribution function: a node of G, not written by users. */
export const Phi = defineAtom({
  name: 'Phi',
  callable: false,
  float64: normalCdf,
  // erfc, not 1 + erf: no cancellation in the lower tail.
  definition: 'erfc(-z / sqrt(2)) / 2',
  derivative: 'phi(z)',
  antiderivative: true,
  latex: '\\Phi',
  text: 'Φ',
});
