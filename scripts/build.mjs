// Bundle the CLI into one ESM file (dist/corrmap.mjs), plus the Monte Carlo worker thread's entry
// (dist/shard-worker.mjs): tree-shaken mathjs, no TypeScript transform at start-up. tfjs and its
// backends stay outside the bundle (the wasm backend loads its .wasm next to its own module).
// bin/corrmap.js uses the bundle when it is newer than every source file.
// Each command is its own chunk (src/cli/run.ts loads it when it runs), so `derive` never loads
// tfjs or the numeric code; chunks sit next to the entries (dist/*.mjs) because the worker entry
// is found relative to the module that starts it.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// Chunk names carry content hashes: remove the previous build's, so dist/ holds one build.
try {
  for (const f of readdirSync('dist')) if (f.endsWith('.mjs')) rmSync(join('dist', f));
} catch {}

await build({
  entryPoints: { corrmap: 'src/cli/main.ts', 'shard-worker': 'numeric/shard-worker.ts' },
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
