/**
 * What the fuzz suites share: the CLI run in this process, the contract every run keeps, and the
 * counts of what was tried. CORRMAP_FUZZ_LOG=file appends one line per run (command, exit code,
 * message) for a census of what the generators reach.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../src/cli/run.ts';
import { LONG } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'corrmap-fuzz-'));
export const SEED = 20261201;
export const scale = LONG ? 10 : 1;
let fileCount = 0;
export const tried: Record<string, number> = { derive: 0, propagate: 0, exactChecked: 0, validate: 0, named: 0, exit0: 0, exit2: 0 };

export function file(content: unknown): string {
  const path = join(dir, `f${fileCount++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export async function corrmap(args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const started = performance.now();
  const code = await runCli(args, { log: (t) => stdout.push(t) }, { log: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n'), seconds: (performance.now() - started) / 1000 };
}

/** The contract every run keeps: exit 0, or exit 2 with exactly one "corrmap: error:" line. */
export function honest(r: Run, args: readonly string[], budgetSeconds = 20): void {
  const what = `corrmap ${args.map((a) => (a.length > 80 ? `${a.slice(0, 77)}…` : a)).join(' ')}\n${r.stderr}`;
  expect([0, 2], what).toContain(r.code);
  expect(r.stderr, what).not.toMatch(/\n\s+at |internal error|\.ts:\d+/);
  expect(r.seconds, what).toBeLessThan(budgetSeconds);
  if (process.env.CORRMAP_FUZZ_LOG) appendFileSync(process.env.CORRMAP_FUZZ_LOG, `${args[0]} ${r.code} ${r.stderr.replace(/"[^"]*"/g, '""').slice(0, 90)}\n`);
  if (r.code === 2) {
    tried.exit2++;
    expect(r.stderr.split('\n'), what).toHaveLength(1);
    expect(r.stderr, what).toMatch(/^corrmap: error: \S/);
  } else {
    tried.exit0++;
    expect(r.stdout, what).not.toMatch(/Infinity|NaN|1\/Inf/);
  }
}

/** Every number in a JSON value is finite, and no tensor entry is null (JSON's spelling of NaN). */
export function finiteNumbers(value: unknown, path = '$'): void {
  if (typeof value === 'number') expect(Number.isFinite(value), path).toBe(true);
  else if (Array.isArray(value)) value.forEach((v, k) => {
    expect(v, `${path}[${k}]`).not.toBeNull();
    finiteNumbers(v, `${path}[${k}]`);
  });
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) finiteNumbers(v, `${path}.${k}`);
}

