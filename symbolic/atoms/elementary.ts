import { defineAtom } from './atom.ts';

/**
 * Elementary functions allowed in expressions (in coefficients such as sqrt(a), or applied to z for
 * quadrature): no kinks, no closed-form G of their own.
 */
export const log = defineAtom({ name: 'log', float64: Math.log, derivative: '1 / z', latex: '\\log' });
export const sqrt = defineAtom({ name: 'sqrt', float64: Math.sqrt, derivative: '1 / (2 * sqrt(z))' });
export const tan = defineAtom({ name: 'tan', float64: Math.tan, derivative: '1 + tan(z) ^ 2', latex: '\\tan' });
export const atan = defineAtom({ name: 'atan', float64: Math.atan, derivative: '1 / (1 + z ^ 2)' });
