/**
 * The quick reproductions assert the science, not only that files appear: XOR moves the class
 * information from the covariance into the mean; the depth maps have the known fixed points and
 * critical points and agree with sampled networks; CIFAR-10 runs on a file written here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../numeric/index.ts';
import { LONG, gaussHermite } from './helpers.ts';
import { runCli } from '../src/cli/run.ts';
import { reproduceDepth } from '../src/analysis/reproduce/depth.ts';
import { reproduceImages } from '../src/analysis/reproduce/images.ts';
import { reproduceXor } from '../src/analysis/reproduce/xor.ts';
import { xorBlobs } from '../src/analysis/reproduce/blobs.ts';

/** A C-order little-endian .npy file (format 1.0). */
function npyFile(descr: string, shape: number[], data: Float32Array | Int32Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 255, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'corrmap-reproduce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectReport(files: string[], figures: string[]) {
  for (const name of ['report.md', 'report.json', ...figures.flatMap((f) => [`${f}.svg`, `${f}.png`])]) expect(files.some((f) => f.endsWith(`/${name}`)), name).toBe(true);
  const md = readFileSync(files.find((f) => f.endsWith('report.md'))!, 'utf8');
  for (const f of figures) expect(md).toContain(`(${f}.svg)`);
  const png = readFileSync(files.find((f) => f.endsWith('.png'))!);
  expect([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
}

describe('reproduce xor --quick', () => {
  it('the nonlinearity moves the class information from the covariance into the mean', async () => {
    const { result, files } = await reproduceXor({ quick: true, seed: 1, out: join(dir, 'xor') });
    expectReport(files, ['theory-accuracy', 'class-information', 'class-separation']);
    const a = result.analysis;
    const input = a.classifiers[0];
    const output = a.classifiers[a.classifiers.length - 1];
    // Both classes have mean zero: a nearest-mean classifier is at chance at the input.
    expect(Math.abs(input.meanOnly.value - 0.5)).toBeLessThan(4 * input.meanOnly.standardError);
    expect(input.covarianceOnly.value).toBeGreaterThan(0.9);
    expect(output.meanOnly.value).toBeGreaterThan(0.9);
    expect(a.network.overall.value).toBeGreaterThan(0.9);
    // Theory from the first layer's measured post-activation within 8 points of the network
    // (the output is a quadratic form of the blobs, not a Gaussian: a few points are expected).
    const post = a.startingPoints.find((p) => p.stage === 'post 1')!;
    expect(Math.abs(post.gap.value)).toBeLessThan(0.08);
    // The Gaussian closure from the input sees the classes through their covariance only.
    expect(a.startingPoints[0].theory.overall.value).toBeGreaterThan(0.6);
    expect(a.startingPoints[0].meanOnly.overall.value).toBe(0.5);
    // The theory of a Gaussian input agrees with sampling it, entry by entry.
    expect(result.agreement.maxZ).toBeLessThan(result.agreement.critical);
    expect(result.agreement.entries).toBeGreaterThan(50);
  });
});

describe('reproduce depth --quick', () => {
  it('fixed points, χ₁ and critical points from the Gaussian closure; sampled maps agree', async () => {
    const { result, files } = await reproduceDepth({ quick: true, seed: 1, out: join(dir, 'depth') });
    expectReport(files, ['correlation-map', 'correlation-depth', 'phase-diagram']);
    // φ = z + a z²: E[φ²] = q + 3a²q², so q* solves 3a²σ_w² q² + (σ_w² − 1) q + σ_b² = 0 (smaller root).
    const quadratic = result.cases.find((c) => c.name === 'quadratic')!;
    const [a, w, b] = [quadratic.params.a, quadratic.weightVariance, quadratic.biasVariance];
    const A = 3 * a * a * w;
    const B = w - 1;
    expect(quadratic.scales.qStar!).toBeCloseTo((-B - Math.sqrt(B * B - 4 * A * b)) / (2 * A), 8);
    // χ₁ = σ_w² E[φ′²] = σ_w² (1 + 4a² q*).
    expect(quadratic.scales.chi1!).toBeCloseTo(w * (1 + 4 * a * a * quadratic.scales.qStar!), 5);
    const crit = (act: string, sb: number) => result.criticalLine.find((p) => p.activation === act && p.biasVariance === sb)!.weightVariance!;
    expect(Math.abs(crit('tanh(z)', 0) - 1)).toBeLessThan(1e-3);
    // erf: φ′(0)² = 4/π, so the σ_b² = 0 critical point is σ_w² = π/4.
    expect(Math.abs(crit('erf(z)', 0) - Math.PI / 4)).toBeLessThan(1e-3);
    // σ_b² = 0.05 by a route of its own: q* by fixed-point iteration and χ₁ = σ_w² E[tanh′(√q* x)²]
    // by 80-point Gauss–Hermite, bisection on σ_w² (1.760955); corrmap's bisection stops at 10⁻⁵ (quick).
    expect(Math.abs(crit('tanh(z)', 0.05) - tanhCritical(0.05))).toBeLessThan(2e-5);
    expect(result.mapAgreement.maxZ).toBeLessThan(result.mapAgreement.critical);
    // Phases: tanh with σ_w² = 0.9 is ordered (c* = 1), with σ_w² = 2.5 chaotic (c* < 1, finite ξ_c).
    const ordered = result.cases.find((c) => c.name === 'tanh (ordered)')!.scales;
    const chaotic = result.cases.find((c) => c.name === 'tanh (chaotic)')!.scales;
    expect(ordered.cStar).toBe(1);
    expect(ordered.chi1!).toBeLessThan(1);
    expect(chaotic.cStar!).toBeLessThan(0.9);
    expect(chaotic.chi1!).toBeGreaterThan(1);
    expect(chaotic.xiC!).toBeGreaterThan(1);
  });
});

/** σ_w² where χ₁ = σ_w² E[tanh′(√q* x)²] = 1 at this σ_b², from quadrature alone (no corrmap code). */
function tanhCritical(biasVariance: number): number {
  const { nodes, weights } = gaussHermite(80);
  const mean = (f: (x: number) => number) => nodes.reduce((s, x, i) => s + weights[i] * f(x), 0);
  const chi = (w: number) => {
    let q = 1;
    for (let k = 0; k < 1000; k++) q = w * mean((x) => Math.tanh(Math.sqrt(q) * x) ** 2) + biasVariance;
    return w * mean((x) => Math.cosh(Math.sqrt(q) * x) ** -4);
  };
  let [lo, hi] = [1, 3];
  while (hi - lo > 1e-9) {
    const mid = (lo + hi) / 2;
    if (chi(mid) < 1) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A tiny CIFAR-10 binary set: records of 1 label byte and 3072 pixel bytes; class k is brighter. */
function writeTinyCifar(path: string, records: number, seed: number) {
  const rng = new Random(seed);
  const bytes = new Uint8Array(records * 3073);
  for (let r = 0; r < records; r++) {
    const label = r % 10;
    bytes[r * 3073] = label;
    for (let p = 0; p < 3072; p++) bytes[r * 3073 + 1 + p] = Math.min(255, Math.floor(20 * label + 60 * rng.uniform()));
  }
  writeFileSync(path, bytes);
}

describe('reproduce cifar10 --quick', () => {
  it('runs on user-supplied binary files and writes the analysis', async () => {
    const data = join(dir, 'cifar');
    rmSync(data, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    for (let k = 1; k <= 5; k++) writeTinyCifar(join(data, `data_batch_${k}.bin`), 40, k);
    writeTinyCifar(join(data, 'test_batch.bin'), 60, 9);
    const { runs, files } = await reproduceImages({ dataset: 'cifar10', data, quick: true, seed: 1, out: join(dir, 'cifar-report') });
    expect(files.some((f) => f.endsWith('report.md'))).toBe(true);
    const a = runs[0].analysis;
    expect(a.train.count).toBe(200);
    expect(a.test.count).toBe(60);
    // Brightness separates the classes: the class means carry the information at the input.
    expect(a.classifiers[0].meanOnly.value).toBeGreaterThan(0.5);
    // 3072 inputs are wider than the covariance classifiers' limit: reported as not computed.
    expect(a.classifiers[0].covarianceOnly.count).toBe(0);
    // The K = 4 rules reproduce the measured first-layer statistics on any data.
    if (!('byInputOrder' in a.higherOrders)) throw new Error('expected the K = 4 ablation');
    expect(a.higherOrders.k4Deviation).toBeLessThan(1e-3);
  });
});

describe('corrmap analyse / reproduce on the command line', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { log: (t) => out.push(t) }, { log: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  it('--help states the limits', async () => {
    expect((await run(['analyse', '--help'])).out).toContain('Limits');
    expect((await run(['reproduce', '--help'])).out).toContain('--quick');
  });
  it('bad input: one line, exit code 2', async () => {
    const unknown = await run(['reproduce', 'imagenet']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('xor, mnist, depth, cifar10');
    const noData = await run(['analyse', 'examples/network.json']);
    expect(noData.code).toBe(2);
    expect(noData.err).toContain('--data');
    const cifar = await run(['reproduce', 'cifar10']);
    expect(cifar.code).toBe(2);
    const missing = await run(['reproduce', 'mnist', '--quick', '--data', join(dir, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(missing.err.split('\n')).toHaveLength(1);
  });
  it('analyse --json --out on NumPy data: the XOR classes through a hand-made quadratic network', async () => {
    for (const [split, seed] of [['train', 1], ['test', 2]] as const) {
      const d = xorBlobs(2000, 0.4, seed, split);
      writeFileSync(join(dir, `x_${split}.npy`), npyFile('<f4', [d.count, 2], d.features));
      writeFileSync(join(dir, `y_${split}.npy`), npyFile('<i4', [d.count], d.labels));
    }
    // φ(u) + φ(−u) = 2a u²: the output is ±8a·x₁x₂.
    const network = {
      layers: [
        { weight: [[1, 1], [-1, -1], [1, -1], [-1, 1]], bias: [0, 0, 0, 0], activation: 'z + a*z^2', params: { a: 0.5 } },
        { weight: [[1, 1, -1, -1], [-1, -1, 1, 1]], bias: [0, 0], activation: 'linear' },
      ],
    };
    writeFileSync(join(dir, 'xor-network.json'), JSON.stringify(network));
    const r = await run(['analyse', join(dir, 'xor-network.json'), '--data', `${join(dir, 'x_train.npy')},${join(dir, 'y_train.npy')}`, '--json', '--samples', '5000', '--out', join(dir, 'analyse')]);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.out);
    expect(a.test.count).toBe(2000);
    expect(a.network.overall.value).toBeGreaterThan(0.95);
    expect(Math.abs(a.classifiers[0].meanOnly.value - 0.5)).toBeLessThan(4 * a.classifiers[0].meanOnly.standardError);
    expect(a.higherOrders.k4Deviation).toBeLessThan(1e-4);
    expect(existsSync(join(dir, 'analyse', 'report.md'))).toBe(true);
  });
  // The same preset as CIFAR-10 above on the real MNIST files (about a minute): with CORRMAP_LONG.
  it.skipIf(!LONG || !existsSync(join('..', 'shared', 'data', 'mnist')))('reproduce mnist --quick on the MNIST files: train, then analyse', async () => {
    const { runs } = await reproduceImages({ dataset: 'mnist', data: join('..', 'shared', 'data', 'mnist'), quick: true, seed: 2, out: join(dir, 'mnist') });
    const a = runs[0].analysis;
    expect(a.network.overall.value).toBeGreaterThan(0.6);
    for (const s of a.startingPoints) expect(s.theory.overall.value).toBeGreaterThan(0.3);
    if (!('byInputOrder' in a.higherOrders)) throw new Error('expected the K = 4 ablation');
    expect(a.higherOrders.k4Deviation).toBeLessThan(1e-3);
  });
});
