/**
 * Start-up of `corrmap derive` (the cubic with symbolic coefficients) as a whole process, and where its time goes. bin/corrmap.js
 * runs derive as one script (dist/derive.cjs) with V8's code cache of a derivation. The wall clock is the
 * median of unprofiled runs; the breakdown comes from one run under V8's CPU profiler, each sample
 * attributed to the source file it was in (the bundle's chunks carry esbuild's `// path` markers),
 * as shares of that run applied to the median.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headline, loadNote, log } from './report.ts';
import { median } from './problems.ts';

const RUNS = 7;
/** The command of the start-up goal: the cubic with symbolic coefficients, orders 1…3 at K = 4. */
const CUBIC = 'c0 + c1*z + c2*z^2 + c3*z^3';

/** What a source file of the bundle is, for the breakdown. */
function category(source: string): string {
  if (source.includes('nerdamer')) return 'nerdamer (not loaded for a polynomial φ)';
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
  for (const f of readdirSync(dist).filter((f) => f.endsWith('.mjs') || f.endsWith('.cjs'))) {
    const list: { line: number; source: string }[] = [];
    readFileSync(join(dist, f), 'utf8').split('\n').forEach((text, line) => {
      const m = /^\/\/ ((?:node_modules|symbolic|numeric|src)\/\S+)$/.exec(text);
      if (m) list.push({ line, source: m[1] });
    });
    markers.set(f, list);
  }
  const sourceOf = (url: string, line: number): string | undefined => {
    // A package loaded on demand from node_modules (nerdamer) rather than from the bundle.
    const loaded = /\/(node_modules\/.*)$/.exec(url);
    if (loaded) return loaded[1];
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
  const args = ['derive', CUBIC, '--order', '3', '--input-order', '4', '--format', 'json'];
  // Wall clock, and the child's CPU time (user + system) where GNU time is installed: on a shared
  // machine the CPU time is what the process itself costs.
  const gnuTime = existsSync('/usr/bin/time');
  const measure = (command: string[]) => {
    const runs = Array.from({ length: RUNS }, () => {
      const t = performance.now();
      const r = gnuTime
        ? spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...command], { encoding: 'utf8' })
        : spawnSync(process.execPath, command, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`);
      const cpu = gnuTime ? r.stderr.trim().split('\n').pop()!.split(' ').map(Number) : [NaN, NaN];
      return { wall: (performance.now() - t) / 1000, cpu: cpu[0] + cpu[1] };
    });
    return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
  };
  const node = measure(['-e', '0']);
  const derive = measure([bin, ...args]);
  const [nodeOnly, whole] = [node.wall, derive.wall];
  const dir = mkdtempSync(join(tmpdir(), 'corrmap-startup-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, bin, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`profiled derive failed: ${r.stderr}`);
    const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!), 'utf8')) as Profile;
    const parts = breakdown(profile, join(root, 'dist'));
    const total = [...parts.values()].reduce((a, b) => a + b, 0);
    const cached = existsSync(join(root, 'dist', 'derive.cjs.cache')) ? 'dist/derive.cjs with its code cache' : 'bundle without a code cache';
    log(`\nstart-up: corrmap derive "${CUBIC}" --order 3 --input-order 4 as a whole process (${cached}, ${process.version}; ${loadNote()})`);
    log(`  whole process, median of ${RUNS}            ${whole.toFixed(3)} s   (goal ≤ 0.2 s)${gnuTime ? `; CPU time ${derive.cpu.toFixed(3)} s` : ''}`);
    log(`  node -e 0, median of ${RUNS}                 ${nodeOnly.toFixed(3)} s${gnuTime ? `; CPU time ${node.cpu.toFixed(3)} s` : ''}`);
    log(`  whole process / node -e 0: ${(whole / nodeOnly).toFixed(1)}× wall clock${gnuTime ? `, ${(derive.cpu / node.cpu).toFixed(1)}× CPU time` : ''} (the load-independent form of the goal: 0.2 s on a machine where node -e 0 takes 0.04 s is 5×)`);
    log(`  where the time goes (one profiled run, ${total.toFixed(3)} s sampled, shares applied to the median):`);
    for (const [what, seconds] of [...parts].sort((a, b) => b[1] - a[1]))
      log(`    ${what.padEnd(42)} ${((seconds / total) * 100).toFixed(0).padStart(3)} %  ${((seconds / total) * whole).toFixed(3)} s`);
    headline('startup', 'deriveCubicProcessSeconds', `\`corrmap derive "${CUBIC}" --order 3 --input-order 4\`, whole process (median of ${RUNS})`, whole, `${whole.toFixed(3)} s`);
    headline('startup', 'nodeStartSeconds', `\`node -e 0\` on the same machine (median of ${RUNS})`, nodeOnly, `${nodeOnly.toFixed(3)} s`);
    if (gnuTime) headline('startup', 'deriveCubicCpuOverNodeStart', 'the same two in CPU time: derive / node -e 0 (load-independent; goal ≈ 5×)', derive.cpu / node.cpu, `${derive.cpu.toFixed(3)} s / ${node.cpu.toFixed(3)} s = ${(derive.cpu / node.cpu).toFixed(1)}×`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
