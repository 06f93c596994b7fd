/**
 * Sharded Monte Carlo: validate --shard k/n --save and merge. The shards' power sums merge into
 * exactly the unsharded run's estimates (any order of the shards), and shards that are not one
 * whole run are refused with one line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparableValidation as comparable, runInProcess } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-shards-'));
const examples = join(import.meta.dirname, '..', 'examples');
const networkFile = join(examples, 'network.json');
const inputFile = join(examples, 'mixture.json');

const corrmap = runInProcess;


const run = (seed: string, ...extra: string[]) => ['validate', networkFile, '--input', inputFile, '--samples', '24000', '--batches', '8', '--seed', seed, '--output-order', '3', '--workers', '1', ...extra];

async function shard(k: number, n: number, seed = '5', ...extra: string[]): Promise<string> {
  const path = join(dir, `s${seed}-${k}of${n}${extra.join('')}.json`);
  const r = await corrmap(...run(seed, '--shard', `${k}/${n}`, '--save', path, ...extra));
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^shard ${k}/${n}: batches \\d+…\\d+ of 8`));
  return path;
}

describe('validate --shard and merge', () => {
  it('merging the shards in any order gives the unsharded validation bit for bit, and another seed does not', async () => {
    const whole = await corrmap(...run('5', '--json'));
    expect(whole.code, whole.stderr).toBe(0);
    const files = [await shard(0, 3), await shard(1, 3), await shard(2, 3)];
    for (const order of [[0, 1, 2], [2, 0, 1]]) {
      const merged = await corrmap('merge', ...order.map((k) => files[k]), '--json');
      expect(merged.code, merged.stderr).toBe(0);
      expect(comparable(merged.stdout)).toEqual(comparable(whole.stdout));
      expect(JSON.parse(merged.stdout).run.shards).toBe(3);
    }
    // Negative control: the comparison sees a different run.
    const other = await corrmap(...run('6', '--json'));
    expect(comparable(other.stdout)).not.toEqual(comparable(whole.stdout));
    // The text output is validate's, with the shards named.
    const text = await corrmap('merge', ...files);
    expect(text.stdout).toMatch(/^network 3 → 4 → 2; input non-Gaussian/);
    expect(text.stdout).toMatch(/merged from 3 shards/);
    expect(text.stdout).toMatch(/verdict: agrees/);
  });

  it('--save without --shard saves the whole run as one shard, which merges to the same validation', async () => {
    const path = join(dir, 'whole.json');
    const whole = await corrmap(...run('9', '--json', '--save', path));
    const merged = await corrmap('merge', path, '--json');
    expect(comparable(merged.stdout)).toEqual(comparable(whole.stdout));
  });

  it('refuses missing, duplicated and foreign shards and misused options with one line', async () => {
    const [a, b] = [await shard(0, 2), await shard(1, 2)];
    const otherSeed = await shard(1, 2, '7');
    const threeWay = await shard(1, 3);
    const cases: [string[], RegExp][] = [
      [['merge', a], /shard 1 of 2 is missing \(have 0\)/],
      [['merge', a, b, a], /shard 0\/2 is given twice/],
      [['merge', a, otherSeed], /shards of different runs \(seed 5 vs 7\)/],
      [['merge', a, threeWay], /is shard 1\/3 but .* is 0\/2/],
      [['merge', join(dir, 'none.json')], /cannot read the shard file .*: no such file/],
      [['merge', networkFile], /is not a shard file/],
      [['merge', a, b, '--network', join(examples, 'general-network.json')], /the network file .* is not the one the shards ran/],
      [run('5', '--shard', '1/2'), /--shard k\/n needs --save/],
      [run('5', '--shard', '2/2', '--save', join(dir, 'x.json')), /--shard must be k\/n with 0 ≤ k < n/],
      [run('5', '--shard', '1/9', '--save', join(dir, 'x.json')), /9 shards need at least 9 batches/],
      [run('5', '--shard', '0/2', '--save', join(dir, 'x.json'), '--backend', 'reference'), /need a tfjs backend/],
    ];
    for (const [args, pattern] of cases) {
      const r = await corrmap(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it('refuses a damaged shard file', async () => {
    const good = await shard(0, 2);
    const text = (await import('node:fs')).readFileSync(good, 'utf8');
    const bad = join(dir, 'damaged.json');
    writeFileSync(bad, text.replace(/"shift":"[^"]{4}/, '"shift":"'));
    const r = await corrmap('merge', bad, await shard(1, 2));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/shift: holds \d+(\.\d+)? numbers, expected 4|damaged/);
  });
});
