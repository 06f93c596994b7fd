/**
 * The sharded Monte Carlo on a real SLURM cluster: scripts/slurm-validate.sh brings up a private
 * one-node cluster (munged, slurmctld, slurmd), runs the shards as a job array, merges them and
 * stops the daemons; the merged validation must be the unsharded run's, bit for bit.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.ts';
import { comparableValidation } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const examples = join(root, 'examples');

function skipReason(): string | undefined {
  const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0;
  if (!has('sbatch')) return 'sbatch is not installed (apt-get install slurm-wlm munge)';
  if (!has('slurmctld') || !has('slurmd') || !has('munged')) return 'slurmctld, slurmd or munged is not installed';
  const clusterAnswers = spawnSync('timeout', ['10', 'sinfo', '-h']).status === 0;
  if (!clusterAnswers && process.getuid?.() !== 0) return 'no SLURM cluster answers and only root can start the daemons';
  return undefined;
}
const reason = skipReason();

/** Process ids of running SLURM and munge daemons (to check that the script stops what it starts). */
function daemons(): string[] {
  return execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => /\s(slurmctld|slurmd|munged)$/.test(line))
    .map((line) => line.trim())
    .sort();
}

describe('Monte Carlo shards on SLURM', () => {
  it.skipIf(reason)(`a job array of 3 shards merges to the unsharded validation bit for bit${reason ? ` (skipped: ${reason})` : ''}`, { timeout: 300_000 }, async () => {
    const args = [join(examples, 'network.json'), '--input', join(examples, 'mixture.json'), '--samples', '30000', '--batches', '9', '--seed', '11'];
    const before = daemons();
    const dir = mkdtempSync(join(tmpdir(), 'corrmap-slurm-'));
    const r = spawnSync(join(root, 'scripts', 'slurm-validate.sh'), ['-n', '3', '-d', dir, '-m', '--json', '--', ...args], { cwd: root, encoding: 'utf8', timeout: 280_000 });
    expect(r.status, r.stderr).toBe(0);
    for (let k = 0; k < 3; k++) expect(existsSync(join(dir, `shard-${k}.json`))).toBe(true);
    const merged = JSON.parse(r.stdout);
    expect(merged.run.shards).toBe(3);

    const stdout: string[] = [];
    const code = await runCli(['validate', ...args, '--workers', '1', '--json'], { log: (t) => stdout.push(t) }, { log: () => {} });
    expect(code).toBe(0);
    expect(comparableValidation(r.stdout)).toEqual(comparableValidation(stdout.join('\n')));
    // The daemons the script started are gone again.
    expect(daemons()).toEqual(before);
  });
});
