/**
 * The registry: every function of the expression vocabulary, one file each. The tables other
 * modules use are views of this list, so a new atom is one new file plus its line here.
 */
import type { AtomSpec } from './atom.ts';
import { parse, type MathNode } from '../math.ts';
import { Phi } from './normal-cdf.ts';
import { phi } from './normal-pdf.ts';
import { erfc } from './erfc.ts';
import { relu } from './relu.ts';
import { heaviside } from './heaviside.ts';
import { sign } from './sign.ts';
import { abs } from './abs.ts';
import { erf } from './erf.ts';
import { gelu } from './gelu.ts';
import { exp } from './exp.ts';
import { sin } from './sin.ts';
import { cos } from './cos.ts';
import { sinh } from './sinh.ts';
import { cosh } from './cosh.ts';
import { tanh } from './tanh.ts';
import { sigmoid } from './sigmoid.ts';
import { softplus } from './softplus.ts';
import { silu } from './silu.ts';
import { elu } from './elu.ts';
import { max, min } from './extremum.ts';
import { hardtanh } from './hardtanh.ts';
import { softsign } from './softsign.ts';
import { asin, atan, expm1, log, log1p, sqrt, tan } from './elementary.ts';
import { Phi2excess, reluCovariance, reluVariance, shiftedRatio, where } from './bivariate-kinds.ts';

export type { AtomSpec, Bivariate, Smoothing } from './atom.ts';
export { gaussianBump } from './exp.ts';

export const ATOMS = [
  Phi, phi, erfc, relu, heaviside, sign, abs, erf, gelu, exp, sin, cos, sinh, cosh, tanh, sigmoid, softplus, silu, elu, max, min, hardtanh, softsign,
  log, sqrt, tan, atan, asin, expm1, log1p, where, Phi2excess, shiftedRatio, reluCovariance, reluVariance,
] as const;

/** The names of the registered atoms. */
export type AtomName = (typeof ATOMS)[number]['name'];
/** The names of the atoms with exact bivariate forms. */
export type BivariateAtomName = Extract<(typeof ATOMS)[number], { bivariate: object }>['name'];

const byName = new Map<string, AtomSpec>();
for (const atom of ATOMS as readonly AtomSpec[])
  for (const name of [atom.name, ...(atom.aliases ?? [])]) {
    if (byName.has(name)) throw new Error(`internal: two atoms are called '${name}'`);
    byName.set(name, atom);
  }

/** The atom a name (or alias) stands for. */
export function atomNamed(name: string): AtomSpec | undefined {
  return byName.get(name);
}

/** Every name (aliases included) an activation expression may call, sorted. */
export const KNOWN_FUNCTIONS: readonly string[] = Object.freeze(
  [...byName.entries()].filter(([, a]) => a.callable !== false).map(([name]) => name).sort(),
);

/** The float64 implementation of every name, for the scope of a compiled mathjs tree. */
export const FLOAT64_FUNCTIONS: Readonly<Record<string, (...args: number[]) => number>> = Object.freeze(
  Object.fromEntries([...byName.entries()].filter(([, a]) => a.float64).map(([name, a]) => [name, a.float64!])),
);

/** Names whose atom has a kink or a jump (where its argument, or the difference of max/min's, is at a kink point). */
export const KINKED_FUNCTIONS: ReadonlySet<string> = new Set([...byName.entries()].filter(([, a]) => a.kinks?.length).map(([name]) => name));

/** The atom of an activation expression with a closed-form G, by any of its names. */
export function smoothedAtom(name: string): (AtomSpec & { smoothing: NonNullable<AtomSpec['smoothing']> }) | undefined {
  const a = byName.get(name);
  return a?.smoothing && a.callable !== false && (a.arity ?? 1) === 1 ? (a as AtomSpec & { smoothing: NonNullable<AtomSpec['smoothing']> }) : undefined;
}

/** The atom's definition applied to the given argument trees (its parameters: z, or for max/min z and w, replaced). */
export function atomDefinition(atom: AtomSpec, args: readonly MathNode[]): MathNode {
  if (!atom.definition) throw new Error(`internal: '${atom.name}' has no definition in simpler functions`);
  const symbols = atom.parameters ?? ['z', 'w'];
  return parse(atom.definition).transform((n) => {
    const k = n.type === 'SymbolNode' ? symbols.indexOf((n as unknown as { name: string }).name) : -1;
    return k >= 0 && k < args.length ? args[k] : n;
  });
}
