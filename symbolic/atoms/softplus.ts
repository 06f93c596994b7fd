import { defineAtom } from './atom.ts';

/** log(1 + e^z), as max(z, 0) + log1p(e^{−|z|}) so that neither side overflows. No closed-form G. */
export const softplus = defineAtom({
  name: 'softplus',
  float64: (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  definition: 'relu(z) + log1p(exp(-abs(z)))',
  derivative: 'sigmoid(z)',
  // The definition has kinks that cancel: Taylor mode integrates σ from the value instead.
  antiderivative: true,
});
