import { defineAtom } from './atom.ts';
import { sigmoid } from './sigmoid.ts';

/** SiLU (swish with β = 1): z σ(z). No closed-form G. */
export const silu = defineAtom({
  name: 'silu',
  aliases: ['swish'],
  float64: (x: number) => x * sigmoid.float64!(x),
  definition: 'z * sigmoid(z)',
  derivative: 'sigmoid(z) * (1 + z * (1 - sigmoid(z)))',
});
