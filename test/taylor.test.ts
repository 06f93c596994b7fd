/**
 * The Taylor coefficients b_q(μ) = φ^(q)(μ)/q! of a polynomial activation come from exact
 * polynomial arithmetic, written as nerdamer writes an expanded polynomial, so every printed rule
 * reads as it did when nerdamer derived them; nerdamer itself still derives what the exact path
 * does not read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from '../symbolic/math.ts';
import { parseActivation } from '../symbolic/expression.ts';
import { exactTaylorTexts, nerdamerTaylorTexts, polynomialActivation } from '../symbolic/taylor.ts';

/** Polynomials in z and opaque parameters p0…p11 (as the exact path sees them), with the small numbers activations are written with. */
const NUMBERS = ['0', '1', '2', '3', '5', '7', '12', '0.5', '0.25', '0.1', '1.5', '2.5', '0.3', '0.125', '0.05'];
const atom = fc.oneof(fc.constant('z'), fc.integer({ min: 0, max: 11 }).map((k) => `p${k}`), fc.constantFrom(...NUMBERS));
const { tree } = fc.letrec<{ tree: string }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('tree'), fc.constantFrom('+', '-', '*'), tie('tree')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie('tree'), fc.constantFrom('2', '3', '4', '0.5', '10')).map(([a, d]) => `(${a}) / ${d}`),
    fc.tuple(tie('tree'), fc.integer({ min: 0, max: 3 })).map(([a, e]) => `(${a})^${e}`),
    tie('tree').map((a) => `-(${a})`),
  ),
}));
const DEGREE = 9;

describe('Taylor coefficients of a polynomial activation', () => {
  it('exact arithmetic gives nerdamer’s text of every b_q, term order and brackets included', () => {
    fc.assert(
      fc.property(tree, (text) => {
        const plain = parse(text);
        const exact = exactTaylorTexts(plain, DEGREE);
        expect(exact, text).toBeDefined();
        expect(exact, text).toEqual(nerdamerTaylorTexts(parseActivation('z'), plain, DEGREE));
      }),
      { numRuns: 150, seed: 20240611 },
    );
  });

  it('leaves to nerdamer what it does not read exactly: a division by a parameter, a decimal nerdamer rounds', () => {
    expect(exactTaylorTexts(parse('z^2 / p0'), 2)).toBeUndefined();
    // nerdamer reads 0.123456789 as the convergent 13566680/109890109, not as the decimal.
    expect(exactTaylorTexts(parse('0.123456789 * z^2'), 2)).toBeUndefined();
    expect(exactTaylorTexts(parse('0.125 * z^2'), 2)).toEqual(['(1/8)*z^2', '(1/4)*z', '1/8']);
    // Through either path, the coefficients are those of φ (checked numerically inside).
    expect(polynomialActivation(parseActivation('z^2 / b')).taylor.map(String)).toEqual(['b ^ (-1) * z ^ 2', '2 * b ^ (-1) * z', 'b ^ (-1)']);
  });
});
