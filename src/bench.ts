/**
 * corrmap benchmarks (npm run bench): figures measured in one run, as ratios where a ratio means
 * something, never in timed tests. Sections (--only a,b picks some; the default runs all):
 *   derive      rule derivation, CLI process and in-process, against a SymPy derivation run now
 *   startup     `corrmap derive` as a whole process and where its time goes (src/bench/startup.ts)
 *   reference   the float64 reference evaluator
 *   montecarlo  Monte Carlo throughput: float64, tfjs wasm on one thread and in worker shards, and
 *               the cost of 10⁹ samples of the MNIST-sized network extrapolated
 *   closure     the Gaussian closure of 10 classes through 784-1000-1000-1000-10 on wasm and cpu,
 *               GFLOP/s against the backend's own matMul, classes split across workers
 *   pytorch     the same closure in PyTorch side by side, the ratio, and PyTorch/NumPy matMul
 *               GFLOP/s (src/bench/pytorch.ts; when /usr/bin/python3 has torch)
 *   general     general activations (Gaussian closure of ReLU, GELU, erf, tanh, an expression without a
 *               closed form) and their time over the quadratic closure's, in the same run (src/bench/general.ts)
 * Options: --json (every figure as JSON), --readme (rewrite the README's table of figures with the
 * headline figures of the sections run), --quick (smaller problems, fewer repetitions, no SymPy),
 * --no-sympy.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseActivation } from '../symbolic/expression.ts';
import { transferRule } from '../symbolic/rule.ts';
import { polynomialActivation } from '../symbolic/taylor.ts';
import { makeLayer, planPropagation, propagateReference, type Network } from '../numeric/network.ts';
import { exponentialMixtureSampler, sampleNetwork } from '../numeric/montecarlo.ts';
import { simulateNetwork, type InputDistribution } from '../numeric/simulate.ts';
import { activationOf, smoothedDerivatives } from '../symbolic/activations.ts';
import { availableParallelism } from 'node:os';
import { Random } from '../numeric/random.ts';
import { useBackend, tf, type TfBackendName } from '../numeric/backend.ts';
import { propagateCompiled, propagateTensors, uploadWeights, type CumulantTensors } from '../numeric/propagate.ts';
import { argv, figures, headline, headlineText, json, loadNote, log, quick, updateReadme } from './bench/report.ts';
import { QUADRATIC, classInputs, hostClassInputs, median, plainMatMulRate, sequential, timed, wideNetwork } from './bench/problems.ts';
import { startupSection } from './bench/startup.ts';
import { pytorchSection } from './bench/pytorch.ts';
import { generalRatioSection } from './bench/general.ts';

const root = join(import.meta.dirname, '..');
const skipSympy = quick || argv.includes('--no-sympy');
const SECTIONS = ['derive', 'startup', 'reference', 'montecarlo', 'closure', 'pytorch', 'general'] as const;
const onlyAt = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
const only = onlyAt < 0 ? undefined : (argv[onlyAt].includes('=') ? argv[onlyAt].slice('--only='.length) : argv[onlyAt + 1] ?? '').split(',').filter(Boolean);
for (const name of only ?? []) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section "${name}" (sections: ${SECTIONS.join(', ')})`);
const want = (section: (typeof SECTIONS)[number]) => !only || only.includes(section);

log('corrmap benchmarks (one run; ratios are measured here, now)\n');

if (want('derive')) {
  // 1. Derivation: cubic with symbolic coefficients, n = 3, K = 4 — CLI process and in-process.
  // Rebuild the bundle first, so the CLI timed is the one users run (not the TypeScript fallback).
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  const cubic = 'c0 + c1*z + c2*z^2 + c3*z^3';
  // Median of 5 runs: single process timings on this VM vary by ±20 %.
  const cli = (() => {
    const runs = Array.from({ length: 5 }, () => {
      const t = performance.now();
      const r = spawnSync(process.execPath, [join(root, 'bin', 'corrmap.js'), 'derive', cubic, '--order', '3', '--input-order', '4', '--format', 'json'], { encoding: 'utf8' });
      const wall = (performance.now() - t) / 1000;
      if (r.status !== 0) throw new Error(`derive failed: ${r.stderr}`);
      return { wall, derive: JSON.parse(r.stdout).elapsedMs / 1000 };
    });
    return { wall: median(runs.map((r) => r.wall)), derive: median(runs.map((r) => r.derive)) };
  })();
  const [cubicRule, cubicIn] = timed(() => transferRule(polynomialActivation(parseActivation(cubic)), 3, 4));
  headline('derive', 'cubicDeriveCliWallSeconds', `\`corrmap derive "${cubic}" --order 3 --input-order 4\`, whole process (median of 5)`, cli.wall, `${cli.wall.toFixed(3)} s`);
  figures.cubicDeriveFirstSeconds = cli.derive;
  figures.cubicDeriveWarmSeconds = cubicIn;
  log(`derive "${cubic}" --order 3 --input-order 4 (${cubicRule.terms.length} terms)`);
  log(`  CLI process, wall, median of 5 (start-up included) ${cli.wall.toFixed(3)} s`);
  log(`  derivation of orders 1…3 inside that process       ${cli.derive.toFixed(3)} s`);
  log(`  again in a warm process (parse, Taylor, order 3)    ${cubicIn.toFixed(4)} s`);

  if (!skipSympy) {
    // The first Python that imports SymPy: python3 on PATH, else Debian's (python3-sympy).
    const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import sympy'], { encoding: 'utf8' }).status === 0) ?? 'python3';
    const py = spawnSync(python, [join(root, 'bench', 'sympy_baseline.py'), '3', '3', '4'], { encoding: 'utf8', timeout: 600_000 });
    if (py.status === 0) {
      const seconds = Number(py.stdout.trim().split(/\s+/)[0]);
      figures.sympySeconds = seconds;
      headline('derive', 'speedupVsSympyCliWall', `the same rule in SymPy: ${seconds.toFixed(2)} s; corrmap (whole process) is faster by`, seconds / cli.wall, `${(seconds / cli.wall).toFixed(0)}×`);
      figures.speedupVsSympyDerivation = seconds / cli.derive;
      log(`  SymPy, moments from exp(CGF) derivatives            ${seconds.toFixed(2)} s`);
      log(`  → ${(seconds / cli.wall).toFixed(0)}× faster than SymPy counting process start-up, ${(seconds / cli.derive).toFixed(0)}× for the derivation itself`);
    } else log(`  SymPy baseline not run (${(py.error?.message ?? py.stderr.trim().split('\n').pop()) || 'python3 with sympy missing'})`);
  }

  // 2. The largest rule: degree 4, n = 4, K = 8.
  const [big, bigSeconds] = timed(() => transferRule(polynomialActivation(parseActivation('c0 + c1*z + c2*z^2 + c3*z^3 + c4*z^4')), 4, 8));
  figures.quarticN4K8Seconds = bigSeconds;
  figures.quarticN4K8Terms = big.terms.length;
  log(`\nderive degree 4, --order 4 --input-order 8: ${big.terms.length} terms in ${bigSeconds.toFixed(2)} s`);
}

if (want('startup')) await startupSection(root);

const rng = new Random(7);
if (want('reference')) {
  // 3. Reference propagation: one quadratic layer, width 32, K = 4, orders up to 2.
  const width = 32;
  const w = Float64Array.from({ length: width * width }, () => rng.normal() / Math.sqrt(width));
  const net = { inputSize: width, layers: [makeLayer(w, width, width, new Float64Array(width), parseActivation('z + a*z^2', { a: 0.1 }))] };
  const a = Float64Array.from({ length: width * width }, () => rng.normal() / Math.sqrt(width));
  const sampler = exponentialMixtureSampler(new Float64Array(width), a, width);
  const inputStats = sampler.cumulants(4);
  const [, propSeconds] = timed(() => propagateReference(net, inputStats, { inputOrder: 4, outputOrder: 2 }));
  figures.referencePropagateSeconds = propSeconds;
  log(`\nreference propagate, one ${width}→${width} quadratic layer, K = 4 (mean, cov): ${propSeconds.toFixed(3)} s`);
}

if (want('montecarlo')) {
  // 4. Monte Carlo throughput (float64, this process).
  const small = { inputSize: 4, layers: [0, 1, 2].map(() => makeLayer(Float64Array.from({ length: 16 }, () => rng.normal() / 2), 4, 4, new Float64Array(4), parseActivation('z + a*z^2', { a: 0.1 }))) };
  const smallSampler = exponentialMixtureSampler(new Float64Array(4), Float64Array.from({ length: 16 }, () => rng.normal() / 2), 4);
  const samples = 400_000;
  const [, mcSeconds] = timed(() => sampleNetwork(small, smallSampler, { samples, batches: 40, seed: 1, maxOrder: 2 }));
  figures.monteCarloSampleLayersPerSecond = (samples * small.layers.length) / mcSeconds;
  log(`Monte Carlo float64, 4-4-4-4 network, mean+cov estimates: ${((samples * 3) / mcSeconds / 1e6).toFixed(2)} M sample·layers/s`);

  // 4b. Monte Carlo on tfjs (wasm): sampling, forward pass and power sums; one thread and worker shards.
  const mixture = { kind: 'exponential-mixture' as const, mean: new Float64Array(4), mixing: Float64Array.from({ length: 16 }, () => rng.normal() / 2), sources: 4 };
  const tfRuns: [string, Network, InputDistribution, number, number][] = [
    ['4-4-4-4, mean+cov', small, mixture, quick ? 400_000 : 2_000_000, 2],
    ['4-4-4-4, orders 1–4', small, mixture, quick ? 200_000 : 1_000_000, 4],
    ['784-1000-1000-1000-10 (φ = z + 0.1 z²), mean+cov', wideNetwork([784, 1000, 1000, 1000, 10], 5), { kind: 'gaussian', mean: new Float64Array(784), cov: identity(784) }, quick ? 2_000 : 10_000, 2],
  ];
  for (const [label, network, input, n, maxOrder] of tfRuns)
    for (const workers of [1, availableParallelism()]) {
      if (workers === 1 || n * network.layers.length >= 1e6) {
        const sim = await simulateNetwork(network, input, { samples: n, batches: 20, seed: 1, maxOrder, backend: 'wasm', workers });
        const rate = (sim.samples * network.layers.length) / sim.seconds;
        figures[`monteCarloWasm ${label}, ${workers} worker${workers > 1 ? 's' : ''}`] = rate;
        log(`Monte Carlo tfjs wasm, ${label}, ${workers} worker${workers > 1 ? 's' : ''}: ${num(rate)} sample·layers/s (${sim.samples} samples in ${sim.seconds.toFixed(2)} s)`);
        if (network.inputSize === 784 && workers === 1) bigRunEstimate(sim.samples / sim.seconds);
      }
    }
}

/**
 * The cost of 10⁹ samples of the MNIST-sized network (mean and covariance of every layer), from the
 * rate of one wasm thread measured above: core-hours, and wall time on 200 single-core SLURM tasks.
 */
function bigRunEstimate(samplesPerSecond: number): void {
  const coreHours = 1e9 / samplesPerSecond / 3600;
  headline('montecarlo', 'monteCarloBigRunSamplesPerCoreSecond', 'Monte Carlo, 784-1000-1000-1000-10, mean+cov of every layer, one wasm thread', samplesPerSecond, `${samplesPerSecond.toFixed(0)} samples/s`);
  headline('montecarlo', 'monteCarloBigRunCoreHours', '→ 10⁹ samples (extrapolated): core-hours; wall time on 200 one-core SLURM tasks', coreHours, `${coreHours.toFixed(0)} core-h; ${(coreHours / 200).toFixed(1)} h`);
  log(`  → 10⁹ samples of this network: ${coreHours.toFixed(0)} core-hours, ${(coreHours / 200).toFixed(1)} h on 200 one-core SLURM tasks (README: Monte Carlo across processes and machines)`);
}

if (want('closure')) {
  await closureSection();
  await classSplitSection();
}

if (want('pytorch')) await pytorchSection();

if (want('general')) await generalSection();

figures.loadAverageAtEnd = loadavg()[0];
log(`\nheadline figures (${loadNote()} at the end):\n${headlineText()}`);
if (argv.includes('--readme')) updateReadme(join(root, 'README.md'), SECTIONS, SECTIONS.filter(want));
if (json) console.log(JSON.stringify(figures, null, 1));
// Pooled worker threads are unref'd; tfjs keeps nothing alive, so the run ends here.

// 5. Gaussian-closure propagation (K = 2, n = 2) of class-conditional distributions through a wide
// network on the tfjs backends. The covariance transform W Σ Wᵀ is matMul-bound, so its rate is set
// against the same backend's plain matMul, measured in the same run. Timings are wall clock; the
// process CPU time is given too, since other work on the machine stretches the wall clock.
interface ClosureProblem {
  readonly classes: number;
  readonly widths: readonly number[];
  readonly runs: number;
  /** Side of the plain square matMul it is compared with. */
  readonly plainSize: number;
  /** Why this backend runs a smaller problem, if it does. */
  readonly reduced?: string;
}

interface ClosureResult {
  /** Median wall-clock and process CPU seconds of the whole propagation. */
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** Nominal flops of W Σ Wᵀ over all classes and layers: 2·Nout·Nin² + 2·Nout²·Nin each. */
  readonly covFlops: number;
  /** Flops the covariance matMul kernels of the profiled run executed (2·M·K·N each). */
  readonly executedFlops: number;
  /** From one profiled run: its wall clock and the kernel time by kind. */
  readonly profiledSeconds: number;
  readonly kernelSeconds: { covMatMul: number; transposeConcat: number; rule: number };
  readonly peakBytes: number;
}

async function closureSection(): Promise<void> {
  const full: ClosureProblem = { classes: 10, widths: [784, 1000, 1000, 1000, 10], runs: 3, plainSize: 1000 };
  const problems: [TfBackendName, ClosureProblem][] = quick
    ? [['wasm', { classes: 10, widths: [196, 250, 250, 250, 10], runs: 1, plainSize: 250, reduced: '--quick' }]]
    : [
        ['wasm', full],
        // ~1 GFLOP/s: the full problem (108 GFLOP) would take about two minutes a run.
        ['cpu', { classes: 2, widths: [392, 500, 500, 500, 10], runs: 3, plainSize: 500, reduced: 'cpu matMul is ~40× slower than wasm: 2 classes, half the widths' }],
      ];
  log('\nGaussian closure (K = 2, output order 2) of class-conditional distributions: φ = z + 0.1 z² on the');
  log('hidden layers, linear output layer, weights ~ N(0, 1/fan_in), biases 0; per class a random mean');
  log(`and covariance AᵀA/N + 0.1·I made on the device. Load average at the start: ${loadavg()[0].toFixed(1)} (${cpus().length} cores).`);
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  for (const [backend, problem] of problems) {
    await useBackend(backend);
    const baseline = tf.memory().numTensors;
    const r = await closureBench(problem);
    const plain = await plainMatMulRate(problem.plainSize, 11);
    const tensorsLeft = tf.memory().numTensors - baseline;
    const k = r.kernelSeconds;
    const rest = Math.max(0, r.profiledSeconds - k.covMatMul - k.transposeConcat - k.rule);
    const kernelRate = r.covFlops / k.covMatMul;
    const executedRate = r.executedFlops / k.covMatMul;
    const wholeRate = r.covFlops / r.seconds;
    const key = `closure_${backend}_`;
    Object.assign(figures, {
      [`${key}classes`]: problem.classes,
      [`${key}widths`]: problem.widths.join('-'),
      [`${key}seconds`]: r.seconds,
      [`${key}cpuSeconds`]: r.cpuSeconds,
      [`${key}covarianceGflop`]: r.covFlops / 1e9,
      [`${key}covarianceMatMulGflops`]: kernelRate / 1e9,
      [`${key}executedGflop`]: r.executedFlops / 1e9,
      [`${key}executedMatMulGflops`]: executedRate / 1e9,
      [`${key}ratioExecutedMatMul`]: executedRate / plain.rate,
      [`${key}covarianceWholeGflops`]: wholeRate / 1e9,
      [`${key}plainMatMulSize`]: plain.size,
      [`${key}plainMatMulGflops`]: plain.rate / 1e9,
      [`${key}ratioMatMulKernels`]: kernelRate / plain.rate,
      [`${key}ratioWhole`]: wholeRate / plain.rate,
      [`${key}shareCovarianceMatMul`]: k.covMatMul / r.profiledSeconds,
      [`${key}shareTransposeSliceConcat`]: k.transposeConcat / r.profiledSeconds,
      [`${key}shareRuleKernels`]: k.rule / r.profiledSeconds,
      [`${key}shareRest`]: rest / r.profiledSeconds,
      [`${key}peakMB`]: r.peakBytes / 2 ** 20,
      [`${key}tensorsLeft`]: tensorsLeft,
    });
    log(`\n${backend}: ${problem.classes} classes, ${problem.widths.join('-')}${problem.reduced ? ` (${problem.reduced})` : ''}`);
    log(`  whole propagation, median of ${problem.runs} after a warm-up     ${r.seconds.toFixed(3)} s (process CPU ${r.cpuSeconds.toFixed(3)} s)`);
    log(`  covariance transform W Σ Wᵀ, all classes and layers    ${(r.covFlops / 1e9).toFixed(2)} GFLOP nominal (2·Nout·Nin² + 2·Nout²·Nin)`);
    log(`    nominal rate in its matMul kernels                   ${(kernelRate / 1e9).toFixed(1)} GFLOP/s`);
    log(`    nominal rate over the whole propagation              ${(wholeRate / 1e9).toFixed(1)} GFLOP/s`);
    log(`    executed: ${(r.executedFlops / 1e9).toFixed(2)} GFLOP (wide layers compute Σ' on and above its block diagonal), ${(executedRate / 1e9).toFixed(1)} GFLOP/s`);
    log(`  plain matMul ${plain.size}³ on ${backend}, median of ${plain.runs}               ${(plain.rate / 1e9).toFixed(1)} GFLOP/s`);
    log(`    nominal / plain: matMul kernels ${pct(kernelRate / plain.rate)}, whole propagation ${pct(wholeRate / plain.rate)} (goal ≥ 70 %);`);
    log(`    executed / plain, matMul kernels: ${pct(executedRate / plain.rate)}`);
    log(`  time in one profiled run (${r.profiledSeconds.toFixed(3)} s): covariance matMuls ${pct(k.covMatMul / r.profiledSeconds)}, transposes,`);
    log(`    slices and concatenation ${pct(k.transposeConcat / r.profiledSeconds)}, rule kernels (elementwise, gathers, mean matMuls) ${pct(k.rule / r.profiledSeconds)}, rest ${pct(rest / r.profiledSeconds)}`);
    log(`  peak tensor memory ${(r.peakBytes / 2 ** 20).toFixed(0)} MB; tensors left afterwards: ${tensorsLeft}`);
    if (tensorsLeft !== 0) throw new Error(`closure bench on ${backend} left ${tensorsLeft} tensors`);
    if (backend === 'wasm' && !problem.reduced) {
      headline('closure', 'closureWasmOneThreadSeconds', '10 classes through 784-1000-1000-1000-10, φ = z + 0.1 z², wasm, one thread', r.seconds, `${r.seconds.toFixed(2)} s`);
      headline('closure', 'closureWasmMatMulGflops', 'its covariance matMuls (executed GFLOP/s) / wasm plain matMul 1000³', executedRate, `${(executedRate / 1e9).toFixed(1)} / ${(plain.rate / 1e9).toFixed(1)} GFLOP/s`);
    }
  }
}

async function closureBench(problem: ClosureProblem): Promise<ClosureResult> {
  const { classes, widths } = problem;
  const network = wideNetwork(widths, 11);
  const plan = planPropagation(network, { inputOrder: 2, outputOrder: 2 }, 2);
  const weights = uploadWeights(network);
  const { mean, cov } = classInputs(classes, widths[0], 5);
  const input: CumulantTensors = [undefined, mean, cov];
  let covFlops = 0;
  for (let l = 1; l < widths.length; l++) covFlops += classes * (2 * widths[l] * widths[l - 1] ** 2 + 2 * widths[l] ** 2 * widths[l - 1]);
  // Reading back the output layer's means and covariances (classes × (N + N²) numbers) waits for all the work.
  const once = async (): Promise<[number, number]> => {
    const t = performance.now();
    const c = process.cpuUsage();
    const out = tf.tidy(() => {
      const layers = propagateTensors(network, weights, plan, 2, input);
      const last = layers[layers.length - 1].post;
      return tf.concat([tf.reshape(last[1]!, [-1]), tf.reshape(last[2]!, [-1])]);
    });
    const values = await out.data();
    out.dispose();
    const used = process.cpuUsage(c);
    if (!values.every(Number.isFinite)) throw new Error('closure bench: non-finite output');
    return [(performance.now() - t) / 1000, (used.user + used.system) / 1e6];
  };
  await once();
  const runs = await sequential(problem.runs, once);
  let profiledSeconds = 0;
  const profile = await tf.profile(async () => {
    [profiledSeconds] = await once();
  });
  const kernelSeconds = { covMatMul: 0, transposeConcat: 0, rule: 0 };
  let executedFlops = 0;
  for (const k of profile.kernels) {
    const s = (k.kernelTimeMs as number) / 1000;
    if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
      // Covariance products have B·N rows; the mean's have B. No transposed operands here.
      const [a, b] = k.inputShapes as number[][];
      const size = a.reduce((p, d) => p * d, 1);
      if (size / a[a.length - 1] > classes) {
        kernelSeconds.covMatMul += s;
        executedFlops += 2 * size * b[b.length - 1];
      } else kernelSeconds.rule += s;
    } else if (['Transpose', 'Concat', 'Slice'].includes(k.name)) kernelSeconds.transposeConcat += s;
    else kernelSeconds.rule += s;
  }
  tf.dispose([mean, cov, ...weights.flatMap((w) => [w.weightT, w.bias])]);
  return {
    seconds: median(runs.map((r) => r[0])),
    cpuSeconds: median(runs.map((r) => r[1])),
    covFlops,
    executedFlops,
    profiledSeconds,
    kernelSeconds,
    peakBytes: profile.peakBytes,
  };
}

function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

function num(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(0);
}

// 6. The same propagation through the public API, with the classes split across worker threads
// (each its own tfjs/wasm instance; wasm is single-threaded in Node). Worker start-up is included.
async function classSplitSection(): Promise<void> {
  const widths = quick ? [196, 250, 250, 250, 10] : [784, 1000, 1000, 1000, 10];
  const classes = 10;
  const network = wideNetwork(widths, 11);
  const inputs = await hostClassInputs(classes, widths[0]);
  let covFlops = 0;
  for (let l = 1; l < widths.length; l++) covFlops += classes * (2 * widths[l] * widths[l - 1] ** 2 + 2 * widths[l] ** 2 * widths[l - 1]);
  const plain = await plainMatMulRate(quick ? 250 : 1000, 5);
  log(`\nwasm, the same ${classes} classes through propagateCompiled (upload, propagation, read-back of the output layer), median of 3 after a warm-up:`);
  let single = 0;
  for (const workers of [1, ...new Set([2, availableParallelism()])]) {
    const once = async () => {
      const t = performance.now();
      await propagateCompiled(network, inputs, { backend: 'wasm', inputOrder: 2, outputOrder: 2, keep: 'output', workers });
      return (performance.now() - t) / 1000;
    };
    await once(); // warm-up: starts the pool's workers, grows their wasm heaps, derives the rules
    const seconds = median(await sequential(3, once));
    if (workers === 1) single = seconds;
    figures[`classSplit_workers${workers}_seconds`] = seconds;
    if (workers > 1 && !quick) headline('closure', `closureWasmWorkers${workers}Seconds`, `the same, classes split over ${workers} worker threads (public API)`, seconds, `${seconds.toFixed(2)} s`);
    figures[`classSplit_workers${workers}_ratioToPlainMatMul`] = covFlops / seconds / plain.rate;
    log(`  ${workers} ${workers === 1 ? 'thread ' : 'workers'}  ${seconds.toFixed(3)} s  ${(covFlops / seconds / 1e9).toFixed(1)} GFLOP/s nominal = ${(100 * covFlops / seconds / plain.rate).toFixed(0)} % of one thread's plain matMul (${(plain.rate / 1e9).toFixed(1)} GFLOP/s)${workers > 1 ? `, ${(single / seconds).toFixed(2)}× one thread` : ''}`);
  }
}

// 7. General activations (Gaussian closure, docs/theory.md §Gaussian closure): deriving G and g_k; the 10-class propagation
// through 784-1000-1000-1000-10 with ReLU (closed form) and tanh (quadrature) hidden layers.
async function generalSection(): Promise<void> {
  log('\nGeneral activations (Gaussian closure):');
  for (const src of ['relu(z)', 'gelu(z)', 'erf(1.3*z)', 'exp(-0.3*z^2 + 0.2*z)']) {
    const [, seconds] = timed(() => smoothedDerivatives(activationOf(parseActivation(src)), 8));
    figures[`general_derive_${src}`] = seconds;
    log(`  derive G and g_0…g_8 of ${src.padEnd(22)} ${(seconds * 1000).toFixed(0)} ms (first use in this process)`);
  }
  const widths = quick ? [196, 250, 250, 250, 10] : [784, 1000, 1000, 1000, 10];
  const classes = 10;
  const inputs = await hostClassInputs(classes, widths[0]);
  // The quadratic closure first, in this section, so that every general activation's time is a
  // ratio to it measured in the same run (goal ≤ 1.3×). Add a row by adding its φ to the list.
  let quadratic = 0;
  for (const hidden of [QUADRATIC, 'relu(z)', 'tanh(z)']) {
    const network = wideNetwork(widths, 11, hidden);
    const once = async () => {
      const t = performance.now();
      await propagateCompiled(network, inputs, { backend: 'wasm', inputOrder: 2, outputOrder: 2, keep: 'output' });
      return (performance.now() - t) / 1000;
    };
    await once();
    const seconds = median(await sequential(quick ? 1 : 3, once));
    if (hidden === QUADRATIC) quadratic = seconds;
    const ratio = seconds / quadratic;
    figures[`general_closure_${hidden}_seconds`] = seconds;
    log(`  ${classes} classes, ${widths.join('-')}, hidden φ = ${hidden.padEnd(12)} wasm: ${seconds.toFixed(2)} s = ${ratio.toFixed(2)}× the quadratic closure (public API: upload, propagation, read-back)`);
  }
  await generalRatioSection();
}

