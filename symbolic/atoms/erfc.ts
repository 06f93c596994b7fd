import { defineAtom } from './atom.ts';
import { erfc as erfcFloat64 } from '../special.ts';

/** The complementary error function, for float64 evaluation of trees that use it. */
export const erfc = defineAtom({
  name: 'erfc',
  callable: false,
  float64: erfcFloat64,
  definition: '1 - erf(z)',
  derivative: '-2 / sqrt(pi) * exp(-z ^ 2)',
  antiderivative: true,
});
