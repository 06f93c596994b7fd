import { defineAtom } from './atom.ts';

/**
 * Node kinds of the bivariate forms (symbolic/atoms/atom.ts Bivariate), for printing and for the
 * targets' tables; their float64 and float32 implementations are in numeric/bivariate-normal.ts.
 */
export const Phi2excess = defineAtom({ name: 'Phi2excess', arity: 3, callable: false, latex: '\\mathcal{E}', text: 'E' });
export const reluCovariance = defineAtom({ name: 'reluCovariance', arity: 3, callable: false, latex: '\\mathcal{R}', text: 'R' });
export const reluVariance = defineAtom({ name: 'reluVariance', callable: false, latex: '\\mathcal{V}', text: 'V' });
