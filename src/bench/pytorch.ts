/**
 * corrmap's Gaussian closure against the same recursion in PyTorch (bench/closure_torch.py), side by
 * side in one run on the same cores: 10 classes through 784-1000-1000-1000-10, φ = z + 0.1 z²,
 * float32. Both get the same weights and class inputs (written to a temporary folder), both outputs
 * are compared (so the baseline is checked, not only timed), and the ratio of times is printed with
 * the GFLOP/s of each side and of plain matMuls in wasm, PyTorch and NumPy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../numeric/backend.ts';
import { propagateCompiled } from '../../numeric/propagate.ts';
import type { Cumulants } from '../../numeric/tensor.ts';
import { headline, figures, loadNote, log, quick } from './report.ts';
import { hostClassInputs, median, plainMatMulRate, sequential, wallAndCpu, wideNetwork } from './problems.ts';

const PYTHON = '/usr/bin/python3';
const A = 0.1;

function float32File(path: string, data: ArrayLike<number>): void {
  const f = Float32Array.from(data);
  writeFileSync(path, new Uint8Array(f.buffer));
}

/** Largest |a − b| over the largest |b|: the relative disagreement of two blocks. */
function relativeDifference(a: ArrayLike<number>, b: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < b.length; k++) {
    diff = Math.max(diff, Math.abs(a[k] - b[k]));
    scale = Math.max(scale, Math.abs(b[k]));
  }
  return diff / scale;
}

export async function pytorchSection(): Promise<void> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    log(`\nPyTorch baseline not run: ${PYTHON} -c "import torch" failed (${(probe.error?.message ?? probe.stderr.trim().split('\n').pop()) || 'no output'})`);
    return;
  }
  const widths = quick ? [196, 250, 250, 250, 10] : [784, 1000, 1000, 1000, 10];
  const classes = 10;
  const threads = availableParallelism();
  const runs = quick ? 1 : 3;
  const network = wideNetwork(widths, 11, `z + ${A}*z^2`);
  const inputs = await hostClassInputs(classes, widths[0]);
  let covFlops = 0;
  for (let l = 1; l < widths.length; l++) covFlops += classes * (2 * widths[l] * widths[l - 1] ** 2 + 2 * widths[l] ** 2 * widths[l - 1]);

  log(`\nGaussian closure against PyTorch (${classes} classes, ${widths.join('-')}, φ = z + ${A} z², float32; ${loadNote()}):`);
  // Wall clock and process CPU time (worker threads are in this process, so they are counted too).
  const corrmap: Record<number, number> = {};
  const corrmapCpu: Record<number, number> = {};
  let output: Cumulants[] = [];
  for (const workers of [...new Set([1, threads])]) {
    const once = () =>
      wallAndCpu(async () => {
        const layers = await propagateCompiled(network, inputs, { backend: 'wasm', inputOrder: 2, outputOrder: 2, keep: 'output', workers });
        output = layers[layers.length - 1].post;
      });
    await once();
    const times = await sequential(runs, once);
    corrmap[workers] = median(times.map((t) => t.seconds));
    corrmapCpu[workers] = median(times.map((t) => t.cpuSeconds));
  }

  // The threaded-SIMD wasm build (src/bench/wasm-threads.ts): one tfjs instance, XNNPACK's pool of
  // `threads` threads, in a process of its own; same problem, its output means checked against ours.
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'closure-threaded.ts'), String(threads), String(runs), widths.join('-')], { encoding: 'utf8', timeout: 600_000 });
  const threadedRun = child.status === 0 ? (JSON.parse(child.stdout.trim().split('\n').pop()!) as { threads: number; seconds: number; mean: number[] }) : undefined;
  if (threadedRun) {
    const diff = relativeDifference(output.flatMap((c) => [...c.order(1)!]), threadedRun.mean);
    if (!(diff < 1e-5)) throw new Error(`the threaded wasm build disagrees with the single-threaded one: relative difference ${diff.toExponential(2)} (output means)`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'corrmap-torch-'));
  let torch: {
    seconds: number; cpuSeconds: number; mean: number[]; cov: number[]; torchMatMulFlops: number; torchMatMulFlopsPerCpuSecond: number; numpyMatMulFlops: number;
    numpyMatMulFlopsPerCpuSecond: number; torch: string; numpy: string; threads: number;
  };
  try {
    network.layers.forEach((layer, l) => {
      float32File(join(dir, `w${l}.bin`), layer.weight);
      float32File(join(dir, `b${l}.bin`), layer.bias);
    });
    float32File(join(dir, 'mean.bin'), inputs.flatMap((c) => [...c.order(1)!]));
    const n0 = widths[0];
    const cov = new Float32Array(classes * n0 * n0);
    inputs.forEach((c, k) => cov.set(c.order(2)!, k * n0 * n0));
    float32File(join(dir, 'cov.bin'), cov);
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ widths, classes, a: A, threads, runs: quick ? 1 : 5, plainSize: quick ? 250 : 1000 }));
    const py = spawnSync(PYTHON, [join(import.meta.dirname, '..', '..', 'bench', 'closure_torch.py'), dir], { encoding: 'utf8', timeout: 600_000 });
    if (py.status !== 0) throw new Error(`bench/closure_torch.py failed: ${py.stderr.trim().split('\n').pop()}`);
    torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The two implementations must agree on the output layer (float32 rounding only).
  const nOut = widths[widths.length - 1];
  const meanDiff = relativeDifference(output.flatMap((c) => [...c.order(1)!]), torch.mean);
  const covDiff = relativeDifference(output.flatMap((c) => [...c.order(2)!]), torch.cov);
  if (!(meanDiff < 1e-3 && covDiff < 1e-3)) throw new Error(`corrmap and PyTorch disagree on the output layer: relative difference ${meanDiff.toExponential(2)} (means), ${covDiff.toExponential(2)} (covariances)`);

  await useBackend('wasm');
  const wasmPlain = await plainMatMulRate(quick ? 250 : 1000, 7);
  const gf = (flops: number, seconds = 1) => `${(flops / seconds / 1e9).toFixed(1)} GFLOP/s`;
  const best = Math.min(...Object.values(corrmap));
  const bestWorkers = Number(Object.keys(corrmap).find((k) => corrmap[Number(k)] === best));
  log(`  outputs agree: relative difference ${meanDiff.toExponential(1)} (means), ${covDiff.toExponential(1)} (covariances of the ${nOut} outputs)`);
  for (const [workers, seconds] of Object.entries(corrmap))
    log(`  corrmap wasm, ${workers === '1' ? 'one thread' : `${workers} worker threads`}`.padEnd(46) + `${seconds.toFixed(3)} s  ${gf(covFlops, seconds)} nominal (W Σ Wᵀ)  = ${(seconds / torch.seconds).toFixed(2)}× PyTorch`);
  if (threadedRun)
    log(`  corrmap wasm threaded-SIMD, ${threadedRun.threads} threads`.padEnd(46) + `${threadedRun.seconds.toFixed(3)} s  ${gf(covFlops, threadedRun.seconds)} nominal (W Σ Wᵀ)  = ${(threadedRun.seconds / torch.seconds).toFixed(2)}× PyTorch (bench-only build)`);
  else log(`  corrmap wasm threaded-SIMD: did not run (${child.error?.message ?? child.stderr.trim().split('\n').pop()})`);
  log(`  PyTorch ${torch.torch}, ${torch.threads} threads`.padEnd(46) + `${torch.seconds.toFixed(3)} s  ${gf(covFlops, torch.seconds)} nominal`);
  log(`  plain matMul ${quick ? 250 : 1000}³: wasm (one thread) ${gf(wasmPlain.rate)}, PyTorch (${torch.threads} threads) ${gf(torch.torchMatMulFlops)}, NumPy ${torch.numpy} ${gf(torch.numpyMatMulFlops)}`);
  // What one core gives, whatever the load: the bound on any ratio of wall-clock times on the same cores.
  log(`  per second of CPU time (load-independent): plain matMul wasm ${gf(wasmPlain.cpuRate)}, PyTorch ${gf(torch.torchMatMulFlopsPerCpuSecond)}, NumPy ${gf(torch.numpyMatMulFlopsPerCpuSecond)};`);
  log(`    the closure: corrmap one thread ${corrmapCpu[1].toFixed(2)} CPU-s, ${threads} workers ${corrmapCpu[threads].toFixed(2)} CPU-s, PyTorch ${torch.cpuSeconds.toFixed(2)} CPU-s = ${(corrmapCpu[1] / torch.cpuSeconds).toFixed(2)}× PyTorch's CPU time`);
  Object.assign(figures, {
    pytorch_corrmapOneThreadSeconds: corrmap[1],
    ...Object.fromEntries(Object.entries(corrmap).map(([w, seconds]) => [`pytorch_corrmapWorkers${w}Seconds`, seconds])),
    ...(threadedRun ? { pytorch_corrmapThreadedSimdSeconds: threadedRun.seconds, pytorch_ratioThreadedSimd: threadedRun.seconds / torch.seconds } : {}),
    pytorch_seconds: torch.seconds,
    pytorch_matMulGflops: torch.torchMatMulFlops / 1e9,
    pytorch_numpyMatMulGflops: torch.numpyMatMulFlops / 1e9,
    pytorch_wasmMatMulGflops: wasmPlain.rate / 1e9,
    pytorch_cpuSeconds: torch.cpuSeconds,
    pytorch_corrmapOneThreadCpuSeconds: corrmapCpu[1],
    pytorch_ratioCpuSeconds: corrmapCpu[1] / torch.cpuSeconds,
    pytorch_wasmMatMulGflopsPerCpuSecond: wasmPlain.cpuRate / 1e9,
    pytorch_matMulGflopsPerCpuSecond: torch.torchMatMulFlopsPerCpuSecond / 1e9,
    pytorch_numpyMatMulGflopsPerCpuSecond: torch.numpyMatMulFlopsPerCpuSecond / 1e9,
    pytorch_meanRelativeDifference: meanDiff,
    pytorch_covRelativeDifference: covDiff,
  });
  if (quick) return;
  headline('pytorch', 'pytorchSeconds', `the same recursion in PyTorch ${torch.torch} (float32, ${torch.threads} threads)`, torch.seconds, `${torch.seconds.toFixed(2)} s`);
  headline('pytorch', 'pytorchRatio', `corrmap (wasm, best of 1 and ${threads} workers: ${bestWorkers}) / PyTorch time (goal ≤ 1.0)`, best / torch.seconds, `${(best / torch.seconds).toFixed(2)}×`);
  headline('pytorch', 'pytorchRatioCpuSeconds', 'the same, in process CPU time: corrmap one thread / PyTorch (load-independent)', corrmapCpu[1] / torch.cpuSeconds, `${(corrmapCpu[1] / torch.cpuSeconds).toFixed(2)}×`);
  if (threadedRun) headline('pytorch', 'pytorchRatioThreadedSimd', `corrmap on the threaded-SIMD wasm build (${threadedRun.threads} XNNPACK threads, bench only) / PyTorch time`, threadedRun.seconds / torch.seconds, `${(threadedRun.seconds / torch.seconds).toFixed(2)}×`);
  headline('pytorch', 'pytorchMatMulGflopsPerCpuSecond', 'plain matMul 1000³ per second of CPU time (one core\'s worth): wasm / PyTorch', torch.torchMatMulFlopsPerCpuSecond / 1e9, `${gf(wasmPlain.cpuRate)} / ${gf(torch.torchMatMulFlopsPerCpuSecond)}`);
  headline('pytorch', 'pytorchPlainMatMulGflops', `plain matMul 1000³: wasm one thread / PyTorch ${torch.threads} threads / NumPy`, torch.torchMatMulFlops / 1e9, `${gf(wasmPlain.rate)} / ${gf(torch.torchMatMulFlops)} / ${gf(torch.numpyMatMulFlops)}`);
}
