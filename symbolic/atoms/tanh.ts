import { defineAtom } from './atom.ts';

/** No closed-form G: its g_k come from the Stein form by quadrature. */
export const tanh = defineAtom({
  name: 'tanh',
  float64: Math.tanh,
  derivative: '1 - tanh(z) ^ 2',
  latex: '\\tanh',
});
