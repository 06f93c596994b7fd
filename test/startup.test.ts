/**
 * Start-up: the CLI loads a command's module only when it runs, so `derive` never loads tfjs or the
 * numeric code (tfjs alone costs more start-up than the whole derivation).
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, loadCommand } from '../src/cli/run.ts';
import { derivation } from '../src/cli/derive.ts';
import { nerdamerLoaded } from '../symbolic/nerdamer.ts';
import { buildDeriveScript } from '../scripts/derive-script.mjs';

const root = join(import.meta.dirname, '..');

/** The packages and project folders a module reaches (esbuild's module graph), and its own imports. */
async function reaches(entry: string): Promise<{ externals: string[]; folders: string[]; own: { path: string; kind: string }[] }> {
  const result = await build({
    entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    external: ['@tensorflow/*', 'webgpu', '@resvg/*', 'mathjs', 'nerdamer-prime'],
  });
  const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports);
  return {
    externals: [...new Set(imports.filter((i) => i.external).map((i) => i.path))].sort(),
    folders: [...new Set(Object.keys(result.metafile.inputs).map((p) => p.split('/')[0]))].sort(),
    own: result.metafile.inputs[entry].imports,
  };
}

describe('CLI start-up', () => {
  it('each command entry loads a module exporting the command, with the same summary', async () => {
    for (const entry of COMMANDS) {
      const command = await loadCommand(entry.name);
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
  });

  it('derive reaches neither tfjs nor numeric/, and validate does (the check can fail)', async () => {
    const derive = await reaches('src/cli/derive.ts');
    expect(derive.externals.filter((p) => p.startsWith('@tensorflow'))).toEqual([]);
    expect(derive.folders).not.toContain('numeric');
    const validate = await reaches('src/cli/validate.ts');
    expect(validate.externals).toContain('@tensorflow/tfjs-core');
    expect(validate.folders).toContain('numeric');
    // The command list imports every command module dynamically: statically only the error type, the version and the command helpers.
    const run = await reaches('src/cli/run.ts');
    expect(run.own.filter((i) => i.kind !== 'dynamic-import').map((i) => i.path).sort()).toEqual(['src/cli/command.ts', 'src/version.ts', 'symbolic/errors.ts']);
    expect(run.own.filter((i) => i.kind === 'dynamic-import')).toHaveLength(COMMANDS.length);
  });

  it('derive imports no nerdamer, and the nerdamer cross-check of the proofs does (the check can fail)', async () => {
    expect((await reaches('src/cli/derive.ts')).externals).not.toContain('nerdamer-prime');
    expect((await reaches('proofs/nerdamer-check.ts')).externals).toContain('nerdamer-prime');
  });

  it('derive of a polynomial never loads nerdamer; a closed form (relu) does', () => {
    const cubic = derivation('c0 + c1*z + c2*z^2 + c3*z^3', {}, { order: 3, inputOrder: 4 });
    expect([cubic.text.length, cubic.latex.length, JSON.stringify(cubic.json).length].every((n) => n > 0)).toBe(true);
    expect(nerdamerLoaded()).toBe(false);
    derivation('relu(z)', {}, { order: 2 }).text;
    expect(nerdamerLoaded()).toBe(true);
  });

  it('derive as one script with its code cache: the cache is used, and the output and exit codes are the command’s', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-derive-script-'));
    try {
      const script = join(dir, 'derive.cjs');
      await buildDeriveScript(root, script);
      // The script run as bin/corrmap.js runs it, in a fresh node.
      const run = (...argv: string[]) =>
        spawnSync(process.execPath, ['--input-type=module', '-e', `import { runCachedScript } from ${JSON.stringify(join(root, 'bin', 'cached-script.mjs'))};
          const { exports, cached } = runCachedScript(${JSON.stringify(script)});
          process.exitCode = await exports.derive(${JSON.stringify(argv)});
          console.error(cached ? 'cache used' : 'cache rejected');`], { encoding: 'utf8' });
      const cubic = ['c0 + c1*z + c2*z^2 + c3*z^3', '--order', '3', '--input-order', '4'];
      const inProcess = derivation(cubic[0], {}, { order: 3, inputOrder: 4 });
      const text = run(...cubic);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stderr).toBe('cache used\n');
      expect(text.stdout.replace(/\n\nderived in .* ms\n$/, '')).toBe(inProcess.text);
      const json = run(...cubic, '--format', 'json');
      const { elapsedMs, estimate, ...rest } = JSON.parse(json.stdout);
      expect([typeof elapsedMs, typeof estimate]).toEqual(['number', 'object']);
      expect(rest).toEqual(JSON.parse(JSON.stringify(inProcess.json)));
      expect(run(...cubic, '--format', 'latex').stdout).toBe(`${inProcess.latex}\n`);
      const bad = run('z^');
      expect([bad.status, bad.stdout, bad.stderr.split('\n').length]).toEqual([2, '', 3]);
      expect(bad.stderr).toMatch(/^corrmap: error: expression "z\^": /);
      // Negative control: the cache of another script is rejected by V8.
      writeFileSync(join(dir, 'other.cjs'), 'exports.derive = async () => 0;');
      copyFileSync(`${script}.cache`, join(dir, 'other.cjs.cache'));
      const other = spawnSync(process.execPath, ['--input-type=module', '-e', `import { runCachedScript } from ${JSON.stringify(join(root, 'bin', 'cached-script.mjs'))};
        console.log(runCachedScript(${JSON.stringify(join(dir, 'other.cjs'))}).cached);`], { encoding: 'utf8' });
      expect(other.stdout.trim()).toBe('false');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
