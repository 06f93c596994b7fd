/**
 * The registry's definitions are what every code target without a function of that name emits
 * (symbolic/print/code.ts), so each must be the atom itself, to float64 rounding, in both tails and
 * at its kinks (where the conventions heaviside(0) = sign(0) = 0 must survive the expansion); and
 * the definitions must not refer to one another in a cycle.
 */
import { describe, expect, it } from 'vitest';
import { ATOMS, FLOAT64_FUNCTIONS, atomDefinition, atomNamed, type AtomSpec } from '../symbolic/atoms/index.ts';
import { NAMED_CONSTANTS } from '../symbolic/expression.ts';
import { parse, type MathNode } from '../symbolic/math.ts';
import { CPrinter } from '../symbolic/print/c.ts';
import { JuliaPrinter } from '../symbolic/print/julia.ts';
import { JaxPrinter, NumPyPrinter, TorchPrinter } from '../symbolic/print/python.ts';

/**
 * Definitions that cancel in a tail or near 0 (1 − erf, (e^z ∓ e^{−z})/2, e^z − 1, log(1 + z)): exact as formulas and
 * fine for Taylor mode, held to 1e-13 of max(|φ|, 1) only, so every code target must spell them itself.
 */
const CANCELLING = ['erfc', 'sinh', 'cosh', 'expm1', 'log1p'];
const PRINTERS = [new NumPyPrinter(), new JaxPrinter(), new TorchPrinter(), new JuliaPrinter(), new CPrinter()];

const POINTS = [-40, -12, -3.5, -1, -0.7, -1e-9, 0, 1e-9, 0.3, 1, 2.5, 12, 40];

/** The definition expanded until no defined atom is left that its own float64 would evaluate. */
function expandOnce(atom: AtomSpec): MathNode {
  return atomDefinition(atom, [parse('x'), parse('y')]);
}

describe('atom definitions', () => {
  const defined = (ATOMS as readonly AtomSpec[]).filter((a) => a.definition && a.float64);
  it(`${defined.length} definitions agree with the atoms' float64 to 1e-13 relative (tails included)`, () => {
    let checked = 0;
    for (const atom of defined) {
      const f = expandOnce(atom).compile();
      for (const x of POINTS) {
        const want = atom.float64!(x, 0.5);
        if (!Number.isFinite(want)) continue;
        const got = Number(f.evaluate({ ...FLOAT64_FUNCTIONS, ...NAMED_CONSTANTS, x, y: 0.5 }));
        expect(Math.abs(got - want), `${atom.name}(${x}): ${got} vs ${want}`).toBeLessThanOrEqual(1e-13 * Math.max(Math.abs(want), CANCELLING.includes(atom.name) ? 1 : 1e-300));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('every code target spells the atoms whose definitions cancel itself', () => {
    for (const p of PRINTERS) for (const name of CANCELLING) expect(p.knows(name), `${p.target} ${name}`).toBe(true);
  });

  it('no definition refers back to itself through others', () => {
    const calls = (text: string) => [...text.matchAll(/([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]);
    for (const atom of defined) {
      const seen = new Set<string>();
      const stack = [atom.name];
      while (stack.length) {
        const name = stack.pop()!;
        const d = atomNamed(name)?.definition;
        if (!d) continue;
        for (const c of calls(d)) {
          expect(c, `${atom.name} reaches itself through ${name}`).not.toBe(atom.name);
          if (!seen.has(c)) stack.push(c), seen.add(c);
        }
      }
    }
  });

  it('a wrong definition would be caught (negative control)', () => {
    const wrong = { ...atomNamed('softsign')!, definition: 'z / (1 + z ^ 2)' };
    const f = expandOnce(wrong).compile();
    expect(Math.abs(Number(f.evaluate({ ...FLOAT64_FUNCTIONS, x: 2.5 })) - wrong.float64!(2.5))).toBeGreaterThan(0.1);
  });
});
