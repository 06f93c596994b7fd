import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.ts';
import { normalCdf } from '../symbolic/special.ts';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'corrmap.js');
const dir = mkdtempSync(join(tmpdir(), 'corrmap-cli-'));

/** The CLI in this process (fast); `spawned` runs the real executable for exit codes and streams. */
async function corrmap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, { log: (t) => stdout.push(t) }, { log: (t) => stderr.push(t) });
  return { code, stdout: stdout.map((t) => `${t}\n`).join(''), stderr: stderr.map((t) => `${t}\n`).join('') };
}

function spawned(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CORRMAP_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A bad input must give exit code 2, one line on stderr naming the problem, and no stack trace. */
async function rejects(args: string[], pattern: RegExp, run = corrmap): Promise<void> {
  const r = await run(...args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^corrmap: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

const network = { layers: [{ weight: [[1, 0.5], [0.2, -1]], bias: [0, 0.1], activation: 'z + a*z^2', params: { a: 0.5 } }] };
const stats = { mean: [0.1, -0.2], cov: [[1, 0.3], [0.3, 0.5]] };

describe('corrmap derive', () => {
  it.concurrent('prints the covariance of the worked example (docs/theory.md §Polynomial activations) with its T and Q terms', async () => {
    const r = await corrmap('derive', 'z + a*z^2', '--order', '2', '--input-order', '4');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('κ(y_i, y_j) = (1 + 2 a μ_i) (1 + 2 a μ_j) Σ_ij + a (1 + 2 a μ_i) T_ijj + a (1 + 2 a μ_j) T_iij + 2 a^2 Σ_ij^2 + a^2 Q_iijj');
    expect(r.stdout).toContain('E[y_i] = a μ_i^2 + μ_i + a Σ_ii');
    expect(r.stdout).toMatch(/exact for any input \(K = 4 ≥ d·n = 4\)/);
  });

  it.concurrent('emits JSON and LaTeX', async () => {
    const j = await corrmap('derive', 'z + a*z^2', '--param', 'a=0.5', '--input-order', '2', '--format', 'json');
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.activation.degree).toBe(2);
    expect(parsed.rules[1].exact).toBe(false);
    expect(parsed.rules[1].terms.map((t: { coefficient: string }) => t.coefficient)).toEqual(['1', '2']);
    const l = await corrmap('derive', 'z + a*z^2', '--format', 'latex');
    expect(l.stdout).toContain('\\begin{align}');
    expect(l.stdout).toContain('Q_{iijj}');
  });

  it.concurrent('has --help on every command', async () => {
    for (const cmd of [[], ['derive'], ['propagate'], ['demo']]) {
      const r = await (cmd.length === 0 ? spawned : corrmap)(...cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: corrmap/);
    }
  });

  it.concurrent('rejects an unparsable expression with its column (as a process: exit 2, no stack)', () =>
    rejects(['derive', 'z + * 2'], /expression "z \+ \* 2": .*at column 5/, spawned));
  it.concurrent('rejects an unknown function with its column', () => rejects(['derive', 'z + foo(z)'], /unknown function 'foo'.* at column 5/));
  it.concurrent('derives a non-polynomial activation under the Gaussian closure (quadrature without a closed form)', async () => {
    const r = await corrmap('derive', 'z^2 + tanh(z)', '--order', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no closed form: g_k = s\^\(−k\/2\) E\[φ\(μ \+ √s X\) He_k\(X\)\]/);
    expect(r.stdout).toContain('κ(y_i, y_j) = g_1(i) g_1(j) Σ_ij + 1/2 g_2(i) g_2(j) Σ_ij^2 + 1/6 g_3(i) g_3(j) Σ_ij^3 + 1/24 g_4(i) g_4(j) Σ_ij^4 + …');
  });
  it.concurrent('derives ReLU in closed form: G, g_k, and the rules (text, LaTeX, JSON)', async () => {
    const r = await corrmap('derive', 'relu(z)', '--order', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('G(μ, s) = μ Φ(μ/sqrt(s)) + sqrt(s) φ(μ/sqrt(s))');
    expect(r.stdout).toContain('g_2 = φ(μ/sqrt(s))/sqrt(s)');
    const latex = await corrmap('derive', 'relu(z)', '--format', 'latex');
    expect(latex.stdout).toContain('G(\\mu, s) &= \\mu \\, \\Phi');
    const json = JSON.parse((await corrmap('derive', 'relu(z)', '--format', 'json')).stdout);
    expect(json.activation.name).toBe('relu');
    expect(json.g).toHaveLength(5);
    expect(json.rules[1].terms[0]).toEqual({ coefficient: '1', g: [{ k: 1, index: 'i' }, { k: 1, index: 'j' }], cumulants: [{ order: 2, indices: 'ij', power: 1 }] });
  });
  it.concurrent('rejects a non-polynomial activation at orders or input orders beyond the Gaussian closure', async () => {
    await rejects(['derive', 'relu(z)', '--order', '4'], /for a non-polynomial activation the Gaussian closure gives orders up to 3/);
    await rejects(['derive', 'relu(z)', '--input-order', '4'], /derived under the Gaussian closure \(K = 2\)/);
  });
  it.concurrent('rejects division by zero, also through a parameter value', async () => {
    await rejects(['derive', 'z^2/(2-2)'], /division by zero at column 4/);
    await rejects(['derive', 'z^2/a', '--param', 'a=0'], /division by zero at column 4/);
  });
  it.concurrent('rejects NaN and Infinity inside an expression', () => rejects(['derive', 'z + Infinity*z^2'], /unsupported constant Infinity; expected a finite number/));
  it.concurrent('rejects an activation that is not real on the whole line', () => rejects(['derive', 'z^1.5'], /φ\(z\) = z\^1\.5 is not a real number at z = -8/));
  it.concurrent('rejects an order out of range', () => rejects(['derive', 'z^2', '--order', '9'], /--order must be a whole number from 1 to 4/));
  it.concurrent('rejects a parameter that does not occur', () => rejects(['derive', 'z + a*z^2', '--param', 'b=1'], /parameter 'b' does not occur \(its parameters: a\)/));
  it.concurrent('rejects an unknown option', () => rejects(['derive', 'z', '--frobnicate'], /Unknown option '--frobnicate'/));
  it.concurrent('rejects an unknown command', () => rejects(['derivee'], /unknown command "derivee"/));
});

describe('corrmap propagate', () => {
  // μ' = Wμ + b; E[y] = μ' + a(μ'^2 + Σ'_ii) with Σ' = W Σ Wᵀ, computed here by hand.
  const mu0 = 1 * 0.1 + 0.5 * -0.2;
  const s00 = 1 * 1 * 1 + 2 * 1 * 0.5 * 0.3 + 0.25 * 0.5;
  for (const [backend, digits] of [['reference', 12], ['wasm', 6], ['cpu', 6]] as const)
    it.concurrent(`reports every layer as JSON with the truncation used (${backend}: ${digits} digits)`, async () => {
      const r = await corrmap('propagate', file(`net-${backend}.json`, network), '--input', file(`stats-${backend}.json`, stats), '--json', '--input-order', '4', '--backend', backend);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.backend).toBe(backend);
      expect(out.truncation).toMatchObject({ inputOrder: 4, outputOrder: 2, exact: true });
      expect(out.layers).toHaveLength(1);
      expect(out.layers[0].pre.mean[0]).toBeCloseTo(mu0, digits);
      expect(out.layers[0].pre.cov[0][0]).toBeCloseTo(s00, digits);
      expect(out.layers[0].post.mean[0]).toBeCloseTo(mu0 + 0.5 * (mu0 ** 2 + s00), digits);
    });

  it.concurrent('defaults to the wasm backend and names it', async () => {
    const r = await corrmap('propagate', file('net-default.json', network), '--input', file('stats-default.json', stats));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend wasm \(float32\)/);
  });
  it.concurrent('rejects an unknown backend', () => rejects(['propagate', file('nb.json', network), '--input', file('sb.json', stats), '--backend', 'gpu'], /--backend must be one of wasm, cpu, tensorflow, webgpu, reference, got "gpu"/));
  it.concurrent('explains a missing tfjs-node (as a process)', () =>
    rejects(['propagate', file('ntf.json', network), '--input', file('stf.json', stats), '--backend', 'tensorflow'], /needs @tensorflow\/tfjs-node, which is not installed.*use --backend wasm/, spawned));

  it.concurrent('rejects a missing file (as a process)', () =>
    rejects(['propagate', join(dir, 'nope.json'), '--input', file('s1.json', stats)], /cannot read network file .*nope\.json": no such file/, spawned));
  it.concurrent('rejects invalid JSON with its line', () => rejects(['propagate', file('bad.json', '{"layers": [\n  {"weight": [[1,]]}]}'), '--input', file('s2.json', stats)], /invalid JSON at line 2 column 18 near "\]\]\}\]\}"/));
  it.concurrent('rejects NaN', () => rejects(['propagate', file('n3.json', network), '--input', file('nan.json', '{"mean": [NaN, 0], "cov": [[1,0],[0,1]]}')], /NaN at line 1 column 11 is not allowed/));
  it.concurrent('rejects a non-symmetric covariance', () => rejects(['propagate', file('n4.json', network), '--input', file('asym.json', { mean: [0, 0], cov: [[1, 0.3], [0.2, 1]] })], /cov is not symmetric/));
  it.concurrent('rejects a covariance that is not PSD', () => rejects(['propagate', file('n5.json', network), '--input', file('npsd.json', { mean: [0, 0], cov: [[1, 2], [2, 1]] })], /not positive semidefinite \(smallest eigenvalue -1\.00\)/));
  it.concurrent('rejects a large covariance that is not PSD (the Cholesky path above 256 units)', () => {
    const n = 300;
    const cov: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
    cov[0][1] = cov[1][0] = 2;
    return rejects(['propagate', file('n300.json', network), '--input', file('big.json', { mean: new Array(n).fill(0), cov })], /cov is not positive semidefinite \(smallest eigenvalue -3\.00\)/);
  });
  it.concurrent('rejects wrong shapes', () => rejects(['propagate', file('n6.json', network), '--input', file('shape.json', { mean: [0, 0, 0], cov: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] })], /layers\[0\]\.weight has 2 columns but its input has width 3/));
  it.concurrent('rejects a ragged tensor', () => rejects(['propagate', file('n7.json', network), '--input', file('ragged.json', { mean: [0, 0], cov: [[1, 0], [0]] })], /cov\[1\] has 1 entries; expected 2/));
  it.concurrent('rejects a string entry', () => rejects(['propagate', file('n8.json', network), '--input', file('str.json', { mean: [0, '1'], cov: [[1, 0], [0, 1]] })], /mean\[1\] is "1"; expected a finite number/));
  for (const backend of ['reference', 'wasm'])
    it.concurrent(`propagates a general activation (ReLU, Gaussian closure) on ${backend}`, async () => {
      const r = await corrmap('propagate', file(`relu-${backend}.json`, { layers: [{ weight: [[1, 0]], activation: 'relu(z)' }] }), '--input', file(`s9-${backend}.json`, stats), '--json', '--backend', backend);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      // z = x_1 ~ N(0.1, 1): E[relu(z)] = μΦ(μ) + φ(μ).
      const mu = 0.1;
      const want = mu * normalCdf(mu) + Math.exp(-mu * mu / 2) / Math.sqrt(2 * Math.PI);
      expect(out.layers[0].post.mean[0]).toBeCloseTo(want, backend === 'reference' ? 10 : 6);
    });
  it.concurrent('rejects an activation whose Gaussian expectation does not exist', () =>
    rejects(['propagate', file('expz2.json', { layers: [{ weight: [[1, 0]], activation: 'exp(z^2)' }] }), '--input', file('s9b.json', stats)], /exp\(z\^2\).*infinite for s ≥/));
  it.concurrent('rejects a parameter without a value', () =>
    rejects(['propagate', file('par.json', { layers: [{ weight: [[1, 0]], activation: 'z + a*z^2' }] }), '--input', file('s10.json', stats)], /parameter a need values in "params"/));
  it.concurrent('rejects a missing --input', () => rejects(['propagate', file('n11.json', network)], /--input <stats.json> is required/));
});

describe('corrmap validate', () => {
  const examples = join(root, 'examples');
  it.concurrent('agrees with sampling on the exact blocks of the example (non-Gaussian input, K = 4), as JSON', async () => {
    const r = await corrmap('validate', join(examples, 'network.json'), '--input', join(examples, 'mixture.json'), '--input-order', '4', '--samples', '200000', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(true);
    expect(out.run).toMatchObject({ samples: 200000, batches: 50, seed: 1, backend: 'wasm', inputOrder: 4, outputOrder: 2, input: 'exponential-mixture', network: [3, 4, 2] });
    // Layer 1 is exact at K = 4 = d·n; the linear layer 2 inherits it.
    expect(out.blocks.filter((b: { exact: boolean }) => b.exact)).toHaveLength(8);
    expect(out.entries).toBe(2 * (4 + 10) + 2 * (2 + 3));
    for (const b of out.blocks) {
      expect(b.verdict).toBe('agrees');
      expect(b.maxZ).toBeLessThanOrEqual(out.critical);
      for (const e of b.entries) expect(Math.abs(e.theory - e.estimate) / e.standardError).toBeCloseTo(e.z, 3);
    }
  });

  it.concurrent('marks the Gaussian closure of a non-Gaussian input as approximate and shows how far off it is', async () => {
    const r = await corrmap('validate', join(examples, 'network.json'), '--input', join(examples, 'mixture.json'), '--samples', '400000', '--seed', '7');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/theory: Gaussian closure \(K = 2\)/);
    expect(r.stdout).toMatch(/1 {6}post {3}cov .*approximate .*closure is off/);
    expect(r.stdout).toMatch(/verdict: agrees — all 5 exact blocks within the bound/);
  });

  it.concurrent('is reproducible with a seed and runs on the float64 reference backend too', async () => {
    const args = ['validate', file('vnet.json', network), '--input', file('vstats.json', stats), '--samples', '20000', '--batches', '20', '--json'];
    const [a, b, ref] = await Promise.all([corrmap(...args), corrmap(...args), corrmap(...args, '--backend', 'reference')]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout.replace(/"theorySeconds":[^,]*,"monteCarloSeconds":[^,]*/, a.stdout.match(/"theorySeconds":[^,]*,"monteCarloSeconds":[^,]*/)![0]));
    const out = JSON.parse(ref.stdout);
    expect(out.run.backend).toBe('reference');
    expect(out.passed).toBe(true);
  });

  it.concurrent('accepts data rows as the input distribution', async () => {
    const rows = Array.from({ length: 50 }, (_, s) => [Math.sin(s), Math.cos(3 * s)]);
    const r = await corrmap('validate', file('dnet.json', network), '--input', file('data.json', { data: rows }), '--input-order', '4', '--samples', '100000', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.run.input).toBe('data');
    expect(out.blocks.every((b: { exact: boolean; verdict: string }) => b.exact && b.verdict === 'agrees')).toBe(true);
  });

  it.concurrent('prints every entry with --entries and has --help', async () => {
    const r = await corrmap('validate', file('enet.json', network), '--input', file('estats.json', stats), '--samples', '10000', '--entries');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[1,2\] +[-\d.e]+ +[\d.]+ +MC [-\d.e]+ ± /);
    const h = await corrmap('validate', '--help');
    expect(h.stdout).toMatch(/Usage: corrmap validate/);
    expect(h.stdout).toMatch(/Exit code: 0 when every exact block agrees, 3 when one disagrees/);
  });

  it.concurrent('draws every entry against the bound with --plot', async () => {
    const svg = join(dir, 'validate.svg');
    const r = await corrmap('validate', file('pnet.json', network), '--input', file('pstats.json', stats), '--samples', '20000', '--plot', svg, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // One symbol per entry in the points layer, one rule for the bound.
    const points = /<g class="mark-symbol role-mark layer_0_marks"[^>]*>(.*?)<\/g>/.exec(text)![1];
    expect(points.match(/<path /g)).toHaveLength(out.entries);
    expect(/<g class="mark-rule role-mark layer_1_marks"[^>]*>(.*?)<\/g>/.exec(text)![1].match(/<line /g)).toHaveLength(1);
    expect(text).toContain(`Bonferroni bound ${out.critical.toFixed(2)}`);
    expect(text).toContain('layer 1 post cov');
  });
  it.concurrent('rejects a plot path it cannot write', () =>
    rejects(['validate', file('pn2.json', network), '--input', file('ps2.json', stats), '--samples', '10000', '--plot', join(dir, 'no', 'such', 'dir.svg')], /cannot write the plot .*: no such directory/));
  it.concurrent('rejects a missing --input', () => rejects(['validate', file('v1.json', network)], /--input <input.json> is required/));
  it.concurrent('rejects cumulants it cannot sample from', () =>
    rejects(['validate', file('v2.json', network), '--input', file('k3.json', { ...stats, k3: [[[0, 0], [0, 0]], [[0, 0], [0, 0]]] })], /cannot sample a distribution given only by its cumulants \(k3 given\)/));
  it.concurrent('rejects extra keys next to data', () => rejects(['validate', file('v3.json', network), '--input', file('dx.json', { data: [[0, 1], [1, 0]], mean: [0, 0] })], /"data" stands alone.*remove "mean"/));
  it.concurrent('rejects a mixing matrix of the wrong height', () =>
    rejects(['validate', file('v4.json', network), '--input', file('mx.json', { mean: [0, 0], mixing: [[1, 0]] })], /mixing has 1 entries; expected 2/));
  it.concurrent('rejects an order Monte Carlo does not estimate', () => rejects(['validate', file('v5.json', network), '--input', file('v5s.json', stats), '--output-order', '5'], /--output-order must be a whole number from 1 to 4/));
  it.concurrent('rejects too few samples per batch', () => rejects(['validate', file('v6.json', network), '--input', file('v6s.json', stats), '--samples', '1000', '--batches', '100'], /at least 16 samples per batch/));
  it.concurrent('rejects an input order beyond a data set\'s cumulants', () =>
    rejects(['validate', file('v7.json', network), '--input', file('v7d.json', { data: [[0, 1], [1, 0], [2, 2]] }), '--input-order', '6'], /cumulants of a data set are computed up to order 4/));
  it.concurrent('explains a missing WebGPU adapter or Vulkan driver (as a process)', () =>
    rejects(['validate', file('v8.json', network), '--input', file('v8s.json', stats), '--backend', 'webgpu', '--samples', '10000'], /(backend "webgpu" is unavailable: no Vulkan loader|backend "webgpu": no WebGPU adapter).*use --backend wasm/, spawned));
});

describe('no tensor outlives a command', () => {
  it('tf.memory().numTensors is unchanged after repeated propagate and validate runs in this process', { timeout: 60_000 }, async () => {
    const { tf } = await import('../numeric/backend.ts');
    const args = (name: string) => [file(`leak-net-${name}.json`, network), '--input', file(`leak-stats-${name}.json`, stats)];
    await corrmap('propagate', ...args('warm'));
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      for (const backend of ['wasm', 'cpu']) {
        expect((await corrmap('propagate', ...args(`p${k}${backend}`), '--backend', backend, '--input-order', '4', '--output-order', '3')).code).toBe(0);
        expect((await corrmap('validate', ...args(`v${k}${backend}`), '--backend', backend, '--samples', '20000', '--output-order', '3')).code).toBe(0);
      }
      expect((await corrmap('validate', ...args(`bad${k}`), '--output-order', '9')).code).toBe(2);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
