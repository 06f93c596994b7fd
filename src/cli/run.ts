import { InputError } from '../../symbolic/errors.ts';
import { failure, type Command, type Output } from './command.ts';
import { VERSION } from '../version.ts';

/**
 * The commands. Each entry names a command, says what it does (for `corrmap --help`) and loads
 * its module only when that command runs, so start-up loads only what the command needs (`derive`
 * never loads tfjs). To add a command, add one entry here; its module exports a Command of the
 * same name and summary (test/cli.test.ts checks that they agree).
 */
export const COMMANDS: readonly { name: string; summary: string; load: () => Promise<object> }[] = [
  { name: 'derive', summary: 'derive the cumulant transfer rules of an activation', load: () => import('./derive.ts') },
  { name: 'propagate', summary: 'propagate input cumulants through a network', load: () => import('./propagate.ts') },
  { name: 'validate', summary: 'theory vs Monte Carlo for every layer, with z-scores and a verdict', load: () => import('./validate.ts') },
  { name: 'merge', summary: 'combine the shard files of a sharded validate run and print its validation', load: () => import('./merge.ts') },
  { name: 'emit', summary: 'generate code (NumPy, JAX, PyTorch, Julia, C, LaTeX, JSON) for an activation\'s rules', load: () => import('./emit.ts') },
  { name: 'emit-network', summary: 'generate a cumulant propagator for a network (NumPy, JAX, PyTorch, Julia, C)', load: () => import('./emit.ts') },
  { name: 'train', summary: 'train a fully connected classifier in tfjs and save it as network.json', load: () => import('./train.ts') },
  { name: 'import', summary: 'convert a network trained elsewhere (tfjs, PyTorch, NumPy) to network.json', load: () => import('./import.ts') },
  { name: 'analyse', summary: 'which cumulant orders carry the class information, layer by layer', load: () => import('./analyse.ts') },
  { name: 'reproduce', summary: 'reproduce the paper\'s experiments (xor, mnist, depth, cifar10) as report folders', load: () => import('./reproduce.ts') },
  { name: 'demo', summary: 'derive the quadratic rules and check them on a small network (npm start)', load: () => import('./demo.ts') },
];

/** The Command a command's module exports under its name. */
export async function loadCommand(name: string): Promise<Command> {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new InputError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')} (corrmap --help)`);
  const command = Object.values(await entry.load()).find((v): v is Command => typeof v === 'object' && v !== null && (v as Command).name === name && typeof (v as Command).run === 'function');
  if (!command) throw new Error(`the module of command "${name}" exports no Command named "${name}"`);
  return command;
}

const usage = `corrmap — neural networks as maps between probability distributions, described by cumulants

Usage: corrmap <command> [options]    (corrmap <command> --help for each)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)}${c.summary}`).join('\n')}

Errors in the input exit with code 2 and one line on stderr.`;

/**
 * Run the CLI on argv; returns the exit code: 0 success, 2 bad input (one line on `errors`),
 * 1 an internal error.
 */
export async function runCli(argv: readonly string[], out: Output, errors: Output): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      // No command is a usage error: the usage goes to stderr and the exit code says so.
      errors.log(usage);
      return 2;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      out.log(usage);
      return 0;
    }
    if (name === '--version') {
      out.log(`corrmap ${VERSION}`);
      return 0;
    }
    const command = await loadCommand(name);
    return (await command.run(rest, out)) ?? 0;
  } catch (err: unknown) {
    return failure(err, errors);
  }
}
