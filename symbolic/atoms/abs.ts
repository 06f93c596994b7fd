import { defineAtom } from './atom.ts';

export const abs = defineAtom({
  name: 'abs',
  float64: (x: number) => Math.abs(x),
  definition: 'relu(z) + relu(-z)',
  derivative: 'sign(z)',
  kinks: [0],
  homogeneity: 1,
  bivariate: {
    covariance: 'taui * tauj * (4 * reluCovariance(hi, hj, rho) - 2 * rho * (Phi(hi) + Phi(hj)) + rho)',
    variance: 'tau * tau * max(0, 1 - 2 * (phi(h) - abs(h) * Phi(-abs(h))) * (2 * (phi(h) - abs(h) * Phi(-abs(h))) + 2 * abs(h)))',
    source: '|u| = 2u⁺ − u and Cov(u_i, u_j⁺) = ρ τ_i τ_j Φ(h_j) (Stein); Var = τ²[1 − (E|u|/τ − |h|)(E|u|/τ + |h|)] with E|u|/τ − |h| = 2(φ(h) − |h|Φ(−|h|))',
  },
  smoothing: {
    G: 'M * (2 * Phi(R) - 1) + 2 * D * phi(R)',
    source: 'abs: |x| = relu(x) + relu(−x), so G = mu (2Φ(mu/σ) − 1) + 2σ φ(mu/σ)',
  },
});
