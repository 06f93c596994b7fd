/**
 * Emitted propagators on the inputs where a cut-off once zeroed covariances: units whose variance is
 * tiny next to their mean (a ReLU network with biases 1e6, tanh at a large mean and variance 1e-24,
 * 50 tanh layers whose spread shrinks to 1e-30 and below). NumPy and C99 output are executed and
 * agree with corrmap's float64 reference layer by layer, within the errors they state; the
 * covariances are the reference's, not 0.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { networkFromJson, ORDER_KEYS } from '../src/io.ts';
import { emitNetwork } from '../src/emit/targets.ts';
import { compareLayers, hasGcc, pythonWith, referenceLayers, run, statedBound, type StatsJson } from './emit-runners.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-extreme-'));
const numpy = pythonWith(['numpy', 'scipy.special']);

const W3 = [
  [0.9, -0.3, 0.2],
  [0.1, 0.8, -0.4],
  [0.3, 0.2, 0.7],
];
const stats: StatsJson = { mean: [0.2, -0.1, 0.3], cov: [[0.8, 0.1, -0.05], [0.1, 0.5, 0.12], [-0.05, 0.12, 0.6]] };
const tiny: StatsJson = { mean: stats.mean, cov: stats.cov.map((row) => row.map((v) => v * 1e-24)) };

const CASES: ReadonlyArray<{ name: string; network: unknown; input: StatsJson }> = [
  {
    name: 'relu_bias_1e6',
    network: {
      layers: [
        { weight: W3, bias: [1e6, 2e6, 1e6], activation: 'relu(z)' },
        { weight: [[0.6, 0.5, 0.4], [0.2, 0.7, -0.3]], bias: [1e6, 1e6], activation: 'relu(z)' },
      ],
    },
    input: stats,
  },
  {
    name: 'tanh_tiny_variance',
    network: {
      layers: [
        { weight: W3, bias: [3, -2.5, 2], activation: 'tanh(z)' },
        { weight: [[0.6, 0.5, 0.4], [0.2, 0.7, -0.3]], bias: [1.5, -2], activation: 'tanh(z)' },
      ],
    },
    input: tiny,
  },
  {
    name: 'tanh_50_layers',
    network: { layers: Array.from({ length: 50 }, () => ({ weight: W3.map((r) => r.map((v) => 0.5 * v)), bias: [0.5, -0.3, 0.2], activation: 'tanh(z)' })) },
    input: stats,
  },
];

const references = new Map(CASES.map((c) => [c.name, referenceLayers(c.network, c.input, 2, 2)]));

/** The regime each case is about: some pre-activation has s <= 1e-10 (1 + mu^2), where a deterministic cut-off would have set its covariance to 0. */
function nearDeterministicUnits(name: string): number {
  let count = 0;
  for (const layer of references.get(name)!.layers) {
    const { mean } = layer.pre;
    const cov = layer.pre.order(2)!;
    const n = mean.length;
    for (let i = 0; i < n; i++) if (cov[i * n + i] <= 1e-10 * (1 + mean[i] ** 2)) count++;
  }
  return count;
}

/** The largest off-diagonal covariance entry of each layer's output. */
function offDiagonal(printed: any): number[] {
  return printed.layers.map((l: any) => {
    const c = l.post[ORDER_KEYS[2]] as number[][];
    return Math.max(...c.flatMap((row, i) => row.filter((_, j) => j !== i).map(Math.abs)));
  });
}

function check(label: string, name: string, printed: any): void {
  const expected = references.get(name)!;
  // The errors the code states are an allowance only while they are small.
  printed.layers.forEach((l: any, k: number) => expect(l.series.quadrature.mean + l.series.quadrature.cov, `${label} layer ${k + 1}: stated error`).toBeLessThan(1e-4));
  compareLayers(label, printed, expected, 2, statedBound(printed));
  const wanted = expected.layers.map((l) => {
    const c = l.post.order(2)!;
    const n = l.post.size;
    return Math.max(...Array.from(c).filter((_, e) => Math.floor(e / n) !== e % n).map(Math.abs));
  });
  offDiagonal(printed).forEach((got, l) => {
    expect(wanted[l], `${label} reference layer ${l + 1}`).toBeGreaterThan(0);
    expect(got / wanted[l], `${label} layer ${l + 1}: off-diagonal covariance`).toBeCloseTo(1, 6);
  });
}

describe('emitted propagators where the variance is tiny next to the mean', () => {
  it('every case reaches the regime of the old cut-off', () => {
    for (const c of CASES) expect(nearDeterministicUnits(c.name), c.name).toBeGreaterThan(0);
  });

  it.skipIf(!numpy.python)('NumPy output agrees with the reference and keeps the covariance', () => {
    for (const c of CASES) {
      const [file] = emitNetwork(networkFromJson(c.network, 'network'), 'numpy', 2, 2, `corrmap emit-network ${c.name}.json`);
      writeFileSync(join(dir, `${c.name}.py`), file.text);
      writeFileSync(join(dir, `${c.name}.stats.json`), JSON.stringify(c.input));
      check(`numpy ${c.name}`, c.name, JSON.parse(run(numpy.python!, [join(dir, `${c.name}.py`), join(dir, `${c.name}.stats.json`)])));
    }
  });

  it.skipIf(!hasGcc())('C99 output agrees with the reference and keeps the covariance', () => {
    for (const c of CASES) {
      for (const f of emitNetwork(networkFromJson(c.network, 'network'), 'c', 2, 2, `corrmap emit-network ${c.name}.json`, `${c.name}.h`)) writeFileSync(join(dir, `${c.name}${f.extension}`), f.text);
      writeFileSync(join(dir, `${c.name}.stats.json`), JSON.stringify(c.input));
      run('gcc', ['-std=c99', '-Wall', '-Werror', '-DCORRMAP_MAIN', `${c.name}.c`, '-lm', '-o', c.name], { cwd: dir });
      check(`c ${c.name}`, c.name, JSON.parse(run(join(dir, c.name), [join(dir, `${c.name}.stats.json`)])));
    }
  });
});
