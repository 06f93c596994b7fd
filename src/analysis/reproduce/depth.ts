/**
 * Depth scales of untrained random networks (Poole et al. 2016; Schoenholz et al. 2017) from the
 * Gaussian closure (src/analysis/meanfield.ts), against sampled wide and deep networks, for
 * φ = z + a z², erf and tanh; and the tanh order-to-chaos line σ_w²(σ_b²).
 */
import { Random, bonferroniCritical, parseActivation } from '../../../numeric/index.ts';
import { activationOf, type Activation } from '../../../symbolic/activations.ts';
import { correlationMap, criticalWeightVariance, depthScales, lengthMap, type DepthScales, type MeanFieldNetwork } from '../meanfield.ts';
import { figureMarkdown, writeReport, type Figure } from '../report.ts';

export interface DepthOptions {
  readonly quick: boolean;
  readonly seed: number;
  readonly out: string;
  readonly onProgress?: (task: string, fraction: number) => void;
}

/**
 * The one point of the tanh order-to-chaos line known exactly: as σ_b² → 0, q* → 0 and
 * χ₁ → σ_w² tanh′(0)² = σ_w², so the line ends at σ_w² = 1.
 */
export const EXACT_TANH_CRITICAL = [
  { biasVariance: 0, weightVariance: 1, source: 'σ_b² → 0: q* → 0 and χ₁ → σ_w² tanh′(0)² = σ_w²' },
] as const;

export function depthSettings(quick: boolean) {
  const cases: { name: string; expression: string; params: Record<string, number>; weightVariance: number; biasVariance: number }[] = [
      { name: 'quadratic', expression: 'z + a*z^2', params: { a: 0.2 }, weightVariance: 0.6, biasVariance: 0.1 },
      { name: 'erf', expression: 'erf(z)', params: {}, weightVariance: 1.5, biasVariance: 0.05 },
      { name: 'tanh (ordered)', expression: 'tanh(z)', params: {}, weightVariance: 0.9, biasVariance: 0.05 },
      { name: 'tanh (chaotic)', expression: 'tanh(z)', params: {}, weightVariance: 2.5, biasVariance: 0.05 },
  ];
  return {
    cases,
    width: quick ? 200 : 500,
    networks: quick ? 10 : 20,
    depth: quick ? 10 : 30,
    grid: quick ? [-0.6, 0, 0.5, 0.9] : [-0.9, -0.6, -0.3, 0, 0.3, 0.5, 0.7, 0.9, 0.97],
    biasVariances: quick ? [0, 0.05] : [0, 0.02, 0.05, 0.1, 0.2, 0.5],
    criticalTolerance: quick ? 1e-5 : 1e-6,
  };
}

export interface DepthCase {
  readonly name: string;
  readonly expression: string;
  readonly params: Record<string, number>;
  readonly weightVariance: number;
  readonly biasVariance: number;
  readonly scales: DepthScales;
  /** One random layer at the fixed length q*: theory C(c) vs sampled mean ± SE over networks. */
  readonly correlationMap: { c: number; theory: number; sampled: number; standardError: number; z: number }[];
  /** A deep network from (q*, c₀): per layer, theory and sampled length and correlation. */
  readonly deep: { layer: number; qTheory: number; qSampled: number; qSE: number; cTheory: number; cSampled: number; cSE: number; diverged: number }[];
}

export interface DepthResult {
  readonly settings: ReturnType<typeof depthSettings>;
  readonly seed: number;
  readonly cases: DepthCase[];
  /** max |z| of the one-layer correlation maps over every case and c, and its Bonferroni bound. */
  readonly mapAgreement: { maxZ: number; critical: number; comparisons: number };
  readonly criticalLine: { activation: string; biasVariance: number; weightVariance: number | undefined }[];
  readonly exact: typeof EXACT_TANH_CRITICAL;
  readonly seconds: number;
}

/** The mean over networks and its standard error. */
function meanAndError(values: number[]): { mean: number; standardError: number } {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const v = values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1);
  return { mean: m, standardError: Math.sqrt(v / values.length) };
}

/** z' = W φ(u) + b for two inputs u¹, u² of one random layer (width n → n); returns both outputs. */
function randomLayer(rng: Random, fn: (z: number) => number, u1: Float64Array, u2: Float64Array, net: MeanFieldNetwork): [Float64Array, Float64Array] {
  const n = u1.length;
  const y1 = u1.map(fn);
  const y2 = u2.map(fn);
  const scale = Math.sqrt(net.weightVariance / n);
  const sb = Math.sqrt(net.biasVariance);
  const z1 = new Float64Array(n);
  const z2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < n; j++) {
      const w = scale * rng.normal();
      a += w * y1[j];
      b += w * y2[j];
    }
    const bias = sb * rng.normal();
    z1[i] = a + bias;
    z2[i] = b + bias;
  }
  return [z1, z2];
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0) / a.length;

/** Pre-activations of two inputs with length q and correlation c (exact Gaussian draws). */
function gaussianPair(rng: Random, n: number, q: number, c: number): [Float64Array, Float64Array] {
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const s = Math.sqrt(q);
  const r = Math.sqrt(Math.max(1 - c * c, 0));
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    u1[i] = s * a;
    u2[i] = s * (c * a + r * b);
  }
  return [u1, u2];
}

function sampleCase(act: Activation, net: MeanFieldNetwork, scales: DepthScales, s: ReturnType<typeof depthSettings>, seed: number) {
  const q = scales.qStar!;
  const rng = new Random(seed);
  // One layer at q*: E[(1/N) Σ_i z¹_i z²_i] = σ_w² E[φ(u¹)φ(u²)] + σ_b² exactly, so the sampled map is unbiased.
  const map = s.grid.map((c) => {
    const values: number[] = [];
    for (let k = 0; k < s.networks; k++) {
      const [u1, u2] = gaussianPair(rng, s.width, q, c);
      const [z1, z2] = randomLayer(rng, act.fn, u1, u2, net);
      values.push(dot(z1, z2) / q);
    }
    const { mean, standardError } = meanAndError(values);
    const theory = correlationMap(net, q, c);
    return { c, theory, sampled: mean, standardError, z: Math.abs(theory - mean) / standardError };
  });
  // Deep networks from q* and c₀ = 0.2: layer by layer, the sampled length and correlation.
  const c0 = 0.2;
  const qs: number[][] = Array.from({ length: s.depth }, () => []);
  const cs: number[][] = Array.from({ length: s.depth }, () => []);
  // An unbounded φ can leave the basin of q* in a finite network (its length then grows without
  // bound): such networks are counted per layer and left out of the averages from there on.
  const diverged = new Array<number>(s.depth).fill(0);
  for (let k = 0; k < s.networks; k++) {
    let [z1, z2] = gaussianPair(rng, s.width, q, c0);
    for (let l = 0; l < s.depth; l++) {
      [z1, z2] = randomLayer(rng, act.fn, z1, z2, net);
      const q1 = dot(z1, z1);
      const q2 = dot(z2, z2);
      if (!(Math.max(q1, q2) < 1e6 * (1 + q))) {
        for (let m = l; m < s.depth; m++) diverged[m]++;
        break;
      }
      qs[l].push((q1 + q2) / 2);
      cs[l].push(dot(z1, z2) / Math.sqrt(q1 * q2));
    }
  }
  const deep: DepthCase['deep'] = [];
  let qTheory = q;
  let cTheory = c0;
  for (let l = 0; l < s.depth; l++) {
    // The length stays at q* (it is the fixed point); the correlation follows the map at q*.
    cTheory = correlationMap(net, q, cTheory);
    qTheory = lengthMap(net, qTheory);
    const qm = meanAndError(qs[l]);
    const cm = meanAndError(cs[l]);
    deep.push({ layer: l + 1, qTheory, qSampled: qm.mean, qSE: qm.standardError, cTheory, cSampled: cm.mean, cSE: cm.standardError, diverged: diverged[l] });
  }
  return { map, deep };
}

export async function reproduceDepth(options: DepthOptions): Promise<{ result: DepthResult; files: string[] }> {
  const started = performance.now();
  const s = depthSettings(options.quick);
  const progress = options.onProgress ?? (() => {});
  const cases: DepthCase[] = [];
  for (const [k, c] of s.cases.entries()) {
    const act = activationOf(parseActivation(c.expression, c.params));
    const net = { activation: act, weightVariance: c.weightVariance, biasVariance: c.biasVariance };
    const scales = depthScales(net);
    const sampled = scales.qStar !== undefined ? sampleCase(act, net, scales, s, options.seed + 1000 * k) : { map: [], deep: [] };
    cases.push({ ...c, scales, correlationMap: sampled.map, deep: sampled.deep });
    progress('random networks', (k + 1) / s.cases.length);
  }
  const comparisons = cases.reduce((a, c) => a + c.correlationMap.length, 0);
  const maxZ = Math.max(...cases.flatMap((c) => c.correlationMap.map((m) => m.z)));
  const criticalLine: DepthResult['criticalLine'] = [];
  const lines = [
    { activation: 'tanh(z)', act: activationOf(parseActivation('tanh(z)')) },
    { activation: 'erf(z)', act: activationOf(parseActivation('erf(z)')) },
  ];
  let done = 0;
  for (const line of lines)
    for (const b of s.biasVariances) {
      criticalLine.push({ activation: line.activation, biasVariance: b, weightVariance: criticalWeightVariance(line.act, b, 0.25, 8, s.criticalTolerance) });
      progress('order-to-chaos line', ++done / (lines.length * s.biasVariances.length));
    }
  const result: DepthResult = {
    settings: s,
    seed: options.seed,
    cases,
    mapAgreement: { maxZ, critical: bonferroniCritical(1e-3, comparisons, s.networks - 1), comparisons },
    criticalLine,
    exact: EXACT_TANH_CRITICAL,
    seconds: 0,
  };
  const final = { ...result, seconds: (performance.now() - started) / 1000 };
  const figures = depthFigures(final);
  const files = await writeReport(options.out, { title: 'Depth scales of random networks: Gaussian closure vs sampled networks', body: depthMarkdown(final, figures), figures, json: final });
  return { result: final, files };
}

function depthFigures(r: DepthResult): Figure[] {
  const schema = 'https://vega.github.io/schema/vega-lite/v5.json';
  const legend = { labelLimit: 400, orient: 'bottom', columns: 2 };
  const mapValues = r.cases.flatMap((c) => c.correlationMap.map((m) => ({ case: c.name, c: m.c, theory: m.theory, sampled: m.sampled, low: m.sampled - 2 * m.standardError, high: m.sampled + 2 * m.standardError })));
  const deepValues = r.cases.flatMap((c) => c.deep.map((d) => ({ case: c.name, layer: d.layer, theory: d.cTheory, sampled: d.cSampled, low: d.cSampled - 2 * d.cSE, high: d.cSampled + 2 * d.cSE })));
  const line = r.criticalLine.filter((p) => p.weightVariance !== undefined).map((p) => ({ activation: p.activation, biasVariance: p.biasVariance, weightVariance: p.weightVariance }));
  const exact = r.exact.map((p) => ({ biasVariance: p.biasVariance, weightVariance: p.weightVariance, source: 'exact (tanh)' }));
  return [
    {
      name: 'correlation-map',
      title: 'Correlation map of one random layer at q*: Gaussian closure (lines) vs sampled networks (points, ±2 SE)',
      spec: {
        $schema: schema, width: 420, height: 280, data: { values: mapValues },
        layer: [
          { mark: 'line', encoding: { x: { field: 'c', type: 'quantitative', title: 'input correlation c' }, y: { field: 'theory', type: 'quantitative', title: 'output correlation C(c)' }, color: { field: 'case', type: 'nominal', title: null, legend } } },
          { mark: 'point', encoding: { x: { field: 'c', type: 'quantitative' }, y: { field: 'sampled', type: 'quantitative' }, color: { field: 'case', type: 'nominal' } } },
          { mark: 'rule', encoding: { x: { field: 'c', type: 'quantitative' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'case', type: 'nominal' } } },
        ],
      },
    },
    {
      name: 'correlation-depth',
      title: 'Correlation of two inputs vs depth, from c₀ = 0.2 at q*: theory (lines) vs sampled deep networks (points, ±2 SE)',
      spec: {
        $schema: schema, width: 420, height: 280, data: { values: deepValues },
        layer: [
          { mark: 'line', encoding: { x: { field: 'layer', type: 'quantitative' }, y: { field: 'theory', type: 'quantitative', title: 'correlation c_l' }, color: { field: 'case', type: 'nominal', title: null, legend } } },
          { mark: 'point', encoding: { x: { field: 'layer', type: 'quantitative' }, y: { field: 'sampled', type: 'quantitative' }, color: { field: 'case', type: 'nominal' } } },
          { mark: 'rule', encoding: { x: { field: 'layer', type: 'quantitative' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'case', type: 'nominal' } } },
        ],
      },
    },
    {
      name: 'phase-diagram',
      title: 'Order-to-chaos line χ₁ = 1: ordered phase below the line, chaotic above (the exact tanh point σ_b² → 0 as a cross)',
      spec: {
        $schema: schema, width: 420, height: 280,
        layer: [
          { data: { values: line }, mark: { type: 'line', point: true }, encoding: { x: { field: 'biasVariance', type: 'quantitative', title: 'σ_b²' }, y: { field: 'weightVariance', type: 'quantitative', title: 'critical σ_w²' }, color: { field: 'activation', type: 'nominal', title: null, legend } } },
          { data: { values: exact }, mark: { type: 'point', shape: 'cross', size: 120, color: 'black' }, encoding: { x: { field: 'biasVariance', type: 'quantitative' }, y: { field: 'weightVariance', type: 'quantitative' } } },
        ],
      },
    },
  ];
}

const fmt = (v: number | undefined, digits = 4) => (v === undefined ? '—' : Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : '∞');

function depthMarkdown(r: DepthResult, figures: Figure[]): string[] {
  const s = r.settings;
  const tanh0 = r.criticalLine.find((p) => p.activation === 'tanh(z)' && p.biasVariance === 0);
  const tanh05 = r.criticalLine.find((p) => p.activation === 'tanh(z)' && p.biasVariance === 0.05);
  const table = [
    '| case | φ | σ_w² | σ_b² | q* | c* | χ₁ | χ_c | ξ_c | phase | one-layer map max \\|z\\| |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.cases.map((c) => `| ${c.name} | \`${c.expression}\`${Object.keys(c.params).length ? ` (${Object.entries(c.params).map(([k, v]) => `${k} = ${v}`).join(', ')})` : ''} | ${c.weightVariance} | ${c.biasVariance} | ${fmt(c.scales.qStar)} | ${fmt(c.scales.cStar)} | ${fmt(c.scales.chi1)} | ${fmt(c.scales.chiC)} | ${fmt(c.scales.xiC)} | ${c.scales.phase} | ${fmt(Math.max(...c.correlationMap.map((m) => m.z)), 3)} |`),
  ];
  const lineTable = [
    '| σ_b² | ' + [...new Set(r.criticalLine.map((p) => p.activation))].map((a) => `critical σ_w², \`${a}\``).join(' | ') + ' |',
    '|---|' + [...new Set(r.criticalLine.map((p) => p.activation))].map(() => '---').join('|') + '|',
    ...s.biasVariances.map((b) => `| ${b} | ${[...new Set(r.criticalLine.map((p) => p.activation))].map((a) => fmt(r.criticalLine.find((p) => p.activation === a && p.biasVariance === b)?.weightVariance, 6)).join(' | ')} |`),
  ];
  const byName = (n: string) => figures.find((f) => f.name === n)!;
  return [
    `Random networks with W_ij ~ N(0, σ_w²/N) and b_i ~ N(0, σ_b²). The length map q ↦ σ_w² E[φ(√q x)²] + σ_b² and the correlation map c ↦ (σ_w² E[φ(u₁)φ(u₂)] + σ_b²)/q* are evaluated with corrmap's Gaussian closure (the smoothed table g_k and the direct variance E[φ²] − g_0², and the two-unit closure layer: Mehler series or exact bivariate form; docs/theory.md §Gaussian closure). ` +
      `q* is the stable fixed point of the length map, c* that of the correlation map, χ₁ its slope at c = 1 (σ_w² E[φ′(z)²]), χ_c its slope at c*, and ξ_c = −1/ln χ_c the depth over which correlations approach c* (Schoenholz et al. 2017).`,
    table.join('\n'),
    `**Theory vs sampled networks.** One random layer of width ${s.width} at q* (${s.networks} networks per point) reproduces the correlation map: over ${r.mapAgreement.comparisons} points the largest |theory − sampled| / SE is ${r.mapAgreement.maxZ.toFixed(2)} (Bonferroni bound at family-wise 0.1 %: ${r.mapAgreement.critical.toFixed(2)}). Deep networks of depth ${s.depth} follow the iterated map (report.json "deep"; finite width adds an O(1/N) bias): ${r.cases
      .map((c) => {
        const zs = c.deep.filter((d) => d.cSE > 0).map((d) => Math.abs(d.cTheory - d.cSampled) / d.cSE);
        const lost = c.deep.at(-1)?.diverged ?? 0;
        return `${c.name} max |z| ${zs.length ? Math.max(...zs).toFixed(2) : '—'} over ${zs.length} layers${lost ? ` (${lost} of ${s.networks} networks diverged)` : ''}`;
      })
      .join('; ')}.`,
    figureMarkdown(byName('correlation-map')),
    figureMarkdown(byName('correlation-depth')),
    `**The order-to-chaos line.** χ₁(σ_w², σ_b²) = 1 solved for σ_w² by bisection: for tanh at σ_b² = 0 the critical σ_w² is ${fmt(tanh0?.weightVariance, 7)} (exact: 1, where χ₁ = σ_w² tanh′(0)² as q* → 0)` +
      (tanh05 ? `, and at σ_b² = 0.05 it is ${fmt(tanh05.weightVariance, 5)}.` : '.'),
    lineTable.join('\n'),
    figureMarkdown(byName('phase-diagram')),
    `Run time: ${r.seconds.toFixed(1)} s.`,
  ];
}
