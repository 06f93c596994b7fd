/**
 * Numerical certificates of the closed-form Gaussian smoothings (docs/theory.md §Gaussian closure, §Proofs). For an activation
 * φ with a closed form G(mu, s) = E[φ(mu + √s X)], X ~ N(0, 1), three checks on a grid of (mu, s):
 *
 *   (a) G against an independent quadrature of E[φ(mu + √s X)];
 *   (b) the nerdamer-derived g_k = ∂^k G/∂mu^k, k ≤ 6, against the Stein form
 *       g_k = s^{−k/2} E[φ(mu + √s X) He_k(X)] by the same quadrature;
 *   (c) the run-time Taylor-mode g_k (numeric/taylorseries.ts on G, k ≤ 12) against the nerdamer
 *       g_k for k ≤ 6, and against the Stein form for k ≤ 12 where the quadrature resolves g_k.
 *
 * Quadrature: Gauss–Hermite rules of doubling size (numeric/gauss.ts, steinCoefficients) for smooth
 * φ; for kinks and jumps, composite Gauss–Legendre on x ∈ [−13, 13] in unit panels cut at the kinks
 * (each panel's integrand is analytic), 20 and 40 nodes per panel. Either way every g_k comes with
 * an error estimate e_k ≥ the rounding floor 16 ε s^{−k/2} Σ_i |w_i φ(z_i) He_k(x_i)|.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MathNode } from '../symbolic/math.ts';
import { parseActivation } from '../symbolic/expression.ts';
import {
  activationOf,
  MEAN,
  SMOOTHED_FUNCTIONS,
  smoothedDerivatives,
  smoothedEvaluator,
  smoothedValidity,
  type Activation,
} from '../symbolic/activations.ts';
import { LatexPrinter } from '../symbolic/print/latex.ts';
import { gaussLegendre, hermiteHeAll, normalPdf, steinCoefficients } from '../numeric/gauss.ts';
import { kinkPoints } from '../numeric/general.ts';
import { KNOWN_FUNCTIONS, smoothedAtom } from '../symbolic/atoms/index.ts';
import { derivativesFromSeries, taylorCoefficients } from '../numeric/taylorseries.ts';

/** One activation of the library to certify: a file name stem and its source. */
export interface ClosedFormCase {
  readonly slug: string;
  readonly source: string;
}

/** Chosen representatives: affine arguments, the assembled forms, a polynomial. */
const REPRESENTATIVES: readonly ClosedFormCase[] = [
  { slug: 'relu', source: 'relu(z)' },
  { slug: 'leaky-relu', source: 'max(z, 0.1*z)' },
  { slug: 'heaviside', source: 'heaviside(z)' },
  { slug: 'sign', source: 'sign(z)' },
  { slug: 'abs', source: 'abs(z)' },
  { slug: 'erf', source: 'erf(1.3*z)' },
  { slug: 'gelu', source: 'gelu(z)' },
  { slug: 'exp', source: 'exp(0.7*z)' },
  { slug: 'sin', source: 'sin(z)' },
  { slug: 'cos', source: 'cos(2*z)' },
  { slug: 'sinh', source: 'sinh(0.5*z)' },
  { slug: 'cosh', source: 'cosh(0.5*z)' },
  { slug: 'gaussian', source: 'exp(-z^2/2)' },
  { slug: 'gaussian-bump', source: 'exp(-0.3*z^2 + 0.2*z)' },
  { slug: 'cubic', source: '0.5*z^3 - z^2 + 0.3*z + 1' },
  { slug: 'combination', source: 'z + 0.5*relu(z) - 0.2*erf(z)' },
];

/** Every closed form of the library, one representative each: atoms of the registry (symbolic/atoms) not chosen above enter as atom(z). */
export const CLOSED_FORM_CASES: readonly ClosedFormCase[] = [
  ...REPRESENTATIVES,
  ...KNOWN_FUNCTIONS.map(smoothedAtom)
    .filter((a, k, all): a is NonNullable<typeof a> => !!a && all.indexOf(a) === k && !REPRESENTATIVES.some((r) => r.slug === a.name))
    .map((a) => ({ slug: a.name, source: `${a.name}(z)` })),
];

export interface Grid {
  readonly mu: readonly number[];
  readonly s: readonly number[];
}

/** Means on both sides of the kinks at 0 and on them; variances from nearly degenerate to wide. */
export const DEFAULT_GRID: Grid = { mu: [-2, -0.7, 0, 0.4, 1.5], s: [0.05, 0.5, 1, 3] };

/** Highest k of the nerdamer g_k (check b) and of the Taylor-mode g_k (check c). */
export const ORDERS = { symbolic: 6, taylor: 12 } as const;

/**
 * Tolerances. A closed-form value C passes against a quadrature value R with error estimate e when
 * |C − R| ≤ rtol |R| + quadratureFactor · e. The estimate e is the larger of the last doubling
 * difference and the rounding floor 16 ε s^{−k/2} Σ|w φ He_k|: no float64 quadrature determines
 * s^{−k/2} E[φ He_k] more finely than that sum allows, and rounding in φ at the nodes (amplified by
 * φ′) can exceed the floor by a few units, hence the factor. rtol covers the float64 evaluation of
 * C itself (erf, Φ to ~1e-15 relative, a handful of operations). Between the two closed-form routes
 * (Taylor mode and nerdamer, check c), |T − N| ≤ rtol |N| + absolute · S_k(s), S_k(s) the largest
 * |N_k| over the grid's means at that s: both evaluate cancelling sums, so a zero of g_k is met to
 * a small fraction of its size elsewhere.
 * A Stein comparison is resolved where quadratureFactor · e ≤ resolve · S_k(s), S_k(s) the largest
 * |g_k| at that s attested by the closed form or by the quadrature beyond its own error (or where
 * S_k(s) = 0: both say g_k vanishes, and the quadrature must give 0 to within its floor); unresolved ones
 * (large k at small s, where s^{−k/2} amplifies rounding) are counted, not compared. Checks (a) and
 * (b) must be resolved everywhere.
 */
export const TOLERANCES = {
  stein: { rtol: 1e-11, quadratureFactor: 10 },
  taylorVsSymbolic: { rtol: 1e-12, absolute: 1e-13 },
  resolve: 1e-6,
} as const;

/** How the reference quadrature is done for one activation. */
export interface QuadratureMethod {
  readonly kind: 'gauss-hermite' | 'piecewise-gauss-legendre';
  /** Kinks (in z) where the panels are cut; empty for Gauss–Hermite. */
  readonly kinks: readonly number[];
  readonly description: string;
}

export type CheckId = 'G' | 'symbolic' | 'taylor-symbolic' | 'taylor-stein';

export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  G: '(a) G(mu, s) against quadrature of E[φ(mu + √s X)]',
  symbolic: `(b) nerdamer g_k, k ≤ ${ORDERS.symbolic}, against the Stein form by quadrature`,
  'taylor-symbolic': `(c) Taylor-mode g_k against nerdamer g_k, k ≤ ${ORDERS.symbolic}`,
  'taylor-stein': `(c) Taylor-mode g_k, k ≤ ${ORDERS.taylor}, against the Stein form by quadrature`,
};

/** One comparison: a value against its reference, the allowed difference, where. */
export interface Comparison {
  readonly mu: number;
  readonly s: number;
  readonly k: number;
  readonly value: number;
  readonly reference: number;
  readonly error: number;
  readonly tolerance: number;
  /**
   * S_k(s), the size of g_k at this s: the largest |g_k| over the grid's means, of the closed form
   * or of the quadrature value less its tolerance (Stein checks), of the nerdamer g_k (Taylor mode
   * against nerdamer).
   */
  readonly scale: number;
}

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  /** Comparisons made (resolved ones for the Stein checks). */
  readonly compared: number;
  /** Stein comparisons left out because the quadrature does not resolve g_k there. */
  readonly unresolved: number;
  /** Highest k compared, per s of the grid. */
  readonly highestOrder: ReadonlyMap<number, number>;
  /** The comparison with the largest error / tolerance (undefined when none was made). */
  readonly worst?: Comparison;
  /** The comparison with the largest error relative to the size of g_k at its s, |value − reference| / max(|reference|, S_k(s)). */
  readonly worstRelative?: Comparison;
  readonly failures: readonly Comparison[];
  /** A check that could not be run at all (e.g. Taylor mode cannot evaluate G). */
  readonly problem?: string;
  readonly ok: boolean;
}

export interface ClosedFormCertificate {
  readonly slug: string;
  readonly source: string;
  readonly activation: Activation;
  readonly quadrature: QuadratureMethod;
  /** The g_0…g_6 that were checked. */
  readonly derivatives: readonly MathNode[];
  /** Grid points used and those outside the closed form's validity (with the reason). */
  readonly points: ReadonlyArray<{ mu: number; s: number }>;
  readonly skipped: ReadonlyArray<{ mu: number; s: number; reason: string }>;
  readonly checks: readonly CheckResult[];
  readonly ok: boolean;
  /** Time deriving the nerdamer g_k, and the whole certificate. */
  readonly deriveMs: number;
  readonly elapsedMs: number;
}

export interface CertifyOptions {
  readonly grid?: Grid;
  /** Replaces the nerdamer g_k (k = 0…6): for negative controls. */
  readonly derivatives?: readonly MathNode[];
  /** Replaces Taylor mode: g_0…g_K at (mu, s) from G. For negative controls. */
  readonly taylor?: (G: MathNode, mu: number, s: number, K: number) => Float64Array;
}

// ---------------------------------------------------------------------------------------------
// Quadrature of the Stein form.

const EPSILON = Number.EPSILON;
/** Half-width of the x range of the panels: 2 Φ(−13) = 1.2e-38 of the normal mass lies outside. */
const PANEL_RANGE = 13;
const PANEL_NODES = [20, 40] as const;

interface SteinReference {
  /** g_k, k = 0…K (g_0 = E[φ]). */
  readonly g: Float64Array;
  /** Error estimates e_k. */
  readonly errors: Float64Array;
}

export function quadratureMethod(a: Activation): QuadratureMethod {
  const kinks = a.smooth ? [] : kinkPoints(a);
  if (!a.smooth && kinks.length === 0) throw new Error(`"${a.expression.source}" is not smooth but has no kink affine in z to cut the quadrature at`);
  return kinks.length === 0
    ? {
        kind: 'gauss-hermite',
        kinks,
        description:
          'Gauss–Hermite rules of 16, 32, … up to 4096 nodes (numeric/gauss.ts steinCoefficients) until three successive estimates of every s^{−k/2} Σ w φ He_k agree to 1e-13 relative or to the rounding floor; e_k = the larger of the last two differences and the floor',
      }
    : {
        kind: 'piecewise-gauss-legendre',
        kinks,
        description:
          `composite Gauss–Legendre on x ∈ [−${PANEL_RANGE}, ${PANEL_RANGE}] (normal mass outside 1.2e-38) in unit panels, cut where z = mu + √s x crosses ${kinks.map((k) => `z = ${k}`).join(', ')}, ` +
          `${PANEL_NODES[0]} and ${PANEL_NODES[1]} nodes per panel; e_k = the larger of the difference of the two and the rounding floor 16 ε s^{−k/2} Σ|w φ He_k|`,
      };
}

/** s^{−k/2} ∫ φ(mu + √s x) He_k(x) φ_N(x) dx in panels cut at the kinks, with two node counts. */
function piecewiseStein(f: (z: number) => number, kinks: readonly number[], mu: number, s: number, K: number): SteinReference {
  const sigma = Math.sqrt(s);
  const cuts = new Set<number>();
  for (let x = -PANEL_RANGE; x <= PANEL_RANGE; x++) cuts.add(x);
  for (const z of kinks) {
    const x = (z - mu) / sigma;
    if (x > -PANEL_RANGE && x < PANEL_RANGE) cuts.add(x);
  }
  const edges = [...cuts].sort((a, b) => a - b);
  const he = new Float64Array(K + 1);
  const run = (n: number) => {
    const { nodes, weights } = gaussLegendre(n);
    const sums = new Float64Array(K + 1);
    const magnitudes = new Float64Array(K + 1);
    for (let p = 0; p + 1 < edges.length; p++) {
      const half = (edges[p + 1] - edges[p]) / 2;
      const mid = (edges[p + 1] + edges[p]) / 2;
      for (let i = 0; i < n; i++) {
        const x = mid + half * nodes[i];
        const w = half * weights[i] * normalPdf(x) * f(mu + sigma * x);
        hermiteHeAll(K, x, he);
        for (let k = 0; k <= K; k++) {
          sums[k] += w * he[k];
          magnitudes[k] += Math.abs(w * he[k]);
        }
      }
    }
    return { sums, magnitudes };
  };
  const coarse = run(PANEL_NODES[0]);
  const fine = run(PANEL_NODES[1]);
  const g = new Float64Array(K + 1);
  const errors = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    const scale = s ** (-k / 2);
    g[k] = scale * fine.sums[k];
    errors[k] = scale * Math.max(Math.abs(fine.sums[k] - coarse.sums[k]), 16 * EPSILON * fine.magnitudes[k]);
  }
  return { g, errors };
}

function steinReference(a: Activation, method: QuadratureMethod, mu: number, s: number, K: number): SteinReference {
  if (method.kind === 'piecewise-gauss-legendre') return piecewiseStein(a.fn, method.kinks, mu, s, K);
  const r = steinCoefficients(a.fn, mu, s, K, { tolerance: 1e-13, absoluteTolerance: 0, maxNodes: 4096 });
  return { g: r.g, errors: r.errors };
}

// ---------------------------------------------------------------------------------------------
// The checks.

/** Taylor-mode g_0…g_K exactly as the run time computes them (numeric/general.ts smoothedTable). */
function runTimeTaylor(G: MathNode, mu: number, s: number, K: number): Float64Array {
  return derivativesFromSeries(taylorCoefficients(G, MEAN, mu, K, { s }, SMOOTHED_FUNCTIONS));
}

/**
 * |value − reference| relative to the size of g_k at that s, max(|reference|, S_k(s)); undefined
 * where g_k vanishes at every mean of the grid (S_k(s) = 0, e.g. a cubic's g_4): there
 * the comparison is absolute.
 */
export function relativeError(c: Comparison): number | undefined {
  return c.scale > 0 ? c.error / Math.max(Math.abs(c.reference), c.scale) : undefined;
}

class Tally {
  compared = 0;
  unresolved = 0;
  worst?: Comparison;
  worstRelative?: Comparison;
  readonly failures: Comparison[] = [];
  readonly highestOrder = new Map<number, number>();
  problem?: string;
  problemPoints = 0;

  constructor(readonly id: CheckId) {}

  fail(problem: string | undefined): void {
    this.problem ??= problem;
    this.problemPoints++;
  }

  add(c: Comparison): void {
    this.compared++;
    this.highestOrder.set(c.s, Math.max(this.highestOrder.get(c.s) ?? -1, c.k));
    const ratio = (x: Comparison) => (x.tolerance > 0 ? x.error / x.tolerance : x.error === 0 ? 0 : Infinity);
    if (!this.worst || ratio(c) > ratio(this.worst)) this.worst = c;
    const relative = relativeError(c);
    if (relative !== undefined && (!this.worstRelative || relative > relativeError(this.worstRelative)!)) this.worstRelative = c;
    if (!(c.error <= c.tolerance)) this.failures.push(c);
  }

  result(): CheckResult {
    const ok = this.problem === undefined && this.failures.length === 0 && this.compared > 0 && (this.id === 'taylor-stein' || this.unresolved === 0);
    return {
      id: this.id,
      title: CHECK_TITLES[this.id],
      compared: this.compared,
      unresolved: this.unresolved,
      highestOrder: this.highestOrder,
      worst: this.worst,
      worstRelative: this.worstRelative,
      failures: this.failures,
      problem: this.problem && (this.problemPoints > 1 ? `${this.problem} (and at ${this.problemPoints - 1} more points)` : this.problem),
      ok,
    };
  }
}

/** Largest |values[k]| over the points of each s: the scale S_k(s) of g_k at that variance. */
function scales(rows: ReadonlyArray<{ s: number; values: ArrayLike<number> | undefined }>, K: number): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  for (const { s, values } of rows) {
    if (!values) continue;
    let m = out.get(s);
    if (!m) out.set(s, (m = new Float64Array(K + 1)));
    for (let k = 0; k <= K; k++) if (Math.abs(values[k]) > m[k] || !Number.isFinite(values[k])) m[k] = Math.abs(values[k]);
  }
  return out;
}

/** Certify the closed form of one activation (from its source, or as given: negative controls). */
export function certifyClosedForm(activation: string | Activation, options: CertifyOptions & { slug?: string } = {}): ClosedFormCertificate {
  const started = performance.now();
  const a = typeof activation === 'string' ? activationOf(parseActivation(activation)) : activation;
  const source = a.expression.source;
  const slug = options.slug ?? source.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  if (!a.smoothed) throw new Error(`"${source}" has no closed-form Gaussian smoothing to certify`);
  const grid = options.grid ?? DEFAULT_GRID;
  const { symbolic: KS, taylor: KT } = ORDERS;
  const method = quadratureMethod(a);

  const deriveStarted = performance.now();
  const trees = options.derivatives ?? smoothedDerivatives(a, KS);
  if (trees.length < KS + 1) throw new Error(`need g_0…g_${KS}, got ${trees.length} trees`);
  const deriveMs = performance.now() - deriveStarted;
  const G = a.smoothed.G;
  const evaluators = trees.slice(0, KS + 1).map((t) => smoothedEvaluator(t));
  const evaluateG = smoothedEvaluator(G);
  const taylor = options.taylor ?? runTimeTaylor;

  const points: { mu: number; s: number }[] = [];
  const skipped: { mu: number; s: number; reason: string }[] = [];
  for (const s of grid.s)
    for (const mu of grid.mu) {
      const reason = smoothedValidity(a, mu, s);
      if (reason) skipped.push({ mu, s, reason });
      else points.push({ mu, s });
    }

  const tallies = {
    G: new Tally('G'),
    symbolic: new Tally('symbolic'),
    'taylor-symbolic': new Tally('taylor-symbolic'),
    'taylor-stein': new Tally('taylor-stein'),
  } satisfies Record<CheckId, Tally>;

  // Every value at every point first: the scales S_k(s) need the whole grid.
  const rows = points.map(({ mu, s }) => {
    const G0 = evaluateG(mu, s);
    const symbolic = Float64Array.from(evaluators, (e) => e(mu, s));
    let stein: SteinReference | undefined;
    let steinProblem: string | undefined;
    try {
      stein = steinReference(a, method, mu, s, KT);
    } catch (err) {
      steinProblem = `quadrature failed at mu = ${mu}, s = ${s}: ${(err as Error).message}`;
    }
    let taylorValues: Float64Array | undefined;
    let taylorProblem: string | undefined;
    try {
      taylorValues = taylor(G, mu, s, KT);
    } catch (err) {
      taylorProblem = `Taylor mode cannot evaluate G at mu = ${mu}, s = ${s}: ${(err as Error).message}`;
    }
    return { mu, s, G0, symbolic, stein, steinProblem, taylor: taylorValues, taylorProblem };
  });
  // S_k(s): the size of g_k at s that either route attests, the closed form or the part of the
  // quadrature value above its tolerance (so a closed form that is wrongly small cannot shrink it).
  const attested = (r: (typeof rows)[number], values: ArrayLike<number> | undefined, K: number) =>
    values &&
    Float64Array.from({ length: K + 1 }, (_, k) =>
      Math.max(Math.abs(values[k]), r.stein ? Math.abs(r.stein.g[k]) - TOLERANCES.stein.quadratureFactor * r.stein.errors[k] : 0),
    );
  const symbolicScale = scales(rows.map((r) => ({ s: r.s, values: r.symbolic })), KS);
  const steinScale = scales(rows.map((r) => ({ s: r.s, values: attested(r, r.symbolic, KS) })), KS);
  const taylorScale = scales(rows.map((r) => ({ s: r.s, values: attested(r, r.taylor, KT) })), KT);

  const steinCompare = (tally: Tally, mu: number, s: number, k: number, value: number, ref: SteinReference, scale: number) => {
    const { rtol, quadratureFactor } = TOLERANCES.stein;
    const reference = ref.g[k];
    const quadrature = quadratureFactor * ref.errors[k];
    if (scale > 0 && !(quadrature <= TOLERANCES.resolve * scale)) {
      tally.unresolved++;
      return;
    }
    tally.add({ mu, s, k, value, reference, error: Math.abs(value - reference), tolerance: rtol * Math.abs(reference) + quadrature, scale });
  };

  for (const r of rows) {
    const { mu, s } = r;
    if (!r.stein) {
      for (const id of ['G', 'symbolic', 'taylor-stein'] as const) tallies[id].fail(r.steinProblem);
    } else {
      steinCompare(tallies.G, mu, s, 0, r.G0, r.stein, steinScale.get(s)![0]);
      for (let k = 0; k <= KS; k++) steinCompare(tallies.symbolic, mu, s, k, r.symbolic[k], r.stein, steinScale.get(s)![k]);
    }
    if (!r.taylor) {
      for (const id of ['taylor-symbolic', 'taylor-stein'] as const) tallies[id].fail(r.taylorProblem);
      continue;
    }
    const { rtol, absolute } = TOLERANCES.taylorVsSymbolic;
    for (let k = 0; k <= KS; k++) {
      const reference = r.symbolic[k];
      const scale = symbolicScale.get(s)![k];
      const error = Math.abs(r.taylor[k] - reference);
      tallies['taylor-symbolic'].add({ mu, s, k, value: r.taylor[k], reference, error, tolerance: rtol * Math.abs(reference) + absolute * scale, scale });
    }
    if (r.stein) for (let k = 0; k <= KT; k++) steinCompare(tallies['taylor-stein'], mu, s, k, r.taylor[k], r.stein, taylorScale.get(s)![k]);
  }

  const checks = Object.values(tallies).map((t) => t.result());
  return {
    slug,
    source,
    activation: a,
    quadrature: method,
    derivatives: trees.slice(0, KS + 1),
    points,
    skipped,
    checks,
    ok: checks.every((c) => c.ok) && points.length > 0,
    deriveMs,
    elapsedMs: performance.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------
// Certificates.

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? String(Number(x.toPrecision(4))) : x.toExponential(2));
const at = (c: Comparison) => `mu = ${c.mu}, s = ${c.s}${c.k >= 0 ? `, k = ${c.k}` : ''}`;

function worstText(c: CheckResult): string {
  if (!c.worst) return '—';
  const w = c.worst;
  return `${fmt(w.error / w.tolerance)}: \\|Δ\\| = ${fmt(w.error)}, tolerance ${fmt(w.tolerance)} (${at(w)})`;
}

function relativeText(c: CheckResult): string {
  const w = c.worstRelative;
  return w ? `${fmt(relativeError(w)!)} (${at(w)})` : '—';
}

function orderText(c: CheckResult, grid: Grid): string {
  return grid.s.map((s) => `${s}: ${c.highestOrder.has(s) ? c.highestOrder.get(s) : '—'}`).join(', ');
}

function statusText(c: CheckResult): string {
  if (c.problem) return `**FAILED**: ${c.problem}`;
  if (c.failures.length) return `**FAILED** (${c.failures.length} of ${c.compared})`;
  if (c.compared === 0) return '**FAILED** (nothing compared)';
  if (c.id !== 'taylor-stein' && c.unresolved > 0) return `**FAILED** (${c.unresolved} comparisons not resolved by the quadrature)`;
  return 'holds';
}

export function renderClosedFormCertificate(cert: ClosedFormCertificate, grid: Grid = DEFAULT_GRID): string {
  const latex = new LatexPrinter();
  const a = cert.activation;
  const smoothed = a.smoothed!;
  const trees = cert.derivatives;
  const { stein, taylorVsSymbolic, resolve } = TOLERANCES;
  const failures = cert.checks.flatMap((c) => c.failures.slice(0, 5).map((f) => ({ c, f })));
  return [
    `# Certificate: closed-form Gaussian smoothing of φ(z) = ${cert.source}`,
    '',
    cert.ok
      ? '**Result: every check holds.** G and its g_k agree with quadrature of the Stein form on the whole grid, and the run-time Taylor-mode g_k agree with both.'
      : `**Result: FAILED** (${cert.checks.filter((c) => !c.ok).map((c) => c.title).join('; ')}).`,
    '',
    '| | |',
    '|---|---|',
    `| activation | \`${cert.source}\` (${a.name}${a.smooth ? '' : ', not smooth'}) |`,
    `| grid | mu ∈ {${grid.mu.join(', ')}}, s ∈ {${grid.s.join(', ')}}: ${cert.points.length} points${cert.skipped.length ? `, ${cert.skipped.length} outside the closed form's validity` : ''} |`,
    `| quadrature | ${cert.quadrature.description} |`,
    `| elapsed | ${cert.elapsedMs.toFixed(0)} ms (of which ${cert.deriveMs.toFixed(0)} ms deriving g_1…g_${ORDERS.symbolic} with nerdamer) |`,
    '',
    '## The closed form',
    '',
    'G(μ, s) = E[φ(μ + √s X)], X ~ N(0, 1), s the variance:',
    '',
    `$$\nG(\\mu, s) = ${latex.expression(smoothed.G)}\n$$`,
    '',
    `Source: ${smoothed.source}.`,
    '',
    ...smoothed.notes.map((n) => `- ${n}`),
    '',
    `<details><summary>g_1 … g_${ORDERS.symbolic} as derived by nerdamer (click to expand)</summary>`,
    '',
    ...trees.slice(1).map((t, j) => `$$\ng_{${j + 1}}(\\mu, s) = ${latex.expression(t)}\n$$\n`),
    '</details>',
    '',
    '## Checks',
    '',
    '| check | compared | not resolved | highest k per s | worst error / tolerance | worst error relative to max(\\|g_k\\|, S_k(s)) | result |',
    '|---|---|---|---|---|---|---|',
    ...cert.checks.map(
      (c) => `| ${c.title} | ${c.compared} | ${c.id === 'taylor-symbolic' ? '—' : c.unresolved} | ${orderText(c, grid)} | ${worstText(c)} | ${relativeText(c)} | ${statusText(c)} |`,
    ),
    '',
    ...(failures.length ? ['Failing comparisons (first five per check):', '', ...failures.map(({ c, f }) => `- ${c.title}, ${at(f)}: ${f.value} vs ${f.reference}, |difference| ${fmt(f.error)} > ${fmt(f.tolerance)}`), ''] : []),
    ...(cert.skipped.length ? ['Points outside the validity of G:', '', ...cert.skipped.map((p) => `- mu = ${p.mu}, s = ${p.s}: ${p.reason}`), ''] : []),
    '## Method and tolerances',
    '',
    `1. **Reference.** At each (mu, s), one quadrature gives g_k^Q = s^{−k/2} E[φ(mu + √s X) He_k(X)] for k = 0…${ORDERS.taylor} (Stein's lemma; g_0 = E[φ]) from φ's values alone, with an error estimate e_k no smaller than the rounding floor 16 ε s^{−k/2} Σ|w φ He_k| of the sum.`,
    `2. **(a), (b).** G and the nerdamer g_k (k ≤ ${ORDERS.symbolic}, symbolic/activations.ts smoothedDerivatives) evaluated in float64 must satisfy |C − g_k^Q| ≤ ${stein.rtol}·|g_k^Q| + ${stein.quadratureFactor}·e_k at every grid point.`,
    `3. **(c).** The Taylor-mode g_k (numeric/taylorseries.ts on G, k ≤ ${ORDERS.taylor}, as numeric/general.ts evaluates them at run time) must satisfy |T − N| ≤ ${taylorVsSymbolic.rtol}·|N| + ${taylorVsSymbolic.absolute}·S_k(s) against the nerdamer g_k for k ≤ ${ORDERS.symbolic} (S_k(s) = max over the grid's means of |N_k|), and the tolerance of (b) against g_k^Q for k ≤ ${ORDERS.taylor}.`,
    `4. **Resolution.** A Stein comparison is made where ${stein.quadratureFactor}·e_k ≤ ${resolve.toExponential(0)}·S_k(s), S_k(s) the largest |g_k| over the grid's means at that s, of the closed form or of g_k^Q less its tolerance (or where both vanish there); s^{−k/2} amplifies rounding, so at small s the highest orders are not resolved and are counted instead. (a) and (b) must be resolved everywhere.`,
    `5. **Shared pieces.** φ and G evaluate erf, Φ and the normal density through the one float64 implementation of symbolic/special.ts (Cody's rational approximations); the quadrature takes them at its nodes, G at other arguments, so an error there would show, not cancel. Points where G is undefined (symbolic/activations.ts smoothedValidity: 2αs ≥ 1 for exp(αz² + …), s = 0 for kinks) are skipped and listed.`,
    '',
  ].join('\n');
}

/** Worst relative error [worst error / tolerance] of a check, or FAILED. */
function summaryCell(r: CheckResult): string {
  if (!r.ok) return 'FAILED';
  return `${r.worstRelative ? fmt(relativeError(r.worstRelative)!) : '0'} [${r.worst ? fmt(r.worst.error / r.worst.tolerance) : '0'}]`;
}

function renderIndex(certs: readonly ClosedFormCertificate[], grid: Grid): string {
  const failed = certs.filter((c) => !c.ok).length;
  const cell = (c: ClosedFormCertificate, id: CheckId) => {
    const r = c.checks.find((x) => x.id === id)!;
    return r.ok ? summaryCell(r) : `**FAILED**${r.problem ? ` (${r.problem.split(':')[0]})` : ''}`;
  };
  return [
    '# Certificates of the closed-form Gaussian smoothings',
    '',
    `Each closed form G(mu, s) = E[φ(mu + √s X)] of the activation library, its nerdamer g_k (k ≤ ${ORDERS.symbolic}) and its run-time Taylor-mode g_k (k ≤ ${ORDERS.taylor}) are checked against quadrature of the Stein form s^{−k/2} E[φ(mu + √s X) He_k(X)] on the grid mu ∈ {${grid.mu.join(', ')}}, s ∈ {${grid.s.join(', ')}} (docs/theory.md §Proofs). ` +
      'Regenerate with `node --import tsx proofs/run.ts --out <dir>`.',
    '',
    failed === 0 ? `**All ${certs.length} closed forms are certified.**` : `**${failed} of ${certs.length} FAILED** (see the rows marked below).`,
    '',
    '| activation | φ | (a) G | (b) g_k ≤ 6 | (c) Taylor vs nerdamer | (c) Taylor vs Stein (resolved / not) | result | elapsed |',
    '|---|---|---|---|---|---|---|---|',
    ...certs.map((c) => {
      const ts = c.checks.find((x) => x.id === 'taylor-stein')!;
      return `| [${c.slug}](${c.slug}.md) | \`${c.source}\` | ${cell(c, 'G')} | ${cell(c, 'symbolic')} | ${cell(c, 'taylor-symbolic')} | ${cell(c, 'taylor-stein')} (${ts.compared} / ${ts.unresolved}) | ${c.ok ? 'holds' : '**FAILED**'} | ${c.elapsedMs.toFixed(0)} ms |`;
    }),
    '',
    'Cells: the worst error of the check relative to the size of g_k at its variance, |C − R| / max(|R|, S_k(s)) with S_k(s) the largest |g_k| over the grid\'s means at that s, and in brackets the worst ratio of error to tolerance (≤ 1 passes). The certificates give the tolerances, the absolute errors and where they occur.',
    '',
  ].join('\n');
}

export interface ClosedFormSummary {
  readonly certificates: ClosedFormCertificate[];
  readonly ok: boolean;
}

/** Certify every case, write one Markdown certificate per activation and an index into outDir. */
export function writeClosedFormCertificates(
  outDir: string,
  options: { cases?: readonly ClosedFormCase[]; grid?: Grid; log?: (line: string) => void } = {},
): ClosedFormSummary {
  const log = options.log ?? (() => {});
  const grid = options.grid ?? DEFAULT_GRID;
  mkdirSync(outDir, { recursive: true });
  const certificates: ClosedFormCertificate[] = [];
  for (const c of options.cases ?? CLOSED_FORM_CASES) {
    const cert = certifyClosedForm(c.source, { slug: c.slug, grid });
    certificates.push(cert);
    writeFileSync(join(outDir, `${cert.slug}.md`), renderClosedFormCertificate(cert, grid));
    const cell = (id: CheckId) => summaryCell(cert.checks.find((x) => x.id === id)!).padEnd(20);
    const problems = [...new Set(cert.checks.filter((x) => !x.ok).map((x) => x.problem ?? `${x.title}: ${statusText(x)}`))];
    if (certificates.length === 1) log(`closed forms: worst error relative to max(|g_k|, S_k(s)) [worst error / tolerance] per check`);
    log(
      `${cert.ok ? 'ok  ' : 'FAIL'} closed form ${cert.slug.padEnd(14)} G ${cell('G')} g_k≤${ORDERS.symbolic} ${cell('symbolic')} ` +
        `taylor/nerdamer ${cell('taylor-symbolic')} taylor/stein ${cell('taylor-stein')} ${`${cert.elapsedMs.toFixed(0)} ms`.padStart(7)}` +
        (problems.length ? `  ${problems.join('; ')}` : ''),
    );
  }
  writeFileSync(join(outDir, 'index.md'), renderIndex(certificates, grid));
  return { certificates, ok: certificates.every((c) => c.ok) };
}
