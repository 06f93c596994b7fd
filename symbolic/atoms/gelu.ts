import { defineAtom } from './atom.ts';
import { normalCdf } from '../special.ts';

/** GELU(z) = z Φ(z), the exact form (not the tanh approximation). */
export const gelu = defineAtom({
  name: 'gelu',
  float64: (x: number) => x * normalCdf(x),
  definition: 'z * Phi(z)',
  derivative: 'Phi(z) + z * phi(z)',
  smoothing: {
    G: 'M * Phi(M / sqrt(1 + V)) + V / sqrt(1 + V) * phi(M / sqrt(1 + V))',
    source:
      'GELU(z) = z Φ(z) (Hendrycks & Gimpel 2016): E[Φ(a + bX)] = Φ(a/√(1 + b²)) and Stein\'s lemma E[X f(X)] = E[f′(X)] give G = mu Φ(mu/√(1 + s)) + s/√(1 + s) φ(mu/√(1 + s))',
  },
});
