import { defineAtom } from './atom.ts';

/**
 * max(u, v) = u + relu(v − u) and min(u, v) = u − relu(u − v): recognition rewrites both through
 * relu, so neither has a G of its own; both have their kink where u = v.
 */
function extremum<const N extends 'max' | 'min'>(name: N, float64: (a: number, b: number) => number) {
  return defineAtom({ name, arity: 2, float64, kinks: [0], latex: `\\${name}` as const });
}

export const max = extremum('max', (a: number, b: number) => Math.max(a, b));
export const min = extremum('min', (a: number, b: number) => Math.min(a, b));
