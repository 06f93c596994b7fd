/**
 * Shard files: one share of a Monte Carlo run's batches (corrmap validate --shard k/n --save), run
 * by another process or machine, and their merge (corrmap merge). A shard file holds the power sums
 * of every batch it ran, per stage, so merging concatenates batch lists and the estimates are bit
 * for bit those of one run (docs/theory.md §Monte Carlo estimators). It names the network and input
 * files by path and SHA-256, so shards of different runs are never merged.
 *
 * Layout (JSON): {"format", "version", "run": {network, input, samples, batches, seed, backend,
 * inputOrder, outputOrder}, "shard": [k, n], "batchRange": [first, end], "workers", "seconds",
 * "stages": [{"width", "batches": [{"index", "count", "shift", "sums": [order 1, …]}]}]}; float64
 * vectors are little-endian bytes in base64 (exact, and a third of the size of decimal text). A
 * batch of a stage of width w holds Σ_r C(w + r − 1, r) numbers: for w = 1000 and orders ≤ 2 about
 * 4 MB per batch per stage; V8 reads a file of at most ~500 MB, so keep shards below that.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { InputError } from '../symbolic/errors.ts';
import { PowerSums, sortedTupleCount, type BatchSums } from '../numeric/powersums.ts';
import { shareBounds } from '../numeric/simulate.ts';
import { parseJson } from './io.ts';

const FORMAT = 'corrmap Monte Carlo shard';
const VERSION = 1;

/** What makes shards parts of one run: they merge only when all of this agrees. */
export interface RunIdentity {
  readonly network: { readonly path: string; readonly sha256: string };
  readonly input: { readonly path: string; readonly sha256: string };
  readonly samples: number;
  readonly batches: number;
  readonly seed: number;
  readonly backend: string;
  readonly inputOrder: number;
  readonly outputOrder: number;
}

export interface Shard {
  readonly run: RunIdentity;
  /** Shard k of n (k from 0). */
  readonly index: number;
  readonly count: number;
  readonly batchRange: readonly [number, number];
  readonly workers: number;
  readonly seconds: number;
  /** Power sums per stage (pre- and post-activation of every layer), this shard's batches only. */
  readonly stages: readonly PowerSums[];
}

export function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Batches [first, end) of shard k of n of a run of `batches` batches. */
export function shardRange(index: number, count: number, batches: number): [number, number] {
  const bounds = shareBounds(0, batches, count);
  return [bounds[index], bounds[index + 1]];
}

if (endianness() !== 'LE') throw new Error('shard files store little-endian float64; this machine is big-endian');

function encode(v: Float64Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function decode(text: unknown, length: number, where: string): Float64Array {
  if (typeof text !== 'string') throw new InputError(`${where}: expected base64 float64 data`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 8 * length) throw new InputError(`${where}: holds ${bytes.length / 8} numbers, expected ${length}`);
  const out = new Float64Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Write a shard file piece by piece (a shard of a wide network is too large for one string). */
export function writeShard(path: string, shard: Shard): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new InputError(`cannot write the shard file "${path}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
  }
  try {
    const head = { format: FORMAT, version: VERSION, run: shard.run, shard: [shard.index, shard.count], batchRange: shard.batchRange, workers: shard.workers, seconds: shard.seconds };
    writeSync(fd, `${JSON.stringify(head).slice(0, -1)},"stages":[`);
    shard.stages.forEach((stage, k) => {
      writeSync(fd, `${k ? ',' : ''}{"width":${stage.width},"maxOrder":${stage.maxOrder},"batches":[`);
      stage.batches.forEach((b, i) => {
        const sums = b.sums.slice(1).map((s) => `"${encode(s)}"`).join(',');
        writeSync(fd, `${i ? ',' : ''}{"index":${b.index},"count":${b.count},"shift":"${encode(b.shift)}","sums":[${sums}]}\n`);
      });
      writeSync(fd, ']}');
    });
    writeSync(fd, ']}\n');
  } finally {
    closeSync(fd);
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Read and check one shard file. */
export function readShard(path: string): Shard {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read the shard file "${path}": ${code === 'ENOENT' ? 'no such file' : code === 'ERR_STRING_TOO_LONG' ? 'too large to read (split the run into more shards)' : (err as Error).message}`);
  }
  const where = `shard file "${path}"`;
  const json = parseJson(text, where) as Record<string, unknown>;
  if (json?.format !== FORMAT) throw new InputError(`${where} is not a shard file (write one with corrmap validate … --shard k/n --save file.json)`);
  if (json.version !== VERSION) throw new InputError(`${where} has version ${String(json.version)}; this corrmap reads version ${VERSION}`);
  const run = json.run as RunIdentity;
  const [index, count] = (json.shard ?? []) as number[];
  const range = json.batchRange as [number, number];
  if (!isCount(index) || !isCount(count) || index >= count || !Array.isArray(range) || !isCount(run?.batches) || !isCount(run?.outputOrder))
    throw new InputError(`${where}: damaged header (shard, batchRange or run is missing)`);
  const expected = shardRange(index, count, run.batches);
  if (range[0] !== expected[0] || range[1] !== expected[1])
    throw new InputError(`${where}: shard ${index}/${count} of ${run.batches} batches covers [${expected}), but the file says [${range}) — was it edited?`);
  const stagesJson = json.stages as { width: number; maxOrder: number; batches: { index: number; count: number; shift: string; sums: string[] }[] }[];
  if (!Array.isArray(stagesJson)) throw new InputError(`${where}: "stages" is missing`);
  const stages = stagesJson.map((s, k) => {
    const at = `${where}: stages[${k}]`;
    if (!isCount(s?.width) || s.width === 0 || s.maxOrder !== run.outputOrder || !Array.isArray(s.batches)) throw new InputError(`${at}: damaged (width, order or batches)`);
    const sums = new PowerSums(s.width, s.maxOrder);
    const indices = s.batches.map((b) => b.index).join(',');
    const want = Array.from({ length: range[1] - range[0] }, (_, i) => range[0] + i).join(',');
    if (indices !== want) throw new InputError(`${at}: holds batches [${indices}], expected [${want}]`);
    for (const b of s.batches) {
      if (!isCount(b.count) || !Array.isArray(b.sums) || b.sums.length !== s.maxOrder) throw new InputError(`${at}: batch ${b.index} is damaged`);
      const batch: BatchSums = {
        index: b.index,
        count: b.count,
        shift: decode(b.shift, s.width, `${at} batch ${b.index} shift`),
        sums: [new Float64Array(0), ...b.sums.map((t, r) => decode(t, sortedTupleCount(s.width, r + 1), `${at} batch ${b.index} order ${r + 1}`))],
      };
      sums.add(batch);
    }
    return sums;
  });
  return { run, index, count, batchRange: range, workers: Number(json.workers) || 1, seconds: Number(json.seconds) || 0, stages };
}

const IDENTITY_KEYS = ['samples', 'batches', 'seed', 'backend', 'inputOrder', 'outputOrder'] as const;

/** The first way two runs differ, in words, or undefined when they are the same run. */
function runDifference(a: RunIdentity, b: RunIdentity): string | undefined {
  if (a.network.sha256 !== b.network.sha256) return `different network files ("${a.network.path}" vs "${b.network.path}", SHA-256 ${a.network.sha256.slice(0, 12)}… vs ${b.network.sha256.slice(0, 12)}…)`;
  if (a.input.sha256 !== b.input.sha256) return `different input files ("${a.input.path}" vs "${b.input.path}", SHA-256 ${a.input.sha256.slice(0, 12)}… vs ${b.input.sha256.slice(0, 12)}…)`;
  for (const key of IDENTITY_KEYS) if (a[key] !== b[key]) return `${key} ${a[key]} vs ${b[key]}`;
  return undefined;
}

export interface MergedRun {
  readonly run: RunIdentity;
  readonly shards: number;
  /** Sum of the shards' Monte Carlo seconds (the compute spent, not the wall-clock time). */
  readonly seconds: number;
  readonly workers: number;
  readonly stages: PowerSums[];
}

/**
 * Merge the shards of one run (any order): every shard k of n exactly once, all of the same run;
 * the batch lists are concatenated (PowerSums keeps them in batch order), so the estimates equal
 * one run's bit for bit.
 */
export function mergeShards(shards: readonly Shard[], names: readonly string[]): MergedRun {
  if (shards.length === 0) throw new InputError('merge needs at least one shard file');
  const first = shards[0];
  shards.forEach((s, i) => {
    const diff = runDifference(first.run, s.run);
    if (diff) throw new InputError(`"${names[i]}" and "${names[0]}" are shards of different runs (${diff}); merge only the shards of one run`);
    if (s.count !== first.count) throw new InputError(`"${names[i]}" is shard ${s.index}/${s.count} but "${names[0]}" is ${first.index}/${first.count}: a run is split one way`);
    if (s.stages.length !== first.stages.length) throw new InputError(`"${names[i]}" has ${s.stages.length} stages, "${names[0]}" has ${first.stages.length}`);
  });
  const seen = new Map<number, string>();
  shards.forEach((s, i) => {
    const other = seen.get(s.index);
    if (other !== undefined) throw new InputError(`shard ${s.index}/${s.count} is given twice ("${other}" and "${names[i]}"); give each shard once`);
    seen.set(s.index, names[i]);
  });
  const missing = Array.from({ length: first.count }, (_, k) => k).filter((k) => !seen.has(k));
  if (missing.length)
    throw new InputError(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${first.count} ${missing.length > 1 ? 'are' : 'is'} missing (have ${[...seen.keys()].sort((a, b) => a - b).join(', ')}); merge needs every shard of the run`);
  const stages = first.stages.map((_, k) => shards.reduce((acc, s) => acc.merge(s.stages[k]), new PowerSums(first.stages[k].width, first.stages[k].maxOrder)));
  return { run: first.run, shards: first.count, seconds: shards.reduce((t, s) => t + s.seconds, 0), workers: Math.max(...shards.map((s) => s.workers)), stages };
}
