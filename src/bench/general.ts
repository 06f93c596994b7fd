/**
 * General activations against the quadratic closure, in one run: the 10-class closure through
 * 784-1000-1000-1000-10 with φ = z + 0.1 z² and with ReLU, GELU, erf, tanh and an expression that has
 * no closed form on the hidden layers, on wasm, one thread. Runs are interleaved (quadratic, then
 * each activation, repeated) so that a change of load on the machine touches all alike; the ratio
 * is the median of each over the median of the quadratic.
 */
import { loadavg } from 'node:os';
import { tf, useBackend } from '../../numeric/backend.ts';
import { planPropagation } from '../../numeric/network.ts';
import { propagateTensors, uploadWeights, type LayerTensors } from '../../numeric/propagate.ts';
import { figures, headline, log, quick } from './report.ts';
import { QUADRATIC, classInputs, median, wideNetwork } from './problems.ts';

/** The activations compared with the quadratic closure; the last has no closed form in the registry. */
export const GENERAL_ACTIVATIONS = ['relu(z)', 'gelu(z)', 'erf(z)', 'tanh(z)', 'z*tanh(z) + 0.1*sin(z)'] as const;

/** How each hidden layer's closure went: route and truncation, and the error bound of its covariance. */
function routeOf(layers: readonly LayerTensors[]): string {
  return layers
    .filter((l) => l.closure)
    .map((l) => {
      const c = l.closure!;
      const what = c.kind === 'mehler' ? `P=${c.order}` : c.kind;
      return `${what} (±${(l.numericalError?.[2] ?? 0).toExponential(0)})`;
    })
    .join(', ');
}

export async function generalRatioSection(): Promise<void> {
  await useBackend('wasm');
  const widths = quick ? [196, 250, 250, 250, 10] : [784, 1000, 1000, 1000, 10];
  const classes = 10;
  const runs = quick ? 1 : 3;
  const { mean, cov } = classInputs(classes, widths[0], 5);
  const sources = [QUADRATIC, ...GENERAL_ACTIVATIONS];
  const problems = sources.map((hidden) => {
    const network = wideNetwork(widths, 11, hidden);
    return { hidden, network, plan: planPropagation(network, { inputOrder: 2, outputOrder: 2 }, 2), weights: uploadWeights(network), seconds: [] as number[], route: '' };
  });
  const once = async (p: (typeof problems)[number]) => {
    const t = performance.now();
    const out = tf.tidy(() => {
      const layers = propagateTensors(p.network, p.weights, p.plan, 2, [undefined, mean, cov]);
      p.route = routeOf(layers);
      const last = layers[layers.length - 1].post;
      return tf.concat([tf.reshape(last[1]!, [-1]), tf.reshape(last[2]!, [-1])]);
    });
    const values = await out.data();
    out.dispose();
    if (!values.every(Number.isFinite)) throw new Error(`general bench: non-finite output for ${p.hidden}`);
    return (performance.now() - t) / 1000;
  };
  const loadBefore = loadavg()[0];
  for (const p of problems) await once(p); // warm-up: rules derived, kernels compiled
  for (let r = 0; r < runs; r++) for (const p of problems) p.seconds.push(await once(p));
  const base = median(problems[0].seconds);
  log(`\n${classes} classes through ${widths.join('-')} on wasm, one thread: general activations against φ = ${QUADRATIC}`);
  log(`(interleaved, median of ${runs} after a warm-up; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after)`);
  log(`  φ = ${QUADRATIC.padEnd(24)} ${base.toFixed(2)} s`);
  figures.general_quadraticSeconds = base;
  figures.general_loadAverageBefore = loadBefore;
  let worst = 0;
  for (const p of problems.slice(1)) {
    const seconds = median(p.seconds);
    const ratio = seconds / base;
    worst = Math.max(worst, ratio);
    figures[`general_${p.hidden}_seconds`] = seconds;
    figures[`general_${p.hidden}_ratioToQuadratic`] = ratio;
    figures[`general_${p.hidden}_route`] = p.route;
    log(`  φ = ${p.hidden.padEnd(24)} ${seconds.toFixed(2)} s  ${ratio.toFixed(2)}× (goal ≤ 1.3×)  layers: ${p.route}`);
  }
  if (!quick) headline('general', 'generalClosureWorstRatio', `general activations (${GENERAL_ACTIVATIONS.join(', ')}) / quadratic closure, worst`, worst, `${worst.toFixed(2)}×`);
  tf.dispose([mean, cov, ...problems.flatMap((p) => p.weights.flatMap((w) => [w.weightT, w.bias]))]);
}
