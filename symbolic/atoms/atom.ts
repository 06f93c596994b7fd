/**
 * What one function of the expression vocabulary is, in one place: its names, φ in float64, φ in
 * primitive functions (for targets that lack it), where it has kinks or jumps, its derivative rule,
 * and, for an activation atom, its Gaussian smoothing G with the source of the formula. Every table
 * that names functions (the parser's vocabulary, the float64 scope, the tfjs kernels, Taylor mode,
 * LaTeX, the kink finder, recognition) is a view of the registry in symbolic/atoms/index.ts.
 */

/**
 * G(mu, s) = E[φ(u)], u = p z + q with z ~ N(mu, s), as a template in the mean and spread of the
 * argument: M = p mu + q, V = p² s, D = |p| √s and R = M/D (docs/theory.md §Gaussian closure).
 */
export interface Smoothing {
  /** The template, a mathjs expression in M, V, D, R and the functions of the vocabulary. */
  readonly G: string;
  /** Where the closed form comes from: a citation or a one-line derivation. */
  readonly source: string;
}

/**
 * Exact second moments of the atom under a bivariate normal (docs/theory.md §Bivariate forms), as
 * templates in its standardised argument: for u = p z + q, nu = E[u], tau = sd(u), h = nu/tau; a pair
 * adds the suffixes i, j and rho = corr(u_i, u_j). Besides the vocabulary they may use the node kinds
 * Phi2excess(h, k, rho) = Φ₂(h, k; ρ) − Φ(h)Φ(k), reluCovariance(h, k, rho) = Cov((X + h)⁺, (Y + k)⁺)
 * and reluVariance(h) = Var((X + h)⁺), each defined once (symbolic/atoms/bivariate-kinds.ts, Genz's
 * routine in symbolic/bivariate-normal.ts); float32 has named variants where it needs another
 * arrangement (numeric/bivariate-normal.ts). The mean and E[a′(u)] are G and g_1 themselves.
 */
export interface Bivariate {
  /** Cov(a(u_i), a(u_j)). */
  readonly covariance: string;
  /** Var(a(u)), the covariance at ρ = 1 in a cheaper or better conditioned form. */
  readonly variance: string;
  /** Where the forms come from. */
  readonly source: string;
}

export interface AtomSpec<N extends string = string> {
  /** The name written in expressions and in G. */
  readonly name: N;
  /** Other names for the same function (step for heaviside). */
  readonly aliases?: readonly string[];
  /** 1 (default), 2 for max and min, 3 for the bivariate node kinds and where. */
  readonly arity?: 1 | 2 | 3;
  /** May an activation expression call it? False for Φ and φ, which only G uses. */
  readonly callable?: boolean;
  /**
   * φ in float64 (conventions: heaviside(0) = sign(0) = 0, elu with α = 1); absent only for the
   * bivariate node kinds, whose float64 comes from their definition or routine (numeric/bivariate-normal.ts).
   */
  readonly float64?: (...x: number[]) => number;
  /** φ in simpler functions of z, for targets without the function itself. */
  readonly definition?: string;
  /** The names the definition uses for the arguments, where they are not z (and w). */
  readonly parameters?: readonly string[];
  /**
   * The routine of symbolic/bivariate-normal.ts that computes the atom in every target, where it is
   * not a tree (the bivariate normal excess).
   */
  readonly routine?: string;
  /** φ′ as a tree in z (the chain rule supplies u′), where one exists. */
  readonly derivative?: string;
  /**
   * Whether Taylor mode integrates the derivative rule from the float64 value (Φ, erf: defined as
   * integrals) instead of expanding the definition.
   */
  readonly antiderivative?: boolean;
  /**
   * Points of the argument where φ or one of its derivatives jumps; for max and min, where the two
   * arguments are equal (0 of their difference).
   */
  readonly kinks?: readonly number[];
  /**
   * Positive homogeneity φ(c u) = c^h φ(u), c > 0, where it holds (relu, abs: 1; heaviside, sign: 0):
   * a numeric slope is pulled out of the argument, leaving slope ±1.
   */
  readonly homogeneity?: 0 | 1;
  /** The closed-form Gaussian smoothing, where one exists. */
  readonly smoothing?: Smoothing;
  /** The exact bivariate forms, where they exist (numeric/bivariate.ts evaluates them). */
  readonly bivariate?: Bivariate;
  /** The LaTeX head (default \operatorname{name}). */
  readonly latex?: string;
  /** The plain-text name where it differs (Φ, φ). */
  readonly text?: string;
}

/** An atom with its literal name and its optional parts kept in the type. */
export function defineAtom<const S extends AtomSpec>(spec: S): S {
  return Object.freeze(spec);
}
