// Bundle the CLI into one ESM file (dist/corrmap.mjs): tree-shaken mathjs, no TypeScript
// transform at start-up. bin/corrmap.js uses it when it is newer than every source file.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/corrmap.mjs',
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
