import { defineAtom } from './atom.ts';

/** min(u, v) = u − relu(u − v): recognition rewrites it through relu, so it has no G of its own. */
export const min = defineAtom({
  name: 'min',
  arity: 2,
  float64: (a: number, b: number) => Math.min(a, b),
  kinks: [0],
  latex: '\\min',
});
