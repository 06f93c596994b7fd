import { defineAtom } from './atom.ts';

/**
 * softsign(z) = z/(1 + |z|). No closed-form G (E[X/(1 + |m + σX|)] has no elementary form): its g_k
 * come from the Stein form by quadrature. φ and φ′ = 1/(1 + |z|)² are continuous, but
 * φ″ = −2 sign(z)/(1 + |z|)³ jumps from 2 to −2 at 0, so 0 is listed as a kink: the quadrature is
 * split there, as for elu, and converges exponentially on each side instead of algebraically.
 */
export const softsign = defineAtom({
  name: 'softsign',
  float64: (x: number) => x / (1 + Math.abs(x)),
  definition: 'z / (1 + abs(z))',
  derivative: '1 / (1 + abs(z)) ^ 2',
  kinks: [0],
});
