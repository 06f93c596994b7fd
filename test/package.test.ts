/**
 * The package as a user gets it: `npm pack` (which builds dist/ on prepare), the tarball unpacked
 * into a fresh project's node_modules with its dependencies linked, a plain .mjs script importing
 * 'corrmap', and tsc checking a user's .ts file against the shipped declarations.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'corrmap-package-'));
const user = join(work, 'user');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Pack a copy of the tracked sources (the build must not rewrite this checkout's dist/ while other tests run). */
function packAndInstall(): void {
  const source = join(work, 'source');
  const tracked = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of tracked) {
    if (!existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(source, file)), { recursive: true });
    cpSync(join(root, file), join(source, file));
  }
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'));
  const packed = spawnSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: source, encoding: 'utf8' });
  expect(packed.status, packed.stderr).toBe(0);
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const installed = join(user, 'node_modules', 'corrmap');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
  // The dependencies the package declares, linked as npm would place them.
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    const from = join(root, 'node_modules', name);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(user, 'node_modules', name)), { recursive: true });
    symlinkSync(from, join(user, 'node_modules', name));
  }
  writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'user', private: true, type: 'module' }));
}

const script = `
import { derive, propagate, validate, parseActivation, InputError } from 'corrmap';
const network = { layers: [{ weight: [[1, 0.5], [0.2, -1]], bias: [0, 0.1], activation: 'z + a*z^2', params: { a: 0.5 } }] };
const input = { mean: [0.1, -0.2], cov: [[1, 0.3], [0.3, 0.5]] };
const d = await derive({ expression: 'z + a*z^2', params: { a: 0.5 }, order: 2, inputOrder: 4 });
const p = await propagate({ network, input, backend: 'reference' });
const v = await validate({ network, input, samples: 20000, backend: 'reference', seed: 3 });
let error;
try { await derive({ expression: 'z^' }); } catch (e) { error = { input: e instanceof InputError, message: e.message }; }
console.log(JSON.stringify({ kind: d.kind, rules: d.rules.length, exact: d.rules.map((r) => r.exact), post: p.layers[0].post, pre: p.layers[0].pre, passed: v.passed, parameters: parseActivation('a*z + b').parameters, error }));
`;

const typed = `
import { derive, propagate, validate, type NetworkJson, type Derivation } from 'corrmap';
const network: NetworkJson = { layers: [{ weight: [[1]], activation: 'z^2' }] };
const d: Derivation = await derive({ expression: 'z^2', order: 2 });
const text: string = d.text;
const p: Record<string, unknown> = await propagate({ network, input: { mean: [0], cov: [[1]] } });
const passed: boolean = (await validate({ network, input: { mean: [0], cov: [[1]] }, samples: 2000 })).passed;
export { text, p, passed };
`;

const tsconfig = (file: string) =>
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] },
    files: [file],
  });

describe('the packed package, used as a user would', () => {
  it('imports derive, propagate and validate from a plain Node script, and its types check a user file', { timeout: 300_000 }, () => {
    packAndInstall();
    writeFileSync(join(user, 'use.mjs'), script);
    const run = spawnSync(process.execPath, ['use.mjs'], { cwd: user, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.kind).toBe('polynomial');
    expect(r.exact).toEqual([true, true]);
    expect(r.passed).toBe(true);
    expect(r.parameters).toEqual(['a', 'b']);
    expect(r.error).toEqual({ input: true, message: 'expression "z^": unexpected end of expression at column 3' });
    // E[z + a z²] = μ + a (μ² + Σ_ii), from the pre-activation the library reports: float64 by hand.
    r.pre.mean.forEach((mu: number, i: number) => expect(r.post.mean[i]).toBeCloseTo(mu + 0.5 * (mu * mu + r.pre.cov[i][i]), 13));

    writeFileSync(join(user, 'use.ts'), typed);
    writeFileSync(join(user, 'tsconfig.json'), tsconfig('use.ts'));
    const good = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: user, encoding: 'utf8' });
    expect(good.status, good.stdout + good.stderr).toBe(0);
    // Negative control: the shipped types reject a wrong use.
    writeFileSync(join(user, 'bad.ts'), `import { derive } from 'corrmap';\nexport const kind: number = (await derive({ expression: 'z' })).kind;\n`);
    writeFileSync(join(user, 'tsconfig.json'), tsconfig('bad.ts'));
    const bad = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: user, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts.*not assignable to type 'number'/);
    // The shipped declarations themselves type-check (skipLibCheck above hides them): no type
    // variable left unbound, no helper type of a dependency spelled out wrongly. Errors inside the
    // dependencies' own declarations are theirs, so only corrmap's are counted.
    writeFileSync(join(user, 'tsconfig.json'), JSON.stringify({ ...JSON.parse(tsconfig('use.ts')), compilerOptions: { ...JSON.parse(tsconfig('use.ts')).compilerOptions, skipLibCheck: false } }));
    const strict = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: user, encoding: 'utf8' });
    expect(strict.stdout.split('\n').filter((line) => line.includes('node_modules/corrmap/')), 'errors in the shipped declarations').toEqual([]);
  });
});
