/** Exact rational numbers over BigInt, always in lowest terms with a positive denominator. */
export class Rational {
  readonly num: bigint;
  readonly den: bigint;

  constructor(num: bigint, den: bigint = 1n) {
    if (den === 0n) throw new RangeError('Rational with zero denominator');
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const g = gcd(num < 0n ? -num : num, den);
    this.num = g > 1n ? num / g : num;
    this.den = g > 1n ? den / g : den;
  }

  static readonly ZERO = new Rational(0n);
  static readonly ONE = new Rational(1n);

  static of(n: number | bigint, d: number | bigint = 1n): Rational {
    return new Rational(BigInt(n), BigInt(d));
  }

  /** Exact value of a decimal literal as written (0.1 → 1/10, not the nearest binary double). */
  static fromDecimal(value: number): Rational {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    if (Number.isInteger(value) && Number.isSafeInteger(value)) return new Rational(BigInt(value));
    const text = value.toExponential();
    const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
    if (!m) throw new RangeError(`cannot read ${value} as a decimal`);
    const digits = BigInt(m[1] + m[2] + (m[3] ?? ''));
    const exponent = Number(m[4]) - (m[3]?.length ?? 0);
    return exponent >= 0 ? new Rational(digits * 10n ** BigInt(exponent)) : new Rational(digits, 10n ** BigInt(-exponent));
  }

  isZero(): boolean {
    return this.num === 0n;
  }
  isOne(): boolean {
    return this.num === 1n && this.den === 1n;
  }
  isInteger(): boolean {
    return this.den === 1n;
  }
  sign(): number {
    return this.num === 0n ? 0 : this.num > 0n ? 1 : -1;
  }
  add(o: Rational): Rational {
    return new Rational(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Rational): Rational {
    return new Rational(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Rational): Rational {
    return new Rational(this.num * o.num, this.den * o.den);
  }
  div(o: Rational): Rational {
    return new Rational(this.num * o.den, this.den * o.num);
  }
  neg(): Rational {
    return new Rational(-this.num, this.den);
  }
  abs(): Rational {
    return this.num < 0n ? this.neg() : this;
  }
  pow(e: number): Rational {
    if (!Number.isInteger(e) || e < 0) throw new RangeError(`Rational.pow needs a non-negative integer, got ${e}`);
    return new Rational(this.num ** BigInt(e), this.den ** BigInt(e));
  }
  equals(o: Rational): boolean {
    return this.num === o.num && this.den === o.den;
  }
  toNumber(): number {
    return Number(this.num) / Number(this.den);
  }
  toString(): string {
    return this.den === 1n ? this.num.toString() : `${this.num}/${this.den}`;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

const factorialCache: bigint[] = [1n];
export function factorial(n: number): bigint {
  for (let k = factorialCache.length; k <= n; k++) factorialCache[k] = factorialCache[k - 1] * BigInt(k);
  return factorialCache[n];
}
