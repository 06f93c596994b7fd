import type { Cumulants } from '../../numeric/tensor.ts';
import { ORDER_KEYS } from '../io.ts';

export function num(v: number, digits = 5): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-4 ? v.toExponential(digits - 1) : Number(v.toPrecision(digits)).toString();
}

/** A vector or matrix as aligned columns; higher orders as a short summary. */
export function tensorText(data: Float64Array, n: number, order: number, indent = '    '): string {
  if (order === 1) return `${indent}[${Array.from(data, (v) => num(v)).join(', ')}]`;
  if (order === 2 && n <= 12) {
    const cells = Array.from(data, (v) => num(v));
    const width = Math.max(...cells.map((c) => c.length));
    const rows: string[] = [];
    for (let i = 0; i < n; i++) rows.push(indent + cells.slice(i * n, (i + 1) * n).map((c) => c.padStart(width)).join('  '));
    return rows.join('\n');
  }
  let maxAbs = 0;
  let norm = 0;
  for (const v of data) {
    maxAbs = Math.max(maxAbs, Math.abs(v));
    norm += v * v;
  }
  return `${indent}${n}^${order} entries: max |entry| ${num(maxAbs)}, Frobenius norm ${num(Math.sqrt(norm))}`;
}

export function cumulantsText(c: Cumulants, maxOrder: number, indent = '    '): string {
  const lines: string[] = [];
  for (let r = 1; r <= maxOrder; r++) {
    const t = c.order(r);
    lines.push(`${indent.slice(2)}${ORDER_KEYS[r]}:`);
    lines.push(t ? tensorText(t, c.size, r, indent) : `${indent}0`);
  }
  return lines.join('\n');
}

/** A progress bar on stderr for long work (hidden when stderr is not a terminal). */
export function progressBar(label: string): { update(fraction: number, status?: string): void; done(): void } {
  const tty = process.stderr.isTTY;
  let last = -1;
  let width = 0;
  return {
    /** `status` (e.g. the running loss) follows the percentage. */
    update(fraction, status) {
      if (!tty) return;
      const pct = Math.floor(fraction * 100);
      if (pct === last && status === undefined) return;
      last = pct;
      const filled = Math.round(fraction * 30);
      const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${pct}%${status ? `  ${status}` : ''}`;
      process.stderr.write(`\r${line.padEnd(width)}`);
      width = Math.max(width, line.length);
    },
    done() {
      if (tty && last >= 0) process.stderr.write('\r' + ' '.repeat(Math.max(width, label.length + 40)) + '\r');
    },
  };
}

/** One progress bar per named task, for work reported as (task, fraction): a new task name
 * finishes the running bar and starts the next one. */
export function taskProgress(): { update(task: string, fraction: number): void; done(): void } {
  let bar = progressBar('');
  let task = '';
  return {
    update(t, fraction) {
      if (t !== task) {
        bar.done();
        bar = progressBar(t);
        task = t;
      }
      bar.update(fraction);
    },
    done: () => bar.done(),
  };
}
