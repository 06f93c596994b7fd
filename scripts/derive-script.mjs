// dist/derive.cjs: `corrmap derive` as one CommonJS script (src/cli/derive-main.ts), and beside it
// V8's code cache after deriving the cubic in every format, which bin/corrmap.js runs it with.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeCodeCache } from '../bin/cached-script.mjs';

/** The derivation the code cache is made from: it runs the code of every polynomial derivation. */
const WARM_UP = ['c0 + c1*z + c2*z^2 + c3*z^3', '--order', '3', '--input-order', '4'];

export async function buildDeriveScript(root, outfile) {
  // V8 checks a cache against the script's length only: never leave one beside a script it was not made from.
  rmSync(`${outfile}.cache`, { force: true });
  await build({
    entryPoints: ['src/cli/derive-main.ts'],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    // A CommonJS script has no import.meta; nerdamer is found from the script's own path.
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  // Written by a fresh node without flags, as bin/corrmap.js runs: V8 accepts a cache only from the same version and flags.
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), outfile], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`code cache of ${outfile}: ${made.stderr}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sink = { log() {} };
  await writeCodeCache(process.argv[2], async ({ derive }) => {
    for (const format of ['text', 'latex', 'json'])
      if ((await derive([...WARM_UP, '--format', format], sink, sink)) !== 0) throw new Error(`warm-up derivation failed (--format ${format})`);
  });
}
