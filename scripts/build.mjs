// Bundle the CLI (dist/corrmap.mjs), the library (dist/index.mjs, src/index.ts)
// and the Monte Carlo worker thread's entry (dist/shard-worker.mjs): tree-shaken mathjs, no
// TypeScript transform at start-up. tfjs and its backends stay outside the bundle (the wasm backend
// loads its .wasm next to its own module). Then the library's type declarations (dist/types) with
// tsc. bin/corrmap.js uses the bundle when it is newer than every source file.
// Each command is its own chunk (src/cli/run.ts loads it when it runs), so `derive` never loads
// tfjs or the numeric code; chunks sit next to the entries (dist/*.mjs) because the worker entry
// is found relative to the module that starts it.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDeriveScript } from './derive-script.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Chunk names carry content hashes: remove the previous build's, so dist/ holds one build.
try {
  for (const f of readdirSync(join(root, 'dist'))) if (f.endsWith('.mjs')) rmSync(join(root, 'dist', f));
} catch {}

await build({
  entryPoints: { corrmap: 'src/cli/main.ts', index: 'src/index.ts', 'shard-worker': 'numeric/shard-worker.ts' },
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunk-[hash]',
  external: ['@tensorflow/*', 'webgpu', '@resvg/*'],
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// `corrmap derive` once more as one CommonJS script with its V8 code cache (scripts/derive-script.mjs).
await buildDeriveScript(root, join(root, 'dist', 'derive.cjs'));

// Declarations: tsc from this package's typescript, then relative imports of .ts files rewritten
// to .js, which a user's TypeScript resolves to the .d.ts beside them.
const types = join(root, 'dist', 'types');
rmSync(types, { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'scripts', 'tsconfig.types.json')], { stdio: 'inherit', cwd: root });
const rewrite = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) rewrite(path);
    else if (name.endsWith('.d.ts'))
      writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+|import\()(['"])(\.\.?\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'));
  }
};
rewrite(types);
