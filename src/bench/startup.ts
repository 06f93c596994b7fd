/**
 * Start-up of `corrmap derive` as a whole process, and where its time goes. The wall clock is the
 * median of unprofiled runs; the breakdown comes from one run under V8's CPU profiler, each sample
 * attributed to the source file it was in (the bundle's chunks carry esbuild's `// path` markers),
 * as shares of that run applied to the median.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headline, loadNote, log } from './report.ts';
import { median } from './problems.ts';

const RUNS = 7;

/** What a source file of the bundle is, for the breakdown. */
function category(source: string): string {
  if (source.includes('nerdamer')) return 'nerdamer (Taylor coefficients of φ)';
  if (/node_modules\/(mathjs|typed-function|decimal\.js|fraction\.js|complex\.js|escape-latex|tiny-emitter|@babel|javascript-natural-sort|seedrandom)/.test(source))
    return 'mathjs (parse and evaluate φ)';
  if (source.startsWith('symbolic/print') || source.startsWith('src/')) return 'printing the rules';
  if (source.startsWith('symbolic/')) return 'derivation (partitions, rules, checks)';
  return 'other';
}

interface Profile {
  nodes: { id: number; callFrame: { url: string; lineNumber: number; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Seconds by category from a CPU profile of the bundled CLI. */
function breakdown(profile: Profile, dist: string): Map<string, number> {
  const markers = new Map<string, { line: number; source: string }[]>();
  for (const f of readdirSync(dist).filter((f) => f.endsWith('.mjs'))) {
    const list: { line: number; source: string }[] = [];
    readFileSync(join(dist, f), 'utf8').split('\n').forEach((text, line) => {
      const m = /^\/\/ ((?:node_modules|symbolic|numeric|src)\/\S+)$/.exec(text);
      if (m) list.push({ line, source: m[1] });
    });
    markers.set(f, list);
  }
  const sourceOf = (url: string, line: number): string | undefined => {
    const list = markers.get(url.slice(url.lastIndexOf('/') + 1));
    if (!list || !url.includes('/dist/')) return undefined;
    let found: string | undefined;
    for (const m of list) if (m.line <= line) found = m.source;
    return found;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, k) => {
    const frame = byId.get(id)!.callFrame;
    const seconds = (profile.timeDeltas[k] ?? 0) / 1e6;
    const source = sourceOf(frame.url, frame.lineNumber);
    const what = source
      ? category(source)
      : frame.functionName === '(garbage collector)'
        ? 'garbage collection'
        : frame.functionName === '(idle)'
          ? 'idle (waiting for the CPU or the disk)'
          : 'Node start-up and module loading';
    out.set(what, (out.get(what) ?? 0) + seconds);
  });
  return out;
}

export async function startupSection(root: string): Promise<void> {
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  const bin = join(root, 'bin', 'corrmap.js');
  const args = ['derive', 'z^3', '--order', '3', '--input-order', '4'];
  const wall = (command: string[]) =>
    median(
      Array.from({ length: RUNS }, () => {
        const t = performance.now();
        const r = spawnSync(process.execPath, command, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`);
        return (performance.now() - t) / 1000;
      }),
    );
  const nodeOnly = wall(['-e', '0']);
  const whole = wall([bin, ...args]);
  const dir = mkdtempSync(join(tmpdir(), 'corrmap-startup-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, bin, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`profiled derive failed: ${r.stderr}`);
    const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!), 'utf8')) as Profile;
    const parts = breakdown(profile, join(root, 'dist'));
    const total = [...parts.values()].reduce((a, b) => a + b, 0);
    log(`\nstart-up: corrmap derive "z^3" --order 3 --input-order 4 as a whole process (bundle, ${process.version}; ${loadNote()})`);
    log(`  whole process, median of ${RUNS}            ${whole.toFixed(3)} s   (goal ≤ 0.2 s)`);
    log(`  node -e 0, median of ${RUNS}                 ${nodeOnly.toFixed(3)} s`);
    log(`  where the time goes (one profiled run, ${total.toFixed(3)} s sampled, shares applied to the median):`);
    for (const [what, seconds] of [...parts].sort((a, b) => b[1] - a[1]))
      log(`    ${what.padEnd(42)} ${((seconds / total) * 100).toFixed(0).padStart(3)} %  ${((seconds / total) * whole).toFixed(3)} s`);
    headline('startup', 'deriveCubicProcessSeconds', '`corrmap derive "z^3" --order 3 --input-order 4`, whole process (median of 7)', whole, `${whole.toFixed(3)} s`);
    headline('startup', 'nodeStartSeconds', '`node -e 0` on the same machine (median of 7)', nodeOnly, `${nodeOnly.toFixed(3)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
