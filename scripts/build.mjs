// Bundle the CLI into one ESM file (dist/corrmap.mjs), plus the Monte Carlo worker thread's entry
// (dist/shard-worker.mjs): tree-shaken mathjs, no TypeScript transform at start-up. tfjs and its
// backends stay outside the bundle (the wasm backend loads its .wasm next to its own module).
// bin/corrmap.js uses the bundle when it is newer than every source file.
import { build } from 'esbuild';

await build({
  entryPoints: { corrmap: 'src/cli/main.ts', 'shard-worker': 'numeric/shard-worker.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  external: ['@tensorflow/*', 'webgpu', '@resvg/*'],
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
