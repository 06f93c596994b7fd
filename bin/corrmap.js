#!/usr/bin/env node
// Runs the bundled CLI (npm run build) when it is newer than every source file, else the
// TypeScript sources through tsx, so an edit is never shadowed by a stale bundle. `derive` runs as
// one CommonJS script with V8's code cache (dist/derive.cjs and its .cache), in this process.
import module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshBundle } from './bundle.mjs';
import { runCachedScript } from './cached-script.mjs';

// Node ≥ 22.1 keeps V8's compiled code of the bundle on disk between runs (start-up is mostly
// compiling and initialising mathjs and nerdamer); Node 20 has no such cache and skips this.
module.enableCompileCache?.();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const deriveScript = process.argv[2] === 'derive' ? freshBundle(root, 'derive.cjs') : undefined;
const bundle = deriveScript ? undefined : freshBundle(root, 'corrmap.mjs');
if (deriveScript) process.exitCode = await runCachedScript(deriveScript).exports.derive(process.argv.slice(3));
else if (bundle) await import(pathToFileURL(bundle).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
