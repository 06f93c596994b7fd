/**
 * The budget and the reporting of one long computation (a propagation): how many seconds it may
 * take, where progress goes, and the notes it leaves for the user (a route skipped because it would
 * not fit in the budget). Scoped with AsyncLocalStorage, so deep numeric code reads the budget of
 * the run it belongs to without every signature on the way carrying it, and concurrent runs in one
 * process (tests, the library) do not see each other's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface WorkBudget {
  /** Seconds the whole computation may take (the user's --max-seconds). */
  readonly maxSeconds: number;
  /** The option that raises maxSeconds, named in notes and errors. */
  readonly option: string;
  /** Progress of a named task, fraction in [0, 1]. */
  readonly onProgress?: (task: string, fraction: number) => void;
  /** Notes for the user, appended as the work goes. */
  readonly notes: string[];
}

interface Scope extends WorkBudget {
  readonly started: number;
}

const store = new AsyncLocalStorage<Scope>();

/** The time budget of a computation that states none (the library called without one). */
export const DEFAULT_MAX_SECONDS = 3600;
/** The largest --max-seconds accepted: a week. */
export const MAX_SECONDS_OPTION = 604_800;

/** Run `work` under a budget; nested numeric code finds it with currentWork(). */
export function withWork<T>(budget: WorkBudget, work: () => T): T {
  return store.run({ ...budget, started: performance.now() }, work);
}

/** The budget of the computation this call belongs to, with the seconds it has left; undefined outside withWork. */
export function currentWork(): (WorkBudget & { secondsLeft(): number }) | undefined {
  const scope = store.getStore();
  if (!scope) return undefined;
  return { ...scope, secondsLeft: () => scope.maxSeconds - (performance.now() - scope.started) / 1000 };
}

/** Seconds one call of f takes, measured on a few calls (the cost unit of quadrature estimates). */
export function secondsPerCall(f: (z: number) => number, calls = 2000): number {
  const started = performance.now();
  for (let k = 0; k < calls; k++) f((k % 97) * 0.013 - 0.6);
  return (performance.now() - started) / 1000 / calls;
}
