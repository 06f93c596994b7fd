// A CommonJS script run with V8's code cache beside it (<file>.cache): the functions compiled while
// the cache was made are neither parsed nor compiled again. V8 rejects a cache made by another
// Node version or for a script of another length and then compiles as usual; a cache older than
// the script is not offered at all (the build removes it before it writes the script).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

// node:fs through require, as in bundle.mjs: its module form loads Node's stream modules.
const { readFileSync, rmSync, statSync, writeFileSync } = createRequire(import.meta.url)('node:fs');

/** The script's module.exports, and whether V8 used the cache. */
export function runCachedScript(file) {
  const cache = `${file}.cache`;
  const made = statSync(cache, { throwIfNoEntry: false });
  const cachedData = made && made.mtimeMs >= statSync(file).mtimeMs ? readFileSync(cache) : undefined;
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(source, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cached: cachedData !== undefined && !script.cachedDataRejected, script };
}

/** Runs the script without a cache, lets warmUp exercise its exports, and writes <file>.cache. */
export async function writeCodeCache(file, warmUp) {
  rmSync(`${file}.cache`, { force: true });
  const { exports, script } = runCachedScript(file);
  await warmUp(exports);
  writeFileSync(`${file}.cache`, script.createCachedData());
}
