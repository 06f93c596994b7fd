import { defineAtom } from './atom.ts';

/**
 * Elementary functions allowed in expressions (in coefficients such as sqrt(a), or applied to z for
 * quadrature): no kinks, no closed-form G of their own.
 */
export const log = defineAtom({ name: 'log', float64: Math.log, derivative: '1 / z', latex: '\\log' });
export const sqrt = defineAtom({ name: 'sqrt', float64: Math.sqrt, derivative: '1 / (2 * sqrt(z))' });
export const tan = defineAtom({ name: 'tan', float64: Math.tan, derivative: '1 + tan(z) ^ 2', latex: '\\tan' });
export const atan = defineAtom({ name: 'atan', float64: Math.atan, derivative: '1 / (1 + z ^ 2)' });
/** arcsin, for the Drezner–Wesolowsky integral (symbolic/bivariate-normal.ts): not written by users (it is undefined beyond ±1). */
export const asin = defineAtom({ name: 'asin', callable: false, float64: Math.asin, derivative: '1 / sqrt(1 - z ^ 2)' });
/**
 * exp(z) − 1 and log(1 + z) without the cancellation near 0: not written by users, they keep the
 * definitions of elu and softplus accurate where the naive arrangement loses every digit.
 */
export const expm1 = defineAtom({ name: 'expm1', callable: false, float64: Math.expm1, definition: 'exp(z) - 1', derivative: 'exp(z)' });
export const log1p = defineAtom({ name: 'log1p', callable: false, float64: Math.log1p, definition: 'log(1 + z)', derivative: '1 / (1 + z)' });
