// Whether a bundled file in dist/ is newer than every TypeScript source it was built from, so an
// edit is never shadowed by a stale bundle. Used by bin/corrmap.js and by numeric/workers.ts.
import { createRequire } from 'node:module';
import { join } from 'node:path';

// node:fs through require: importing it as a module reads every export, and its lazy ones (the
// streams, fs/promises) load a dozen of Node's own modules that the CLI's start-up never needs.
const { existsSync, readdirSync, statSync } = createRequire(import.meta.url)('node:fs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The path of dist/<name> under root when it exists and is up to date, else undefined. */
export function freshBundle(root, name) {
  const bundle = join(root, 'dist', name);
  if (!existsSync(bundle)) return undefined;
  const newest = Math.max(...['src', 'symbolic', 'numeric'].map((d) => newestSource(join(root, d))));
  return statSync(bundle).mtimeMs >= newest ? bundle : undefined;
}
