#!/usr/bin/env node
// Runs the bundled CLI (npm run build) when it is newer than every source file, else the
// TypeScript sources through tsx, so an edit is never shadowed by a stale bundle.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshBundle } from './bundle.mjs';

const bundle = freshBundle(join(dirname(fileURLToPath(import.meta.url)), '..'), 'corrmap.mjs');
if (bundle) await import(pathToFileURL(bundle).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
