import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bivariateNormalCdf,
  bivariateNormalPdf,
  gaussHermite,
  gaussLegendre,
  gaussianExpectation,
  hermiteHe,
  hermiteHeAll,
  normalCdf,
  normalPdf,
  steinCoefficients,
} from '../numeric/gauss.ts';
import { normalCdf as chebyshevNormalCdf } from '../numeric/statistics.ts';
import { binomial, factorialNumber, gaussHermite as newtonGaussHermite } from './helpers.ts';

/**
 * Gaussian quadrature and normal probabilities (docs/theory.md §Gaussian closure) against closed forms, identities and
 * independent computations: 40-digit values (mpmath's ncdf, and its adaptive quadrature of
 * Φ₂ = ∫_{−∞}^h φ(x) Φ((k − ρx)/√(1 − ρ²)) dx), an adaptive Simpson integral of the same formula
 * built on statistics.ts' Chebyshev Φ, explicit Hermite sums, exact Gaussian moments.
 */

const runs = { numRuns: 60, seed: 20240611 };

function doubleFactorial(n: number): number {
  let f = 1;
  for (let j = n; j > 1; j -= 2) f *= j;
  return f;
}

/** E[Y^m], Y ~ N(μ, s): Σ_{i even} C(m, i) μ^{m−i} s^{i/2} (i − 1)!!. */
function gaussianMoment(m: number, mu: number, s: number): number {
  let total = 0;
  for (let i = 0; i <= m; i += 2) total += binomial(m, i) * mu ** (m - i) * s ** (i / 2) * doubleFactorial(i - 1);
  return total;
}

// Φ(x) to 17 significant digits: mpmath 1.3 ncdf at 40 digits.
const PHI_TABLE: [number, number][] = [
  [-37.5, 4.605353009581955e-308],
  [-30, 4.906713927148187e-198],
  [-25.25, 5.662814628323675e-141],
  [-20, 2.7536241186062337e-89],
  [-15, 3.670966199312751e-51],
  [-10.3, 3.5230650789264124e-25],
  [-8, 6.220960574271784e-16],
  [-6.1, 5.303423262948841e-10],
  [-5.5, 1.8989562465887718e-8],
  [-4, 3.1671241833119924e-5],
  [-3, 0.0013498980316300946],
  [-2.5, 0.006209665325776135],
  [-2, 0.02275013194817921],
  [-1.5, 0.06680720126885807],
  [-1.25, 0.10564977366685525],
  [-1, 0.15865525393145705],
  [-0.75, 0.2266273523768682],
  [-0.3, 0.3820885778110474],
  [-1e-5, 0.49999601057719606],
  [0.4, 0.6554217416103242],
  [1, 0.8413447460685429],
  [1.7, 0.955434537241457],
  [2.5, 0.9937903346742238],
  [5, 0.9999997133484281],
];

// Φ₂(h, k; ρ): mpmath 1.3 quad of ∫_{−∞}^h φ(x) Φ((k − ρx)/√(1 − ρ²)) dx at 40 digits.
const BVN_TABLE: [number, number, number, number][] = [
  [0.5, -0.3, 0.2, 0.2907642881365537],
  [-1.2, 0.7, -0.6, 0.041014421748693165],
  [1.5, 1.1, 0.8, 0.8473621050815682],
  [-0.4, -0.9, 0.93, 0.17893341858409495],
  [2.1, -0.8, 0.9999, 0.21185539858339666],
  [0.3, 0.3, 0.99999, 0.6172309784737804],
  [-2, -2, -0.999, 0],
  [1, -1, -0.999, 0.004317057996186692],
  [-3, 4, 0.999, 0.0013498980316300946],
  [7, 7, -0.99, 0.9999999999974404],
  [-8, -8, 0.5, 1.7886605485901852e-21],
  [-8, -8, 0.95, 1.2039096180683063e-16],
  [-10, -9, 0.99, 7.619853024040271e-24],
  [-1.5, -1.5, 0.97, 0.05419061827613347],
  [3, -2.5, -0.95, 0.004925468231111327],
  [-6, -5.5, 0.9, 5.269452068076542e-10],
];

describe('normal density and CDF', () => {
  it('Φ matches 40-digit values to 1e-15 relative, far into the lower tail', () => {
    for (const [x, exact] of PHI_TABLE) expect(Math.abs(normalCdf(x) - exact) / exact, `x = ${x}`).toBeLessThan(1e-15);
    // Where the result is subnormal only its absolute size can be right.
    expect(Math.abs(normalCdf(-38) - 2.88542835e-316)).toBeLessThan(1e-322);
  });

  it('Φ(x) + Φ(−x) = 1 and Φ agrees with the Chebyshev erfc of statistics.ts to its ~1e-16 absolute accuracy', () => {
    fc.assert(
      fc.property(fc.double({ min: -9, max: 9, noNaN: true }), (x) => {
        expect(Math.abs(normalCdf(x) + normalCdf(-x) - 1)).toBeLessThan(3e-16);
        expect(Math.abs(normalCdf(x) - chebyshevNormalCdf(x))).toBeLessThan(3e-16);
      }),
      runs,
    );
  });

  it('φ is the derivative of Φ (central differences) and has the right limits', () => {
    for (const x of [-6, -2.2, -1, -0.3, 0, 0.8, 1, 3.5]) {
      const step = 1e-3;
      const difference = (normalCdf(x + step) - normalCdf(x - step)) / (2 * step);
      // Central difference = φ + φ''(x) step²/6 + O(step⁴); φ'' = (x² − 1)φ. Rounding ≈ ε/step.
      const leading = ((x * x - 1) * normalPdf(x) * step * step) / 6;
      expect(Math.abs(difference - leading - normalPdf(x)), `x = ${x}`).toBeLessThan(1e-12);
    }
    expect(normalPdf(0)).toBe(1 / Math.sqrt(2 * Math.PI));
    expect(normalPdf(50)).toBe(0);
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalCdf(0)).toBe(0.5);
    expect(Number.isNaN(normalCdf(NaN))).toBe(true);
  });
});

describe('Hermite polynomials', () => {
  it('He_k equals the explicit sum Σ_m (−1)^m k!/(m!(k−2m)! 2^m) x^{k−2m}', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 14 }), fc.double({ min: -4, max: 4, noNaN: true }), (k, x) => {
        let sum = 0;
        let magnitude = 0;
        for (let m = 0; 2 * m <= k; m++) {
          const term = ((-1) ** m * factorialNumber(k)) / (factorialNumber(m) * factorialNumber(k - 2 * m) * 2 ** m) * x ** (k - 2 * m);
          sum += term;
          magnitude += Math.abs(term);
        }
        expect(Math.abs(hermiteHe(k, x) - sum)).toBeLessThanOrEqual(1e-14 * magnitude + 1e-300);
        expect(hermiteHeAll(k, x)[k]).toBe(hermiteHe(k, x));
      }),
      runs,
    );
    expect(hermiteHe(4, 2)).toBe(16 - 24 + 3);
  });

  it('hermiteHeAll writes into a given array and rejects short ones; negative orders are errors', () => {
    const out = new Float64Array(6).fill(NaN);
    expect(hermiteHeAll(4, 1.5, out)).toBe(out);
    expect(Array.from(out.subarray(0, 5))).toEqual([1, 1.5, 1.25, -1.125, -5.4375]);
    expect(Number.isNaN(out[5])).toBe(true);
    expect(() => hermiteHeAll(6, 1, out)).toThrow(RangeError);
    expect(() => hermiteHe(-1, 0)).toThrow(RangeError);
    expect(() => hermiteHe(1.5, 0)).toThrow(RangeError);
  });
});

describe('Gauss–Hermite rules', () => {
  const sizes = [1, 2, 3, 4, 5, 7, 16, 33, 64, 100, 256, 512];

  it('weights are positive and sum to 1; nodes increase and the rule is exactly symmetric', () => {
    for (const n of sizes) {
      const { nodes, weights } = gaussHermite(n);
      expect(nodes.length).toBe(n);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        sum += weights[i];
        expect(weights[i]).toBeGreaterThanOrEqual(0);
        expect(nodes[i] === -nodes[n - 1 - i]).toBe(true);
        expect(weights[i]).toBe(weights[n - 1 - i]);
        if (i > 0) expect(nodes[i]).toBeGreaterThan(nodes[i - 1]);
      }
      expect(Math.abs(sum - 1), `n = ${n}`).toBeLessThan(5e-16);
      // Weights below 1e-300 only where e^{−x²/2} itself is that small (n ≳ 300).
      if (n <= 256) for (const w of weights) expect(w).toBeGreaterThan(1e-300);
    }
    expect(gaussHermite(64)).toBe(gaussHermite(64));
  });

  it('small rules in closed form: n = 2, 3, 4', () => {
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(4e-16 * Math.max(1, Math.abs(b)));
    const two = gaussHermite(2);
    close(two.nodes[1], 1);
    close(two.weights[0], 0.5);
    const three = gaussHermite(3);
    expect(three.nodes[1]).toBe(0);
    close(three.nodes[2], Math.sqrt(3));
    close(three.weights[1], 2 / 3);
    close(three.weights[2], 1 / 6);
    const four = gaussHermite(4);
    const r6 = Math.sqrt(6);
    close(four.nodes[3], Math.sqrt(3 + r6));
    close(four.nodes[2], Math.sqrt(3 - r6));
    close(four.weights[3], (3 - r6) / 12);
    close(four.weights[2], (3 + r6) / 12);
  });

  it('reproduces E[X^{2m}] = (2m − 1)!! up to degree 2n − 1 and odd moments vanish', () => {
    for (const n of [1, 2, 5, 16, 64, 128]) {
      const { nodes, weights } = gaussHermite(n);
      for (let degree = 0; degree <= Math.min(2 * n - 1, 200); degree++) {
        let sum = 0;
        let magnitude = 0;
        for (let i = 0; i < n; i++) {
          const term = weights[i] * nodes[i] ** degree;
          sum += term;
          magnitude += Math.abs(term);
        }
        if (degree % 2 === 1) expect(Math.abs(sum), `n = ${n}, degree ${degree}`).toBeLessThanOrEqual(4e-16 * magnitude);
        else {
          // A node good to ε|x| moves x^d by dε relative.
          const exact = doubleFactorial(degree - 1);
          expect(Math.abs(sum - exact) / exact, `n = ${n}, degree ${degree}`).toBeLessThan((degree + 4) * 4e-16);
        }
      }
    }
  });

  it('is exact for h_j h_k (orthonormal Hermite) up to j + k = 2n − 1 at n = 256, and not at 2n', () => {
    const n = 256;
    const { nodes, weights } = gaussHermite(n);
    const table: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const row = new Float64Array(n + 1);
      row[0] = 1;
      row[1] = nodes[i];
      for (let j = 1; j < n; j++) row[j + 1] = (nodes[i] * row[j] - Math.sqrt(j) * row[j - 1]) / Math.sqrt(j + 1);
      table.push(row);
    }
    let worst = 0;
    for (let j = 0; j < n; j++)
      for (let k = j; k <= Math.min(n, 2 * n - 1 - j); k++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += weights[i] * table[i][j] * table[i][k];
        worst = Math.max(worst, Math.abs(sum - (j === k ? 1 : 0)));
      }
    expect(worst).toBeLessThan(3e-14);
    // E[h_n²] = 1, but the nodes are the roots of h_n: the n-point rule gives 0.
    let top = 0;
    for (let i = 0; i < n; i++) top += weights[i] * table[i][n] ** 2;
    expect(top).toBeLessThan(1e-25);
  });

  it('n = 512 stays exact while w·h_j² is representable (degree ≤ 2·300); its tail weights underflow', () => {
    const n = 512;
    const { nodes, weights } = gaussHermite(n);
    const degree = 300;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      let previous = 0;
      let current = 1;
      for (let j = 0; j < degree; j++) {
        const next = (nodes[i] * current - Math.sqrt(j) * previous) / Math.sqrt(j + 1);
        previous = current;
        current = next;
      }
      sum += weights[i] * current * current;
    }
    expect(Math.abs(sum - 1)).toBeLessThan(1e-13);
    expect(weights[0]).toBe(0);
    expect(nodes[n - 1]).toBeGreaterThan(44);
  });

  it('agrees with an independent Newton-with-deflation rule', () => {
    for (const n of [7, 20, 40]) {
      const mine = gaussHermite(n);
      const other = newtonGaussHermite(n);
      const order = other.nodes.map((x, i) => [x, other.weights[i]]).sort((a, b) => a[0] - b[0]);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(mine.nodes[i] - order[i][0])).toBeLessThan(2e-14 * Math.max(1, Math.abs(order[i][0])));
        expect(Math.abs(mine.weights[i] - order[i][1]) / order[i][1]).toBeLessThan(1e-12);
      }
    }
  });

  it('rejects a non-positive or fractional size', () => {
    expect(() => gaussHermite(0)).toThrow(RangeError);
    expect(() => gaussHermite(2.5)).toThrow(RangeError);
  });
});

describe('Gauss–Legendre rules', () => {
  it('integrate x^{2m} over [−1, 1] to 2/(2m + 1) up to degree 2n − 1', () => {
    for (const n of [1, 6, 12, 20, 41]) {
      const { nodes, weights } = gaussLegendre(n);
      for (let degree = 0; degree <= 2 * n - 1; degree++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += weights[i] * nodes[i] ** degree;
        const exact = degree % 2 === 0 ? 2 / (degree + 1) : 0;
        expect(Math.abs(sum - exact), `n = ${n}, degree ${degree}`).toBeLessThan(2e-15);
      }
      // Degree 2n misses by 2^{2n+1}(n!)⁴/((2n+1)((2n)!)²), the Gauss–Legendre remainder for x^{2n}.
      if (n <= 20) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += weights[i] * nodes[i] ** (2 * n);
        const remainder = (2 ** (2 * n + 1) * factorialNumber(n) ** 4) / ((2 * n + 1) * factorialNumber(2 * n) ** 2);
        expect(Math.abs((2 / (2 * n + 1) - sum) / remainder - 1), `n = ${n}`).toBeLessThan(1e-3);
      }
    }
  });
});

describe('gaussianExpectation', () => {
  it('E[exp(cY)] = exp(cμ + c²s/2) to 1e-13 relative', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0.01, max: 4, noNaN: true }), (c, mu, s) => {
        const r = gaussianExpectation((z) => Math.exp(c * z), mu, s);
        const exact = Math.exp(c * mu + (c * c * s) / 2);
        expect(Math.abs(r.value - exact) / exact).toBeLessThan(1e-13);
        expect(r.error).toBeLessThan(1e-10 * exact + 1e-14);
      }),
      runs,
    );
    const steep = gaussianExpectation(Math.exp, 0, 100);
    expect(Math.abs(steep.value / Math.exp(50) - 1)).toBeLessThan(1e-13);
  });

  it('E[cos Y] = cos(μ) e^{−s/2}; E[cos X] = e^{−1/2}', () => {
    const r = gaussianExpectation(Math.cos, 0, 1);
    expect(Math.abs(r.value - Math.exp(-0.5))).toBeLessThan(4.5e-16);
    expect(r.nodes).toBe(64);
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0, max: 9, noNaN: true }), (mu, s) => {
        const exact = Math.cos(mu) * Math.exp(-s / 2);
        expect(Math.abs(gaussianExpectation(Math.cos, mu, s).value - exact)).toBeLessThan(1e-14);
      }),
      runs,
    );
  });

  it('is exact for polynomials with the first three rules, and returns f(μ) at s = 0', () => {
    const r = gaussianExpectation((z) => z ** 4 - 2 * z, 0.7, 1.3);
    const exact = gaussianMoment(4, 0.7, 1.3) - 2 * 0.7;
    expect(Math.abs(r.value - exact)).toBeLessThan(1e-14 * gaussianMoment(4, 0.7, 1.3));
    expect(r.nodes).toBe(64);
    const point = gaussianExpectation((z) => z * z, 3, 0);
    expect(point).toEqual({ value: 9, nodes: 1, error: 0 });
  });

  it('ReLU, a kink: Gauss–Hermite converges only like 1/n, and the error reported covers the true one', () => {
    const relu = (z: number) => Math.max(z, 0);
    const exactRelu = (mu: number, sigma: number) => mu * normalCdf(mu / sigma) + sigma * normalPdf(mu / sigma);
    // Default tolerance: the kink keeps the estimates ~0.16/n apart up to the last rule.
    expect(() => gaussianExpectation(relu, 0, 1)).toThrow(/does not exist or does not converge/);
    // Why three estimates must agree: at μ = 0.3σ the 16- and 32-point rules agree to 2e-4 relative
    // while both are 1.3% off.
    const sum = (n: number) => {
      const { nodes, weights } = gaussHermite(n);
      return nodes.reduce((acc, x, i) => acc + weights[i] * relu(0.3 + x), 0);
    };
    const exact = exactRelu(0.3, 1);
    expect(Math.abs(sum(16) - sum(32)) / exact).toBeLessThan(3e-4);
    expect(Math.abs(sum(32) - exact) / exact).toBeGreaterThan(1e-2);
    for (const [mu, sigma, tolerance] of [
      [0, 1, 1e-3],
      [0.3, 1, 1e-3],
      [0.05, 1, 1e-3],
      [-1, 0.5, 1e-2],
    ]) {
      const r = gaussianExpectation(relu, mu, sigma * sigma, { tolerance });
      const actual = Math.abs(r.value - exactRelu(mu, sigma));
      // Achieved: 3e-5 … 8e-4 relative, at 1024–2048 nodes.
      expect(actual / r.value, `μ = ${mu}, σ = ${sigma}`).toBeLessThan(tolerance);
      expect(actual, `μ = ${mu}, σ = ${sigma}`).toBeLessThanOrEqual(r.error);
    }
    // A kink 6.7σ out is invisible to the rule: full accuracy at the default tolerance.
    const far = gaussianExpectation(relu, 2, 0.09);
    expect(Math.abs(far.value - exactRelu(2, 0.3))).toBeLessThan(2e-12);
  });

  it('detects E[exp(z²)] = ∞ for s ≥ 1/2 and still finds 1/√(1 − 2s) below', () => {
    for (const s of [1, 0.6]) expect(() => gaussianExpectation((z) => Math.exp(z * z), 0, s)).toThrow(/does not exist or does not converge/);
    for (const s of [0.25, 0.4, 0.45]) {
      const r = gaussianExpectation((z) => Math.exp(z * z), 0, s);
      expect(Math.abs(r.value * Math.sqrt(1 - 2 * s) - 1), `s = ${s}`).toBeLessThan(1e-12);
    }
  });

  it('reports f undefined on part of the line, a cap on nodes, and bad moments', () => {
    expect(() => gaussianExpectation(Math.log, 2, 1)).toThrow(/f\(-?[0-9.e-]+\) = NaN/);
    expect(() => gaussianExpectation(Math.tanh, 0.3, 10, { maxNodes: 256 })).toThrow(/up to 256 nodes/);
    expect(() => gaussianExpectation(Math.cos, 0, -1)).toThrow(RangeError);
    expect(() => gaussianExpectation(Math.cos, NaN, 1)).toThrow(RangeError);
    expect(() => gaussianExpectation(Math.cos, 0, 1, { maxNodes: 8 })).toThrow(RangeError);
  });
});

describe('steinCoefficients', () => {
  it('φ = exp(cz): g_k = c^k e^{cμ + c²s/2}', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 2, noNaN: true }),
        fc.boolean(),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        (size, negative, mu, s) => {
          const c = negative ? -size : size;
          const r = steinCoefficients((z) => Math.exp(c * z), mu, s, 12);
          expect(r.g.length).toBe(13);
          for (let k = 0; k <= 12; k++) {
            const exact = c ** k * Math.exp(c * mu + (c * c * s) / 2);
            const actual = Math.abs(r.g[k] - exact);
            // Rounding, amplified by s^{−k/2} √(k!) / |c√s|^k, sets the accuracy of high orders;
            // the reported error covers it.
            expect(actual, `k = ${k}`).toBeLessThanOrEqual(3 * r.errors[k]);
            if (k <= 6) expect(actual / Math.abs(exact), `k = ${k}`).toBeLessThan(1e-9);
          }
          expect(r.error).toBe(Math.max(...r.errors));
        },
      ),
      { ...runs, numRuns: 40 },
    );
  });

  it('φ = sin: g_k = sin(μ + kπ/2) e^{−s/2}', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.3, max: 5, noNaN: true }), (mu, s) => {
        const r = steinCoefficients(Math.sin, mu, s, 12);
        for (let k = 0; k <= 12; k++) {
          const exact = Math.sin(mu + (k * Math.PI) / 2) * Math.exp(-s / 2);
          const actual = Math.abs(r.g[k] - exact);
          expect(actual, `k = ${k}`).toBeLessThanOrEqual(3 * r.errors[k] + 1e-15);
          if (k <= 8) expect(actual, `k = ${k}`).toBeLessThan(1e-10);
        }
      }),
      { ...runs, numRuns: 40 },
    );
  });

  it('is exact for a polynomial: g_k = E[p^{(k)}(z)] from Gaussian moments, and 0 beyond its degree', () => {
    const a = [0.3, -1.2, 0.5, 0.8, -0.25, 0.1, 0.04];
    const mu = -0.6;
    const s = 1.7;
    const r = steinCoefficients((z) => a.reduceRight((acc, coefficient) => acc * z + coefficient, 0), mu, s, 10);
    for (let k = 0; k <= 10; k++) {
      let exact = 0;
      let magnitude = 0;
      for (let j = k; j < a.length; j++) {
        const term = ((a[j] * factorialNumber(j)) / factorialNumber(j - k)) * gaussianMoment(j - k, mu, s);
        exact += term;
        magnitude += Math.abs(term);
      }
      if (k < a.length) expect(Math.abs(r.g[k] - exact) / magnitude, `k = ${k}`).toBeLessThan(1e-13);
      else {
        // Zero up to rounding, which the reported error covers.
        expect(Math.abs(r.g[k]), `k = ${k}`).toBeLessThanOrEqual(r.errors[k]);
        expect(r.errors[k]).toBeLessThan(1e-11);
      }
    }
    expect(r.nodes).toBe(64);
  });

  it('agrees with expectations of explicit derivatives (tanh), the two routes of Stein’s lemma', () => {
    const mu = 0.4;
    const s = 1.5;
    const r = steinCoefficients(Math.tanh, mu, s, 3);
    const sech2 = (z: number) => 1 / Math.cosh(z) ** 2;
    const direct = [
      Math.tanh,
      sech2,
      (z: number) => -2 * Math.tanh(z) * sech2(z),
      (z: number) => sech2(z) * (4 * Math.tanh(z) ** 2 - 2 * sech2(z)),
    ].map((f) => gaussianExpectation(f, mu, s).value);
    for (let k = 0; k <= 3; k++) expect(Math.abs(r.g[k] - direct[k]), `k = ${k}`).toBeLessThan(1e-12);
  });

  it('refuses s = 0, where derivatives at a point would be needed', () => {
    expect(() => steinCoefficients(Math.tanh, 0.2, 0, 3)).toThrow(/marginal variance is zero/);
    expect(() => steinCoefficients(Math.tanh, 0.2, 1, -1)).toThrow(RangeError);
  });
});

/** ∫_a^b f by adaptive Simpson with Richardson correction (Lyness), absolute tolerance tol. */
function adaptiveSimpson(f: (x: number) => number, a: number, b: number, tol: number): number {
  const recurse = (a: number, b: number, fa: number, fm: number, fb: number, whole: number, tol: number, depth: number): number => {
    const m = (a + b) / 2;
    const lm = (a + m) / 2;
    const rm = (m + b) / 2;
    const flm = f(lm);
    const frm = f(rm);
    const left = ((m - a) / 6) * (fa + 4 * flm + fm);
    const right = ((b - m) / 6) * (fm + 4 * frm + fb);
    const delta = left + right - whole;
    if (depth <= 0 || Math.abs(delta) <= 15 * tol) return left + right + delta / 15;
    return recurse(a, m, fa, flm, fm, left, tol / 2, depth - 1) + recurse(m, b, fm, frm, fb, right, tol / 2, depth - 1);
  };
  // Start from 64 panels so that no feature narrower than the interval is skipped.
  let total = 0;
  const panels = 64;
  for (let p = 0; p < panels; p++) {
    const lo = a + ((b - a) * p) / panels;
    const hi = a + ((b - a) * (p + 1)) / panels;
    const fa = f(lo);
    const fb = f(hi);
    const fm = f((lo + hi) / 2);
    total += recurse(lo, hi, fa, fm, fb, ((hi - lo) / 6) * (fa + 4 * fm + fb), tol / panels, 40);
  }
  return total;
}

/** Φ₂(h, k; ρ) = ∫_{−∞}^h φ(x) Φ((k − ρx)/√(1 − ρ²)) dx, the lower limit cut at −12 (Φ(−12) < 2e-33). */
function bruteForceBvn(h: number, k: number, rho: number): number {
  const root = Math.sqrt((1 - rho) * (1 + rho));
  const integrand = (x: number) => (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)) * chebyshevNormalCdf((k - rho * x) / root);
  return h <= -12 ? 0 : adaptiveSimpson(integrand, -12, h, 1e-15);
}

describe('bivariate normal CDF', () => {
  it('matches 40-digit quadrature to 5e-16 absolute, and to 1e-13 relative in these tails (ρ ≥ 0.5)', () => {
    for (const [h, k, rho, exact] of BVN_TABLE) {
      const value = bivariateNormalCdf(h, k, rho);
      expect(Math.abs(value - exact), `(${h}, ${k}, ${rho})`).toBeLessThan(5e-16);
      if (rho >= 0.5 && exact > 0) expect(Math.abs(value - exact) / exact, `(${h}, ${k}, ${rho})`).toBeLessThan(1e-13);
    }
  });

  it('matches a brute-force 1-D integral to 1e-12, including ρ = 0.99, 0.999, −0.995', () => {
    const rhos = fc.oneof(fc.constantFrom(0.99, 0.999, -0.995, 0.925, -0.925, 0.3, -0.75), fc.double({ min: -0.999, max: 0.999, noNaN: true }));
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), rhos, (h, k, rho) => {
        fc.pre(rho !== 0);
        expect(Math.abs(bivariateNormalCdf(h, k, rho) - bruteForceBvn(h, k, rho))).toBeLessThan(1e-12);
      }),
      { ...runs, numRuns: 30 },
    );
  });

  it('ρ = 0 is the product and a tiny ρ adds φ(h)φ(k)ρ', () => {
    expect(bivariateNormalCdf(0.7, -1.1, 0)).toBe(normalCdf(0.7) * normalCdf(-1.1));
    // Φ₂ = ΦΦ + ρ φφ + (ρ²/2) hk φφ + O(ρ³), from ∂Φ₂/∂ρ = φ₂ and ∂φ₂/∂ρ = hk φφ at ρ = 0.
    const rho = 1e-7;
    const phiphi = normalPdf(0.7) * normalPdf(-1.1);
    const expected = normalCdf(0.7) * normalCdf(-1.1) + rho * phiphi + ((rho * rho) / 2) * 0.7 * -1.1 * phiphi;
    expect(Math.abs(bivariateNormalCdf(0.7, -1.1, rho) - expected)).toBeLessThan(1e-16);
  });

  it('ρ = ±1 exactly, and the approach to them within acos(|ρ|)/(2π) (Plackett: ∂Φ₂/∂ρ = φ₂ ≤ 1/(2π√(1−ρ²)))', () => {
    fc.assert(
      fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.integer({ min: 1, max: 14 }), (h, k, j) => {
        expect(bivariateNormalCdf(h, k, 1)).toBe(normalCdf(Math.min(h, k)));
        const atMinus = bivariateNormalCdf(h, k, -1);
        expect(Math.abs(atMinus - Math.max(0, normalCdf(h) - normalCdf(-k)))).toBeLessThan(2e-16);
        const rho = 1 - 10 ** -j;
        const bound = Math.acos(rho) / (2 * Math.PI) + 2e-16;
        const up = normalCdf(Math.min(h, k)) - bivariateNormalCdf(h, k, rho);
        expect(up).toBeGreaterThanOrEqual(-2e-16);
        expect(up).toBeLessThanOrEqual(bound);
        const down = bivariateNormalCdf(h, k, -rho) - atMinus;
        expect(down).toBeGreaterThanOrEqual(-2e-16);
        expect(down).toBeLessThanOrEqual(bound);
      }),
      runs,
    );
  });

  it('symmetry, reflection Φ₂(h,k,ρ) + Φ₂(h,−k,−ρ) = Φ(h), and the orthant 1/4 + asin(ρ)/(2π)', () => {
    fc.assert(
      fc.property(fc.double({ min: -6, max: 6, noNaN: true }), fc.double({ min: -6, max: 6, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (h, k, rho) => {
        expect(Math.abs(bivariateNormalCdf(h, k, rho) - bivariateNormalCdf(k, h, rho))).toBeLessThan(3e-16);
        expect(Math.abs(bivariateNormalCdf(h, k, rho) + bivariateNormalCdf(h, -k, -rho) - normalCdf(h))).toBeLessThan(5e-16);
        expect(Math.abs(bivariateNormalCdf(0, 0, rho) - (0.25 + Math.asin(rho) / (2 * Math.PI)))).toBeLessThan(2e-16);
      }),
      runs,
    );
  });

  it('derivatives: ∂Φ₂/∂h = φ(h) Φ((k − ρh)/√(1−ρ²)) and ∂Φ₂/∂ρ = φ₂ (Richardson-extrapolated differences)', () => {
    // (4 D(t/2) − D(t))/3 with D the central difference: truncation O(t⁴ (1 − ρ²)^{−9/2}), 3e-12 at
    // t = 5e-4 and |ρ| = 0.9 (it grows 16-fold per doubling of t); rounding ≈ ε/t.
    const derivative = (g: (x: number) => number, x: number, t: number) => {
      const central = (u: number) => (g(x + u) - g(x - u)) / (2 * u);
      return (4 * central(t / 2) - central(t)) / 3;
    };
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -0.9, max: 0.9, noNaN: true }), (h, k, rho) => {
        const dh = derivative((x) => bivariateNormalCdf(x, k, rho), h, 5e-4);
        expect(Math.abs(dh - normalPdf(h) * normalCdf((k - rho * h) / Math.sqrt(1 - rho * rho)))).toBeLessThan(1e-10);
        const dr = derivative((r) => bivariateNormalCdf(h, k, r), rho, 5e-4);
        expect(Math.abs(dr - bivariateNormalPdf(h, k, rho))).toBeLessThan(1e-10);
      }),
      runs,
    );
  });

  it('infinite limits and invalid arguments', () => {
    expect(bivariateNormalCdf(Infinity, 0.3, 0.5)).toBe(normalCdf(0.3));
    expect(bivariateNormalCdf(-0.2, Infinity, -0.5)).toBe(normalCdf(-0.2));
    expect(bivariateNormalCdf(-Infinity, 2, 0.9)).toBe(0);
    expect(bivariateNormalCdf(Infinity, Infinity, -1)).toBe(1);
    expect(() => bivariateNormalCdf(0, 0, 1.0000001)).toThrow(RangeError);
    expect(() => bivariateNormalCdf(NaN, 0, 0.5)).toThrow(RangeError);
    expect(() => bivariateNormalCdf(0, 0, NaN)).toThrow(RangeError);
  });
});

describe('bivariate normal density', () => {
  it('is the textbook formula, the product at ρ = 0, and degenerate at ρ = ±1', () => {
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -0.9, max: 0.9, noNaN: true }), (h, k, rho) => {
        const textbook = Math.exp(-(h * h - 2 * rho * h * k + k * k) / (2 * (1 - rho * rho))) / (2 * Math.PI * Math.sqrt(1 - rho * rho));
        expect(Math.abs(bivariateNormalPdf(h, k, rho) - textbook)).toBeLessThan(1e-13 * textbook + 1e-300);
      }),
      runs,
    );
    expect(Math.abs(bivariateNormalPdf(0.3, -1.2, 0) / (normalPdf(0.3) * normalPdf(-1.2)) - 1)).toBeLessThan(4e-16);
    expect(bivariateNormalPdf(0.5, 0.5, 1)).toBe(Infinity);
    expect(bivariateNormalPdf(0.5, 0.4, 1)).toBe(0);
    expect(bivariateNormalPdf(0.5, -0.5, -1)).toBe(Infinity);
  });
});
