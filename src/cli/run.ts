import { InputError } from '../../symbolic/errors.ts';
import type { Command, Output } from './command.ts';
import { deriveCommand } from './derive.ts';
import { propagateCommand } from './propagate.ts';
import { demoCommand } from './demo.ts';
import { validateCommand } from './validate.ts';

const commands: readonly Command[] = [deriveCommand, propagateCommand, validateCommand, demoCommand];

const usage = `corrmap — neural networks as maps between probability distributions, described by cumulants

Usage: corrmap <command> [options]    (corrmap <command> --help for each)

Commands:
${commands.map((c) => `  ${c.name.padEnd(11)}${c.summary}`).join('\n')}

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
      out.log('corrmap 0.1.0');
      return 0;
    }
    const command = commands.find((c) => c.name === name);
    if (!command) throw new InputError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')} (corrmap --help)`);
    return (await command.run(rest, out)) ?? 0;
  } catch (err: unknown) {
    if (err instanceof InputError || err instanceof RangeError) {
      errors.log(`corrmap: error: ${(err as Error).message}`);
      return 2;
    }
    errors.log(`corrmap: internal error: ${(err as Error)?.message ?? String(err)}`);
    errors.log(process.env.CORRMAP_DEBUG ? `${(err as Error)?.stack}` : '(set CORRMAP_DEBUG=1 for the stack trace; please report it)');
    return 1;
  }
}
