/**
 * Start-up: the CLI loads a command's module only when it runs, so `derive` never loads tfjs or the
 * numeric code (tfjs alone costs more start-up than the whole derivation).
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, loadCommand } from '../src/cli/run.ts';

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
    // The command list imports every command module dynamically: statically only the error type and the version.
    const run = await reaches('src/cli/run.ts');
    expect(run.own.filter((i) => i.kind !== 'dynamic-import').map((i) => i.path).sort()).toEqual(['src/version.ts', 'symbolic/errors.ts']);
    expect(run.own.filter((i) => i.kind === 'dynamic-import')).toHaveLength(COMMANDS.length);
  });
});
