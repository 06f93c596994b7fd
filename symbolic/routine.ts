/**
 * A routine: a function of a few scalars written once as straight-line steps over expression trees
 * (mathjs syntax, the registry's vocabulary plus `where(c, a, b)`, comparisons and calls of other
 * routines), with Gauss–Legendre sums as the only loop. Every target renders the same steps: the
 * float64 evaluator compiles them to JavaScript (symbolic/print/js.ts), the code printers to NumPy,
 * JAX, PyTorch (elementwise over arrays), C and Julia (scalars) (symbolic/print/routine.ts). Both
 * branches of a `where` may be evaluated, so every step must stay finite or be selected away.
 */

/** `name = value`. */
export interface LetStep {
  readonly let: string;
  readonly value: string;
}

/**
 * `name = Σ_i w_i · term` over the n-point Gauss–Legendre rule on [−1, 1], the node bound to `x`;
 * `steps` are evaluated per node before `term` (they may use x and the routine's earlier names).
 */
export interface SumStep {
  readonly let: string;
  readonly legendre: number;
  readonly steps: readonly LetStep[];
  readonly term: string;
}

export type Step = LetStep | SumStep;

export interface Routine {
  /** The routine's name in every target (prefixed there as the target's helpers are). */
  readonly name: string;
  readonly args: readonly string[];
  readonly steps: readonly Step[];
  readonly result: string;
  /** One line for the emitted function's comment. */
  readonly summary: string;
}

export const isSum = (s: Step): s is SumStep => 'legendre' in s;

/** The Gauss–Legendre orders a set of routines uses. */
export function legendreOrders(routines: readonly Routine[]): number[] {
  return [...new Set(routines.flatMap((r) => r.steps.filter(isSum).map((s) => s.legendre)))].sort((a, b) => a - b);
}

/** The routines `roots` call, directly or through others, with the roots themselves, in the order given. */
export function routinesUsed(routines: readonly Routine[], roots: readonly string[]): Routine[] {
  const texts = (r: Routine) => [r.result, ...r.steps.flatMap((s) => (isSum(s) ? [s.term, ...s.steps.map((t) => t.value)] : [s.value]))].join(' ');
  const needed = new Set(roots);
  for (let k = routines.length - 1; k >= 0; k--) {
    const r = routines[k];
    if (!needed.has(r.name)) continue;
    for (const other of routines) if (new RegExp(`\\b${other.name}\\(`).test(texts(r))) needed.add(other.name);
  }
  return routines.filter((r) => needed.has(r.name));
}
