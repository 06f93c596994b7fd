/**
 * The mathjs instance (symbolic/math.ts) is mathjs's number-only build; its pow must still answer
 * as the full build does with `predictable: true`, the configuration corrmap used before.
 */
import { describe, expect, it } from 'vitest';
import { parse } from '../symbolic/math.ts';

const value = (text: string) => Number(parse(text).compile().evaluate());

describe('the mathjs instance', () => {
  it('a negative base to p/q with q odd is the real root, (−1)^p |x|^(p/q)', () => {
    expect(value('(-8)^(1/3)')).toBeCloseTo(-2, 14);
    expect(value('(-8)^(2/3)')).toBeCloseTo(4, 14);
    expect(value('(-32)^(-3/5)')).toBeCloseTo(-1 / 8, 14);
    expect(value('(-8)^(1/3) * (-8)^(1/3) * (-8)^(1/3)')).toBeCloseTo(-8, 12);
  });

  it('no real value is NaN, never a complex number or a principal root', () => {
    expect(value('(-8)^0.5')).toBeNaN();
    expect(value('(-8)^(1/4)')).toBeNaN();
    expect(value('(-2)^Infinity')).toBeNaN();
    expect(value('(-0.5)^(-Infinity)')).toBeNaN();
  });

  it('ordinary powers are Math.pow, with the full build\'s limits at ±Infinity', () => {
    expect(value('(-2)^3')).toBe(-8);
    expect(value('2^0.5')).toBe(Math.SQRT2);
    expect(value('0.5^Infinity')).toBe(0);
    expect(value('2^(-Infinity)')).toBe(0);
    expect(value('3^Infinity')).toBe(Infinity);
  });

  it('evaluates the functions an activation may use', () => {
    const scope = { z: 0.7 };
    const f = (text: string) => Number(parse(text).compile().evaluate(scope));
    expect(f('tanh(z) + erf(z) + max(z, 0) + sign(-z) + abs(-z) + atan(z)')).toBeCloseTo(Math.tanh(0.7) + 0.6778011938374184 + 0.7 - 1 + 0.7 + Math.atan(0.7), 12);
  });
});
