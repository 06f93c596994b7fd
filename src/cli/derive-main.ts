/**
 * `corrmap derive` alone, for the single CommonJS script dist/derive.cjs: bin/corrmap.js runs it
 * with V8's code cache of a previous derivation (dist/derive.cjs.cache, written by the build), so
 * the derivation's code is neither parsed nor compiled again at start-up. Same command, same
 * output and exit codes as through the command list (src/cli/run.ts).
 */
import { failure, type Output } from './command.ts';
import { deriveCommand } from './derive.ts';
import { stderr, stdout } from './output.ts';

export async function derive(argv: string[], out: Output = stdout, errors: Output = stderr): Promise<number> {
  try {
    return (await deriveCommand.run(argv, out)) ?? 0;
  } catch (err: unknown) {
    return failure(err, errors);
  }
}
