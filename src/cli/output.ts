import { writeSync } from 'node:fs';
import type { Output } from './command.ts';

let viaStream = false;
let closed = false;

/**
 * Output is written to file descriptor 1 directly: the first use of process.stdout builds a stream
 * and loads Node's stream modules, which costs `derive` more start-up than printing its rules. A
 * descriptor that would block (non-blocking pipe) hands the rest to process.stdout, which queues;
 * a reader that has gone away (`corrmap … | head`) ends the output quietly.
 */
function writeOut(text: string): void {
  if (closed) return;
  if (viaStream) return void process.stdout.write(text);
  const data = Buffer.from(text);
  for (let offset = 0; offset < data.length; ) {
    try {
      offset += writeSync(1, data, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return void (closed = true);
      if (code !== 'EAGAIN') throw err;
      viaStream = true;
      return void process.stdout.write(data.subarray(offset));
    }
  }
}

/** The CLI's results (stdout) and its error lines (stderr). */
export const stdout: Output = { log: (text) => writeOut(`${text}\n`) };
export const stderr: Output = { log: (text) => void process.stderr.write(`${text}\n`) };
