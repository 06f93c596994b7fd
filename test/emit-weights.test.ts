/**
 * emit-network --weights npy: the weights go to float64 .npy files beside the module, which the
 * NumPy and PyTorch output load with numpy.load (torch.from_numpy); run from another directory, the
 * module prints exactly what the module with embedded weights prints. The .npy writer's files are
 * read back bit for bit by corrmap's reader and by NumPy.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNpy, parseNpy } from '../src/analysis/arrays.ts';
import { runCli } from '../src/cli/run.ts';
import { Random } from '../numeric/random.ts';
import { pythonWith, run } from './emit-runners.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-emit-weights-'));
const numpy = pythonWith(['numpy', 'scipy.special']);
const torch = pythonWith(['torch', 'numpy', 'scipy.special']);

async function corrmap(...args: string[]) {
  const err: string[] = [];
  const code = await runCli(args, { log: () => undefined }, { log: (t) => err.push(t) });
  return { code, stderr: err.join('\n') };
}

const network = {
  layers: [
    { weight: [[0.9, -0.3, 0.2], [0.1, 0.8, -0.4], [0.3, 0.2, 0.7]], bias: [0.1, -0.2, 0.05], activation: 'tanh(z)' },
    { weight: [[0.6, -0.5, 0.4], [0.2, 0.7, 1 / 3]], bias: [0, 0.1], activation: 'relu(z)' },
  ],
};
const stats = { mean: [0.2, -0.1, 0.3], cov: [[0.8, 0.1, -0.05], [0.1, 0.5, 0.12], [-0.05, 0.12, 0.6]] };

describe('.npy weights', () => {
  it('formatNpy writes what parseNpy and numpy.load read back bit for bit', () => {
    const rng = new Random(5);
    const data = Float64Array.from({ length: 12 }, () => rng.normal() * 10 ** Math.floor(rng.uniform() * 40 - 20));
    data[0] = -0;
    data[1] = 5e-324;
    for (const shape of [[12], [3, 4], [2, 3, 2]]) {
      const bytes = formatNpy(data, shape);
      const headerEnd = 10 + (bytes[8] | (bytes[9] << 8));
      expect(headerEnd % 64, 'the data starts on a 64-byte boundary').toBe(0);
      const back = parseNpy(bytes, 'test');
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data as Float64Array).map((v) => Object.is(v, -0) ? '-0' : v.toString())).toEqual(Array.from(data).map((v) => Object.is(v, -0) ? '-0' : v.toString()));
    }
    expect(() => formatNpy(data, [5])).toThrow(/does not hold 12/);
    if (!numpy.python) return;
    writeFileSync(join(dir, 'a.npy'), formatNpy(data, [3, 4]));
    const printed = run(numpy.python, ['-c', `import numpy as np, json; a = np.load(${JSON.stringify(join(dir, 'a.npy'))}); print(json.dumps([a.dtype.str, list(a.shape), [str(x) for x in a.ravel().view('<u8')]]))`]);
    const [dtype, shape, bits] = JSON.parse(printed);
    expect(dtype).toBe('<f8');
    expect(shape).toEqual([3, 4]);
    const view = new DataView(new ArrayBuffer(8));
    expect(bits).toEqual(
      Array.from(data, (v) => {
        view.setFloat64(0, v, true);
        return view.getBigUint64(0, true).toString();
      }),
    );
  });

  for (const [target, python] of [
    ['numpy', numpy],
    ['torch', torch],
  ] as const)
    it.skipIf(!python.python)(`${target}: the module loads its .npy weights from beside itself and prints what the embedded module prints${python.python ? '' : ` — skipped: ${python.reason}`}`, async () => {
      writeFileSync(join(dir, 'net.json'), JSON.stringify(network));
      writeFileSync(join(dir, 'stats.json'), JSON.stringify(stats));
      const npy = join(dir, `${target}_npy.py`);
      const embedded = join(dir, `${target}_embedded.py`);
      expect((await corrmap('emit-network', join(dir, 'net.json'), '--target', target, '--weights', 'npy', '--out', npy)).code).toBe(0);
      expect((await corrmap('emit-network', join(dir, 'net.json'), '--target', target, '--out', embedded)).code).toBe(0);
      const source = readFileSync(npy, 'utf8');
      expect(source).toMatch(/_weights\("torch_npy_layer2_bias\.npy"\)|_weights\("numpy_npy_layer2_bias\.npy"\)/);
      expect(source, 'no weight literals in the code').not.toMatch(/0\.3333333333333333/);
      expect(readFileSync(embedded, 'utf8')).toMatch(/0\.3333333333333333/);
      expect(parseNpy(readFileSync(join(dir, `${target}_npy_layer2_weight.npy`)), 'w').data[5]).toBe(1 / 3);
      // Run from another working directory: the files are found beside the module.
      const fromNpy = run(python.python!, [npy, join(dir, 'stats.json')], { cwd: tmpdir() });
      expect(JSON.parse(fromNpy).layers).toHaveLength(2);
      expect(fromNpy).toBe(run(python.python!, [embedded, join(dir, 'stats.json')], { cwd: tmpdir() }));
    });

  it('bad requests: one line, exit code 2', async () => {
    writeFileSync(join(dir, 'net.json'), JSON.stringify(network));
    for (const [args, pattern] of [
      [['--target', 'numpy', '--weights', 'npy'], /give --out FILE\.py/],
      [['--target', 'c', '--weights', 'npy', '--out', join(dir, 'x')], /the c target embeds its weights/],
      [['--target', 'numpy', '--weights', 'hdf5', '--out', join(dir, 'x.py')], /--weights must be one of embedded, npy/],
    ] as const) {
      const r = await corrmap('emit-network', join(dir, 'net.json'), ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});
