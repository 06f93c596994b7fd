import { defineAtom } from './atom.ts';
import { erf as erfFloat64 } from '../special.ts';

export const erf = defineAtom({
  name: 'erf',
  float64: erfFloat64,
  derivative: '2 / sqrt(pi) * exp(-z ^ 2)',
  antiderivative: true,
  bivariate: {
    covariance: '4 * Phi2excess(sqrt(2) * nui / sqrt(1 + 2 * taui ^ 2), sqrt(2) * nuj / sqrt(1 + 2 * tauj ^ 2), max(-1, min(1, rho * (sqrt(2) * taui / sqrt(1 + 2 * taui ^ 2)) * (sqrt(2) * tauj / sqrt(1 + 2 * tauj ^ 2)))))',
    variance: '4 * Phi2excess(sqrt(2) * nu / sqrt(1 + 2 * tau ^ 2), sqrt(2) * nu / sqrt(1 + 2 * tau ^ 2), (sqrt(2) * tau / sqrt(1 + 2 * tau ^ 2)) ^ 2)',
    source: 'erf(u) = 2Φ(√2 u) − 1 and Φ(√2 u) = P(W < √2 u), W ~ N(0, 1) independent: E[Φ(√2u_i)Φ(√2u_j)] = Φ₂(h′_i, h′_j; ρ′), h′ = √2 ν/√(1 + 2τ²), ρ′ = 2ρτ_iτ_j/√((1 + 2τ_i²)(1 + 2τ_j²)); Cov = 4E(h′_i, h′_j; ρ′), also for i = j',
  },
  smoothing: {
    G: 'erf(M / sqrt(1 + 2 * V))',
    source: 'erf: erf(u) = 2Φ(√2 u) − 1 and E[Φ(a + bX)] = Φ(a/√(1 + b²)) give E[erf(mu + √s X)] = erf(mu/√(1 + 2s))',
  },
});
