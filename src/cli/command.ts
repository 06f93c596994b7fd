import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { InputError } from '../../symbolic/errors.ts';

/** Where a command writes its results (stdout for the CLI, a buffer in tests). */
export interface Output {
  log(text: string): void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Returns the exit code (default 0). */
  run(argv: string[], out: Output): Promise<number | void> | number | void;
}

/**
 * The exit code of a command that threw: 2 for bad input (one line on `errors`), 1 for an internal
 * error (with the stack trace when CORRMAP_DEBUG is set).
 */
export function failure(err: unknown, errors: Output): number {
  if (err instanceof InputError || err instanceof RangeError) {
    errors.log(`corrmap: error: ${(err as Error).message}`);
    return 2;
  }
  errors.log(`corrmap: internal error: ${(err as Error)?.message ?? String(err)}`);
  errors.log(process.env.CORRMAP_DEBUG ? `${(err as Error)?.stack}` : '(set CORRMAP_DEBUG=1 for the stack trace; please report it)');
  return 1;
}

/** The value parseArgs gives an option: a string or a boolean, an array of them when it may repeat. */
type OptionValue<O> = O extends { type: 'boolean' } ? (O extends { multiple: true } ? boolean[] : boolean) : O extends { multiple: true } ? string[] : string;

/**
 * What parseOptions returns, spelled out: the declaration shipped in dist/types must not depend on
 * node:util's internal helper types (their inferred form names a type variable it never binds).
 */
export interface ParsedOptions<T extends ParseArgsOptionsConfig> {
  values: { [K in keyof T]?: OptionValue<T[K]> } & { help?: boolean };
  positionals: string[];
}

/** util.parseArgs with errors turned into one-line input errors that point at --help. */
export function parseOptions<T extends ParseArgsOptionsConfig>(command: string, argv: string[], options: T, allowPositionals = true): ParsedOptions<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true, tokens: true });
  } catch (err) {
    const message = (err as Error).message;
    const ambiguous = /^Option '(-[^']*)' argument is ambiguous/.exec(message);
    if (ambiguous) throw new InputError(`${ambiguous[1]} needs a value; a value that starts with a dash is written ${ambiguous[1]}=-1 (see corrmap ${command} --help)`);
    throw new InputError(`${message.split('\n')[0].replace(/\. To specify.*$/, '')} (see corrmap ${command} --help)`);
  }
  // parseArgs keeps the last of a repeated option silently; only options marked multiple may repeat.
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name) && !(options?.[token.name] as { multiple?: boolean } | undefined)?.multiple)
      throw new InputError(`--${token.name} is given more than once; give it once (see corrmap ${command} --help)`);
    seen.add(token.name);
  }
  return { values: parsed.values as ParsedOptions<T>['values'], positionals: parsed.positionals };
}

/** Worker threads the machine can run at once: the cap of every --workers option. */
export const CORES = availableParallelism();

export function integerOption(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new InputError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return v;
}

/**
 * The seed every command and the library take: any 32-bit value (numeric/random.ts mixes it into
 * the generator's state; derived streams add offsets modulo 2³²), 1 when not given.
 */
export const SEED = { min: 0, max: 2 ** 32 - 1, fallback: 1 } as const;
/** The --seed entry of a command's parseOptions table. */
export const SEED_OPTION = { seed: { type: 'string' } } as const;

/** --seed s, checked against SEED. */
export function seedOption(value: string | undefined, fallback: number = SEED.fallback): number {
  return integerOption(value, 'seed', SEED.min, SEED.max, fallback);
}

/** --param a=0.5 (repeatable) → {a: 0.5}. */
export function parameterOptions(values: string[] | undefined): Record<string, number> {
  // No prototype: a parameter may be called constructor or toString.
  const out = Object.create(null) as Record<string, number>;
  for (const text of values ?? []) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(text);
    if (!m) throw new InputError(`--param "${text}" is not of the form name=value (e.g. --param a=0.5)`);
    const v = Number(m[2]);
    if (m[2].trim() === '' || !Number.isFinite(v)) throw new InputError(`--param ${m[1]}: "${m[2]}" is not a finite number`);
    if (Object.hasOwn(out, m[1])) throw new InputError(`--param ${m[1]} is given twice`);
    out[m[1]] = v;
  }
  return out;
}

export function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new InputError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** --max-memory 4GB / 500MB / 2e9 (bytes) → bytes. */
export function memoryOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(B|kB|KB|MB|GB|TB)?\s*$/i.exec(value);
  const scale: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
  const bytes = m ? Number(m[1]) * scale[(m[2] ?? 'b').toLowerCase()] : NaN;
  if (!Number.isFinite(bytes) || bytes < 1e6 || bytes > 1e13) throw new InputError(`--max-memory must be an amount from 1MB to 10TB such as 8GB or 500MB, got "${value}"`);
  return bytes;
}
