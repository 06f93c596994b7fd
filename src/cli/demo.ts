import { parseActivation } from '../../symbolic/expression.ts';
import { transferRule } from '../../symbolic/rule.ts';
import { polynomialActivation } from '../../symbolic/taylor.ts';
import { makeLayer, propagateReference, type Network } from '../../numeric/network.ts';
import { agreement, exponentialMixtureSampler, sampleNetwork } from '../../numeric/montecarlo.ts';
import { bonferroniCritical } from '../../numeric/statistics.ts';
import { offsetOf } from '../../numeric/tensor.ts';
import { propagate } from '../../numeric/propagate.ts';
import { simulateNetwork } from '../../numeric/simulate.ts';
import { validateLayers } from '../../numeric/validation.ts';
import { ruleSetText } from './derive.ts';
import { num, progressBar, taskProgress } from './format.ts';
import { SEED_OPTION, integerOption, parseOptions, seedOption, type Command } from './command.ts';
import { join } from 'node:path';
import { reproduceXor } from '../analysis/reproduce/xor.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'derive the quadratic rules and check them on a small network (npm start)',
  usage: `Usage: corrmap demo [--samples N] [--seed s] [--out DIR]

Derives the transfer rules of φ = z + a z² (docs/theory.md §Polynomial activations), then propagates a non-Gaussian input
(x = m + A s, s independent centred exponentials) through a 3 → 4 → 2 network with φ = z + z²/2
and compares, entry by entry, the exact rule (K = 4), the Gaussian closure (K = 2) and a float64
Monte Carlo estimate with batch standard errors. Then runs the XOR experiment (corrmap reproduce
xor --quick: a small quadratic network trained and analysed, about half a minute) and writes its
report folder.

Options:
  --samples N   Monte Carlo samples (default 400000)
  --seed s      random seed (default 1)
  --out DIR     folder of the XOR report (default reports/xor-quick)
  -h, --help    show this help`,
  async run(argv, out) {
    const { values } = parseOptions('demo', argv, { samples: { type: 'string' }, ...SEED_OPTION, out: { type: 'string' } }, false);
    if (values.help) return void out.log(this.usage);
    const samples = integerOption(values.samples, 'samples', 1000, 1e9, 400_000);
    const seed = seedOption(values.seed);

    const quadratic = polynomialActivation(parseActivation('z + a*z^2'));
    out.log('== Transfer rules of a quadratic activation (exact: K = 4 = d·n) ==\n');
    out.log(ruleSetText(quadratic, [transferRule(quadratic, 1, 4), transferRule(quadratic, 2, 4)]));

    const network = demoNetwork();
    const sampler = demoInput();
    // The exponential input has non-zero cumulants of every order: give 8 of them, none assumed zero.
    const input = sampler.cumulants(8);
    const exact = propagateReference(network, input, { inputOrder: 4, outputOrder: 2, inputZeroAbove: Infinity });
    const closure = propagateReference(network, input, { inputOrder: 2, outputOrder: 2, inputZeroAbove: Infinity });
    const bar = progressBar('sampling');
    const batches = 40;
    const mc = sampleNetwork(network, sampler, { samples, batches, seed, maxOrder: 2, onProgress: (f) => bar.update(f) });
    bar.done();

    out.log(`\n== Layer 1 of a 3 → 4 → 2 network, φ = z + z²/2, non-Gaussian input; ${samples} samples ==\n`);
    const n = network.layers[0].rows;
    const rows: string[][] = [['entry', 'exact rule K=4', 'Gaussian closure', 'Monte Carlo ± SE', 'z (K=4)', 'z (K=2)']];
    const entries: [string, number, number, Float64Array, Float64Array, Float64Array, Float64Array][] = [];
    const post = (r: typeof exact, order: number) => r[0].post.order(order)!;
    for (let i = 0; i < n; i++) entries.push([`E[y_${i + 1}]`, i, 1, post(exact, 1), post(closure, 1), mc[0].post[1].value, mc[0].post[1].standardError]);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        const k = offsetOf([i, j], n);
        entries.push([`Cov(y_${i + 1}, y_${j + 1})`, k, 2, post(exact, 2), post(closure, 2), mc[0].post[2].value, mc[0].post[2].standardError]);
      }
    for (const [label, k, , th, cl, est, se] of entries) {
      const z = (t: number) => ((t - est[k]) / se[k]).toFixed(1);
      rows.push([label, num(th[k]), num(cl[k]), `${num(est[k])} ± ${num(se[k], 2)}`, z(th[k]), z(cl[k])]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) out.log('  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));

    const critical = bonferroniCritical(1e-3, entries.length * 2, batches - 1);
    const width = network.layers[1].rows;
    const z = (res: typeof exact, r: number) => agreement(res[1].post.order(r)!, mc[1].post[r], width, r).maxZ.toFixed(1);
    out.log(`\nBonferroni bound for this table (family-wise 0.1 %): |z| ≤ ${critical.toFixed(1)}.`);
    out.log(`Layer 2 (output), max |z| vs Monte Carlo — mean: ${z(exact, 1)} with K = 4, ${z(closure, 1)} with the closure; covariance: ${z(exact, 2)} with K = 4, ${z(closure, 2)} with the closure.`);
    out.log(`Exact orders by the truncation bookkeeping, K = 4: layer 1 up to ${exact[0].exactOrder}, layer 2 up to ${exact[1].exactOrder};`);
    out.log(`K = 2: layer 1 up to ${closure[0].exactOrder}, layer 2 up to ${closure[1].exactOrder}. Layer 2's covariance needs layer 1's third and fourth`);
    out.log('cumulants, which depend on input cumulants up to order 8 that K = 4 drops.');

    // The same check with the compiled tfjs kernels and the float32 Monte Carlo engine.
    const mixture = { kind: 'exponential-mixture' as const, ...demoMixture() };
    const tfBar = progressBar('sampling on wasm');
    const tfTheory = await propagate(network, input, { backend: 'wasm', inputOrder: 4, outputOrder: 2, inputZeroAbove: Infinity });
    const sim = await simulateNetwork(network, mixture, { samples: 2_500_000, batches: 50, seed, maxOrder: 2, backend: 'wasm', onProgress: (f) => tfBar.update(f) });
    tfBar.done();
    const check = validateLayers(tfTheory, sim.estimates(), { batches: 50, maxOrder: 2, relativeFloor: 1e-5 });
    const exactBlocks = check.blocks.filter((b) => b.exact);
    out.log(`\n== The same network on TensorFlow.js (wasm backend, float32): compiled kernels vs ${sim.samples} sampled inputs ==\n`);
    out.log(`Monte Carlo: ${(sim.samples * network.layers.length / sim.seconds / 1e6).toFixed(1)} M sample·layers/s. ${exactBlocks.length} exact blocks ${check.passed ? 'agree' : 'DISAGREE'}: max |z| ${Math.max(...exactBlocks.map((b) => b.maxZ)).toFixed(1)} (bound ${check.critical.toFixed(1)}).`);
    out.log('\n== XOR: the nonlinearity moves class information from the covariance into the mean (corrmap reproduce xor --quick) ==\n');
    const xorBar = taskProgress();
    const xor = await reproduceXor({
      quick: true,
      seed,
      out: values.out ?? join('reports', 'xor-quick'),
      onProgress: xorBar.update,
    });
    xorBar.done();
    const a = xor.result.analysis;
    const [first, last] = [a.classifiers[0], a.classifiers[a.classifiers.length - 1]];
    const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
    out.log(`A 2-${xor.result.settings.hidden}-2 network with φ = z + ${xor.result.settings.a} z² reaches ${pct(a.network.overall.value)} on the test split.`);
    out.log(`Nearest-class-mean classifier: ${pct(first.meanOnly.value)} at the input (the classes differ only in their covariance), ${pct(last.meanOnly.value)} at the output.`);
    out.log(`Theory (Gaussian closure from each class's input mean and covariance): ${pct(a.startingPoints[0].theory.overall.value)}; with the covariance dropped: ${pct(a.startingPoints[0].meanOnly.overall.value)}.`);
    out.log(`Report: ${xor.files.find((f) => f.endsWith('report.md'))}`);
    out.log('\nNext: corrmap reproduce --help, corrmap analyse --help, corrmap validate --help, corrmap propagate --help, corrmap derive --help (examples/network.json, examples/mixture.json, examples/stats.json).');
  },
};

export function demoNetwork(): Network {
  const quadratic = parseActivation('z + a*z^2', { a: 0.5 });
  const w1 = Float64Array.from([0.9, -0.4, 0.3, 0.2, 0.7, -0.5, -0.3, 0.4, 0.8, 0.5, 0.5, 0.1]);
  const w2 = Float64Array.from([0.6, -0.5, 0.4, 0.3, -0.2, 0.7, 0.5, -0.6]);
  return {
    inputSize: 3,
    layers: [
      makeLayer(w1, 4, 3, Float64Array.from([0.1, -0.2, 0.0, 0.3]), quadratic),
      makeLayer(w2, 2, 4, Float64Array.from([0.0, 0.1]), quadratic),
    ],
  };
}

function demoMixture() {
  return { mean: Float64Array.from([0.3, -0.2, 0.1]), mixing: Float64Array.from([0.6, 0.2, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]), sources: 3 };
}

export function demoInput() {
  const { mean, mixing, sources } = demoMixture();
  return exponentialMixtureSampler(mean, mixing, sources);
}
