import { defineAtom } from './atom.ts';

/**
 * hardtanh(u) = clip(u, −1, 1) = relu(u + 1) − relu(u − 1) − 1: kinks at ±1, and its G is the
 * difference of two shifted ReLU smoothings.
 */
export const hardtanh = defineAtom({
  name: 'hardtanh',
  float64: (x: number) => Math.min(Math.max(x, -1), 1),
  definition: 'min(max(z, -1), 1)',
  derivative: 'heaviside(z + 1) - heaviside(z - 1)',
  kinks: [-1, 1],
  smoothing: {
    G: '(M + 1) * Phi((M + 1) / D) - (M - 1) * Phi((M - 1) / D) + D * (phi((M + 1) / D) - phi((M - 1) / D)) - 1',
    source:
      'hardtanh: clip(u, −1, 1) = relu(u + 1) − relu(u − 1) − 1 and the ReLU form E[relu(m + σX)] = m Φ(m/σ) + σ φ(m/σ) at m = mu ± 1',
  },
});
