/**
 * g_k = ∂^k G/∂mu^k of a closed form: nerdamer differentiates the polynomials in mu, the atoms'
 * derivative rules (symbolic/atoms) the special functions; every g_k is checked against finite
 * differences of g_{k−1}.
 */
import { nerdamer as loadNerdamer } from './nerdamer.ts';
import { parse, type MathNode } from './math.ts';
import { InputError } from './errors.ts';
import { VARIABLE } from './expression.ts';
import { ATOMS, atomNamed, gaussianBump, type AtomSpec } from './atoms/index.ts';
import type { Activation } from './activations.ts';
import type { ArgumentAtom, ArgumentKind } from './recognition.ts';
import { MU, S, argumentAtomG, polynomialSmoothed, smoothedEvaluator, smoothedParts, smoothedValidity, type SmoothedParts } from './smoothing.ts';
import {
  MEAN, VARIANCE, asNode, call, cAbs, cAdd, cMul, cSquare, coefficientOrMuNode, dependsOn, functionName, stripParentheses, template,
  linearMap, tidy, view, type Coefficient,
} from './trees.ts';

// ---------------------------------------------------------------------------------------------
// g_k = ∂^k G/∂mu^k.

/**
 * The functions of mu whose derivatives corrmap supplies, by the atoms' derivative rules
 * (symbolic/atoms): every function of a closed form G, and those their rules bring in. Their
 * coefficients and arguments are left to nerdamer, so nerdamer only ever differentiates and expands
 * polynomials in mu.
 */
export type Special = string;
let specialNames: ReadonlySet<string> | undefined;
/** Found on first use: parsing every closed form costs start-up that a polynomial derivation never needs. */
export function specials(): ReadonlySet<string> {
  return (specialNames ??= findSpecials());
}
function findSpecials(): ReadonlySet<string> {
  const names = new Set<string>();
  const visit = (text: string) =>
    parse(text).traverse((n) => {
      const name = functionName(n);
      if (!name || names.has(name)) return;
      names.add(name);
      const rule = atomNamed(name)?.derivative;
      if (!rule) throw new Error(`internal: '${name}' appears in a closed form but has no derivative rule`);
      visit(rule);
    });
  for (const atom of ATOMS as readonly AtomSpec[]) if (atom.smoothing) visit(atom.smoothing.G);
  visit(gaussianBump.G);
  return names;
}

/** F′ of each special F as linear parts in z (coefficient × special(argument)), parsed once. */
export const ruleParts = new Map<string, LinearPart[]>();
export function derivativeRule(special: Special): LinearPart[] {
  let parts = ruleParts.get(special);
  if (!parts) ruleParts.set(special, (parts = splitLinear(parse(atomNamed(special)!.derivative!), VARIABLE)));
  return parts;
}

/**
 * nerdamer sees only mu, small integers and opaque symbols q<i> for the mu-free parts (s, √s,
 * parameters, π, non-integer numbers, sums such as 1 + 2s). Products, quotients and whole powers of
 * those stay visible, so √s and 2√s are powers of one symbol. nerdamer-prime mis-differentiates
 * products with square roots, of constants (π) and of symbols alike:
 * d/dmu mu/√(1+s) came out as (1+s)^(1/4).
 */
export class OpaqueSymbols {
  private readonly byText = new Map<string, string>();
  private readonly trees: Record<string, MathNode> = {};

  symbolFor(node: MathNode): MathNode {
    const key = node.toString();
    let name = this.byText.get(key);
    if (!name) {
      name = `q${this.byText.size}`;
      this.byText.set(key, name);
      this.trees[name] = node;
    }
    return parse(name);
  }

  hide(node: MathNode): MathNode {
    const v = view(node);
    if (v.type === 'SymbolNode' && v.name! in this.trees) return node;
    if (!dependsOn(node, MEAN)) {
      if (v.type === 'ConstantNode') {
        const small = typeof v.value === 'number' && Number.isInteger(v.value) && Math.abs(v.value) < 1e6;
        return small ? node : this.symbolFor(node);
      }
      if (v.type === 'ParenthesisNode') return this.hide(v.content!);
      const visible =
        v.type === 'OperatorNode' &&
        (['multiply', 'divide', 'unaryMinus', 'unaryPlus'].includes(v.fn as string) ||
          (v.fn === 'pow' && view(v.args![1]).type === 'ConstantNode' && Number.isInteger(view(v.args![1]).value)));
      return visible ? node.map((child) => this.hide(child)) : this.symbolFor(node);
    }
    switch (v.type) {
      case 'SymbolNode':
        return node;
      case 'ParenthesisNode':
        return this.hide(v.content!);
      case 'FunctionNode':
        return call(functionName(node)!, v.args!.map((a) => this.hide(a)));
      default:
        return node.map((child) => this.hide(child));
    }
  }

  /** Back to the original sub-trees; nerdamer's e^x becomes exp(x). */
  reveal(node: MathNode): MathNode {
    return node.transform((n): MathNode => {
      const v = view(n);
      if (v.type === 'SymbolNode' && v.name! in this.trees) return this.reveal(this.trees[v.name!]);
      if (v.type === 'OperatorNode' && v.fn === 'pow') {
        const base = stripParentheses(v.args![0]);
        if (base.type === 'SymbolNode' && view(base).name === 'e') return call('exp', [this.reveal(v.args![1])]);
      }
      return n;
    });
  }
}

/** One part of G: coefficient × special(argument), or a plain coefficient (no special). Trees carry opaque symbols. */
export interface LinearPart {
  readonly special?: Special;
  readonly argument?: MathNode;
  readonly coefficient: MathNode;
}

export function isSpecialIn(node: MathNode, variable: string): boolean {
  return node.filter((n) => specials().has(functionName(n) ?? '') && dependsOn(n, variable)).length > 0;
}

/** G = Σ_j c_j special_j(m_j) + plain (in mu; a derivative rule in z); every g_k keeps that shape. */
export function splitLinear(node: MathNode, variable: string = MEAN): LinearPart[] {
  const containsSpecial = (n: MathNode) => isSpecialIn(n, variable);
  if (!containsSpecial(node)) return [{ coefficient: node }];
  const times = (parts: LinearPart[], f: (c: MathNode) => MathNode) => parts.map((p) => ({ ...p, coefficient: f(p.coefficient) }));
  const nonLinear = () => new Error(`internal: G is not linear in ${[...specials()].join(', ')}: ${node.toString()}`);
  return linearMap<LinearPart[]>(node, {
    of: (n) => splitLinear(n, variable),
    negate: (parts) => times(parts, (c) => template('-C', { C: c })),
    sum: (terms) => terms.flat(),
    carries: containsSpecial,
    scale: (parts, others) => times(parts, (c) => others.reduce((acc, o) => template('A * B', { A: o, B: acc }), c)),
    divide: (parts, denominator) => times(parts, (c) => template('C / D', { C: c, D: denominator })),
    nonLinear: () => {
      throw nonLinear();
    },
    other: (n) => {
      const name = functionName(n);
      const args = view(n).args;
      if (!name || !specials().has(name) || args!.length !== 1 || containsSpecial(args![0])) throw nonLinear();
      return [{ special: name as Special, argument: args![0], coefficient: parse('1') }];
    },
  });
}

export const nerdamerText = (node: MathNode) => node.toString({ parenthesis: 'all', implicit: 'show' });
/** nerdamer results longer than this are taken as a blow-up. */
export const BLOW_UP_CHARACTERS = 200_000;

/** coefficient × special(argument); the plain part has neither. Texts are nerdamer input with opaque symbols. */
export interface StatePart {
  readonly special?: Special;
  readonly argument?: MathNode;
  readonly argumentText?: string;
  coefficient: string;
}
/** Keyed by special and argument text; '' is the plain part. */
export type DerivativeState = Map<string, StatePart>;

/**
 * nerdamer's own guard is wall-clock (800 ms per operation), so a busy machine failed derivations
 * that an idle one finished; blow-ups are caught by size instead (BLOW_UP_CHARACTERS), and the
 * clock only stops a runaway operation.
 */
const NERDAMER_TIMEOUT_MS = 60_000;

/** Run nerdamer and leave its expression history and its timeout as they were (nerdamer keeps every parsed expression). */
export function withNerdamer<T>(work: () => T): T {
  const nerdamer = loadNerdamer();
  const before = nerdamer.numExpressions();
  const timeout = nerdamer.get('TIMEOUT') ?? 800;
  nerdamer.set('TIMEOUT', NERDAMER_TIMEOUT_MS);
  try {
    return work();
  } finally {
    nerdamer.set('TIMEOUT', timeout);
    while (nerdamer.numExpressions() > before) nerdamer.clear('last');
  }
}

export function guarded(text: string): string {
  if (text.length > BLOW_UP_CHARACTERS) throw new Error(`internal: nerdamer blew up (${text.length} characters)`);
  return text;
}

/** Expanded: nerdamer leaves products such as q^(-1)*q^(-1) uncombined otherwise, and the terms grow geometrically with k. */
export function simplified(text: string): string {
  return guarded(loadNerdamer()(`expand(${text})`).toString());
}

export function derivativeOf(cache: Map<string, string>, text: string): string {
  let d = cache.get(text);
  if (d === undefined) {
    const nerdamer = loadNerdamer();
    cache.set(text, (d = guarded(nerdamer.diff(nerdamer(text), MEAN).toString())));
  }
  return d;
}

export const keyOf = (special: Special | undefined, argumentText: string | undefined) => (special ? `${special}|${argumentText}` : '');

export function initialState(G: MathNode, opaque: OpaqueSymbols): DerivativeState {
  const pieces = new Map<string, { part: Omit<StatePart, 'coefficient'>; texts: string[] }>();
  for (const p of splitLinear(opaque.hide(G))) {
    const argumentText = p.argument && nerdamerText(p.argument);
    const key = keyOf(p.special, argumentText);
    let entry = pieces.get(key);
    if (!entry) pieces.set(key, (entry = { part: { special: p.special, argument: p.argument, argumentText }, texts: [] }));
    entry.texts.push(`(${nerdamerText(p.coefficient)})`);
  }
  const state: DerivativeState = new Map();
  for (const [key, { part, texts }] of pieces) {
    const coefficient = simplified(texts.join('+'));
    if (coefficient !== '0') state.set(key, { ...part, coefficient });
  }
  return state;
}

/**
 * (C F(u))′ = C′ F(u) + C u′ F′(u), with F′ from the atom's derivative rule (symbolic/atoms), its
 * z replaced by u: nerdamer differentiates only the polynomials C and u.
 */
export function differentiate(derivatives: Map<string, string>, opaque: OpaqueSymbols, state: DerivativeState): DerivativeState {
  const next = new Map<string, { part: Omit<StatePart, 'coefficient'>; texts: string[] }>();
  const add = (special: Special | undefined, argument: MathNode | undefined, text: string) => {
    const argumentText = argument && nerdamerText(argument);
    const key = keyOf(special, argumentText);
    let entry = next.get(key);
    if (!entry) next.set(key, (entry = { part: { special, argument, argumentText }, texts: [] }));
    entry.texts.push(`(${text})`);
  };
  for (const part of state.values()) {
    const c = part.coefficient;
    const dc = derivativeOf(derivatives, c);
    if (!part.special) {
      add(undefined, undefined, dc);
      continue;
    }
    add(part.special, part.argument, dc);
    const du = derivativeOf(derivatives, part.argumentText!);
    const atU = (node: MathNode) =>
      opaque.hide(node.transform((n) => (n.type === 'SymbolNode' && view(n).name === VARIABLE ? part.argument! : n)));
    for (const rule of derivativeRule(part.special))
      add(rule.special, rule.argument && atU(rule.argument), `(${c})*(${du})*(${nerdamerText(atU(rule.coefficient))})`);
  }
  const out: DerivativeState = new Map();
  for (const [key, { part, texts }] of next) {
    const coefficient = simplified(texts.join('+'));
    if (coefficient !== '0') out.set(key, { ...part, coefficient });
  }
  return out;
}

export function assemble(opaque: OpaqueSymbols, state: DerivativeState): MathNode {
  let tree: Coefficient = 0;
  for (const part of state.values()) {
    const coefficient = coefficientOrMuNode(tidy(opaque.reveal(parse(part.coefficient))));
    const term = part.special ? cMul(coefficient, call(part.special, [tidy(opaque.reveal(part.argument!))])) : coefficient;
    tree = cAdd(tree, term);
  }
  return asNode(tree);
}


/** A small deterministic generator for the numeric checks. */
export function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

export interface CheckPoint {
  readonly mu: number;
  readonly s: number;
  readonly parameters: Readonly<Record<string, number>>;
}

/** Points (mu, s) and parameter values where G is defined: the numeric checks run there. */
export function checkPoints(a: Activation, count: number): CheckPoint[] {
  const random = lcg(20240531);
  const out: CheckPoint[] = [];
  for (let attempt = 0; attempt < 400 && out.length < count; attempt++) {
    const parameters: Record<string, number> = {};
    // Magnitudes away from 0 and 1 (where a leaky slope a − 1 would vanish), both signs.
    for (const p of a.expression.parameters) {
      const u = random();
      const magnitude = u < 0.5 ? 0.55 + 0.8 * u : 1.15 + 0.9 * (u - 0.5);
      parameters[p] = random() < 0.5 ? -magnitude : magnitude;
    }
    const mu = 3 * random() - 1.5;
    const s = 0.25 + 1.25 * random();
    if (smoothedValidity(a, mu, s, parameters) === undefined) out.push({ mu, s, parameters });
  }
  if (out.length < count) throw new Error(`internal: found no points where G of "${a.expression.source}" is defined to check g_k at`);
  return out;
}

/** Points for the atoms of z themselves (no parameters; every atom is defined for s > 0). */
export const CANONICAL_POINTS: readonly CheckPoint[] = [
  { mu: 0.37, s: 0.61, parameters: {} },
  { mu: -1.13, s: 1.37, parameters: {} },
  { mu: 0.052, s: 0.29, parameters: {} },
];

/** f′(x) by the Richardson extrapolation of central differences at steps h and h/2: error O(h⁴) + O(ε/h). */
export function richardsonSlope(f: (x: number) => number, x: number, h: number): number {
  const central = (step: number) => (f(x + step) - f(x - step)) / (2 * step);
  return (4 * central(h / 2) - central(h)) / 3;
}

/**
 * g_k is checked against d/dmu of g_{k−1} (already checked, g_0 = G) by Richardson-extrapolated
 * central differences over a sweep of step sizes; it must agree at every point for some step.
 */
export function checkDerivative(label: string, points: readonly CheckPoint[], previous: MathNode, next: MathNode, k: number): void {
  for (const { mu, s, parameters } of points) {
    const f = smoothedEvaluator(previous, parameters);
    const g = smoothedEvaluator(next, parameters)(mu, s);
    const f0 = Math.abs(f(mu, s));
    let best = Infinity;
    let ok = false;
    for (let h = 0.1; h > 2e-5 && !ok; h /= 2) {
      const richardson = richardsonSlope((m) => f(m, s), mu, h);
      const error = Math.abs(richardson - g);
      best = Math.min(best, error);
      ok = error <= 1e-7 * (Math.abs(g) + Math.abs(richardson)) + (1e-13 * f0) / h;
    }
    if (!ok || !Number.isFinite(g))
      throw new Error(
        `internal: g_${k} of ${label} fails the finite-difference check at mu = ${mu}, s = ${s}` +
          ` (${JSON.stringify(parameters)}): ${g}, difference ${best}; derived ${next.toString()}`,
      );
  }
}

/** Successive mu-derivatives of one tree G by nerdamer and the rules for the special functions. */
export class Derivation {
  private readonly opaque = new OpaqueSymbols();
  private readonly derivatives = new Map<string, string>();
  private state: DerivativeState;
  private readonly trees: MathNode[];

  constructor(
    G: MathNode,
    private readonly label: string,
    /** Check each new g_k against g_{k−1} here (omitted where the caller checks the sum). */
    private readonly points?: readonly CheckPoint[],
  ) {
    this.trees = [G];
    try {
      this.state = withNerdamer(() => initialState(G, this.opaque));
    } catch (err) {
      if ((err as Error).message.startsWith('internal:')) throw err;
      throw new Error(`internal: nerdamer failed on G of ${label}: ${(err as Error).message}`);
    }
  }

  upTo(kmax: number): readonly MathNode[] {
    if (this.trees.length <= kmax)
      withNerdamer(() => {
        while (this.trees.length <= kmax) {
          const k = this.trees.length;
          let state: DerivativeState;
          try {
            state = differentiate(this.derivatives, this.opaque, this.state);
          } catch (err) {
            if ((err as Error).message.startsWith('internal:')) throw err;
            throw new Error(`internal: nerdamer failed on g_${k} of ${this.label}: ${(err as Error).message}`);
          }
          const tree = assemble(this.opaque, state);
          if (this.points) checkDerivative(this.label, this.points, this.trees[k - 1], tree, k);
          this.state = state;
          this.trees.push(tree);
        }
      });
    return this.trees;
  }
}

/** The g_k of each atom of z, derived once (and checked) for all activations that use it. */
export const atomDerivations = new Map<ArgumentKind, Derivation>();

export function atomDerivatives(kind: ArgumentKind, kmax: number): readonly MathNode[] {
  let d = atomDerivations.get(kind);
  if (!d) {
    const G = argumentAtomG({ kind, slope: 1, offset: 0 });
    atomDerivations.set(kind, (d = new Derivation(G, `${kind}(z)`, CANONICAL_POINTS)));
  }
  return d.upTo(kmax);
}

/**
 * The k-th derivative of c·atom(p z + q) from the atom's own g_k: c p^k g_k(p mu + q, p² s),
 * where √s becomes |p| √s (as in the atom's G).
 */
export function composedDerivative(coefficient: Coefficient, atom: ArgumentAtom, k: number): Coefficient {
  const gk = atomDerivatives(atom.kind, k)[k];
  const { slope, offset } = atom;
  const m = asNode(cAdd(cMul(slope, MU()), offset));
  const v = asNode(cMul(cSquare(slope), S()));
  const sd = asNode(cMul(cAbs(slope), call('sqrt', [S()])));
  const substituted = gk.transform((n): MathNode => {
    const nv = view(n);
    if (functionName(n) === 'sqrt' && view(nv.args![0]).type === 'SymbolNode' && view(nv.args![0]).name === VARIANCE) return sd;
    if (nv.type === 'SymbolNode' && nv.name === MEAN) return m;
    if (nv.type === 'SymbolNode' && nv.name === VARIANCE) return v;
    return n;
  });
  const power = typeof slope === 'number' ? slope ** k : k === 0 ? 1 : k === 1 ? slope : template(`P ^ ${k}`, { P: slope });
  return coefficientOrMuNode(tidy(asNode(cMul(cMul(coefficient, power), coefficientOrMuNode(substituted)))));
}

export interface ActivationDerivation {
  readonly taylor: readonly Coefficient[];
  readonly residual?: Derivation;
  readonly composed: SmoothedParts['composed'];
  readonly trees: MathNode[];
}
export const activationDerivations = new WeakMap<Activation, ActivationDerivation>();

/**
 * g_k(mu, s) = ∂^k G/∂mu^k as mathjs trees for k = 0…kmax (g_0 = G). The polynomial part takes its
 * g_k from its Taylor coefficients (nerdamer, taylor.ts); atoms with an affine argument take theirs
 * from the atom of z by the chain rule; the atom's own and the exp parts are differentiated by nerdamer in the form Σ_j c_j(mu) F_j(u_j(mu)) + plain(mu), F one of
 * Φ, φ, erf, exp, sin, cos, sinh, cosh: nerdamer differentiates and expands the polynomials c_j, u_j
 * and the plain part (everything free of mu opaque) and the rules for F supply the rest. Every g_k
 * is checked against Richardson-extrapolated central differences of g_{k−1} before it is returned.
 */
export function smoothedDerivatives(a: Activation, kmax: number): MathNode[] {
  if (!Number.isInteger(kmax) || kmax < 0) throw new InputError(`the derivative order must be a whole number ≥ 0, got ${kmax}`);
  const smoothed = a.smoothed;
  if (!smoothed)
    throw new InputError(
      `expression "${a.expression.source}" has no closed-form Gaussian smoothing; its g_k come from the Stein form by quadrature`,
    );
  const label = `"${a.expression.source}"`;
  let d = activationDerivations.get(a);
  if (!d) {
    // A G made elsewhere (not by activationOf) is differentiated as it stands.
    const parts = smoothedParts.get(smoothed) ?? { taylor: [], residual: smoothed.G, composed: [] };
    const residual = parts.residual === 0 ? undefined : new Derivation(asNode(parts.residual), label);
    activationDerivations.set(a, (d = { taylor: parts.taylor, residual, composed: parts.composed, trees: [smoothed.G] }));
  }
  const points = d.trees.length <= kmax ? checkPoints(a, 3) : [];
  while (d.trees.length <= kmax) {
    const k = d.trees.length;
    let g = polynomialSmoothed(d.taylor, k);
    if (d.residual) g = cAdd(g, coefficientOrMuNode(d.residual.upTo(k)[k]));
    for (const { coefficient, atom } of d.composed) g = cAdd(g, composedDerivative(coefficient, atom, k));
    const tree = asNode(g);
    checkDerivative(label, points, d.trees[k - 1], tree, k);
    d.trees.push(tree);
  }
  return d.trees.slice(0, kmax + 1);
}

/**
 * Where φ is not a real number (z^1.5, log(z), sqrt(z) for z < 0): a Gaussian expectation needs φ on
 * the whole real line. Probes a grid of z in [−8, 8] and returns the first bad point, or undefined.
 */
