import { defineAtom } from './atom.ts';

/** max(u, v) = u + relu(v − u): recognition rewrites it through relu, so it has no G of its own. */
export const max = defineAtom({
  name: 'max',
  arity: 2,
  float64: (a: number, b: number) => Math.max(a, b),
  kinks: [0],
  latex: '\\max',
});
