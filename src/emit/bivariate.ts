/**
 * The exact bivariate forms in emitted code (docs/theory.md §Bivariate forms): where corrmap replaces
 * the Mehler series by the atom's exact covariance (numeric/general.ts exactBivariateAtom: the
 * series' bound at the largest |ρ| above the tolerance, φ one atom with a bivariate form plus a
 * linear part), the emitted code does too, with the atom's covariance template and its g_1 printed
 * from the same trees the float64 evaluator compiles (numeric/bivariate.ts bivariateTrees), and the
 * bivariate normal excess by Genz's routine (symbolic/bivariate-normal.ts) emitted once per file.
 */
import type { Activation } from '../../symbolic/activations.ts';
import { MEAN, VARIANCE } from '../../symbolic/trees.ts';
import { BIVARIATE_ROUTINES } from '../../symbolic/bivariate-normal.ts';
import type { MathNode } from '../../symbolic/math.ts';
import type { CodePrinter } from '../../symbolic/print/code.ts';
import { routinesSource, type RoutineSyntax } from '../../symbolic/print/routine.ts';
import { routinesUsed } from '../../symbolic/routine.ts';
import type { SingleAtom } from '../../symbolic/recognition.ts';
import { gaussLegendre } from '../../numeric/gauss.ts';
import { bivariateTrees } from '../../numeric/bivariate.ts';
import { exactBivariateAtom } from '../../numeric/general.ts';

export interface BivariatePlan {
  /** φ = c · a(p z + q) + l₀ + l₁ z. */
  readonly atom: SingleAtom;
  /** Cov(a(u_i), a(u_j)) in hi, hj, taui, tauj, nui, nuj, rho. */
  readonly covariance: MathNode;
  /** E[a′(u)] = g_1 of the atom, in mu and s. */
  readonly derivative: MathNode;
}

/** The exact form emitted code switches to when the series' bound exceeds the tolerance, where φ has one. */
export function bivariatePlan(activation: Activation, tolerance: number): BivariatePlan | undefined {
  // The rule's second half (an atom with a bivariate form) is known now; the first (the bound) only at run time.
  const atom = exactBivariateAtom(activation, Infinity, tolerance);
  return atom && { atom, ...bivariateTrees(atom.kind) };
}

/** Printed names of the template's symbols. */
export interface PairNames {
  readonly hi: string;
  readonly hj: string;
  readonly taui: string;
  readonly tauj: string;
  readonly nui: string;
  readonly nuj: string;
  readonly rho: string;
}

/**
 * Cov(φ_i, φ_j) = c² Cov(a_i, a_j) + c l₁ p c_ij (D_i + D_j) + l₁² c_ij (Stein's lemma for the linear
 * part; numeric/bivariate.ts), as one expression of the target, with D_i, D_j and c_ij given.
 */
export function pairCovariance(plan: BivariatePlan, p: CodePrinter, names: PairNames, d: { i: string; j: string }, cij: string): string {
  const { coefficient: c, slope, linear } = plan.atom;
  const l1 = linear[1];
  const atomic = `${p.number(c * c)} * (${p.code(plan.covariance, { ...names })})`;
  if (l1 === 0) return atomic;
  return `${atomic} + ${cij} * (${p.number(c * l1 * slope)} * (${d.i} + ${d.j}) + ${p.number(l1 * l1)})`;
}

/** D = g_1 of the atom at (ν, τ²), printed. */
export function derivativeCode(plan: BivariatePlan, p: CodePrinter, nu: string, tau: string): string {
  return p.code(plan.derivative, { [MEAN]: nu, [VARIANCE]: `(${tau} * ${tau})` });
}

/** ν = p μ + q and τ = |p| √s of the atom's argument, printed. */
export function argumentCode(plan: BivariatePlan, p: CodePrinter, mu: string, sd: string): { nu: string; tau: string } {
  const { slope, offset } = plan.atom;
  return { nu: `${p.number(slope)} * ${mu} + ${p.number(offset)}`, tau: `${p.number(Math.abs(slope))} * ${sd}` };
}

/** Genz's routines and their Gauss–Legendre table, where the code calls the bivariate normal excess; else nothing. */
export function bivariateHelpers(body: readonly string[], p: CodePrinter, syntax: RoutineSyntax): string[] {
  const excess = `${p.helperName('phi2_excess')}(`;
  if (!body.some((line) => line.includes(excess))) return [];
  return [...routinesSource(routinesUsed(BIVARIATE_ROUTINES, ['phi2_excess']), p, syntax, gaussLegendre), ''];
}
