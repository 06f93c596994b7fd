/**
 * The comment every emitted file starts with: what it computes (the rule in LaTeX), the
 * truncation and its error bound, the corrmap version and the command that made it.
 */
import { gaussianRule } from '../../symbolic/gaussian.ts';
import { LatexPrinter } from '../../symbolic/print/latex.ts';
import { requiredInputOrder } from '../../symbolic/rule.ts';
import { VERSION } from '../version.ts';
import { THIRD_SERIES } from '../../numeric/general.ts';
import { RANGE_SCAN } from '../../numeric/gaussian-range.ts';
import type { ActivationPlan, RangeIntegrand } from './activation.ts';

/** Rules longer than this are shown by their first terms. */
const SHOWN_TERMS = 24;

/** Lines describing one activation's emitted rules (no comment markers). */
export function planDescription(plan: ActivationPlan): string[] {
  const latex = new LatexPrinter();
  const lines = [`phi(z) = ${plan.expression.source}`];
  if (plan.kind === 'polynomial') {
    const degree = plan.activation.degree;
    lines.push(`Exact cumulant transfer rules of a polynomial of degree ${degree} (docs/theory.md §Polynomial activations), in LaTeX:`);
    for (const rule of plan.rules) {
      const terms = latex.explicitTerms(rule);
      const shown = terms.slice(0, SHOWN_TERMS);
      const more = terms.length > SHOWN_TERMS ? ` + \\dots \\ (${terms.length} terms)` : '';
      lines.push(`  ${latex.lhs(rule)} = ${latex.sum(shown)}${more}`);
    }
    const need = requiredInputOrder(degree, plan.order);
    lines.push(
      plan.inputOrder >= need
        ? `Truncation: none. Exact for any input distribution (input order K = ${plan.inputOrder} >= d*n = ${need}); error bound 0 (float64 rounding only).`
        : `Truncation: input cumulants above order K = ${plan.inputOrder} are dropped (exact needs K >= ${need}); the error is that of the closure and is not bounded here.`,
    );
    return lines;
  }
  const g = plan.smoothed;
  lines.push('Gaussian closure (input order K = 2; docs/theory.md §Gaussian closure), g_k(i) = E[phi^(k)(z_i)], z_i ~ N(mu_i, s_i):');
  if (g)
    lines.push(
      `  G(\\mu, s) = ${latex.expression(g)}`,
      `  normalised: \\hat g_k = g_k s^{k/2}/\\sqrt{k!} = c_k \\sqrt{k!}, c_k the Taylor coefficients of G(\\mu + \\sqrt{s}\\,t, s) in t, k = 0…${plan.kmax} (series arithmetic in the code)`,
    );
  else {
    lines.push(`  normalised: \\hat g_k = g_k s^{k/2}/\\sqrt{k!} = \\mathbb{E}[\\varphi(\\mu + \\sqrt{s} X) He_k(X)]/\\sqrt{k!} (Stein form), k = 0…${plan.kmax}, by the quadrature below`);
    if (plan.local)
      lines.push(
        `  where the quadrature does not resolve a unit's spread: \\hat g_k = \\sqrt{k!} \\sum_{m \\le ${plan.local.terms}} \\binom{k+2m}{k} (2m-1)!! \\, c_{k+2m}, c_j the Taylor coefficients of \\varphi(\\mu + \\sqrt{s}\\,t) (local expansion; error: twice the last term)`,
      );
  }
  for (let n = 1; n <= plan.order; n++) lines.push(`  ${latex.ruleStructure(gaussianRule(n, 3))}${n > 1 ? ' + \\dots' : ''}`);
  const q = plan.quadrature;
  const rule =
    q.kind === 'hermite'
      ? `${q.nodes.length}-node Gauss-Hermite rule`
      : `${q.nodes.length}-node Gauss-Legendre rule on each piece of x in [lo, hi]${q.kinks.length ? ` split at the kinks z = ${q.kinks.map((k) => Number(k.toPrecision(12))).join(', ')}` : ''}, where [lo, hi] is chosen per unit as corrmap chooses it (numeric/gaussian-range.ts): on the grid x = -${RANGE_SCAN.most}, -${RANGE_SCAN.most - RANGE_SCAN.step}, ..., ${RANGE_SCAN.most}, every point where |phi(x) f| exceeds ${RANGE_SCAN.floor} of its largest value, plus ${RANGE_SCAN.step}, at least [-${RANGE_SCAN.least}, ${RANGE_SCAN.least}] (wider for a phi of exponential growth), for each f the code integrates (${q.range!.integrands.map(integrandText).join(', ')}); where one is not finite in float64 on that grid, the unit has no range and the code refuses it, as corrmap does`;
  if (plan.order >= 2) {
    lines.push(
      `Truncation: the Mehler series stops at the smallest P <= ${plan.kmax} with max|rho|^(P+1) max_i R_i(P)/Var_i <= ${plan.tolerance} (R_i: what the series still owes Var_i; Cauchy-Schwarz bound, docs/theory.md §Truncation and error bounds), chosen at run time as corrmap chooses it; the result's "truncation" gives P and that bound (relative to sqrt(Var_i Var_j)). The diagonal is Var_i = E[(phi - phi(mu_i))^2] - (g_0 - phi(mu_i))^2 by quadrature (no cancellation at a large mean), or sum_k ĝ_k^2 where the local expansion is used; a unit of variance exactly 0 is the constant phi(mu_i).`,
    );
    if (plan.bivariate)
      lines.push(
        `Where that bound stays above ${plan.tolerance} (strong correlations under a kink or a jump), the covariance off the diagonal is the exact bivariate form of ${plan.bivariate.atom.kind} instead, as corrmap takes it (numeric/general.ts exactBivariateAtom; docs/theory.md §Bivariate forms), for every pair of units with non-zero variance; Phi_2 by Genz's routine printed below; "truncation" then gives order 0 and bound 0.${plan.third ? ' The third cumulant stays the series below, as in corrmap.' : ''}`,
      );
  }
  if (plan.third)
    lines.push(
      `Third cumulant: distinct i, j, k by the three-vertex series shell by shell (2…${plan.third.shells.length + 1} edges) until ${THIRD_SERIES.quietShells} shells in a row are <= ${plan.tolerance} of the largest entry (or max Var^(3/2)); where shells grow instead (strong correlations) the sum up to the smallest shell, marked not converged; the result's "third" gives the last shell, its size (the error estimate) and whether it converged. Repeated indices: E[(phi - m)^3] by quadrature and Cov(phi^2(z_i), phi(z_j)) - 2 m_i Cov(phi(z_i), phi(z_j)) ${plan.third.jump === undefined ? `by the Mehler series to k = ${plan.kmax}` : `= (${plan.third.jump} - 2 m_i) C_ij with C_ij = Cov(phi(z_i), phi(z_j)) by the exact bivariate form (a pure step: phi^2 = ${plan.third.jump} phi + const, numeric/general.ts pureJump)`} (docs/theory.md §Gaussian closure).`,
    );
  lines.push(
    `Quadrature: ${rule}, nodes computed once by corrmap and embedded${g ? ' (for E[phi^2])' : ' (for g_k and E[phi^2])'}; the stated quadrature error is the difference from the rule with half the nodes.`,
  );
  return lines;
}

/** One integrand of the range scan, as text. */
function integrandText(r: RangeIntegrand): string {
  const base = r.centred ? '(phi - phi(mu))' : 'phi';
  return `${r.power === 1 ? base : `${base}^${r.power}`}${r.hermite ? ' He_K' : ''}`;
}

/** The header comment lines (without comment markers). */
export function headerLines(command: string, body: readonly string[]): string[] {
  return [`Generated by corrmap ${VERSION}: ${command}`, '', ...body, '', 'Do not edit: regenerate with the command above.'];
}

/** argv as a shell command line. */
export function commandLine(argv: readonly string[]): string {
  return ['corrmap', ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
