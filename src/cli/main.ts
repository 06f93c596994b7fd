import { runCli } from './run.ts';
import { stderr, stdout } from './output.ts';

process.exitCode = await runCli(process.argv.slice(2), stdout, stderr);
