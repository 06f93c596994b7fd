import { runCli } from './run.ts';

process.exitCode = await runCli(
  process.argv.slice(2),
  { log: (text) => void process.stdout.write(`${text}\n`) },
  { log: (text) => void process.stderr.write(`${text}\n`) },
);
