"""Straightforward SymPy derivation of a cumulant transfer rule, as a speed baseline.

kappa(y_1, ..., y_n) for y_a = phi(z_a), phi = c0 + c1 z + ... + cd z^d with symbolic
coefficients, input cumulants up to order K: moments are derivatives of exp(CGF(t)) at t = 0,
joint cumulants of the y follow from moments over set partitions. Prints the elapsed seconds and
the number of terms of the expanded result.

usage: python3 bench/sympy_baseline.py [degree n K]
"""
import itertools
import math
import sys
import time

import sympy as sp


def set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in set_partitions(rest):
        for k in range(len(p)):
            yield p[:k] + [[first] + p[k]] + p[k + 1:]
        yield [[first]] + p


def main():
    d, n, K = (int(a) for a in sys.argv[1:4]) if len(sys.argv) >= 4 else (3, 3, 4)
    start = time.perf_counter()
    t = sp.symbols(f"t1:{n + 1}")
    c = sp.symbols(f"c0:{d + 1}")
    m = sp.symbols(f"m1:{n + 1}")
    cgf = sum(m[a] * t[a] for a in range(n))
    for r in range(2, K + 1):
        for idx in itertools.combinations_with_replacement(range(n), r):
            sym = sp.Symbol(f"k{r}_" + "".join(str(i + 1) for i in idx))
            mult = math.factorial(r)
            for v in set(idx):
                mult //= math.factorial(idx.count(v))
            cgf += sp.Rational(mult, math.factorial(r)) * sym * sp.Mul(*[t[i] for i in idx])
    mgf = sp.exp(cgf)
    moments = {}

    def moment(alpha):
        if alpha not in moments:
            expr = mgf
            for a, k in enumerate(alpha):
                if k:
                    expr = sp.diff(expr, t[a], k)
            moments[alpha] = sp.expand(expr.subs({ti: 0 for ti in t}))
        return moments[alpha]

    def expect_product(block):
        total = 0
        for powers in itertools.product(range(d + 1), repeat=len(block)):
            alpha = [0] * n
            for a, p in zip(block, powers):
                alpha[a] = p
            coef = sp.Mul(*[c[p] for p in powers])
            total += coef * moment(tuple(alpha))
        return total

    kappa = 0
    for p in set_partitions(list(range(n))):
        b = len(p)
        kappa += (-1) ** (b - 1) * math.factorial(b - 1) * sp.Mul(*[expect_product(B) for B in p])
    kappa = sp.expand(kappa)
    elapsed = time.perf_counter() - start
    print(f"{elapsed:.3f} {len(kappa.args)}")


if __name__ == "__main__":
    main()
