import { defineAtom } from './atom.ts';
import { normalPdf } from '../special.ts';

/** φ, the standard normal density: a node of G, not written by users. */
export const phi = defineAtom({
  name: 'phi',
  callable: false,
  float64: normalPdf,
  definition: 'exp(-z ^ 2 / 2) / sqrt(2 * pi)',
  derivative: '-z * phi(z)',
  latex: '\\varphi',
  text: 'φ',
});
