import { InputError } from '../../symbolic/errors.ts';
import type { Command } from './command.ts';
import { deriveCommand } from './derive.ts';
import { propagateCommand } from './propagate.ts';
import { demoCommand } from './demo.ts';

const commands: readonly Command[] = [deriveCommand, propagateCommand, demoCommand];

const usage = `corrmap — neural networks as maps between probability distributions, described by cumulants

Usage: corrmap <command> [options]    (corrmap <command> --help for each)

Commands:
${commands.map((c) => `  ${c.name.padEnd(11)}${c.summary}`).join('\n')}

Errors in the input exit with code 2 and one line on stderr.`;

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return;
  }
  if (name === '--version') {
    console.log('corrmap 0.1.0');
    return;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new InputError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')} (corrmap --help)`);
  await command.run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof InputError || err instanceof RangeError) {
    process.stderr.write(`corrmap: error: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`corrmap: internal error: ${(err as Error)?.message ?? String(err)}\n`);
  if (process.env.CORRMAP_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  else process.stderr.write('(set CORRMAP_DEBUG=1 for the stack trace; please report it)\n');
  process.exitCode = 1;
});
