import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'mathjs';
import {
  certifyFamily,
  crossCheckFamily,
  defaultFamilies,
  extendedFamilies,
  familyName,
  familyRule,
  nerdamerFamilies,
  writeCertificates,
} from '../proofs/certificates.ts';
import {
  CLOSED_FORM_CASES,
  DEFAULT_GRID,
  ORDERS,
  certifyClosedForm,
  writeClosedFormCertificates,
  type CheckId,
  type ClosedFormCertificate,
} from '../proofs/closed-forms.ts';
import { allSetPartitions, certifyRule, momentsFromCgf } from '../proofs/mgf.ts';
import { nerdamerCrossCheck } from '../proofs/nerdamer-check.ts';
import { derivativesFromSeries, taylorCoefficients } from '../numeric/taylorseries.ts';
import { SMOOTHED_FUNCTIONS, activationOf, smoothedDerivatives, type Activation } from '../symbolic/activations.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { parse as parseTree } from '../symbolic/math.ts';
import { Polynomial } from '../symbolic/polynomial.ts';
import { Rational } from '../symbolic/rational.ts';
import type { TransferRule } from '../symbolic/rule.ts';

const LONG = Boolean(process.env.CORRMAP_LONG);
const poly = (text: string) => Polynomial.fromMathNode(parse(text));

describe('moments from exp(C(t))', () => {
  const moments = momentsFromCgf(2, 4, 4);

  it('gives the textbook low moments', () => {
    expect(moments.get('1,0')!.equals(poly('m1'))).toBe(true);
    expect(moments.get('2,0')!.equals(poly('m1^2 + k2_11'))).toBe(true);
    expect(moments.get('1,1')!.equals(poly('m1*m2 + k2_12'))).toBe(true);
    expect(moments.get('3,0')!.equals(poly('m1^3 + 3*m1*k2_11 + k3_111'))).toBe(true);
    expect(
      moments.get('2,2')!.equals(poly('k4_1122 + 2*k3_112*m2 + 2*k3_122*m1 + k2_11*k2_22 + 2*k2_12^2 + k2_11*m2^2 + k2_22*m1^2 + 4*k2_12*m1*m2 + m1^2*m2^2')),
    ).toBe(true);
  });

  it('reduces to Isserlis for a centred Gaussian: E[z^4] = 3σ⁴', () => {
    const gaussian = momentsFromCgf(1, 2, 4).get('4')!;
    expect(gaussian.substitute(new Map([['m1', Polynomial.zero()]])).equals(poly('3*k2_11^2'))).toBe(true);
  });

  it('enumerates Bell(n) set partitions', () => {
    expect([1, 2, 3, 4, 5].map((n) => allSetPartitions(n).length)).toEqual([1, 2, 5, 15, 52]);
  });
});

describe('certificates: degrees 1–4, n ≤ 3, K = 2…6 and the paper activation', () => {
  for (const family of defaultFamilies()) {
    it(familyName(family), () => {
      const { certificate: c } = certifyFamily(family);
      expect(c.structuralIssues).toEqual([]);
      expect(c.differenceSample).toEqual([]);
      expect(c.independentMonomials).toBe(c.ruleMonomials);
      expect(c.ok).toBe(true);
    }, 60_000);
  }
});

describe.runIf(LONG)('certificates of larger families (CORRMAP_LONG)', () => {
  for (const family of extendedFamilies())
    it(familyName(family), () => expect(certifyFamily(family).certificate.ok).toBe(true), 120_000);
});

describe('cross-check through nerdamer.diff of e^(C(t))', () => {
  for (const family of nerdamerFamilies()) {
    it(`${family.activation ?? 'generic'} n=${family.order} K=${family.inputOrder}`, () => {
      const check = crossCheckFamily(family);
      expect(check.difference).toBe('0');
      expect(check.ok).toBe(true);
    }, 30_000);
  }
});

describe('certificate files', () => {
  it('writes one Markdown certificate per rule, the cross-check and an index', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-proofs-'));
    try {
      const families = [
        { degree: 2, order: 2, inputOrder: 4 },
        { degree: 3, order: 1, inputOrder: 2 },
        { degree: 2, order: 3, inputOrder: 3, activation: 'z + a*z^2' },
      ];
      const summary = writeCertificates(dir, { families, crossCheck: [nerdamerFamilies()[0]] });
      expect(summary.ok).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['generic-d2-n2-K4.md', 'generic-d3-n1-K2.md', 'index.md', 'nerdamer-cross-check.md', 'paper-z+az2-n3-K3.md']);
      const text = readFileSync(join(dir, 'generic-d2-n2-K4.md'), 'utf8');
      expect(text).toContain('difference expands to 0');
      expect(text).toContain('$$\n\\kappa(y_{i}, y_{j}) = b_{1}(\\mu_{i}) \\, b_{1}(\\mu_{j}) \\, \\Sigma_{ij}');
      expect(text).toContain('| `k4_1122` | Q_iijj |');
      expect(readFileSync(join(dir, 'index.md'), 'utf8')).toContain('All 3 certificates and 1 nerdamer cross-checks hold');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A copy of a rule with its terms replaced. */
const withTerms = (rule: TransferRule, terms: TransferRule['terms']): TransferRule => ({ ...rule, terms });

describe('negative controls: the checks can fail', () => {
  const generic = familyRule({ degree: 2, order: 2, inputOrder: 4 }).rule;
  const paper = familyRule({ degree: 2, order: 2, inputOrder: 4, activation: 'z + a*z^2' }).rule;

  it('one perturbed coefficient leaves a nonzero difference', () => {
    const k = generic.terms.findIndex((t) => t.cumulants.some((c) => c.power === 2));
    expect(k).toBeGreaterThanOrEqual(0);
    const bad = withTerms(
      generic,
      generic.terms.map((t, i) => (i === k ? { ...t, coefficient: t.coefficient.add(Rational.ONE) } : t)),
    );
    const c = certifyRule(bad);
    expect(c.ok).toBe(false);
    expect(c.differenceMonomials).toBeGreaterThan(0);
    // The residue is exactly the perturbation: one copy of b_2(μ_i) b_2(μ_j) Σ_ij².
    expect(c.differenceSample.every((s) => s.includes('k2_12^2'))).toBe(true);
  });

  it('a dropped term leaves a nonzero difference', () => {
    for (let k = 0; k < generic.terms.length; k++) {
      const c = certifyRule(withTerms(generic, generic.terms.filter((_, i) => i !== k)));
      expect(c.ok).toBe(false);
    }
  });

  it('a cumulant moved to other slots (T_ijj → T_iij) is caught', () => {
    const k = generic.terms.findIndex((t) => t.cumulants.length === 1 && t.cumulants[0].order === 3);
    const bad = withTerms(
      generic,
      generic.terms.map((t, i) => (i === k ? { ...t, cumulants: [{ ...t.cumulants[0], slots: [0, 0, 1] }] } : t)),
    );
    expect(generic.terms[k].cumulants[0].slots).toEqual([0, 1, 1]);
    expect(certifyRule(bad).ok).toBe(false);
  });

  it('a truncated rule does not pass as exact (K = 3 rule checked against K = 4 input)', () => {
    const truncated = familyRule({ degree: 2, order: 2, inputOrder: 3 }).rule;
    const c = certifyRule({ ...truncated, inputOrder: 4 });
    expect(c.ok).toBe(false);
    expect(c.differenceSample.some((s) => s.includes('k4_1122'))).toBe(true);
  });

  it('a wrong Taylor coefficient b_1 is caught (φ is expanded independently of b_q)', () => {
    const taylor = [...paper.activation.taylor];
    taylor[1] = parse('1 + 3 * a * z');
    const c = certifyRule({ ...paper, activation: { ...paper.activation, taylor } });
    expect(c.ok).toBe(false);
  });

  it('nerdamer reports a nonzero difference for a dropped term', () => {
    const check = nerdamerCrossCheck(withTerms(paper, paper.terms.slice(1)));
    expect(check.ok).toBe(false);
    expect(check.difference).not.toBe('0');
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Closed-form Gaussian smoothings, certified numerically (docs/theory.md §Proofs, proofs/closed-forms.ts).

const checkOf = (c: ClosedFormCertificate, id: CheckId) => c.checks.find((x) => x.id === id)!;
const failing = (c: ClosedFormCertificate) => c.checks.filter((x) => !x.ok).map((x) => `${x.id}: ${x.problem ?? `${x.failures.length} of ${x.compared} out of tolerance, ${x.unresolved} unresolved`}`);

describe('closed-form Gaussian smoothings: G, nerdamer g_k and Taylor-mode g_k against quadrature', () => {
  const certificates = new Map<string, ClosedFormCertificate>();
  const certificate = (slug: string, source: string) => {
    let c = certificates.get(slug);
    if (!c) certificates.set(slug, (c = certifyClosedForm(source, { slug })));
    return c;
  };

  for (const { slug, source } of CLOSED_FORM_CASES) {
    it(`${slug}: ${source}`, () => {
      const c = certificate(slug, source);
      expect(failing(c)).toEqual([]);
      expect(c.points).toHaveLength(DEFAULT_GRID.mu.length * DEFAULT_GRID.s.length);
      expect(checkOf(c, 'G').compared).toBe(c.points.length);
      expect(checkOf(c, 'symbolic').compared).toBe(c.points.length * (ORDERS.symbolic + 1));
      expect(checkOf(c, 'taylor-symbolic').compared).toBe(c.points.length * (ORDERS.symbolic + 1));
      // Taylor mode against the Stein form: s^{−k/2} amplifies the quadrature's rounding, so small s
      // resolves fewer orders; still k ≥ 11 at s ≥ 1, k ≥ 6 everywhere, and most comparisons.
      const stein = checkOf(c, 'taylor-stein');
      for (const s of DEFAULT_GRID.s) expect(stein.highestOrder.get(s), `highest k at s = ${s}`).toBeGreaterThanOrEqual(s >= 1 ? 11 : 6);
      expect(stein.compared).toBeGreaterThan(0.8 * c.points.length * (ORDERS.taylor + 1));
      expect(c.ok).toBe(true);
    }, 30_000);
  }

  it('skips grid points outside the validity of G: exp(0.2 z²) needs 2αs < 1', () => {
    const c = certifyClosedForm('exp(0.2*z^2)');
    expect(c.skipped.map((p) => p.s)).toEqual([3, 3, 3, 3, 3]);
    expect(c.skipped[0].reason).toContain('infinite');
    expect(failing(c)).toEqual([]);
  }, 30_000);

  it('writes one Markdown certificate per activation and an index', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-closed-forms-'));
    try {
      const cases = CLOSED_FORM_CASES.filter((c) => c.slug === 'relu' || c.slug === 'gelu');
      const lines: string[] = [];
      const summary = writeClosedFormCertificates(dir, { cases, log: (line) => lines.push(line) });
      expect(summary.ok).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['gelu.md', 'index.md', 'relu.md']);
      expect(lines.filter((l) => l.startsWith('ok   closed form'))).toHaveLength(2);
      const relu = readFileSync(join(dir, 'relu.md'), 'utf8');
      expect(relu).toContain('**Result: every check holds.**');
      expect(relu).toContain('G(\\mu, s) = \\mu \\, \\Phi\\left(\\frac{\\mu}{\\sqrt{s}}\\right) + \\sqrt{s} \\, \\varphi\\left(\\frac{\\mu}{\\sqrt{s}}\\right)');
      expect(relu).toContain('Source: ReLU');
      expect(relu).toContain('composite Gauss–Legendre');
      expect(readFileSync(join(dir, 'gelu.md'), 'utf8')).toContain('Gauss–Hermite');
      expect(readFileSync(join(dir, 'index.md'), 'utf8')).toContain('All 2 closed forms are certified');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('negative controls: the closed-form checker rejects wrong forms', () => {
  const library = (source: string) => activationOf(parseActivation(source));
  /** The activation with its closed form replaced (g_k are then derived from the wrong G). */
  const withG = (a: Activation, G: string): Activation => ({ ...a, smoothed: { ...a.smoothed!, G: parseTree(G) } });

  it('ReLU with σ replaced by 1.01σ', () => {
    const c = certifyClosedForm(withG(library('relu(z)'), 'mu * Phi(mu / sqrt(1.0201 * s)) + sqrt(1.0201 * s) * phi(mu / sqrt(1.0201 * s))'));
    expect(c.ok).toBe(false);
    expect(checkOf(c, 'G').failures.length).toBeGreaterThan(10);
    expect(checkOf(c, 'symbolic').ok).toBe(false);
    expect(checkOf(c, 'taylor-stein').ok).toBe(false);
    // Taylor mode and nerdamer differentiate the same wrong G consistently: only quadrature sees it.
    expect(checkOf(c, 'taylor-symbolic').ok).toBe(true);
  }, 30_000);

  it('GELU with √(1 + 2s) for √(1 + s)', () => {
    const c = certifyClosedForm(withG(library('gelu(z)'), 'mu * Phi(mu / sqrt(1 + 2 * s)) + s / sqrt(1 + 2 * s) * phi(mu / sqrt(1 + 2 * s))'));
    expect(checkOf(c, 'G').failures).toHaveLength(c.points.length);
    expect(checkOf(c, 'symbolic').ok).toBe(false);
    expect(c.ok).toBe(false);
  }, 30_000);

  it('G off by one part in 10⁶ (sin)', () => {
    const c = certifyClosedForm(withG(library('sin(z)'), '(1 + 1e-6) * sin(mu) * exp(-0.5 * s)'));
    expect(checkOf(c, 'G').ok).toBe(false);
    expect(c.ok).toBe(false);
  });

  it('a nerdamer g_3 off by one part in 10⁶, with G right (GELU)', () => {
    const gelu = library('gelu(z)');
    const trees = smoothedDerivatives(gelu, ORDERS.symbolic).slice();
    trees[3] = parseTree(`(1 + 1e-6) * (${trees[3].toString()})`);
    const c = certifyClosedForm(gelu, { derivatives: trees });
    expect(checkOf(c, 'G').ok).toBe(true);
    expect(checkOf(c, 'symbolic').failures.every((f) => f.k === 3)).toBe(true);
    expect(checkOf(c, 'symbolic').ok).toBe(false);
    expect(checkOf(c, 'taylor-symbolic').ok).toBe(false);
  }, 30_000);

  it('a Taylor mode with g_9 off by one part in 10⁶ (erf)', () => {
    const c = certifyClosedForm('erf(1.3*z)', {
      taylor: (G, mu, s, K) => {
        const g = derivativesFromSeries(taylorCoefficients(G, 'mu', mu, K, { s }, SMOOTHED_FUNCTIONS));
        g[9] *= 1 + 1e-6;
        return g;
      },
    });
    expect(checkOf(c, 'taylor-symbolic').ok).toBe(true);
    expect(checkOf(c, 'taylor-stein').failures.length).toBeGreaterThan(0);
    expect(checkOf(c, 'taylor-stein').failures.every((f) => f.k === 9)).toBe(true);
    expect(c.ok).toBe(false);
  });
});
